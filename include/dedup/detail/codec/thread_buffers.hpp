// Buffers a thread keeps between reads on the simdjson backend, and the bounds that keep a thread
// that once read a huge document from holding its memory until the thread exits.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <vector>

#include <simdjson.h>

namespace dedup::detail {

/// Where unescaped strings live while a document is read. Strings are read straight from the input
/// bytes when they hold no escape (nearly always); simdjson's own string buffer is not used because
/// the reader visits an object up to twice (key pass, build pass) and that buffer is sized for one
/// unescape of each string. Blocks are never moved, so views stay valid until `clear`. Between
/// documents a thread keeps at most `retained_bound` bytes (one block), whatever the largest
/// document needed: `clear` frees the rest.
///
/// ```
/// auto& arena = dedup::detail::string_arena::of_this_thread();
/// assert(arena.allocate(16) != nullptr);
/// arena.clear();
/// assert(arena.bytes_held() <= dedup::detail::string_arena::retained_bound);
/// ```
class string_arena {
 public:
  static constexpr std::size_t block_size = 64 * 1024;
  static constexpr std::size_t retained_bound = block_size;

  char* allocate(std::size_t n) {
    if (blocks_.empty() || n > capacity_ - used_) {
      std::size_t size = std::max<std::size_t>(n, block_size);
      blocks_.push_back({std::unique_ptr<char[]>(new char[size]), size});
      capacity_ = size;
      used_ = 0;
    }
    char* out = blocks_.back().bytes.get() + used_;
    used_ += n;
    return out;
  }
  /// Forgets every string; keeps one block of `block_size` bytes for the next document.
  void clear() {
    if (!blocks_.empty() && blocks_.front().size > retained_bound)
      blocks_.clear();  // grown for one huge string
    else if (blocks_.size() > 1)
      blocks_.resize(1);
    capacity_ = blocks_.empty() ? 0 : blocks_.front().size;
    used_ = 0;
  }
  /// The bytes of the blocks held now.
  std::size_t bytes_held() const noexcept {
    std::size_t total = 0;
    for (const block& b : blocks_) total += b.size;
    return total;
  }
  static string_arena& of_this_thread() {
    thread_local string_arena arena;
    return arena;
  }

 private:
  struct block {
    std::unique_ptr<char[]> bytes;
    std::size_t size;
  };
  std::vector<block> blocks_;
  std::size_t capacity_ = 0, used_ = 0;
};

/// The document capacity a parser kept per thread (by `parse_fast(json)` and the stream reader's
/// workers) may keep between reads: one grown past it for a larger document is replaced by a fresh
/// parser after that read, so a thread that once read a huge document does not hold buffers of
/// several times its size until the thread exits.
inline constexpr std::size_t parser_retained_bound = std::size_t{16} << 20;

/// Bounds a thread's buffers when a read with a thread-kept parser ends (also by an exception):
/// the parser's (`parser_retained_bound`) and the string arena's (`string_arena::retained_bound`).
///
/// ```
/// thread_local simdjson::ondemand::parser parser;
/// simdjson::padded_string json(std::string_view("[1]"));
/// dedup::detail::thread_buffers_bound bound(parser);
/// auto doc = parser.iterate(json);  // read before `bound` goes
/// assert(doc.at_pointer("/0").get_int64().value() == 1);
/// ```
class thread_buffers_bound {
 public:
  explicit thread_buffers_bound(simdjson::ondemand::parser& parser) noexcept : parser_(parser) {}
  thread_buffers_bound(const thread_buffers_bound&) = delete;
  thread_buffers_bound& operator=(const thread_buffers_bound&) = delete;
  ~thread_buffers_bound() {
    if (parser_.capacity() > parser_retained_bound) parser_ = simdjson::ondemand::parser{};
    string_arena::of_this_thread().clear();
  }

 private:
  simdjson::ondemand::parser& parser_;
};

/// The parser `parse_fast(json)` keeps per thread.
///
/// ```
/// assert(dedup::detail::thread_parser().capacity() <= dedup::detail::parser_retained_bound);
/// ```
inline simdjson::ondemand::parser& thread_parser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

}  // namespace dedup::detail
