// The free share of physical memory, for budgets' min_free_mem_pct: read from /proc/meminfo at most
// every few milliseconds, never per insert.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "dedup/detail/api.hpp"

namespace dedup::detail {

/// A source of the free share of physical memory (0..1; negative when it cannot be known, which
/// budgets treat as no pressure). Replaceable by tests through `memory_probe()`.
using memory_probe_fn = double (*)();

/// MemAvailable / MemTotal from /proc/meminfo, or -1 where that file or its fields are missing.
///
/// ```
/// double free = dedup::detail::read_meminfo();
/// assert(free <= 1.0);
/// ```
inline double read_meminfo() {
  std::FILE* f = std::fopen("/proc/meminfo", "r");
  if (!f) return -1;
  char line[256];
  unsigned long long total = 0, available = 0, value = 0;
  while (std::fgets(line, sizeof line, f)) {
    if (std::sscanf(line, "MemTotal: %llu", &value) == 1) total = value;
    if (std::sscanf(line, "MemAvailable: %llu", &value) == 1) available = value;
  }
  std::fclose(f);
  return total ? static_cast<double>(available) / static_cast<double>(total) : -1;
}

/// The reading every table shares: the last value and when it was taken, so that all tables of
/// all threads read the file at most once per `refresh`.
struct memory_reading {
  static constexpr std::int64_t refresh_ns = 5'000'000;
  std::atomic<memory_probe_fn> probe{&read_meminfo};
  std::atomic<std::int64_t> taken_ns{INT64_MIN};
  std::atomic<double> free_share{-1};
};

DEDUP_API inline memory_reading& memory_state() {
  static memory_reading state;
  return state;
}

/// The free share of physical memory, at most `refresh_ns` old. Two threads that find it stale
/// at once may both read the file: harmless, and cheaper than a lock.
inline double free_memory_share() {
  memory_reading& m = memory_state();
  std::int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::steady_clock::now().time_since_epoch())
                         .count();
  std::int64_t taken = m.taken_ns.load(std::memory_order_acquire);
  if (taken != INT64_MIN && now - taken < memory_reading::refresh_ns)
    return m.free_share.load(std::memory_order_relaxed);
  double share = m.probe.load(std::memory_order_acquire)();
  m.free_share.store(share, std::memory_order_relaxed);
  m.taken_ns.store(now, std::memory_order_release);
  return share;
}

/// A test hook: replaces the probe (null: /proc/meminfo again) and drops the cached reading, so
/// the next budget check asks the new probe.
///
/// ```
/// dedup::detail::set_memory_probe([] { return 0.5; });
/// assert(dedup::detail::free_memory_share() == 0.5);
/// dedup::detail::set_memory_probe(nullptr);
/// ```
inline void set_memory_probe(memory_probe_fn probe) {
  memory_reading& m = memory_state();
  m.probe.store(probe ? probe : &read_meminfo, std::memory_order_release);
  m.taken_ns.store(INT64_MIN, std::memory_order_release);
}

}  // namespace dedup::detail
