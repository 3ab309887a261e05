// Files of the disk cache: value files written crash-safely, read back padded for simdjson, and
// the small helpers the index needs (hex names, whether a temporary file's writer still lives).
#pragma once

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <optional>
#include <random>
#include <string>
#include <string_view>

#include <simdjson.h>

#include "dedup/error.hpp"

namespace dedup::detail {

/// 16 lower-case hex digits: how hashes appear in the index and in file names.
inline std::string hex16(std::uint64_t v) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) out[static_cast<std::size_t>(i)] = digits[v & 15];
  return out;
}

/// A random 64-bit number per call, from a generator seeded once per thread.
inline std::uint64_t random64() {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return gen();
}

/// The pid in a temporary file's name `.tmp.<pid>.<random>`, or 0 if it has none.
inline pid_t tmp_file_pid(std::string_view name) {
  name.remove_prefix(5);
  long pid = 0;
  auto r = std::from_chars(name.data(), name.data() + name.size(), pid);
  return r.ec == std::errc() ? static_cast<pid_t>(pid) : 0;
}

/// Whether a process with this pid exists (one that is not ours to signal counts as alive).
inline bool process_alive(pid_t pid) {
  return pid > 0 && (::kill(pid, 0) == 0 || errno != ESRCH);
}

inline void remove_file(const std::filesystem::path& p) {
  std::error_code ignored;
  std::filesystem::remove(p, ignored);
}

/// Keeps SIGXFSZ blocked in this thread while the cache writes (its value files and SQLite's),
/// and discards one that those writes raised: a write beyond RLIMIT_FSIZE then fails with EFBIG,
/// a storage_error, instead of killing the process by the signal's default action.
///
/// ```text
/// { file_size_signal_guard g; ::write(fd, big, n); }  // -1 with EFBIG, the process lives
/// ```
class file_size_signal_guard {
 public:
  file_size_signal_guard() {
    sigemptyset(&xfsz_);
    sigaddset(&xfsz_, SIGXFSZ);
    pthread_sigmask(SIG_BLOCK, &xfsz_, &old_);
    was_pending_ = pending();
  }
  ~file_size_signal_guard() {
    if (!was_pending_ && pending()) {
      timespec zero{};
      sigtimedwait(&xfsz_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  file_size_signal_guard(const file_size_signal_guard&) = delete;
  file_size_signal_guard& operator=(const file_size_signal_guard&) = delete;

 private:
  static bool pending() {
    sigset_t set;
    return sigpending(&set) == 0 && sigismember(&set, SIGXFSZ) == 1;
  }
  sigset_t xfsz_{}, old_{};
  bool was_pending_ = false;
};

/// Writes `bytes` to a new file `path` and flushes it to disk; on any failure removes it and throws
/// storage_error (a full disk, a file-size limit, a read-only directory). Call it under a
/// file_size_signal_guard.
inline void write_file_synced(const std::filesystem::path& path, std::string_view bytes,
                              const std::string& resource, bool sync = true) {
  if (rlimit r{}; ::getrlimit(RLIMIT_FSIZE, &r) == 0 && r.rlim_cur != RLIM_INFINITY &&
                  bytes.size() > r.rlim_cur)
    throw storage_error(resource, "cannot write a value of " + std::to_string(bytes.size()) +
                                      " bytes: the file-size limit (RLIMIT_FSIZE) is " +
                                      std::to_string(r.rlim_cur) + " bytes");
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) throw system_failure(resource, "cannot create " + path.string(), errno);
  std::size_t done = 0;
  int failure = 0;
  // Allocated at once: ext4 then writes a 1 MB value in three quarters of the time it takes to
  // allocate block by block, and a full disk fails here. A file system without it writes as is.
  if (!bytes.empty() && ::fallocate(fd, 0, 0, static_cast<off_t>(bytes.size())) != 0 &&
      errno != EOPNOTSUPP && errno != ENOSYS && errno != EINVAL)
    failure = errno;
  while (done < bytes.size() && !failure) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) failure = errno;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (!failure && sync && ::fsync(fd) != 0) failure = errno;
  if (::close(fd) != 0 && !failure) failure = errno;
  if (failure) {
    remove_file(path);
    throw system_failure(resource, "cannot write " + path.string(), failure);
  }
}

/// The whole file, padded for simdjson; nullopt if it cannot be read in full (a missing or
/// truncated file is a corrupt entry, not a failure of the cache).
inline std::optional<simdjson::padded_string> read_file_padded(const std::filesystem::path& path,
                                                               std::size_t size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  struct stat st {};
  if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) != size) {
    ::close(fd);
    return std::nullopt;
  }
  simdjson::padded_string out(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, out.data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (done != size) return std::nullopt;
  return out;
}

}  // namespace dedup::detail
