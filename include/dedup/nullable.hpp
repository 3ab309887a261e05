// dedup/nullable.hpp: an optional member that remembers whether it was absent or written as null.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <utility>

namespace dedup {

/// A tri-state optional member: absent (the member is left out), null (written as `null`) or a
/// value. `std::optional` folds absent and null into one empty state, which it writes as absent;
/// `nullable` keeps the difference, so `to_simple(from_simple(j)) == j` holds for documents that
/// write explicit nulls, as the reference system does (`"component": null`). Equality compares
/// the state and then the value; keys see absent and null as different values, and so does a
/// `dedup::has` presence key (absent, null, present), since each is written back as it was read.
///
/// ```
/// dedup::nullable<std::string> c;          // absent: left out when written
/// c = dedup::null;                         // written as "component": null
/// c = "wcs";                               // a value
/// assert(c.has_value() && *c == "wcs" && !c.is_null());
/// ```
template <class T>
class nullable {
 public:
  using value_type = T;
  /// Which of the three states a nullable is in.
  enum class state : std::uint8_t { absent, null, value };

  nullable() = default;
  nullable(std::nullptr_t) : null_(true) {}  // NOLINT: implicit on purpose, like std::nullopt
  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&
      (!std::is_same_v<std::remove_cvref_t<U>, nullable>)nullable(U&& v)
      : value_(std::forward<U>(v)) {}  // NOLINT: implicit, like std::optional

  state which() const noexcept {
    return value_ ? state::value : null_ ? state::null : state::absent;
  }
  bool has_value() const noexcept { return value_.has_value(); }
  explicit operator bool() const noexcept { return has_value(); }
  bool is_null() const noexcept { return null_; }
  bool is_absent() const noexcept { return !value_ && !null_; }

  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  /// The value; `std::bad_optional_access` when absent or null.
  const T& value() const { return value_.value(); }
  template <class U>
  T value_or(U&& fallback) const {
    return value_.value_or(std::forward<U>(fallback));
  }

  /// Makes it absent.
  void reset() noexcept {
    value_.reset();
    null_ = false;
  }
  /// Makes it an explicit null.
  void set_null() noexcept {
    value_.reset();
    null_ = true;
  }
  template <class... A>
  T& emplace(A&&... args) {
    null_ = false;
    return value_.emplace(std::forward<A>(args)...);
  }

  friend bool operator==(const nullable& a, const nullable& b) {
    return a.which() == b.which() && (!a.value_ || *a.value_ == *b.value_);
  }

 private:
  std::optional<T> value_;
  bool null_ = false;
};

/// The explicit null of any `nullable`: `ref.component = dedup::null;`
inline constexpr std::nullptr_t null = nullptr;

}  // namespace dedup
