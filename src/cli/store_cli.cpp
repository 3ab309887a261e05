// `dedup store stats|keys|clear|destroy URI`: look into, empty or remove a shared store.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "dedup/store.hpp"

namespace dedup::cli {
namespace {

constexpr const char* store_footer =
    R"(Looks into, empties or removes a dedup::shared_store: shm://name (this node,
/dev/shm/dedup-store-name) or redis://host:port/db. Creates nothing: exits 1 with the reason on
a store that does not exist ("no such store"), a damaged one, a bad URI or a server that does
not answer.

--json prints one JSON document instead of text:
  stats:   {"uri", "entries", "value_bytes", "capacity_bytes", "evictions", "refusals"}
  keys:    {"uri", "keys": [...]}
  clear:   {"uri", "entries"}   (the entries removed)
  destroy: {"uri", "destroyed": true})";

/// The command line of a `dedup store` action.
struct command_line {
  std::string uri;
  bool json = false;
};

dedup::shared_store open(const command_line& c) {
  dedup::store_options o;
  o.lock_timeout = std::chrono::milliseconds(2000);
  return dedup::shared_store::open_existing(c.uri, o);
}

void stats(const command_line& c) {
  auto s = open(c);
  auto st = s.stats();
  if (c.json) {
    print_json({{"uri", s.uri()},
                {"entries", st.entries},
                {"value_bytes", st.value_bytes},
                {"capacity_bytes", st.capacity_bytes},
                {"evictions", st.evictions},
                {"refusals", st.refusals}});
    return;
  }
  std::printf(
      "%s\nentries %zu\nvalue_bytes %zu\ncapacity_bytes %zu\nevictions %llu\nrefusals %llu\n",
      s.uri().c_str(), st.entries, st.value_bytes, st.capacity_bytes,
      static_cast<unsigned long long>(st.evictions), static_cast<unsigned long long>(st.refusals));
}

void keys(const command_line& c) {
  auto s = open(c);
  auto all = s.keys();
  if (c.json) return print_json({{"uri", s.uri()}, {"keys", all}});
  for (const auto& k : all) std::printf("%s\n", k.c_str());
}

void clear(const command_line& c) {
  auto s = open(c);
  std::size_t n = s.count();
  s.clear();
  if (c.json) return print_json({{"uri", s.uri()}, {"entries", n}});
  std::printf("%s: removed %s\n", s.uri().c_str(),
              (std::to_string(n) + (n == 1 ? " entry" : " entries")).c_str());
}

void destroy(const command_line& c) {
  if (!dedup::shared_store::destroy(c.uri)) throw storage_error(c.uri, "no such store");
  if (c.json) return print_json({{"uri", c.uri}, {"destroyed", true}});
  std::printf("%s: destroyed\n", c.uri.c_str());
}

/// Adds the action `name` to `dedup store`: its URI and options, and `run` over them.
void add_action(CLI::App& store, const char* name, const char* what,
                void (*run)(const command_line&)) {
  auto c = std::make_shared<command_line>();
  CLI::App* sub = add_command(store, name, what, store_footer);
  sub->add_option("URI", c->uri, "the store: shm://name or redis://host:port/db")
      ->required()
      ->type_name("");
  sub->add_flag("--json", c->json, "print one JSON document instead of text (keys below)");
  sub->callback([c, run] { run(*c); });
}

}  // namespace

void add_store(CLI::App& app) {
  CLI::App* store = add_command(
      app, "store",
      "stats, keys, clear or destroy of a shared store (shm://name, redis://host:port/db)",
      store_footer);
  store->require_subcommand(1);
  add_action(*store, "stats", "entries, value bytes, capacity, evictions and refusals", stats);
  add_action(*store, "keys", "every key, one a line", keys);
  add_action(*store, "clear", "remove every entry", clear);
  add_action(*store, "destroy", "remove the store itself, whatever it holds (a damaged store too)",
             destroy);
}

}  // namespace dedup::cli
