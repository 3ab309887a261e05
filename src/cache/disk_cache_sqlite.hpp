// Thin RAII over the SQLite C API for the disk cache's index: statements, immediate
// transactions, and the one mapping of SQLite's result codes to dedup's storage errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "dedup/error.hpp"

namespace dedup::detail::sql {

/// Throws the storage_error for a failed SQLite call: a database still locked after the busy
/// timeout is a timeout_error, anything else (full disk, I/O error, read-only) a storage_error.
[[noreturn]] inline void fail(sqlite3* db, int rc, const std::string& resource,
                              std::string_view what) {
  std::string detail = std::string(what) + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  int primary = rc & 0xff;
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED)
    throw timeout_error(resource, detail + " (the index stayed locked for the whole wait_timeout)");
  throw storage_error(resource, detail);
}

/// The prepared statements of one connection, kept by their text for the next use: preparing
/// costs more than running the small queries of a hit or a store. Used under the connection's
/// mutex; cleared before the connection closes.
class statement_cache {
 public:
  statement_cache() = default;
  statement_cache(const statement_cache&) = delete;
  statement_cache& operator=(const statement_cache&) = delete;
  ~statement_cache() { clear(); }

  /// The kept statement of `text`, which the caller now holds, or nullptr (none kept yet, or the
  /// kept one is in use).
  sqlite3_stmt* take(std::string_view text) {
    auto it = kept_.find(text);
    if (it == kept_.end() || it->second.in_use) return nullptr;
    it->second.in_use = true;
    return it->second.stmt;
  }
  /// Gives `s` back, reset and its bindings cleared, for the next use of `text`. A statement
  /// prepared while the kept one was in use is finalized: one is enough.
  void keep(std::string_view text, sqlite3_stmt* s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    auto it = kept_.find(text);
    if (it == kept_.end())
      kept_.emplace(std::string(text), kept{s, false});
    else if (it->second.stmt == s)
      it->second.in_use = false;
    else
      sqlite3_finalize(s);
  }
  void clear() {
    for (auto& entry : kept_) sqlite3_finalize(entry.second.stmt);
    kept_.clear();
  }

 private:
  struct kept {
    sqlite3_stmt* stmt;
    bool in_use;
  };
  std::map<std::string, kept, std::less<>> kept_;  // the key is only built on first use
};

/// A prepared statement, finalized on destruction (or, taken from a statement_cache, given back
/// to it); binds are 1-based as in SQLite.
class statement {
 public:
  statement(sqlite3* db, const std::string& resource, const char* text)
      : db_(db), resource_(resource) {
    prepare(text);
  }
  statement(statement_cache& cache, sqlite3* db, const std::string& resource, const char* text)
      : db_(db), resource_(resource), cache_(&cache), text_(text), stmt_(cache.take(text)) {
    if (!stmt_) prepare(text);
  }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() {
    if (cache_ && stmt_)
      cache_->keep(text_, stmt_);
    else
      sqlite3_finalize(stmt_);
  }

  statement& bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  statement& bind_blob(int i, std::string_view bytes) {
    sqlite3_bind_blob64(stmt_, i, bytes.data(), bytes.size(), SQLITE_TRANSIENT);
    return *this;
  }
  statement& bind_null(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  /// Steps once: true while a row is there, false when done.
  bool step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(db_, rc, resource_, "querying the index");
  }
  sqlite3_stmt* get() const noexcept { return stmt_; }
  std::int64_t integer(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  std::string_view text(int col) const {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }
  std::string_view blob(int col) const {
    auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string_view();
  }

 private:
  void prepare(const char* text) {
    int rc = sqlite3_prepare_v2(db_, text, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db_, rc, resource_, "preparing a query of the index");
  }

  sqlite3* db_;
  const std::string& resource_;
  statement_cache* cache_ = nullptr;
  const char* text_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Runs SQL without results.
inline void exec(sqlite3* db, const std::string& resource, const char* text) {
  int rc = sqlite3_exec(db, text, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, resource, std::string("running ") + text);
}

/// BEGIN IMMEDIATE (the write lock taken up front, so a transaction never fails half-way on a
/// lock upgrade), rolled back on destruction unless committed. Given a statement_cache, its BEGIN
/// and COMMIT are kept prepared there.
class transaction {
 public:
  transaction(sqlite3* db, const std::string& resource) : db_(db), resource_(resource) {
    exec(db, resource, "BEGIN IMMEDIATE");
  }
  transaction(statement_cache& cache, sqlite3* db, const std::string& resource)
      : db_(db), resource_(resource), cache_(&cache) {
    statement(cache, db, resource, "BEGIN IMMEDIATE").step();
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    if (cache_)
      statement(*cache_, db_, resource_, "COMMIT").step();
    else
      exec(db_, resource_, "COMMIT");
    open_ = false;
  }

 private:
  sqlite3* db_;
  const std::string& resource_;
  statement_cache* cache_ = nullptr;
  bool open_ = true;
};

}  // namespace dedup::detail::sql
