// The state of one open cache index (detail::disk_index), shared by the two files that implement
// it: disk_cache_open.cpp (opening, the schema, what a first write prepares) and
// disk_cache_index.cpp (loads, stores, removals, listings).
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>

#include "dedup/detail/cache/disk_cache_index.hpp"
#include "disk_cache_files.hpp"
#include "disk_cache_sqlite.hpp"

namespace dedup::detail {

/// Milliseconds since the epoch: the index's creation and access times (entries() shows seconds).
std::int64_t now_ms();

/// One row of the index as a load reads it; an inline value comes with it, a file's is read apart.
struct stored_row {
  std::int64_t minor = 0, version = 0;
  std::string session, fingerprint, checksum;
  std::size_t size = 0;  // the value's bytes, as recorded
  std::optional<std::string> file;
  std::optional<simdjson::padded_string> bytes;  // an inline value of the recorded size
};

struct disk_index::impl {
  index_settings s;
  cache_counters& counters;
  std::string resource;  // the location, for messages
  std::filesystem::path values, locks;
  sqlite3* db = nullptr;
  sql::statement_cache statements;  // the hot paths' queries (a hit, a store), kept prepared
  std::mutex mutex;  // one connection, one user at a time: transactions must not interleave
  bool read_only = false;
  bool prepared = false;  // the first store's (or clear's) work is done (prepare_to_write)
  std::int64_t schema = 0;

  /// A disk hit not yet written to the eviction order.
  struct hit {
    std::string name, row_key;
    std::int64_t at_ms;
  };
  std::vector<hit> hits;
  std::chrono::steady_clock::time_point first_hit{};
  /// Hits are written together, by whichever comes first: this many waiting, the oldest waiting
  /// this long, the next store, a listing, or the index closing.
  static constexpr std::size_t hit_batch = 64;
  static constexpr std::chrono::seconds hit_delay{1};

  impl(index_settings settings, cache_counters& c)
      : s(std::move(settings)),
        counters(c),
        resource(s.location.string()),
        values(s.location / "values"),
        locks(s.location / "locks") {}
  ~impl() {
    statements.clear();
    sqlite3_close_v2(db);
  }
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;

  void check_directory();
  void open_database();
  /// Before any write: throws storage_error if read-only; the first time, creates values/ and
  /// locks/, brings an older schema up to date and sweeps unreferenced files (returns how many).
  std::size_t prepare_to_write();
  std::size_t sweep_files();
  std::optional<stored_row> read_row(const entry_id& id);
  bool valid(const entry_id& id, const stored_row& row) const;
  void touch(const entry_id& id);
  /// Writes the waiting hits, in the caller's transaction if `in_transaction`, else in one of
  /// their own whose failure loses only them (the eviction order is then a little older).
  void write_hits(bool in_transaction);
  void remove_row(const entry_id& id, std::string_view checksum);
  std::string row_key(const entry_id& id) const { return hex16(id.params); }

 private:
  void open(const std::string& name, int flags);
  void check_ours();
  void initialize();
};

}  // namespace dedup::detail
