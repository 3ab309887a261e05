// Scope, run, current and context sharing: the ContextVar-style heart of dedup.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"

namespace {

const nlohmann::json calexp = {{"name", "calexp"},
                               {"storageClass", "ExposureF"},
                               {"dimensions", {"instrument", "detector", "visit"}}};

}  // namespace

TEST_CASE("outside a scope nothing is shared and no table is made") {
  REQUIRE(dedup::current() == nullptr);
  auto a = dedup::from_simple<butler::DatasetType>(calexp);
  auto b = dedup::from_simple<butler::DatasetType>(calexp);
  CHECK(a != b);
  CHECK(*a == *b);
  CHECK(dedup::stats<butler::DatasetType>().entries == 0);
}

TEST_CASE("inside run() repeats of one key are one instance") {
  dedup::run([] {
    auto a = dedup::from_simple<butler::DatasetType>(calexp);
    auto b = dedup::from_simple<butler::DatasetType>(calexp);
    nlohmann::json other = calexp;
    other["storageClass"] = "Exposure";
    auto c = dedup::from_simple<butler::DatasetType>(other);
    CHECK(a == b);
    CHECK(a != c);
    auto s = dedup::stats<butler::DatasetType>();
    CHECK(s.entries == 2);
    CHECK(s.lookups == 3);
    CHECK(s.hits == 1);
  });
}

TEST_CASE("run() returns the function's result and passes its arguments") {
  int doubled = dedup::run([](int x) { return 2 * x; }, 21);
  CHECK(doubled == 42);
  bool called = false;
  dedup::run([&] { called = true; });
  CHECK(called);
}

TEST_CASE("a nested scope starts clean and leaves the outer one unchanged") {
  dedup::scope outer;
  auto a = dedup::from_simple<butler::DatasetType>(calexp);
  auto outer_context = dedup::current();
  {
    dedup::scope inner;
    CHECK(dedup::current() != outer_context);
    CHECK(dedup::stats<butler::DatasetType>().entries == 0);
    auto b = dedup::from_simple<butler::DatasetType>(calexp);
    CHECK(a != b);
  }
  CHECK(dedup::current() == outer_context);
  CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  CHECK(dedup::from_simple<butler::DatasetType>(calexp) == a);
}

TEST_CASE("an exception inside run() restores the previous context and releases the tables") {
  std::weak_ptr<const butler::DatasetType> watched;
  std::weak_ptr<dedup::context> context_seen;
  REQUIRE_THROWS_AS(dedup::run([&] {
                      watched = dedup::from_simple<butler::DatasetType>(calexp);
                      context_seen = dedup::current();
                      REQUIRE_FALSE(watched.expired());  // the table holds it
                      throw std::runtime_error("boom");
                    }),
                    std::runtime_error);
  CHECK(dedup::current() == nullptr);
  CHECK(context_seen.expired());
  CHECK(watched.expired());
}

TEST_CASE("two threads in their own scopes share nothing") {
  std::shared_ptr<const butler::DatasetType> a, b;
  std::thread t1([&] { dedup::run([&] { a = dedup::from_simple<butler::DatasetType>(calexp); }); });
  std::thread t2([&] { dedup::run([&] { b = dedup::from_simple<butler::DatasetType>(calexp); }); });
  t1.join();
  t2.join();
  CHECK(a != b);
}

TEST_CASE("two threads joined to one context get the same instance for one key") {
  dedup::scope s;
  auto ctx = dedup::current();
  std::shared_ptr<const butler::DatasetType> a, b;
  std::thread t1([&] {
    dedup::scope joined{ctx};
    a = dedup::from_simple<butler::DatasetType>(calexp);
  });
  std::thread t2([&] {
    dedup::scope joined{ctx};
    b = dedup::from_simple<butler::DatasetType>(calexp);
  });
  t1.join();
  t2.join();
  CHECK(a == b);
  CHECK(dedup::from_simple<butler::DatasetType>(calexp) == a);
  CHECK(ctx->stats<butler::DatasetType>().entries == 1);
}

TEST_CASE("a scope closed out of order is unlinked and reported once", "[scope_order]") {
  REQUIRE(dedup::current() == nullptr);
  {
    std::optional<dedup::scope> a;
    a.emplace();
    dedup::scope b;
    auto inner = dedup::current();
    a.reset();  // out of order: b is still open
    CHECK(&b.get() == inner.get());
    CHECK(dedup::detail::current_context == inner.get());  // b stays current
    // The misuse is reported by the next current() on this thread, once.
    CHECK_THROWS_WITH(dedup::current(), Catch::Contains("dedup::scope closed out of order"));
    CHECK(dedup::current() == inner);
    (void)dedup::from_simple<butler::DatasetType>(calexp);  // b's tables still work
  }
  // b's end does not bring back a's freed context (ASan: no use after free).
  CHECK(dedup::detail::current_context == nullptr);
  CHECK(dedup::current() == nullptr);
}

TEST_CASE("a scope closed out of order is reported by the next scope, run and read",
          "[scope_order]") {
  auto close_out_of_order = [] {
    auto a = std::make_unique<dedup::scope>();
    dedup::scope b;
    a.reset();
  };
  close_out_of_order();
  CHECK(dedup::detail::current_context == nullptr);
  CHECK_THROWS_AS(dedup::scope(), dedup::usage_error);
  CHECK(dedup::current() == nullptr);  // reported once

  close_out_of_order();
  CHECK_THROWS_AS(dedup::run([] { return 1; }), dedup::usage_error);
  CHECK(dedup::run([] { return 1; }) == 1);

  close_out_of_order();
  CHECK_THROWS_AS(dedup::from_simple<butler::DatasetType>(calexp), dedup::usage_error);
  CHECK(dedup::from_simple<butler::DatasetType>(calexp)->name == "calexp");
}

TEST_CASE("a middle scope closed out of order leaves the outer and inner ones linked",
          "[scope_order]") {
  dedup::scope outer;
  auto outer_context = dedup::current();
  {
    auto middle = std::make_unique<dedup::scope>();
    {
      dedup::scope inner;
      middle.reset();
      CHECK(dedup::detail::current_context == &inner.get());
    }
    // inner's end makes the outer context current, never the closed middle one.
    CHECK(dedup::detail::current_context == outer_context.get());
    CHECK_THROWS_AS(dedup::current(), dedup::usage_error);
  }
  CHECK(dedup::current() == outer_context);
}
