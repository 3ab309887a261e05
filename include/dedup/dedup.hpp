// dedup/dedup.hpp: everything of the core in one include (scope, tables, from_simple on
// nlohmann::json). The simdjson backend and the stream reader have their own headers.
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
#include "dedup/simple.hpp"
