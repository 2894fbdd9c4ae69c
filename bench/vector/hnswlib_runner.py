#!/usr/bin/env python3
"""Builds an hnswlib index over the benchmark's vectors and answers its queries; prints one JSON
object: build seconds, query p50/p99, single-thread queries/s, and the top-k labels per query.
Usage: hnswlib_runner.py VECTORS.f32 QUERIES.f32 DIM SPACE M EF_CONSTRUCTION EF_SEARCH K [PASSES]
(queries/s is the median of PASSES timed passes over the queries, default 1; latencies cover them all.)
(.f32 files: float32 little-endian, row-major.)"""
import json
import statistics
import sys
import time

import hnswlib
import numpy as np


def main():
    vectors_path, queries_path = sys.argv[1], sys.argv[2]
    dim, space = int(sys.argv[3]), sys.argv[4]
    m, ef_construction, ef_search, k = (int(x) for x in sys.argv[5:9])
    passes = int(sys.argv[9]) if len(sys.argv) > 9 else 1
    data = np.fromfile(vectors_path, dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(queries_path, dtype="<f4").reshape(-1, dim)
    index = hnswlib.Index(space=space, dim=dim)
    start = time.perf_counter()
    index.init_index(max_elements=len(data), ef_construction=ef_construction, M=m, random_seed=1)
    index.add_items(data, np.arange(len(data)), num_threads=1)
    build = time.perf_counter() - start
    index.set_ef(ef_search)
    for q in queries:  # one untimed pass, as prism does, so both are measured warm
        index.knn_query(q, k=k, num_threads=1)
    labels, latencies, rates = [], [], []
    for pass_number in range(passes):
        wall = time.perf_counter()
        for q in queries:
            t = time.perf_counter()
            found, _ = index.knn_query(q, k=k, num_threads=1)
            latencies.append(time.perf_counter() - t)
            if pass_number == 0:
                labels.append([int(x) for x in found[0]])
        rates.append(len(queries) / (time.perf_counter() - wall))
    latencies.sort()
    print(json.dumps({
        "engine": "hnswlib",
        "build_seconds": build,
        "query_p50_ms": statistics.median(latencies) * 1000,
        "query_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "queries_per_s": statistics.median(rates),
        "labels": labels,
    }))


if __name__ == "__main__":
    main()
