// `dedup load FILE`: reads a reference-model file with the parallel reader inside one scope and
// shows what was built and what was shared.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "cli.hpp"
#include "dedup/dedup.hpp"
#include "dedup/stream.hpp"
#include "memory.hpp"

namespace dedup::cli {
namespace {

constexpr const char* load_usage = R"(usage: dedup load FILE [--threads N] [--skip-bad] [--json]

Reads a reference-model file, NDJSON with one dataset ref a line (FILE ending in .ndjson or
.jsonl, or any file not starting with {"refs") or a {"refs": [...]} document as 'dedup demo
--write' makes them, with dedup's parallel reader: worker threads parse the refs inside one
dedup::scope and the refs are kept in input order. Prints, for each interned type, how often its
table was looked up and how many distinct instances were built and shared (an object nested in
one that was already shared is never even read, so it is looked up only under new parents), then
the heap memory the refs retain, the peak resident set and the time. Shows a progress bar on stderr when stderr
is a terminal and the file is larger than 16 MB.

  --threads N   worker threads (default: one per hardware thread)
  --skip-bad    skip refs that fail to parse and count them, instead of stopping at the first
  --json        print the figures as JSON
)";

/// A file whose first value is an object with "refs" as its first member is a document;
/// anything else without an NDJSON name is read as lines.
reader_options layout_of(const std::filesystem::path& file) {
  reader_options o;
  std::string ext = file.extension().string();
  if (ext == ".ndjson" || ext == ".jsonl") {
    o.format = stream_format::ndjson;
    return o;
  }
  std::ifstream in(file, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t i = head.find_first_not_of(" \t\r\n");
  if (i != std::string::npos && head[i] == '{') {
    std::size_t k = head.find_first_not_of(" \t\r\n", i + 1);
    if (k != std::string::npos && head.compare(k, 6, "\"refs\"") == 0) {
      std::size_t colon = head.find_first_not_of(" \t\r\n", k + 6);
      if (colon != std::string::npos && head[colon] == ':') {
        o.pointer = "/refs";
        return o;
      }
    }
  }
  o.format =
      i != std::string::npos && head[i] == '[' ? stream_format::array : stream_format::ndjson;
  return o;
}

/// A one-line progress bar on stderr, redrawn at most ten times a second.
class progress_bar {
 public:
  void operator()(const progress& p) {
    auto now = std::chrono::steady_clock::now();
    bool last = p.total_bytes && p.bytes >= p.total_bytes;
    if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    double done = p.total_bytes ? double(p.bytes) / double(p.total_bytes) : 0;
    int filled = static_cast<int>(done * 40);
    std::fprintf(stderr, "\r[%-40.*s] %3.0f%%  %zu refs", filled,
                 "########################################", done * 100, p.records);
    if (last) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::chrono::steady_clock::time_point drawn_{};
};

struct type_row {
  const char* name;
  table_stats stats;
};

}  // namespace

int load(const args& a) {
  std::string_view file;
  std::size_t threads = 0;
  bool json = false, skip_bad = false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--help" || a[i] == "-h") {
      std::fputs(load_usage, stdout);
      return 0;
    } else if (a[i] == "--threads") {
      threads = count_option(a, i);
      if (threads == 0) throw usage_error{"--threads must be at least 1"};
    } else if (a[i] == "--json") {
      json = true;
    } else if (a[i] == "--skip-bad") {
      skip_bad = true;
    } else if (a[i].starts_with("-")) {
      throw usage_error{"load: unknown option '" + std::string(a[i]) + "'"};
    } else if (file.empty()) {
      file = a[i];
    } else {
      throw usage_error{"load: one FILE only"};
    }
  }
  if (file.empty()) throw usage_error{"load: which FILE? (dedup load --help)"};
  std::filesystem::path path{std::string(file)};
  if (!std::filesystem::is_regular_file(path))
    throw std::runtime_error("no such file: " + path.string());

  reader_options options = layout_of(path);
  options.threads = threads;
  options.skip_bad = skip_bad;
  std::uintmax_t size = std::filesystem::file_size(path);
  if (isatty(STDERR_FILENO) && size > (std::uintmax_t{16} << 20))
    options.on_progress = progress_bar{};

  scope s;
  std::size_t before = memory::live_bytes();
  auto start = std::chrono::steady_clock::now();
  std::vector<std::shared_ptr<const butler::DatasetRef>> refs;
  reader<butler::DatasetRef> r(path, std::move(options));
  for (auto& ref : r) refs.push_back(std::move(ref));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::size_t retained = memory::live_bytes() - before;

  context& ctx = s.get();
  table_stats ref_stats{refs.size(), 0, refs.size()};  // refs are built by value, never shared
  const type_row rows[] = {
      {"DatasetRef", ref_stats},
      {"DatasetType", ctx.stats<butler::DatasetType>()},
      {"DataCoordinate", ctx.stats<butler::DataCoordinate>()},
      {"DimensionRecord", ctx.stats<butler::DimensionRecord>()},
      {"string (istring)", ctx.stats<std::string>()},
  };
  std::size_t peak = memory::peak_rss();

  if (json) {
    std::printf(R"({"file":%s,"refs":%zu,"skipped":%zu,"bytes":%ju,"threads":%zu,"seconds":%.3f,)"
                R"("retained_bytes":%zu,"peak_rss_bytes":%zu,"types":{)",
                nlohmann::json(path.string()).dump().c_str(), refs.size(), r.skipped(), size,
                r.threads(), seconds, retained, peak);
    bool first = true;
    for (const type_row& row : rows) {
      std::printf(R"(%s"%s":{"lookups":%llu,"distinct":%zu})", first ? "" : ",", row.name,
                  static_cast<unsigned long long>(row.stats.lookups), row.stats.entries);
      first = false;
    }
    std::printf("}}\n");
    return 0;
  }
  char b1[32], b2[32], b3[32];
  std::printf("dedup load: %zu refs from %s (%s) with %zu threads in %.2fs (%s/s)\n", refs.size(),
              path.string().c_str(), memory::human(size, b1), r.threads(), seconds,
              memory::human(static_cast<std::size_t>(double(size) / seconds), b2));
  if (r.skipped()) std::printf("skipped %zu refs that failed to parse\n", r.skipped());
  std::printf("\n%-18s %13s %13s %9s\n", "type", "lookups", "distinct", "shared");
  for (const type_row& row : rows) {
    std::printf("%-18s %13llu %13zu %8.1fx\n", row.name,
                static_cast<unsigned long long>(row.stats.lookups), row.stats.entries,
                row.stats.entries ? double(row.stats.lookups) / double(row.stats.entries) : 0.0);
  }
  std::printf("\nmemory retained by the refs and tables: %s; peak resident set: %s\n",
              memory::human(retained, b1), memory::human(peak, b3));
  return 0;
}

}  // namespace dedup::cli
