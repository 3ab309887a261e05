// The codecs of scalar kinds: null, booleans, integers, floating point, strings, istring, types
// with a string_codec, enums and time points (see dedup/codec.hpp for what a codec carries).
#pragma once

#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

#include "dedup/codec.hpp"
#include "dedup/detail/codec/key.hpp"
#include "dedup/detail/codec/read.hpp"
#include "dedup/detail/codec/traits.hpp"

namespace dedup {

namespace detail {

/// `equal` for kinds whose own `==` is their structural equality.
struct equal_by_operator {
  template <class T>
  static bool equal(const T& a, const T& b) {
    return a == b;
  }
};

/// The key bytes of a string, shared by every kind that travels as one.
template <class S>
void encode_text(S& src, const path& p, std::string& out) {
  std::string_view s = read_text(src, p);
  out += 's';
  put_u32(out, static_cast<std::uint32_t>(s.size()));
  out += s;
}

/// Enums and time points without a `string_codec` (which takes precedence).
template <class T>
concept plain_enum = std::is_enum_v<T> && !string_coded<T>;
template <class T>
concept plain_time_point = is_time_point<T>::value && !string_coded<T>;

/// An enum travels as its underlying integer.
template <class E>
struct enum_conversion {
  static std::underlying_type_t<E> to(E v) { return static_cast<std::underlying_type_t<E>>(v); }
  static E from(std::underlying_type_t<E> v) { return static_cast<E>(v); }
};

/// A time point travels as the count of its duration's ticks since its clock's epoch.
template <class T>
struct time_point_conversion {
  using rep = typename T::duration::rep;
  static rep to(const T& v) { return v.time_since_epoch().count(); }
  static T from(rep v) { return T(typename T::duration(v)); }
};

/// What every kind that travels as a JSON string shares.
struct text_codec {
  static constexpr bool accepts(json_kind k) { return k == json_kind::string; }
  static std::string expected_name() { return "string"; }
  template <class S>
  static void encode(S& src, const path& p, std::string& out) {
    encode_text(src, p, out);
  }
};

}  // namespace detail

/// `null`, as a variant's `std::monostate` alternative.
template <>
struct codec<std::monostate> : detail::equal_by_operator {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::null; }
  static std::string expected_name() { return "null"; }
  template <class S>
  static void read(S& src, const detail::path& p, context*, std::monostate&) {
    detail::expect(src, p, detail::json_kind::null, "null");
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    detail::expect(src, p, detail::json_kind::null, "null");
    out += 'n';
  }
  template <class K>
  static void write(K& sink, const std::monostate&) {
    sink.null();
  }
};

template <>
struct codec<bool> : detail::equal_by_operator {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::boolean; }
  static std::string expected_name() { return "boolean"; }
  template <class S>
  static void read(S& src, const detail::path& p, context*, bool& out) {
    detail::expect(src, p, detail::json_kind::boolean, "boolean");
    out = src.get_bool(p);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    detail::expect(src, p, detail::json_kind::boolean, "boolean");
    out += src.get_bool(p) ? 'T' : 'F';
  }
  template <class K>
  static void write(K& sink, bool v) {
    sink.boolean(v);
  }
};

/// Integers, range-checked against T.
template <detail::whole_number T>
struct codec<T> : detail::equal_by_operator {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::integer; }
  static std::string expected_name() { return "integer"; }
  template <class S>
  static void read(S& src, const detail::path& p, context*, T& out) {
    out = detail::read_integer<T>(src, p);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    out += 'i';
    detail::put_u64(out, static_cast<std::uint64_t>(detail::read_integer<T>(src, p)));
  }
  template <class K>
  static void write(K& sink, T v) {
    if constexpr (std::is_signed_v<T>)
      sink.integer(static_cast<std::int64_t>(v));
    else
      sink.integer(static_cast<std::uint64_t>(v));
  }
};

/// Floating point; an integer is read as the nearest value. Keys hold the value as a double.
template <std::floating_point T>
struct codec<T> : detail::equal_by_operator {
  static constexpr bool accepts(detail::json_kind k) {
    return k == detail::json_kind::integer || k == detail::json_kind::number;
  }
  static std::string expected_name() { return "number"; }
  template <class S>
  static void read(S& src, const detail::path& p, context*, T& out) {
    out = detail::read_floating<T>(src, p);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    out += 'd';
    double d = detail::read_floating<double>(src, p);
    std::uint64_t bits;
    std::memcpy(&bits, &d, 8);
    detail::put_u64(out, bits);
  }
  template <class K>
  static void write(K& sink, T v) {
    sink.number(static_cast<double>(v));
  }
};

template <>
struct codec<std::string> : detail::text_codec, detail::equal_by_operator {
  template <class S>
  static void read(S& src, const detail::path& p, context*, std::string& out) {
    out = detail::read_text(src, p);
  }
  template <class K>
  static void write(K& sink, const std::string& v) {
    sink.string(v);
  }
};

/// An istring is shared through the context's string table inside a scope, and outside one in a
/// compact read, through the read's own pool (its strings were shared when it was written).
template <>
struct codec<istring> : detail::text_codec, detail::equal_by_operator {
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, istring& out) {
    std::string_view text = detail::read_text(src, p);
    if constexpr (detail::compact_form_source<S>) {
      if (!ctx) return void(out = src.unscoped_string(text));
    }
    out = detail::make_istring(text, ctx);
  }
  template <class K>
  static void write(K& sink, const istring& v) {
    sink.string(v.view());
  }
};

/// A type with a `string_codec`: parsed from the string's view, without a copy.
template <string_coded T>
struct codec<T> : detail::text_codec {
  template <class S>
  static void read(S& src, const detail::path& p, context*, T& out) {
    std::string_view s = detail::read_text(src, p);
    try {
      out = string_codec<T>::parse(s);
    } catch (const std::exception& e) {
      detail::fail(p, "invalid " + std::string(detail::type_name<T>()) + " '" + detail::excerpt(s) +
                          "': " + e.what());
    }
  }
  template <class K>
  static void write(K& sink, const T& v) {
    sink.string(std::string(string_codec<T>::format(v)));
  }
  static bool equal(const T& a, const T& b) {
    if constexpr (std::equality_comparable<T>)
      return a == b;
    else
      return std::string(string_codec<T>::format(a)) == std::string(string_codec<T>::format(b));
  }
};

/// An enum, as its underlying integer (range-checked against that type; any value in range is
/// taken, as a C++ enum may hold it).
template <detail::plain_enum T>
struct codec<T> : codec_via<T, std::underlying_type_t<T>, detail::enum_conversion<T>> {};

/// A `std::chrono::time_point<Clock, Duration>`, as the integer count of Duration ticks since
/// Clock's epoch (`system_clock` with `std::chrono::seconds`: Unix time in seconds).
template <detail::plain_time_point T>
struct codec<T> : codec_via<T, typename T::duration::rep, detail::time_point_conversion<T>> {};

}  // namespace dedup
