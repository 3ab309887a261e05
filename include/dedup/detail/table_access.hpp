// The deserializers' door to an intern table's build protocol (included by intern_table.hpp, after
// the table it opens).
#pragma once

#include <cstddef>
#include <cstdint>
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
  static void erase_if_unused(table_base& t, std::string_view key) { t.erase_if_unused(key); }
  /// Whether the self-tuning policy stopped interning T in this table (built by value from now on).
  template <class T>
  static bool tuned_off(const intern_table<T>& t) {
    return t.judge_.tuned_off();
  }
  /// Counts one lookup of an adaptive type's deserializer, a hit or not, towards its verdict.
  template <class T>
  static void judge(intern_table<T>& t, bool hit) {
    t.judge_.count(hit);
  }
  /// Makes `t` a context's table of the type in `slot` (see `intern_table::attach`).
  template <class T>
  static void attach(intern_table<T>& t, sharing_gate* gate, std::size_t slot, std::uint64_t site) {
    t.attach(gate, slot, site);
  }
};

}  // namespace detail
}  // namespace dedup
