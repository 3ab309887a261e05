// The user's hook, options<T>, and the words it is written in: usable from dedup/options.hpp alone.
#include "dedup/options.hpp"

#include <catch2/catch.hpp>

namespace {
struct point {};
}  // namespace

template <>
struct dedup::options<point> : dedup::default_options {
  static constexpr auto key = dedup::key_members("x", dedup::has("label"));
  static std::string wire_name(std::string_view m) { return dedup::camel_case(m); }
};

TEST_CASE("options<T> is declared from dedup/options.hpp alone", "[options]") {
  constexpr auto key = dedup::options<point>::key;
  STATIC_REQUIRE(key.kind == dedup::key_kind::members);
  STATIC_REQUIRE(key.fields.size() == 2);
  CHECK(key.fields[0].member == "x");
  CHECK_FALSE(key.fields[0].presence_only);
  CHECK(key.fields[1].member == "label");
  CHECK(key.fields[1].presence_only);
  CHECK(dedup::options<point>::wire_name("storage_class") == "storageClass");
  STATIC_REQUIRE(dedup::options<int>::key.kind == dedup::key_kind::none);
  STATIC_REQUIRE(dedup::whole_value.kind == dedup::key_kind::whole_value);
  STATIC_REQUIRE(dedup::raw_bytes.kind == dedup::key_kind::raw_bytes);
}

TEST_CASE("camel_case keeps a leading underscore and digits", "[options]") {
  CHECK(dedup::camel_case("_private_name") == "_privateName");
  CHECK(dedup::camel_case("run_2_id") == "run2Id");
  CHECK(dedup::camel_case("plain") == "plain");
}
