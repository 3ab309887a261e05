// How the disk cache stores values: the compact form (each shared instance once) where an
// instance repeats, plain JSON text where none does, byte buffers raw under the checksum, and
// entries stored as plain JSON text by earlier versions still read.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/detail/wire/stored_value.hpp"
#include "dedup/disk_cache.hpp"
#include "support.hpp"

namespace fs = std::filesystem;

namespace {

using dedup_test::temp_dir;

struct pair_of_ints {
  BOOST_HANA_DEFINE_STRUCT(pair_of_ints, (int, x), (int, y));
};

constexpr char compact_byte = static_cast<char>(dedup::detail::stored_format::compact);
constexpr char raw_byte = static_cast<char>(dedup::detail::stored_format::raw);

/// The stored bytes of the entry `name` (its only row), read and replaced behind the cache's back
/// as an older version of the library or a hand edit would leave them: the row's size and
/// checksum follow a replacement, so the new bytes pass the checksum.
class stored_entry {
 public:
  stored_entry(const dedup::disk_cache& cache, std::string name)
      : name_(std::move(name)), where_(cache.fullpath(name_)) {
    REQUIRE(!where_.empty());
    REQUIRE(sqlite3_open((cache.location() / "index.sqlite").c_str(), &db_) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~stored_entry() { sqlite3_close(db_); }
  stored_entry(const stored_entry&) = delete;
  stored_entry& operator=(const stored_entry&) = delete;

  bool in_file() const { return where_.filename() != "index.sqlite"; }

  std::string bytes() {
    if (in_file()) {
      std::ifstream in(where_, std::ios::binary);
      return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    }
    sqlite3_stmt* st = prepare("SELECT value FROM entries WHERE name = ?1");
    REQUIRE(sqlite3_step(st) == SQLITE_ROW);
    std::string out(static_cast<const char*>(sqlite3_column_blob(st, 0)),
                    static_cast<std::size_t>(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    return out;
  }

  void replace(const std::string& bytes) {
    if (in_file()) std::ofstream(where_, std::ios::binary | std::ios::trunc) << bytes;
    char checksum[17];
    std::snprintf(checksum, sizeof checksum, "%016llx",
                  static_cast<unsigned long long>(dedup::detail::hash_key(bytes)));
    sqlite3_stmt* st = prepare(
        in_file() ? "UPDATE entries SET size = ?2, checksum = ?3 WHERE name = ?1"
                  : "UPDATE entries SET size = ?2, checksum = ?3, value = ?4 WHERE name = ?1");
    sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(bytes.size()));
    sqlite3_bind_text(st, 3, checksum, -1, SQLITE_TRANSIENT);
    if (!in_file())
      sqlite3_bind_blob(st, 4, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st) == SQLITE_DONE);
    sqlite3_finalize(st);
    REQUIRE(sqlite3_changes(db_) == 1);
  }

 private:
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql, -1, &st, nullptr) == SQLITE_OK);
    sqlite3_bind_text(st, 1, name_.c_str(), -1, SQLITE_TRANSIENT);
    return st;
  }

  std::string name_;
  fs::path where_;
  sqlite3* db_ = nullptr;
};

dedup::disk_cache_options in(const temp_dir& d, std::size_t inline_limit = 64 * 1024) {
  return {.directory = d.path(), .tag = "values", .inline_limit = inline_limit};
}

std::string plain_text(const auto& value) {
  std::string out;
  dedup::detail::write_text(out, value);
  return out;
}

template <class Byte>
std::vector<Byte> random_bytes(std::size_t n) {
  std::mt19937_64 gen(n);
  std::vector<Byte> out(n);
  for (auto& b : out) b = static_cast<Byte>(gen() & 0xff);
  return out;
}

}  // namespace

TEST_CASE("a cached value is stored in the compact form, each shared instance once",
          "[cache][values]") {
  temp_dir d;
  std::string text = butler::make_document(butler::workload{.refs = 200});
  std::string plain;
  {
    dedup::scope s;
    auto list = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
    plain = plain_text(list);
    dedup::disk_cache(in(d)).put("refs", list);
  }
  dedup::disk_cache cache(in(d));
  std::string stored = stored_entry(cache, "refs").bytes();
  REQUIRE(stored.size() > 1);
  CHECK(stored[0] == compact_byte);
  CHECK(stored.substr(1).starts_with(R"({"dedup":"compact","version":1,"value":)"));
  CHECK(stored.find(R"({"$ref":)") != std::string::npos);
  CHECK(stored.size() * 2 < plain.size());

  dedup::scope s;
  auto parsed = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
  auto loaded = cache.find<butler::RefList>("refs");
  REQUIRE(loaded);
  REQUIRE(loaded->refs.size() == parsed.refs.size());
  for (std::size_t i = 0; i < parsed.refs.size(); ++i) {  // interned with the caller's scope
    CHECK(loaded->refs[i]->dataset_type == parsed.refs[i]->dataset_type);
    CHECK(loaded->refs[i]->data_id == parsed.refs[i]->data_id);
  }
  CHECK(plain_text(*loaded) == plain);
  CHECK(cache.stats().disk_hits == 1);
}

TEST_CASE("a cached value in which no shared instance repeats is stored as plain JSON text",
          "[cache][values]") {
  temp_dir d;
  std::string ref_text = dedup_test::fixture("ref.json");
  std::string ref_plain;
  {
    dedup::scope s;
    auto ref = dedup::parse_fast<butler::DatasetRef>(simdjson::padded_string(ref_text));
    ref_plain = plain_text(*ref);
    dedup::disk_cache cache(in(d));
    cache.put("p", pair_of_ints{1, 2});
    cache.put("ref", *ref);  // its shared members each met once
    CHECK(stored_entry(cache, "p").bytes() == R"({"x":1,"y":2})");
    CHECK(stored_entry(cache, "ref").bytes() == ref_plain);
  }
  dedup::disk_cache cache(in(d));
  dedup::scope s;
  auto p = cache.find<pair_of_ints>("p");
  REQUIRE(p);
  CHECK((p->x == 1 && p->y == 2));
  auto parsed = dedup::parse_fast<butler::DatasetRef>(simdjson::padded_string(ref_text));
  auto ref = cache.find<butler::DatasetRef>("ref");
  REQUIRE(ref);
  CHECK(ref->dataset_type == parsed->dataset_type);
  CHECK(plain_text(*ref) == ref_plain);
  CHECK(cache.stats().disk_hits == 2);
}

TEST_CASE("an entry stored as plain JSON text by an earlier version still reads",
          "[cache][values]") {
  temp_dir d;
  auto inline_limit = GENERATE(std::size_t{64 * 1024}, std::size_t{8});  // in the index, in a file
  std::string text = butler::make_document(butler::workload{.refs = 20});
  std::string plain;
  {
    dedup::scope s;
    auto list = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
    plain = plain_text(list);
    dedup::disk_cache cache(in(d, inline_limit));
    cache.put("refs", list);
    cache.put("p", pair_of_ints{1, 2});
    stored_entry(cache, "refs").replace(plain);
    stored_entry p(cache, "p");
    CHECK(p.in_file() == (inline_limit == 8));
    p.replace(R"({"x":3,"y":4})");
  }
  dedup::disk_cache cache(in(d, inline_limit));
  dedup::scope s;
  auto parsed = dedup::parse_fast<butler::RefList>(simdjson::padded_string(text));
  auto loaded = cache.find<butler::RefList>("refs");
  REQUIRE(loaded);
  CHECK(plain_text(*loaded) == plain);
  CHECK(loaded->refs[0]->dataset_type == parsed.refs[0]->dataset_type);
  auto p = cache.get_or_compute<pair_of_ints>("p", [] { return pair_of_ints{5, 6}; });
  CHECK((p->x == 3 && p->y == 4));
  auto st = cache.stats();
  CHECK((st.disk_hits == 2 && st.computed == 0 && st.invalid == 0 && st.corrupt == 0));
}

TEST_CASE("a value that no longer parses is named at the same pointer in either format",
          "[cache][values]") {
  temp_dir d;
  dedup::disk_cache cache(in(d));
  cache.put("p", pair_of_ints{1, 2});
  std::string stored = stored_entry(cache, "p").bytes();
  std::string plain = R"({"x":1,"y":"two"})";
  auto compact = GENERATE_COPY(
      std::string(1, compact_byte) + R"({"dedup":"compact","version":1,"value":{"x":1,"y":"two"}})",
      plain);
  stored_entry(cache, "p").replace(compact);
  dedup::disk_cache reader(in(d));
  auto e = dedup_test::error_of([&] { (void)reader.find<pair_of_ints>("p"); }, "no error");
  CHECK(e.pointer() == "/y");
  CHECK_THAT(e.source(), Catch::StartsWith("cache entry 'p' ("));
  CHECK(reader.stats().invalid == 1);
  CHECK(stored == R"({"x":1,"y":2})");
}

TEST_CASE("a stored value of an unknown format is invalid and recomputed", "[cache][values]") {
  temp_dir d;
  dedup::disk_cache cache(in(d));
  cache.put("p", pair_of_ints{1, 2});
  stored_entry(cache, "p")
      .replace(
          "\x07"
          R"({"x":1,"y":2})");
  dedup::disk_cache reader(in(d));
  auto p = reader.get_or_compute<pair_of_ints>("p", [] { return pair_of_ints{7, 8}; });
  CHECK(p->x == 7);
  CHECK((reader.stats().invalid == 1 && reader.stats().computed == 1));
  CHECK_THROWS_AS(dedup::detail::decode_value<pair_of_ints>(
                      simdjson::padded_string(std::string(1, raw_byte) + "{}")),
                  dedup::error);
}

TEMPLATE_TEST_CASE("a 1 MiB byte buffer round-trips raw through disk", "[cache][values]", std::byte,
                   std::uint8_t) {
  using buffer = std::vector<TestType>;
  temp_dir d;
  const buffer value = random_bytes<TestType>(1 << 20);
  {
    dedup::disk_cache cache(in(d));
    int calls = 0;
    auto computed = cache.get_or_compute<buffer>("blob", [&] { return ++calls, value; });
    CHECK((calls == 1 && *computed == value));
    std::string stored = stored_entry(cache, "blob").bytes();
    REQUIRE(stored.size() == value.size() + 1);  // the format byte, then the bytes as they are
    CHECK(stored[0] == raw_byte);
    CHECK(std::equal(value.begin(), value.end(), stored.begin() + 1,
                     [](TestType a, char b) { return a == static_cast<TestType>(b); }));
    REQUIRE(cache.entries().size() == 1);
    CHECK((cache.entries()[0].in_file && cache.entries()[0].size == value.size() + 1));
  }
  dedup::disk_cache fresh(in(d));
  auto back = fresh.get_or_compute<buffer>("blob", [] { return buffer{}; });
  CHECK(*back == value);
  CHECK((fresh.stats().disk_hits == 1 && fresh.stats().computed == 0));
  dedup::disk_cache empty(in(d));
  empty.put("none", buffer{});
  CHECK(dedup::disk_cache(in(d)).find<buffer>("none")->empty());
}

TEST_CASE("a corrupted byte buffer fails its checksum and is recomputed", "[cache][values]") {
  using buffer = std::vector<std::byte>;
  temp_dir d;
  const buffer value = random_bytes<std::byte>(1 << 20);
  {
    dedup::disk_cache cache(in(d));
    cache.put("blob", value);
    std::fstream f(cache.fullpath("blob"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1 + 512 * 1024);
    char c = 0;
    f.get(c);
    f.seekp(1 + 512 * 1024);
    f.put(static_cast<char>(c ^ 0x10));
  }
  dedup::disk_cache cache(in(d));
  int calls = 0;
  auto again = cache.get_or_compute<buffer>("blob", [&] { return ++calls, value; });
  CHECK(calls == 1);
  CHECK(*again == value);
  CHECK((cache.stats().corrupt == 1 && cache.stats().computed == 1));
  dedup::disk_cache fresh(in(d));  // the recomputed value was stored
  CHECK(*fresh.find<buffer>("blob") == value);
  CHECK(fresh.stats().corrupt == 0);
}

TEST_CASE("a byte buffer stored as JSON text by an earlier version still reads",
          "[cache][values]") {
  temp_dir d;
  dedup::disk_cache cache(in(d));
  cache.put("blob", std::vector<std::uint8_t>{9});
  stored_entry(cache, "blob").replace("[1,2,255]");
  auto back = dedup::disk_cache(in(d)).find<std::vector<std::uint8_t>>("blob");
  REQUIRE(back);
  CHECK((*back == std::vector<std::uint8_t>{1, 2, 255}));
}
