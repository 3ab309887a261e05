// A Redis connection as the shared store's redis:// backend and the cache's remote tier use it:
// the URI form redis://host:port/db, one timeout for connecting and for every reply, binary-safe
// commands, and a broken connection turned into the library's errors. Compiled into both
// libraries (each links hiredis itself), so neither depends on the other.
#pragma once

#include <hiredis/hiredis.h>
#include <simdjson.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace dedup::detail::redis {

/// Where a redis:// URI points.
struct address {
  std::string host;
  int port = 6379;
  int db = 0;
};

/// Parses "redis://host[:port][/db]" (port 6379 and database 0 when absent); storage_error naming
/// `uri` when it is malformed.
address parse_uri(const std::string& uri);

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply = std::unique_ptr<redisReply, reply_deleter>;

/// Sends one command whose arguments may hold any bytes; null when the connection failed
/// (`ctx->err` says why) or timed out.
reply send(redisContext* ctx, std::span<const std::string_view> args);

/// Frees `ctx` (left null, so that the next call reconnects, to a restarted server too) and
/// throws: timeout_error when no reply came within `timeout`, else storage_error with the
/// system's error code when there is one.
[[noreturn]] void fail(redisContext*& ctx, const std::string& uri, const std::string& what,
                       std::chrono::milliseconds timeout);

/// `send`, with failures thrown: a broken connection by `fail`, an error reply as storage_error
/// ("server error: ...") unless it starts with `passed` (then it is returned).
reply command(redisContext*& ctx, const std::string& uri, std::chrono::milliseconds timeout,
              std::span<const std::string_view> args, std::string_view passed = {});

/// A bulk value of GET split at its first line: `head` holds that line ('\n' included; empty when
/// none ends within the first `head_limit` bytes), `rest` the bytes after it, padded for simdjson.
struct split_value {
  std::string head;
  simdjson::padded_string rest;
};

/// A command that answers with one bulk value (GET, GETEX), the reply read from the socket
/// straight into the result's buffers: a large value then crosses memory once, not three times as
/// through hiredis's reader. Nullopt when the key is absent; failures thrown as by `command` (a
/// reply that is not a bulk string is storage_error).
std::optional<split_value> get_split(redisContext*& ctx, const std::string& uri,
                                     std::chrono::milliseconds timeout,
                                     std::span<const std::string_view> args,
                                     std::size_t head_limit);

/// A connection to `to`, with `timeout` for connecting and for each reply, its database selected.
redisContext* connect(const std::string& uri, const address& to, std::chrono::milliseconds timeout);

}  // namespace dedup::detail::redis
