// Opening a cache directory's index (see detail/cache/disk_cache_index.hpp): the directory checks,
// the schema, the read-only fallback, what a first write prepares, and the listing of caches.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <set>

#include "dedup/disk_cache.hpp"
#include "disk_cache_impl.hpp"

namespace dedup::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t application_id = 0x64656475;  // "dedu": tells our index from other files
constexpr std::int64_t schema_version = 3;

// Version 2 orders eviction by access_seq, a counter every store and disk hit advances (clock
// times can tie or step back), and records the prefix and tag a cache was made with in `meta`.
constexpr const char* schema_text = R"(
  CREATE TABLE IF NOT EXISTS entries (
    name TEXT NOT NULL, parameters_hash TEXT NOT NULL, minor INTEGER NOT NULL,
    version INTEGER NOT NULL, session TEXT NOT NULL, layout_fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL, checksum TEXT NOT NULL, created INTEGER NOT NULL,
    last_access INTEGER NOT NULL, file TEXT, value BLOB, access_seq INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, parameters_hash)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entries_by_seq ON entries (access_seq);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  PRAGMA application_id = 1684366453;
  PRAGMA user_version = 2;)";

constexpr const char* upgrade_from_1 = R"(
  ALTER TABLE entries ADD COLUMN access_seq INTEGER NOT NULL DEFAULT 0;
  DROP INDEX IF EXISTS entries_by_access;
  CREATE INDEX IF NOT EXISTS entries_by_seq ON entries (access_seq);
  CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  PRAGMA user_version = 2;)";

// Version 3 keeps the values' total size in `totals`, which triggers maintain through every change
// to `entries`, whichever process or statement makes it: a store then reads one row where it
// summed the whole table. A REPLACE's implicit deletion fires no delete trigger (recursive
// triggers are off), so the insert trigger takes away the size of a row it replaces.
constexpr const char* upgrade_from_2 = R"(
  CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 0), bytes INTEGER NOT NULL);
  INSERT OR IGNORE INTO totals VALUES (0, (SELECT coalesce(sum(size), 0) FROM entries));
  CREATE TRIGGER IF NOT EXISTS entries_replacing BEFORE INSERT ON entries BEGIN
    UPDATE totals SET bytes = bytes - coalesce((SELECT size FROM entries
      WHERE name = NEW.name AND parameters_hash = NEW.parameters_hash), 0);
  END;
  CREATE TRIGGER IF NOT EXISTS entries_inserted AFTER INSERT ON entries BEGIN
    UPDATE totals SET bytes = bytes + NEW.size;
  END;
  CREATE TRIGGER IF NOT EXISTS entries_deleted AFTER DELETE ON entries BEGIN
    UPDATE totals SET bytes = bytes - OLD.size;
  END;
  CREATE TRIGGER IF NOT EXISTS entries_resized AFTER UPDATE OF size ON entries BEGIN
    UPDATE totals SET bytes = bytes - OLD.size + NEW.size;
  END;
  PRAGMA user_version = 3;)";

std::int64_t pragma(sqlite3* db, const std::string& resource, const char* text) {
  sql::statement st(db, resource, text);
  return st.step() ? st.integer(0) : 0;
}

// A URI names the file for SQLite's read-only parameters; every byte but the unreserved ones is
// percent-encoded so that '?', '#' or '%' in a path stay part of it.
std::string file_uri(const fs::path& file, const char* query) {
  std::string out = "file:";
  for (unsigned char c : file.string()) {
    if (std::isalnum(c) || c == '/' || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out + "?" + query;
}

bool writable(const fs::path& p) {
  return ::access(p.c_str(), W_OK) == 0;
}

}  // namespace

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// A directory that holds anything but our own files is someone's data: never write into it.
void disk_index::impl::check_directory() {
  std::error_code ec;
  if (!fs::exists(s.location, ec)) {
    if (!s.create) throw storage_error(resource, "not a cache: the directory does not exist");
    fs::create_directories(s.location, ec);
    if (ec) throw storage_error(resource, "cannot create the cache directory: " + ec.message(), ec);
    return;
  }
  if (!fs::is_directory(s.location, ec))
    throw storage_error(resource, "not a cache: not a directory");
  if (fs::exists(s.location / "index.sqlite", ec)) return;
  if (!s.create) throw storage_error(resource, "not a cache: no index.sqlite");
  for (const auto& e : fs::directory_iterator(s.location, ec)) {
    std::string name = e.path().filename().string();
    if (name != "values" && name != "locks" && !name.starts_with("index.sqlite"))
      throw storage_error(resource, "not a cache: it holds other files (" + name +
                                        ") and no index.sqlite; refusing to write into it");
  }
  if (ec) throw storage_error(resource, "cannot read the directory: " + ec.message(), ec);
}

void disk_index::impl::open(const std::string& name, int flags) {
  statements.clear();
  sqlite3_close_v2(db);
  db = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) sql::fail(db, rc, resource, "opening index.sqlite");
  sqlite3_busy_timeout(db, static_cast<int>(s.wait_timeout.count()));
}

// A directory or index this process may not write (another account's, a read-only mount) is
// read as it is. Without a writer's -shm file to share, SQLite cannot read a WAL index in a
// directory it may not write to but as an immutable file, which it then is for this reader.
void disk_index::impl::open_database() {
  fs::path file = s.location / "index.sqlite";
  std::error_code ec;
  bool exists = fs::exists(file, ec);
  if (writable(s.location) && (!exists || writable(file))) {
    open(file.string(), SQLITE_OPEN_READWRITE | (s.create ? SQLITE_OPEN_CREATE : 0));
    check_ours();
    // Another process may hold the index busy: it is in WAL mode already, or the first write says.
    sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
    sql::exec(db, resource, "PRAGMA synchronous=NORMAL");
    sql::exec(db, resource, "PRAGMA recursive_triggers=OFF");  // as `totals` expects
    return;
  }
  if (!exists)
    throw storage_error(resource, "cannot create index.sqlite: the directory is read-only");
  read_only = true;
  try {
    open(file_uri(file, "mode=ro"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    check_ours();
  } catch (const storage_error&) {  // a timeout_error is not one: it passes
    open(file_uri(file, "mode=ro&immutable=1"), SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
    check_ours();
  }
}

void disk_index::impl::check_ours() {
  std::int64_t id = 0;
  try {
    id = pragma(db, resource, "PRAGMA application_id");
  } catch (const storage_error& e) {  // a timeout_error is not one: it passes
    throw storage_error(resource, "not a cache: index.sqlite is not ours (" + e.detail() + ")",
                        e.code());
  }
  if (id == 0 && !read_only && s.create) {  // opening an existing cache writes nothing
    initialize();
    id = application_id;
  }
  if (id != application_id)
    throw storage_error(resource, "not a cache: index.sqlite is another program's database");
  schema = pragma(db, resource, "PRAGMA user_version");
  if (schema < 1 || schema > schema_version)
    throw storage_error(resource, "index schema " + std::to_string(schema) +
                                      ", this dedup reads 1 to " + std::to_string(schema_version));
}

// New (or being made by another process at this moment): initialized under the write lock.
void disk_index::impl::initialize() {
  file_size_signal_guard guard;
  sql::transaction tx(db, resource);
  std::int64_t tables = pragma(db, resource, "SELECT count(*) FROM sqlite_master");
  std::int64_t id = pragma(db, resource, "PRAGMA application_id");
  if (id == 0 && tables != 0)
    throw storage_error(resource, "not a cache: index.sqlite is another program's database");
  if (id == 0) {
    sql::exec(db, resource, schema_text);
    sql::exec(db, resource, upgrade_from_2);
    sql::statement meta(db, resource,
                        "INSERT OR IGNORE INTO meta VALUES ('prefix', ?), ('tag', ?)");
    meta.bind(1, s.prefix).bind(2, s.tag).step();
  }
  tx.commit();
}

std::size_t disk_index::impl::prepare_to_write() {
  if (read_only)
    throw storage_error(
        resource, "read-only cache: this process may not write its directory or index.sqlite");
  if (prepared) return 0;
  std::error_code ec;
  fs::create_directories(values, ec);
  fs::create_directories(locks, ec);
  if (schema < schema_version) {
    sql::transaction tx(db, resource);
    std::int64_t found = pragma(db, resource, "PRAGMA user_version");
    if (found == 1) {
      sql::exec(db, resource, upgrade_from_1);
      sql::statement meta(db, resource,
                          "INSERT OR IGNORE INTO meta VALUES ('prefix', ?), ('tag', ?)");
      meta.bind(1, s.prefix).bind(2, s.tag).step();
    }
    if (found <= 2) sql::exec(db, resource, upgrade_from_2);
    tx.commit();
    schema = schema_version;
  }
  std::size_t swept = sweep_files();
  prepared = true;
  return swept;
}

// Under the write lock, so that no other process is between renaming a file and committing its row.
std::size_t disk_index::impl::sweep_files() {
  std::error_code ec;
  sql::transaction tx(db, resource);
  std::set<std::string, std::less<>> referenced;
  sql::statement st(db, resource, "SELECT file FROM entries WHERE file IS NOT NULL");
  while (st.step()) referenced.emplace(st.text(0));
  std::size_t removed = 0;
  for (const auto& e : fs::directory_iterator(values, ec)) {
    std::string name = e.path().filename().string();
    bool orphan =
        name.starts_with(".tmp.") ? !process_alive(tmp_file_pid(name)) : !referenced.contains(name);
    if (orphan && fs::remove(e.path(), ec)) ++removed;
  }
  tx.commit();
  return removed;
}

disk_index::disk_index(index_settings settings, cache_counters& counters)
    : impl_(std::make_unique<impl>(std::move(settings), counters)) {
  impl_->check_directory();
  impl_->open_database();
}

disk_index::~disk_index() {
  std::lock_guard lock(impl_->mutex);
  try {
    impl_->write_hits(false);  // failures of the index are caught there; this is anything else
  } catch (...) {
    // The hits are lost: the eviction order is a little older, nothing else.
  }
}

const index_settings& disk_index::settings() const noexcept {
  return impl_->s;
}

bool disk_index::read_only() const noexcept {
  return impl_->read_only;
}

std::string disk_index::recorded_prefix() const {
  std::lock_guard lock(impl_->mutex);
  impl& m = *impl_;
  if (m.schema < 2) return {};
  sql::statement st(m.db, m.resource, "SELECT value FROM meta WHERE key='prefix'");
  return st.step() ? std::string(st.text(0)) : std::string();
}

std::size_t disk_index::sweep() {
  std::lock_guard lock(impl_->mutex);
  file_size_signal_guard guard;
  return impl_->prepared ? impl_->sweep_files() : impl_->prepare_to_write();
}

namespace {

// Whether the cache at `location` records a prefix other than `prefix` ("cache2" seen as prefix
// "cache" and tag "2..."). One that cannot be opened is listed: opening it will say why.
bool made_with_other_prefix(const fs::path& location, std::string_view prefix) {
  cache_counters ignored;
  try {
    index_settings settings{location, std::string(prefix),     {},   1, {}, 0,
                            0,        std::chrono::seconds(5), false};
    std::string recorded = disk_index(std::move(settings), ignored).recorded_prefix();
    return !recorded.empty() && recorded != prefix;
  } catch (const storage_error&) {
    return false;
  } catch (const timeout_error&) {
    return false;
  }
}

}  // namespace

std::vector<std::string> cache_tags(const fs::path& directory, std::string_view prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory, ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && fs::exists(e.path() / "index.sqlite", ec) &&
        !made_with_other_prefix(e.path(), prefix))
      out.push_back(name.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string fresh_session_id() {
  return std::to_string(::getpid()) + "-" + std::to_string(now_ms() / 1000) + "-" +
         hex16(random64());
}

}  // namespace dedup::detail
