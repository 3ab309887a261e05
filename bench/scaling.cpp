// dedup-bench-scaling: thread scaling of the parallel reader and of the intern tables alone.
// See bench/SCALING.md for figures and how to reproduce them.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <latch>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/stream.hpp"

namespace {

constexpr const char* usage = R"(usage:
  dedup-bench-scaling write FILE [--refs N] [--copies C]
      write the reference workload of N refs (default 200000, i.e. W1) as NDJSON, C times over
      (the same refs again: a C-times larger file with the same distinct objects)
  dedup-bench-scaling reader FILE [--threads LIST] [--repeat R] [--max-queue Q] [--keep]
      read the NDJSON file of refs with dedup::reader in one scope, R times (default 5) per
      thread count, dropping each ref once seen (--keep: keeping them all, as dedup load does); prints the median time, the throughput, the
      speedup over the first thread count, and at the end the process's peak resident set. The
      first row, 'sequential', is the plain loop (getline + the reader's per-record parse) on the calling thread.
  dedup-bench-scaling tables [--threads LIST] [--repeat R] [--keys K] [--ops N]
      K keys (default 1200) in one intern table; each thread makes N lookups (default 2000000)
      over all of them in its own order (hits), then all threads intern the same K new keys at
      once (racing misses); prints the median of R runs of each.
  dedup-bench-scaling quick
      the above on tiny sizes, as a smoke test
LIST is comma-separated thread counts, e.g. 1,2,4,8,16 (default 1,2).
)";

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// CPU seconds this process has used, all threads together.
double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto sec = [](const timeval& t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
  return sec(u.ru_utime) + sec(u.ru_stime);
}

std::size_t peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<std::size_t>(u.ru_maxrss) * 1024;
}

std::vector<std::size_t> parse_list(std::string_view text) {
  std::vector<std::size_t> out;
  while (!text.empty()) {
    std::size_t comma = text.find(',');
    std::string item(text.substr(0, comma));
    std::size_t n = std::stoul(item);
    if (n == 0) throw std::invalid_argument("thread counts start at 1");
    out.push_back(n);
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
  }
  if (out.empty()) throw std::invalid_argument("empty thread list");
  return out;
}

struct settings {
  std::string file;
  std::vector<std::size_t> threads{1, 2};
  std::size_t repeat = 5;
  std::size_t refs = 200'000;
  std::size_t copies = 1;
  std::size_t max_queue = 0;
  std::size_t keys = 1200;
  std::size_t ops = 2'000'000;
  bool keep = false;
};

/// With --keep, the refs of the pass being timed, as `dedup load` keeps them; released after the
/// timing, since a program that keeps them pays for that at its own exit.
std::vector<std::shared_ptr<const butler::DatasetRef>> kept;

std::size_t consume(std::shared_ptr<const butler::DatasetRef>&& ref, bool keep) {
  if (!ref) std::abort();
  if (keep) kept.push_back(std::move(ref));
  return 1;
}

// ---- write
// ----------------------------------------------------------------------------------------

void write_workload(const settings& s) {
  butler::workload w;
  w.refs = s.refs;
  std::ofstream out(s.file, std::ios::binary);
  std::string batch;
  std::size_t bytes = 0;
  for (std::size_t c = 0; c < s.copies; ++c) {
    for (std::size_t i = 0; i < w.refs; ++i) {
      butler::append_ref(batch, w, i);
      batch += '\n';
      if (batch.size() > (1u << 20) || i + 1 == w.refs) {
        out.write(batch.data(), static_cast<std::streamsize>(batch.size()));
        bytes += batch.size();
        batch.clear();
      }
    }
  }
  if (!out) throw std::runtime_error("cannot write " + s.file);
  std::printf("wrote %zu refs (%.1f MB) to %s\n", w.refs * s.copies, double(bytes) / 1e6,
              s.file.c_str());
}

// ---- reader
// ---------------------------------------------------------------------------------------

/// One pass of the plain loop on the calling thread, with the reader's own per-record parse
/// (simdjson): what the reader is compared with.
std::size_t read_sequential(const std::string& file, bool keep) {
  dedup::scope s;
  std::ifstream in(file, std::ios::binary);
  std::size_t n = 0;
  dedup::detail::raw_record rec;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    rec.bytes.clear();
    rec.bytes.reserve(line.size() + dedup::detail::splitter::padding);
    rec.bytes.append(line);
    n += consume(dedup::detail::parse_record<butler::DatasetRef>(rec), keep);
  }
  return n;
}

std::size_t read_parallel(const std::string& file, std::size_t threads, std::size_t max_queue,
                          bool keep) {
  dedup::scope s;
  std::size_t n = 0;
  dedup::reader_options o{.threads = threads, .max_queue = max_queue};
  for (auto& ref : dedup::reader<butler::DatasetRef>(file, std::move(o)))
    n += consume(std::move(ref), keep);
  return n;
}

template <class Pass>
void time_passes(const char* label, std::size_t repeat, double bytes, double& baseline, Pass pass) {
  std::vector<double> times, busy;
  std::size_t records = 0;
  for (std::size_t r = 0; r < repeat; ++r) {
    auto start = clock_type::now();
    double cpu = cpu_seconds();
    records = pass();
    times.push_back(seconds_since(start));
    busy.push_back((cpu_seconds() - cpu) / times.back());
    kept.clear();
  }
  double t = median(times);
  if (baseline == 0) baseline = t;
  std::printf("%-12s %10zu %9.3f %9.3f %9.3f %10.1f %12.0f %8.2fx %6.2f\n", label, records, t,
              *std::min_element(times.begin(), times.end()),
              *std::max_element(times.begin(), times.end()), bytes / t / 1e6, double(records) / t,
              baseline / t, median(busy));
  std::fflush(stdout);
}

void bench_reader(const settings& s) {
  double bytes = double(std::filesystem::file_size(s.file));
  std::printf("reader on %s (%.1f MB), median of %zu passes, hardware threads: %u\n",
              s.file.c_str(), bytes / 1e6, s.repeat, std::thread::hardware_concurrency());
  std::printf("%-12s %10s %9s %9s %9s %10s %12s %9s %6s\n", "threads", "records", "median s",
              "min s", "max s", "MB/s", "records/s", "speedup", "cpus");
  double sequential = 0, baseline = 0;
  time_passes("sequential", s.repeat, bytes, sequential,
              [&] { return read_sequential(s.file, s.keep); });
  for (std::size_t t : s.threads) {
    std::string label = std::to_string(t);
    time_passes(label.c_str(), s.repeat, bytes, baseline,
                [&] { return read_parallel(s.file, t, s.max_queue, s.keep); });
  }
  std::printf(
      "speedup is over the first reader row; cpus is CPU time over wall time (how many\n"
      "cores the pass really had); peak resident set: %.1f MB\n",
      double(peak_rss_bytes()) / 1e6);
}

// ---- tables
// ---------------------------------------------------------------------------------------

std::string key_of(std::size_t i, std::size_t round) {
  // About the size of a dimension record's key: definition and a few values.
  return "visit|instrument=HSC|id=" + std::to_string(i) + "|round=" + std::to_string(round) +
         "|physical_filter=HSC-R2|day_obs=20240101";
}

/// Runs `fn(thread index)` on `n` threads released together; returns the wall time.
template <class F>
double timed_race(std::size_t n, F fn) {
  std::latch start(static_cast<std::ptrdiff_t>(n) + 1);
  std::vector<std::thread> threads;
  for (std::size_t t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      fn(t);
    });
  }
  auto begin = clock_type::now();  // before the release: a descheduled caller must not miss work
  start.arrive_and_wait();
  for (auto& th : threads) th.join();
  return seconds_since(begin);
}

void bench_tables(const settings& s) {
  std::printf(
      "intern_table<std::string>, %zu keys, %zu lookups per thread, median of %zu runs, "
      "hardware threads: %u\n",
      s.keys, s.ops, s.repeat, std::thread::hardware_concurrency());
  std::printf("%-8s %14s %14s %9s %9s %18s\n", "threads", "hits/s", "per thread", "scaling",
              "exact", "racing misses/s");
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < s.keys; ++i) keys.push_back(key_of(i, 0));
  double base = 0;
  for (std::size_t n : s.threads) {
    std::vector<double> hit_times, miss_times;
    bool exact = true;
    for (std::size_t r = 0; r < s.repeat; ++r) {
      dedup::intern_table<std::string> table;
      for (const auto& k : keys) table.intern(k, [&] { return k; });
      auto before = table.stats();
      hit_times.push_back(timed_race(n, [&](std::size_t t) {
        std::size_t stride = 2 * t + 1, i = t * 7919;  // each thread its own order
        for (std::size_t op = 0; op < s.ops; ++op, i += stride) {
          const std::string& k = keys[i % keys.size()];
          if (!table.intern(k, [&] { return k; })) std::abort();
        }
      }));
      auto after = table.stats();
      exact = exact && after.lookups - before.lookups == n * s.ops &&
              after.hits - before.hits == n * s.ops && after.entries == keys.size();

      std::vector<std::string> fresh;
      for (std::size_t i = 0; i < s.keys; ++i) fresh.push_back(key_of(i, r + 1));
      std::atomic<std::size_t> built{0};
      miss_times.push_back(timed_race(n, [&](std::size_t) {
        for (const auto& k : fresh)
          table.intern(k, [&] {
            built.fetch_add(1, std::memory_order_relaxed);
            return k;
          });
      }));
      exact = exact && built.load() == fresh.size();
    }
    double hits = double(n * s.ops) / median(hit_times);
    if (base == 0) base = hits / double(n);
    std::printf("%-8zu %14.0f %14.0f %8.2fx %9s %18.0f\n", n, hits, hits / double(n), hits / base,
                exact ? "yes" : "NO", double(n * s.keys) / median(miss_times));
    std::fflush(stdout);
    if (!exact) throw std::runtime_error("table statistics or construction counts were wrong");
  }
  std::printf("scaling is hits/s over the first row's hits/s per thread\n");
}

}  // namespace

int main(int argc, char** argv) try {
  std::vector<std::string_view> a(argv + 1, argv + argc);
  if (a.empty() || a[0] == "--help" || a[0] == "-h") {
    std::fputs(usage, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  std::string_view mode = a[0];
  settings s;
  std::size_t i = 1;
  if ((mode == "write" || mode == "reader") && i < a.size()) s.file = a[i++];
  for (; i < a.size(); ++i) {
    auto value = [&] {
      if (i + 1 >= a.size()) throw std::invalid_argument(std::string(a[i]) + " needs a value");
      return a[++i];
    };
    if (a[i] == "--threads")
      s.threads = parse_list(value());
    else if (a[i] == "--repeat")
      s.repeat = std::max<std::size_t>(1, std::stoul(std::string(value())));
    else if (a[i] == "--refs")
      s.refs = std::stoul(std::string(value()));
    else if (a[i] == "--copies")
      s.copies = std::stoul(std::string(value()));
    else if (a[i] == "--max-queue")
      s.max_queue = std::stoul(std::string(value()));
    else if (a[i] == "--keys")
      s.keys = std::max<std::size_t>(1, std::stoul(std::string(value())));
    else if (a[i] == "--ops")
      s.ops = std::stoul(std::string(value()));
    else if (a[i] == "--keep")
      s.keep = true;
    else
      throw std::invalid_argument("unknown option '" + std::string(a[i]) + "'");
  }
  if (mode == "write" && !s.file.empty())
    write_workload(s);
  else if (mode == "reader" && !s.file.empty())
    bench_reader(s);
  else if (mode == "tables")
    bench_tables(s);
  else if (mode == "quick") {
    s.file = (std::filesystem::temp_directory_path() /
              ("dedup-bench-scaling-quick-" + std::to_string(::getpid()) + ".ndjson"))
                 .string();
    s.refs = 2000;
    s.repeat = 1;
    s.keys = 100;
    s.ops = 20000;
    write_workload(s);
    bench_reader(s);
    std::filesystem::remove(s.file);
    bench_tables(s);
  } else {
    std::fputs(usage, stderr);
    return 2;
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dedup-bench-scaling: %s\n", e.what());
  return 1;
}
