// from_simple / to_simple on nlohmann::json: round trips, interning of nested members, errors.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "support.hpp"

namespace {

using json = nlohmann::json;

json workload_document(std::size_t refs) {
  butler::workload w;
  w.refs = refs;
  return json::parse(butler::make_document(w));
}

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(DEDUP_FIXTURES) + "/" + name);
  REQUIRE(in.good());
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t all_entries() {
  return dedup::stats<butler::DatasetType>().entries +
         dedup::stats<butler::DataCoordinate>().entries +
         dedup::stats<butler::DimensionRecord>().entries + dedup::stats<std::string>().entries;
}

}  // namespace

TEST_CASE("round trip of the reference model is identity") {
  json doc = workload_document(400);
  SECTION("outside a scope") {
    CHECK(dedup::to_simple(dedup::from_simple<butler::RefList>(doc)) == doc);
  }
  SECTION("inside a scope") {
    dedup::scope s;
    CHECK(dedup::to_simple(dedup::from_simple<butler::RefList>(doc)) == doc);
  }
  SECTION("a hand-written fixture with a component and a calibration type") {
    json ref = json::parse(fixture("ref.json"));
    json expected = ref;  // the fixture's object-form timespan is written in the array form
    json& span = expected["dataId"]["records"]["visit"]["record"]["timespan"];
    span = json::array({span["begin"], span["end"]});
    CHECK(dedup::to_simple(*dedup::from_simple<butler::DatasetRef>(ref)) == expected);
  }
}

TEST_CASE("distinct objects equal distinct keys inside run()") {
  butler::workload w;
  w.refs = 2000;
  json doc = json::parse(butler::make_document(w));
  dedup::run([&] {
    auto list = dedup::from_simple<butler::RefList>(doc);
    CHECK(dedup::stats<butler::DatasetType>().entries == w.distinct_dataset_types());
    CHECK(dedup::stats<butler::DataCoordinate>().entries == w.distinct_data_coordinates());
    CHECK(dedup::stats<butler::DimensionRecord>().entries == w.distinct_dimension_records());
    // refs of one data coordinate share it, and through it the records
    CHECK(list.refs[0]->data_id == list.refs[1]->data_id);
    CHECK(list.refs[0]->dataset_type == list.refs[w.dataset_types]->dataset_type);
    CHECK(list.refs[0]->run.shares_storage_with(list.refs[1]->run));
    auto& r0 = *list.refs[0]->data_id->records;
    auto& r1 = *list.refs[w.dataset_types]->data_id->records;
    CHECK(r0.at("instrument") == r1.at("instrument"));
    CHECK(r0.at("visit") != r1.at("visit"));
  });
}

TEST_CASE("dataset refs are built by value by default, and interned when their policy says so") {
  json ref = json::parse(fixture("ref.json"));
  dedup::scope s;
  CHECK(dedup::from_simple<butler::DatasetRef>(ref) != dedup::from_simple<butler::DatasetRef>(ref));
  CHECK(dedup::stats<butler::DatasetRef>().entries == 0);
  dedup::current()->set_policy<butler::DatasetRef>({.enabled = true});
  auto a = dedup::from_simple<butler::DatasetRef>(ref);
  CHECK(a == dedup::from_simple<butler::DatasetRef>(ref));
  json other_class = ref;
  other_class["datasetType"]["storageClass"] = "Exposure";
  CHECK(a !=
        dedup::from_simple<butler::DatasetRef>(other_class));  // the storage class is in the key
}

TEST_CASE("members may come in any order") {
  json a = json::parse(R"({"name":"src","storageClass":"SourceCatalog","dimensions":["visit"]})");
  json b = json::parse(R"({"dimensions":["visit"],"storageClass":"SourceCatalog","name":"src"})");
  dedup::scope s;
  CHECK(dedup::from_simple<butler::DatasetType>(a) == dedup::from_simple<butler::DatasetType>(b));
}

TEST_CASE("j.get<std::shared_ptr<const T>>() interns through adl_serializer") {
  json type = {{"name", "calexp"}, {"storageClass", "ExposureF"}, {"dimensions", json::array()}};
  dedup::scope s;
  auto a = type.get<std::shared_ptr<const butler::DatasetType>>();
  auto b = type.get<std::shared_ptr<const butler::DatasetType>>();
  CHECK(a == b);
  butler::DatasetType value = type.get<butler::DatasetType>();
  CHECK(value == *a);
  json back = value;
  CHECK(back == type);
}

TEST_CASE("dedup::parse reads text") {
  auto t = dedup::parse<butler::DatasetType>(
      R"({"name":"calexp","storageClass":"ExposureF","dimensions":[],"isCalibration":true})");
  CHECK(t->name == "calexp");
  CHECK(t->is_calibration == true);
  CHECK_FALSE(t->parent_storage_class.has_value());
}

TEST_CASE("bad input gives a dedup::error naming the JSON pointer and leaves no entry behind") {
  json good = json::parse(fixture("ref.json"));
  struct bad_case {
    const char* what;
    json document;
    const char* pointer;
    const char* detail;
  };
  auto with = [&](auto edit) {
    json d = {{"refs", {good, good}}};
    edit(d);
    return d;
  };
  std::vector<bad_case> cases = {
      {"wrong type", with([](json& d) { d["refs"][1]["datasetType"]["name"] = 7; }),
       "/refs/1/datasetType/name", "expected string, found integer"},
      {"missing member", with([](json& d) { d["refs"][1]["dataId"].erase("dataId"); }),
       "/refs/1/dataId/dataId", "missing member 'dataId'"},
      {"unexpected member",
       with([](json& d) { d["refs"][0]["dataId"]["records"]["visit"]["extra"] = 1; }),
       "/refs/0/dataId/records/visit/extra", "unexpected member 'extra'"},
      {"bad uuid", with([](json& d) { d["refs"][1]["id"] = "not-a-uuid"; }), "/refs/1/id",
       "invalid butler::uuid"},
      {"integer out of range", with([](json& d) {
         d["refs"][0]["dataId"]["records"]["visit"]["record"]["timespan"]["begin"] = UINT64_MAX;
       }),
       "/refs/0/dataId/records/visit/record/timespan/begin",
       "expected integer in the range of int64"},
      {"number where an integer or a string belongs",
       with([](json& d) { d["refs"][0]["dataId"]["dataId"]["visit"] = 12.5; }),
       "/refs/0/dataId/dataId/visit", "expected integer or string, found number"},
      {"array instead of object",
       with([](json& d) { d["refs"][1]["datasetType"] = json::array(); }), "/refs/1/datasetType",
       "expected object, found array"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.what) {
      dedup::scope s;
      try {
        (void)dedup::from_simple<butler::RefList>(c.document);
        FAIL("no error for " << c.what);
      } catch (const dedup::error& e) {
        CHECK(e.pointer() == c.pointer);
        CHECK_THAT(e.detail(), Catch::Contains(c.detail));
        CHECK_THAT(e.what(), Catch::Contains(c.pointer));
      }
      CHECK(all_entries() == 0);
    }
  }
}

TEST_CASE("a failed read keeps the entries of earlier successful reads") {
  json good = json::parse(fixture("ref.json"));
  json bad = good;
  bad["run"] = false;
  dedup::scope s;
  auto kept = dedup::from_simple<butler::DatasetRef>(good);
  std::size_t before = all_entries();
  CHECK_THROWS_AS(dedup::from_simple<butler::DatasetRef>(bad), dedup::error);
  CHECK(all_entries() == before);
  CHECK(dedup::from_simple<butler::DatasetRef>(good)->dataset_type == kept->dataset_type);
}

TEST_CASE("malformed JSON is a dedup::error with the byte where parsing stopped") {
  try {
    (void)dedup::parse<butler::DatasetType>(R"({"name": "calexp", )");
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.pointer().empty());
    CHECK_THAT(e.detail(), Catch::Contains("malformed JSON at byte"));
  }
}

TEST_CASE("verify mode reports a key collision naming both places") {
  // A data coordinate is keyed by its data id (and whether it has records), not by the records:
  // two coordinates with one data id and different records collide.
  json doc = {{"refs", json::array()}};
  json ref = json::parse(fixture("ref.json"));
  doc["refs"].push_back(ref);
  ref["dataId"]["records"]["detector"]["record"]["purpose"] = "FOCUS";
  doc["refs"].push_back(ref);
  dedup::scope s;
  SECTION("off: the second ref silently gets the first one's data coordinate") {
    dedup::current()->set_policy<butler::DataCoordinate>({.enabled = true, .verify = false});
    auto list = dedup::from_simple<butler::RefList>(doc);
    CHECK(list.refs[0]->data_id == list.refs[1]->data_id);
  }
  SECTION("on: the collision is an error") {
    dedup::current()->set_policy<butler::DataCoordinate>({.enabled = true, .verify = true});
    try {
      (void)dedup::from_simple<butler::RefList>(doc);
      FAIL("no error");
    } catch (const dedup::error& e) {
      CHECK(e.pointer() == "/refs/1/dataId");
      CHECK_THAT(e.detail(), Catch::Contains("key collision") && Catch::Contains("/refs/0/dataId"));
    }
  }
}

TEST_CASE("istring shares one buffer per text inside a scope only") {
  json ref = json::parse(fixture("ref.json"));
  auto a = dedup::from_simple<butler::DatasetRef>(ref);
  auto b = dedup::from_simple<butler::DatasetRef>(ref);
  CHECK(a->run == b->run);
  CHECK_FALSE(a->run.shares_storage_with(b->run));
  dedup::scope s;
  auto c = dedup::from_simple<butler::DatasetRef>(ref);
  auto d = dedup::from_simple<butler::DatasetRef>(ref);
  CHECK(c->run.shares_storage_with(d->run));
}

namespace {

/// A type that ignores members it does not know, whose values must still be valid JSON.
struct lenient {
  BOOST_HANA_DEFINE_STRUCT(lenient, (std::string, name));
};

/// The error `parse<T>(text)` throws; fails the test if it throws none or another type.
template <class T>
dedup::error parse_error_of(std::string_view text) {
  return dedup_test::error_of([&] { (void)dedup::parse<T>(text); },
                              "no dedup::error for " + std::string(text));
}

}  // namespace

template <>
struct dedup::options<lenient> : dedup::default_options {
  static constexpr bool ignore_unknown_members = true;
};

TEST_CASE("a number beyond a double is a dedup::error at its pointer, not nlohmann's") {
  // JSONTestSuite's i_number_huge_exp, i_number_neg_int_huge_exp, ... and the fuzzer's ref.
  CHECK(parse_error_of<butler::DatasetRef>(R"({"id":1e400})").pointer() == "/id");
  CHECK(parse_error_of<butler::RefList>(R"({"refs":[{"id":-1e+9999}]})").pointer() == "/refs/0/id");
  auto e = parse_error_of<std::vector<double>>("[0, 123123e100000]");
  CHECK(e.pointer() == "/1");
  CHECK_THAT(e.detail(),
             Catch::Contains("out of the range of a double") && Catch::Contains("123123e100000"));
  CHECK(parse_error_of<double>("1.5e99999").pointer().empty());
}

TEST_CASE("parse reads text by its length: a NUL byte is an error, not the end") {
  using namespace std::string_view_literals;
  for (auto text : {"123\0"sv, "[1]\0 junk"sv, "{\"name\":\"a\"}\0"sv}) {
    INFO(text.size() << " bytes");
    auto e = parse_error_of<std::vector<std::int64_t>>(text);
    CHECK(e.pointer().empty());
    CHECK_THAT(e.detail(), Catch::Contains("NUL"));
  }
  CHECK(dedup::parse<std::int64_t>(std::string("123")) == 123);
}

TEST_CASE("parse rejects a member name repeated in one object, wherever it is") {
  json good = json::parse(fixture("ref.json"));
  std::string ref = good.dump();
  auto twice = [&](std::string_view member, std::string_view extra) {
    std::string t = ref;
    auto at = t.find(member);
    REQUIRE(at != std::string::npos);
    t.insert(at, extra);
    return t;
  };
  struct dup_case {
    std::string text, pointer;
  };
  std::vector<dup_case> cases = {
      {twice(R"("run")", R"("run":"other",)"), "/run"},  // a struct member
      {twice(R"("name":"calexp.wcs")", R"("name":"x",)"), "/datasetType/name"},
      {twice(R"("name":"HSC")", R"("name":"HSC",)"), "/dataId/records/instrument/record/name"},
      {R"({"refs":[)" + ref + "," + twice(R"("visit")", R"("visit":7,)") + "]}",
       "/refs/1/dataId/dataId/visit"},  // a map, in the second element of an array
  };
  for (const auto& c : cases) {
    INFO(c.text);
    dedup::scope s;
    auto e = c.text.starts_with(R"({"refs")") ? parse_error_of<butler::RefList>(c.text)
                                              : parse_error_of<butler::DatasetRef>(c.text);
    CHECK(e.pointer() == c.pointer);
    CHECK_THAT(e.detail(), Catch::StartsWith("duplicate member '"));
    CHECK(all_entries() == 0);
  }
  SECTION("in values the model ignores") {
    CHECK(dedup::parse<lenient>(R"({"name":"a","extra":{"x":[1,{"y":2}]}})").name == "a");
    CHECK(parse_error_of<lenient>(R"({"name":"a","extra":1,"extra":2})").pointer() == "/extra");
    auto e = parse_error_of<lenient>(R"({"name":"a","extra":[{"x":1},{"y":1,"y":2}]})");
    CHECK(e.pointer() == "/extra/1/y");
    CHECK(e.detail() == "duplicate member 'y'");
  }
}

TEST_CASE("parse rejects a UTF-8 byte-order mark before the document") {
  auto e = parse_error_of<lenient>("\xEF\xBB\xBF{\"name\":\"a\"}");
  CHECK(e.pointer().empty());
  CHECK(e.detail() == "byte-order mark before the document");
  CHECK(dedup::parse<lenient>(" {\"name\":\"a\"}").name == "a");
}
