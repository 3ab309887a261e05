// The Redis connection shared by the store's redis:// backend and the cache's remote tier.
#include "redis_connection.hpp"

#include <cerrno>
#include <charconv>
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
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  for (auto a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  return reply(static_cast<redisReply*>(
      redisCommandArgv(ctx, static_cast<int>(argv.size()), argv.data(), lens.data())));
}

void fail(redisContext*& ctx, const std::string& uri, const std::string& what,
          std::chrono::milliseconds timeout) {
  int failure = errno;  // hiredis leaves the system's error there for REDIS_ERR_IO
  bool system = ctx && ctx->err == REDIS_ERR_IO && failure != 0;
  bool timed_out = system && (failure == EAGAIN || failure == EWOULDBLOCK);
  std::string detail = what + (ctx && ctx->errstr[0] ? std::string(": ") + ctx->errstr : "");
  if (ctx) redisFree(ctx);
  ctx = nullptr;
  if (timed_out)
    throw timeout_error(uri,
                        detail + " (no reply within " + std::to_string(timeout.count()) + " ms)");
  throw storage_error(
      uri, detail, system ? std::error_code(failure, std::system_category()) : std::error_code());
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
