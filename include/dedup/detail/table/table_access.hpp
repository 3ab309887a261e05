// The deserializers' door to an intern table's build protocol (included by intern_table.hpp, after
// the table it opens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "dedup/intern_table.hpp"

namespace dedup {
namespace detail {

/// The deserializers' door to an intern table's build protocol, kept out of the table's public
/// face: reserve a key, build, publish (through the returned ticket), alias, and take back.
///
/// ```
/// dedup::intern_table<std::string> table;
/// std::string_view key = "HSC";
/// std::size_t h = dedup::detail::hash_key(key);
/// auto found = dedup::detail::table_access::find_or_reserve(table, key, h);
/// if (!found.value && found.reservation) {
///   auto value = std::make_shared<const std::string>(key);
///   found.reservation.publish(value, {});  // `value` is now the table's instance
/// }
/// ```
struct table_access {
  /// What `find_or_reserve` and `find_alias` return: value and entry on a hit, else a ticket.
  template <class T>
  using lookup = typename intern_table<T>::lookup;

  template <class T>
  static lookup<T> find_or_reserve(intern_table<T>& t, std::string_view key, std::size_t h) {
    return t.find_or_reserve(key, h);
  }
  template <class T>
  static lookup<T> find_alias(const intern_table<T>& t, std::string_view bytes, std::size_t h) {
    return t.find_alias(bytes, h);
  }
  template <class T>
  static std::string_view add_alias(intern_table<T>& t, std::string_view bytes, std::size_t h,
                                    const lookup<T>& target) {
    return t.add_alias(bytes, h, target);
  }
  /// Whether the self-tuning policy judges T's table under `p` (see `intern_table::judged`).
  template <class T>
  static bool judged(const intern_table<T>& t, const policy& p) {
    return t.judged(p);
  }
  /// Whether the self-tuning policy stopped interning T in this table (built by value from now on).
  template <class T>
  static bool tuned_off(const intern_table<T>& t) {
    return t.judge_.tuned_off();
  }
  /// Counts one lookup of an adaptive type's deserializer, a hit or not, towards its verdict.
  template <class T>
  static void judge(intern_table<T>& t, bool hit) {
    if (!t.judge_.counting()) return;  // most lookups: a verdict was reached
    gate_pass pass = t.enter();
    t.judge_.count(hit, pass.is_private());
  }
  /// The memo of exact bytes of `t` (see `bytes_memo`), or null unless the caller owns `t` while
  /// it is private and its entries never leave by themselves; made on first use.
  template <class T>
  static bytes_memo<table_node<T>>* memo(intern_table<T>& t) {
    if (!t.gate_ || !t.gate_->owned_by_caller() || t.entries_may_vanish()) return nullptr;
    if (!t.memo_) t.memo_ = std::make_unique<bytes_memo<table_node<T>>>();
    return t.memo_.get();
  }
  /// Counts a hit found without a key (through the memo) as the table's lookup and hit.
  template <class T>
  static void count_hit(intern_table<T>& t) {
    gate_pass pass = t.enter();
    add_to(t.stripes_[0].hits, std::uint64_t{1}, pass.is_private());
  }
  /// Makes `t` a context's table of the type in `slot` (see `intern_table::attach`).
  template <class T>
  static void attach(intern_table<T>& t, sharing_gate* gate, std::size_t slot, std::uint64_t site) {
    t.attach(gate, slot, site);
  }
};

}  // namespace detail
}  // namespace dedup
