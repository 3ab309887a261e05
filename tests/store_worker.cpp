// The worker process of the store's fault tests (tests/store_test.cpp):
//   store_worker hold URI KEY VALUE   take the shm writer lock mid-write, print "ready", wait
//   store_worker ops URI PROC N KEYS  N mixed operations on KEYS shared keys; every value names
//                                     (key, PROC, sequence); prints each key's last own operation
//                                     ("put KEY SEQ" or "remove KEY") and "done PUTS HITS"
//   store_worker fill URI BYTES [CAP] puts values of BYTES bytes into a default store (of CAP
//                                     bytes, rotating) until a put fails or 20000 did not;
//                                     prints "stored N", then how the last put went ("stored",
//                                     "refused" or "error: MESSAGE"), the same for one more put
//                                     of a later handle, "read OK" when the first value or the
//                                     last stored still reads back, then "remove OUTCOME" and
//                                     "clear OUTCOME" ("OK" or "error: MESSAGE")
//                                     ("open error: MESSAGE" if the store cannot open)
//   store_worker destroy URI         destroys the store, prints "destroyed"
//   store_worker view URI KEY         holds a view of KEY's bytes, prints "holding SIZE", waits
//   store_worker bytes URI BYTES      put_bytes of BYTES-byte values into a store of 1 GiB until a
//                                     put does not store or 64 did: "stored N", how the last put
//                                     went, "view OK" when the first value still reads back whole
// Exit status 3 if a value read back is not one some process wrote for that key (torn, mixed).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>

#include "butler/model.hpp"
#include "dedup/store.hpp"

namespace {

int ops(const std::string& uri, int proc, long n, int keys) {
  dedup::store_options o{.min_free_mem_pct = 0, .lock_timeout = std::chrono::seconds(10)};
  auto store = dedup::shared_store::open(uri, o);
  std::mt19937 random(static_cast<unsigned>(proc) * 7919u + 1u);
  std::map<std::string, std::string> last;  // key -> "put KEY SEQ" / "remove KEY"
  long puts = 0, hits = 0;
  dedup::scope s;
  for (long seq = 0; seq < n; ++seq) {
    std::string key = "k" + std::to_string(random() % static_cast<unsigned>(keys));
    unsigned op = random() % 10;
    if (op < 5) {
      butler::DatasetType v;
      v.name = key;
      v.storage_class = "p" + std::to_string(proc) + "s" + std::to_string(seq);
      if (!store.put(key, v)) return 4;  // capacity is ample here: a refusal is a bug
      ++puts;
      last[key] = "put " + key + " " + std::to_string(seq);
    } else if (op < 7) {
      store.remove(key);
      last[key] = "remove " + key;
    } else if (auto v = store.get<butler::DatasetType>(key)) {
      if (v->name != key || v->storage_class.empty() || v->storage_class[0] != 'p') return 3;
      ++hits;
    }
  }
  for (const auto& [key, line] : last) std::printf("%s\n", line.c_str());
  std::printf("done %ld %ld\n", puts, hits);
  return 0;
}

// One put, and how it went: "stored", "refused" or "error: MESSAGE".
std::string try_put(dedup::shared_store& store, const std::string& key, const std::string& value) {
  try {
    return store.put_text(key, value) ? std::string("stored") : std::string("refused");
  } catch (const dedup::storage_error& e) {
    return std::string("error: ") + e.what();
  }
}

// "OK", or how a write failed.
template <class F>
std::string try_write(F&& write) {
  try {
    write();
    return "OK";
  } catch (const dedup::storage_error& e) {
    return std::string("error: ") + e.what();
  }
}

int fill(const std::string& uri, std::size_t bytes, std::size_t capacity) {
  dedup::store_options o{.min_free_mem_pct = 0};
  if (capacity) o.capacity_bytes = capacity;
  std::string value = "\"" + std::string(bytes, 'x') + "\"";
  try {
    auto store = dedup::shared_store::open(uri, o);
    int n = 0;
    std::string outcome;
    while ((outcome = try_put(store, "k" + std::to_string(n), value)) == "stored" && n < 20000) ++n;
    std::printf("stored %d\n%s\n", n, outcome.c_str());
    auto later = dedup::shared_store::open(uri, o);
    std::printf("%s\n", try_put(later, "later", value).c_str());
    std::string last = "k" + std::to_string(n - 1);
    std::printf("read %s\n", n > 0 && (later.has("k0") || later.has(last)) ? "OK" : "missing");
    std::printf("remove %s\n", try_write([&] { later.remove(last); }).c_str());
    std::printf("clear %s\n", try_write([&] { later.clear(); }).c_str());
  } catch (const dedup::storage_error& e) {
    std::printf("open error: %s\n", e.what());
  }
  return 0;
}

[[noreturn]] int hold_view(const std::string& uri, const std::string& key) {
  auto store = dedup::shared_store::open(uri, {.min_free_mem_pct = 0});
  auto view = store.get_view(key);
  std::printf("holding %zu\n", view ? view->size() : 0);
  std::fflush(stdout);
  for (;;) pause();
}

// The bytes of value `n`: its number in every byte, so that a torn or mixed value shows.
std::vector<std::byte> numbered(std::size_t bytes, int n) {
  return std::vector<std::byte>(bytes, static_cast<std::byte>(n + 1));
}

int fill_bytes(const std::string& uri, std::size_t bytes) {
  try {
    auto store = dedup::shared_store::open(
        uri, {.capacity_bytes = std::size_t{1} << 30, .min_free_mem_pct = 0});
    int n = 0;
    std::string outcome;
    auto put = [&] {
      try {
        return store.put_bytes("k" + std::to_string(n), numbered(bytes, n))
                   ? std::string("stored")
                   : std::string("refused");
      } catch (const dedup::storage_error& e) {
        return (std::string("error: ") + e.what());
      }
    };
    while ((outcome = put()) == "stored" && n < 64) ++n;
    std::printf("stored %d\n%s\n", n, outcome.c_str());
    auto first = store.get_view("k0");
    bool whole = first && first->size() == bytes &&
                 std::ranges::all_of(first->bytes(), [](std::byte b) { return b == std::byte{1}; });
    std::printf("view %s\n", whole ? "OK" : "missing");
  } catch (const dedup::storage_error& e) {
    std::printf("open error: %s\n", e.what());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "hold" && argc == 5) {
      dedup::detail::hold_shm_writer_for_test(argv[2], argv[3], argv[4], [] {
        std::printf("ready\n");
        std::fflush(stdout);
      });
    }
    if (mode == "fill" && (argc == 4 || argc == 5))
      return fill(argv[2], std::strtoul(argv[3], nullptr, 10),
                  argc == 5 ? std::strtoul(argv[4], nullptr, 10) : 0);
    if (mode == "destroy" && argc == 3) {
      dedup::shared_store::destroy(argv[2]);
      std::printf("destroyed\n");
      return 0;
    }
    if (mode == "view" && argc == 4) hold_view(argv[2], argv[3]);
    if (mode == "bytes" && argc == 4)
      return fill_bytes(argv[2], std::strtoul(argv[3], nullptr, 10));
    if (mode == "ops" && argc == 6)
      return ops(argv[2], std::atoi(argv[3]), std::atol(argv[4]), std::atoi(argv[5]));
    std::fprintf(
        stderr,
        "usage: store_worker hold URI KEY VALUE | ops URI PROC N KEYS | fill URI BYTES [CAP] | "
        "destroy URI | view URI KEY | bytes URI BYTES\n");
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_worker: %s\n", e.what());
    return 1;
  }
}
