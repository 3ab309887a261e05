// What the simdjson On-Demand backend alone does: values reached through the On-Demand API,
// exact-bytes keys, the checks of what a hit leaves unread and of what simdjson's first stage lets
// through. What both backends promise is in backend_test.cpp.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "support.hpp"

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

/// Scalars of every kind the reader supports.
struct scalars {
  BOOST_HANA_DEFINE_STRUCT(scalars, (bool, flag), (std::int32_t, small), (std::uint64_t, big),
                           (double, real), (std::string, text), (std::optional<std::string>, maybe),
                           (butler::RecordValue, any));
};

simdjson::padded_string padded(std::string_view text) {
  return simdjson::padded_string(text);
}

const std::string calexp =
    R"({"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","detector","visit"]})";

}  // namespace

template <>
struct dedup::options<raw_record> : dedup::default_options {
  static constexpr auto key = dedup::raw_bytes;
};

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
  auto e = dedup_test::error_of(
      [] {
        (void)dedup::parse_fast<raw_holder>(
            padded(R"({"items":[{"kind":"a","values":{"x":1}},{"kind":3}]})"));
      },
      "no error");
  CHECK(e.pointer() == "/items/1/kind");
  CHECK(dedup::stats<raw_record>().entries == 0);
}

namespace {

/// A type that ignores members it does not know, whose values must still be valid JSON.
struct open_type {
  BOOST_HANA_DEFINE_STRUCT(open_type, (std::string, name));
};

}  // namespace

template <>
struct dedup::options<open_type> : dedup::default_options {
  static constexpr bool ignore_unknown_members = true;
};

TEST_CASE("an ignored value is still checked for what simdjson's first stage lets through",
          "[simdjson]") {
  for (std::string_view text :
       {R"({"name":"a","extra":[tru]})", R"({"name":"a","extra":[-012]})"}) {
    INFO(text);
    auto e =
        dedup_test::error_of([&] { (void)dedup::parse_fast<open_type>(padded(text)); }, "no error");
    CHECK(e.pointer() == "/extra/0");
  }
}
