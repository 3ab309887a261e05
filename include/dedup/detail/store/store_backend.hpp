// The byte-level interface behind dedup::shared_store: one implementation per URI scheme
// (shm:// on LMDB in /dev/shm, redis:// on a Redis server), type-erased on value bytes so that the
// typed surface in store.hpp is the only template code.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dedup {
struct store_options;
struct store_stats;
}  // namespace dedup

namespace dedup::detail {

/// A value's bytes and what keeps them valid: for shm the read snapshot they lie in (the mapped
/// pages themselves), for Redis the reply that holds them.
///
/// ```text
/// auto pinned = backend->view("k");  // pinned->bytes stays valid while pinned->keep lives
/// ```
struct pinned_bytes {
  std::span<const std::byte> bytes;
  std::shared_ptr<const void> keep;
};

/// One open store. Every call may throw `dedup::storage_error` (the store is gone, the server
/// does not answer) and the writing ones `dedup::timeout_error` (the lock was not taken in time).
///
/// ```text
/// auto b = dedup::detail::open_store_backend("shm://jobs", {});
/// b->put("k", "1");
/// ```
class store_backend {
 public:
  virtual ~store_backend() = default;

  virtual std::size_t count() = 0;
  virtual std::vector<std::string> keys() = 0;
  virtual bool has(std::string_view key) = 0;
  /// Calls `use` with the value's bytes, valid only during the call (for shm they are the mapped
  /// page itself, pinned by a read snapshot); false, without calling it, if the key is absent.
  virtual bool read(std::string_view key, const std::function<void(std::string_view)>& use) = 0;
  /// The value's bytes, valid while the result's `keep` is held (from any thread); nullopt if the
  /// key is absent.
  virtual std::optional<pinned_bytes> view(std::string_view key) = 0;
  /// Stores `value`, evicting under rotate; false if it did not fit (nothing else changed then
  /// under strict).
  virtual bool put(std::string_view key, std::string_view value) = 0;
  virtual bool remove(std::string_view key) = 0;
  virtual void clear() = 0;
  /// Removes the store itself, its figures included (shm stores go by `destroy_shm_store`).
  virtual void drop() { clear(); }
  virtual store_stats stats() = 0;
  /// The URI the store was opened with, for error messages.
  virtual const std::string& uri() const = 0;
  /// Whether another handle or process destroyed the store under this one (every call then throws
  /// `dedup::storage_error`).
  virtual bool gone() const noexcept { return false; }
};

/// Opens the backend the URI's scheme names, creating the store unless `create` is false (then a
/// missing store is a `dedup::storage_error` saying "no such store"); `dedup::storage_error` for
/// an unknown scheme or a malformed URI.
/// The largest value a backend stores (LMDB's limit for shm, the protocol's default bulk limit
/// for Redis): a larger one is a `dedup::storage_error` before any byte of it is read.
inline constexpr std::size_t shm_max_value = 0xffffffffu;
inline constexpr std::size_t redis_max_value = std::size_t{512} << 20;

std::unique_ptr<store_backend> open_store_backend(const std::string& uri,
                                                  const store_options& options, bool create = true);
std::unique_ptr<store_backend> open_shm_backend(const std::string& uri, const std::string& name,
                                                const store_options& options, bool create);
/// `uri` is redis://host:port/db (port 6379 and database 0 when absent).
std::unique_ptr<store_backend> open_redis_backend(const std::string& uri,
                                                  const store_options& options, bool create);

/// Removes the shm store `name` whatever its data holds (LMDB is not opened): marks it destroyed
/// for the handles still open on it, under its writer lock if that comes within `timeout`, and
/// removes its directory. False, and nothing done, for a store that does not exist.
bool destroy_shm_store(const std::string& uri, const std::string& name,
                       std::chrono::milliseconds timeout);

/// For the tests: how many puts are posted, waiting for the holder of the shm store's writer lock
/// to do them in its transaction.
std::size_t posted_puts_for_test(const std::string& uri);

/// For the fault tests' worker process: opens the shm store, takes its writer lock, begins a write
/// transaction that puts `key`, calls `ready` and then waits forever, so that the test can kill
/// it while it holds the lock halfway through a write.
[[noreturn]] void hold_shm_writer_for_test(const std::string& uri, std::string_view key,
                                           std::string_view value,
                                           const std::function<void()>& ready);

}  // namespace dedup::detail
