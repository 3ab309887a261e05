// Finding where a JSON container ends without parsing it: brackets counted outside strings, a
// block of bytes at a time where the processor allows, for the record splitter
// (detail/stream/splitter.hpp).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace dedup::detail {

/// The bytes of `bytes` as a lookup table.
constexpr std::array<bool, 256> byte_set(std::string_view bytes) {
  std::array<bool, 256> set{};
  for (char c : bytes) set[static_cast<unsigned char>(c)] = true;
  return set;
}
/// The bytes a split stops at inside a string, and outside one within a container.
inline constexpr std::array<bool, 256> in_string_stops = byte_set("\"\\");
inline constexpr std::array<bool, 256> container_stops = byte_set("\"{}[]");

/// Where a walk over a container's bytes stands: what it carries from one block, and one refill,
/// to the next.
struct container_walk {
  std::size_t depth = 0;
  std::uint64_t arrays = 0;  // bit i: the container i levels out from the innermost is an array
  std::string outer;         // '[' or '{' for the levels beyond 64, innermost last
  bool in_string = false;
  bool escaped = false;   // the byte after a backslash is still to be passed
  bool mismatch = false;  // stopped at a closing bracket of the other kind than the container's

  /// Whether the container `level` levels out from the innermost is an array.
  bool array_at(std::size_t level) const {
    return level < 64 ? (arrays >> level) & 1 : outer[outer.size() - 1 - (level - 64)] == '[';
  }
  void push(bool array) {
    if (depth >= 64) outer.push_back(arrays >> 63 ? '[' : '{');
    arrays = arrays << 1 | std::uint64_t{array};
    ++depth;
  }
  void pop() {
    arrays >>= 1;
    if (depth > 64) {
      arrays |= std::uint64_t{outer.back() == '['} << 63;
      outer.pop_back();
    }
    --depth;
  }
  /// Counts the bracket `c` (outside strings); true when it closes the container. A closing
  /// bracket of the other kind stops the walk on it, with `mismatch` set, for the caller to decide.
  /// The kinds are bits, not a stack of bytes: this runs for every bracket of the input.
  bool bracket(char c) {
    if (c == '{' || c == '[') {
      push(c == '[');
      return false;
    }
    if (array_at(0) != (c == ']')) {
      mismatch = true;
      return false;
    }
    pop();
    return depth == 0;
  }
};

/// Walks whole 16-byte blocks of [at, end) and returns the first byte it did not walk (a mismatched
/// closing bracket, with `w.mismatch` set), or the byte after the container's closing bracket (with
/// `closed` set). A byte per step costs most of a
/// split, and most blocks hold few quotes or brackets: one compare finds all of a block's.
inline const char* walk_blocks(const char* at, const char* end, container_walk& w, bool& closed) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\');
  const __m128i open_mask = _mm_set1_epi8(0x20);  // '[' | 0x20 == '{', ']' | 0x20 == '}'
  const __m128i open = _mm_set1_epi8('{'), close = _mm_set1_epi8('}');
  while (end - at >= 16) {
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(at));
    __m128i folded = _mm_or_si128(v, open_mask);
    auto mask = [](__m128i m) { return static_cast<unsigned>(_mm_movemask_epi8(m)); };
    unsigned quotes = mask(_mm_cmpeq_epi8(v, quote)), escapes = mask(_mm_cmpeq_epi8(v, backslash));
    unsigned brackets =
        mask(_mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)));
    bool spill = false;  // a backslash in the last byte escapes the next block's first
    for (unsigned stops = quotes | escapes | brackets; stops; stops &= stops - 1) {
      unsigned i = static_cast<unsigned>(__builtin_ctz(stops));
      unsigned bit = 1u << i;
      if (w.in_string) {
        if (quotes & bit) {
          w.in_string = false;
        } else if (escapes & bit) {
          if (i == 15) spill = true;
          stops &= ~(bit << 1);  // the escaped byte is no stop
        }
      } else if (quotes & bit) {
        w.in_string = true;
      } else if (brackets & bit) {
        if (w.bracket(at[i])) {
          closed = true;
          return at + i + 1;
        }
        if (w.mismatch) return at + i;
      }
    }
    at += 16;
    if (spill) {
      if (at == end) {
        w.escaped = true;
        return at;
      }
      ++at;
    }
  }
#else
  (void)end, (void)w, (void)closed;
#endif
  return at;
}

/// Walks [at, end) a byte at a time, as `walk_blocks` does a block at a time: what is left
/// after the last whole block.
inline const char* walk_bytes(const char* at, const char* end, container_walk& w, bool& closed) {
  for (; at != end; ++at) {
    // Most bytes are plain: the lookup makes the branch on them one that is predicted.
    if (!(w.in_string ? in_string_stops : container_stops)[static_cast<unsigned char>(*at)])
      continue;
    char c = *at;
    if (w.in_string) {
      if (c == '"') {
        w.in_string = false;
      } else if (++at == end) {
        w.escaped = true;  // the escaped byte is the first of the refill
        return at;
      }
    } else if (c == '"') {
      w.in_string = true;
    } else if (w.bracket(c)) {
      closed = true;
      return at + 1;
    } else if (w.mismatch) {
      return at;
    }
  }
  return at;
}

}  // namespace dedup::detail
