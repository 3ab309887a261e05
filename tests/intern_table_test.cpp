// The intern table under concurrent use: one instance per key, exact counters.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dedup/intern_table.hpp"

TEST_CASE("threads interning overlapping keys get one instance per key and exact counters") {
  constexpr int threads = 4, rounds = 5'000, keys = 97;
  dedup::intern_table<std::string> table;
  std::atomic<int> built{0};
  std::vector<std::vector<std::shared_ptr<const std::string>>> seen(threads);
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < rounds; ++i) {
        std::string key = "key-" + std::to_string((i * 7 + t) % keys);
        seen[t].push_back(table.intern(key, [&] {
          ++built;
          return std::string(key);
        }));
      }
    });
  }
  for (auto& w : workers) w.join();
  CHECK(built == keys);
  CHECK(table.size() == keys);
  auto stats = table.stats();
  CHECK(stats.lookups == threads * rounds);
  CHECK(stats.hits == threads * rounds - keys);
  for (int t = 0; t < threads; ++t)
    for (const auto& value : seen[t]) CHECK(value == table.find(*value));
}

TEST_CASE("an entry no one holds can be erased, one still held cannot") {
  dedup::intern_table<std::string> table;
  auto held = table.intern("a", [] { return std::string("a"); });
  (void)table.intern("b", [] { return std::string("b"); });
  table.erase_if_unused("a");
  table.erase_if_unused("b");
  CHECK(table.find("a") == held);
  CHECK(table.find("b") == nullptr);
  CHECK(table.size() == 1);
}
