// Budgets (rotate, strict, min_free_mem_pct) and weak entries of intern tables, alone and through
// the reader.
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/detail/memory_pressure.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/simdjson.hpp"
#include "support.hpp"

namespace {

using table = dedup::intern_table<std::string>;

/// Interns `key`, counting the builds in `built`.
std::shared_ptr<const std::string> get(table& t, const std::string& key, int& built) {
  return t.intern(key, [&] {
    ++built;
    return key;
  });
}

using dedup_test::scaled;

/// The free-memory probe for one test, put back on every exit.
std::atomic<int> free_pct{50};
struct probe_guard {
  probe_guard() { set(50); }
  ~probe_guard() { dedup::detail::set_memory_probe(nullptr); }
  void set(int pct) {
    free_pct = pct;
    dedup::detail::set_memory_probe([] { return free_pct.load() / 100.0; });
  }
};

/// The compact text of every ref, to compare two reads of one document.
std::vector<std::string> texts(const butler::RefList& list) {
  std::vector<std::string> out;
  for (const auto& ref : list.refs) {
    out.emplace_back();
    dedup::detail::write_text(out.back(), *ref);
  }
  return out;
}

}  // namespace

TEST_CASE("rotate keeps the table within max entries and never evicts an entry held outside",
          "[budget]") {
  table t;
  t.set_budget({.max_entries = 4});
  int built = 0;
  auto held_a = get(t, "held-a", built), held_b = get(t, "held-b", built);
  for (int i = 0; i < 100; ++i) {
    (void)get(t, "key-" + std::to_string(i), built);
    REQUIRE(t.size() <= 4);
    REQUIRE(t.find("held-a") == held_a);
    REQUIRE(t.find("held-b") == held_b);
  }
  auto s = t.stats();
  CHECK(s.entries == 4);
  CHECK(s.evictions == 102 - 4);
  CHECK(s.refusals == 0);
  CHECK(built == 102);
  CHECK(s.lookups == 102 + 200);  // the interns and the finds
  CHECK(s.lookups - s.hits == 102);
}

TEST_CASE("rotate keeps the estimated bytes within max bytes and reports the peak", "[budget]") {
  table unbounded;
  int built = 0;
  (void)get(unbounded, "key-0", built);
  const std::size_t one = unbounded.stats().bytes;
  REQUIRE(one > 0);
  table t;
  t.set_budget({.max_bytes = one * 5 + one / 2});
  for (int i = 0; i < 50; ++i) {
    (void)get(t, "key-" + std::to_string(i % 10), built);  // same-sized keys, all released
    REQUIRE(t.stats().bytes <= one * 5 + one / 2);
  }
  auto s = t.stats();
  CHECK(s.entries == 5);
  CHECK(s.bytes == one * 5);
  CHECK(s.peak_bytes == one * 5);
  CHECK(s.evictions == 45);
}

TEST_CASE("rotate refuses when every entry is held, and the value comes back unshared",
          "[budget]") {
  table t;
  t.set_budget({.max_entries = 2});
  int built = 0;
  auto a = get(t, "a", built), b = get(t, "b", built);
  auto c1 = get(t, "c", built);
  auto c2 = get(t, "c", built);
  CHECK(*c1 == "c");
  CHECK(c1 != c2);  // built twice, shared never
  CHECK(t.find("c") == nullptr);
  CHECK(t.size() == 2);
  CHECK(t.stats().refusals == 2);
  CHECK(t.stats().evictions == 0);
  CHECK(get(t, "a", built) == a);
}

TEST_CASE("strict stops inserting: over budget the values are unshared and counted", "[budget]") {
  table t;
  t.set_budget({.max_entries = 2, .on_full = dedup::overflow::strict});
  int built = 0;
  (void)get(t, "a", built);
  (void)get(t, "b", built);  // not held: strict still evicts nothing
  auto c1 = get(t, "c", built), c2 = get(t, "c", built);
  CHECK(c1 != c2);
  CHECK(*c2 == "c");
  CHECK(built == 4);
  auto a1 = get(t, "a", built), a2 = get(t, "a", built);
  CHECK(a1 == a2);
  auto s = t.stats();
  CHECK(s.entries == 2);
  CHECK(s.refusals == 2);
  CHECK(s.evictions == 0);
  CHECK(s.lookups == 6);
  CHECK(s.lookups - s.hits == 4);
}

TEST_CASE("an entry evicted and asked for again is rebuilt and shared again", "[budget]") {
  table t;
  t.set_budget({.max_entries = 1});
  int built = 0;
  (void)get(t, "a", built);
  (void)get(t, "b", built);  // evicts a
  CHECK(t.find("a") == nullptr);
  auto a1 = get(t, "a", built);  // rebuilt, evicts b
  auto a2 = get(t, "a", built);
  CHECK(a1 == a2);
  CHECK(built == 3);
  CHECK(t.stats().evictions == 2);
}

TEST_CASE("min_free_mem_pct: under memory pressure rotate turns over and strict refuses",
          "[budget]") {
  probe_guard probe;
  int built = 0;
  table rotate, strict;
  rotate.set_budget({.min_free_mem_pct = 0.2});
  strict.set_budget({.min_free_mem_pct = 0.2, .on_full = dedup::overflow::strict});
  for (int i = 0; i < 3; ++i) {
    (void)get(rotate, "k" + std::to_string(i), built);
    (void)get(strict, "k" + std::to_string(i), built);
  }
  CHECK(rotate.size() == 3);
  CHECK(strict.size() == 3);
  probe.set(10);  // below 20% free
  for (int i = 3; i < 6; ++i) {
    (void)get(rotate, "k" + std::to_string(i), built);
    (void)get(strict, "k" + std::to_string(i), built);
  }
  CHECK(rotate.size() == 3);
  CHECK(rotate.stats().evictions == 3);
  CHECK(strict.size() == 3);
  CHECK(strict.stats().refusals == 3);
  probe.set(50);
  (void)get(strict, "k9", built);
  CHECK(strict.size() == 4);
}

TEST_CASE("weak entries disappear when the last holder releases them", "[budget]") {
  table t({.tracking = dedup::tracking::weak});
  int built = 0;
  auto a = get(t, "a", built);
  auto a2 = get(t, "a", built);
  CHECK(a == a2);
  CHECK(t.size() == 1);
  a.reset();
  CHECK(t.find("a") == a2);
  a2.reset();
  CHECK(t.size() == 0);
  CHECK(t.find("a") == nullptr);
  CHECK(t.stats().bytes == 0);
  auto again = get(t, "a", built);
  CHECK(built == 2);
  CHECK(t.find("a") == again);
}

TEST_CASE("weak entries under concurrent intern and release of one key stay shared", "[budget]") {
  table t({.tracking = dedup::tracking::weak});
  constexpr int threads = 4;
  const int rounds = scaled(4000);
  std::atomic<int> built{0}, unshared{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < threads; ++w)
    workers.emplace_back([&] {
      for (int i = 0; i < rounds; ++i) {
        auto v = t.intern("one", [&] {
          ++built;
          return std::string("one");
        });
        // While this thread holds it, the table can map the key to nothing else.
        if (t.find("one") != v) ++unshared;
      }
    });
  for (auto& w : workers) w.join();
  CHECK(unshared == 0);
  CHECK(built >= 1);
  CHECK(t.size() == 0);
  CHECK(t.stats().bytes == 0);
}

TEST_CASE("a scope may end before its weak objects", "[budget]") {
  std::shared_ptr<const butler::DatasetType> kept;
  std::string text = R"({"name":"calexp","storageClass":"ExposureF","dimensions":["visit"]})";
  {
    dedup::scope s;
    s.get().set_policy<butler::DatasetType>({.tracking = dedup::tracking::weak});
    kept = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text));
    auto again = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text));
    CHECK(again == kept);
    CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  }
  CHECK(kept->name == "calexp");
  kept.reset();  // its release must not reach the table that is gone
}

TEST_CASE("weak tables through the reader: nested weak objects go when the refs go", "[budget]") {
  std::string doc = butler::make_document(butler::workload{.refs = 300});
  auto plain = texts(dedup::parse_fast<butler::RefList>(simdjson::padded_string(doc)));
  dedup::scope s;
  dedup::policy weak{.tracking = dedup::tracking::weak};
  s.get().set_policy<butler::DatasetType>(weak);
  s.get().set_policy<butler::DataCoordinate>(weak);
  s.get().set_policy<butler::DimensionRecord>(weak);
  {
    auto list = dedup::parse_fast<butler::RefList>(simdjson::padded_string(doc));
    CHECK(texts(list) == plain);
    std::set<const butler::DatasetType*> types;
    for (const auto& ref : list.refs) types.insert(ref->dataset_type.get());
    CHECK(types.size() == butler::workload{.refs = 300}.distinct_dataset_types());
    CHECK(dedup::stats<butler::DataCoordinate>().entries > 0);
  }
  CHECK(dedup::stats<butler::DatasetType>().entries == 0);
  CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  CHECK(dedup::stats<butler::DimensionRecord>().entries == 0);
}

TEST_CASE("a budget through the reader: every ref reads right and the table stays in budget",
          "[budget]") {
  butler::workload w{.refs = 300};
  auto plain =
      texts(dedup::parse_fast<butler::RefList>(simdjson::padded_string(butler::make_document(w))));
  dedup::scope s;
  s.get().set_budget<butler::DatasetType>({.max_entries = 3});
  SECTION("one document: every dataset type is held by the result, so rotate refuses") {
    auto list =
        dedup::parse_fast<butler::RefList>(simdjson::padded_string(butler::make_document(w)));
    CHECK(texts(list) == plain);
    auto st = dedup::stats<butler::DatasetType>();
    CHECK(st.entries <= 3);
    CHECK(st.refusals > 0);
  }
  SECTION("ref by ref, each dropped after reading: rotate evicts and rebuilds") {
    std::istringstream lines(butler::make_ndjson(w));
    std::string line;
    for (std::size_t i = 0; std::getline(lines, line); ++i) {
      auto ref = dedup::parse_fast<butler::DatasetRef>(simdjson::padded_string(line));
      std::string text;
      dedup::detail::write_text(text, *ref);
      REQUIRE(text == plain[i]);
      REQUIRE(dedup::stats<butler::DatasetType>().entries <= 3);
    }
    auto st = dedup::stats<butler::DatasetType>();
    CHECK(st.evictions > 0);
    CHECK(st.refusals == 0);
  }
}

TEST_CASE("a failed read under a budget takes back its entries, evicted ones included",
          "[budget]") {
  std::string doc = butler::make_document(butler::workload{.refs = 200});
  doc.insert(doc.rfind(']'), ",{\"id\":1}");  // a last ref that fails
  dedup::scope s;
  s.get().set_budget<butler::DimensionRecord>({.max_entries = 2});
  s.get().set_budget<butler::DataCoordinate>({.max_entries = 2});
  CHECK_THROWS_AS(dedup::parse_fast<butler::RefList>(simdjson::padded_string(doc)), dedup::error);
  CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  CHECK(dedup::stats<butler::DimensionRecord>().entries == 0);
  CHECK(dedup::stats<butler::DimensionRecord>().bytes == 0);
}

namespace {

/// A dataset type's text: `spelling` 0 is compact, others add spaces, so each spelling is an
/// exact-bytes alias of the value's entry.
std::string type_text(int value, int spelling) {
  std::string gap(static_cast<std::size_t>(spelling), ' ');
  return "{\"name\":" + gap + "\"type-" + std::to_string(value) +
         "\",\"storageClass\":\"ExposureF\",\"dimensions\":[\"visit\"]}";
}

std::shared_ptr<const butler::DatasetType> parse_type(int value, int spelling) {
  return dedup::parse_fast<butler::DatasetType>(
      simdjson::padded_string(type_text(value, spelling)));
}

}  // namespace

TEST_CASE("under memory pressure rotate keeps a type with aliases at its size, counting values",
          "[budget]") {
  probe_guard probe;
  dedup::scope s;
  s.get().set_budget<butler::DatasetType>({.min_free_mem_pct = 0.2});
  for (int v = 0; v < 3; ++v)
    for (int spelling = 0; spelling < 3; ++spelling) (void)parse_type(v, spelling);
  REQUIRE(dedup::stats<butler::DatasetType>().entries == 3);
  probe.set(10);  // below 20% free
  for (int v = 3; v < 6; ++v) {
    (void)parse_type(v, 0);
    CHECK(dedup::stats<butler::DatasetType>().entries == 3);
  }
  auto st = dedup::stats<butler::DatasetType>();
  CHECK(st.evictions == 3);  // three values, each with its three spellings
  CHECK(st.refusals == 0);
  // An evicted value's spellings went with it: asked for again, each of the three is built again.
  probe.set(50);
  for (int v = 0; v < 6; ++v) (void)parse_type(v, 2);
  auto after = dedup::stats<butler::DatasetType>();
  CHECK(after.lookups - after.hits == st.lookups - st.hits + 3);
  CHECK(after.entries == 6);
}

TEST_CASE("a budget on a type with aliases evicts nothing while every value is held", "[budget]") {
  probe_guard probe;
  dedup::scope s;
  s.get().set_budget<butler::DatasetType>({.min_free_mem_pct = 0.2});
  std::vector<std::shared_ptr<const butler::DatasetType>> held;
  for (int v = 0; v < 3; ++v)
    for (int spelling = 0; spelling < 2; ++spelling) held.push_back(parse_type(v, spelling));
  probe.set(10);
  auto a = parse_type(3, 0), b = parse_type(4, 0);
  auto st = dedup::stats<butler::DatasetType>();
  CHECK(st.entries == 3);
  CHECK(st.evictions == 0);
  CHECK(st.refusals == 2);
  // The held values keep their spellings: each is found again by its exact bytes.
  for (int v = 0; v < 3; ++v) CHECK(parse_type(v, 1) == held[static_cast<std::size_t>(2 * v)]);
  CHECK(dedup::stats<butler::DatasetType>().hits == st.hits + 3);
}

TEST_CASE("max_entries counts a value and its aliases as one, and evicts them together",
          "[budget]") {
  dedup::scope s;
  s.get().set_budget<butler::DatasetType>({.max_entries = 2});
  for (int v = 0; v < 6; ++v) {
    for (int spelling = 0; spelling < 3; ++spelling) (void)parse_type(v, spelling);
    REQUIRE(dedup::stats<butler::DatasetType>().entries <= 2);
  }
  auto st = dedup::stats<butler::DatasetType>();
  CHECK(st.entries == 2);
  CHECK(st.evictions == 4);
  CHECK(st.refusals == 0);
  // What stays is two values with three spellings each, as two such values weigh alone.
  dedup::scope fresh;
  for (int v = 0; v < 2; ++v)
    for (int spelling = 0; spelling < 3; ++spelling) (void)parse_type(v, spelling);
  CHECK(st.bytes == dedup::stats<butler::DatasetType>().bytes);
}
