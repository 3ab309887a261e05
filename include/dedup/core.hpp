// dedup/core.hpp: the core without any JSON library: scopes and context variables, intern
// tables, options and policies, reflection and codecs, the error types. A backend
// (dedup/nlohmann.hpp, dedup/simdjson.hpp) adds reading and writing of a JSON library's values;
// the core alone is what code that only declares types and opens scopes needs.
//
// ```
// #include "dedup/core.hpp"
// ```
#pragma once

#include "dedup/codec.hpp"
#include "dedup/context.hpp"
#include "dedup/context_var.hpp"
#include "dedup/error.hpp"
#include "dedup/intern_table.hpp"
#include "dedup/istring.hpp"
#include "dedup/nullable.hpp"
#include "dedup/options.hpp"
#include "dedup/policy.hpp"
#include "dedup/reflect.hpp"
#include "dedup/table_stats.hpp"
