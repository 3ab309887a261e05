// The simdjson On-Demand backend: same results, sharing and errors as the nlohmann one.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace {

/// A record keyed by the exact bytes of its JSON text.
struct raw_record {
  BOOST_HANA_DEFINE_STRUCT(raw_record, (std::string, kind),
                           (std::map<std::string, std::int64_t>, values));
  friend bool operator==(const raw_record&, const raw_record&) = default;
};
struct raw_holder {
  BOOST_HANA_DEFINE_STRUCT(raw_holder, (std::vector<std::shared_ptr<const raw_record>>, items));
};

/// A dataset type keyed by its members (name, storage class), as the reference system keys it.
struct named_type {
  BOOST_HANA_DEFINE_STRUCT(named_type, (std::string, name), (std::string, storage_class),
                           (std::vector<std::string>, dimensions));
};

/// Scalars of every kind the reader supports.
struct scalars {
  BOOST_HANA_DEFINE_STRUCT(scalars, (bool, flag), (std::int32_t, small), (std::uint64_t, big),
                           (double, real), (std::string, text), (std::optional<std::string>, maybe),
                           (butler::RecordValue, any));
};

simdjson::padded_string padded(std::string_view text) {
  return simdjson::padded_string(text);
}

template <class T>
nlohmann::json simple_of(const T& v) {
  if constexpr (dedup::detail::is_shared_const<T>::value)
    return dedup::to_simple(*v);
  else
    return dedup::to_simple(v);
}

const std::string calexp =
    R"({"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","detector","visit"]})";

}  // namespace

template <>
struct dedup::options<raw_record> : dedup::default_options {
  static constexpr auto key = dedup::raw_bytes;
};

template <>
struct dedup::options<named_type> : butler_options {
  static constexpr auto key = dedup::key_members("name", "storage_class");
};

TEST_CASE("simdjson and nlohmann give the same values for the reference workload") {
  butler::workload w;
  w.refs = 400;
  std::string text = butler::make_document(w);
  auto json = padded(text);
  nlohmann::json expected = dedup::to_simple(dedup::parse<butler::RefList>(text));
  SECTION("outside a scope") {
    CHECK(dedup::to_simple(dedup::parse_fast<butler::RefList>(json)) == expected);
  }
  SECTION("inside a scope") {
    dedup::scope s;
    CHECK(dedup::to_simple(dedup::parse_fast<butler::RefList>(json)) == expected);
  }
}

TEST_CASE("simdjson reads scalars, optionals and variants as nlohmann does") {
  const char* docs[] = {
      R"({"flag":true,"small":-7,"big":18446744073709551615,"real":2.5,"text":"a\"\u00e9\ud83d\ude00/","maybe":null,"any":[1,"x",null,false,2.5]})",
      R"({"any":{"begin":1,"end":2},"maybe":"here","text":"","real":3,"big":0,"small":2147483647,"flag":false})",
  };
  for (const char* doc : docs) {
    INFO(doc);
    CHECK(dedup::to_simple(dedup::parse_fast<scalars>(padded(doc))) ==
          dedup::to_simple(dedup::parse<scalars>(doc)));
  }
}

TEST_CASE("simdjson interning shares one instance per key") {
  butler::workload w;
  w.refs = 400;
  auto json = padded(butler::make_document(w));
  dedup::scope s;
  auto list = dedup::parse_fast<butler::RefList>(json);
  REQUIRE(list.refs.size() == 400);
  CHECK(list.refs[0]->dataset_type == list.refs[w.dataset_types]->dataset_type);
  CHECK(list.refs[0]->dataset_type != list.refs[1]->dataset_type);
  CHECK(list.refs[0]->data_id == list.refs[1]->data_id);
  CHECK(list.refs[0]->run.shares_storage_with(list.refs[1]->run));
  CHECK(dedup::stats<butler::DatasetType>().entries == w.distinct_dataset_types());
  CHECK(dedup::stats<butler::DataCoordinate>().entries == w.distinct_data_coordinates());
  CHECK(dedup::stats<butler::DimensionRecord>().entries == w.distinct_dimension_records());
  // Member keys are canonical: the same value through the other backend is the same instance.
  std::string coordinate = R"({"dataId":{"instrument":"HSC","visit":1200,"detector":5}})";
  CHECK(dedup::parse<butler::DataCoordinate>(coordinate) ==
        dedup::parse_fast<butler::DataCoordinate>(padded(coordinate)));
}

TEST_CASE("simdjson matches members in any order") {
  const std::string reversed =
      R"({"dimensions":["instrument","detector","visit"],"storageClass":"ExposureF","name":"calexp"})";
  dedup::scope s;
  SECTION("member keys do not depend on the order") {
    auto a = dedup::parse_fast<named_type>(padded(calexp));
    auto b = dedup::parse_fast<named_type>(padded(reversed));
    CHECK(a == b);
    CHECK(a->name == "calexp");
    CHECK(a->storage_class == "ExposureF");
    CHECK(a->dimensions.size() == 3);
  }
  SECTION("exact-bytes keys neither: the bytes are an alias of the canonical key") {
    auto a = dedup::parse_fast<butler::DatasetType>(padded(calexp));
    auto b = dedup::parse_fast<butler::DatasetType>(padded(reversed));
    CHECK(a == b);
    CHECK(a == dedup::parse<butler::DatasetType>(reversed));  // and the other backend agrees
    CHECK(dedup::stats<butler::DatasetType>().entries == 1);
  }
  SECTION("a reversed nested document reads the same on a miss") {
    butler::workload w;
    w.refs = 50;
    std::string text = butler::make_document(w);
    nlohmann::json sorted = nlohmann::json::parse(text);  // nlohmann writes members sorted by name
    CHECK(dedup::to_simple(dedup::parse_fast<butler::RefList>(padded(sorted.dump()))) ==
          dedup::to_simple(dedup::parse<butler::RefList>(text)));
  }
}

TEST_CASE("from_simple reads values reached through the On-Demand API") {
  simdjson::ondemand::parser parser;
  auto json = padded(R"({"types":[)" + calexp + "," + calexp + "]}");
  simdjson::ondemand::document doc = parser.iterate(json);
  dedup::scope s;
  std::vector<std::shared_ptr<const butler::DatasetType>> got;
  for (simdjson::ondemand::value v : doc["types"])
    got.push_back(dedup::from_simple<butler::DatasetType>(v));
  REQUIRE(got.size() == 2);
  CHECK(got[0] == got[1]);
}

TEST_CASE("exact-bytes keys share every spelling of one value and skip nothing on a miss") {
  dedup::scope s;
  auto holder = dedup::parse_fast<raw_holder>(padded(
      R"({"items":[{"kind":"a","values":{"x":1}} , {"kind":"a","values":{"x":1}},)"
      R"({"kind":"a", "values":{"x":1}},{"values":{"x":1},"kind":"a"},{"kind":"b","values":{}}]})"));
  REQUIRE(holder.items.size() == 5);
  CHECK(holder.items[0] == holder.items[1]);  // trailing whitespace is not part of the bytes
  CHECK(holder.items[0] == holder.items[2]);  // another spelling: an alias of the same entry
  CHECK(holder.items[3] == holder.items[0]);
  CHECK(holder.items[4]->kind == "b");
  CHECK(holder.items[0]->values.at("x") == 1);
  auto st = dedup::stats<raw_record>();
  CHECK(st.entries == 2);  // aliases are not entries
  CHECK(st.hits == 3);     // one on the bytes, two on the canonical key
}

TEST_CASE("every simdjson input error is a dedup::error at its pointer and leaves no entry") {
  butler::workload w;
  w.refs = 3;
  std::string good = butler::make_document(w);
  struct bad_case {
    std::string text, pointer;
  };
  // In the last occurrence by default: after entries of the earlier refs were made.
  auto replace = [&](std::string_view from, std::string_view to, bool first = false) {
    std::string t = good;
    auto at = first ? t.find(from) : t.rfind(from);
    REQUIRE(at != std::string::npos);
    t.replace(at, from.size(), to);
    return t;
  };
  std::vector<bad_case> cases = {
      {replace(R"("name":"raw")", R"("name":7)"), "/refs/2/datasetType/name"},
      {replace(R"("storageClass":"Exposure",)", ""), "/refs/2/datasetType/storageClass"},
      {replace(R"("name":"raw")", R"("name":"raw","colour":1)"), "/refs/2/datasetType/colour"},
      {replace(R"("name":"raw")", R"("name":"raw","name":"raw")"), "/refs/2/datasetType/name"},
      {replace(R"("visit":1200})", R"("visit":1.5})"), "/refs/2/dataId/dataId/visit"},
      {replace(R"("detector_max":200)", R"("detector_max":tru)", true),
       "/refs/0/dataId/records/instrument/record/detector_max"},
      {replace(R"("isCalibration":false)", R"("isCalibration":nul)"),
       "/refs/0/datasetType/isCalibration"},
      {replace(R"("visit":1200})", R"("visit":12e99999})"), "/refs/2/dataId/dataId/visit"},
      {replace(R"("visit":1200})", R"("visit":-})"), "/refs/2/dataId/dataId/visit"},
      {replace(R"("name":"raw")", R"("name":"r\qw")"), "/refs/2/datasetType/name"},
      {replace(R"("name":"raw")", R"("name":"raw"  "x")"), "/refs/2/datasetType"},
      {replace("DM-4", R"(DM-4\u12x)"), "/refs/2/run"},
      {good + "{}", ""},
      {good.substr(0, good.size() - 2), "/refs"},
      {good + "\"", ""},
      {std::string(good).replace(good.find("HSC"), 1, "\xff"), "/refs/0/dataId/dataId/instrument"},
  };
  // A uuid of the wrong form is reported by its codec.
  cases.push_back({std::string(good).replace(good.rfind(R"("id":")") + 6, 1, "x"), "/refs/2/id"});
  // An integer out of the member's range.
  cases.push_back({replace(R"("visit":1200})", R"("visit":99999999999999999999})"),
                   "/refs/2/dataId/dataId/visit"});

  for (std::size_t i = 0; i < cases.size(); ++i) {
    const bad_case& c = cases[i];
    INFO("case " << i << ": ..." << c.text.substr(c.text.size() > 300 ? c.text.size() - 300 : 0));
    dedup::scope s;
    bool threw = false;
    try {
      (void)dedup::parse_fast<butler::RefList>(padded(c.text));
    } catch (const dedup::error& e) {
      threw = true;
      INFO(e.what());
      CHECK(e.pointer() == c.pointer);
    }
    CHECK(threw);
    CHECK(dedup::stats<butler::DatasetType>().entries == 0);
    CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
    CHECK(dedup::stats<butler::DimensionRecord>().entries == 0);
    CHECK(dedup::stats<std::string>().entries == 0);
  }
}

TEST_CASE("values inside an object skipped on a hit are checked unless their bytes were read") {
  // Refs 0 and 1 share one data coordinate, so ref 1's is a hit whose records the key leaves
  // unread: they are checked because their bytes differ from those the entry was built from.
  butler::workload w;
  w.refs = 2;
  std::string text = butler::make_document(w);
  std::string bad_literal = text, bad_structure = text;
  bad_literal.replace(bad_literal.rfind(R"("detector_max":200)"), 18, R"("detector_max":tru)");
  bad_structure.replace(bad_structure.rfind(R"("detector_max":200)"), 18, R"("detector_max":200})");
  dedup::scope s;
  dedup::current()->set_policy<butler::DataCoordinate>({.enabled = true, .verify = false});
  CHECK_THROWS_AS(dedup::parse_fast<butler::RefList>(padded(bad_literal)), dedup::error);
  CHECK_THROWS_AS(dedup::parse_fast<butler::RefList>(padded(bad_structure)), dedup::error);
  std::string no_colon = text;  // a member without its colon
  no_colon.replace(no_colon.rfind(R"("detector_max":200)"), 18, R"("detector_max" 200)");
  CHECK_THROWS_AS(dedup::parse_fast<butler::RefList>(padded(no_colon)), dedup::error);
  std::string twice = text;  // a repeated member name in the unread part
  twice.replace(twice.rfind(R"("detector_max":200)"), 18, R"("detector_max":200,"detector_max":2)");
  CHECK_THROWS_AS(dedup::parse_fast<butler::RefList>(padded(twice)), dedup::error);
  CHECK(dedup::parse_fast<butler::RefList>(padded(text)).refs.size() == 2);
  SECTION("trusted input opts out: the unread part is not checked") {
    dedup::current()->set_policy<butler::DataCoordinate>({.trusted_input = true});
    CHECK(dedup::parse_fast<butler::RefList>(padded(bad_literal)).refs.size() == 2);
  }
}

TEST_CASE("a raw-bytes object that is malformed is reported and not kept") {
  dedup::scope s;
  CHECK_THROWS_AS(
      dedup::parse_fast<raw_holder>(padded(R"({"items":[{"kind":"a","values":{"x":"1"}}]})")),
      dedup::error);
  CHECK(dedup::stats<raw_record>().entries == 0);
  try {
    (void)dedup::parse_fast<raw_holder>(
        padded(R"({"items":[{"kind":"a","values":{"x":1}},{"kind":3}]})"));
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.pointer() == "/items/1/kind");
  }
  CHECK(dedup::stats<raw_record>().entries == 0);
}

namespace {

/// A type that ignores members it does not know, whose values must still be valid JSON.
struct open_type {
  BOOST_HANA_DEFINE_STRUCT(open_type, (std::string, name));
};

/// What each backend makes of `text` read as T: "ok", or the pointer and detail of its
/// dedup::error. Any other exception escapes and fails the test.
template <class T>
std::pair<std::string, std::string> outcome_fast(std::string_view text) {
  try {
    (void)dedup::parse_fast<T>(padded(text));
    return {"ok", ""};
  } catch (const dedup::error& e) {
    return {e.pointer(), e.detail()};
  }
}
template <class T>
std::pair<std::string, std::string> outcome_simple(std::string_view text) {
  try {
    (void)dedup::parse<T>(text);
    return {"ok", ""};
  } catch (const dedup::error& e) {
    return {e.pointer(), e.detail()};
  }
}

}  // namespace

template <>
struct dedup::options<open_type> : dedup::default_options {
  static constexpr bool ignore_unknown_members = true;
};

TEST_CASE("both backends reject numbers beyond a double with a dedup::error at the number") {
  for (std::string_view text : {R"({"id":1e400})", R"({"id":-1e+9999})"}) {
    INFO(text);
    CHECK(outcome_fast<butler::DatasetRef>(text).first == "/id");
    CHECK(outcome_simple<butler::DatasetRef>(text).first == "/id");
  }
  CHECK(outcome_fast<std::vector<double>>("[123123e100000]").first == "/0");
  CHECK(outcome_simple<std::vector<double>>("[123123e100000]").first == "/0");
}

TEST_CASE("both backends read text by its length: a NUL byte after a value is an error") {
  using namespace std::string_view_literals;
  for (auto text : {"123\0"sv, "[1]\0"sv, "{\"name\":\"a\"}\0  "sv}) {
    INFO(text.size() << " bytes");
    CHECK(outcome_fast<open_type>(text).first != "ok");
    CHECK(outcome_simple<open_type>(text).first != "ok");
  }
}

TEST_CASE("both backends reject a repeated member name at its second occurrence") {
  struct dup_case {
    std::string text, pointer;
  };
  std::vector<dup_case> cases = {
      {R"({"name":"a","name":"b"})", "/name"},
      {R"({"name":"a","extra":1,"extra":2})", "/extra"},
      {R"({"name":"a","extra":{"x":{"y":1,"y":2}}})", "/extra/x/y"},
      {R"({"extra":[{"x":1},{"y":1,"z":0,"y":2}],"name":"a"})", "/extra/1/y"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto fast = outcome_fast<open_type>(c.text), simple = outcome_simple<open_type>(c.text);
    CHECK(fast.first == c.pointer);
    CHECK(simple == fast);
    CHECK_THAT(fast.second, Catch::StartsWith("duplicate member '"));
  }
  // In a map, and after the interning of an earlier copy of the same object.
  const std::string coordinate = R"({"dataId":{"instrument":"HSC","visit":1}})";
  const std::string repeated = R"({"dataId":{"instrument":"HSC","visit":1,"visit":2}})";
  using list = std::vector<std::shared_ptr<const butler::DataCoordinate>>;
  dedup::scope s;
  auto fast = outcome_fast<list>("[" + coordinate + "," + repeated + "]");
  CHECK(fast.first == "/1/dataId/visit");
  CHECK(outcome_simple<list>("[" + coordinate + "," + repeated + "]") == fast);
  CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  // An ignored value is still checked for what simdjson's first stage lets through.
  CHECK(outcome_fast<open_type>(R"({"name":"a","extra":[tru]})").first == "/extra/0");
  CHECK(outcome_fast<open_type>(R"({"name":"a","extra":[-012]})").first == "/extra/0");
}

TEST_CASE("both backends accept 1024 levels of nesting and reject deeper text") {
  auto nested = [](std::size_t levels) {  // inside the document's object: one level more
    return R"({"name":"a","extra":)" + std::string(levels - 1, '[') + std::string(levels - 1, ']') +
           "}";
  };
  CHECK(outcome_fast<open_type>(nested(1024)).first == "ok");
  CHECK(outcome_simple<open_type>(nested(1024)).first == "ok");
  auto fast = outcome_fast<open_type>(nested(1025));
  CHECK_THAT(fast.second, Catch::Contains("nesting deeper than 1024 levels"));
  CHECK(outcome_simple<open_type>(nested(1025)) == fast);
}

TEST_CASE("both backends reject a UTF-8 byte-order mark before the document") {
  const std::string text = "\xEF\xBB\xBF" + calexp;
  auto fast = outcome_fast<butler::DatasetType>(text);
  CHECK(fast == std::pair<std::string, std::string>{"", "byte-order mark before the document"});
  CHECK(outcome_simple<butler::DatasetType>(text) == fast);
}

TEST_CASE("both backends reject a value followed by a colon, at that value", "[simdjson]") {
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
    auto fast = outcome_fast<butler::DatasetRef>(c.text);
    CHECK(fast.first == c.pointer);
    CHECK(outcome_simple<butler::DatasetRef>(c.text).first == c.pointer);
    CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  }
  // In an array, and in values the model ignores.
  CHECK(outcome_fast<std::vector<std::string>>(R"(["a":{}])").first == "/0");
  CHECK(outcome_simple<std::vector<std::string>>(R"(["a":{}])").first == "/0");
  for (std::string_view text : {R"({"name":"a","extra":"x":{}})", R"({"name":"a","e":["x":1]})",
                                R"({"name":"a","e":{"k":"v" : 1}})"}) {
    INFO(text);
    auto fast = outcome_fast<open_type>(text);
    CHECK(fast.first != "ok");
    CHECK(outcome_simple<open_type>(text).first == fast.first);
  }
}

TEST_CASE("errors quote at most the start of a bad token", "[simdjson][simple]") {
  const std::string huge(1 << 20, 'a');
  const std::string unterminated = R"({"name":")" + huge, unknown = R"({")" + huge + R"(":1})",
                    repeated = R"({"name":"a","x":{")" + huge + R"(":1,")" + huge + R"(":2}})";
  for (auto outcome :
       {outcome_fast<butler::DatasetType>(unterminated),
        outcome_simple<butler::DatasetType>(unterminated),
        outcome_fast<butler::DatasetType>(unknown), outcome_simple<butler::DatasetType>(unknown),
        outcome_fast<open_type>(repeated), outcome_simple<open_type>(repeated)}) {
    INFO(outcome.second.substr(0, 200));
    CHECK(outcome.first != "ok");
    CHECK(outcome.second.size() < 400);
  }
  auto id = outcome_fast<butler::DatasetRef>(R"({"id":")" + huge + R"("})");
  CHECK(id.first == "/id");
  CHECK(id.second.size() < 400);
  CHECK_THAT(id.second, Catch::Contains(std::string(64, 'a') + "…"));
}

TEST_CASE("a control byte in a member name is escaped in the error's pointer",
          "[simdjson][simple]") {
  const std::string text = R"({"name":"a","storageClass":"b","dimensions":[],"x\u0000y\n":1})";
  for (auto outcome :
       {outcome_fast<butler::DatasetType>(text), outcome_simple<butler::DatasetType>(text)}) {
    CHECK(outcome.first == "/x\\u0000y\\u000a");
    CHECK(outcome.second == "unexpected member 'x\\u0000y\\u000a' in butler::DatasetType");
  }
  try {
    (void)dedup::parse_fast<butler::DatasetType>(padded(text));
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(std::strlen(e.what()) == std::string_view(e.what()).size());
    CHECK_THAT(e.what(), Catch::Contains("y\\u000a' in butler::DatasetType"));
  }
}

TEST_CASE("invalid UTF-8 is reported at the value that holds it", "[simdjson][simple]") {
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
    auto fast = outcome_fast<open_type>(c.text);
    CHECK(fast.first == c.pointer);
    CHECK_THAT(fast.second, Catch::Contains("not valid UTF-8"));
    CHECK(outcome_simple<open_type>(c.text).first == c.pointer);
  }
}

TEST_CASE("both backends agree with JSONTestSuite (DEDUP_JSONTESTSUITE: its test_parsing)") {
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
    auto fast = outcome_fast<open_type>(text), simple = outcome_simple<open_type>(text);
    CHECK((fast.first == "ok") == (simple.first == "ok"));
    // RFC 8259 allows repeated names; dedup rejects them (a key from one, a value from the other).
    bool valid = name.starts_with("y_") && !name.starts_with("y_object_duplicated_key");
    if (name.starts_with("y_") || name.starts_with("n_")) CHECK((fast.first == "ok") == valid);
    ++files;
  }
  CHECK(files > 300);
}
