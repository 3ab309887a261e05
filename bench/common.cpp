// dedup-bench's command line and inputs (bench/common.hpp).
#include "bench/common.hpp"

#include <stdexcept>

#include "butler/workload.hpp"

namespace bench {

settings parse_arguments(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quick") {
      s.quick = true;
      s.refs = 2'000;
      s.reps = 2;
    } else if (a == "--json") {
      s.json = true;
    } else if (a == "--refs" && i + 1 < argc) {
      s.refs = std::stoul(argv[++i]);
    } else if (a == "--contenders" && i + 1 < argc) {
      s.contenders = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      s.only = argv[++i];
    } else if (a == "--reps" && i + 1 < argc) {
      s.reps = std::stoi(argv[++i]);
    } else {
      throw std::invalid_argument(
          "usage: dedup-bench [--quick] [--json] [--refs N] [--reps N] [--only PART] [--contenders "
          "abcdefghi]");
    }
  }
  return s;
}

simdjson::padded_string w1_document(const settings& s) {
  butler::workload w;
  w.refs = s.refs;
  return simdjson::padded_string(butler::make_document(w));
}

std::string w1_name(const settings& s) {
  return "W1 refs (" + std::to_string(s.refs) + ")";
}

std::optional<simdjson::padded_string> load_shared_data(const char* name) {
  std::string file = std::string(DEDUP_SHARED_DATA) + "/" + name;
  auto loaded = simdjson::padded_string::load(file);
  if (loaded.error()) return std::nullopt;
  return std::move(loaded).value();
}

}  // namespace bench
