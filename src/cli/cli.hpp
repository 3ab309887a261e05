// cli.hpp: the subcommands of the `dedup` program and the small helpers they share. One CLI11
// parser holds every subcommand; each source file adds its own (add_demo, add_load, ...), with a
// callback that runs the command once the whole command line has been parsed and checked.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>
#include <nlohmann/json_fwd.hpp>

namespace dedup::cli {

/// A validator for a count: a whole number from `low` to `high`, so that "lots", "-1" and "1.5"
/// are usage errors that say why ("--refs: needs a whole number, not 'lots'").
///
/// ```
/// sub->add_option("--threads", o->threads)->check(whole_number(1, max_reader_threads));
/// ```
CLI::Validator whole_number(std::size_t low = 0,
                            std::size_t high = std::numeric_limits<std::size_t>::max());

/// The regular file `name`; throws, saying why, for a directory (not a `what`) or a missing file,
/// so that a bad input file is a failure (exit status 1), not a usage error.
///
/// ```
/// std::filesystem::path file = input_file(o.file, "JSON file");
/// ```
std::filesystem::path input_file(std::string_view name, std::string_view what);

/// "1 ref", "2 refs": `n` and `word`, with an "s" unless n is 1.
///
/// ```
/// std::printf("%s\n", plural(refs.size(), "ref").c_str());
/// ```
std::string plural(std::size_t n, std::string_view word);

/// Adds the subcommand `name` to `parent`, described by the one line `what` in the parent's help
/// and by `what` and `footer` in its own, so that every command's help has one layout.
///
/// ```
/// CLI::App* sub = add_command(app, "load", "read files of dataset refs", load_footer);
/// ```
CLI::App* add_command(CLI::App& parent, const char* name, const char* what, const char* footer);

/// Prints `out` as the command's `--json` output: every subcommand prints one document, in the
/// same style (indented by 2 spaces, then a newline); text that is not UTF-8 is replaced, never
/// a failure.
///
/// ```
/// print_json({{"uri", s.uri()}, {"entries", n}});
/// ```
void print_json(const nlohmann::ordered_json& out);

/// `seconds` rounded to the millisecond, as the JSON outputs give times.
///
/// ```
/// out["seconds"] = json_seconds(got.seconds);
/// ```
double json_seconds(double seconds);

/// The action that runs a subcommand with the options parsed into it.
using action = std::function<void()>;

/// Adds `dedup demo` (src/cli/demo.cpp); returns its action, which main runs, with the demo's
/// defaults, when no subcommand is named.
///
/// ```
/// action run_demo = add_demo(app);
/// ```
action add_demo(CLI::App& app);
/// Adds `dedup load FILE|DIR...` (src/cli/load.cpp).
///
/// ```
/// add_load(app);
/// ```
void add_load(CLI::App& app);
/// Adds `dedup analyze FILE` (src/cli/analyze_cli.cpp).
///
/// ```
/// add_analyze(app);
/// ```
void add_analyze(CLI::App& app);
/// Adds `dedup cache ls|stats|clear|gc DIR` (src/cli/cache_cli.cpp).
///
/// ```
/// add_cache(app);
/// ```
void add_cache(CLI::App& app);
/// Adds `dedup store stats|keys|clear|destroy URI` (src/cli/store_cli.cpp).
///
/// ```
/// add_store(app);
/// ```
void add_store(CLI::App& app);

}  // namespace dedup::cli
