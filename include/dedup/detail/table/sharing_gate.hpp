// Whether a context's tables are still private to the thread that made it, and the switch to the
// shared protocol when a second thread joins.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <thread>

#if defined(__linux__)
#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "dedup/detail/api.hpp"

namespace dedup::detail {

/// A number for the calling thread, given on first use and never reused (a thread-local's address
/// can be: a new thread may get a finished one's).
DEDUP_API inline std::uint64_t this_thread_number() noexcept {
  static std::atomic<std::uint64_t> next{1};
  thread_local std::uint64_t number = 0;
  if (number == 0) [[unlikely]]
    number = next.fetch_add(1, std::memory_order_relaxed);
  return number;
}

/// Whether the kernel offers the process-wide barrier the switch needs (Linux 4.14 and later);
/// asked once per process. Without it every context is shared from the start.
DEDUP_API inline bool process_barrier_available() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
  static const bool available =
      syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
  return available;
#else
  return false;
#endif
}

/// Makes every thread of the process that is running now pass a full memory barrier (the
/// expensive half of an asymmetric Dekker pair: the owner's half is a compiler barrier only).
inline void process_barrier() noexcept {
#if defined(__linux__) && defined(__NR_membarrier)
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) == 0) return;
  if (syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) return;
#endif
  // Registered but refused: continuing could race, so stop loudly instead.
  std::fputs("dedup: the process-wide memory barrier failed\n", stderr);
  std::terminate();
}

/// The protocol of a context's tables. Private: only the thread that made the context uses them,
/// so a lookup takes no lock and counts with plain stores, not atomic read-modify-writes (which
/// were most of a hit). Shared: the stripe locks and atomic counters. The switch is one way and
/// happens before a second thread touches a table (`scope{ctx}` on another thread, or any table
/// operation from one), while the owner may be in the middle of an operation: the first joiner
/// marks the switch, makes every running thread pass a memory barrier, then waits for the owner to
/// leave the operation it is in (never long: private operations run no user code and never wait).
/// After that every operation of the owner sees the switch and takes the locks.
///
/// ```
/// dedup::detail::sharing_gate gate;
/// if (gate.enter_private()) gate.leave_private();  // the owner's lock-free operation
/// std::thread([&] { gate.share_if_foreign(); }).join();  // a second thread: shared from now on
/// assert(!gate.enter_private());
/// ```
class sharing_gate {
 public:
  sharing_gate() noexcept : state_(process_barrier_available() ? owned : shared) {}
  sharing_gate(const sharing_gate&) = delete;
  sharing_gate& operator=(const sharing_gate&) = delete;

  /// Starts one table operation; true if it may go without locks (then `leave_private` ends it).
  /// A thread other than the owner makes the tables shared first.
  bool enter_private() noexcept {
    std::uint8_t now = state_.load(std::memory_order_acquire);  // a plain load on x86
    if (now == shared) return false;
    if (owner_ != this_thread_number()) {
      share();  // also when another thread is switching: wait until the owner is out
      return false;
    }
    if (now != owned) return false;  // the owner during a switch: the locks are safe
    busy_.store(true, std::memory_order_relaxed);
    std::atomic_signal_fence(std::memory_order_seq_cst);  // the joiner's barrier does the rest
    if (state_.load(std::memory_order_relaxed) != owned) [[unlikely]] {
      busy_.store(false, std::memory_order_release);
      return false;
    }
    return true;
  }
  void leave_private() noexcept { busy_.store(false, std::memory_order_release); }

  /// Called before a thread other than the owner uses the tables: from then on they are shared.
  void share_if_foreign() noexcept {
    if (state_.load(std::memory_order_acquire) != shared && owner_ != this_thread_number()) share();
  }

  /// Whether the tables are shared (a second thread joined, or the kernel lacks the barrier).
  bool is_shared() const noexcept { return state_.load(std::memory_order_acquire) != owned; }
  /// Whether the caller is the owner of tables no other thread has joined.
  bool owned_by_caller() const noexcept { return !is_shared() && owner_ == this_thread_number(); }

 private:
  enum : std::uint8_t { owned, switching, shared };

  void share() noexcept {
    std::uint8_t expected = owned;
    if (state_.compare_exchange_strong(expected, switching, std::memory_order_seq_cst)) {
      process_barrier();  // the owner's `busy_ = true` is visible now, or it will see the switch
      while (busy_.load(std::memory_order_acquire)) std::this_thread::yield();
      state_.store(shared, std::memory_order_release);
      return;
    }
    while (state_.load(std::memory_order_acquire) != shared) std::this_thread::yield();
  }

  const std::uint64_t owner_ = this_thread_number();
  std::atomic<std::uint8_t> state_;
  std::atomic<bool> busy_{false};
};

/// One table operation's passage through a gate: private (no locks, plain counters) when the
/// table allows it and the gate lets the caller through, shared otherwise; ends with the object.
///
/// ```
/// dedup::detail::sharing_gate gate;
/// {
///   dedup::detail::gate_pass pass(&gate, true);
///   assert(pass.is_private());
/// }
/// ```
class gate_pass {
 public:
  gate_pass(sharing_gate* gate, bool table_allows) noexcept
      : gate_(gate && table_allows && gate->enter_private() ? gate : nullptr) {}
  gate_pass(const gate_pass&) = delete;
  gate_pass& operator=(const gate_pass&) = delete;
  ~gate_pass() {
    if (gate_) gate_->leave_private();
  }
  bool is_private() const noexcept { return gate_ != nullptr; }

 private:
  sharing_gate* gate_;
};

/// Adds `n` to a table counter and returns its new value: one atomic read-modify-write, or a plain
/// load and store when the caller is the table's only user (still an atomic, so a thread reading
/// stats never races).
template <class U>
U add_to(std::atomic<U>& counter, U n, bool only_user) noexcept {
  if (!only_user) return counter.fetch_add(n, std::memory_order_relaxed) + n;
  U now = counter.load(std::memory_order_relaxed) + n;
  counter.store(now, std::memory_order_relaxed);
  return now;
}

}  // namespace dedup::detail
