// Interns through the core alone, which must not bring in a JSON library's header, and checks that
// the installed dedup/version.hpp agrees with the package's version; exits 0 only if both hold.
#include <dedup/core.hpp>
#include <dedup/version.hpp>

#ifdef NLOHMANN_JSON_VERSION_MAJOR
#error "dedup/core.hpp included an nlohmann_json header"
#endif
#ifdef SIMDJSON_VERSION
#error "dedup/core.hpp included a simdjson header"
#endif

#include <cstdio>
#include <string>
#include <string_view>

int main() {
  dedup::intern_table<std::string> table;
  auto a = table.intern("HSC", [] { return std::string("HSC"); });
  auto b = table.intern("HSC", [] { return std::string("never built"); });
  if (a != b || *b != "HSC") return 1;
  if (std::string_view(DEDUP_VERSION) != PACKAGE_VERSION) {
    std::fprintf(stderr, "dedup/version.hpp says %s, the package %s\n", DEDUP_VERSION,
                 PACKAGE_VERSION);
    return 1;
  }
  return 0;
}
