// dedup/detail/hash.hpp: the hash of key bytes, XXH3 inlined, without leaking xxHash's macros.
#pragma once

#include <cstddef>
#include <string_view>

// xxHash, inlined (header-only, nothing to link): XXH3 hashes key bytes several times faster than
// std::hash's murmur, which matters for exact-bytes keys (whole JSON objects) and every lookup.
// Keys are short (a record is a few hundred bytes), where XXH3 is scalar anyway; pinning the long
// input kernel to SSE2 (x86-64's baseline) keeps the code of every inline function that hashes
// the same whatever -march a translation unit has (one definition, as C++ requires) and avoids
// g++ 12's false -Wmaybe-uninitialized in its AVX-512 intrinsics under -march=native.
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
#define XXH_VECTOR XXH_SSE2
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
