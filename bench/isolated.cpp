// A contender's loads measured in a process of their own (bench/isolated.hpp).
#include "bench/isolated.hpp"

#include <malloc.h>

#include <sys/wait.h>
#include <unistd.h>
#include <climits>

#include <cstdio>
#include <exception>
#include <fstream>
#include <stdexcept>
#include <vector>

#include "bench/common.hpp"

namespace bench {
namespace {

/// Tunes glibc malloc as
/// `GLIBC_TUNABLES=glibc.malloc.trim_threshold=...:glibc.malloc.mmap_threshold=...` would: freed
/// memory is kept for the next allocation instead of going back to the system, and large blocks
/// come from the heap, so that a load that builds millions of objects pays no page faults for
/// memory a previous load freed. Both columns of the table use glibc's malloc.
void keep_freed_memory() {
  ::mallopt(M_TRIM_THRESHOLD, INT_MAX);  // mallopt takes an int: 2 GiB at most
  ::mallopt(M_TOP_PAD, 64 << 20);
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
}

/// The median time of `reps` loads after one warm-up load, whose own time goes to `first`.
double median_load(const contender& c, int reps, double& first) {
  probe warm;
  c.run(warm);
  first = warm.seconds;
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    probe p;
    c.run(p);
    times.push_back(p.seconds);
  }
  return median(times);
}

/// What `isolated` measures, in the measuring process itself.
figures measure_here(const contender& c, int reps, bool kept) {
  figures f;
  std::size_t resident_at_fork = proc_status_bytes("VmRSS");  // the input, shared with the parent
  try {
    if (kept) {
      keep_freed_memory();
      double first_kept = 0;
      f.seconds_kept = median_load(c, reps, first_kept);
      return f;
    }
    f.seconds = median_load(c, reps, f.seconds_first);
    probe counted;
    counted.count = true;
    c.run(counted);
    f.retained = counted.retained;
    f.built = counted.built;
    f.distinct = counted.distinct;
    f.checksum = counted.checksum;
    f.peak_rss = counted.peak - resident_at_fork;
    probe repeated;  // last: its second result would raise the peak
    repeated.repeat = true;
    c.run(repeated);
    f.repeat_allocations = repeated.repeat_allocations;
  } catch (const std::exception& e) {
    f.failed = true;
    std::snprintf(f.message, sizeof f.message, "%s", e.what());
  }
  return f;
}

}  // namespace

std::size_t proc_status_bytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
      return std::stoul(line.substr(field.size() + 1)) * 1024;
  return 0;
}

figures isolated(const contender& c, int reps, bool kept) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    figures f = measure_here(c, reps, kept);
    ssize_t written = write(fds[1], &f, sizeof f);
    _exit(written == static_cast<ssize_t>(sizeof f) ? 0 : 1);
  }
  close(fds[1]);
  figures f;
  ssize_t got = read(fds[0], &f, sizeof f);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof f)) {
    f = figures{};
    f.failed = true;
    std::snprintf(f.message, sizeof f.message, "the measuring process died (status %d)", status);
  }
  return f;
}

}  // namespace bench
