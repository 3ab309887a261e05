// The exact bytes a table's owner met in the document it is reading, each standing for the entry
// it resolved to: a repeat of them is found by one compare, before any key is computed.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "dedup/detail/api.hpp"
#include "dedup/detail/hash.hpp"

namespace dedup::detail {

/// The serial number of the document being read on this thread (0: none, or one whose input's end
/// is unknown): bytes remembered from one document are never compared with another's.
DEDUP_API inline thread_local std::uint64_t current_document = 0;

/// A new serial number for a document about to be read.
DEDUP_API inline std::uint64_t next_document_serial() noexcept {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

/// Objects of one table met in the current document, by where their bytes are in the input: a
/// direct-mapped cache of 64 slots, chosen by the 64 bytes from the object's start (so objects
/// shorter than that, cheap to key anyway, are found only when what follows repeats too). An object
/// whose bytes equal those of a remembered one, byte for byte over the remembered size, is that
/// object (a JSON object ends where its bytes say), so it resolves to the same entry with no key
/// computed. It points into the input and into the table, so it holds nothing: slots of another
/// document, or of a table that has since been shared, are never read. Used only by the owner of a
/// private table whose entries never leave by themselves.
///
/// ```
/// std::string object = R"({"name":")" + std::string(80, 'x') + R"("})";
/// std::string input = object + "," + object;
/// dedup::detail::current_document = dedup::detail::next_document_serial();
/// dedup::detail::bytes_memo<int> memo;
/// int entry = 7;
/// const char* end = input.data() + input.size();
/// memo.remember(input.data(), end, object.size(), &entry);
/// assert(memo.find(input.data() + object.size() + 1, end) == &entry);
/// ```
template <class Entry>
class bytes_memo {
 public:
  /// The entry of the object whose bytes begin at `at` in an input ending at `end`, or null.
  const Entry* find(const char* at, const char* end) const noexcept {
    const slot& s = slots_[index(at, end)];
    if (s.document != current_document || s.document == 0) return nullptr;
    if (s.size > static_cast<std::size_t>(end - at)) return nullptr;
    return std::memcmp(at, s.start, s.size) == 0 ? s.entry : nullptr;
  }

  /// Remembers that the `size` bytes at `at` are an object resolved to `entry`.
  void remember(const char* at, const char* end, std::size_t size, const Entry* entry) noexcept {
    if (current_document == 0 || size == 0) return;
    slots_[index(at, end)] = {current_document, at, static_cast<std::uint32_t>(size), entry};
  }

 private:
  struct slot {
    std::uint64_t document = 0;
    const char* start = nullptr;
    std::uint32_t size = 0;
    const Entry* entry = nullptr;
  };
  static constexpr std::size_t probe_bytes = 64;

  static std::size_t index(const char* at, const char* end) noexcept {
    std::size_t n = std::min(probe_bytes, static_cast<std::size_t>(end - at));
    return hash_key({at, n}) % 64;
  }

  std::array<slot, 64> slots_{};
};

}  // namespace dedup::detail
