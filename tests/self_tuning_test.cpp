// The self-tuning policy (policy::adaptive) on streams with a known hit rate: a type whose objects
// rarely repeat stops interning after two windows of lookups in a context, one that repeats, or
// whose repeats are still growing, keeps interning, pinning wins over the verdict, and contexts too
// short to judge are judged together through the process's tuning memory.
#include <catch2/catch.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "dedup/dedup.hpp"
#include "dedup/detail/table/tuning_memory.hpp"
#include "dedup/simdjson.hpp"

namespace tuning {

/// A type per test case (Tag), so that what one case teaches the process's memory stays its own.
template <int Tag>
struct item {
  BOOST_HANA_DEFINE_STRUCT(item, (int, id), (std::string, name));
};
template <int Tag>
struct batch {
  BOOST_HANA_DEFINE_STRUCT(batch, (std::vector<std::shared_ptr<const item<Tag>>>, items));
};

/// `count` items where item i has id `id_of(i)`.
template <class IdOf>
std::string items_json(int count, IdOf id_of) {
  std::string out = R"({"items":[)";
  for (int i = 0; i < count; ++i) {
    int id = id_of(i);
    out += (i ? "," : "") + std::string(R"({"id":)") + std::to_string(id) + R"(,"name":"n)" +
           std::to_string(id) + R"("})";
  }
  return out + "]}";
}

/// One in four items repeats the one before it: a 25% hit rate.
std::string rare_repeats(int count, int first_id = 0) {
  return items_json(count, [first_id](int i) { return first_id + (i % 4 == 3 ? i - 1 : i); });
}
/// Every id four times in a row: a 75% hit rate.
std::string frequent_repeats(int count) {
  return items_json(count, [](int i) { return i / 4; });
}

}  // namespace tuning

template <int Tag>
struct dedup::options<tuning::item<Tag>> : dedup::default_options {
  static constexpr auto key = dedup::raw_bytes;
};

using namespace tuning;

TEST_CASE("a type that rarely repeats stops interning after two windows of lookups", "[tuning]") {
  // Windows of judged_lookups, then twice that: both at 25%, so the hit rate is not growing.
  const auto judged = static_cast<std::uint64_t>(dedup::judged_lookups);
  dedup::scope s;
  auto b = dedup::parse<batch<1>>(rare_repeats(4096));
  auto stats = dedup::stats<item<1>>();
  CHECK(stats.tuned_off);
  CHECK(stats.lookups == 3 * judged);
  CHECK(stats.hits == 3 * judged / 4);
  CHECK(stats.entries == 9 * judged / 4);
  CHECK(b.items[3] == b.items[2]);        // judged while interning: shared
  CHECK(b.items[4095] != b.items[4094]);  // after the verdict: built by value
  CHECK(b.items[4095]->id == b.items[4094]->id);
}

TEST_CASE("a type whose hits are still growing keeps interning (a large set in random order)",
          "[tuning]") {
  // 20,000 lookups of 4,000 ids drawn at random: 12% hits in the first window, as the table
  // fills, then more in each window; judged once, its first window would have tuned it off.
  std::uint64_t x = 20261205;
  std::vector<int> ids;
  for (int i = 0; i < 20000; ++i) {
    x = x * 6364136223846793005u + 1442695040888963407u;
    ids.push_back(static_cast<int>((x >> 33) % 4000));
  }
  std::set<int> distinct(ids.begin(), ids.end());
  dedup::scope s;
  auto b = dedup::parse<batch<7>>(items_json(20000, [&ids](int i) { return ids[i]; }));
  auto stats = dedup::stats<item<7>>();
  CHECK_FALSE(stats.tuned_off);
  CHECK(stats.entries == distinct.size());
  std::map<int, const item<7>*> first;
  for (const auto& it : b.items)
    CHECK(first.try_emplace(it->id, it.get()).first->second == it.get());
}

TEST_CASE("a type that repeats keeps interning", "[tuning]") {
  dedup::scope s;
  auto b = dedup::parse<batch<2>>(frequent_repeats(2048));
  auto stats = dedup::stats<item<2>>();
  CHECK_FALSE(stats.tuned_off);
  CHECK(stats.lookups == 2048);
  CHECK(stats.entries == 512);
  CHECK(b.items[2047] == b.items[2044]);
}

TEST_CASE("a type pinned on, or with a budget, is never tuned off", "[tuning]") {
  SECTION("pinned") {
    dedup::scope s;
    s.get().set_policy<item<3>>({.adaptive = false});
    auto b = dedup::parse<batch<3>>(rare_repeats(2048));
    CHECK_FALSE(dedup::stats<item<3>>().tuned_off);
    CHECK(dedup::stats<item<3>>().entries == 1536);
    CHECK(b.items[2047] == b.items[2046]);
  }
  SECTION("budget") {
    dedup::scope s;
    s.get().set_budget<item<4>>({.max_entries = 100000});
    dedup::parse<batch<4>>(rare_repeats(2048));
    CHECK_FALSE(dedup::stats<item<4>>().tuned_off);
    CHECK(dedup::stats<item<4>>().entries == 1536);
  }
}

TEST_CASE("short contexts made at one place are judged together; every 16th judges again",
          "[tuning]") {
  // Each context reads 100 items at a 25% hit rate: too few to judge alone.
  int next_id = 0;
  auto one_context = [&next_id](bool pinned) {
    dedup::scope s;
    if (pinned) s.get().set_policy<item<5>>({.adaptive = false});
    auto b = dedup::parse<batch<5>>(rare_repeats(100, next_id));
    next_id += 1000;
    return std::pair{dedup::stats<item<5>>(), b.items[3] == b.items[2]};
  };
  // Enough lookups remembered once these end (100 per context).
  const int judging = static_cast<int>(dedup::detail::tuning_memory::enough + 99) / 100;
  for (int i = 0; i < judging; ++i) {
    auto [stats, shared] = one_context(false);
    CHECK_FALSE(stats.tuned_off);
    CHECK(shared);
  }
  int interned = 0;
  for (int i = 0; i < 32; ++i) {
    auto [stats, shared] = one_context(false);
    CHECK(stats.tuned_off != shared);
    if (!stats.tuned_off) ++interned;
  }
  CHECK(interned == 2);
  // Pinning on beats the memory.
  auto [pinned_stats, pinned_shared] = one_context(true);
  CHECK_FALSE(pinned_stats.tuned_off);
  CHECK(pinned_shared);
  // A scope declared elsewhere knows nothing of it.
  dedup::scope elsewhere;
  auto b = dedup::parse<batch<5>>(rare_repeats(100));
  CHECK_FALSE(dedup::stats<item<5>>().tuned_off);
  CHECK(b.items[3] == b.items[2]);
}

TEST_CASE("a type whose repeats return is interned again by the contexts that rejudge it",
          "[tuning]") {
  // One place in the code makes every context, as a loop over documents would.
  auto read = [](const std::string& text) {
    dedup::scope s;
    dedup::parse<batch<6>>(text);
    return dedup::stats<item<6>>().tuned_off;
  };
  const int judging = static_cast<int>(dedup::detail::tuning_memory::enough + 99) / 100;
  for (int i = 0; i < judging; ++i) read(rare_repeats(100, 1000 * i));
  CHECK(read(rare_repeats(100)));
  // Now every object repeats 4 times: the rejudging contexts bring the memory's rate back up.
  int tuned = 0;
  for (int i = 0; i < 200; ++i) tuned += read(frequent_repeats(100)) ? 1 : 0;
  CHECK(tuned > 0);
  CHECK(tuned < 200);
  CHECK_FALSE(read(frequent_repeats(100)));
}
