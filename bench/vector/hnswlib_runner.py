#!/usr/bin/env python3
"""Builds an hnswlib index over the benchmark's vectors, runs one untimed pass over the queries
(so it is measured warm, as prism is), then times one pass per `pass` line on standard input.
Output, one JSON object per line: {"engine", "build_seconds"} when ready, then per pass
{"rate": queries/s, "latencies": [seconds per query], "labels": [top-k labels per query]}.
The bench alternates these passes with its own, so both engines are timed in the same minute.
Usage: hnswlib_runner.py VECTORS.f32 QUERIES.f32 DIM SPACE M EF_CONSTRUCTION EF_SEARCH K
(.f32 files: float32 little-endian, row-major.)"""
import json
import sys
import time

import hnswlib
import numpy as np


def main():
    vectors_path, queries_path = sys.argv[1], sys.argv[2]
    dim, space = int(sys.argv[3]), sys.argv[4]
    m, ef_construction, ef_search, k = (int(x) for x in sys.argv[5:9])
    data = np.fromfile(vectors_path, dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(queries_path, dtype="<f4").reshape(-1, dim)
    index = hnswlib.Index(space=space, dim=dim)
    start = time.perf_counter()
    index.init_index(max_elements=len(data), ef_construction=ef_construction, M=m, random_seed=1)
    index.add_items(data, np.arange(len(data)), num_threads=1)
    build = time.perf_counter() - start
    index.set_ef(ef_search)
    for q in queries:
        index.knn_query(q, k=k, num_threads=1)
    print(json.dumps({"engine": "hnswlib", "build_seconds": build}), flush=True)
    for line in sys.stdin:
        if line.strip() != "pass":
            print(json.dumps({"error": "unknown command " + line.strip()}), flush=True)
            continue
        labels, latencies = [], []
        wall = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            found, _ = index.knn_query(q, k=k, num_threads=1)
            latencies.append(time.perf_counter() - t)
            labels.append([int(x) for x in found[0]])
        rate = len(queries) / (time.perf_counter() - wall)
        print(json.dumps({"rate": rate, "latencies": latencies, "labels": labels}), flush=True)


if __name__ == "__main__":
    main()
