// Interns through the nlohmann backend alone; exits 0 only if repeats are shared.
#include <dedup/dedup.hpp>

struct Instrument {
  BOOST_HANA_DEFINE_STRUCT(Instrument, (std::string, name), (int, detectors));
};
template <>
struct dedup::options<Instrument> : dedup::default_options {
  static constexpr auto key = dedup::key_members("name");
};

int main() {
  nlohmann::json j = {{"name", "HSC"}, {"detectors", 112}};
  dedup::scope s;
  auto a = dedup::from_simple<Instrument>(j);
  auto b = dedup::from_simple<Instrument>(j);
  return a == b && a->detectors == 112 ? 0 : 1;
}
