// The intern table under concurrent use: one instance per key, exact counters.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "dedup/detail/table/journal.hpp"
#include "dedup/detail/table/table_access.hpp"
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
  dedup::detail::table_base_access::erase_if_unused(table, "a");
  dedup::detail::table_base_access::erase_if_unused(table, "b");
  CHECK(table.find("a") == held);
  CHECK(table.find("b") == nullptr);
  CHECK(table.size() == 1);
}

namespace {
// The build protocol is not part of the table's public face: a user cannot reach it.
template <class Table>
concept exposes_build_protocol = requires(Table& t, std::string_view k) {
  t.find_or_reserve(k, std::size_t{});
}
|| requires(Table& t, std::string_view k) {
  t.find_alias(k, std::size_t{});
}
|| requires(Table& t, std::string_view k) {
  t.erase_if_unused(k);
}
|| requires {
  typename Table::ticket;
};
}  // namespace

TEST_CASE("the table's public face is intern, find, stats and policy", "[intern_table]") {
  using table = dedup::intern_table<std::string>;
  STATIC_REQUIRE_FALSE(exposes_build_protocol<table>);
  STATIC_REQUIRE_FALSE(exposes_build_protocol<dedup::table_base>);
  table t;
  auto a = t.intern("HSC", [] { return std::string("HSC"); });
  CHECK(t.find("HSC") == a);
  CHECK(t.stats().entries == 1);
  // The deserializers reach the protocol through detail::table_access. (hash_key is found in
  // dedup or dedup::detail, wherever it lives.)
  using namespace dedup;
  using namespace dedup::detail;
  auto found = table_access::find_or_reserve(t, "LSST", hash_key("LSST"));
  REQUIRE(found.reservation);
  auto value = std::make_shared<const std::string>("LSST");
  found.reservation.publish(value, {});
  CHECK(*t.find("LSST") == "LSST");
}
