// dedup/reflect.hpp: what dedup knows about a user type: its members (through Boost.Hana), their
// names on the wire, which of them identify an instance (declared in dedup/options.hpp), and so
// what reading one gives back.
#pragma once

#include <array>
#include <cstddef>
#include <memory>
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

#include "dedup/options.hpp"

namespace dedup {

/// A Boost.Hana struct: something dedup can walk member by member.
template <class T>
concept described = boost::hana::Struct<T>::value;

/// A type that declares a key and is therefore interned inside a scope.
template <class T>
concept interned = described<T> && options<T>::key.kind != key_kind::none;

/// What reading a T gives back on either backend (`from_simple<T>`, `parse<T>`, `parse_fast<T>`,
/// a reader's records): `std::shared_ptr<const T>` for a type that declares a key (one shared
/// instance per key in a scope), T itself otherwise (and `std::shared_ptr<const U>` when T is
/// that). `simple_result_t<T>` names its `type`.
///
/// ```
/// static_assert(std::is_same_v<dedup::simple_result<int>::type, int>);
/// static_assert(std::is_same_v<dedup::simple_result<butler::DatasetType>::type,
///                              std::shared_ptr<const butler::DatasetType>>);
/// ```
template <class T>
struct simple_result {
  using type = T;
};
template <interned T>
struct simple_result<T> {
  using type = std::shared_ptr<const T>;
};

/// What reading a T gives back (see `simple_result`).
///
/// ```
/// dedup::simple_result_t<butler::DatasetType> t = dedup::from_simple<butler::DatasetType>(j);
/// ```
template <class T>
using simple_result_t = typename simple_result<T>::type;

namespace detail {

/// A readable name of T for messages.
///
/// ```
/// static_assert(dedup::detail::type_name<int>() == "int");
/// ```
template <class T>
constexpr std::string_view type_name() {
  std::string_view f = __PRETTY_FUNCTION__;
  auto start = f.find("T = ") + 4;
  auto end = f.find_first_of(";]", start);
  return f.substr(start, end - start);
}

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
