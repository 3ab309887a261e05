// Interns a small type through the installed headers and the nlohmann backend; exits 0 only if
// repeats are shared. Built by the consumer (dedup::dedup) and consumer_nlohmann projects.
#include <dedup/core.hpp>
#include <dedup/nlohmann.hpp>

#include "instrument.hpp"

int main() {
  nlohmann::json j = {{"name", "HSC"}, {"detectors", 112}};
  dedup::scope s;
  auto a = dedup::from_simple<Instrument>(j);
  auto b = dedup::from_simple<Instrument>(j);
  return a == b && a->detectors == 112 ? 0 : 1;
}
