// dedup/options.hpp: the user's one hook, `options<T>`, and the words it is written in: how a type
// is keyed (`key_members`, `has`, `whole_value`, `raw_bytes`), its wire names (`camel_case`) and
// its default policy.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "dedup/policy.hpp"

namespace dedup {

/// One element of a key: a member by its C++ name, or only whether an optional member is present
/// (`dedup::has("records")`), the element type of a `key_spec`. Built implicitly from a string
/// literal, so users seldom name it.
///
/// ```
/// constexpr dedup::key_field f = "name";
/// static_assert(f.member == "name" && !f.presence_only);
/// ```
struct key_field {
  std::string_view member;
  bool presence_only = false;
  constexpr key_field(const char* name) : member(name) {}  // NOLINT: implicit on purpose
  constexpr key_field(std::string_view name, bool presence)
      : member(name), presence_only(presence) {}
};

/// How instances of a type are identified. `none`: not interned, built by value. `members`: by the
/// listed members. `whole_value`: by every member (a structural key). `raw_bytes`: by every member
/// too, with the exact bytes of its JSON text as a fast alias in front of that key on the simdjson
/// backend: a hit on the bytes skips the object unparsed, and another spelling of the same value
/// becomes another alias of its one entry.
///
/// ```
/// static_assert(dedup::options<butler::DatasetType>::key.kind == dedup::key_kind::raw_bytes);
/// ```
enum class key_kind { none, members, whole_value, raw_bytes };

/// A key declaration: its kind and, for `members`, the fields in key order. Made by
/// `dedup::key_members` or named by `dedup::whole_value` and its siblings.
///
/// ```
/// constexpr dedup::key_spec<1> k = dedup::key_members("id");
/// static_assert(k.fields[0].member == "id");
/// ```
template <std::size_t N>
struct key_spec {
  key_kind kind = key_kind::none;
  std::array<key_field, N> fields{};
};

/// A key element that is only the presence of an optional member, as in the reference system's
/// data coordinate key `(dataId, has_records)`. For a `dedup::nullable` member, which writes back
/// the `null` it read, an explicit null is a third state of its own.
///
/// ```
/// static constexpr auto key = dedup::key_members("data_id", dedup::has("records"));
/// static_assert(key.fields[1].presence_only);
/// ```
constexpr key_field has(const char* member) {
  return {member, true};
}

/// Declares a key made of the named members; a member of type `std::shared_ptr<const U>`
/// contributes U's own key. A name the type does not have fails to compile.
///
/// ```
/// static constexpr auto key = dedup::key_members("name", "storage_class");
/// static_assert(key.fields.size() == 2);
/// ```
template <class... F>
constexpr key_spec<sizeof...(F)> key_members(F... fields) {
  return {key_kind::members, {key_field(fields)...}};
}

/// Declares a structural key: two instances are the same when all their members are equal.
///
/// ```
/// static constexpr auto key = dedup::whole_value;
/// static_assert(key.kind == dedup::key_kind::whole_value);
/// ```
inline constexpr key_spec<0> whole_value{key_kind::whole_value, {}};

/// Declares an exact-bytes key: every member, with the exact bytes of the object's JSON text as a
/// fast alias in front of that key on the simdjson backend (a hit on the bytes skips the object).
///
/// ```
/// static constexpr auto key = dedup::raw_bytes;
/// static_assert(key.kind == dedup::key_kind::raw_bytes);
/// ```
inline constexpr key_spec<0> raw_bytes{key_kind::raw_bytes, {}};

/// The default key: not interned, built by value.
///
/// ```
/// static constexpr auto key = dedup::not_interned;
/// static_assert(key.kind == dedup::key_kind::none);
/// ```
inline constexpr key_spec<0> not_interned{};

/// Converts a snake_case C++ member name to the camelCase used on the wire by many JSON producers
/// (`storage_class` -> `storageClass`). Use it in `options<T>::wire_name`.
///
/// ```
/// assert(dedup::camel_case("storage_class") == "storageClass");
/// ```
inline std::string camel_case(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  bool upper = false;
  for (char c : name) {
    if (c == '_' && !out.empty()) {
      upper = true;
    } else {
      out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
      upper = false;
    }
  }
  return out;
}

/// Base of every `options<T>`: not interned, wire names equal to C++ names, unknown members are an
/// error, the default policy.
///
/// ```namespace
/// struct Point {
///   BOOST_HANA_DEFINE_STRUCT(Point, (double, x), (double, y));
/// };
/// template <> struct dedup::options<Point> : dedup::default_options {};
/// ```
struct default_options {
  static constexpr auto key = not_interned;
  static constexpr dedup::policy policy{};
  static constexpr dedup::budget budget{};
  static constexpr bool ignore_unknown_members = false;
  static std::string wire_name(std::string_view member) { return std::string(member); }
};

/// The one extension point for a Hana struct: specialize it, deriving from `default_options`, to
/// declare a key, rename members on the wire, set the default policy or accept unknown members
/// (and, with `static constexpr bool as_array = true;`, write a struct as the array of its
/// members).
///
/// ```namespace
/// struct Calib {
///   BOOST_HANA_DEFINE_STRUCT(Calib, (std::string, name), (std::string, storage_class));
/// };
/// template <> struct dedup::options<Calib> : dedup::default_options {
///   static constexpr auto key = dedup::key_members("name", "storage_class");
///   static std::string wire_name(std::string_view m) { return dedup::camel_case(m); }
/// };
/// ```
template <class T>
struct options : default_options {};

}  // namespace dedup
