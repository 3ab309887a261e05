// What the doc-comment examples of include/dedup/*.hpp use without declaring it, for the test that
// scripts/gen_examples.py generates from them: the examples stay as short as a reader wants them.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "butler/model.hpp"
#include "support.hpp"

namespace dedup_examples {

/// A dataset type's simple form, as `j` and as `text`.
inline const nlohmann::json j = {
    {"name", "calexp"}, {"storageClass", "ExposureF"}, {"dimensions", {"visit"}}};
inline const std::string text = j.dump();

/// A `RefList` document (two copies of the fixture ref), as `json` and as the file refs.json.
inline std::string refs_text() {
  std::string ref = dedup_test::fixture("ref.json");
  return "{\"refs\": [" + ref + ", " + ref + "]}";
}
inline simdjson::padded_string json{refs_text()};
inline simdjson::ondemand::parser parser;

/// Reader options to adjust, a thread count and something to do with each record.
inline dedup::reader_options o;
inline std::size_t n = 4;
inline void use(const auto&) {}

/// Makes a temporary directory holding refs.json the working directory for one example, so that
/// examples open "refs.json" as a user would; the previous working directory comes back after.
class example_dir {
 public:
  example_dir() : previous_(std::filesystem::current_path()) {
    // One directory per test process, removed when the process exits.
    static const struct refs_dir : dedup_test::temp_dir {
      refs_dir() { std::ofstream(path() / "refs.json") << refs_text(); }
    } dir;
    std::filesystem::current_path(dir.path());
  }
  ~example_dir() { std::filesystem::current_path(previous_); }
  example_dir(const example_dir&) = delete;
  example_dir& operator=(const example_dir&) = delete;

 private:
  std::filesystem::path previous_;
};

}  // namespace dedup_examples
