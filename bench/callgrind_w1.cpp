// dedup-bench-callgrind: the reference W1 document of 50,000 refs read twice, each time in a fresh
// `dedup::scope`, with `dedup::parse_fast`: a fixed amount of reading whose instruction count
// (bench/callgrind.sh, under valgrind's callgrind) compares one version of the reader with
// another far more precisely than wall-clock time on a shared machine.
//
//   dedup-bench-callgrind [FILE]
//
// FILE is a document written by `dedup demo --refs 50000 --write FILE`; without it the driver
// generates the same bytes itself. Only `read_twice` is counted (callgrind.sh collects that
// function alone): making the document and starting the process are not the reader's work.
#include <cstddef>
#include <cstdio>
#include <exception>

#include <simdjson.h>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace {

/// Reads `text` twice, each time in a fresh scope whose tables, and the result, die with it: the
/// first read fills an empty parser, the second reuses its capacity. Not inlined, so that callgrind
/// finds it by name. Returns the refs read, so that nothing is optimized away.
[[gnu::noinline]] std::size_t read_twice(const simdjson::padded_string& text) {
  simdjson::ondemand::parser parser;
  std::size_t refs = 0;
  for (int i = 0; i < 2; ++i) {
    dedup::scope s;
    butler::RefList list = dedup::parse_fast<butler::RefList>(parser, text);
    refs += list.refs.size();
  }
  return refs;
}

simdjson::padded_string w1(int argc, char** argv) {
  if (argc > 1) return simdjson::padded_string::load(argv[1]).value();
  butler::workload w;
  w.refs = 50'000;
  return simdjson::padded_string(butler::make_document(w));
}

}  // namespace

int main(int argc, char** argv) try {
  if (argc > 2) {
    std::fprintf(stderr, "usage: dedup-bench-callgrind [FILE]\n");
    return 2;
  }
  simdjson::padded_string text = w1(argc, argv);
  std::size_t refs = read_twice(text);
  std::printf("read %zu bytes twice: %zu refs\n", text.size(), refs);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "dedup-bench-callgrind: %s\n", e.what());
  return 1;
}
