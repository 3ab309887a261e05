// The memory tier of a disk cache and the counters of its statistics: what a repeated
// `get_or_compute` touches, kept header-only so that a hit is one short lock and one hash lookup
// (a plain mutex: its critical section is a lookup, and it costs less than a reader lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "dedup/detail/hash.hpp"

namespace dedup::detail {

/// What identifies an entry: its name, its minor version and the hash of its parameters (0 when
/// there are none), plus the fingerprint of its type's layout, checked rather than keyed.
///
/// ```
/// dedup::detail::entry_id id{"refs", 1, 0, 42};
/// assert(id.name == "refs");
/// ```
struct entry_id {
  std::string_view name;
  int minor = 1;
  std::uint64_t params = 0;
  std::uint64_t fingerprint = 0;
};

/// The counters behind `disk_cache_stats`, shared by the template layer and the compiled index.
struct cache_counters {
  std::atomic<std::uint64_t> disk_hits{0}, computed{0}, stored{0}, evicted{0}, corrupt{0}, stale{0},
      invalid{0}, store_failures{0};
  std::atomic<std::uint64_t> remote_hits{0}, remote_misses{0}, remote_errors{0},
      remote_bytes_read{0}, remote_bytes_written{0};
};

/// Values read or computed once, per cache object, keyed by (name, minor, parameter hash), with
/// the type they were stored as (a lookup as another type misses). Entries stored while a
/// volatile context was current carry that context's id, so its release drops them.
///
/// ```
/// dedup::detail::memory_tier m;
/// m.put({"n", 1, 0, 7}, std::make_shared<const int>(3), typeid(int), 0);
/// assert(*std::static_pointer_cast<const int>(m.find({"n", 1, 0, 7}, typeid(int))) == 3);
/// ```
class memory_tier {
 public:
  /// The value stored for `id` as a `type`, or null; a hit is counted in `hits()`.
  std::shared_ptr<const void> find(const entry_id& id, const std::type_info& type) const {
    std::unique_lock lock(mutex_);
    auto it = map_.find(view_of(id));
    if (it == map_.end() || *it->second.type != type || it->second.fingerprint != id.fingerprint)
      return nullptr;
    ++hits_;  // under the lock already taken: cheaper than an atomic of its own
    return it->second.value;
  }
  std::uint64_t hits() const {
    std::unique_lock lock(mutex_);
    return hits_;
  }

  void put(const entry_id& id, std::shared_ptr<const void> value, const std::type_info& type,
           std::uint64_t volatile_owner) {
    std::unique_lock lock(mutex_);
    slot s{std::move(value), &type, id.fingerprint, volatile_owner};
    view v = view_of(id);
    auto it = map_.find(v);
    if (it != map_.end())
      it->second = std::move(s);
    else
      map_.emplace(key{std::string(id.name), id.minor, id.params, v.hash}, std::move(s));
  }

  /// Whether the release hook of volatile context `owner` is still to be registered; true once.
  bool first_volatile_use(std::uint64_t owner) {
    std::unique_lock lock(mutex_);
    return owners_.insert(owner).second;
  }

  void drop_owner(std::uint64_t owner) {
    std::unique_lock lock(mutex_);
    owners_.erase(owner);
    std::erase_if(map_, [&](const auto& e) { return e.second.volatile_owner == owner; });
  }
  void drop_name(std::string_view name) {
    std::unique_lock lock(mutex_);
    std::erase_if(map_, [&](const auto& e) { return e.first.name == name; });
  }
  void drop(const entry_id& id) {
    std::unique_lock lock(mutex_);
    auto it = map_.find(view_of(id));
    if (it != map_.end()) map_.erase(it);
  }
  void clear() {
    std::unique_lock lock(mutex_);
    map_.clear();
  }
  std::size_t size() const {
    std::unique_lock lock(mutex_);
    return map_.size();
  }

 private:
  // The hash is computed once per call and kept in the key, so that walking a bucket never
  // hashes a name again (the map treats a stored hash as cheap to read).
  struct key {
    std::string name;
    int minor;
    std::uint64_t params;
    std::size_t hash;
  };
  struct view {
    std::string_view name;
    int minor;
    std::uint64_t params;
    std::size_t hash;
  };
  static view view_of(const entry_id& id) noexcept {
    std::size_t h = hash_key(id.name);
    if (id.minor != 1 || id.params != 0)
      h ^= (id.params + static_cast<std::size_t>(id.minor)) * 0x9e3779b97f4a7c15ull;
    return {id.name, id.minor, id.params, h};
  }
  struct slot {
    std::shared_ptr<const void> value;
    const std::type_info* type;
    std::uint64_t fingerprint;
    std::uint64_t volatile_owner;  // 0: kept until cleared
  };
  // Lookups by a view, so a hit never builds a std::string.
  struct hasher {
    using is_transparent = void;
    std::size_t operator()(const view& v) const noexcept { return v.hash; }
    std::size_t operator()(const key& k) const noexcept { return k.hash; }
  };
  struct equal {
    using is_transparent = void;
    static view as_view(const key& k) { return {k.name, k.minor, k.params, k.hash}; }
    static view as_view(const view& v) { return v; }
    template <class A, class B>
    bool operator()(const A& a, const B& b) const noexcept {
      view x = as_view(a), y = as_view(b);
      return x.hash == y.hash && x.params == y.params && x.minor == y.minor && x.name == y.name;
    }
  };

  mutable std::mutex mutex_;
  mutable std::uint64_t hits_ = 0;
  std::unordered_map<key, slot, hasher, equal> map_;
  std::unordered_set<std::uint64_t> owners_;  // volatile contexts whose hook is registered
};

}  // namespace dedup::detail
