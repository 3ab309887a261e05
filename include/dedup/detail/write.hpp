// The writer: C++ values to their simple form (nlohmann::json).
#pragma once

#include <nlohmann/json.hpp>

#include "dedup/detail/traits.hpp"

namespace dedup::detail {

template <class T>
nlohmann::json write(const T& v);

template <class T>
nlohmann::json write_struct(const T& v) {
  nlohmann::json out = nlohmann::json::object();
  const auto& names = wire_names<T>();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    auto one = [&](auto index) {
      const auto& m = member<decltype(index)::value>(v);
      using M = std::remove_cvref_t<decltype(m)>;
      if constexpr (is_optional<M>::value) {
        if (!m) return;  // an empty optional is written as absent, whether it was read from null
      } else if constexpr (is_nullable<M>::value) {
        if (m.is_absent()) return;  // a nullable writes back what it read: absent, null or a value
      }
      out[names[decltype(index)::value]] = write(m);
    };
    (one(std::integral_constant<std::size_t, I>{}), ...);
  }
  (std::make_index_sequence<member_count<T>>{});
  return out;
}

/// An `as_array` struct: the array of its members in declared order.
template <class T>
nlohmann::json write_array_struct(const T& v) {
  nlohmann::json out = nlohmann::json::array();
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    (out.push_back(write(member<I>(v))), ...);
  }
  (std::make_index_sequence<member_count<T>>{});
  return out;
}

template <class T>
nlohmann::json write(const T& v) {
  if constexpr (std::is_same_v<T, std::monostate>)
    return nullptr;
  else if constexpr (std::is_same_v<T, istring>)
    return v.str();
  else if constexpr (string_coded<T>)
    return std::string(string_codec<T>::format(v));
  else if constexpr (std::is_arithmetic_v<T> || std::is_same_v<T, std::string>)
    return v;
  else if constexpr (is_optional<T>::value || is_nullable<T>::value)
    return v ? write(*v) : nlohmann::json(nullptr);
  else if constexpr (is_shared_const<T>::value)
    return v ? write(*v) : nlohmann::json(nullptr);
  else if constexpr (is_vector<T>::value) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : v) out.push_back(write(static_cast<const typename T::value_type&>(e)));
    return out;
  } else if constexpr (is_string_map<T>::value) {
    nlohmann::json out = nlohmann::json::object();
    for (const auto& [k, e] : v) out[k] = write(e);
    return out;
  } else if constexpr (is_variant<T>::value) {
    return std::visit([](const auto& alt) { return write(alt); }, v);
  } else if constexpr (as_array<T>) {
    return write_array_struct(v);
  } else {
    static_assert(described<T>, "dedup: no simple form for this type (see dedup/reflect.hpp)");
    return write_struct(v);
  }
}

}  // namespace dedup::detail
