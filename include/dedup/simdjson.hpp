// dedup/simdjson.hpp: from_simple on simdjson On-Demand values, the fast backend.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <simdjson.h>

#include "dedup/context.hpp"
#include "dedup/detail/api.hpp"
#include "dedup/detail/codec/intern.hpp"
#include "dedup/detail/codec/json_locate.hpp"
#include "dedup/detail/codec/read.hpp"
#include "dedup/detail/codec/thread_buffers.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/reflect.hpp"

namespace dedup {

namespace detail {

namespace od = simdjson::ondemand;

[[noreturn]] inline void fail_malformed(const path& p, simdjson::error_code e) {
  fail(p, std::string("malformed JSON: ") + simdjson::error_message(e));
}

/// The error for text simdjson's first stage finds invalid UTF-8 in, located at the value that
/// holds the first bad byte.
[[noreturn, gnu::noinline]] inline void fail_utf8(std::string_view text) {
  std::size_t at = first_invalid_utf8(text);
  if (at == std::string_view::npos) fail(path{}, "malformed JSON: the input is not valid UTF-8");
  throw error(pointer_at(text, at),
              "malformed JSON: the input is not valid UTF-8 (byte " + std::to_string(at) + ")");
}

/// A simdjson document over the `size` bytes at `data` (`capacity` bytes readable, padding
/// included), the first stage's errors as `dedup::error`s: the document root, but invalid UTF-8 at
/// its value and a byte-order mark by name (simdjson would skip it, or fail on its structure).
inline od::document iterate_checked(od::parser& parser, const char* data, std::size_t size,
                                    std::size_t capacity) {
  std::string_view text(data, size);
  if (text.starts_with(byte_order_mark)) fail(path{}, "byte-order mark before the document");
  auto doc = parser.iterate(data, size, capacity);
  if (doc.error() == simdjson::UTF8_ERROR) fail_utf8(text);
  od::document out;
  if (auto e = std::move(doc).get(out)) fail_malformed(path{}, e);
  return out;
}

/// The value of a simdjson result, or a `dedup::error` at `p` naming simdjson's error.
template <class T>
T take(simdjson::simdjson_result<T>&& r, const path& p) {
  T v{};
  if (auto e = std::move(r).get(v)) fail_malformed(p, e);
  return v;
}
template <class T>
T take(T&& v, const path&) {
  return std::forward<T>(v);
}

/// The text of a JSON string body with escapes, decoded into the thread's arena.
[[gnu::noinline]] inline std::string_view unescape(std::string_view body, const path& p) {
  char* out = string_arena::of_this_thread().allocate(body.size());
  std::size_t n = unescape_to(body, out);
  if (n == std::string_view::npos) fail(p, "malformed JSON: invalid escape in string");
  return {out, n};
}

/// A JSON string body (between the quotes, escapes undone) as a view that lives until the read
/// ends. Inlined into every string and member name read: nearly all hold no escape.
[[gnu::always_inline]] inline std::string_view string_text(std::string_view body, const path& p) {
  if (!std::memchr(body.data(), '\\', body.size())) return body;
  return unescape(body, p);
}

/// The reader's cursor over a simdjson On-Demand value (or the root of a document). It keeps the
/// object it opened so that `for_each_member` can walk it a second time after a `reset()`, and it
/// reads strings from the input bytes, so visiting an object twice neither re-parses nor copies.
class simdjson_source {
 public:
  explicit simdjson_source(od::value v) : value_(v) {}
  explicit simdjson_source(od::document& d) : doc_(&d) {}

 private:
  /// f applied to the cursor (the document root or a value), its error mapped to a dedup::error;
  /// defined first because its return type is deduced.
  template <class F>
  auto on_cursor(F&& f, const path& p) {
    if (doc_) return take(f(*doc_), p);
    return take(f(value_), p);
  }

 public:
  json_kind kind(const path& p) {
    if (!kind_) kind_ = classify(p);
    return *kind_;
  }
  bool get_bool(const path& p) {
    return on_cursor([](auto& c) { return c.get_bool(); }, p);
  }
  std::int64_t get_int64(const path& p) {
    if (parsed_integer_) return *parsed_integer_;
    if (unsigned_only_)
      fail(p, "expected integer in the range of int64, found " + excerpt(token(p)));
    return on_cursor([](auto& c) { return c.get_int64(); }, p);
  }
  std::uint64_t get_uint64(const path& p) {
    if (parsed_integer_ && *parsed_integer_ >= 0)
      return static_cast<std::uint64_t>(*parsed_integer_);
    std::string_view t = token(p);
    if (!t.empty() && t.front() == '-')
      fail(p, "expected non-negative integer, found " + excerpt(t));
    return on_cursor([](auto& c) { return c.get_uint64(); }, p);
  }
  double get_double(const path& p) {
    // An integer converts as simdjson would parse it: to the nearest double.
    if (parsed_integer_) return static_cast<double>(*parsed_integer_);
    return on_cursor([](auto& c) { return c.get_double(); }, p);
  }
  std::string_view get_string(const path& p) {
    // The root is read once, by simdjson, which also rejects anything after it.
    if (doc_) return on_cursor([](auto& c) { return c.get_string(); }, p);
    std::string_view raw = on_cursor([](auto& c) { return c.raw_json_token(); }, p);
    // The string is read from its bytes, not consumed, so simdjson skips it later, and its skip
    // takes a string followed by ':' for a member's name: `"k":"v":{}` would pass as `"k":"v"`.
    if (raw.data()[raw.size()] == ':') fail(p, "malformed JSON: ':' after a value");
    std::string_view t = trim_right(raw);
    if (t.size() < 2 || t.front() != '"' || t.back() != '"') fail(p, "malformed JSON: bad string");
    return string_text(t.substr(1, t.size() - 2), p);
  }

  template <class F>
  void for_each_element(const path& p, F&& f) {
    od::array& array = open_array(p);
    std::size_t i = 0;
    for (auto element : array) {  // an error here is the array's structure: report the array
      simdjson_source s(take(std::move(element), p));
      f(s, i++);
    }
  }

  template <class F>
  void for_each_member(const path& p, F&& f) {
    od::object& object = open_object(p);
    for (auto member : object) {
      od::field field = take(std::move(member), p);
      std::string_view key = member_key(field, p);
      simdjson_source s(field.value());
      f(key, s);
    }
  }

  /// The name of the object's first member as written (escapes left in), "" for an empty object:
  /// read from the bytes after the brace, so that peeking at it walks nothing. The padding after
  /// the input covers the few bytes looked at past a short name.
  std::string_view first_key(const path& p) {
    const char* at = on_cursor([](auto& c) { return c.raw_json_token(); }, p).data();
    do ++at;
    while (is_blank(*at));
    if (*at != '"') return {};
    const char* end = ++at;
    while (*end != '"' && *end != '\\' && end - at < 8) ++end;
    return {at, static_cast<std::size_t>(end - at)};
  }

  /// Whether the object's bytes are the `size` bytes of hash `hash` (as `raw_view` gave them for an
  /// earlier object). Where the input's end is known, the bytes are hashed in place from the
  /// object's start, without finding its end: equal bytes make up the same whole object.
  bool has_bytes(std::size_t size, std::uint64_t hash, const path& p) {
    const char* start = value_start(p);
    if (input_end && size <= static_cast<std::size_t>(input_end - start))
      return hash_key(std::string_view(start, size)) == hash;
    std::string_view raw = raw_view(p);
    return raw.size() == size && hash_key(raw) == hash;
  }

  /// The end of the input of the document being read on this thread, where the reader knows it;
  /// one per process (detail/api.hpp), like the document's serial number beside it.
  DEDUP_API static inline thread_local const char* input_end = nullptr;
  static const char* document_end() noexcept { return input_end; }

  /// Where the value's bytes begin in the input.
  const char* value_start(const path& p) {
    return on_cursor([](auto& c) { return c.raw_json_token(); }, p).data();
  }

  /// The object's exact bytes (without trailing whitespace), valid while the input is; the object
  /// can be walked afterwards.
  std::string_view raw_view(const path& p) {
    od::object& object = open_object(p);
    return trim_right(take(object.raw_json(), p));
  }

  /// The object's exact bytes once a walk (a key's or a read's) has passed it: read where the walk
  /// ended, without the second walk `raw_view` makes after rewinding.
  std::string_view walked_view(const path& p) {
    if (!object_) return raw_view(p);
    return trim_right(take(object_->raw_json(), p));
  }

 private:
  /// The value's token as written (a string with its quotes), without trailing whitespace.
  std::string_view token(const path& p) {
    return trim_right(on_cursor([](auto& c) { return c.raw_json_token(); }, p));
  }

  json_kind classify(const path& p) {
    switch (on_cursor([](auto& c) { return c.type(); }, p)) {
      case od::json_type::object:
        return json_kind::object;
      case od::json_type::array:
        return json_kind::array;
      case od::json_type::string:
        return json_kind::string;
      case od::json_type::boolean:
        return json_kind::boolean;
      case od::json_type::null:
        if (!on_cursor([](auto& c) { return c.is_null(); }, p))
          fail(p, "malformed JSON: invalid literal " + excerpt(token(p)));
        return json_kind::null;
      case od::json_type::number:
        break;
    }
    // Most numbers are integers that fit int64: parse the value once, here, and keep it. A failed
    // attempt consumes nothing, and the number type is asked only for the rest.
    std::int64_t whole = 0;
    auto attempt = doc_ ? doc_->get_int64() : value_.get_int64();
    if (!std::move(attempt).get(whole)) {
      parsed_integer_ = whole;
      return json_kind::integer;
    }
    switch (on_cursor([](auto& c) { return c.get_number_type(); }, p)) {
      case od::number_type::floating_point_number:
        return json_kind::number;
      case od::number_type::unsigned_integer:
        unsigned_only_ = true;
        return json_kind::integer;
      default:
        return json_kind::integer;
    }
  }

  /// The array, opened on first use and rewound on every later use: choosing a variant's
  /// alternative peeks at the elements before they are read.
  od::array& open_array(const path& p) {
    return open_rewound(
        array_, [](auto& c) { return c.get_array(); }, p);
  }

  /// The object, opened on first use and rewound on every later use.
  od::object& open_object(const path& p) {
    return open_rewound(
        object_, [](auto& c) { return c.get_object(); }, p);
  }

  template <class Container, class Open>
  Container& open_rewound(std::optional<Container>& held, Open open, const path& p) {
    if (!held) {
      held = on_cursor(open, p);
    } else if (auto e = held->reset().error()) {
      fail_malformed(p, e);
    }
    return *held;
  }

  /// The member's name, read from the input bytes. Its closing quote is found backwards from the
  /// value, past the colon and any whitespace (simdjson has checked that structure), which is a
  /// step or two instead of a scan of the name.
  static std::string_view member_key(od::field& field, const path& p) {
    const char* start = field.key().raw();
    const char* end = field.value().raw_json_token().data();
    do --end;
    while (is_blank(*end));  // now at the colon
    do --end;
    while (is_blank(*end));  // now at the closing quote
    std::string_view raw(start, static_cast<std::size_t>(end - start));
    return string_text(raw, p);
  }

  od::value value_{};
  od::document* doc_ = nullptr;
  std::optional<od::object> object_;
  std::optional<od::array> array_;
  std::optional<json_kind> kind_;
  bool unsigned_only_ = false;                  // an integer above INT64_MAX
  std::optional<std::int64_t> parsed_integer_;  // the value, when it is an integer in int64
};
static_assert(json_source<simdjson_source>);

/// Reads the whole of `doc` as T with `read(root source, root path)`, which reads it as
/// `read_document<T>` does (a compact stream's record wraps the source first), and rejects
/// anything after its root value.
template <class T, class Read>
simple_result_t<T> read_simdjson_document(od::document& doc, std::string_view input, Read&& read) {
  // The input's end lets a hit compare bytes in place (simdjson_source::has_bytes), and the
  // document's serial number lets the tables' memos of bytes know it (detail/table/bytes_memo.hpp).
  struct known_end {
    explicit known_end(const char* end)
        : end_before(std::exchange(simdjson_source::input_end, end)),
          document_before(std::exchange(current_document, end ? next_document_serial() : 0)) {}
    ~known_end() {
      simdjson_source::input_end = end_before;
      current_document = document_before;
    }
    const char* end_before;
    std::uint64_t document_before;
  } end(input.empty() ? nullptr : input.data() + input.size());
  string_arena::of_this_thread().clear();
  transaction tx;  // also undoes the entries of a document rejected for what follows it
  simdjson_source src(doc);
  path root;
  auto out = read(src, root);
  if (!doc.current_location().error()) fail(root, "malformed JSON: content after the document");
  tx.commit();
  return out;
}

/// Reads the whole of `doc` as T and rejects anything after its root value.
template <class T>
simple_result_t<T> read_simdjson_document(od::document& doc, std::string_view input = {}) {
  return read_simdjson_document<T>(doc, input, [](simdjson_source& src, const path& root) {
    return read_document<T>(src, root);
  });
}

}  // namespace detail

/// Builds a T from a simdjson On-Demand value, with the same interning, results and errors as the
/// nlohmann backend's `from_simple`: inside a scope, interned types come from the context's tables;
/// members are matched in document order, whatever the order. Exact-bytes keys (`dedup::raw_bytes`)
/// hash the object's raw text and skip it entirely on a hit. The value is consumed; its document
/// (and the padded input) must outlive the call. Use this form on values you reach yourself, such
/// as the records of an array you iterate; JSON pointers in errors are relative to the value.
/// What a hit leaves unread is still checked: an exact-bytes hit repeats bytes already read in
/// full, and the members outside a member key (the records of a data coordinate keyed by its data
/// id) are checked as well-formed JSON unless their bytes equal those the entry was built from;
/// `trusted_input` in the type's policy turns that check off.
///
/// ```
/// simdjson::ondemand::parser parser;
/// auto json = simdjson::padded_string::load("refs.json");
/// simdjson::ondemand::document doc = parser.iterate(json);
/// dedup::scope s;
/// for (simdjson::ondemand::value ref : doc["refs"])
///   auto r = dedup::from_simple<butler::DatasetRef>(ref);
/// ```
template <class T>
simple_result_t<T> from_simple(simdjson::ondemand::value value) {
  detail::string_arena::of_this_thread().clear();
  detail::simdjson_source src(value);
  return detail::read_document<T>(src, detail::path{});
}

/// Builds a T from a whole simdjson On-Demand document, as `from_simple(ondemand::value)`, and also
/// rejects a document with anything after its root value. The document must be fresh (nothing of
/// it read yet).
///
/// ```
/// simdjson::ondemand::document doc = parser.iterate(json);
/// dedup::scope s;
/// auto list = dedup::from_simple<butler::RefList>(doc);
/// ```
template <class T>
simple_result_t<T> from_simple(simdjson::ondemand::document& doc) {
  return detail::read_simdjson_document<T>(doc);
}

/// Parses JSON text with `parser` and builds a T from it, the fast counterpart of `dedup::parse`.
/// Reusing one parser across calls keeps its buffers, which is how simdjson reaches its speed; the
/// text must carry simdjson's padding (`simdjson::padded_string`). Malformed text is a
/// `dedup::error` at the JSON pointer where reading stopped (the document root when simdjson's
/// first stage rejects the text as a whole, as for invalid UTF-8 or an unterminated string). As
/// with `dedup::parse`, a UTF-8 byte-order mark before the document, a member name repeated in one
/// object (at its second occurrence, also in values the model ignores) and nesting deeper than
/// 1024 levels are errors.
///
/// ```
/// simdjson::ondemand::parser parser;
/// simdjson::padded_string json = simdjson::padded_string::load("refs.json");
/// dedup::scope s;
/// auto list = dedup::parse_fast<butler::RefList>(parser, json);
/// ```
template <class T>
simple_result_t<T> parse_fast(simdjson::ondemand::parser& parser,
                              const simdjson::padded_string& json) {
  simdjson::ondemand::document doc = detail::iterate_checked(
      parser, json.data(), json.size(), json.size() + simdjson::SIMDJSON_PADDING);
  return detail::read_simdjson_document<T>(doc, std::string_view(json.data(), json.size()));
}

/// `parse_fast` with a parser kept per thread, for callers that do not manage one. After the read
/// the thread keeps at most `detail::parser_retained_bound` (16 MiB) of parser capacity and
/// `detail::string_arena::retained_bound` (64 KiB) of unescaped strings.
///
/// ```
/// dedup::scope s;
/// auto type = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text));
/// ```
template <class T>
simple_result_t<T> parse_fast(const simdjson::padded_string& json) {
  detail::thread_buffers_bound bound(detail::thread_parser());
  return parse_fast<T>(detail::thread_parser(), json);
}

/// `parse_compact` on the simdjson backend: a compact document (dedup/compact.hpp) read as T with
/// `parser`, sharing restored even outside any scope; inside one, its definitions intern with
/// everything else. Errors as `parse_fast` gives them, and those of the compact form (a `$ref` to
/// an id not defined before it, a cycle, a duplicate `$id`, a reference of the wrong type).
///
/// ```
/// auto parse = [] { return dedup::parse<butler::RefList>(dedup_examples::refs_text()); };
/// simdjson::padded_string text(dedup::to_compact(dedup::run(parse)));
/// auto back = dedup::parse_compact_fast<butler::RefList>(parser, text);
/// assert(back.refs[0]->data_id == back.refs[1]->data_id);
/// ```
template <class T>
simple_result_t<T> parse_compact_fast(simdjson::ondemand::parser& parser,
                                      const simdjson::padded_string& json) {
  static_assert(detail::has_codec<detail::compact_document<T>>,
                "dedup: reading the compact form needs #include \"dedup/compact.hpp\"");
  return std::move(parse_fast<detail::compact_document<T>>(parser, json).value);
}

/// `parse_compact_fast` with the thread's parser, kept within the bounds `parse_fast` keeps.
///
/// ```
/// auto parse = [] { return dedup::parse<butler::RefList>(dedup_examples::refs_text()); };
/// simdjson::padded_string text(dedup::to_compact(dedup::run(parse)));
/// auto back = dedup::parse_compact_fast<butler::RefList>(text);
/// assert(back.refs[0]->data_id == back.refs[1]->data_id);
/// ```
template <class T>
simple_result_t<T> parse_compact_fast(const simdjson::padded_string& json) {
  static_assert(detail::has_codec<detail::compact_document<T>>,
                "dedup: reading the compact form needs #include \"dedup/compact.hpp\"");
  return std::move(parse_fast<detail::compact_document<T>>(json).value);
}

}  // namespace dedup
