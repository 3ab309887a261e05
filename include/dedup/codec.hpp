// dedup/codec.hpp: how one kind of C++ value travels as JSON, and the extension point for user
// types that are not Hana structs.
#pragma once

#include <concepts>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include "dedup/context.hpp"
#include "dedup/detail/codec/source.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/error.hpp"
#include "dedup/reflect.hpp"

namespace dedup {

/// Specialize for a type that travels as a JSON string (a UUID, a date): `static T parse(std::
/// string_view)` throwing `std::invalid_argument` on bad text, and `static std::string format(const
/// T&)`. dedup builds the type's `dedup::codec` from it, parsing the string in place without a
/// copy; `codec_via<T, R>` is the general form for other representations.
///
/// ```namespace
/// struct celsius { double degrees = 0; };
/// template <> struct dedup::string_codec<celsius> {  // std::stod throws std::invalid_argument
///   static celsius parse(std::string_view s) { return {std::stod(std::string(s))}; }
///   static std::string format(const celsius& c) { return std::to_string(c.degrees); }
/// };
/// ```
template <class T>
struct string_codec;

/// A type with a `string_codec`.
template <class T>
concept string_coded = requires(std::string_view s, const T& v) {
  { string_codec<T>::parse(s) } -> std::same_as<T>;
  { string_codec<T>::format(v) } -> std::convertible_to<std::string>;
};

/// Everything dedup knows about one kind of value, in one place: which JSON kinds it takes, its
/// name in messages, how to read it from a source, how to encode it into a key, how to write it to
/// a sink and when two values are equal (what verify mode compares). dedup specializes it for
/// scalars, strings, `istring`, enums (their underlying integer), `std::chrono::time_point` (the
/// integer count of its duration's ticks since its clock's epoch), optionals, `nullable`,
/// `std::vector`, `std::array` (exactly N elements), string-keyed `std::map` and
/// `std::unordered_map` (written and keyed sorted by key), variants, `std::shared_ptr<const T>`,
/// Hana structs and types with a `string_codec`.
///
/// Specialize it for a type of yours that is not a Hana struct. The easy way is a representation
/// dedup already knows: derive from `codec_via<T, R>` and give `to` (T to R) and `from` (R to T,
/// throwing any `std::exception` on a bad value, which becomes a `dedup::error` at its pointer; a
/// `dedup::exception` of its own passes as it is).
/// Keys, reading on both backends, writing and verify mode then all follow R.
///
/// ```namespace
/// struct version { int release = 0, patch = 0; };
/// template <> struct dedup::codec<version> : dedup::codec_via<version, std::string> {
///   static std::string to(const version& v) {
///     return std::to_string(v.release) + "." + std::to_string(v.patch);
///   }
///   static version from(const std::string& s) {  // "2.1"; std::stoi throws on bad text
///     std::size_t dot = s.find('.');
///     if (dot == std::string::npos) throw std::invalid_argument("no '.'");
///     return {std::stoi(s.substr(0, dot)), std::stoi(s.substr(dot + 1))};
///   }
/// };
/// ```
///
/// A full codec gives the static members of `codec_via` below itself, over any
/// `detail::json_source` and `detail::json_sink`.
template <class T>
struct codec;

namespace detail {
template <class T, class S>
bool fits(S& src, const path& p, json_kind k);
}  // namespace detail

/// The JSON kinds a codec tells apart (integers apart from other numbers), as its `accepts` and
/// `fits` take them.
///
/// ```
/// static_assert(dedup::codec<int>::accepts(dedup::json_kind::integer));
/// static_assert(!dedup::codec<int>::accepts(dedup::json_kind::string));
/// ```
using json_kind = detail::json_kind;

/// Where in its document the value a codec reads is: a chain of frames on the stack, rendered as
/// a JSON pointer only when a `dedup::error` at that place is thrown. A codec passes it on to the
/// source and to the codecs of its parts (`p.member(name)`, `p.element(i)`).
///
/// ```
/// dedup::json_path root;
/// assert(root.member("refs").element(12).render() == "/refs/12");
/// ```
using json_path = detail::path;

/// A codec for T through a representation R that has a codec: T travels, is keyed and compares
/// as `codec<T>::to(value)`. `Conv` gives `to` and `from`; it is T's codec itself by default.
///
/// ```namespace
/// struct port { std::uint16_t number = 0; };
/// template <> struct dedup::codec<port> : dedup::codec_via<port, std::uint16_t> {
///   static std::uint16_t to(port p) { return p.number; }
///   static port from(std::uint16_t n) { return port{n}; }
/// };
/// ```
template <class T, class R, class Conv = codec<T>>
struct codec_via {
  static constexpr bool accepts(json_kind k) { return codec<R>::accepts(k); }
  template <class S>
  static bool fits(S& src, const json_path& p, json_kind k) {
    return detail::fits<R>(src, p, k);
  }
  static std::string expected_name() { return codec<R>::expected_name(); }

  template <class S>
  static void read(S& src, const json_path& p, context* ctx, T& out) {
    R repr{};
    codec<R>::read(src, p, ctx, repr);
    try {
      out = Conv::from(std::move(repr));
    } catch (const dedup::exception&) {  // dedup's own failures pass as they are
      throw;
    } catch (const std::exception& e) {
      detail::fail(p, "invalid " + std::string(detail::type_name<T>()) + ": " + e.what());
    }
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    codec<R>::encode(src, p, out);
  }
  template <class K>
  static void write(K& sink, const T& v) {
    codec<R>::write(sink, static_cast<const R&>(Conv::to(v)));
  }
  static bool equal(const T& a, const T& b) {
    if constexpr (std::equality_comparable<T>)
      return a == b;
    else
      return codec<R>::equal(Conv::to(a), Conv::to(b));
  }
};

}  // namespace dedup
