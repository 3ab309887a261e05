// The compact form: round trips, sharing restored, bad references rejected, streams read in order.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "butler/model.hpp"
#include "butler/workload.hpp"
#include "dedup/compact.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "dedup/stream.hpp"
#include "support.hpp"

namespace {

// Nested sharing three levels deep: a shelf shares books, a book shares its author, an author
// shares its country.
struct Country {
  BOOST_HANA_DEFINE_STRUCT(Country, (std::string, code));
};
struct Author {
  BOOST_HANA_DEFINE_STRUCT(Author, (std::string, name), (std::shared_ptr<const Country>, country));
};
struct Book {
  BOOST_HANA_DEFINE_STRUCT(Book, (std::string, title), (std::shared_ptr<const Author>, author));
};
struct Shelf {
  BOOST_HANA_DEFINE_STRUCT(Shelf, (std::vector<std::shared_ptr<const Book>>, books),
                           (std::shared_ptr<const Country>, made_in));
};

}  // namespace

template <>
struct dedup::options<Country> : dedup::default_options {
  static constexpr auto key = dedup::key_members("code");
};
template <>
struct dedup::options<Author> : dedup::default_options {
  static constexpr auto key = dedup::key_members("name", "country");
};
template <>
struct dedup::options<Book> : dedup::default_options {
  static constexpr auto key = dedup::key_members("title", "author");
};

namespace {

const std::string shelf_text = R"({"books":[
  {"title":"A","author":{"name":"X","country":{"code":"fr"}}},
  {"title":"B","author":{"name":"X","country":{"code":"fr"}}},
  {"title":"A","author":{"name":"X","country":{"code":"fr"}}},
  {"title":"C","author":{"name":"Y","country":{"code":"fr"}}}],
  "made_in":{"code":"fr"}})";

std::string workload_text(std::size_t refs) {
  return butler::make_document(butler::workload{.refs = refs});
}

template <class T>
T fast(const std::string& text) {
  return dedup::parse_compact_fast<T>(simdjson::padded_string(text));
}

void check_shelf_shared(const Shelf& s) {
  REQUIRE(s.books.size() == 4);
  CHECK(s.books[0] == s.books[2]);
  CHECK(s.books[0]->author == s.books[1]->author);
  CHECK(s.books[0]->author->country == s.books[3]->author->country);
  CHECK(s.made_in == s.books[3]->author->country);
}

/// "pointer: detail" of the error both backends throw for `text`, at the same pointer.
std::string error_of(const std::string& text) {
  auto e =
      dedup_test::error_of([&] { (void)dedup::parse_compact<Shelf>(text); }, "accepted: " + text);
  auto f = dedup_test::error_of(
      [&] { (void)fast<Shelf>(text); },
      "the simdjson backend accepted what nlohmann rejected: " + std::string(e.what()));
  CHECK(f.pointer() == e.pointer());
  return e.pointer() + ": " + e.detail();
}

std::string doc(const std::string& value) {
  return R"({"dedup":"compact","version":1,"value":)" + value + "}";
}

}  // namespace

TEST_CASE("compact: three levels of sharing round trip and come back shared", "[compact]") {
  Shelf shelf = dedup::run([] { return dedup::parse<Shelf>(shelf_text); });
  std::string compact = dedup::to_compact(shelf);
  CHECK(compact.find(R"("$ref")") != std::string::npos);
  // Book B and author Y are met once: written in place, with no id.
  CHECK(compact.find(R"({"title":"B","author":{"$ref":1}})") != std::string::npos);
  CHECK(compact.find(R"({"name":"Y","country":{"$ref":2}})") != std::string::npos);
  Shelf nl = dedup::parse_compact<Shelf>(compact);
  Shelf sj = fast<Shelf>(compact);
  check_shelf_shared(nl);
  check_shelf_shared(sj);
  CHECK(dedup::to_simple(nl) == nlohmann::json::parse(shelf_text));
  CHECK(dedup::to_simple(sj) == nlohmann::json::parse(shelf_text));
}

TEST_CASE("compact: inside a scope definitions intern with everything else", "[compact]") {
  Shelf shelf = dedup::run([] { return dedup::parse<Shelf>(shelf_text); });
  std::string compact = dedup::to_compact(shelf);
  dedup::scope s;
  auto plain = dedup::parse<Shelf>(shelf_text);
  Shelf nl = dedup::parse_compact<Shelf>(compact);
  Shelf sj = fast<Shelf>(compact);
  CHECK(nl.books[1] == plain.books[1]);
  CHECK(sj.books[1] == plain.books[1]);
  CHECK(sj.books[3]->author == plain.books[3]->author);
  CHECK(nl.made_in == plain.made_in);
}

TEST_CASE("compact: the reference model round trips, much smaller", "[compact]") {
  std::string plain = workload_text(400);
  auto list = dedup::run(
      [&] { return dedup::parse_fast<butler::RefList>(simdjson::padded_string(plain)); });
  std::string compact = dedup::to_compact(list);
  CHECK(compact.size() * 3 < plain.size());
  auto back = fast<butler::RefList>(compact);
  auto back_nl = dedup::parse_compact<butler::RefList>(compact);
  CHECK(dedup::to_simple(back) == nlohmann::json::parse(plain));
  CHECK(dedup::to_simple(back_nl) == nlohmann::json::parse(plain));
  REQUIRE(back.refs.size() == 400);
  for (std::size_t i = 1; i < back.refs.size(); ++i) {
    bool same_type = list.refs[i]->dataset_type == list.refs[0]->dataset_type;
    CHECK((back.refs[i]->dataset_type == back.refs[0]->dataset_type) == same_type);
  }
}

TEST_CASE("compact: the istrings of one read share a buffer outside a scope", "[compact]") {
  std::string plain = workload_text(50);
  auto list = dedup::run(
      [&] { return dedup::parse_fast<butler::RefList>(simdjson::padded_string(plain)); });
  std::string compact = dedup::to_compact(list);
  auto back = fast<butler::RefList>(compact);
  auto again = fast<butler::RefList>(compact);
  REQUIRE(back.refs.size() == 50);
  std::map<std::string, dedup::istring, std::less<>> first;
  for (const auto& ref : back.refs) {
    auto [it, added] = first.try_emplace(ref->run.str(), ref->run);
    CHECK(ref->run.shares_storage_with(it->second));
  }
  CHECK(first.size() < 10);  // the workload repeats a few runs
  // One read's pool, not a process-wide one: another read builds its own buffers.
  CHECK_FALSE(again.refs[0]->run.shares_storage_with(back.refs[0]->run));
  // A plain read outside a scope still builds each string by value.
  auto by_value = dedup::parse_fast<butler::RefList>(simdjson::padded_string(plain));
  CHECK_FALSE(by_value.refs[1]->run.shares_storage_with(by_value.refs[0]->run));
}

TEST_CASE("compact: bad references are errors at their pointer", "[compact]") {
  const std::string fr = R"({"$id":0,"$value":{"code":"fr"}})";
  auto book = [](std::string author) {  // a book is shared too: its own definition, id 100
    return R"({"$id":100,"$value":{"title":"A","author":)" + author + "}}";
  };
  auto shelf = [&](std::string books, std::string made_in) {
    return doc(R"({"books":[)" + books + R"(],"made_in":)" + made_in + "}");
  };
  // never defined / defined only later in the document
  CHECK(error_of(shelf("", R"({"$ref":5})")) ==
        "/value/made_in/$ref: $ref 5 names an id not defined before it");
  CHECK_THAT(
      error_of(shelf(book(R"({"$id":1,"$value":{"name":"X","country":{"$ref":0}}})"), fr)),
      Catch::Contains(
          "/value/books/0/$value/author/$value/country/$ref: $ref 0 names an id not defined"));
  // duplicate id
  CHECK_THAT(
      error_of(shelf(
          book(R"({"$id":0,"$value":{"name":"X","country":{"$id":0,"$value":{"code":"fr"}}}})"),
          fr)),
      Catch::Contains("duplicate $id 0"));
  // a cycle: a reference inside the value it names
  CHECK_THAT(error_of(shelf(book(R"({"$id":0,"$value":{"name":"X","country":{"$ref":0}}})"), fr)),
             Catch::Contains("(a cycle)"));
  // another type
  CHECK(error_of(shelf(
            book(R"({"$id":0,"$value":{"name":"X","country":{"$id":1,"$value":{"code":"fr"}}}})"),
            R"({"$ref":0})")) ==
        "/value/made_in/$ref: $ref 0 names a " + std::string(dedup::detail::type_name<Author>()) +
            ", not the " + std::string(dedup::detail::type_name<Country>()) + " this member holds");
  // shapes of the wrapper
  CHECK(error_of(shelf("", R"({"$id":0})")) ==
        "/value/made_in/$value: missing member '$value' beside '$id'");
  CHECK(error_of(shelf("", R"({"$id":0,"$value":{"code":"fr"},"x":1})")) ==
        "/value/made_in/x: unexpected member 'x' in a compact reference (only $id with $value, or "
        "$ref)");
  CHECK_THAT(error_of(shelf("", R"({"$ref":0,"$value":{"code":"fr"}})")),
             Catch::Contains("stands alone"));
  CHECK_THAT(
      error_of(shelf("", R"({"$id":"0","$value":{"code":"fr"}})")),
      Catch::Contains(
          "/value/made_in/$id: expected a non-negative integer id below 2^64, found string"));
  CHECK_THAT(error_of(shelf("", R"({"$id":1.5,"$value":{"code":"fr"}})")),
             Catch::Contains("/value/made_in/$id"));
  CHECK_THAT(error_of(shelf("", R"({"$id":-1,"$value":{"code":"fr"}})")),
             Catch::Contains("/value/made_in/$id"));
  CHECK_THAT(error_of(shelf("", "{}")),
             Catch::StartsWith("/value/made_in/code: missing member 'code'"));
  // the marker and version
  CHECK(error_of(R"({"books":[],"made_in":{"code":"fr"}})") ==
        "/books: unexpected member 'books' in a compact document");
  CHECK(error_of(R"({"version":1,"value":{}})") ==
        "/dedup: missing member 'dedup': not a compact document");
  CHECK(error_of(R"({"dedup":"other","version":1,"value":{}})") ==
        "/dedup: expected \"compact\", found \"other\"");
  CHECK(error_of(R"({"dedup":"compact","version":2,"value":{}})") ==
        "/version: unsupported compact version: this reader reads version 1");
  CHECK(error_of(R"({"dedup":"compact","version":1})") ==
        "/value: missing member 'value' of a compact document");
}

TEST_CASE("compact: members in any order, value before the marker", "[compact]") {
  std::string text =
      R"({"value":{"books":[],"made_in":{"$value":{"code":"fr"},"$id":0}},"version":1,"dedup":"compact"})";
  CHECK(dedup::parse_compact<Shelf>(text).made_in->code == "fr");
  CHECK(fast<Shelf>(text).made_in->code == "fr");
}

namespace {

std::string compact_stream(const butler::RefList& list) {
  std::ostringstream out;
  dedup::compact_writer<butler::DatasetRef> writer(out);
  for (const auto& ref : list.refs) writer.write(*ref);
  return out.str();
}

}  // namespace

TEST_CASE("compact: an NDJSON stream through reader<T> with threads, in order", "[compact]") {
  std::size_t n = dedup_test::scaled<std::size_t>(4000);
  std::string plain = workload_text(n);
  auto list = dedup::run(
      [&] { return dedup::parse_fast<butler::RefList>(simdjson::padded_string(plain)); });
  std::string stream = compact_stream(list);
  auto expected = nlohmann::json::parse(plain)["refs"];
  for (auto format : {dedup::stream_format::automatic, dedup::stream_format::compact}) {
    dedup::reader<butler::DatasetRef> in(std::make_unique<std::istringstream>(stream),
                                         {.threads = 4, .max_queue = 8, .format = format});
    std::vector<std::shared_ptr<const butler::DatasetRef>> got;
    for (auto& ref : in) got.push_back(ref);
    REQUIRE(got.size() == n);
    for (std::size_t i = 0; i < n; ++i) REQUIRE(dedup::to_simple(*got[i]) == expected[i]);
    for (std::size_t i = 1; i < n; ++i) {
      bool same = list.refs[i]->data_id == list.refs[0]->data_id;
      CHECK((got[i]->data_id == got[0]->data_id) == same);
    }
  }
}

TEST_CASE("compact: stream references to later, failed or missing records are errors",
          "[compact]") {
  const std::string header = "{\"dedup\":\"compact\",\"version\":1}\n";
  auto read_all = [&](const std::string& body, bool skip_bad) {
    std::vector<std::string> out;
    dedup::reader<Shelf> in(
        std::make_unique<std::istringstream>(header + body),
        {.threads = 4, .max_queue = 4, .skip_bad = skip_bad, .on_skip = [&](const dedup::error& e) {
           out.push_back(e.detail());
         }});
    for (auto& s : in) out.push_back(s.made_in->code);
    return out;
  };
  auto later = R"({"books":[],"made_in":{"$ref":0}})"
               "\n"
               R"({"books":[],"made_in":{"$id":0,"$value":{"code":"fr"}}})"
               "\n";
  auto got = read_all(later, true);
  REQUIRE(got.size() == 2);
  // Which of the two it finds depends on whether record 2 was read first; both are errors.
  CHECK((got[0] == "$ref 0 names an id defined only later, in record 2" ||
         got[0] == "$ref 0 names an id not defined before it"));
  CHECK(got[1] == "fr");
  auto failed = R"({"made_in":{"$id":0,"$value":{"code":"fr"}},"books":[{"title":1}]})"
                "\n"
                R"({"books":[],"made_in":{"$ref":0}})"
                "\n";
  got = read_all(failed, true);
  REQUIRE(got.size() == 2);
  CHECK(got[1] == "$ref 0 names an id of record 1, which failed");
  CHECK_THROWS_AS(read_all(R"({"books":[],"made_in":{"$ref":3}})"
                           "\n",
                           false),
                  dedup::error);
  // The header is checked when the reader is made, as record 0.
  auto open = [](const std::string& text) {
    dedup::reader<Shelf> in(std::make_unique<std::istringstream>(text),
                            {.format = dedup::stream_format::compact, .skip_bad = true});
  };
  CHECK_THROWS_WITH(open("{\"dedup\":\"compact\",\"version\":7}\n"),
                    Catch::Contains("record 0") && Catch::Contains("unsupported compact version"));
  CHECK_THROWS_WITH(open(""), Catch::Contains("starts with its header line"));
  CHECK_THROWS_WITH(open("{\"books\":[]}\n"),
                    Catch::Contains("unexpected member 'books' in a compact stream header"));
}

TEST_CASE("compact: an id beyond 64 bits says what an id must be", "[compact]") {
  const std::string text = doc(R"({"books":[],"made_in":{"$ref":18446744073709551616}})");  // 2^64
  CHECK_THAT(error_of(text), Catch::StartsWith("/value/made_in/$ref: expected a non-negative "
                                               "integer id below 2^64"));
  CHECK_THROWS_WITH(fast<Shelf>(text), Catch::Contains("expected a non-negative integer id below "
                                                       "2^64, found an integer out of that range"));
}

TEST_CASE("compact: a duplicate $id in a document names where it was first defined", "[compact]") {
  const std::string text =
      doc(R"({"books":[{"$id":100,"$value":{"title":"A","author":{"$id":0,"$value":{"name":"X",)"
          R"("country":{"$id":0,"$value":{"code":"fr"}}}}}}],"made_in":{"$ref":0}})");
  CHECK(error_of(text) ==
        "/value/books/0/$value/author/$value/country/$id: duplicate $id 0 (first defined at "
        "/value/books/0/$value/author/$id)");
}

namespace {

/// The made_in codes a reader delivers from `text`, skipping bad records, and the details of the
/// records it skipped.
std::pair<std::vector<std::string>, std::vector<std::string>> codes_of(
    const std::string& text, dedup::stream_format format = dedup::stream_format::automatic) {
  std::vector<std::string> codes, skipped;
  dedup::reader<Shelf> in(
      std::make_unique<std::istringstream>(text),
      {.threads = 4,
       .max_queue = 4,
       .format = format,
       .skip_bad = true,
       .on_skip = [&](const dedup::error& e) { skipped.push_back(e.detail()); }});
  for (auto& s : in) codes.push_back(s.made_in->code);
  return {codes, skipped};
}

const std::string stream_header = "{\"dedup\":\"compact\",\"version\":1}\n";

std::string defines(int id, const std::string& code) {
  return R"({"books":[],"made_in":{"$id":)" + std::to_string(id) + R"(,"$value":{"code":")" + code +
         "\"}}}\n";
}
std::string refers(int id) {
  return R"({"books":[],"made_in":{"$ref":)" + std::to_string(id) + "}}\n";
}

}  // namespace

TEST_CASE("compact: each header of concatenated streams starts its own ids", "[compact]") {
  const std::string a = stream_header + defines(0, "fr") + defines(1, "it") + refers(0) + refers(1);
  const std::string b = stream_header + defines(0, "de") + refers(0) + refers(1);
  for (auto format : {dedup::stream_format::automatic, dedup::stream_format::compact}) {
    auto [codes, skipped] = codes_of(a + b, format);
    // The last record of b names an id only a defined: an error, never a's object.
    CHECK(codes == std::vector<std::string>{"fr", "it", "fr", "it", "de", "de"});
    CHECK(skipped == std::vector<std::string>{"$ref 1 names an id not defined before it"});
  }
  // Plain records, then a compact stream: the header starts it there.
  auto [codes, skipped] = codes_of(R"({"books":[],"made_in":{"code":"es"}})"
                                   "\n" +
                                   b);
  CHECK(codes == std::vector<std::string>{"es", "de", "de"});
  CHECK(skipped.size() == 1);
  // A header with its members the other way round is a header too.
  auto turned = codes_of(a +
                         R"({"version":1,"dedup":"compact"})"
                         "\n" +
                         refers(0));
  CHECK(turned.first == std::vector<std::string>{"fr", "it", "fr", "it"});
  CHECK(turned.second == std::vector<std::string>{"$ref 0 names an id not defined before it"});
}

TEST_CASE("compact: a header that cannot be read stops the stream even when skipping",
          "[compact]") {
  const std::string a = stream_header + defines(0, "fr") + refers(0);
  for (std::string bad : {R"({"dedup":"compact","version":2})", R"({"dedup":"compact"})",
                          R"({"dedup":"compact","version":1,"x":0})"}) {
    std::vector<std::string> codes;
    try {
      dedup::reader<Shelf> in(std::make_unique<std::istringstream>(a + bad + "\n" + refers(0)),
                              {.threads = 2, .skip_bad = true});
      for (auto& s : in) codes.push_back(s.made_in->code);
      FAIL("no error thrown");
    } catch (const dedup::error& e) {
      CHECK(e.record() == 3u);
    }
    CHECK(codes == std::vector<std::string>{"fr", "fr"});
  }
}
