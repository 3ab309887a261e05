// The codecs of Hana structs (as objects, or as arrays for `as_array` ones) and of shared members
// (see dedup/codec.hpp for what a codec carries).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "dedup/detail/codec/codecs_containers.hpp"

namespace dedup {

namespace detail {

/// A Hana struct without a `string_codec` (which takes precedence: such a type travels as a
/// string).
template <class T>
concept reflected = described<T> && !string_coded<T>;
template <class T>
concept reflected_as_array = reflected<T> && as_array<T>;

/// Writes the members of a struct under their wire names, leaving out empty optionals and absent
/// nullables (a nullable writes back what it read: absent, null or a value).
template <class T, class K>
void write_members(K& sink, const T& v) {
  const auto& names = wire_names<T>();
  sink.begin_object();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto one = [&](auto index) {
      constexpr std::size_t i = decltype(index)::value;
      const auto& m = member<i>(v);
      using M = member_type<T, i>;
      if constexpr (is_optional<M>::value) {
        if (!m) return;
      } else if constexpr (is_nullable<M>::value) {
        if (m.is_absent()) return;
      }
      sink.key(names[i]);
      write_to<M>(sink, m);
    };
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<member_count<T>>{});
  sink.end_object();
}

/// Member-by-member equality, each member by its own codec (so shared members compare their
/// pointees).
template <class T>
bool equal_members(const T& a, const T& b) {
  return [&]<std::size_t... I>(std::index_sequence<I...>) {
    return (equal_values<member_type<T, I>>(member<I>(a), member<I>(b)) && ...);
  }
  (std::make_index_sequence<member_count<T>>{});
}

}  // namespace detail

/// A shared member: interned inside a scope when U declares a key; keyed by U's key. In the compact
/// form (dedup/compact.hpp) a member whose U declares a key travels as `{"$id":N,"$value":...}` the
/// first time and `{"$ref":N}` after: a compact sink names the instances when writing, and a
/// compact source (detail/wire/compact_source.hpp) resolves them when reading.
template <class U>
struct codec<std::shared_ptr<const U>> {
  using pointer = std::shared_ptr<const U>;
  static constexpr bool accepts(detail::json_kind k) { return detail::accepts<U>(k); }
  template <class S>
  static bool fits(S& src, const detail::path& p, detail::json_kind k) {
    return detail::fits<U>(src, p, k);
  }
  static std::string expected_name() { return detail::expected_name<U>(); }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, pointer& out) {
    if constexpr (interned<U> && detail::compact_form_source<S>)
      out = src.template read_shared_member<U>(p, ctx);
    else
      out = detail::read_shared<U>(src, p, ctx);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    if constexpr (interned<U> && detail::compact_form_source<S>)
      src.template encode_shared_member<U>(p, out);
    else
      detail::encode_key<U>(src, p, out);
  }
  template <class K>
  static void write(K& sink, const pointer& v) {
    if (!v) return sink.null();
    if constexpr (interned<U> && requires { sink.identity(v); }) {
      auto named = sink.identity(v);  // a compact sink: each instance once, by address
      if (named.in_place) return detail::write_to<U>(sink, *v);
      sink.begin_object();
      sink.key(named.first ? "$id" : "$ref");
      sink.integer(named.id);
      if (named.first) {
        sink.key("$value");
        detail::write_to<U>(sink, *v);
      }
      sink.end_object();
    } else {
      detail::write_to<U>(sink, *v);
    }
  }
  /// Both null, the very same instance, or equal instances.
  static bool equal(const pointer& a, const pointer& b) {
    return a == b || (a && b && detail::equal_values<U>(*a, *b));
  }
};

/// A Hana struct: an object of its members under their wire names, in any order.
template <detail::reflected T>
struct codec<T> {
  static constexpr bool accepts(detail::json_kind k) { return k == detail::json_kind::object; }
  static std::string expected_name() { return "object"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, T& out) {
    detail::read_struct(src, p, ctx, out);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    out += 'o';
    detail::encode_fields<T, detail::key_slots<T>()>(src, p, out);  // every member, or its key
  }
  template <class K>
  static void write(K& sink, const T& v) {
    detail::write_members(sink, v);
  }
  static bool equal(const T& a, const T& b) { return detail::equal_members(a, b); }
};

/// An `as_array` struct: written as the array of its members in declared order, read from that
/// array or from the object form, keyed alike in both forms.
template <detail::reflected_as_array T>
struct codec<T> {
  static constexpr bool accepts(detail::json_kind k) {
    return k == detail::json_kind::array || k == detail::json_kind::object;
  }
  /// An array fits only with the member count, each element of a kind its member accepts.
  template <class S>
  static bool fits(S& src, const detail::path& p, detail::json_kind k) {
    if (k != detail::json_kind::array) return accepts(k);
    std::size_t n = 0;
    bool ok = true;
    src.for_each_element(p, [&](S& element, std::size_t i) {
      n = i + 1;
      if (i >= detail::member_count<T> || !ok) return;
      detail::visit_member<T>(i, [&](auto I) {
        using M = detail::member_type<T, decltype(I)::value>;
        ok = detail::accepts<M>(element.kind(p.element(i)));
      });
    });
    return ok && n == detail::member_count<T>;
  }
  static std::string expected_name() { return "array or object"; }
  template <class S>
  static void read(S& src, const detail::path& p, context* ctx, T& out) {
    if (src.kind(p) == detail::json_kind::array)
      detail::read_array_struct(src, p, ctx, out);
    else
      detail::read_struct(src, p, ctx, out);
  }
  template <class S>
  static void encode(S& src, const detail::path& p, std::string& out) {
    out += 'o';
    if (src.kind(p) != detail::json_kind::array)
      return detail::encode_fields<T, detail::key_slots<T>()>(src, p, out);
    detail::walk_array_members<T>(src, p, [&](std::size_t i, S& element, const detail::path& at) {
      detail::visit_member<T>(i, [&](auto I) {
        detail::encode<detail::member_type<T, decltype(I)::value>>(element, at, out);
      });
    });
  }
  template <class K>
  static void write(K& sink, const T& v) {
    sink.begin_array();
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (detail::write_to<detail::member_type<T, I>>(sink, detail::member<I>(v)), ...);
    }
    (std::make_index_sequence<detail::member_count<T>>{});
    sink.end_array();
  }
  static bool equal(const T& a, const T& b) { return detail::equal_members(a, b); }
};

}  // namespace dedup
