// `dedup demo`: the built-in reference workload, loaded without and with a scope.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "butler/workload.hpp"
#include "cli.hpp"
#include "dedup/compact.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "memory.hpp"

namespace dedup::cli {
namespace {

constexpr const char* demo_footer =
    R"(Generates the built-in reference workload: N dataset refs whose dataset types, data
coordinates and dimension records (about 1200) repeat as in a registry query. Loads it once without
a scope and once inside a dedup::scope, and prints for each the objects built (refs, dataset types,
data coordinates and dimension records, a shared one once), the distinct objects among them (counted
by content), the heap memory the result retains and the time.

--json prints {"backend", "refs", "json_bytes", "distinct_objects", "without_scope":
{"objects_built", "retained_bytes", "seconds"}, "in_scope": {the same}}; with --write,
{"file", "refs", "bytes", "format"}.)";

/// The demo's command line.
struct demo_options {
  butler::workload w;
  std::string write_to, backend = "simdjson";
  bool json = false, compact = false;
};

/// Objects reachable from a load, counted once per instance (a shared instance counts once),
/// and how many of them are distinct by content, so that the figure is counted, not predicted.
class census {
 public:
  std::size_t objects() const { return hash_of_.size(); }
  std::size_t distinct() const { return distinct_.size(); }

  /// The content hash of `p`'s object, computed by `content` the first time the instance is met.
  template <class T, class Content>
  std::size_t add(const T* p, Content&& content) {
    auto [it, fresh] = hash_of_.try_emplace(p, 0);
    if (fresh) {
      it->second = mix(std::hash<std::string_view>{}(detail::type_name<T>()), content());
      distinct_.insert(it->second);
    }
    return it->second;
  }

  static std::size_t mix(std::size_t h, std::size_t v) {
    return (h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2))) * 0xff51afd7ed558ccdULL;
  }
  template <class T>
  static std::size_t text_hash(const T& v) {
    return std::hash<std::string>{}(to_simple(v).dump());
  }

 private:
  std::unordered_map<const void*, std::size_t> hash_of_;
  std::unordered_set<std::size_t> distinct_;
};

std::size_t coordinate_hash(const butler::DataCoordinate& c, census& seen) {
  std::size_t h = census::text_hash(c.data_id);
  if (!c.records) return h;
  for (const auto& [name, record] : *c.records) {
    h = census::mix(h, std::hash<std::string>{}(name));
    h = census::mix(h, seen.add(record.get(), [&] { return census::text_hash(*record); }));
  }
  return census::mix(h, 1);
}

census count_objects(const butler::RefList& list) {
  census c;
  for (const auto& ref : list.refs) {
    c.add(ref.get(), [&] {
      std::size_t h = std::hash<std::string_view>{}(std::string_view(
          reinterpret_cast<const char*>(ref->id.bytes.data()), ref->id.bytes.size()));
      h = census::mix(
          h, c.add(ref->dataset_type.get(), [&] { return census::text_hash(*ref->dataset_type); }));
      h = census::mix(h,
                      c.add(ref->data_id.get(), [&] { return coordinate_hash(*ref->data_id, c); }));
      h = census::mix(h, std::hash<std::string_view>{}(std::string_view(ref->run)));
      return census::mix(h, ref->component ? std::hash<std::string>{}(*ref->component) : 7);
    });
  }
  return c;
}

struct figures {
  std::size_t built = 0;
  std::size_t distinct = 0;
  std::size_t retained = 0;
  double seconds = 0;
};

template <class Load>
figures measure(Load&& load) {
  memory::settle();
  std::size_t before = memory::live_bytes();
  auto start = std::chrono::steady_clock::now();
  butler::RefList list = load();
  auto stop = std::chrono::steady_clock::now();
  figures f;
  f.retained = memory::live_bytes() - before;
  f.seconds = std::chrono::duration<double>(stop - start).count();
  census c = count_objects(list);
  f.built = c.objects();
  f.distinct = c.distinct();
  return f;
}

/// The workload in the compact form: read in a scope, so that its repeated parts are the shared
/// instances the compact writer writes once.
std::string compact_text(const butler::workload& w, bool stream) {
  simdjson::padded_string plain(butler::make_document(w));
  butler::RefList list = dedup::run([&] { return dedup::parse_fast<butler::RefList>(plain); });
  if (!stream) return dedup::to_compact(list);
  std::ostringstream out;
  dedup::compact_writer<butler::DatasetRef> writer(out);
  for (const auto& ref : list.refs) writer.write(*ref);
  return std::move(out).str();
}

void write_workload(const demo_options& o) {
  std::string_view file = o.write_to;
  bool ndjson = file.ends_with(".ndjson") || file.ends_with(".jsonl");
  std::string text = o.compact ? compact_text(o.w, ndjson)
                     : ndjson  ? butler::make_ndjson(o.w)
                               : butler::make_document(o.w);
  std::ofstream out{o.write_to, std::ios::binary};
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + o.write_to);
  const char* form = o.compact ? (ndjson ? "a compact stream" : "a compact document")
                     : ndjson  ? "NDJSON"
                               : "a {\"refs\": [...]} document";
  if (o.json) {
    print_json(
        {{"file", o.write_to}, {"refs", o.w.refs}, {"bytes", text.size()}, {"format", form}});
    return;
  }
  char b[32];
  std::printf("wrote %s (%s, %s) to %s\n", plural(o.w.refs, "ref").c_str(),
              memory::human(text.size(), b), form, o.write_to.c_str());
}

/// `a / b` as "2.5x", or "n/a" when there is nothing to divide by (as with `--refs 0`).
std::string ratio(double a, double b) {
  if (!(b > 0)) return "n/a";
  char out[32];
  std::snprintf(out, sizeof out, "%.1fx", a / b);
  return out;
}

nlohmann::ordered_json figures_json(const figures& f) {
  return {{"objects_built", f.built},
          {"retained_bytes", f.retained},
          {"seconds", json_seconds(f.seconds)}};
}

void print_figures_json(std::string_view backend, const butler::workload& w, std::size_t bytes,
                        const figures& plain, const figures& shared) {
  print_json({{"backend", backend},
              {"refs", w.refs},
              {"json_bytes", bytes},
              {"distinct_objects", shared.distinct},
              {"without_scope", figures_json(plain)},
              {"in_scope", figures_json(shared)}});
}

void print_table(std::string_view backend, const butler::workload& w, std::size_t bytes,
                 const figures& plain, const figures& shared) {
  char b1[32], b2[32];
  std::printf("dedup demo: %s", plural(w.refs, "ref").c_str());
  if (w.refs) {
    std::printf(" over %s, %s and %s", plural(w.distinct_dataset_types(), "dataset type").c_str(),
                plural(w.distinct_data_coordinates(), "data coordinate").c_str(),
                plural(w.distinct_dimension_records(), "dimension record").c_str());
  }
  std::printf(" (%s of JSON, %.*s backend)\n\n", memory::human(bytes, b1),
              static_cast<int>(backend.size()), backend.data());
  std::printf("%-20s %15s %17s %17s %9s\n", "", "objects built", "distinct objects",
              "memory retained", "time");
  std::printf("%-20s %15zu %17zu %17s %8.2fs\n", "without a scope", plain.built, plain.distinct,
              memory::human(plain.retained, b1), plain.seconds);
  std::printf("%-20s %15zu %17zu %17s %8.2fs\n", "in a dedup::scope", shared.built, shared.distinct,
              memory::human(shared.retained, b2), shared.seconds);
  if (plain.built == 0) {
    std::printf("\nsharing: no objects were built, so there is nothing to compare\n");
    return;
  }
  std::printf("\nsharing: %s fewer objects, %s less memory, %s the speed\n",
              ratio(double(plain.built), double(shared.built)).c_str(),
              ratio(double(plain.retained), double(shared.retained)).c_str(),
              ratio(plain.seconds, shared.seconds).c_str());
}

/// Loads the workload without and with a scope, with the backend asked for, and prints both.
void run_demo(const demo_options& o) {
  if (!o.write_to.empty()) return write_workload(o);
  std::string text = butler::make_document(o.w);
  figures plain, shared;
  if (o.backend == "simdjson") {
    simdjson::padded_string padded(text);
    simdjson::ondemand::parser parser;
    if (parser.allocate(padded.size())) throw std::runtime_error("cannot allocate the parser");
    auto load = [&] { return parse_fast<butler::RefList>(parser, padded); };
    plain = measure(load);
    shared = measure([&] { return run(load); });
  } else {
    nlohmann::json document = nlohmann::json::parse(text);
    auto load = [&] { return from_simple<butler::RefList>(document); };
    plain = measure(load);
    shared = measure([&] { return run(load); });
  }
  if (o.json)
    print_figures_json(o.backend, o.w, text.size(), plain, shared);
  else
    print_table(o.backend, o.w, text.size(), plain, shared);
}

}  // namespace

action add_demo(CLI::App& app) {
  auto o = std::make_shared<demo_options>();
  CLI::App* sub = add_command(app, "demo",
                              "generate the built-in reference workload, load it twice and compare",
                              demo_footer);
  sub->add_option("--refs", o->w.refs, "number of dataset refs to generate (default 200000)")
      ->type_name("N")
      ->check(whole_number());
  sub->add_option("--types", o->w.dataset_types, "number of dataset types, 1 to 40 (default 40)")
      ->type_name("N")
      ->check(whole_number(1, 40));
  sub->add_option("--backend", o->backend,
                  "simdjson (default: On-Demand, straight from the text) or nlohmann\n"
                  "(parse to a DOM first; the DOM is built once, outside the measured loads)")
      ->type_name("B")
      ->check(CLI::IsMember({"simdjson", "nlohmann"}).description(""));
  CLI::Option* write = sub->add_option(
      "--write", o->write_to,
      "write the workload to FILE instead (NDJSON if FILE ends in .ndjson or .jsonl,\n"
      "else a {\"refs\": [...]} document; 'dedup load' reads both) and exit");
  write->type_name("FILE");
  sub->add_flag("--compact", o->compact,
                "with --write: write the compact form, each shared object once\n"
                "(dedup/compact.hpp): a compact stream, one ref a line after its header,\n"
                "for .ndjson or .jsonl, else a compact document of the {\"refs\": [...]}\n"
                "value; 'dedup load' reads both")
      ->needs(write);
  sub->add_flag("--json", o->json, "print the figures as JSON");
  auto run = [o] { run_demo(*o); };
  sub->callback(run);
  return run;
}

}  // namespace dedup::cli
