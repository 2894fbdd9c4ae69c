#!/usr/bin/env python3
"""Writes a natural-language corpus and queries for `prism bench search --corpus`, from English text
every Debian machine with Python has: the paragraphs of the Python standard library's docstrings,
its pydoc topics, and the Debian copyright files, in a fixed order, so the corpus is the same
wherever the same Python and packages are installed.
Usage: natural_corpus.py OUT_DIR [--docs N] [--queries Q] [--seed S]
Writes OUT_DIR/corpus.jsonl ({"id", "body"} per line) and OUT_DIR/queries.txt."""
import ast
import glob
import json
import os
import random
import re
import sys
import sysconfig


def paragraphs():
    lib = sysconfig.get_paths()["stdlib"]
    for path in sorted(glob.glob(lib + "/**/*.py", recursive=True)):
        if "site-packages" in path:
            continue
        try:
            tree = ast.parse(open(path, encoding="utf-8", errors="ignore").read())
        except Exception:
            continue
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node)
                if not doc:
                    continue
                for p in re.split(r"\n\s*\n", doc):
                    text = " ".join(p.split())
                    if len(text.split()) >= 8:
                        yield text


def more_paragraphs():
    import pydoc_data.topics as topics
    sources = [topics.topics[k] for k in sorted(topics.topics)]
    sources += [open(f, encoding="utf-8", errors="ignore").read() for f in sorted(glob.glob("/usr/share/doc/*/copyright"))]
    for text in sources:
        for p in re.split(r"\n\s*\n", text):
            p = " ".join(p.split())
            if len(p.split()) >= 8:
                yield p


def main():
    out = sys.argv[1]
    args = sys.argv[2:]
    docs = int(args[args.index("--docs") + 1]) if "--docs" in args else 100_000
    count = int(args[args.index("--queries") + 1]) if "--queries" in args else 400
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    rng = random.Random(seed)
    bodies = []
    import itertools
    for text in itertools.chain(paragraphs(), more_paragraphs()):
        bodies.append(text)
        if len(bodies) >= docs:
            break
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for i, body in enumerate(bodies):
            f.write(json.dumps({"id": "n%d" % i, "body": body}) + "\n")
    words = [w for w in re.findall(r"[a-z]{3,}", " ".join(bodies[:20000]).lower())]
    queries = []
    for q in range(count):
        kind = q % 4
        if kind == 0:
            queries.append(rng.choice(words))
        elif kind == 1:
            queries.append("%s %s" % (rng.choice(words), rng.choice(words)))
        elif kind == 2:
            queries.append("+%s +%s" % (rng.choice(words), rng.choice(words)))
        else:
            tokens = re.findall(r"[A-Za-z]{3,}", rng.choice(bodies))
            if len(tokens) >= 2:
                i = rng.randrange(len(tokens) - 1)
                queries.append('"%s %s"' % (tokens[i].lower(), tokens[i + 1].lower()))
            else:
                queries.append(rng.choice(words))
    with open(os.path.join(out, "queries.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(queries) + "\n")
    print(json.dumps({"docs": len(bodies), "queries": len(queries)}))


if __name__ == "__main__":
    main()
