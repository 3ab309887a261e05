// What both backends promise alike, each case run on each: dedup::parse (nlohmann) and
// dedup::parse_fast (simdjson) give the same values, the same sharing and the same errors. What
// one backend alone offers is tested in simple_test.cpp and simdjson_test.cpp.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "support.hpp"

namespace {

using dedup_test::fixture;
using json = nlohmann::json;

/// The nlohmann backend: text read by dedup::parse.
struct nlohmann_backend {
  template <class T>
  static auto parse(std::string_view text) {
    return dedup::parse<T>(text);
  }
};

/// The simdjson backend: text read by dedup::parse_fast, from a padded copy.
struct simdjson_backend {
  template <class T>
  static auto parse(std::string_view text) {
    return dedup::parse_fast<T>(simdjson::padded_string(text));
  }
};

/// Whether B's errors for malformed text are nlohmann's parser's: they quote a number beyond a
/// double and name a NUL byte where simdjson's say less, and word invalid UTF-8 their own way.
template <class B>
constexpr bool nlohmann_parser = std::is_same_v<B, nlohmann_backend>;

/// `text` read as T by backend B.
template <class B, class T>
auto read(std::string_view text) {
  return B::template parse<T>(text);
}

/// What backend B makes of `text` read as T: "ok", or the pointer and detail of its dedup::error.
/// Any other exception escapes and fails the test.
template <class B, class T>
std::pair<std::string, std::string> outcome(std::string_view text) {
  try {
    (void)read<B, T>(text);
    return {"ok", ""};
  } catch (const dedup::error& e) {
    return {e.pointer(), e.detail()};
  }
}

/// The dedup::error backend B throws for `text` read as T; fails the test if it throws none.
template <class B, class T>
dedup::error error_of(std::string_view text) {
  return dedup_test::error_of([&] { (void)read<B, T>(text); },
                              "no dedup::error for " + std::string(text));
}

std::size_t all_entries() {
  return dedup::stats<butler::DatasetType>().entries +
         dedup::stats<butler::DataCoordinate>().entries +
         dedup::stats<butler::DimensionRecord>().entries + dedup::stats<std::string>().entries;
}

/// A type that ignores members it does not know, whose values must still be valid JSON.
struct open_type {
  BOOST_HANA_DEFINE_STRUCT(open_type, (std::string, name));
};

/// A dataset type keyed by its members (name, storage class), as the reference system keys it.
struct named_type {
  BOOST_HANA_DEFINE_STRUCT(named_type, (std::string, name), (std::string, storage_class),
                           (std::vector<std::string>, dimensions));
};

const std::string calexp =
    R"({"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","detector","visit"]})";

}  // namespace

template <>
struct dedup::options<open_type> : dedup::default_options {
  static constexpr bool ignore_unknown_members = true;
};

template <>
struct dedup::options<named_type> : butler_options {
  static constexpr auto key = dedup::key_members("name", "storage_class");
};

#define BACKEND_TEST_CASE(name, tags) \
  TEMPLATE_TEST_CASE(name, tags, nlohmann_backend, simdjson_backend)

BACKEND_TEST_CASE("the reference model reads back to its simple form", "[backend]") {
  butler::workload w;
  w.refs = 400;
  const std::string text = butler::make_document(w);
  const json doc = json::parse(text);
  SECTION("outside a scope") {
    CHECK(dedup::to_simple(read<TestType, butler::RefList>(text)) == doc);
  }
  SECTION("inside a scope") {
    dedup::scope s;
    CHECK(dedup::to_simple(read<TestType, butler::RefList>(text)) == doc);
  }
  SECTION("a hand-written fixture with a component and a calibration type") {
    const std::string ref = fixture("ref.json");
    json expected = json::parse(ref);  // the object-form timespan is written in the array form
    json& span = expected["dataId"]["records"]["visit"]["record"]["timespan"];
    span = json::array({span["begin"], span["end"]});
    CHECK(dedup::to_simple(*read<TestType, butler::DatasetRef>(ref)) == expected);
  }
}

BACKEND_TEST_CASE("distinct objects equal distinct keys, and one key is one instance",
                  "[backend]") {
  butler::workload w;
  w.refs = 2000;
  const std::string text = butler::make_document(w);
  auto check = [&] {
    auto list = read<TestType, butler::RefList>(text);
    REQUIRE(list.refs.size() == 2000);
    CHECK(dedup::stats<butler::DatasetType>().entries == w.distinct_dataset_types());
    CHECK(dedup::stats<butler::DataCoordinate>().entries == w.distinct_data_coordinates());
    CHECK(dedup::stats<butler::DimensionRecord>().entries == w.distinct_dimension_records());
    // refs of one data coordinate share it, and through it the records
    CHECK(list.refs[0]->data_id == list.refs[1]->data_id);
    CHECK(list.refs[0]->dataset_type == list.refs[w.dataset_types]->dataset_type);
    CHECK(list.refs[0]->dataset_type != list.refs[1]->dataset_type);
    CHECK(list.refs[0]->run.shares_storage_with(list.refs[1]->run));
    auto& r0 = *list.refs[0]->data_id->records;
    auto& r1 = *list.refs[w.dataset_types]->data_id->records;
    CHECK(r0.at("instrument") == r1.at("instrument"));
    CHECK(r0.at("visit") != r1.at("visit"));
    // Member keys are canonical: the same value through either backend is the same instance.
    const std::string coordinate = R"({"dataId":{"instrument":"HSC","visit":1200,"detector":5}})";
    auto mine = read<TestType, butler::DataCoordinate>(coordinate);
    CHECK(mine == read<nlohmann_backend, butler::DataCoordinate>(coordinate));
    CHECK(mine == read<simdjson_backend, butler::DataCoordinate>(coordinate));
  };
  SECTION("inside run()") {
    dedup::run(check);
  }
  SECTION("inside a scope") {
    dedup::scope s;
    check();
  }
}

BACKEND_TEST_CASE(
    "dataset refs are built by value by default, and interned when their policy says so",
    "[backend]") {
  const std::string ref = fixture("ref.json");
  dedup::scope s;
  CHECK(read<TestType, butler::DatasetRef>(ref) != read<TestType, butler::DatasetRef>(ref));
  CHECK(dedup::stats<butler::DatasetRef>().entries == 0);
  dedup::current()->set_policy<butler::DatasetRef>({.enabled = true});
  auto a = read<TestType, butler::DatasetRef>(ref);
  CHECK(a == read<TestType, butler::DatasetRef>(ref));
  json other_class = json::parse(ref);
  other_class["datasetType"]["storageClass"] = "Exposure";
  // the storage class is in the key
  CHECK(a != read<TestType, butler::DatasetRef>(other_class.dump()));
}

BACKEND_TEST_CASE("members may come in any order", "[backend]") {
  const std::string reversed =
      R"({"dimensions":["instrument","detector","visit"],"storageClass":"ExposureF","name":"calexp"})";
  dedup::scope s;
  SECTION("member keys do not depend on the order") {
    auto a = read<TestType, named_type>(calexp);
    auto b = read<TestType, named_type>(reversed);
    CHECK(a == b);
    CHECK(a->name == "calexp");
    CHECK(a->storage_class == "ExposureF");
    CHECK(a->dimensions.size() == 3);
  }
  SECTION("exact-bytes keys neither: the bytes are an alias of the canonical key") {
    auto a = read<TestType, butler::DatasetType>(calexp);
    auto b = read<TestType, butler::DatasetType>(reversed);
    CHECK(a == b);
    // and either backend agrees
    CHECK(a == read<nlohmann_backend, butler::DatasetType>(reversed));
    CHECK(a == read<simdjson_backend, butler::DatasetType>(reversed));
    CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  }
  SECTION("a reversed nested document reads the same on a miss") {
    butler::workload w;
    w.refs = 50;
    std::string text = butler::make_document(w);
    json sorted = json::parse(text);  // nlohmann writes members sorted by name
    CHECK(dedup::to_simple(read<TestType, butler::RefList>(sorted.dump())) == sorted);
  }
}

BACKEND_TEST_CASE("parse reads text", "[backend]") {
  auto t = read<TestType, butler::DatasetType>(
      R"({"name":"calexp","storageClass":"ExposureF","dimensions":[],"isCalibration":true})");
  CHECK(t->name == "calexp");
  CHECK(t->is_calibration == true);
  CHECK_FALSE(t->parent_storage_class.has_value());
}

BACKEND_TEST_CASE(
    "bad input gives a dedup::error naming the JSON pointer and leaves no entry behind",
    "[backend]") {
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
      auto e = error_of<TestType, butler::RefList>(c.document.dump());
      CHECK(e.pointer() == c.pointer);
      CHECK_THAT(e.detail(), Catch::Contains(c.detail));
      CHECK_THAT(e.what(), Catch::Contains(c.pointer));
      CHECK(all_entries() == 0);
    }
  }
}

BACKEND_TEST_CASE("a failed read keeps the entries of earlier successful reads", "[backend]") {
  const std::string good = fixture("ref.json");
  json bad = json::parse(good);
  bad["run"] = false;
  dedup::scope s;
  auto kept = read<TestType, butler::DatasetRef>(good);
  std::size_t before = all_entries();
  CHECK_THROWS_AS((read<TestType, butler::DatasetRef>(bad.dump())), dedup::error);
  CHECK(all_entries() == before);
  CHECK(read<TestType, butler::DatasetRef>(good)->dataset_type == kept->dataset_type);
}

BACKEND_TEST_CASE("verify mode reports a key collision naming both places", "[backend]") {
  // A data coordinate is keyed by its data id (and whether it has records), not by the records:
  // two coordinates with one data id and different records collide.
  json doc = {{"refs", json::array()}};
  json ref = json::parse(fixture("ref.json"));
  doc["refs"].push_back(ref);
  ref["dataId"]["records"]["detector"]["record"]["purpose"] = "FOCUS";
  doc["refs"].push_back(ref);
  const std::string text = doc.dump();
  dedup::scope s;
  SECTION("off: the second ref silently gets the first one's data coordinate") {
    dedup::current()->set_policy<butler::DataCoordinate>({.enabled = true, .verify = false});
    auto list = read<TestType, butler::RefList>(text);
    CHECK(list.refs[0]->data_id == list.refs[1]->data_id);
  }
  SECTION("on: the collision is an error") {
    dedup::current()->set_policy<butler::DataCoordinate>({.enabled = true, .verify = true});
    auto e = error_of<TestType, butler::RefList>(text);
    CHECK(e.pointer() == "/refs/1/dataId");
    CHECK_THAT(e.detail(), Catch::Contains("key collision") && Catch::Contains("/refs/0/dataId"));
  }
}

BACKEND_TEST_CASE("istring shares one buffer per text inside a scope only", "[backend]") {
  const std::string ref = fixture("ref.json");
  auto a = read<TestType, butler::DatasetRef>(ref);
  auto b = read<TestType, butler::DatasetRef>(ref);
  CHECK(a->run == b->run);
  CHECK_FALSE(a->run.shares_storage_with(b->run));
  dedup::scope s;
  auto c = read<TestType, butler::DatasetRef>(ref);
  auto d = read<TestType, butler::DatasetRef>(ref);
  CHECK(c->run.shares_storage_with(d->run));
}

BACKEND_TEST_CASE("a number beyond a double is a dedup::error at its pointer", "[backend]") {
  // JSONTestSuite's i_number_huge_exp, i_number_neg_int_huge_exp, ... and the fuzzer's ref.
  for (std::string_view text : {R"({"id":1e400})", R"({"id":-1e+9999})"}) {
    INFO(text);
    CHECK(error_of<TestType, butler::DatasetRef>(text).pointer() == "/id");
  }
  CHECK(error_of<TestType, butler::RefList>(R"({"refs":[{"id":-1e+9999}]})").pointer() ==
        "/refs/0/id");
  CHECK(outcome<TestType, std::vector<double>>("[123123e100000]").first == "/0");
  auto e = error_of<TestType, std::vector<double>>("[0, 123123e100000]");
  CHECK(e.pointer() == "/1");
  if constexpr (nlohmann_parser<TestType>) {
    CHECK_THAT(e.detail(),
               Catch::Contains("out of the range of a double") && Catch::Contains("123123e100000"));
  }
  CHECK(error_of<TestType, double>("1.5e99999").pointer().empty());
}

BACKEND_TEST_CASE("parse reads text by its length: a NUL byte is an error, not the end",
                  "[backend]") {
  using namespace std::string_view_literals;
  for (auto text : {"123\0"sv, "[1]\0 junk"sv, "{\"name\":\"a\"}\0"sv}) {
    INFO(text.size() << " bytes");
    auto e = error_of<TestType, std::vector<std::int64_t>>(text);
    CHECK(e.pointer().empty());
    if constexpr (nlohmann_parser<TestType>) CHECK_THAT(e.detail(), Catch::Contains("NUL"));
  }
  for (auto text : {"123\0"sv, "[1]\0"sv, "{\"name\":\"a\"}\0  "sv}) {
    INFO(text.size() << " bytes");
    CHECK(outcome<TestType, open_type>(text).first != "ok");
  }
  CHECK(read<TestType, std::int64_t>(std::string("123")) == 123);
}

BACKEND_TEST_CASE("a member name repeated in one object is an error at its second occurrence",
                  "[backend]") {
  const std::string ref = json::parse(fixture("ref.json")).dump();
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
  const std::vector<dup_case> refs = {
      {twice(R"("run")", R"("run":"other",)"), "/run"},  // a struct member
      {twice(R"("name":"calexp.wcs")", R"("name":"x",)"), "/datasetType/name"},
      {twice(R"("name":"HSC")", R"("name":"HSC",)"), "/dataId/records/instrument/record/name"},
      {R"({"refs":[)" + ref + "," + twice(R"("visit")", R"("visit":7,)") + "]}",
       "/refs/1/dataId/dataId/visit"},  // a map, in the second element of an array
  };
  for (const auto& c : refs) {
    INFO(c.text);
    dedup::scope s;
    auto e = c.text.starts_with(R"({"refs")") ? error_of<TestType, butler::RefList>(c.text)
                                              : error_of<TestType, butler::DatasetRef>(c.text);
    CHECK(e.pointer() == c.pointer);
    CHECK_THAT(e.detail(), Catch::StartsWith("duplicate member '"));
    CHECK(all_entries() == 0);
  }
  SECTION("in values the model ignores") {
    const std::vector<dup_case> open = {
        {R"({"name":"a","name":"b"})", "/name"},
        {R"({"name":"a","extra":1,"extra":2})", "/extra"},
        {R"({"name":"a","extra":{"x":{"y":1,"y":2}}})", "/extra/x/y"},
        {R"({"extra":[{"x":1},{"y":1,"z":0,"y":2}],"name":"a"})", "/extra/1/y"},
    };
    for (const auto& c : open) {
      INFO(c.text);
      auto got = outcome<TestType, open_type>(c.text);
      CHECK(got.first == c.pointer);
      CHECK_THAT(got.second, Catch::StartsWith("duplicate member '"));
      CHECK(got == outcome<nlohmann_backend, open_type>(c.text));  // the backends agree
    }
    CHECK(read<TestType, open_type>(R"({"name":"a","extra":{"x":[1,{"y":2}]}})").name == "a");
    auto e = error_of<TestType, open_type>(R"({"name":"a","extra":[{"x":1},{"y":1,"y":2}]})");
    CHECK(e.pointer() == "/extra/1/y");
    CHECK(e.detail() == "duplicate member 'y'");
  }
  SECTION("in a map, after the interning of an earlier copy of the same object") {
    const std::string coordinate = R"({"dataId":{"instrument":"HSC","visit":1}})";
    const std::string repeated = R"({"dataId":{"instrument":"HSC","visit":1,"visit":2}})";
    using list = std::vector<std::shared_ptr<const butler::DataCoordinate>>;
    dedup::scope s;
    auto got = outcome<TestType, list>("[" + coordinate + "," + repeated + "]");
    CHECK(got.first == "/1/dataId/visit");
    CHECK(got == outcome<nlohmann_backend, list>("[" + coordinate + "," + repeated + "]"));
    CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  }
}

BACKEND_TEST_CASE("1024 levels of nesting are read and deeper text is an error", "[backend]") {
  auto nested = [](std::size_t levels) {  // inside the document's object: one level more
    return R"({"name":"a","extra":)" + std::string(levels - 1, '[') + std::string(levels - 1, ']') +
           "}";
  };
  CHECK(outcome<TestType, open_type>(nested(1024)).first == "ok");
  auto got = outcome<TestType, open_type>(nested(1025));
  CHECK_THAT(got.second, Catch::Contains("nesting deeper than 1024 levels"));
  CHECK(got == outcome<nlohmann_backend, open_type>(nested(1025)));
}

BACKEND_TEST_CASE("a UTF-8 byte-order mark before the document is an error", "[backend]") {
  const std::pair<std::string, std::string> mark{"", "byte-order mark before the document"};
  CHECK(outcome<TestType, butler::DatasetType>("\xEF\xBB\xBF" + calexp) == mark);
  CHECK(outcome<TestType, open_type>("\xEF\xBB\xBF{\"name\":\"a\"}") == mark);
  CHECK(read<TestType, open_type>(" {\"name\":\"a\"}").name == "a");
}

BACKEND_TEST_CASE("a value followed by a colon is an error at that value", "[backend][simdjson]") {
  const std::string type = R"("datasetType":{"name":"","storageClass":"","dimensions":[]})";
  const std::string id = R"("id":"ed8f01db-e414-4b1d-8a8a-33e272e3736e")";
  struct colon_case {
    std::string text, pointer;
  };
  // The first skips `:{}` and took `run` from outside the ref; the others read a wrong object.
  const std::vector<colon_case> refs = {
      {"{" + id + "," + type + R"(,"dataId":{"dataId":{"":"":{}}}},"run":""})", "/dataId/dataId/"},
      {"{" + id + "," + type + R"(,"dataId":{"dataId":{"band":"g":{}}},"run":""})",
       "/dataId/dataId/band"},
      {"{" + id + "," + type + R"(,"dataId":{"dataId":{"band":"g"}},"run":"r":{}})", "/run"},
  };
  for (const auto& c : refs) {
    INFO(c.text);
    dedup::scope s;
    CHECK(outcome<TestType, butler::DatasetRef>(c.text).first == c.pointer);
    CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  }
  // In an array, and in values the model ignores.
  CHECK(outcome<TestType, std::vector<std::string>>(R"(["a":{}])").first == "/0");
  for (std::string_view text : {R"({"name":"a","extra":"x":{}})", R"({"name":"a","e":["x":1]})",
                                R"({"name":"a","e":{"k":"v" : 1}})"}) {
    INFO(text);
    auto got = outcome<TestType, open_type>(text);
    CHECK(got.first != "ok");
    CHECK(got.first == outcome<nlohmann_backend, open_type>(text).first);
  }
}

BACKEND_TEST_CASE("errors quote at most the start of a bad token", "[backend][simdjson][simple]") {
  const std::string huge(1 << 20, 'a');
  const std::string unterminated = R"({"name":")" + huge, unknown = R"({")" + huge + R"(":1})",
                    repeated = R"({"name":"a","x":{")" + huge + R"(":1,")" + huge + R"(":2}})";
  for (auto got :
       {outcome<TestType, butler::DatasetType>(unterminated),
        outcome<TestType, butler::DatasetType>(unknown), outcome<TestType, open_type>(repeated)}) {
    INFO(got.second.substr(0, 200));
    CHECK(got.first != "ok");
    CHECK(got.second.size() < 400);
  }
  auto id = outcome<TestType, butler::DatasetRef>(R"({"id":")" + huge + R"("})");
  CHECK(id.first == "/id");
  CHECK(id.second.size() < 400);
  CHECK_THAT(id.second, Catch::Contains(std::string(64, 'a') + "…"));
}

BACKEND_TEST_CASE("a control byte in a member name is escaped in the error's pointer",
                  "[backend][simdjson][simple]") {
  const std::string text = R"({"name":"a","storageClass":"b","dimensions":[],"x\u0000y\n":1})";
  auto e = error_of<TestType, butler::DatasetType>(text);
  CHECK(e.pointer() == "/x\\u0000y\\u000a");
  CHECK(e.detail() == "unexpected member 'x\\u0000y\\u000a' in butler::DatasetType");
  CHECK(std::strlen(e.what()) == std::string_view(e.what()).size());
  CHECK_THAT(e.what(), Catch::Contains("y\\u000a' in butler::DatasetType"));
}

BACKEND_TEST_CASE("invalid UTF-8 is reported at the value that holds it",
                  "[backend][simdjson][simple]") {
  struct utf8_case {
    std::string text, pointer;
  };
  const std::vector<utf8_case> cases = {
      {"{\"name\":\"a\",\"extra\":{\"k\":\"x\xFFy\"}}", "/extra/k"},
      {"{\"name\":\"a\",\"extra\":[1,\"\xC3\"]}", "/extra/1"},
      {"{\"name\":\"a\",\"extra\":{\"k\xED\xA0\x80\":1}}", "/extra"},
      {"{\"name\":\"\xF4\x90\x80\x80\"}", "/name"},
  };
  for (const auto& c : cases) {
    INFO(c.pointer);
    auto got = outcome<TestType, open_type>(c.text);
    CHECK(got.first == c.pointer);
    if constexpr (!nlohmann_parser<TestType>)
      CHECK_THAT(got.second, Catch::Contains("not valid UTF-8"));
  }
}

TEST_CASE("both backends agree with JSONTestSuite (DEDUP_JSONTESTSUITE: its test_parsing)",
          "[backend]") {
  const char* dir = std::getenv("DEDUP_JSONTESTSUITE");
  if (!dir || !std::filesystem::is_directory(dir)) {
    WARN("skipped: set DEDUP_JSONTESTSUITE to JSONTestSuite's test_parsing directory");
    return;
  }
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // As an ignored member, so that any JSON value is read whatever its kind; the byte-order mark
    // and NUL files are about the start and the end of a document, which other tests check.
    const std::string text = R"({"name":"x","value":)" + body + "}";
    INFO(name);
    auto fast = outcome<simdjson_backend, open_type>(text);
    auto simple = outcome<nlohmann_backend, open_type>(text);
    CHECK((fast.first == "ok") == (simple.first == "ok"));
    // RFC 8259 allows repeated names; dedup rejects them (a key from one, a value from the other).
    bool valid = name.starts_with("y_") && !name.starts_with("y_object_duplicated_key");
    if (name.starts_with("y_") || name.starts_with("n_")) CHECK((fast.first == "ok") == valid);
    ++files;
  }
  CHECK(files > 300);
}
