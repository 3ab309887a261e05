// Scope, run, current and context sharing: the ContextVar-style heart of dedup.
#include <catch2/catch.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <typeinfo>
#include <utility>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace {

const nlohmann::json calexp = {{"name", "calexp"},
                               {"storageClass", "ExposureF"},
                               {"dimensions", {"instrument", "detector", "visit"}}};

/// A member read from a string that is itself a JSON document, parsed in a scope of its own: the
/// context named by `inner_context` if set, else a fresh one (`run`) destroyed before the outer
/// read goes on.
struct embedded_type {
  std::shared_ptr<const butler::DatasetType> type;
};
std::shared_ptr<dedup::context> inner_context;

struct with_embedded {
  BOOST_HANA_DEFINE_STRUCT(with_embedded, (std::shared_ptr<const butler::DatasetType>, first),
                           (embedded_type, embedded), (int, last));
};

}  // namespace

template <>
struct dedup::string_codec<embedded_type> {
  static embedded_type parse(std::string_view text) {
    auto read_twice = [&] {
      auto a = dedup::parse<butler::DatasetType>(text);
      CHECK(dedup::parse<butler::DatasetType>(text) == a);  // interned in the inner scope
      return embedded_type{a};
    };
    if (!inner_context) return dedup::run(read_twice);
    dedup::scope joined{inner_context};
    return read_twice();
  }
  static std::string format(const embedded_type& e) { return dedup::to_simple(e.type).dump(); }
};

namespace {
nlohmann::json failing_outer_document() {
  nlohmann::json bias = calexp;
  bias["name"] = "bias";
  // "last" is not an int: the read fails after the inner scope has read and closed.
  return {{"first", calexp}, {"embedded", bias.dump()}, {"last", "not a number"}};
}
}  // namespace

TEST_CASE("a failing read undoes its own entries, never those of a scope opened inside it",
          "[journal]") {
  dedup::scope outer;
  inner_context = std::make_shared<dedup::context>();
  CHECK_THROWS_AS(dedup::from_simple<with_embedded>(failing_outer_document()), dedup::error);
  auto inner = std::exchange(inner_context, nullptr);
  // The inner reads committed in their own scope and stay; the outer read's entry is undone.
  CHECK(inner->stats<butler::DatasetType>().entries == 1);
  CHECK(dedup::stats<butler::DatasetType>().entries == 0);
  CHECK(dedup::from_simple<butler::DatasetType>(calexp)->name == "calexp");
  CHECK(dedup::stats<butler::DatasetType>().entries == 1);
}

TEST_CASE("a failing read whose inner scope's context is gone touches only its own tables",
          "[journal]") {
  dedup::scope outer;
  auto kept = dedup::from_simple<butler::DatasetType>(calexp);  // an entry from before the read
  // The inner context is destroyed before the outer read fails (ASan: no use after free).
  CHECK_THROWS_AS(dedup::from_simple<with_embedded>(failing_outer_document()), dedup::error);
  CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  CHECK(dedup::from_simple<butler::DatasetType>(calexp) == kept);
  nlohmann::json good = failing_outer_document();
  good["last"] = 3;
  auto read = dedup::from_simple<with_embedded>(good);
  CHECK(read.first == kept);
  CHECK(read.embedded.type->name == "bias");
  CHECK(dedup::stats<butler::DatasetType>().entries == 1);  // bias was interned in its own scope
}
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

namespace {

/// Closes an outer scope while an inner one is still open: the misuse the next user reports.
void close_out_of_order() {
  auto a = std::make_unique<dedup::scope>();
  dedup::scope b;
  a.reset();
}

}  // namespace

TEST_CASE("a scope closed out of order is reported by the next scope, run and read",
          "[scope_order]") {
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

TEST_CASE("a scope closed out of order is reported by joining a context and by every reader",
          "[scope_order]") {
  auto ctx = std::make_shared<dedup::context>();
  close_out_of_order();
  CHECK_THROWS_AS(dedup::scope(ctx), dedup::usage_error);
  CHECK(dedup::current() == nullptr);

  const std::string text = calexp.dump();
  close_out_of_order();
  CHECK_THROWS_AS(dedup::parse<butler::DatasetType>(text), dedup::usage_error);
  CHECK(dedup::parse<butler::DatasetType>(text)->name == "calexp");

  close_out_of_order();
  CHECK_THROWS_AS(dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text)),
                  dedup::usage_error);
  CHECK(dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text))->name == "calexp");

  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(text);
  close_out_of_order();
  simdjson::ondemand::document doc = parser.iterate(padded);
  CHECK_THROWS_AS(dedup::from_simple<butler::DatasetType>(doc.get_value().value()),
                  dedup::usage_error);
  CHECK(dedup::current() == nullptr);  // reported once
}

TEST_CASE("an empty scope makes no table slots; the first table makes them", "[scope_cost]") {
  dedup::scope s;
  CHECK_FALSE(s.get().has_tables());
  CHECK(s.get().stats<butler::DatasetType>().entries == 0);  // asking makes nothing
  CHECK_FALSE(s.get().has_tables());
  (void)dedup::from_simple<butler::DatasetType>(calexp);
  CHECK(s.get().has_tables());
  CHECK(s.get().stats<butler::DatasetType>().entries == 1);
}

TEST_CASE("type slots come from one registry keyed by type_info", "[scope_cost]") {
  struct local_a {};
  struct local_b {};
  std::size_t a = dedup::detail::type_slot<local_a>();
  CHECK(dedup::detail::slot_of_type(typeid(local_a)) == a);
  CHECK(dedup::detail::type_slot<local_b>() != a);
  CHECK(dedup::detail::type_registry::of_process().count.load() > a);
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
