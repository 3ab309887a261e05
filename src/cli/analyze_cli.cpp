// `dedup analyze FILE`: how much repetition any JSON holds, where, and which keys would share it.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/analyze_scan.hpp"
#include "analyze/progress.hpp"
#include "cli.hpp"
#include "dedup/detail/stream/splitter.hpp"
#include "dedup/error.hpp"
#include "memory.hpp"

namespace dedup::cli {
namespace {

constexpr const char* analyze_footer =
    R"(Finds the objects and arrays that repeat in any JSON file, with no model of its schema: each
is hashed structurally in one pass (member order does not count), grouped by the JSON pointer
pattern where it occurs (/refs/*/datasetType: array indices as *, and the members of a map as *
too), and the patterns whose values repeat are listed with their occurrences, distinct values,
bytes, and the bytes a writer that writes each shared object once would save (assuming 12 bytes a
reference; patterns nested in a repeated one count their bytes again, the total counts each byte
once). For each pattern of objects it proposes a key: the smallest set of up to three member names
whose values tell its distinct objects apart ("whole value" when none does), and warns when the
member that tells most of them apart would, alone, merge objects that differ elsewhere: the
wrong-key bug, found before it is written. Empty arrays and objects count as values like any other.

A map is an object keyed by data ({"138586341": {...}, "138586345": {...}}): a pattern whose
objects have, between them, at least 16 differently named members, all objects or all arrays
(nulls aside), objects of one type (each member name of theirs used by two of them on average).
Its members are one pattern (/*/sponsor rather than /138586341/sponsor); a file that holds maps
is read again, up to three times more, to count them from the start.

A file named *.ndjson or *.jsonl (or any file, with --ndjson) is read line by line, one record a
line (pattern /*); a file that starts with '[' is read element by element (/*), and one that
starts with {"NAME": [ and holds nothing else is read element by element of /NAME (/NAME/*):
those take memory for the distinct subtrees, not for the file. Any other file is read as one
document, in memory. Shows a progress bar on stderr when stderr is a terminal and the file is
larger than 16 MB and is read by records.

--json prints {"file", "format", "records", "bytes", "saved_bytes", "reference_bytes",
"seconds", "peak_rss_bytes", "patterns": [{"pattern", "occurrences", "distinct", "bytes",
"saved_bytes", "objects", "map", "key" (member names, or null), "warning" (or null)}]}.)";

/// The command line of `dedup analyze`.
struct analyze_options {
  std::string file;
  std::size_t top = 20;
  bool json = false, ndjson = false;
};

struct row {
  const analysis::pattern* p;
  analysis::key_report key;
};

std::vector<row> repeated_patterns(const analysis::scanner& scan, std::size_t top) {
  std::vector<row> rows;
  for (const analysis::pattern& p : scan.patterns())
    if (p.occurrences > p.distinct.size()) rows.push_back({&p, {}});
  std::stable_sort(rows.begin(), rows.end(),
                   [](const row& a, const row& b) { return a.p->saved > b.p->saved; });
  if (top && rows.size() > top) rows.resize(top);
  for (row& r : rows) r.key = analysis::find_key(*r.p, scan.patterns());
  return rows;
}

std::string key_text(const row& r) {
  if (r.p->map) return "(map: whole value)";
  if (!r.p->all_objects) return "(arrays: whole value)";
  if (r.key.members.empty()) return r.p->distinct.size() < 2 ? "(one value)" : "whole value";
  std::string out;
  for (const std::string& m : r.key.members) out += (out.empty() ? "" : ", ") + m;
  return out;
}

void print_report_json(const std::filesystem::path& file, const analysis::plan& how,
                       const analysis::outcome& got, const analysis::scanner& scan,
                       const std::vector<row>& rows) {
  nlohmann::ordered_json patterns = nlohmann::ordered_json::array();
  for (const row& r : rows) {
    nlohmann::ordered_json key = nullptr;
    if (!r.key.members.empty()) key = r.key.members;
    patterns.push_back(
        {{"pattern", r.p->text},
         {"occurrences", r.p->occurrences},
         {"distinct", r.p->distinct.size()},
         {"bytes", r.p->bytes},
         {"saved_bytes", r.p->saved},
         {"objects", r.p->all_objects},
         {"map", r.p->map},
         {"key", key},
         {"warning", r.key.warning.empty() ? nlohmann::ordered_json(nullptr)
                                           : nlohmann::ordered_json(r.key.warning)}});
  }
  nlohmann::ordered_json out = {{"file", file.string()},
                                {"format", how.name},
                                {"records", got.records},
                                {"bytes", scan.bytes()},
                                {"saved_bytes", scan.saved()},
                                {"reference_bytes", analysis::reference_bytes},
                                {"seconds", json_seconds(got.seconds)},
                                {"peak_rss_bytes", memory::peak_rss()},
                                {"patterns", patterns}};
  print_json(out);
}

void print_table(const std::filesystem::path& file, const analysis::plan& how,
                 const analysis::outcome& got, const analysis::scanner& scan,
                 const std::vector<row>& rows) {
  char b1[32], b2[32], b3[32];
  std::uintmax_t size = std::filesystem::file_size(file);
  std::string records = how.whole ? "" : ", " + plural(got.records, "record");
  std::printf("dedup analyze: %s (%s, %s%s) in %.2fs (%s/s), peak resident set %s\n",
              file.string().c_str(), memory::human(size, b1), how.name.c_str(), records.c_str(),
              got.seconds,
              memory::human(got.seconds > 0 ? std::size_t(double(size) / got.seconds) : 0, b2),
              memory::human(memory::peak_rss(), b3));
  double share = scan.bytes() ? 100.0 * double(scan.saved()) / double(scan.bytes()) : 0;
  std::printf("a writer that keeps sharing would save %s of its %s compact (%.0f%%)\n\n",
              memory::human(scan.saved(), b1), memory::human(scan.bytes(), b2), share);
  if (rows.empty()) {
    std::printf("no object or array repeats\n");
    return;
  }
  int width = 7;
  for (const row& r : rows) width = std::max(width, static_cast<int>(r.p->text.size()));
  std::printf("%-*s %11s %9s %10s %10s  %s\n", width, "pattern", "occurrences", "distinct", "bytes",
              "saved", "key candidate");
  for (const row& r : rows) {
    std::printf("%-*s %11llu %9zu %10s %10s  %s\n", width, r.p->text.c_str(),
                static_cast<unsigned long long>(r.p->occurrences), r.p->distinct.size(),
                memory::human(r.p->bytes, b1), memory::human(r.p->saved, b2), key_text(r).c_str());
  }
  bool header = false;
  for (const row& r : rows) {
    if (r.key.warning.empty()) continue;
    if (!header) std::printf("\nwarnings:\n");
    header = true;
    std::printf("  %s: %s\n", r.p->text.c_str(), r.key.warning.c_str());
  }
}

void run_analyze(const analyze_options& c) {
  std::filesystem::path file = input_file(c.file, "JSON file");
  auto start = std::chrono::steady_clock::now();
  analysis::input_scan in = analysis::scan_input(file, c.ndjson);
  auto rows = repeated_patterns(*in.scan, c.top);
  in.got.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (c.json)
    print_report_json(file, in.how, in.got, *in.scan, rows);
  else
    print_table(file, in.how, in.got, *in.scan, rows);
}

}  // namespace

void add_analyze(CLI::App& app) {
  auto o = std::make_shared<analyze_options>();
  CLI::App* sub = add_command(
      app, "analyze", "find the objects and arrays that repeat in any JSON file and propose keys",
      analyze_footer);
  sub->add_option("FILE", o->file, "the JSON or NDJSON file")->required()->type_name("");
  sub->add_flag("--ndjson", o->ndjson, "read the file as NDJSON whatever its name");
  sub->add_option("--top", o->top,
                  "list the N patterns that would save the most (default 20; 0: all)")
      ->type_name("N")
      ->check(whole_number());
  sub->add_flag("--json", o->json, "print the report as JSON (keys below)");
  sub->callback([o] { run_analyze(*o); });
}

}  // namespace dedup::cli
