// The redis:// backend: one store per Redis database, in three keys (the values hash, a sorted set
// of access stamps, a meta hash of counters), changed only by server-side Lua scripts so that a
// put with its evictions is atomic however many clients write.
#include <chrono>
#include <cstring>
#include <mutex>
#include <optional>
#include <span>

#include "../redis/redis_connection.hpp"
#include "dedup/store.hpp"

namespace dedup::detail {
namespace {

constexpr const char* put_script = R"lua(
local vals, stamps, meta = KEYS[1], KEYS[2], KEYS[3]
local key, value, rotate, low = ARGV[1], ARGV[2], ARGV[3] == 'r', ARGV[4] == '1'
local limit = tonumber(redis.call('HGET', meta, 'capacity'))
if not limit then return redis.error_reply('no such store: it was destroyed') end
local old = redis.call('HSTRLEN', vals, key)
local held = tonumber(redis.call('HGET', meta, 'bytes') or '0')
local bytes = held - old
local size = string.len(value)
-- Under memory pressure the store may not grow: what it holds now is all it may use.
if low and held < limit then limit = held end
local function room() return bytes + size <= limit end
if not room() then
  if (not rotate) or size > limit then
    redis.call('HINCRBY', meta, 'refusals', 1)
    return 0
  end
  while not room() do
    local first = redis.call('ZRANGE', stamps, 0, 1)
    local victim = first[1]
    if victim == key then victim = first[2] end
    if not victim then break end
    bytes = bytes - redis.call('HSTRLEN', vals, victim)
    redis.call('HDEL', vals, victim)
    redis.call('ZREM', stamps, victim)
    redis.call('HINCRBY', meta, 'evictions', 1)
  end
  if not room() then
    redis.call('HSET', meta, 'bytes', bytes + old)
    redis.call('HINCRBY', meta, 'refusals', 1)
    return 0
  end
end
redis.call('HSET', vals, key, value)
redis.call('ZADD', stamps, redis.call('HINCRBY', meta, 'clock', 1), key)
redis.call('HSET', meta, 'bytes', bytes + size)
return 1
)lua";

constexpr const char* get_script = R"lua(
local v = redis.call('HGET', KEYS[1], ARGV[1])
if v then redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[3], 'clock', 1), ARGV[1]) end
return v
)lua";

constexpr const char* remove_script = R"lua(
local n = redis.call('HSTRLEN', KEYS[1], ARGV[1])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HINCRBY', KEYS[3], 'bytes', -n)
return 1
)lua";

constexpr const char* clear_script = R"lua(
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[3], 'bytes', 0)
return 1
)lua";

using redis::reply;

enum script_id { put_id, get_id, remove_id, clear_id, script_count };
constexpr const char* scripts[script_count] = {put_script, get_script, remove_script, clear_script};

class redis_backend final : public store_backend {
 public:
  redis_backend(std::string uri, redis::address to, const store_options& o, bool create)
      : uri_(std::move(uri)), to_(std::move(to)), o_(o), must_exist_(!create) {
    std::lock_guard lock(m_);
    connection();
  }
  ~redis_backend() override {
    if (ctx_) redisFree(ctx_);
  }

  const std::string& uri() const override { return uri_; }

  std::size_t count() override {
    std::lock_guard lock(m_);
    return static_cast<std::size_t>(command({"HLEN", values_})->integer);
  }
  std::vector<std::string> keys() override {
    std::lock_guard lock(m_);
    auto r = command({"HKEYS", values_});
    std::vector<std::string> out;
    for (std::size_t i = 0; i < r->elements; ++i)
      out.emplace_back(r->element[i]->str, r->element[i]->len);
    return out;
  }
  bool has(std::string_view key) override {
    check_key(key);
    std::lock_guard lock(m_);
    return command({"HEXISTS", values_, key})->integer == 1;
  }
  bool read(std::string_view key, const std::function<void(std::string_view)>& use) override {
    check_key(key);
    std::unique_lock lock(m_);
    auto r = script(get_id, {key});
    lock.unlock();
    if (r->type != REDIS_REPLY_STRING) return false;
    use(std::string_view(r->str, r->len));
    return true;
  }
  std::optional<pinned_bytes> view(std::string_view key) override {
    check_key(key);
    std::unique_lock lock(m_);
    std::shared_ptr<redisReply> r = script(get_id, {key});
    lock.unlock();
    if (r->type != REDIS_REPLY_STRING) return std::nullopt;
    // The reply is the owned buffer: one copy, from the socket, made by hiredis.
    auto bytes = std::as_bytes(std::span(r->str, r->len));
    return pinned_bytes{bytes, std::move(r)};
  }
  bool put(std::string_view key, std::string_view value) override {
    check_key(key);
    if (value.size() > redis_max_value)
      throw storage_error(uri_, "a value must have at most " + std::to_string(redis_max_value) +
                                    " bytes, not " + std::to_string(value.size()));
    std::lock_guard lock(m_);
    bool low = memory_low();
    return script(put_id, {key, value, o_.on_full == overflow::rotate ? "r" : "s", low ? "1" : "0"})
               ->integer == 1;
  }
  bool remove(std::string_view key) override {
    check_key(key);
    std::lock_guard lock(m_);
    return script(remove_id, {key})->integer == 1;
  }
  void clear() override {
    std::lock_guard lock(m_);
    script(clear_id, {});
  }
  void drop() override {
    std::lock_guard lock(m_);
    command({"DEL", values_, stamps_, meta_});
  }
  store_stats stats() override;

 private:
  void check_key(std::string_view key) const {
    if (key.empty() || key.size() > 511)
      throw storage_error(uri_,
                          "a key must have 1 to 511 bytes, not " + std::to_string(key.size()));
  }
  redisContext* connection();
  [[noreturn]] void lost(const std::string& what);
  reply command(std::initializer_list<std::string_view> args);
  reply script(script_id id, std::initializer_list<std::string_view> args);
  bool memory_low();

  std::string uri_;
  redis::address to_;
  store_options o_;
  std::mutex m_;  // one connection per handle; hiredis contexts are not thread-safe
  redisContext* ctx_ = nullptr;
  std::string sha_[script_count];
  std::string values_ = "dedup:values", stamps_ = "dedup:stamps", meta_ = "dedup:meta";
  std::chrono::steady_clock::time_point memory_read_{};
  bool memory_low_ = false;
  bool must_exist_;  // opened by open_existing, until its first connection found the store
};

// A broken connection is dropped, so that the next call reconnects (to a restarted server).
void redis_backend::lost(const std::string& what) {
  redis::fail(ctx_, uri_, what, o_.lock_timeout);
}

redisContext* redis_backend::connection() {
  if (ctx_) return ctx_;
  ctx_ = redis::connect(uri_, to_, o_.lock_timeout);
  for (int i = 0; i < script_count; ++i) {
    auto r = command({"SCRIPT", "LOAD", scripts[i]});
    sha_[i].assign(r->str, r->len);
  }
  if (must_exist_) {
    if (command({"EXISTS", meta_})->integer == 0) {
      redisFree(ctx_);
      ctx_ = nullptr;
      throw storage_error(uri_, "no such store");
    }
    must_exist_ = false;
  }
  // The creator's capacity; also after a restarted server forgot everything.
  command({"HSETNX", meta_, "capacity", std::to_string(o_.capacity_bytes)});
  return ctx_;
}

reply redis_backend::command(std::initializer_list<std::string_view> args) {
  connection();
  return redis::command(ctx_, uri_, o_.lock_timeout, {args.begin(), args.size()}, "NOSCRIPT");
}

reply redis_backend::script(script_id id, std::initializer_list<std::string_view> args) {
  for (int attempt = 0;; ++attempt) {
    connection();
    std::vector<std::string_view> all{"EVALSHA", sha_[id], "3", values_, stamps_, meta_};
    all.insert(all.end(), args.begin(), args.end());
    reply r = redis::send(ctx_, all);
    if (!r) lost("server not answering");
    if (r->type != REDIS_REPLY_ERROR) return r;
    std::string text(r->str, r->len);
    // A restarted or flushed server forgot the scripts: load them again, once.
    if (!text.starts_with("NOSCRIPT") || attempt > 0)
      throw storage_error(uri_, "server error: " + text);
    auto loaded = command({"SCRIPT", "LOAD", scripts[id]});
    sha_[id].assign(loaded->str, loaded->len);
  }
}

// The server's memory, not this node's: used against maxmemory if set, else against the server
// machine's total. Asked at most every 5 ms.
bool redis_backend::memory_low() {
  if (o_.min_free_mem_pct <= 0) return false;
  auto now = std::chrono::steady_clock::now();
  if (memory_read_ != std::chrono::steady_clock::time_point{} &&
      now - memory_read_ < std::chrono::milliseconds(5))
    return memory_low_;
  memory_read_ = now;
  auto r = command({"INFO", "memory"});
  std::string_view info(r->str, r->len);
  auto field = [&](std::string_view name) -> double {
    auto at = info.find(std::string(name) + ":");
    return at == std::string_view::npos ? 0.0 : std::atof(info.data() + at + name.size() + 1);
  };
  double used = field("used_memory"), max = field("maxmemory");
  double total = max > 0 ? max : field("total_system_memory");
  memory_low_ = total > 0 && 1.0 - used / total < o_.min_free_mem_pct;
  return memory_low_;
}

store_stats redis_backend::stats() {
  std::lock_guard lock(m_);
  store_stats s;
  s.entries = static_cast<std::size_t>(command({"HLEN", values_})->integer);
  auto r = command({"HMGET", meta_, "bytes", "capacity", "evictions", "refusals"});
  auto at = [&](std::size_t i) -> std::uint64_t {
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING
               ? std::strtoull(r->element[i]->str, nullptr, 10)
               : 0;
  };
  s.value_bytes = at(0);
  s.capacity_bytes = at(1);
  s.evictions = at(2);
  s.refusals = at(3);
  return s;
}

}  // namespace

std::unique_ptr<store_backend> open_redis_backend(const std::string& uri, const store_options& o,
                                                  bool create) {
  return std::make_unique<redis_backend>(uri, redis::parse_uri(uri), o, create);
}

}  // namespace dedup::detail
