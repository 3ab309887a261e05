// Type categories, and the entry points that dispatch to a kind's codec (dedup/codec.hpp).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "dedup/codec.hpp"
#include "dedup/detail/codec/source.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/istring.hpp"
#include "dedup/nullable.hpp"
#include "dedup/reflect.hpp"

namespace dedup::detail {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_nullable : std::false_type {};
template <class T>
struct is_nullable<nullable<T>> : std::true_type {};
/// A member that may be left out of its object: `std::optional` or `dedup::nullable`.
template <class T>
inline constexpr bool may_be_absent = is_optional<T>::value || is_nullable<T>::value;
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class V, class C, class A>
struct is_string_map<std::map<std::string, V, C, A>> : std::true_type {};
template <class T>
struct is_unordered_string_map : std::false_type {};
template <class V, class H, class E, class A>
struct is_unordered_string_map<std::unordered_map<std::string, V, H, E, A>> : std::true_type {};
template <class T>
struct is_std_array : std::false_type {};
template <class T, std::size_t N>
struct is_std_array<std::array<T, N>> : std::true_type {};
template <class T>
struct is_time_point : std::false_type {};
template <class C, class D>
struct is_time_point<std::chrono::time_point<C, D>> : std::true_type {};
template <class T>
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};
template <class T>
struct is_shared_const : std::false_type {};
template <class T>
struct is_shared_const<std::shared_ptr<const T>> : std::true_type {};

template <class T>
concept whole_number = std::is_integral_v<T> && !std::is_same_v<T, bool>;

/// A struct whose options say `static constexpr bool as_array = true;`: its simple form is the
/// array of its members in declared order (`[begin, end]`), and it is read from that array or from
/// the object form.
///
/// ```
/// static_assert(dedup::detail::as_array<butler::Timespan>);  // the model's options say so
/// static_assert(!dedup::detail::as_array<butler::DatasetType>);
/// ```
template <class T>
concept as_array = described<T> && requires {
  requires options<T>::as_array;
};

// ---- dispatch to a kind's codec (see dedup/codec.hpp) -------------------------------------------

/// Whether T has a codec: a kind dedup knows, a Hana struct, or a user's `dedup::codec`.
template <class T>
concept has_codec = requires(json_kind k) {
  codec<T>::accepts(k);
};

/// Whether a value of JSON kind `k` can be read as T; used to pick a variant's alternative.
template <class T>
constexpr bool accepts(json_kind k) {
  return codec<T>::accepts(k);
}

/// What a reader of T expects, for messages.
template <class T>
std::string expected_name() {
  return codec<T>::expected_name();
}

/// Whether the value fits T beyond its JSON kind `k`: kinds with a shape (an `as_array` struct, a
/// `std::array`) say so in their codec's `fits`; for the others the kind decides.
template <class T, class S>
bool fits(S& src, const path& p, json_kind k) {
  if constexpr (requires { codec<T>::fits(src, p, k); })
    return codec<T>::fits(src, p, k);
  else
    return codec<T>::accepts(k);
}

/// Writes v to `sink` as T's codec says.
template <class T, json_sink K>
void write_to(K& sink, const T& v) {
  static_assert(has_codec<T>, "dedup: no codec for this type: see dedup/codec.hpp");
  codec<T>::write(sink, v);
}

/// Structural equality as T's codec says: what verify mode compares a hit with.
template <class T>
bool equal_values(const T& a, const T& b) {
  return codec<T>::equal(a, b);
}

// ---- shapes: which alternative of a variant a value is ------------------------------------------
// Written over a source (detail/codec/source.hpp) and used by the reader and the key encoder alike.

/// Calls f(member index, element source, element path) for each element of the array form of an
/// `as_array` struct, and rejects an array whose length is not the member count.
template <class T, class S, class F>
void walk_array_members(S& src, const path& p, F&& f) {
  std::size_t n = 0;
  src.for_each_element(p, [&](S& element, std::size_t i) {
    n = i + 1;
    if (i < member_count<T>) f(i, element, p.element(i));
  });
  if (n != member_count<T>)
    fail(p, "expected an array of " + std::to_string(member_count<T>) + " elements (" +
                std::string(type_name<T>()) + "), found " + std::to_string(n));
}

/// The alternative of variant V a value is read as: the first, in declared order, that accepts
/// its JSON kind and whose shape fits (see `fits`). Reading and keying both choose through here,
/// so a value's key always names the alternative it is built as.
template <class V, class S>
std::size_t choose_alternative(S& src, const path& p) {
  json_kind k = src.kind(p);
  std::size_t chosen = std::variant_npos;
  [&]<class... A>(std::type_identity<std::variant<A...>>) {
    std::size_t index = 0;
    ((chosen == std::variant_npos && fits<A>(src, p, k) ? chosen = index : 0, ++index), ...);
  }(std::type_identity<V>{});
  if (chosen == std::variant_npos) fail_kind(p, expected_name<V>(), kind_name(k));
  return chosen;
}

/// Calls f(std::integral_constant<size_t, i>) for a variant alternative known only at run time.
template <class V, class F>
void visit_alternative(std::size_t i, F&& f) {
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (void)((i == I ? (f(std::integral_constant<std::size_t, I>{}), true) : false) || ...);
  }
  (std::make_index_sequence<std::variant_size_v<V>>{});
}

}  // namespace dedup::detail
