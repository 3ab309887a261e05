// A value being built for a reserved intern-table key, and the wait-for graph that keeps waiting
// for one from ever closing a cycle.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "dedup/detail/api.hpp"

namespace dedup::detail {

struct pending_build;

/// One thread as a builder: what it waits for, if anything. Shared, so that a build can name its
/// builder for as long as anyone can see the build, whatever happens to the thread.
struct builder {
  const pending_build* waiting_on = nullptr;  // guarded by wait_graph_mutex()
};

/// Guards every `builder::waiting_on`. Taken only by threads about to wait for another's build (a
/// rare, slow path), never on a hit or a miss.
DEDUP_API inline std::mutex& wait_graph_mutex() {
  static std::mutex m;
  return m;
}

DEDUP_API inline const std::shared_ptr<builder>& this_builder() {
  thread_local const std::shared_ptr<builder> me = std::make_shared<builder>();
  return me;
}

/// The build of one reserved key: its builder, and a latch the waiters sleep on until the value is
/// published or the reservation withdrawn.
struct pending_build {
  std::shared_ptr<builder> owner = this_builder();
  mutable std::mutex mutex;
  std::condition_variable done_cv;
  bool done = false;

  void finish() {
    {
      std::lock_guard lock(mutex);
      done = true;
    }
    done_cv.notify_all();
  }

  bool finished() const {
    std::lock_guard lock(mutex);
    return done;
  }

  /// Waits until the build is finished and returns true, or returns false at once when waiting
  /// would never end: the build is this thread's own (a key met again while building it, as a tree
  /// whose key leaves out its children can), or its builder waits, directly or through others,
  /// for a build of this thread's. The caller then builds its value by value instead.
  bool wait() {
    const std::shared_ptr<builder>& me = this_builder();
    {
      std::lock_guard graph(wait_graph_mutex());
      for (const pending_build* at = this; at && !at->finished(); at = at->owner->waiting_on)
        if (at->owner == me) return false;
      me->waiting_on = this;
    }
    {
      std::unique_lock lock(mutex);
      done_cv.wait(lock, [&] { return done; });
    }
    std::lock_guard graph(wait_graph_mutex());
    me->waiting_on = nullptr;
    return true;
  }
};

}  // namespace dedup::detail
