// dedup/policy.hpp: how a type's intern table behaves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace dedup {

/// How a table holds its entries, after Boost.Flyweight's tracking policies. `strong`: the table
/// owns a share of every instance until its scope ends (or a budget evicts it). `weak` (Flyweight's
/// `refcounted`): the table holds a weak reference only, and the last release of an instance
/// removes its entry, so a long-running scope keeps only what is in use. A lookup that finds an
/// entry whose instance is gone builds it again. Weak tables keep no exact-bytes aliases: every
/// lookup of such a type goes through its canonical key.
///
/// ```
/// dedup::intern_table<std::string> table({.tracking = dedup::tracking::weak});
/// auto a = table.intern("HSC", [] { return std::string("HSC"); });
/// assert(table.size() == 1);
/// a.reset();
/// assert(table.size() == 0);
/// ```
enum class tracking : std::uint8_t { strong, weak };

/// Per-type interning policy. `enabled = false` builds the type by value even inside a scope: the
/// right choice for types whose instances rarely repeat, where a table costs memory and buys
/// nothing. `verify = true` compares every hit with the instance already in the table and throws a
/// `dedup::error` naming both places when they differ, which catches a key that leaves out an
/// identity field. A type's default comes from `dedup::options<T>::policy`; a context can override
/// it with `context::set_policy<T>`, and the environment variable `DEDUP_VERIFY=1` turns verify on
/// for every table of every context (for debug and test runs). `trusted_input = true` skips the
/// check a hit makes of the members its key leaves unread when their bytes differ from those the
/// entry was built from (so malformed JSON there would go unnoticed): for input known to be well
/// formed.
///
/// `tracking` says whether the table keeps its entries alive (`strong`, the default) or holds them
/// only while someone else does (`weak`, see `dedup::tracking`).
///
/// `adaptive = true` (the default) lets dedup judge the type from the data, because objects that
/// rarely repeat cost more to look up and enter than to build. The lookups a deserializer makes of
/// it in a context are judged in windows, the first `dedup::judged_lookups` (1,024) long and each
/// next one twice the last (so at 1,024, 3,072, 7,168, ... lookups). A window with at least half
/// hits keeps the type. One with fewer, whose hit rate is no more than a quarter above the window
/// before, stops interning in that context: the type is built by value, as if `enabled` were
/// false, and its `table_stats::tuned_off` says so. A type whose hit rate is still climbing (a
/// large set of objects read in random order repeats more as its table fills) is judged again on
/// the next window, so no type is tuned off before 3,072 lookups. Contexts too short to judge
/// (small documents, one scope each) are judged together with the others made at the same place
/// in the code (the same `dedup::scope` declaration, or the same function given to `dedup::run`):
/// when a context ends, its tables add their lookups and hits to a per-process memory of that
/// place, and once it holds 256 lookups of a type (`detail::tuning_memory::enough`), fewer than
/// half of them hits, new contexts made there start with the type tuned off, except every 16th
/// (`rejudge`), which interns it and judges again. This comment is the one description of the
/// self-tuning rules; the guide and the code's comments point here. A
/// scope declared anywhere else starts with nothing learned. A table with a budget or weak tracking
/// is never tuned off; `verify` is judged like any run (a type built by value has no hits to
/// verify). Pin a type on with `adaptive = false`, off with `enabled = false`.
///
/// ```
/// dedup::scope s;
/// dedup::current()->set_policy<butler::DatasetType>({.enabled = true, .verify = true});
/// dedup::current()->set_policy<butler::DataCoordinate>({.adaptive = false});  // pinned on
/// ```
struct alignas(8) policy {  // eight bytes: a lock-free std::atomic<policy> in every table
  bool enabled = true;
  bool verify = false;
  bool trusted_input = false;
  dedup::tracking tracking = dedup::tracking::strong;
  bool adaptive = true;
};

/// How many lookups of an `adaptive` type make the first window it is judged on in a context; each
/// next window is twice the last (see `policy::adaptive`).
///
/// ```
/// dedup::scope s;
/// for (std::uint32_t i = 0; i < 3 * dedup::judged_lookups; ++i)  // every lookup a miss
///   dedup::from_simple<butler::DatasetType>(nlohmann::json{
///       {"name", std::to_string(i)}, {"storageClass", "x"}, {"dimensions", {"visit"}}});
/// assert(dedup::stats<butler::DatasetType>().tuned_off);
/// ```
inline constexpr std::uint32_t judged_lookups = 1024;

/// What a table over its budget does with a new entry: `rotate` evicts least-recently-used entries
/// that nothing outside the table holds until the new one fits, `strict` keeps what it has. Either
/// way, when the entry cannot fit, the value is returned unshared and counted as a refusal.
///
/// ```
/// dedup::budget b{.max_entries = 100, .on_full = dedup::overflow::strict};
/// assert(b.limited());
/// ```
enum class overflow : std::uint8_t { rotate, strict };

/// The bound on one intern table (zero: no bound): at most `max_entries` entries and `max_bytes`
/// of estimated memory (per entry: its key bytes, `sizeof(T)`, the bytes of the JSON it was built
/// from where the reader knew them, and the table's node), and, system-wide, no growth while the
/// free share of physical memory (MemAvailable / MemTotal in /proc/meminfo, read at most every 5
/// ms) is below `min_free_mem_pct` (a fraction: 0.2 is 20%). Under memory pressure `rotate` evicts
/// one entry for each one it adds (the table turns over at constant size) and `strict` refuses.
/// A type's default is `dedup::options<T>::budget`; a context overrides it with
/// `context::set_budget<T>`.
///
/// ```
/// dedup::scope s;
/// dedup::current()->set_budget<butler::DimensionRecord>({.max_bytes = 1 << 20});
/// ```
struct budget {
  std::size_t max_entries = 0;
  std::size_t max_bytes = 0;
  double min_free_mem_pct = 0;
  overflow on_full = overflow::rotate;

  /// Whether any bound is set.
  constexpr bool limited() const { return max_entries || max_bytes || min_free_mem_pct > 0; }
};

namespace detail {
inline bool environment_flag(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::strcmp(v, "0") != 0;
}
inline bool verify_forced_by_environment() {
  static const bool forced = environment_flag("DEDUP_VERIFY");
  return forced;
}
inline bool trust_forced_by_environment() {
  static const bool forced = environment_flag("DEDUP_TRUSTED_INPUT");
  return forced;
}
}  // namespace detail

}  // namespace dedup
