// What every part of dedup-bench shares: its command line, the documents it reads and the median
// it reports.
#pragma once

#include <algorithm>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

namespace bench {

/// dedup-bench's command line:
/// `dedup-bench [--quick] [--json] [--refs N] [--reps N] [--only PART] [--contenders abcdefghi]`.
struct settings {
  bool quick = false;
  bool json = false;
  std::size_t refs = 200'000;
  int reps = 5;
  std::string only;  // run only the parts whose name contains this ("W2", "tables")
  std::string contenders = "abcdefghi";  // and only these contenders (for profiling one)
  bool wants(std::string_view part) const { return part.find(only) != std::string_view::npos; }
  /// W2 and W3 are small: more repetitions, except in a quick run.
  int small_reps() const { return quick ? reps : 4 * reps; }
};

/// The settings of `argv`; throws `std::invalid_argument` with the usage on anything else.
settings parse_arguments(int argc, char** argv);

/// W1, the built-in reference workload of `s.refs` refs. Each part makes it when its turn comes
/// and frees it after: the measuring processes share the parent's memory, so whatever it holds
/// counts in their peak RSS.
simdjson::padded_string w1_document(const settings& s);
/// W1's name in the tables: "W1 refs (N)".
std::string w1_name(const settings& s);

/// `name` from the real-world documents next to the source tree (DEDUP_SHARED_DATA), or nothing
/// when it is absent.
std::optional<simdjson::padded_string> load_shared_data(const char* name);

inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace bench
