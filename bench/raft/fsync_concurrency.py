#!/usr/bin/env python3
"""How long fdatasync of a small append takes on this disk when N processes sync at once, as the
replicas of a group on one machine do for every put. Usage: fsync_concurrency.py N [DIR]."""
import multiprocessing as mp
import os
import sys
import tempfile
import time


def worker(i, folder, barrier, out):
    fd = os.open(os.path.join(folder, f"sync.{i}"), os.O_WRONLY | os.O_CREAT, 0o644)
    times = []
    for _ in range(300):
        os.write(fd, b"x" * 300)
        barrier.wait()
        start = time.perf_counter()
        os.fdatasync(fd)
        times.append(time.perf_counter() - start)
    os.close(fd)
    times.sort()
    out.put((i, times[150] * 1000, times[270] * 1000))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory(dir=sys.argv[2] if len(sys.argv) > 2 else None) as folder:
        barrier, out = mp.Barrier(n), mp.Queue()
        procs = [mp.Process(target=worker, args=(i, folder, barrier, out)) for i in range(n)]
        for p in procs:
            p.start()
        for p in procs:
            p.join()
        rows = sorted(out.get() for _ in procs)
    print(f"{n} processes syncing at once, 300 syncs each: " +
          ", ".join(f"p50 {p50:.3f} ms p90 {p90:.3f} ms" for _, p50, p90 in rows))
    print(f"reproduce: python3 bench/raft/fsync_concurrency.py {n}")


if __name__ == "__main__":
    main()
