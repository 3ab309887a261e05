// The disk cache under faults: processes killed mid-write, flipped bytes, a full disk, read-only
// and foreign directories, hand-edited values and four processes at once. The other processes
// are tests/disk_cache_worker (DEDUP_CACHE_WORKER), spawned and always killed and reaped here.
#include <catch2/catch.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "dedup/disk_cache.hpp"
#include "disk_cache_fixture.hpp"
#include "support.hpp"

namespace {

namespace fs = std::filesystem;
using dedup_fault::stamped;
using namespace std::chrono_literals;
using dedup_test::child;
using dedup_test::file_text;
using dedup_test::scaled;
using dedup_test::temp_dir;

/// The command line of the cache's worker with `args` (its mode first), for a dedup_test::child:
/// killed and reaped when it goes, so that a failing REQUIRE never leaves a worker behind.
std::vector<std::string> worker(std::vector<std::string> args) {
  args.insert(args.begin(), DEDUP_CACHE_WORKER);
  return args;
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

dedup::disk_cache_options options_for(const fs::path& dir, const std::string& tag) {
  dedup::disk_cache_options o;
  o.directory = dir;
  o.tag = tag;
  o.inline_limit = dedup_fault::inline_limit;
  return o;
}

/// Every file under `dir` with its size and modification time: "nothing was written" compares two.
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> listing(const fs::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  for (auto& e : fs::recursive_directory_iterator(dir))
    out[e.path().string()] = {e.is_regular_file() ? e.file_size() : 0, e.last_write_time()};
  return out;
}

}  // namespace

namespace {

/// Files in the cache's directory that no index row accounts for (the database's own aside).
std::vector<std::string> orphans(const dedup::disk_cache& cache) {
  std::set<fs::path> owned;
  for (auto& e : cache.entries())
    if (e.in_file) owned.insert(cache.fullpath(e.name));
  std::vector<std::string> out;
  for (auto& e : fs::recursive_directory_iterator(cache.location())) {
    if (!e.is_regular_file() || e.path().extension() == ".lock") continue;
    std::string file = e.path().filename().string();
    bool database =
        file.find(".sqlite") != std::string::npos || file.find(".db") != std::string::npos;
    if (!database && !owned.count(e.path())) out.push_back(e.path().string());
  }
  return out;
}

/// Checks that `name` holds a whole value of sequence `seq`, read through a fresh cache object.
void require_whole(dedup::disk_cache& cache, const std::string& name, std::int64_t seq) {
  auto v = cache.find<stamped>(name);
  INFO("entry " << name);
  REQUIRE(v);
  REQUIRE(dedup_fault::intact(*v));
  REQUIRE(v->seq == seq);
}

std::int64_t seq_of(const std::string& name) {
  return std::stoll(name.substr(1));
}

}  // namespace

// The worker prints each name once its put has returned; the test kills it right after reading
// the k-th such line, k random, so the kill lands while it is writing (in put k+1 or later,
// wherever the scheduler has it) however fast or slow this machine is.
TEST_CASE("a writer killed at random points leaves a cache that opens whole",
          "[disk_cache_fault]") {
  temp_dir root;
  const std::string tag = "KILL";
  std::mt19937 rng(20261201);
  std::set<std::string> reported;
  const long rounds = scaled(200);
  const long per_round = 400;
  for (long round = 0; round < rounds; ++round) {
    std::vector<std::string> now;
    const std::size_t kill_after = rng() % 40;
    {
      child w(worker({"write", root.path().string(), tag, std::to_string(round * per_round),
                      std::to_string(per_round)}));
      w.await_lines(kill_after, 60s);
      w.kill_and_reap();
      now = lines(w.output());
    }
    CHECK(now.size() >= kill_after);  // what was read before the kill is in the output
    dedup::disk_cache cache(options_for(root.path(), tag));
    dedup::scope scope;
    for (auto& name : now) require_whole(cache, name, seq_of(name));
    reported.insert(now.begin(), now.end());
    if (round % 20 != 19 && round != rounds - 1) continue;
    // Now and then (it grows with every round): all that was ever reported, every row, no orphan
    // once swept (the next writer would sweep them).
    for (auto& name : reported) require_whole(cache, name, seq_of(name));
    for (auto& e : cache.entries()) require_whole(cache, e.name, seq_of(e.name));
    cache.sweep();
    CHECK(orphans(cache).empty());
    CHECK(cache.stats().corrupt == 0);
  }
}

namespace {

/// One logged operation of a mixed worker (see disk_cache_worker's `mixed` mode).
struct op {
  char kind;  // P put, G get_or_compute, C clear
  long proc;
  std::int64_t t0, t1, writer = -1, seq = -1;
  bool computed = false;
};

struct mixed_log {
  std::map<std::string, std::vector<op>> by_name;
  long gets = 0;
  unsigned long long hits = 0, computed = 0;
};

void read_log(const fs::path& file, long proc, mixed_log& log) {
  std::ifstream in(file);
  bool summary = false;
  for (std::string line; std::getline(in, line);) {
    std::istringstream s(line);
    op o{};
    o.proc = proc;
    std::string name;
    s >> o.kind;
    if (o.kind == 'S') {
      long gets = 0;
      unsigned long long memory = 0, disk = 0, computed = 0, failures = 0;
      s >> gets >> memory >> disk >> computed >> failures;
      log.gets += gets;
      log.hits += memory + disk;
      log.computed += computed;
      CHECK(failures == 0);
      summary = true;
      continue;
    }
    s >> name >> o.t0 >> o.t1;
    if (o.kind != 'C') s >> o.writer >> o.seq;
    int c = 0;
    if (o.kind == 'G' && s >> c) o.computed = c == 1;
    log.by_name[name].push_back(o);
  }
  REQUIRE(summary);  // the worker got to its end
}

bool writes(const op& o) {
  return o.kind == 'P' || (o.kind == 'G' && o.computed);
}

/// Linearizability of the final state: it must be what one of the operations that no other one
/// strictly followed left (a write of that value, or a clear if it is absent).
void check_final(const std::string& name, const std::vector<op>& ops, const stamped* final) {
  std::int64_t last_start = 0;
  for (auto& o : ops)
    if (writes(o) || o.kind == 'C') last_start = std::max(last_start, o.t0);
  bool explained = ops.empty() && !final;
  bool any_change = false;
  for (auto& o : ops) {
    if (!writes(o) && o.kind != 'C') continue;
    any_change = true;
    if (o.t1 < last_start) continue;  // strictly followed by another change: not the last
    if (final ? writes(o) && o.writer == final->writer && o.seq == final->seq : o.kind == 'C')
      explained = true;
  }
  if (!any_change && !final) explained = true;
  INFO("entry " << name
                << (final ? " holds (" + std::to_string(final->writer) + ", " +
                                std::to_string(final->seq) + ")"
                          : std::string(" is absent")));
  CHECK(explained);
}

/// A get may return any value written before it ended, and nothing never written.
void check_reads(const std::string& name, const std::vector<op>& ops) {
  for (auto& g : ops) {
    if (g.kind != 'G' || g.computed) continue;
    bool written = false;
    for (auto& w : ops)
      written = written || (writes(w) && w.writer == g.writer && w.seq == g.seq && w.t0 < g.t1);
    INFO("entry " << name << " read (" << g.writer << ", " << g.seq << ") by process " << g.proc);
    CHECK(written);
  }
}

}  // namespace

TEST_CASE("four processes mixing get, put and clear lose no update", "[disk_cache_fault]") {
  temp_dir root;
  const std::string tag = "MIX";
  const long n = scaled(1000);
  {
    std::vector<std::unique_ptr<child>> workers;
    for (long p = 0; p < 4; ++p)
      workers.push_back(std::make_unique<child>(
          worker({"mixed", root.path().string(), tag, std::to_string(p), std::to_string(n),
                  (root.path() / ("log" + std::to_string(p))).string()})));
    for (auto& w : workers) REQUIRE(w->wait(60s) == std::optional<int>(0));
  }
  mixed_log log;
  for (long p = 0; p < 4; ++p) read_log(root.path() / ("log" + std::to_string(p)), p, log);
  CHECK(log.hits + log.computed == static_cast<unsigned long long>(log.gets));
  dedup::disk_cache cache(options_for(root.path(), tag));
  dedup::scope scope;
  for (int i = 0; i < 8; ++i) {
    std::string name = "m" + std::to_string(i);
    auto v = cache.find<stamped>(name);
    if (v) REQUIRE(dedup_fault::intact(*v));
    check_final(name, log.by_name[name], v.get());
    check_reads(name, log.by_name[name]);
  }
  CHECK(cache.stats().corrupt == 0);
}

// The worker stores entries anew round after round, each store a new value file and the old
// one unlinked once its row is replaced, while this process reads them until the worker ends
// (a volatile scope per pass empties the memory tier, so every read goes to disk).
TEST_CASE("a reader racing rewrites of file values never counts them corrupt",
          "[disk_cache_fault]") {
  temp_dir root;
  const std::string tag = "RACE";
  const int n = 4;
  {
    child first(worker({"rewrite", root.path().string(), tag, std::to_string(n), "1"}));
    REQUIRE(first.wait(30s) == std::optional<int>(0));
  }
  dedup::disk_cache cache(options_for(root.path(), tag));
  child w(worker(
      {"rewrite", root.path().string(), tag, std::to_string(n), std::to_string(scaled(400))}));
  w.await_lines(1, 60s);
  long found = 0;
  do {
    dedup::scope scope;
    scope.mark_volatile();
    for (int i = 0; i < n; ++i) {
      auto v = cache.find<stamped>("e" + std::to_string(i));
      if (v) REQUIRE((dedup_fault::intact(*v) && v->seq == i));
      found += v != nullptr;
    }
  } while (!w.exited());
  CHECK(w.wait(30s) == std::optional<int>(0));
  CHECK(found > 0);
  CHECK(cache.stats().corrupt == 0);
}

namespace {

/// Stores e0..e{n-1} (odd ones in files) through its own cache object, closed on return.
void fill(const fs::path& dir, const std::string& tag, int n) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  for (int i = 0; i < n; ++i)
    cache.put(
        "e" + std::to_string(i),
        dedup_fault::make_value(0, i, i % 2 ? dedup_fault::large_bytes : dedup_fault::small_bytes));
}

void require_filled(const fs::path& dir, const std::string& tag, int n) {
  dedup::disk_cache cache(options_for(dir, tag));
  dedup::scope scope;
  for (int i = 0; i < n; ++i) require_whole(cache, "e" + std::to_string(i), i);
}

}  // namespace

// SIGXFSZ keeps its default action in the worker, as in a shell under `ulimit -f`: a store that
// let the signal through would kill it.
TEST_CASE("a file-size limit fails stores cleanly and loses nothing stored", "[disk_cache_fault]") {
  temp_dir root;
  fill(root.path(), "FULL", 6);
  {
    child w(worker({"fsize", root.path().string(), "FULL", std::to_string(256 * 1024)}));
    auto status = w.wait(30s);
    INFO(w.output());
    REQUIRE(status == std::optional<int>(0));
    CHECK(w.output().find("put: dedup: ") != std::string::npos);
    CHECK(w.output().find("file-size limit") != std::string::npos);  // the value file's check
    CHECK(lines(w.output()).size() == 4);  // both kinds of store: in a file and inline
  }
  require_filled(root.path(), "FULL", 6);
  dedup::disk_cache cache(options_for(root.path(), "FULL"));
  dedup::scope scope;
  CHECK_FALSE(cache.find<stamped>("big_goc"));
  CHECK_FALSE(cache.find<stamped>("big_put"));
  CHECK(cache.entries().size() == 8);  // and the two small values stored after the failures
  CHECK(orphans(cache).empty());
}

namespace {

/// Runs the read-only worker on `dir` (HOW: mount or uid) and checks what it reports; false when
/// this machine cannot make the directory read-only that way.
bool run_read_only(const fs::path& dir, const std::string& how, int n, const std::string& expect) {
  child w(worker({"readonly", dir.string(), "RO", how, std::to_string(n)}));
  auto status = w.wait(30s);
  INFO(w.output());
  REQUIRE(status);  // it exited in time
  CHECK(*status == 0);
  if (w.output().starts_with("skip: ")) {
    WARN("read-only by " << how << " not tested: " << w.output());
    return false;
  }
  CHECK(w.output().find(expect) != std::string::npos);
  return true;
}

void make_unwritable(const fs::path& p) {
  fs::permissions(p, fs::perms::owner_write | fs::perms::group_write | fs::perms::others_write,
                  fs::perm_options::remove);
}

}  // namespace

TEST_CASE("a read-only cache serves its entries and stores nothing", "[disk_cache_fault]") {
  temp_dir root;
  auto how = GENERATE(as<std::string>{}, "mount", "uid");
  SECTION("no cache in it yet: a storage_error") {
    fs::path ro = root.path() / "ro";
    fs::create_directory(ro);
    make_unwritable(ro);
    auto before = listing(ro);
    run_read_only(ro, how, 0, "storage_error: dedup: ");
    CHECK(listing(ro) == before);
  }
  SECTION("a cache: hits served, a miss computed and not stored") {
    fill(root.path(), "RO", 4);
    fs::path location = root.path() / "cacheRO";
    make_unwritable(location);
    auto before = listing(location);
    run_read_only(root.path(), how, 4, "read-only: dedup: ");
    CHECK(listing(location) == before);
    fs::permissions(location, fs::perms::owner_write, fs::perm_options::add);
    require_filled(root.path(), "RO", 4);
  }
}

TEST_CASE("a directory that is not a cache gives a storage_error and is left as it was",
          "[disk_cache_fault]") {
  temp_dir root;
  fs::path foreign = root.path() / "cacheFOREIGN";
  fs::create_directory(foreign);
  std::ofstream(foreign / "notes.txt") << "someone else's files\n";
  SECTION("foreign files") {}
  SECTION("a database that is not SQLite") {
    // Whatever A names the index: every plausible name holds garbage here.
    for (auto name : {"index.sqlite", "cache.db", "index.db", "cache.sqlite"})
      std::ofstream(foreign / name) << "not a database, not at all, just bytes\n";
  }
  auto before = listing(root.path());
  CHECK_THROWS_AS(dedup::disk_cache(options_for(root.path(), "FOREIGN")), dedup::storage_error);
  CHECK_THROWS_AS(dedup::disk_cache::open_existing(root.path(), "cache", "FOREIGN"),
                  dedup::storage_error);
  CHECK_THROWS_AS(dedup::disk_cache::open_existing(root.path(), "cache", "ABSENT"),
                  dedup::storage_error);
  CHECK(listing(root.path()) == before);
}

namespace {

/// The cache's SQLite index opened with the C API, as a person editing it by hand would.
class raw_index {
 public:
  explicit raw_index(const fs::path& file) {
    REQUIRE(sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    sqlite3_busy_timeout(db_, 10'000);
  }
  ~raw_index() { sqlite3_close(db_); }
  raw_index(const raw_index&) = delete;
  raw_index& operator=(const raw_index&) = delete;

  std::string value(const std::string& name) {
    statement st(db_, "SELECT value FROM entries WHERE name = ?");
    sqlite3_bind_text(st.s, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st.s) == SQLITE_ROW);
    auto data = static_cast<const char*>(sqlite3_column_blob(st.s, 0));
    return std::string(data, static_cast<std::size_t>(sqlite3_column_bytes(st.s, 0)));
  }
  void set_value(const std::string& name, const std::string& bytes) {
    statement st(db_, "UPDATE entries SET value = ? WHERE name = ?");
    sqlite3_bind_blob(st.s, 1, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st.s, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st.s) == SQLITE_DONE);
    REQUIRE(sqlite3_changes(db_) == 1);
  }
  /// Takes the index's write lock until this object is destroyed (which rolls back).
  void begin_immediate() {
    REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  /// What a careful hand-editor does after changing the bytes: the checksum and size follow.
  void reseal(const std::string& name, const std::string& bytes) {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(dedup::detail::hash_key(bytes)));
    statement st(db_, "UPDATE entries SET checksum = ?, size = ? WHERE name = ?");
    sqlite3_bind_text(st.s, 1, hex, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st.s, 2, static_cast<sqlite3_int64>(bytes.size()));
    sqlite3_bind_text(st.s, 3, name.c_str(), -1, SQLITE_TRANSIENT);
    REQUIRE(sqlite3_step(st.s) == SQLITE_DONE);
    REQUIRE(sqlite3_changes(db_) == 1);
  }

 private:
  struct statement {
    sqlite3_stmt* s = nullptr;
    statement(sqlite3* db, const char* sql) {
      REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    }
    ~statement() { sqlite3_finalize(s); }
  };
  sqlite3* db_ = nullptr;
};

void write_all(const fs::path& file, const std::string& bytes) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
}

/// Where e0 (inline) and e1 (in a file) of a `fill`ed cache live.
struct filled_paths {
  fs::path index, file;
};

filled_paths paths_of(const fs::path& dir, const std::string& tag) {
  dedup::disk_cache cache(options_for(dir, tag));
  filled_paths p{cache.fullpath("e0"), cache.fullpath("e1")};
  REQUIRE(p.index.filename() == "index.sqlite");
  REQUIRE(p.file.parent_path().filename() == "values");
  return p;
}

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("an index locked by another connection times a store out, and the object goes on",
          "[disk_cache_fault]") {
  using dedup_fault::make_value;
  temp_dir root;
  auto options = options_for(root.path(), "LOCK");
  options.wait_timeout = 50ms;
  dedup::disk_cache cache(options);
  cache.put("before", make_value(1, 1, dedup_fault::small_bytes));
  fs::path index = cache.fullpath("before");
  REQUIRE(index.filename() == "index.sqlite");
  {
    raw_index other(index);
    other.begin_immediate();  // holds the write lock for the whole store below
    CHECK_THROWS_AS(cache.put("during", make_value(1, 2, dedup_fault::small_bytes)),
                    dedup::timeout_error);
  }  // the other connection rolls back and closes
  // The same object's statements, one of which just failed, serve the next stores and hits.
  cache.put("after", make_value(1, 3, dedup_fault::large_bytes));
  cache.put("before", make_value(1, 4, dedup_fault::small_bytes));
  dedup::disk_cache fresh(options);
  dedup::scope scope;
  CHECK(fresh.find<stamped>("before")->seq == 4);
  CHECK_FALSE(fresh.find<stamped>("during"));
  CHECK(fresh.find<stamped>("after")->seq == 3);
  CHECK(fresh.entries().size() == 2);
}

TEST_CASE("a flipped byte in a value file or an inline row is caught by the checksum",
          "[disk_cache_fault]") {
  temp_dir root;
  fill(root.path(), "FLIP", 2);
  auto where = paths_of(root.path(), "FLIP");
  std::string file_bytes = file_text(where.file);
  file_bytes[file_bytes.size() / 2] ^= 1;  // inside the payload: still JSON, now the wrong bytes
  write_all(where.file, file_bytes);
  {
    raw_index index(where.index);
    std::string row = index.value("e0");
    row[row.size() / 2] ^= 1;
    index.set_value("e0", row);
  }
  dedup::disk_cache cache(options_for(root.path(), "FLIP"));
  dedup::scope scope;
  CHECK_FALSE(cache.find<stamped>("e1"));  // dropped, never returned
  CHECK(cache.stats().corrupt == 1);
  int calls = 0;
  auto again = [&] {
    ++calls;
    return dedup_fault::make_value(5, 0, dedup_fault::small_bytes);
  };
  auto v = cache.get_or_compute<stamped>("e0", again);
  CHECK(calls == 1);
  CHECK((v->writer == 5 && dedup_fault::intact(*v)));
  CHECK(cache.stats().corrupt == 2);
  cache.get_or_compute<stamped>("e1", again);
  CHECK(calls == 2);
  dedup::disk_cache fresh(options_for(root.path(), "FLIP"));  // the recomputed values were stored
  for (auto name : {"e0", "e1"}) {
    auto w = fresh.find<stamped>(name);
    REQUIRE(w);
    CHECK((w->writer == 5 && dedup_fault::intact(*w)));
  }
  CHECK(fresh.stats().corrupt == 0);
}

TEST_CASE("a hand-edited value that no longer parses names the entry and is recomputed",
          "[disk_cache_fault]") {
  temp_dir root;
  fill(root.path(), "EDIT", 2);
  auto where = paths_of(root.path(), "EDIT");
  {
    raw_index index(where.index);
    std::string row = replaced(index.value("e0"), R"("seq":0)", R"("seq":"zero")");
    index.set_value("e0", row);
    index.reseal("e0", row);
    std::string file = replaced(file_text(where.file), R"("seq":1)", R"("seq":[1])");
    write_all(where.file, file);
    index.reseal("e1", file);
  }
  dedup::disk_cache cache(options_for(root.path(), "EDIT"));
  dedup::scope scope;
  try {
    cache.find<stamped>("e0");
    FAIL("find returned a value that does not parse");
  } catch (const dedup::error& e) {
    CHECK(e.pointer() == "/seq");
    CHECK_THAT(e.what(), Catch::Contains("'e0'"));
  }
  CHECK(cache.stats().invalid == 1);
  CHECK_FALSE(cache.find<stamped>("e0"));  // dropped with the error
  int calls = 0;
  auto v = cache.get_or_compute<stamped>("e1", [&] {
    ++calls;
    return dedup_fault::make_value(6, 1, dedup_fault::large_bytes);
  });
  CHECK(calls == 1);
  CHECK((v->writer == 6 && dedup_fault::intact(*v)));
  CHECK(cache.stats().invalid == 2);
  CHECK(cache.stats().corrupt == 0);
}

TEST_CASE("a missing cache directory is created with its parents", "[disk_cache_fault]") {
  temp_dir root;
  fs::path missing = root.path() / "not" / "yet";
  {
    dedup::disk_cache cache(options_for(missing, "NEW"));
    dedup::scope scope;
    cache.put("e0", dedup_fault::make_value(0, 0, dedup_fault::small_bytes));
    CHECK(fs::is_directory(cache.location()));
  }
  require_filled(missing, "NEW", 1);
  CHECK(dedup::disk_cache::tags(missing) == std::vector<std::string>{"NEW"});
}
