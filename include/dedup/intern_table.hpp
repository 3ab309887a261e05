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
#include "dedup/detail/table_budget.hpp"
#include "dedup/detail/table_stripe.hpp"
#include "dedup/policy.hpp"

namespace dedup {

/// Counters of one intern table: `lookups` made, `hits` among them, and `entries` held now.
/// Misses (`lookups - hits`) are the instances the table had built. Under a budget, `evictions`
/// counts entries `rotate` removed and `refusals` the values returned unshared because they did not
/// fit; `bytes` is the table's estimated size now and `peak_bytes` the largest it has been.
struct table_stats {
  std::uint64_t lookups = 0;
  std::uint64_t hits = 0;
  std::size_t entries = 0;
  std::uint64_t evictions = 0;
  std::uint64_t refusals = 0;
  std::size_t bytes = 0;
  std::size_t peak_bytes = 0;
};

namespace detail {
struct table_access;

}  // namespace detail

/// The type-independent face of an intern table, so a context can own tables of any type.
class table_base {
 public:
  virtual ~table_base() = default;
  virtual table_stats stats() const = 0;

  /// Whether entries can leave the table before its scope ends (a budget, weak tracking), so that
  /// a journal must keep its own copy of the keys it records.
  bool entries_may_vanish() const noexcept { return vanishing_.load(std::memory_order_relaxed); }

 protected:
  void entries_vanish() noexcept { vanishing_.store(true, std::memory_order_relaxed); }

 private:
  std::atomic<bool> vanishing_{false};
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
/// A `dedup::budget` bounds the table (see `set_budget`), and `policy::tracking` can make it hold
/// weak references only (`dedup::tracking::weak`).
///
/// ```
/// dedup::intern_table<std::string> table;
/// auto a = table.intern("HSC", [] { return std::string("HSC"); });
/// auto b = table.intern("HSC", [] { return std::string("never built"); });
/// assert(a == b);
/// ```
template <class T>
class intern_table final : public table_base {
  using node = detail::table_node<T>;
  using stripe = detail::table_stripe<T>;
  using map_type = typename stripe::map_type;
  using owned_key = detail::owned_key;
  using probe = detail::key_probe;

 public:
  explicit intern_table(dedup::policy p = {}, const dedup::budget& b = {})
      : policy_(p), home_(std::make_shared<detail::weak_home<T>>(&stripes_, &meter_)) {
    if (p.tracking == tracking::weak) entries_vanish();
    set_budget(b);
  }
  intern_table(const intern_table&) = delete;
  intern_table& operator=(const intern_table&) = delete;
  ~intern_table() override {
    std::unique_lock lock(home_->mutex);  // weak instances outliving the table no longer reach it
    home_->stripes = nullptr;
  }

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

  /// Bounds the table from now on (entries over a new, smaller bound go as new ones come). Set it
  /// before the table is in concurrent use.
  ///
  /// ```
  /// dedup::intern_table<std::string> table;
  /// table.set_budget({.max_entries = 2});  // rotate: the least recently used unheld entry goes
  /// for (std::string k : {"a", "b", "c"}) table.intern(k, [&] { return k; });
  /// assert(table.size() == 2 && table.stats().evictions == 1);
  /// ```
  void set_budget(const dedup::budget& b) {
    if (b.limited()) entries_vanish();
    meter_.set(b);
    budgeted_.store(b.limited(), std::memory_order_relaxed);
  }

  /// The instance for `key`, or null; counts as a lookup.
  std::shared_ptr<const T> find(std::string_view key) const {
    std::size_t h = detail::hash_key(key);
    const stripe& s = stripe_of(h);
    std::shared_lock lock(s.mutex);
    auto it = s.map.find(probe{key, h});
    std::shared_ptr<const T> value;
    if (it != s.map.end()) value = it->second.value ? it->second.value : it->second.weak.lock();
    if (!value) {
      s.misses.fetch_add(1, std::memory_order_relaxed);
      return nullptr;
    }
    s.hits.fetch_add(1, std::memory_order_relaxed);
    touch(it->second);
    return value;
  }

  table_stats stats() const override {
    table_stats out;
    for (const stripe& s : stripes_) {
      std::uint64_t hits = s.hits.load(std::memory_order_relaxed);
      out.lookups += hits + s.misses.load(std::memory_order_relaxed);
      out.hits += hits;
      out.entries += s.entries.load(std::memory_order_relaxed);
    }
    out.evictions = meter_.evictions();
    out.refusals = meter_.refusals();
    out.bytes = meter_.bytes();
    out.peak_bytes = meter_.peak_bytes();
    return out;
  }

  std::size_t size() const { return stats().entries; }
  dedup::policy policy() const { return policy_.load(std::memory_order_relaxed); }
  void set_policy(dedup::policy p) {
    if (p.tracking == tracking::weak) entries_vanish();
    policy_.store(p, std::memory_order_relaxed);
  }

 private:
  // The build protocol is for the deserializers only (through detail::table_access): a user who
  // held a ticket or erased an entry could break the one-build-per-key and rollback promises.
  friend struct detail::table_access;

  void erase_if_unused(std::string_view key) override {
    std::size_t h = detail::hash_key(key);
    stripe& s = stripe_of(h);
    std::shared_ptr<const T> doomed;  // destroyed after the lock is released
    node* canonical = nullptr;
    std::uint32_t size = 0;
    {
      // A weak entry (no strong value) goes by itself when its instance does.
      std::unique_lock lock(s.mutex);
      auto it = s.map.find(probe{key, h});
      if (it == s.map.end() || !detail::evictable(it->second)) return;
      node& n = it->second;
      canonical = n.canonical;
      size = n.size;
      doomed = std::move(n.value);
      s.map.erase(it);
      if (!canonical) s.entries.fetch_sub(1, std::memory_order_relaxed);
    }
    meter_.released(size, !canonical);
    if (canonical) canonical->aliases.fetch_sub(1, std::memory_order_acq_rel);
  }

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
    /// Under weak tracking `value` becomes the handle whose last release removes the entry. Over
    /// budget (and nothing to evict), the reservation is withdrawn instead and null returned:
    /// `value` stays the caller's, unshared.
    const node* publish(std::shared_ptr<const T>& value, std::string origin,
                        detail::spelling bytes = {}) {
      intern_table& t = *table_;
      const bool weak = t.policy().tracking == tracking::weak;
      if (weak) value = detail::make_weak(t.home_, std::move(value), entry_->first.hash);
      std::size_t size = t.estimate(entry_->first.bytes.size(), bytes.size, true);
      if (!t.meter_.admit(size, true, [&t] { return t.evict_sampled(); })) {
        withdraw();
        return nullptr;
      }
      std::shared_ptr<detail::pending_build> pending;
      {
        std::unique_lock lock(stripe_->mutex);
        node& n = entry_->second;
        if (weak) {
          n.weak = value;
          n.weak_object = value.get();
        } else {
          n.value = value;
        }
        n.origin = std::move(origin);
        n.bytes = bytes;
        n.size = static_cast<std::uint32_t>(size);
        n.tick.store(t.meter_.now(), std::memory_order_relaxed);
        pending = std::move(n.pending);
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
      if (it != s.map.end()) {
        if (it->second.value) {
          s.hits.fetch_add(1, std::memory_order_relaxed);
          touch(it->second);
          return {it->second.value, resolve(it->second), {}};
        }
        if (auto alive = detail::weak_hit(s, it->second))
          return {std::move(alive), &it->second, {}};
      }
    }
    const bool refuse = meter_.strict_and_full();  // read outside the lock: it may read a file
    std::shared_ptr<detail::pending_build> waiting;
    {
      std::unique_lock lock(s.mutex);
      auto [it, inserted] = s.map.try_emplace(owned_key{std::string(key), h});
      node& n = it->second;
      if (!inserted && n.value) {
        s.hits.fetch_add(1, std::memory_order_relaxed);
        return {n.value, resolve(n), {}};
      }
      if (!inserted) {
        if (auto alive = detail::weak_hit(s, n)) return {std::move(alive), &n, {}};
        if (!n.pending) detail::take_over_expired(s, n, meter_);  // its instance is gone: a miss
      }
      if (!n.pending) {
        s.misses.fetch_add(1, std::memory_order_relaxed);
        if (refuse) return refuse_new(s, it);
        n.pending = std::make_shared<detail::pending_build>();
        return {nullptr, nullptr, ticket(this, &s, &*it)};
      }
      waiting = n.pending;
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
    touch(it->second);
    return {it->second.value, resolve(it->second), {}};
  }

  /// Makes `bytes` an alias of the entry `target` (found by `find_or_reserve`, whose value the
  /// caller holds, so the entry cannot go meanwhile). Returns the table's copy of the alias key if
  /// it was added, an empty view if the alias was there already.
  /// Weak tables keep no aliases: an alias would have to go with its canonical entry's instance.
  std::string_view add_alias(std::string_view bytes, std::size_t h, const lookup& target) {
    if (policy().tracking == tracking::weak) return {};
    std::size_t size = estimate(bytes.size(), 0, false);
    if (!meter_.admit(size, false, [this] { return evict_sampled(); })) return {};
    node* canonical = const_cast<node*>(target.entry);
    canonical->aliases.fetch_add(1, std::memory_order_acq_rel);  // before the alias can be seen
    stripe& s = stripe_of(h);
    std::unique_lock lock(s.mutex);
    auto [it, inserted] = s.map.try_emplace(owned_key{std::string(bytes), h});
    if (!inserted) {
      lock.unlock();
      canonical->aliases.fetch_sub(1, std::memory_order_acq_rel);
      meter_.released(size, false);
      return {};
    }
    it->second.value = target.value;
    it->second.canonical = canonical;
    it->second.size = static_cast<std::uint32_t>(size);
    it->second.tick.store(meter_.now(), std::memory_order_relaxed);
    return it->first.bytes;
  }

  static const node* resolve(const node& n) { return n.canonical ? n.canonical : &n; }
  static std::shared_ptr<const T> to_shared(std::shared_ptr<const T> p) { return p; }
  static std::shared_ptr<const T> to_shared(T&& v) {
    return std::make_shared<const T>(std::move(v));
  }

  stripe& stripe_of(std::size_t h) { return stripes_[detail::stripe_index(h)]; }
  const stripe& stripe_of(std::size_t h) const { return stripes_[detail::stripe_index(h)]; }

  // ---- budgets and weak entries -------------------------------------------------------------

  /// Stamps a hit entry for the LRU order, only under a budget: a hit elsewhere pays a load.
  void touch(const node& n) const {
    if (budgeted_.load(std::memory_order_relaxed))
      n.tick.store(meter_.now(), std::memory_order_relaxed);
  }

  static std::size_t estimate(std::size_t key, std::size_t json, bool canonical) {
    return detail::entry_estimate<T>(key, json, canonical);
  }
  bool evict_sampled() { return detail::evict_sampled(stripes_, cursor_, meter_); }

  /// A strict table that is full: the key is not entered, and the caller builds by value.
  lookup refuse_new(stripe& s, typename map_type::iterator it) {
    s.map.erase(it);
    meter_.refused();
    return {};
  }

  detail::table_stripes<T> stripes_;
  std::atomic<dedup::policy> policy_;
  std::atomic<bool> budgeted_{false};  // read on every hit: next to the policy, not the meter
  std::shared_ptr<detail::weak_home<T>> home_;
  std::atomic<std::size_t> cursor_{0};  // the stripe eviction samples next
  detail::table_meter meter_;
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
/// if (!found.value && found.reservation) {
///   auto value = std::make_shared<const std::string>(key);
///   found.reservation.publish(value, {});  // `value` is now the table's instance
/// }
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
