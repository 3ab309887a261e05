// dedup-bench-store: put/get operations per second on one small value (a dataset type's simple
// form) from 4 processes, for the shm:// and redis:// stores and for Python's
// multiprocessing.Manager().dict() (bench/manager_dict.py), the seed system's own mechanism.
// Usage: dedup-bench-store [--ops N] [--quick]   (N operations per process, half puts, half gets)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "dedup/store.hpp"
#include "tests/redis_server.hpp"

namespace {

using namespace std::chrono_literals;
constexpr int procs = 4;
constexpr int keys = 100;

butler::DatasetType value(const std::string& name) {
  butler::DatasetType t;
  t.name = name;
  t.storage_class = "ExposureF";
  t.dimensions = {"instrument", "visit", "detector"};
  return t;
}

// One worker process: N operations, alternating put and get on its share of the keys.
int worker(const std::string& uri, int proc, long ops) {
  dedup::store_options o{.min_free_mem_pct = 0, .lock_timeout = std::chrono::seconds(10)};
  auto store = dedup::shared_store::open(uri, o);
  dedup::scope s;
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < ops; ++i) {
    std::string key = "k" + std::to_string((i * 7 + proc) % keys);
    if (i % 2 == 0) {
      store.put(key, value(key));
    } else if (!store.get<butler::DatasetType>(key)) {
      store.put(key, value(key));
    }
  }
  std::chrono::duration<double> took = std::chrono::steady_clock::now() - t0;
  std::printf("%.6f\n", took.count());
  return 0;
}

// Operations per second of `procs` workers on `uri`: total operations over the slowest worker.
double measure(const std::string& self, const std::string& uri, long ops) {
  std::vector<std::unique_ptr<dedup_test::child>> workers;
  for (int p = 0; p < procs; ++p)
    workers.push_back(std::make_unique<dedup_test::child>(
        std::vector<std::string>{self, "--worker", uri, std::to_string(p), std::to_string(ops)}));
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

double manager_dict(long ops) {
  if (access("/usr/bin/python3", X_OK) != 0) return 0;
  dedup_test::child py({"/usr/bin/python3", DEDUP_MANAGER_DICT, "--procs", std::to_string(procs),
                        "--ops", std::to_string(ops)});
  auto line = py.read_line(600s);
  if (!line || !line->starts_with("ops_per_s ")) return 0;
  return std::atof(line->c_str() + 10);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() == 4 && a[0] == "--worker") return worker(a[1], std::stoi(a[2]), std::stol(a[3]));
  long ops = 200'000, py_ops = 20'000;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--quick") ops = 5'000, py_ops = 2'000;
    if (a[i] == "--ops" && i + 1 < a.size()) ops = std::stol(a[++i]);
  }
  std::string self = "/proc/self/exe";
  char path[4096];
  if (auto n = readlink("/proc/self/exe", path, sizeof path - 1); n > 0) self.assign(path, n);
  std::string shm = "shm://bench-" + std::to_string(getpid());
  double shm_rate = measure(self, shm, ops);
  dedup::shared_store::destroy(shm);
  double redis_rate = 0;
  dedup_test::redis_server redis;
  if (redis.available()) redis_rate = measure(self, redis.uri(), ops / 10);
  double py_rate = manager_dict(py_ops);
  std::printf("dedup-bench-store: %d processes, put/get of a dataset type's simple form\n\n",
              procs);
  std::printf("%-34s %14s %10s\n", "store", "ops/s", "ratio");
  auto row = [&](const char* name, double rate) {
    if (rate <= 0) return std::printf("%-34s %14s %10s\n", name, "skipped", "-"), void();
    std::printf("%-34s %14.0f %9.1fx\n", name, rate, py_rate > 0 ? rate / py_rate : 0.0);
  };
  row("shm:// (LMDB in /dev/shm)", shm_rate);
  row("redis:// (private redis-server)", redis_rate);
  row("Python Manager().dict()", py_rate);
  bool ok = py_rate <= 0 || (shm_rate >= 50 * py_rate && (redis_rate <= 0 || redis_rate > py_rate));
  std::printf("\ntargets (shm >= 50x Manager dict, Redis ahead of it): %s\n",
              ok ? "met" : "MISSED");
  return 0;
}
