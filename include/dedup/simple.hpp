// dedup/simple.hpp: the former name of dedup/nlohmann.hpp, kept for one release.
//
// Deprecated: include "dedup/nlohmann.hpp" (the nlohmann::json backend) instead; this header will
// be removed in the next minor release. It only forwards, so code that includes it behaves
// exactly as before.
//
// ```
// #include "dedup/nlohmann.hpp"  // was: #include "dedup/simple.hpp"
// ```
#pragma once

#include "dedup/nlohmann.hpp"
