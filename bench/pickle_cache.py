#!/usr/bin/env python3
"""The seeds' own approach to a persistent cache, for dedup-bench-cache to compare against.

arte's cache_on_disk and scistag's Cache keep a computed value by pickling it to a file and
unpickling it on the next run. This script does that with the same value dedup-bench-cache stores:
the W1 document read with json.load, so plain dicts and lists (what a Python pipeline holds after
reading the refs, with no sharing of the repeated nested objects), pickled with the highest
protocol to a file (flushed and fsynced, as a cache that survives a crash must) and loaded back.

    python3 bench/pickle_cache.py INPUT.json OUTPUT.pickle REPS

prints "store_seconds load_seconds bytes" (medians over REPS) on one line.
"""
import json
import os
import pickle
import statistics
import sys
import time


def main():
    source, target, reps = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(source, "rb") as f:
        value = json.load(f)
    stores, loads = [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        with open(target, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        stores.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with open(target, "rb") as f:
            back = pickle.load(f)
        loads.append(time.perf_counter() - t0)
        assert len(back["refs"]) == len(value["refs"])
        del back
    size = os.path.getsize(target)
    os.remove(target)
    print(f"{statistics.median(stores):.6f} {statistics.median(loads):.6f} {size}")


if __name__ == "__main__":
    main()
