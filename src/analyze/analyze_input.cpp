// analyze_input.cpp: how `dedup analyze` reads a file (by the records of one array, by lines, or
// as one document) and feeds it to the scanner; shared with dedup-bench, which times it.
#include <unistd.h>
#include <cerrno>

#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include "analyze_scan.hpp"
#include "dedup/detail/json_pointer.hpp"
#include "dedup/detail/json_text.hpp"
#include "dedup/detail/stream/splitter.hpp"
#include "dedup/error.hpp"
#include "progress.hpp"

namespace dedup::cli::analysis {
namespace {

/// The name of the first member when the input starts `{"NAME": [`, else nothing.
std::optional<std::string> single_array_member(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::string head(4096, '\0');
  in.read(head.data(), static_cast<std::streamsize>(head.size()));
  head.resize(static_cast<std::size_t>(in.gcount()));
  std::size_t i = head.find_first_not_of(" \t\r\n");
  if (i == std::string::npos || head[i] != '{') return std::nullopt;
  i = head.find_first_not_of(" \t\r\n", i + 1);
  if (i == std::string::npos || head[i] != '"') return std::nullopt;
  std::size_t close = head.find('"', i + 1);
  if (close == std::string::npos || head.find('\\', i + 1) < close) return std::nullopt;
  std::size_t colon = head.find_first_not_of(" \t\r\n", close + 1);
  if (colon == std::string::npos || head[colon] != ':') return std::nullopt;
  std::size_t open = head.find_first_not_of(" \t\r\n", colon + 1);
  if (open == std::string::npos || head[open] != '[') return std::nullopt;
  return head.substr(i + 1, close - i - 1);
}

plan plan_for(const std::filesystem::path& file, bool ndjson) {
  std::string ext = file.extension().string();
  if (ndjson || ext == ".ndjson" || ext == ".jsonl") return {{}, "", false, "NDJSON"};
  detail::splitter in(detail::open_file(file), detail::splitter::mode::lines, "");
  if (in.first_byte() == '[')
    return {detail::splitter::mode::array, "", false, "a JSON document, top-level array"};
  if (auto member = single_array_member(file)) {
    std::string pointer = detail::pointer_to("", *member);
    return {detail::splitter::mode::array, pointer, false, "a JSON document, array at " + pointer};
  }
  return {{}, "", true, "a JSON document"};
}

/// Whether nothing but the array's and the object's closing brackets follow byte `offset`: the
/// splitter passes over members after the array, which a document-wide analysis must not miss.
bool only_closing_brackets_after(const std::filesystem::path& file, std::size_t offset) {
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string rest(256, '\0');
  in.read(rest.data(), static_cast<std::streamsize>(rest.size()));
  rest.resize(static_cast<std::size_t>(in.gcount()));
  if (!in.eof() && in.peek() != std::char_traits<char>::eof()) return false;
  std::string brackets;
  for (char c : rest)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') brackets += c;
  return brackets == "]}";
}

/// Feeds one document to the scanner; a malformed one is a `dedup::error` at `where`.
void feed(scanner& scan, simdjson::ondemand::parser& parser, const char* data, std::size_t size,
          std::size_t capacity, std::size_t index, const std::string& where) {
  // simdjson calls a leading byte-order mark "improper structure"; say what it is, as load does.
  if (std::string_view(data, size).starts_with(detail::byte_order_mark))
    throw error(where, "byte-order mark before the document");
  try {
    simdjson::ondemand::document doc = parser.iterate(data, size, capacity).value();
    scan.feed(doc, index);
  } catch (const simdjson::simdjson_error& e) {
    throw error(where, e.what());
  }
}

/// Feeds the records one by one; a record that does not parse is a `dedup::error` at its place.
outcome scan_records(const std::filesystem::path& file, const plan& how, analysis::scanner& scan) {
  detail::splitter in(detail::open_file(file), how.mode, how.pointer);
  std::uintmax_t total = std::filesystem::file_size(file);
  std::optional<progress_bar> bar;
  if (isatty(STDERR_FILENO) && total > (std::uintmax_t{16} << 20)) bar.emplace();
  simdjson::ondemand::parser parser;
  detail::raw_record rec;
  outcome out;
  while (in.next(rec)) {
    // The splitter leaves the padding simdjson reads past the end as the record's spare capacity.
    if (rec.bytes.capacity() - rec.bytes.size() < simdjson::SIMDJSON_PADDING)
      rec.bytes.reserve(rec.bytes.size() + simdjson::SIMDJSON_PADDING);
    std::string where = how.mode == detail::splitter::mode::lines
                            ? ""
                            : how.pointer + "/" + std::to_string(rec.index);
    try {
      feed(scan, parser, rec.bytes.data(), rec.bytes.size(), rec.bytes.capacity(), rec.index,
           where);
    } catch (const error& e) {
      throw e.in_record(rec.index, rec.offset);
    }
    ++out.records;
    out.end = rec.end;
    if (bar) bar->draw(rec.end, total, out.records, "records");
  }
  if (bar) bar->draw(total, total, out.records, "records");
  return out;
}

outcome scan_file(const std::filesystem::path& file, const plan& how, analysis::scanner& scan) {
  if (!how.whole) return scan_records(file, how, scan);
  simdjson::padded_string text;
  errno = 0;
  if (simdjson::padded_string::load(file.string()).get(text))
    throw detail::system_failure(file.string(), "cannot read", errno ? errno : EIO);
  simdjson::ondemand::parser parser;
  feed(scan, parser, text.data(), text.size(), text.size() + simdjson::SIMDJSON_PADDING, 0, "");
  return {1, 0};
}

input_scan scan_once(const std::filesystem::path& file, bool ndjson,
                     const std::unordered_set<std::string>& maps, bool find_maps) {
  input_scan in;
  in.how = plan_for(file, ndjson);
  in.scan.emplace(in.how.whole ? "" : in.how.pointer + "/*", in.how.pointer, maps, find_maps);
  in.got = scan_file(file, in.how, *in.scan);
  if (!in.how.pointer.empty() &&
      (!in.got.records || !only_closing_brackets_after(file, in.got.end))) {
    // {"NAME": [...], ...}: more than the one array after all; read it as the document it is.
    in.how = {{}, "", true, "a JSON document"};
    in.scan.emplace("", "", maps, find_maps);
    in.got = scan_file(file, in.how, *in.scan);
  }
  return in;
}

}  // namespace

// A pass counts a map's members by name until it finds the map, so a pass that found one is
// followed by one that knows it from the start. That pass finds few maps, if any: the members of
// a map found mid-pass go to its `*` from then on, where the maps inside it show. The last pass
// allowed looks for none, so its counts are exact.
input_scan scan_input(const std::filesystem::path& file, bool ndjson) {
  constexpr int passes = 4;
  std::unordered_set<std::string> maps;
  for (int pass = 1;; ++pass) {
    input_scan in = scan_once(file, ndjson, maps, pass < passes);
    if (in.scan->new_maps().empty()) return in;
    maps.insert(in.scan->new_maps().begin(), in.scan->new_maps().end());
  }
}

}  // namespace dedup::cli::analysis
