// The `dedup` command: one CLI11 parser over every subcommand (demo, load, analyze, cache, store).
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "dedup/version.hpp"

namespace {

constexpr const char* description =
    R"(Scoped deduplication for deserialized data: dedup reads JSON into C++ objects and builds each
repeated object once. This command shows it on a built-in workload, reads files of refs, finds
the repetition in any JSON file, and looks after dedup's persistent caches and shared stores.)";

constexpr const char* footer =
    R"(Without a command, dedup runs 'dedup demo' with its defaults. Every option takes its value as
--opt VALUE or --opt=VALUE; --help after any command or action prints its help ('dedup cache
stats --help'). --json, on every command that prints figures, prints one JSON document, indented
by 2 spaces, instead of the table.

exit status:
  0  success
  1  failure: an error from the library (bad input, named by file, record and JSON pointer), a
     missing or unreadable input file, a cache or store that does not exist or is damaged, a
     server that does not answer
  2  usage: unknown command or option, missing argument, bad value)";

/// CLI11's help, usage line first as in the rest of the system's commands, then the one-line
/// description, arguments, options, commands and the footer's prose.
class formatter : public CLI::Formatter {
 public:
  formatter() {
    label("Usage", "usage");
    label("OPTIONS", "options");
    label("SUBCOMMAND", "COMMAND");
    label("Positionals", "arguments");
    column_width(16);
  }
  std::string make_help(const CLI::App* app, std::string name,
                        CLI::AppFormatMode mode) const override {
    if (mode == CLI::AppFormatMode::Sub) return make_expanded(app);
    std::string out = make_usage(app, std::move(name)) + "\n" + make_description(app) +
                      make_positionals(app) + make_groups(app, mode) + make_subcommands(app, mode);
    std::string end = make_footer(app);
    return end.empty() ? out : out + "\n" + end;
  }
  // The value's name only ("--threads N"): the descriptions say what is required, needed or
  // the default.
  std::string make_option_opts(const CLI::Option* opt) const override {
    if (opt->get_type_size() == 0 || opt->get_type_name().empty()) return {};
    return " " + opt->get_type_name();
  }
};

/// The commands the parser had entered: the program, then "cache", then "ls".
std::vector<const CLI::App*> entered(const CLI::App& app) {
  std::vector<const CLI::App*> out{&app};
  while (!out.back()->get_subcommands().empty())
    out.push_back(out.back()->get_subcommands().front());
  return out;
}

/// "dedup cache ls": the command whose help lists the options a usage error is about.
std::string command_of(const CLI::App& app) {
  std::string out;
  for (const CLI::App* at : entered(app)) out += (out.empty() ? "" : " ") + at->get_name();
  return out;
}

/// Whether --help came on the command line, for the command the parser had reached or one
/// above it: then the help is printed even when the rest of the line is wrong.
bool asked_for_help(const CLI::App& app) {
  for (const CLI::App* at : entered(app))
    if (at->get_help_ptr()->count() > 0) return true;
  return false;
}

/// CLI11's message for a usage error, but an argument that is left over is named as an unknown
/// option or, where a command was expected, an unknown command with those there are.
std::string usage_text(const CLI::App& app, const CLI::ParseError& e) {
  const CLI::App& at = *entered(app).back();
  std::vector<std::string> left = at.remaining(false);
  if (!left.empty() && left[0] == "--") return e.what();  // arguments after "--", not options
  if (!left.empty() && left[0].starts_with("-")) return "unknown option '" + left[0] + "'";
  std::string names;
  for (const CLI::App* sub : at.get_subcommands({}))
    if (!sub->get_group().empty()) names += (names.empty() ? "" : ", ") + sub->get_name();
  if (names.empty()) return e.what();
  if (left.empty()) return "which command? (" + names + ")";
  return "unknown command '" + left[0] + "' (" + names + ")";
}

void configure(CLI::App& app) {
  app.formatter(std::make_shared<formatter>());
  app.option_defaults()->group("options");
  app.set_help_flag("-h,--help", "print this help and exit")->group("options");
  app.set_version_flag("--version", std::string("dedup ") + DEDUP_VERSION,
                       "print the version (dedup " DEDUP_VERSION ") and exit");
  app.footer(footer);
  app.require_subcommand(0, 1);
  dedup::cli::action run_demo = dedup::cli::add_demo(app);
  dedup::cli::add_load(app);
  dedup::cli::add_analyze(app);
  dedup::cli::add_cache(app);
  dedup::cli::add_store(app);
  // `dedup help`, as earlier releases had it: the top-level help, not listed.
  app.add_subcommand("help")->group("")->callback([&app] {
    std::fputs(
        app.get_formatter()->make_help(&app, app.get_name(), CLI::AppFormatMode::Normal).c_str(),
        stdout);
  });
  app.callback([&app, run_demo] {
    if (app.get_subcommands().empty()) run_demo();
  });
}

}  // namespace

namespace dedup::cli {

CLI::Validator whole_number(std::size_t low, std::size_t high) {
  auto check = [low, high](std::string& text) -> std::string {
    std::size_t n = 0;
    const char* end = text.data() + text.size();
    auto [at, failed] = std::from_chars(text.data(), end, n);
    if (text.empty() || failed == std::errc::invalid_argument || at != end)
      return "needs a whole number, not '" + text + "'";
    if (failed == std::errc::result_out_of_range || n < low || n > high)
      return "must be " + std::to_string(low) + " to " + std::to_string(high) + ", not " + text;
    return {};
  };
  return CLI::Validator(check, "");
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

CLI::App* add_command(CLI::App& parent, const char* name, const char* what, const char* footer) {
  CLI::App* sub = parent.add_subcommand(name, what);
  sub->group("commands");
  sub->get_help_ptr()->group("options");  // made before the parent's option defaults apply
  sub->footer(footer);
  return sub;
}

void print_json(const nlohmann::ordered_json& out) {
  std::string text =
      out.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  std::fwrite(text.data(), 1, text.size(), stdout);
}

double json_seconds(double seconds) {
  return std::round(seconds * 1000) / 1000;
}

}  // namespace dedup::cli

int main(int argc, char** argv) {
  CLI::App app{description, "dedup"};
  try {
    configure(app);
    app.parse(argc, argv);  // runs the command, from its callback
    return 0;
  } catch (const CLI::Success& e) {  // --help, --version
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (asked_for_help(app)) {
      std::fputs(app.help().c_str(), stdout);
      return 0;
    }
    std::fprintf(stderr, "dedup: %s\nRun '%s --help' for usage.\n", usage_text(app, e).c_str(),
                 command_of(app).c_str());
    return 2;
  } catch (const std::exception& e) {
    // The library's messages start with "dedup: " already; others gain it.
    std::string_view what = e.what();
    std::fprintf(stderr, "%s%s\n", what.starts_with("dedup: ") ? "" : "dedup: ", e.what());
    return 1;
  }
}
