"""Audio counting speed: ns per clip for N = 1e5 and 1e7, in one run, as ratios.

Per model, on the same durations in the same process:

* **tokenmeter** — ``Model.audio_tokens(durations)``.
* **reference loop** — the processors' per-clip arithmetic in plain Python (samples,
  mel frames from the attention mask, ``_get_feat_extract_output_lengths``), timed on
  the first 50 000 clips and reported per clip; it is also checked to agree.
* **memory floor** — one numpy pass over the durations (``durations * 16000``).

Run: ``python benchmarks/bench_audio.py [--sizes 1e5 1e7]``.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

import tokenmeter as tm


def ref_qwen2_audio(d: float) -> int:
    mel = min(-(-round(d * 16000) // 160), 3000)
    return ((mel - 1) // 2 + 1 - 2) // 2 + 1 + 2


def ref_qwen3_omni(d: float) -> int:
    mel = round(d * 16000) // 160
    feat = (mel % 100 - 1) // 2 + 1
    return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (mel // 100) * 13 + 2


def ref_whisper(d: float) -> int:
    return max(1, -(-round(d * 16000) // 480_000)) * 1500


def ref_rate(d: float) -> int:
    return -(-(round(d * 1_000_000) * 32) // 1_000_000)


CASES: list[tuple[str, Callable[[float], int]]] = [
    ("qwen2-audio-7b-instruct", ref_qwen2_audio),
    ("qwen3-omni", ref_qwen3_omni),
    ("whisper-large-v3", ref_whisper),
    ("gemini-2.5-flash", ref_rate),
]


def best(fn: Callable[[], object], repeat: int) -> float:
    t = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        t = min(t, time.perf_counter() - t0)
    return t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e7])
    args = ap.parse_args()
    print(f"{'model':26} {'N':>9} {'tokenmeter':>12} {'ref loop':>12} {'floor':>9} "
          f"{'speed-up':>9} {'x floor':>8}")
    rng = np.random.default_rng(0)
    for model, ref in CASES:
        m = tm.get_model(model)
        for size in args.sizes:
            n = int(size)
            d = np.round(rng.uniform(0.02, 900.0, n), 3)
            m.audio_tokens(d[:100])
            repeat = 3 if n <= 1e6 else 1
            t_tm = best(lambda: m.audio_tokens(d), repeat) / n * 1e9  # noqa: B023
            t_floor = best(lambda: d * 16000.0, repeat) / n * 1e9  # noqa: B023
            k = min(n, 50_000)
            dl = d[:k].tolist()
            t_ref = best(lambda: [ref(x) for x in dl], 1) / k * 1e9  # noqa: B023
            assert m.audio_tokens(d[:k]).tolist() == [ref(x) for x in dl], model
            print(f"{model:26} {n:>9.0e} {t_tm:>9.1f} ns {t_ref:>9.1f} ns {t_floor:>6.2f} ns "
                  f"{t_ref / t_tm:>8.1f}x {t_tm / t_floor:>7.1f}x")


if __name__ == "__main__":
    main()
