// Thin RAII over the SQLite C API for the disk cache's index: statements, immediate
// transactions, and the one mapping of SQLite's result codes to dedup's storage errors.
#pragma once

#include <sqlite3.h>

#include <cstdint>
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

/// A prepared statement, finalized on destruction; binds are 1-based as in SQLite.
class statement {
 public:
  statement(sqlite3* db, const std::string& resource, const char* text)
      : db_(db), resource_(resource) {
    int rc = sqlite3_prepare_v2(db, text, -1, &stmt_, nullptr);
    if (rc != SQLITE_OK) fail(db, rc, resource, "preparing a query of the index");
  }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;
  ~statement() { sqlite3_finalize(stmt_); }

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
  sqlite3* db_;
  const std::string& resource_;
  sqlite3_stmt* stmt_ = nullptr;
};

/// Runs SQL without results.
inline void exec(sqlite3* db, const std::string& resource, const char* text) {
  int rc = sqlite3_exec(db, text, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) fail(db, rc, resource, std::string("running ") + text);
}

/// BEGIN IMMEDIATE (the write lock taken up front, so a transaction never fails half-way on a
/// lock upgrade), rolled back on destruction unless committed.
class transaction {
 public:
  transaction(sqlite3* db, const std::string& resource) : db_(db), resource_(resource) {
    exec(db, resource, "BEGIN IMMEDIATE");
  }
  transaction(const transaction&) = delete;
  transaction& operator=(const transaction&) = delete;
  ~transaction() {
    if (open_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    exec(db_, resource_, "COMMIT");
    open_ = false;
  }

 private:
  sqlite3* db_;
  const std::string& resource_;
  bool open_ = true;
};

}  // namespace dedup::detail::sql
