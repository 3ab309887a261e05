#include "memory.hpp"

#include <malloc.h>
#include <sys/resource.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>

namespace {
std::atomic<std::size_t> live{0};
std::atomic<std::size_t> count{0};

void* allocate(std::size_t n) {
  void* p = std::malloc(n ? n : 1);
  if (!p) throw std::bad_alloc();
  live.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void* allocate_aligned(std::size_t n, std::align_val_t align) {
  std::size_t a = static_cast<std::size_t>(align);
  void* p = std::aligned_alloc(a, (n + a - 1) / a * a);
  if (!p) throw std::bad_alloc();
  live.fetch_add(malloc_usable_size(p), std::memory_order_relaxed);
  count.fetch_add(1, std::memory_order_relaxed);
  return p;
}
void release(void* p) noexcept {
  if (!p) return;
  live.fetch_sub(malloc_usable_size(p), std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t n) {
  return allocate(n);
}
void* operator new[](std::size_t n) {
  return allocate(n);
}
void operator delete(void* p) noexcept {
  release(p);
}
void operator delete[](void* p) noexcept {
  release(p);
}
void operator delete(void* p, std::size_t) noexcept {
  release(p);
}
void* operator new(std::size_t n, std::align_val_t a) {
  return allocate_aligned(n, a);
}
void* operator new[](std::size_t n, std::align_val_t a) {
  return allocate_aligned(n, a);
}
void operator delete(void* p, std::align_val_t) noexcept {
  release(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  release(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  release(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  release(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  release(p);
}
// The nothrow forms (simdjson's padded buffers use them) must be replaced too: a sanitizer runtime
// provides its own, which would not go through allocate() and so would be freed by release()
// without having been allocated by it.
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  try {
    return allocate(n);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
}
void* operator new[](std::size_t n, const std::nothrow_t& tag) noexcept {
  return operator new(n, tag);
}
void operator delete(void* p, const std::nothrow_t&) noexcept {
  release(p);
}
void operator delete[](void* p, const std::nothrow_t&) noexcept {
  release(p);
}

namespace dedup::memory {

std::size_t live_bytes() {
  return live.load(std::memory_order_relaxed);
}
std::size_t allocations() {
  return count.load(std::memory_order_relaxed);
}

std::size_t peak_rss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<std::size_t>(usage.ru_maxrss) * 1024;
}

void settle() {
  malloc_trim(0);
}

const char* human(std::size_t bytes, char (&buffer)[32]) {
  if (bytes >= 10'000'000)
    std::snprintf(buffer, sizeof buffer, "%.1f MB", bytes / 1e6);
  else if (bytes >= 10'000)
    std::snprintf(buffer, sizeof buffer, "%.1f kB", bytes / 1e3);
  else
    std::snprintf(buffer, sizeof buffer, "%zu B", bytes);
  return buffer;
}

}  // namespace dedup::memory
