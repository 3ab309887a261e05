// dedup-bench-store: operations per second on one small value (a dataset type's simple form)
// from 4 processes, gets only and half puts, half gets, for the shm:// and redis:// stores and for
// Python's multiprocessing.Manager().dict() (bench/manager_dict.py), the seed system's own
// mechanism. Each put of the mixed rows stores the key's one value again, as the Manager dict's
// does; on shm such a put writes nothing, so shm is also measured with every put storing a value
// the key does not hold (its write path). Then shm's binary values: get_view of 256 MiB against
// 4 KiB, put_bytes of 256 MiB against memcpy's bandwidth.
// Usage: dedup-bench-store [--ops N] [--quick]   (N operations per process)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "dedup/store.hpp"
#include "tests/redis_server.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int procs = 4;
constexpr int keys = 100;

butler::DatasetType value(const std::string& name, long version = 0) {
  butler::DatasetType t;
  t.name = name;
  t.storage_class = "ExposureF" + (version ? std::to_string(version) : std::string());
  t.dimensions = {"instrument", "visit", "detector"};
  return t;
}

// What the workers do: gets only (the keys are there), or alternate puts and gets, each put
// storing the key's one value again (mixed) or a value it does not hold (changing).
enum class load { gets, mixed, changing };

// One worker process: N operations on its share of the keys.
int worker(const std::string& uri, int proc, long ops, load l) {
  dedup::store_options o{.min_free_mem_pct = 0, .lock_timeout = std::chrono::seconds(10)};
  auto store = dedup::shared_store::open(uri, o);
  dedup::scope s;
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < ops; ++i) {
    std::string key = "k" + std::to_string((i * 7 + proc) % keys);
    if (l != load::gets && i % 2 == 0) {
      store.put(key, value(key, l == load::changing ? i + 1 : 0));
    } else if (!store.get<butler::DatasetType>(key)) {
      store.put(key, value(key));
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  std::printf("%.6f\n", took.count());
  return 0;
}

// Operations per second of `procs` workers on `uri`: total operations over the slowest worker.
double measure(const std::string& self, const std::string& uri, long ops, load l) {
  static const char* const names[] = {"gets", "mixed", "changing"};
  if (l == load::gets) {
    dedup::store_options o{.min_free_mem_pct = 0, .lock_timeout = std::chrono::seconds(10)};
    auto store = dedup::shared_store::open(uri, o);
    for (int k = 0; k < keys; ++k)
      store.put("k" + std::to_string(k), value("k" + std::to_string(k)));
  }
  std::vector<std::unique_ptr<dedup_test::child>> workers;
  for (int p = 0; p < procs; ++p)
    workers.push_back(std::make_unique<dedup_test::child>(std::vector<std::string>{
        self, "--worker", uri, std::to_string(p), std::to_string(ops), names[int(l)]}));
  double slowest = 0;
  for (auto& w : workers) {
    auto line = w->read_line(600s);
    if (!line || w->wait(10s) != std::optional<int>(0)) {
      std::fprintf(stderr, "dedup-bench-store: a worker on %s failed\n", uri.c_str());
      std::exit(1);
    }
    slowest = std::max(slowest, std::atof(line->c_str()));
  }
  return procs * static_cast<double>(ops) / slowest;
}

double manager_dict(long ops, bool mixed) {
  if (access("/usr/bin/python3", X_OK) != 0) return 0;
  dedup_test::child py({"/usr/bin/python3", DEDUP_MANAGER_DICT, "--procs", std::to_string(procs),
                        "--ops", std::to_string(ops), "--mode", mixed ? "mixed" : "gets"});
  auto line = py.read_line(600s);
  if (!line || !line->starts_with("ops_per_s ")) return 0;
  return std::atof(line->c_str() + 10);
}

template <class F>
double best_seconds(int rounds, F&& f) {
  double best = 1e300;
  for (int r = 0; r < rounds; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    f();
    best = std::min(best,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

struct binary_figures {
  double view_small = 0, view_large = 0;   // seconds per get_view (taken and let go)
  double put_large = 0, memcpy_large = 0;  // seconds per 256 MiB, best
  double put_first = 0;                    // the first put, which takes the store's memory
};

// shm's binary values in this process: a view costs the same whatever the size, a put of a
// large value runs near memcpy's bandwidth (both best of several, after a first that allocates).
binary_figures binary_values(const std::string& uri) {
  constexpr std::size_t large = std::size_t{256} << 20, small = 4096;
  auto store = dedup::shared_store::open(
      uri, {.capacity_bytes = std::size_t{1} << 30, .min_free_mem_pct = 0});
  std::vector<std::byte> big(large, std::byte{1}), copy(large, std::byte{2});
  binary_figures f;
  f.memcpy_large = best_seconds(5, [&] { std::memcpy(copy.data(), big.data(), large); });
  auto put = [&] {
    if (!store.put_bytes("large", big)) std::exit(1);
  };
  f.put_first = best_seconds(1, put);
  // Replacing the value frees its pages for the put after next; LMDB's free list settles into
  // reusing them within a few puts, after which no put takes new memory.
  f.put_large = best_seconds(9, put);
  store.put_bytes("small", std::span(big).first(small));
  constexpr int views = 20'000;
  std::size_t sum = 0;
  auto per_view = [&](const char* key) {
    return best_seconds(5,
                        [&] {
                          for (int i = 0; i < views; ++i)
                            sum += static_cast<std::size_t>(store.get_view(key)->data()[0]);
                        }) /
           views;
  };
  f.view_small = per_view("small");
  f.view_large = per_view("large");
  if (sum == 0) std::exit(1);
  return f;
}

void print_binary(const binary_figures& f) {
  std::printf(
      "\nshm binary values (one process; views best of 5, puts best of 9 after the first)\n");
  std::printf("get_view 4 KiB   %10.3f us\nget_view 256 MiB %10.3f us   ratio %.2f (target <= 2)\n",
              f.view_small * 1e6, f.view_large * 1e6, f.view_large / f.view_small);
  double put_bw = 256.0 / f.put_large, copy_bw = 256.0 / f.memcpy_large;
  std::printf("put_bytes 256 MiB, the first (allocates) %9.0f MiB/s\n", 256.0 / f.put_first);
  std::printf(
      "put_bytes 256 MiB %9.0f MiB/s\nmemcpy 256 MiB    %9.0f MiB/s   ratio %.2f (target >= 0.5)\n",
      put_bw, copy_bw, put_bw / copy_bw);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 5 && a[0] == "--worker")
    return worker(a[1], std::stoi(a[2]), std::stol(a[3]),
                  a[4] == "mixed"      ? load::mixed
                  : a[4] == "changing" ? load::changing
                                       : load::gets);
  long ops = 200'000, py_ops = 20'000;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--quick") ops = 5'000, py_ops = 2'000;
    if (a[i] == "--ops" && i + 1 < a.size()) ops = std::stol(a[++i]);
  }
  std::string self = "/proc/self/exe";
  char path[4096];
  if (auto n = readlink("/proc/self/exe", path, sizeof path - 1); n > 0) self.assign(path, n);
  std::string shm = "shm://bench-" + std::to_string(getpid());
  struct rates {
    double shm = 0, redis = 0, py = 0, shm_changing = 0;
  } gets, mixed;
  for (bool m : {false, true}) {
    rates& r = m ? mixed : gets;
    r.shm = measure(self, shm, ops, m ? load::mixed : load::gets);
    dedup::shared_store::destroy(shm);
    if (m) {
      r.shm_changing = measure(self, shm, ops, load::changing);
      dedup::shared_store::destroy(shm);
    }
    dedup_test::redis_server redis;
    if (redis.available())
      r.redis = measure(self, redis.uri(), ops / 10, m ? load::mixed : load::gets);
    r.py = manager_dict(py_ops, m);
  }
  binary_figures binary = binary_values(shm);
  dedup::shared_store::destroy(shm);
  std::printf("dedup-bench-store: %d processes, a dataset type's simple form\n", procs);
  for (bool m : {false, true}) {
    const rates& r = m ? mixed : gets;
    std::printf("\n%-34s %14s %10s\n", m ? "half puts, half gets" : "gets only", "ops/s", "ratio");
    auto row = [&](const char* name, double rate) {
      if (rate <= 0) return std::printf("%-34s %14s %10s\n", name, "skipped", "-"), void();
      std::printf("%-34s %14.0f %9.1fx\n", name, rate, r.py > 0 ? rate / r.py : 0.0);
    };
    row("shm:// (LMDB in /dev/shm)", r.shm);
    if (m) row("shm://, every put a new value", r.shm_changing);
    row("redis:// (private redis-server)", r.redis);
    row("Python Manager().dict()", r.py);
  }
  print_binary(binary);
  bool ok = gets.py <= 0 || (gets.shm >= 100 * gets.py && mixed.shm >= 25 * mixed.py &&
                             (mixed.redis <= 0 || mixed.redis > mixed.py));
  ok = ok && binary.view_large <= 2 * binary.view_small &&
       binary.memcpy_large <= 2 * binary.put_large;
  std::printf(
      "\ntargets (shm gets >= 100x, mixed >= 25x the Manager dict, Redis ahead of it; "
      "views <= 2x, puts >= 0.5 memcpy): %s\n",
      ok ? "met" : "MISSED");
  return 0;
}
