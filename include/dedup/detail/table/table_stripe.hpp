// The parts of an intern table: its keys, entries and stripes, and what budgets and weak entries do
// to one stripe (evict the least recently used unheld entry, drop a dead weak instance's entry).
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "dedup/detail/table/pending_build.hpp"
#include "dedup/detail/table/stripe_lock.hpp"
#include "dedup/detail/table/table_budget.hpp"

namespace dedup::detail {

/// The size and hash of the bytes an entry was built from, so that a hit on the same bytes can be
/// known to need no check (size 0: not known).
struct spelling {
  std::uint64_t hash = 0;
  std::uint32_t size = 0;
};

/// A table's own copy of a key, with its hash; `key_probe` is a key looked up without a copy.
struct owned_key {
  std::string bytes;
  std::size_t hash;
};
struct key_probe {
  std::string_view bytes;
  std::size_t hash;
};
struct key_hash {
  using is_transparent = void;
  std::size_t operator()(const owned_key& k) const noexcept { return k.hash; }
  std::size_t operator()(const key_probe& k) const noexcept { return k.hash; }
};
struct key_equal {
  using is_transparent = void;
  static std::string_view view(const owned_key& k) { return k.bytes; }
  static std::string_view view(const key_probe& k) { return k.bytes; }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const noexcept {
    return view(a) == view(b);
  }
};

/// The key of an alias, in the list its canonical entry keeps so that eviction can take the value
/// with all its aliases. Links are pushed once, never changed, and freed with the entry; an alias
/// removed on its own leaves its link, which eviction then no longer finds in the table.
struct alias_link {
  owned_key key;
  const alias_link* next = nullptr;
};

/// An entry: a canonical key's instance, or an alias (another spelling's exact bytes) sharing the
/// instance of a canonical entry, which stays while it has aliases. A weak entry holds `weak`, not
/// `value`.
template <class T>
struct table_node {
  // What a hit reads comes first, next to the key: one cache line.
  std::shared_ptr<const T> value;
  table_node* canonical = nullptr;  // for an alias: the entry it stands for
  std::atomic<std::uint32_t> aliases{0};
  spelling bytes;                          // the bytes it was built from, to recognize them again
  std::shared_ptr<pending_build> pending;  // set while the first reader builds the value
  mutable std::atomic<std::uint32_t> tick{0};  // the meter's clock at the last hit, under a budget
  std::uint32_t size = 0;                      // the estimate the meter counted for it
  std::string origin;                          // where the value was first read, in verify mode
  // Weak tracking: the instance, and its address as the identity its release looks for.
  std::weak_ptr<const T> weak;
  const T* weak_object = nullptr;
  // For a canonical entry under a budget: its aliases' keys.
  std::atomic<const alias_link*> alias_keys{nullptr};

  table_node() = default;
  table_node(const table_node&) = delete;
  table_node& operator=(const table_node&) = delete;
  ~table_node() {
    for (const alias_link* l = alias_keys.load(std::memory_order_relaxed); l;)
      delete std::exchange(l, l->next);
  }
};

/// Adds the alias key `bytes` to the list of `canonical`, unless it is there; lock-free, as the
/// caller holds the lock of the alias's stripe, not of the canonical entry's.
///
/// ```text
/// remember_alias(*canonical, alias_key, alias_hash);  // after the alias entry was added
/// ```
template <class T>
void remember_alias(table_node<T>& canonical, std::string_view bytes, std::size_t hash) {
  const alias_link* head = canonical.alias_keys.load(std::memory_order_acquire);
  for (const alias_link* l = head; l; l = l->next)
    if (l->key.hash == hash && l->key.bytes == bytes) return;
  auto* link = new alias_link{{std::string(bytes), hash}, head};
  while (!canonical.alias_keys.compare_exchange_weak(link->next, link, std::memory_order_release,
                                                     std::memory_order_acquire)) {
  }
}

template <class T>
struct alignas(64) table_stripe {
  using map_type = std::unordered_map<owned_key, table_node<T>, key_hash, key_equal>;
  mutable stripe_lock mutex;
  map_type map;
  // Lookups are hits + misses, so that a hit costs one counter update, not two.
  mutable std::atomic<std::uint64_t> hits{0};
  mutable std::atomic<std::uint64_t> misses{0};
  std::atomic<std::size_t> entries{0};
};

template <class T>
using table_stripes = std::array<table_stripe<T>, 64>;

inline std::size_t stripe_index(std::size_t hash) {
  return (hash >> 52) % 64;
}

/// Whether nothing but the table holds the entry's instance (an alias only shares its canonical
/// entry's, so it may always go); checked under the stripe's exclusive lock, where no one can take
/// a new share.
template <class T>
bool evictable(const table_node<T>& n) {
  if (!n.value) return false;  // being built, or weak
  return n.canonical ||
         (n.aliases.load(std::memory_order_acquire) == 0 && n.value.use_count() == 1);
}

/// Whether a canonical entry's value is held by the table and its aliases only, so that it may go
/// with them; an estimate (an alias being added is counted before it holds the value), which
/// `evictable` checks again once the aliases are gone.
template <class T>
bool evictable_with_aliases(const table_node<T>& n) {
  return n.value && !n.canonical &&
         n.value.use_count() == 1 + static_cast<long>(n.aliases.load(std::memory_order_acquire));
}

/// Removes the aliases of `canonical` named in `keys` (those still there), each under its own
/// stripe's lock; their bytes leave the budget, but only the value counts as evicted.
template <class T>
void drop_aliases(table_stripes<T>& stripes, const table_node<T>* canonical,
                  const std::vector<owned_key>& keys, table_meter& meter) {
  for (const owned_key& k : keys) {
    table_stripe<T>& s = stripes[stripe_index(k.hash)];
    std::shared_ptr<const T> doomed;  // released after the lock, like every value leaving
    std::uint32_t size = 0;
    {
      std::unique_lock lock(s.mutex);
      auto it = s.map.find(key_probe{k.bytes, k.hash});
      if (it == s.map.end() || it->second.canonical != canonical) continue;
      size = it->second.size;
      doomed = std::move(it->second.value);
      s.map.erase(it);
    }
    meter.released(size, false);
    // The canonical entry lives until this count reaches 0: it still counts this alias.
    const_cast<table_node<T>*>(canonical)->aliases.fetch_sub(1, std::memory_order_acq_rel);
  }
}

/// The least recently used canonical entry among up to 16 entries sampled from a pseudo-random
/// bucket of `s` on (Redis's approximate LRU) whose value only the table holds; end if none.
/// Aliases are not candidates: a hit on one stamps its canonical entry.
template <class T>
auto oldest_evictable(table_stripe<T>& s, std::uint32_t now) {
  constexpr int sample = 16;
  std::size_t buckets = s.map.bucket_count();
  if (s.map.empty() || buckets == 0) return s.map.end();
  std::size_t start = (now * 0x9E3779B97F4A7C15ull >> 32) % buckets;
  const owned_key* oldest = nullptr;
  std::uint32_t oldest_age = 0;
  int seen = 0;
  for (std::size_t i = 0; i < buckets && seen < sample; ++i) {
    std::size_t b = (start + i) % buckets;
    for (auto it = s.map.begin(b); it != s.map.end(b) && seen < sample; ++it, ++seen) {
      std::uint32_t age = now - it->second.tick.load(std::memory_order_relaxed);
      if (evictable_with_aliases(it->second) && (!oldest || age > oldest_age)) {
        oldest = &it->first;
        oldest_age = age;
      }
    }
  }
  return oldest ? s.map.find(key_probe{oldest->bytes, oldest->hash}) : s.map.end();
}

/// Evicts the least recently used value of a sample of `s` that nobody outside the table holds,
/// with its aliases (in other stripes: taken one by one, with no lock of `s` held); false if the
/// sample held none, or if the value was taken meanwhile (its aliases are gone then, the value
/// stays).
template <class T>
bool evict_in(table_stripes<T>& stripes, table_stripe<T>& s, table_meter& meter) {
  std::shared_ptr<const T> doomed;  // released after the lock, like every value leaving
  std::uint32_t size = 0;
  owned_key key;
  std::vector<owned_key> aliases;
  const table_node<T>* chosen = nullptr;
  {
    std::unique_lock lock(s.mutex);
    auto it = oldest_evictable(s, meter.now());
    if (it == s.map.end()) return false;
    if (it->second.aliases.load(std::memory_order_acquire) != 0) {
      key = it->first;
      chosen = &it->second;
      for (auto* l = chosen->alias_keys.load(std::memory_order_acquire); l; l = l->next)
        aliases.push_back(l->key);
    } else {
      size = it->second.size;
      doomed = std::move(it->second.value);
      s.map.erase(it);
      s.entries.fetch_sub(1, std::memory_order_relaxed);
    }
  }
  if (chosen) {
    drop_aliases(stripes, chosen, aliases, meter);
    std::unique_lock lock(s.mutex);
    auto it = s.map.find(key_probe{key.bytes, key.hash});
    if (it == s.map.end() || it->second.canonical || !evictable(it->second)) return false;
    size = it->second.size;
    doomed = std::move(it->second.value);
    s.map.erase(it);
    s.entries.fetch_sub(1, std::memory_order_relaxed);
  }
  meter.released(size, true);
  meter.evicted();
  return true;
}

/// The estimated bytes of an entry: its key, the JSON it was read from (where known), the
/// instance and its control block for a canonical entry, and the table's node and bucket.
template <class T>
std::size_t entry_estimate(std::size_t key, std::size_t json, bool canonical) {
  return key + json + sizeof(typename table_stripe<T>::map_type::value_type) + 2 * sizeof(void*) +
         (canonical ? sizeof(T) + 2 * sizeof(void*) : 0);
}

/// Evicts one value nobody outside the table holds, with its aliases, the least recently used of
/// a sample of each stripe in turn from `cursor` on; false if no stripe had one.
template <class T>
bool evict_sampled(table_stripes<T>& stripes, std::atomic<std::size_t>& cursor,
                   table_meter& meter) {
  for (std::size_t i = 0; i < stripes.size(); ++i) {
    std::size_t next = cursor.fetch_add(1, std::memory_order_relaxed) % stripes.size();
    if (evict_in(stripes, stripes[next], meter)) return true;
  }
  return false;
}

/// Lists every alias in its canonical entry's keys, for a table whose budget begins now (aliases
/// added without a budget were not listed). Under each stripe's exclusive lock in turn.
template <class T>
void remember_aliases(table_stripes<T>& stripes) {
  for (table_stripe<T>& s : stripes) {
    std::unique_lock lock(s.mutex);
    for (auto& [key, n] : s.map)
      if (n.canonical) remember_alias(*n.canonical, key.bytes, key.hash);
  }
}

/// A weak entry's instance if it is still alive (a hit, counted), else null.
template <class T>
std::shared_ptr<const T> weak_hit(const table_stripe<T>& s, const table_node<T>& n) {
  if (!n.weak_object) return nullptr;
  std::shared_ptr<const T> alive = n.weak.lock();
  if (alive) s.hits.fetch_add(1, std::memory_order_relaxed);
  return alive;
}

/// Clears an entry whose weak instance is gone, under the stripe's exclusive lock, so that its
/// deleter (on its way) leaves the node, which the caller reserves for a new build.
template <class T>
void take_over_expired(table_stripe<T>& s, table_node<T>& n, table_meter& meter) {
  n.weak.reset();
  n.weak_object = nullptr;
  s.entries.fetch_sub(1, std::memory_order_relaxed);
  meter.released(std::exchange(n.size, 0), true);
}

/// What weak instances reach their table through: the stripes and meter, null once the table is
/// gone (its destructor clears them under the exclusive lock; deleters read them under a shared
/// one).
template <class T>
struct weak_home {
  weak_home(table_stripes<T>* s, table_meter* m) : stripes(s), meter(m) {}
  std::shared_mutex mutex;
  table_stripes<T>* stripes;
  table_meter* meter;
};

/// Removes the entry of the dead weak instance `object` with key hash `h`, if an entry still
/// refers to it (one replaced meanwhile refers to a new instance, at another address, since this
/// one is not yet freed).
template <class T>
void drop_weak(table_stripes<T>& stripes, table_meter& meter, std::size_t h, const T* object) {
  table_stripe<T>& s = stripes[stripe_index(h)];
  std::uint32_t size = 0;
  bool found = false;
  {
    std::unique_lock lock(s.mutex);
    std::size_t b = s.map.bucket(owned_key{std::string(), h});
    for (auto it = s.map.begin(b); it != s.map.end(b); ++it) {
      if (it->first.hash != h || it->second.weak_object != object) continue;
      size = it->second.size;
      s.map.erase(s.map.find(key_probe{it->first.bytes, h}));
      s.entries.fetch_sub(1, std::memory_order_relaxed);
      found = true;
      break;
    }
  }
  if (found) meter.released(size, true);
}

/// The deleter of a weak instance: removes its entry, then releases the instance. It runs where
/// the last holder let go, with no table lock held, so the entry's lock is never taken twice.
template <class T>
struct weak_release {
  std::shared_ptr<weak_home<T>> home;
  std::size_t hash;
  std::shared_ptr<const T> inner;
  void operator()(const T* object) {
    {
      std::shared_lock lock(home->mutex);
      if (home->stripes) drop_weak(*home->stripes, *home->meter, hash, object);
    }
    inner.reset();  // may release other weak instances: no lock is held here
  }
};

/// The handle a weak table hands out for `value`: its last release removes the entry.
template <class T>
std::shared_ptr<const T> make_weak(const std::shared_ptr<weak_home<T>>& home,
                                   std::shared_ptr<const T> value, std::size_t h) {
  const T* object = value.get();
  return std::shared_ptr<const T>(object, weak_release<T>{home, h, std::move(value)});
}

}  // namespace dedup::detail
