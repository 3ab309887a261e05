// The ordered parallel engine as a public primitive: order, the queue bound, cancellation,
// failures at their index, skipping, the caller's context, and the movable handle.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "dedup/ordered_map.hpp"
#include "dedup/simdjson.hpp"

namespace {

/// Sleeps a few microseconds, differently for each item, so that workers finish out of order.
void jitter(int i) {
  std::uint32_t h = static_cast<std::uint32_t>(i) * 2654435761u;
  std::this_thread::sleep_for(std::chrono::microseconds(h % 200));
}

/// Runs `f` on another thread and waits for it at most 10 s. A hang fails the whole run at once:
/// a future of std::async cannot be abandoned (its destructor would wait for ever).
template <class Fn>
void within_seconds(Fn f) {
  auto done = std::async(std::launch::async, std::move(f));
  if (done.wait_for(std::chrono::seconds(60)) != std::future_status::ready) {
    std::fprintf(stderr, "ordered_map_test: still running after 60 s: a hang\n");
    std::abort();
  }
  done.get();
}

const std::string dataset_type_text =
    R"({"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","visit"]})";

}  // namespace

static_assert(std::ranges::input_range<dedup::ordered_range<int>>);

TEST_CASE("ordered_map keeps input order under random per-item delays", "[ordered_map]") {
  std::vector<int> seen;
  for (int v : dedup::ordered_map(std::views::iota(0, 600),
                                  [](int i) {
                                    jitter(i);
                                    return i * 3;
                                  },
                                  {.threads = 4, .max_queue = 16}))
    seen.push_back(v);
  REQUIRE(seen.size() == 600);
  for (int i = 0; i < 600; ++i) CHECK(seen[static_cast<std::size_t>(i)] == i * 3);
}

TEST_CASE("ordered_map reads a single-pass input range", "[ordered_map]") {
  std::istringstream in("5 4 3 2 1");
  auto words = std::views::istream<int>(in);
  std::vector<int> seen;
  for (int v : dedup::ordered_map(words, [](int i) { return i * 10; }, {.threads = 3}))
    seen.push_back(v);
  CHECK(seen == std::vector<int>{50, 40, 30, 20, 10});
}

TEST_CASE("ordered_map never has more than max_queue items in work or waiting", "[ordered_map]") {
  for (std::size_t max_queue : {1, 3, 8}) {
    std::atomic<long> ahead{0}, most{0};  // items started and not yet consumed
    auto fn = [&](int i) {
      long now = ++ahead;
      long seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      jitter(i);
      return i;
    };
    auto range =
        dedup::ordered_map(std::views::iota(0, 300), fn, {.threads = 4, .max_queue = max_queue});
    int expected = 0;
    for (int v : range) {
      CHECK(v == expected++);
      --ahead;
      if (v % 40 == 0) std::this_thread::sleep_for(std::chrono::microseconds(300));  // slow
    }
    CHECK(expected == 300);
    CHECK(most.load() >= 1);
    CHECK(most.load() <= static_cast<long>(max_queue));
    CHECK(range.most_ahead() >= 1);
    CHECK(range.most_ahead() <= max_queue);
  }
}

TEST_CASE("a result is handed over while a later item is still in work", "[ordered_map]") {
  // Item 1 blocks until this thread releases it, after the consumer received item 0: a result
  // handed over only with the rest of its worker's batch would wait for item 1 for ever.
  for (std::size_t threads : {1, 2, 4}) {
    std::latch item1_started(1), release(1);
    std::atomic<bool> item1_returned{false};
    auto q = dedup::make_ordered_queue(std::views::iota(0, 300),
                                       [&](int i) {
                                         if (i == 1) {
                                           item1_started.count_down();
                                           release.wait();
                                           item1_returned = true;
                                         }
                                         return i;
                                       },
                                       {.threads = threads, .max_queue = 64});
    auto first = std::async(std::launch::async, [&] { return *q.next(); });
    // Bounded only so that a failure ends the test rather than hanging it.
    bool received = first.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
    CHECK(received);
    CHECK_FALSE(item1_returned.load());
    item1_started.wait();  // item 1 was in work while item 0 was received
    release.count_down();
    CHECK(first.get() == 0);
    int expected = 1;
    while (auto v = q.next()) CHECK(*v == expected++);
    CHECK(expected == 300);
  }
}

TEST_CASE("a consumer that stops after k results leaves at most k + max_queue items started",
          "[ordered_map]") {
  for (std::size_t max_queue : {1, 4, 32}) {
    std::atomic<int> started{0};
    const int k = 10;
    within_seconds([&] {
      auto q = dedup::make_ordered_queue(std::views::iota(0, 100000),
                                         [&](int i) {
                                           ++started;
                                           return i;
                                         },
                                         {.threads = 8, .max_queue = max_queue});
      for (int i = 0; i < k; ++i) CHECK(*q.next() == i);
      q.cancel();
    });
    CHECK(started.load() >= k);
    CHECK(started.load() <= k + static_cast<int>(max_queue));
  }
}

TEST_CASE("leaving an ordered_map loop stops and joins its workers promptly", "[ordered_map]") {
  dedup::scope s;
  auto ctx = dedup::current();
  long before = ctx.use_count();
  std::atomic<int> started{0};
  within_seconds([&] {
    auto range = dedup::ordered_map(std::views::iota(0, 1000000),
                                    [&](int i) {
                                      ++started;
                                      jitter(i);
                                      return i;
                                    },
                                    {.threads = 4, .max_queue = 8});
    int n = 0;
    for (int v : range) {
      CHECK(v == n);
      if (++n == 20) break;
    }
    CHECK(range.delivered() == 20);
  });
  // Nothing past the queue was ever started, and no worker holds the context any more.
  CHECK(started.load() <= 20 + 8);
  CHECK(ctx.use_count() == before);
}

TEST_CASE("a failure is rethrown at its index after every earlier result", "[ordered_map]") {
  SECTION("a dedup::error gains the item's index") {
    std::vector<int> seen;
    auto range = dedup::ordered_map(std::views::iota(0, 200),
                                    [](int i) {
                                      jitter(i);
                                      if (i == 57 || i == 90) throw dedup::error("/x", "bad item");
                                      return i;
                                    },
                                    {.threads = 4, .max_queue = 12});
    try {
      for (int v : range) seen.push_back(v);
      FAIL("no error thrown");
    } catch (const dedup::error& e) {
      CHECK(e.record() == 57u);
      CHECK(e.pointer() == "/x");
      CHECK(range.index() == 57);
    }
    CHECK(seen.size() == 57);
    for (std::size_t i = 0; i < seen.size(); ++i) CHECK(seen[i] == static_cast<int>(i));
  }
  SECTION("another exception is rethrown as it was, never skipped") {
    std::vector<int> seen;
    auto range = dedup::ordered_map(std::views::iota(0, 100),
                                    [](int i) {
                                      if (i == 33) throw std::out_of_range("thirty-three");
                                      return i;
                                    },
                                    {.threads = 3, .max_queue = 6, .skip_bad = true});
    CHECK_THROWS_AS(
        [&] {
          for (int v : range) seen.push_back(v);
        }(),
        std::out_of_range);
    CHECK(range.index() == 33);
    CHECK(seen.size() == 33);
  }
  SECTION("a storage or timeout failure is rethrown as it was, never skipped as bad input") {
    for (int kind = 0; kind < 2; ++kind) {
      std::vector<int> seen, skipped;
      dedup::ordered_options o{.threads = 3, .max_queue = 6, .skip_bad = true};
      o.on_skip = [&](const dedup::error& e) { skipped.push_back(static_cast<int>(*e.record())); };
      auto range = dedup::ordered_map(
          std::views::iota(0, 100),
          [kind](int i) {
            if (i == 33 && kind == 0) throw dedup::storage_error("cache", "disk full");
            if (i == 33) throw dedup::timeout_error("cache", "index locked");
            return i;
          },
          std::move(o));
      try {
        for (int v : range) seen.push_back(v);
        FAIL("the failure was skipped");
      } catch (const dedup::exception& e) {
        CHECK(e.kind() == (kind == 0 ? dedup::error_kind::storage : dedup::error_kind::timeout));
      }
      CHECK(skipped.empty());
      CHECK(range.index() == 33);
      CHECK(seen.size() == 33);
    }
  }
}

TEST_CASE("skip_bad skips the items whose fn threw a dedup::error", "[ordered_map]") {
  std::vector<std::size_t> reported;
  std::size_t last_progress = 0;
  dedup::ordered_options o{.threads = 3, .max_queue = 9, .skip_bad = true};
  o.on_skip = [&](const dedup::error& e) { reported.push_back(*e.record()); };
  o.on_progress = [&](const dedup::progress& p) { last_progress = p.records; };
  std::vector<int> seen;
  auto range = dedup::ordered_map(
      std::views::iota(0, 100),
      [](int i) {
        if (i % 10 == 3) throw dedup::error("", "not wanted");
        return i;
      },
      std::move(o));
  for (int v : range) seen.push_back(v);
  CHECK(seen.size() == 90);
  CHECK(range.skipped() == 10);
  CHECK(range.delivered() == 90);
  CHECK(reported == std::vector<std::size_t>{3, 13, 23, 33, 43, 53, 63, 73, 83, 93});
  CHECK(last_progress == 100);
}

TEST_CASE("ordered_map over 0 and 1 item", "[ordered_map]") {
  std::vector<std::string> none, one{"a"};
  auto upper = [](const std::string& s) { return s + "!"; };
  std::vector<std::string> seen;
  for (auto& s : dedup::ordered_map(none, upper, {.threads = 2})) seen.push_back(s);
  CHECK(seen.empty());
  for (auto& s : dedup::ordered_map(one, upper, {.threads = 2})) seen.push_back(s);
  CHECK(seen == std::vector<std::string>{"a!"});
  CHECK_THROWS_AS(dedup::ordered_map(one, upper, {.threads = dedup::max_ordered_threads + 1}),
                  dedup::usage_error);
}

TEST_CASE("workers join the caller's context; fn may open a nested scope", "[ordered_map]") {
  dedup::scope s;
  auto outer = dedup::current();
  std::vector<std::string> docs(50, dataset_type_text);
  auto fn = [&](const std::string& d) {
    bool joined = dedup::current() == outer;
    dedup::scope inner;  // starts clean, shadows the outer context on this worker
    auto t = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(d));
    bool fresh = dedup::current() != outer && dedup::stats<butler::DatasetType>().entries == 1;
    return joined && fresh && t->name == "calexp";
  };
  std::size_t n = 0;
  for (bool ok : dedup::ordered_map(docs, fn, {.threads = 4, .max_queue = 8})) {
    CHECK(ok);
    ++n;
  }
  CHECK(n == 50);
  CHECK(dedup::stats<butler::DatasetType>().entries == 0);  // the inner scopes' entries are gone
}

TEST_CASE("the same key interned from many items is built once", "[ordered_map]") {
  dedup::scope s;
  std::vector<std::string> docs(400, dataset_type_text);
  std::vector<std::shared_ptr<const butler::DatasetType>> types;
  auto range = dedup::ordered_map(
      docs,
      [](const std::string& d) {
        return dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(d));
      },
      {.threads = 4, .max_queue = 32});
  for (auto& t : range) types.push_back(std::move(t));
  REQUIRE(types.size() == 400);
  for (const auto& t : types) CHECK(t == types.front());
  CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  CHECK(range.shared_context() == dedup::current());
}

TEST_CASE("outside any scope the workers share one fresh context", "[ordered_map]") {
  REQUIRE_FALSE(dedup::current());
  std::vector<std::string> docs(20, dataset_type_text);
  std::vector<std::shared_ptr<const butler::DatasetType>> types;
  auto range = dedup::ordered_map(docs, [](const std::string& d) {
    return dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(d));
  });
  for (auto& t : range) types.push_back(t);
  REQUIRE(range.shared_context());
  for (const auto& t : types) CHECK(t == types.front());
}

TEST_CASE("the handle moved to another thread is consumed there", "[ordered_map]") {
  dedup::scope s;
  auto q = dedup::make_ordered_queue(std::views::iota(0, 500),
                                     [](int i) {
                                       jitter(i);
                                       return std::to_string(i);
                                     },
                                     {.threads = 3, .max_queue = 10});
  std::vector<std::string> seen;
  within_seconds([&, q = std::move(q)]() mutable {
    while (auto v = q.next()) seen.push_back(std::move(*v));
  });
  CHECK(q.delivered() == 0);  // moved from: empty
  CHECK_FALSE(q.next());
  REQUIRE(seen.size() == 500);
  for (int i = 0; i < 500; ++i) CHECK(seen[static_cast<std::size_t>(i)] == std::to_string(i));
}

TEST_CASE("a handle cancelled mid-way, or dropped unread, ends its workers", "[ordered_map]") {
  dedup::scope s;
  auto ctx = dedup::current();
  long before = ctx.use_count();
  within_seconds([&] {
    auto q = dedup::make_ordered_queue(std::views::iota(0, 1000000), [](int i) { return i; },
                                       {.threads = 4, .max_queue = 4});
    CHECK(*q.next() == 0);
    CHECK(*q.next() == 1);
    q.cancel();
    CHECK_FALSE(q.next());
    auto unread = dedup::make_ordered_queue(std::views::iota(0, 1000000), [](int i) { return i; },
                                            {.threads = 2});
  });
  CHECK(ctx.use_count() == before);
}

namespace {

/// An engine policy whose item i waits for the completion of item i - 1 (as a compact record
/// waits for a definition an earlier record makes), or for the stop hook; item `blocked` waits for
/// the stop hook alone. Completions are counted per index.
struct chained : dedup::detail::engine_hooks {
  using item_type = int;
  using value_type = int;
  using extra_type = int;

  explicit chained(int items, int blocked) : items(items), blocked(blocked), done(items + 1) {}

  bool pull(int& i) {
    if (next == items) return false;
    i = next++;
    return true;
  }
  int apply(int& i, std::size_t, int&) {
    std::unique_lock lock(mutex);
    auto ready = [&] { return stopped || (i != blocked && (i == 0 || done[i - 1] > 0)); };
    // Bounded: a wait that never ends fails the item (and the test) instead of hanging it.
    if (!changed.wait_for(lock, std::chrono::seconds(5), ready) || i == blocked)
      throw std::runtime_error("woken by the stop hook");
    return i;
  }
  std::exception_ptr locate(const dedup::error&, const int&, std::size_t) {
    return std::current_exception();
  }
  void on_complete(std::size_t index, dedup::detail::item_outcome) {
    std::lock_guard lock(mutex);
    ++done[index];
    changed.notify_all();
  }
  void on_stop() {
    std::lock_guard lock(mutex);
    stopped = true;
    changed.notify_all();
  }

  int items, blocked, next = 0;
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<int> done;  // completions of each index
  bool stopped = false;
};

}  // namespace

TEST_CASE("an item may wait for an earlier item's completion hook", "[ordered_map]") {
  dedup::detail::ordered_engine<chained> engine({.threads = 4, .max_queue = 16}, nullptr, 300, -1);
  int expected = 0;
  while (int* v = engine.next()) CHECK(*v == expected++);
  CHECK(expected == 300);
  std::lock_guard lock(engine.policy().mutex);
  for (int i = 0; i < 300; ++i) CHECK(engine.policy().done[static_cast<std::size_t>(i)] == 1);
}

TEST_CASE("the stop hook wakes an item blocked in a wait of the policy's own", "[ordered_map]") {
  int taken = 0;
  std::vector<int> completions;
  within_seconds([&] {
    dedup::detail::ordered_engine<chained> engine({.threads = 3, .max_queue = 6}, nullptr, 1000, 5);
    for (int i = 0; i < 5; ++i) CHECK(*engine.next() == i);
    engine.cancel();  // item 5 waits for ever unless the stop hook wakes it
    CHECK_FALSE(engine.next());
    std::lock_guard lock(engine.policy().mutex);
    taken = engine.policy().next;
    completions = engine.policy().done;
  });
  // Every item taken completed exactly once (done, failed or cancelled), and no other.
  REQUIRE(taken >= 6);
  CHECK(taken <= 5 + 6);
  for (int i = 0; i < 1000; ++i)
    CHECK(completions[static_cast<std::size_t>(i)] == (i < taken ? 1 : 0));
}
