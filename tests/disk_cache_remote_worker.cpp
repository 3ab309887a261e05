// disk_cache_remote_worker: one "node" of the remote tier's tests (disk_cache_remote_test.cpp):
// its own local directory, the remote tier shared with the other workers.
//
//   disk_cache_remote_worker DIR TAG URI BACKOFF_MS END...
//
// With single flight on, gets or computes the entries e0.. in stages: stage j covers the entries
// from the previous END (0 for the first) to its END. After each stage it prints
//   stage <j> computed=<values it computed in the stage> errors=<remote errors so far>
//        hits=<remote hits so far> ok=<1 if every value it got was the right one>
// and, unless it was the last, waits for SIGUSR1, so the test can act between stages (stop or
// start the server) without sleeping. Exit status 0 when every value was right.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "dedup/disk_cache.hpp"
#include "disk_cache_fixture.hpp"

namespace {

dedup_fault::stamped expected(long i) {
  return dedup_fault::make_value(2, i, i % 2 ? dedup_fault::large_bytes : dedup_fault::small_bytes);
}

bool same(const dedup_fault::stamped& a, const dedup_fault::stamped& b) {
  return a.writer == b.writer && a.seq == b.seq && a.payload == b.payload && a.digest == b.digest;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: disk_cache_remote_worker DIR TAG URI BACKOFF_MS END...\n");
    return 2;
  }
  sigset_t go;
  sigemptyset(&go);
  sigaddset(&go, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &go, nullptr);  // a signal sent before sigwait stays pending
  dedup::disk_cache_options o;
  o.directory = argv[1];
  o.tag = argv[2];
  o.remote = argv[3];
  o.remote_backoff = std::chrono::milliseconds(std::atol(argv[4]));
  o.inline_limit = dedup_fault::inline_limit;
  o.single_flight = true;
  dedup::disk_cache cache(o);
  dedup::scope scope;
  bool all_ok = true;
  long begin = 0;
  for (int stage = 5; stage < argc; ++stage) {
    long end = std::atol(argv[stage]);
    long computed = 0;
    bool ok = true;
    for (long i = begin; i < end; ++i) {
      auto v = cache.get_or_compute<dedup_fault::stamped>("e" + std::to_string(i), [&] {
        ++computed;
        return expected(i);
      });
      ok = ok && v && same(*v, expected(i));
    }
    all_ok = all_ok && ok;
    auto s = cache.stats();
    std::printf("stage %d computed=%ld errors=%llu hits=%llu ok=%d\n", stage - 4, computed,
                static_cast<unsigned long long>(s.remote_errors),
                static_cast<unsigned long long>(s.remote_hits), ok ? 1 : 0);
    std::fflush(stdout);
    begin = end;
    if (stage + 1 < argc) {
      int sig = 0;
      sigwait(&go, &sig);
    }
  }
  return all_ok ? 0 : 1;
}
