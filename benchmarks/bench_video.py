"""Video counting speed: ns per video for N = 1e5 and 1e7, in one run, as ratios.

Three numbers per model, measured on the same arrays in the same process:

* **tokenmeter** — ``Model.video_tokens(widths, heights, durations, fps)``.
* **reference loop** — the reference's per-item Python (frame sampling and
  ``smart_resize`` / ``prepare_latents`` shape arithmetic, transcribed in plain Python
  below), timed on the first 20 000 items and reported per item.
* **memory floor** — one numpy pass over the same arrays
  (``w * h + durations * fps``): what reading the inputs costs at all.

Run: ``python benchmarks/bench_video.py [--sizes 1e5 1e7]``. Numbers vary ±10 % run to run.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Callable

import numpy as np

import tokenmeter as tm


def ref_qwen2_transformers(w: int, h: int, d: float, fps: float) -> int:
    total = round(d * fps)
    max_f = math.floor(min(768, total) / 2) * 2
    n = math.floor(min(max(total / fps * 2.0, 4), max_f, total) / 2) * 2
    n = math.ceil(total / (total / n))
    f = 28
    hb, wb = round(h / f) * f, round(w / f) * f
    if hb * wb > 12845056:
        beta = math.sqrt(h * w / 12845056)
        hb = max(f, math.floor(h / beta / f) * f)
        wb = max(f, math.floor(w / beta / f) * f)
    elif hb * wb < 3136:
        beta = math.sqrt(3136 / (h * w))
        hb, wb = math.ceil(h * beta / f) * f, math.ceil(w * beta / f) * f
    return (n + 1) // 2 * (hb // f) * (wb // f) + 2


def ref_gemini(w: int, h: int, d: float, fps: float) -> int:
    return math.ceil(d) * 258 + math.ceil(d * 32)


def ref_wan(w: int, h: int, d: float, fps: float) -> int:
    n = round(d * 16)
    nf = (n - 1 + 3) // 4 * 4 + 1
    return ((nf - 1) // 4 + 1) * (h // 16) * (w // 16)


CASES: list[tuple[str, Callable[[int, int, float, float], int], bool]] = [
    ("qwen2.5-vl-72b-instruct", ref_qwen2_transformers, False),
    ("gemini-2.5-flash", ref_gemini, False),
    ("wan2.1-t2v", ref_wan, True),
]


def inputs(n: int, dit: bool) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(0)
    pick = rng.integers(0, 4, n)
    w = np.array([1280, 1920, 854, 640])[pick]
    h = np.array([720, 1080, 480, 360])[pick]
    if dit:  # DiT pipelines need multiples of 16
        w = np.array([1280, 1920, 848, 640])[pick]
        h = np.array([720, 1088, 480, 368])[pick]
    d = np.round(rng.uniform(2, 600, n), 2)
    fps = np.array([24.0, 25.0, 30.0, 60.0])[rng.integers(0, 4, n)]
    return w, h, d, fps


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
    for model, ref, dit in CASES:
        m = tm.get_model(model)
        for size in args.sizes:
            n = int(size)
            w, h, d, fps = inputs(n, dit)
            f = None if dit else fps
            m.video_tokens(w[:100], h[:100], d[:100], f if f is None else f[:100])  # warm up
            repeat = 3 if n <= 1e6 else 1
            t_tm = best(lambda: m.video_tokens(w, h, d, f), repeat) / n * 1e9  # noqa: B023
            t_floor = best(lambda: w * h + d * fps, repeat) / n * 1e9  # noqa: B023
            k = min(n, 20_000)
            wl, hl, dl, fl = w[:k].tolist(), h[:k].tolist(), d[:k].tolist(), fps[:k].tolist()
            t_ref = best(lambda: [ref(*x) for x in zip(wl, hl, dl, fl, strict=True)],  # noqa: B023
                         1) / k * 1e9
            # The reference loop and tokenmeter must agree on what they timed.
            got = m.video_tokens(w[:k], h[:k], d[:k], None if dit else fps[:k])
            want = [ref(*x) for x in zip(wl, hl, dl, fl, strict=True)]
            if model != "gemini-2.5-flash":  # Gemini's ref rounds whole seconds only
                assert got.tolist() == want, model
            print(f"{model:26} {n:>9.0e} {t_tm:>9.1f} ns {t_ref:>9.1f} ns {t_floor:>6.2f} ns "
                  f"{t_ref / t_tm:>8.1f}x {t_tm / t_floor:>7.1f}x")


if __name__ == "__main__":
    main()
