"""Estimator speed against the exact tokenizer and ``len(text) / 4``, in one run.

Run: ``python benchmarks/bench_estimate.py [--calibration qwen2] [--repeat 5]``.

Inputs are the committed held-out sample (``tests/data/corpus/{en,zh}.jsonl``), as one
long string per language (bulk text) and as its ~600 separate paragraphs (many short
strings, where per-call overhead matters). Every figure is the best of ``--repeat`` runs
(``time.perf_counter``), in ns per character; ratios are against the exact tokenizer and
against ``len/4`` measured in the same process.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--calibration", default="qwen2")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args(argv)

    from tokenmeter.text import get_tokenizer, vocabulary_available
    from tokenmeter.text.estimate import estimate_many, estimate_one

    name = args.calibration
    tok = get_tokenizer(name) if vocabulary_available(name) else None
    results: list[dict[str, object]] = []
    for lang in ("en", "zh"):
        paras = [json.loads(line)["text"]
                 for line in (CORPUS / f"{lang}.jsonl").read_text("utf-8").splitlines() if line]
        bulk = "\n\n".join(paras)
        chars = len(bulk)
        estimate_one(bulk, name)  # build the class table and load the calibration first
        cases: dict[str, dict[str, Callable[[], object]]] = {
            "bulk (one string)": {
                "len/4": lambda b=bulk: -(-len(b) // 4),
                "estimate": lambda b=bulk: estimate_one(b, name),
            },
            f"{len(paras)} paragraphs": {
                "len/4": lambda p=paras: np.fromiter((-(-len(t) // 4) for t in p), np.int64),
                "estimate (estimate_many)": lambda p=paras: estimate_many(p, name),
                "estimate (estimate_one each)": lambda p=paras: [estimate_one(t, name)
                                                                 for t in p],
            },
        }
        if tok is not None:
            cases["bulk (one string)"]["exact"] = lambda b=bulk: tok.count(b)
            cases[f"{len(paras)} paragraphs"]["exact"] = lambda p=paras: tok.count_many(p)
        for case, fns in cases.items():
            times = {k: _best(f, args.repeat) * 1e9 / chars for k, f in fns.items()}
            for k, ns in times.items():
                row = {"lang": lang, "case": case, "method": k, "ns_per_char": round(ns, 2),
                       "x_len4": round(ns / times["len/4"], 1)}
                if "exact" in times:
                    row["x_exact"] = round(ns / times["exact"], 3)
                results.append(row)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"calibration {name}; exact tokenizer "
          f"{'installed' if tok is not None else 'NOT installed'}; best of {args.repeat}")
    print(f"{'lang':4} {'case':22} {'method':30} {'ns/char':>9} {'vs len/4':>9} {'vs exact':>9}")
    for r in results:
        vs_exact = f"{r['x_exact']:.3f}" if "x_exact" in r else "-"
        print(f"{r['lang']:4} {r['case']:22} {r['method']:30} {r['ns_per_char']:9.2f} "
              f"{r['x_len4']:8.1f}x {vs_exact:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
