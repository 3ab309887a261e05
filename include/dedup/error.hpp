// dedup/error.hpp: the exceptions dedup throws, one family: bad input, a failing cache or store, a
// wait that did not end, and the library used against its rules.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace dedup {

/// What kind of failure a `dedup::exception` is: `input` (a `dedup::error`: the document, not the
/// program, is wrong), `storage` (a `storage_error`: a cache, store or file failed), `timeout` (a
/// `timeout_error`: a lock or a wait did not end in time), `usage` (a `usage_error`: the library
/// was used against its rules).
///
/// ```
/// dedup::storage_error e("/var/cache/dedup", "no space left on device");
/// assert(e.kind() == dedup::error_kind::storage);
/// ```
enum class error_kind { input, storage, timeout, usage };

/// The base of every exception dedup throws for a failure of its own: catch it to handle them all,
/// and switch on `kind()` for what to do. The four kinds are siblings, so that catching one (bad
/// input, say) never catches another (a failing disk). `what()` reads `dedup: ...`, or names the
/// entity used wrongly (`dedup::scope: ...`) for a usage error.
///
/// ```
/// try {
///   dedup::parse<butler::DatasetType>(R"({"name": 7})");
/// } catch (const dedup::exception& e) {
///   assert(e.kind() == dedup::error_kind::input);
/// }
/// ```
class exception : public std::runtime_error {
 public:
  /// Which of the four kinds this is; each kind is one class derived from this one.
  error_kind kind() const noexcept { return kind_; }

 protected:
  exception(error_kind kind, const std::string& what) : std::runtime_error(what), kind_(kind) {}

 private:
  error_kind kind_;
};

/// Bad input: a malformed document, a member of the wrong kind, a missing member, a key collision
/// found by verify mode. `pointer()` is the RFC 6901 JSON pointer of the offending value
/// (`/refs/12/datasetType/name`), `detail()` says what was expected and what was found, and
/// `what()` combines both. When the value came from a stream of records, `record()` and `offset()`
/// locate it in the stream as well, and `source()` names the input (the file a reader opened).
///
/// ```
/// std::string where;
/// try { dedup::parse<butler::DatasetType>(R"({"name": 7})"); }
/// catch (const dedup::error& e) { where = e.pointer(); }
/// assert(where == "/name");
/// ```
class error : public exception {
 public:
  error(std::string pointer, std::string detail)
      : error(std::string(), std::move(pointer), std::move(detail), std::nullopt, std::nullopt) {}

  /// The JSON pointer of the value at fault ("" for the document root).
  const std::string& pointer() const noexcept { return pointer_; }
  /// What was expected and what was found, without the location.
  const std::string& detail() const noexcept { return detail_; }
  /// Index of the record in its stream, if the value came from a stream.
  std::optional<std::size_t> record() const noexcept { return record_; }
  /// Byte offset of that record in its input, if the value came from a stream.
  std::optional<std::size_t> offset() const noexcept { return offset_; }
  /// The input the value came from (a file name, a cache entry), or "" when none was named.
  const std::string& source() const noexcept { return source_; }

  /// The same error located at record `index`, which starts at byte `offset` of its input.
  ///
  /// ```
  /// dedup::error e = dedup::error("/id", "expected string, found number").in_record(3, 120);
  /// assert(e.record() == 3u && e.offset() == 120u);
  /// assert(std::string(e.what()) == "dedup: record 3 (byte 120), at /id: expected string, "
  ///                                 "found number");
  /// ```
  error in_record(std::size_t index, std::size_t offset) const {
    return error(source_, pointer_, detail_, index, offset);
  }

  /// The same error read from the input named `name` (a file name): `what()` starts with it. An
  /// empty name leaves the error as it is.
  ///
  /// ```
  /// dedup::error e = dedup::error("/id", "expected string, found number").in_source("refs.json");
  /// assert(e.source() == "refs.json");
  /// assert(std::string(e.what()) == "dedup: refs.json: at /id: expected string, found number");
  /// ```
  error in_source(std::string name) const {
    return error(std::move(name), pointer_, detail_, record_, offset_);
  }

 private:
  error(std::string source, std::string pointer, std::string detail,
        std::optional<std::size_t> record, std::optional<std::size_t> offset)
      : exception(error_kind::input, compose(source, pointer, detail, record, offset)),
        source_(std::move(source)),
        pointer_(std::move(pointer)),
        detail_(std::move(detail)),
        record_(record),
        offset_(offset) {}

  static std::string compose(const std::string& source, const std::string& pointer,
                             const std::string& detail, std::optional<std::size_t> record,
                             std::optional<std::size_t> offset) {
    std::string text = "dedup: ";
    if (!source.empty()) text += source + ": ";
    if (record) {
      text += "record " + std::to_string(*record) + " (byte " + std::to_string(*offset) + "), ";
    }
    text += pointer.empty() ? std::string("document root") : "at " + pointer;
    return text + ": " + detail;
  }

  std::string source_;
  std::string pointer_;
  std::string detail_;
  std::optional<std::size_t> record_;
  std::optional<std::size_t> offset_;
};

/// A failure of a persistent cache, a shared store or an input file rather than of a document: a
/// directory that is not a cache, a full disk, a server that does not answer, a file that cannot
/// be opened. `resource()` names what failed (a cache directory, an entry, a store URI, a file),
/// `detail()` says how, `what()` reads `dedup: <resource>: <detail>`, and `code()` is the system's
/// error (`errno`, in `std::system_category()`) where a system call failed, else empty. Nothing
/// already committed is lost when one is thrown.
///
/// ```
/// dedup::storage_error e("redis://127.0.0.1:6390/0", "connection refused",
///                        std::make_error_code(std::errc::connection_refused));
/// assert(std::string(e.what()) == "dedup: redis://127.0.0.1:6390/0: connection refused");
/// assert(e.code() == std::errc::connection_refused);
/// ```
class storage_error : public exception {
 public:
  storage_error(std::string resource, std::string detail, std::error_code code = {})
      : exception(error_kind::storage, "dedup: " + resource + ": " + detail),
        resource_(std::move(resource)),
        detail_(std::move(detail)),
        code_(code) {}

  /// The cache directory, entry, store URI or file at fault.
  const std::string& resource() const noexcept { return resource_; }
  /// What failed and why, without the resource.
  const std::string& detail() const noexcept { return detail_; }
  /// The system's error where a system call failed (`code().value()` is its errno), else empty.
  std::error_code code() const noexcept { return code_; }

 private:
  std::string resource_;
  std::string detail_;
  std::error_code code_;
};

/// A lock that could not be taken, or a wait for another process's result that did not end,
/// within the configured time: a store's lock held by a stalled process, a single-flight entry
/// whose computing process takes too long, a cache index locked by another process for the whole
/// wait. `resource()` names the store or the entry; `what()` reads `dedup: <resource>: <detail>`.
/// It is not a `storage_error`: nothing failed, and trying again later may succeed.
///
/// ```
/// dedup::timeout_error e("shm://jobs", "lock not taken within 2000 ms");
/// assert(e.resource() == "shm://jobs" && e.kind() == dedup::error_kind::timeout);
/// ```
class timeout_error : public exception {
 public:
  timeout_error(std::string resource, std::string detail)
      : exception(error_kind::timeout, "dedup: " + resource + ": " + detail),
        resource_(std::move(resource)),
        detail_(std::move(detail)) {}

  /// The store, cache or entry that was waited for.
  const std::string& resource() const noexcept { return resource_; }
  /// What was waited for, and how long.
  const std::string& detail() const noexcept { return detail_; }

 private:
  std::string resource_;
  std::string detail_;
};

/// Thrown when the library is used against its rules rather than fed bad input: a context_var
/// token reset twice or in another context, a scope closed out of order, too many interned types,
/// too many worker threads. `what()` names the entity used wrongly.
///
/// ```
/// try {
///   dedup::reader<butler::DatasetRef>("refs.json", {.threads = 1 << 20});
/// } catch (const dedup::usage_error& e) {
///   assert(e.kind() == dedup::error_kind::usage);
/// }
/// ```
class usage_error : public exception {
 public:
  explicit usage_error(const std::string& what) : exception(error_kind::usage, what) {}
};

namespace detail {

/// The `storage_error` of a system call that failed with errno `err`: `what` failed, the system's
/// reason follows it in the message, and `code()` carries `err`.
///
/// ```
/// dedup::storage_error e = dedup::detail::system_failure("in.json", "cannot open", ENOENT);
/// assert(e.code() == std::errc::no_such_file_or_directory);
/// assert(e.detail() == "cannot open: " + std::system_category().message(ENOENT));
/// ```
inline storage_error system_failure(std::string resource, const std::string& what, int err) {
  std::error_code code(err, std::system_category());
  return storage_error(std::move(resource), what + ": " + code.message(), code);
}

}  // namespace detail
}  // namespace dedup
