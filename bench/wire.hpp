// dedup-bench's wire section: W1 written plain and compact, their sizes, the
// time to write each and to read each back to the same shared objects; and `dedup analyze`'s one
// pass against the On-Demand floor on W1 and on citm_catalog.json.
#pragma once

#include <string>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

namespace bench {

/// W1 plain against W1 compact. Times are medians in seconds.
struct wire_figures {
  std::size_t plain_bytes = 0, compact_bytes = 0;
  double write_plain = 0, write_compact = 0;  // the simple form as text; the compact document
  double read_plain = 0;      // parse_fast in a scope: the refs' repeated parts shared
  double read_compact = 0;    // parse_compact_fast, no scope: sharing from the ids alone
  bool same_sharing = false;  // both reads hold as many distinct dataset types and coordinates
};
wire_figures measure_wire(const simdjson::padded_string& w1, int reps);

/// `dedup analyze`'s scan of one document against the floor, and what it found there.
struct analyze_figures {
  std::string workload;
  std::size_t bytes = 0;
  double scan = 0, floor = 0;
  std::vector<std::string> patterns;  // "pointer pattern: occurrences / distinct", most saved first
};
analyze_figures measure_analyze(const std::string& workload, const simdjson::padded_string& text,
                                int reps);

void print_wire(const wire_figures& w, const std::vector<analyze_figures>& analyses);
nlohmann::json wire_json(const wire_figures& w, const std::vector<analyze_figures>& analyses);

}  // namespace bench
