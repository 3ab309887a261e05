// dedup-bench's intern table rows: dedup's table against Boost.Flyweight, std::unordered_map and
// the hash of a key alone, on the keys dedup computes for W1's refs.
#pragma once

#include <string>
#include <vector>

#include "bench/common.hpp"

namespace bench {

/// One table on one key stream: ns per hit and per miss, medians.
struct table_row {
  std::string table, stream;
  double ns_hit = 0, ns_miss = 0;
};

/// The rows of every table on W1's dataset type keys, as exact bytes and by member; the size of
/// each stream goes to `notes`.
std::vector<table_row> table_rows(const settings& s, std::vector<std::string>& notes);

}  // namespace bench
