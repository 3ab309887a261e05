// Type categories shared by the readers, the key encoder and the writer.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "dedup/error.hpp"
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
struct is_variant : std::false_type {};
template <class... T>
struct is_variant<std::variant<T...>> : std::true_type {};
template <class T>
struct is_shared_const : std::false_type {};
template <class T>
struct is_shared_const<std::shared_ptr<const T>> : std::true_type {};

template <class T>
concept whole_number = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <class T>
concept text = std::is_same_v<T, std::string> || std::is_same_v<T, istring> || string_coded<T>;

/// A struct whose options say `static constexpr bool as_array = true;`: its simple form is the
/// array of its members in declared order (`[begin, end]`), and it is read from that array or from
/// the object form.
///
/// ```
/// template <> struct dedup::options<butler::Timespan> : dedup::default_options {
///   static constexpr bool as_array = true;
/// };
/// ```
template <class T>
concept as_array = described<T> && requires {
  requires options<T>::as_array;
};

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

/// Whether a value of JSON kind `k` can be read as T; used to pick a variant's alternative.
template <class T>
constexpr bool accepts(json_kind k) {
  using enum json_kind;
  if constexpr (std::is_same_v<T, std::monostate>)
    return k == null;
  else if constexpr (std::is_same_v<T, bool>)
    return k == boolean;
  else if constexpr (whole_number<T>)
    return k == integer;
  else if constexpr (std::is_floating_point_v<T>)
    return k == integer || k == number;
  else if constexpr (text<T>)
    return k == string;
  else if constexpr (is_optional<T>::value || is_nullable<T>::value)
    return k == null || accepts<typename T::value_type>(k);
  else if constexpr (is_vector<T>::value)
    return k == array;
  else if constexpr (as_array<T>)
    return k == array || k == object;
  else if constexpr (is_string_map<T>::value || described<T>)
    return k == object;
  else if constexpr (is_shared_const<T>::value)
    return accepts<std::remove_const_t<typename T::element_type>>(k);
  else
    return false;
}

/// What a reader of T expects, for messages.
template <class T>
std::string expected_name() {
  if constexpr (std::is_same_v<T, std::monostate>)
    return "null";
  else if constexpr (std::is_same_v<T, bool>)
    return "boolean";
  else if constexpr (whole_number<T>)
    return "integer";
  else if constexpr (std::is_floating_point_v<T>)
    return "number";
  else if constexpr (text<T>)
    return "string";
  else if constexpr (is_optional<T>::value || is_nullable<T>::value)
    return expected_name<typename T::value_type>() + " or null";
  else if constexpr (is_vector<T>::value)
    return "array";
  else if constexpr (is_shared_const<T>::value)
    return expected_name<std::remove_const_t<typename T::element_type>>();
  else if constexpr (is_variant<T>::value) {
    return []<class... A>(std::type_identity<std::variant<A...>>) {
      std::string out;
      ((out += (out.empty() ? "" : " or ") + expected_name<A>()), ...);
      return out;
    }(std::type_identity<T>{});
  } else if constexpr (as_array<T>)
    return "array or object";
  else
    return "object";
}

// ---- shapes: which alternative of a variant a value is ------------------------------------------
// Written over a reader's "source" (see read.hpp) and used by the reader and the key encoder alike.

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

/// Whether the value fits T beyond its JSON kind `k`: an `as_array` struct takes only an array of
/// its member count whose elements each have a kind its matching member accepts; a vector takes any
/// array. Peeking walks the array once more, which every source allows.
template <class T, class S>
bool fits(S& src, const path& p, json_kind k) {
  if (!accepts<T>(k)) return false;
  if constexpr (is_optional<T>::value || is_nullable<T>::value) {
    return k == json_kind::null || fits<typename T::value_type>(src, p, k);
  } else if constexpr (is_shared_const<T>::value) {
    return fits<std::remove_const_t<typename T::element_type>>(src, p, k);
  } else if constexpr (as_array<T>) {
    if (k != json_kind::array) return true;
    std::size_t n = 0;
    bool ok = true;
    src.for_each_element(p, [&](S& element, std::size_t i) {
      n = i + 1;
      if (i >= member_count<T> || !ok) return;
      visit_member<T>(i, [&](auto I) {
        ok = accepts<member_type<T, decltype(I)::value>>(element.kind(p.element(i)));
      });
    });
    return ok && n == member_count<T>;
  } else {
    return true;
  }
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
