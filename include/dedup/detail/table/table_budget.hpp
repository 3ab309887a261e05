// The budget of one intern table: its counters (entries, estimated bytes, peak, evictions,
// refusals) and the admission of a new entry under `rotate` or `strict`.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "dedup/detail/memory_pressure.hpp"
#include "dedup/detail/table/sharing_gate.hpp"
#include "dedup/policy.hpp"

namespace dedup::detail {

/// Counts what a table holds and decides whether a new entry may enter. Its fields change on a
/// miss, never on a hit, and live on cache lines of their own so that hits elsewhere in the table
/// do not share them. The logical clock advances once per admission: a hit stamps its entry with
/// it, and the entry whose stamp is oldest among those sampled is the least recently used.
///
/// ```
/// dedup::detail::table_meter m;
/// m.set({.max_entries = 1, .on_full = dedup::overflow::strict});
/// assert(m.admit(10, true, [] { return false; }));
/// assert(!m.admit(10, true, [] { return false; }));
/// assert(m.refusals() == 1 && m.bytes() == 10);
/// ```
class alignas(64) table_meter {
 public:
  void set(const budget& b) {
    max_entries_.store(b.max_entries, std::memory_order_relaxed);
    max_bytes_.store(b.max_bytes, std::memory_order_relaxed);
    min_free_.store(b.min_free_mem_pct, std::memory_order_relaxed);
    strict_.store(b.on_full == overflow::strict, std::memory_order_relaxed);
    limited_.store(b.limited(), std::memory_order_relaxed);
  }
  bool limited() const { return limited_.load(std::memory_order_relaxed); }
  std::uint32_t now() const { return clock_.load(std::memory_order_relaxed); }

  /// Whether a `strict` table is full now, so that a miss need not even reserve its key.
  bool strict_and_full() const {
    return limited() && strict_.load(std::memory_order_relaxed) && (over(0, 1) || under_pressure());
  }

  /// Takes `bytes` into the table, with one entry if `counts_entry` (a new value; an alias of a
  /// value counts as part of it), or refuses. Under `rotate`, `evict_one()` (evicting one value
  /// nobody else holds, with its aliases; false if it found none) runs until the entry fits; the
  /// caller holds no lock of the table. Concurrent admissions may each evict for the others, so
  /// the table is within budget whenever no admission is under way. Only a refused value counts
  /// as a refusal: a refused alias leaves its value shared.
  template <class Evict>
  bool admit(std::size_t bytes, bool counts_entry, Evict&& evict_one) {
    clock_.fetch_add(1, std::memory_order_relaxed);
    bytes_.fetch_add(bytes, std::memory_order_relaxed);
    if (counts_entry) count_.fetch_add(1, std::memory_order_relaxed);
    if (limited() && !fits(bytes, counts_entry, evict_one)) {
      released(bytes, counts_entry);
      if (counts_entry) refusals_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    std::size_t now = bytes_.load(std::memory_order_relaxed);
    std::size_t peak = peak_.load(std::memory_order_relaxed);
    while (now > peak && !peak_.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
    }
    return true;
  }

  /// `admit` for a table with no bound used by one thread only: the same counts, with plain stores.
  void admit_private(std::size_t bytes, bool counts_entry) {
    add_to(clock_, std::uint32_t{1}, true);
    add_to(bytes_, bytes, true);
    if (counts_entry) add_to(count_, std::size_t{1}, true);
    std::size_t now = bytes_.load(std::memory_order_relaxed);
    if (now > peak_.load(std::memory_order_relaxed)) peak_.store(now, std::memory_order_relaxed);
  }

  /// An entry of `bytes` left the table.
  void released(std::size_t bytes, bool counts_entry) {
    bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    if (counts_entry) count_.fetch_sub(1, std::memory_order_relaxed);
  }
  void evicted() { evictions_.fetch_add(1, std::memory_order_relaxed); }
  void refused() { refusals_.fetch_add(1, std::memory_order_relaxed); }

  std::size_t bytes() const { return bytes_.load(std::memory_order_relaxed); }
  std::size_t peak_bytes() const { return peak_.load(std::memory_order_relaxed); }
  std::uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }
  std::uint64_t refusals() const { return refusals_.load(std::memory_order_relaxed); }

 private:
  bool over(std::size_t more_bytes, std::size_t more_entries) const {
    std::size_t me = max_entries_.load(std::memory_order_relaxed);
    std::size_t mb = max_bytes_.load(std::memory_order_relaxed);
    return (me && count_.load(std::memory_order_relaxed) + more_entries > me) ||
           (mb && bytes_.load(std::memory_order_relaxed) + more_bytes > mb);
  }
  bool under_pressure() const {
    double min = min_free_.load(std::memory_order_relaxed);
    if (min <= 0) return false;
    double share = free_memory_share();
    return share >= 0 && share < min;
  }
  /// With the new entry counted: whether it may stay, evicting first under `rotate`. Under memory
  /// pressure `rotate` evicts one value for a new one, as it cannot know how much eviction frees;
  /// an alias is part of its value, which is already in.
  template <class Evict>
  bool fits(std::size_t bytes, bool counts_entry, Evict& evict_one) {
    std::size_t mb = max_bytes_.load(std::memory_order_relaxed);
    if (mb && bytes > mb) return false;  // alone over the budget: evicting would not help
    bool pressure = counts_entry && under_pressure();
    if (strict_.load(std::memory_order_relaxed)) return !pressure && !over(0, 0);
    while (pressure || over(0, 0)) {
      if (!evict_one()) return false;
      pressure = false;
    }
    return true;
  }

  std::atomic<bool> limited_{false};
  std::atomic<bool> strict_{false};
  std::atomic<std::size_t> max_entries_{0};
  std::atomic<std::size_t> max_bytes_{0};
  std::atomic<double> min_free_{0};
  std::atomic<std::uint32_t> clock_{0};
  std::atomic<std::size_t> bytes_{0};
  std::atomic<std::size_t> count_{0};
  std::atomic<std::size_t> peak_{0};
  std::atomic<std::uint64_t> evictions_{0};
  std::atomic<std::uint64_t> refusals_{0};
};

}  // namespace dedup::detail
