// `dedup demo`: the built-in reference workload, loaded without and with a scope.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <unordered_set>

#include "butler/workload.hpp"
#include "cli.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "memory.hpp"

namespace dedup::cli {
namespace {

constexpr const char* demo_usage =
    R"(usage: dedup demo [--refs N] [--types N] [--write FILE] [--json]

Generates the built-in reference workload: N dataset refs (default 200000) whose dataset types
(--types, default 40), data coordinates and dimension records (about 1200) repeat as in a registry
query. Loads it once without a scope and once inside a dedup::scope, and prints for each the
objects built, the distinct objects among them, the heap memory the result retains and the time.

  --refs N       number of dataset refs to generate
  --types N      number of dataset types (1 to 40)
  --backend B    simdjson (default: On-Demand, straight from the text) or nlohmann (parse to a
                 DOM first; the DOM is built once, outside the measured loads)
  --write FILE   write the workload to FILE instead (NDJSON if FILE ends in .ndjson, else a
                 {"refs": [...]} document) and exit
  --json         print the figures as JSON
)";

/// Objects reachable from a load, counted once per instance: a shared instance counts once.
struct census {
  std::size_t objects = 0;
  std::unordered_set<const void*> seen;
  void add(const void* p) {
    if (seen.insert(p).second) ++objects;
  }
};

census count_objects(const butler::RefList& list) {
  census c;
  for (const auto& ref : list.refs) {
    c.add(ref.get());
    c.add(ref->dataset_type.get());
    c.add(ref->data_id.get());
    if (ref->data_id->records)
      for (const auto& [name, record] : *ref->data_id->records) c.add(record.get());
  }
  return c;
}

struct figures {
  std::size_t built = 0;
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
  f.built = count_objects(list).objects;
  return f;
}

void write_workload(const butler::workload& w, std::string_view file) {
  bool ndjson = file.ends_with(".ndjson");
  std::string text = ndjson ? butler::make_ndjson(w) : butler::make_document(w);
  std::ofstream out{std::string(file), std::ios::binary};
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  out.close();
  if (!out) throw std::runtime_error("cannot write " + std::string(file));
  char b[32];
  std::printf("wrote %zu refs (%s) to %.*s\n", w.refs, memory::human(text.size(), b),
              static_cast<int>(file.size()), file.data());
}

}  // namespace

int demo(const args& a) {
  butler::workload w;
  std::string_view write_to;
  bool json = false;
  std::string_view backend = "simdjson";
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i] == "--help" || a[i] == "-h") {
      std::fputs(demo_usage, stdout);
      return 0;
    } else if (a[i] == "--refs") {
      w.refs = count_option(a, i);
    } else if (a[i] == "--types") {
      w.dataset_types = count_option(a, i);
      if (w.dataset_types < 1 || w.dataset_types > 40) throw usage_error{"--types must be 1 to 40"};
    } else if (a[i] == "--write") {
      write_to = text_option(a, i);
    } else if (a[i] == "--backend") {
      backend = text_option(a, i);
      if (backend != "simdjson" && backend != "nlohmann")
        throw usage_error{"--backend must be simdjson or nlohmann"};
    } else if (a[i] == "--json") {
      json = true;
    } else {
      throw usage_error{"demo: unknown option '" + std::string(a[i]) + "'"};
    }
  }
  if (!write_to.empty()) {
    write_workload(w, write_to);
    return 0;
  }

  std::string text = butler::make_document(w);
  std::size_t distinct = w.refs + w.distinct_dataset_types() + w.distinct_data_coordinates() +
                         w.distinct_dimension_records();
  figures plain, shared;
  if (backend == "simdjson") {
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

  char b1[32], b2[32];
  if (json) {
    std::printf(R"({"backend":"%.*s","refs":%zu,"json_bytes":%zu,"distinct_objects":%zu,)"
                R"("without_scope":{"objects_built":%zu,"retained_bytes":%zu,"seconds":%.3f},)"
                R"("in_scope":{"objects_built":%zu,"retained_bytes":%zu,"seconds":%.3f}})"
                "\n",
                static_cast<int>(backend.size()), backend.data(), w.refs, text.size(), distinct,
                plain.built, plain.retained, plain.seconds, shared.built, shared.retained,
                shared.seconds);
    return 0;
  }
  std::printf(
      "dedup demo: %zu refs over %zu dataset types, %zu data coordinates and %zu dimension "
      "records (%s of JSON, %.*s backend)\n\n",
      w.refs, w.distinct_dataset_types(), w.distinct_data_coordinates(),
      w.distinct_dimension_records(), memory::human(text.size(), b1),
      static_cast<int>(backend.size()), backend.data());
  std::printf("%-20s %15s %17s %17s %9s\n", "", "objects built", "distinct objects",
              "memory retained", "time");
  std::printf("%-20s %15zu %17zu %17s %8.2fs\n", "without a scope", plain.built, distinct,
              memory::human(plain.retained, b1), plain.seconds);
  std::printf("%-20s %15zu %17zu %17s %8.2fs\n", "in a dedup::scope", shared.built, distinct,
              memory::human(shared.retained, b2), shared.seconds);
  std::printf("\nsharing: %.1fx fewer objects, %.1fx less memory, %.2fx the speed\n",
              double(plain.built) / double(shared.built),
              double(plain.retained) / double(shared.retained ? shared.retained : 1),
              plain.seconds / shared.seconds);
  return 0;
}

}  // namespace dedup::cli
