// Stores a value in a disk cache (in a fresh temporary directory) and one in an shm:// shared
// store, reads each back through another handle, and removes both; exits 0 only if both values
// came back.
#include <dedup/disk_cache.hpp>
#include <dedup/store.hpp>

#include <unistd.h>

#include <cstdio>
#include <exception>
#include <filesystem>
#include <string>
#include <vector>

namespace {

bool cache_round_trip(const std::filesystem::path& dir) {
  dedup::disk_cache({.directory = dir, .tag = "consumer"}).put("squares", std::vector<int>{1, 4});
  // A second cache object has nothing in memory: the value comes from disk.
  auto back =
      dedup::disk_cache({.directory = dir, .tag = "consumer"}).find<std::vector<int>>("squares");
  return back && *back == std::vector<int>{1, 4};
}

bool store_round_trip(const std::string& uri) {
  dedup::shared_store::open(uri).put("squares", std::vector<int>{1, 4, 9});
  dedup::scope s;
  auto back = dedup::shared_store::open_existing(uri).get<std::vector<int>>("squares");
  return back && *back == std::vector<int>{1, 4, 9};
}

}  // namespace

int main() try {
  std::string unique = "dedup-consumer-" + std::to_string(::getpid());
  std::filesystem::path dir = std::filesystem::temp_directory_path() / unique;
  std::filesystem::remove_all(dir);
  bool cached = cache_round_trip(dir);
  std::filesystem::remove_all(dir);
  std::string uri = "shm://" + unique;
  bool stored = store_round_trip(uri);
  bool destroyed = dedup::shared_store::destroy(uri);
  std::printf("disk cache: %s, shared store: %s, destroyed: %s\n", cached ? "ok" : "FAILED",
              stored ? "ok" : "FAILED", destroyed ? "yes" : "NO");
  return cached && stored && destroyed ? 0 : 1;
} catch (const std::exception& e) {
  std::fprintf(stderr, "consumer_cache_store: %s\n", e.what());
  return 1;
}
