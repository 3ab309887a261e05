// dedup/detail/hash.hpp: the key hash is XXH3 and leaves none of xxHash's configuration macros
// in the including translation unit; <xxhash.h> included after dedup still works.
#include <catch2/catch.hpp>

#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "dedup/stream.hpp"

// Checked right after the dedup headers, before this file includes xxHash itself.
#if defined(XXH_INLINE_ALL) || defined(XXH_VECTOR) || defined(XXH_IMPLEMENTATION)
#error "dedup leaked an xxHash configuration macro into the including translation unit"
#endif

#include <xxhash.h>

#include <string>

TEST_CASE("hash_key is XXH3 64 bits of the key bytes", "[hash]") {
  // XXH3_64bits of the empty input, from xxHash's own test vectors: the hash did not change.
  CHECK(dedup::detail::hash_key("") == 0x2D06800538D394C2ull);
  std::string key = "{\"name\":\"calexp\"}";
  CHECK(dedup::detail::hash_key(key) == XXH3_64bits(key.data(), key.size()));
  CHECK(dedup::detail::hash_key(key) != dedup::detail::hash_key("{\"name\":\"bias\"}"));
}
