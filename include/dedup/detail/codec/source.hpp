// The two protocols the core is written over: a *source* is a cursor on one JSON value of some
// backend (read by the codecs and the key encoder), a *sink* receives a value being written. The
// core knows no JSON library; each backend brings its source (simple.hpp, simdjson.hpp) and its
// sink (detail/writer/write.hpp for nlohmann).
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dedup/detail/path.hpp"

namespace dedup::detail {

/// The JSON kinds a reader distinguishes: integers apart from other numbers.
enum class json_kind : std::uint8_t { null, boolean, integer, number, string, array, object };

constexpr std::string_view kind_name(json_kind k) {
  switch (k) {
    case json_kind::null:
      return "null";
    case json_kind::boolean:
      return "boolean";
    case json_kind::integer:
      return "integer";
    case json_kind::number:
      return "number";
    case json_kind::string:
      return "string";
    case json_kind::array:
      return "array";
    case json_kind::object:
      return "object";
  }
  return "unknown";
}

/// Stand-ins for the callbacks a source is walked with, only to state the concept.
template <class S>
struct element_visitor {
  void operator()(S& element, std::size_t index) const;
};
template <class S>
struct member_visitor {
  void operator()(std::string_view key, S& value) const;
};

/// A cursor on one JSON value. Errors are `dedup::error`s at the path given. Strings and member
/// names stay valid until the read ends; `for_each_member` may be called twice on one object (once
/// for the key, once to build), and `for_each_element` may peek at an array before it is read.
/// A source may also give an object's exact bytes (`raw_view`, `has_bytes`: see has_raw_bytes in
/// detail/codec/intern.hpp) and declare `unique_member_names` when its DOM has already rejected
/// repeats.
///
/// ```
/// static_assert(dedup::detail::json_source<dedup::detail::nlohmann_source>);
/// ```
template <class S>
concept json_source = requires(S& s, const path& p) {
  { s.kind(p) } -> std::same_as<json_kind>;
  { s.get_bool(p) } -> std::same_as<bool>;
  { s.get_int64(p) } -> std::same_as<std::int64_t>;
  { s.get_uint64(p) } -> std::same_as<std::uint64_t>;
  { s.get_double(p) } -> std::same_as<double>;
  { s.get_string(p) } -> std::convertible_to<std::string_view>;
  s.for_each_element(p, element_visitor<S>{});
  s.for_each_member(p, member_visitor<S>{});
};

/// A source of the compact form (detail/wire/compact_source.hpp), as a compact sink is one when
/// writing: it declares `compact_form`, and the codecs ask it for shared members
/// (`read_shared_member<U>`, `encode_shared_member<U>`) and for istrings outside a scope
/// (`unscoped_string`). Known from the type alone, so a plain read has no branch for it.
///
/// ```
/// static_assert(!dedup::detail::compact_form_source<dedup::detail::nlohmann_source>);
/// ```
template <class S>
concept compact_form_source = json_source<S> && requires {
  S::compact_form;
};

/// Where a value is written, event by event: a DOM builder (detail/writer/write.hpp) or, later, a
/// text writer. Inside an object every value follows its `key`.
///
/// ```
/// std::string out;
/// dedup::detail::text_sink sink(out);
/// sink.begin_object();
/// sink.key("name");
/// sink.string("calexp");
/// sink.end_object();
/// assert(out == R"({"name":"calexp"})");
/// ```
template <class K>
concept json_sink = requires(K& k, bool b, std::int64_t i, std::uint64_t u, double d,
                             std::string_view s) {
  k.null();
  k.boolean(b);
  k.integer(i);
  k.integer(u);
  k.number(d);
  k.string(s);
  k.begin_array();
  k.end_array();
  k.begin_object();
  k.end_object();
  k.key(s);
};

}  // namespace dedup::detail
