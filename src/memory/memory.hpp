// memory.hpp: how many heap bytes the process holds, counted at every allocation, and its peak
// resident set. Linking this file replaces the global operator new and delete.
#pragma once

#include <cstddef>

namespace dedup::memory {

/// Bytes currently allocated through operator new (as the allocator sized them).
std::size_t live_bytes();
/// Allocations made through operator new since the process started.
std::size_t allocations();
/// The process's peak resident set size, in bytes.
std::size_t peak_rss();
/// Hands freed memory back and merges free blocks, so that a measurement that follows does not
/// pay for the previous one's frees (glibc defers that work to later allocations).
void settle();
/// Formats a byte count for people: "212.4 MB".
const char* human(std::size_t bytes, char (&buffer)[32]);

}  // namespace dedup::memory
