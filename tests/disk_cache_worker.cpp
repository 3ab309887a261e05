// disk_cache_worker: the other process of the disk cache's fault tests (and the helper that fills
// a cache for tests/cli_check.sh). Each mode does one thing to the cache DIR/<prefix>TAG and
// reports on stdout; exit status 0 means it saw what the mode expects, 1 that it did not (the
// reason on stderr), so that the test process only spawns, waits and reads.
//
//   disk_cache_worker fill DIR TAG N               N entries e0..e{N-1}, inline and in files
//   disk_cache_worker write DIR TAG START N        puts k<START>.. one by one, names on stdout
//   disk_cache_worker fsize DIR TAG LIMIT          under RLIMIT_FSIZE=LIMIT: stores fail cleanly
//   disk_cache_worker readonly DIR TAG HOW N       DIR read-only (HOW: mount, a read-only bind
//                                                  mount; uid, as uid 65534 if root): reads N
//                                                  entries e0.. and stores nothing
//   disk_cache_worker rewrite DIR TAG N ROUNDS     puts e0..e{N-1} again ROUNDS times, in files
//   disk_cache_worker names DIR TAG                entries named with control and non-UTF-8 bytes
//   disk_cache_worker mixed DIR TAG PROC N LOG     N mixed operations, a timed log to LOG
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <optional>
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

// Values larger than LIMIT cannot be written, in a file or inline in SQLite: get_or_compute still
// returns them (uncached, the failure counted) and put throws storage_error; SIGXFSZ keeps its
// default action, which would kill the process. What the parent stored before must survive.
int fsize(const char* dir, const char* tag, long limit) {
  std::signal(SIGXFSZ, SIG_DFL);
  rlimit r{static_cast<rlim_t>(limit), static_cast<rlim_t>(limit)};
  if (setrlimit(RLIMIT_FSIZE, &r) != 0) fail("setrlimit");
  auto big = static_cast<std::size_t>(limit) * 4;
  for (std::size_t inline_limit : {dedup_fault::inline_limit, big * 2}) {
    auto o = options_for(dir, tag);
    o.inline_limit = inline_limit;
    dedup::disk_cache cache(o);
    dedup::scope scope;
    auto v = cache.get_or_compute<stamped>("big_goc",
                                           [&] { return dedup_fault::make_value(2, 1, big); });
    if (!v || !dedup_fault::intact(*v) || v->payload.size() != big)
      fail("get_or_compute lost its value");
    if (cache.stats().store_failures < 1) fail("the failed store of big_goc was not counted");
    try {
      cache.put("big_put", dedup_fault::make_value(2, 2, big));
      fail("put of a value above RLIMIT_FSIZE did not throw");
    } catch (const dedup::storage_error& e) {
      std::printf("put: %s\n", e.what());
    }
    cache.put("small" + std::to_string(inline_limit), dedup_fault::make_value(2, 3, 10));
    std::printf("store_failures %llu\n",
                static_cast<unsigned long long>(cache.stats().store_failures));
  }
  return 0;
}

// Makes `dir` read-only for this process; false (and why, on stdout) where it cannot.
bool make_read_only(const char* dir, const std::string& how) {
  if (how == "mount") {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) ||
        mount(dir, dir, nullptr, MS_BIND, nullptr) != 0 ||
        mount(nullptr, dir, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY, nullptr) != 0) {
      std::printf("skip: no private read-only bind mount here (%s)\n", std::strerror(errno));
      return false;
    }
    return true;
  }
  // Root ignores permissions: as nobody, the directory the test made 0555 is read-only.
  if (getuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) fail("cannot drop to uid 65534");
  return true;
}

// A read-only cache serves its entries, computes a miss without storing it (counted) and refuses
// a put; one that does not exist yet cannot be created (a storage_error when it is opened).
int readonly(const char* dir, const char* tag, const std::string& how, long n) {
  if (!make_read_only(dir, how)) return 0;
  std::optional<dedup::disk_cache> cache;
  try {
    cache.emplace(options_for(dir, tag));
  } catch (const dedup::storage_error& e) {
    std::printf("storage_error: %s\n", e.what());
    return 0;
  }
  dedup::scope scope;
  if (!cache->read_only()) fail("the cache did not open read-only");
  for (long i = 0; i < n; ++i) {
    auto v = cache->get_or_compute<stamped>("e" + std::to_string(i), [] { return stamped{}; });
    if (!v || !dedup_fault::intact(*v) || v->seq != i) fail("e" + std::to_string(i) + " not read");
  }
  auto miss = cache->get_or_compute<stamped>(
      "new", [] { return dedup_fault::make_value(3, 1, dedup_fault::large_bytes); });
  if (!miss || miss->writer != 3) fail("a miss was not computed");
  auto s = cache->stats();
  if (s.disk_hits != static_cast<std::uint64_t>(n) || s.computed != 1 || s.store_failures != 1)
    fail("hits, computed and store failures are not " + std::to_string(n) + ", 1, 1");
  try {
    cache->put("x", dedup_fault::make_value(3, 2, dedup_fault::small_bytes));
  } catch (const dedup::storage_error& e) {
    std::printf("read-only: %s\n", e.what());
    return 0;
  }
  fail("a put into a read-only cache did not throw storage_error");
}

// Each round stores every entry anew (a new value file, the old one unlinked), then says so.
int rewrite(const char* dir, const char* tag, long n, long rounds) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  for (long r = 1; r <= rounds; ++r) {
    for (long i = 0; i < n; ++i)
      cache.put("e" + std::to_string(i), dedup_fault::make_value(r, i, dedup_fault::large_bytes));
    std::printf("round %ld\n", r);
    std::fflush(stdout);
  }
  return 0;
}

// Names that a listing must show whole: a byte that is not UTF-8, a NUL, a newline, a backslash.
int names(const char* dir, const char* tag) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  using namespace std::string_literals;
  for (auto name : {"bad\xff"s, "nul\0in"s, "new\nline"s, "back\\slash"s})
    cache.put(name, dedup_fault::make_value(4, 0, dedup_fault::small_bytes));
  return 0;
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
  if (mode == "readonly" && argc == 6) return readonly(dir, tag, argv[4], number(argv[5]));
  if (mode == "rewrite" && argc == 6) return rewrite(dir, tag, number(argv[4]), number(argv[5]));
  if (mode == "names" && argc == 4) return names(dir, tag);
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
