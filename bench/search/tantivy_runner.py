#!/usr/bin/env python3
"""Tantivy (PyPI `tantivy`) on the search benchmark's corpus and queries, driven one step at a time
so the bench can alternate each step with its own run of the same step (this machine drifts
between speed modes; steps timed seconds apart compare the engines in the same mode).
Usage: tantivy_runner.py CORPUS.jsonl QUERIES.txt [--threads N]
CORPUS.jsonl: one {"id": "...", "body": "..."} per line. QUERIES.txt: one query per line.
Answers one JSON object per line: {"engine", "docs"} when loaded, then one per command line:
  index       builds a fresh index (one commit)        -> {"index_seconds"}
  top10       every query's top 10 (untimed; warms)    -> {"top10": [[[id, score], ...], ...]}
  pass [N]        one timed pass over the pre-parsed queries, the set run N times (default 1)
                  -> {"latencies": [s, ...], "wall": s}
  pass-parse [N]  the same with each string parsed inside the timed loop, as Prism's loop parses its own
"""
import importlib.metadata
import json
import shutil
import sys
import tempfile
import time

import tantivy


def main():
    corpus_path, queries_path = sys.argv[1], sys.argv[2]
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else 1
    docs = [json.loads(line) for line in open(corpus_path, encoding="utf-8")]
    queries = [line.rstrip("\n") for line in open(queries_path, encoding="utf-8") if line.strip()]

    builder = tantivy.SchemaBuilder()
    builder.add_text_field("id", stored=True, tokenizer_name="raw")
    builder.add_text_field("body", stored=False, tokenizer_name="default")
    schema = builder.build()
    folder, index, searcher, parsed = None, None, None, []

    def answer(value):
        print(json.dumps(value), flush=True)

    answer({"engine": "tantivy " + importlib.metadata.version("tantivy"), "docs": len(docs)})
    try:
        for line in sys.stdin:
            words = line.split()
            command = words[0] if words else ""
            times = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
            if command == "index":
                if folder:
                    searcher, index = None, None
                    shutil.rmtree(folder, ignore_errors=True)
                folder = tempfile.mkdtemp(prefix="tantivy-bench-")
                index = tantivy.Index(schema, path=folder)
                start = time.perf_counter()
                writer = index.writer(heap_size=256_000_000, num_threads=threads)
                for d in docs:
                    writer.add_document(tantivy.Document(id=d["id"], body=d["body"]))
                writer.commit()
                writer.wait_merging_threads()
                seconds = time.perf_counter() - start
                index.reload()
                searcher = index.searcher()
                parsed = [index.parse_query(q, ["body"]) for q in queries]
                answer({"index_seconds": seconds})
            elif command == "top10" and searcher:
                top10 = []
                for q in parsed:
                    hits = searcher.search(q, 10).hits
                    top10.append([[searcher.doc(address)["id"][0], score] for score, address in hits])
                answer({"top10": top10})
            elif command == "pass" and searcher:
                latencies = []
                wall = time.perf_counter()
                for q in parsed * times:
                    t = time.perf_counter()
                    searcher.search(q, 10)
                    latencies.append(time.perf_counter() - t)
                answer({"latencies": latencies, "wall": time.perf_counter() - wall})
            elif command == "pass-parse" and searcher:
                latencies = []
                wall = time.perf_counter()
                for q in queries * times:
                    t = time.perf_counter()
                    searcher.search(index.parse_query(q, ["body"]), 10)
                    latencies.append(time.perf_counter() - t)
                answer({"latencies": latencies, "wall": time.perf_counter() - wall})
            else:
                answer({"error": "unknown command, or no index yet: " + line.strip()})
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
