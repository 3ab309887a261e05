// dedup::shared_store's untyped parts: URI parsing, backend choice, the free-memory probe.
#include <charconv>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "dedup/store.hpp"

namespace dedup::detail {
namespace {

int parse_number(const std::string& uri, std::string_view text, std::string_view what) {
  int n = -1;
  auto r = std::from_chars(text.data(), text.data() + text.size(), n);
  if (text.empty() || r.ec != std::errc{} || r.ptr != text.data() + text.size() || n < 0)
    throw storage_error(uri, "bad " + std::string(what) + " '" + std::string(text) +
                                 "' (expected redis://host:port/db)");
  return n;
}

std::unique_ptr<store_backend> open_redis_uri(const std::string& uri, std::string_view rest,
                                              const store_options& o, bool create) {
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  std::string_view db = slash == std::string_view::npos ? "0" : rest.substr(slash + 1);
  auto colon = hostport.rfind(':');
  std::string_view host = hostport.substr(0, colon);
  std::string_view port = colon == std::string_view::npos ? "6379" : hostport.substr(colon + 1);
  if (host.empty()) throw storage_error(uri, "no host (expected redis://host:port/db)");
  return open_redis_backend(uri, std::string(host), parse_number(uri, port, "port"),
                            parse_number(uri, db, "database number"), o, create);
}

// A name becomes one directory under /dev/shm: no separators, nothing hidden, nothing empty.
bool good_shm_name(std::string_view name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  for (char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return false;
  return true;
}

// The name of an shm:// URI, checked.
std::string shm_name(const std::string& uri) {
  std::string name = uri.substr(6);
  if (!good_shm_name(name))
    throw storage_error(uri, "bad store name (letters, digits, '-', '_', '.'; not empty)");
  return name;
}

}  // namespace

std::unique_ptr<store_backend> open_store_backend(const std::string& uri, const store_options& o,
                                                  bool create) {
  std::string_view u = uri;
  if (u.starts_with("shm://")) return open_shm_backend(uri, shm_name(uri), o, create);
  if (u.starts_with("redis://")) return open_redis_uri(uri, u.substr(8), o, create);
  throw storage_error(uri, "unknown store URI (expected shm://name or redis://host:port/db)");
}

}  // namespace dedup::detail

namespace dedup {

bool shared_store::destroy(const std::string& uri) {
  // Only a well-formed name is removed, so a bad URI cannot name another directory.
  if (std::string_view(uri).starts_with("shm://"))
    return detail::destroy_shm_store(uri, detail::shm_name(uri), store_options{}.lock_timeout);
  detail::open_store_backend(uri, store_options{})->drop();
  return true;
}

store_stats shared_store::stats() {
  return live().stats();
}

}  // namespace dedup
