// dedup-bench: the same bytes deserialized side by side, with and without interning, on nlohmann
// and on simdjson On-Demand, against a floor that visits every value and builds nothing; then the
// intern table alone against Boost.Flyweight and std::unordered_map on the reference key stream.
// Peers (f) to (i), RapidJSON and Boost.JSON as their users would write them, are in peers_*.cpp.
//
//   dedup-bench [--quick] [--json] [--refs N] [--reps N] [--only PART] [--contenders abcdefghi]
//
// The parts: the command line and inputs (common.hpp), one load measured in its own process
// (isolated.hpp), the contenders (contenders.hpp), the reading rows (reading.hpp), the intern
// tables (tables.hpp), the wire form and `dedup analyze` (wire.hpp), the report (report.hpp).
#include <malloc.h>

#include <algorithm>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "bench/common.hpp"
#include "bench/reading.hpp"
#include "bench/report.hpp"
#include "bench/tables.hpp"
#include "bench/wire.hpp"

namespace {

/// The wire section: W1 plain against W1 compact, and `dedup analyze` on W1 and W2.
struct wire_section {
  bench::wire_figures figures;
  std::vector<bench::analyze_figures> analyses;
};

wire_section measure_wire_section(const bench::settings& s) {
  std::cerr << "  wire: plain and compact, analyze...\n";
  simdjson::padded_string text = bench::w1_document(s);
  wire_section w{bench::measure_wire(text, s.reps), {}};
  w.analyses.push_back(bench::measure_analyze(bench::w1_name(s), text, s.reps));
  if (auto citm = bench::load_shared_data("citm_catalog.json"))
    w.analyses.push_back(bench::measure_analyze("W2 citm_catalog", *citm, s.small_reps()));
  return w;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace bench;
  settings s = parse_arguments(argc, argv);
  std::string load_before = load_average();
  ::malloc_trim(0);
  std::vector<std::string> notes;
  std::vector<table_row> tables;
  if (s.wants("tables")) tables = table_rows(s, notes);
  std::vector<row> rows = reading_rows(s, notes);
  std::optional<wire_section> wire;
  if (s.wants("wire")) wire = measure_wire_section(s);  // the compact form and dedup analyze
  for (const std::string& n : notes) std::cerr << n << "\n";

  if (s.json) {
    print_json(rows, tables, load_before, notes,
               wire ? wire_json(wire->figures, wire->analyses) : nlohmann::json());
  } else {
    print_markdown(rows, tables, load_before, notes);
    if (wire) print_wire(wire->figures, wire->analyses);
  }
  bool failed = std::any_of(rows.begin(), rows.end(), [](const row& r) { return r.f.failed; });
  return failed ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "dedup-bench: " << e.what() << "\n";
  return 2;
}
