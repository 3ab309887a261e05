// Exact round trips (explicit nulls, dedup::nullable), the array form of as_array structs and
// variant selection, and the range of float members: the same on both backends.
#include <catch2/catch.hpp>

#include <limits>
#include <optional>
#include <string>
#include <variant>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace {

using json = nlohmann::json;

/// T read from `text` on the nlohmann backend and on the simdjson backend, in the current context.
template <class T>
std::pair<dedup::simple_result_t<T>, dedup::simple_result_t<T>> read_both(const std::string& text) {
  return {dedup::parse<T>(text), dedup::parse_fast<T>(simdjson::padded_string(text))};
}

template <class T>
json simple_of(const T& v) {
  if constexpr (dedup::detail::is_shared_const<T>::value)
    return dedup::to_simple(*v);
  else
    return dedup::to_simple(v);
}

/// A ref as the reference system writes a non-component one: explicit nulls included.
const std::string ref_with_nulls = R"({"id":"2b6b9a8e-57d1-4c43-9b2e-7d0f3c1a5e42",
  "datasetType":{"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","visit"],
                 "parentStorageClass":null,"isCalibration":false},
  "dataId":{"dataId":{"instrument":"HSC","visit":1228},"records":null},
  "run":"HSC/runs/RC2","component":null})";

struct with_optional {
  BOOST_HANA_DEFINE_STRUCT(with_optional, (std::optional<std::string>, note));
};

struct with_float {
  BOOST_HANA_DEFINE_STRUCT(with_float, (float, f), (double, d));
};

/// A record value alone, to see which alternative a JSON value selects.
struct holder {
  BOOST_HANA_DEFINE_STRUCT(holder, (butler::RecordValue, v));
};

}  // namespace

TEST_CASE("the demo workload round-trips exactly on both backends", "[roundtrip]") {
  butler::workload w;
  w.refs = 300;
  std::string text = butler::make_document(w);
  json doc = json::parse(text);
  REQUIRE(doc["refs"][0]["component"].is_null());  // the workload writes the reference's nulls
  REQUIRE(doc["refs"][0]["datasetType"]["parentStorageClass"].is_null());
  REQUIRE(doc["refs"][0]["dataId"]["records"]["visit"]["record"]["timespan"].is_array());
  SECTION("outside a scope") {
    auto [a, b] = read_both<butler::RefList>(text);
    CHECK(dedup::to_simple(a) == doc);
    CHECK(dedup::to_simple(b) == doc);
  }
  SECTION("inside a scope") {
    dedup::scope s;
    auto [a, b] = read_both<butler::RefList>(text);
    CHECK(dedup::to_simple(a) == doc);
    CHECK(dedup::to_simple(b) == doc);
  }
}

TEST_CASE("explicit nulls are read and written back as null", "[roundtrip]") {
  json doc = json::parse(ref_with_nulls);
  for (int in_scope = 0; in_scope < 2; ++in_scope) {
    std::optional<dedup::scope> s;
    if (in_scope) s.emplace();
    auto [a, b] = read_both<butler::DatasetRef>(ref_with_nulls);
    for (const auto& ref : {a, b}) {
      CHECK(ref->component.is_null());
      CHECK(ref->dataset_type->parent_storage_class.is_null());
      CHECK(ref->data_id->records.is_null());
      CHECK(dedup::to_simple(*ref) == doc);
    }
    json absent = doc;  // and absent members stay absent
    absent.erase("component");
    absent["datasetType"].erase("parentStorageClass");
    absent["dataId"].erase("records");
    // Another data id: for the key (dataId, has records) a null and an absent `records` are one.
    absent["dataId"]["dataId"]["visit"] = 1229;
    auto [c, d] = read_both<butler::DatasetRef>(absent.dump());
    CHECK(c->component.is_absent());
    CHECK(dedup::to_simple(*c) == absent);
    CHECK(dedup::to_simple(*d) == absent);
  }
}

TEST_CASE("nullable keeps absent, null and a value apart, in values and in keys", "[nullable]") {
  using state = dedup::nullable<std::string>::state;
  dedup::nullable<std::string> n;
  CHECK(n.which() == state::absent);
  n = dedup::null;
  CHECK(n.which() == state::null);
  n = "wcs";
  CHECK((n.which() == state::value && *n == "wcs"));
  CHECK(n != dedup::nullable<std::string>(dedup::null));
  CHECK(dedup::nullable<std::string>() != dedup::nullable<std::string>(dedup::null));

  const std::string base = R"({"name":"calexp","storageClass":"ExposureF","dimensions":[])";
  dedup::scope s;
  auto [absent, absent_fast] = read_both<butler::DatasetType>(base + "}");
  auto [null, null_fast] = read_both<butler::DatasetType>(base + R"(,"parentStorageClass":null})");
  auto [value, value_fast] =
      read_both<butler::DatasetType>(base + R"(,"parentStorageClass":"ExposureF"})");
  CHECK(absent != null);  // three keys, three instances, on both backends
  CHECK(null != value);
  CHECK(absent_fast != null_fast);
  CHECK(null_fast != value_fast);
  CHECK(*absent != *null);
  CHECK(*absent == *absent_fast);
  CHECK(*null == *null_fast);
}

TEST_CASE("a presence key tells a null nullable member from an absent one", "[nullable]") {
  // Reading one and writing back the other would break the round trip.
  dedup::scope s;
  const std::string id = R"({"dataId":{"instrument":"HSC","visit":1})";
  auto [absent, absent_fast] = read_both<butler::DataCoordinate>(id + "}");
  auto [null, null_fast] = read_both<butler::DataCoordinate>(id + R"(,"records":null})");
  CHECK(absent != null);
  CHECK(absent == absent_fast);
  CHECK(null == null_fast);
  CHECK(dedup::to_simple(*null_fast) == json::parse(id + R"(,"records":null})"));
  CHECK(dedup::to_simple(*absent) == json::parse(id + "}"));
  CHECK(dedup::stats<butler::DataCoordinate>().entries == 2);
}

TEST_CASE("std::optional writes an empty member as absent, whether it was null", "[nullable]") {
  auto [a, b] = read_both<with_optional>(R"({"note":null})");
  CHECK(dedup::to_simple(a) == json::object());
  CHECK(dedup::to_simple(b) == json::object());
}

TEST_CASE("a timespan is read from the reference's array and from the object form", "[variant]") {
  for (const char* text : {R"({"v":[10,20]})", R"({"v":{"begin":10,"end":20}})"}) {
    INFO(text);
    auto [a, b] = read_both<holder>(text);
    for (const holder& h : {a, b}) {
      REQUIRE(std::holds_alternative<butler::Timespan>(h.v));
      CHECK(std::get<butler::Timespan>(h.v) == butler::Timespan{10, 20});
      CHECK(dedup::to_simple(h) == json::parse(R"({"v":[10,20]})"));
    }
  }
}

TEST_CASE("an array that does not fit a timespan is a vector", "[variant]") {
  for (const char* text : {R"({"v":[1,2,3]})", R"({"v":["a","b"]})", R"({"v":[1]})",
                           R"({"v":[1.5,2]})", R"({"v":[1,null]})", R"({"v":[]})"}) {
    INFO(text);
    auto [a, b] = read_both<holder>(text);
    for (const holder& h : {a, b}) {
      CHECK(std::holds_alternative<std::vector<butler::Scalar>>(h.v));
      CHECK(dedup::to_simple(h) == json::parse(text));  // peeking consumed nothing
    }
  }
}

TEST_CASE("a wrong choice of alternative would show in keys and records", "[variant]") {
  auto key_of = [](const std::string& text) {
    json j = json::parse(text);
    dedup::detail::nlohmann_source src(j);
    std::string key;
    dedup::detail::encode<butler::RecordValue>(src, {}, key);
    return key;
  };
  CHECK(key_of("[1,2]") == key_of(R"({"begin":1,"end":2})"));  // one value, one key
  CHECK(key_of("[1,2]") != key_of("[1,2,3]"));
  CHECK(key_of(R"(["a","b"])") != key_of("[1,2]"));

  const std::string visit = R"({"definition":"visit","record":{"timespan":[5,6],"seq":[1,2,3]}})";
  dedup::scope s;
  auto [a, b] = read_both<butler::DimensionRecord>(visit);
  for (const auto& r : {a, b}) {
    CHECK(std::holds_alternative<butler::Timespan>(r->record.at("timespan")));
    CHECK(std::holds_alternative<std::vector<butler::Scalar>>(r->record.at("seq")));
    CHECK(dedup::to_simple(*r) == json::parse(visit));
  }
}

TEST_CASE("an as_array struct rejects an array of the wrong length", "[variant]") {
  for (const char* text : {"[1]", "[1,2,3]"}) {
    INFO(text);
    CHECK_THROWS_WITH(dedup::parse<butler::Timespan>(text), Catch::Contains("2 elements"));
    CHECK_THROWS_AS(dedup::parse_fast<butler::Timespan>(simdjson::padded_string(std::string(text))),
                    dedup::error);
  }
  CHECK_THROWS_WITH(dedup::parse<butler::Timespan>(R"([1,"x"])"), Catch::Contains("/1"));
}

TEST_CASE("a finite number beyond a float's range is a dedup::error", "[float]") {
  for (const char* text :
       {R"({"f":1e39,"d":0})", R"({"f":-1e39,"d":0})", R"({"f":3.4028236e38,"d":0})"}) {
    INFO(text);
    CHECK_THROWS_WITH(dedup::parse<with_float>(text), Catch::Contains("range of float"));
    CHECK_THROWS_WITH(dedup::parse_fast<with_float>(simdjson::padded_string(std::string(text))),
                      Catch::Contains("/f"));
  }
  // What rounds to the largest float is kept, and doubles keep their own range.
  auto [a, b] = read_both<with_float>(R"({"f":3.4028234e38,"d":1e300})");
  CHECK(a.f == std::numeric_limits<float>::max());
  CHECK(b.f == std::numeric_limits<float>::max());
  CHECK(b.d == 1e300);
}
