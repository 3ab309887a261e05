// disk_cache_worker: the other process of the disk cache's fault tests (and the helper that fills
// a cache for tests/cli_check.sh). Each mode does one thing to the cache DIR/<prefix>TAG and
// reports on stdout; exit status 0 means it saw what the mode expects, 1 that it did not (the
// reason on stderr), so that the test process only spawns, waits and reads.
//
//   disk_cache_worker fill DIR TAG N               N entries e0..e{N-1}, inline and in files
//   disk_cache_worker write DIR TAG START N        puts k<START>.. one by one, names on stdout
//   disk_cache_worker fsize DIR TAG LIMIT          under RLIMIT_FSIZE=LIMIT: stores fail cleanly
//   disk_cache_worker readonly DIR TAG             as uid 65534 if root: a clear storage_error
//   disk_cache_worker mixed DIR TAG PROC N LOG     N mixed operations, a timed log to LOG
#include <signal.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "dedup/disk_cache.hpp"
#include "disk_cache_fixture.hpp"

namespace {

using dedup_fault::stamped;

dedup::disk_cache_options options_for(const char* dir, const char* tag) {
  dedup::disk_cache_options o;
  o.directory = dir;
  o.tag = tag;
  o.inline_limit = dedup_fault::inline_limit;
  return o;
}

std::size_t bytes_for(std::int64_t seq) {
  return seq % 2 ? dedup_fault::large_bytes : dedup_fault::small_bytes;
}

[[noreturn]] void fail(const std::string& why) {
  std::fprintf(stderr, "disk_cache_worker: %s\n", why.c_str());
  std::exit(1);
}

int fill(const char* dir, const char* tag, long n) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  for (long i = 0; i < n; ++i)
    cache.put("e" + std::to_string(i), dedup_fault::make_value(0, i, bytes_for(i)));
  return 0;
}

// A name is printed only once its put has returned: the parent may then count on it.
int write(const char* dir, const char* tag, long start, long n) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  for (long i = start; i < start + n; ++i) {
    std::string name = "k" + std::to_string(i);
    cache.put(name, dedup_fault::make_value(1, i, bytes_for(i)));
    std::printf("%s\n", name.c_str());
    std::fflush(stdout);
  }
  return 0;
}

// Values larger than LIMIT cannot be written: get_or_compute still returns them (uncached, the
// failure counted) and put throws storage_error. What the parent stored before must survive.
int fsize(const char* dir, const char* tag, long limit) {
  std::signal(SIGXFSZ, SIG_IGN);  // EFBIG from write() instead of death by signal
  rlimit r{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
  if (setrlimit(RLIMIT_FSIZE, &r) != 0) fail("setrlimit");
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  auto big = static_cast<std::size_t>(limit) * 4;
  auto v =
      cache.get_or_compute<stamped>("big_goc", [&] { return dedup_fault::make_value(2, 1, big); });
  if (!v || !dedup_fault::intact(*v) || v->payload.size() != big)
    fail("get_or_compute lost its value");
  if (cache.stats().store_failures < 1) fail("the failed store of big_goc was not counted");
  try {
    cache.put("big_put", dedup_fault::make_value(2, 2, big));
    fail("put of a value above RLIMIT_FSIZE did not throw");
  } catch (const dedup::storage_error& e) {
    std::printf("put: %s\n", e.what());
  }
  std::printf("store_failures %llu\n",
              static_cast<unsigned long long>(cache.stats().store_failures));
  return 0;
}

// Root ignores permissions: drop to nobody so that a chmod 0555 directory is read-only for us.
int readonly(const char* dir, const char* tag) {
  if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) fail("cannot drop to uid 65534");
  try {
    dedup::disk_cache cache(options_for(dir, tag));
    dedup::scope scope;
    cache.put("x", dedup_fault::make_value(3, 1, dedup_fault::small_bytes));
    cache.put("y", dedup_fault::make_value(3, 2, dedup_fault::large_bytes));
  } catch (const dedup::storage_error& e) {
    std::printf("storage_error: %s\n", e.what());
    return 0;
  }
  fail("writing into a read-only directory did not throw storage_error");
}

std::int64_t now_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);  // one clock for every process: the logs merge by it
  return std::int64_t{t.tv_sec} * 1'000'000'000 + t.tv_nsec;
}

// One line per operation: kind, name, start and end (ns), then what it wrote or read.
//   P name t0 t1 writer seq      put of (writer, seq)
//   G name t0 t1 writer seq c    get_or_compute that returned (writer, seq); c=1 if it computed
//   C name t0 t1                 clear
int mixed(const char* dir, const char* tag, long proc, long n, const char* log_path) {
  std::FILE* log = std::fopen(log_path, "w");
  if (!log) fail(std::string("cannot write ") + log_path);
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  std::mt19937 rng(static_cast<unsigned>(proc) * 7919u + 1u);
  long gets = 0;
  for (long seq = 0; seq < n; ++seq) {
    std::string name = "m" + std::to_string(rng() % 8);
    unsigned pick = rng() % 100;
    std::size_t bytes = rng() % 10 == 0 ? dedup_fault::large_bytes : dedup_fault::small_bytes;
    std::int64_t t0 = now_ns();
    if (pick < 45) {
      bool computed = false;
      auto v = cache.get_or_compute<stamped>(name, [&] {
        computed = true;
        return dedup_fault::make_value(proc, seq, bytes);
      });
      if (!v || !dedup_fault::intact(*v))
        fail("get_or_compute of " + name + " returned a bad value");
      ++gets;
      std::fprintf(log, "G %s %lld %lld %lld %lld %d\n", name.c_str(), static_cast<long long>(t0),
                   static_cast<long long>(now_ns()), static_cast<long long>(v->writer),
                   static_cast<long long>(v->seq), computed ? 1 : 0);
    } else if (pick < 85) {
      cache.put(name, dedup_fault::make_value(proc, seq, bytes));
      std::fprintf(log, "P %s %lld %lld %ld %ld\n", name.c_str(), static_cast<long long>(t0),
                   static_cast<long long>(now_ns()), proc, seq);
    } else {
      cache.clear(name);
      std::fprintf(log, "C %s %lld %lld\n", name.c_str(), static_cast<long long>(t0),
                   static_cast<long long>(now_ns()));
    }
  }
  auto s = cache.stats();
  std::fprintf(
      log, "S %ld %llu %llu %llu %llu\n", gets, static_cast<unsigned long long>(s.memory_hits),
      static_cast<unsigned long long>(s.disk_hits), static_cast<unsigned long long>(s.computed),
      static_cast<unsigned long long>(s.store_failures));
  if (std::fclose(log) != 0) fail("cannot finish the log");
  return 0;
}

long number(const char* text) {
  char* end = nullptr;
  long v = std::strtol(text, &end, 10);
  if (*text == '\0' || *end != '\0') fail(std::string("not a number: ") + text);
  return v;
}

int dispatch(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (argc < 4) fail("usage: disk_cache_worker MODE DIR TAG ...");
  const char* dir = argv[2];
  const char* tag = argv[3];
  if (mode == "fill" && argc == 5) return fill(dir, tag, number(argv[4]));
  if (mode == "write" && argc == 6) return write(dir, tag, number(argv[4]), number(argv[5]));
  if (mode == "fsize" && argc == 5) return fsize(dir, tag, number(argv[4]));
  if (mode == "readonly" && argc == 4) return readonly(dir, tag);
  if (mode == "mixed" && argc == 7)
    return mixed(dir, tag, number(argv[4]), number(argv[5]), argv[6]);
  fail("bad arguments for mode '" + mode + "'");
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return dispatch(argc, argv);
  } catch (const std::exception& e) {
    fail(std::string("uncaught: ") + e.what());
  }
}
