// Interns through the nlohmann backend alone, which must not bring in any simdjson header; exits 0
// only if repeats are shared.
#include <dedup/nlohmann.hpp>

#ifdef SIMDJSON_VERSION
#error "dedup/nlohmann.hpp included a simdjson header"
#endif

#include "../consumer/instrument.hpp"

int main() {
  nlohmann::json j = {{"name", "HSC"}, {"detectors", 112}};
  dedup::scope s;
  auto a = dedup::from_simple<Instrument>(j);
  auto b = dedup::from_simple<Instrument>(j);
  return a == b && a->detectors == 112 ? 0 : 1;
}
