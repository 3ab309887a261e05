// The wire section of dedup-bench (bench/wire.hpp).
#include "bench/wire.hpp"

#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <optional>
#include <unordered_set>

#include "analyze/analyze_scan.hpp"
#include "bench/floor.hpp"
#include "butler/model.hpp"
#include "dedup/compact.hpp"
#include "dedup/dedup.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/simdjson.hpp"

namespace bench {
namespace {

/// The median of `reps` runs of `fn` (after one warm-up run), in seconds; `untimed` runs before
/// each, off the clock (to free what the previous run made: freeing is not reading).
double timed(int reps, const std::function<void()>& fn, const std::function<void()>& untimed = {}) {
  if (untimed) untimed();
  fn();
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    if (untimed) untimed();
    auto start = std::chrono::steady_clock::now();
    fn();
    times.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

/// Distinct dataset types and data coordinates (by address) the refs hold.
std::pair<std::size_t, std::size_t> distinct_shared(const butler::RefList& list) {
  std::unordered_set<const void*> types, coordinates;
  for (const auto& ref : list.refs) {
    types.insert(ref->dataset_type.get());
    coordinates.insert(ref->data_id.get());
  }
  return {types.size(), coordinates.size()};
}

std::string ratio(double a, double b) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2f", a / b);
  return text;
}

}  // namespace

wire_figures measure_wire(const simdjson::padded_string& w1, int reps) {
  wire_figures f;
  simdjson::ondemand::parser parser;
  butler::RefList list = dedup::run([&] { return dedup::parse_fast<butler::RefList>(parser, w1); });
  std::string plain, compact;
  f.write_plain = timed(reps, [&] {
    plain.clear();
    dedup::detail::write_text(plain, list);
  });
  f.write_compact = timed(reps, [&] { compact = dedup::to_compact(list); });
  f.plain_bytes = plain.size();
  f.compact_bytes = compact.size();
  simdjson::padded_string plain_text(plain), compact_text(compact);
  // Each read's result, and the plain read's scope, are freed off the clock before the next.
  std::optional<butler::RefList> plain_read, compact_read;
  std::optional<dedup::scope> scope;
  f.read_plain = timed(
      reps,
      [&] {
        scope.emplace();
        plain_read = dedup::parse_fast<butler::RefList>(parser, plain_text);
      },
      [&] {
        plain_read.reset();
        scope.reset();
      });
  scope.reset();
  f.read_compact = timed(
      reps,
      [&] { compact_read = dedup::parse_compact_fast<butler::RefList>(parser, compact_text); },
      [&] { compact_read.reset(); });
  f.same_sharing = distinct_shared(*plain_read) == distinct_shared(*compact_read) &&
                   distinct_shared(*plain_read) == distinct_shared(list);
  return f;
}

analyze_figures measure_analyze(const std::string& workload, const simdjson::padded_string& text,
                                int reps) {
  analyze_figures f;
  f.workload = workload;
  f.bytes = text.size();
  // `dedup analyze` reads a file, by records where it can: time exactly that, on a file in the
  // page cache, against the floor's walk of the same bytes in memory.
  std::filesystem::path file = std::filesystem::temp_directory_path() /
                               ("dedup-bench-analyze-" + std::to_string(::getpid()) + ".json");
  std::ofstream(file, std::ios::binary)
      .write(text.data(), static_cast<std::streamsize>(text.size()));
  std::optional<dedup::cli::analysis::input_scan> in;
  f.scan = timed(reps, [&] {
    in.reset();
    in = dedup::cli::analysis::scan_input(file, false);
  });
  std::filesystem::remove(file);
  simdjson::ondemand::parser od;
  f.floor = timed(reps, [&] {
    simdjson::ondemand::document doc = od.iterate(text);
    volatile std::uint64_t n = visit(doc.get_value().value());
    (void)n;
  });
  std::vector<const dedup::cli::analysis::pattern*> repeated;
  for (const auto& p : in->scan->patterns())
    if (p.occurrences > p.distinct.size()) repeated.push_back(&p);
  std::stable_sort(repeated.begin(), repeated.end(),
                   [](auto* a, auto* b) { return a->saved > b->saved; });
  for (std::size_t i = 0; i < repeated.size() && i < 6; ++i) {
    f.patterns.push_back(repeated[i]->text + ": " + std::to_string(repeated[i]->occurrences) +
                         " / " + std::to_string(repeated[i]->distinct.size()));
  }
  return f;
}

void print_wire(const wire_figures& w, const std::vector<analyze_figures>& analyses) {
  auto fixed = [](double v, const char* unit) {
    char text[48];
    std::snprintf(text, sizeof text, "%.1f %s", v, unit);
    return std::string(text);
  };
  auto mb = [&](std::size_t bytes) { return fixed(static_cast<double>(bytes) / 1e6, "MB"); };
  auto ms = [&](double s) { return fixed(s * 1e3, "ms"); };
  std::cout << "\n| W1 on the wire | plain | compact | plain / compact |\n|---|---:|---:|---:|\n"
            << "| bytes | " << mb(w.plain_bytes) << " | " << mb(w.compact_bytes) << " | "
            << ratio(static_cast<double>(w.plain_bytes), static_cast<double>(w.compact_bytes))
            << " |\n| read to shared objects (simdjson) | " << ms(w.read_plain) << " | "
            << ms(w.read_compact) << " | " << ratio(w.read_plain, w.read_compact)
            << " |\n| write | " << ms(w.write_plain) << " | " << ms(w.write_compact) << " | "
            << ratio(w.write_plain, w.write_compact)
            << " |\n\nBoth reads hold the same sharing: " << (w.same_sharing ? "yes" : "NO")
            << ".\n";
  std::cout << "\n| dedup analyze | MB | scan | floor | of floor | repeated patterns: occurrences "
               "/ distinct |\n|---|---:|---:|---:|---:|---|\n";
  for (const analyze_figures& a : analyses) {
    std::string found;
    for (const std::string& p : a.patterns) found += (found.empty() ? "" : "; ") + p;
    std::cout << "| " << a.workload << " | " << mb(a.bytes) << " | " << ms(a.scan) << " | "
              << ms(a.floor) << " | " << ratio(100 * a.floor, a.scan) << "% | " << found << " |\n";
  }
}

nlohmann::json wire_json(const wire_figures& w, const std::vector<analyze_figures>& analyses) {
  nlohmann::json out = {{"plain_bytes", w.plain_bytes},   {"compact_bytes", w.compact_bytes},
                        {"write_plain_s", w.write_plain}, {"write_compact_s", w.write_compact},
                        {"read_plain_s", w.read_plain},   {"read_compact_s", w.read_compact},
                        {"same_sharing", w.same_sharing}};
  for (const analyze_figures& a : analyses) {
    out["analyze"].push_back({{"workload", a.workload},
                              {"bytes", a.bytes},
                              {"scan_s", a.scan},
                              {"floor_s", a.floor},
                              {"patterns", a.patterns}});
  }
  return out;
}

}  // namespace bench
