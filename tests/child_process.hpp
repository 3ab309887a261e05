// Child processes for the tests and the benchmarks: a program spawned with its stdout on a pipe,
// talked to by the lines it writes, waited for with a deadline, and always killed and reaped by
// its destructor. No Catch2 here, so that bench/ uses it too.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

extern char** environ;

namespace dedup_test {

using namespace std::chrono_literals;
using deadline_clock = std::chrono::steady_clock;

/// A child process (posix_spawn, never a bare fork) whose stdout is a pipe read by the parent.
/// Everything it writes is kept (output()); read_line() hands the lines out one by one, so that
/// a test acts once the child has said where it is. Waiting watches the exit through a pidfd
/// and drains the pipe meanwhile, so that a chatty child never blocks on a full pipe. The
/// destructor kills and reaps it, also when a test fails.
///
/// ```text
/// dedup_test::child w({"/bin/echo", "ready"});
/// assert(w.read_line(5s) == "ready");
/// assert(w.wait(5s) == 0);
/// ```
class child {
 public:
  /// Starts `argv[0]` (a path) with the arguments `argv`; stderr goes to /dev/null if
  /// `quiet_stderr`, else to this process's stderr.
  explicit child(const std::vector<std::string>& argv, bool quiet_stderr = false) {
    int fds[2];
    // Close-on-exec, so that a child spawned meanwhile from another thread does not hold the
    // write end open and hide this one's end of output.
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    if (quiet_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      pid_ = -1;
      ::close(out_);
      throw std::runtime_error("cannot start " + argv[0]);
    }
#ifdef SYS_pidfd_open
    exit_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));  // -1 before Linux 5.3
#endif
  }
  ~child() {
    kill_and_reap();
    ::close(out_);
    if (exit_ >= 0) ::close(exit_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// The next line of its stdout not yet handed out, or nullopt at end of output or after
  /// `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    for (;;) {
      if (auto nl = text_.find('\n', at_); nl != std::string::npos) {
        std::string line = text_.substr(at_, nl - at_);
        at_ = nl + 1;
        return line;
      }
      if (!fill(until)) return std::nullopt;
    }
  }
  /// Whether it has written `n` lines in all, reading until it has, its output ends or `timeout`
  /// passes.
  bool await_lines(std::size_t n, std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    while (static_cast<std::size_t>(std::count(text_.begin(), text_.end(), '\n')) < n)
      if (!fill(until)) return false;
    return true;
  }
  /// What it writes from the last line handed out until it closes stdout, or nullopt if that
  /// takes over `timeout`.
  std::optional<std::string> read_all(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    while (fill(until)) {
    }
    if (!eof_) return std::nullopt;
    return text_.substr(std::exchange(at_, text_.size()));
  }
  /// Everything it wrote to stdout, lines handed out included: after it has exited, all of it;
  /// else what it wrote within `timeout`.
  const std::string& output(std::chrono::milliseconds timeout = 10s) {
    auto until = deadline_clock::now() + timeout;
    while (fill(until)) {
    }
    return text_;
  }

  /// Its exit status (128 + the signal's number when a signal ended it) once it exits within
  /// `timeout`, or nullopt (it is left running).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    while (!exited()) {
      auto left = remaining(until);
      if (left <= 0) return std::nullopt;
      // Without a pidfd (before Linux 5.3) the exit is looked for every 10 ms.
      pollfd p[2] = {{eof_ ? -1 : out_, POLLIN, 0}, {exit_, POLLIN, 0}};
      int ready = ::poll(p, exit_ >= 0 ? 2 : 1, exit_ >= 0 ? left : std::min(left, 10));
      if (ready > 0 && p[0].revents) read_some();
    }
    return status_;
  }
  /// Whether it has exited, without waiting; it is reaped then and wait() returns its status.
  bool exited() {
    if (pid_ <= 0) return true;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) != pid_) return false;
    reaped(status);
    return true;
  }

  /// Sends `sig` (a kill, SIGTERM, ...) without waiting; wait() or exited() reap it after.
  void signal(int sig) {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  /// Stops it (SIGSTOP) and returns once the kernel reports it stopped, so that what follows
  /// meets a stalled process however busy the machine is; false if it exited instead.
  bool suspend() {
    if (pid_ <= 0) return false;
    ::kill(pid_, SIGSTOP);
    int status = 0;
    while (::waitpid(pid_, &status, WUNTRACED) == -1)
      if (errno != EINTR) return false;
    if (WIFSTOPPED(status)) return true;
    reaped(status);
    return false;
  }
  /// Lets a suspended child go on (SIGCONT).
  void resume() {
    signal(SIGCONT);
  }
  /// Kills it (SIGKILL) and reaps it; its output stays readable.
  void kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);  // bounded: SIGKILL cannot be caught
    reaped(status);
  }
  /// Its process id, -1 once reaped.
  pid_t pid() const {
    return pid_;
  }

 private:
  static int remaining(deadline_clock::time_point until) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(until - deadline_clock::now());
    return static_cast<int>(std::max<long long>(left.count(), 0));
  }
  void reaped(int status) {
    pid_ = -1;
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  // Reads what the pipe holds once it holds something, waiting until `until` at most.
  bool fill(deadline_clock::time_point until) {
    int left = remaining(until);
    if (eof_ || left <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, left) <= 0) return false;
    return read_some();
  }
  bool read_some() {
    char buf[4096];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = n == 0 || errno != EINTR;
      return !eof_;
    }
    text_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int exit_ = -1;  // a pidfd, readable once the child exits
  int status_ = -1;
  bool eof_ = false;
  std::string text_;    // all it wrote so far
  std::size_t at_ = 0;  // where the lines not yet handed out begin
};

}  // namespace dedup_test
