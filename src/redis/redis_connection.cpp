// The Redis connection shared by the store's redis:// backend and the cache's remote tier.
#include "redis_connection.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <system_error>
#include <vector>

#include "dedup/error.hpp"

namespace dedup::detail::redis {
namespace {

int parse_number(const std::string& uri, std::string_view text, std::string_view what) {
  int n = -1;
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || n < 0)
    throw storage_error(uri, "bad " + std::string(what) + " '" + std::string(text) +
                                 "' (expected redis://host:port/db)");
  return n;
}

timeval timeval_of(std::chrono::milliseconds t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t).count();
  return {static_cast<time_t>(us / 1'000'000), static_cast<suseconds_t>(us % 1'000'000)};
}

// Frees `ctx` (left null: the next call reconnects) and throws: timeout_error when `failure` says
// no reply came in time, else storage_error with the system's error code when there is one.
[[noreturn]] void drop(redisContext*& ctx, const std::string& uri, const std::string& detail,
                       int failure, std::chrono::milliseconds timeout) {
  if (ctx) redisFree(ctx);
  ctx = nullptr;
  if (failure == EAGAIN || failure == EWOULDBLOCK)
    throw timeout_error(uri,
                        detail + " (no reply within " + std::to_string(timeout.count()) + " ms)");
  throw storage_error(
      uri, detail, failure ? std::error_code(failure, std::system_category()) : std::error_code());
}

// Reads a GET's reply from the socket by itself. Between commands hiredis holds no unread byte
// (one reply per command), so what the socket has next is this reply and nothing after it.
class reply_reader {
 public:
  reply_reader(redisContext*& ctx, const std::string& uri, std::chrono::milliseconds timeout)
      : ctx_(ctx), uri_(uri), timeout_(timeout) {}

  // The reply's first line ("$5", "-ERR ..."), its "\r\n" consumed.
  std::string_view first_line() {
    std::size_t eol;
    while ((eol = std::string_view(buf_, have_).find("\r\n")) == std::string_view::npos) {
      if (have_ == sizeof buf_) broken("a reply line longer than " + std::to_string(sizeof buf_));
      have_ += receive(buf_ + have_, sizeof buf_ - have_);
    }
    used_ = eol + 2;
    return {buf_, eol};
  }
  // At least `n` bytes after the first line in the buffer, unless fewer can come (`cap`).
  std::string_view peek(std::size_t n, std::size_t cap) {
    n = std::min(n, cap);
    while (have_ - used_ < n && have_ < sizeof buf_)
      have_ += receive(buf_ + have_, sizeof buf_ - have_);
    return {buf_ + used_, std::min(have_ - used_, cap)};
  }
  // Fills `out` with the next bytes: first those buffered, then straight from the socket.
  void read(char* out, std::size_t n) {
    std::size_t buffered = std::min(n, have_ - used_);
    std::memcpy(out, buf_ + used_, buffered);
    used_ += buffered;
    for (std::size_t done = buffered; done < n;) done += receive(out + done, n - done);
  }
  [[noreturn]] void broken(const std::string& why) {
    drop(ctx_, uri_, "unexpected reply: " + why, 0, timeout_);
  }

 private:
  std::size_t receive(char* into, std::size_t n) {
    for (;;) {
      ssize_t got = ::recv(ctx_->fd, into, n, 0);
      if (got > 0) return static_cast<std::size_t>(got);
      if (got < 0 && errno == EINTR) continue;
      int failure = got == 0 ? 0 : errno;
      drop(ctx_, uri_, failure ? "server not answering" : "server closed the connection", failure,
           timeout_);
    }
  }

  redisContext*& ctx_;
  const std::string& uri_;
  std::chrono::milliseconds timeout_;
  char buf_[4096];
  std::size_t have_ = 0, used_ = 0;
};

// A command in hiredis's form: its arguments' pointers and lengths, any bytes allowed.
struct command_argv {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  explicit command_argv(std::span<const std::string_view> args) {
    for (std::string_view a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
  }
  int count() const { return static_cast<int>(argv.size()); }
};

}  // namespace

address parse_uri(const std::string& uri) {
  std::string_view rest = uri;
  if (!rest.starts_with("redis://"))
    throw storage_error(uri, "not a redis:// URI (expected redis://host:port/db)");
  rest.remove_prefix(8);
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view db = slash == std::string_view::npos ? "0" : rest.substr(slash + 1);
  auto colon = hostport.rfind(':');
  std::string_view host = hostport.substr(0, colon);
  std::string_view port = colon == std::string_view::npos ? "6379" : hostport.substr(colon + 1);
  if (host.empty()) throw storage_error(uri, "no host (expected redis://host:port/db)");
  return {std::string(host), parse_number(uri, port, "port"),
          parse_number(uri, db, "database number")};
}

reply send(redisContext* ctx, std::span<const std::string_view> args) {
  command_argv c(args);
  return reply(
      static_cast<redisReply*>(redisCommandArgv(ctx, c.count(), c.argv.data(), c.lens.data())));
}

void fail(redisContext*& ctx, const std::string& uri, const std::string& what,
          std::chrono::milliseconds timeout) {
  int failure = errno;  // hiredis leaves the system's error there for REDIS_ERR_IO
  bool system = ctx && ctx->err == REDIS_ERR_IO;
  std::string detail = what + (ctx && ctx->errstr[0] ? std::string(": ") + ctx->errstr : "");
  drop(ctx, uri, detail, system ? failure : 0, timeout);
}

reply command(redisContext*& ctx, const std::string& uri, std::chrono::milliseconds timeout,
              std::span<const std::string_view> args, std::string_view passed) {
  reply r = send(ctx, args);
  if (!r) fail(ctx, uri, "server not answering", timeout);
  if (r->type == REDIS_REPLY_ERROR) {
    std::string text(r->str, r->len);
    if (!passed.empty() && text.starts_with(passed)) return r;
    throw storage_error(uri, "server error: " + text);
  }
  return r;
}

std::optional<split_value> get_split(redisContext*& ctx, const std::string& uri,
                                     std::chrono::milliseconds timeout,
                                     std::span<const std::string_view> args,
                                     std::size_t head_limit) {
  command_argv c(args);
  int done = 0;
  if (redisAppendCommandArgv(ctx, c.count(), c.argv.data(), c.lens.data()) != REDIS_OK)
    fail(ctx, uri, "cannot send", timeout);
  while (!done)
    if (redisBufferWrite(ctx, &done) != REDIS_OK) fail(ctx, uri, "server not answering", timeout);
  reply_reader in(ctx, uri, timeout);
  std::string line(in.first_line());
  if (line.starts_with('-')) throw storage_error(uri, "server error: " + line.substr(1));
  long long size = -2;
  auto r = std::from_chars(line.data() + std::min<std::size_t>(1, line.size()),
                           line.data() + line.size(), size);
  if (!line.starts_with('$') || r.ec != std::errc() || size < -1)
    in.broken("'" + line + "' to " + std::string(args.empty() ? "" : args[0]));
  if (size == -1) return std::nullopt;
  auto total = static_cast<std::size_t>(size);
  std::string_view first = in.peek(head_limit, total);
  std::size_t nl = first.find('\n');
  split_value out{std::string(nl == std::string_view::npos ? 0 : nl + 1, '\0'),
                  simdjson::padded_string()};
  in.read(out.head.data(), out.head.size());
  out.rest = simdjson::padded_string(total - out.head.size());
  in.read(out.rest.data(), out.rest.size());
  char crlf[2];
  in.read(crlf, 2);
  return out;
}

redisContext* connect(const std::string& uri, const address& to,
                      std::chrono::milliseconds timeout) {
  redisContext* ctx = redisConnectWithTimeout(to.host.c_str(), to.port, timeval_of(timeout));
  if (!ctx) throw storage_error(uri, "cannot allocate a connection");
  if (ctx->err) fail(ctx, uri, "cannot connect", timeout);
  redisSetTimeout(ctx, timeval_of(timeout));
  std::string db = std::to_string(to.db);
  std::string_view select[] = {"SELECT", db};
  command(ctx, uri, timeout, select);
  return ctx;
}

}  // namespace dedup::detail::redis
