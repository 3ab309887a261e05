// dedup-bench-cache: the persistent cache against its peers, side by side in one run.
//   1. warm start: W1 loaded from the cache (its compact form) in a fresh process vs parse_fast of
//      its plain JSON text from a file (each in a fresh process, re-executing this program);
//   2. a memory-tier hit vs a std::unordered_map<std::string, std::shared_ptr<const T>> lookup;
//   3. dedup's store + load vs Python pickle to a file and back (bench/pickle_cache.py), and the
//      bytes each keeps on disk;
//   4. 1 MB values read from the remote tier (a private redis-server) vs local disk hits;
//   5. a store into an index of many entries vs one into an index of few.
//
//   dedup-bench-cache [--quick] [--refs N] [--reps N] [--dir DIR]
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/disk_cache.hpp"
#include "dedup/simdjson.hpp"
#include "memory.hpp"
#include "tests/redis_server.hpp"

namespace {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

struct settings {
  bool quick = false;
  std::size_t refs = 200'000;
  int reps = 5;
  fs::path dir;
};

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::string human(std::size_t bytes) {
  char buffer[32];
  return dedup::memory::human(bytes, buffer);
}

/// Peak resident set of this process from /proc (VmHWM), in bytes.
std::size_t peak_rss() {
  return dedup::memory::peak_rss();
}

dedup::disk_cache_options cache_options(const fs::path& dir, const std::string& tag) {
  dedup::disk_cache_options o;
  o.directory = dir;
  o.tag = tag;
  o.size_limit = std::uint64_t{8} << 30;  // W1 is about 200 MB: never evicted here
  return o;
}

// ---- the child process of the warm start --------------------------------------------------------

/// `--child cache DIR` or `--child file PATH`: one load, timed from before opening anything,
/// printed as "seconds refs peak_rss".
int child(const std::string& mode, const fs::path& where) {
  auto t0 = steady::now();
  std::size_t refs = 0;
  dedup::scope scope;
  if (mode == "cache") {
    dedup::disk_cache cache(cache_options(where, "W1"));
    auto list = cache.find<butler::RefList>("w1");
    if (!list) return 3;
    refs = list->refs.size();
  } else {
    auto text = simdjson::padded_string::load(where.string());
    auto list = dedup::parse_fast<butler::RefList>(text.value());
    refs = list.refs.size();
  }
  double s = seconds_since(t0);
  std::printf("%.6f %zu %zu\n", s, refs, peak_rss());
  return 0;
}

struct child_result {
  double seconds = 0;
  std::size_t refs = 0, peak = 0;
};

child_result run_child(const std::string& mode, const fs::path& where) {
  // popen runs a shell: /proc/self/exe would be that shell, so name this program by its path.
  static const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::string command = "'" + self + "' --child " + mode + " '" + where.string() + "'";
  std::FILE* p = popen(command.c_str(), "r");
  if (!p) throw std::runtime_error("cannot start " + command);
  child_result r;
  int got = std::fscanf(p, "%lf %zu %zu", &r.seconds, &r.refs, &r.peak);
  int status = pclose(p);
  if (got != 3 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("the child '" + command + "' failed");
  return r;
}

// ---- the three measurements ---------------------------------------------------------------------

struct warm_figures {
  double cache_s = 0, file_s = 0;
  std::size_t cache_peak = 0, file_peak = 0, bytes = 0;
};

/// Stores W1 once, writes its plain JSON text to a file, then alternates fresh processes loading
/// each, so that neither gets a warmer page cache than the other.
warm_figures warm_start(const settings& s, const std::string& text) {
  fs::path file = s.dir / "w1.json";
  {
    dedup::scope scope;
    auto list = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
    dedup::disk_cache cache(cache_options(s.dir, "W1"));
    cache.put("w1", list);
    std::string stored;
    dedup::detail::write_text(stored, list);
    std::ofstream(file, std::ios::binary) << stored;
  }
  warm_figures f;
  f.bytes = fs::file_size(file);
  std::vector<double> cache_s, file_s;
  run_child("cache", s.dir);  // the first read pays for the page cache: not counted
  run_child("file", file);
  for (int i = 0; i < s.reps; ++i) {
    auto c = run_child("cache", s.dir);
    auto p = run_child("file", file);
    if (c.refs != s.refs || p.refs != s.refs)
      throw std::runtime_error("a child read the wrong refs");
    cache_s.push_back(c.seconds);
    file_s.push_back(p.seconds);
    f.cache_peak = std::max(f.cache_peak, c.peak);
    f.file_peak = std::max(f.file_peak, p.peak);
  }
  f.cache_s = median(cache_s);
  f.file_s = median(file_s);
  return f;
}

struct hit_figures {
  double cache_ns = 0, map_ns = 0;
};

/// The same 1,000 keys looked up round and round, in the memory tier and in a plain map.
hit_figures memory_hits(const settings& s) {
  constexpr std::size_t keys = 1000;
  const std::size_t lookups = s.quick ? 200'000 : 5'000'000;
  std::vector<std::string> names;
  for (std::size_t i = 0; i < keys; ++i) names.push_back("type" + std::to_string(i));
  dedup::disk_cache cache(cache_options(s.dir, "HITS"));
  dedup::scope scope;
  std::unordered_map<std::string, std::shared_ptr<const butler::DatasetType>> map;
  for (auto& n : names) {
    auto v = cache.get_or_compute<butler::DatasetType>(n, [&] {
      butler::DatasetType t;
      t.name = n;
      t.storage_class = "ExposureF";
      return t;
    });
    map.emplace(n, v);
  }
  std::size_t sink = 0;
  hit_figures f;
  for (int round = 0; round < 3; ++round) {  // the best of three: the least disturbed
    auto t0 = steady::now();
    for (std::size_t i = 0; i < lookups; ++i)
      sink += cache
                  .get_or_compute<butler::DatasetType>(names[i % keys],
                                                       [] { return butler::DatasetType{}; })
                  ->name.size();
    double c = seconds_since(t0) * 1e9 / static_cast<double>(lookups);
    t0 = steady::now();
    for (std::size_t i = 0; i < lookups; ++i) {
      std::shared_ptr<const butler::DatasetType> v = map.find(names[i % keys])->second;
      sink += v->name.size();
    }
    double m = seconds_since(t0) * 1e9 / static_cast<double>(lookups);
    f.cache_ns = round == 0 ? c : std::min(f.cache_ns, c);
    f.map_ns = round == 0 ? m : std::min(f.map_ns, m);
  }
  if (sink == 0) std::puts("");  // keeps the loops
  return f;
}

struct round_trip {
  double store_s = 0, load_s = 0;
  std::size_t bytes = 0;
  bool ran = false;
};

/// dedup's put (a fresh tag each time) and find through a fresh cache object, in a fresh scope.
round_trip dedup_round_trip(const settings& s, const std::string& text) {
  round_trip r;
  std::vector<double> store, load;
  for (int i = 0; i < s.reps; ++i) {
    std::string tag = "RT" + std::to_string(i);
    {
      dedup::scope scope;
      auto list = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
      dedup::disk_cache cache(cache_options(s.dir, tag));
      auto t0 = steady::now();
      cache.put("w1", list);
      store.push_back(seconds_since(t0));
    }
    dedup::scope scope;
    auto t0 = steady::now();
    dedup::disk_cache cache(cache_options(s.dir, tag));
    auto list = cache.find<butler::RefList>("w1");
    load.push_back(seconds_since(t0));
    if (!list || list->refs.size() != s.refs) throw std::runtime_error("round trip lost refs");
    for (auto& e : cache.entries()) r.bytes = e.size;
  }
  r.store_s = median(store);
  r.load_s = median(load);
  r.ran = true;
  return r;
}

/// bench/pickle_cache.py on the same JSON text, if python3 is there: "store_s load_s bytes".
round_trip pickle_round_trip(const settings& s, const std::string& text) {
  round_trip r;
  if (std::system("python3 -c '' 2>/dev/null") != 0) return r;
  fs::path json = s.dir / "w1-input.json";
  std::ofstream(json, std::ios::binary) << text;
  std::string command = "python3 '" DEDUP_PICKLE_SCRIPT "' '" + json.string() + "' '" +
                        (s.dir / "w1.pickle").string() + "' " + std::to_string(s.reps);
  std::FILE* p = popen(command.c_str(), "r");
  if (!p) return r;
  r.ran = std::fscanf(p, "%lf %lf %zu", &r.store_s, &r.load_s, &r.bytes) == 3;
  r.ran = pclose(p) == 0 && r.ran;
  return r;
}

/// Local disk hits against warm remote reads of the same 1 MB values, in MB/s: a fresh cache
/// object per pass finds them all, on the directory that holds them or on an empty one behind the
/// remote tier. Each remote hit is then also written to that directory, as in use, by a thread of
/// the cache's own: the remote figure counts until those copies are written, and the reader's
/// figure until the last value is the caller's.
struct remote_figures {
  bool ran = false;
  double disk_mb_s = 0, remote_mb_s = 0, reader_mb_s = 0;
};

remote_figures remote_reads(const settings& s) {
  dedup_test::redis_server redis;
  if (!redis.available()) return {};
  const int n = s.quick ? 8 : 32;
  const double mb = n * 1.048576;
  auto value = [](int i) {
    return std::string(std::size_t{1} << 20, static_cast<char>('a' + i % 26));
  };
  auto o = cache_options(s.dir / "remote-filled", "R");
  o.remote = redis.uri(0);
  {
    dedup::disk_cache filler(o);
    for (int i = 0; i < n; ++i) filler.put("v" + std::to_string(i), value(i));
  }
  std::vector<double> disk, remote, reader;
  auto pass = [&](dedup::disk_cache_options at, std::vector<double>& all,
                  std::vector<double>* read) {
    dedup::scope scope;
    dedup::disk_cache cache(at);
    auto t0 = steady::now();
    for (int i = 0; i < n; ++i)
      if (!cache.find<std::string>("v" + std::to_string(i)))
        throw std::runtime_error("remote bench lost a value");
    if (read) read->push_back(mb / seconds_since(t0));
    cache.stats();  // returns once the local copies of remote hits are written
    all.push_back(mb / seconds_since(t0));
  };
  for (int rep = 0; rep < s.reps; ++rep) {
    pass(o, disk, nullptr);
    auto empty = o;
    empty.directory = s.dir / ("remote-empty" + std::to_string(rep));
    pass(empty, remote, &reader);
  }
  return {true, median(disk), median(remote), median(reader)};
}

/// The mean time of a store of a small value among the first 1,000 and among the last 1,000 of
/// `n` stores into one cache: a store's cost should not grow with the entries already there.
struct growth_figures {
  std::size_t entries = 0;
  double first_us = 0, last_us = 0;
};

growth_figures store_growth(const settings& s) {
  const std::size_t n = s.quick ? 5'000 : 50'000, window = 1'000;
  dedup::disk_cache cache(cache_options(s.dir / "growth", "G"));
  growth_figures g{n, 0, 0};
  auto t0 = steady::now();
  for (std::size_t i = 0; i < n; ++i) {
    if (i == window) g.first_us = seconds_since(t0) / window * 1e6;
    if (i == n - window) t0 = steady::now();
    cache.put("e" + std::to_string(i), "value " + std::to_string(i));
  }
  g.last_us = seconds_since(t0) / window * 1e6;
  return g;
}

// ---- the program --------------------------------------------------------------------------------

settings parse(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&] {
      if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
      return std::string(argv[++i]);
    };
    if (a == "--quick") {
      s.quick = true;
      s.refs = 2000;
      s.reps = 1;
    } else if (a == "--refs") {
      s.refs = std::stoul(value());
    } else if (a == "--reps") {
      s.reps = std::max(1, std::stoi(value()));
    } else if (a == "--dir") {
      s.dir = value();
    } else {
      throw std::runtime_error("unknown option " + a);
    }
  }
  return s;
}

void print_ratio(const char* what, const char* a, double va, const char* b, double vb,
                 const char* unit, double ratio, const char* target) {
  std::printf("%-34s %-10s %10.3f %-3s %-16s %10.3f %-3s ratio %6.2f  %s\n", what, a, va, unit, b,
              vb, unit, ratio, target);
}

int bench(const settings& s) {
  std::string text = butler::make_document(butler::workload{.refs = s.refs});
  std::printf("dedup-bench-cache: W1, %zu refs, %s of JSON, %d reps, cache in %s\n\n", s.refs,
              human(text.size()).c_str(), s.reps, s.dir.c_str());
  warm_figures w = warm_start(s, text);
  print_ratio("warm start, fresh process (median)", "parse_fast", w.file_s, "from the cache",
              w.cache_s, "s", w.file_s / w.cache_s, "(speed vs parse_fast; target >= 2)");
  hit_figures h = memory_hits(s);
  print_ratio("memory-tier hit (best of 3)", "map", h.map_ns, "get_or_compute", h.cache_ns, "ns",
              h.cache_ns / h.map_ns, "(cost vs unordered_map; target <= 2)");
  round_trip d = dedup_round_trip(s, text);
  round_trip p = pickle_round_trip(s, text);
  if (p.ran) {
    print_ratio("store to disk (median)", "pickle", p.store_s, "dedup put", d.store_s, "s",
                p.store_s / d.store_s, "(pickle time / dedup time)");
    print_ratio("load from disk (median)", "pickle", p.load_s, "dedup find", d.load_s, "s",
                p.load_s / d.load_s, "(pickle time / dedup time)");
    print_ratio("store + load", "pickle", p.store_s + p.load_s, "dedup", d.store_s + d.load_s, "s",
                (p.store_s + p.load_s) / (d.store_s + d.load_s), "(pickle time / dedup time)");
    std::printf(
        "%-34s pickle %s, dedup's stored value %s, ratio %.3f  (dedup / pickle; target "
        "<= 0.25)\n",
        "bytes on disk", human(p.bytes).c_str(), human(d.bytes).c_str(),
        static_cast<double>(d.bytes) / static_cast<double>(p.bytes));
  } else {
    std::printf("%-34s dedup put %.3f s, find %.3f s; pickle skipped (no python3)\n",
                "store / load", d.store_s, d.load_s);
  }
  remote_figures r = remote_reads(s);
  if (r.ran) {
    print_ratio("1 MB values read (median)", "disk hit", r.disk_mb_s, "remote hit", r.remote_mb_s,
                "MB/s", r.remote_mb_s / r.disk_mb_s, "(remote vs disk; target >= 0.5)");
    print_ratio("  the reader's share (median)", "disk hit", r.disk_mb_s, "remote hit",
                r.reader_mb_s, "MB/s", r.reader_mb_s / r.disk_mb_s,
                "(local copies not yet written)");
  } else {
    std::printf("%-34s skipped (no redis-server)\n", "1 MB values read");
  }
  growth_figures g = store_growth(s);
  std::string at = "at " + std::to_string(g.entries) + " entries";
  print_ratio("store of a small value (mean)", "at 1,000", g.first_us, at.c_str(), g.last_us, "us",
              g.last_us / g.first_us, "(cost at many entries / at few; flat = 1)");
  std::printf("\npeak RSS: this process %s; warm-start children: cache %s, parse_fast %s\n",
              human(peak_rss()).c_str(), human(w.cache_peak).c_str(), human(w.file_peak).c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc == 4 && std::strcmp(argv[1], "--child") == 0) return child(argv[2], argv[3]);
    settings s = parse(argc, argv);
    bool own_dir = s.dir.empty();
    if (own_dir) {
      std::string tmpl = (fs::temp_directory_path() / "dedup-bench-cache-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
      s.dir = tmpl;
    }
    int rc = bench(s);
    if (own_dir) fs::remove_all(s.dir);
    return rc;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dedup-bench-cache: %s\n", e.what());
    return 1;
  }
}
