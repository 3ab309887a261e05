// The local copies of remote hits (disk_cache_copier.hpp).
#include "disk_cache_copier.hpp"

#include <exception>

namespace dedup::detail {

local_copier::~local_copier() {
  {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void local_copier::copy(disk_index& to, const entry_id& id,
                        std::shared_ptr<const simdjson::padded_string> bytes,
                        std::string checksum) {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() || queued_bytes_ + bytes->size() <= queued_limit; });
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  queued_bytes_ += bytes->size();
  queue_.push_back(job{&to, std::string(id.name), id, std::move(bytes), std::move(checksum)});
  lock.unlock();
  wake_.notify_one();
}

void local_copier::settle() {
  std::unique_lock lock(mutex_);
  idle_.wait(lock, [&] { return queue_.empty() && !writing_; });
}

void local_copier::run() {
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left
    job j = std::move(queue_.front());
    queue_.pop_front();
    writing_ = true;
    lock.unlock();
    write(j);
    lock.lock();
    writing_ = false;
    queued_bytes_ -= j.bytes->size();
    idle_.notify_all();
  }
}

// Nothing escapes the thread: a copy that cannot be written is what a store that cannot be
// written is to get_or_compute, a failure counted, the value served all the same.
void local_copier::write(job& j) {
  entry_id id = j.id;
  id.name = j.name;  // the caller's name is gone by now
  try {
    j.to->store(id, std::string_view(j.bytes->data(), j.bytes->size()), false, j.checksum);
  } catch (...) {
    counters_.store_failures.fetch_add(1, std::memory_order_relaxed);
  }
}

}  // namespace dedup::detail
