// dedup::shared_store's untyped parts: URI parsing, backend choice, the free-memory probe.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "dedup/store.hpp"

namespace dedup::detail {
namespace {

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
  if (u.starts_with("redis://")) return open_redis_backend(uri, o, create);
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
