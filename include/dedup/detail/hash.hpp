// dedup/detail/hash.hpp: the hash of key bytes, XXH3 inlined, without leaking xxHash's macros.
#pragma once

#include <cstddef>
#include <string_view>

// xxHash, inlined (header-only, nothing to link): XXH3 hashes key bytes several times faster than
// std::hash's murmur, which matters for exact-bytes keys (whole JSON objects) and every lookup.
// Keys are short (a record is a few hundred bytes), where XXH3 is scalar anyway; inputs over 240
// bytes (a data coordinate's exact bytes) use the long kernel, pinned to AVX2 where the build has
// it and SSE2 (x86-64's baseline) otherwise, never AVX-512, whose intrinsics g++ 12 warns on
// falsely (-Wmaybe-uninitialized) under -march=native. XXH3 gives the same hash on every kernel.
// The configuration macros are saved and restored around the include, so a user's translation
// unit sees its own settings afterwards (and can include <xxhash.h> itself, inlined or not:
// XXH_INLINE_ALL renames every inlined symbol, so both coexist).
#pragma push_macro("XXH_INLINE_ALL")
#pragma push_macro("XXH_VECTOR")
#pragma push_macro("XXH_IMPLEMENTATION")
#undef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#if defined(__x86_64__)
#undef XXH_VECTOR
#if defined(__AVX2__)
#define XXH_VECTOR XXH_AVX2
#else
#define XXH_VECTOR XXH_SSE2
#endif
#endif
#include <xxhash.h>
#undef XXH_INLINE_ALL
#undef XXH_VECTOR
#undef XXH_IMPLEMENTATION
#pragma pop_macro("XXH_IMPLEMENTATION")
#pragma pop_macro("XXH_VECTOR")
#pragma pop_macro("XXH_INLINE_ALL")

namespace dedup::detail {

/// The hash dedup uses for key bytes (XXH3, 64 bits), the same on every machine and build.
///
/// ```
/// assert(dedup::detail::hash_key("HSC") == dedup::detail::hash_key(std::string("HSC")));
/// ```
inline std::size_t hash_key(std::string_view key) noexcept {
  return static_cast<std::size_t>(XXH3_64bits(key.data(), key.size()));
}

}  // namespace dedup::detail
