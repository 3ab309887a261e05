// The tables' memo of exact bytes (detail/table/bytes_memo.hpp): a repeat of an object's bytes
// within a document resolves to its entry before any key is computed, and nothing it remembers
// outlives the document, the table or a failed read.
#include <catch2/catch.hpp>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"

namespace memo_test {
/// A type keyed by its whole value: equal bytes make equal keys, so the memo serves it too.
struct reading {
  BOOST_HANA_DEFINE_STRUCT(reading, (std::string, band), (std::int64_t, exposure),
                           (std::vector<std::int64_t>, pixels));
};
}  // namespace memo_test

template <>
struct dedup::options<memo_test::reading> : dedup::default_options {
  static constexpr auto key = dedup::whole_value;
};

namespace {

using memo_test::reading;
using readings = std::vector<std::shared_ptr<const reading>>;

/// A reading longer than the 64 bytes the memo chooses a slot by, spelled with `gap` after colons;
/// its last pixel is `last`.
std::string reading_text(std::int64_t exposure, std::string_view gap = "", int last = 1011) {
  std::string out = R"({"band":)" + std::string(gap) + R"("HSC-G","exposure":)" + std::string(gap) +
                    std::to_string(exposure) + R"(,"pixels":)" + std::string(gap) + "[";
  for (int i = 0; i < 11; ++i) out += std::to_string(1000 + i) + ",";
  return out + std::to_string(last) + "]}";
}

using coordinates = std::vector<std::shared_ptr<const butler::DataCoordinate>>;

/// A data coordinate with its records, longer than the 64 bytes the memo chooses a slot by.
std::string coordinate(int detector, std::string_view detector_max = "200") {
  return R"({"dataId":{"instrument":"HSC","detector":)" + std::to_string(detector) +
         R"(,"visit":1200},"records":{"instrument":{"definition":"instrument","record":)"
         R"({"name":"HSC","detector_max":)" +
         std::string(detector_max) + "}}}}";
}

std::string array_of(const std::vector<std::string>& items) {
  std::string out = "[";
  for (const std::string& item : items) out += (out.size() > 1 ? "," : "") + item;
  return out + "]";
}

coordinates read(const std::string& text) {
  return dedup::parse_fast<coordinates>(simdjson::padded_string(text));
}

}  // namespace

TEST_CASE("repeats of an object's bytes in a document are one instance, counted as hits",
          "[memo]") {
  const std::string a = coordinate(1), b = coordinate(2), a_spaced = coordinate(1, " 200");
  dedup::scope s;
  coordinates got = read(array_of({a, a, b, a, a_spaced, a}));
  REQUIRE(got.size() == 6);
  for (std::size_t i : {1, 3, 4, 5}) CHECK(got[i] == got[0]);
  CHECK(got[2] != got[0]);
  CHECK(std::get<std::int64_t>(got[2]->data_id.at("detector")) == 2);
  dedup::table_stats seen = dedup::stats<butler::DataCoordinate>();
  CHECK(seen.lookups == 6);
  CHECK(seen.hits == 4);
  CHECK(seen.entries == 2);
}

TEST_CASE("a repeat whose unread members differ is checked, right after an identical one",
          "[memo]") {
  const std::string a = coordinate(1);
  dedup::scope s;
  CHECK_THROWS_AS(read(array_of({a, a, coordinate(1, "tru")})), dedup::error);
  CHECK_THROWS_AS(read(array_of({a, a, coordinate(1, "200,\"name\":\"x\"")})), dedup::error);
  CHECK(dedup::stats<butler::DataCoordinate>().entries == 0);
  CHECK(read(array_of({a, a})).size() == 2);
}

namespace {

/// Reads `object` three times from a buffer that first held a failed document with the object at
/// the same addresses: the failed one's entry is rolled back, so a memo that outlived its document
/// would hand out a destroyed entry (which ASan reports). Returns the second document's values.
template <class T>
std::vector<std::shared_ptr<const T>> read_after_failed_document(const std::string& object) {
  using values = std::vector<std::shared_ptr<const T>>;
  const std::string good = array_of({object, object, object});
  const std::string bad =
      array_of({object, object, "\"" + std::string(object.size() - 2, 'x') + "\""});
  REQUIRE(good.size() == bad.size());
  simdjson::padded_string buffer(bad);
  CHECK_THROWS_AS(dedup::parse_fast<values>(buffer), dedup::error);
  CHECK(dedup::stats<T>().entries == 0);
  std::memcpy(buffer.data(), good.data(), good.size());
  values got = dedup::parse_fast<values>(buffer);
  REQUIRE(got.size() == 3);
  CHECK(got[0] == got[2]);
  CHECK(dedup::stats<T>().entries == 1);
  return got;
}

}  // namespace

TEST_CASE("what a failed document remembered is never read by the next one in its buffer",
          "[memo]") {
  dedup::scope s;
  coordinates got = read_after_failed_document<butler::DataCoordinate>(coordinate(1));
  CHECK(std::get<std::int64_t>(got[0]->data_id.at("detector")) == 1);
}

TEST_CASE("each context's tables remember only their own objects", "[memo]") {
  const simdjson::padded_string text(array_of({coordinate(1), coordinate(1)}));
  dedup::scope outer;
  coordinates first = dedup::parse_fast<coordinates>(text);
  coordinates second;
  {
    dedup::scope inner;
    second = dedup::parse_fast<coordinates>(text);
    CHECK(dedup::stats<butler::DataCoordinate>().hits == 1);
  }
  CHECK(first[0] == first[1]);
  CHECK(second[0] == second[1]);
  CHECK(first[0] != second[0]);
}

TEST_CASE("a type keyed by its whole value finds repeats of its bytes, and other spellings by key",
          "[memo]") {
  const std::string a = reading_text(30), b = reading_text(31), a_spaced = reading_text(30, " ");
  dedup::scope s;
  readings got =
      dedup::parse_fast<readings>(simdjson::padded_string(array_of({a, a, b, a_spaced, a, b})));
  REQUIRE(got.size() == 6);
  for (std::size_t i : {1, 3, 4}) CHECK(got[i] == got[0]);
  CHECK(got[5] == got[2]);
  CHECK(got[2] != got[0]);
  CHECK(got[0]->exposure == 30);
  CHECK(got[2]->exposure == 31);
  CHECK(got[3]->pixels.size() == 12);
  dedup::table_stats seen = dedup::stats<reading>();
  CHECK(seen.lookups == 6);
  CHECK(seen.hits == 4);
  CHECK(seen.entries == 2);
}

TEST_CASE("a whole-value object that differs from an earlier one near its end is not taken for it",
          "[memo]") {
  // The memo compares as many bytes as the object it remembered had, measured where the key's or
  // the build's walk ended: three bytes short would make these two one entry.
  const std::string a = reading_text(30), b = reading_text(30, "", 1019);
  dedup::scope s;
  readings got = dedup::parse_fast<readings>(simdjson::padded_string(array_of({a, b, a, b, b})));
  REQUIRE(got.size() == 5);
  CHECK(got[0]->pixels.back() == 1011);
  CHECK(got[1]->pixels.back() == 1019);
  CHECK(got[1] != got[0]);
  CHECK(got[2] == got[0]);
  CHECK(got[3] == got[1]);
  CHECK(got[4] == got[1]);
  CHECK(dedup::stats<reading>().entries == 2);
}

TEST_CASE("a whole-value object that extends an earlier one's bytes is read, not taken for it",
          "[memo]") {
  // Without its closing brace, the earlier object is a prefix of this one, whose duplicate member
  // only a read finds.
  const std::string a = reading_text(30);
  const std::string b = a.substr(0, a.size() - 1) + R"(,"exposure":31})";
  dedup::scope s;
  CHECK_THROWS_WITH(dedup::parse_fast<readings>(simdjson::padded_string(array_of({a, b}))),
                    Catch::Contains("/1/exposure") && Catch::Contains("duplicate member"));
}

TEST_CASE("a whole-value type's repeats in a failed document leave nothing for the next one",
          "[memo]") {
  dedup::scope s;
  readings got = read_after_failed_document<reading>(reading_text(30));
  CHECK(got[2]->exposure == 30);
}
