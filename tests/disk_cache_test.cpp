// The persistent cache: versions, parameters, layout fingerprints, tags and clearing, the memory
// tier, checksums, interning in the caller's scope, volatile scopes, single flight, LRU eviction.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <latch>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/detail/wire/stored_value.hpp"
#include "dedup/disk_cache.hpp"
#include "support.hpp"

namespace fs = std::filesystem;

namespace {

using dedup_test::temp_dir;

dedup::disk_cache_options in(const temp_dir& d, std::string tag = "t1") {
  return {.directory = d.path(), .tag = std::move(tag)};
}

/// Runs SQL on a cache's index behind its back, as a hand edit or a bit flip on disk would.
void edit_index(const dedup::disk_cache& cache, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((cache.location() / "index.sqlite").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* message = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message);
  std::string text = message ? message : "";
  sqlite3_free(message);
  sqlite3_close(db);
  INFO(text);
  REQUIRE(rc == SQLITE_OK);
}

std::string hex16(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

struct point {
  BOOST_HANA_DEFINE_STRUCT(point, (int, x), (int, y));
};
struct point_swapped {  // same members, other declared order
  BOOST_HANA_DEFINE_STRUCT(point_swapped, (int, y), (int, x));
};
struct point_wide {  // a member of another type
  BOOST_HANA_DEFINE_STRUCT(point_wide, (int, x), (long long, y));
};
struct point_renamed {  // a member of another C++ name
  BOOST_HANA_DEFINE_STRUCT(point_renamed, (int, x), (int, why));
};
struct point_wired {  // the same C++ names, another wire name (below)
  BOOST_HANA_DEFINE_STRUCT(point_wired, (int, x), (int, y));
};
struct point_y_string {  // what a changed `point` reads its old entries as
  BOOST_HANA_DEFINE_STRUCT(point_y_string, (int, x), (std::string, y));
};

}  // namespace

template <>
struct dedup::options<point_wired> : dedup::default_options {
  static std::string wire_name(std::string_view m) { return m == "y" ? "Y" : std::string(m); }
};

TEST_CASE("disk_cache: minor >= 1 needs the same cache version and minor", "[disk_cache]") {
  temp_dir d;
  int calls = 0;
  auto fn = [&] { return ++calls; };
  dedup::disk_cache{in(d)}.get_or_compute<int>("e@2", fn);
  dedup::disk_cache again{in(d)};
  CHECK(*again.get_or_compute<int>("e@2", fn) == 1);  // from disk
  CHECK(again.stats().disk_hits == 1);
  CHECK(*dedup::disk_cache{in(d)}.get_or_compute<int>("e", 3, fn) == 2);  // minor changed
  auto v2 = in(d);
  v2.version = 2;
  dedup::disk_cache other_version{v2};
  CHECK(*other_version.get_or_compute<int>("e@3", fn) == 3);  // cache version changed
  CHECK(other_version.stats().stale == 1);
}

TEST_CASE("disk_cache: minor <= -1 is a constant across cache versions", "[disk_cache]") {
  temp_dir d;
  int calls = 0;
  auto fn = [&] { return ++calls; };
  dedup::disk_cache{in(d)}.get_or_compute<int>("c@-1", fn);
  auto v7 = in(d);
  v7.version = 7;
  CHECK(*dedup::disk_cache{v7}.get_or_compute<int>("c@-1", fn) == 1);
  CHECK(*dedup::disk_cache{v7}.get_or_compute<int>("c@-2", fn) == 2);
}

TEST_CASE("disk_cache: minor 0 is valid for its session only", "[disk_cache]") {
  temp_dir d;
  int calls = 0;
  auto fn = [&] { return ++calls; };
  auto session = in(d);
  session.session = "job-1";
  dedup::disk_cache{session}.get_or_compute<int>("s@0", fn);
  CHECK(*dedup::disk_cache{session}.get_or_compute<int>("s@0", fn) == 1);
  CHECK(*dedup::disk_cache{in(d)}.get_or_compute<int>("s@0", fn) == 2);  // a fresh session
  CHECK(calls == 2);
}

TEST_CASE("disk_cache: the parameter hash ignores member and map order", "[disk_cache]") {
  using dedup::detail::parameters_hash;
  std::map<std::string, int> ordered{{"a", 1}, {"b", 2}, {"c", 3}};
  std::unordered_map<std::string, int> unordered;
  for (const char* k : {"c", "a", "b"}) unordered[k] = ordered[k];
  CHECK(parameters_hash(ordered) == parameters_hash(unordered));
  CHECK(parameters_hash(point{1, 2}) == parameters_hash(point_swapped{2, 1}));
  CHECK(parameters_hash(point{1, 2}) != parameters_hash(point{1, 3}));
  CHECK(parameters_hash(point{1, 2}) != parameters_hash(point{2, 2}));
  ordered["b"] = 5;
  CHECK(parameters_hash(ordered) != parameters_hash(unordered));
  CHECK(parameters_hash(std::vector<int>{1, 2}) != parameters_hash(std::vector<int>{2, 1}));
  CHECK(parameters_hash(1, 2) != parameters_hash(2, 1));
  CHECK(parameters_hash(std::string("x")) == parameters_hash("x"));

  temp_dir d;
  dedup::disk_cache cache{in(d)};
  int calls = 0;
  auto twice = [&](int x) { return ++calls, 2 * x; };
  CHECK(*cache.get_or_compute<int>("twice", twice, 3) == 6);
  CHECK(*cache.get_or_compute<int>("twice", twice, 4) == 8);
  CHECK(*cache.get_or_compute<int>("twice", twice, 3) == 6);
  CHECK(calls == 2);
  CHECK(cache.entries().size() == 2);
}

TEST_CASE("disk_cache: layout fingerprints tell declarations apart", "[disk_cache]") {
  using dedup::detail::layout_fingerprint;
  auto p = layout_fingerprint<point>();
  CHECK(p != layout_fingerprint<point_swapped>());
  CHECK(p != layout_fingerprint<point_wide>());
  CHECK(p != layout_fingerprint<point_renamed>());
  CHECK(p != layout_fingerprint<point_wired>());
  // Made of names and kinds only (no typeid name, no address): the same in every TU and run.
  std::string d = dedup::detail::layout_description<point>();
  CHECK(d == "struct{x=x:i32;y=y:i32;}");
  CHECK(p == XXH3_64bits(d.data(), d.size()));
  CHECK(dedup::detail::layout_description<std::optional<std::map<std::string, double>>>() ==
        "optional<map<f64>>");
  CHECK(layout_fingerprint<butler::RefList>() != layout_fingerprint<butler::DatasetRef>());
}

TEST_CASE("disk_cache: an entry stored with another layout is stale and recomputed",
          "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache{in(d)}.put("p", point{1, 2});
  dedup::disk_cache cache{in(d)};
  auto v = cache.get_or_compute<point_y_string>("p", [] { return point_y_string{3, "new"}; });
  CHECK(v->y == "new");
  CHECK(cache.stats().stale == 1);
  CHECK(cache.stats().disk_hits == 0);
  CHECK(dedup::disk_cache{in(d)}.find<point_y_string>("p")->y == "new");
}

TEST_CASE("disk_cache: tags, prefix, location, fullpath and clear", "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache_options o{.directory = d.path(), .prefix = "pfx", .inline_limit = 64};
  dedup::disk_cache cache{o};
  CHECK(cache.tag().empty());
  cache.set_tag("A");
  CHECK(cache.location() == d.path() / "pfxA");
  cache.put("small", 1);
  cache.put("large", std::string(100, 'x'));
  CHECK(cache.fullpath("small") == d.path() / "pfxA" / "index.sqlite");
  fs::path large = cache.fullpath("large");
  CHECK(large.parent_path() == d.path() / "pfxA" / "values");
  CHECK(fs::file_size(large) == dedup::detail::encode_value(std::string(100, 'x')).size());
  CHECK(cache.fullpath("absent").empty());

  cache.clear("large");
  CHECK(!fs::exists(large));
  CHECK(cache.find<std::string>("large") == nullptr);
  CHECK(cache.find<int>("small") != nullptr);
  cache.clear_tag();
  CHECK(cache.entries().empty());

  cache.put("a", 1);
  cache.set_tag("B");
  cache.put("b", 2);
  CHECK(dedup::disk_cache::tags(d.path(), "pfx") == std::vector<std::string>{"A", "B"});
  cache.clear_all();
  CHECK(dedup::disk_cache::open_existing(d.path(), "pfx", "A")->entries().empty());
  CHECK(cache.find<int>("b") == nullptr);
  CHECK_THROWS_AS(dedup::disk_cache::open_existing(d.path(), "pfx", "C"), dedup::storage_error);
}

TEST_CASE("disk_cache: a value read once is served from memory", "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache{in(d)}.put("m", std::vector<int>{1, 2, 3});
  dedup::disk_cache cache{in(d)};
  int calls = 0;
  auto fn = [&] { return ++calls, std::vector<int>{}; };
  CHECK(cache.get_or_compute<std::vector<int>>("m", fn)->size() == 3);
  edit_index(cache, "DELETE FROM entries");  // the disk no longer has it
  CHECK(cache.get_or_compute<std::vector<int>>("m", fn)->size() == 3);
  CHECK(calls == 0);
  auto s = cache.stats();
  CHECK((s.disk_hits == 1 && s.memory_hits == 1));
  cache.clear("m");
  CHECK(cache.get_or_compute<std::vector<int>>("m", fn)->empty());
}

TEST_CASE("disk_cache: a flipped byte is detected, dropped and recomputed", "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  o.inline_limit = 64;  // "abcdef" stored inline, 64 bytes of text in a file
  {
    dedup::disk_cache cache{o};
    cache.put("inline", std::string("abcdef"));
    cache.put("file", std::string(64, 'a'));
    edit_index(cache,
               "UPDATE entries SET value = CAST('\"abcdeg\"' AS BLOB) WHERE name = 'inline'");
    std::fstream f(cache.fullpath("file"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('b');
  }
  dedup::disk_cache cache{o};
  CHECK(*cache.get_or_compute<std::string>("inline", [] { return std::string("again"); }) ==
        "again");
  CHECK(*cache.get_or_compute<std::string>("file", [] { return std::string("again"); }) == "again");
  CHECK(cache.stats().corrupt == 2);
  CHECK(cache.stats().computed == 2);
  CHECK(*dedup::disk_cache{o}.find<std::string>("file") == "again");
}

namespace {
void hand_edit(const dedup::disk_cache& cache, const std::string& edited) {
  edit_index(cache, "UPDATE entries SET value = CAST('" + edited +
                        "' AS BLOB), size = " + std::to_string(edited.size()) + ", checksum = '" +
                        hex16(XXH3_64bits(edited.data(), edited.size())) + "'");
}
}  // namespace

TEST_CASE("disk_cache: a value that no longer parses is invalid, named and recomputed",
          "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache cache{in(d)};
  cache.put("p", point{1, 2});
  hand_edit(cache, R"({"x":1,"y":"two"})");
  dedup::disk_cache reader{in(d)};
  try {
    reader.find<point>("p");
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.pointer() == "/y");
    CHECK_THAT(e.source(),
               Catch::StartsWith("cache entry 'p' (") && Catch::Contains(d.path().string()));
    CHECK_THAT(e.detail(), !Catch::Contains("'p'"));
  }
  CHECK(reader.stats().invalid == 1);
  CHECK(reader.find<point>("p") == nullptr);  // dropped

  cache.put("p", point{1, 2});
  hand_edit(cache, R"({"x":1})");
  dedup::disk_cache fresh{in(d)};
  CHECK(fresh.get_or_compute<point>("p", [] { return point{5, 6}; })->y == 6);
  CHECK((fresh.stats().invalid == 1 && fresh.stats().computed == 1));
}

TEST_CASE("disk_cache: loaded values intern with the caller's scope", "[disk_cache]") {
  temp_dir d;
  std::string text = butler::make_document(butler::workload{.refs = 50});
  {
    dedup::scope s;
    dedup::disk_cache{in(d)}.put("refs",
                                 dedup::parse_fast<butler::RefList>(simdjson::padded_string(text)));
  }
  dedup::scope s;
  butler::RefList parsed = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
  auto loaded = dedup::disk_cache{in(d)}.find<butler::RefList>("refs");
  REQUIRE(loaded->refs.size() == parsed.refs.size());
  for (std::size_t i = 0; i < parsed.refs.size(); ++i)
    CHECK(loaded->refs[i]->dataset_type == parsed.refs[i]->dataset_type);
}

TEST_CASE("disk_cache: entries stored in a volatile scope leave memory when it ends",
          "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache cache{in(d)};
  int calls = 0;
  auto fn = [&] { return ++calls; };
  cache.get_or_compute<int>("kept", fn);  // stored outside: stays in memory
  {
    dedup::scope s;
    s.mark_volatile();
    cache.get_or_compute<int>("v", fn);
    cache.get_or_compute<int>("v", fn);
    CHECK(cache.stats().memory_hits == 1);
    {
      dedup::scope inner;  // not volatile: what it stores stays
      cache.get_or_compute<int>("inner", fn);
    }
  }
  cache.get_or_compute<int>("v", fn);  // from disk again, not memory
  CHECK(cache.stats().disk_hits == 1);
  cache.get_or_compute<int>("kept", fn);
  cache.get_or_compute<int>("inner", fn);
  cache.get_or_compute<int>("v", fn);  // loaded outside the volatile scope: now in memory
  CHECK(cache.stats().memory_hits == 4);
  CHECK(calls == 3);

  // A cache destroyed before the volatile scope ends leaves no dangling hook behind.
  dedup::scope s;
  s.mark_volatile();
  {
    dedup::disk_cache short_lived{in(d)};
    short_lived.get_or_compute<int>("w", fn);
  }
}

TEST_CASE("disk_cache: storage with no tag is an untagged_cache_error", "[disk_cache]") {
  dedup::disk_cache cache;
  CHECK_THROWS_AS(cache.get_or_compute<int>("n", [] { return 1; }), dedup::untagged_cache_error);
  CHECK_THROWS_AS(cache.put("n", 1), dedup::untagged_cache_error);
  try {
    cache.find<int>("n");
    FAIL("no error");
  } catch (const dedup::usage_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("set_tag"));
  }
}

TEST_CASE("disk_cache: a directory that is not a cache is never written into", "[disk_cache]") {
  temp_dir d;
  fs::create_directories(d.path() / "cachedata");
  std::ofstream(d.path() / "cachedata" / "notes.txt") << "mine";
  CHECK_THROWS_AS(dedup::disk_cache(in(d, "data")), dedup::storage_error);
  CHECK(!fs::exists(d.path() / "cachedata" / "index.sqlite"));
  fs::create_directories(d.path() / "cachefake");
  std::ofstream(d.path() / "cachefake" / "index.sqlite") << "not a database, but someone's file";
  CHECK_THROWS_AS(dedup::disk_cache(in(d, "fake")), dedup::storage_error);
  std::ifstream kept(d.path() / "cachefake" / "index.sqlite");
  std::string first;
  kept >> first;
  CHECK(first == "not");
  CHECK(dedup::disk_cache::tags(d.path(), "cache") == std::vector<std::string>{"fake"});
}

TEST_CASE("disk_cache: single flight computes a missing entry once", "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  o.single_flight = true;
  std::atomic<int> calls{0};
  std::latch start(2);
  auto worker = [&] {
    dedup::disk_cache cache{o};  // one object each, as two processes would have
    start.arrive_and_wait();
    return *cache.get_or_compute<int>("slow", [&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return ++calls;
    });
  };
  auto a = std::async(std::launch::async, worker);
  auto b = std::async(std::launch::async, worker);
  REQUIRE(a.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  REQUIRE(b.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(a.get() == 1);
  CHECK(b.get() == 1);
  CHECK(calls == 1);
}

TEST_CASE("disk_cache: a single-flight wait that does not end is a timeout_error", "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  o.single_flight = true;
  o.wait_timeout = std::chrono::milliseconds(50);
  std::promise<void> computing, waited;
  auto holder = std::async(std::launch::async, [&] {
    dedup::disk_cache cache{o};
    return *cache.get_or_compute<int>("held", [&] {
      computing.set_value();
      waited.get_future().wait_for(std::chrono::seconds(20));
      return 1;
    });
  });
  REQUIRE(computing.get_future().wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  dedup::disk_cache cache{o};
  try {
    cache.get_or_compute<int>("held", [] { return 2; });
    FAIL("no timeout");
  } catch (const dedup::timeout_error& e) {
    CHECK(e.resource() == "held");
  }
  waited.set_value();
  REQUIRE(holder.wait_for(std::chrono::seconds(20)) == std::future_status::ready);
  CHECK(holder.get() == 1);
}

namespace {

// Options under which two values of 100 characters fit and a third evicts one; "a", then "b"
// stored under them.
dedup::disk_cache_options two_stored(const temp_dir& d) {
  auto o = in(d);
  o.size_limit = 2 * dedup::detail::encode_value(std::string(100, 'a')).size() + 46;
  o.inline_limit = 64;
  dedup::disk_cache writer{o};
  writer.put("a", std::string(100, 'a'));
  writer.put("b", std::string(100, 'b'));
  return o;
}

}  // namespace

// Three stores and a hit land within a millisecond or two, and a clock can tie or step back: the
// order is the index's counter's, not the clock's, so neither pauses nor times matter.
TEST_CASE("disk_cache: the size limit evicts the least recently used", "[disk_cache]") {
  temp_dir d;
  auto o = two_stored(d);
  dedup::disk_cache writer{o};
  CHECK(dedup::disk_cache{o}.find<std::string>("a") != nullptr);  // a disk hit: "a" is newer
  edit_index(writer, "UPDATE entries SET created = 0, last_access = 0");  // every time tied
  writer.put("c", std::string(100, 'c'));
  CHECK(writer.stats().evicted == 1);
  std::vector<std::string> names;
  for (const auto& e : writer.entries()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"a", "c"});
  CHECK(fs::exists(writer.fullpath("a")));
  CHECK(std::distance(fs::directory_iterator(writer.location() / "values"),
                      fs::directory_iterator{}) == 2);
}

// A disk hit is written to the index with later ones, at the latest by the same object's next
// store, listing or close: a store's eviction and a listing always see the object's own hits.
TEST_CASE("disk_cache: an object's disk hits are in the order its next store evicts by",
          "[disk_cache]") {
  temp_dir d;
  auto o = two_stored(d);
  edit_index(dedup::disk_cache{o}, "UPDATE entries SET created = 0, last_access = 0");
  dedup::disk_cache reader{o};
  REQUIRE(reader.find<std::string>("a") != nullptr);  // a disk hit: "a" is now the newer
  for (const auto& e : reader.entries())
    CHECK((e.last_access != 0) == (e.name == "a"));   // the listing shows the hit
  REQUIRE(reader.find<std::string>("b") != nullptr);  // and now "b"
  reader.put("c", std::string(100, 'c'));             // evicts the least recent: "a"
  CHECK(reader.stats().evicted == 1);
  std::vector<std::string> names;
  for (const auto& e : reader.entries()) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"b", "c"});
}

// The index keeps its values' total size as they are replaced, dropped and evicted, in files and
// inline alike: a total that drifted up would evict too soon, one that drifted down never.
TEST_CASE("disk_cache: the size limit follows replaced, cleared and evicted values",
          "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  auto value = [](char c, std::size_t n) { return std::string(n, c); };
  std::size_t one = dedup::detail::encode_value(value('a', 100)).size();
  o.size_limit = 3 * one + 40;  // three values fit, four do not
  o.inline_limit = 64;          // in files; "i" below is inline
  dedup::disk_cache cache{o};
  for (char c = 'a'; c <= 'j'; ++c) cache.put("a", value(c, 100));  // replaced nine times
  cache.put("b", value('b', 100));
  cache.put("c", value('c', 100));
  CHECK(cache.stats().evicted == 0);
  cache.clear("b");
  cache.put("d", value('d', 100));
  CHECK(cache.stats().evicted == 0);
  cache.put("e", value('e', 100));  // four: "a", the least recent, goes
  CHECK(cache.stats().evicted == 1);
  CHECK(dedup::disk_cache{o}.find<std::string>("a") == nullptr);
  cache.put("i", value('i', 10));  // inline, and small enough to fit beside three
  CHECK(cache.stats().evicted == 1);
}

// An index written before the total was kept (schema 2) gets it, summed, at its first store.
TEST_CASE("disk_cache: an index of schema 2 is brought up to date at its first store",
          "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  std::size_t one = dedup::detail::encode_value(std::string(100, 'a')).size();
  o.size_limit = 3 * one + 10;
  {
    dedup::disk_cache old{o};
    old.put("a", std::string(100, 'a'));
    old.put("b", std::string(100, 'b'));
    edit_index(old,
               "DROP TRIGGER entries_replacing; DROP TRIGGER entries_inserted; DROP TRIGGER "
               "entries_deleted; DROP TRIGGER entries_resized; DROP TABLE totals; "
               "PRAGMA user_version = 2");
  }
  dedup::disk_cache cache{o};
  CHECK(*cache.find<std::string>("a") == std::string(100, 'a'));  // read as it is
  cache.put("c", std::string(100, 'c'));
  CHECK(cache.stats().evicted == 0);
  cache.put("d", std::string(100, 'd'));
  CHECK(cache.stats().evicted == 1);
  CHECK(dedup::disk_cache{o}.find<std::string>("b") == nullptr);  // "a" was hit since, "b" not
}

namespace {

/// Plants files in values/ that no row references: a dead writer's temporary file, a value file
/// whose row never committed, and a temporary file of this (live) process.
struct planted_files {
  fs::path dead, unreferenced, live;
  explicit planted_files(const fs::path& values)
      : dead(values / ".tmp.99999999.0000000000000002"),
        unreferenced(values / "x.json"),
        live(values / (".tmp." + std::to_string(::getpid()) + ".0000000000000001")) {
    for (const auto& p : {dead, unreferenced, live}) std::ofstream(p) << "{}";
  }
};

}  // namespace

TEST_CASE("disk_cache: opening and reading remove no file and the first store sweeps orphans",
          "[disk_cache]") {
  temp_dir d;
  fs::path values;
  {
    dedup::disk_cache cache{in(d)};
    cache.put("kept", std::string(100000, 'k'));  // in a file
    values = cache.location() / "values";
  }
  planted_files planted(values);
  dedup::disk_cache cache{in(d)};
  CHECK(*cache.find<std::string>("kept") == std::string(100000, 'k'));
  CHECK(cache.entries().size() == 1);
  CHECK(dedup::disk_cache::tags(d.path()) == std::vector<std::string>{"t1"});
  CHECK(fs::exists(planted.dead));
  CHECK(fs::exists(planted.unreferenced));
  cache.put("another", 1);
  CHECK(!fs::exists(planted.dead));
  CHECK(!fs::exists(planted.unreferenced));
  CHECK(fs::exists(planted.live));
  CHECK(*cache.find<std::string>("kept") == std::string(100000, 'k'));
}

TEST_CASE("disk_cache: sweep removes orphans on demand and counts them", "[disk_cache]") {
  temp_dir d;
  fs::path values;
  {
    dedup::disk_cache cache{in(d)};
    cache.put("kept", std::string(100000, 'k'));
    values = cache.location() / "values";
  }
  planted_files planted(values);
  dedup::disk_cache cache{in(d)};
  CHECK(cache.sweep() == 2);
  CHECK(fs::exists(planted.live));
  std::ofstream(values / "y.json") << "{}";
  CHECK(cache.sweep() == 1);
  CHECK(cache.sweep() == 0);
  CHECK(*cache.find<std::string>("kept") == std::string(100000, 'k'));
  CHECK(dedup::disk_cache().sweep() == 0);  // no tag: nothing to sweep
}

TEST_CASE("disk_cache: clear_all and tags keep to their own prefix", "[disk_cache]") {
  temp_dir d;
  dedup::disk_cache short_prefix{{.directory = d.path(), .prefix = "cache", .tag = "a"}};
  dedup::disk_cache long_prefix{{.directory = d.path(), .prefix = "cache2", .tag = "b"}};
  short_prefix.put("x", 1);
  long_prefix.put("y", 2);
  CHECK(dedup::disk_cache::tags(d.path(), "cache") == std::vector<std::string>{"a"});
  CHECK(dedup::disk_cache::tags(d.path(), "cache2") == std::vector<std::string>{"b"});
  short_prefix.clear_all();
  CHECK(short_prefix.entries().empty());
  REQUIRE(long_prefix.entries().size() == 1);
  CHECK(
      *dedup::disk_cache({.directory = d.path(), .prefix = "cache2", .tag = "b"}).find<int>("y") ==
      2);
}

TEST_CASE("disk_cache: a value that cannot be stored is returned uncached", "[disk_cache]") {
  temp_dir d;
  auto o = in(d);
  o.inline_limit = 8;
  dedup::disk_cache cache{o};
  cache.put("kept", std::string(20, 'k'));
  fs::path values = cache.location() / "values";
  fs::path moved = cache.location() / "moved";
  fs::rename(values, moved);
  std::ofstream(values) << "a file where the folder was";  // every value file write fails
  auto v = cache.get_or_compute<std::string>("big", [] { return std::string(20, 'b'); });
  CHECK(*v == std::string(20, 'b'));
  CHECK(cache.stats().store_failures == 1);
  CHECK_THROWS_AS(cache.put("big", std::string(20, 'b')), dedup::storage_error);
  fs::remove(values);
  fs::rename(moved, values);
  CHECK(dedup::disk_cache{o}.find<std::string>("big") == nullptr);
  CHECK(*dedup::disk_cache{o}.find<std::string>("kept") == std::string(20, 'k'));
}
