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

#include "dedup/detail/hash.hpp"
#include "dedup/detail/pending_build.hpp"
#include "dedup/detail/stripe_lock.hpp"
#include "dedup/policy.hpp"

namespace dedup {

/// Counters of one intern table: `lookups` made, `hits` among them, and `entries` held now.
/// Misses (`lookups - hits`) are the instances the table had built.
struct table_stats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::size_t entries = 0;
};

namespace detail {
struct table_access;

/// The size and hash of the bytes an entry was built from, so that a hit on the same bytes can be
/// known to need no check (size 0: not known).
struct spelling {
  std::uint64_t hash = 0;
  std::uint32_t size = 0;
};
}  // namespace detail

/// The type-independent face of an intern table, so a context can own tables of any type.
class table_base {
 public:
  virtual ~table_base() = default;
  virtual table_stats stats() const = 0;

 private:
  friend struct detail::table_access;
  /// Removes the entry for `key` if nothing outside the table holds it (an alias always goes); used
  /// to undo the entries of a failed `from_simple`.
  virtual void erase_if_unused(std::string_view key) = 0;
};

/// A concurrent map from key bytes to one `std::shared_ptr<const T>` per key. Lookups take a shared
/// lock on one of 64 stripes, so readers of different keys never contend on one lock and readers of
/// one key only share a reader lock. On a miss the caller's `make` runs outside every lock, at most
/// once per key: a second thread asking for the same new key waits for the first one's result, and
/// takes over if the first one's `make` throws. A wait that could never end (the key met again
/// inside its own `make`, or two builds that each wait for the other) is refused instead, and that
/// occurrence is built by value, unshared: the table never hangs, whatever the keys.
///
/// ```
/// dedup::intern_table<std::string> table;
/// auto a = table.intern("HSC", [] { return std::string("HSC"); });
/// auto b = table.intern("HSC", [] { return std::string("never built"); });
/// assert(a == b);
/// ```
template <class T>
class intern_table final : public table_base {
  struct node;

 public:
  explicit intern_table(dedup::policy p = {}) : policy_(p) {}

  /// Returns the instance for `key`, calling `make()` (returning T or `std::shared_ptr<const T>`)
  /// on a miss.
  template <class Make>
  std::shared_ptr<const T> intern(std::string_view key, Make&& make) {
    std::size_t h = detail::hash_key(key);
    auto found = find_or_reserve(key, h);
    if (found.value) return std::move(found.value);
    auto value = to_shared(make());
    if (found.reservation) found.reservation.publish(value, {});
    return value;
  }

  /// The instance for `key`, or null; counts as a lookup.
  std::shared_ptr<const T> find(std::string_view key) const {
    std::size_t h = detail::hash_key(key);
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

 private:
  // The build protocol is for the deserializers only (through detail::table_access): a user who
  // held a ticket or erased an entry could break the one-build-per-key and rollback promises.
  friend struct detail::table_access;

  void erase_if_unused(std::string_view key) override {
    std::size_t h = detail::hash_key(key);
    stripe& s = stripe_of(h);
    std::shared_ptr<const T> doomed;  // destroyed after the lock is released
    node* canonical = nullptr;
    {
      std::unique_lock lock(s.mutex);
      auto it = s.map.find(probe{key, h});
      if (it == s.map.end() || !it->second.value) return;
      node& n = it->second;
      canonical = n.canonical;
      if (!canonical &&
          (n.aliases.load(std::memory_order_acquire) != 0 || n.value.use_count() != 1))
        return;
      doomed = std::move(n.value);
      s.map.erase(it);
      if (!canonical) s.entries.fetch_sub(1, std::memory_order_relaxed);
    }
    if (canonical) canonical->aliases.fetch_sub(1, std::memory_order_acq_rel);
  }

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
  /// An entry: a canonical key's instance, or an alias (another spelling's exact bytes) sharing the
  /// instance of a canonical entry, which stays while it has aliases.
  struct node {
    // What a hit reads comes first, next to the key: one cache line.
    std::shared_ptr<const T> value;
    node* canonical = nullptr;  // for an alias: the entry it stands for
    std::atomic<std::uint32_t> aliases{0};
    detail::spelling bytes;  // the bytes it was built from, to recognize them again
    std::shared_ptr<detail::pending_build> pending;  // set while the first reader builds the value
    std::string origin;  // where the value was first read, in verify mode
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

    /// Publishes the value and returns its entry; `bytes` identifies the bytes it was read from.
    const node* publish(std::shared_ptr<const T> value, std::string origin,
                        detail::spelling bytes = {}) {
      std::shared_ptr<detail::pending_build> pending;
      {
        std::unique_lock lock(stripe_->mutex);
        entry_->second.value = std::move(value);
        entry_->second.origin = std::move(origin);
        entry_->second.bytes = bytes;
        pending = std::move(entry_->second.pending);
        stripe_->entries.fetch_add(1, std::memory_order_relaxed);
      }
      table_ = nullptr;
      pending->finish();
      return &entry_->second;
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
      std::shared_ptr<detail::pending_build> pending;
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

  // ---- the pieces the deserializers use, through detail::table_access --------------------------

  /// Result of `find_or_reserve`: the instance on a hit (with its entry, for where it was first
  /// read and from which bytes), or a ticket obliging the caller to build it on a miss, or neither
  /// when waiting for the key's build would never end: then the caller builds by value. Public
  /// only so that detail code can name it (clang checks an alias template's access where it is
  /// used); only `detail::table_access` makes one.
 public:
  struct lookup {
    std::shared_ptr<const T> value;
    const node* entry = nullptr;
    ticket reservation;
    const std::string& origin() const { return entry->origin; }
  };

 private:
  /// One lookup by key and its hash, reserving the key for the caller on a miss. A thread that
  /// finds the key reserved by another waits for that build (if it fails, the reservation passes
  /// on), unless the wait would close a cycle.
  lookup find_or_reserve(std::string_view key, std::size_t h) {
    stripe& s = stripe_of(h);
    {
      std::shared_lock lock(s.mutex);
      auto it = s.map.find(probe{key, h});
      if (it != s.map.end() && it->second.value) {
        s.hits.fetch_add(1, std::memory_order_relaxed);
        return {it->second.value, resolve(it->second), {}};
      }
    }
    std::shared_ptr<detail::pending_build> waiting;
    {
      std::unique_lock lock(s.mutex);
      auto [it, inserted] = s.map.try_emplace(owned_key{std::string(key), h});
      if (!inserted && it->second.value) {
        s.hits.fetch_add(1, std::memory_order_relaxed);
        return {it->second.value, resolve(it->second), {}};
      }
      if (inserted) {
        s.misses.fetch_add(1, std::memory_order_relaxed);
        it->second.pending = std::make_shared<detail::pending_build>();
        return {nullptr, nullptr, ticket(this, &s, &*it)};
      }
      waiting = it->second.pending;
    }
    if (!waiting->wait()) {  // a cycle: this occurrence is built by value
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return {};
    }
    return find_or_reserve(key, h);  // the retry counts as the lookup
  }

  /// The instance of an alias (exact bytes standing for a canonical key), or null; counts a lookup
  /// only on a hit, since a miss goes on to the canonical key.
  lookup find_alias(std::string_view bytes, std::size_t h) const {
    const stripe& s = stripe_of(h);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(probe{bytes, h});
    if (it == s.map.end() || !it->second.value) return {};
    s.hits.fetch_add(1, std::memory_order_relaxed);
    return {it->second.value, resolve(it->second), {}};
  }

  /// Makes `bytes` an alias of the entry `target` (found by `find_or_reserve`, whose value the
  /// caller holds, so the entry cannot go meanwhile). Returns the table's copy of the alias key if
  /// it was added, an empty view if the alias was there already.
  std::string_view add_alias(std::string_view bytes, std::size_t h, const lookup& target) {
    node* canonical = const_cast<node*>(target.entry);
    canonical->aliases.fetch_add(1, std::memory_order_acq_rel);  // before the alias can be seen
    stripe& s = stripe_of(h);
    std::unique_lock lock(s.mutex);
    auto [it, inserted] = s.map.try_emplace(owned_key{std::string(bytes), h});
    if (!inserted) {
      lock.unlock();
      canonical->aliases.fetch_sub(1, std::memory_order_acq_rel);
      return {};
    }
    it->second.value = target.value;
    it->second.canonical = canonical;
    return it->first.bytes;
  }

  static const node* resolve(const node& n) { return n.canonical ? n.canonical : &n; }
  static std::shared_ptr<const T> to_shared(std::shared_ptr<const T> p) { return p; }
  static std::shared_ptr<const T> to_shared(T&& v) {
    return std::make_shared<const T>(std::move(v));
  }

  stripe& stripe_of(std::size_t h) { return stripes_[(h >> 52) % stripes_.size()]; }
  const stripe& stripe_of(std::size_t h) const { return stripes_[(h >> 52) % stripes_.size()]; }

  std::array<stripe, 64> stripes_;
  std::atomic<dedup::policy> policy_;
};

namespace detail {

/// The deserializers' door to an intern table's build protocol, kept out of the table's public
/// face: reserve a key, build, publish (through the returned ticket), alias, and take back.
///
/// ```
/// dedup::intern_table<std::string> table;
/// std::string_view key = "HSC";
/// std::size_t h = dedup::detail::hash_key(key);
/// auto found = dedup::detail::table_access::find_or_reserve(table, key, h);
/// if (!found.value && found.reservation)
///   found.reservation.publish(std::make_shared<const std::string>(key), {});
/// ```
struct table_access {
  /// What `find_or_reserve` and `find_alias` return: value and entry on a hit, else a ticket.
  template <class T>
  using lookup = typename intern_table<T>::lookup;

  template <class T>
  static lookup<T> find_or_reserve(intern_table<T>& t, std::string_view key, std::size_t h) {
    return t.find_or_reserve(key, h);
  }
  template <class T>
  static lookup<T> find_alias(const intern_table<T>& t, std::string_view bytes, std::size_t h) {
    return t.find_alias(bytes, h);
  }
  template <class T>
  static std::string_view add_alias(intern_table<T>& t, std::string_view bytes, std::size_t h,
                                    const lookup<T>& target) {
    return t.add_alias(bytes, h, target);
  }
  static void erase_if_unused(table_base& t, std::string_view key) { t.erase_if_unused(key); }
};

}  // namespace detail
}  // namespace dedup
