// `dedup load FILE|DIR...`: reads reference-model files with the parallel reader inside one scope
// and shows what was built and what was shared, per file and in total. The files are read one after
// the other, each by a reader (the ordered engine over its records), rather than as the items of
// one ordered_map: records are the unit of parallel work, so one large file keeps every thread
// busy, and the reader's queue bounds memory, where a file as an item would hold all its refs.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/progress.hpp"
#include "butler/model.hpp"
#include "cli.hpp"
#include "dedup/dedup.hpp"
#include "dedup/stream.hpp"
#include "memory.hpp"

namespace dedup::cli {
namespace {

constexpr const char* load_footer =
    R"(Reads reference-model files with dedup's parallel reader: worker threads parse the refs
inside one dedup::scope and the refs are kept in input order. Several files are read in the order
given, a directory standing for its *.json, *.ndjson and *.jsonl files in name order, all in the
same scope: an object that an earlier file built is found by the later ones, not built again.

The format of each file is found from its content, whatever its name: a document whose top-level
object has a "refs" member ({"refs": [...]} as 'dedup demo --write F.json' makes it, or
{"version": 1, "refs": [...]}) is read as the array at /refs, a top-level array as the refs
themselves, a compact stream (its first line {"dedup":"compact","version":1}, as 'dedup demo
--write F.ndjson --compact' makes it) by the parallel reader, record by record, a compact
document ('dedup demo --write F.json --compact') whole, in memory, on one thread, and anything
else as NDJSON, one ref a line ('dedup demo --write F.ndjson'). Errors name the file, the format
read, the record and the JSON pointer. An empty NDJSON file holds no refs; an empty document is
an error.

Prints, for each interned type, how often its table was looked up and how many distinct
instances were built and shared (an object nested in one that was already shared is never even
read, so it is looked up only under new parents), with several files also each file's refs and,
per type, the instances it added and its lookups (the rest were found in the tables), then the
heap memory the refs and tables retain once the readers are gone, the peak resident set and the
time. Shows a progress bar on stderr when stderr is a terminal and the files are larger than
16 MB in all.

--json prints {"file" (one file only), "refs", "skipped", "bytes", "threads", "seconds",
"retained_bytes", "peak_rss_bytes", "lookups_include_skipped", "types": {TYPE: {"lookups",
"distinct"}}, "files": [{"file", "format", "refs", "skipped", "bytes", "seconds", "types":
{TYPE: {"lookups", "hits", "new"}}}]}, TYPE being DatasetRef, DatasetType, DataCoordinate,
DimensionRecord and istring.)";

/// The command line of `dedup load`.
struct load_options {
  std::vector<std::string> files;
  std::size_t threads = 0;
  bool json = false, skip_bad = false;
};

/// How `load` reads a file, and the name of that format for messages.
struct layout {
  reader_options options;
  std::string name;
  bool compact_document = false;  // read whole, with parse_compact_fast
};

/// Whether the file starts with a compact document, `{"dedup":"compact",...,"value":...}` on its
/// first line, rather than a compact stream's header line `{"dedup":"compact","version":1}`.
bool starts_compact_document(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(256, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  return head.substr(0, head.find('\n')).find("\"value\"") != std::string::npos;
}

/// Finds the format from the content, with the reader's own rule, so that the reader and the
/// writer agree whatever the name. An NDJSON line is an object without "refs", so looking at the
/// first object's members is enough, and costs at most its first line.
layout layout_of(const std::filesystem::path& file) {
  detail::splitter in(std::make_unique<std::ifstream>(file, std::ios::binary),
                      detail::splitter::mode::lines, "");
  layout out;
  if (in.starts_object_with("dedup")) {  // what 'dedup demo --write F --compact' writes
    if (starts_compact_document(file)) {
      out.compact_document = true;
      out.name = "a compact document";
    } else {
      out.options.format = stream_format::compact;
      out.name = "a compact stream";
    }
    return out;
  }
  auto found = detail::sniff_layout(in, file.extension().string(), "refs", false);
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

/// One file to read: its path, the format found from its content and its size.
struct input {
  std::filesystem::path path;
  layout how;
  std::uintmax_t size = 0;
};

/// The files named on the command line, a directory standing for its `*.json`, `*.ndjson` and
/// `*.jsonl` files in name order.
std::vector<input> inputs_of(const std::vector<std::string>& names) {
  std::vector<std::filesystem::path> paths;
  for (const std::string& name : names) {
    std::filesystem::path p{name};
    if (!std::filesystem::is_directory(p)) {
      paths.push_back(input_file(name, "file of refs"));
      continue;
    }
    std::vector<std::filesystem::path> found;
    for (const auto& e : std::filesystem::directory_iterator(p)) {
      std::string ext = e.path().extension().string();
      if (e.is_regular_file() && (ext == ".json" || ext == ".ndjson" || ext == ".jsonl"))
        found.push_back(e.path());
    }
    if (found.empty())
      throw std::runtime_error(p.string() + " holds no *.json, *.ndjson or *.jsonl file of refs");
    std::sort(found.begin(), found.end());
    paths.insert(paths.end(), found.begin(), found.end());
  }
  std::vector<input> out;
  for (auto& p : paths) out.push_back({p, layout_of(p), std::filesystem::file_size(p)});
  return out;
}

/// The table figures of the context now, the refs (built by value) counted from `refs`.
std::vector<type_row> rows_of(context& ctx, std::size_t refs) {
  return {
      {"DatasetRef", table_stats{refs, 0, refs}},
      {"DatasetType", ctx.stats<butler::DatasetType>()},
      {"DataCoordinate", ctx.stats<butler::DataCoordinate>()},
      {"DimensionRecord", ctx.stats<butler::DimensionRecord>()},
      {"istring", ctx.stats<std::string>()},  // the strings shared as dedup::istring
  };
}

/// What one file's read added: its lookups, hits and new entries (the later rows minus the
/// earlier), so that a file whose objects an earlier file built shows only hits.
std::vector<type_row> difference(const std::vector<type_row>& after,
                                 const std::vector<type_row>& before) {
  std::vector<type_row> out = after;
  for (std::size_t i = 0; i < out.size(); ++i) {
    out[i].stats.lookups -= before[i].stats.lookups;
    out[i].stats.hits -= before[i].stats.hits;
    out[i].stats.entries -= before[i].stats.entries;
  }
  return out;
}

/// What a read left: the refs, how many were skipped, the thread count and the time it took.
struct outcome {
  std::vector<std::shared_ptr<const butler::DatasetRef>> refs;
  std::size_t skipped = 0, threads = 0;
  double seconds = 0;
};

/// One file's share of the read.
struct file_outcome {
  const input* file = nullptr;
  std::size_t refs = 0, skipped = 0;
  double seconds = 0;
  std::vector<type_row> added;
};

/// Reads the refs of one file into `out`; a `dedup::error` gains the file and its format.
file_outcome read_refs(const input& in, reader_options options, outcome& out) {
  file_outcome got;
  got.file = &in;
  std::size_t before = out.refs.size();
  auto start = std::chrono::steady_clock::now();
  try {
    if (in.how.compact_document) {  // one value: read whole, on this thread
      auto text = simdjson::padded_string::load(in.path.string());
      if (text.error()) throw storage_error(in.path.string(), "cannot read the file");
      auto list = parse_compact_fast<butler::RefList>(text.value_unsafe());
      for (auto& ref : list.refs) out.refs.push_back(std::move(ref));
    } else {
      reader<butler::DatasetRef> r(in.path, std::move(options));
      for (auto& ref : r) out.refs.push_back(std::move(ref));
      got.skipped = r.skipped();
      out.threads = std::max(out.threads, r.threads());
    }
  } catch (const error& e) {
    throw e.in_source("reading " + in.path.string() + " as " + in.how.name);
  }
  got.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  got.refs = out.refs.size() - before;
  out.skipped += got.skipped;
  out.seconds += got.seconds;
  return got;
}

struct figures {
  std::uintmax_t size = 0;
  std::size_t retained = 0, peak = 0;
};

nlohmann::ordered_json types_json(const std::vector<type_row>& rows, bool per_file) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const type_row& row : rows) {
    if (per_file)
      out[row.name] = {
          {"lookups", row.stats.lookups}, {"hits", row.stats.hits}, {"new", row.stats.entries}};
    else
      out[row.name] = {{"lookups", row.stats.lookups}, {"distinct", row.stats.entries}};
  }
  return out;
}

void print_figures_json(const std::vector<file_outcome>& files, const outcome& got,
                        const figures& f, const std::vector<type_row>& rows) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  if (files.size() == 1) out["file"] = files[0].file->path.string();
  out.update({{"refs", got.refs.size()},
              {"skipped", got.skipped},
              {"bytes", f.size},
              {"threads", got.threads},
              {"seconds", json_seconds(got.seconds)},
              {"retained_bytes", f.retained},
              {"peak_rss_bytes", f.peak},
              {"lookups_include_skipped", got.skipped != 0},
              {"types", types_json(rows, false)}});
  nlohmann::ordered_json& list = out["files"] = nlohmann::ordered_json::array();
  for (const file_outcome& fo : files)
    list.push_back({{"file", fo.file->path.string()},
                    {"format", fo.file->how.name},
                    {"refs", fo.refs},
                    {"skipped", fo.skipped},
                    {"bytes", fo.file->size},
                    {"seconds", json_seconds(fo.seconds)},
                    {"types", types_json(fo.added, true)}});
  print_json(out);
}

/// One line per file: its refs, and per type the new instances and the lookups that found one.
void print_files(const std::vector<file_outcome>& files) {
  char b1[32];
  std::printf("\nper file (new instances / lookups, the rest found in the tables):\n");
  for (const file_outcome& fo : files) {
    std::printf("  %s: %s (%s, %s) in %.2fs;", fo.file->path.string().c_str(),
                plural(fo.refs, "ref").c_str(), memory::human(fo.file->size, b1),
                fo.file->how.name.c_str(), fo.seconds);
    for (std::size_t i = 1; i < fo.added.size(); ++i)
      std::printf(" %s %zu/%llu", fo.added[i].name, fo.added[i].stats.entries,
                  static_cast<unsigned long long>(fo.added[i].stats.lookups));
    if (fo.skipped) std::printf("; skipped %zu", fo.skipped);
    std::printf("\n");
  }
}

void print_table(const std::vector<file_outcome>& files, const outcome& got, const figures& f,
                 const std::vector<type_row>& rows) {
  char b1[32], b2[32];
  double rate = got.seconds > 0 ? double(f.size) / got.seconds : 0;
  std::string from = files.size() == 1
                         ? files[0].file->path.string() + " (" + memory::human(f.size, b1) +
                               ", read as " + files[0].file->how.name + ")"
                         : plural(files.size(), "file") + " (" + memory::human(f.size, b1) + ")";
  std::printf("dedup load: %s from %s with %s in %.2fs (%s/s)\n",
              plural(got.refs.size(), "ref").c_str(), from.c_str(),
              plural(got.threads, "thread").c_str(), got.seconds,
              memory::human(static_cast<std::size_t>(rate), b2));
  if (got.refs.empty() && !got.skipped)
    std::printf(files.size() == 1 ? "(the file holds no records)\n"
                                  : "(the files hold no records)\n");
  if (got.skipped) {
    std::printf(
        "skipped %s that failed to parse; the lookups below include those they made "
        "before failing\n",
        plural(got.skipped, "ref").c_str());
  }
  if (files.size() > 1) print_files(files);
  std::printf("\n%-18s %13s %13s %9s\n", "type", "lookups", "distinct", "shared");
  for (const type_row& row : rows) {
    std::printf("%-18s %13llu %13zu %8.1fx\n", row.name,
                static_cast<unsigned long long>(row.stats.lookups), row.stats.entries,
                row.stats.entries ? double(row.stats.lookups) / double(row.stats.entries) : 0.0);
  }
  std::printf("\nmemory retained by the refs and tables: %s; peak resident set: %s\n",
              memory::human(f.retained, b1), memory::human(f.peak, b2));
}

/// Reads every file in order into one outcome, with one progress bar over all of them.
std::vector<file_outcome> read_all(const std::vector<input>& inputs, const load_options& c,
                                   std::uintmax_t total, context& ctx, outcome& got) {
  std::vector<file_outcome> files;
  std::uintmax_t done = 0;
  for (const input& in : inputs) {
    reader_options options = in.how.options;
    options.threads = c.threads;
    options.skip_bad = c.skip_bad;
    if (isatty(STDERR_FILENO) && total > (std::uintmax_t{16} << 20))
      options.on_progress = [bar = progress_bar{}, done, total,
                             before = got.refs.size() + got.skipped](const progress& p) mutable {
        bar.draw(done + p.bytes, total, before + p.records, "refs");
      };
    std::vector<type_row> before = rows_of(ctx, got.refs.size());
    file_outcome fo = read_refs(in, std::move(options), got);
    fo.added = difference(rows_of(ctx, got.refs.size()), before);
    files.push_back(std::move(fo));
    done += in.size;
  }
  return files;
}

void run_load(const load_options& c) {
  std::vector<input> inputs = inputs_of(c.files);
  std::uintmax_t size = 0;
  for (const input& in : inputs) size += in.size;

  // One scope over all the files: an object an earlier file built is found, not built again.
  scope s;
  std::size_t before = memory::live_bytes();
  outcome got;
  std::vector<file_outcome> files = read_all(inputs, c, size, s.get(), got);
  // Measured with the readers gone, so their buffers and queues are not counted as retained.
  figures f{size, memory::live_bytes() - before, memory::peak_rss()};
  std::vector<type_row> rows = rows_of(s.get(), got.refs.size());
  if (c.json)
    print_figures_json(files, got, f, rows);
  else
    print_table(files, got, f, rows);
}

}  // namespace

void add_load(CLI::App& app) {
  auto o = std::make_shared<load_options>();
  CLI::App* sub = add_command(
      app, "load", "read files of dataset refs in parallel, in one scope, and show what was shared",
      load_footer);
  sub->add_option("FILE|DIR", o->files, "files of refs, or directories of them, read in order")
      ->required()
      ->type_name("");
  sub->add_option("--threads", o->threads,
                  "worker threads, 1 to " + std::to_string(max_reader_threads) +
                      " (default: one per hardware thread)")
      ->type_name("N")
      ->check(whole_number(1, max_reader_threads));
  sub->add_flag("--skip-bad", o->skip_bad,
                "skip refs that fail to parse and count them, instead of stopping at\n"
                "the first; the tables cannot tell whose a lookup was, so the lookups a\n"
                "skipped ref made before it failed are counted with the others, and the\n"
                "output says so");
  sub->add_flag("--json", o->json, "print the figures as JSON (keys below)");
  sub->callback([o] { run_load(*o); });
}

}  // namespace dedup::cli
