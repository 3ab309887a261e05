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
#include "dedup/detail/table/bytes_memo.hpp"
#include "dedup/detail/table/pending_build.hpp"
#include "dedup/detail/table/sharing_gate.hpp"
#include "dedup/detail/table/stripe_lock.hpp"
#include "dedup/detail/table/table_budget.hpp"
#include "dedup/detail/table/table_stripe.hpp"
#include "dedup/detail/table/tuning_memory.hpp"
#include "dedup/policy.hpp"
#include "dedup/table_stats.hpp"

namespace dedup {

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
    if (judge_.reports() && judged(policy())) {
      table_stats seen = stats();
      judge_.report(seen.lookups, seen.hits);
    }
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
    if (gate_) gate_->share_if_foreign();
    if (b.limited()) {
      entries_vanish();
      detail::remember_aliases(stripes_);  // eviction takes a value with all its aliases
    }
    meter_.set(b);
    budgeted_.store(b.limited(), std::memory_order_relaxed);
  }

  /// The instance for `key`, or null; counts as a lookup.
  std::shared_ptr<const T> find(std::string_view key) const {
    std::size_t h = detail::hash_key(key);
    const stripe& s = stripe_of(h);
    detail::gate_pass pass = enter();
    std::shared_lock lock(s.mutex, std::defer_lock);
    if (!pass.is_private()) lock.lock();
    auto it = s.map.find(probe{key, h});
    std::shared_ptr<const T> value;
    if (it != s.map.end()) value = it->second.value ? it->second.value : it->second.weak.lock();
    detail::add_to(value ? s.hits : s.misses, std::uint64_t{1}, pass.is_private());
    if (!value) return nullptr;
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
    out.tuned_off = judge_.tuned_off() && judged(policy());
    return out;
  }

  std::size_t size() const { return stats().entries; }
  dedup::policy policy() const { return policy_.load(std::memory_order_relaxed); }
  void set_policy(dedup::policy p) {
    if (gate_) gate_->share_if_foreign();
    if (p.tracking == tracking::weak) entries_vanish();
    policy_.store(p, std::memory_order_relaxed);
  }

 private:
  // The build protocol is for the deserializers only (through detail::table_access): a user who
  // held a ticket or erased an entry could break the one-build-per-key and rollback promises.
  friend struct detail::table_access;

  void erase_if_unused(std::string_view key) override {
    if (gate_) gate_->share_if_foreign();
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
      std::shared_ptr<detail::pending_build> pending;
      bool alone = false;  // no other thread can be waiting for the build: none has joined
      {
        detail::gate_pass pass = t.enter();
        alone = pass.is_private();
        if (pass.is_private()) {
          t.meter_.admit_private(size, true);
        } else if (!t.meter_.admit(size, true, [&t] { return t.evict_sampled(); })) {
          withdraw();
          return nullptr;
        }
        std::unique_lock lock(stripe_->mutex, std::defer_lock);
        if (!pass.is_private()) lock.lock();
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
        detail::add_to(stripe_->entries, std::size_t{1}, pass.is_private());
      }
      table_ = nullptr;
      if (!alone) pending->finish();
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
      detail::gate_pass pass = enter();
      if (pass.is_private()) return find_or_reserve_private(s, key, h);
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

  /// `find_or_reserve` for the owner of a private table: no lock, and no wait, since every build
  /// under way is the caller's own, so meeting one closes a cycle (built by value).
  lookup find_or_reserve_private(stripe& s, std::string_view key, std::size_t h) {
    auto it = s.map.find(probe{key, h});
    if (it != s.map.end() && it->second.value) {
      detail::add_to(s.hits, std::uint64_t{1}, true);
      return {it->second.value, resolve(it->second), {}};
    }
    detail::add_to(s.misses, std::uint64_t{1}, true);
    if (it != s.map.end()) return {};
    it = s.map.try_emplace(owned_key{std::string(key), h}).first;
    it->second.pending = std::make_shared<detail::pending_build>();
    return {nullptr, nullptr, ticket(this, &s, &*it)};
  }

  /// The instance of an alias (exact bytes standing for a canonical key), or null; counts a lookup
  /// only on a hit, since a miss goes on to the canonical key.
  lookup find_alias(std::string_view bytes, std::size_t h) const {
    const stripe& s = stripe_of(h);
    detail::gate_pass pass = enter();
    std::shared_lock lock(s.mutex, std::defer_lock);
    if (!pass.is_private()) lock.lock();
    auto it = s.map.find(probe{bytes, h});
    if (it == s.map.end() || !it->second.value) return {};
    detail::add_to(s.hits, std::uint64_t{1}, pass.is_private());
    touch(*resolve(it->second));  // the value's age: eviction samples canonical entries only
    return {it->second.value, resolve(it->second), {}};
  }

  /// Makes `bytes` an alias of the entry `target` (found by `find_or_reserve`, whose value the
  /// caller holds, so the entry cannot go meanwhile). Returns the table's copy of the alias key if
  /// it was added, an empty view if the alias was there already.
  /// Weak tables keep no aliases: an alias would have to go with its canonical entry's instance.
  std::string_view add_alias(std::string_view bytes, std::size_t h, const lookup& target) {
    if (policy().tracking == tracking::weak) return {};
    std::size_t size = estimate(bytes.size(), 0, false);
    detail::gate_pass pass = enter();
    if (pass.is_private())
      meter_.admit_private(size, false);
    else if (!meter_.admit(size, false, [this] { return evict_sampled(); }))
      return {};
    node* canonical = const_cast<node*>(target.entry);
    if (pass.is_private())
      detail::add_to(canonical->aliases, std::uint32_t{1}, true);
    else
      canonical->aliases.fetch_add(1, std::memory_order_acq_rel);  // before the alias can be seen
    stripe& s = stripe_of(h);
    std::unique_lock lock(s.mutex, std::defer_lock);
    if (!pass.is_private()) lock.lock();
    auto [it, inserted] = s.map.try_emplace(owned_key{std::string(bytes), h});
    if (!inserted) {
      if (lock.owns_lock()) lock.unlock();
      canonical->aliases.fetch_sub(1, std::memory_order_acq_rel);
      meter_.released(size, false);
      return {};
    }
    it->second.value = target.value;
    it->second.canonical = canonical;
    it->second.size = static_cast<std::uint32_t>(size);
    it->second.tick.store(meter_.now(), std::memory_order_relaxed);
    if (budgeted_.load(std::memory_order_relaxed))
      detail::remember_alias(*canonical, it->first.bytes, h);
    return it->first.bytes;
  }

  static const node* resolve(const node& n) { return n.canonical ? n.canonical : &n; }

  // ---- the self-tuning policy (policy::adaptive) ----------------------------------------------

  /// Makes this a context's table of the type in `slot`, in a context made at `site`: it shares
  /// the context's gate, and an adaptive type is judged with the process's tuning memory (see
  /// `detail::type_judge`). Called before any other thread can see the table.
  void attach(detail::sharing_gate* gate, std::size_t slot, std::uint64_t site) {
    gate_ = gate;
    dedup::policy p = policy();
    if (p.enabled && judged(p)) judge_.attach(slot, site);
  }

  /// Whether the self-tuning policy judges this table under `p`: adaptive, and neither of the
  /// settings that say the user chose how it is kept (a budget, weak entries). Verify mode is
  /// judged like any run, so that a test run with DEDUP_VERIFY=1 behaves as production does.
  bool judged(const dedup::policy& p) const { return p.adaptive && !entries_may_vanish(); }

  /// One operation's passage: private for the owner of a context no other thread has joined, on a
  /// table whose entries never leave by themselves (no budget, no weak entries, whose deleters
  /// run on any thread).
  detail::gate_pass enter() const { return detail::gate_pass(gate_, !entries_may_vanish()); }
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
  detail::sharing_gate* gate_ = nullptr;  // its context's, or null: a table of its own is shared
  std::unique_ptr<detail::bytes_memo<node>> memo_;  // made and read by the owner of a private table
  detail::type_judge judge_;
};

}  // namespace dedup
