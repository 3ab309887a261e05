// dedup/intern_table.hpp: key bytes -> one shared instance, safe under concurrent use.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dedup/policy.hpp"

// xxHash, inlined (header-only, nothing to link): XXH3 hashes key bytes several times faster than
// std::hash's murmur, which matters for exact-bytes keys (whole JSON objects) and every lookup.
// Keys are short (a record is a few hundred bytes), where XXH3 is scalar anyway; pinning the long
// input kernel to SSE2 (x86-64's baseline) keeps the hash identical whatever -march says and
// avoids g++ 12's false -Wmaybe-uninitialized in its AVX-512 intrinsics under -march=native.
#if defined(__x86_64__) && !defined(XXH_VECTOR)
#define XXH_VECTOR XXH_SSE2
#endif
#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace dedup {

/// Counters of one intern table: `lookups` made, `hits` among them, and `entries` held now.
/// Misses (`lookups - hits`) are the instances the table had built.
struct table_stats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::size_t entries = 0;
};

/// The hash dedup uses for key bytes (XXH3, 64 bits).
inline std::size_t hash_key(std::string_view key) noexcept {
  return static_cast<std::size_t>(XXH3_64bits(key.data(), key.size()));
}

namespace detail {

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

}  // namespace detail

/// The type-independent face of an intern table, so a context can own tables of any type.
class table_base {
 public:
  virtual ~table_base() = default;
  virtual table_stats stats() const = 0;
  /// Removes the entry for `key` if nothing outside the table holds it; used to undo the entries
  /// of a failed `from_simple`.
  virtual void erase_if_unused(std::string_view key) = 0;
};

/// A concurrent map from key bytes to one `std::shared_ptr<const T>` per key. Lookups take a shared
/// lock on one of 64 stripes, so readers of different keys never contend on one lock and readers of
/// one key only share a reader lock. On a miss the caller's `make` runs outside every lock, at most
/// once per key: a second thread asking for the same new key waits for the first one's result, and
/// takes over if the first one's `make` throws.
///
/// ```
/// dedup::intern_table<std::string> table;
/// auto a = table.intern("HSC", [] { return std::string("HSC"); });
/// auto b = table.intern("HSC", [] { return std::string("never built"); });
/// assert(a == b);
/// ```
template <class T>
class intern_table final : public table_base {
 public:
  explicit intern_table(dedup::policy p = {}) : policy_(p) {}

  /// Returns the instance for `key`, calling `make()` (returning T or `std::shared_ptr<const T>`)
  /// on a miss.
  template <class Make>
  std::shared_ptr<const T> intern(std::string_view key, Make&& make) {
    std::size_t h = hash_key(key);
    auto found = find_or_reserve(key, h);
    if (found.value) return std::move(found.value);
    auto value = to_shared(make());
    found.reservation.publish(value, {});
    return value;
  }

  /// The instance for `key`, or null; counts as a lookup.
  std::shared_ptr<const T> find(std::string_view key) const {
    std::size_t h = hash_key(key);
    const stripe& s = stripe_of(h);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(probe{key, h});
    if (it == s.map.end() || !it->second.value) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    s.hits.fetch_add(1, std::memory_order_relaxed);
    return it->second.value;
  }

  table_stats stats() const override {
    table_stats out;
    for (const stripe& s : stripes_) {
      std::uint64_t hits = s.hits.load(std::memory_order_relaxed);
      out.lookups += hits + s.misses.load(std::memory_order_relaxed);
      out.hits += hits;
      out.entries += s.entries.load(std::memory_order_relaxed);
    }
    return out;
  }

  std::size_t size() const { return stats().entries; }
  dedup::policy policy() const { return policy_.load(std::memory_order_relaxed); }
  void set_policy(dedup::policy p) { policy_.store(p, std::memory_order_relaxed); }

  void erase_if_unused(std::string_view key) override {
    std::size_t h = hash_key(key);
    stripe& s = stripe_of(h);
    std::shared_ptr<const T> doomed;  // destroyed after the lock is released
    std::unique_lock lock(s.mutex);
    auto it = s.map.find(probe{key, h});
    if (it == s.map.end() || !it->second.value || it->second.value.use_count() != 1) return;
    doomed = std::move(it->second.value);
    s.map.erase(it);
    s.entries.fetch_sub(1, std::memory_order_relaxed);
  }

 private:
  struct build {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;
    void finish() {
      {
        std::lock_guard lock(mutex);
        done = true;
      }
      done_cv.notify_all();
    }
    void wait() {
      std::unique_lock lock(mutex);
      done_cv.wait(lock, [&] { return done; });
    }
  };
  struct owned_key {
    std::string bytes;
    std::size_t hash;
  };
  struct probe {
    std::string_view bytes;
    std::size_t hash;
  };
  struct key_hash {
    using is_transparent = void;
    std::size_t operator()(const owned_key& k) const noexcept { return k.hash; }
    std::size_t operator()(const probe& k) const noexcept { return k.hash; }
  };
  struct key_equal {
    using is_transparent = void;
    static std::string_view view(const owned_key& k) { return k.bytes; }
    static std::string_view view(const probe& k) { return k.bytes; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      return view(a) == view(b);
    }
  };
  struct node {
    std::shared_ptr<const T> value;
    std::shared_ptr<build> pending;  // set while the first reader builds the value
    std::string origin;              // where the value was first read, in verify mode
  };
  using map_type = std::unordered_map<owned_key, node, key_hash, key_equal>;
  struct alignas(64) stripe {
    mutable detail::stripe_lock mutex;
    map_type map;
    // Lookups are hits + misses, so that a hit costs one counter update, not two.
    mutable std::atomic<std::uint64_t> hits{0};
    mutable std::atomic<std::uint64_t> misses{0};
    std::atomic<std::size_t> entries{0};
  };

 public:
  /// The obligation to build the value of a reserved key: `publish` it, or let the ticket go (on
  /// an exception) and the reservation is withdrawn, waking any thread that waits for it.
  class ticket {
   public:
    ticket() = default;
    ticket(ticket&& o) noexcept
        : table_(std::exchange(o.table_, nullptr)), stripe_(o.stripe_), entry_(o.entry_) {}
    ticket& operator=(ticket&& o) noexcept {
      withdraw();
      table_ = std::exchange(o.table_, nullptr);
      stripe_ = o.stripe_;
      entry_ = o.entry_;
      return *this;
    }
    ~ticket() { withdraw(); }
    explicit operator bool() const { return table_ != nullptr; }

    void publish(std::shared_ptr<const T> value, std::string origin) {
      std::shared_ptr<build> pending;
      {
        std::unique_lock lock(stripe_->mutex);
        entry_->second.value = std::move(value);
        entry_->second.origin = std::move(origin);
        pending = std::move(entry_->second.pending);
        stripe_->entries.fetch_add(1, std::memory_order_relaxed);
      }
      table_ = nullptr;
      pending->finish();
    }
    /// The table's own copy of the key this ticket reserved: valid as long as the entry is in the
    /// table, also after `publish` (entries are nodes that never move).
    std::string_view key() const { return entry_->first.bytes; }

   private:
    friend class intern_table;
    ticket(intern_table* t, stripe* s, typename map_type::value_type* e)
        : table_(t), stripe_(s), entry_(e) {}
    void withdraw() {
      if (!table_) return;
      std::shared_ptr<build> pending;
      {
        std::unique_lock lock(stripe_->mutex);
        pending = std::move(entry_->second.pending);
        auto& map = stripe_->map;
        map.erase(map.find(probe{entry_->first.bytes, entry_->first.hash}));
      }
      table_ = nullptr;
      pending->finish();
    }
    intern_table* table_ = nullptr;
    stripe* stripe_ = nullptr;
    typename map_type::value_type* entry_ = nullptr;
  };

 public:
  // ---- the pieces the deserializers use directly ------------------------------------------------

  /// Result of `find_or_reserve`: the instance on a hit (with where it was first read, in verify
  /// mode), a ticket obliging the caller to build it on a miss, or neither when a concurrent build
  /// failed and the caller should look again.
  struct lookup {
    std::shared_ptr<const T> value;
    const std::string* origin = nullptr;
    ticket reservation;
  };

  /// One lookup by key and its hash, reserving the key for the caller on a miss. A thread that
  /// finds the key reserved by another waits for that build; if it fails, the reservation passes
  /// on.
  lookup find_or_reserve(std::string_view key, std::size_t h) {
    stripe& s = stripe_of(h);
    {
      std::shared_lock lock(s.mutex);
      auto it = s.map.find(probe{key, h});
      if (it != s.map.end() && it->second.value) {
        s.hits.fetch_add(1, std::memory_order_relaxed);
        return {it->second.value, &it->second.origin, {}};
      }
    }
    std::shared_ptr<build> waiting;
    {
      std::unique_lock lock(s.mutex);
      auto [it, inserted] = s.map.try_emplace(owned_key{std::string(key), h});
      if (!inserted && it->second.value) {
        s.hits.fetch_add(1, std::memory_order_relaxed);
        return {it->second.value, &it->second.origin, {}};
      }
      if (inserted) {
        s.misses.fetch_add(1, std::memory_order_relaxed);
        it->second.pending = std::make_shared<build>();
        return {nullptr, nullptr, ticket(this, &s, &*it)};
      }
      waiting = it->second.pending;
    }
    waiting->wait();  // the retry counts as the lookup
    return find_or_reserve(key, h);
  }

 private:
  static std::shared_ptr<const T> to_shared(std::shared_ptr<const T> p) { return p; }
  static std::shared_ptr<const T> to_shared(T&& v) {
    return std::make_shared<const T>(std::move(v));
  }

  stripe& stripe_of(std::size_t h) { return stripes_[(h >> 52) % stripes_.size()]; }
  const stripe& stripe_of(std::size_t h) const { return stripes_[(h >> 52) % stripes_.size()]; }

  std::array<stripe, 64> stripes_;
  std::atomic<dedup::policy> policy_;
};

}  // namespace dedup
