// The layout fingerprint of a type: XXH3 of a canonical description of what its simple form is
// made of (for a struct: each member's C++ name, wire name and type, recursively), so a cache
// entry written with one declaration of a struct is never read with another. Built from Hana and
// the type traits only, never from typeid names or addresses: the same in every TU and run.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "dedup/detail/codec/traits.hpp"
#include "dedup/detail/hash.hpp"
#include "dedup/istring.hpp"
#include "dedup/nullable.hpp"
#include "dedup/reflect.hpp"

namespace dedup::detail {

template <class T>
void describe_layout(std::string& out, std::vector<std::string_view>& open);

template <class... A>
void describe_each(std::string& out, std::vector<std::string_view>& open) {
  bool first = true;
  ((out += first ? "" : "|", first = false, describe_layout<A>(out, open)), ...);
}

template <class T>
void describe_struct(std::string& out, std::vector<std::string_view>& open) {
  constexpr auto names = member_names<T>();
  const auto& wire = wire_names<T>();
  out += as_array<T> ? "tuple{" : "struct{";
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto one = [&](auto index) {
      constexpr std::size_t i = decltype(index)::value;
      out.append(names[i]).append("=").append(wire[i]).append(":");
      describe_layout<member_type<T, i>>(out, open);
      out += ';';
    };
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<member_count<T>>{});
  out += '}';
}

template <class T>
void describe_container(std::string& out, std::vector<std::string_view>& open) {
  if constexpr (is_optional<T>::value || is_nullable<T>::value) {
    out += is_optional<T>::value ? "optional<" : "nullable<";
    describe_layout<typename T::value_type>(out, open);
  } else if constexpr (is_vector<T>::value) {
    out += "vector<";
    describe_layout<typename T::value_type>(out, open);
  } else if constexpr (is_std_array<T>::value) {
    out += "array" + std::to_string(std::tuple_size_v<T>) + "<";
    describe_layout<typename T::value_type>(out, open);
  } else if constexpr (is_string_map<T>::value || is_unordered_string_map<T>::value) {
    out += "map<";  // both travel as the same object, sorted by key
    describe_layout<typename T::mapped_type>(out, open);
  } else if constexpr (is_shared_const<T>::value) {
    out += "shared<";
    describe_layout<typename T::element_type>(out, open);
  } else {
    out += "variant<";
    [&]<class... A>(std::type_identity<std::variant<A...>>) {
      describe_each<A...>(out, open);
    }(std::type_identity<T>{});
  }
  out += '>';
}

/// Appends T's description; `open` holds the structs being described, so that a recursive type
/// (a struct holding a vector of itself) names itself instead of recursing forever.
template <class T>
void describe_layout(std::string& out, std::vector<std::string_view>& open) {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, bool>) {
    out += "bool";
  } else if constexpr (string_coded<U>) {
    out.append("text:").append(type_name<U>());
  } else if constexpr (std::is_enum_v<U>) {
    out += "enum:";
    describe_layout<std::underlying_type_t<U>>(out, open);
  } else if constexpr (std::is_integral_v<U>) {
    out += (std::is_signed_v<U> ? "i" : "u") + std::to_string(sizeof(U) * 8);
  } else if constexpr (std::is_floating_point_v<U>) {
    out += "f" + std::to_string(sizeof(U) * 8);
  } else if constexpr (std::is_same_v<U, std::string> || std::is_same_v<U, std::string_view>) {
    out += "string";
  } else if constexpr (std::is_same_v<U, istring>) {
    out += "istring";
  } else if constexpr (is_time_point<U>::value) {
    using period = typename U::duration::period;
    out += "time<" + std::to_string(period::num) + "/" + std::to_string(period::den) + ":";
    describe_layout<typename U::duration::rep>(out, open);
    out += '>';
  } else if constexpr (is_optional<U>::value || is_nullable<U>::value || is_vector<U>::value ||
                       is_std_array<U>::value || is_string_map<U>::value ||
                       is_unordered_string_map<U>::value || is_shared_const<U>::value ||
                       is_variant<U>::value) {
    describe_container<U>(out, open);
  } else if constexpr (described<U>) {
    std::string_view self = type_name<U>();
    for (std::string_view o : open)
      if (o == self) return void(out.append("recursive:").append(self));
    open.push_back(self);
    describe_struct<U>(out, open);
    open.pop_back();
  } else {
    out.append("codec:").append(type_name<U>());  // a user codec: its type names its layout
  }
}

/// The canonical description of T's layout, what its fingerprint hashes.
///
/// ```
/// assert(dedup::detail::layout_description<std::vector<int>>() == "vector<i32>");
/// ```
template <class T>
std::string layout_description() {
  std::string out;
  std::vector<std::string_view> open;
  describe_layout<T>(out, open);
  return out;
}

/// XXH3 of T's layout description, computed once per type.
///
/// ```
/// assert(dedup::detail::layout_fingerprint<int>() != dedup::detail::layout_fingerprint<long>());
/// ```
template <class T>
std::uint64_t layout_fingerprint() {
  static const std::uint64_t fingerprint = [] {
    std::string d = layout_description<T>();
    return static_cast<std::uint64_t>(XXH3_64bits(d.data(), d.size()));
  }();
  return fingerprint;
}

}  // namespace dedup::detail
