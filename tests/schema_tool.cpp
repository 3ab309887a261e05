// The C++ side of the schema test: prints to_simple output of the reference model, and reads a
// document as one of its types through from_simple.
//   dedup_schema_tool emit N            a RefList of N generated refs, through
//   from_simple/to_simple dedup_schema_tool read TYPE FILE    exit 0 if from_simple accepts it, 3
//   on a dedup::error
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/core.hpp"
#include "dedup/nlohmann.hpp"

namespace {

template <class T>
void read_as(const nlohmann::json& j) {
  dedup::scope s;
  (void)dedup::from_simple<T>(j);
}

int read(const std::string& type, const std::string& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(text.str());
  try {
    if (type == "dataset_type")
      read_as<butler::DatasetType>(j);
    else if (type == "dimension_record")
      read_as<butler::DimensionRecord>(j);
    else if (type == "data_coordinate")
      read_as<butler::DataCoordinate>(j);
    else if (type == "dataset_ref")
      read_as<butler::DatasetRef>(j);
    else if (type == "ref_list")
      read_as<butler::RefList>(j);
    else
      return 2;
  } catch (const dedup::error& e) {
    std::puts(e.what());
    return 3;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "emit" && argc == 3) {
    butler::workload w;
    w.refs = std::stoul(argv[2]);
    auto list = dedup::run([&] {
      return dedup::from_simple<butler::RefList>(nlohmann::json::parse(butler::make_document(w)));
    });
    std::cout << dedup::to_simple(list).dump() << '\n';
    return 0;
  }
  if (mode == "read" && argc == 4) return read(argv[2], argv[3]);
  std::fputs("usage: dedup_schema_tool emit N | read TYPE FILE\n", stderr);
  return 2;
}
