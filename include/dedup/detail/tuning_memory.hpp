// What the self-tuning policy learned of each type in the contexts that ended, so that a process
// reading many small documents (each too short to judge) still learns which types rarely repeat.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>

#include "dedup/detail/api.hpp"
#include "dedup/policy.hpp"

namespace dedup::detail {

/// Per type slot: the lookups and hits of the tables that interned it, summed as their contexts
/// end (halved past 2^16 lookups, so recent contexts weigh most), and how many tables were made.
/// A new table of a type whose memory holds at least `enough` lookups, fewer than half of them
/// hits, starts tuned off, except every `rejudge`-th one, which interns and judges again: the
/// verdict follows the data if it changes.
///
/// ```
/// auto& memory = dedup::detail::tuning_memory::of_process();
/// std::size_t slot = dedup::detail::tuning_memory::slots - 1;
/// memory.forget(slot);
/// memory.record(slot, 2048, 100);
/// assert(memory.start_tuned_off(slot));  // the first new table after the verdict
/// ```
class tuning_memory {
 public:
  static constexpr std::size_t slots = 1024;  // context::max_interned_types
  static constexpr std::uint64_t enough = 256;
  static constexpr std::uint32_t rejudge = 16;

  DEDUP_API static tuning_memory& of_process() {
    static tuning_memory memory;
    return memory;
  }

  /// Adds what one table saw of the type in `slot` during its context.
  void record(std::size_t slot, std::uint64_t lookups, std::uint64_t hits) {
    if (slot >= slots || lookups == 0) return;
    std::lock_guard lock(mutex_);
    tally& t = tallies_[slot];
    t.lookups += lookups;
    t.hits += hits;
    if (t.lookups > (std::uint64_t{1} << 16)) {
      t.lookups /= 2;
      t.hits /= 2;
    }
  }

  /// Whether a table of the type in `slot`, made now, should start tuned off.
  bool start_tuned_off(std::size_t slot) {
    if (slot >= slots) return false;
    std::lock_guard lock(mutex_);
    tally& t = tallies_[slot];
    if (t.lookups < enough || 2 * t.hits >= t.lookups) return false;
    return t.tables_since_verdict++ % rejudge != rejudge - 1;
  }

  /// Drops what was learned of the type in `slot`.
  void forget(std::size_t slot) {
    if (slot >= slots) return;
    std::lock_guard lock(mutex_);
    tallies_[slot] = {};
  }

 private:
  struct tally {
    std::uint64_t lookups = 0, hits = 0;
    std::uint32_t tables_since_verdict = 0;
  };
  std::mutex mutex_;
  std::array<tally, slots> tallies_{};
};

/// The self-tuning verdict of one context's table of an adaptive type: judging its first
/// `judged_lookups` lookups, then kept or tuned off (fewer than half hits); or tuned off from the
/// start where the tuning memory says so. Threads sharing the table count together, so the
/// verdict is the same whoever reaches it.
///
/// ```
/// dedup::detail::type_judge judge;
/// for (std::uint32_t i = 0; i < dedup::judged_lookups; ++i) judge.count(i % 4 == 0);
/// assert(judge.tuned_off());
/// ```
class type_judge {
 public:
  /// Judges the type in `slot`, reporting to the process's memory, which may tune it off at once.
  void attach(std::size_t slot) {
    slot_ = slot;
    if (tuning_memory::of_process().start_tuned_off(slot)) verdict_ = tuned_from_memory;
  }
  bool tuned_off() const noexcept { return verdict_.load(std::memory_order_relaxed) >= tuned; }

  /// Counts a deserializer's lookup while the type is judged, and judges it at the last one.
  void count(bool hit) noexcept {
    if (verdict_.load(std::memory_order_relaxed) != judging) return;
    if (hit) hits_.fetch_add(1, std::memory_order_relaxed);
    std::uint32_t n = lookups_.fetch_add(1, std::memory_order_acq_rel) + 1;
    if (n != judged_lookups) return;
    bool rare = 2 * hits_.load(std::memory_order_relaxed) < n;
    verdict_.store(rare ? tuned : keep, std::memory_order_relaxed);
  }

  /// Whether the table should report what it saw when it goes: it was judged here, with data.
  bool reports() const noexcept { return slot_ < tuning_memory::slots && !from_memory(); }
  void report(std::uint64_t lookups, std::uint64_t hits) const {
    tuning_memory::of_process().record(slot_, lookups, hits);
  }

 private:
  enum verdict : std::uint8_t { judging, keep, tuned, tuned_from_memory };
  bool from_memory() const noexcept {
    return verdict_.load(std::memory_order_relaxed) == tuned_from_memory;
  }
  std::atomic<verdict> verdict_{judging};
  std::atomic<std::uint32_t> lookups_{0};
  std::atomic<std::uint32_t> hits_{0};
  std::size_t slot_ = tuning_memory::slots;  // none: a table of its own, or not adaptive
};

}  // namespace dedup::detail
