// dedup/simple.hpp: from_simple / to_simple on nlohmann::json, the convenient backend.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>

#include <nlohmann/json.hpp>

#include "dedup/context.hpp"
#include "dedup/detail/intern.hpp"
#include "dedup/detail/read.hpp"
#include "dedup/detail/write.hpp"
#include "dedup/error.hpp"
#include "dedup/reflect.hpp"

namespace dedup {

namespace detail {

/// The reader's cursor over an nlohmann::json value.
class nlohmann_source {
 public:
  explicit nlohmann_source(const nlohmann::json& j) : j_(&j) {}

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
      fail(p, "expected integer in the range of int64, found " + j_->dump());
    return j_->get<std::int64_t>();
  }
  std::uint64_t get_uint64(const path& p) const {
    if (j_->is_number_integer() && !j_->is_number_unsigned() && j_->get<std::int64_t>() < 0)
      fail(p, "expected non-negative integer, found " + j_->dump());
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
  // No raw_view: nlohmann keeps no text, so exact-bytes types go straight to their canonical key.

 private:
  const nlohmann::json* j_;
};

}  // namespace detail

/// What `from_simple<T>` returns: `std::shared_ptr<const T>` for a type that declares a key,
/// T itself otherwise (and `std::shared_ptr<const U>` when T is that).
template <class T>
using simple_result_t = typename detail::simple_result<T>::type;

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

/// Parses JSON text and builds a T from it, as `from_simple`; malformed text is a `dedup::error`
/// naming the byte where parsing stopped.
///
/// ```
/// auto type = dedup::parse<butler::DatasetType>(R"({"name":"calexp","storageClass":"ExposureF",
///                                                  "dimensions":[]})");
/// ```
template <class T>
simple_result_t<T> parse(std::string_view text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw error("", "malformed JSON at byte " + std::to_string(e.byte) + ": " + e.what());
  }
  return from_simple<T>(j);
}

/// The simple form of a value, the exact inverse of `from_simple`: members under their wire
/// names, absent optionals left out, shared members written in full.
///
/// ```
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
