// dedup/dedup.hpp: every header-only part in one include: the core (dedup/core.hpp), both
// backends (dedup/nlohmann.hpp, dedup/simdjson.hpp), the stream reader and ordered work
// (dedup/stream.hpp, dedup/ordered_map.hpp) and the compact wire form (dedup/compact.hpp). Link
// dedup::dedup. The cache and the store are compiled libraries with their own headers
// (dedup/disk_cache.hpp, dedup/store.hpp) and targets.
//
// ```
// #include "dedup/dedup.hpp"
// ```
#pragma once

#include "dedup/compact.hpp"
#include "dedup/core.hpp"
#include "dedup/nlohmann.hpp"
#include "dedup/ordered_map.hpp"
#include "dedup/simdjson.hpp"
#include "dedup/stream.hpp"
