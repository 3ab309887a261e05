// The `dedup` command: runs the built-in demo workload and loads reference-model files.
#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

#include "cli.hpp"
#include "dedup/error.hpp"

namespace {

constexpr const char* usage = R"(usage: dedup <command> [options]

Deserializes dataset references whose nested objects repeat, once plainly and once with dedup's
scoped interning, and shows what sharing saves.

commands:
  demo    generate the built-in reference workload, load it twice and compare
  load    read a file of dataset refs in parallel and show what was built and shared
  analyze find the objects and arrays that repeat in any JSON file and propose keys for them
  cache   list, count, clear or sweep the persistent caches (dedup::disk_cache) under a directory
  store   stats, keys or clear of a shared store (shm://name, redis://host:port/db)

Run 'dedup <command> --help' for a command's options.
)";

}  // namespace

namespace dedup::cli {

std::string_view text_option(const args& a, std::size_t& i) {
  if (i + 1 >= a.size()) throw usage_error{std::string(a[i]) + " needs a value"};
  return a[++i];
}

std::size_t count_option(const args& a, std::size_t& i) {
  std::string_view name = a[i];
  std::string value(text_option(a, i));
  std::size_t used = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(value, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != value.size() || value.empty() || value[0] == '-')
    throw usage_error{std::string(name) + " needs a whole number, not '" + value + "'"};
  return static_cast<std::size_t>(n);
}

std::filesystem::path input_file(std::string_view name, std::string_view what) {
  std::filesystem::path file{std::string(name)};
  if (std::filesystem::is_directory(file))
    throw std::runtime_error(file.string() + " is a directory, not a " + std::string(what));
  if (!std::filesystem::is_regular_file(file))
    throw std::runtime_error("no such file: " + file.string());
  return file;
}

std::string plural(std::size_t n, std::string_view word) {
  return std::to_string(n) + " " + std::string(word) + (n == 1 ? "" : "s");
}

}  // namespace dedup::cli

int main(int argc, char** argv) {
  dedup::cli::args a(argv + 1, argv + argc);
  if (a.empty() || a[0] == "--help" || a[0] == "-h" || a[0] == "help") {
    std::fputs(usage, a.empty() ? stderr : stdout);
    return a.empty() ? 2 : 0;
  }
  if (a[0] == "--version") {
    std::puts("dedup 0.1.0");
    return 0;
  }
  std::string_view command = a[0];
  a.erase(a.begin());
  // A usage error of a known command points at that command's own help, which lists its options.
  bool known = command == "demo" || command == "load" || command == "analyze" ||
               command == "cache" || command == "store";
  std::string help = known ? "dedup " + std::string(command) + " --help" : "dedup --help";
  try {
    if (command == "demo") return dedup::cli::demo(a);
    if (command == "load") return dedup::cli::load(a);
    if (command == "analyze") return dedup::cli::analyze(a);
    if (command == "cache") return dedup::cli::cache(a);
    if (command == "store") return dedup::cli::store(a);
    throw dedup::cli::usage_error{"unknown command '" + std::string(command) + "'"};
  } catch (const dedup::cli::usage_error& e) {
    std::fprintf(stderr, "dedup: %s\nRun '%s' for usage.\n", e.message.c_str(), help.c_str());
    return 2;
  } catch (const dedup::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "dedup: %s\n", e.what());
    return 1;
  }
}
