// The shared JSON text primitives: white space, escapes and JSON pointers.
#include <catch2/catch.hpp>

#include <string>

#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/path.hpp"
#include "dedup/error.hpp"

namespace {
std::string decoded(std::string body) {
  std::size_t n = dedup::detail::unescape_to(body, body.data());  // in place, as the splitter does
  if (n == std::string::npos) return "<bad>";
  body.resize(n);
  return body;
}
}  // namespace

TEST_CASE("unescape_to decodes every escape, in place", "[json_text]") {
  CHECK(decoded(R"(a\"\\\/\b\f\n\r\tz)") == "a\"\\/\b\f\n\r\tz");
  CHECK(decoded(R"(caf\u00e9)") == "caf\xC3\xA9");
  CHECK(decoded(R"(\u20AC)") == "\xE2\x82\xAC");
  CHECK(decoded(R"(\ud83d\ude00!)") == "\xF0\x9F\x98\x80!");
  for (const char* bad : {R"(\x)", R"(\)", R"(\u12)", R"(\udc00)", R"(\ud83dx)", R"(\ud83d\u0041)"})
    CHECK(decoded(bad) == "<bad>");
}

TEST_CASE("white space is JSON's four blanks and nothing else", "[json_text]") {
  using dedup::detail::is_blank;
  CHECK((is_blank(' ') && is_blank('\t') && is_blank('\n') && is_blank('\r')));
  CHECK_FALSE((is_blank('\v') || is_blank('\f') || is_blank(-1) || is_blank('x')));
  CHECK(dedup::detail::trim_right("{} \r\n\t") == "{}");
  CHECK(dedup::detail::trim(" \n1 2\t") == "1 2");
}

TEST_CASE("pointer tokens round-trip through append_token", "[json_text]") {
  std::string p;
  for (const char* name : {"a/b", "~x", "", "0"}) dedup::detail::append_token(p, name);
  CHECK(p == "/a~1b/~0x//0");
  auto tokens = dedup::detail::pointer_tokens(p);
  REQUIRE(tokens);
  CHECK(*tokens == std::vector<std::string>{"a/b", "~x", "", "0"});
  CHECK(dedup::detail::pointer_tokens("")->empty());
  CHECK_FALSE(dedup::detail::pointer_tokens("refs"));
  dedup::detail::path root;
  auto mid = root.member("x/y");  // each step links to its parent: keep it alive
  auto leaf = mid.element(3);
  CHECK(leaf.render() == "/x~1y/3");
}
