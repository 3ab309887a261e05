// Test and benchmark support for the shared store: a private redis-server on a free loopback
// port, a child process (child_process.hpp) killed and reaped by its destructor.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "child_process.hpp"

namespace dedup_test {

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
  /// Stalls it (SIGSTOP) and returns once it is stopped: every request waits until resume().
  void suspend() {
    if (!process_ || !process_->suspend()) throw std::runtime_error("redis-server did not stop");
  }
  void resume() {
    if (process_) process_->resume();
  }
  /// Starts it again on the same port (empty: nothing was saved). It is ready when its log (on
  /// stdout, at level notice) says so and it answers PING.
  void start() {
    process_.emplace(std::vector<std::string>{program_, "--port", std::to_string(port_), "--bind",
                                              "127.0.0.1", "--save", "", "--appendonly", "no",
                                              "--loglevel", "notice", "--dir", "/tmp"},
                     true);
    auto until = deadline_clock::now() + 10s;
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(until - deadline_clock::now());
      auto line = process_->read_line(left);
      if (!line) throw std::runtime_error("redis-server did not start: " + process_->output(0ms));
      // "Ready to accept connections" since Redis 4, "... now ready to accept ..." before.
      if (line->find("eady to accept connections") != std::string::npos) break;
    }
    if (!ping()) throw std::runtime_error("redis-server does not answer PING");
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
