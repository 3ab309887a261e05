// Test and benchmark support for the shared store: a child process killed and reaped by its
// destructor, and a private redis-server on a free loopback port started and stopped the same way.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace dedup_test {

using namespace std::chrono_literals;
using deadline_clock = std::chrono::steady_clock;

/// A child process (posix_spawn, never a bare fork) whose stdout is a pipe read by the parent.
/// The destructor kills and reaps it, also when a test fails.
///
/// ```text
/// dedup_test::child w({"/bin/echo", "ready"});
/// assert(w.read_line(5s) == "ready");
/// ```
class child {
 public:
  explicit child(const std::vector<std::string>& argv, bool quiet_stderr = false) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    if (quiet_stderr) posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    out_ = fds[0];
    if (rc != 0) {
      close(out_);
      throw std::runtime_error("cannot start " + argv[0]);
    }
  }
  ~child() {
    kill_and_reap();
    close(out_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  /// The next line of its stdout, or nullopt at end of output or after `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      if (!fill(until)) return std::nullopt;
    }
  }
  /// Everything it writes until it closes stdout, or nullopt if that takes over `timeout`.
  std::optional<std::string> read_all(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    while (fill(until)) {
    }
    if (!eof_) return std::nullopt;
    return std::exchange(buffer_, {});
  }
  /// Its exit status once it exits within `timeout`, or nullopt (it is left running).
  std::optional<int> wait(std::chrono::milliseconds timeout) {
    auto until = deadline_clock::now() + timeout;
    while (pid_ > 0) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
      if (deadline_clock::now() > until) return std::nullopt;
      std::this_thread::sleep_for(2ms);
    }
    return status_;
  }
  void kill_and_reap() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);  // bounded: SIGKILL cannot be caught
    pid_ = -1;
    status_ = 128 + SIGKILL;
  }
  pid_t pid() const { return pid_; }

 private:
  bool fill(deadline_clock::time_point until) {
    if (eof_) return false;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - deadline_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    ssize_t n = ::read(out_, buf, sizeof buf);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buffer_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int status_ = -1;
  bool eof_ = false;
  std::string buffer_;
};

/// The redis-server program on PATH (or /usr/bin), or "" if there is none.
inline std::string find_redis_server() {
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/bin:/usr/sbin";
  for (std::size_t at = 0; at <= path.size();) {
    auto end = path.find(':', at);
    if (end == std::string::npos) end = path.size();
    auto p = std::filesystem::path(path.substr(at, end - at)) / "redis-server";
    if (end > at && access(p.c_str(), X_OK) == 0) return p.string();
    at = end + 1;
  }
  return {};
}

/// A loopback port nothing listens on now (bind port 0, read it, close).
inline int free_port() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

/// A private redis-server on 127.0.0.1 (no persistence), answering PING when the constructor
/// returns, killed and reaped by the destructor. `available()` is false when the program is
/// missing; callers skip then.
///
/// ```text
/// dedup_test::redis_server r;
/// if (r.available()) use(r.uri(0));
/// ```
class redis_server {
 public:
  redis_server() : program_(find_redis_server()), port_(free_port()) {
    if (!program_.empty()) start();
  }
  bool available() const { return !program_.empty(); }
  int port() const { return port_; }
  std::string uri(int db = 0) const {
    return "redis://127.0.0.1:" + std::to_string(port_) + "/" + std::to_string(db);
  }
  void stop() { process_.reset(); }
  pid_t pid() const { return process_ ? process_->pid() : -1; }
  /// Starts it again on the same port (empty: nothing was saved).
  void start() {
    process_.emplace(std::vector<std::string>{program_, "--port", std::to_string(port_), "--bind",
                                              "127.0.0.1", "--save", "", "--appendonly", "no",
                                              "--loglevel", "warning", "--dir", "/tmp"},
                     true);
    auto until = deadline_clock::now() + 10s;
    while (!ping()) {
      if (deadline_clock::now() > until) throw std::runtime_error("redis-server did not start");
      std::this_thread::sleep_for(10ms);
    }
  }

 private:
  bool ping() const {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::write(s, "PING\r\n", 6) == 6) {
      pollfd p{s, POLLIN, 0};
      char buf[16] = {};
      ok = poll(&p, 1, 1000) == 1 && ::read(s, buf, sizeof buf - 1) > 0 &&
           std::string(buf).starts_with("+PONG");
    }
    close(s);
    return ok;
  }

  std::string program_;
  int port_;
  std::optional<child> process_;
};

}  // namespace dedup_test
