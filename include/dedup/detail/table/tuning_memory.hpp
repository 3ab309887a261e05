// What the self-tuning policy learned of each type in the contexts that ended, so that a process
// reading many small documents (each too short to judge) still learns which types rarely repeat.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <utility>

#include "dedup/detail/api.hpp"
#include "dedup/detail/hash.hpp"
#include "dedup/detail/table/sharing_gate.hpp"
#include "dedup/policy.hpp"

namespace dedup::detail {

/// Where a context was made: the `dedup::scope` declaration (file, line, column) or the function
/// given to `dedup::run`. Contexts made at one place are judged together; 0 is nowhere (a context
/// made by hand), which the memory leaves out.
///
/// ```
/// auto site = dedup::detail::site_of(__FILE__, __LINE__, 1);
/// assert(site != 0 && site != dedup::detail::site_of(__FILE__, __LINE__, 1));
/// ```
inline std::uint64_t site_of(const char* file, std::uint32_t line, std::uint32_t column) noexcept {
  std::uint64_t h = hash_key(file);
  h ^= (std::uint64_t{line} << 32 | column) * 0x9E3779B97F4A7C15ull;
  return h | 1;  // never 0
}

/// Per type and site (see `site_of`): the lookups and hits of the tables that interned the type
/// in contexts made there, summed as those contexts end (halved past 2^16 lookups, so recent
/// contexts weigh most), and the verdict new tables made there start with. The rule (`enough`,
/// `rejudge`) is described once, with the rest of self-tuning, in `dedup::policy`'s doc comment
/// (dedup/policy.hpp). Keyed by site so that one loop's documents teach that loop only, never an
/// unrelated scope elsewhere in the program.
///
/// ```
/// auto& memory = dedup::detail::tuning_memory::of_process();
/// std::uint64_t site = dedup::detail::site_of(__FILE__, __LINE__, 1);
/// memory.record(7, site, 2048, 100);
/// assert(memory.start_tuned_off(7, site));   // the first new table after the verdict
/// assert(!memory.start_tuned_off(7, site + 2));  // another site knows nothing
/// ```
class tuning_memory {
 public:
  static constexpr std::uint64_t enough = 256;
  static constexpr std::uint32_t rejudge = 16;

  DEDUP_API static tuning_memory& of_process() {
    static tuning_memory memory;
    return memory;
  }

  /// Adds what one table saw of the type in `slot` during a context made at `site`.
  void record(std::size_t slot, std::uint64_t site, std::uint64_t lookups, std::uint64_t hits) {
    if (site == 0 || lookups == 0) return;
    std::lock_guard lock(mutex_);
    tally& t = tallies_[{slot, site}];
    t.lookups += lookups;
    t.hits += hits;
    if (t.lookups > (std::uint64_t{1} << 16)) {
      t.lookups /= 2;
      t.hits /= 2;
    }
  }

  /// Whether a table of the type in `slot`, made now in a context made at `site`, should start
  /// tuned off.
  bool start_tuned_off(std::size_t slot, std::uint64_t site) {
    if (site == 0) return false;
    std::lock_guard lock(mutex_);
    auto it = tallies_.find({slot, site});
    if (it == tallies_.end()) return false;
    tally& t = it->second;
    if (t.lookups < enough || 2 * t.hits >= t.lookups) return false;
    return t.tables_since_verdict++ % rejudge != rejudge - 1;
  }

 private:
  struct tally {
    std::uint64_t lookups = 0, hits = 0;
    std::uint32_t tables_since_verdict = 0;
  };
  std::mutex mutex_;
  std::map<std::pair<std::size_t, std::uint64_t>, tally> tallies_;
};

/// The self-tuning verdict of one context's table of an adaptive type, by the window rule that
/// `dedup::policy`'s doc comment describes (dedup/policy.hpp), or tuned off from the start where
/// the tuning memory says so. Threads sharing the table count together, so the verdict is the
/// same whoever reaches it.
///
/// ```
/// dedup::detail::type_judge judge;
/// for (std::uint32_t i = 0; i < 3 * dedup::judged_lookups; ++i) judge.count(i % 4 == 0);
/// assert(judge.tuned_off());
/// ```
class type_judge {
 public:
  /// Judges the type in `slot` in a context made at `site`, reporting to the process's memory,
  /// which may tune it off at once.
  void attach(std::size_t slot, std::uint64_t site) {
    slot_ = slot;
    site_ = site;
    if (tuning_memory::of_process().start_tuned_off(slot, site)) verdict_ = tuned_from_memory;
  }
  bool tuned_off() const noexcept { return verdict_.load(std::memory_order_relaxed) >= tuned; }
  /// Whether lookups still count: no verdict yet.
  bool counting() const noexcept { return verdict_.load(std::memory_order_relaxed) == judging; }

  /// Counts a deserializer's lookup while the type is judged, and judges a window at its end;
  /// `only_user`: the caller is the table's only user (a private table's owner), which counts
  /// without atomic read-modify-writes, as the table's own counters do.
  void count(bool hit, bool only_user = false) noexcept {
    if (!counting()) return;
    if (hit) add_to(hits_, std::uint32_t{1}, only_user);
    // Shared: the release pairs with the acquire of whoever ends the window, which then sees the
    // hits counted before each lookup it sees.
    std::uint32_t n = only_user ? add_to(lookups_, std::uint32_t{1}, true)
                                : lookups_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (n >= window_end_.load(std::memory_order_relaxed)) judge_window();
  }

  /// Whether the table should report what it saw when it goes: it was judged here, with data.
  bool reports() const noexcept { return site_ != 0 && !from_memory(); }
  void report(std::uint64_t lookups, std::uint64_t hits) const {
    tuning_memory::of_process().record(slot_, site_, lookups, hits);
  }

 private:
  enum verdict : std::uint8_t { judging, keep, tuned, tuned_from_memory };
  bool from_memory() const noexcept {
    return verdict_.load(std::memory_order_relaxed) == tuned_from_memory;
  }
  /// Ends the window that `count` reached the end of (once, whichever thread gets here first).
  void judge_window() noexcept {
    std::lock_guard lock(window_mutex_);
    const std::uint32_t n = lookups_.load(std::memory_order_relaxed);
    if (n < window_end_.load(std::memory_order_relaxed) ||
        verdict_.load(std::memory_order_relaxed) != judging)
      return;
    const std::uint32_t all_hits = hits_.load(std::memory_order_relaxed);
    const std::uint64_t hits = all_hits - window_.start_hits, lookups = n - window_.start;
    verdict next = judging;
    if (2 * hits >= lookups || lookups > (std::uint64_t{1} << 30))
      next = keep;
    else if (window_.last_lookups > 0 &&
             4 * hits * window_.last_lookups <= 5 * std::uint64_t{window_.last_hits} * lookups)
      next = tuned;
    window_ = {n, all_hits, static_cast<std::uint32_t>(lookups), static_cast<std::uint32_t>(hits)};
    if (next != judging)
      verdict_.store(next, std::memory_order_relaxed);
    else
      window_end_.store(n + static_cast<std::uint32_t>(2 * lookups), std::memory_order_relaxed);
  }

  /// The window being counted: where it started, and the length and hits of the one before.
  struct window_state {
    std::uint32_t start = 0, start_hits = 0, last_lookups = 0, last_hits = 0;
  };
  std::atomic<verdict> verdict_{judging};
  std::atomic<std::uint32_t> lookups_{0};
  std::atomic<std::uint32_t> hits_{0};
  std::atomic<std::uint32_t> window_end_{judged_lookups};
  std::mutex window_mutex_;
  window_state window_;
  std::size_t slot_ = 0;
  std::uint64_t site_ = 0;  // none: a table of its own, not adaptive, or a context made by hand
};

}  // namespace dedup::detail
