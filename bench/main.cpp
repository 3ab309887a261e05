// dedup-bench: the same bytes deserialized side by side, with and without interning, on nlohmann
// and on simdjson On-Demand, against a floor that visits every value and builds nothing; then the
// intern table alone against Boost.Flyweight and std::unordered_map on the reference key stream.
// Peers (f) to (i), RapidJSON and Boost.JSON as their users would write them, are in peers_*.cpp.
//
//   dedup-bench [--quick] [--json] [--refs N] [--reps N] [--only PART] [--contenders abcdefghi]
#include <malloc.h>

#include <sys/wait.h>
#include <unistd.h>
#include <climits>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <boost/flyweight.hpp>
#include <boost/flyweight/key_value.hpp>
#include <boost/hana/for_each.hpp>
#include <nlohmann/json.hpp>

#include "bench/floor.hpp"
#include "bench/models.hpp"
#include "bench/peers.hpp"
#include "bench/wire.hpp"
#include "butler/workload.hpp"
#include "dedup/dedup.hpp"
#include "dedup/simdjson.hpp"
#include "memory.hpp"

namespace {

using steady = std::chrono::steady_clock;
namespace od = simdjson::ondemand;

struct settings {
  bool quick = false;
  bool json = false;
  std::size_t refs = 200'000;
  int reps = 5;
  std::string only;  // run only the parts whose name contains this ("W2", "tables")
  std::string contenders = "abcdefghi";  // and only these contenders (for profiling one)
  bool wants(std::string_view part) const { return part.find(only) != std::string_view::npos; }
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// ---- what a load built --------------------------------------------------------------------------

/// Counts the objects (described structs) a result holds, each shared one once, and how many of
/// them are distinct by content, by hashing every object bottom-up.
struct census {
  std::size_t built = 0;
  std::unordered_set<std::uint64_t> distinct;
  std::unordered_map<const void*, std::uint64_t> shared_seen;
};

std::uint64_t combine(std::uint64_t h, std::uint64_t v) {
  h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
  return h * 0xff51afd7ed558ccdULL;
}

template <class T>
std::uint64_t content(const T& v, census& c) {
  using namespace dedup::detail;
  if constexpr (std::is_same_v<T, std::monostate>) {
    return 1;
  } else if constexpr (std::is_arithmetic_v<T>) {
    std::uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    return combine(2, bits);
  } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, dedup::istring>) {
    return std::hash<std::string_view>{}(std::string_view(v));
  } else if constexpr (std::is_same_v<T, butler::uuid>) {
    return std::hash<std::string_view>{}(
        std::string_view(reinterpret_cast<const char*>(v.bytes.data()), v.bytes.size()));
  } else if constexpr (is_optional<T>::value) {
    return v ? combine(3, content(*v, c)) : 4;
  } else if constexpr (is_nullable<T>::value) {
    return v ? combine(3, content(*v, c)) : v.is_null() ? 7 : 4;
  } else if constexpr (is_vector<T>::value) {
    std::uint64_t h = 5;
    for (const auto& e : v) h = combine(h, content(e, c));
    return h;
  } else if constexpr (is_string_map<T>::value) {
    std::uint64_t h = 6;
    for (const auto& [k, e] : v) h = combine(combine(h, content(k, c)), content(e, c));
    return h;
  } else if constexpr (is_variant<T>::value) {
    return combine(v.index(), std::visit([&](const auto& a) { return content(a, c); }, v));
  } else if constexpr (is_shared_const<T>::value) {
    if (auto it = c.shared_seen.find(v.get()); it != c.shared_seen.end()) return it->second;
    std::uint64_t h = content(*v, c);
    c.shared_seen.emplace(v.get(), h);
    return h;
  } else {
    ++c.built;
    std::uint64_t h = std::hash<std::string_view>{}(dedup::detail::type_name<T>());
    boost::hana::for_each(boost::hana::accessors<T>(), [&](auto pair) {
      h = combine(h, content(boost::hana::second(pair)(v), c));
    });
    c.distinct.insert(h);
    return h;
  }
}

/// A figure of /proc/self/status in bytes: "VmHWM" (peak resident set) or "VmRSS" (now). Unlike
/// getrusage's maxrss, which a forked child inherits from its parent's history, VmHWM starts at
/// the child's resident size when it was forked.
std::size_t proc_status_bytes(std::string_view field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind(field, 0) == 0 && line.size() > field.size() && line[field.size()] == ':')
      return std::stoul(line.substr(field.size() + 1)) * 1024;
  return 0;
}

// ---- one measured load --------------------------------------------------------------------------

/// Times one load and, when asked, what it left in memory and built.
struct probe {
  bool count = false;   // take a census of the result
  bool repeat = false;  // then load again, all hits, in the same scope, counting allocations
  double seconds = 0;
  std::size_t retained = 0, built = 0, distinct = 0;
  std::uint64_t checksum = 0;          // the census's content hash of the result
  std::size_t peak = 0;                // VmHWM at the end of the load, before the census
  std::size_t repeat_allocations = 0;  // allocations of a second, all-hits load in the same scope
  steady::time_point start;
  std::size_t live_at_start = 0;

  void begin() {
    live_at_start = dedup::memory::live_bytes();
    start = steady::now();
  }
  /// Stops the clock; `result` (and the scope, when the caller holds one) is still alive.
  template <class R>
  void end(const R& result) {
    seconds = std::chrono::duration<double>(steady::now() - start).count();
    retained = dedup::memory::live_bytes() - live_at_start;
    peak = proc_status_bytes("VmHWM");
    if (count) {
      census c;
      checksum = content(result, c);
      built = c.built;
      distinct = c.distinct.size();
    }
  }
};

struct contender {
  std::string name;
  std::function<void(probe&)> run;
};

/// The contenders on one document: `Interned` holds repeated parts shared, `Value` by value.
template <class Interned, class Value>
std::vector<contender> contenders(const simdjson::padded_string& text) {
  auto parser = std::make_shared<od::parser>();
  std::string_view bytes(text.data(), text.size());
  return {
      {"(a) nlohmann, value structs",
       [bytes](probe& p) {
         p.begin();
         Value v = nlohmann::json::parse(bytes).get<Value>();
         p.end(v);
       }},
      {"(b) nlohmann + dedup",
       [bytes](probe& p) {
         p.begin();
         dedup::scope s;
         auto v = dedup::from_simple<Interned>(nlohmann::json::parse(bytes));
         p.end(v);
       }},
      {"(c) simdjson, value structs",
       [parser, &text](probe& p) {
         p.begin();
         Value v = dedup::parse_fast<Value>(*parser, text);
         p.end(v);
       }},
      {"(d) simdjson + dedup",
       [parser, &text](probe& p) {
         p.begin();
         dedup::scope s;
         auto v = dedup::parse_fast<Interned>(*parser, text);
         p.end(v);
         if (p.repeat) {
           std::size_t before = dedup::memory::allocations();
           auto again = dedup::parse_fast<Interned>(*parser, text);
           p.repeat_allocations = dedup::memory::allocations() - before;
         }
       }},
      {"(e) simdjson visit, floor",
       [parser, &text](probe& p) {
         p.begin();
         od::document doc = parser->iterate(text);
         std::uint64_t n = bench::visit(doc.get_value().value());
         p.end(n);
       }},
      {"(f) RapidJSON Parse, hand conversion",
       [bytes](probe& p) {
         p.begin();
         Value v;
         bench::peers::rapidjson_parse(bytes, v);
         p.end(v);
       }},
      // ParseInsitu overwrites its input: each load gets a fresh copy, made before the clock.
      {"(g) RapidJSON ParseInsitu, hand conversion",
       [bytes](probe& p) {
         std::string copy(bytes);
         p.begin();
         Value v;
         bench::peers::rapidjson_insitu(copy.data(), v);
         p.end(v);
       }},
      {"(h) RapidJSON ParseInsitu + hand interning",
       [bytes](probe& p) {
         std::string copy(bytes);
         p.begin();
         Interned v;
         bench::peers::rapidjson_intern(copy.data(), v);
         p.end(v);
       }},
#ifdef DEDUP_BENCH_BOOST_JSON
      {"(i) Boost.JSON + Describe, value_to",
       [bytes](probe& p) {
         p.begin();
         Value v;
         bench::peers::boost_json_load(bytes, v);
         p.end(v);
       }},
#endif
  };
}

// ---- running a contender in its own process -----------------------------------------------------

struct figures {
  double seconds = 0;
  double seconds_kept = 0;   // the same loads with malloc keeping what is freed (keep_freed_memory)
  double seconds_first = 0;  // the first load of the measuring process: its memory is all new
  std::size_t retained = 0, built = 0, distinct = 0, peak_rss = 0, repeat_allocations = 0;
  std::uint64_t checksum = 0;
  bool failed = false;
  char message[256] = {};
};

/// Tunes glibc malloc as
/// `GLIBC_TUNABLES=glibc.malloc.trim_threshold=...:glibc.malloc.mmap_threshold=...` would: freed
/// memory is kept for the next allocation instead of going back to the system, and large blocks
/// come from the heap, so that a load that builds millions of objects pays no page faults for
/// memory a previous load freed. Both columns of the table use glibc's malloc.
void keep_freed_memory() {
  ::mallopt(M_TRIM_THRESHOLD, INT_MAX);  // mallopt takes an int: 2 GiB at most
  ::mallopt(M_TOP_PAD, 64 << 20);
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);  // glibc's largest
}

/// The median time of `reps` loads after one warm-up load, whose own time goes to `first`.
double median_load(const contender& c, int reps, double& first) {
  probe warm;
  c.run(warm);
  first = warm.seconds;
  std::vector<double> times;
  for (int i = 0; i < reps; ++i) {
    probe p;
    c.run(p);
    times.push_back(p.seconds);
  }
  return median(times);
}

/// Runs a contender in a child process, so that its peak RSS is its own (on top of the input,
/// which the child shares) and no contender's heap state skews the next: one warm-up load,
/// `reps` timed loads (median), then one load that is counted. With `kept`, malloc keeps freed
/// memory (`keep_freed_memory`) and only the time is measured.
figures isolated(const contender& c, int reps, bool kept = false) {
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    figures f;
    std::size_t resident_at_fork = proc_status_bytes("VmRSS");  // the input, shared with the parent
    try {
      if (kept) {
        keep_freed_memory();
        double first_kept = 0;
        f.seconds_kept = median_load(c, reps, first_kept);
        ssize_t written = write(fds[1], &f, sizeof f);
        _exit(written == static_cast<ssize_t>(sizeof f) ? 0 : 1);
      }
      f.seconds = median_load(c, reps, f.seconds_first);
      probe counted;
      counted.count = true;
      c.run(counted);
      f.retained = counted.retained;
      f.built = counted.built;
      f.distinct = counted.distinct;
      f.checksum = counted.checksum;
      f.peak_rss = counted.peak - resident_at_fork;
      probe repeated;  // last: its second result would raise the peak
      repeated.repeat = true;
      c.run(repeated);
      f.repeat_allocations = repeated.repeat_allocations;
    } catch (const std::exception& e) {
      f.failed = true;
      std::snprintf(f.message, sizeof f.message, "%s", e.what());
    }
    ssize_t written = write(fds[1], &f, sizeof f);
    _exit(written == static_cast<ssize_t>(sizeof f) ? 0 : 1);
  }
  close(fds[1]);
  figures f;
  ssize_t got = read(fds[0], &f, sizeof f);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (got != static_cast<ssize_t>(sizeof f)) {
    f = figures{};
    f.failed = true;
    std::snprintf(f.message, sizeof f.message, "the measuring process died (status %d)", status);
  }
  return f;
}

// ---- workloads ----------------------------------------------------------------------------------

struct row {
  std::string workload, contender;
  std::size_t bytes = 0, records = 0;
  figures f;
  double floor_ratio = 0, a_ratio = 0;
  double kept_a_ratio = 0;  // against (a) with malloc keeping freed memory too
};

/// The same document with the members of every object in reverse order: nothing in declared order.
void reverse_members(od::value v, std::string& out) {
  if (v.type().value() == od::json_type::object) {
    std::vector<std::string> members;
    for (auto field : v.get_object()) {
      std::string m = "\"";
      m += field.unescaped_key().value();  // W1 has no escapes in keys
      m += "\":";
      reverse_members(field.value().value(), m);
      members.push_back(std::move(m));
    }
    out += '{';
    for (auto it = members.rbegin(); it != members.rend(); ++it) {
      if (it != members.rbegin()) out += ',';
      out += *it;
    }
    out += '}';
  } else if (v.type().value() == od::json_type::array) {
    out += '[';
    bool first = true;
    for (auto element : v.get_array()) {
      if (!first) out += ',';
      first = false;
      reverse_members(element.value(), out);
    }
    out += ']';
  } else {
    out += dedup::detail::trim_right(v.raw_json_token());
  }
}

/// The same refs in a seeded random order: a ref's data coordinate is rarely the one just read, so
/// what dedup gains from repeats met close together (the tables' memo of exact bytes) is gone.
std::string shuffle_refs(const simdjson::padded_string& text) {
  std::vector<std::string_view> refs;
  od::parser parser;
  od::document doc = parser.iterate(text);
  for (auto ref : doc["refs"]) {
    od::object object = ref.get_object().value();
    refs.push_back(dedup::detail::trim_right(object.raw_json().value()));
  }
  std::shuffle(refs.begin(), refs.end(), std::mt19937_64(20261205));
  std::string out = "{\"refs\":[";
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (i) out += ',';
    out += refs[i];
  }
  return out + "]}";
}

std::optional<simdjson::padded_string> load_shared_data(const char* name) {
  std::string file = std::string(DEDUP_SHARED_DATA) + "/" + name;
  auto loaded = simdjson::padded_string::load(file);
  if (loaded.error()) return std::nullopt;
  return std::move(loaded).value();
}

std::size_t count_records(const simdjson::padded_string& text, std::string_view array) {
  od::parser parser;
  od::document doc = parser.iterate(text);
  od::array elements = doc[array].get_array();
  return elements.count_elements().value();
}

/// The peers must build what (c) builds, and (h) what (d) builds: the census's content hash of
/// each result is compared, so a peer that skips or misreads a member fails instead of looking
/// fast.
void check_peers(std::vector<row>& rows, std::size_t first) {
  for (std::size_t i = first; i < rows.size(); ++i) {
    char letter = rows[i].contender[1];
    if (letter < 'f' || rows[i].f.failed) continue;
    char reference = letter == 'h' ? 'd' : 'c';
    for (std::size_t j = first; j < rows.size(); ++j) {
      const figures& r = rows[j].f;
      if (rows[j].contender[1] != reference || r.failed || r.checksum == rows[i].f.checksum)
        continue;
      rows[i].f.failed = true;
      std::snprintf(rows[i].f.message, sizeof rows[i].f.message,
                    "built something else than (%c): content hash differs", reference);
    }
  }
}

template <class Interned, class Value>
void measure(std::vector<row>& rows, const std::string& workload,
             const simdjson::padded_string& text, std::string_view records_array, int reps,
             std::string_view only) {
  std::size_t records = count_records(text, records_array);
  ::malloc_trim(0);  // what the parent freed would otherwise count in every child's resident set
  std::size_t first = rows.size();
  for (const contender& c : contenders<Interned, Value>(text)) {
    if (only.find(c.name[1]) == std::string_view::npos) continue;
    std::cerr << "  " << workload << ": " << c.name << "...\n";
    rows.push_back({workload, c.name, text.size(), records, isolated(c, reps)});
    figures kept = isolated(c, reps, true);
    rows.back().f.seconds_kept = kept.failed ? 0 : kept.seconds_kept;
  }
  const row* floor = nullptr;
  const row* a = nullptr;
  for (std::size_t i = first; i < rows.size(); ++i) {
    if (rows[i].contender[1] == 'e') floor = &rows[i];
    if (rows[i].contender[1] == 'a') a = &rows[i];
  }
  for (std::size_t i = first; i < rows.size(); ++i) {
    if (floor && !floor->f.failed) rows[i].floor_ratio = floor->f.seconds / rows[i].f.seconds;
    if (a && !a->f.failed) rows[i].a_ratio = a->f.seconds / rows[i].f.seconds;
    if (a && a->f.seconds_kept > 0 && rows[i].f.seconds_kept > 0)
      rows[i].kept_a_ratio = a->f.seconds_kept / rows[i].f.seconds_kept;
  }
  check_peers(rows, first);
}

// ---- intern tables alone ------------------------------------------------------------------------

/// What each table stores per key in the comparison.
struct payload {
  std::string key;
  explicit payload(std::string_view k) : key(k) {}
};

/// The keys dedup computes for the dataset type (read as `TypeModel`) and data coordinate of every
/// ref of W1, in order.
template <class TypeModel>
std::vector<std::string> key_stream(const simdjson::padded_string& text) {
  std::vector<std::string> keys;
  od::parser parser;
  od::document doc = parser.iterate(text);
  for (auto ref : doc["refs"]) {
    for (auto field : ref.get_object()) {
      std::string key;
      std::string_view name = field.unescaped_key().value();
      dedup::detail::simdjson_source src(field.value().value());
      if (name == "datasetType")
        dedup::detail::encode_key<TypeModel>(src, {}, key);
      else if (name == "dataId")
        dedup::detail::encode_key<butler::DataCoordinate>(src, {}, key);
      else
        continue;
      keys.push_back(std::move(key));
    }
  }
  return keys;
}

struct table_row {
  std::string table, stream;
  double ns_hit = 0, ns_miss = 0;
};

/// ns per miss (filling an empty table with the distinct keys) and per hit (the whole stream on
/// the filled table), medians over `reps`. Each lookup's result is kept, as a deserializer keeps
/// it; releasing the results is not timed.
template <class Table>
table_row time_table(const std::string& name, const std::string& label,
                     const std::vector<std::string_view>& stream,
                     const std::vector<std::string_view>& distinct, int reps) {
  std::vector<double> hit, miss;
  for (int r = 0; r < reps; ++r) {
    Table table;
    std::vector<typename Table::handle> kept;
    kept.reserve(stream.size());
    auto t0 = steady::now();
    for (std::string_view k : distinct) kept.push_back(table.get(k));
    auto t1 = steady::now();
    kept.clear();
    for (std::string_view k : stream) kept.push_back(table.get(k));
    auto t2 = steady::now();
    miss.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count() / distinct.size());
    hit.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count() / stream.size());
  }
  return {name, label, median(hit), median(miss)};
}

struct dedup_table {
  using handle = std::shared_ptr<const payload>;
  dedup::intern_table<payload> table;
  handle get(std::string_view k) {
    return table.intern(k, [&] { return payload(k); });
  }
};

/// The table of a scope no other thread has joined: the one a deserializer uses (no locks).
struct dedup_scope_table {
  using handle = std::shared_ptr<const payload>;
  dedup::scope scope;
  dedup::intern_table<payload>& table = scope.get().table<payload>();
  handle get(std::string_view k) {
    return table.intern(k, [&] { return payload(k); });
  }
};

struct flyweight_table {
  using handle = boost::flyweights::flyweight<
      boost::flyweights::key_value<std::string_view, payload>, boost::flyweights::hashed_factory<>,
      boost::flyweights::simple_locking, boost::flyweights::refcounted>;
  handle get(std::string_view k) { return handle(k); }
};

/// No table: the hash of each key alone, which any table that hashes its keys pays on every lookup.
struct hash_only {
  using handle = std::size_t;
  handle get(std::string_view k) { return dedup::detail::hash_key(k); }
};

/// No table: the hash of each key and a copy of a `shared_ptr` it selects among a few held ones,
/// the least any table that hashes its keys and hands out `shared_ptr`s pays on every hit (the
/// copy is an atomic increment, as Flyweight's handle makes).
struct hash_and_handout {
  using handle = std::shared_ptr<const payload>;
  std::array<handle, 64> held;
  hash_and_handout() {
    for (handle& h : held) h = std::make_shared<const payload>("");
  }
  handle get(std::string_view k) { return held[dedup::detail::hash_key(k) % held.size()]; }
};

struct map_table {
  using handle = std::shared_ptr<const payload>;
  struct hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>{}(s);
    }
  };
  std::unordered_map<std::string, handle, hash, std::equal_to<>> map;
  handle get(std::string_view k) {
    if (auto it = map.find(k); it != map.end()) return it->second;
    auto made = std::make_shared<const payload>(k);
    map.emplace(std::string(k), made);
    return made;
  }
};

// ---- output -------------------------------------------------------------------------------------

std::string human(std::size_t bytes) {
  char buffer[32];
  return dedup::memory::human(bytes, buffer);
}

std::string fixed(double v, int digits) {
  std::ostringstream out;
  out.setf(std::ios::fixed);
  out.precision(digits);
  out << v;
  return out.str();
}

#define BENCH_STRINGIFY_(x) #x
#define BENCH_STRINGIFY(x) BENCH_STRINGIFY_(x)

std::string machine() {
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line, model = "unknown CPU";
  while (std::getline(cpuinfo, line))
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  return model + ", " + std::to_string(sysconf(_SC_NPROCESSORS_ONLN)) + " cores, simdjson " +
         std::to_string(simdjson::SIMDJSON_VERSION_MAJOR) + "." +
         std::to_string(simdjson::SIMDJSON_VERSION_MINOR) + " (On-Demand kernel " +
         BENCH_STRINGIFY(SIMDJSON_BUILTIN_IMPLEMENTATION) + ")";
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

void print_markdown(const std::vector<row>& rows, const std::vector<table_row>& tables,
                    const std::string& load_before, const std::vector<std::string>& notes) {
  std::cout << "Machine: " << machine() << "; load average " << load_before << " before, "
            << load_average() << " after.\n\n";
  std::cout << "| workload | contender | MB/s | of floor | x (a) | MB/s, malloc keeps freed | "
               "x (a), same | MB/s, first load | objects built | distinct | retained | "
               "peak RSS over input | allocations/record, all hits |\n"
               "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const row& r : rows) {
    if (r.f.failed) {
      std::cout << "| " << r.workload << " | " << r.contender << " | failed: " << r.f.message
                << " ||||||||||\n";
      continue;
    }
    bool floor = r.contender[1] == 'e';
    std::cout << "| " << r.workload << " | " << r.contender << " | "
              << fixed(static_cast<double>(r.bytes) / 1e6 / r.f.seconds, 0) << " | "
              << fixed(100 * r.floor_ratio, 0) << "% | " << (r.a_ratio ? fixed(r.a_ratio, 1) : "")
              << " | "
              << (r.f.seconds_kept > 0
                      ? fixed(static_cast<double>(r.bytes) / 1e6 / r.f.seconds_kept, 0)
                      : "")
              << " | " << (r.kept_a_ratio ? fixed(r.kept_a_ratio, 1) : "") << " | "
              << fixed(static_cast<double>(r.bytes) / 1e6 / r.f.seconds_first, 0) << " | "
              << (floor ? "" : std::to_string(r.f.built)) << " | "
              << (floor ? "" : std::to_string(r.f.distinct)) << " | "
              << (floor ? "" : human(r.f.retained)) << " | " << human(r.f.peak_rss) << " | "
              << (r.f.repeat_allocations
                      ? fixed(static_cast<double>(r.f.repeat_allocations) / r.records, 2)
                      : "")
              << " |\n";
  }
  std::cout << "\n| intern table | W1 key stream | ns/hit | ns/miss | hit vs Flyweight |\n"
               "|---|---|---:|---:|---:|\n";
  for (const table_row& t : tables) {
    double fly = 0;  // Flyweight's hit time on the same stream
    for (const table_row& u : tables)
      if (u.stream == t.stream && u.table.find("Flyweight") != std::string::npos) fly = u.ns_hit;
    std::cout << "| " << t.table << " | " << t.stream << " | " << fixed(t.ns_hit, 1) << " | "
              << fixed(t.ns_miss, 1) << " | " << fixed(t.ns_hit / fly, 2) << " |\n";
  }
  for (const std::string& n : notes) std::cout << "\n" << n << "\n";
}

void print_json(const std::vector<row>& rows, const std::vector<table_row>& tables,
                const std::string& load_before, const std::vector<std::string>& notes,
                nlohmann::json wire) {
  nlohmann::json out = {{"machine", machine()},
                        {"load_before", load_before},
                        {"load_after", load_average()},
                        {"notes", notes}};
  for (const row& r : rows) {
    out["loads"].push_back({{"workload", r.workload},
                            {"contender", r.contender},
                            {"failed", r.f.failed ? std::string(r.f.message) : std::string()},
                            {"bytes", r.bytes},
                            {"records", r.records},
                            {"seconds", r.f.seconds},
                            {"mb_per_s", static_cast<double>(r.bytes) / 1e6 / r.f.seconds},
                            {"of_floor", r.floor_ratio},
                            {"times_a", r.a_ratio},
                            {"seconds_malloc_keeps_freed", r.f.seconds_kept},
                            {"times_a_malloc_keeps_freed", r.kept_a_ratio},
                            {"seconds_first_load", r.f.seconds_first},
                            {"objects_built", r.f.built},
                            {"distinct_objects", r.f.distinct},
                            {"retained_bytes", r.f.retained},
                            {"peak_rss_bytes", r.f.peak_rss},
                            {"repeat_allocations", r.f.repeat_allocations}});
  }
  for (const table_row& t : tables)
    out["tables"].push_back({{"table", t.table},
                             {"stream", t.stream},
                             {"ns_per_hit", t.ns_hit},
                             {"ns_per_miss", t.ns_miss}});
  if (!wire.is_null()) out["wire"] = std::move(wire);
  std::cout << out.dump(2) << "\n";
}

settings parse_arguments(int argc, char** argv) {
  settings s;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--quick") {
      s.quick = true;
      s.refs = 2'000;
      s.reps = 2;
    } else if (a == "--json") {
      s.json = true;
    } else if (a == "--refs" && i + 1 < argc) {
      s.refs = std::stoul(argv[++i]);
    } else if (a == "--contenders" && i + 1 < argc) {
      s.contenders = argv[++i];
    } else if (a == "--only" && i + 1 < argc) {
      s.only = argv[++i];
    } else if (a == "--reps" && i + 1 < argc) {
      s.reps = std::stoi(argv[++i]);
    } else {
      throw std::invalid_argument(
          "usage: dedup-bench [--quick] [--json] [--refs N] [--reps N] [--only PART] [--contenders "
          "abcdefghi]");
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) try {
  using namespace bench;
  settings s = parse_arguments(argc, argv);
  std::string load_before = load_average();
  std::vector<row> rows;
  std::vector<table_row> tables;
  ::malloc_trim(0);
  std::vector<std::string> notes;
  // Each workload is made when its turn comes and freed after it: the measuring processes share
  // the parent's memory, so whatever it holds counts in their peak RSS.
  butler::workload w;
  w.refs = s.refs;
  auto w1 = [&] { return simdjson::padded_string(butler::make_document(w)); };
  std::string w1_name = "W1 refs (" + std::to_string(s.refs) + ")";

  if (s.wants("tables")) {
    auto compare_tables = [&](std::vector<std::string> keys, const std::string& label) {
      std::vector<std::string_view> stream(keys.begin(), keys.end()), distinct;
      std::unordered_set<std::string_view> seen;
      for (std::string_view k : stream)
        if (seen.insert(k).second) distinct.push_back(k);
      int reps = std::max(3, s.reps);
      tables.push_back(time_table<dedup_scope_table>("dedup::intern_table, in a scope", label,
                                                     stream, distinct, reps));
      tables.push_back(time_table<dedup_table>("dedup::intern_table, standalone (shared)", label,
                                               stream, distinct, reps));
      tables.push_back(time_table<flyweight_table>(
          "Boost.Flyweight (hashed, simple_locking, refcounted)", label, stream, distinct, reps));
      tables.push_back(time_table<map_table>("std::unordered_map<std::string, shared_ptr>", label,
                                             stream, distinct, reps));
      tables.push_back(
          time_table<hash_only>("XXH3 of the key alone (no table)", label, stream, distinct, reps));
      tables.push_back(time_table<hash_and_handout>(
          "XXH3 of the key and a shared_ptr copy (no table)", label, stream, distinct, reps));
      notes.push_back("Intern tables, " + label + ": " + std::to_string(stream.size()) +
                      " lookups, " + std::to_string(distinct.size()) + " distinct keys.");
    };
    std::cerr << "  intern tables...\n";
    simdjson::padded_string text = w1();
    compare_tables(key_stream<butler::DatasetType>(text), "exact-bytes type keys");
    compare_tables(key_stream<member_keyed_type>(text), "member type keys");
  }
  if (s.wants(w1_name))
    measure<butler::RefList, value_ref_list>(rows, w1_name, w1(), "refs", s.reps, s.contenders);
  if (s.wants("W1, members reversed")) {
    std::string reversed;
    {
      simdjson::padded_string original = w1();
      od::parser parser;
      od::document doc = parser.iterate(original);
      reverse_members(doc.get_value().value(), reversed);
    }
    simdjson::padded_string w1r(reversed);
    reversed = std::string();
    measure<butler::RefList, value_ref_list>(rows, "W1, members reversed", w1r, "refs", s.reps,
                                             s.contenders == "abcdefghi" ? "cde" : s.contenders);
  }
  if (s.wants("W1, refs shuffled")) {
    simdjson::padded_string shuffled(shuffle_refs(w1()));
    measure<butler::RefList, value_ref_list>(rows, "W1, refs shuffled", shuffled, "refs", s.reps,
                                             s.contenders == "abcdefghi" ? "cde" : s.contenders);
  }
  int small_reps = s.quick ? s.reps : 4 * s.reps;  // W2 and W3 are small: more repetitions
  if (!s.wants("W2 citm_catalog")) {
  } else if (auto citm = load_shared_data("citm_catalog.json")) {
    measure<citm::catalog<shared>, citm::catalog<by_value>>(
        rows, "W2 citm_catalog", *citm, "performances", small_reps, s.contenders);
  } else {
    notes.push_back("W2 skipped: " DEDUP_SHARED_DATA "/citm_catalog.json not found.");
  }
  if (!s.wants("W3 twitter")) {
  } else if (auto tw = load_shared_data("twitter.json")) {
    measure<twitter::timeline<shared>, twitter::timeline<by_value>>(
        rows, "W3 twitter", *tw, "statuses", small_reps, s.contenders);
  } else {
    notes.push_back("W3 skipped: " DEDUP_SHARED_DATA "/twitter.json not found.");
  }
  if (s.contenders.find('i') == std::string::npos) {
  } else if constexpr (!bench::peers::has_boost_json) {
    notes.push_back(
        "(i) Boost.JSON skipped: dedup-bench was built without Boost.JSON "
        "(libboost-json not found).");
  } else if (std::any_of(rows.begin(), rows.end(),
                         [](const row& r) { return r.contender[1] == 'i'; })) {
    notes.push_back(bench::peers::boost_json_note);
  }
  std::optional<wire_figures> wire;
  std::vector<analyze_figures> analyses;
  if (s.wants("wire")) {  // the compact form and dedup analyze
    std::cerr << "  wire: plain and compact, analyze...\n";
    simdjson::padded_string text = w1();
    wire = measure_wire(text, s.reps);
    analyses.push_back(measure_analyze(w1_name, text, s.reps));
    if (auto citm = load_shared_data("citm_catalog.json"))
      analyses.push_back(measure_analyze("W2 citm_catalog", *citm, small_reps));
  }
  for (const std::string& n : notes) std::cerr << n << "\n";

  if (s.json) {
    print_json(rows, tables, load_before, notes,
               wire ? wire_json(*wire, analyses) : nlohmann::json());
  } else {
    print_markdown(rows, tables, load_before, notes);
    if (wire) print_wire(*wire, analyses);
  }
  bool failed = std::any_of(rows.begin(), rows.end(), [](const row& r) { return r.f.failed; });
  return failed ? 1 : 0;
} catch (const std::exception& e) {
  std::cerr << "dedup-bench: " << e.what() << "\n";
  return 2;
}
