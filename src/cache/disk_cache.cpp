// The non-template members of dedup::disk_cache (dedup/disk_cache.hpp).
#include "dedup/disk_cache.hpp"

#include <charconv>

#include "disk_cache_copier.hpp"
#include "disk_cache_remote.hpp"

namespace dedup {

namespace {
detail::index_settings settings_of(const disk_cache_options& o, std::string tag, bool create) {
  return {o.directory / (o.prefix + tag),
          o.prefix,
          std::move(tag),
          o.version,
          o.session,
          o.size_limit,
          o.inline_limit,
          o.wait_timeout,
          create};
}
}  // namespace

disk_cache::disk_cache(disk_cache_options options) : options_(std::move(options)) {
  if (options_.session.empty()) options_.session = detail::fresh_session_id();
  if (!options_.remote.empty()) {
    remote_ = std::make_unique<detail::remote_tier>(options_.remote, options_.remote_timeout,
                                                    options_.remote_backoff, options_.remote_ttl,
                                                    state_->counters);
    copier_ = std::make_unique<detail::local_copier>(state_->counters);
  }
  if (!options_.tag.empty()) open_index(true);
}

disk_cache::~disk_cache() = default;

void disk_cache::settle_copies() const {
  if (copier_) copier_->settle();
}

void disk_cache::open_index(bool create) {
  settle_copies();  // they go to the index closed here
  index_.reset();
  if (options_.tag.empty()) return;
  index_ = std::make_unique<detail::disk_index>(settings_of(options_, options_.tag, create),
                                                state_->counters);
  if (remote_) remote_->set_scope(options_.prefix, options_.tag, options_.version);
}

void disk_cache::set_tag(std::string tag) {
  state_->memory.clear();  // another data set: what memory holds belongs to the old one
  options_.tag = std::move(tag);
  try {
    open_index(true);
  } catch (...) {
    options_.tag.clear();
    throw;
  }
}

std::pair<std::string_view, int> disk_cache::split_name(std::string_view name) {
  std::size_t at = name.rfind('@');
  if (at == std::string_view::npos) return {name, 1};
  int minor = 0;
  const char* end = name.data() + name.size();
  auto r = std::from_chars(name.data() + at + 1, end, minor);
  if (r.ec != std::errc() || r.ptr != end || at + 1 == name.size())
    throw usage_error("dedup::disk_cache: entry name '" + std::string(name) +
                      "': the text after '@' must be an integer minor version");
  return {name.substr(0, at), minor};
}

detail::disk_index& disk_cache::index(std::string_view entry) {
  if (!index_)
    throw untagged_cache_error("dedup::disk_cache: entry '" + std::string(entry) +
                               "' used with no tag set: call set_tag(tag) (or give "
                               "disk_cache_options::tag) before storing or loading entries");
  return *index_;
}

std::shared_ptr<const simdjson::padded_string> disk_cache::load_bytes(const detail::entry_id& id,
                                                                      bool& remote) {
  if (auto local = index(id.name).load(id))
    return std::make_shared<const simdjson::padded_string>(std::move(*local));
  if (!remote_) return nullptr;
  auto fetched = remote_->load(id);
  if (!fetched) return nullptr;
  remote = true;
  auto bytes = std::make_shared<const simdjson::padded_string>(std::move(fetched->bytes));
  // The next lookup on this node is a disk hit, once the copy is written.
  if (!index_->read_only()) copier_->copy(*index_, id, bytes, std::move(fetched->checksum));
  return bytes;
}

// Remotely first: the waiters of a single flight on other nodes need not wait for this disk.
void disk_cache::store_bytes(const detail::entry_id& id, std::string_view bytes) {
  detail::disk_index& local = index(id.name);
  settle_copies();  // a copy of an older value must not land after this one
  if (remote_) remote_->store(id, bytes);
  local.store(id, bytes);
}

void disk_cache::drop_bytes(const detail::entry_id& id) {
  settle_copies();
  index(id.name).drop(id);
  if (remote_) remote_->drop(id);
}

// The local lock orders the processes sharing this directory; the remote one, the nodes.
std::unique_ptr<detail::flight_lock> disk_cache::lock_flight(const detail::entry_id& id) {
  std::unique_ptr<detail::flight_lock> held = index(id.name).lock(id);
  if (!remote_) return held;
  std::function<void()> release = remote_->lock(id, options_.wait_timeout);
  if (!release) return held;
  if (!held) held = std::make_unique<detail::flight_lock>(-1);
  held->also_release(std::move(release));
  return held;
}

std::filesystem::path disk_cache::fullpath(std::string_view name) const {
  settle_copies();
  return index_ ? index_->file_of(split_name(name).first) : std::filesystem::path();
}

void disk_cache::clear(std::string_view name) {
  std::string_view base = split_name(name).first;
  settle_copies();
  state_->memory.drop_name(base);
  if (index_) index_->clear(base);
}

void disk_cache::clear_tag() {
  settle_copies();
  state_->memory.clear();
  if (index_) index_->clear_all();
}

void disk_cache::clear_all() {
  settle_copies();
  state_->memory.clear();
  for (const std::string& t : tags(options_.directory, options_.prefix)) {
    if (index_ && t == options_.tag) {
      index_->clear_all();
      continue;
    }
    detail::cache_counters ignored;
    detail::disk_index(settings_of(options_, t, false), ignored).clear_all();
  }
}

std::size_t disk_cache::sweep() {
  settle_copies();
  return index_ ? index_->sweep() : 0;
}

bool disk_cache::read_only() const noexcept {
  return index_ && index_->read_only();
}

std::vector<disk_cache_entry> disk_cache::entries() const {
  settle_copies();
  return index_ ? index_->entries() : std::vector<disk_cache_entry>{};
}

disk_cache_stats disk_cache::stats() const {
  settle_copies();  // their stores and failures are counted
  const detail::cache_counters& c = state_->counters;
  auto get = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  return {state_->memory.hits(),
          get(c.disk_hits),
          get(c.computed),
          get(c.stored),
          get(c.evicted),
          get(c.corrupt),
          get(c.stale),
          get(c.invalid),
          get(c.store_failures),
          get(c.remote_hits),
          get(c.remote_misses),
          get(c.remote_errors),
          get(c.remote_bytes_read),
          get(c.remote_bytes_written)};
}

std::vector<std::string> disk_cache::tags(const std::filesystem::path& directory,
                                          std::string_view prefix) {
  return detail::cache_tags(directory, prefix);
}

std::unique_ptr<disk_cache> disk_cache::open_existing(const std::filesystem::path& directory,
                                                      std::string_view prefix, std::string tag) {
  auto cache = std::make_unique<disk_cache>(
      disk_cache_options{.directory = directory, .prefix = std::string(prefix)});
  cache->options_.tag = std::move(tag);
  cache->open_index(false);
  return cache;
}

}  // namespace dedup
