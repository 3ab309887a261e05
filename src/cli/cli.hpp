// cli.hpp: the subcommands of the `dedup` program and the small argument helpers they share.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace dedup::cli {

/// The arguments after the subcommand's name.
using args = std::vector<std::string_view>;

/// Thrown for a bad command line; main prints it with the usage hint and exits with status 2.
struct usage_error {
  std::string message;
};

/// Parses the value of `--name VALUE` at args[i] (advancing i) as a count.
std::size_t count_option(const args& a, std::size_t& i);
/// Parses the value of `--name VALUE` at args[i] (advancing i) as text.
std::string_view text_option(const args& a, std::size_t& i);

/// The regular file `name`; throws, saying why, for a directory (not a `what`) or a missing file.
///
/// ```
/// std::filesystem::path file = input_file(c.file, "file of refs");
/// ```
std::filesystem::path input_file(std::string_view name, std::string_view what);

/// "1 ref", "2 refs": `n` and `word`, with an "s" unless n is 1.
///
/// ```
/// std::printf("%s\n", plural(refs.size(), "ref").c_str());
/// ```
std::string plural(std::size_t n, std::string_view word);

int demo(const args& a);
int load(const args& a);
int analyze(const args& a);
/// `dedup store stats|keys|clear URI` (src/store_cli.cpp).
int store(const args& a);
/// `dedup cache ls|stats|clear|gc DIR` (src/cache_cli.cpp).
int cache(const args& a);

}  // namespace dedup::cli
