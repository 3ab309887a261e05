// Loads, stores, removals and listings of a cache directory's index and value files (see
// detail/cache/disk_cache_index.hpp; opening it is disk_cache_open.cpp).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include "dedup/disk_cache.hpp"
#include "disk_cache_impl.hpp"

namespace dedup::detail {

namespace fs = std::filesystem;

std::optional<stored_row> disk_index::impl::read_row(const entry_id& id) {
  sql::statement st(statements, db, resource,
                    "SELECT minor, version, session, layout_fingerprint, checksum, file, value, "
                    "size FROM entries WHERE name=? AND parameters_hash=?");
  st.bind(1, id.name).bind(2, row_key(id));
  if (!st.step()) return std::nullopt;
  stored_row row{st.integer(0),
                 st.integer(1),
                 std::string(st.text(2)),
                 std::string(st.text(3)),
                 std::string(st.text(4)),
                 static_cast<std::size_t>(st.integer(7)),
                 std::nullopt,
                 std::nullopt};
  if (!st.is_null(5))
    row.file.emplace(st.text(5));
  else if (std::string_view v = st.blob(6); v.size() == row.size)
    row.bytes.emplace(v.data(), v.size());
  return row;
}

bool disk_index::impl::valid(const entry_id& id, const stored_row& row) const {
  if (row.minor != id.minor || row.fingerprint != hex16(id.fingerprint)) return false;
  if (id.minor >= 1) return row.version == s.version;
  if (id.minor == 0) return row.session == s.session;
  return true;
}

// Removes the row only if it is still the one judged (another process may have replaced it).
void disk_index::impl::remove_row(const entry_id& id, std::string_view checksum) {
  if (read_only) return;  // the entry stays, and is judged again next time
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
    return;  // a failing cache: the entry is judged again next time
  } catch (const timeout_error&) {
    return;  // a busy one: likewise
  }
  if (!file.empty()) remove_file(values / file);
}

// A disk hit moves the entry to the end of the eviction order; later hits of this cache object
// come from the memory tier and write nothing. Hits are written in batches: a write transaction
// of its own made a hit of a small value cost three to four times as much.
void disk_index::impl::touch(const entry_id& id) {
  if (read_only || schema < 2) return;  // schema 1 has no access_seq until a store upgrades it
  auto now = std::chrono::steady_clock::now();
  if (hits.empty()) first_hit = now;
  hits.push_back({std::string(id.name), row_key(id), now_ms()});
  if (hits.size() >= hit_batch || now - first_hit >= hit_delay) write_hits(false);
}

void disk_index::impl::write_hits(bool in_transaction) {
  if (hits.empty()) return;
  struct forget {
    std::vector<hit>& hits;
    ~forget() { hits.clear(); }
  } written_once{hits};  // a failed batch is not retried
  auto write = [&] {
    for (const hit& h : hits) {
      sql::statement st(statements, db, resource,
                        "UPDATE entries SET last_access=?, access_seq=(SELECT "
                        "coalesce(max(access_seq), 0) + 1 FROM entries) WHERE name=? AND "
                        "parameters_hash=?");
      st.bind(1, h.at_ms).bind(2, h.name).bind(3, h.row_key).step();
    }
  };
  if (in_transaction) return write();
  try {
    sql::transaction tx(statements, db, resource);
    write();
    tx.commit();
  } catch (const storage_error&) {
    // A failing cache: the hits stand, the eviction order is a little older.
  } catch (const timeout_error&) {
    // A busy one: likewise.
  }
}

// The row is read under the connection's mutex, its file and checksum outside it: threads that
// load large values read them at once, and a local copy's store does not wait for a read.
std::optional<simdjson::padded_string> disk_index::load(const entry_id& id) {
  file_size_signal_guard guard;
  impl& m = *impl_;
  // A writer replaces a row and unlinks its old file without waiting for readers: bytes that fail
  // under a row that changed meanwhile were the old value's, and the row is read again. Only a
  // row that stayed the same with bad bytes is corrupt.
  for (int attempt = 0; attempt < 16; ++attempt) {
    std::optional<stored_row> row;
    {
      std::lock_guard lock(m.mutex);
      row = m.read_row(id);
      if (!row) return std::nullopt;
      if (!m.valid(id, *row)) {
        m.counters.stale.fetch_add(1, std::memory_order_relaxed);
        m.remove_row(id, row->checksum);
        return std::nullopt;
      }
    }
    auto& bytes = row->bytes;
    if (row->file) bytes = read_file_padded(m.values / *row->file, row->size);
    bool intact = bytes && hex16(XXH3_64bits(bytes->data(), bytes->size())) == row->checksum;
    std::lock_guard lock(m.mutex);
    if (intact) {
      m.touch(id);
      return std::move(bytes);
    }
    std::optional<stored_row> now = m.read_row(id);
    if (now && now->checksum == row->checksum && now->file == row->file) {
      m.counters.corrupt.fetch_add(1, std::memory_order_relaxed);
      m.remove_row(id, row->checksum);
      return std::nullopt;
    }
  }
  return std::nullopt;  // rewritten faster than it could be read: a miss, not a corruption
}

void disk_index::store(const entry_id& id, std::string_view bytes, bool durable,
                       std::string_view known_checksum) {
  impl& m = *impl_;
  file_size_signal_guard guard;
  {
    std::lock_guard lock(m.mutex);
    m.prepare_to_write();
  }
  std::string final_name;
  fs::path tmp;
  if (bytes.size() > m.s.inline_limit) {
    tmp = m.values / (".tmp." + std::to_string(::getpid()) + "." + hex16(random64()));
    write_file_synced(tmp, bytes, m.resource, durable);
    final_name = hex16(XXH3_64bits_withSeed(id.name.data(), id.name.size(), id.params)) + "-" +
                 hex16(random64()) + ".json";
  }
  std::string checksum = known_checksum.empty() ? hex16(XXH3_64bits(bytes.data(), bytes.size()))
                                                : std::string(known_checksum);
  std::lock_guard lock(m.mutex);
  std::vector<std::string> unlink_after;
  std::uint64_t evicted = 0;
  try {
    sql::transaction tx(m.statements, m.db, m.resource);
    m.write_hits(true);  // the eviction below sees this object's hits
    sql::statement old(m.statements, m.db, m.resource,
                       "SELECT file FROM entries WHERE name=? AND parameters_hash=?");
    old.bind(1, id.name).bind(2, m.row_key(id));
    if (old.step() && !old.is_null(0)) unlink_after.emplace_back(old.text(0));
    if (!tmp.empty()) {
      std::error_code ec;
      fs::rename(tmp, m.values / final_name, ec);
      if (ec) throw storage_error(m.resource, "cannot rename a value file: " + ec.message(), ec);
    }
    insert_row(id, bytes, checksum, final_name);
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

void disk_index::insert_row(const entry_id& id, std::string_view bytes, const std::string& checksum,
                            const std::string& file) {
  impl& m = *impl_;
  sql::statement ins(
      m.statements, m.db, m.resource,
      "INSERT OR REPLACE INTO entries (name, parameters_hash, minor, version, session, "
      "layout_fingerprint, size, checksum, created, last_access, file, value, access_seq) "
      "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
      "(SELECT coalesce(max(access_seq), 0) + 1 FROM entries))");
  std::int64_t t = now_ms();
  ins.bind(1, id.name).bind(2, m.row_key(id)).bind(3, std::int64_t{id.minor});
  ins.bind(4, std::int64_t{m.s.version}).bind(5, id.minor == 0 ? m.s.session : std::string());
  ins.bind(6, hex16(id.fingerprint)).bind(7, static_cast<std::int64_t>(bytes.size()));
  ins.bind(8, checksum).bind(9, t).bind(10, t);
  if (file.empty())
    ins.bind_null(11).bind_blob(12, bytes);
  else
    ins.bind(11, file).bind_null(12);
  ins.step();
}

// Least recently stored or hit first (then, for rows of schema 1, by their access time), never the
// entry just stored (a value larger than the limit alone stays, the only one).
std::uint64_t disk_index::evict(const entry_id& keep, std::vector<std::string>& files) {
  impl& m = *impl_;
  sql::statement total(m.statements, m.db, m.resource, "SELECT bytes FROM totals");
  total.step();
  auto size = static_cast<std::uint64_t>(total.integer(0));
  if (size <= m.s.size_limit) return 0;
  sql::statement lru(m.db, m.resource,
                     "SELECT name, parameters_hash, size, file FROM entries "
                     "WHERE NOT (name=? AND parameters_hash=?) ORDER BY access_seq, last_access");
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
  if (impl_->read_only) return;  // the entry stays, and is judged again next time
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
// orphan files, which the next writer sweeps, never a row without its file.
void disk_index::remove_where(const std::string& where, std::string_view a, std::string_view b) {
  impl& m = *impl_;
  file_size_signal_guard guard;
  m.prepare_to_write();
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
  m.write_hits(false);
  sql::statement st(m.db, m.resource,
                    "SELECT name, version, parameters_hash, layout_fingerprint, size, checksum, "
                    "created, last_access, file IS NOT NULL, minor, session FROM entries "
                    "ORDER BY name, parameters_hash");
  std::vector<disk_cache_entry> out;
  while (st.step()) {
    out.push_back({m.s.tag, std::string(st.text(0)), st.integer(1), std::string(st.text(2)),
                   std::string(st.text(3)), static_cast<std::uint64_t>(st.integer(4)),
                   std::string(st.text(5)), st.integer(6) / 1000, st.integer(7) / 1000,
                   st.integer(8) != 0, static_cast<int>(st.integer(9)), std::string(st.text(10))});
  }
  return out;
}

fs::path disk_index::file_of(std::string_view name) const {
  std::lock_guard lock(impl_->mutex);
  impl& m = *impl_;
  m.write_hits(false);
  sql::statement st(m.db, m.resource,
                    "SELECT file FROM entries WHERE name=? ORDER BY last_access DESC LIMIT 1");
  st.bind(1, name);
  if (!st.step()) return {};
  return st.is_null(0) ? m.s.location / "index.sqlite" : m.values / std::string(st.text(0));
}

flight_lock::~flight_lock() {
  if (release_) release_();
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

std::unique_ptr<flight_lock> disk_index::lock(const entry_id& id) {
  impl& m = *impl_;
  if (m.read_only) return nullptr;  // nothing will be stored: each caller computes its own
  std::string key = hex16(XXH3_64bits_withSeed(id.name.data(), id.name.size(), id.params));
  fs::path path = m.locks / (key + ".lock");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {  // a cache made before locks/ existed, not yet written to
    std::error_code ignored;
    fs::create_directories(m.locks, ignored);
    fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  }
  if (fd < 0) throw system_failure(m.resource, "cannot open " + path.string(), errno);
  auto lock = std::make_unique<flight_lock>(fd);
  auto deadline = std::chrono::steady_clock::now() + m.s.wait_timeout;
  auto pause = std::chrono::milliseconds(1);
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR)
      throw system_failure(m.resource, "cannot lock " + path.string(), errno);
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

}  // namespace dedup::detail
