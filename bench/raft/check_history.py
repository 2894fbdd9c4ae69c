#!/usr/bin/env python3
"""Independent linearizability check of `prism sim raft --history-dir DIR` output.

Written apart from Prism's Swift checker (same model, separate code): each key is a register;
an operation may take effect between its call and its return; an operation with result
"unknown" may take effect any time after its call, or never; a get with an unknown result is
ignored. Depth-first search over the minimal pending operations with memoization.

Usage: bench/raft/check_history.py DIR [DIR ...]   (exit 1 if any history is not linearizable)
"""
import json
import sys
from pathlib import Path

INF = float("inf")


def step(op, state):
    """The register's next state after `op` from `state`, or a marker that it cannot happen."""
    kind, result = op["op"], op["result"]
    if kind == "put":
        return True, op["value"]
    if kind == "get":
        return (op["output"] == state), state
    if kind == "cas":
        if result == "fail":
            return (state != op["expected"]), state
        return (state == op["expected"]), op["value"]
    raise ValueError(kind)


def linearizable(ops):
    ops = [o for o in ops if not (o["op"] == "get" and o["result"] == "unknown")]
    n = len(ops)
    calls = [o["call"] for o in ops]
    rets = [INF if o["result"] == "unknown" else o["return"] for o in ops]
    seen = set()
    sys.setrecursionlimit(10000 + 4 * n)

    def search(done, state):
        if (done, state) in seen:
            return False
        seen.add((done, state))
        remaining = [i for i in range(n) if not done >> i & 1]
        if all(rets[i] == INF for i in remaining):
            return True  # what is left may never have happened
        # An operation may go next only if it was called before every remaining one returned.
        horizon = min(rets[i] for i in remaining)
        for i in remaining:
            if calls[i] > horizon:
                continue
            ok, nxt = step(ops[i], state)
            if ok and search(done | 1 << i, nxt):
                return True
        return False

    return search(0, None)


def main(dirs):
    bad = 0
    files = 0
    for d in dirs:
        for path in sorted(Path(d).glob("seed-*.jsonl")):
            files += 1
            by_key = {}
            for line in path.read_text().splitlines():
                op = json.loads(line)
                by_key.setdefault(op["key"], []).append(op)
            for key, ops in sorted(by_key.items()):
                if not linearizable(ops):
                    print(f"{path.name}: key {key} is not linearizable")
                    bad += 1
    print(f"{files} histories checked, {bad} not linearizable")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["."]))
