#!/usr/bin/env python3
"""The seed system's mechanism for sharing objects between processes, measured on the same values
as dedup-bench-store: put/get on a multiprocessing.Manager().dict() from several processes.
Usage: manager_dict.py --procs 4 --ops 20000 [--mode mixed|gets]   (prints "ops_per_s X")
mixed: half puts, half gets; gets: gets only, of keys put before the clock starts.
"""
import argparse
import multiprocessing as mp
import time

VALUE = {"name": "calexp", "storageClass": "ExposureF", "dimensions": ["instrument", "visit", "detector"],
         "parentStorageClass": None, "isCalibration": False}


def work(shared, proc, ops, keys, mixed, start, out):
    start.wait()
    t0 = time.perf_counter()
    for i in range(ops):
        key = "k%d" % ((i * 7 + proc) % keys)
        if mixed and i % 2 == 0:
            shared[key] = dict(VALUE, name=key)
        else:
            shared.get(key)
    out.put(time.perf_counter() - t0)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--procs", type=int, default=4)
    p.add_argument("--ops", type=int, default=20000)
    p.add_argument("--keys", type=int, default=100)
    p.add_argument("--mode", choices=["mixed", "gets"], default="mixed")
    a = p.parse_args()
    with mp.Manager() as m:
        shared, start, out = m.dict(), mp.Barrier(a.procs), mp.Queue()
        for k in range(a.keys if a.mode == "gets" else 0):
            shared["k%d" % k] = dict(VALUE, name="k%d" % k)
        workers = [mp.Process(target=work, args=(shared, i, a.ops, a.keys, a.mode == "mixed", start, out))
                   for i in range(a.procs)]
        for w in workers:
            w.start()
        times = [out.get(timeout=600) for _ in workers]
        for w in workers:
            w.join()
    print("ops_per_s %.1f" % (a.procs * a.ops / max(times)))


if __name__ == "__main__":
    main()
