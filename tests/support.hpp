// Support the test files share: temporary directories and files, file and fixture text, the error
// a call throws (and that it is not caught as another kind), and the loop divisor of the sanitizer
// presets, and skipping a test whose server cannot start. Child processes are in child_process.hpp,
// which the benchmarks use too.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

#include "dedup/error.hpp"

namespace dedup_test {

/// The divisor DEDUP_FAULT_SCALE gives loop sizes, so that the sanitizer presets run the same
/// tests in their time; 1 when unset or not positive.
///
/// ```text
/// long rounds = std::max(20 / dedup_test::fault_scale(), 2L);
/// ```
inline long fault_scale() {
  const char* s = std::getenv("DEDUP_FAULT_SCALE");
  long n = s ? std::atol(s) : 1;
  return n > 0 ? n : 1;
}

/// `n` divided by fault_scale(), never below 1, so that a scaled loop still runs.
///
/// ```text
/// for (int i = 0; i < dedup_test::scaled(2000); ++i) ...
/// ```
template <class N>
N scaled(N n) {
  long d = fault_scale();
  return d > 1 ? std::max(N{1}, static_cast<N>(n / d)) : n;
}

/// A fresh directory (mode 0755), removed when the test ends however it ends: directories a test
/// made read-only are made writable first, so that nothing is left behind.
///
/// ```text
/// dedup_test::temp_dir d;
/// dedup::disk_cache cache({.directory = d.path(), .tag = "t"});
/// ```
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dedup-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
    using std::filesystem::perms;
    std::filesystem::permissions(path_, perms::owner_all | perms::group_read | perms::group_exec |
                                            perms::others_read | perms::others_exec);
  }
  ~temp_dir() {
    namespace fs = std::filesystem;
    std::error_code ec;
    for (auto& e : fs::recursive_directory_iterator(path_, ec))
      if (e.is_directory(ec))
        fs::permissions(e.path(), fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// A file holding `text` in the temporary directory, named after `name` and this process so that
/// concurrent test runs do not meet; removed when the test ends.
///
/// ```text
/// dedup_test::temp_file f("in.ndjson", "{\"n\":1}\n");
/// dedup::reader<item> r(f.path());
/// ```
class temp_file {
 public:
  temp_file(std::string_view name, std::string_view text)
      : path_(std::filesystem::temp_directory_path() /
              ("dedup_test_" + std::to_string(::getpid()) + "_" + std::string(name))) {
    std::ofstream out(path_, std::ios::binary);
    out << text;
  }
  ~temp_file() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// The bytes of `file`; throws std::runtime_error when it cannot be opened.
///
/// ```text
/// CHECK(dedup_test::file_text(dir / "out.json") == expected);
/// ```
inline std::string file_text(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + file.string());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

#ifdef DEDUP_FIXTURES
/// The text of tests/fixtures/`name`.
///
/// ```text
/// auto ref = dedup::parse<butler::DatasetRef>(dedup_test::fixture("ref.json"));
/// ```
inline std::string fixture(const std::string& name) {
  return file_text(std::filesystem::path(DEDUP_FIXTURES) / name);
}
#endif

/// The E that `f` throws, for a test to inspect; fails the test with `otherwise` when `f` returns.
/// Any other exception escapes and fails the test as well.
///
/// ```text
/// auto e = dedup_test::error_of([&] { (void)dedup::parse<T>(text); }, "no error for " + text);
/// CHECK(e.pointer() == "/name");
/// ```
template <class E = dedup::error, class F>
E error_of(F&& f, const std::string& otherwise) {
  try {
    std::forward<F>(f)();
  } catch (const E& e) {
    return e;
  }
  FAIL(otherwise);
  throw;  // not reached: FAIL throws
}

/// The E that `f` throws, as error_of gives it, after checking that a handler of `Wrong` lets it
/// pass: the error kinds are siblings, so that catching one never catches another by mistake.
///
/// ```text
/// auto e = dedup_test::error_not_caught_as<dedup::storage_error, dedup::error>(
///     [] { (void)dedup::shared_store::open_existing("shm://absent"); }, "the store opened");
/// CHECK(e.detail() == "no such store");
/// ```
template <class E, class Wrong, class F>
E error_not_caught_as(F&& f, const std::string& otherwise) {
  return error_of<E>(
      [&] {
        try {
          std::forward<F>(f)();
        } catch (const Wrong& e) {
          FAIL("caught as the wrong kind of error: " << e.what());
        }
      },
      otherwise);
}

}  // namespace dedup_test

/// Ends the test case with a warning, passing, when `available` is false: a test that needs a
/// program the machine lacks (redis-server) says so instead of failing or passing silently.
///
/// ```text
/// dedup_test::redis_server redis;
/// DEDUP_TEST_SKIP_UNLESS(redis.available(), "redis-server not found");
/// ```
#define DEDUP_TEST_SKIP_UNLESS(available, why) \
  do {                                         \
    if (!(available)) {                        \
      WARN(why ": skipped");                   \
      return;                                  \
    }                                          \
  } while (false)
