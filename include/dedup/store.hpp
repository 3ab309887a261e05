// dedup/store.hpp: an object store shared by processes, on one node (shm://name, LMDB in
// /dev/shm) or across nodes (redis://host:port/db), with a capacity, a minimum share of free
// memory and the rotate / strict put policies of mt's object_store.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/store/store_backend.hpp"
#include "dedup/detail/wire/stored_value.hpp"
#include "dedup/error.hpp"
#include "dedup/policy.hpp"
#include "dedup/simdjson.hpp"

namespace dedup {

/// How a store is opened. A put may not take the store's values past `capacity_bytes`, and while
/// free memory is below `min_free_mem_pct` it may not grow the store either: it may use only the
/// room the store holds (shm: the most value bytes it has ever held, as LMDB keeps the pages of
/// what it removes; Redis: the value bytes it holds now). `on_full` says what `put` does when a
/// value does not fit, with the budgets' `dedup::overflow`: `rotate` removes the
/// earliest-accessed entries until it fits, `strict` removes nothing; a value that would not fit
/// in the emptied store removes nothing and is refused. `capacity_bytes` bounds the bytes of
/// stored values (keys and overhead not counted); it is fixed by whoever creates the store, later
/// openers' values are ignored for shm. `min_free_mem_pct` is a share (0.2 is 20%) of physical
/// memory that must stay available (MemAvailable / MemTotal on this node for shm; the server's
/// used memory against its maxmemory, or its total memory, for Redis); 0 turns the check off.
/// `lock_timeout` bounds every wait: the writer lock of shm, the connection and each reply of
/// Redis.
///
/// ```
/// dedup::store_options o{.capacity_bytes = 1 << 20, .on_full = dedup::overflow::strict,
///                         .lock_timeout = std::chrono::seconds(1)};
/// assert(o.min_free_mem_pct == 0.2);
/// ```
struct store_options {
  std::size_t capacity_bytes = std::size_t{64} << 20;
  double min_free_mem_pct = 0.2;
  overflow on_full = overflow::rotate;
  std::chrono::milliseconds lock_timeout{2000};
};

/// What a store holds and has done since it was created (shared by all its users).
///
/// ```
/// auto uri = "shm://stats-" + std::to_string(::getpid());
/// auto store = dedup::shared_store::open(uri);
/// store.put("k", std::vector<int>{1, 2});
/// dedup::store_stats s = store.stats();
/// assert(s.entries == 1 && s.value_bytes == 5 && s.evictions == 0);  // "[1,2]"
/// dedup::shared_store::destroy(uri);
/// ```
struct store_stats {
  std::size_t entries = 0;
  std::size_t value_bytes = 0;
  std::size_t capacity_bytes = 0;
  std::uint64_t evictions = 0;  // entries removed by rotate
  std::uint64_t refusals = 0;   // puts that returned false
  std::uint64_t combined = 0;   // shm: puts done in another waiting put's lock hold and commit
};

/// A read-only view of a stored value's bytes, from `shared_store::get_view`; copies share what
/// keeps the bytes valid, and the bytes stay valid (and unchanged) while any copy is held, from
/// any thread, whatever is written, removed, rotated out or destroyed meanwhile.
/// - `shm://`: the view points into the store's shared memory, with no copy, taken in constant
///   time whatever the value's size. It holds an LMDB read snapshot: the entry may leave the
///   index, but its pages (and any page freed after the view was taken) are reused only once the
///   last view of that snapshot is gone. So hold views while their bytes are in use, not for
///   good: a store whose old pages views pin takes new memory for its writes, and refuses puts
///   (false) once its map (4x the capacity, plus 64 MiB) is full. The views of a process that
///   dies are released by the next write that needs memory the store does not hold (LMDB checks
///   each reader's process by the file lock it holds), or by a rotate.
/// - `redis://`: the view owns its buffer, the server's reply (one copy, from the socket).
///
/// ```
/// auto uri = "shm://view-" + std::to_string(::getpid());
/// auto store = dedup::shared_store::open(uri);
/// std::vector<std::byte> image(4096, std::byte{7});
/// assert(store.put_bytes("image", image));
/// std::optional<dedup::value_view> v = store.get_view("image");
/// store.remove("image");  // the view's bytes stay
/// assert(v && v->size() == 4096 && v->data()[0] == std::byte{7});
/// std::span<const std::byte> bytes = *v;
/// assert(bytes.size() == 4096 && !store.get_view("image"));
/// dedup::shared_store::destroy(uri);
/// ```
class value_view {
 public:
  value_view() = default;
  const std::byte* data() const noexcept { return bytes_.data(); }
  std::size_t size() const noexcept { return bytes_.size(); }
  bool empty() const noexcept { return bytes_.empty(); }
  std::span<const std::byte> bytes() const noexcept { return bytes_; }
  operator std::span<const std::byte>() const noexcept { return bytes_; }
  /// The bytes as characters, for text values.
  std::string_view text() const noexcept {
    return {reinterpret_cast<const char*>(bytes_.data()), bytes_.size()};
  }

 private:
  friend class shared_store;
  explicit value_view(detail::pinned_bytes p) : bytes_(p.bytes), keep_(std::move(p.keep)) {}
  std::span<const std::byte> bytes_;
  std::shared_ptr<const void> keep_;
};

/// An object store shared by processes. Typed values are kept as the disk cache keeps them: in
/// the compact form (dedup/compact.hpp: each shared instance once) when some shared instance is
/// met more than once, else as their simple form (compact JSON text); byte buffers
/// (`std::vector<std::byte>`, `std::vector<std::uint8_t>`) raw. They are read back with the
/// simdjson backend in the caller's current scope, so a value from the store interns with
/// everything else read there and keeps the sharing it was stored with; binary values
/// (`put_bytes`) are kept as they are and read as views (`get_view`, see `value_view`).
/// `shm://name` keeps the store in
/// `/dev/shm/dedup-store-<name>/` (one node; a process killed while writing loses only its
/// uncommitted write, and its lock is recovered; a full /dev/shm makes a put throw
/// `dedup::storage_error`, never a signal); `redis://host:port/db` keeps it on a Redis server,
/// under keys prefixed `dedup:`. A handle is safe to use from several threads.
///
/// ```
/// auto name = "doc-" + std::to_string(::getpid());
/// auto store = dedup::shared_store::open("shm://" + name);
/// dedup::scope s;
/// auto type = dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(text));
/// assert(store.put("calexp", *type));
/// auto back = store.get<butler::DatasetType>("calexp");
/// assert(back == type);  // interned with the type read in this scope
/// assert(store.count() == 1 && !store.has("raw"));
/// dedup::shared_store::destroy("shm://" + name);
/// ```
class shared_store {
 public:
  /// Opens the store the URI names, creating it if needed; `dedup::storage_error` for a bad URI,
  /// a directory that is not a store, or a server that does not answer within lock_timeout.
  static shared_store open(const std::string& uri, const store_options& options = {}) {
    return shared_store(detail::open_store_backend(uri, options));
  }
  /// Opens the store the URI names only if it exists (shm: its directory holds a store; Redis:
  /// the database holds the store's keys); `dedup::storage_error` saying "no such store"
  /// otherwise, and nothing is created. For tools that look into stores.
  ///
  /// ```
  /// auto uri = "shm://lookup-" + std::to_string(::getpid());
  /// REQUIRE_THROWS_WITH(dedup::shared_store::open_existing(uri),
  ///                     Catch::Matchers::Contains("no such store"));
  /// REQUIRE_THROWS_AS(dedup::shared_store::open_existing(uri), dedup::storage_error);
  /// dedup::shared_store::open(uri).put("k", 1);
  /// assert(dedup::shared_store::open_existing(uri).count() == 1);
  /// dedup::shared_store::destroy(uri);
  /// ```
  static shared_store open_existing(const std::string& uri, const store_options& options = {}) {
    return shared_store(detail::open_store_backend(uri, options, false));
  }
  /// Removes a store's data for good, whatever it holds, a damaged store included (shm: its
  /// directory; Redis: its keys). Handles still open on an shm store, in any process, find it
  /// destroyed: `valid()` turns false and every call throws `dedup::storage_error`. False if
  /// there was no shm store of that name.
  static bool destroy(const std::string& uri);

  /// Whether the handle is open: false for a moved-from handle, and for one whose shm store was
  /// destroyed (by any process) since it was opened.
  bool valid() const noexcept { return backend_ != nullptr && !backend_->gone(); }
  /// The URI the store was opened with.
  const std::string& uri() const { return live().uri(); }
  std::size_t count() { return live().count(); }
  std::vector<std::string> keys() { return live().keys(); }
  bool has(std::string_view key) { return live().has(key); }

  /// The value under `key` read as T in the current scope, or null if absent: a value `put`
  /// stored, or plain JSON text (`put_text`, and typed values of earlier versions). A stored value
  /// that does not parse as T throws `dedup::error` at its pointer in the value (`/name`),
  /// whichever form it was stored in, its `source()` naming the key (`store key 'calexp'`).
  template <class T>
  std::shared_ptr<const T> get(std::string_view key) {
    // Copied out first, decoded after: on shm a read pins a snapshot's pages, which writers
    // cannot reuse until it ends, and decoding takes longer than the copy.
    std::optional<simdjson::padded_string> bytes;
    live().read(key, [&](std::string_view stored) { bytes.emplace(stored.data(), stored.size()); });
    return bytes ? parse_value<T>(key, *bytes) : nullptr;
  }
  /// The value under `key`, or `fallback` if absent.
  template <class T>
  std::shared_ptr<const T> get(std::string_view key, std::shared_ptr<const T> fallback) {
    auto v = get<T>(key);
    return v ? v : fallback;
  }
  /// Stores `value` under `key`, replacing any value there; false if there was no room (see
  /// on_full). The stored form (see the class) is what capacity and `value_bytes` count. On shm a
  /// small put (key and stored form up to 2 KiB) of the bytes the key already holds writes nothing
  /// and takes no lock: it only counts as the key's latest access, and returns true.
  ///
  /// ```
  /// auto uri = "shm://sharing-" + std::to_string(::getpid());
  /// auto store = dedup::shared_store::open(uri);
  /// dedup::scope s;
  /// auto list = dedup::parse<butler::RefList>(dedup_examples::refs_text());  // two equal refs
  /// assert(store.put("refs", list));  // compact: the refs' shared parts once
  /// dedup::scope fresh;
  /// auto back = store.get<butler::RefList>("refs");
  /// assert(back->refs[0]->dataset_type == back->refs[1]->dataset_type);  // one instance
  /// dedup::shared_store::destroy(uri);
  /// ```
  template <class T>
  bool put(std::string_view key, const T& value) {
    return live().put(key, detail::encode_value(value));
  }
  /// Stores `bytes` as they are under `key` (arrays, images, models: any binary value), replacing
  /// any value there; false if there was no room (see on_full). A value larger than the backend
  /// takes (shm: 4 GiB - 1 bytes; Redis: 512 MiB) is a `dedup::storage_error`, as is a full
  /// /dev/shm (never a signal). Read back with `get_view`.
  ///
  /// ```
  /// auto uri = "shm://bytes-" + std::to_string(::getpid());
  /// auto store = dedup::shared_store::open(uri);
  /// std::vector<float> weights{0.5f, 1.5f};
  /// auto bytes = std::as_bytes(std::span(weights));
  /// assert(store.put_bytes("model", bytes));
  /// auto v = store.get_view("model");
  /// assert(v->size() == 8 && std::equal(bytes.begin(), bytes.end(), v->data()));
  /// dedup::shared_store::destroy(uri);
  /// ```
  bool put_bytes(std::string_view key, std::span<const std::byte> bytes) {
    return live().put(key, {reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  }
  /// The bytes stored under `key`, or nullopt if absent: a view into shared memory for shm, an
  /// owned buffer for Redis (see `value_view`). For `put_bytes` and `put_text`, the bytes given;
  /// for a typed value, its stored form, which may start with a format byte (`\x01` and a
  /// compact document, `\x02` and a byte buffer's bytes) or be plain JSON text.
  std::optional<value_view> get_view(std::string_view key) {
    auto pinned = live().view(key);
    if (!pinned) return std::nullopt;
    return value_view(std::move(*pinned));
  }
  /// Stores text that is already a simple form (the CLI and tools; not checked here).
  bool put_text(std::string_view key, std::string_view json) { return live().put(key, json); }
  bool remove(std::string_view key) { return live().remove(key); }
  void clear() { live().clear(); }
  store_stats stats();

 private:
  explicit shared_store(std::unique_ptr<detail::store_backend> b) : backend_(std::move(b)) {}
  detail::store_backend& live() const {
    if (!backend_) throw usage_error("dedup::shared_store: use of a closed or moved-from store");
    return *backend_;
  }
  template <class T>
  static std::shared_ptr<const T> parse_value(std::string_view key,
                                              const simdjson::padded_string& bytes) {
    try {
      return detail::decode_value<T>(bytes);
    } catch (const dedup::error& e) {
      throw e.in_source("store key '" + std::string(key) + "'");
    }
  }

  std::unique_ptr<detail::store_backend> backend_;
};

}  // namespace dedup
