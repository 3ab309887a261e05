// dedup/policy.hpp: how a type's intern table behaves.
#pragma once

#include <cstdlib>
#include <cstring>

namespace dedup {

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
/// ```
/// dedup::scope s;
/// dedup::current()->set_policy<butler::DatasetType>({.enabled = true, .verify = true});
/// ```
struct alignas(4) policy {  // four bytes: a lock-free std::atomic<policy> in every table
  bool enabled = true;
  bool verify = false;
  bool trusted_input = false;
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
