// store_fixture.hpp: what the store's test files share: fresh shm stores removed however a test
// ends, test options, running a body on both backends, and the worker in a small /dev/shm.
#pragma once

#include <unistd.h>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <string_view>

#include "dedup/store.hpp"
#include "redis_server.hpp"

namespace dedup_test {

/// A store name of this test process's own.
///
/// ```text
/// auto uri = dedup_test::shm_uri("rotate");  // shm://test-PID-rotate
/// ```
inline std::string shm_uri(std::string_view test) {
  return "shm://test-" + std::to_string(getpid()) + "-" + std::string(test);
}

/// Removes a test's shm store however the test ends.
///
/// ```text
/// dedup_test::shm_guard g{dedup_test::shm_uri("t")};
/// ```
struct shm_guard {
  std::string uri;
  ~shm_guard() { dedup::shared_store::destroy(uri); }
};

/// Options for tests: no free-memory check, a short lock timeout.
///
/// ```text
/// auto s = dedup::shared_store::open(uri, dedup_test::options(1 << 20));
/// ```
inline dedup::store_options options(std::size_t capacity = std::size_t{1} << 20,
                                    dedup::overflow on_full = dedup::overflow::rotate) {
  return {.capacity_bytes = capacity,
          .min_free_mem_pct = 0,
          .on_full = on_full,
          .lock_timeout = std::chrono::milliseconds(2000)};
}

/// Runs `body(uri)` on a fresh shm store and, when redis-server is installed, on a private server.
///
/// ```text
/// dedup_test::for_each_backend("t", [](const std::string& uri) { ... });
/// ```
template <class F>
void for_each_backend(std::string_view test, F body) {
  {
    shm_guard g{shm_uri(test)};
    INFO(g.uri);
    body(g.uri);
  }
  redis_server redis;
  if (!redis.available()) {
    WARN("redis-server not found: the redis:// case of this test is skipped");
    SUCCEED("skipped");
    return;
  }
  INFO(redis.uri(0));
  body(redis.uri(0));
}

/// Runs the store worker with `args` in a mount namespace of its own, over a private tmpfs of
/// `size` at /dev/shm, and returns its output; "unavailable\n" where no such namespace can be
/// made (it needs root and unshare). The worker must exit 0: a signal would read 128 + its number.
///
/// ```text
/// auto out = dedup_test::run_in_small_shm("4m", {"fill", "shm://full", "100000", ""});
/// ```
inline std::string run_in_small_shm(const std::string& size, std::vector<std::string> args) {
  std::vector<std::string> argv{
      "/bin/sh", "-c",
      "unshare -m true 2>/dev/null || { echo unavailable; exit 0; }; exec unshare -m "
      "sh -c 'mount -t tmpfs -o size=" +
          size + " dedup-test /dev/shm && exec \"$@\"' sh \"$@\"",
      "sh", DEDUP_STORE_WORKER};
  argv.insert(argv.end(), args.begin(), args.end());
  child worker(argv);
  auto out = worker.read_all(std::chrono::seconds(60));
  REQUIRE(out);
  auto status = worker.wait(std::chrono::seconds(10));
  INFO(*out);
  CHECK(status == std::optional<int>(0));
  return *out;
}

}  // namespace dedup_test
