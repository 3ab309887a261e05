#include "butler/workload.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <stdexcept>
#include <string_view>

namespace butler {
namespace {

constexpr std::size_t visits = 1077, detectors = 104, filters = 12, bands = 6;

constexpr std::array<std::string_view, 40> type_names = {"calexp",
                                                         "src",
                                                         "raw",
                                                         "postISRCCD",
                                                         "icExp",
                                                         "icSrc",
                                                         "calexpBackground",
                                                         "srcMatch",
                                                         "sourceTable",
                                                         "sourceTable_visit",
                                                         "visitSummary",
                                                         "finalVisitSummary",
                                                         "preSourceTable",
                                                         "deepCoadd_calexp",
                                                         "deepCoadd_meas",
                                                         "deepCoadd_forced_src",
                                                         "goodSeeingDiff_differenceExp",
                                                         "goodSeeingDiff_diaSrc",
                                                         "goodSeeingDiff_templateExp",
                                                         "diaSourceTable",
                                                         "forcedSourceTable",
                                                         "isolated_star_sources",
                                                         "finalized_src_table",
                                                         "skyCorr",
                                                         "pvi",
                                                         "pvi_background",
                                                         "initial_pvi",
                                                         "initial_stars_footprints_detector",
                                                         "single_visit_star",
                                                         "recalibrated_star",
                                                         "preliminary_visit_image",
                                                         "visit_image",
                                                         "difference_image",
                                                         "template_detector",
                                                         "calexp.wcs",
                                                         "calexp.psf",
                                                         "calexp.photoCalib",
                                                         "calexp.visitInfo",
                                                         "icExp.wcs",
                                                         "raw.detector"};
constexpr std::array<std::string_view, 8> storage_classes = {
    "ExposureF", "SourceCatalog", "Exposure",        "Background",
    "DataFrame", "ArrowAstropy",  "ExposureCatalog", "StructuredDataDict"};
constexpr std::array<std::string_view, bands> band_names = {"g", "r", "i", "z", "y", "N921"};

std::uint64_t mix(std::uint64_t x) {  // splitmix64: deterministic pseudo-random bits
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void append_int(std::string& out, std::uint64_t v) {
  out += std::to_string(v);
}

void append_dataset_type(std::string& out, std::size_t t) {
  std::string_view name = type_names[t];
  auto dot = name.find('.');
  bool component = dot != std::string_view::npos;
  out += R"({"name":")";
  out += name;
  out += R"(","storageClass":")";
  out += component ? (name.ends_with("wcs") ? "SkyWcs" : "StructuredDataDict")
                   : storage_classes[t % storage_classes.size()];
  out += R"(","dimensions":["instrument","detector","visit"])";
  // Explicit nulls where the reference system writes them (pydantic dumps None as null).
  out += component ? R"(,"parentStorageClass":"ExposureF")" : R"(,"parentStorageClass":null)";
  if (t % 5 == 0) out += R"(,"isCalibration":false)";
  out += '}';
}

void append_record(std::string& out, std::string_view definition, std::string_view body) {
  out += '"';
  out += definition;
  out += R"(":{"definition":")";
  out += definition;
  out += R"(","record":{)";
  out += body;
  out += "}}";
}

std::string filter_name(std::size_t f) {
  return "HSC-" + std::string(band_names[f % bands]) + (f >= bands ? "2" : "");
}

void append_records(std::string& out, std::size_t visit, std::size_t detector) {
  std::size_t filter = visit % filters;
  std::string body;
  out += R"(,"records":{)";
  append_record(out, "instrument",
                R"("name":"HSC","visit_max":21474800,"exposure_max":21474800,"detector_max":200,)"
                R"("class_name":"lsst.obs.subaru.HyperSuprimeCam")");
  out += ',';
  append_record(out, "band", R"("name":")" + std::string(band_names[filter % bands]) + '"');
  out += ',';
  append_record(out, "physical_filter",
                R"("instrument":"HSC","name":")" + filter_name(filter) + R"(","band":")" +
                    std::string(band_names[filter % bands]) + '"');
  out += ',';
  append_record(out, "detector",
                R"("instrument":"HSC","id":)" + std::to_string(detector) + R"(,"full_name":")" +
                    std::to_string(detector / 10) + "_" + std::to_string(detector % 10 + 40) +
                    R"(","raft":")" + std::to_string(detector / 10) + R"(","purpose":")" +
                    (detector < 100 ? "SCIENCE" : "FOCUS") + '"');
  out += ',';
  std::uint64_t begin = 1'800'000'000'000'000'000ULL + visit * 120'000'000'000ULL;
  std::string region;  // a stand-in for the base64 sky region the reference system stores
  for (std::size_t i = 0; i < 12; ++i) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::uint64_t bits = mix(visit * 64 + i);
    for (int k = 0; k < 8; ++k) region += alphabet[(bits >> (6 * k)) & 63];
  }
  append_record(
      out, "visit",
      R"("instrument":"HSC","id":)" + std::to_string(visit * 2 + 1200) + R"(,"day_obs":)" +
          std::to_string(20150117 + visit / 40) + R"(,"physical_filter":")" + filter_name(filter) +
          R"(","name":"HSCA0)" + std::to_string(visit * 2 + 1200) +
          R"(00","exposure_time":30.0,"target_name":"STRIPE82L","observation_reason":"science",)"
          R"("science_program":"o15426","zenith_angle":)" +
          std::to_string(20 + visit % 40) + ".5" + R"(,"seq_num":[)" + std::to_string(visit * 2) +
          "," + std::to_string(visit * 2 + 1) + "," +
          std::to_string(visit * 2 + 2) +  // not 2: a timespan
          R"(],"timespan":[)" + std::to_string(begin) + "," +
          std::to_string(begin + 30'000'000'000ULL) + R"(],"region":")" + region + '"');
  out += '}';
}

void append_uuid(std::string& out, std::size_t index) {
  uuid id;
  std::uint64_t hi = mix(index * 2 + 1), lo = mix(index * 2 + 2);
  for (int i = 0; i < 8; ++i) {
    id.bytes[i] = static_cast<std::uint8_t>(hi >> (8 * i));
    id.bytes[8 + i] = static_cast<std::uint8_t>(lo >> (8 * i));
  }
  id.bytes[6] = (id.bytes[6] & 0x0f) | 0x40;  // version 4
  id.bytes[8] = (id.bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  out += format_uuid(id);
}

}  // namespace

std::size_t workload::distinct_dataset_types() const {
  return std::min(refs, dataset_types);
}
std::size_t workload::distinct_data_coordinates() const {
  return (refs + dataset_types - 1) / dataset_types;
}
std::size_t workload::distinct_dimension_records() const {
  std::size_t coords = distinct_data_coordinates();
  std::size_t v = std::min(coords, visits), f = std::min(v, filters);
  std::size_t d = std::min(coords, detectors);  // 37 is coprime with 104: every detector comes up
  return 1 + std::min(f, bands) + f + d + v;
}

void append_ref(std::string& out, const workload& w, std::size_t index) {
  if (w.dataset_types == 0 || w.dataset_types > type_names.size())
    throw std::invalid_argument("butler::workload: dataset_types must be 1..40");
  std::size_t t = index % w.dataset_types, coord = index / w.dataset_types;
  std::size_t visit = coord % visits, detector = (coord * 37) % detectors;
  out += R"({"id":")";
  append_uuid(out, index);
  out += R"(","datasetType":)";
  append_dataset_type(out, t);
  out += R"(,"dataId":{"dataId":{"instrument":"HSC","detector":)";
  append_int(out, detector);
  out += R"(,"visit":)";
  append_int(out, visit * 2 + 1200);
  out += '}';
  append_records(out, visit, detector);
  out += R"(},"run":"HSC/runs/RC2/w_2026_47/DM-4)";
  append_int(out, 1000 + coord / 1000);
  out += '"';
  std::string_view name = type_names[t];
  if (auto dot = name.find('.'); dot != std::string_view::npos) {
    out += R"(,"component":")";
    out += name.substr(dot + 1);
    out += '"';
  } else {
    out += R"(,"component":null)";
  }
  out += '}';
}

std::string make_document(const workload& w) {
  std::string out = R"({"refs":[)";
  out.reserve(w.refs * 1100);
  for (std::size_t i = 0; i < w.refs; ++i) {
    if (i) out += ',';
    append_ref(out, w, i);
  }
  out += "]}";
  return out;
}

std::string make_ndjson(const workload& w) {
  std::string out;
  out.reserve(w.refs * 1100);
  for (std::size_t i = 0; i < w.refs; ++i) {
    append_ref(out, w, i);
    out += '\n';
  }
  return out;
}

namespace {

/// The value of each hexadecimal digit, -1 for any other byte: a lookup, not a chain of compares,
/// because the digits of a uuid are random and a branch on each would be mispredicted.
constexpr std::array<std::int8_t, 256> nibbles = [] {
  std::array<std::int8_t, 256> t{};
  t.fill(-1);
  for (int c = 0; c < 10; ++c) t['0' + c] = static_cast<std::int8_t>(c);
  for (int c = 0; c < 6; ++c) {
    t['a' + c] = static_cast<std::int8_t>(10 + c);
    t['A' + c] = static_cast<std::int8_t>(10 + c);
  }
  return t;
}();

}  // namespace

uuid parse_uuid(std::string_view text) {
  if (text.size() != 36) throw std::invalid_argument("a uuid has 36 characters");
  if (text[8] != '-' || text[13] != '-' || text[18] != '-' || text[23] != '-')
    throw std::invalid_argument("a uuid has dashes at 8, 13, 18 and 23");
  static constexpr std::uint8_t starts[16] = {0,  2,  4,  6,  9,  11, 14, 16,
                                              19, 21, 24, 26, 28, 30, 32, 34};
  uuid id;
  int bad = 0;  // any digit that is not hexadecimal sets the sign bit
  for (std::size_t b = 0; b < 16; ++b) {
    int hi = nibbles[static_cast<unsigned char>(text[starts[b]])];
    int lo = nibbles[static_cast<unsigned char>(text[starts[b] + 1])];
    bad |= hi | lo;
    id.bytes[b] = static_cast<std::uint8_t>((static_cast<unsigned>(hi) << 4) | (lo & 15));
  }
  if (bad < 0) throw std::invalid_argument("a uuid has hexadecimal digits");
  return id;
}

std::string format_uuid(const uuid& id) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += hex[id.bytes[i] >> 4];
    out += hex[id.bytes[i] & 15];
  }
  return out;
}

}  // namespace butler
