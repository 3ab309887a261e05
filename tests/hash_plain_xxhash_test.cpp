// A user's translation unit that includes <xxhash.h> plainly (not inlined) before dedup: both
// configurations coexist, and the user's macro settings are what they were.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <catch2/catch.hpp>

#include "dedup/dedup.hpp"

#if defined(XXH_INLINE_ALL) || defined(XXH_VECTOR) || defined(XXH_IMPLEMENTATION)
#error "dedup left an xxHash configuration macro defined after a plain <xxhash.h>"
#endif

TEST_CASE("hash_key agrees with a plainly included <xxhash.h>", "[hash]") {
  const char text[] = "HSC/runs/RC2";
  CHECK(dedup::detail::hash_key(text) == XXH3_64bits(text, sizeof text - 1));
  CHECK(XXH_versionNumber() >= 800u);
}
