// What reading a T gives back, on either backend: its own header so that a backend names the
// result type without including the other backend.
#pragma once

#include <memory>

#include "dedup/reflect.hpp"

namespace dedup {

namespace detail {

/// What `from_simple<T>` returns: a shared instance for an interned T, else T itself.
///
/// ```
/// static_assert(std::is_same_v<dedup::detail::simple_result<int>::type, int>);
/// ```
template <class T>
struct simple_result {
  using type = T;
};
template <interned T>
struct simple_result<T> {
  using type = std::shared_ptr<const T>;
};

}  // namespace detail

/// What `from_simple<T>` returns: `std::shared_ptr<const T>` for a type that declares a key,
/// T itself otherwise (and `std::shared_ptr<const U>` when T is that).
///
/// ```
/// dedup::simple_result_t<butler::DatasetType> t = dedup::from_simple<butler::DatasetType>(j);
/// ```
template <class T>
using simple_result_t = typename detail::simple_result<T>::type;

}  // namespace dedup
