// dedup/table_stats.hpp: the counters of an intern table, and the face every table shows its
// context whatever its type.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dedup {

/// Counters of one intern table: `lookups` made, `hits` among them, and `entries` held now.
/// Misses (`lookups - hits`) are the instances the table had built. Under a budget, `evictions`
/// counts values `rotate` removed (a value goes with its exact-bytes aliases, and counts once) and
/// `refusals` the values returned unshared because they did not fit; `bytes` is the table's
/// estimated size now and `peak_bytes` the largest it has been. `tuned_off` says that the
/// self-tuning policy (`policy::adaptive`) stopped interning the type in this context: its later
/// occurrences are built by value and no longer counted.
///
/// ```
/// dedup::intern_table<std::string> table;
/// table.intern("a", [] { return std::string("a"); });
/// table.intern("a", [] { return std::string("a"); });
/// assert(table.stats().lookups == 2 && table.stats().hits == 1 && !table.stats().tuned_off);
/// ```
struct table_stats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::size_t entries = 0;
  std::uint64_t evictions = 0;
  std::uint64_t refusals = 0;
  std::size_t bytes = 0;
  std::size_t peak_bytes = 0;
  bool tuned_off = false;
};

namespace detail {
struct table_access;
struct table_base_access;

}  // namespace detail

/// The type-independent face of an intern table, so a context can own tables of any type.
class table_base {
 public:
  virtual ~table_base() = default;
  virtual table_stats stats() const = 0;

  /// Whether entries can leave the table before its scope ends (a budget, weak tracking), so that
  /// a journal must keep its own copy of the keys it records.
  bool entries_may_vanish() const noexcept { return vanishing_.load(std::memory_order_relaxed); }

 protected:
  void entries_vanish() noexcept { vanishing_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> vanishing_{false};
  friend struct detail::table_access;
  friend struct detail::table_base_access;
  /// Removes the entry for `key` if nothing outside the table holds it (an alias always goes); used
  /// to undo the entries of a failed `from_simple`.
  virtual void erase_if_unused(std::string_view key) = 0;
};

}  // namespace dedup
