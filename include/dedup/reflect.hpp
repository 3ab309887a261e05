// dedup/reflect.hpp: what dedup knows about a user type: its members (through Boost.Hana), their
// names on the wire, and which of them identify an instance.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/hana/accessors.hpp>
#include <boost/hana/at.hpp>
#include <boost/hana/define_struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/length.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <boost/hana/unpack.hpp>

#include "dedup/policy.hpp"

namespace dedup {

/// One element of a key: a member by its C++ name, or only whether an optional member is present
/// (`dedup::has("records")`). Built implicitly from a string literal.
struct key_field {
  std::string_view member;
  bool presence_only = false;
  constexpr key_field(const char* name) : member(name) {}  // NOLINT: implicit on purpose
  constexpr key_field(std::string_view name, bool presence)
      : member(name), presence_only(presence) {}
};

/// A key element that is only the presence of an optional member, as in the reference system's
/// data coordinate key `(dataId, has_records)`. For a `dedup::nullable` member, which writes back
/// the `null` it read, an explicit null is a third state of its own.
constexpr key_field has(const char* member) {
  return {member, true};
}

/// How instances of a type are identified. `none`: not interned, built by value. `members`: by the
/// listed members. `whole_value`: by every member (a structural key). `raw_bytes`: by every member
/// too, with the exact bytes of its JSON text as a fast alias in front of that key on the simdjson
/// backend: a hit on the bytes skips the object unparsed, and another spelling of the same value
/// becomes another alias of its one entry.
enum class key_kind { none, members, whole_value, raw_bytes };

/// A key declaration: its kind and, for `members`, the fields in key order.
template <std::size_t N>
struct key_spec {
  key_kind kind = key_kind::none;
  std::array<key_field, N> fields{};
};

/// Declares a key made of the named members: `static constexpr auto key =
/// dedup::key_members("name", "storage_class");` A member of type `std::shared_ptr<const U>`
/// contributes U's own key.
template <class... F>
constexpr key_spec<sizeof...(F)> key_members(F... fields) {
  return {key_kind::members, {key_field(fields)...}};
}

/// Declares a structural key: two instances are the same when all their members are equal.
inline constexpr key_spec<0> whole_value{key_kind::whole_value, {}};
/// Declares an exact-bytes key (see `key_kind::raw_bytes`).
inline constexpr key_spec<0> raw_bytes{key_kind::raw_bytes, {}};
/// The default: not interned.
inline constexpr key_spec<0> not_interned{};

/// Converts a snake_case C++ member name to the camelCase used on the wire by many JSON producers
/// (`storage_class` -> `storageClass`). Use it in `options<T>::wire_name`.
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
struct default_options {
  static constexpr auto key = not_interned;
  static constexpr dedup::policy policy{};
  static constexpr bool ignore_unknown_members = false;
  static std::string wire_name(std::string_view member) { return std::string(member); }
};

/// The one extension point for a Hana struct: specialize it, deriving from `default_options`, to
/// declare a key, rename members on the wire, set the default policy or accept unknown members.
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

/// Specialize for a type that travels as a JSON string (a UUID, a date): `static T parse(std::
/// string_view)` throwing `std::invalid_argument` on bad text, and `static std::string format(const
/// T&)`.
template <class T>
struct string_codec;

/// A Boost.Hana struct: something dedup can walk member by member.
template <class T>
concept described = boost::hana::Struct<T>::value;

/// A type that declares a key and is therefore interned inside a scope.
template <class T>
concept interned = described<T> && options<T>::key.kind != key_kind::none;

/// A type with a `string_codec`.
template <class T>
concept string_coded = requires(std::string_view s, const T& v) {
  { string_codec<T>::parse(s) } -> std::same_as<T>;
  { string_codec<T>::format(v) } -> std::convertible_to<std::string>;
};

/// A readable name of T for messages (`butler::DatasetType`).
template <class T>
constexpr std::string_view type_name() {
  std::string_view f = __PRETTY_FUNCTION__;
  auto start = f.find("T = ") + 4;
  auto end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}

namespace detail {

template <class T>
inline constexpr std::size_t member_count =
    decltype(boost::hana::length(boost::hana::accessors<T>()))::value;

template <class T>
constexpr auto member_names() {
  return boost::hana::unpack(boost::hana::accessors<T>(), [](auto... pairs) {
    return std::array<std::string_view, sizeof...(pairs)>{
        std::string_view(boost::hana::to<const char*>(boost::hana::first(pairs)))...};
  });
}

/// The wire name of every member, computed once per type.
template <class T>
const std::array<std::string, member_count<T>>& wire_names() {
  static const auto names = [] {
    std::array<std::string, member_count<T>> out;
    constexpr auto cxx = member_names<T>();
    for (std::size_t i = 0; i < cxx.size(); ++i) out[i] = options<T>::wire_name(cxx[i]);
    return out;
  }();
  return names;
}

/// Member I of `value`, by reference.
template <std::size_t I, class T>
decltype(auto) member(T& value) {
  return boost::hana::second(
      boost::hana::at_c<I>(boost::hana::accessors<std::remove_const_t<T>>()))(value);
}

template <class T, std::size_t I>
using member_type =
    std::remove_cvref_t<decltype(member<I>(std::declval<std::remove_const_t<T>&>()))>;

/// Calls f(std::integral_constant<size_t, i>) for a member index known only at run time.
template <class T, class F>
void visit_member(std::size_t i, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((i == I ? (f(std::integral_constant<std::size_t, I>{}), true) : false) || ...);
  }
  (std::make_index_sequence<member_count<T>>{});
}

/// One resolved key element: a member index and whether only its presence counts.
struct key_slot {
  std::size_t member = 0;
  bool presence_only = false;
};

/// The key of T resolved to member indices at compile time; a misspelled member fails to compile.
template <class T>
constexpr auto key_slots() {
  constexpr auto spec = options<T>::key;
  constexpr auto names = member_names<T>();
  if constexpr (spec.kind == key_kind::members) {
    std::array<key_slot, spec.fields.size()> out{};
    for (std::size_t k = 0; k < spec.fields.size(); ++k) {
      std::size_t found = names.size();
      for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == spec.fields[k].member) found = i;
      if (found == names.size()) throw "dedup::key_members names a member the type does not have";
      out[k] = {found, spec.fields[k].presence_only};
    }
    return out;
  } else {
    std::array<key_slot, member_count<T>> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = {i, false};
    return out;
  }
}

}  // namespace detail
}  // namespace dedup
