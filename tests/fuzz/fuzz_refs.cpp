// A libFuzzer target over the reference model: every input is read as a document of refs and as
// one ref, as a compact document of refs, by both backends and by the stream reader (which reads a
// compact stream too), inside a scope that already holds entries.
// Only a dedup::error (or std::bad_alloc) may leave a read, a read that fails must leave the
// tables' entry counts as they were before it, and the two backends must agree on whether an input
// is valid: any of these broken stops the run (abort).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <string_view>

#include "butler/model.hpp"
#include "dedup/compact.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "dedup/stream.hpp"

namespace {

/// The entry counts of the reference model's tables in the current scope.
struct counts {
  std::size_t types, coordinates, records, strings;
  friend bool operator==(const counts&, const counts&) = default;
};

counts entries() {
  return {dedup::stats<butler::DatasetType>().entries,
          dedup::stats<butler::DataCoordinate>().entries,
          dedup::stats<butler::DimensionRecord>().entries, dedup::stats<std::string>().entries};
}

/// One valid ref, read before each input so that a failed read has entries it must not touch.
const simdjson::padded_string& seed() {
  static const simdjson::padded_string text(std::string_view(R"({"refs":[{
    "id":"2b6b9a8e-57d1-4c43-9b2e-7d0f3c1a5e42",
    "datasetType":{"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","visit"]},
    "dataId":{"dataId":{"instrument":"HSC","visit":1228},"records":{
      "instrument":{"definition":"instrument","record":{"name":"HSC","detector_max":200}}}},
    "run":"HSC/runs/RC2"}]})"));
  return text;
}

[[noreturn]] void die(const char* path, const char* what) {
  std::fprintf(stderr, "dedup fuzz: %s: %s\n", path, what);
  std::abort();
}

/// Runs `read` in a fresh scope holding the seed's entries and checks what it may leave behind;
/// returns whether the input was accepted. `strict` says whether a failure must leave the tables
/// exactly as they were (the reader keeps the entries of the records it delivered).
template <class F>
bool checked(const char* path, F&& read, bool strict = true) {
  dedup::scope s;
  (void)dedup::parse_fast<butler::RefList>(seed());
  const counts before = entries();
  try {
    read();
    return true;
  } catch (const dedup::error& e) {
    if ((strict || !e.record() || *e.record() == 0) && entries() != before)
      die(path, ("a failed read changed the tables: " + std::string(e.what())).c_str());
    return false;
  } catch (const std::bad_alloc&) {
    return false;
  } catch (const std::exception& e) {
    die(path, (std::string("an exception other than dedup::error: ") + e.what()).c_str());
  } catch (...) {
    die(path, "an exception that is not a std::exception");
  }
}

/// Only dedup::error may leave a read outside any scope, where nothing is interned.
template <class F>
bool unscoped(const char* path, F&& read) {
  try {
    read();
    return true;
  } catch (const dedup::error&) {
    return false;
  } catch (const std::bad_alloc&) {
    return false;
  } catch (const std::exception& e) {
    die(path, (std::string("an exception other than dedup::error: ") + e.what()).c_str());
  }
}

/// Every record of `text` through the stream reader, on one worker with a small queue so that
/// it works ahead of the consumer.
void read_stream(std::string_view text, std::string pointer) {
  dedup::reader_options o{.threads = 1, .max_queue = 4, .pointer = std::move(pointer)};
  dedup::reader<butler::DatasetRef> r(std::make_unique<std::istringstream>(std::string(text)), o);
  for (auto& ref : r) (void)ref;
}

/// Both backends accept an input, or both reject it.
void agree(const char* what, bool simple, bool fast) {
  if (simple != fast)
    die(what, simple ? "accepted by dedup::parse, rejected by parse_fast"
                     : "rejected by dedup::parse, accepted by parse_fast");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const simdjson::padded_string padded(text);

  bool list_simple = checked("parse<RefList>", [&] { (void)dedup::parse<butler::RefList>(text); });
  bool list_fast =
      checked("parse_fast<RefList>", [&] { (void)dedup::parse_fast<butler::RefList>(padded); });
  agree("RefList", list_simple, list_fast);
  bool ref_simple =
      checked("parse<DatasetRef>", [&] { (void)dedup::parse<butler::DatasetRef>(text); });
  bool ref_fast = checked("parse_fast<DatasetRef>",
                          [&] { (void)dedup::parse_fast<butler::DatasetRef>(padded); });
  agree("DatasetRef", ref_simple, ref_fast);

  bool compact_simple =
      checked("parse_compact<RefList>", [&] { (void)dedup::parse_compact<butler::RefList>(text); });
  bool compact_fast = checked("parse_compact_fast<RefList>",
                              [&] { (void)dedup::parse_compact_fast<butler::RefList>(padded); });
  agree("compact RefList", compact_simple, compact_fast);

  unscoped("parse<RefList> outside a scope", [&] { (void)dedup::parse<butler::RefList>(text); });
  unscoped("parse_compact_fast<RefList> outside a scope",
           [&] { (void)dedup::parse_compact_fast<butler::RefList>(padded); });
  unscoped("parse_fast<DatasetRef> outside a scope",
           [&] { (void)dedup::parse_fast<butler::DatasetRef>(padded); });

  checked(
      "reader", [&] { read_stream(text, ""); }, false);
  checked(
      "reader at /refs", [&] { read_stream(text, "/refs"); }, false);
  return 0;
}
