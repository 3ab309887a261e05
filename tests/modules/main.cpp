// Two shared libraries built with -fvisibility=hidden, used in one scope of the program: the scope
// is current in both, the common type is one instance across them, their own types each keep a
// table of their own, and the reader's labels of what it reads (record, input) are one per thread.
// Exits non-zero, saying why, on the first failed check.
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "types.hpp"

MODULE_FUNCTIONS(a)
MODULE_FUNCTIONS(b)

namespace {
int failures = 0;
void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "module test failed: %s\n", what);
  ++failures;
}
}  // namespace

int main() {
  const std::string common = R"({"name":"calexp","size":3})";
  {
    dedup::scope s;
    check(a_current() == &s.get() && b_current() == &s.get(), "the scope is current in both");
    auto here = dedup::parse<modules::common>(common);
    auto in_a = a_read_common(common);
    auto in_b = b_read_common(common);
    check(in_a == here && in_b == here, "one instance of the common type across modules");
    check(a_common_entries() == 1 && b_common_entries() == 1, "one table of the common type");
    check(a_read_own(R"({"label":"a"})") == "a", "library A reads its own type");
    check(b_read_own(R"({"values":[1,2],"label":"b"})") == "b", "library B reads its own type");
    check(a_read_own(R"({"label":"a"})") == "a", "library A reads its own type again");
    check(a_own_entries() == 1 && b_own_entries() == 1, "each library's type has its own table");
    std::thread([&, ctx = dedup::current()] {
      dedup::scope joined{ctx};
      check(a_read_common(common) == here, "a worker joined in the program shares with A");
    }).join();
  }
  check(a_current() == nullptr && b_current() == nullptr, "no scope is current after it closes");
  dedup::detail::current_record = 7;  // as the reader labels the record a worker reads
  check(a_record() == 7 && b_record() == 7, "the record being read is the same in both");
  dedup::detail::current_record.reset();
  check(!a_record() && !b_record(), "no record is labelled after the read");
  dedup::detail::simdjson_source::input_end = common.data() + common.size();
  check(a_input_end() == common.data() + common.size() && b_input_end() == a_input_end(),
        "the end of the input being read is the same in both");
  dedup::detail::simdjson_source::input_end = nullptr;
  if (failures == 0) std::puts("modules: all checks passed");
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
