// Intern tables under concurrent use: one instance per key, construction at most once, exact
// statistics, and a shared context read by many threads.
#include <catch2/catch.hpp>

#include <atomic>
#include <latch>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace {

constexpr int thread_count = 8;

/// Runs `fn(thread index)` on `n` threads released together, so that they race. Catch2's
/// assertions are not thread-safe: `fn` records what it saw and the test checks it afterwards.
template <class F>
void race(int n, F fn) {
  std::latch start(n);
  std::vector<std::thread> threads;
  for (int t = 0; t < n; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      fn(t);
    });
  }
  for (auto& th : threads) th.join();
}

std::string dataset_type(int i) {
  return R"({"name":"type)" + std::to_string(i) +
         R"(","storageClass":"ExposureF","dimensions":["instrument","visit"]})";
}

}  // namespace

TEST_CASE("many threads racing on one new key construct it once") {
  for (int round = 0; round < 50; ++round) {
    dedup::intern_table<std::string> table;
    std::atomic<int> built{0};
    std::vector<std::shared_ptr<const std::string>> got(thread_count);
    race(thread_count, [&](int t) {
      got[static_cast<std::size_t>(t)] = table.intern("new key", [&] {
        built.fetch_add(1);
        std::this_thread::yield();  // widen the window in which the others arrive
        return std::string("value");
      });
    });
    REQUIRE(built.load() == 1);
    for (const auto& p : got) CHECK(p == got[0]);
    auto s = table.stats();
    CHECK(s.entries == 1);
    CHECK(s.lookups == thread_count);
    CHECK(s.hits == thread_count - 1);
  }
}

TEST_CASE("when the builder of a key fails, a waiting thread builds it instead") {
  for (int round = 0; round < 30; ++round) {
    dedup::intern_table<std::string> table;
    std::atomic<int> attempts{0};
    std::atomic<int> failures{0};
    std::vector<std::shared_ptr<const std::string>> got(thread_count);
    race(thread_count, [&](int t) {
      try {
        got[static_cast<std::size_t>(t)] = table.intern("key", [&] {
          if (attempts.fetch_add(1) == 0) throw std::runtime_error("first build fails");
          return std::string("value");
        });
      } catch (const std::runtime_error&) {
        failures.fetch_add(1);
      }
    });
    CHECK(failures.load() == 1);
    CHECK(attempts.load() == 2);
    std::shared_ptr<const std::string> winner;
    for (const auto& p : got) {
      if (!p) continue;
      if (!winner) winner = p;
      CHECK(p == winner);
    }
    auto s = table.stats();
    CHECK(s.entries == 1);
    CHECK(s.lookups == thread_count);   // a waiter's retry is not a second lookup
    CHECK(s.hits == thread_count - 2);  // all but the failed builder and the one that took over
  }
}

TEST_CASE("a context shared by many threads holds one instance per key, with exact counts") {
  constexpr int types = 50;
  constexpr int repeats = 20;
  dedup::scope s;
  auto ctx = dedup::current();
  std::vector<std::vector<std::shared_ptr<const butler::DatasetType>>> seen(thread_count);
  std::atomic<int> changed{0};  // a thread got two instances for one key
  race(thread_count, [&](int t) {
    dedup::scope joined{ctx};
    auto& mine = seen[static_cast<std::size_t>(t)];
    mine.resize(types);
    for (int r = 0; r < repeats; ++r) {
      for (int k = 0; k < types; ++k) {
        int i = (k * 7 + t * 13 + r) % types;  // each thread in its own order
        auto p = dedup::parse<butler::DatasetType>(dataset_type(i));
        auto& slot = mine[static_cast<std::size_t>(i)];
        if (!slot) slot = p;
        if (slot != p) changed.fetch_add(1);
      }
    }
  });
  CHECK(changed.load() == 0);
  for (int i = 0; i < types; ++i) {
    for (int t = 1; t < thread_count; ++t)
      CHECK(seen[static_cast<std::size_t>(t)][static_cast<std::size_t>(i)] ==
            seen[0][static_cast<std::size_t>(i)]);
  }
  auto stats = ctx->stats<butler::DatasetType>();
  CHECK(stats.entries == types);
  CHECK(stats.lookups == std::uint64_t{thread_count} * types * repeats);
  CHECK(stats.hits == stats.lookups - types);
}

TEST_CASE("a failing read on one thread leaves a shared context usable by the others") {
  dedup::scope s;
  auto ctx = dedup::current();
  std::atomic<int> errors{0};
  std::atomic<int> wrong{0};  // a result or an error other than expected
  race(thread_count, [&](int t) {
    dedup::scope joined{ctx};
    for (int r = 0; r < 200; ++r) {
      std::string doc =
          R"({"refs":[)" + std::string(R"({"id":"00000000-0000-0000-0000-000000000001",)") +
          R"("datasetType":)" + dataset_type(r % 10) +
          R"(,"dataId":{"dataId":{"instrument":"HSC"}},"run":"run)" + std::to_string(t) + R"("}]})";
      if ((r + t) % 3 == 0) doc.replace(doc.find("run\":"), 3, "rnu");  // an unknown member
      try {
        auto list = dedup::parse<butler::RefList>(doc);
        if (list.refs.size() != 1 || (r + t) % 3 == 0) wrong.fetch_add(1);
      } catch (const dedup::error& e) {
        errors.fetch_add(1);
        if (e.pointer() != "/refs/0/rnu" || (r + t) % 3 != 0) wrong.fetch_add(1);
      }
    }
  });
  CHECK(errors.load() > 0);
  CHECK(wrong.load() == 0);
  CHECK(ctx->stats<butler::DatasetType>().entries <= 10);
  auto again = dedup::parse<butler::DatasetType>(dataset_type(3));
  CHECK(dedup::parse<butler::DatasetType>(dataset_type(3)) == again);
}

TEST_CASE("a thread that read a huge document keeps bounded buffers afterwards", "[buffers]") {
  using dedup::detail::string_arena;
  // A name with escapes is unescaped into the arena; its length grows the parser past its bound.
  std::string name(dedup::detail::parser_retained_bound + 1024, 'a');
  for (std::size_t i = 0; i < name.size(); i += 4096) name[i] = '\n';
  nlohmann::json big = {{"name", name}, {"storageClass", "ExposureF"}, {"dimensions", {"visit"}}};
  std::string big_text = big.dump();
  std::size_t arena_after = 0, parser_after_big = 0, parser_after_small = 0, key_after = 0;
  std::string read_name;
  std::thread([&] {
    dedup::scope s;
    read_name = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(big_text))->name;
    arena_after = string_arena::of_this_thread().bytes_held();
    parser_after_big = dedup::detail::thread_parser().capacity();
    key_after = dedup::detail::key_scratch::buffer().capacity();  // the exact-bytes alias: 16 MiB
    (void)dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(std::string_view(
        R"({"name":"bias","storageClass":"ExposureF","dimensions":["detector"]})")));
    parser_after_small = dedup::detail::thread_parser().capacity();
  }).join();
  CHECK(read_name == name);
  CHECK(arena_after <= string_arena::retained_bound);
  CHECK(parser_after_big <= dedup::detail::parser_retained_bound);
  CHECK(key_after <= dedup::detail::scratch_retained_bound);
  CHECK(parser_after_small > 0);  // a small document keeps its parser's buffers for the next one
  CHECK(parser_after_small <= dedup::detail::parser_retained_bound);
}
