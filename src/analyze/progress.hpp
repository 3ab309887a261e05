// progress.hpp: the one-line progress bar the subcommands draw on stderr for large files.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>

namespace dedup::cli {

/// A one-line progress bar on stderr, redrawn at most ten times a second; the last draw (all
/// bytes done) ends the line.
///
/// ```
/// progress_bar bar;
/// bar.draw(done_bytes, total_bytes, records, "refs");
/// ```
class progress_bar {
 public:
  void draw(std::uintmax_t bytes, std::uintmax_t total, std::size_t count, const char* word) {
    auto now = std::chrono::steady_clock::now();
    bool last = total && bytes >= total;
    if (!last && now - drawn_ < std::chrono::milliseconds(100)) return;
    drawn_ = now;
    double done = total ? double(bytes) / double(total) : 0;
    int filled = static_cast<int>(done * 40);
    std::fprintf(stderr, "\r[%-40.*s] %3.0f%%  %zu %s", filled,
                 "########################################", done * 100, count, word);
    if (last) std::fputc('\n', stderr);
    std::fflush(stderr);
  }

 private:
  std::chrono::steady_clock::time_point drawn_{};
};

}  // namespace dedup::cli
