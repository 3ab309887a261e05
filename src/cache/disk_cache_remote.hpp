// The remote tier of a disk cache (disk_cache_options::remote): value bytes on a Redis server
// shared by the caches of several nodes, behind each node's local directory. Knows bytes, never a
// T. A failing server is skipped for a back-off period and never fails the caller.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "../redis/redis_connection.hpp"
#include "dedup/detail/cache/disk_cache_memory.hpp"

namespace dedup::detail {

/// One cache object's connection to the remote tier. Keys name the entry's identity
/// (`dedup:cache:<prefix>:<tag>:<name>@<minor>:<parameters hash>`); a value carries a header with
/// the cache version, the layout fingerprint and the checksum of its bytes, checked on every read,
/// so a value of another build is stale, not misread. Session-only entries (minor 0) stay local.
/// Every member may be called from several threads (one connection, serialized by a mutex).
///
/// ```text
/// detail::remote_tier remote("redis://127.0.0.1:6379/0", 2000ms, 10s, 0s, counters);
/// remote.set_scope("cache", "run42", 1);
/// remote.store(id, bytes);
/// auto again = remote.load(id);  // bytes and checksum, or nullopt (a miss, stale, or a failure)
/// ```
class remote_tier {
 public:
  /// A value read from the tier, with the checksum its bytes were verified against.
  struct verified {
    simdjson::padded_string bytes;
    std::string checksum;
  };

  /// `ttl`: how long a value lives on the server after its last store or read (0: until removed).
  remote_tier(std::string uri, std::chrono::milliseconds timeout, std::chrono::milliseconds backoff,
              std::chrono::seconds ttl, cache_counters& counters);
  ~remote_tier();  // adds this object's counters to the tier's figures (stats_key)
  remote_tier(const remote_tier&) = delete;
  remote_tier& operator=(const remote_tier&) = delete;

  /// The cache the keys belong to; must not run while another thread uses the tier.
  void set_scope(std::string prefix, std::string tag, int version);
  std::optional<verified> load(const entry_id& id);
  void store(const entry_id& id, std::string_view bytes);
  void drop(const entry_id& id);
  /// Single flight across nodes: waits (polling, up to `wait`) until this caller holds the entry's
  /// lock, or its value is there, or the tier fails. Returns what releases the lock (empty when
  /// none is held: then the caller loads again, and computes if that misses).
  std::function<void()> lock(const entry_id& id, std::chrono::milliseconds wait);

 private:
  template <class F>
  auto guarded(F&& f) -> std::optional<decltype(f())>;
  void failed(const std::string& why);
  void flush_counters();
  std::string key(std::string_view space, const entry_id& id) const;
  redis::reply run(std::initializer_list<std::string_view> args);

  std::string uri_;
  redis::address to_;
  std::chrono::milliseconds timeout_, backoff_;
  std::string ttl_;  // seconds, as the EX argument; empty: values do not expire
  cache_counters& counters_;
  std::string prefix_, tag_;
  int version_ = 1;
  std::mutex mutex_;  // hiredis contexts are not thread-safe
  redisContext* ctx_ = nullptr;
  std::chrono::steady_clock::time_point retry_at_{};
  bool outage_ = false;  // failed since it last answered: named in the log once
  std::uint64_t flushed_[6] = {};
};

/// The key spaces of the remote tier (key names, one per use) and the escaping of a key's
/// segments: bytes other than letters, digits and "-_./" as %XX, so that ':' separates and no
/// byte is a glob character of SCAN's MATCH.
std::string remote_segment(std::string_view text);
std::string remote_unsegment(std::string_view text);

}  // namespace dedup::detail
