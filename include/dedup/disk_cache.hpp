// dedup/disk_cache.hpp: a versioned, tagged, crash-safe persistent cache of computed values, read
// back through the simdjson backend in the caller's scope so that they intern with everything else.
#pragma once

#include <charconv>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "dedup/context.hpp"
#include "dedup/detail/cache/disk_cache_index.hpp"
#include "dedup/detail/cache/disk_cache_memory.hpp"
#include "dedup/detail/cache/disk_cache_params.hpp"
#include "dedup/detail/codec/fingerprint.hpp"
#include "dedup/detail/wire/stored_value.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/error.hpp"
#include "dedup/simdjson.hpp"

namespace dedup {

namespace detail {
class remote_tier;
class local_copier;
}  // namespace detail

/// How a `disk_cache` is laid out and behaves. A cache lives in `directory / (prefix + tag)`.
///
/// ```
/// dedup::disk_cache_options o{.directory = std::filesystem::temp_directory_path(),
///                             .tag = "run42", .version = 3};
/// assert(o.prefix == "cache" && o.inline_limit == 64 * 1024 && o.remote.empty());
/// assert(o.remote_ttl == std::chrono::seconds(0));  // remote values do not expire
/// ```
struct disk_cache_options {
  std::filesystem::path directory = std::filesystem::temp_directory_path();
  std::string prefix = "cache";
  std::string tag{};      ///< empty: no disk tier until `set_tag` (using it throws)
  int version = 1;        ///< the cache's major version (entries with minor >= 1 depend on it)
  std::string session{};  ///< empty: a fresh id made when the cache object is built
  std::uint64_t size_limit = 1ull << 30;  ///< bytes of values on disk; LRU eviction beyond
  std::size_t inline_limit = 64 * 1024;   ///< larger values go to files, smaller ones in SQLite
  bool single_flight = false;             ///< across processes: one computes, the others wait
  std::chrono::milliseconds wait_timeout{30'000};  ///< single flight and SQLite busy waits
  /// A remote tier shared by the caches of several nodes, behind the local directory:
  /// "redis://host:port/db" (empty: none). A failing server is skipped, never fails a call.
  std::string remote{};
  std::chrono::milliseconds remote_timeout{2'000};   ///< connecting, and each reply
  std::chrono::milliseconds remote_backoff{10'000};  ///< how long a failed remote is skipped
  /// How long a remote value lives after its last store or remote read (0: until removed);
  /// needs Redis 6.2 or later, whose GETEX renews it.
  std::chrono::seconds remote_ttl{0};
};

/// Counters of one cache object (this process), since it was built. `corrupt`: a checksum
/// mismatch; `stale`: a version, session or layout that changed; `invalid`: a value that no longer
/// parses as its type; `store_failures`: values computed but not stored (a full disk, ...). The
/// remote tier's (`disk_cache_options::remote`): hits, misses (stale and corrupt values included),
/// errors (failed commands and connections; calls skipped during a back-off are not counted) and
/// the value bytes read and written.
///
/// ```
/// auto dir = std::filesystem::temp_directory_path() / "dedup-doc-cache-stats";
/// {
///   dedup::disk_cache cache({.directory = dir, .tag = "run42"});
///   (void)cache.get_or_compute<int>("n@1", [] { return 7; });
///   (void)dedup::disk_cache({.directory = dir, .tag = "run42"}).get_or_compute<int>("n@1", [] {
///     return 8;
///   });
///   dedup::disk_cache_stats s = cache.stats();  // this object's counters only
///   assert(s.computed == 1 && s.stored == 1 && s.disk_hits == 0);
///   cache.clear_all();
/// }
/// std::filesystem::remove_all(dir);
/// ```
struct disk_cache_stats {
  std::uint64_t memory_hits = 0, disk_hits = 0, computed = 0, stored = 0, evicted = 0, corrupt = 0,
                stale = 0, invalid = 0, store_failures = 0;
  std::uint64_t remote_hits = 0, remote_misses = 0, remote_errors = 0, remote_bytes_read = 0,
                remote_bytes_written = 0;
};

/// One row of a cache's index, as `dedup cache ls` shows it. `version` is the cache version the
/// entry was stored under, `minor` its own; `created` and `last_access` are unix seconds.
///
/// ```
/// auto dir = std::filesystem::temp_directory_path() / "dedup-doc-cache-entry";
/// {
///   dedup::disk_cache cache({.directory = dir, .tag = "run42"});
///   (void)cache.get_or_compute<int>("n@1", [] { return 7; });
///   std::vector<dedup::disk_cache_entry> all = cache.entries();
///   assert(all.size() == 1 && all[0].name == "n" && all[0].minor == 1 && !all[0].in_file);
///   cache.clear_all();
/// }
/// std::filesystem::remove_all(dir);
/// ```
struct disk_cache_entry {
  std::string tag{}, name{};
  std::int64_t version = 0;
  std::string parameters_hash{}, layout_fingerprint{};
  std::uint64_t size = 0;
  std::string checksum{};
  std::int64_t created = 0, last_access = 0;
  bool in_file = false;  ///< value in its own file under values/ rather than inline in SQLite
  int minor = 0;
  std::string session{};  ///< the session of a session-only entry (minor 0), else empty
};

/// One tag of a remote tier, as `disk_cache::remote_tags` finds it: its entries (`in_file` false,
/// `last_access` 0, `version` 0 for an entry of a negative minor) and the figures that its cache
/// objects added when they were destroyed or changed tag (`remote_*` and `computed`; the others 0).
///
/// ```
/// dedup::disk_cache_remote_tag t{.tag = "run42"};
/// assert(t.entries.empty() && t.figures.remote_hits == 0);
/// ```
struct disk_cache_remote_tag {
  std::string tag{};
  std::vector<disk_cache_entry> entries{};
  disk_cache_stats figures{};
};

/// A cache used for storage before any tag was set: call `set_tag` first.
///
/// ```
/// dedup::disk_cache cache;
/// REQUIRE_THROWS_AS(cache.find<int>("n"), dedup::untagged_cache_error);
/// ```
class untagged_cache_error : public usage_error {
 public:
  using usage_error::usage_error;
};

/// A versioned, tagged persistent cache of computed values (guide: docs/cache.md).
/// `get_or_compute<T>("name@minor", fn, args...)` returns the value from memory, else from disk,
/// else from the remote tier if there is one (then copied to disk by a thread of the cache's;
/// members other than lookups, and the destructor, wait for those copies), else computes
/// `fn(args...)` and stores its simple form (on disk and remotely). Minor >= 1: valid for the same
/// cache version and minor; <= -1: only the minor counts; 0: only this session. `args` are hashed
/// canonically into the identity; a change of T's declared layout makes old entries stale. On
/// disk a value is its compact document (dedup/compact.hpp) when some shared instance in it is
/// met more than once, else its plain JSON text; `std::vector<std::byte>` and
/// `std::vector<std::uint8_t>` are their raw bytes, never JSON text.
///
/// ```
/// auto dir = std::filesystem::temp_directory_path() / "dedup-doc-cache";
/// {
///   dedup::disk_cache cache({.directory = dir, .tag = "run42"});
///   dedup::scope s;
///   int calls = 0;
///   auto square = [&](int x) { ++calls; return std::vector<int>{x, x * x}; };
///   auto a = cache.get_or_compute<std::vector<int>>("square@2", square, 7);
///   auto b = cache.get_or_compute<std::vector<int>>("square@2", square, 7);
///   assert(calls == 1 && (*b)[1] == 49 && cache.stats().memory_hits == 1);
///   cache.clear_all();
/// }
/// std::filesystem::remove_all(dir);
/// ```
class disk_cache {
 public:
  explicit disk_cache(disk_cache_options options = {});
  ~disk_cache();
  disk_cache(const disk_cache&) = delete;
  disk_cache& operator=(const disk_cache&) = delete;

  /// Opens (creating it if needed) `location()` for `tag`, and empties the memory tier. Throws
  /// storage_error for a directory that exists but is not a cache, or cannot be created. A cache
  /// this process may not write (another account's, a read-only mount) opens read-only: hits are
  /// served, misses computed and not stored. Opening writes nothing. Unlike the other members, it
  /// must not run while another thread uses the cache.
  void set_tag(std::string tag);
  const std::string& tag() const noexcept { return options_.tag; }
  const disk_cache_options& options() const noexcept { return options_; }
  /// `directory / (prefix + tag)`.
  std::filesystem::path location() const { return options_.directory / (options_.prefix + tag()); }
  /// Where the entry `name` lives: its value file (under `values/`) if it has one, the index
  /// (`index.sqlite`) if its value is inline, an empty path if it is not stored.
  std::filesystem::path fullpath(std::string_view name) const;

  /// The value of the entry `name` ("name" or "name@minor"; minor 1 when absent) for these
  /// parameters: from memory, else from disk, else `fn(args...)` (a T, or a
  /// `std::shared_ptr<const T>`), stored. A value that cannot be stored (full disk, read-only
  /// directory, locked index) is returned all the same and counted in `store_failures`.
  template <class T, class Fn, class... Args>
  std::shared_ptr<const T> get_or_compute(std::string_view name, Fn&& fn, const Args&... args) {
    auto [base, minor] = split_name(name);
    return get_or_compute<T>(base, minor, std::forward<Fn>(fn), args...);
  }
  /// As above, with the minor version given apart (`name` then holds no '@').
  template <class T, class Fn, class... Args>
  std::shared_ptr<const T> get_or_compute(std::string_view name, int minor, Fn&& fn,
                                          const Args&... args);

  /// The stored value, or null. A stored value that no longer parses as T is dropped and its
  /// `dedup::error` thrown: the JSON pointer in the value, `source()` naming the entry and the
  /// cache (`cache entry 'p' (/tmp/cache/dedup-run42)`).
  template <class T, class... Args>
  std::shared_ptr<const T> find(std::string_view name, const Args&... args);
  /// Stores `value` under the entry; throws storage_error if it cannot.
  template <class T, class... Args>
  void put(std::string_view name, const T& value, const Args&... args);

  /// Removes the entry `name` (every minor version and parameters), from disk and memory.
  void clear(std::string_view name);
  /// Removes every entry of the current tag.
  void clear_tag();
  /// Removes every entry of every cache of this prefix under `directory` (the caches stay, empty);
  /// a cache of prefix "cache2" is not one of prefix "cache".
  void clear_all();
  /// Removes the files under `values/` that no entry references (left by a writer that died
  /// between writing a value and committing its row); returns how many. The first store of a
  /// cache object does the same; opening and reading never do.
  std::size_t sweep();
  /// Whether the cache was opened read-only (see `set_tag`); false when no tag is set.
  bool read_only() const noexcept;
  std::vector<disk_cache_entry> entries() const;
  disk_cache_stats stats() const;

  /// The tags of the caches made with `prefix` under `directory`, sorted.
  static std::vector<std::string> tags(const std::filesystem::path& directory,
                                       std::string_view prefix = "cache");
  /// A cache object on an existing cache; storage_error if `directory/prefix+tag` is not one.
  static std::unique_ptr<disk_cache> open_existing(const std::filesystem::path& directory,
                                                   std::string_view prefix, std::string tag);
  /// The tags of `prefix` on the remote tier at `uri` (only `tag` when given), sorted; throws
  /// storage_error (timeout_error) when the server cannot be reached.
  static std::vector<disk_cache_remote_tag> remote_tags(
      const std::string& uri, std::string_view prefix = "cache",
      const std::optional<std::string>& tag = {},
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2'000));
  /// Removes the remote entries of `prefix` (of `tag` only, when given); returns how many. The
  /// figures stay.
  static std::uint64_t clear_remote(
      const std::string& uri, std::string_view prefix = "cache",
      const std::optional<std::string>& tag = {},
      std::chrono::milliseconds timeout = std::chrono::milliseconds(2'000));

 private:
  struct state {  // shared with the release hooks of volatile scopes, which may outlive *this
    detail::memory_tier memory;
    detail::cache_counters counters;
  };

  static std::pair<std::string_view, int> split_name(std::string_view name);
  detail::disk_index& index(std::string_view entry);
  void open_index(bool create);

  template <class T, class... Args>
  static detail::entry_id identify(std::string_view name, int minor, const Args&... args) {
    return {name, minor, detail::parameters_hash(args...), detail::layout_fingerprint<T>()};
  }
  template <class T>
  std::shared_ptr<const T> remember(const detail::entry_id& id, std::shared_ptr<const T> value);
  template <class T>
  std::shared_ptr<const T> load(const detail::entry_id& id, bool rethrow_invalid);
  // The bytes-level tiers below memory: the local index, then the remote tier.
  std::shared_ptr<const simdjson::padded_string> load_bytes(const detail::entry_id& id,
                                                            bool& remote);
  void settle_copies() const;
  void store_bytes(const detail::entry_id& id, std::string_view bytes);
  void drop_bytes(const detail::entry_id& id);
  std::unique_ptr<detail::flight_lock> lock_flight(const detail::entry_id& id);

  disk_cache_options options_;
  std::shared_ptr<state> state_ = std::make_shared<state>();
  std::unique_ptr<detail::disk_index> index_;
  std::unique_ptr<detail::remote_tier> remote_;
  std::unique_ptr<detail::local_copier> copier_;  // last: its copies end before the index closes
};

// ---- templates ----------------------------------------------------------------------------------

template <class T>
std::shared_ptr<const T> disk_cache::remember(const detail::entry_id& id,
                                              std::shared_ptr<const T> value) {
  context* ctx = detail::current_context;
  std::uint64_t owner = ctx && ctx->is_volatile() ? ctx->id() : 0;
  state_->memory.put(id, value, typeid(T), owner);
  if (owner && state_->memory.first_volatile_use(owner)) {
    ctx->on_volatile_release([weak = std::weak_ptr<state>(state_), owner] {
      if (auto s = weak.lock()) s->memory.drop_owner(owner);
    });
  }
  return value;
}

template <class T>
std::shared_ptr<const T> disk_cache::load(const detail::entry_id& id, bool rethrow_invalid) {
  bool remote = false;
  std::shared_ptr<const simdjson::padded_string> bytes = load_bytes(id, remote);
  if (!bytes) return nullptr;
  std::shared_ptr<const T> value;
  try {
    value = detail::decode_value<T>(*bytes);
  } catch (const error& e) {
    drop_bytes(id);
    state_->counters.invalid.fetch_add(1, std::memory_order_relaxed);
    if (rethrow_invalid)
      throw e.in_source("cache entry '" + std::string(id.name) + "' (" + location().string() + ")");
    return nullptr;
  }
  if (!remote) state_->counters.disk_hits.fetch_add(1, std::memory_order_relaxed);
  return value;
}

template <class T, class Fn, class... Args>
std::shared_ptr<const T> disk_cache::get_or_compute(std::string_view name, int minor, Fn&& fn,
                                                    const Args&... args) {
  detail::entry_id id = identify<T>(name, minor, args...);
  if (auto hit = state_->memory.find(id, typeid(T))) {
    return std::static_pointer_cast<const T>(std::move(hit));
  }
  if (auto loaded = load<T>(id, false)) return remember<T>(id, std::move(loaded));
  std::unique_ptr<detail::flight_lock> flight;
  if (options_.single_flight) {
    flight = lock_flight(id);
    // Another caller may have stored it while this one waited.
    if (auto loaded = load<T>(id, false)) return remember<T>(id, std::move(loaded));
  }
  std::shared_ptr<const T> value;
  using result = std::remove_cvref_t<std::invoke_result_t<Fn&, const Args&...>>;
  if constexpr (std::is_convertible_v<result, std::shared_ptr<const T>>)
    value = std::invoke(fn, args...);
  else
    value = std::make_shared<const T>(std::invoke(fn, args...));
  state_->counters.computed.fetch_add(1, std::memory_order_relaxed);
  try {
    store_bytes(id, detail::encode_value(*value));
  } catch (const storage_error&) {
    state_->counters.store_failures.fetch_add(1, std::memory_order_relaxed);
  } catch (const timeout_error&) {  // an index locked by others for the whole wait
    state_->counters.store_failures.fetch_add(1, std::memory_order_relaxed);
  }
  return remember<T>(id, std::move(value));
}

template <class T, class... Args>
std::shared_ptr<const T> disk_cache::find(std::string_view name, const Args&... args) {
  auto [base, minor] = split_name(name);
  detail::entry_id id = identify<T>(base, minor, args...);
  if (auto hit = state_->memory.find(id, typeid(T))) {
    return std::static_pointer_cast<const T>(std::move(hit));
  }
  auto loaded = load<T>(id, true);
  return loaded ? remember<T>(id, std::move(loaded)) : nullptr;
}

template <class T, class... Args>
void disk_cache::put(std::string_view name, const T& value, const Args&... args) {
  auto [base, minor] = split_name(name);
  detail::entry_id id = identify<T>(base, minor, args...);
  store_bytes(id, detail::encode_value(value));
  remember<T>(id, std::make_shared<const T>(value));
}

}  // namespace dedup
