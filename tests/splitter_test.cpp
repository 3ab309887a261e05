// The splitter passes strings and containers in its buffer, a chunk at a time: an escape, a quote
// or a bracket on either side of a chunk's end must still be read as what it is.
#include <catch2/catch.hpp>

#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "dedup/detail/stream/splitter.hpp"

namespace {

using dedup::detail::splitter;

std::vector<std::string> elements(const std::string& text) {
  splitter in(std::make_unique<std::istringstream>(text), splitter::mode::array, "");
  std::vector<std::string> out;
  dedup::detail::raw_record rec;
  while (in.next(rec)) out.emplace_back(rec.bytes);
  return out;
}

/// `[{"s":"…"},{"t":1}]` where the escape of `\"` is the last byte of the first chunk.
std::string escape_at_chunk_end(std::size_t shift) {
  std::string head = R"([{"s":")";
  std::string filler(splitter::chunk - head.size() - 1 - shift, 'x');
  return head + filler + R"(\"]}[{"},{"t":1}])";
}

}  // namespace

TEST_CASE("the splitter keeps an escape, quote or bracket that straddles a chunk's end",
          "[splitter]") {
  for (std::size_t shift : {0, 1, 2, 3}) {
    std::string text = escape_at_chunk_end(shift);
    auto got = elements(text);
    REQUIRE(got.size() == 2);
    CHECK(got[0].size() == splitter::chunk - shift + 6);
    CHECK(got[0].ends_with(R"(\"]}[{"})"));
    CHECK(got[1] == R"({"t":1})");
  }
}

TEST_CASE("the splitter passes brackets and escaped quotes inside strings", "[splitter]") {
  auto got = elements(R"([{"a":"]}\\"},["x\"]"],"s\"}",{"b":{"c":[1,{"d":"\\\\"}]}}])");
  REQUIRE(got.size() == 4);
  CHECK(got[0] == R"({"a":"]}\\"})");
  CHECK(got[1] == R"(["x\"]"])");
  CHECK(got[2] == R"("s\"}")");
  CHECK(got[3] == R"({"b":{"c":[1,{"d":"\\\\"}]}})");
}

TEST_CASE("the splitter reports a container or string cut short", "[splitter]") {
  CHECK_THROWS_WITH(elements(R"([{"a":"x)"), Catch::Contains("ends inside a string"));
  CHECK_THROWS_WITH(elements(R"([{"a":[1,2)"), Catch::Contains("ends inside a value"));
  CHECK_THROWS_WITH(elements("[{\"a\":\"x\\"), Catch::Contains("ends inside a string"));
}

namespace {

/// A random JSON value whose strings hold escapes, quotes and brackets at every offset, so that
/// each falls on every byte of a block and across the blocks the splitter walks at once.
std::string random_value(std::mt19937& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); };
  static const char* const pieces[] = {"x", "\\\"", "\\\\", "]", "}", "[", "{", "\\n", "ab"};
  switch (depth > 3 ? 0 : pick(3)) {
    case 0: {
      std::string s = "\"";
      for (int n = pick(40); n-- > 0;) s += pieces[pick(9)];
      return s + "\"";
    }
    case 1: {
      std::string s = "[";
      for (int n = pick(4); n-- > 0;) s += random_value(rng, depth + 1) + (n ? "," : "");
      return s + "]";
    }
    default: {
      std::string s = "{";
      for (int n = pick(4); n-- > 0;)
        s += random_value(rng, 4) + ":" + random_value(rng, depth + 1) + (n ? "," : "");
      return s + "}";
    }
  }
}

}  // namespace

TEST_CASE("the splitter finds every element of random arrays, escapes at every offset",
          "[splitter]") {
  std::mt19937 rng(20261205);
  for (int round = 0; round < 50; ++round) {
    std::vector<std::string> values;
    std::string text = "[";
    for (int i = 0; i < 200; ++i) {
      values.push_back(random_value(rng, 0));
      text += (i ? "," : "") + values.back();
    }
    text += "]";
    REQUIRE(elements(text) == values);
  }
}

TEST_CASE("the splitter cuts an element with a mismatched bracket at every offset of a block",
          "[splitter]") {
  for (std::size_t n = 0; n < 40; ++n) {
    std::string text = R"([{"s":")" + std::string(n, 'x') + R"("]},{"t":1}])";
    splitter in(std::make_unique<std::istringstream>(text), splitter::mode::array, "");
    dedup::detail::raw_record rec;
    REQUIRE(in.next(rec));
    CHECK(rec.mismatched);
    CHECK(rec.bytes == R"({"s":")" + std::string(n, 'x') + R"("]})");
    REQUIRE(in.next(rec));
    CHECK_FALSE(rec.mismatched);
    CHECK(rec.bytes == R"({"t":1})");
    CHECK_FALSE(in.next(rec));
  }
}

TEST_CASE("the splitter knows the kind of every open container, past 64 levels too", "[splitter]") {
  std::string open, close;
  for (int i = 0; i < 100; ++i) {
    open += i % 3 ? "[" : R"({"a":)";
    close.insert(0, i % 3 ? "]" : "}");
  }
  auto got = elements("[" + open + "1" + close + R"(,{"t":1}])");
  REQUIRE(got.size() == 2);
  CHECK(got[0] == open + "1" + close);
  // A stray bracket 100 levels deep is one element's fault; the rest is cut as written.
  std::string text = "[" + open + "1]" + close + R"(,{"t":1}])";
  splitter in(std::make_unique<std::istringstream>(text), splitter::mode::array, "");
  dedup::detail::raw_record rec;
  REQUIRE(in.next(rec));
  CHECK(rec.mismatched);
  CHECK(rec.bytes == open + "1]" + close);
  REQUIRE(in.next(rec));
  CHECK(rec.bytes == R"({"t":1})");
}
