// The ordered parallel engine: work items pulled from a source under one lock, processed by worker
// threads that joined one context, results handed to one consumer in input order through a bounded
// ring. `dedup::ordered_map` and `dedup::reader` are both this engine with different policies.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/error.hpp"

namespace dedup::detail {

/// How an item's work ended, as the completion hook is told.
enum class item_outcome {
  done,       // fn returned a value
  failed,     // fn threw, or the source threw while this item was being pulled
  cancelled,  // the engine stopped before fn was started for it: it never will be
};

/// The sizes an engine runs with, already checked: `threads` >= 1, `max_queue` >= 1.
struct engine_settings {
  std::size_t threads = 1;
  std::size_t max_queue = 1;
  bool skip_bad = false;
};

/// The most worker threads an engine starts (far more threads than cores only exhaust the process).
inline constexpr std::size_t max_engine_threads = 1024;

/// The settings an engine runs with from the user's: 0 threads is one per hardware thread, 0 for
/// `max_queue` is 256 per worker; more than `max_engine_threads` is a `usage_error` naming `who`.
///
/// ```text
/// auto s = dedup::detail::settle("dedup::reader", 0, 0, false);  // {hardware threads, 256 each}
/// ```
inline engine_settings settle(const char* who, std::size_t threads, std::size_t max_queue,
                              bool skip_bad) {
  if (threads > max_engine_threads) {
    throw usage_error(std::string(who) + ": " + std::to_string(threads) +
                      " threads asked for, at most " + std::to_string(max_engine_threads));
  }
  if (!threads) threads = std::max(1u, std::thread::hardware_concurrency());
  if (!max_queue) max_queue = 256 * threads;
  return {threads, max_queue, skip_bad};
}

/// The hooks a policy may leave alone (a policy derives from this and hides what it needs).
///
/// A policy of `ordered_engine<P>` provides:
/// - `item_type`, `value_type` and `extra_type` (what a slot carries besides the value: the
/// reader's
///   journal entries and byte offset; default-constructible and movable);
/// - `bool pull(item_type&)`: the next item of the source into a worker's reused item, false at the
///   end; called under the engine's lock only, so a single-pass source is fine; an exception is
///   fatal at the index the item would have had (never skipped);
/// - `value_type apply(item_type&, std::size_t index, extra_type&)`: the work, on a worker thread,
///   without the lock, concurrently with other items;
/// - `std::exception_ptr locate(const error&, const item_type&, std::size_t index)`: what a
///   `dedup::error` (bad input) thrown by apply is rethrown (or skipped) as; any other exception
///   thrown by apply, a `storage_error` or `timeout_error` among them, is fatal, rethrown as it
///   was thrown.
///
/// Hooks with defaults here (`on_complete` and `on_stop` must not throw: nothing could catch it):
/// - `on_complete(index, outcome)`: called exactly once for every index taken (pulled, or failed
///   while pulling), on the worker that took it, after apply ended for it or when it was cancelled,
///   without the engine's lock. Indexes of one worker complete in increasing order. An item's apply
///   may wait for an earlier index's completion (a compact record waiting for a definition an
///   earlier record makes): that never deadlocks, since the smallest unfinished index waits on
///   nothing unfinished, but such a wait must also end when `on_stop` is called.
/// - `on_stop()`: called once, on the consumer's thread, after the workers were told to stop and
///   before they are joined, so that an apply blocked in a wait of the policy's own can be woken
///   (to fail: its result is never delivered). It runs concurrently with workers: synchronize.
/// - `progressed(records, extra)`: on the consumer's thread after each item delivered or skipped
///   (`records` delivered + skipped so far), and once with a null `extra` at the end of the input.
/// - `skipped(const error&)`: on the consumer's thread for each bad item skipped with skip_bad.
/// - `discard(extra_type&)`: for each item taken but never delivered, newest first, after the
///   values of all of them were destroyed and the workers joined.
///
/// ```text
/// struct squares : dedup::detail::engine_hooks {
///   using item_type = int; using value_type = int; using extra_type = std::size_t;
///   int next = 0;
///   bool pull(int& i) { i = next++; return i < 10; }
///   int apply(int& i, std::size_t, std::size_t&) { return i * i; }
///   std::exception_ptr locate(const dedup::error&, const int&, std::size_t) {
///     return std::current_exception();
///   }
/// };
/// ```
struct engine_hooks {
  void on_complete(std::size_t, item_outcome) {}
  void on_stop() {}
  template <class Extra>
  void progressed(std::size_t, const Extra*) {}
  void skipped(const error&) {}
  template <class Extra>
  void discard(Extra&) {}
};

/// The type-erased consumer's side of an engine, so that a handle names only the value type.
///
/// ```text
/// std::unique_ptr<ordered_source<int>> q = std::make_unique<ordered_engine<squares>>(...);
/// while (int* v = q->next()) use(*v);
/// ```
template <class Value>
class ordered_source {
 public:
  virtual ~ordered_source() = default;
  /// The next result, owned by the engine until the following call; null at the end.
  virtual Value* next() = 0;
  /// Stops and joins the workers; next() then returns null.
  virtual void cancel() = 0;
  virtual std::size_t delivered() const noexcept = 0;
  virtual std::size_t skipped() const noexcept = 0;
  virtual std::size_t threads() const noexcept = 0;
  virtual std::size_t most_ahead() const = 0;
  virtual std::size_t index() const noexcept = 0;
  virtual const std::shared_ptr<context>& shared_context() const noexcept = 0;
};

/// The engine: a bounded ordered queue. Item i waits in ring_[i % max_queue] until the consumer
/// takes it, and each is published on its own (a flag in its cell), so the consumer gets item i as
/// soon as it and all before it are done. A worker takes one item at a time while items are costly
/// and more at once (up to `batch_`) while they are cheap, and the consumer gives back room every
/// `batch_` items or when it waits: the lock and the wake-ups are paid once per batch where they
/// would cost as much as the work (parsing a small record), once per item where they are nothing.
///
/// ```text
/// ordered_engine<squares> e("squares", {.threads = 2, .max_queue = 8}, dedup::current());
/// while (int* v = e.next()) use(*v);
/// ```
template <class Policy>
class ordered_engine final : public ordered_source<typename Policy::value_type> {
 public:
  using item_type = typename Policy::item_type;
  using value_type = typename Policy::value_type;
  using extra_type = typename Policy::extra_type;

  /// Starts the workers in `ctx` (a fresh context if null); `args` construct the policy.
  template <class... Args>
  ordered_engine(engine_settings s, std::shared_ptr<context> ctx, Args&&... args)
      : policy_(std::forward<Args>(args)...), settings_(s), ctx_(std::move(ctx)) {
    if (!ctx_) ctx_ = std::make_shared<context>();
    // Two batches per worker fit in the queue, so a worker can work on one while the other waits.
    batch_ = std::clamp<std::size_t>(s.max_queue / (2 * s.threads), 1, 128);
    ring_ = std::make_unique<cell[]>(s.max_queue);
    try {
      for (std::size_t i = 0; i < s.threads; ++i) workers_.emplace_back([this] { work(); });
    } catch (...) {
      stop();
      throw;
    }
  }
  ordered_engine(const ordered_engine&) = delete;
  ordered_engine& operator=(const ordered_engine&) = delete;
  ~ordered_engine() override {
    stop();
    take_back_undelivered();
  }

  Policy& policy() noexcept { return policy_; }
  const Policy& policy() const noexcept { return policy_; }

  /// Makes the next result current and returns it (null at the end), rethrowing a failure that
  /// reaches the consumer after every earlier result was delivered.
  value_type* next() override {
    current_.reset();
    for (;;) {
      if (ended_) return nullptr;
      cell& c = cell_of(next_);
      if (next_ - published_ >= batch_ || !c.ready.load(std::memory_order_acquire)) {
        if (!sync()) return nullptr;
      }
      slot taken = std::move(c.result);
      c.result = slot{};
      c.ready.store(false, std::memory_order_relaxed);  // seen by workers through consumed_
      index_ = next_++;
      if (taken.value) {
        current_ = std::move(taken.value);
        ++delivered_;
        policy_.progressed(delivered_ + skipped_, &taken.extra);
        return &*current_;
      }
      if (taken.fatal || !settings_.skip_bad) {
        ended_ = true;
        stop();
        take_back_undelivered();
        std::rethrow_exception(taken.failure);
      }
      ++skipped_;
      report_skip(taken.failure);
      policy_.progressed(delivered_ + skipped_, &taken.extra);
    }
  }

  void cancel() override {
    ended_ = true;
    current_.reset();
    stop();
    take_back_undelivered();
  }

  std::size_t delivered() const noexcept override { return delivered_; }
  std::size_t skipped() const noexcept override { return skipped_; }
  std::size_t threads() const noexcept override { return workers_.size(); }
  /// The most items ever taken ahead of the consumer (in work or done and not yet consumed);
  /// never more than max_queue.
  std::size_t most_ahead() const override {
    std::lock_guard lock(mutex_);
    return most_ahead_;
  }
  /// The index of the item last delivered, or of the failure last thrown.
  std::size_t index() const noexcept override { return index_; }
  const std::shared_ptr<context>& shared_context() const noexcept override { return ctx_; }

 private:
  /// An item's result, waiting in the ring for the consumer.
  struct slot {
    bool fatal = false;  // the source failed, or fn threw something else than a dedup::error
    std::optional<value_type> value;
    std::exception_ptr failure;  // set when value is not
    extra_type extra{};
  };
  /// A place in the ring: the worker that took the item writes `result` and then sets `ready`;
  /// the consumer empties it and clears `ready` before giving the room back under the lock.
  struct cell {
    std::atomic<bool> ready{false};
    slot result;
  };
  static constexpr std::size_t nobody = static_cast<std::size_t>(-1);

  cell& cell_of(std::size_t index) { return ring_[index % settings_.max_queue]; }

  void work() {
    scope joined{ctx_};
    std::vector<item_type> items;  // reused, so items (record buffers) keep their capacity
    std::size_t batch = 1;         // grows while items are cheap
    std::unique_lock lock(mutex_);
    for (;;) {
      space_.wait(lock, [&] {
        return stopping_ || input_done_ || taken_ < consumed_ + settings_.max_queue;
      });
      if (stopping_ || input_done_) return;
      std::size_t want = std::min(batch, consumed_ + settings_.max_queue - taken_);
      if (items.size() < want) items.resize(want);
      std::size_t first = taken_, n = 0;
      slot broken;
      try {
        while (n < want && policy_.pull(items[n])) ++n;
      } catch (...) {
        broken.fatal = true;  // a source cannot be trusted to resume after it threw
        broken.failure = std::current_exception();
      }
      taken_ += n + (broken.failure ? 1 : 0);
      most_ahead_ = std::max(most_ahead_, taken_ - consumed_);
      if (n < want) {
        input_done_ = true;
        space_.notify_all();
        ready_.notify_all();  // a consumer waiting at the end learns there is nothing more
      }
      lock.unlock();
      auto start = std::chrono::steady_clock::now();
      for (std::size_t k = 0; k < n; ++k) {
        run(items[k], first + k, cell_of(first + k).result);
        publish(first + k);
      }
      if (broken.failure) {
        policy_.on_complete(first + n, item_outcome::failed);
        cell_of(first + n).result = std::move(broken);
        publish(first + n);
      }
      if (n) batch = next_batch(batch, n, std::chrono::steady_clock::now() - start);
      lock.lock();
    }
  }

  /// The size of a worker's next batch, from the `n` items its last one took: doubled while a
  /// batch takes less than a lock hand-off and a wake-up cost a hundred times over, halved when it
  /// takes far more, so that cheap items pay for the hand-offs once per batch and costly ones wait
  /// for no other item of a batch (the room left may have made the last one smaller than `batch`).
  std::size_t next_batch(std::size_t batch, std::size_t n,
                         std::chrono::steady_clock::duration took) const {
    constexpr std::chrono::steady_clock::duration cheap = std::chrono::microseconds(100);
    auto whole = took * static_cast<long>(batch) / static_cast<long>(n);  // as if `batch` items
    if (whole < cheap) return std::min(batch_, 2 * batch);
    if (whole > 4 * cheap) return std::max<std::size_t>(1, batch / 2);
    return batch;
  }

  void run(item_type& item, std::size_t index, slot& result) {
    result = slot{};
    item_outcome outcome = item_outcome::failed;
    if (cancel_.load(std::memory_order_relaxed)) {
      outcome = item_outcome::cancelled;  // stopping: what is not started never starts
      result.fatal = true;
    } else {
      try {
        result.value.emplace(policy_.apply(item, index, result.extra));
        outcome = item_outcome::done;
      } catch (const error& e) {
        result.failure = policy_.locate(e, item, index);
      } catch (...) {
        result.fatal = true;
        result.failure = std::current_exception();
      }
    }
    policy_.on_complete(index, outcome);
  }

  /// Marks item `index` ready and wakes the consumer if it waits for that item. Both sides are
  /// sequentially consistent: either the consumer sees the flag before it sleeps, or this sees
  /// the consumer waiting and wakes it under the lock, so no wake-up is lost.
  void publish(std::size_t index) {
    cell_of(index).ready.store(true, std::memory_order_seq_cst);
    if (waiting_for_.load(std::memory_order_seq_cst) == index) {
      std::lock_guard lock(mutex_);
      ready_.notify_one();
    }
  }

  void report_skip(const std::exception_ptr& failure) {
    try {
      std::rethrow_exception(failure);
    } catch (const error& e) {
      policy_.skipped(e);
    }
  }

  // ---- consumer: a cell whose flag it saw set it empties without the lock, which is safe because
  // no worker writes a cell again before `consumed_` has passed it, and `consumed_` only moves
  // under the lock.

  /// Gives back the room of the items consumed so far and, if the next one is not ready, waits
  /// for it. False at the end of the items.
  bool sync() {
    std::unique_lock lock(mutex_);
    consumed_ = published_ = next_;
    space_.notify_all();
    cell& c = cell_of(next_);
    if (c.ready.load(std::memory_order_acquire)) return true;
    // A cheap item is usually done within a few yields: a sleep and a wake-up per item would cost
    // more than the item.
    lock.unlock();
    for (int i = 0; i < 64; ++i) {
      if (c.ready.load(std::memory_order_acquire)) return true;
      std::this_thread::yield();
    }
    lock.lock();
    waiting_for_.store(next_, std::memory_order_seq_cst);
    ready_.wait(lock, [&] {
      return c.ready.load(std::memory_order_seq_cst) || (input_done_ && next_ == taken_);
    });
    waiting_for_.store(nobody, std::memory_order_relaxed);
    if (c.ready.load(std::memory_order_acquire)) return true;
    ended_ = true;  // the end: the whole input is done
    lock.unlock();
    policy_.progressed(delivered_ + skipped_, static_cast<const extra_type*>(nullptr));
    return false;
  }

  /// Hands the items taken ahead of the consumer to `discard`: values first, so that none holds
  /// another's parts, then extras, newest first. Workers joined: nothing writes the ring.
  void take_back_undelivered() {
    for (std::size_t i = next_; i < taken_; ++i) cell_of(i).result.value.reset();
    for (std::size_t i = taken_; i-- > next_;) {
      cell& c = cell_of(i);
      policy_.discard(c.result.extra);
      c.result = slot{};
      c.ready.store(false, std::memory_order_relaxed);
    }
    next_ = taken_;
  }

  void stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    cancel_.store(true, std::memory_order_relaxed);
    space_.notify_all();
    if (!stop_called_) {
      stop_called_ = true;
      policy_.on_stop();
    }
    for (std::thread& t : workers_)
      if (t.joinable()) t.join();
  }

  Policy policy_;  // the source is used under mutex_ once the workers run
  engine_settings settings_;
  std::shared_ptr<context> ctx_;

  mutable std::mutex mutex_;
  std::condition_variable space_;  // a worker may take another item, or must stop
  std::condition_variable ready_;  // the item the consumer waits for is ready, or there is none
  std::unique_ptr<cell[]> ring_;   // max_queue cells
  std::size_t batch_ = 1;          // the most items a worker takes at once
  std::size_t taken_ = 0;          // items taken by workers
  std::size_t consumed_ = 0;       // items the consumer has given the room of back
  std::size_t most_ahead_ = 0;
  bool input_done_ = false;
  bool stopping_ = false;
  std::atomic<std::size_t> waiting_for_{nobody};  // the item the consumer sleeps for
  std::atomic<bool> cancel_{false};               // read by workers between the items of a batch

  // The consumer's own state.
  bool ended_ = false;
  bool stop_called_ = false;
  std::size_t next_ = 0;       // the item to deliver next
  std::size_t published_ = 0;  // the value of consumed_ the consumer last set
  std::size_t index_ = 0;
  std::optional<value_type> current_;
  std::size_t delivered_ = 0;
  std::size_t skipped_ = 0;

  std::vector<std::thread> workers_;  // last: joined before anything they use is destroyed
};

}  // namespace dedup::detail
