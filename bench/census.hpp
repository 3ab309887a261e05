// What a load built: dedup-bench counts the objects of each result and hashes their content, so
// that the figures in its table are counted, not predicted, and the peers' results can be checked
// against dedup's.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <boost/hana/for_each.hpp>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"

namespace bench {

/// Counts the objects (described structs) a result holds, each shared one once, and how many of
/// them are distinct by content, by hashing every object bottom-up.
struct census {
  std::size_t built = 0;
  std::unordered_set<std::uint64_t> distinct;
  std::unordered_map<const void*, std::uint64_t> shared_seen;
};

inline std::uint64_t combine(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

/// The content hash of `v`, counting in `c` the objects it holds.
template <class T>
std::uint64_t content(const T& v, census& c) {
  using namespace dedup::detail;
  if constexpr (std::is_same_v<T, std::monostate>) {
    return 1;
  } else if constexpr (std::is_arithmetic_v<T>) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return combine(2, bits);
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, dedup::istring>) {
    return std::hash<std::string_view>{}(std::string_view(v));
  } else if constexpr (std::is_same_v<T, butler::uuid>) {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()));
  } else if constexpr (is_optional<T>::value) {
    return v ? combine(3, content(*v, c)) : 4;
  } else if constexpr (is_nullable<T>::value) {
    return v ? combine(3, content(*v, c)) : v.is_null() ? 7 : 4;
  } else if constexpr (is_vector<T>::value) {
    std::uint64_t h = 5;
    for (const auto& e : v) h = combine(h, content(e, c));
    return h;
  } else if constexpr (is_string_map<T>::value) {
    std::uint64_t h = 6;
    for (const auto& [k, e] : v) h = combine(combine(h, content(k, c)), content(e, c));
    return h;
  } else if constexpr (is_variant<T>::value) {
    return combine(v.index(), std::visit([&](const auto& a) { return content(a, c); }, v));
  } else if constexpr (is_shared_const<T>::value) {
    if (auto it = c.shared_seen.find(v.get()); it != c.shared_seen.end()) return it->second;
    std::uint64_t h = content(*v, c);
    c.shared_seen.emplace(v.get(), h);
    return h;
  } else {
    ++c.built;
    std::uint64_t h = std::hash<std::string_view>{}(dedup::detail::type_name<T>());
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      h = combine(h, content(boost::hana::second(pair)(v), c));
    });
    c.distinct.insert(h);
    return h;
  }
}

}  // namespace bench
