// The remote tier of a disk cache (disk_cache_remote.hpp), and the listing and clearing of a
// remote tier that `dedup cache --remote` does.
#include "disk_cache_remote.hpp"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <map>
#include <thread>

#include "dedup/disk_cache.hpp"
#include "disk_cache_files.hpp"

namespace dedup::detail {

namespace {

using namespace std::chrono_literals;

// Takes the lock unless the value is already there (2) or another caller holds it (0).
constexpr const char* lock_script = R"lua(
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 0
)lua";

// Releases the lock only for the holder whose token it still carries: one whose lock expired and
// was taken by another caller must not release that caller's.
constexpr const char* unlock_script = R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua";

constexpr std::string_view value_space = "dedup:cache:", lock_space = "dedup:flight:",
                           figures_space = "dedup:cache-figures:";
constexpr const char* figure_names[6] = {"remote_hits",          "remote_misses",
                                         "remote_errors",        "remote_bytes_read",
                                         "remote_bytes_written", "computed"};

// What precedes a value's bytes on the server.
struct value_header {
  std::int64_t version = 0;
  std::string fingerprint, checksum;
  std::int64_t created = 0;
  std::size_t length = 0;  // of the header itself, its newline included
};

std::string header_text(std::int64_t version, std::uint64_t fingerprint, std::string_view bytes) {
  return "dedup-cache 1 " + std::to_string(version) + " " + hex16(fingerprint) + " " +
         hex16(XXH3_64bits(bytes.data(), bytes.size())) + " " +
         std::to_string(static_cast<std::int64_t>(std::time(nullptr))) + "\n";
}

// The longest header line a reader looks for.
constexpr std::size_t header_limit = 128;

std::optional<value_header> parse_header(std::string_view text) {
  auto nl = text.find('\n');
  if (nl == std::string_view::npos || nl >= header_limit) return std::nullopt;
  std::string line(text.substr(0, nl));
  long long version = 0, created = 0;
  char fp[17] = {}, sum[17] = {};
  if (std::sscanf(line.c_str(), "dedup-cache 1 %lld %16s %16s %lld", &version, fp, sum, &created) !=
      4)
    return std::nullopt;
  return value_header{version, fp, sum, created, nl + 1};
}

std::uint64_t load_figure(const std::atomic<std::uint64_t>& a) {
  return a.load(std::memory_order_relaxed);
}

}  // namespace

std::string remote_segment(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string remote_unsegment(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    unsigned byte = 0;
    auto r = text[i] == '%' && i + 2 < text.size()
                 ? std::from_chars(text.data() + i + 1, text.data() + i + 3, byte, 16)
                 : std::from_chars_result{nullptr, std::errc::invalid_argument};
    if (r.ec == std::errc() && r.ptr == text.data() + i + 3) {
      out += static_cast<char>(byte);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

remote_tier::remote_tier(std::string uri, std::chrono::milliseconds timeout,
                         std::chrono::milliseconds backoff, std::chrono::seconds ttl,
                         cache_counters& counters)
    : uri_(std::move(uri)),
      to_(redis::parse_uri(uri_)),
      timeout_(timeout),
      backoff_(backoff),
      ttl_(ttl.count() > 0 ? std::to_string(ttl.count()) : std::string()),
      counters_(counters) {}

remote_tier::~remote_tier() {
  flush_counters();
  if (ctx_) redisFree(ctx_);
}

void remote_tier::set_scope(std::string prefix, std::string tag, int version) {
  flush_counters();  // the figures so far belong to the old tag
  prefix_ = std::move(prefix);
  tag_ = std::move(tag);
  version_ = version;
}

std::string remote_tier::key(std::string_view space, const entry_id& id) const {
  return std::string(space) + remote_segment(prefix_) + ":" + remote_segment(tag_) + ":" +
         remote_segment(id.name) + "@" + std::to_string(id.minor) + ":" + hex16(id.params);
}

redis::reply remote_tier::run(std::initializer_list<std::string_view> args) {
  if (!ctx_) ctx_ = redis::connect(uri_, to_, timeout_);
  return redis::command(ctx_, uri_, timeout_, {args.begin(), args.size()});
}

// Runs `f` (which calls `run`) under the connection's lock, unless the tier is in its back-off
// period; a failure is counted, starts a back-off period, and is named once per outage.
template <class F>
auto remote_tier::guarded(F&& f) -> std::optional<decltype(f())> {
  std::lock_guard lock(mutex_);
  if (!ctx_ && outage_ && std::chrono::steady_clock::now() < retry_at_) return std::nullopt;
  try {
    auto result = f();
    outage_ = false;
    return result;
  } catch (const dedup::exception& e) {
    failed(e.what());
    return std::nullopt;
  }
}

void remote_tier::failed(const std::string& why) {
  counters_.remote_errors.fetch_add(1, std::memory_order_relaxed);
  if (ctx_) redisFree(ctx_);
  ctx_ = nullptr;
  retry_at_ = std::chrono::steady_clock::now() + backoff_;
  if (outage_) return;
  outage_ = true;
  std::string_view what = why;
  if (what.starts_with("dedup: ")) what.remove_prefix(7);
  std::fprintf(stderr,
               "dedup::disk_cache: remote tier failed: %.*s; skipped for %lld ms at a time "
               "until it answers again, local caching goes on\n",
               static_cast<int>(what.size()), what.data(),
               static_cast<long long>(backoff_.count()));
}

std::optional<remote_tier::verified> remote_tier::load(const entry_id& id) {
  if (id.minor == 0) return std::nullopt;
  std::string k = key(value_space, id);
  // With a time to live, a read renews it: what the fleet still reads stays.
  std::string_view get[] = {"GET", k}, get_renewed[] = {"GETEX", k, "EX", ttl_};
  std::span<const std::string_view> command = get_renewed;
  if (ttl_.empty()) command = get;
  auto got = guarded([&] {
    if (!ctx_) ctx_ = redis::connect(uri_, to_, timeout_);
    return redis::get_split(ctx_, uri_, timeout_, command, header_limit);
  });
  if (!got) return std::nullopt;
  auto header = *got ? parse_header((*got)->head) : std::nullopt;
  if (!header) {  // absent, or not a value of this library
    counters_.remote_misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  simdjson::padded_string& bytes = (*got)->rest;
  if (header->fingerprint != hex16(id.fingerprint) ||
      (id.minor >= 1 && header->version != version_)) {
    counters_.stale.fetch_add(1, std::memory_order_relaxed);
    counters_.remote_misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;  // another build's: replaced when this one stores its own
  }
  if (header->checksum != hex16(XXH3_64bits(bytes.data(), bytes.size()))) {
    counters_.corrupt.fetch_add(1, std::memory_order_relaxed);
    counters_.remote_misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  counters_.remote_hits.fetch_add(1, std::memory_order_relaxed);
  counters_.remote_bytes_read.fetch_add(bytes.size(), std::memory_order_relaxed);
  return verified{std::move(bytes), std::move(header->checksum)};
}

void remote_tier::store(const entry_id& id, std::string_view bytes) {
  if (id.minor == 0) return;
  std::string k = key(value_space, id);
  std::string value = header_text(version_, id.fingerprint, bytes);
  value.append(bytes);
  auto set = [&] {
    return ttl_.empty() ? run({"SET", k, value}) : run({"SET", k, value, "EX", ttl_});
  };
  if (guarded(set))
    counters_.remote_bytes_written.fetch_add(bytes.size(), std::memory_order_relaxed);
}

void remote_tier::drop(const entry_id& id) {
  if (id.minor == 0) return;
  std::string k = key(value_space, id);
  guarded([&] { return run({"DEL", k}); });
}

std::function<void()> remote_tier::lock(const entry_id& id, std::chrono::milliseconds wait) {
  if (id.minor == 0) return {};
  std::string lock_key = key(lock_space, id), value_key = key(value_space, id);
  std::string token = hex16(random64()) + hex16(random64());
  // Expiry frees the lock of a node that died computing; a longer computation may be done twice.
  std::string expiry = std::to_string(std::max<long long>(wait.count(), 100));
  auto deadline = std::chrono::steady_clock::now() + wait;
  auto pause = 1ms;
  for (;;) {
    auto r = guarded([&] {
      return run({"EVAL", lock_script, "2", lock_key, value_key, token, expiry});
    });
    if (!r || (*r)->integer == 2) return {};
    if ((*r)->integer == 1) {
      return [this, lock_key, token] {
        guarded([&] { return run({"EVAL", unlock_script, "1", lock_key, token}); });
      };
    }
    if (std::chrono::steady_clock::now() >= deadline) return {};  // computes for itself
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

// Adds what this object counted since the last flush to the tag's figures on the server, so that
// `dedup cache stats --remote` shows the fleet's. Skipped while the tier is failing.
void remote_tier::flush_counters() {
  const std::atomic<std::uint64_t>* now[6] = {
      &counters_.remote_hits,       &counters_.remote_misses,        &counters_.remote_errors,
      &counters_.remote_bytes_read, &counters_.remote_bytes_written, &counters_.computed};
  std::uint64_t delta[6];
  bool any = false;
  for (int i = 0; i < 6; ++i) {
    std::uint64_t v = load_figure(*now[i]);
    delta[i] = v - flushed_[i];
    any = any || delta[i] != 0;
  }
  if (!any || tag_.empty()) return;
  std::string k = std::string(figures_space) + remote_segment(prefix_) + ":" + remote_segment(tag_);
  bool done = guarded([&] {
                for (int i = 0; i < 6; ++i)
                  if (delta[i]) run({"HINCRBY", k, figure_names[i], std::to_string(delta[i])});
                return true;
              }).has_value();
  if (done)
    for (int i = 0; i < 6; ++i) flushed_[i] += delta[i];
}

}  // namespace dedup::detail

namespace dedup {

namespace {

using detail::redis::reply;

// A connection for one listing or clearing; failures are thrown.
struct admin_connection {
  std::string uri;
  std::chrono::milliseconds timeout;
  redisContext* ctx = nullptr;
  admin_connection(std::string u, std::chrono::milliseconds t) : uri(std::move(u)), timeout(t) {
    ctx = detail::redis::connect(uri, detail::redis::parse_uri(uri), timeout);
  }
  ~admin_connection() {
    if (ctx) redisFree(ctx);
  }
  admin_connection(const admin_connection&) = delete;
  admin_connection& operator=(const admin_connection&) = delete;
  reply run(std::initializer_list<std::string_view> args) {
    return detail::redis::command(ctx, uri, timeout, {args.begin(), args.size()});
  }
  // The keys matching `pattern`, by SCAN (the server stays responsive, unlike KEYS).
  std::vector<std::string> keys(const std::string& pattern) {
    std::vector<std::string> out;
    std::string cursor = "0";
    do {
      reply r = run({"SCAN", cursor, "MATCH", pattern, "COUNT", "1000"});
      cursor.assign(r->element[0]->str, r->element[0]->len);
      redisReply* list = r->element[1];
      for (std::size_t i = 0; i < list->elements; ++i)
        out.emplace_back(list->element[i]->str, list->element[i]->len);
    } while (cursor != "0");
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }
};

std::string pattern_of(std::string_view space, std::string_view prefix,
                       const std::optional<std::string>& tag, bool entries) {
  return std::string(space) + detail::remote_segment(prefix) + ":" +
         (tag ? detail::remote_segment(*tag) : std::string("*")) + (entries ? ":*" : "");
}

// The segments of a key after its space, split at ':' (no segment holds one).
std::vector<std::string> segments(std::string_view key, std::string_view space) {
  std::vector<std::string> out;
  key.remove_prefix(space.size());
  for (std::size_t at; (at = key.find(':')) != std::string_view::npos; key.remove_prefix(at + 1))
    out.emplace_back(key.substr(0, at));
  out.emplace_back(key);
  return out;
}

// The listing's row of the value stored under `key`; nullopt for a key that is not one.
std::optional<disk_cache_entry> remote_entry(admin_connection& c, const std::string& key) {
  auto seg = segments(key, detail::value_space);
  if (seg.size() != 4) return std::nullopt;
  auto at = seg[2].rfind('@');
  if (at == std::string::npos) return std::nullopt;
  reply head = c.run({"GETRANGE", key, "0", std::to_string(detail::header_limit - 1)});
  auto header =
      detail::parse_header(head->type == REDIS_REPLY_STRING ? std::string_view(head->str, head->len)
                                                            : std::string_view());
  if (!header) return std::nullopt;
  auto size = static_cast<std::uint64_t>(c.run({"STRLEN", key})->integer);
  disk_cache_entry e;
  e.tag = detail::remote_unsegment(seg[1]);
  e.name = detail::remote_unsegment(seg[2].substr(0, at));
  e.minor = std::atoi(seg[2].c_str() + at + 1);
  e.version = e.minor >= 1 ? header->version : 0;
  e.parameters_hash = seg[3];
  e.layout_fingerprint = header->fingerprint;
  e.size = size - std::min<std::uint64_t>(size, header->length);
  e.checksum = header->checksum;
  e.created = header->created;
  return e;
}

}  // namespace

std::vector<disk_cache_remote_tag> disk_cache::remote_tags(const std::string& uri,
                                                           std::string_view prefix,
                                                           const std::optional<std::string>& tag,
                                                           std::chrono::milliseconds timeout) {
  admin_connection c(uri, timeout);
  std::map<std::string, disk_cache_remote_tag> tags;
  auto of = [&](const std::string& t) -> disk_cache_remote_tag& {
    auto& slot = tags[t];
    slot.tag = t;
    return slot;
  };
  for (const auto& key : c.keys(pattern_of(detail::value_space, prefix, tag, true)))
    if (auto e = remote_entry(c, key)) of(e->tag).entries.push_back(std::move(*e));
  for (const auto& key : c.keys(pattern_of(detail::figures_space, prefix, tag, false))) {
    auto seg = segments(key, detail::figures_space);
    if (seg.size() != 2) continue;
    disk_cache_stats& f = of(detail::remote_unsegment(seg[1])).figures;
    std::uint64_t* fields[6] = {&f.remote_hits,       &f.remote_misses,        &f.remote_errors,
                                &f.remote_bytes_read, &f.remote_bytes_written, &f.computed};
    for (int i = 0; i < 6; ++i) {
      reply r = c.run({"HGET", key, detail::figure_names[i]});
      if (r->type == REDIS_REPLY_STRING) *fields[i] = std::strtoull(r->str, nullptr, 10);
    }
  }
  std::vector<disk_cache_remote_tag> out;
  for (auto& [name, t] : tags) out.push_back(std::move(t));
  return out;
}

std::uint64_t disk_cache::clear_remote(const std::string& uri, std::string_view prefix,
                                       const std::optional<std::string>& tag,
                                       std::chrono::milliseconds timeout) {
  admin_connection c(uri, timeout);
  std::uint64_t removed = 0;
  for (const auto& key : c.keys(pattern_of(detail::value_space, prefix, tag, true)))
    removed += static_cast<std::uint64_t>(c.run({"DEL", key})->integer);
  return removed;
}

}  // namespace dedup
