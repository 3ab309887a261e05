// dedup::shared_store's binary values: put_bytes and get_view on both backends, views that keep
// their bytes through writes, a killed view holder, size limits and a full /dev/shm.
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "dedup/store.hpp"
#include "store_fixture.hpp"
#include "support.hpp"

namespace {

using namespace dedup_test;
using namespace std::chrono_literals;

// `n` bytes that differ from those of any other `seed`, every byte value included.
std::vector<std::byte> pattern(std::size_t n, unsigned seed) {
  std::vector<std::byte> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<std::byte>((i * 31 + seed * 7) & 0xff);
  return out;
}

bool same(const dedup::value_view& v, const std::vector<std::byte>& bytes) {
  return std::ranges::equal(v.bytes(), bytes);
}

// Address space that may not be touched (a touch is a signal): a value's size is checked
// before any of its bytes is read.
struct untouchable {
  std::size_t size;
  void* at = mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  ~untouchable() { munmap(at, size); }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(at), size}; }
};

}  // namespace

TEST_CASE("store bytes: put_bytes and get_view round trip; a missing key is nullopt",
          "[store][bytes]") {
  for_each_backend("bytes", [](const std::string& uri) {
    auto store = dedup::shared_store::open(uri, options());
    auto one = pattern(70'000, 1);
    REQUIRE(store.put_bytes("one", one));
    REQUIRE(store.put_bytes("empty", {}));
    CHECK_FALSE(store.get_view("absent"));
    auto v = store.get_view("one");
    REQUIRE(v);
    CHECK(v->size() == one.size());
    CHECK(same(*v, one));
    std::span<const std::byte> span = *v;
    CHECK(span.data() == v->data());
    auto empty = store.get_view("empty");
    REQUIRE(empty);
    CHECK(empty->empty());
    // A typed value's view is its stored form.
    REQUIRE(store.put("typed", std::vector<int>{1, 2}));
    CHECK(store.get_view("typed")->text() == "[1,2]");
    // Replaced and removed under the view: it keeps what it saw.
    REQUIRE(store.put_bytes("one", pattern(10, 2)));
    CHECK(same(*store.get_view("one"), pattern(10, 2)));
    REQUIRE(store.remove("one"));
    CHECK(same(*v, one));
    CHECK_FALSE(store.get_view("one"));
  });
}

TEST_CASE(
    "store bytes: an shm view is the shared memory itself and keeps its bytes through "
    "rotate, clear and destroy",
    "[store][bytes]") {
  shm_guard g{shm_uri("view-rotate")};
  constexpr std::size_t size = 256 << 10;
  auto store = dedup::shared_store::open(g.uri, options(std::size_t{1} << 20));
  auto first = pattern(size, 1);
  REQUIRE(store.put_bytes("first", first));
  auto v = store.get_view("first");
  auto again = store.get_view("first");
  REQUIRE((v && again));
  CHECK(v->data() == again->data());  // no copy: both point at the stored pages
  // Another thread rotates it out and overwrites the room many times over, then clears.
  unsigned stored = 0;  // Catch's assertions are for the test's thread only
  std::thread writer([&] {
    auto other = dedup::shared_store::open(g.uri, options(std::size_t{1} << 20));
    for (unsigned i = 0; i < 40; ++i)
      stored += other.put_bytes("k" + std::to_string(i % 8), pattern(size, i + 2));
    other.clear();
  });
  writer.join();
  CHECK(stored == 40);
  CHECK(store.stats().evictions > 0);
  CHECK_FALSE(store.has("first"));
  CHECK(same(*v, first));
  again.reset();
  dedup::shared_store::destroy(g.uri);
  CHECK(same(*v, first));
  // Released on another thread than the one that took it.
  std::thread([view = std::move(v)]() mutable { view.reset(); }).join();
}

TEST_CASE("store bytes: the pages a killed view holder pinned are reused (shm)", "[store][bytes]") {
  shm_guard g{shm_uri("view-killed")};
  constexpr std::size_t size = 512 << 10;
  auto store = dedup::shared_store::open(g.uri, options(std::size_t{8} << 20));
  REQUIRE(store.put_bytes("held", pattern(size, 1)));
  {
    child holder({DEDUP_STORE_WORKER, "view", g.uri, "held"});
    REQUIRE(holder.read_line(10s) == std::optional<std::string>("holding " + std::to_string(size)));
    holder.kill_and_reap();
  }
  REQUIRE(store.remove("held"));
  // Each put replaces the last value: its pages are free for the next but one, unless an older
  // snapshot pins them. 200 of them would take 100 MiB, more than the map's 96 MiB.
  for (unsigned i = 0; i < 200; ++i) {
    INFO(i);
    REQUIRE(store.put_bytes("churn", pattern(size, i)));
  }
  CHECK(same(*store.get_view("churn"), pattern(size, 199)));
  // The memory the data file holds (its size is the whole map: LMDB sizes it so).
  struct stat st {};
  REQUIRE(::stat(("/dev/shm/dedup-store-" + g.uri.substr(6) + "/data.mdb").c_str(), &st) == 0);
  CHECK(st.st_blocks * 512 < (16 << 20));
}

TEST_CASE("store bytes: values over a backend's limit are storage errors, read from nowhere",
          "[store][bytes]") {
  for_each_backend("bytes-limit", [](const std::string& uri) {
    auto store = dedup::shared_store::open(uri, options());
    bool shm = uri.starts_with("shm://");
    untouchable huge{(shm ? dedup::detail::shm_max_value : dedup::detail::redis_max_value) + 1};
    REQUIRE(huge.at != MAP_FAILED);
    auto e = error_of<dedup::storage_error>([&] { store.put_bytes("huge", huge.bytes()); },
                                            "a value over the limit was taken");
    CHECK_THAT(e.what(), Catch::Matchers::Contains("a value must have at most"));
    // Over the capacity but within the limit: refused, as a typed value is.
    CHECK_FALSE(store.put_bytes("big", pattern((std::size_t{1} << 20) + 1, 1)));
    CHECK(store.count() == 0);
  });
}

TEST_CASE("store bytes: a full /dev/shm fails put_bytes with storage_error, never a signal",
          "[store][bytes]") {
  std::string out = run_in_small_shm("64m", {"bytes", "shm://full", std::to_string(8 << 20)});
  DEDUP_TEST_SKIP_UNLESS(out != "unavailable\n",
                         "no private mount namespace (needs root and unshare)");
  INFO(out);
  CHECK(out.find("stored ") == 0);
  CHECK(out.find("\nerror: ") != std::string::npos);
  CHECK(out.find("no space left") != std::string::npos);
  CHECK(out.find("view OK") != std::string::npos);
  // One value larger than the whole file system.
  out = run_in_small_shm("64m", {"bytes", "shm://full", std::to_string(100 << 20)});
  INFO(out);
  CHECK(out.find("stored 0\nerror: ") == 0);
}
