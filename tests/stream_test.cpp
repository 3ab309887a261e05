// The parallel record reader: order, backpressure, cancellation, errors and skipping.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <streambuf>
#include <string>
#include <system_error>
#include <thread>
#include <tuple>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/nlohmann.hpp"
#include "dedup/simdjson.hpp"
#include "dedup/stream.hpp"
#include "support.hpp"

namespace {

/// A record of the tests: its position, and padding that makes record sizes uneven.
struct item {
  BOOST_HANA_DEFINE_STRUCT(item, (int, n), (std::string, pad));
};

using dedup_test::temp_file;

/// Record i as JSON, with a padding length that jumps around so that workers finish out of order.
std::string item_json(int i) {
  std::size_t pad = static_cast<std::size_t>(i) * 7919 % 3000;
  return R"({"n":)" + std::to_string(i) + R"(,"pad":")" + std::string(pad, 'x') + R"("})";
}

std::string items_ndjson(int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += item_json(i) + "\n";
  return out;
}

std::string items_array(int n) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) out += (i ? ",\n  " : "") + item_json(i);
  return out + "]";
}

/// The byte offset of the record that starts with `{"n":k,` in `text`.
std::size_t offset_of(const std::string& text, int k) {
  return text.find(R"({"n":)" + std::to_string(k) + ",");
}

std::vector<int> read_all(const std::filesystem::path& file, dedup::reader_options o = {}) {
  std::vector<int> seen;
  for (auto& rec : dedup::reader<item>(file, std::move(o))) seen.push_back(rec.n);
  return seen;
}

std::vector<int> iota(int n) {
  std::vector<int> out(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out[static_cast<std::size_t>(i)] = i;
  return out;
}

const std::string dataset_type_line =
    R"({"name":"calexp","storageClass":"ExposureF","dimensions":["instrument","visit"]})";

}  // namespace

static_assert(std::ranges::input_range<dedup::reader<item>>);

TEST_CASE("the reader yields NDJSON records in input order, whatever their sizes") {
  temp_file f("order.ndjson", items_ndjson(3000));
  CHECK(read_all(f.path(), {.threads = 4, .max_queue = 3}) == iota(3000));
  CHECK(read_all(f.path(), {.threads = 1, .max_queue = 1}) == iota(3000));
}

TEST_CASE("the reader yields the elements of a top-level array in order") {
  temp_file f("order.json", "  \n" + items_array(1500) + "\n");
  CHECK(read_all(f.path(), {.threads = 3, .max_queue = 5}) == iota(1500));
  temp_file empty("empty.json", " [ ] ");
  CHECK(read_all(empty.path()).empty());
}

TEST_CASE("the reader finds the array at a JSON pointer, skipping what comes before it") {
  std::string text = R"({"meta": {"refs": "not this", "list": [1, "]", {"a": [[]]}]},)"
                     R"( "x~y/z": [0, {"refs": )" +
                     items_array(40) + R"(}], "refs": )" + items_array(700) + R"(, "tail": 1})";
  temp_file f("pointer.json", text);
  CHECK(read_all(f.path(), {.threads = 2, .pointer = "/refs"}) == iota(700));
  CHECK(read_all(f.path(), {.threads = 2, .pointer = "/x~0y~1z/1/refs"}) == iota(40));
  CHECK_THROWS_WITH(read_all(f.path(), {.pointer = "/nothing"}),
                    Catch::Contains("no member 'nothing'"));
}

TEST_CASE("the reader reads a stream it is handed, blank lines being no records") {
  auto in = std::make_unique<std::istringstream>("\n" + item_json(0) + "\n\n  \r\n" + item_json(1));
  std::vector<int> seen;
  for (auto& rec : dedup::reader<item>(std::move(in), {.threads = 2})) seen.push_back(rec.n);
  CHECK(seen == iota(2));
}

/// The storage_error a reader of `file` is made with; fails the test if it is made or throws
/// another.
dedup::storage_error open_failure(const std::filesystem::path& file) {
  return dedup_test::error_of<dedup::storage_error>([&] { dedup::reader<item> r(file); },
                                                    "the reader opened " + file.string());
}

TEST_CASE("a file that cannot be opened is a storage_error with its errno", "[stream]") {
  SECTION("missing") {
    auto e = open_failure("/nonexistent/dedup/input.ndjson");
    CHECK(e.code() == std::errc::no_such_file_or_directory);
    CHECK(e.resource() == "/nonexistent/dedup/input.ndjson");
  }
  SECTION("under a path that is a file (ENOTDIR, also for root)") {
    temp_file f("plain.ndjson", items_ndjson(1));
    auto e = open_failure(f.path() / "input.ndjson");
    CHECK(e.code() == std::errc::not_a_directory);
    CHECK_THAT(e.what(), Catch::Contains(std::system_category().message(ENOTDIR)));
  }
  SECTION("a directory") {
    auto e = open_failure(std::filesystem::temp_directory_path());
    CHECK(e.code() == std::errc::is_a_directory);
    CHECK_THAT(e.what(), Catch::Contains(std::system_category().message(EISDIR)));
  }
  SECTION("not readable") {
    temp_file f("locked.ndjson", items_ndjson(1));
    std::filesystem::permissions(f.path(), std::filesystem::perms::none);
    if (::geteuid() != 0) {
      auto e = open_failure(f.path());
      CHECK(e.code() == std::errc::permission_denied);
      CHECK_THAT(e.what(), Catch::Contains(std::system_category().message(EACCES)));
      return;
    }
    // Root reads any file: a child that drops to nobody opens it, and exits with the errno read.
    // The reader throws when it opens the file, before it starts a thread.
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(254);
      try {
        dedup::reader<item> r(f.path());
      } catch (const dedup::storage_error& e) {
        ::_exit(e.code().value());
      } catch (...) {
      }
      ::_exit(255);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 254) {
      WARN("cannot drop to uid 65534 here: EACCES is not checked");
      return;
    }
    CHECK(WEXITSTATUS(status) == EACCES);
  }
}

/// A stream whose reads fail as a file's would with EIO.
class failing_buffer : public std::streambuf {
 protected:
  int_type underflow() override {
    errno = EIO;
    throw std::ios_base::failure("read");
  }
};

TEST_CASE("an input that fails to read is a storage_error, not bad input", "[stream]") {
  struct failing_stream : std::istream {
    failing_buffer buffer;
    failing_stream() : std::istream(nullptr) { rdbuf(&buffer); }
  };
  try {
    for (auto& rec : dedup::reader<item>(std::make_unique<failing_stream>())) (void)rec;
    FAIL("no error");
  } catch (const dedup::error& e) {
    FAIL("read as bad input: " << e.what());
  } catch (const dedup::storage_error& e) {
    CHECK(e.code() == std::errc::io_error);
    CHECK(e.resource() == "the input");
  }
}

TEST_CASE("a record's error names its record, offset and file as members", "[stream]") {
  std::string good = item_json(0) + "\n";
  temp_file f("located.ndjson", good + R"({"n":"one","pad":""})" + "\n");
  for (std::size_t threads : {1, 3}) {
    try {
      for (auto& rec : dedup::reader<item>(f.path(), {.threads = threads})) (void)rec;
      FAIL("no error");
    } catch (const dedup::error& e) {
      CHECK(e.record() == 1u);
      CHECK(e.offset() == good.size());
      CHECK(e.source() == f.path().string());
      CHECK(e.pointer() == "/n");
      CHECK(std::string(e.what()) == "dedup: " + f.path().string() + ": record 1 (byte " +
                                         std::to_string(good.size()) + "), at /n: " + e.detail());
    }
  }
  SECTION("a structural error names the file too") {
    temp_file g("cut.json", "[" + item_json(0) + ", " + item_json(1));
    try {
      for (auto& rec : dedup::reader<item>(g.path())) (void)rec;
      FAIL("no error");
    } catch (const dedup::error& e) {
      CHECK(e.source() == g.path().string());
      CHECK(e.record().has_value());
    }
  }
  SECTION("a stream without a name has no source") {
    auto in = std::make_unique<std::istringstream>(R"({"n":"one","pad":""})");
    try {
      for (auto& rec : dedup::reader<item>(std::move(in))) (void)rec;
      FAIL("no error");
    } catch (const dedup::error& e) {
      CHECK(e.source().empty());
      CHECK_THAT(e.what(), Catch::StartsWith("dedup: record 0 (byte 0), at /n: "));
    }
  }
}

TEST_CASE("workers never take more than max_queue records ahead of the consumer") {
  temp_file f("bound.ndjson", items_ndjson(400));
  for (std::size_t max_queue : {1, 2, 5}) {
    dedup::reader<item> r(f.path(), {.threads = 4, .max_queue = max_queue});
    int expected = 0;
    for (auto& rec : r) {
      CHECK(rec.n == expected++);
      if (rec.n % 50 == 0) std::this_thread::yield();  // a slow consumer lets workers run ahead
    }
    CHECK(expected == 400);
    CHECK(r.most_ahead() >= 1);
    CHECK(r.most_ahead() <= max_queue);
  }
}

TEST_CASE("leaving the loop early stops and joins every worker") {
  temp_file f("cancel.ndjson", items_ndjson(5000));
  dedup::scope s;
  auto ctx = dedup::current();
  long before = ctx.use_count();
  {
    dedup::reader<item> r(f.path(), {.threads = 4, .max_queue = 8});
    int n = 0;
    for (auto& rec : r) {
      CHECK(rec.n == n);
      if (++n == 10) break;
    }
    CHECK(r.delivered() == 10);
  }
  // Each worker held the context through its scope until it ended: none does any more.
  CHECK(ctx.use_count() == before);
}

TEST_CASE("a reader destroyed before it is iterated ends its workers") {
  temp_file f("unread.ndjson", items_ndjson(2000));
  dedup::scope s;
  auto ctx = dedup::current();
  long before = ctx.use_count();
  { dedup::reader<item> r(f.path(), {.threads = 3, .max_queue = 4}); }
  CHECK(ctx.use_count() == before);
}

TEST_CASE("an error in record k is thrown at record k with its offset and pointer") {
  std::string text = items_ndjson(200);
  std::string bad = R"({"n":57,"pad":7})";
  std::size_t at = offset_of(text, 57);
  text.replace(at, item_json(57).size(), bad);
  temp_file f("bad.ndjson", text);

  std::vector<int> seen;
  try {
    for (auto& rec : dedup::reader<item>(f.path(), {.threads = 4, .max_queue = 6}))
      seen.push_back(rec.n);
    FAIL("no error thrown");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 57u);
    CHECK(e.offset() == at);
    CHECK(e.pointer() == "/pad");
    CHECK_THAT(e.what(), Catch::Contains("record 57") && Catch::Contains("expected string"));
  }
  CHECK(seen == iota(57));
}

TEST_CASE("an error in an array element names the element's pointer") {
  std::string elements;
  for (int i = 0; i < 30; ++i)
    elements += (i ? "," : "") + (i == 12 ? std::string(R"({"n":12})") : item_json(i));
  std::string text = R"({"refs": [)" + elements + "]}";
  temp_file f("bad.json", text);
  std::vector<int> seen;
  try {
    for (auto& rec : dedup::reader<item>(f.path(), {.threads = 2, .pointer = "/refs"}))
      seen.push_back(rec.n);
    FAIL("no error thrown");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 12u);
    CHECK(e.offset() == text.find(R"({"n":12})"));
    CHECK(e.pointer() == "/refs/12/pad");
  }
  CHECK(seen == iota(12));
}

TEST_CASE("malformed JSON in a record is an error located at that record") {
  std::string text = items_ndjson(20);
  std::size_t at = offset_of(text, 5);
  text.insert(at + 1, "\"n\":,");
  temp_file f("malformed.ndjson", text);
  try {
    for (auto& rec : dedup::reader<item>(f.path(), {.threads = 2})) (void)rec;
    FAIL("no error thrown");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 5u);
    CHECK(e.offset() == at);
    CHECK_THAT(e.detail(), Catch::Contains("malformed JSON"));
  }
}

TEST_CASE("skip_bad skips failing records, counts them and reports each") {
  std::string text;
  std::vector<int> good;
  for (int i = 0; i < 100; ++i) {
    bool bad = i % 17 == 3;
    text += (bad ? R"({"n":)" + std::to_string(i) + "}" : item_json(i)) + "\n";
    if (!bad) good.push_back(i);
  }
  temp_file f("skip.ndjson", text);
  std::vector<std::size_t> reported;
  dedup::reader<item> r(
      f.path(),
      {.threads = 3, .max_queue = 4, .skip_bad = true, .on_skip = [&](const dedup::error& e) {
         reported.push_back(*e.record());
       }});
  std::vector<int> seen;
  for (auto& rec : r) seen.push_back(rec.n);
  CHECK(seen == good);
  CHECK(r.skipped() == 6);
  CHECK(r.delivered() == 94);
  CHECK(reported == std::vector<std::size_t>{3, 20, 37, 54, 71, 88});
}

TEST_CASE("an array cut short is an error even when skipping bad records") {
  std::string text = items_array(50);
  text.resize(offset_of(text, 30) + 10);
  temp_file f("cut.json", text);
  std::vector<int> seen;
  try {
    for (auto& rec : dedup::reader<item>(f.path(), {.threads = 2, .skip_bad = true}))
      seen.push_back(rec.n);
    FAIL("no error thrown");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 30u);
    CHECK(e.pointer() == "/30");
  }
  CHECK(seen == iota(30));
}

TEST_CASE("progress reports every record and ends at the size of the input") {
  std::string text = items_ndjson(300);
  temp_file f("progress.ndjson", text);
  std::vector<dedup::progress> reports;
  dedup::reader<item> r(f.path(), {.threads = 2, .on_progress = [&](const dedup::progress& p) {
                                     reports.push_back(p);
                                   }});
  for (auto& rec : r) {
    REQUIRE(!reports.empty());
    CHECK(reports.back().records == static_cast<std::size_t>(rec.n) + 1);
    CHECK(reports.back().bytes == offset_of(text, rec.n) + item_json(rec.n).size());
  }
  REQUIRE(reports.size() == 301);
  CHECK(reports.back().records == 300);
  CHECK(reports.back().bytes == text.size());
  CHECK(reports.back().total_bytes == text.size());
}

TEST_CASE("workers share the caller's context, or one fresh context outside a scope") {
  std::string text;
  for (int i = 0; i < 200; ++i) text += dataset_type_line + "\n";
  temp_file f("types.ndjson", text);
  {
    dedup::reader<butler::DatasetType> r(f.path(), {.threads = 4});
    REQUIRE(r.shared_context());
    std::shared_ptr<const butler::DatasetType> first;
    for (auto& type : r) {
      if (!first) first = type;
      CHECK(type == first);
    }
    CHECK(r.shared_context()->stats<butler::DatasetType>().entries == 1);
  }
  dedup::scope s;
  // (through the same backend as the reader: an exact-bytes key is the text itself)
  std::shared_ptr<const butler::DatasetType> mine =
      dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(dataset_type_line));
  dedup::reader<butler::DatasetType> r(f.path(), {.threads = 3});
  CHECK(r.shared_context() == dedup::current());
  for (auto& type : r) CHECK(type == mine);
  auto stats = dedup::stats<butler::DatasetType>();
  CHECK(stats.entries == 1);
  CHECK(stats.lookups == 201);
  CHECK(stats.hits == 200);
}

namespace {

/// Reads the NDJSON file of arrays at `path` with the parallel reader and checks that it delivers
/// what a line-by-line `dedup::parse` gives, in order.
void check_rows_in_order(const std::filesystem::path& path) {
  using row = std::vector<std::variant<std::monostate, bool, std::int64_t, double, std::string>>;
  std::vector<row> expected;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) expected.push_back(dedup::parse<row>(line));
  REQUIRE(expected.size() > 100);
  std::size_t i = 0;
  for (auto& r : dedup::reader<row>(path, {.threads = 3, .max_queue = 7})) {
    REQUIRE(i < expected.size());
    CHECK(r == expected[i++]);
  }
  CHECK(i == expected.size());
}

}  // namespace

TEST_CASE("the reader reads an NDJSON file of mixed rows in order") {
  check_rows_in_order(DEDUP_FIXTURES "/rows.ndjson");
}

TEST_CASE("the reader reads the real NDJSON sample in order") {
  std::filesystem::path sample = DEDUP_SHARED_DATA "/amazon_cellphones.ndjson";
  if (!std::filesystem::exists(sample)) {
    WARN("skipped: " << sample << " is absent (the fixture rows.ndjson covers the same path)");
    return;
  }
  check_rows_in_order(sample);
}

TEST_CASE("example: dedup::reader") {
  std::string doc = R"({"refs": [)";
  butler::workload w;
  w.refs = 50;
  for (std::size_t i = 0; i < w.refs; ++i) {
    if (i) doc += ',';
    butler::append_ref(doc, w, i);
  }
  temp_file f("refs.json", doc + "]}");
  std::vector<std::shared_ptr<const butler::DatasetRef>> kept;
  dedup::scope s;
  for (auto& ref : dedup::reader<butler::DatasetRef>(f.path(), {.pointer = "/refs"}))
    kept.push_back(std::move(ref));
  REQUIRE(kept.size() == 50);
  CHECK(kept[0]->dataset_type == kept[w.distinct_dataset_types()]->dataset_type);
}

namespace {

/// Reads every record of `text`, given as a file named `name`, and returns the error it throws.
std::optional<dedup::error> read_error(const std::string& name, const std::string& text,
                                       dedup::reader_options o = {}) {
  temp_file f(name, text);
  try {
    for (auto& rec : dedup::reader<item>(f.path(), std::move(o))) (void)rec;
  } catch (const dedup::error& e) {
    return e;
  }
  return std::nullopt;
}

/// A dataset type whose name is `t<i>`, or one that fails to parse (a number as its name).
std::string type_line(int i, bool bad = false) {
  return R"({"name":)" + (bad ? std::string("5") : "\"t" + std::to_string(i) + "\"") +
         R"(,"storageClass":"ExposureF","dimensions":["instrument","visit"]})";
}

/// Yields until the current context's table of T holds `n` entries (workers running ahead of the
/// consumer); gives up after a while rather than hang, and the test's checks then tell.
template <class T>
void wait_for_entries(std::size_t n) {
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (dedup::stats<T>().entries < n && std::chrono::steady_clock::now() < give_up)
    std::this_thread::yield();
}

}  // namespace

TEST_CASE("a document must be complete and alone, whatever follows the array", "[stream]") {
  const std::string one = item_json(0);
  for (const std::string& text : std::vector<std::string>{
           "[" + one + "] junk", "[" + one + "]]", "[" + one + "][" + one + "]", "[] junk", "[][]",
           R"({"refs":[)" + one + "]} garbage {", R"({"refs":[])", R"({"refs":[)" + one + "],}",
           R"({"a":1 "refs":[]})", R"([[)" + one + "]"}) {
    INFO(text);
    dedup::reader_options o{.threads = 2, .skip_bad = true};
    if (text[0] == '{') o.pointer = "/refs";
    if (text.starts_with("[[")) o.pointer = "/0";
    auto e = read_error("alone.json", text, o);
    REQUIRE(e);
    CHECK(e->record().has_value());
  }
  // Blanks around the document, and members after the array, are fine.
  temp_file ok("ok.json", " {\"refs\": [" + one + "], \"tail\": [1, {\"x\": \"]\"}]}\n\t ");
  CHECK(read_all(ok.path(), {.pointer = "/refs"}) == iota(1));
  auto junk = read_error("junk.json", "[" + one + "] junk");
  REQUIRE(junk);
  CHECK(junk->record() == 1u);
  CHECK(junk->offset() == one.size() + 3);
  CHECK_THAT(junk->detail(), Catch::Contains("content after the document"));
}

TEST_CASE("an empty document is an error, empty NDJSON is no records", "[stream]") {
  for (std::string text : {"", " ", "\n\t \r\n"}) {
    auto e = read_error("empty.json", text);
    REQUIRE(e);
    CHECK_THAT(e->detail(), Catch::Contains("empty input: a JSON document holds one value"));
    CHECK(read_error("empty.json", text, {.format = dedup::stream_format::array}));
    CHECK(read_error("empty.json", text, {.pointer = "/refs"}));
    temp_file lines("empty.ndjson", text);
    CHECK(read_all(lines.path()).empty());
  }
}

TEST_CASE("a byte-order mark before the input is an error on every reader path", "[stream]") {
  const std::string bom = "\xEF\xBB\xBF";
  for (const auto& [name, text, options] :
       {std::tuple{"bom.ndjson", bom + items_ndjson(3), dedup::reader_options{}},
        std::tuple{"bom.json", bom + items_array(3), dedup::reader_options{}},
        std::tuple{"bom.json", bom + "{\"refs\":" + items_array(3) + "}",
                   dedup::reader_options{.pointer = "/refs"}},
        std::tuple{"bom.json", bom + items_array(3),
                   dedup::reader_options{.format = dedup::stream_format::array}}}) {
    INFO(name << " " << options.pointer);
    dedup::reader_options o = options;
    o.skip_bad = true;
    auto e = read_error(name, text, o);
    REQUIRE(e);
    CHECK(e->offset() == 0u);
    CHECK_THAT(e->detail(), Catch::Contains("byte-order mark before the document"));
  }
}

TEST_CASE("a byte-order mark before a later record is named as such", "[stream]") {
  const std::string bom = "\xEF\xBB\xBF";
  for (const auto& [name, text, options] :
       {std::tuple{"bom.ndjson", item_json(0) + "\n" + bom + item_json(1) + "\n",
                   dedup::reader_options{}},
        std::tuple{"bom.json", "[" + item_json(0) + "," + bom + item_json(1) + "]",
                   dedup::reader_options{.format = dedup::stream_format::array}}}) {
    INFO(name);
    auto e = read_error(name, text, options);
    REQUIRE(e);
    CHECK(e->record() == 1u);
    CHECK(e->detail() == "byte-order mark before the document");
  }
}

TEST_CASE("a value followed by ':' in a record is an error at that value", "[stream]") {
  const std::string ref =
      R"({"id":"ed8f01db-e414-4b1d-8a8a-33e272e3736e","datasetType":{"name":"","storageClass":"",)"
      R"("dimensions":[]},"dataId":{"dataId":{"":"":{}}}},"run":""})";
  temp_file f("colon.ndjson", ref + "\n");
  dedup::scope s;
  try {
    for (auto& r : dedup::reader<std::shared_ptr<const butler::DatasetRef>>(f.path())) (void)r;
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 0u);
    CHECK(e.pointer() == "/dataId/dataId/");
  }
}

TEST_CASE("a missing or doubled comma is structural, thrown even with skip_bad", "[stream]") {
  const std::string a = item_json(0), b = item_json(1);
  for (const std::string& text : std::vector<std::string>{
           "[," + a + "]", "[" + a + ",," + b + "]", "[" + a + " " + b + "]", "[" + a + b + "]",
           "[" + a + " 1]", "[" + a + "\"x\"]", "[" + a + ",]"}) {
    INFO(text);
    temp_file f("comma.json", text);
    dedup::reader<item> r(f.path(), {.threads = 2, .skip_bad = true});
    CHECK_THROWS_AS(
        [&] {
          for (auto& rec : r) (void)rec;
        }(),
        dedup::error);
    CHECK(r.skipped() == 0);
  }
}

TEST_CASE("a structural error names the start of the record it is in", "[stream]") {
  std::string text = items_array(3);
  std::size_t second = offset_of(text, 1);
  auto cut = read_error("cut.json", text.substr(0, second + 10));
  REQUIRE(cut);
  CHECK(cut->record() == 1u);
  CHECK(cut->offset() == second);
  // A doubled comma: the record would start at the second comma.
  std::string doubled = "[" + item_json(0) + ",," + item_json(1) + "]";
  auto e = read_error("doubled.json", doubled);
  REQUIRE(e);
  CHECK(e->record() == 1u);
  CHECK(e->offset() == item_json(0).size() + 2);
}

TEST_CASE("a failed read takes back what the records it never delivered added", "[stream]") {
  std::string text;
  for (int i = 0; i < 20; ++i) text += type_line(i, i == 10) + "\n";
  temp_file f("takeback.ndjson", text);
  for (std::size_t threads : {2, 4}) {
    dedup::scope s;
    {
      dedup::reader<butler::DatasetType> r(f.path(), {.threads = threads, .max_queue = 4});
      int n = 0;
      auto consume = [&] {
        for (auto& type : r) {
          CHECK(type->name == "t" + std::to_string(n));
          // Let the workers run ahead, so that records after the bad one are parsed.
          if (++n == 10) wait_for_entries<butler::DatasetType>(11);
        }
      };
      CHECK_THROWS_AS(consume(), dedup::error);
      CHECK(n == 10);
    }
    CHECK(dedup::stats<butler::DatasetType>().entries == 10);
    // The entries left are those of records 0..9: reading them again adds nothing.
    for (int i = 0; i < 10; ++i)
      (void)dedup::parse_fast<butler::DatasetType>(simdjson::padded_string(type_line(i)));
    CHECK(dedup::stats<butler::DatasetType>().entries == 10);
  }
}

TEST_CASE("a reader left early takes back the entries of the records it never delivered",
          "[stream]") {
  std::string text;
  for (int i = 0; i < 200; ++i) text += type_line(i) + "\n";
  temp_file f("early.ndjson", text);
  dedup::scope s;
  std::vector<std::shared_ptr<const butler::DatasetType>> kept;
  {
    dedup::reader<butler::DatasetType> r(f.path(), {.threads = 3, .max_queue = 8});
    for (auto& type : r) {
      kept.push_back(type);
      if (kept.size() == 5) {
        wait_for_entries<butler::DatasetType>(6);
        break;
      }
    }
  }
  CHECK(dedup::stats<butler::DatasetType>().entries == 5);
}

TEST_CASE("the reader bounds its thread count", "[stream]") {
  STATIC_REQUIRE(dedup::max_reader_threads == 1024);
  temp_file f("threads.ndjson", items_ndjson(3));
  CHECK_THROWS_AS(dedup::reader<item>(f.path(), {.threads = dedup::max_reader_threads + 1}),
                  dedup::usage_error);
  CHECK_THROWS_AS(dedup::reader<item>(f.path(), {.threads = 99999999999}), dedup::usage_error);
}

TEST_CASE("a member name on the way to the array is decoded, \\u escapes too", "[stream]") {
  temp_file f("escaped.json", R"({"caf\u00e9": 1, "r\u00e9fs": )" + items_array(5) + "}");
  CHECK(read_all(f.path(), {.pointer = "/r\xC3\xA9"
                                       "fs"}) == iota(5));
  temp_file bad("bad_escape.json", R"({"a\x": 1, "refs": [1]})");
  CHECK_THROWS_WITH(read_all(bad.path(), {.pointer = "/refs"}),
                    Catch::Contains("invalid escape in string"));
}

TEST_CASE("a pointer on the way to the array escapes '/' and '~' in member names", "[stream]") {
  temp_file f("slash.json", R"({"a/b~": [1, 2)");
  try {
    read_all(f.path(), {.pointer = "/refs"});
    FAIL("no error");
  } catch (const dedup::error& e) {
    CHECK(e.pointer() == "/a~1b~0");
    CHECK_THAT(e.detail(), Catch::Contains("the input ends inside a value"));
  }
}

TEST_CASE("sniff_layout finds a named member's array and consumes nothing", "[stream]") {
  using mode = dedup::detail::splitter::mode;
  auto splitter_of = [](std::string text, std::string pointer = "") {
    return dedup::detail::splitter(std::make_unique<std::istringstream>(std::move(text)),
                                   mode::lines, std::move(pointer));
  };
  auto doc = splitter_of(R"({"version": {"x": [1, "}"]}, "refs": [7, 8]})", "/refs");
  auto found = dedup::detail::sniff_layout(doc, ".ndjson", "refs", false);
  CHECK(found.mode == mode::array);
  CHECK(found.pointer == "/refs");
  doc.set_mode(found.mode);
  dedup::detail::raw_record rec;
  REQUIRE(doc.next(rec));
  CHECK(rec.bytes == "7");

  auto lines = splitter_of("{\"n\": 1}\n{\"n\": 2}\n");
  CHECK(dedup::detail::sniff_layout(lines, ".txt", "refs", false).mode == mode::lines);
  REQUIRE(lines.next(rec));
  CHECK(rec.bytes == R"({"n": 1})");

  auto array = splitter_of(" [1]");
  CHECK(dedup::detail::sniff_layout(array, ".jsonl", "refs", false).mode == mode::array);
  auto named = splitter_of(" [1]");
  CHECK(dedup::detail::sniff_layout(named, ".jsonl", {}, true).mode == mode::lines);
  auto empty = splitter_of("  ");
  auto blank = dedup::detail::sniff_layout(empty, ".json", "refs", false);
  CHECK((blank.mode == mode::array && blank.empty));
  auto cut = splitter_of(R"({"version": [1, )");
  CHECK(dedup::detail::sniff_layout(cut, ".json", "refs", false).mode == mode::lines);
}

namespace {

/// The records read from `text` with the records' array at /refs, skipping bad records; the error
/// that ended the read, if any.
std::pair<std::vector<int>, std::optional<dedup::error>> read_refs(const std::string& text) {
  std::vector<int> seen;
  try {
    dedup::reader<item> in(std::make_unique<std::istringstream>(text),
                           {.threads = 2, .pointer = "/refs", .skip_bad = true});
    for (auto& rec : in) seen.push_back(rec.n);
  } catch (const dedup::error& e) {
    return {seen, e};
  }
  return {seen, std::nullopt};
}

const std::string rec0 = R"({"n":0,"pad":""})", rec1 = R"({"n":1,"pad":""})";

}  // namespace

TEST_CASE("the members around the records' array are well-formed and never repeated", "[stream]") {
  auto good = read_refs(R"({"version":1,"refs":[)" + rec0 + "," + rec1 +
                        R"(],"meta":{"k":[1,{"a":"]"}]}})");
  CHECK(good.first == std::vector<int>{0, 1});
  CHECK_FALSE(good.second);
  struct bad_case {
    std::string text, pointer, detail;
  };
  for (const bad_case& c : std::vector<bad_case>{
           {R"({"refs":[)" + rec0 + R"(],"refs":[)" + rec1 + "]}", "/refs",
            "duplicate member 'refs'"},
           {R"({"version":tru,"refs":[)" + rec0 + "]}", "/version", "malformed JSON"},
           {R"({"refs":[)" + rec0 + R"(],"x":[1 2]})", "/x", "malformed JSON"},
           {R"({"a":{"b":1,"b":2},"refs":[)" + rec0 + "]}", "/a/b", "duplicate member 'b'"},
           {"{\"x\":\"\xFF\",\"refs\":[" + rec0 + "]}", "", "UTF-8"},
           {R"({"x":[1}],"refs":[)" + rec0 + "]}", "/x", "does not match"},
       }) {
    INFO(c.text);
    auto [seen, failure] = read_refs(c.text);
    REQUIRE(failure);
    CHECK(failure->pointer() == c.pointer);
    CHECK_THAT(failure->detail(), Catch::Contains(c.detail));
  }
}

TEST_CASE("a mismatched bracket inside one element is skipped as that element", "[stream]") {
  // a stray bracket, a closing bracket of the wrong kind, an inner container left open
  for (std::string bad : {R"({"n":1,"pad":""]})", R"({"n":1,"pad":""])", R"({"n":1,"pad":[""})"}) {
    INFO(bad);
    auto [seen, failure] = read_refs(R"({"refs":[)" + rec0 + "," + bad + R"(,{"n":2,"pad":""}]})");
    CHECK(seen == std::vector<int>{0, 2});
    CHECK_FALSE(failure);
  }
  std::string text = R"({"refs":[)" + rec0 + R"(,{"n":1,"pad":""]},{"n":2,"pad":""}]})";
  try {
    for (auto& rec :
         dedup::reader<item>(std::make_unique<std::istringstream>(text), {.pointer = "/refs"}))
      (void)rec;
    FAIL("no error thrown");
  } catch (const dedup::error& e) {
    CHECK(e.record() == 1u);
    CHECK(e.pointer() == "/refs/1");
    CHECK_THAT(e.detail(), Catch::Contains("does not match its opening one"));
  }
  // Where no reading of the bracket leaves a whole array, the read stops and says why.
  auto [seen, failure] = read_refs(R"({"refs":[)" + rec0 + R"(,{"n":1,"pad":""]]},{"n":2}]})");
  REQUIRE(failure);
  CHECK_THAT(failure->detail(), Catch::Contains("after the mismatched bracket in record 1, the "
                                                "structure cannot be recovered"));
}
