// The disk cache's remote tier (disk_cache_options::remote) on a private redis-server: values
// shared between caches of separate directories (standing for nodes), checked as strictly as
// local ones, single flight across processes, and a server that dies and comes back. The other
// processes are tests/disk_cache_remote_worker (DEDUP_CACHE_REMOTE_WORKER).
#include <catch2/catch.hpp>

#include <hiredis/hiredis.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "dedup/disk_cache.hpp"
#include "disk_cache_fixture.hpp"
#include "redis_server.hpp"
#include "support.hpp"

namespace {

using namespace std::chrono_literals;
using dedup_test::child;
using dedup_test::redis_server;
using dedup_test::temp_dir;

dedup::disk_cache_options node(const temp_dir& dir, const std::string& name,
                               const std::string& uri) {
  dedup::disk_cache_options o;
  o.directory = dir.path() / name;
  o.tag = "t";
  o.remote = uri;
  o.remote_backoff = 0ms;  // retried at once: the tests need no time to pass
  return o;
}

/// The numbers a worker's stage line reports ("stage 1 computed=3 errors=0 hits=7 ok=1").
std::map<std::string, long> fields(const std::string& line) {
  std::map<std::string, long> out;
  std::size_t at = 0;
  while ((at = line.find('=', at)) != std::string::npos) {
    std::size_t start = line.rfind(' ', at) + 1;
    out[line.substr(start, at - start)] = std::stol(line.substr(at + 1));
    ++at;
  }
  return out;
}

/// Four worker processes, each with its own directory, on the same remote tier.
struct fleet {
  std::vector<std::unique_ptr<child>> workers;
  fleet(const temp_dir& dir, const std::string& uri, const std::vector<std::string>& ends) {
    for (int w = 0; w < 4; ++w) {
      std::vector<std::string> argv{DEDUP_CACHE_REMOTE_WORKER,
                                    (dir.path() / ("node" + std::to_string(w))).string(), "t", uri,
                                    "0"};
      argv.insert(argv.end(), ends.begin(), ends.end());
      workers.push_back(std::make_unique<child>(argv, true));
    }
  }
  /// Every worker's next stage line, parsed; fails the test if one does not come.
  std::vector<std::map<std::string, long>> stage() {
    std::vector<std::map<std::string, long>> out;
    for (auto& w : workers) {
      auto line = w->read_line(120s);
      REQUIRE(line);
      INFO(*line);
      out.push_back(fields(*line));
      CHECK(out.back()["ok"] == 1);
    }
    return out;
  }
  void resume() {
    for (auto& w : workers) ::kill(w->pid(), SIGUSR1);
  }
  long total(const std::vector<std::map<std::string, long>>& s, const std::string& key) {
    long n = 0;
    for (auto& f : s) n += f.at(key);
    return n;
  }
};

}  // namespace

TEST_CASE("disk_cache: a remote hit is stored locally, a computed value remotely",
          "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  int calls = 0;
  auto square = [&](int x) {
    ++calls;
    return std::vector<int>{x, x * x};
  };
  dedup::disk_cache a(node(dir, "a", redis.uri(0)));
  CHECK((*a.get_or_compute<std::vector<int>>("sq", square, 7))[1] == 49);
  CHECK(a.stats().remote_misses == 1);
  CHECK(a.stats().remote_bytes_written > 0);
  dedup::disk_cache b(node(dir, "b", redis.uri(0)));
  CHECK((*b.get_or_compute<std::vector<int>>("sq", square, 7))[1] == 49);
  CHECK(calls == 1);
  CHECK(b.stats().remote_hits == 1);
  CHECK(b.stats().remote_bytes_read == a.stats().remote_bytes_written);
  CHECK(b.entries().size() == 1);  // written on b's disk: a fresh object hits it there
  dedup::disk_cache b2(node(dir, "b", redis.uri(0)));
  CHECK(b2.find<std::vector<int>>("sq", 7));
  CHECK(b2.stats().disk_hits == 1);
  CHECK(b2.stats().remote_hits == 0);
  // Session-only entries stay on their node.
  (void)a.get_or_compute<int>("session@0", [] { return 1; });
  CHECK(a.stats().remote_bytes_written == b.stats().remote_bytes_read);
}

TEST_CASE("disk_cache: large remote hits are read whole and all copied to the local disk",
          "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  // Sizes around the reader's 4 KiB buffer and well beyond it; bytes that differ everywhere.
  const std::vector<std::size_t> sizes{0, 1, 4000, 4096, 5000, 300'000, 3'000'000};
  auto text = [](std::size_t size, std::size_t seed) {
    std::string s(size, ' ');
    for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>('a' + (i * 7 + seed) % 26);
    return s;
  };
  {
    dedup::disk_cache a(node(dir, "a", redis.uri(0)));
    for (std::size_t i = 0; i < sizes.size(); ++i)
      a.put("v" + std::to_string(i), text(sizes[i], i));
  }
  {
    dedup::disk_cache b(node(dir, "b", redis.uri(0)));
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      auto got = b.find<std::string>("v" + std::to_string(i));
      REQUIRE(got);
      CHECK(*got == text(sizes[i], i));
    }
    CHECK(b.stats().remote_hits == sizes.size());
  }  // gone at once: its copies are written before it is
  auto local = node(dir, "b", "");
  dedup::disk_cache b2(local);
  for (std::size_t i = 0; i < sizes.size(); ++i)
    CHECK(*b2.find<std::string>("v" + std::to_string(i)) == text(sizes[i], i));
  CHECK(b2.stats().disk_hits == sizes.size());
  CHECK(b2.stats().store_failures == 0);
}

TEST_CASE("disk_cache: a remote value of another layout, version or checksum is not read",
          "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  dedup::disk_cache a(node(dir, "a", redis.uri(0)));
  a.put("n", 7);
  SECTION("another layout") {
    dedup::disk_cache b(node(dir, "b", redis.uri(0)));
    CHECK(b.find<std::string>("n") == nullptr);
    CHECK(b.stats().stale == 1);
    CHECK(b.stats().remote_hits == 0);
  }
  SECTION("another cache version") {
    auto o = node(dir, "b", redis.uri(0));
    o.version = 2;
    dedup::disk_cache b(o);
    CHECK(b.find<int>("n") == nullptr);
    CHECK(b.stats().stale == 1);
  }
  SECTION("bytes that fail their checksum") {
    auto tags = dedup::disk_cache::remote_tags(redis.uri(0), "cache", "t");
    REQUIRE(tags.size() == 1);
    REQUIRE(tags[0].entries.size() == 1);
    CHECK(tags[0].entries[0].name == "n");
    // One byte of the value changed on the server, its header kept.
    std::string key = "dedup:cache:cache:t:n@1:0000000000000000";
    redisContext* r = redisConnect("127.0.0.1", redis.port());
    REQUIRE(r);
    auto* got = static_cast<redisReply*>(redisCommand(r, "GET %s", key.c_str()));
    REQUIRE(got->type == REDIS_REPLY_STRING);
    std::string value(got->str, got->len);
    freeReplyObject(got);
    value.back() = static_cast<char>(value.back() ^ 1);
    freeReplyObject(redisCommand(r, "SET %s %b", key.c_str(), value.data(), value.size()));
    redisFree(r);
    dedup::disk_cache b(node(dir, "b", redis.uri(0)));
    CHECK(b.find<int>("n") == nullptr);
    CHECK(b.stats().corrupt == 1);
  }
}

// Without remote_ttl a remote value stays until removed; with it, it lives that long after its
// last store or remote read.
TEST_CASE("disk_cache: remote values live remote_ttl after their last store or read",
          "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  const std::string key = "dedup:cache:cache:t:n@1:0000000000000000";
  redisContext* r = redisConnect("127.0.0.1", redis.port());
  REQUIRE(r);
  auto ttl_ms = [&] {
    auto* got = static_cast<redisReply*>(redisCommand(r, "PTTL %s", key.c_str()));
    long long ms = got->integer;
    freeReplyObject(got);
    return ms;
  };
  dedup::disk_cache(node(dir, "a", redis.uri(0))).put("n", 7);
  CHECK(ttl_ms() == -1);  // no expiry
  auto with_ttl = [&](const std::string& name) {
    auto o = node(dir, name, redis.uri(0));
    o.remote_ttl = std::chrono::hours(1);
    return o;
  };
  dedup::disk_cache(with_ttl("b")).put("n", 8);
  long long ms = ttl_ms();
  CHECK((ms > 3'000'000 && ms <= 3'600'000));
  freeReplyObject(redisCommand(r, "PEXPIRE %s 100000", key.c_str()));
  dedup::disk_cache c(with_ttl("c"));
  CHECK(*c.find<int>("n") == 8);
  CHECK(c.stats().remote_hits == 1);
  CHECK(ttl_ms() > 3'000'000);  // the read renewed it
  redisFree(r);
}

TEST_CASE("disk_cache: a remote tier that is down fails nothing and is counted",
          "[cache][remote]") {
  temp_dir dir;
  dedup::scope scope;
  auto o = node(dir, "a", "redis://127.0.0.1:" + std::to_string(dedup_test::free_port()) + "/0");
  dedup::disk_cache a(o);
  int calls = 0;
  CHECK(*a.get_or_compute<int>("n", [&] { return ++calls; }) == 1);
  CHECK(a.stats().remote_errors >= 1);
  CHECK(a.stats().stored == 1);  // local caching goes on
  dedup::disk_cache again(o);
  CHECK(*again.get_or_compute<int>("n", [&] { return ++calls; }) == 1);
  CHECK(again.stats().disk_hits == 1);
  CHECK_THROWS_AS(dedup::disk_cache({.tag = "t", .remote = "redis://:1/0"}), dedup::storage_error);
}

TEST_CASE("disk_cache: a remote single-flight lock that is not released is waited for only so long",
          "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  auto o = node(dir, "a", redis.uri(0));
  o.single_flight = true;
  std::string lock = "dedup:flight:cache:t:n@1:0000000000000000";
  redisContext* r = redisConnect("127.0.0.1", redis.port());
  REQUIRE(r);
  auto held_by = [&] {
    auto* got = static_cast<redisReply*>(redisCommand(r, "GET %s", lock.c_str()));
    std::string out = got->type == REDIS_REPLY_STRING ? std::string(got->str, got->len) : "";
    freeReplyObject(got);
    return out;
  };
  int calls = 0;
  SECTION("a holder that never finishes: the waiter computes after wait_timeout") {
    freeReplyObject(redisCommand(r, "SET %s other", lock.c_str()));
    o.wait_timeout = 100ms;
    dedup::disk_cache a(o);
    CHECK(*a.get_or_compute<int>("n", [&] { return ++calls; }) == 1);
    CHECK(held_by() == "other");  // another's lock is never released by this node
  }
  SECTION("a holder that died: its lock expires, the waiter takes it and releases it") {
    freeReplyObject(redisCommand(r, "SET %s dead PX 200", lock.c_str()));
    dedup::disk_cache a(o);
    CHECK(*a.get_or_compute<int>("n", [&] { return ++calls; }) == 1);
    CHECK(held_by().empty());
  }
  CHECK(calls == 1);
  redisFree(r);
}

TEST_CASE("disk_cache: threads of two nodes share one remote tier", "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  auto o = node(dir, "a", redis.uri(0));
  o.single_flight = true;
  dedup::disk_cache a(o);
  o.directory = dir.path() / "b";
  dedup::disk_cache b(o);
  std::atomic<int> calls{0}, wrong{0};  // Catch2 assertions are for the main thread
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      dedup::scope scope;
      for (int i = 0; i < 50; ++i) {
        auto v = (t % 2 ? a : b)
                     .get_or_compute<int>(
                         "e", [&](int x) { return ++calls, x * 3; }, i);
        if (*v != i * 3) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  CHECK(calls == 50);
  CHECK(wrong == 0);
}

TEST_CASE("disk_cache: remote tags are listed and cleared by prefix and tag", "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  dedup::scope scope;
  {
    auto o = node(dir, "a", redis.uri(0));
    dedup::disk_cache a(o);
    a.put("x", 1);
    a.put("y", std::string("two"));
    a.set_tag("u:v*");  // a tag with the key's separator and a glob character
    (void)a.get_or_compute<int>("x", [] { return 3; });
    o.prefix = "cache2";
    dedup::disk_cache other(o);
    other.put("x", 1);
  }  // the objects add their figures as they go
  auto tags = dedup::disk_cache::remote_tags(redis.uri(0));
  REQUIRE(tags.size() == 2);
  CHECK(tags[0].tag == "t");
  CHECK(tags[0].entries.size() == 2);
  CHECK(tags[1].tag == "u:v*");
  REQUIRE(tags[1].entries.size() == 1);
  CHECK(tags[1].entries[0].name == "x");
  CHECK(tags[1].entries[0].size > 0);
  CHECK(tags[1].figures.computed == 1);
  CHECK(tags[1].figures.remote_misses == 1);
  CHECK(dedup::disk_cache::clear_remote(redis.uri(0), "cache", "u:v*") == 1);
  CHECK(dedup::disk_cache::remote_tags(redis.uri(0), "cache", "u:v*")[0].entries.empty());
  CHECK(dedup::disk_cache::clear_remote(redis.uri(0)) == 2);
  CHECK(dedup::disk_cache::remote_tags(redis.uri(0), "cache2")[0].entries.size() == 1);
}

TEST_CASE("disk_cache: four nodes on one remote tier compute each value once", "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  fleet nodes(dir, redis.uri(0), {"200"});
  auto done = nodes.stage();
  CHECK(nodes.total(done, "computed") == 200);
  CHECK(nodes.total(done, "hits") == 600);
  for (auto& w : nodes.workers) CHECK(w->wait(60s) == 0);
}

TEST_CASE("disk_cache: nodes finish while the remote tier dies and comes back", "[cache][remote]") {
  redis_server redis;
  DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
  temp_dir dir;
  fleet nodes(dir, redis.uri(0), {"50", "100", "200"});
  auto before = nodes.stage();  // the server up: shared
  CHECK(nodes.total(before, "computed") == 50);
  CHECK(nodes.total(before, "errors") == 0);
  redis.stop();
  nodes.resume();
  auto down = nodes.stage();  // the server gone: every node computes for itself
  for (auto& f : down) {
    CHECK(f["computed"] == 50);
    CHECK(f["errors"] >= 1);
  }
  redis.start();
  nodes.resume();
  auto after = nodes.stage();  // back (empty): shared again
  CHECK(nodes.total(after, "computed") == 100);
  for (auto& w : nodes.workers) CHECK(w->wait(60s) == 0);
}
