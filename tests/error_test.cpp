// The error family: one base, four sibling kinds, the context an input error carries, and the
// system's errno kept where a system call failed.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <system_error>
#include <type_traits>

#include "butler/model.hpp"
#include "dedup/codec.hpp"
#include "dedup/disk_cache.hpp"
#include "dedup/store.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;

/// Opens a disk cache under a path that is a file: a storage failure of the library's own.
void open_cache_under_a_file() {
  dedup_test::temp_file f("not_a_directory", "a file, not a directory\n");
  dedup::disk_cache cache({.directory = f.path(), .tag = "t"});
}

/// A type whose codec rejects a value by misusing the library, as a buggy `from` might.
struct misused {
  int n = 0;
};

}  // namespace

template <>
struct dedup::codec<misused> : dedup::codec_via<misused, int> {
  static int to(misused m) { return m.n; }
  static misused from(int n) {
    if (n < 0) throw dedup::usage_error("misused: negative");
    return {n};
  }
};

TEST_CASE("error family: the four kinds are siblings under dedup::exception", "[error]") {
  STATIC_REQUIRE(std::is_base_of_v<std::runtime_error, dedup::exception>);
  STATIC_REQUIRE(std::is_base_of_v<dedup::exception, dedup::error>);
  STATIC_REQUIRE(std::is_base_of_v<dedup::exception, dedup::storage_error>);
  STATIC_REQUIRE(std::is_base_of_v<dedup::exception, dedup::timeout_error>);
  STATIC_REQUIRE(std::is_base_of_v<dedup::exception, dedup::usage_error>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<dedup::error, dedup::storage_error>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<dedup::storage_error, dedup::timeout_error>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<dedup::error, dedup::timeout_error>);
  STATIC_REQUIRE_FALSE(std::is_base_of_v<std::logic_error, dedup::usage_error>);
}

TEST_CASE("error family: catching dedup::error does not catch a storage failure", "[error]") {
  SECTION("a disk cache under a path that is a file") {
    auto e = dedup_test::error_not_caught_as<dedup::storage_error, dedup::error>(
        open_cache_under_a_file, "the cache opened");
    CHECK(e.code() == std::errc::not_a_directory);  // the system's errno, kept
    CHECK_THAT(e.what(), Catch::Contains(std::system_category().message(ENOTDIR)));
  }
  SECTION("a shared store that does not exist") {
    auto e = dedup_test::error_not_caught_as<dedup::storage_error, dedup::error>(
        [] { (void)dedup::shared_store::open_existing("shm://dedup-error-test-absent"); },
        "the store opened");
    CHECK(e.resource() == "shm://dedup-error-test-absent");
    CHECK(e.detail() == "no such store");
  }
}

TEST_CASE("error family: dedup::exception catches every kind, each with its kind()", "[error]") {
  auto kind_of = [](const auto& fail) {
    return dedup_test::error_of<dedup::exception>(fail, "nothing thrown").kind();
  };
  CHECK(kind_of([] { (void)dedup::parse<butler::DatasetType>(R"({"name": 7})"); }) ==
        dedup::error_kind::input);
  CHECK(kind_of(open_cache_under_a_file) == dedup::error_kind::storage);
  CHECK(kind_of([] { throw dedup::timeout_error("shm://jobs", "lock not taken"); }) ==
        dedup::error_kind::timeout);
  CHECK(kind_of([] { dedup::scope s(std::shared_ptr<dedup::context>{}); }) ==
        dedup::error_kind::usage);
}

TEST_CASE("error family: an input error's context is members, and what() follows them", "[error]") {
  dedup::error plain("/name", "expected string, found integer");
  CHECK(std::string(plain.what()) == "dedup: at /name: expected string, found integer");
  CHECK_FALSE(plain.record());
  CHECK(plain.source().empty());

  dedup::error located = plain.in_record(4, 200).in_source("refs.ndjson");
  CHECK(located.record() == 4u);
  CHECK(located.offset() == 200u);
  CHECK(located.source() == "refs.ndjson");
  CHECK(located.pointer() == "/name");
  CHECK(located.detail() == "expected string, found integer");
  CHECK(std::string(located.what()) ==
        "dedup: refs.ndjson: record 4 (byte 200), at /name: expected string, found integer");
  // A second source replaces the first; locating again keeps the source.
  CHECK(located.in_source("other.ndjson").source() == "other.ndjson");
  CHECK(located.in_record(5, 300).source() == "refs.ndjson");
  CHECK(std::string(located.in_source("").what()) ==
        "dedup: record 4 (byte 200), at /name: expected string, found integer");
}

TEST_CASE("error family: a codec's conversion passes dedup's own failures on as they are",
          "[error]") {
  CHECK_NOTHROW(dedup::parse<misused>("3"));
  auto e = dedup_test::error_not_caught_as<dedup::usage_error, dedup::error>(
      [] { (void)dedup::parse<misused>("-3"); }, "no error");
  CHECK(std::string(e.what()) == "misused: negative");
}
