// dedup-bench's report (bench/report.hpp).
#include "bench/report.hpp"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>

#include <simdjson.h>

#include "memory.hpp"

namespace bench {
namespace {

std::string human(std::size_t bytes) {
  char buffer[32];
  return dedup::memory::human(bytes, buffer);
}

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << v;
  return out.str();
}

#define BENCH_STRINGIFY_(x) #x
#define BENCH_STRINGIFY(x) BENCH_STRINGIFY_(x)

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, simdjson " +
         std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_MINOR) + " (On-Demand kernel " +
         BENCH_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION) + ")";
}

/// MB per second of `bytes` read in `seconds`.
std::string mb_per_s(std::size_t bytes, double seconds) {
  return fixed(static_cast<double>(bytes) / 1e6 / seconds, 0);
}

/// One line of the loads table. The floor (e) builds nothing: its object columns stay empty.
void print_load(const row& r) {
  if (r.f.failed) {
    std::cout << "| " << r.workload << " | " << r.contender << " | failed: " << r.f.message
              << " ||||||||||\n";
    return;
  }
  bool floor = r.contender[1] == 'e';
  std::cout << "| " << r.workload << " | " << r.contender << " | " << mb_per_s(r.bytes, r.f.seconds)
            << " | " << fixed(100 * r.floor_ratio, 0) << "% | "
            << (r.a_ratio ? fixed(r.a_ratio, 1) : "") << " | "
            << (r.f.seconds_kept > 0 ? mb_per_s(r.bytes, r.f.seconds_kept) : "") << " | "
            << (r.kept_a_ratio ? fixed(r.kept_a_ratio, 1) : "") << " | "
            << mb_per_s(r.bytes, r.f.seconds_first) << " | "
            << (floor ? "" : std::to_string(r.f.built)) << " | "
            << (floor ? "" : std::to_string(r.f.distinct)) << " | "
            << (floor ? "" : human(r.f.retained)) << " | " << human(r.f.peak_rss) << " | "
            << (r.f.repeat_allocations
                    ? fixed(static_cast<double>(r.f.repeat_allocations) / r.records, 2)
                    : "")
            << " |\n";
}

/// The intern tables, each hit time also against Flyweight's on the same stream.
void print_tables(const std::vector<table_row>& tables) {
  std::cout << "\n| intern table | W1 key stream | ns/hit | ns/miss | hit vs Flyweight |\n"
               "|---|---|---:|---:|---:|\n";
  for (const table_row& t : tables) {
    double fly = 0;  // Flyweight's hit time on the same stream
    for (const table_row& u : tables)
      if (u.stream == t.stream && u.table.find("Flyweight") != std::string::npos) fly = u.ns_hit;
    std::cout << "| " << t.table << " | " << t.stream << " | " << fixed(t.ns_hit, 1) << " | "
              << fixed(t.ns_miss, 1) << " | " << fixed(t.ns_hit / fly, 2) << " |\n";
  }
}

nlohmann::json load_json(const row& r) {
  return {{"workload", r.workload},
          {"contender", r.contender},
          {"failed", r.f.failed ? std::string(r.f.message) : std::string()},
          {"bytes", r.bytes},
          {"records", r.records},
          {"seconds", r.f.seconds},
          {"mb_per_s", static_cast<double>(r.bytes) / 1e6 / r.f.seconds},
          {"of_floor", r.floor_ratio},
          {"times_a", r.a_ratio},
          {"seconds_malloc_keeps_freed", r.f.seconds_kept},
          {"times_a_malloc_keeps_freed", r.kept_a_ratio},
          {"seconds_first_load", r.f.seconds_first},
          {"objects_built", r.f.built},
          {"distinct_objects", r.f.distinct},
          {"retained_bytes", r.f.retained},
          {"peak_rss_bytes", r.f.peak_rss},
          {"repeat_allocations", r.f.repeat_allocations}};
}

}  // namespace

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_markdown(const std::vector<row>& rows, const std::vector<table_row>& tables,
                    const std::string& load_before, const std::vector<std::string>& notes) {
  std::cout << "Machine: " << machine() << "; load average " << load_before << " before, "
            << load_average() << " after.\n\n";
  std::cout << "| workload | contender | MB/s | of floor | x (a) | MB/s, malloc keeps freed | "
               "x (a), same | MB/s, first load | objects built | distinct | retained | "
               "peak RSS over input | allocations/record, all hits |\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const row& r : rows) print_load(r);
  print_tables(tables);
  for (const std::string& n : notes) std::cout << "\n" << n << "\n";
}

void print_json(const std::vector<row>& rows, const std::vector<table_row>& tables,
                const std::string& load_before, const std::vector<std::string>& notes,
                nlohmann::json wire) {
  nlohmann::json out = {{"machine", machine()},
                        {"load_before", load_before},
                        {"load_after", load_average()},
                        {"notes", notes}};
  for (const row& r : rows) out["loads"].push_back(load_json(r));
  for (const table_row& t : tables)
    out["tables"].push_back({{"table", t.table},
                             {"stream", t.stream},
                             {"ns_per_hit", t.ns_hit},
                             {"ns_per_miss", t.ns_miss}});
  if (!wire.is_null()) out["wire"] = std::move(wire);
  std::cout << out.dump(2) << "\n";
}

}  // namespace bench
