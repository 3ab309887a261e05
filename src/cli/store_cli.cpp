// `dedup store stats|keys|clear URI`: look into, or empty, a shared store.
#include <cstdio>
#include <string>

#include "cli.hpp"
#include "dedup/store.hpp"

namespace dedup::cli {
namespace {

constexpr const char* store_usage = R"(usage: dedup store stats|keys|clear|destroy URI

Looks into, empties or removes a dedup::shared_store: shm://name (this node,
/dev/shm/dedup-store-name) or redis://host:port/db. Creates nothing: exits 1 with the reason on
a store that does not exist ("no such store"), a damaged one, a bad URI or a server that does
not answer.

  stats    entries, value bytes, capacity, evictions and refusals
  keys     every key, one a line
  clear    remove every entry
  destroy  remove the store itself, whatever it holds (a damaged store too)
)";

}  // namespace

int store(const args& a) {
  if (!a.empty() && (a[0] == "--help" || a[0] == "-h")) {
    std::fputs(store_usage, stdout);
    return 0;
  }
  if (a.size() != 2 || (a[0] != "stats" && a[0] != "keys" && a[0] != "clear" && a[0] != "destroy"))
    throw usage_error{"store needs stats, keys, clear or destroy, then a store URI"};
  std::string uri(a[1]);
  dedup::store_options o;
  o.lock_timeout = std::chrono::milliseconds(2000);
  if (a[0] == "destroy") {
    if (!dedup::shared_store::destroy(uri)) throw storage_error(uri, "no such store");
    std::printf("%s: destroyed\n", uri.c_str());
    return 0;
  }
  auto s = dedup::shared_store::open_existing(uri, o);
  if (a[0] == "keys") {
    for (const auto& k : s.keys()) std::printf("%s\n", k.c_str());
  } else if (a[0] == "clear") {
    std::size_t n = s.count();
    s.clear();
    std::printf("%s: removed %s\n", s.uri().c_str(),
                (std::to_string(n) + (n == 1 ? " entry" : " entries")).c_str());
  } else {
    auto st = s.stats();
    std::printf(
        "%s\nentries %zu\nvalue_bytes %zu\ncapacity_bytes %zu\nevictions %llu\n"
        "refusals %llu\n",
        s.uri().c_str(), st.entries, st.value_bytes, st.capacity_bytes,
        static_cast<unsigned long long>(st.evictions),
        static_cast<unsigned long long>(st.refusals));
  }
  return 0;
}

}  // namespace dedup::cli
