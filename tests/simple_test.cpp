// What the nlohmann backend alone offers: nlohmann::json's own get<T>() and conversions, and its
// parser's error for malformed text. What both backends promise is in backend_test.cpp.
#include <catch2/catch.hpp>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "support.hpp"

namespace {

using json = nlohmann::json;

}  // namespace

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

TEST_CASE("malformed JSON is a dedup::error with the byte where parsing stopped") {
  auto e = dedup_test::error_of(
      [] { (void)dedup::parse<butler::DatasetType>(R"({"name": "calexp", )"); }, "no error");
  CHECK(e.pointer().empty());
  CHECK_THAT(e.detail(), Catch::Contains("malformed JSON at byte"));
}

TEST_CASE("from_simple reads a nlohmann::json value as parse reads its text") {
  json ref = json::parse(R"({"name":"calexp","storageClass":"ExposureF","dimensions":["visit"]})");
  dedup::scope s;
  CHECK(dedup::from_simple<butler::DatasetType>(ref) ==
        dedup::parse<butler::DatasetType>(ref.dump()));
  ref["name"] = 7;
  auto e = dedup_test::error_of([&] { (void)dedup::from_simple<butler::DatasetType>(ref); },
                                "no error for a wrong type");
  CHECK(e.pointer() == "/name");
}
