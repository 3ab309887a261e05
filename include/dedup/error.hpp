// dedup/error.hpp: what went wrong with an input, and where in it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "dedup/detail/json_pointer.hpp"

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

namespace detail {

/// A JSON pointer under construction, kept as a chain of stack frames so that the hot path never
/// allocates for it: the string is rendered only when an error is about to be thrown.
struct path {
  enum class step : std::uint8_t { root, member, element };

  const path* parent = nullptr;
  std::string_view key{};  // member name, or for the root a prefix already rendered
  std::size_t index = 0;
  step kind = step::root;

  path member(std::string_view name) const { return {this, name, 0, step::member}; }
  path element(std::size_t i) const { return {this, {}, i, step::element}; }

  std::string render() const {
    std::vector<const path*> chain;
    for (const path* p = this; p; p = p->parent) chain.push_back(p);
    std::string out;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) append((*it)->kind, **it, out);
    return out;
  }

 private:
  static void append(step kind, const path& p, std::string& out) {
    if (kind == step::root) {
      out += p.key;
    } else if (kind == step::element) {
      out += '/';
      out += std::to_string(p.index);
    } else {
      append_token(out, p.key);
    }
  }
};

/// How many bytes of input an error message quotes: a bad token may be the rest of a huge input.
inline constexpr std::size_t quoted_bytes_bound = 64;

/// Input text as an error message quotes it: whole when short, else its first
/// `quoted_bytes_bound` bytes (not cutting a UTF-8 sequence) followed by "…"; control bytes
/// escaped, as in pointers, so that the message prints whole.
///
/// ```
/// assert(dedup::detail::excerpt(std::string(100, 'a')) == std::string(64, 'a') + "…");
/// ```
inline std::string excerpt(std::string_view text) {
  std::size_t n = text.size();
  if (n > quoted_bytes_bound) {
    n = quoted_bytes_bound;
    while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;
  }
  std::string out;
  out.reserve(n + 3);
  for (char c : text.substr(0, n)) append_printable(out, c);
  if (n < text.size()) out += "…";
  return out;
}

[[noreturn]] inline void fail(const path& where, std::string detail) {
  throw error(where.render(), std::move(detail));
}

[[noreturn]] inline void fail_kind(const path& where, std::string_view expected,
                                   std::string_view found) {
  fail(where, "expected " + std::string(expected) + ", found " + std::string(found));
}

}  // namespace detail
}  // namespace dedup
