// The examples of the public headers' doc comments, as tests: an example that stops working fails
// here.
#include <catch2/catch.hpp>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"

namespace {
const nlohmann::json j = {
    {"name", "calexp"}, {"storageClass", "ExposureF"}, {"dimensions", {"visit"}}};

struct Ref {
  BOOST_HANA_DEFINE_STRUCT(Ref, (dedup::istring, run));
};
}  // namespace

TEST_CASE("example: dedup::error") {
  try {
    dedup::parse<butler::DatasetType>(R"({"name": 7})");
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.pointer() == "/name");
  }
}

TEST_CASE("example: dedup::policy") {
  dedup::scope s;
  dedup::current()->set_policy<butler::DatasetType>({.enabled = true, .verify = true});
  CHECK(dedup::from_simple<butler::DatasetType>(j) == dedup::from_simple<butler::DatasetType>(j));
}

TEST_CASE("example: dedup::intern_table") {
  dedup::intern_table<std::string> table;
  auto a = table.intern("HSC", [] { return std::string("HSC"); });
  auto b = table.intern("HSC", [] { return std::string("never built"); });
  CHECK(a == b);
  CHECK(*b == "HSC");
}

TEST_CASE("example: dedup::context") {
  dedup::scope s;
  auto a = dedup::from_simple<butler::DatasetType>(j);
  CHECK(dedup::current()->stats<butler::DatasetType>().entries == 1);
}

TEST_CASE("example: dedup::scope") {
  dedup::scope s;
  auto a = dedup::from_simple<butler::DatasetType>(j);
  auto b = dedup::from_simple<butler::DatasetType>(j);
  CHECK(a == b);
}

TEST_CASE("example: dedup::run") {
  nlohmann::json refs = nlohmann::json::array({j, j});
  auto types = dedup::run([&] {
    return dedup::from_simple<std::vector<std::shared_ptr<const butler::DatasetType>>>(refs);
  });
  CHECK(types[0] == types[1]);
}

TEST_CASE("example: dedup::context_var") {
  dedup::context_var<std::string> run_name("run_name", "none");
  auto token = run_name.set("w_2026_47");
  CHECK(run_name.get() == "w_2026_47");
  run_name.reset(token);
  CHECK(run_name.get() == "none");
}

TEST_CASE("example: dedup::istring") {
  nlohmann::json r = {{"run", "HSC/runs/RC2"}};
  dedup::scope s;
  auto a = dedup::from_simple<Ref>(r), b = dedup::from_simple<Ref>(r);
  CHECK(a.run.shares_storage_with(b.run));
}

TEST_CASE("example: dedup::from_simple, dedup::parse and dedup::to_simple") {
  auto type = dedup::parse<butler::DatasetType>(
      R"({"name":"calexp","storageClass":"ExposureF","dimensions":[]})");
  nlohmann::json back = dedup::to_simple(*type);
  CHECK(*dedup::from_simple<butler::DatasetType>(back) == *type);
}

TEST_CASE("example: dedup::options and dedup::camel_case") {
  CHECK(dedup::camel_case("storage_class") == "storageClass");
  CHECK(dedup::camel_case("is_calibration") == "isCalibration");
  CHECK(dedup::interned<butler::DatasetType>);
  CHECK_FALSE(dedup::interned<butler::Timespan>);
}
