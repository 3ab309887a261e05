// Interns a small type through every header-only part (dedup/dedup.hpp): one value read with the
// nlohmann backend and with the simdjson backend in one scope is one object; exits 0 only if so.
#include <dedup/dedup.hpp>

#include "instrument.hpp"

int main() {
  nlohmann::json j = {{"name", "HSC"}, {"detectors", 112}};
  simdjson::padded_string text(j.dump());
  dedup::scope s;
  auto a = dedup::from_simple<Instrument>(j);
  auto b = dedup::parse_fast<Instrument>(text);
  return a == b && a->detectors == 112 ? 0 : 1;
}
