// The local copies of remote hits, written on a thread of their own: a value read from the remote
// tier is the reader's at once, and its copy into the local index (a file created and written, a
// row committed) overlaps what the reader does next instead of adding to each remote hit.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <simdjson.h>

#include "dedup/detail/cache/disk_cache_index.hpp"

namespace dedup::detail {

class local_copier {
 public:
  /// Failed copies are counted in `counters.store_failures`, as a failed store is.
  explicit local_copier(cache_counters& counters) : counters_(counters) {}
  /// Settles, then ends the thread.
  ~local_copier();
  local_copier(const local_copier&) = delete;
  local_copier& operator=(const local_copier&) = delete;

  /// Queues the copy of `bytes` (verified against `checksum`) into `to` under `id`. Beyond
  /// `queued_limit` bytes waiting, it waits for room first: a reader faster than the disk keeps
  /// the memory of a few copies only.
  void copy(disk_index& to, const entry_id& id,
            std::shared_ptr<const simdjson::padded_string> bytes, std::string checksum);
  /// Returns once every copy queued before it is written or has failed. Called before whatever
  /// reads or changes the local index other than a load, and before the index is closed.
  void settle();

  static constexpr std::size_t queued_limit = std::size_t{64} << 20;

 private:
  struct job {
    disk_index* to;
    std::string name;  // the id's name, which the id only views
    entry_id id;
    std::shared_ptr<const simdjson::padded_string> bytes;
    std::string checksum;
  };
  void run();
  void write(job& j);

  cache_counters& counters_;
  std::mutex mutex_;
  std::condition_variable wake_, idle_;
  std::deque<job> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false, stopping_ = false;
  std::thread thread_;  // started by the first copy
};

}  // namespace dedup::detail
