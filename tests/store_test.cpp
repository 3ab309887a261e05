// dedup::shared_store on both backends: shm:// (LMDB in /dev/shm) and redis:// (a private
// redis-server this file starts). The fault cases spawn tests/store_worker.cpp.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>
#include <vector>

#include "butler/model.hpp"
#include "dedup/detail/wire/stored_value.hpp"
#include "dedup/store.hpp"
#include "redis_server.hpp"
#include "store_fixture.hpp"
#include "support.hpp"

namespace {

using namespace dedup_test;
using butler::DatasetType;

DatasetType type_named(std::string name, std::string storage_class = "ExposureF") {
  DatasetType t;
  t.name = std::move(name);
  t.storage_class = std::move(storage_class);
  t.dimensions = {"visit"};
  return t;
}

}  // namespace

TEST_CASE("store: put, get, has, remove, keys, count, clear", "[store]") {
  for_each_backend("basic", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    REQUIRE(s.valid());
    CHECK(s.count() == 0);
    CHECK(s.get<DatasetType>("calexp") == nullptr);
    CHECK(s.put("calexp", type_named("calexp")));
    CHECK(s.put("raw", type_named("raw", "Exposure")));
    CHECK(s.put("raw", type_named("raw", "ExposureF")));  // replaces
    CHECK(s.has("raw"));
    CHECK_FALSE(s.has("bias"));
    CHECK(s.count() == 2);
    auto keys = s.keys();
    CHECK(std::set<std::string>(keys.begin(), keys.end()) ==
          std::set<std::string>{"calexp", "raw"});
    CHECK(s.get<DatasetType>("raw")->storage_class == "ExposureF");
    auto fallback = std::make_shared<const DatasetType>(type_named("none"));
    CHECK(s.get<DatasetType>("bias", fallback) == fallback);
    CHECK(s.remove("raw"));
    CHECK_FALSE(s.remove("raw"));
    CHECK(s.count() == 1);
    std::string calexp_text;
    dedup::detail::write_text(calexp_text, type_named("calexp"));
    CHECK(s.stats().value_bytes == calexp_text.size());
    s.clear();
    CHECK(s.count() == 0);
    CHECK(s.stats().value_bytes == 0);
    CHECK_THROWS_AS(s.put("", 1), dedup::storage_error);
  });
}

TEST_CASE("store: get<T> interns with the caller's current scope", "[store]") {
  for_each_backend("intern", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    std::string text = fixture("ref.json");
    auto ref = dedup::parse_fast<butler::DatasetRef>(simdjson::padded_string(text));
    auto other = *ref;
    other.id = butler::parse_uuid("00000000-57d1-4c43-9b2e-7d0f3c1a5e42");
    REQUIRE(s.put("a", *ref));
    REQUIRE(s.put("b", other));
    dedup::scope scope;
    auto parsed = dedup::parse_fast<butler::DatasetRef>(simdjson::padded_string(text));
    auto a = s.get<butler::DatasetRef>("a");
    auto b = s.get<butler::DatasetRef>("b");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->dataset_type == parsed->dataset_type);
    CHECK(b->dataset_type == parsed->dataset_type);
    CHECK(b->data_id == parsed->data_id);
  });
}

TEST_CASE("store: a value whose shared instances repeat is stored compact and comes back shared",
          "[store]") {
  for_each_backend("sharing", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    std::string ref = fixture("ref.json");
    std::string plain;
    {
      dedup::scope scope;  // the two refs share their dataset type and data id
      auto list = dedup::parse_fast<butler::RefList>(
          simdjson::padded_string("{\"refs\": [" + ref + ", " + ref + "]}"));
      dedup::detail::write_text(plain, list);
      REQUIRE(s.put("refs", list));
    }
    std::string stored(s.get_view("refs")->text());
    CHECK(stored.front() == static_cast<char>(dedup::detail::stored_format::compact));
    CHECK(stored.find(R"({"$ref":)") != std::string::npos);
    CHECK(stored.size() < plain.size());
    auto shared = [](const butler::RefList& l) {
      return l.refs.size() == 2 && l.refs[0]->dataset_type == l.refs[1]->dataset_type &&
             l.refs[0]->data_id == l.refs[1]->data_id;
    };
    auto unscoped = s.get<butler::RefList>("refs");  // no scope: sharing from the stored form
    REQUIRE(unscoped);
    CHECK(shared(*unscoped));
    dedup::scope fresh;
    auto back = s.get<butler::RefList>("refs");
    REQUIRE(back);
    CHECK(shared(*back));
    std::string again;
    dedup::detail::write_text(again, *back);
    CHECK(again == plain);
  });
}

TEMPLATE_TEST_CASE("store: a byte buffer put as a typed value is stored raw", "[store]", std::byte,
                   std::uint8_t) {
  for_each_backend("typed-bytes", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    std::vector<TestType> value(1000);
    for (std::size_t i = 0; i < value.size(); ++i) value[i] = static_cast<TestType>(i * 7);
    REQUIRE(s.put("blob", value));
    auto view = s.get_view("blob");
    REQUIRE(view);
    REQUIRE(view->size() == value.size() + 1);  // the format byte, then the bytes as they are
    CHECK(view->text()[0] == static_cast<char>(dedup::detail::stored_format::raw));
    CHECK(std::equal(value.begin(), value.end(), view->data() + 1,
                     [](TestType a, std::byte b) { return a == static_cast<TestType>(b); }));
    CHECK(s.stats().value_bytes == value.size() + 1);
    auto back = s.get<std::vector<TestType>>("blob");
    REQUIRE(back);
    CHECK(*back == value);
  });
}

TEST_CASE("store: a value stored as plain JSON text still reads", "[store]") {
  for_each_backend("plain", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    REQUIRE(s.put_text("t", R"({"name":"raw","storageClass":"Exposure","dimensions":["visit"]})"));
    REQUIRE(s.put_text("bytes", "[1,2,255]"));
    auto t = s.get<DatasetType>("t");
    REQUIRE(t);
    CHECK((t->name == "raw" && t->storage_class == "Exposure"));
    CHECK((*s.get<std::vector<std::uint8_t>>("bytes") == std::vector<std::uint8_t>{1, 2, 255}));
  });
}

TEST_CASE("store: strict when full returns false and changes nothing", "[store]") {
  for_each_backend("strict", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options(200, dedup::overflow::strict));
    int stored = 0;
    while (s.put("k" + std::to_string(stored), type_named("t" + std::to_string(stored)))) ++stored;
    REQUIRE(stored >= 2);
    auto before = s.stats();
    auto keys = s.keys();
    CHECK_FALSE(s.put("another", type_named("another")));
    CHECK_FALSE(s.put("k0", type_named("k0 but much longer than before, too long to fit")));
    CHECK(s.keys() == keys);
    CHECK(s.stats().value_bytes == before.value_bytes);
    CHECK(s.get<DatasetType>("k0")->name == "t0");
    CHECK(s.stats().refusals == before.refusals + 2);
    CHECK(s.stats().evictions == 0);
  });
}

TEST_CASE("store: rotate evicts the earliest-accessed entries first", "[store]") {
  for_each_backend("rotate", [](const std::string& uri) {
    std::string one;
    dedup::detail::write_text(one, type_named("a"));
    auto s = dedup::shared_store::open(uri, options(one.size() * 3 + one.size() / 2));
    for (auto k : {"a", "b", "c"}) REQUIRE(s.put(k, type_named(k)));
    REQUIRE(s.get<DatasetType>("a"));  // a is now the latest accessed; b the earliest
    REQUIRE(s.put("d", type_named("d")));
    CHECK(s.has("a"));
    CHECK_FALSE(s.has("b"));
    CHECK(s.has("c"));
    CHECK(s.has("d"));
    CHECK(s.stats().evictions == 1);
    // A value larger than the whole capacity evicts nothing and is refused.
    CHECK_FALSE(s.put("e", type_named(std::string(one.size() * 4, 'e'))));
    CHECK(s.count() == 3);
  });
}

TEST_CASE("store: under memory pressure a put uses only the room the store holds", "[store]") {
  for_each_backend("memory", [](const std::string& uri) {
    auto plenty = dedup::shared_store::open(uri, options());
    for (auto k : {"a", "b", "c"}) REQUIRE(plenty.put(k, type_named(k)));
    auto o = options(std::size_t{1} << 20, dedup::overflow::rotate);
    o.min_free_mem_pct = 1.0;  // never that much free: always low
    auto rotate = dedup::shared_store::open(uri, o);
    // A value that takes no more room than the one it replaces needs no new memory.
    CHECK(rotate.put("b", type_named("b", "ExposureG")));
    CHECK(rotate.count() == 3);
    CHECK(rotate.stats().evictions == 0);
    // A new value evicts the earliest-accessed entry to make its room, and only that one.
    CHECK(rotate.put("d", type_named("d")));
    CHECK(rotate.count() == 3);
    CHECK_FALSE(rotate.has("a"));
    CHECK(rotate.stats().evictions == 1);
    // One larger than all the store holds cannot fit however much is evicted: nothing is.
    CHECK_FALSE(rotate.put("e", type_named(std::string(4096, 'e'))));
    CHECK(rotate.count() == 3);
    CHECK(rotate.stats().evictions == 1);
    o.on_full = dedup::overflow::strict;
    auto strict = dedup::shared_store::open(uri, o);
    CHECK_FALSE(strict.put("f", type_named("f")));
    CHECK(strict.count() == 3);
    if (uri.starts_with("shm://")) {
      // LMDB keeps the pages of what was removed: the store still owns that room.
      REQUIRE(plenty.remove("c"));
      CHECK(strict.put("g", type_named("g")));
      CHECK(strict.count() == 3);
      CHECK(strict.stats().evictions == 1);
    }
  });
}

TEST_CASE("store: a value that no longer parses as T names the key as its source and the pointer",
          "[store]") {
  for_each_backend("badvalue", [](const std::string& uri) {
    auto s = dedup::shared_store::open(uri, options());
    std::string value = R"({"name": 7, "storageClass": "x", "dimensions": []})";
    // As plain text (earlier versions) and as a compact document: the same pointer.
    for (std::string stored :
         {value, "\x01{\"dedup\":\"compact\",\"version\":1,\"value\":" + value + "}"}) {
      INFO(stored);
      REQUIRE(s.put_text("old/type", stored));
      auto e = error_of([&] { (void)s.get<DatasetType>("old/type"); }, "no error");
      CHECK(e.pointer() == "/name");
      CHECK(e.source() == "store key 'old/type'");
      CHECK_THAT(e.what(), Catch::StartsWith("dedup: store key 'old/type': at /name: "));
    }
  });
}

TEST_CASE("store: bad URIs and a server that is not there are storage errors", "[store]") {
  for (std::string uri : std::vector<std::string>{
           "shm://", "shm://a/b", "file:///tmp/x", "redis://:1/0", "redis://h:x/0",
           "redis://127.0.0.1:" + std::to_string(free_port()) + "/0"}) {
    INFO(uri);
    try {
      dedup::shared_store::open(uri, options());
      FAIL("opened");
    } catch (const dedup::storage_error& e) {
      CHECK(e.resource() == uri);
      if (uri.starts_with("redis://127.0.0.1:")) CHECK(e.code() == std::errc::connection_refused);
    }
  }
}

TEST_CASE("store: a value being read is never freed under its reader (shm)", "[store]") {
  shm_guard g{shm_uri("reader")};
  std::string one;
  dedup::detail::write_text(one, type_named("victim"));
  auto o = options(one.size() * 4);
  auto backend = dedup::detail::open_store_backend(g.uri, o);
  REQUIRE(backend->put("victim", one));
  bool read = backend->read("victim", [&](std::string_view bytes) {
    // Another thread evicts it, clears the store and overwrites the space while this reads.
    std::thread writer([&] {
      auto other = dedup::detail::open_store_backend(g.uri, o);
      for (int i = 0; i < 50; ++i)
        other->put("k" + std::to_string(i), std::string(one.size(), char('a' + i % 26)));
      other->clear();
      other->put("victim", std::string(one.size(), 'x'));
    });
    writer.join();
    CHECK(bytes == one);
  });
  CHECK(read);
  CHECK(backend->count() == 1);
}

TEST_CASE("store: a writer killed while it holds the lock leaves no torn entry (shm)", "[store]") {
  shm_guard g{shm_uri("kill")};
  auto s = dedup::shared_store::open(g.uri, options());
  long rounds = std::max(20 / fault_scale(), 2L);
  for (long i = 0; i < rounds; ++i) {
    child holder({DEDUP_STORE_WORKER, "hold", g.uri, "torn", "{\"name\":"});
    REQUIRE(holder.read_line(10s) == std::optional<std::string>("ready"));
    holder.kill_and_reap();
    // The lock is recovered (never a hang: at worst a timeout_error within lock_timeout).
    REQUIRE(s.put("k" + std::to_string(i), type_named("t" + std::to_string(i))));
    CHECK_FALSE(s.has("torn"));
  }
  CHECK(s.count() == static_cast<std::size_t>(rounds));
  for (long i = 0; i < rounds; ++i)
    CHECK(s.get<DatasetType>("k" + std::to_string(i))->name == "t" + std::to_string(i));
}

TEST_CASE("store: puts that wait for the lock are done in one transaction by one of them (shm)",
          "[store]") {
  shm_guard g{shm_uri("combined")};
  auto s = dedup::shared_store::open(g.uri, options());
  child holder({DEDUP_STORE_WORKER, "hold", g.uri, "torn", "{\"name\":"});
  REQUIRE(holder.read_line(10s) == std::optional<std::string>("ready"));
  // Two puts wait for the lock (each posts itself), then its holder dies.
  std::vector<std::thread> putters;
  std::atomic<int> stored{0};  // Catch's assertions are for the test's thread only
  for (int i = 0; i < 2; ++i)
    putters.emplace_back([&, i] {
      auto o = options();
      o.lock_timeout = 600s;  // they wait for the kill below, which waits for them
      try {
        auto own = dedup::shared_store::open(g.uri, o);
        stored += own.put("p" + std::to_string(i), type_named("t" + std::to_string(i)));
      } catch (const std::exception&) {  // counted as not stored, checked below
      }
    });
  // The handshake: each putter says it waits by posting itself. The deadline only keeps a broken
  // store from hanging the suite; a busy machine is slow, not wrong.
  bool posted = false;
  for (auto until = std::chrono::steady_clock::now() + 300s;
       !posted && std::chrono::steady_clock::now() < until;) {
    posted = dedup::detail::posted_puts_for_test(g.uri) == 2;
    if (!posted) std::this_thread::sleep_for(1ms);
  }
  CHECK(posted);
  holder.kill_and_reap();
  for (auto& t : putters) t.join();
  CHECK(stored == 2);
  CHECK(s.stats().combined == (posted ? 1u : 0u));  // one led, and did the other's put
  CHECK(s.get<DatasetType>("p0")->name == "t0");
  CHECK(s.get<DatasetType>("p1")->name == "t1");
  CHECK_FALSE(s.has("torn"));
}

TEST_CASE(
    "store: a small put of the bytes a key holds writes nothing, even with the lock held (shm)",
    "[store]") {
  shm_guard g{shm_uri("unchanged")};
  auto o = options();
  o.lock_timeout = 50ms;  // what a put that needs the lock waits before timeout_error
  auto s = dedup::shared_store::open(g.uri, o);
  REQUIRE(s.put("k", type_named("t")));
  std::vector<std::byte> raw(64, std::byte{7});
  s.put_bytes("raw", raw);
  child holder({DEDUP_STORE_WORKER, "hold", g.uri, "torn", "{\"name\":"});
  REQUIRE(holder.read_line(10s) == std::optional<std::string>("ready"));
  // The holder never lets go: a put that needs the lock times out, one that needs no write not.
  CHECK(s.put("k", type_named("t")));
  CHECK(s.put_bytes("raw", raw));
  CHECK_THROWS_AS(s.put("k", type_named("u")), dedup::timeout_error);
  raw[0] = std::byte{8};
  CHECK_THROWS_AS(s.put_bytes("raw", raw), dedup::timeout_error);
  holder.kill_and_reap();
  CHECK(s.get<DatasetType>("k")->name == "t");
  CHECK(s.stats().entries == 2u);
}

TEST_CASE("store: a full /dev/shm fails a put with storage_error, never a signal (shm)",
          "[store]") {
  // The worker runs in a mount namespace of its own, over a small private tmpfs at /dev/shm.
  auto run = [](const std::string& size, const std::string& bytes = "100000",
                const std::string& capacity = "") {
    return run_in_small_shm(size, {"fill", "shm://full", bytes, capacity});
  };
  std::string out = run("4m");
  DEDUP_TEST_SKIP_UNLESS(out != "unavailable\n",
                         "no private mount namespace (needs root and unshare)");
  INFO(out);
  // Each failure says why, with the room there is; the values stored before still read back.
  CHECK(out.find("stored ") == 0);
  CHECK(out.find("\nerror: ") != std::string::npos);
  CHECK(out.find("the file system of /dev/shm/dedup-store-full has ") != std::string::npos);
  CHECK(out.find("MiB free") != std::string::npos);
  CHECK(out.find("read OK") != std::string::npos);
  CHECK(out.find("\nremove ") != std::string::npos);
  CHECK(out.find("\nclear ") != std::string::npos);
  // Small values: many puts, each copying B-tree pages and splitting leaves, up to the last.
  out = run("4m", "100");
  INFO(out);
  CHECK(out.find("\nerror: ") != std::string::npos);
  CHECK(out.find("\nclear ") != std::string::npos);
  // A rotating store whose evictions begin as the file system fills up.
  out = run("4m", "3000", "2300000");
  INFO(out);
  CHECK(out.find("read OK") != std::string::npos);
  CHECK(out.find("\nclear ") != std::string::npos);
  // Too small for the store's own files: creating it fails, naming what it needs.
  out = run("256k");
  INFO(out);
  CHECK(out.find("open error: ") == 0);
  CHECK(out.find("MiB needed") != std::string::npos);
}

TEST_CASE("store: a handle finds its store destroyed by another process (shm)", "[store]") {
  shm_guard g{shm_uri("destroyed")};
  auto s = dedup::shared_store::open(g.uri, options());
  auto second = dedup::shared_store::open(g.uri, options());
  REQUIRE(s.put("a", 1));
  child destroyer({DEDUP_STORE_WORKER, "destroy", g.uri});
  REQUIRE(destroyer.read_line(10s) == std::optional<std::string>("destroyed"));
  REQUIRE(destroyer.wait(10s) == std::optional<int>(0));
  CHECK_FALSE(s.valid());
  CHECK_FALSE(second.valid());
  CHECK_THROWS_WITH(s.put("b", 2), Catch::Matchers::Contains("destroyed"));
  CHECK_THROWS_AS(s.count(), dedup::storage_error);
  CHECK_THROWS_AS(s.get<int>("a"), dedup::storage_error);
  CHECK_THROWS_AS(second.remove("a"), dedup::storage_error);
  // The name now opens a new, empty store, here as in any other process.
  auto fresh = dedup::shared_store::open(g.uri, options());
  CHECK(fresh.valid());
  CHECK(fresh.count() == 0);
  CHECK(fresh.put("c", 3));
  CHECK_FALSE(s.valid());
}

TEST_CASE("store: destroy removes a Redis store; its handles are told, openers find none",
          "[store]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  auto s = dedup::shared_store::open(redis.uri(1), options());
  REQUIRE(s.put("a", 1));
  dedup::shared_store::destroy(redis.uri(1));
  CHECK_THROWS_WITH(dedup::shared_store::open_existing(redis.uri(1)),
                    Catch::Matchers::Contains("no such store"));
  CHECK_THROWS_WITH(s.put("b", 2), Catch::Matchers::Contains("destroyed"));
  CHECK(s.count() == 0);
  CHECK(dedup::shared_store::open(redis.uri(1), options()).put("c", 3));
}

namespace {

// Fills a store, closes it and overwrites its data file from `from` on with `byte`.
void damage_store(const std::string& uri, std::size_t from, char byte) {
  {
    auto s = dedup::shared_store::open(uri, options());
    for (int i = 0; i < 20; ++i) REQUIRE(s.put("k" + std::to_string(i), std::string(5000, 'v')));
  }
  std::string data = "/dev/shm/dedup-store-" + uri.substr(6) + "/data.mdb";
  auto size = std::filesystem::file_size(data);
  REQUIRE(size > from);
  std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(from));
  std::string garbage(size - from, byte);
  f.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
}

}  // namespace

TEST_CASE("store: destroy removes a damaged store; using it says it is damaged (shm)", "[store]") {
  // Zeros after the two meta pages, then garbage over the whole file, meta pages included.
  for (auto [from, byte] : {std::pair<std::size_t, char>{8192, '\0'}, {0, 'x'}}) {
    shm_guard g{shm_uri("damaged")};
    INFO("from " << from);
    damage_store(g.uri, from, byte);
    try {
      auto s = dedup::shared_store::open(g.uri, options());
      s.clear();
      FAIL("a damaged store cleared");
    } catch (const dedup::storage_error& e) {
      CHECK_THAT(e.what(), Catch::Matchers::Contains("the store is damaged") &&
                               Catch::Matchers::Contains("dedup store destroy " + g.uri));
    }
    dedup::shared_store::destroy(g.uri);
    CHECK_FALSE(std::filesystem::exists("/dev/shm/dedup-store-" + g.uri.substr(6)));
    CHECK(dedup::shared_store::open(g.uri, options()).count() == 0);
  }
}

/// Runs `f`, which must throw a timeout_error that a handler of storage_error does not catch.
void check_timeout_not_storage(const std::function<void()>& f) {
  auto e = error_not_caught_as<dedup::timeout_error, dedup::storage_error>(f, "no timeout_error");
  CHECK(e.kind() == dedup::error_kind::timeout);
}

TEST_CASE("store: a live stalled holder gives timeout_error within the timeout", "[store]") {
  auto o = options();
  o.lock_timeout = std::chrono::milliseconds(200);
  {
    shm_guard g{shm_uri("stall")};
    auto s = dedup::shared_store::open(g.uri, o);
    child holder({DEDUP_STORE_WORKER, "hold", g.uri, "x", "1"});
    REQUIRE(holder.read_line(10s) == std::optional<std::string>("ready"));
    check_timeout_not_storage([&] { s.put("y", 2); });
    CHECK(s.count() == 0);  // readers are never blocked by the writer
    holder.kill_and_reap();
    CHECK(s.put("y", 2));
  }
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  auto s = dedup::shared_store::open(redis.uri(), o);
  REQUIRE(s.put("a", 1));
  redis.suspend();  // a server that stalls: each reply is waited for at most lock_timeout
  check_timeout_not_storage([&] { s.put("b", 2); });
  redis.resume();
  REQUIRE(s.get<int>("a"));
  CHECK(*s.get<int>("a") == 1);
}

TEST_CASE("store: Redis stopped mid-run fails with the server's URI, then works again", "[store]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  auto s = dedup::shared_store::open(redis.uri(3), options());
  REQUIRE(s.put("a", 1));
  redis.stop();
  try {
    s.put("b", 2);
    FAIL("no error");
  } catch (const dedup::storage_error& e) {
    CHECK(e.resource() == redis.uri(3));
  }
  CHECK_THROWS_AS(s.count(), dedup::storage_error);
  redis.start();
  REQUIRE(s.put("b", 2));  // reconnected; the private server kept nothing
  REQUIRE(s.get<int>("b"));
  CHECK(*s.get<int>("b") == 2);
  CHECK(s.count() == 1);
}

namespace {

// Each worker's last operation per key: "put SEQ" or "remove".
using last_ops = std::map<std::string, std::map<int, std::string>>;  // key -> proc -> op

// Whether the final value (or absence) of `key` is the outcome of some sequential order of the
// workers' operations, each worker's in its own order: a value (p, s) requires p's last operation
// on the key to be that put (nothing p did later can precede it); absence requires that some
// worker's last operation was a remove, or that nobody put the key.
bool consistent(const std::map<int, std::string>& last,
                const std::shared_ptr<const DatasetType>& v) {
  if (!v) {
    bool any_put = false, any_remove_last = false;
    for (const auto& [proc, op] : last) {
      any_put |= op.starts_with("put");
      any_remove_last |= op == "remove";
    }
    return any_remove_last || !any_put;
  }
  auto at = v->storage_class.find('s');
  int proc = std::atoi(v->storage_class.c_str() + 1);
  auto it = last.find(proc);
  return it != last.end() && it->second == "put " + v->storage_class.substr(at + 1);
}

void run_workers(const std::string& uri, long ops, int keys) {
  std::vector<std::unique_ptr<child>> workers;
  for (int p = 0; p < 4; ++p)
    workers.push_back(std::make_unique<child>(
        std::vector<std::string>{DEDUP_STORE_WORKER, "ops", uri, std::to_string(p),
                                 std::to_string(ops), std::to_string(keys)}));
  last_ops last;
  for (int p = 0; p < 4; ++p) {
    auto out = workers[p]->read_all(120s);
    REQUIRE(out);
    REQUIRE(workers[p]->wait(10s) == std::optional<int>(0));
    std::istringstream lines(*out);
    std::string op, key, seq;
    while (lines >> op) {
      if (op == "done") break;
      lines >> key;
      if (op == "put") lines >> seq;
      last[key][p] = op == "put" ? "put " + seq : op;
    }
    CHECK(op == "done");
  }
  auto s = dedup::shared_store::open(uri, options());
  dedup::scope scope;
  std::size_t present = 0, bytes = 0;
  for (int k = 0; k < keys; ++k) {
    std::string key = "k" + std::to_string(k);
    auto v = s.get<DatasetType>(key);
    INFO(key << " = " << (v ? v->storage_class : "absent"));
    CHECK(consistent(last[key], v));
    if (v) {
      ++present;
      std::string text;
      dedup::detail::write_text(text, *v);
      bytes += text.size();
    }
  }
  CHECK(s.count() == present);
  CHECK(s.keys().size() == present);
  CHECK(s.stats().value_bytes == bytes);
}

}  // namespace

TEST_CASE("store: 4 processes of mixed operations match a sequential model per key", "[store]") {
  long ops = std::max(10'000 / fault_scale(), 100L);
  for_each_backend("model", [&](const std::string& uri) { run_workers(uri, ops, 64); });
}
