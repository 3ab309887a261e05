// The shm:// backend: LMDB in /dev/shm/dedup-store-<name>/, writers serialized by a robust
// process-shared mutex of our own. LMDB's copy-on-write B-tree makes a write that a killed
// process did not commit vanish, and gives readers MVCC snapshots (a value being read is never
// freed under its reader); its own writer lock waits without a timeout, which is why writers take
// ours first, with pthread_mutex_timedlock, and recover it with pthread_mutex_consistent when its
// holder died.
//
// No page of a file this backend maps is ever touched before it has memory behind it: on a full
// tmpfs such a touch raises SIGBUS. The control and lock files are allocated whole when opened.
// LMDB writes through the map (MDB_WRITEMAP, several times faster than its write(2) path), so
// each write transaction first allocates the data file beyond the last page LMDB uses, by more
// pages than the transaction can take (shm_env::reserve): a full /dev/shm then fails that
// allocation with ENOSPC, before LMDB writes anything.
//
// The fast path: a read takes no lock and no system call (a read transaction of this thread's,
// renewed; LMDB opened MDB_NOTLS); a put that finds the writer lock held posts itself for the
// holder, who does all the posted puts in its own transaction (one lock hold, one commit).
// Views (get_view) hold a read snapshot, shared by the views taken between two commits.
#include <fcntl.h>
#include <linux/futex.h>
#include <lmdb.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <csignal>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <thread>

#include "dedup/detail/hash.hpp"
#include "dedup/detail/memory_pressure.hpp"
#include "dedup/store.hpp"
// ThreadSanitizer's pthread_mutex_timedlock takes EOWNERDEAD for a failed lock, so the unlock of
// a recovered lock would read to it as the unlock of an unlocked mutex: it is told of the lock.
#if defined(__SANITIZE_THREAD__)
#define DEDUP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DEDUP_TSAN 1
#endif
#endif
#ifdef DEDUP_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace dedup::detail {
namespace {

constexpr std::uint64_t control_magic = 0x64656475'70737431;  // "dedupst1"
constexpr std::size_t stamp_slots = std::size_t{1} << 16;
constexpr std::size_t post_slots = 16;
constexpr std::size_t post_bytes = 2048;  // a posted put's key and value together
constexpr int post_spins = 512;           // checks of a posted put before its poster sleeps

enum post_state : std::uint32_t { post_free, post_filling, post_posted, post_taken, post_done };

// A small put that a process waiting for the writer lock posts for the lock's holder to do in
// its own transaction: one lock hold and one commit then serve several puts. The state goes
// free -> filling (the poster writes the request) -> posted -> taken (by the holder, into its
// transaction) -> done (result set, after the commit) -> free (the poster has read it); a poster
// withdraws a request (posted -> free) only while it holds the lock itself, so a taken request
// is always finished before the lock is released. `bell` counts wake-ups: a poster sleeps on it.
struct posted_put {
  std::atomic<std::uint32_t> state;
  std::atomic<std::uint32_t> bell;
  std::atomic<std::int32_t> pid;  // read by claimers looking for slots of dead posters
  std::int32_t result;            // 1 stored, 0 refused, -1 not done: the poster puts it itself
  std::uint32_t key_size, value_size;
  std::uint32_t rotate;  // the poster's on_full
  // Set while the poster sleeps on `bell`: a request finished while its poster still spins
  // costs the finisher no system call. In what was padding: the layout does not change.
  std::atomic<std::uint32_t> sleeping;
  double min_free;  // the poster's min_free_mem_pct
  char bytes[post_bytes];
};

// The mapped control file: the writer lock, the capacity fixed at creation, the counters, and the
// access stamps. Stamps are indexed by key hash, so keys that share a slot share a stamp: the
// access order rotate follows is approximate for them (documented in docs/budgets-and-store.md).
struct control {
  std::atomic<std::uint64_t> magic;
  std::uint64_t capacity;
  pthread_mutex_t writer;
  std::atomic<std::uint64_t> clock;
  std::atomic<std::uint64_t> evictions;
  std::atomic<std::uint64_t> refusals;
  std::atomic<std::uint64_t> stamps[stamp_slots];
  // Set by destroy, under the writer lock, before the directory goes: a handle still open on the
  // unlinked files would otherwise write where no later opener looks. After the fields of the
  // first layout, as the fields below it: a control file of an earlier layout only grows, and
  // what it gains reads zero (not destroyed, no puts posted).
  std::atomic<std::uint32_t> destroyed;
  std::atomic<std::uint64_t> combined;  // puts done in another put's transaction
  posted_put posted[post_slots];
};

// A futex on a word of the shared control file (not FUTEX_PRIVATE: other processes wait on it).
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t seen, long ns) {
  timespec t{0, ns};
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT, seen, &t, nullptr, 0);
}
void ring(posted_put& p) {
  p.bell.fetch_add(1, std::memory_order_seq_cst);
  if (p.sleeping.load(std::memory_order_seq_cst) == 0) return;
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&p.bell), FUTEX_WAKE, INT_MAX, nullptr,
          nullptr, 0);
}
// Sleeps on the poster's bell unless it rang since `seen`: `sleeping` is set before the kernel
// reads the bell, so a ringer either sees it set or changed the bell first.
void sleep_on(posted_put& p, std::uint32_t seen, long ns) {
  p.sleeping.store(1, std::memory_order_seq_cst);
  futex_wait(p.bell, seen, ns);
  p.sleeping.store(0, std::memory_order_relaxed);
}
// A pause in a spin: tells the core a spin is running (the other hyper-thread goes on).
inline void spin_pause() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
// Hands a request back to its poster: done, with `result`.
void finish(posted_put& p, std::int32_t result) {
  p.result = result;
  p.state.store(post_done, std::memory_order_release);
  ring(p);
}

std::string store_dir(std::string_view name) {
  return "/dev/shm/dedup-store-" + std::string(name);
}

std::string mib(double bytes) {
  char out[32];
  std::snprintf(out, sizeof out, "%.1f MiB", bytes / (1 << 20));
  return out;
}

// What a failed allocation needs said: how much room there is where the store lives.
std::string space_note(const std::string& dir, std::size_t needed) {
  struct statvfs fs {};
  std::string free = statvfs(dir.c_str(), &fs) == 0
                         ? mib(static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize))
                         : std::string("an unknown amount");
  std::string out = "the file system of " + dir + " has " + free + " free";
  if (needed) out += ", " + mib(static_cast<double>(needed)) + " needed";
  return out;
}

// Gives bytes [from, to) of a file that will be mapped memory now, so that no later touch of a
// page there can find the file system full. Only tmpfs's fallocate is interrupted by signals.
int allocate_range(int fd, std::size_t from, std::size_t to) {
  int rc = EINTR;
  while (rc == EINTR)
    rc = posix_fallocate(fd, static_cast<off_t>(from), static_cast<off_t>(to - from));
  return rc;
}

[[noreturn]] void fail_allocation(const std::string& uri, const std::string& path,
                                  const std::string& dir, std::size_t needed, int rc) {
  if (rc == ENOSPC)
    throw storage_error(uri, path + ": no space left: " + space_note(dir, needed),
                        {rc, std::system_category()});
  throw system_failure(uri, path, rc);
}

void allocate_file(const std::string& uri, int fd, const std::string& path, std::size_t size) {
  if (int rc = allocate_range(fd, 0, size)) fail_allocation(uri, path, path, size, rc);
}

bool damage(int rc) {
  return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
         rc == MDB_VERSION_MISMATCH;
}

[[noreturn]] void fail_mdb(const std::string& uri, const std::string& dir, const char* what,
                           int rc) {
  std::string detail = std::string(what) + ": " + mdb_strerror(rc);
  if (rc == ENOSPC) detail += ": " + space_note(dir, 0);
  // LMDB reports a short write as EIO: a write that ran out of room part way.
  if (rc == EIO) detail += ": a short write, " + space_note(dir, 0);
  if (damage(rc))
    detail += "; the store is damaged: remove it with shared_store::destroy (dedup store destroy " +
              uri + ")";
  // LMDB's own codes are negative; a positive one is the errno of the system call that failed.
  throw storage_error(uri, detail,
                      rc > 0 ? std::error_code(rc, std::system_category()) : std::error_code());
}

MDB_val val_of(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}
std::string_view view_of(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

// One per store directory and process: LMDB forbids opening one environment twice in a process.
struct shm_env {
  std::string uri;
  std::string dir;
  control* ctl = nullptr;
  MDB_env* env = nullptr;
  MDB_dbi values = 0, meta = 0;
  int data_fd = -1;
  std::size_t page = 4096, map_bytes = 0;
  // Bytes of the data file this process has allocated (no process ever frees any): under the
  // writer lock, like every write transaction.
  std::size_t allocated = 0;

  ~shm_env() {
    if (env) mdb_env_close(env);
    if (ctl) munmap(ctl, sizeof(control));
  }
  bool destroyed() const { return ctl->destroyed.load(std::memory_order_acquire) != 0; }
  void check_live() const {
    if (destroyed())
      throw storage_error(uri,
                          "the store was destroyed (shared_store::destroy); open it again "
                          "for a new one");
  }
  [[noreturn]] void fail(const char* what, int rc) const { fail_mdb(uri, dir, what, rc); }
  // The clock counts puts in steps of 2: a put stamps its key with the new (even) time, a read
  // with the current time + 1, after every put so far and tied with the other reads since the
  // last put. A read then writes no shared cache line when its stamp is already that, and
  // increments nothing, so that processes reading on several cores do not pass a line between
  // them: rotate's order is exact across puts and approximate among the reads between two.
  void stamp(std::string_view key, bool write = false) {
    auto& slot = ctl->stamps[hash_key(key) & (stamp_slots - 1)];
    if (write) {
      slot.store(ctl->clock.fetch_add(2, std::memory_order_relaxed) + 2, std::memory_order_relaxed);
      return;
    }
    auto now = ctl->clock.load(std::memory_order_relaxed) + 1;
    if (slot.load(std::memory_order_relaxed) != now) slot.store(now, std::memory_order_relaxed);
  }
  std::uint64_t stamp_of(std::string_view key) const {
    return ctl->stamps[hash_key(key) & (stamp_slots - 1)].load(std::memory_order_relaxed);
  }
  std::size_t pages_for(std::size_t bytes) const { return (bytes + page - 1) / page + 1; }
  void reserve(std::size_t pages);
  // Frees the reader slots of processes that died holding a snapshot (a view, a read), so that
  // the pages their snapshots pinned can be reused: LMDB knows a slot's owner is alive by the
  // file lock it holds on the lock file, which the kernel drops when the process dies.
  void reclaim_dead_readers() const {
    int dead = 0;
    mdb_reader_check(env, &dead);
  }
};

// Called under the writer lock before a write transaction's first write: LMDB takes new pages
// only after the last one it uses, and a transaction takes at most `pages` of them (the caller's
// count: values, pages its deletions copy) plus what any transaction may take: copies of the
// B-trees' paths, splits, and the freelist, one 8-byte entry per page at most. Grown in chunks,
// so that most transactions make no system call.
void shm_env::reserve(std::size_t pages) {
  MDB_envinfo info{};
  mdb_env_info(env, &info);
  std::size_t used = info.me_last_pgno + 1;
  std::size_t freelist = 2 * (used / (page / 8) + 2);
  std::size_t need = std::min(map_bytes, (used + 64 + freelist + pages) * page);
  if (need <= allocated) return;
  // About to take memory: first let the pages that only dead readers pinned be reused.
  reclaim_dead_readers();
  std::size_t chunk = std::max(std::size_t{1} << 20, allocated / 8);
  std::size_t target = std::min(map_bytes, std::max(need, allocated + chunk));
  int rc = allocate_range(data_fd, allocated, target);
  if (rc == ENOSPC && target > need) rc = allocate_range(data_fd, allocated, target = need);
  if (rc) fail_allocation(uri, dir + "/data.mdb", dir, need - allocated, rc);
  allocated = target;
}

void map_control(shm_env& e, const store_options& o, bool create) {
  std::string path = e.dir + "/control";
  int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0664);
  if (fd < 0 && !create && errno == ENOENT) throw storage_error(e.uri, "no such store");
  if (fd < 0) throw system_failure(e.uri, path, errno);
  // flock only around the one-time set-up: the kernel drops it if this process dies there.
  flock(fd, LOCK_EX);
  try {
    allocate_file(e.uri, fd, path, sizeof(control));
  } catch (...) {
    ::close(fd);
    throw;
  }
  void* p = mmap(nullptr, sizeof(control), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    int failure = errno;
    ::close(fd);
    throw system_failure(e.uri, path, failure);
  }
  e.ctl = static_cast<control*>(p);
  if (e.ctl->magic.load(std::memory_order_acquire) != control_magic) {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&e.ctl->writer, &a);
    pthread_mutexattr_destroy(&a);
    e.ctl->capacity = o.capacity_bytes;
    e.ctl->magic.store(control_magic, std::memory_order_release);
  }
  flock(fd, LOCK_UN);
  ::close(fd);
}

// The store's writer lock, taken within the timeout, recovered from a holder that died.
class writer_lock {
 public:
  writer_lock(shm_env& e, std::chrono::milliseconds timeout) : e_(e) {
    timespec until{};
    clock_gettime(CLOCK_REALTIME, &until);
    auto ns = std::chrono::nanoseconds(timeout).count() + until.tv_nsec;
    until.tv_sec += static_cast<time_t>(ns / 1'000'000'000);
    until.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    int rc = pthread_mutex_timedlock(&e.ctl->writer, &until);
    if (rc == ETIMEDOUT)
      throw timeout_error(
          e.uri, "writer lock not taken within " + std::to_string(timeout.count()) + " ms");
    taken(rc, true);
  }
  /// Takes the lock only if it is free now: see owns().
  struct try_only {};
  writer_lock(shm_env& e, try_only) : e_(e) {
    int rc = pthread_mutex_trylock(&e.ctl->writer);
    if (rc != EBUSY) taken(rc, false);
  }
  ~writer_lock() {
    if (owns_) pthread_mutex_unlock(&e_.ctl->writer);
  }
  writer_lock(const writer_lock&) = delete;
  writer_lock& operator=(const writer_lock&) = delete;
  bool owns() const { return owns_; }

 private:
  // `timed`: a lock from pthread_mutex_timedlock, which ThreadSanitizer must be told of (see
  // DEDUP_TSAN above; its trylock takes EOWNERDEAD as a lock).
  void taken(int rc, [[maybe_unused]] bool timed) {
    if (rc != 0 && rc != EOWNERDEAD) throw system_failure(e_.uri, "writer lock", rc);
    owns_ = true;
    if (rc != EOWNERDEAD) return;
#ifdef DEDUP_TSAN
    if (timed) {
      __tsan_mutex_pre_lock(&e_.ctl->writer, 0);
      __tsan_mutex_post_lock(&e_.ctl->writer, 0, 0);
    }
#endif
    recover();
  }
  // The holder died; its LMDB transaction died with it (never committed), and with it the posted
  // puts it had taken: their posters put them themselves. Free the reader slots of dead
  // processes too, so their snapshots stop pinning old pages.
  void recover() {
    pthread_mutex_consistent(&e_.ctl->writer);
    for (posted_put& p : e_.ctl->posted)
      if (p.state.load(std::memory_order_acquire) == post_taken) finish(p, -1);
    int dead = 0;
    if (e_.env) mdb_reader_check(e_.env, &dead);
  }

  shm_env& e_;
  bool owns_ = false;
};

// An LMDB transaction aborted unless committed.
class txn {
 public:
  txn(shm_env& e, unsigned flags) : e_(e) {
    if (int rc = mdb_txn_begin(e.env, nullptr, flags, &t_)) e.fail("transaction", rc);
  }
  ~txn() {
    if (t_) mdb_txn_abort(t_);
  }
  txn(const txn&) = delete;
  txn& operator=(const txn&) = delete;
  MDB_txn* get() const { return t_; }
  void commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;
    if (rc) e_.fail("commit", rc);
  }

 private:
  shm_env& e_;
  MDB_txn* t_ = nullptr;
};

// The meta table's counters: "bytes", the value bytes stored, and "held", the most value bytes
// the store has ever stored. LMDB never gives pages back to the system, so up to "held" a put
// reuses pages the store owns and needs no new memory.
std::uint64_t meta_number(shm_env& e, const txn& t, std::string_view name) {
  MDB_val k = val_of(name), v{};
  std::uint64_t n = 0;
  if (mdb_get(t.get(), e.meta, &k, &v) == 0 && v.mv_size == sizeof n)
    std::memcpy(&n, v.mv_data, sizeof n);
  return n;
}

void set_meta_number(shm_env& e, const txn& t, std::string_view name, std::uint64_t n) {
  MDB_val k = val_of(name), v{sizeof n, &n};
  if (int rc = mdb_put(t.get(), e.meta, &k, &v, 0)) e.fail("put", rc);
}

// LMDB's lock file (its reader table, which it maps) allocated before LMDB maps it: 64 KiB is
// what 1022 readers take; LMDB takes a larger file as room for more.
void allocate_lock_file(shm_env& e) {
  constexpr std::size_t lock_bytes = std::size_t{64} << 10;
  std::string path = e.dir + "/lock.mdb";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0664);
  if (fd < 0) throw system_failure(e.uri, path, errno);
  struct stat st {};
  fstat(fd, &st);
  try {
    allocate_file(e.uri, fd, path, std::max(lock_bytes, static_cast<std::size_t>(st.st_size)));
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
}

void open_env(shm_env& e, std::chrono::milliseconds timeout) {
  allocate_lock_file(e);
  if (int rc = mdb_env_create(&e.env)) e.fail("environment", rc);
  mdb_env_set_maxdbs(e.env, 2);
  mdb_env_set_maxreaders(e.env, 1022);
  // Room for the values twice over (copy-on-write keeps old pages while readers pin them).
  mdb_env_set_mapsize(e.env, e.ctl->capacity * 4 + (std::size_t{64} << 20));
  // No sync: /dev/shm does not outlive the node, and a commit is atomic without one.
  int rc = mdb_env_open(e.env, e.dir.c_str(), MDB_NOTLS | MDB_NOSYNC | MDB_WRITEMAP, 0664);
  if (rc) e.fail("open", rc);
  MDB_stat st{};
  MDB_envinfo info{};
  mdb_env_stat(e.env, &st);
  mdb_env_info(e.env, &info);
  mdb_env_get_fd(e.env, &e.data_fd);
  e.page = st.ms_psize;
  e.map_bytes = info.me_mapsize;
  int dead = 0;
  mdb_reader_check(e.env, &dead);
  writer_lock lock(e, timeout);
  txn t(e, 0);
  e.reserve(0);
  if ((rc = mdb_dbi_open(t.get(), "values", MDB_CREATE, &e.values)) ||
      (rc = mdb_dbi_open(t.get(), "meta", MDB_CREATE, &e.meta)))
    e.fail("open", rc);
  t.commit();
}

std::shared_ptr<shm_env> shared_env(const std::string& uri, const std::string& name,
                                    const store_options& o, bool create) {
  static std::mutex m;
  static std::map<std::string, std::weak_ptr<shm_env>> open_envs;
  std::lock_guard guard(m);
  auto& slot = open_envs[name];
  // A destroyed store's files are gone: its name now means a new store, with new files.
  if (auto live = slot.lock(); live && !live->destroyed()) return live;
  auto e = std::make_shared<shm_env>();
  e->uri = uri;
  e->dir = store_dir(name);
  if (!create && !std::filesystem::exists(e->dir + "/data.mdb"))
    throw storage_error(uri, "no such store");
  std::error_code ec;
  std::filesystem::create_directories(e->dir, ec);
  if (ec) throw storage_error(uri, e->dir + ": " + ec.message(), ec);
  map_control(*e, o, create);
  open_env(*e, o.lock_timeout);
  slot = e;
  return e;
}

// Read transactions kept reset between uses: renewing one takes no lock, where beginning one
// takes LMDB's reader-table mutex. A reset transaction holds a reader slot but no snapshot. The
// idle ones sit in slots that threads take and give back with one atomic exchange each, a thread
// starting at a slot of its own: a read takes no lock and, in LMDB, no system call.
class read_pool {
 public:
  explicit read_pool(shm_env& e) : e_(e) {}
  ~read_pool() {
    for (auto& s : idle_)
      if (MDB_txn* t = s.txn.load(std::memory_order_acquire)) mdb_txn_abort(t);
  }
  read_pool(const read_pool&) = delete;
  read_pool& operator=(const read_pool&) = delete;

  /// A snapshot for one read, given back (reset) when it goes out of scope.
  class lease {
   public:
    explicit lease(read_pool& p) : p_(p), t_(p.take()) {}
    ~lease() { p_.give(t_); }
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    MDB_txn* get() const { return t_; }

   private:
    read_pool& p_;
    MDB_txn* t_;
  };

 private:
  static constexpr std::size_t slots = 16;
  struct alignas(64) slot {
    std::atomic<MDB_txn*> txn{nullptr};
  };

  static std::size_t home() {
    static std::atomic<std::size_t> threads{0};
    thread_local std::size_t mine = threads.fetch_add(1, std::memory_order_relaxed);
    return mine;
  }
  MDB_txn* take() {
    MDB_txn* t = nullptr;
    for (std::size_t i = 0, h = home(); i < slots && !t; ++i)
      t = idle_[(h + i) % slots].txn.exchange(nullptr, std::memory_order_acquire);
    int rc = t ? mdb_txn_renew(t) : mdb_txn_begin(e_.env, nullptr, MDB_RDONLY, &t);
    if (rc) {
      if (t) mdb_txn_abort(t);
      e_.fail("read transaction", rc);
    }
    return t;
  }
  void give(MDB_txn* t) {
    mdb_txn_reset(t);
    for (std::size_t i = 0, h = home(); i < slots; ++i) {
      MDB_txn* empty = nullptr;
      if (idle_[(h + i) % slots].txn.compare_exchange_strong(empty, t, std::memory_order_release))
        return;
    }
    mdb_txn_abort(t);
  }

  shm_env& e_;
  slot idle_[slots];
};

// A read transaction kept open for views: its snapshot pins the pages of every value it sees,
// whatever writers do, until the last view of it is gone. It keeps the environment open.
struct snapshot {
  std::shared_ptr<shm_env> env;
  MDB_txn* txn = nullptr;
  explicit snapshot(std::shared_ptr<shm_env> e) : env(std::move(e)) {
    if (int rc = mdb_txn_begin(env->env, nullptr, MDB_RDONLY, &txn)) env->fail("view", rc);
  }
  ~snapshot() { mdb_txn_abort(txn); }
  snapshot(const snapshot&) = delete;
  snapshot& operator=(const snapshot&) = delete;
};

class shm_backend final : public store_backend {
 public:
  shm_backend(std::shared_ptr<shm_env> e, const store_options& o)
      : e_(std::move(e)), o_(o), reads_(*e_) {}

  const std::string& uri() const override { return e_->uri; }
  bool gone() const noexcept override { return e_->destroyed(); }

  std::size_t count() override { return values_stat().ms_entries; }

  std::vector<std::string> keys() override {
    std::vector<std::string> out;
    each([&](std::string_view k, std::string_view) { out.emplace_back(k); });
    return out;
  }

  bool has(std::string_view key) override {
    check_key(key);
    e_->check_live();
    read_pool::lease t(reads_);
    MDB_val k = val_of(key), v{};
    return mdb_get(t.get(), e_->values, &k, &v) == 0;
  }

  bool read(std::string_view key, const std::function<void(std::string_view)>& use) override {
    check_key(key);
    e_->check_live();
    // The snapshot pins the value's pages until the transaction ends, whatever writers do.
    read_pool::lease t(reads_);
    MDB_val k = val_of(key), v{};
    if (mdb_get(t.get(), e_->values, &k, &v) != 0) return false;
    e_->stamp(key);
    use(view_of(v));
    return true;
  }

  std::optional<pinned_bytes> view(std::string_view key) override {
    check_key(key);
    e_->check_live();
    auto snap = view_snapshot();
    MDB_val k = val_of(key), v{};
    if (int rc = mdb_get(snap->txn, e_->values, &k, &v)) {
      if (rc != MDB_NOTFOUND) e_->fail("view", rc);
      return std::nullopt;
    }
    e_->stamp(key);
    return pinned_bytes{std::as_bytes(std::span(static_cast<const char*>(v.mv_data), v.mv_size)),
                        std::move(snap)};
  }

  bool put(std::string_view key, std::string_view value) override {
    check_key(key);
    if (value.size() > shm_max_value)
      throw storage_error(e_->uri, "a value must have at most " + std::to_string(shm_max_value) +
                                       " bytes, not " + std::to_string(value.size()));
    policy p{o_.on_full, o_.min_free_mem_pct};
    bool small = key.size() + value.size() <= post_bytes;
    if (small && holds(key, value)) {
      e_->stamp(key, true);
      return true;
    }
    bool stored = false;
    if (!small) {
      writer_lock lock(*e_, o_.lock_timeout);
      stored = lead(key, value, p, true);
    } else if (writer_lock lock(*e_, writer_lock::try_only{}); lock.owns()) {
      stored = lead(key, value, p, true);
    } else {
      return put_posted(key, value, p);
    }
    ring_posted();
    return stored;
  }

  // Whether `key` holds these very bytes, read without a lock. A small put of them then writes
  // nothing: pipelines put the same shared objects again and again, and a write transaction
  // would copy pages, commit and wait for the lock to store what is already there. Replacing a
  // value by the same bytes never changes what the store holds, so no budget can refuse it.
  bool holds(std::string_view key, std::string_view value) {
    e_->check_live();
    read_pool::lease t(reads_);
    MDB_val k = val_of(key), v{};
    return mdb_get(t.get(), e_->values, &k, &v) == 0 && view_of(v) == value;
  }

  bool remove(std::string_view key) override {
    check_key(key);
    writer_lock lock(*e_, o_.lock_timeout);
    e_->check_live();
    txn t(*e_, 0);
    MDB_val k = val_of(key), old{};
    if (mdb_get(t.get(), e_->values, &k, &old) != 0) return false;
    e_->reserve(path_pages(t));
    std::uint64_t bytes = meta_number(*e_, t, "bytes") - old.mv_size;
    if (int rc = mdb_del(t.get(), e_->values, &k, nullptr)) e_->fail("remove", rc);
    set_meta_number(*e_, t, "bytes", bytes);
    commit(t);
    return true;
  }

  void clear() override {
    writer_lock lock(*e_, o_.lock_timeout);
    e_->check_live();
    txn t(*e_, 0);
    e_->reserve(0);  // a drop copies no page: it lists the table's pages as free
    if (int rc = mdb_drop(t.get(), e_->values, 0)) e_->fail("clear", rc);
    set_meta_number(*e_, t, "bytes", 0);
    commit(t);
  }

  store_stats stats() override {
    store_stats s;
    s.entries = values_stat().ms_entries;
    txn t(*e_, MDB_RDONLY);
    s.value_bytes = meta_number(*e_, t, "bytes");
    s.capacity_bytes = e_->ctl->capacity;
    s.evictions = e_->ctl->evictions.load(std::memory_order_relaxed);
    s.refusals = e_->ctl->refusals.load(std::memory_order_relaxed);
    s.combined = e_->ctl->combined.load(std::memory_order_relaxed);
    return s;
  }

  // A put's own options, which a posted put carries to the holder that does it.
  struct policy {
    overflow on_full;
    double min_free;
  };

  // Under the writer lock: this put, and (`others`) the puts posted meanwhile, in one
  // transaction. A failure in another's put loses the transaction: this put is then done alone,
  // and the others by their posters.
  bool lead(std::string_view key, std::string_view value, const policy& p, bool others) {
    e_->check_live();
    std::vector<std::pair<posted_put*, bool>> batch;
    bool stored = false;
    try {
      txn t(*e_, 0);
      try {
        stored = put_in(t, key, value, p);
      } catch (const map_full&) {
        e_->reclaim_dead_readers();  // views pin old pages: nothing changes; dead ones stop
        return refuse();
      }
      if (others) take_posted(t, batch);
      commit(t);
    } catch (...) {
      for (auto& [post, ok] : batch) finish(*post, -1);
      if (batch.empty()) throw;
      return lead(key, value, p, false);
    }
    for (auto& [post, ok] : batch) {
      if (ok) e_->stamp({post->bytes, post->key_size}, true);
      finish(*post, ok ? 1 : 0);
    }
    e_->ctl->combined.fetch_add(batch.size(), std::memory_order_relaxed);
    if (stored) e_->stamp(key, true);
    return stored || refuse();
  }

  // The posted puts, each taken and done in the holder's transaction `t`; `batch` lists them
  // and whether each stored (told to their posters once `t` commits).
  void take_posted(const txn& t, std::vector<std::pair<posted_put*, bool>>& batch) {
    for (posted_put& post : e_->ctl->posted) {
      // A load first: most slots are free, and a compare-exchange would own each one's line.
      std::uint32_t posted = post_posted;
      if (post.state.load(std::memory_order_relaxed) != post_posted ||
          !post.state.compare_exchange_strong(posted, post_taken, std::memory_order_acquire))
        continue;
      batch.emplace_back(&post, false);
      std::string_view k(post.bytes, post.key_size), v(post.bytes + post.key_size, post.value_size);
      bool ok = put_in(t, k, v, {post.rotate ? overflow::rotate : overflow::strict, post.min_free});
      batch.back().second = ok;
      if (!ok) refuse();
    }
  }

  // A small put while the writer lock is held: posted for the holder to do in its transaction.
  // The poster sleeps until its request is done or the lock is free (then it leads: its put and
  // the others posted); within lock_timeout, as a put that waits for the lock.
  bool put_posted(std::string_view key, std::string_view value, const policy& p) {
    posted_put* post = claim_post();
    if (!post) {
      writer_lock lock(*e_, o_.lock_timeout);
      bool stored = lead(key, value, p, true);
      ring_posted();
      return stored;
    }
    post->pid.store(static_cast<std::int32_t>(getpid()), std::memory_order_relaxed);
    post->key_size = static_cast<std::uint32_t>(key.size());
    post->value_size = static_cast<std::uint32_t>(value.size());
    post->rotate = p.on_full == overflow::rotate;
    post->min_free = p.min_free;
    std::memcpy(post->bytes, key.data(), key.size());
    std::memcpy(post->bytes + key.size(), value.data(), value.size());
    post->state.store(post_posted, std::memory_order_seq_cst);
    auto deadline = std::chrono::steady_clock::now() + o_.lock_timeout;
    // Spins first: a holder's transaction takes microseconds, a sleep and a wake-up cost more.
    for (int spin = 0;; ++spin) {
      std::uint32_t bell = post->bell.load(std::memory_order_seq_cst);
      if (post->state.load(std::memory_order_acquire) == post_done)
        return collect(*post, key, value, p);
      if (spin % 16 == 0) {
        if (auto stored = lead_if_free(*post, key, value, p)) {
          ring_posted();
          return *stored;
        }
      }
      if (spin < post_spins) {
        spin_pause();
        continue;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        std::uint32_t posted = post_posted;
        if (post->state.compare_exchange_strong(posted, post_free, std::memory_order_acq_rel))
          throw timeout_error(e_->uri, "writer lock not taken within " +
                                           std::to_string(o_.lock_timeout.count()) + " ms");
      }
      sleep_on(*post, bell, 200'000);
    }
  }

  // If the lock is free, this put and the others posted, led from here; nullopt otherwise, and
  // when the request turned out done. Under the lock a request is posted or done.
  std::optional<bool> lead_if_free(posted_put& post, std::string_view key, std::string_view value,
                                   const policy& p) {
    writer_lock lock(*e_, writer_lock::try_only{});
    if (!lock.owns()) return std::nullopt;
    std::uint32_t posted = post_posted;
    if (!post.state.compare_exchange_strong(posted, post_free, std::memory_order_acq_rel))
      return std::nullopt;
    return lead(key, value, p, true);
  }

  // The outcome of a done request, which frees its slot; a request its holder could not do
  // (it died, or its transaction failed) is put here, alone.
  bool collect(posted_put& post, std::string_view key, std::string_view value, const policy& p) {
    std::int32_t result = post.result;
    post.state.store(post_free, std::memory_order_release);
    if (result >= 0) return result == 1;
    writer_lock lock(*e_, o_.lock_timeout);
    return lead(key, value, p, false);
  }

  // A free request slot, or null when all are in use; slots left by dead posters are freed.
  posted_put* claim_post() {
    for (int pass = 0; pass < 2; ++pass) {
      for (posted_put& post : e_->ctl->posted) {
        std::uint32_t state = post_free;
        if (post.state.compare_exchange_strong(state, post_filling, std::memory_order_acquire))
          return &post;
        bool dead = pass == 1 && (state == post_filling || state == post_done) &&
                    ::kill(post.pid.load(std::memory_order_relaxed), 0) != 0 && errno == ESRCH;
        if (dead) post.state.compare_exchange_strong(state, post_free);
      }
    }
    return nullptr;
  }

  // Wakes the posters still waiting once the lock is free: one of them leads the rest.
  void ring_posted() {
    for (posted_put& post : e_->ctl->posted)
      if (post.state.load(std::memory_order_seq_cst) == post_posted) {
        ring(post);
        return;
      }
  }

  // Thrown by put_in when LMDB's map is full: the transaction cannot go on.
  struct map_full {};

  // One put in the write transaction `t`: true if stored; false if there was no room (under
  // rotate the evictions made room for nothing and are kept, as in mt's object_store).
  bool put_in(const txn& t, std::string_view key, std::string_view value, const policy& p) {
    MDB_val k = val_of(key), old{};
    std::uint64_t replaced = mdb_get(t.get(), e_->values, &k, &old) == 0 ? old.mv_size : 0;
    std::uint64_t bytes = meta_number(*e_, t, "bytes") - replaced;
    std::uint64_t limit =
        room_limit(std::max(meta_number(*e_, t, "held"), bytes + replaced), p.min_free);
    std::size_t pages = 2 * e_->pages_for(value.size()) + path_pages(t);
    e_->reserve(pages);
    if (!make_room(t, key, value.size(), limit, bytes, pages, p.on_full)) {
      if (p.on_full == overflow::rotate) set_meta_number(*e_, t, "bytes", bytes + replaced);
      return false;
    }
    MDB_val v = val_of(value);
    int rc = mdb_put(t.get(), e_->values, &k, &v, 0);
    if (rc == MDB_MAP_FULL) throw map_full{};
    if (rc) e_->fail("put", rc);
    set_meta_number(*e_, t, "bytes", bytes + value.size());
    if (bytes + value.size() > meta_number(*e_, t, "held"))
      set_meta_number(*e_, t, "held", bytes + value.size());
    return true;
  }

  [[noreturn]] void hold(std::string_view key, std::string_view value,
                         const std::function<void()>& ready) {
    writer_lock lock(*e_, o_.lock_timeout);
    txn t(*e_, 0);
    e_->reserve(2 * e_->pages_for(value.size()) + path_pages(t));
    MDB_val k = val_of(key), v = val_of(value);
    mdb_put(t.get(), e_->values, &k, &v, 0);
    ready();
    for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
  }

 private:
  void check_key(std::string_view key) const {
    if (key.empty() || key.size() > 511)
      throw storage_error(e_->uri,
                          "a key must have 1 to 511 bytes, not " + std::to_string(key.size()));
  }

  struct tree_size {
    std::size_t depth, pages;  // pages: branch and leaf pages, those a deletion copies
  };
  tree_size tree(const txn& t) const {
    MDB_stat st{};
    if (int rc = mdb_stat(t.get(), e_->values, &st)) e_->fail("stat", rc);
    return {st.ms_depth, st.ms_branch_pages + st.ms_leaf_pages};
  }
  // The most pages one insertion or deletion in the values table copies: its path, and the
  // siblings a split or a rebalance takes at each level.
  std::size_t path_pages(const txn& t) const { return 4 * (tree(t).depth + 1); }

  MDB_stat values_stat() {
    e_->check_live();
    txn t(*e_, MDB_RDONLY);
    MDB_stat st{};
    if (int rc = mdb_stat(t.get(), e_->values, &st)) e_->fail("stat", rc);
    return st;
  }

  // A commit that a destroy overtook (it went on after a stalled writer's lock timed out) wrote
  // into unlinked files: the caller hears that the write is lost.
  void commit(txn& t) {
    t.commit();
    e_->check_live();
  }

  template <class F>
  void each(F&& f) {
    e_->check_live();
    txn t(*e_, MDB_RDONLY);
    MDB_cursor* c = nullptr;
    if (int rc = mdb_cursor_open(t.get(), e_->values, &c)) e_->fail("keys", rc);
    MDB_val k{}, v{};
    int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
    for (; rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) f(view_of(k), view_of(v));
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) e_->fail("keys", rc);
  }

  // The most value bytes a put may leave: the capacity, and under memory pressure no more than
  // the store already holds, since only growth takes memory from the node.
  std::uint64_t room_limit(std::uint64_t held, double min_free) const {
    if (min_free <= 0) return e_->ctl->capacity;
    double free = free_memory_share();  // negative: unknown, no pressure
    bool low = free >= 0 && free < min_free;
    return low ? std::min<std::uint64_t>(held, e_->ctl->capacity) : e_->ctl->capacity;
  }

  // Under rotate, evicts the earliest-accessed other entries until `size` more bytes fit under
  // `limit`; `bytes` follows. A value that would not fit in an empty store evicts nothing.
  // `pages`: what the transaction reserved for its put, to which the evictions' pages add.
  bool make_room(const txn& t, std::string_view key, std::size_t size, std::uint64_t limit,
                 std::uint64_t& bytes, std::size_t pages, overflow on_full) {
    if (bytes + size <= limit) return true;
    if (on_full == overflow::strict || size > limit) return false;
    e_->reclaim_dead_readers();  // what rotate frees is reused sooner
    struct entry {
      std::uint64_t stamp;
      std::string key;
      std::size_t size;
    };
    std::vector<entry> order;
    MDB_cursor* c = nullptr;
    if (int rc = mdb_cursor_open(t.get(), e_->values, &c)) e_->fail("rotate", rc);
    MDB_val k{}, v{};
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
      if (view_of(k) != key)
        order.push_back({e_->stamp_of(view_of(k)), std::string(view_of(k)), v.mv_size});
    mdb_cursor_close(c);
    std::sort(order.begin(), order.end(), [](auto& a, auto& b) { return a.stamp < b.stamp; });
    std::size_t victims = 0;
    for (std::uint64_t left = bytes; victims < order.size() && left + size > limit; ++victims)
      left -= order[victims].size;
    tree_size before = tree(t);
    e_->reserve(pages + std::min(before.pages + before.depth, victims * path_pages(t)));
    for (const entry& victim : std::span(order).first(victims)) {
      MDB_val vk = val_of(victim.key);
      if (int rc = mdb_del(t.get(), e_->values, &vk, nullptr)) e_->fail("rotate", rc);
      bytes -= victim.size;
      e_->ctl->evictions.fetch_add(1, std::memory_order_relaxed);
    }
    return bytes + size <= limit;
  }

  // The snapshot views share: the last one taken, while no write has committed since (views
  // taken between two writes then hold one reader slot, of the 1022 a store has, not one each).
  std::shared_ptr<snapshot> view_snapshot() {
    MDB_envinfo info{};
    mdb_env_info(e_->env, &info);
    std::lock_guard lock(view_m_);
    auto s = last_view_.lock();
    if (s && mdb_txn_id(s->txn) == info.me_last_txnid) return s;
    s = std::make_shared<snapshot>(e_);
    last_view_ = s;
    return s;
  }

  bool refuse() {
    e_->ctl->refusals.fetch_add(1, std::memory_order_relaxed);
    return false;
  }

  std::shared_ptr<shm_env> e_;
  store_options o_;
  read_pool reads_;  // after e_: its transactions end before the environment may close
  std::mutex view_m_;
  std::weak_ptr<snapshot> last_view_;
};

}  // namespace

std::unique_ptr<store_backend> open_shm_backend(const std::string& uri, const std::string& name,
                                                const store_options& o, bool create) {
  return std::make_unique<shm_backend>(shared_env(uri, name, o, create), o);
}

bool destroy_shm_store(const std::string& uri, const std::string& name,
                       std::chrono::milliseconds timeout) {
  shm_env e;  // the control file only: LMDB is never opened, so damage cannot stop a destroy
  e.uri = uri;
  e.dir = store_dir(name);
  if (!std::filesystem::exists(e.dir)) return false;
  try {
    map_control(e, store_options{}, false);
  } catch (const storage_error&) {
    // No control file, or no room to read it: no handle can be open on it to be told.
  }
  std::optional<writer_lock> lock;
  if (e.ctl) {
    try {
      lock.emplace(e, timeout);
    } catch (const timeout_error&) {
      // A stalled writer: marked all the same, its commit then tells its caller of the loss.
    }
    e.ctl->destroyed.store(1, std::memory_order_release);
  }
  std::error_code ec;
  std::filesystem::remove_all(e.dir, ec);
  if (ec) throw storage_error(uri, e.dir + ": " + ec.message(), ec);
  return true;
}

std::size_t posted_puts_for_test(const std::string& uri) {
  auto e = shared_env(uri, uri.substr(6), store_options{}, false);
  return static_cast<std::size_t>(std::ranges::count_if(e->ctl->posted, [](const posted_put& p) {
    return p.state.load(std::memory_order_acquire) == post_posted;
  }));
}

void hold_shm_writer_for_test(const std::string& uri, std::string_view key, std::string_view value,
                              const std::function<void()>& ready) {
  shm_backend b(shared_env(uri, uri.substr(6), store_options{}, true), store_options{});
  b.hold(key, value, ready);
}

}  // namespace dedup::detail
