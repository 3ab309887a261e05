// A context's tables are private to the thread that made it (no locks, no atomic counters) until a
// second thread joins or touches them; the switch to the shared protocol happens while the owner
// may be interning, and must lose no entry and no count, and race on nothing (run under TSan).
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/detail/table/sharing_gate.hpp"
#include "dedup/simdjson.hpp"

namespace {

constexpr int key_count = 40;

std::string dataset_type(int i) {
  return R"({"name":"type)" + std::to_string(i) +
         R"(","storageClass":"ExposureF","dimensions":["instrument","visit"]})";
}

using instances = std::vector<std::shared_ptr<const butler::DatasetType>>;

/// Parses `rounds` passes over the keys, in an order of its own, into `seen`; counts a key whose
/// instance changed between two lookups.
void read_keys(int rounds, int stride, instances& seen, std::atomic<int>& progress,
               std::atomic<int>& changed) {
  seen.resize(key_count);
  for (int r = 0; r < rounds; ++r) {
    for (int k = 0; k < key_count; ++k) {
      int i = (k * stride + r) % key_count;
      auto p = dedup::parse<butler::DatasetType>(dataset_type(i));
      auto& slot = seen[static_cast<std::size_t>(i)];
      if (!slot) slot = p;
      if (slot != p) changed.fetch_add(1, std::memory_order_relaxed);
      progress.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

/// What every round checks: every thread saw one instance per key, each key was built once, and
/// every lookup of every thread was counted.
void check_one_instance_per_key(dedup::context& ctx, const std::vector<instances>& seen,
                                int changed, std::uint64_t lookups) {
  CHECK(changed == 0);
  for (std::size_t t = 1; t < seen.size(); ++t)
    for (std::size_t i = 0; i < key_count; ++i) CHECK(seen[t][i] == seen[0][i]);
  auto stats = ctx.stats<butler::DatasetType>();
  CHECK(stats.entries == key_count);
  CHECK(stats.lookups == lookups);
  CHECK(stats.hits == stats.lookups - key_count);
}

}  // namespace

TEST_CASE("a thread joining while the owner interns shares every entry and count", "[gate]") {
  std::mt19937 random(7);
  for (int round = 0; round < 60; ++round) {
    dedup::scope s;
    auto ctx = dedup::current();
    std::atomic<int> progress{0}, changed{0};
    std::vector<instances> seen(2);
    // The joiner waits for the owner to be this far in, then joins in the middle of its reads;
    // early rounds join before the first miss, later ones among hits.
    const int join_at = static_cast<int>(random() % (3 * key_count));
    std::thread joiner([&] {
      while (progress.load(std::memory_order_relaxed) < join_at) std::this_thread::yield();
      dedup::scope joined{ctx};
      read_keys(2, 11, seen[1], progress, changed);
    });
    read_keys(4, 7, seen[0], progress, changed);
    joiner.join();
    check_one_instance_per_key(*ctx, seen, changed.load(), 6 * key_count);
  }
}

TEST_CASE("threads joining together while the owner interns all wait for the switch", "[gate]") {
  for (int round = 0; round < 40; ++round) {
    dedup::scope s;
    auto ctx = dedup::current();
    std::atomic<int> progress{0}, changed{0};
    std::vector<instances> seen(4);
    std::vector<std::thread> joiners;
    for (std::size_t t = 1; t < seen.size(); ++t) {
      joiners.emplace_back([&, t] {
        while (progress.load(std::memory_order_relaxed) < round) std::this_thread::yield();
        dedup::scope joined{ctx};
        const int strides[] = {7, 3, 9, 11};  // each coprime to key_count: every key is read
        read_keys(1, strides[t], seen[t], progress, changed);
      });
    }
    read_keys(3, 7, seen[0], progress, changed);
    for (auto& j : joiners) j.join();
    check_one_instance_per_key(*ctx, seen, changed.load(), 6 * key_count);
  }
}

TEST_CASE("a thread using a private context's table without joining switches it too", "[gate]") {
  for (int round = 0; round < 40; ++round) {
    dedup::scope s;
    auto& table = s.get().table<std::string>();
    std::atomic<int> progress{0};
    std::vector<std::shared_ptr<const std::string>> mine(100), theirs(100);
    std::thread other([&] {
      while (progress.load(std::memory_order_relaxed) < round) std::this_thread::yield();
      for (int i = 99; i >= 0; --i) {
        std::string k = std::to_string(i);
        theirs[static_cast<std::size_t>(i)] = table.intern(k, [&] { return k; });
      }
    });
    for (int i = 0; i < 100; ++i) {
      std::string k = std::to_string(i);
      mine[static_cast<std::size_t>(i)] = table.intern(k, [&] { return k; });
      progress.fetch_add(1, std::memory_order_relaxed);
    }
    other.join();
    for (std::size_t i = 0; i < 100; ++i) CHECK(mine[i] == theirs[i]);
    CHECK(table.stats().entries == 100);
    CHECK(table.stats().hits == 100);
  }
}

TEST_CASE("the gate is private for its owner until another thread passes it", "[gate]") {
  dedup::detail::sharing_gate gate;
  if (!dedup::detail::process_barrier_available()) {
    CHECK(gate.is_shared());  // no barrier in this kernel: shared from the start
    return;
  }
  REQUIRE(!gate.is_shared());
  REQUIRE(gate.enter_private());
  gate.leave_private();
  bool foreign_private = true;
  std::thread([&] { foreign_private = gate.enter_private(); }).join();
  CHECK_FALSE(foreign_private);
  CHECK(gate.is_shared());
  CHECK_FALSE(gate.enter_private());
  dedup::detail::gate_pass pass(&gate, true);
  CHECK_FALSE(pass.is_private());
}
