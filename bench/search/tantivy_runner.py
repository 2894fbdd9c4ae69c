#!/usr/bin/env python3
"""Runs the search benchmark's corpus and queries through Tantivy (PyPI `tantivy`) and prints one
JSON object: index docs/s, query latency p50/p99, single-thread queries/s, and the top-10 ids of
every query (so the caller can compare result quality). Usage:
    tantivy_runner.py CORPUS.jsonl QUERIES.txt [--threads N] [--repeat R]
CORPUS.jsonl: one {"id": "...", "body": "..."} per line. QUERIES.txt: one query per line.
"""
import importlib.metadata
import json
import statistics
import sys
import tempfile
import time

import tantivy


def main():
    corpus_path, queries_path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 1
    docs = [json.loads(line) for line in open(corpus_path, encoding="utf-8")]
    queries = [line.rstrip("\n") for line in open(queries_path, encoding="utf-8") if line.strip()]

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="default")
    schema = builder.build()
    with tempfile.TemporaryDirectory() as folder:
        index = tantivy.Index(schema, path=folder)
        start = time.perf_counter()
        writer = index.writer(heap_size=256_000_000, num_threads=threads)
        for d in docs:
            writer.add_document(tantivy.Document(id=d["id"], body=d["body"]))
        writer.commit()
        writer.wait_merging_threads()
        index_seconds = time.perf_counter() - start
        index.reload()
        searcher = index.searcher()

        parsed = [index.parse_query(q, ["body"]) for q in queries]
        top10 = []
        for q in parsed:
            hits = searcher.search(q, 10).hits
            top10.append([[searcher.doc(address)["id"][0], score] for score, address in hits])
        latencies = []
        wall_start = time.perf_counter()
        for _ in range(repeat):
            for q in parsed:
                t = time.perf_counter()
                searcher.search(q, 10)
                latencies.append(time.perf_counter() - t)
        wall = time.perf_counter() - wall_start
        # The same loop with the query string parsed inside it, as Prism's timed loop parses its
        # (both engines get a string from the caller); reported next to the figure above.
        parse_latencies = []
        parse_start = time.perf_counter()
        for _ in range(repeat):
            for q in queries:
                t = time.perf_counter()
                searcher.search(index.parse_query(q, ["body"]), 10)
                parse_latencies.append(time.perf_counter() - t)
        parse_wall = time.perf_counter() - parse_start
    kinds, means = {}, {}
    for name, kind in (("term", 0), ("or", 1), ("and", 2), ("phrase", 3)):
        own = sorted(latencies[i] for i in range(len(latencies)) if (i % len(parsed)) % 4 == kind)
        if own:
            kinds[name] = statistics.median(own) * 1000
            means[name] = statistics.mean(own) * 1000
    latencies.sort()
    print(json.dumps({
        "p50_ms_by_kind": kinds,
        "mean_ms_by_kind": means,
        "engine": "tantivy " + importlib.metadata.version("tantivy"),
        "docs": len(docs),
        "index_docs_per_s": len(docs) / index_seconds,
        "query_p50_ms": statistics.median(latencies) * 1000,
        "query_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "queries_per_s": len(latencies) / wall,
        "query_p50_ms_with_parse": statistics.median(parse_latencies) * 1000,
        "queries_per_s_with_parse": len(parse_latencies) / parse_wall,
        "top10": top10,
    }))


if __name__ == "__main__":
    main()
