// One measured load, and a contender's loads measured in a process of their own, so that its peak
// RSS is its own and no contender's heap state skews the next.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "bench/census.hpp"
#include "memory.hpp"

namespace bench {

/// A figure of /proc/self/status in bytes: "VmHWM" (peak resident set) or "VmRSS" (now). Unlike
/// getrusage's maxrss, which a forked child inherits from its parent's history, VmHWM starts at
/// the child's resident size when it was forked.
std::size_t proc_status_bytes(std::string_view field);

/// Times one load and, when asked, what it left in memory and built.
struct probe {
  using steady = std::chrono::steady_clock;
  bool count = false;   // take a census of the result
  bool repeat = false;  // then load again, all hits, in the same scope, counting allocations
  double seconds = 0;
  std::size_t retained = 0, built = 0, distinct = 0;
  std::uint64_t checksum = 0;          // the census's content hash of the result
  std::size_t peak = 0;                // VmHWM at the end of the load, before the census
  std::size_t repeat_allocations = 0;  // allocations of a second, all-hits load in the same scope
  steady::time_point start;
  std::size_t live_at_start = 0;

  void begin() {
    live_at_start = dedup::memory::live_bytes();
    start = steady::now();
  }
  /// Stops the clock; `result` (and the scope, when the caller holds one) is still alive.
  template <class R>
  void end(const R& result) {
    seconds = std::chrono::duration<double>(steady::now() - start).count();
    retained = dedup::memory::live_bytes() - live_at_start;
    peak = proc_status_bytes("VmHWM");
    if (count) {
      census c;
      checksum = content(result, c);
      built = c.built;
      distinct = c.distinct.size();
    }
  }
};

/// One way to load a document: `run` loads it once, between `p.begin()` and `p.end(result)`.
struct contender {
  std::string name;
  std::function<void(probe&)> run;
};

/// What a contender's measuring process reports to the parent, written as bytes through a pipe.
struct figures {
  double seconds = 0;
  double seconds_kept = 0;   // the same loads with malloc keeping what is freed (keep_freed_memory)
  double seconds_first = 0;  // the first load of the measuring process: its memory is all new
  std::size_t retained = 0, built = 0, distinct = 0, peak_rss = 0, repeat_allocations = 0;
  std::uint64_t checksum = 0;
  bool failed = false;
  char message[256] = {};
};

/// Runs a contender in a child process, so that its peak RSS is its own (on top of the input,
/// which the child shares) and no contender's heap state skews the next: one warm-up load,
/// `reps` timed loads (median), then one load that is counted. With `kept`, malloc keeps freed
/// memory and only the time is measured.
figures isolated(const contender& c, int reps, bool kept = false);

}  // namespace bench
