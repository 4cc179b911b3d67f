"""Exact text counting: tokenmeter against raw tiktoken on the same vocabulary, one run.

Reports MB/s and the ratio to the baseline measured in the same process:

* bulk single text (10 MB mixed English/Chinese): ``Model.count_text`` (which splits at
  safe boundaries and counts on every core) vs ``len(enc.encode_ordinary(text))`` — for
  Qwen, of the NFC-normalized text, which is what its reference computes; and the same
  with ``TOKENMETER_THREADS=1``, so both sides use one thread: that ratio is tokenmeter's
  own overhead (the < 5 % target);
* many documents: ``Model.text_tokens`` vs ``[len(enc.encode_ordinary(t)) for t in docs]``
  and tiktoken's own ``encode_ordinary_batch``;
* small strings: per-call overhead of ``count_text`` vs ``encode_ordinary``;
* ``import tokenmeter`` wall time (fresh interpreters, median).

Run: ``python benchmarks/bench_text.py [--mb 10]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import tokenmeter as tm
from tokenmeter.text import get_tokenizer
from tokenmeter.text._pool import workers


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def best_pair(a, b, rounds: int = 5) -> tuple[float, float]:
    """Best times of ``a`` and ``b`` run alternately (load spikes hit both alike)."""
    ta, tb = [], []
    for _ in range(rounds):
        for fn, out in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            out.append(time.perf_counter() - t0)
    return min(ta), min(tb)


def one_thread(fn):
    def run() -> object:
        old = os.environ.get("TOKENMETER_THREADS")
        os.environ["TOKENMETER_THREADS"] = "1"
        try:
            return fn()
        finally:
            if old is None:
                del os.environ["TOKENMETER_THREADS"]
            else:
                os.environ["TOKENMETER_THREADS"] = old
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--mb", type=float, default=10.0)
    args = ap.parse_args()

    from test_text_exact import _mixed_text

    text = _mixed_text(int(args.mb * 1_000_000), seed=7)
    nbytes = len(text.encode("utf-8"))
    print(f"input: {len(text):,} chars, {nbytes / 1e6:.1f} MB UTF-8; threads: {workers()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    head = f"{'tokenizer':12} {'case':28} {'baseline MB/s':>14} {'tokenmeter MB/s':>16}"
    print(f"{head} {'ratio':>7}")
    for model, name in (("qwen2.5-72b-instruct", "qwen2"), ("llama-3.1-70b-instruct", "llama3"),
                        ("gpt-4", "cl100k_base")):
        tok = get_tokenizer(name)
        enc = tok._enc  # the same tiktoken Encoding, same vocabulary and pattern
        m = tm.get_model(model)
        # The baseline does what the reference does: Qwen's normalizes to NFC first.
        def reference(enc=enc, norm=tok.normalize) -> int:
            return len(enc.encode_ordinary(unicodedata.normalize(norm, text) if norm else text))

        base, ours = best_pair(reference, lambda m=m: m.count_text(text))
        print(f"{name:12} {'one 10 MB text':28} {nbytes / base / 1e6:14.1f} "
              f"{nbytes / ours / 1e6:16.1f} {base / ours:7.2f}x")
        base, ours = best_pair(reference, one_thread(lambda m=m: m.count_text(text)))
        print(f"{name:12} {'one 10 MB text, 1 thread':28} {nbytes / base / 1e6:14.1f} "
              f"{nbytes / ours / 1e6:16.1f} {base / ours:7.2f}x  "
              f"overhead {(ours / base - 1) * 100:+.1f} %")

        docs = [text[i:i + 4000] for i in range(0, len(text), 4000)]
        nfc = tok.normalize

        def ref_docs(enc=enc, docs=docs, nfc=nfc) -> list[int]:
            return [len(enc.encode_ordinary(unicodedata.normalize(nfc, d) if nfc else d))
                    for d in docs]

        def ref_batch(enc=enc, docs=docs, nfc=nfc) -> object:
            pd = [unicodedata.normalize(nfc, d) for d in docs] if nfc else docs
            return enc.encode_ordinary_batch(pd, num_threads=workers())

        batch, ours = best_pair(ref_batch, lambda m=m, docs=docs: m.text_tokens(docs))
        base = best(ref_docs)
        print(f"{name:12} {f'{len(docs)} docs of 4k chars':28} {nbytes / base / 1e6:14.1f} "
              f"{nbytes / ours / 1e6:16.1f} {base / ours:7.2f}x "
              f"(tiktoken encode_ordinary_batch, {workers()} threads: "
              f"{nbytes / batch / 1e6:.1f} MB/s, {batch / ours:.2f}x)")
        base, ours = best_pair(ref_docs, one_thread(lambda m=m, docs=docs: m.text_tokens(docs)))
        print(f"{name:12} {'the docs, 1 thread':28} {nbytes / base / 1e6:14.1f} "
              f"{nbytes / ours / 1e6:16.1f} {base / ours:7.2f}x  "
              f"overhead {(ours / base - 1) * 100:+.1f} %")

        small = ["Hello, 世界! How are you?"] * 20_000
        base = best(lambda enc=enc, small=small: [len(enc.encode_ordinary(s)) for s in small])
        ours = best(lambda m=m, small=small: [m.count_text(s) for s in small])
        print(f"{name:12} {'20k calls, 22 chars':28} {'':>14} {'':>16} "
              f"per call: tiktoken {base / len(small) * 1e6:.2f} µs, "
              f"count_text {ours / len(small) * 1e6:.2f} µs")

    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import tokenmeter"], check=True)
        runs.append(time.perf_counter() - t0)
    bare = []
    for _ in range(7):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - t0)
    print(f"import tokenmeter: {(statistics.median(runs) - statistics.median(bare)) * 1e3:.0f} ms "
          f"(median over 7 fresh interpreters, minus the bare interpreter start)")


if __name__ == "__main__":
    main()
