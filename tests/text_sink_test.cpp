// detail/writer/text_sink.hpp: the compact JSON text writer the cache and the store keep values
// with.
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/detail/writer/text_sink.hpp"
#include "dedup/simdjson.hpp"

namespace {
struct text_sample {
  BOOST_HANA_DEFINE_STRUCT(text_sample, (std::string, text), (double, real),
                           (std::vector<std::int64_t>, ints), (std::map<std::string, bool>, flags),
                           (std::optional<std::string>, maybe));
};

template <class T>
std::string text_of(const T& v) {
  std::string out;
  dedup::detail::write_text(out, v);
  return out;
}
}  // namespace

TEST_CASE("the text sink writes what to_simple writes, as compact JSON", "[text_sink]") {
  text_sample v{"a\"b\\c\n\x01é",
                0.1,
                {-3, 0, 9'007'199'254'740'993},
                {{"x", true}, {"y", false}},
                std::nullopt};
  std::string text = text_of(v);
  CHECK(text == R"({"text":"a\"b\\c\n\u0001é","real":0.1,"ints":[-3,0,9007199254740993],)"
                R"("flags":{"x":true,"y":false}})");
  CHECK(nlohmann::json::parse(text) == dedup::to_simple(v));
  CHECK(text_of(std::vector<std::vector<int>>{{}, {1}, {2, 3}}) == "[[],[1],[2,3]]");
  CHECK(text_of(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(text_of(std::vector<double>{1.0, -0.0, 1e300, 2.5}) == "[1.0,-0.0,1e+300,2.5]");
}

TEST_CASE("the text sink's output reads back to an equal value, with sharing", "[text_sink]") {
  butler::workload w{.refs = 300};
  dedup::scope s;
  auto first =
      dedup::parse_fast<butler::RefList>(simdjson::padded_string(butler::make_document(w)));
  std::string text = text_of(first);
  CHECK(nlohmann::json::parse(text) == dedup::to_simple(first));
  dedup::scope fresh;
  auto again = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
  CHECK(dedup::to_simple(again) == dedup::to_simple(first));
  CHECK(dedup::codec<butler::RefList>::equal(first, again));
}
