// `dedup load FILE`: reads a reference-model file with the parallel reader inside one scope and
// shows what was built and what was shared.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "butler/model.hpp"
#include "cli.hpp"
#include "dedup/dedup.hpp"
#include "dedup/stream.hpp"
#include "memory.hpp"
#include "progress.hpp"

namespace dedup::cli {
namespace {

constexpr const char* load_usage = R"(usage: dedup load FILE [--threads N] [--skip-bad] [--json]

Reads a reference-model file with dedup's parallel reader: worker threads parse the refs inside
one dedup::scope and the refs are kept in input order. The format is found from the content,
whatever the file's name: a document whose top-level object has a "refs" member (as
'dedup demo --write F.json' makes it, {"refs": [...]}, or {"version": 1, "refs": [...]}) is read
as the array at /refs, a top-level array as the refs themselves, and anything else as NDJSON, one
ref a line (as 'dedup demo --write F.ndjson' makes it); errors say which format was read. An empty
NDJSON file holds no refs; an empty document is an error. Prints, for each interned type, how
often its table was looked up and how many distinct instances were built and shared (an object
nested in one that was already shared is never even read, so it is looked up only under new
parents), then the heap memory the refs and tables retain once the reader is gone, the peak
resident set and the time. Shows a progress bar on stderr when stderr is a terminal and the file
is larger than 16 MB.

  --threads N   worker threads, 1 to 1024 (default: one per hardware thread)
  --skip-bad    skip refs that fail to parse and count them, instead of stopping at the first;
                the tables cannot tell whose a lookup was, so the lookups a skipped ref made
                before it failed are counted with the others, and the output says so
  --json        print the figures as JSON
)";

/// How `load` reads a file, and the name of that format for messages.
struct layout {
  reader_options options;
  std::string name;
};

/// Finds the format from the content, with the reader's own rule, so that the reader and the
/// writer agree whatever the name. An NDJSON line is an object without "refs", so looking at the
/// first object's members is enough, and costs at most its first line.
layout layout_of(const std::filesystem::path& file) {
  detail::splitter in(std::make_unique<std::ifstream>(file, std::ios::binary),
                      detail::splitter::mode::lines, "");
  auto found = detail::sniff_layout(in, file.extension().string(), "refs", false);
  layout out;
  if (!found.pointer.empty()) {
    out.options.pointer = found.pointer;
    out.name = "a JSON document, array at " + found.pointer;
  } else if (found.mode == detail::splitter::mode::array) {
    out.options.format = stream_format::array;
    out.name = found.empty ? "a JSON document" : "a JSON document, top-level array";
  } else {
    out.options.format = stream_format::ndjson;
    out.name = "NDJSON";
  }
  return out;
}

struct type_row {
  const char* name;
  table_stats stats;
};

/// What a read left: the refs, how many were skipped, the thread count and the time it took.
struct outcome {
  std::vector<std::shared_ptr<const butler::DatasetRef>> refs;
  std::size_t skipped = 0, threads = 0;
  double seconds = 0;
};

/// Reads the refs; a `dedup::error` gains the file and the format it was read as.
outcome read_refs(const std::filesystem::path& path, const layout& how, reader_options options) {
  outcome out;
  auto start = std::chrono::steady_clock::now();
  try {
    reader<butler::DatasetRef> r(path, std::move(options));
    for (auto& ref : r) out.refs.push_back(std::move(ref));
    out.skipped = r.skipped();
    out.threads = r.threads();
  } catch (const error& e) {
    std::string_view what = e.what();
    if (what.starts_with("dedup: ")) what.remove_prefix(7);  // main adds it again
    throw std::runtime_error("reading " + path.string() + " as " + how.name + ": " +
                             std::string(what));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return out;
}

struct figures {
  std::uintmax_t size = 0;
  std::size_t retained = 0, peak = 0;
};

void print_json(const std::filesystem::path& path, const outcome& got, const figures& f,
                const std::vector<type_row>& rows) {
  std::printf(R"({"file":%s,"refs":%zu,"skipped":%zu,"bytes":%ju,"threads":%zu,"seconds":%.3f,)"
              R"("retained_bytes":%zu,"peak_rss_bytes":%zu,"lookups_include_skipped":%s,)"
              R"("types":{)",
              nlohmann::json(path.string()).dump().c_str(), got.refs.size(), got.skipped, f.size,
              got.threads, got.seconds, f.retained, f.peak, got.skipped ? "true" : "false");
  bool first = true;
  for (const type_row& row : rows) {
    std::printf(R"(%s"%s":{"lookups":%llu,"distinct":%zu})", first ? "" : ",", row.name,
                static_cast<unsigned long long>(row.stats.lookups), row.stats.entries);
    first = false;
  }
  std::printf("}}\n");
}

void print_table(const std::filesystem::path& path, const layout& how, const outcome& got,
                 const figures& f, const std::vector<type_row>& rows) {
  char b1[32], b2[32];
  double rate = got.seconds > 0 ? double(f.size) / got.seconds : 0;
  std::printf("dedup load: %s from %s (%s, read as %s) with %s in %.2fs (%s/s)\n",
              plural(got.refs.size(), "ref").c_str(), path.string().c_str(),
              memory::human(f.size, b1), how.name.c_str(), plural(got.threads, "thread").c_str(),
              got.seconds, memory::human(static_cast<std::size_t>(rate), b2));
  if (got.refs.empty() && !got.skipped) std::printf("(the file holds no records)\n");
  if (got.skipped) {
    std::printf(
        "skipped %s that failed to parse; the lookups below include those they made "
        "before failing\n",
        plural(got.skipped, "ref").c_str());
  }
  std::printf("\n%-18s %13s %13s %9s\n", "type", "lookups", "distinct", "shared");
  for (const type_row& row : rows) {
    std::printf("%-18s %13llu %13zu %8.1fx\n", row.name,
                static_cast<unsigned long long>(row.stats.lookups), row.stats.entries,
                row.stats.entries ? double(row.stats.lookups) / double(row.stats.entries) : 0.0);
  }
  std::printf("\nmemory retained by the refs and tables: %s; peak resident set: %s\n",
              memory::human(f.retained, b1), memory::human(f.peak, b2));
}

void print_figures(const std::filesystem::path& path, const layout& how, const outcome& got,
                   bool json, const figures& f, context& ctx) {
  table_stats ref_stats{got.refs.size(), 0, got.refs.size()};  // refs are built by value
  const std::vector<type_row> rows = {
      {"DatasetRef", ref_stats},
      {"DatasetType", ctx.stats<butler::DatasetType>()},
      {"DataCoordinate", ctx.stats<butler::DataCoordinate>()},
      {"DimensionRecord", ctx.stats<butler::DimensionRecord>()},
      {"istring", ctx.stats<std::string>()},  // the strings shared as dedup::istring
  };
  if (json)
    print_json(path, got, f, rows);
  else
    print_table(path, how, got, f, rows);
}

struct command_line {
  std::string_view file;
  std::size_t threads = 0;
  bool json = false, skip_bad = false, help = false;
};

command_line parse_load_args(const args& a) {
  command_line c;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--help" || a[i] == "-h") {
      c.help = true;
    } else if (a[i] == "--threads") {
      c.threads = count_option(a, i);
      if (c.threads == 0 || c.threads > max_reader_threads)
        throw usage_error{"load: --threads must be 1 to " + std::to_string(max_reader_threads)};
    } else if (a[i] == "--json") {
      c.json = true;
    } else if (a[i] == "--skip-bad") {
      c.skip_bad = true;
    } else if (a[i].starts_with("-")) {
      throw usage_error{"load: unknown option '" + std::string(a[i]) + "'"};
    } else if (c.file.empty()) {
      c.file = a[i];
    } else {
      throw usage_error{"load: one FILE only"};
    }
  }
  if (!c.help && c.file.empty()) throw usage_error{"load: which FILE?"};
  return c;
}

}  // namespace

int load(const args& a) {
  command_line c = parse_load_args(a);
  if (c.help) {
    std::fputs(load_usage, stdout);
    return 0;
  }
  std::filesystem::path path = input_file(c.file, "file of refs");

  layout how = layout_of(path);
  reader_options options = how.options;
  options.threads = c.threads;
  options.skip_bad = c.skip_bad;
  std::uintmax_t size = std::filesystem::file_size(path);
  if (isatty(STDERR_FILENO) && size > (std::uintmax_t{16} << 20))
    options.on_progress = [bar = progress_bar{}](const progress& p) mutable {
      bar.draw(p.bytes, p.total_bytes, p.records, "refs");
    };

  scope s;
  std::size_t before = memory::live_bytes();
  outcome got = read_refs(path, how, std::move(options));
  // Measured with the reader gone, so its buffers and queue are not counted as retained.
  figures f{size, memory::live_bytes() - before, memory::peak_rss()};
  print_figures(path, how, got, c.json, f, s.get());
  return 0;
}

}  // namespace dedup::cli
