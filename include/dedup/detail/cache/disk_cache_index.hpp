// The compiled half of the disk cache (src/disk_cache*.cpp): the SQLite index of one cache
// directory, its value files and its single-flight locks. Knows bytes, never a T.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "dedup/detail/cache/disk_cache_memory.hpp"

namespace dedup {
struct disk_cache_entry;
}

namespace dedup::detail {

/// Where and how one cache directory is opened.
struct index_settings {
  std::filesystem::path location;  // <directory>/<prefix><tag>
  std::string prefix;
  std::string tag;
  int version = 1;
  std::string session;
  std::uint64_t size_limit = 0;
  std::size_t inline_limit = 0;
  std::chrono::milliseconds wait_timeout{0};
  bool create = true;  // false: a missing cache is a storage_error (open_existing)
};

/// A held single-flight lock (an flock on locks/<identity>.lock, none when `fd` is -1), with the
/// remote tier's lock when one is held; released when destroyed, or when the process dies (by the
/// kernel, and by the remote lock's expiry).
class flight_lock {
 public:
  explicit flight_lock(int fd) : fd_(fd) {}
  flight_lock(const flight_lock&) = delete;
  flight_lock& operator=(const flight_lock&) = delete;
  ~flight_lock();
  /// Runs `release` (which must not throw) before the local lock is released.
  void also_release(std::function<void()> release) { release_ = std::move(release); }

 private:
  int fd_;
  std::function<void()> release_;
};

/// One open cache directory. Every member may be called from several threads at once (one
/// connection, serialized by a mutex), and several processes may open the same directory. Opening
/// writes nothing; a directory or index this process may not write is opened read-only, and then
/// every write is a storage_error. Its first store or clear sweeps unreferenced files.
///
/// ```text
/// detail::disk_index index(settings, counters);
/// index.store(id, R"({"n":1})");
/// auto bytes = index.load(id);  // checksum-verified, or nullopt (counted as stale or corrupt)
/// ```
class disk_index {
 public:
  disk_index(index_settings settings, cache_counters& counters);
  ~disk_index();
  disk_index(const disk_index&) = delete;
  disk_index& operator=(const disk_index&) = delete;

  /// The entry's value bytes if a valid row holds them; a row of another version, session or
  /// layout is dropped (`stale`), one whose bytes fail the checksum too (`corrupt`).
  std::optional<simdjson::padded_string> load(const entry_id& id);
  /// Stores (replaces) the entry, then evicts least-recently-used rows beyond the size limit.
  /// Throws storage_error (timeout_error when the database stays locked); nothing else is lost.
  /// `durable` false: a copy of bytes held elsewhere (the remote tier's), whose value file is not
  /// synced; after a crash of the machine it may fail its checksum, and is then fetched again.
  /// `checksum`: the bytes' checksum (`hex16` of XXH3-64) where the caller verified it already,
  /// so that a copy is not hashed twice; empty, it is computed here.
  void store(const entry_id& id, std::string_view bytes, bool durable = true,
             std::string_view checksum = {});
  /// Removes the entry's row (and file) if it holds the same identity.
  void drop(const entry_id& id);
  void clear(std::string_view name);
  void clear_all();
  /// Removes the files under values/ that no row references and no live writer is writing;
  /// returns how many.
  std::size_t sweep();
  std::vector<disk_cache_entry> entries() const;
  /// The value file of the most recently used entry named `name`, the index file when its value
  /// is inline, an empty path when there is none.
  std::filesystem::path file_of(std::string_view name) const;
  /// Waits (polling, up to wait_timeout) for the single-flight lock of the entry.
  std::unique_ptr<flight_lock> lock(const entry_id& id);

  const index_settings& settings() const noexcept;
  /// Whether the index was opened read-only (the directory or index.sqlite is not writable).
  bool read_only() const noexcept;
  /// The prefix the cache was created with, empty for a cache made before it was recorded.
  std::string recorded_prefix() const;

  struct impl;

 private:
  void insert_row(const entry_id& id, std::string_view bytes, const std::string& checksum,
                  const std::string& file);
  std::uint64_t evict(const entry_id& keep, std::vector<std::string>& files);
  void remove_where(const std::string& where, std::string_view a, std::string_view b);

  std::unique_ptr<impl> impl_;
};

/// The caches under `directory` made with `prefix` (a cache of prefix "cache2" is not one of
/// prefix "cache"): their tags, sorted.
std::vector<std::string> cache_tags(const std::filesystem::path& directory,
                                    std::string_view prefix);

/// A session id no other process or cache object is likely to have had.
std::string fresh_session_id();

}  // namespace dedup::detail
