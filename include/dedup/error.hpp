// dedup/error.hpp: what went wrong with an input, and where in it.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace dedup {

/// The error every input failure is reported with: a malformed document, a member of the wrong
/// kind, a missing member, a key collision found by verify mode. `pointer()` is the RFC 6901 JSON
/// pointer of the offending value (`/refs/12/datasetType/name`), `detail()` says what was expected
/// and what was found, and `what()` combines both. When the value came from a stream of records,
/// `record()` and `offset()` locate it in the stream as well.
///
/// ```
/// std::string where;
/// try { dedup::parse<butler::DatasetType>(R"({"name": 7})"); }
/// catch (const dedup::error& e) { where = e.pointer(); }
/// assert(where == "/name");
/// ```
class error : public std::runtime_error {
 public:
  error(std::string pointer, std::string detail)
      : std::runtime_error(compose(pointer, detail, std::nullopt, std::nullopt)),
        pointer_(std::move(pointer)),
        detail_(std::move(detail)) {}

 protected:
  struct as_resource {};
  // An error about a resource rather than a place in a document: no pointer in the message.
  error(as_resource, const std::string& resource, std::string detail)
      : std::runtime_error("dedup: " + resource + ": " + detail), detail_(std::move(detail)) {}

 public:
  /// The JSON pointer of the value at fault ("" for the document root).
  const std::string& pointer() const noexcept { return pointer_; }
  /// What was expected and what was found, without the location.
  const std::string& detail() const noexcept { return detail_; }
  /// Index of the record in its stream, if the value came from a stream.
  std::optional<std::size_t> record() const noexcept { return record_; }
  /// Byte offset of that record in its input, if the value came from a stream.
  std::optional<std::size_t> offset() const noexcept { return offset_; }

  /// The same error located at record `index`, which starts at byte `offset` of its input.
  error in_record(std::size_t index, std::size_t offset) const {
    error located(*this, compose(pointer_, detail_, index, offset));
    located.record_ = index;
    located.offset_ = offset;
    return located;
  }

 private:
  error(const error& base, const std::string& what)
      : std::runtime_error(what), pointer_(base.pointer_), detail_(base.detail_) {}

  static std::string compose(const std::string& pointer, const std::string& detail,
                             std::optional<std::size_t> record, std::optional<std::size_t> offset) {
    std::string text = "dedup: ";
    if (record) {
      text += "record " + std::to_string(*record) + " (byte " + std::to_string(*offset) + "), ";
    }
    text += pointer.empty() ? std::string("document root") : "at " + pointer;
    return text + ": " + detail;
  }

  std::string pointer_;
  std::string detail_;
  std::optional<std::size_t> record_;
  std::optional<std::size_t> offset_;
};

/// A failure of a persistent cache or a shared store rather than of a document: a directory that
/// is not a cache, a full disk, a server that does not answer. `resource()` names what failed (a
/// cache directory, an entry, a store URI), `what()` reads `dedup: <resource>: <detail>`, and
/// `pointer()` is empty. Nothing already committed is lost when one is thrown.
///
/// ```
/// dedup::storage_error e("redis://127.0.0.1:6390/0", "connection refused");
/// assert(std::string(e.what()) == "dedup: redis://127.0.0.1:6390/0: connection refused");
/// ```
class storage_error : public error {
 public:
  storage_error(std::string resource, std::string detail)
      : error(as_resource{}, resource, std::move(detail)), resource_(std::move(resource)) {}

  /// The cache directory, entry or store URI at fault.
  const std::string& resource() const noexcept { return resource_; }

 private:
  std::string resource_;
};

/// A lock that could not be taken, or a wait for another process's result that did not end,
/// within the configured time: a store's lock held by a stalled process, a single-flight entry
/// whose computing process takes too long. `resource()` names the store or the entry.
///
/// ```
/// dedup::timeout_error e("shm://jobs", "lock not taken within 2000 ms");
/// const dedup::storage_error& failure = e;
/// assert(failure.resource() == "shm://jobs" && failure.pointer().empty());
/// ```
class timeout_error : public storage_error {
 public:
  using storage_error::storage_error;
};

/// Thrown when the library is used against its rules rather than fed bad input: a context_var
/// token reset twice or in another context, a scope closed out of order, too many interned types.
class usage_error : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

}  // namespace dedup
