// Keys that would drop an identity field: for every interned type of the reference model and of
// the benchmark models, values that differ in exactly one identity field are read in one scope and
// must be distinct instances, on both backends. This is the reference system's production bug (a
// key without the storage class): the suite must be the first to catch it.
#include <catch2/catch.hpp>

#include <array>
#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "../bench/models.hpp"
#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace keys_test {

enum class phase : std::int8_t { early = -1, late = 1 };

/// A whole-value key over the member kinds added with the codecs.
struct reading {
  BOOST_HANA_DEFINE_STRUCT(
      reading, (phase, when), (std::array<std::int64_t, 2>, pixel),
      (std::unordered_map<std::string, double>, levels),
      (std::chrono::time_point<std::chrono::system_clock, std::chrono::seconds>, at));
};

}  // namespace keys_test

template <>
struct dedup::options<keys_test::reading> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};

namespace {

using json = nlohmann::json;

/// The leaf changed so that it stays valid for its member (a uuid keeps its hex digits).
json changed(const json& leaf) {
  if (leaf.is_boolean()) return !leaf.get<bool>();
  if (leaf.is_number_unsigned()) return leaf.get<std::uint64_t>() + 1;
  if (leaf.is_number_integer()) return leaf.get<std::int64_t>() + 1;
  if (leaf.is_number_float()) return leaf.get<double>() + 0.5;
  std::string s = leaf.get<std::string>();
  if (s.empty()) return "x";
  s.back() = s.back() == '0' ? '1' : '0';
  return s;
}

/// Every copy of `base` that differs from it in exactly one leaf (string, number or boolean) at or
/// under the pointer `under`.
std::vector<json> leaf_variants(const json& base, const std::string& under = "") {
  std::vector<json> out;
  const json flat = base.flatten();
  for (const auto& [pointer, leaf] : flat.items()) {
    if (pointer.rfind(under, 0) != 0 || leaf.is_null()) continue;
    json v = base;
    v[json::json_pointer(pointer)] = changed(leaf);
    out.push_back(std::move(v));
  }
  return out;
}

json without(json base, const std::string& pointer, const std::string& member) {
  base[json::json_pointer(pointer)].erase(member);
  return base;
}

json with(json base, const std::string& pointer, json value) {
  base[json::json_pointer(pointer)] = std::move(value);
  return base;
}

enum class backend { nlohmann, simdjson };

template <class T>
std::shared_ptr<const T> read(backend b, const json& j) {
  if (b == backend::nlohmann) return dedup::from_simple<T>(j);
  return dedup::parse_fast<T>(simdjson::padded_string(j.dump()));
}

/// Reads `base` and then each variant in one scope, per backend, and requires each variant to be
/// an instance other than base's (while base read again is base's).
template <class T>
void require_distinct(
    const json& base, const std::vector<json>& variants,
    const std::function<void()>& setup = [] {}) {
  REQUIRE(!variants.empty());
  for (backend b : {backend::nlohmann, backend::simdjson}) {
    INFO((b == backend::nlohmann ? "nlohmann backend" : "simdjson backend"));
    dedup::scope s;
    setup();
    auto first = read<T>(b, base);
    REQUIRE(read<T>(b, base) == first);  // interning is on: a repeat is the one instance
    for (const json& v : variants) {
      INFO("variant: " << v.dump());
      CHECK(read<T>(b, v) != first);
    }
  }
}

const json dataset_type = json::parse(R"({"name":"calexp","storageClass":"ExposureF",
  "dimensions":["instrument","detector","visit"],"parentStorageClass":"Exposure",
  "isCalibration":true})");

const json visit_record = json::parse(R"({"definition":"visit","record":{"instrument":"HSC",
  "id":1228,"exposure_time":30.5,"science":true,"region":null,"seq_num":[1228,"a",2.5,false],
  "timespan":[1420000000000000000,1420000030000000000]}})");

json data_coordinate() {
  json c = {{"dataId", {{"instrument", "HSC"}, {"detector", 42}, {"visit", 1228}}}};
  c["records"]["visit"] = visit_record;
  return c;
}

json dataset_ref() {
  return {{"id", "2b6b9a8e-57d1-4c43-9b2e-7d0f3c1a5e42"},
          {"datasetType", dataset_type},
          {"dataId", data_coordinate()},
          {"run", "HSC/runs/RC2"},
          {"component", nullptr}};
}

}  // namespace

TEST_CASE("dataset types differing in any one member are distinct", "[keys]") {
  auto variants = leaf_variants(dataset_type);
  variants.push_back(with(dataset_type, "/dimensions/3", "band"));
  variants.push_back(with(dataset_type, "/parentStorageClass", nullptr));
  variants.push_back(without(dataset_type, "", "parentStorageClass"));
  variants.push_back(with(dataset_type, "/isCalibration", nullptr));
  variants.push_back(without(dataset_type, "", "isCalibration"));
  require_distinct<butler::DatasetType>(dataset_type, variants);
}

TEST_CASE("dimension records differing in any one member are distinct", "[keys]") {
  auto variants = leaf_variants(visit_record);
  variants.push_back(with(visit_record, "/record/region", "AAAA"));
  variants.push_back(without(visit_record, "/record", "science"));
  variants.push_back(with(visit_record, "/record/timespan", {1, 2, 3}));
  require_distinct<butler::DimensionRecord>(visit_record, variants);
}

TEST_CASE("data coordinates differing in one data id entry or in having records are distinct",
          "[keys]") {
  json base = data_coordinate();
  auto variants = leaf_variants(base, "/dataId/");
  variants.push_back(without(base, "/dataId", "detector"));
  variants.push_back(with(base, "/dataId/band", "r"));
  variants.push_back(without(base, "", "records"));
  variants.push_back(with(base, "/records", nullptr));
  require_distinct<butler::DataCoordinate>(base, variants);
  // and the other way round: without records first, then with them
  require_distinct<butler::DataCoordinate>(without(base, "", "records"), {base});
}

TEST_CASE("dataset refs differing in id or dataset type are distinct when refs are interned",
          "[keys]") {
  json base = dataset_ref();
  auto variants = leaf_variants(base, "/id");
  auto type_variants = leaf_variants(base, "/datasetType/");
  variants.insert(variants.end(), type_variants.begin(), type_variants.end());
  variants.push_back(with(base, "/datasetType/storageClass", "Exposure"));
  require_distinct<butler::DatasetRef>(
      base, variants, [] { dedup::current()->set_policy<butler::DatasetRef>({.enabled = true}); });
}

TEST_CASE("the bench models' keys keep every identity field", "[keys]") {
  SECTION("W1 dataset type keyed by (name, storageClass)") {
    json base = {{"name", "calexp"}, {"storageClass", "ExposureF"}, {"dimensions", {"visit"}}};
    require_distinct<bench::member_keyed_type>(
        base, {with(base, "/name", "calexp0"), with(base, "/storageClass", "Exposure")});
  }
  SECTION("citm area (whole value)") {
    json base = {{"areaId", 205705999}, {"blockIds", {1, 2}}};
    require_distinct<bench::citm::area>(base, leaf_variants(base));
  }
  SECTION("citm price (exact bytes)") {
    json base = {{"amount", 90250}, {"audienceSubCategoryId", 337100890}, {"seatCategoryId", 1}};
    require_distinct<bench::citm::price>(base, leaf_variants(base));
  }
  SECTION("citm seat category (exact bytes)") {
    json base = {{"areas", {{{"areaId", 205705999}, {"blockIds", {1, 2}}}}},
                 {"seatCategoryId", 338937295}};
    auto variants = leaf_variants(base);
    variants.push_back(with(base, "/areas/1", {{"areaId", 1}, {"blockIds", json::array()}}));
    require_distinct<bench::citm::seat_category<bench::shared>>(base, variants);
  }
  SECTION("twitter status metadata (whole value)") {
    json base = {{"result_type", "recent"}, {"iso_language_code", "ja"}};
    require_distinct<bench::twitter::status_metadata>(base, leaf_variants(base));
  }
  SECTION("twitter entities (whole value)") {
    json base = json::parse(R"({"hashtags":[{"text":"a","indices":[0,2]}],
      "urls":[{"url":"u","expanded_url":"e","display_url":"d","indices":[3,4]}],
      "user_mentions":[{"screen_name":"s","name":"n","id":7,"id_str":"7","indices":[5,6]}]})");
    require_distinct<bench::twitter::status_entities>(base, leaf_variants(base));
  }
  SECTION("twitter user (whole value)") {
    json base = json::parse(R"({"id":1186275104,"id_str":"1186275104","name":"n",
      "screen_name":"s","location":"l","description":"d","url":"http://u","followers_count":1,
      "friends_count":2,"listed_count":3,"created_at":"c","favourites_count":4,"utc_offset":5,
      "time_zone":"Tokyo","geo_enabled":false,"verified":false,"statuses_count":6,"lang":"ja",
      "profile_image_url":"p"})");
    auto variants = leaf_variants(base);
    variants.push_back(with(base, "/url", nullptr));
    variants.push_back(with(base, "/utc_offset", nullptr));
    variants.push_back(with(base, "/time_zone", nullptr));
    require_distinct<bench::twitter::user_profile>(base, variants);
  }
}

TEST_CASE("values of the codec kinds differing in any one leaf are distinct", "[keys]") {
  json base =
      json::parse(R"({"when":-1,"pixel":[3,4],"levels":{"b":0.5,"a":1.5},"at":1700000000})");
  auto variants = leaf_variants(base);
  variants.push_back(with(base, "/pixel", {4, 3}));
  variants.push_back(with(base, "/levels/c", 2.0));
  variants.push_back(without(base, "/levels", "a"));
  require_distinct<keys_test::reading>(base, variants);
}
