// dedup-bench-budget: the issue-9 targets for intern-table budgets and weak entries. See the
// budget section of bench/RESULTS.md for figures and the command.
//
// 1. Rotate under pressure: W1 (200,000 refs) read ref by ref from NDJSON, each ref dropped once
//    read (a long-running job), first unbounded, then with the data-coordinate and
//    dimension-record tables bounded to 10% of their unbounded bytes under `rotate`: time, peak
//    table bytes against the budget, hit rate, evictions, and a checksum of every ref's text.
// 2. Weak tracking's hit cost against the default tracking, on the table alone.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/detail/hash.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/simdjson.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

struct pass {
  double seconds = 0;
  std::uint64_t checksum = 0;
  dedup::table_stats coordinates, records;
};

/// Reads every line as a ref in one scope, dropping each ref once read; `budget` bounds the
/// data-coordinate and dimension-record tables (in bytes, each its own share) when set.
pass read_refs(const std::vector<simdjson::padded_string>& lines, std::size_t coord_budget,
               std::size_t record_budget) {
  pass out;
  simdjson::ondemand::parser parser;
  dedup::scope s;
  if (coord_budget) s.get().set_budget<butler::DataCoordinate>({.max_bytes = coord_budget});
  if (record_budget) s.get().set_budget<butler::DimensionRecord>({.max_bytes = record_budget});
  std::string text;
  auto start = clock_type::now();
  for (const auto& line : lines) {
    auto ref = dedup::parse_fast<butler::DatasetRef>(parser, line);
    text.clear();
    dedup::detail::write_text(text, *ref);
    out.checksum ^= dedup::detail::hash_key(text) + (out.checksum << 6);
  }
  out.seconds = seconds_since(start);
  out.coordinates = dedup::stats<butler::DataCoordinate>();
  out.records = dedup::stats<butler::DimensionRecord>();
  return out;
}

void print_table(const char* name, const dedup::table_stats& st, std::size_t budget) {
  double rate = st.lookups ? 100.0 * double(st.hits) / double(st.lookups) : 0;
  std::printf("  %-17s entries %6zu  peak %10zu B", name, st.entries, st.peak_bytes);
  if (budget)
    std::printf(" / budget %10zu B (%s)", budget, st.peak_bytes <= budget ? "within" : "OVER");
  std::printf("  hits %5.1f%%  evictions %8llu  refusals %llu\n", rate,
              static_cast<unsigned long long>(st.evictions),
              static_cast<unsigned long long>(st.refusals));
}

/// Seconds per hit of `intern` on `keys` keys already in a table with the given tracking (the
/// instances held outside, so weak entries stay), the best of `repeat` runs of `ops` hits.
double hit_cost(dedup::tracking tracking, std::size_t keys, std::size_t ops, int repeat) {
  dedup::intern_table<std::string> t({.tracking = tracking});
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const std::string>> held;
  for (std::size_t i = 0; i < keys; ++i) {
    names.push_back("instrument=HSC, detector=" + std::to_string(i));
    held.push_back(t.intern(names.back(), [&] { return names.back(); }));
  }
  double best = 1e9;
  std::size_t sink = 0;
  for (int r = 0; r < repeat; ++r) {
    auto start = clock_type::now();
    for (std::size_t i = 0; i < ops; ++i)
      sink += t.intern(names[(i * 7919) % keys], [] { return std::string(); })->size();
    best = std::min(best, seconds_since(start) / double(ops));
  }
  if (sink == 0) std::printf("(never)\n");
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t refs = 200'000;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--refs") refs = std::strtoul(argv[i + 1], nullptr, 10);
  bool quick = argc > 1 && std::string(argv[1]) == "--quick";
  if (quick) refs = 2'000;

  std::vector<simdjson::padded_string> lines;
  {
    std::istringstream in(butler::make_ndjson(butler::workload{.refs = refs}));
    for (std::string line; std::getline(in, line);) lines.emplace_back(line);
  }
  std::printf(
      "dedup-bench-budget: %zu refs (W1 as NDJSON), read ref by ref, each dropped once read\n\n",
      refs);
  pass open = read_refs(lines, 0, 0);
  std::size_t coord_budget = open.coordinates.peak_bytes / 10;
  std::size_t record_budget = open.records.peak_bytes / 10;
  pass bounded = read_refs(lines, coord_budget, record_budget);
  std::printf("unbounded tables: %.2fs\n", open.seconds);
  print_table("DataCoordinate", open.coordinates, 0);
  print_table("DimensionRecord", open.records, 0);
  std::printf("budget 10%% of unbounded bytes, rotate: %.2fs\n", bounded.seconds);
  print_table("DataCoordinate", bounded.coordinates, coord_budget);
  print_table("DimensionRecord", bounded.records, record_budget);
  bool same = open.checksum == bounded.checksum;
  bool within =
      bounded.coordinates.peak_bytes <= coord_budget && bounded.records.peak_bytes <= record_budget;
  std::printf("every ref reads the same: %s; within budget: %s\n\n", same ? "yes" : "NO",
              within ? "yes" : "NO");

  std::size_t ops = quick ? 100'000 : 5'000'000;
  double strong = hit_cost(dedup::tracking::strong, 1200, ops, quick ? 1 : 5);
  double weak = hit_cost(dedup::tracking::weak, 1200, ops, quick ? 1 : 5);
  std::printf(
      "hit cost, 1200 keys, best of runs of %zu hits: strong %.1f ns, weak %.1f ns: %.2fx "
      "(target <= 1.5x)\n",
      ops, strong * 1e9, weak * 1e9, weak / strong);
  return same && within ? 0 : 1;
}
