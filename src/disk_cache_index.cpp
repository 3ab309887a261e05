// The SQLite index of a cache directory and its value files (see detail/disk_cache_index.hpp).
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "dedup/detail/disk_cache_index.hpp"
#include "dedup/disk_cache.hpp"
#include "disk_cache_files.hpp"
#include "disk_cache_sqlite.hpp"

namespace dedup::detail {

namespace fs = std::filesystem;

namespace {

constexpr std::int64_t application_id = 0x64656475;  // "dedu": tells our index from other files
constexpr std::int64_t schema_version = 1;

constexpr const char* schema = R"(
  CREATE TABLE IF NOT EXISTS entries (
    name TEXT NOT NULL, parameters_hash TEXT NOT NULL, minor INTEGER NOT NULL,
    version INTEGER NOT NULL, session TEXT NOT NULL, layout_fingerprint TEXT NOT NULL,
    size INTEGER NOT NULL, checksum TEXT NOT NULL, created INTEGER NOT NULL,
    last_access INTEGER NOT NULL, file TEXT, value BLOB,
    PRIMARY KEY (name, parameters_hash)) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entries_by_access ON entries (last_access);
  PRAGMA application_id = 1684366453;
  PRAGMA user_version = 1;)";

std::int64_t now() {
  return static_cast<std::int64_t>(std::time(nullptr));
}

std::int64_t pragma(sqlite3* db, const std::string& resource, const char* text) {
  sql::statement st(db, resource, text);
  return st.step() ? st.integer(0) : 0;
}

}  // namespace

struct disk_index::impl {
  index_settings s;
  cache_counters& counters;
  std::string resource;  // the location, for messages
  fs::path values, locks;
  sqlite3* db = nullptr;
  std::mutex mutex;  // one connection, one user at a time: transactions must not interleave

  impl(index_settings settings, cache_counters& c)
      : s(std::move(settings)),
        counters(c),
        resource(s.location.string()),
        values(s.location / "values"),
        locks(s.location / "locks") {}
  ~impl() { sqlite3_close_v2(db); }

  void check_directory();
  void open_database();
  void sweep();
  bool valid(const entry_id& id, sql::statement& row) const;
  void remove_row(const entry_id& id, std::string_view checksum);
  std::string row_key(const entry_id& id) const { return hex16(id.params); }
};

// A directory that holds anything but our own files is someone's data: never write into it.
void disk_index::impl::check_directory() {
  std::error_code ec;
  if (!fs::exists(s.location, ec)) {
    if (!s.create) throw storage_error(resource, "not a cache: the directory does not exist");
    fs::create_directories(s.location, ec);
    if (ec) throw storage_error(resource, "cannot create the cache directory: " + ec.message());
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
  if (ec) throw storage_error(resource, "cannot read the directory: " + ec.message());
}

void disk_index::impl::open_database() {
  fs::path file = s.location / "index.sqlite";
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (s.create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) sql::fail(db, rc, resource, "opening index.sqlite");
  sqlite3_busy_timeout(db, static_cast<int>(s.wait_timeout.count()));
  std::int64_t id = 0;
  try {
    id = pragma(db, resource, "PRAGMA application_id");
  } catch (const timeout_error&) {
    throw;
  } catch (const storage_error& e) {
    throw storage_error(resource,
                        std::string("not a cache: index.sqlite is not ours (") + e.what() + ")");
  }
  if (id == 0) {
    // New (or being made by another process at this moment): initialize under the write lock.
    sql::transaction tx(db, resource);
    std::int64_t tables = pragma(db, resource, "SELECT count(*) FROM sqlite_master");
    id = pragma(db, resource, "PRAGMA application_id");
    if (id == 0 && tables != 0)
      throw storage_error(resource, "not a cache: index.sqlite is another program's database");
    if (id == 0) sql::exec(db, resource, schema);
    tx.commit();
    id = application_id;
  }
  if (id != application_id)
    throw storage_error(resource, "not a cache: index.sqlite is another program's database");
  std::int64_t version = pragma(db, resource, "PRAGMA user_version");
  if (version != schema_version)
    throw storage_error(resource, "index schema " + std::to_string(version) +
                                      ", this dedup reads " + std::to_string(schema_version));
  // A read-only cache stays readable in its current mode; the first write reports the failure.
  sqlite3_exec(db, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
  sql::exec(db, resource, "PRAGMA synchronous=NORMAL");
}

// Under the write lock, so that no other process is between renaming a file and committing its row.
void disk_index::impl::sweep() {
  std::error_code ec;
  fs::create_directories(values, ec);
  fs::create_directories(locks, ec);
  sql::transaction tx(db, resource);
  std::set<std::string, std::less<>> referenced;
  sql::statement st(db, resource, "SELECT file FROM entries WHERE file IS NOT NULL");
  while (st.step()) referenced.emplace(st.text(0));
  for (const auto& e : fs::directory_iterator(values, ec)) {
    std::string name = e.path().filename().string();
    bool orphan =
        name.starts_with(".tmp.") ? !process_alive(tmp_file_pid(name)) : !referenced.contains(name);
    if (orphan) fs::remove(e.path(), ec);
  }
  tx.commit();
}

bool disk_index::impl::valid(const entry_id& id, sql::statement& row) const {
  // Columns: minor, version, session, layout_fingerprint (see load).
  if (row.integer(0) != id.minor || row.text(3) != hex16(id.fingerprint)) return false;
  if (id.minor >= 1) return row.integer(1) == s.version;
  if (id.minor == 0) return row.text(2) == s.session;
  return true;
}

// Removes the row only if it is still the one judged (another process may have replaced it).
void disk_index::impl::remove_row(const entry_id& id, std::string_view checksum) {
  std::string file;
  try {
    sql::transaction tx(db, resource);
    sql::statement get(
        db, resource, "SELECT file FROM entries WHERE name=? AND parameters_hash=? AND checksum=?");
    get.bind(1, id.name).bind(2, row_key(id)).bind(3, checksum);
    if (get.step() && !get.is_null(0)) file = get.text(0);
    sql::statement del(db, resource,
                       "DELETE FROM entries WHERE name=? AND parameters_hash=? AND checksum=?");
    del.bind(1, id.name).bind(2, row_key(id)).bind(3, checksum).step();
    tx.commit();
  } catch (const storage_error&) {
    return;  // a read-only cache: the entry stays, and is judged again next time
  }
  if (!file.empty()) remove_file(values / file);
}

disk_index::disk_index(index_settings settings, cache_counters& counters)
    : impl_(std::make_unique<impl>(std::move(settings), counters)) {
  impl_->check_directory();
  impl_->open_database();
  try {
    impl_->sweep();
  } catch (const timeout_error&) {
    throw;
  } catch (const storage_error&) {
    // A read-only cache: nothing can be swept, and reading needs no sweep.
  }
}

disk_index::~disk_index() = default;

const index_settings& disk_index::settings() const noexcept {
  return impl_->s;
}

std::optional<simdjson::padded_string> disk_index::load(const entry_id& id) {
  std::lock_guard lock(impl_->mutex);
  impl& m = *impl_;
  sql::statement row(m.db, m.resource,
                     "SELECT minor, version, session, layout_fingerprint, checksum, file, value, "
                     "size, last_access FROM entries WHERE name=? AND parameters_hash=?");
  row.bind(1, id.name).bind(2, m.row_key(id));
  if (!row.step()) return std::nullopt;
  std::string checksum(row.text(4));
  if (!m.valid(id, row)) {
    m.counters.stale.fetch_add(1, std::memory_order_relaxed);
    m.remove_row(id, checksum);
    return std::nullopt;
  }
  std::optional<simdjson::padded_string> bytes;
  auto size = static_cast<std::size_t>(row.integer(7));
  if (!row.is_null(5))
    bytes = read_file_padded(m.values / std::string(row.text(5)), size);
  else if (std::string_view v = row.blob(6); v.size() == size)
    bytes.emplace(v.data(), v.size());
  std::int64_t last_access = row.integer(8);
  if (!bytes || hex16(XXH3_64bits(bytes->data(), bytes->size())) != checksum) {
    m.counters.corrupt.fetch_add(1, std::memory_order_relaxed);
    m.remove_row(id, checksum);
    return std::nullopt;
  }
  // At most one write per entry and second: a hit is not a write every time.
  if (std::int64_t t = now(); last_access < t) {
    try {
      sql::statement touch(m.db, m.resource,
                           "UPDATE entries SET last_access=? WHERE name=? AND parameters_hash=?");
      touch.bind(1, t).bind(2, id.name).bind(3, m.row_key(id)).step();
    } catch (const storage_error&) {
      // A read-only or busy cache: the hit stands, the eviction order is a little older.
    }
  }
  return bytes;
}

void disk_index::store(const entry_id& id, std::string_view bytes) {
  impl& m = *impl_;
  std::string final_name;
  fs::path tmp;
  if (bytes.size() > m.s.inline_limit) {
    tmp = m.values / (".tmp." + std::to_string(::getpid()) + "." + hex16(random64()));
    write_file_synced(tmp, bytes, m.resource);
    final_name = hex16(XXH3_64bits_withSeed(id.name.data(), id.name.size(), id.params)) + "-" +
                 hex16(random64()) + ".json";
  }
  std::lock_guard lock(m.mutex);
  std::vector<std::string> unlink_after;
  std::uint64_t evicted = 0;
  try {
    sql::transaction tx(m.db, m.resource);
    sql::statement old(m.db, m.resource,
                       "SELECT file FROM entries WHERE name=? AND parameters_hash=?");
    old.bind(1, id.name).bind(2, m.row_key(id));
    if (old.step() && !old.is_null(0)) unlink_after.emplace_back(old.text(0));
    if (!tmp.empty()) {
      std::error_code ec;
      fs::rename(tmp, m.values / final_name, ec);
      if (ec) throw storage_error(m.resource, "cannot rename a value file: " + ec.message());
    }
    insert_row(id, bytes, final_name);
    evicted = evict(id, unlink_after);
    tx.commit();
  } catch (...) {
    if (!tmp.empty()) remove_file(tmp);
    if (!final_name.empty()) remove_file(m.values / final_name);
    throw;
  }
  for (const auto& f : unlink_after) remove_file(m.values / f);
  m.counters.stored.fetch_add(1, std::memory_order_relaxed);
  m.counters.evicted.fetch_add(evicted, std::memory_order_relaxed);
}

void disk_index::insert_row(const entry_id& id, std::string_view bytes, const std::string& file) {
  impl& m = *impl_;
  sql::statement ins(
      m.db, m.resource,
      "INSERT OR REPLACE INTO entries (name, parameters_hash, minor, version, session, "
      "layout_fingerprint, size, checksum, created, last_access, file, value) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  std::int64_t t = now();
  ins.bind(1, id.name).bind(2, m.row_key(id)).bind(3, std::int64_t{id.minor});
  ins.bind(4, std::int64_t{m.s.version}).bind(5, id.minor == 0 ? m.s.session : std::string());
  ins.bind(6, hex16(id.fingerprint)).bind(7, static_cast<std::int64_t>(bytes.size()));
  ins.bind(8, hex16(XXH3_64bits(bytes.data(), bytes.size()))).bind(9, t).bind(10, t);
  if (file.empty())
    ins.bind_null(11).bind_blob(12, bytes);
  else
    ins.bind(11, file).bind_null(12);
  ins.step();
}

// Least recently accessed first, never the entry just stored (a value larger than the limit
// alone stays, the only one).
std::uint64_t disk_index::evict(const entry_id& keep, std::vector<std::string>& files) {
  impl& m = *impl_;
  sql::statement total(m.db, m.resource, "SELECT coalesce(sum(size), 0) FROM entries");
  total.step();
  auto size = static_cast<std::uint64_t>(total.integer(0));
  if (size <= m.s.size_limit) return 0;
  sql::statement lru(m.db, m.resource,
                     "SELECT name, parameters_hash, size, file FROM entries "
                     "WHERE NOT (name=? AND parameters_hash=?) ORDER BY last_access, created");
  lru.bind(1, keep.name).bind(2, m.row_key(keep));
  std::vector<std::pair<std::string, std::string>> victims;
  while (size > m.s.size_limit && lru.step()) {
    victims.emplace_back(lru.text(0), lru.text(1));
    size -= std::min(size, static_cast<std::uint64_t>(lru.integer(2)));
    if (!lru.is_null(3)) files.emplace_back(lru.text(3));
  }
  sql::statement del(m.db, m.resource, "DELETE FROM entries WHERE name=? AND parameters_hash=?");
  for (const auto& [name, params] : victims) {
    sqlite3_reset(del.get());
    del.bind(1, name).bind(2, params).step();
  }
  return victims.size();
}

void disk_index::drop(const entry_id& id) {
  std::lock_guard lock(impl_->mutex);
  remove_where("name=? AND parameters_hash=?", id.name, impl_->row_key(id));
}

void disk_index::clear(std::string_view name) {
  std::lock_guard lock(impl_->mutex);
  remove_where("name=?", name, {});
}

void disk_index::clear_all() {
  std::lock_guard lock(impl_->mutex);
  remove_where("1", {}, {});
}

// Deletes the rows, commits, and only then removes their files: a crash in between leaves
// orphan files, which the next open sweeps, never a row without its file.
void disk_index::remove_where(const std::string& where, std::string_view a, std::string_view b) {
  impl& m = *impl_;
  std::vector<std::string> files;
  {
    sql::transaction tx(m.db, m.resource);
    sql::statement get(m.db, m.resource,
                       ("SELECT file FROM entries WHERE file IS NOT NULL AND " + where).c_str());
    sql::statement del(m.db, m.resource, ("DELETE FROM entries WHERE " + where).c_str());
    int n = sqlite3_bind_parameter_count(get.get());
    if (n >= 1) get.bind(1, a), del.bind(1, a);
    if (n >= 2) get.bind(2, b), del.bind(2, b);
    while (get.step()) files.emplace_back(get.text(0));
    del.step();
    tx.commit();
  }
  for (const auto& f : files) remove_file(m.values / f);
}

std::vector<disk_cache_entry> disk_index::entries() const {
  std::lock_guard lock(impl_->mutex);
  impl& m = *impl_;
  sql::statement st(m.db, m.resource,
                    "SELECT name, version, parameters_hash, layout_fingerprint, size, checksum, "
                    "created, last_access, file IS NOT NULL, minor, session FROM entries "
                    "ORDER BY name, parameters_hash");
  std::vector<disk_cache_entry> out;
  while (st.step()) {
    out.push_back({m.s.tag, std::string(st.text(0)), st.integer(1), std::string(st.text(2)),
                   std::string(st.text(3)), static_cast<std::uint64_t>(st.integer(4)),
                   std::string(st.text(5)), st.integer(6), st.integer(7), st.integer(8) != 0,
                   static_cast<int>(st.integer(9)), std::string(st.text(10))});
  }
  return out;
}

fs::path disk_index::file_of(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  impl& m = *impl_;
  sql::statement st(m.db, m.resource,
                    "SELECT file FROM entries WHERE name=? ORDER BY last_access DESC LIMIT 1");
  st.bind(1, name);
  if (!st.step()) return {};
  return st.is_null(0) ? m.s.location / "index.sqlite" : m.values / std::string(st.text(0));
}

flight_lock::~flight_lock() {
  ::close(fd_);
}  // closing the descriptor releases the flock

std::unique_ptr<flight_lock> disk_index::lock(const entry_id& id) {
  impl& m = *impl_;
  std::string key = hex16(XXH3_64bits_withSeed(id.name.data(), id.name.size(), id.params));
  fs::path path = m.locks / (key + ".lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    throw storage_error(m.resource, "cannot open " + path.string() + ": " + std::strerror(errno));
  auto lock = std::make_unique<flight_lock>(fd);
  auto deadline = std::chrono::steady_clock::now() + m.s.wait_timeout;
  auto pause = std::chrono::milliseconds(1);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw storage_error(m.resource, "cannot lock " + path.string() + ": " + std::strerror(errno));
    if (std::chrono::steady_clock::now() >= deadline)
      throw timeout_error(std::string(id.name),
                          "single flight: the entry's computation by another caller did not end "
                          "within " +
                              std::to_string(m.s.wait_timeout.count()) + " ms (" + m.resource +
                              ")");
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
  return lock;
}

std::vector<std::string> cache_tags(const fs::path& directory, std::string_view prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(directory, ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with(prefix) && fs::exists(e.path() / "index.sqlite", ec))
      out.push_back(name.substr(prefix.size()));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string fresh_session_id() {
  return std::to_string(::getpid()) + "-" + std::to_string(now()) + "-" + hex16(random64());
}

}  // namespace dedup::detail
