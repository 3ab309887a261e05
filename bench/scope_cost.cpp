// dedup-scope-cost: what a scope costs when it interns nothing, and when it interns one value.
// Prints nanoseconds per `dedup::run`, the median of several rounds. Built by the release preset;
// to compare with other headers, compile this one file against them (it uses only the core).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dedup/context.hpp"

namespace {

/// Median nanoseconds per call of `fn` over `rounds` rounds of `calls` calls.
template <class F>
double ns_per_call(F&& fn, int calls, int rounds) {
  std::vector<double> each;
  for (int r = 0; r < rounds; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < calls; ++i) fn();
    std::chrono::duration<double, std::nano> took = std::chrono::steady_clock::now() - start;
    each.push_back(took.count() / calls);
  }
  std::sort(each.begin(), each.end());
  return each[each.size() / 2];
}

volatile std::size_t sink = 0;  // keeps the interned value's use from being optimized away

}  // namespace

int main(int argc, char** argv) {
  int calls = argc > 1 ? std::atoi(argv[1]) : 200'000;
  double empty = ns_per_call([] { dedup::run([] {}); }, calls, 7);
  double one = ns_per_call(
      [] {
        dedup::run([] {
          auto& table = dedup::current()->table<std::string>();
          sink = sink + table.intern("HSC", [] { return std::string("HSC"); })->size();
        });
      },
      calls / 10, 7);
  std::printf("empty run:             %8.1f ns\n", empty);
  std::printf("run interning a value: %8.1f ns\n", one);
}
