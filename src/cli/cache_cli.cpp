// `dedup cache ls|stats|clear|gc DIR`: looks at the persistent caches (dedup::disk_cache) under a
// directory without knowing the types of their values, as arte's and scistag's users look at
// their cache directories by hand; `--remote URL` looks at a remote tier instead.
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <simdjson.h>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "dedup/disk_cache.hpp"

namespace dedup::cli {
namespace {

constexpr const char* cache_footer =
    R"(Looks at the persistent caches (dedup::disk_cache) under DIR: each lives in
DIR/<prefix><tag>. ls and stats change nothing, and read a cache this user may not write (another
account's, a read-only mount). A DIR that does not exist or holds no cache (or no cache of tag T) is
an error: exit status 1.

--json prints one JSON document instead of a table:
  ls:    {"directory", "prefix", "caches": [{"tag", "location", "entries": [{"tag", "name",
         "version", "minor", "session", "parameters_hash", "layout_fingerprint", "size",
         "checksum", "in_file", "created", "last_access"}]}]}   (times in unix seconds; a name
         that is not UTF-8 is given escaped as in the table, its bytes in hex as "name_hex")
  stats: {"directory", "prefix", "entries", "bytes", "caches": [{"tag", "entries", "bytes",
         "inline_entries", "inline_bytes", "file_entries", "file_bytes"}]}
  clear: {"directory", "prefix", "entries", "bytes", "caches": [{"tag", "entries", "bytes"}]}
         (what was removed)
  gc:    {"directory", "prefix", "files", "caches": [{"tag", "files"}]}

--remote URL (ls, stats, clear) acts on the remote tier at URL (redis://host:port/db) instead of
DIR: its entries of the prefix (of tag T), never a local directory. A server that cannot be reached
is an error: exit status 1. stats adds the figures that the caches of each tag added to the tier
when their cache objects were destroyed: remote hits, misses, errors, bytes read and written, and
values computed. With --json, "remote" (the URL) stands for "directory", ls's caches have no
"location", stats's caches give "entries", "bytes", "remote_hits", "remote_misses",
"remote_errors", "remote_bytes_read", "remote_bytes_written" and "computed".)";

/// The command line of a `dedup cache` action.
struct command_line {
  std::string dir, prefix = "cache";
  std::optional<std::string> tag, remote;
  bool json = false;
};

/// The caches the command is about, opened; a storage_error when there are none.
std::vector<std::unique_ptr<disk_cache>> open_caches(const command_line& c) {
  std::filesystem::path dir{c.dir};
  if (!std::filesystem::is_directory(dir))
    throw storage_error(dir.string(),
                        std::filesystem::exists(dir) ? "not a directory" : "no such directory");
  std::vector<std::string> tags;
  if (c.tag)
    tags.push_back(*c.tag);
  else
    tags = disk_cache::tags(dir, c.prefix);
  if (tags.empty())
    throw storage_error(dir.string(), "holds no cache with prefix '" + c.prefix + "'");
  std::vector<std::unique_ptr<disk_cache>> out;
  for (auto& tag : tags) out.push_back(disk_cache::open_existing(dir, c.prefix, tag));
  return out;
}

/// `text` as one line of valid UTF-8: control bytes and bytes that are not UTF-8 as \xNN, a
/// backslash doubled, so that every stored name shows whole and distinct.
std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t n = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : 4;
    if (c >= 0x80 && (c < 0xc2 || c > 0xf4 || i + n > text.size() ||
                      !simdjson::validate_utf8(text.data() + i, n)))
      n = 0;  // not the start of a whole UTF-8 character
    if (n == 0 || c < 0x20 || c == 0x7f) {
      char buf[5];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
      ++i;
      continue;
    }
    if (c == '\\') out += '\\';
    out.append(text.substr(i, n));
    i += n;
  }
  return out;
}

bool is_utf8(std::string_view text) {
  return simdjson::validate_utf8(text.data(), text.size());
}

std::string hex(std::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    char two[3];
    std::snprintf(two, sizeof two, "%02x", c);
    out += two;
  }
  return out;
}

/// Text for a JSON string: itself when it is UTF-8 (JSON escapes its control bytes), else escaped.
std::string json_text(std::string_view text) {
  return is_utf8(text) ? std::string(text) : printable(text);
}

std::string entries_text(std::uint64_t n) {
  return std::to_string(n) + (n == 1 ? " entry" : " entries");
}

std::string utc(std::int64_t unix_seconds) {
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string version_text(const disk_cache_entry& e) {
  if (e.minor == 0) return std::to_string(e.version) + ".s";
  return std::to_string(e.version) + "." + std::to_string(e.minor);
}

nlohmann::ordered_json entry_json(const disk_cache_entry& e) {
  nlohmann::ordered_json out = {{"tag", json_text(e.tag)},
                                {"name", json_text(e.name)},
                                {"version", e.version},
                                {"minor", e.minor},
                                {"session", e.session},
                                {"parameters_hash", e.parameters_hash},
                                {"layout_fingerprint", e.layout_fingerprint},
                                {"size", e.size},
                                {"checksum", e.checksum},
                                {"in_file", e.in_file},
                                {"created", e.created},
                                {"last_access", e.last_access}};
  if (!is_utf8(e.name)) out["name_hex"] = hex(e.name);
  return out;
}

nlohmann::ordered_json document(const command_line& c) {
  if (c.remote) return {{"remote", json_text(*c.remote)}, {"prefix", json_text(c.prefix)}};
  return {{"directory", json_text(c.dir)}, {"prefix", json_text(c.prefix)}};
}

// The document of an action that ends with totals: they come before the list of caches, so they
// are set to 0 here and filled in by finish_totals.
nlohmann::ordered_json totals_document(const command_line& c) {
  nlohmann::ordered_json out = document(c);
  out["entries"] = 0;
  out["bytes"] = 0;
  out["caches"] = nlohmann::ordered_json::array();
  return out;
}

/// The end of an action: its JSON document, or its one summary line.
void finish(const command_line& c, const nlohmann::ordered_json& out, const std::string& line) {
  if (c.json)
    print_json(out);
  else
    std::printf("%s\n", line.c_str());
}

/// The remote tier's tags the command is about; a storage_error when there are none.
std::vector<disk_cache_remote_tag> remote_tags(const command_line& c) {
  auto tags = disk_cache::remote_tags(*c.remote, c.prefix, c.tag);
  if (tags.empty())
    throw storage_error(*c.remote, "holds no cache with prefix '" + c.prefix + "'" +
                                       (c.tag ? " and tag '" + *c.tag + "'" : ""));
  return tags;
}

void print_entry(const disk_cache_entry& e, const char* where) {
  std::printf("%-24s %-28s %8s %12llu %-6s %-19s  %-19s\n", printable(e.tag).c_str(),
              printable(e.name).c_str(), version_text(e).c_str(),
              static_cast<unsigned long long>(e.size), where, utc(e.created).c_str(),
              e.last_access ? utc(e.last_access).c_str() : "-");
}

void list_header() {
  std::printf("%-24s %-28s %8s %12s %-6s %-19s  %-19s\n", "tag", "name", "version", "bytes",
              "where", "created", "last access");
}

void list_remote(const command_line& c) {
  auto tags = remote_tags(c);
  nlohmann::ordered_json out = document(c);
  out["caches"] = nlohmann::ordered_json::array();
  if (!c.json) list_header();
  for (auto& t : tags) {
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    for (auto& e : t.entries) {
      if (c.json)
        entries.push_back(entry_json(e));
      else
        print_entry(e, "remote");
    }
    out["caches"].push_back({{"tag", json_text(t.tag)}, {"entries", entries}});
  }
  if (c.json) print_json(out);
}

void list(const command_line& c) {
  if (c.remote) return list_remote(c);
  auto caches = open_caches(c);
  nlohmann::ordered_json out = document(c);
  out["caches"] = nlohmann::ordered_json::array();
  if (!c.json) list_header();
  for (auto& cache : caches) {
    nlohmann::ordered_json entries = nlohmann::ordered_json::array();
    for (auto& e : cache->entries()) {
      if (c.json) {
        entries.push_back(entry_json(e));
        continue;
      }
      print_entry(e, e.in_file ? "file" : "inline");
    }
    if (c.json)
      out["caches"].push_back({{"tag", json_text(cache->tag())},
                               {"location", json_text(cache->location().string())},
                               {"entries", entries}});
  }
  if (c.json) print_json(out);
}

struct totals {
  std::uint64_t entries = 0, bytes = 0, inline_entries = 0, inline_bytes = 0, file_entries = 0,
                file_bytes = 0;
  void add(const disk_cache_entry& e) {
    ++entries;
    bytes += e.size;
    (e.in_file ? file_entries : inline_entries) += 1;
    (e.in_file ? file_bytes : inline_bytes) += e.size;
  }
};

// The end of stats and clear: the totals into the document, or the line "[cleared ]N entries,
// B bytes in K caches".
void finish_totals(const command_line& c, nlohmann::ordered_json& out, const totals& all,
                   const std::string& verb, std::size_t caches) {
  out["entries"] = all.entries;
  out["bytes"] = all.bytes;
  finish(c, out,
         verb + entries_text(all.entries) + (verb.empty() ? ", " : " (") +
             std::to_string(all.bytes) + " bytes" + (verb.empty() ? " in " : ") from ") +
             plural(caches, "cache"));
}

void stats_remote(const command_line& c) {
  auto tags = remote_tags(c);
  nlohmann::ordered_json out = totals_document(c);
  totals all;
  if (!c.json)
    std::printf("%-24s %8s %14s %8s %8s %8s %14s %14s %8s\n", "tag", "entries", "bytes", "hits",
                "misses", "errors", "bytes read", "bytes written", "computed");
  for (auto& t : tags) {
    totals n;
    for (auto& e : t.entries) n.add(e), all.add(e);
    const disk_cache_stats& f = t.figures;
    if (c.json)
      out["caches"].push_back({{"tag", json_text(t.tag)},
                               {"entries", n.entries},
                               {"bytes", n.bytes},
                               {"remote_hits", f.remote_hits},
                               {"remote_misses", f.remote_misses},
                               {"remote_errors", f.remote_errors},
                               {"remote_bytes_read", f.remote_bytes_read},
                               {"remote_bytes_written", f.remote_bytes_written},
                               {"computed", f.computed}});
    else
      std::printf("%-24s %8llu %14llu %8llu %8llu %8llu %14llu %14llu %8llu\n",
                  printable(t.tag).c_str(), static_cast<unsigned long long>(n.entries),
                  static_cast<unsigned long long>(n.bytes),
                  static_cast<unsigned long long>(f.remote_hits),
                  static_cast<unsigned long long>(f.remote_misses),
                  static_cast<unsigned long long>(f.remote_errors),
                  static_cast<unsigned long long>(f.remote_bytes_read),
                  static_cast<unsigned long long>(f.remote_bytes_written),
                  static_cast<unsigned long long>(f.computed));
  }
  finish_totals(c, out, all, "", tags.size());
}

void stats(const command_line& c) {
  if (c.remote) return stats_remote(c);
  auto caches = open_caches(c);
  nlohmann::ordered_json out = totals_document(c);
  totals all;
  if (!c.json)
    std::printf("%-24s %8s %14s %8s %14s %8s %14s\n", "tag", "entries", "bytes", "inline",
                "inline bytes", "files", "file bytes");
  for (auto& cache : caches) {
    totals t;
    for (auto& e : cache->entries()) t.add(e), all.add(e);
    if (c.json)
      out["caches"].push_back({{"tag", json_text(cache->tag())},
                               {"entries", t.entries},
                               {"bytes", t.bytes},
                               {"inline_entries", t.inline_entries},
                               {"inline_bytes", t.inline_bytes},
                               {"file_entries", t.file_entries},
                               {"file_bytes", t.file_bytes}});
    else
      std::printf("%-24s %8llu %14llu %8llu %14llu %8llu %14llu\n", printable(cache->tag()).c_str(),
                  static_cast<unsigned long long>(t.entries),
                  static_cast<unsigned long long>(t.bytes),
                  static_cast<unsigned long long>(t.inline_entries),
                  static_cast<unsigned long long>(t.inline_bytes),
                  static_cast<unsigned long long>(t.file_entries),
                  static_cast<unsigned long long>(t.file_bytes));
  }
  finish_totals(c, out, all, "", caches.size());
}

// Through the library rather than by removing directories, so that a process that has a cache
// open meanwhile sees a consistent (empty) index instead of files vanishing under it.
void clear(const command_line& c) {
  if (c.remote) {
    std::uint64_t n = disk_cache::clear_remote(*c.remote, c.prefix, c.tag);
    nlohmann::ordered_json out = document(c);
    out["entries"] = n;
    return finish(c, out, "cleared " + entries_text(n) + " from the remote tier");
  }
  auto caches = open_caches(c);
  nlohmann::ordered_json out = totals_document(c);
  totals all;
  for (auto& cache : caches) {
    totals t;
    for (auto& e : cache->entries()) t.add(e), all.add(e);
    cache->clear_tag();
    out["caches"].push_back(
        {{"tag", json_text(cache->tag())}, {"entries", t.entries}, {"bytes", t.bytes}});
  }
  finish_totals(c, out, all, "cleared ", caches.size());
}

// The sweep writers do on their first store, on demand: `ls` and `stats` never remove anything.
void gc(const command_line& c) {
  auto caches = open_caches(c);
  nlohmann::ordered_json out = document(c);
  out["files"] = 0;  // the total before the list, set below
  out["caches"] = nlohmann::ordered_json::array();
  std::size_t all = 0;
  for (auto& cache : caches) {
    std::size_t n = cache->sweep();
    all += n;
    out["caches"].push_back({{"tag", json_text(cache->tag())}, {"files", n}});
  }
  out["files"] = all;
  finish(c, out,
         "removed " + plural(all, "unreferenced file") + " from " + plural(caches.size(), "cache"));
}

/// Adds the action `name` to `dedup cache`: its DIR (or, with `remote`, --remote URL) and options,
/// and `run` over them.
void add_action(CLI::App& cache, const char* name, const char* what,
                void (*run)(const command_line&), bool remote = true) {
  auto c = std::make_shared<command_line>();
  CLI::App* sub = add_command(cache, name, what, cache_footer);
  CLI::Option* dir =
      sub->add_option("DIR", c->dir, "the directory that holds the caches")->type_name("");
  if (remote) {
    sub->add_option("--remote", c->remote, "the remote tier at URL instead of DIR")
        ->type_name("URL")
        ->excludes(dir);
  } else {
    dir->required();
  }
  sub->add_option("--tag", c->tag, "only the cache of tag T")->type_name("T");
  sub->add_option("--prefix", c->prefix, "the caches' prefix (default: cache)")->type_name("P");
  sub->add_flag("--json", c->json, "print one JSON document instead of a table (keys below)");
  sub->callback([c, run] {
    if (c->dir.empty() && !c->remote) throw CLI::RequiredError("DIR or --remote URL");
    run(*c);
  });
}

}  // namespace

void add_cache(CLI::App& app) {
  CLI::App* cache =
      add_command(app, "cache",
                  "list, count, clear or sweep the persistent caches (dedup::disk_cache) under DIR",
                  cache_footer);
  cache->require_subcommand(1);
  add_action(*cache, "ls",
             "every entry of every cache (or of tag T): tag, name, version (cache version and the\n"
             "entry's minor, \"s\" for a session-only one), size, where the value is (file or\n"
             "inline), created and last access (UTC); a name's control bytes, bytes that are\n"
             "not UTF-8 and backslashes are shown as \\xNN and \\\\",
             list);
  add_action(*cache, "stats", "entries and value bytes per tag, inline and in files, and in all",
             stats);
  add_action(*cache, "clear",
             "remove every entry of tag T's cache or, without --tag, of every cache under DIR\n"
             "with the prefix (the cache directories stay, empty, so processes that have them\n"
             "open carry on)",
             clear);
  add_action(*cache, "gc",
             "remove the files under values/ that no entry references (a writer killed between\n"
             "writing a value and committing it leaves one; the next writer removes them too)",
             gc, false);
}

}  // namespace dedup::cli
