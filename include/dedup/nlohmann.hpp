// dedup/nlohmann.hpp: from_simple / to_simple on nlohmann::json, the convenient backend.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "dedup/context.hpp"
#include "dedup/detail/codec/intern.hpp"
#include "dedup/detail/codec/json_locate.hpp"
#include "dedup/detail/codec/read.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/detail/writer/write.hpp"
#include "dedup/reflect.hpp"

namespace dedup {

namespace detail {

/// The reader's cursor over an nlohmann::json value.
class nlohmann_source {
 public:
  explicit nlohmann_source(const nlohmann::json& j) : j_(&j) {}

  /// A DOM holds each member name of an object once (`dedup::parse` rejects text that repeats
  /// one), so the reader need not walk ignored values looking for repeats.
  static constexpr bool unique_member_names = true;

  json_kind kind(const path&) const {
    using t = nlohmann::json::value_t;
    switch (j_->type()) {
      case t::boolean:
        return json_kind::boolean;
      case t::number_integer:
      case t::number_unsigned:
        return json_kind::integer;
      case t::number_float:
        return json_kind::number;
      case t::string:
        return json_kind::string;
      case t::array:
        return json_kind::array;
      case t::object:
        return json_kind::object;
      default:
        return json_kind::null;
    }
  }
  bool get_bool(const path&) const { return j_->get<bool>(); }
  std::int64_t get_int64(const path& p) const {
    if (j_->is_number_unsigned() && j_->get<std::uint64_t>() > INT64_MAX)
      fail(p, "expected integer in the range of int64, found " + excerpt(j_->dump()));
    return j_->get<std::int64_t>();
  }
  std::uint64_t get_uint64(const path& p) const {
    if (j_->is_number_integer() && !j_->is_number_unsigned() && j_->get<std::int64_t>() < 0)
      fail(p, "expected non-negative integer, found " + excerpt(j_->dump()));
    return j_->get<std::uint64_t>();
  }
  double get_double(const path&) const { return j_->get<double>(); }
  std::string_view get_string(const path&) const { return j_->get_ref<const std::string&>(); }

  template <class F>
  void for_each_element(const path&, F&& f) const {
    std::size_t i = 0;
    for (const auto& e : *j_) {
      nlohmann_source s(e);
      f(s, i++);
    }
  }
  template <class F>
  void for_each_member(const path&, F&& f) const {
    for (const auto& [key, value] : j_->get_ref<const nlohmann::json::object_t&>()) {
      nlohmann_source s(value);
      f(std::string_view(key), s);
    }
  }
  /// The name of the object's first member in nlohmann's order, which is sorted: "" if none.
  std::string_view first_key(const path&) const {
    const auto& object = j_->get_ref<const nlohmann::json::object_t&>();
    return object.empty() ? std::string_view() : std::string_view(object.begin()->first);
  }
  // No raw_view: nlohmann keeps no text, so exact-bytes types go straight to their canonical key.

 private:
  const nlohmann::json* j_;
};
static_assert(json_source<nlohmann_source>);

/// Builds nlohmann's DOM from its SAX events, to see what the DOM cannot keep: nlohmann keeps the
/// last of two members with one name, and a key computed from one occurrence with a value built
/// from the other would be a silent wrong object. It also turns nlohmann's `out_of_range` for a
/// number beyond a double into a `dedup::error` at that number's pointer.
class checked_dom_builder {
 public:
  using json = nlohmann::json;
  checked_dom_builder(json& root, std::string_view text) : root_(root), text_(text) {}

  bool null() { return put(nullptr); }
  bool boolean(bool v) { return put(v); }
  bool number_integer(json::number_integer_t v) { return put(v); }
  bool number_unsigned(json::number_unsigned_t v) { return put(v); }
  bool number_float(json::number_float_t v, const json::string_t&) { return put(v); }
  bool string(json::string_t& v) { return put(std::move(v)); }
  bool binary(json::binary_t& v) { return put(json::binary(std::move(v))); }
  bool start_object(std::size_t) { return open(json::object()); }
  bool start_array(std::size_t) { return open(json::array()); }
  bool end_object() { return close(); }
  bool end_array() { return close(); }
  bool key(json::string_t& name) {
    if (stack_.back()->contains(name)) report(name, "duplicate member '" + excerpt(name) + "'");
    key_ = std::move(name);
    return true;
  }
  bool parse_error(std::size_t byte, const std::string& token,
                   const nlohmann::detail::exception& e) {
    if (dynamic_cast<const json::out_of_range*>(&e))  // a number too large: the only one from text
      report(next_name(), "number out of the range of a double: " + excerpt(token));
    // Located at the value holding the byte where parsing stopped (nlohmann counts from 1), and
    // quoting at most the start of the token it stopped in, which may be the rest of the input.
    throw error(pointer_at(text_, byte == 0 ? 0 : byte - 1),
                "malformed JSON at byte " + std::to_string(byte) + ": " + capped(e.what(), token));
  }

 private:
  bool put(json v) {
    place(std::move(v));
    return true;
  }
  bool open(json v) {
    if (stack_.size() >= max_depth)  // as the simdjson backend, and no walk of it overflows
      report(next_name(), "nesting deeper than " + std::to_string(max_depth) + " levels");
    stack_.push_back(place(std::move(v)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    return true;
  }
  json* place(json v) {
    if (stack_.empty()) return &(root_ = std::move(v));
    json& parent = *stack_.back();
    if (parent.is_array()) return &parent.emplace_back(std::move(v));
    return &parent.get_ref<json::object_t&>().emplace(std::move(key_), std::move(v)).first->second;
  }
  /// The name of the next value in the innermost open container, as a pointer step.
  std::string next_name() const {
    if (stack_.empty()) return {};
    return stack_.back()->is_array() ? std::to_string(stack_.back()->size()) : key_;
  }
  /// Throws at the pointer of the value `name` in the innermost open container. The pointer is
  /// found only now, from the DOM: the hot path keeps no names.
  [[noreturn]] void report(const std::string& name, std::string detail) const {
    std::string pointer;
    for (std::size_t i = 1; i < stack_.size(); ++i) append_token(pointer, step_to(i));
    if (!stack_.empty()) append_token(pointer, name);
    throw error(std::move(pointer), std::move(detail));
  }
  /// The pointer step from open container i - 1 to open container i.
  std::string step_to(std::size_t i) const {
    const json& parent = *stack_[i - 1];
    if (parent.is_array()) return std::to_string(parent.size() - 1);
    for (const auto& [name, value] : parent.get_ref<const json::object_t&>())
      if (&value == stack_[i]) return name;
    return {};
  }

  /// nlohmann's message with the token it quotes ("last read: '…'") cut to an excerpt.
  static std::string capped(std::string_view what, const std::string& token) {
    std::string quoted = "last read: '" + token;
    std::size_t at = what.find(quoted);
    if (token.size() <= quoted_bytes_bound) return std::string(what);
    if (at == std::string_view::npos) return "syntax error; last read: '" + excerpt(token) + "'";
    return std::string(what.substr(0, at)) + "last read: '" + excerpt(token) +
           std::string(what.substr(at + quoted.size()));
  }

  json& root_;
  std::string_view text_;
  std::vector<json*> stack_;
  std::string key_;
};

/// JSON text to nlohmann's DOM, read by its length and checked as `dedup::parse` documents.
inline nlohmann::json parse_checked(std::string_view text) {
  if (text.starts_with(byte_order_mark)) fail(path{}, "byte-order mark before the document");
  // nlohmann's lexer takes a NUL byte for the end of the input, whatever the input's length.
  if (const void* nul = std::memchr(text.data(), '\0', text.size())) {
    auto at = static_cast<const char*>(nul) - text.data();
    throw error(pointer_at(text, static_cast<std::size_t>(at)),
                "malformed JSON at byte " + std::to_string(at + 1) +
                    ": a NUL character (JSON text holds none outside escapes)");
  }
  nlohmann::json root;
  checked_dom_builder builder(root, text);
  nlohmann::json::sax_parse(text, &builder);
  return root;
}

}  // namespace detail

/// Builds a T from its simple form. Inside a scope, interned types (and every
/// `std::shared_ptr<const U>` member of an interned U) come from the context's tables, so repeats
/// of one key are one instance; outside a scope everything is built fresh and no table is made.
/// Throws `dedup::error` naming the JSON pointer of the first bad value; a failed call leaves the
/// tables as they were.
///
/// ```
/// dedup::scope s;
/// auto a = dedup::from_simple<butler::DatasetType>(j);   // std::shared_ptr<const DatasetType>
/// auto b = dedup::from_simple<butler::DatasetType>(j);
/// assert(a == b);
/// ```
template <class T>
simple_result_t<T> from_simple(const nlohmann::json& j) {
  detail::nlohmann_source src(j);
  return detail::read_document<T>(src, detail::path{});
}

/// Parses JSON text and builds a T from it, as `from_simple`. The text is read by its length (a NUL
/// byte anywhere is an error, not the end of the text). Malformed text is a `dedup::error` naming
/// the byte where parsing stopped; a member name repeated in one object (anywhere in the document,
/// also where the model ignores the value) is an error at the second occurrence, a number beyond
/// the range of a double is an error at its pointer, and so is a UTF-8 byte-order mark before the
/// document, as on the simdjson backend.
///
/// ```
/// auto type = dedup::parse<butler::DatasetType>(R"({"name":"calexp","storageClass":"ExposureF",
///                                                  "dimensions":[]})");
/// ```
template <class T>
simple_result_t<T> parse(std::string_view text) {
  return from_simple<T>(detail::parse_checked(text));
}

/// Reads a compact document (dedup/compact.hpp, `dedup::to_compact`) as T: each `$id` is read once
/// and every `$ref` to it is that instance, even outside any scope; inside one, definitions are
/// interned with everything else. A missing or wrong marker or version, or a bad reference, is a
/// `dedup::error` at its JSON pointer.
///
/// ```
/// auto list = dedup::run([] { return dedup::parse<butler::RefList>(dedup_examples::refs_text());
/// }); auto back = dedup::parse_compact<butler::RefList>(dedup::to_compact(list));
/// assert(back.refs[0]->dataset_type == back.refs[1]->dataset_type);  // shared, without a scope
/// ```
template <class T>
simple_result_t<T> parse_compact(std::string_view text) {
  static_assert(detail::has_codec<detail::compact_document<T>>,
                "dedup: reading the compact form needs #include \"dedup/compact.hpp\"");
  return std::move(parse<detail::compact_document<T>>(text).value);
}

/// The simple form of a value, the exact inverse of `from_simple`: members under their wire
/// names, absent optionals left out, shared members written in full.
///
/// ```
/// auto type = dedup::parse<butler::DatasetType>(text);
/// nlohmann::json j = dedup::to_simple(*type);
/// assert(*dedup::from_simple<butler::DatasetType>(j) == *type);
/// ```
template <class T>
nlohmann::json to_simple(const T& value) {
  return detail::write(value);
}

}  // namespace dedup

/// `j.get<std::shared_ptr<const T>>()` interns in a scope, and `j.get<T>()` / `json j = value`
/// work for every described type, through nlohmann's one extension point.
template <dedup::described T>
struct nlohmann::adl_serializer<std::shared_ptr<const T>> {
  static std::shared_ptr<const T> from_json(const nlohmann::json& j) {
    dedup::detail::nlohmann_source src(j);
    dedup::detail::transaction tx;
    auto out =
        dedup::detail::read_shared<T>(src, dedup::detail::path{}, dedup::detail::current_context);
    tx.commit();
    return out;
  }
  static void to_json(nlohmann::json& j, const std::shared_ptr<const T>& v) {
    j = dedup::to_simple(v);
  }
};

template <dedup::described T>
struct nlohmann::adl_serializer<T> {
  static T from_json(const nlohmann::json& j) {
    dedup::detail::nlohmann_source src(j);
    dedup::detail::transaction tx;
    T out{};
    dedup::detail::read_into(src, dedup::detail::path{}, dedup::detail::current_context, out);
    tx.commit();
    return out;
  }
  static void to_json(nlohmann::json& j, const T& v) { j = dedup::to_simple(v); }
};
