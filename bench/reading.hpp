// dedup-bench's reading rows: every contender loading W1, W1 with its members reversed, W1 with
// its refs shuffled, W2 (citm_catalog.json) and W3 (twitter.json).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "bench/common.hpp"
#include "bench/isolated.hpp"

namespace bench {

/// One contender on one workload, and its times against the floor (e) and against (a).
struct row {
  std::string workload, contender;
  std::size_t bytes = 0, records = 0;
  figures f;
  double floor_ratio = 0, a_ratio = 0;
  double kept_a_ratio = 0;  // against (a) with malloc keeping freed memory too
};

/// The rows of the workloads `s` asks for, in the order of the table; what was skipped, and how
/// peer (i) had to be written, go to `notes`.
std::vector<row> reading_rows(const settings& s, std::vector<std::string>& notes);

}  // namespace bench
