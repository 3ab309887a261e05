// The lock of one stripe of an intern table.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace dedup::detail {

/// The lock of one stripe of an intern table: a reader-writer spin lock whose shared side is one
/// atomic add to take and one to release, inlined. std::shared_mutex (pthread_rwlock) costs about
/// twice that on a hit, which is most of a hit. Sections are short (a hash lookup, an insert), and
/// waiters yield the processor after a few spins, so oversubscribed machines do not burn it.
class stripe_lock {
 public:
  void lock_shared() noexcept {
    while (state_.fetch_add(reader, std::memory_order_acquire) & writer) {
      state_.fetch_sub(reader, std::memory_order_relaxed);  // a writer holds or awaits it: wait
      for (int spins = 0; state_.load(std::memory_order_relaxed) & writer; ++spins) pause(spins);
    }
  }
  void unlock_shared() noexcept { state_.fetch_sub(reader, std::memory_order_release); }
  void lock() noexcept {
    for (int spins = 0;; ++spins) {  // claim the writer bit, keeping new readers out...
      std::uint32_t s = state_.load(std::memory_order_relaxed);
      if (!(s & writer) && state_.compare_exchange_weak(s, s | writer, std::memory_order_acquire))
        break;
      pause(spins);
    }
    for (int spins = 0; state_.load(std::memory_order_acquire) != writer; ++spins)
      pause(spins);  // ...and let readers leave
  }
  void unlock() noexcept { state_.fetch_and(~writer, std::memory_order_release); }

 private:
  static void pause(int spins) noexcept {
    if (spins > 64) std::this_thread::yield();
  }
  static constexpr std::uint32_t writer = 1, reader = 2;
  std::atomic<std::uint32_t> state_{0};
};

}  // namespace dedup::detail
