"""Image token kernels: ns per image against the per-item reference loop and the memory floor.

Run: ``python benchmarks/bench_image.py`` (``--quick`` for N = 1e3 and 1e5 only,
``--families`` to add every family's ``Model.image_tokens``).

For each N (1e3, 1e5, 1e7) and each size distribution it measures, in one process and
interleaved (so machine load hits every contender alike), the best of ``--reps`` runs of:

* ``floor``   — plain numpy ``h * w`` over the same int64 arrays: read two arrays, write
  one; the memory floor any per-image kernel must pay.
* ``ref loop`` — qwen-vl-utils' ``smart_resize`` called per item in Python (the function is
  copied below, labelled, so the benchmark needs no torch). Timed on at most 10**5 items,
  since its cost per item does not depend on N.
* ``tokens``  — ``kernels.grid.smart_resize_tokens`` (Qwen2.5-VL constants, +2 wrappers).
* ``tokens+patches`` — the same, also writing the encoder patch counts.
* ``api``     — ``tm.get_model("qwen2.5-vl-72b-instruct").image_tokens`` (adds the
  model's up-front input checks).
* ``sides``   — ``kernels.grid.smart_resize`` (resized heights and widths).

Ratios are against ``floor`` measured in the same run. Timings are wall-clock
(``time.perf_counter``); the kernels use ``TOKENMETER_THREADS`` worker threads (default:
the usable CPUs) for N >= 2**18, while ``floor`` is one numpy call. ``--cpu`` reports CPU
time of the process instead (all threads summed): with ``TOKENMETER_THREADS=1`` that is
the single-core cost, and it is less disturbed by other processes on a loaded machine.

Distributions: ``photo`` = both sides uniform in 200..4000 (about 1 % are resized);
``loguni`` = both sides log-uniform in 10..16384, pairs beyond 200:1 dropped (about 18 %
take a resize branch).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Callable

import numpy as np

import tokenmeter as tm
from tokenmeter.kernels import grid
from tokenmeter.kernels._blocks import workers

QWEN = {"factor": 28, "min_pixels": 3136, "max_pixels": 12845056}


# ---- BEGIN: copied from qwen-vl-utils 0.0.14, qwen_vl_utils/vision_process.py -------------------
# (round_by_factor, ceil_by_factor, floor_by_factor, smart_resize; MAX_RATIO = 200), so that the
# per-item baseline runs without torch/torchvision, which that module imports.
MAX_RATIO = 200


def round_by_factor(number: int, factor: int) -> int:
    return round(number / factor) * factor


def ceil_by_factor(number: int, factor: int) -> int:
    return math.ceil(number / factor) * factor


def floor_by_factor(number: int, factor: int) -> int:
    return math.floor(number / factor) * factor


def qvu_smart_resize(height, width, factor, min_pixels, max_pixels):  # type: ignore[no-untyped-def]
    if max(height, width) / min(height, width) > MAX_RATIO:
        raise ValueError("aspect")
    h_bar = max(factor, round_by_factor(height, factor))
    w_bar = max(factor, round_by_factor(width, factor))
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = floor_by_factor(height / beta, factor)
        w_bar = floor_by_factor(width / beta, factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = ceil_by_factor(height * beta, factor)
        w_bar = ceil_by_factor(width * beta, factor)
    return h_bar, w_bar


# ---- END: copied from qwen-vl-utils -----------------------------------------------------------


def sizes(dist: str, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    if dist == "photo":
        return rng.integers(200, 4001, n), rng.integers(200, 4001, n)
    hs, ws, have = [], [], 0
    while have < n:
        k = int((n - have) * 1.3) + 16
        h = np.exp(rng.uniform(np.log(10), np.log(16385), k)).astype(np.int64)
        w = np.exp(rng.uniform(np.log(10), np.log(16385), k)).astype(np.int64)
        ok = np.maximum(h, w) <= 200 * np.minimum(h, w)
        hs.append(h[ok])
        ws.append(w[ok])
        have += int(ok.sum())
    return np.concatenate(hs)[:n], np.concatenate(ws)[:n]


def ref_loop(h: np.ndarray, w: np.ndarray) -> list[int]:
    f, lo, hi = QWEN["factor"], QWEN["min_pixels"], QWEN["max_pixels"]
    out = []
    for hh, ww in zip(h.tolist(), w.tolist(), strict=True):
        rh, rw = qvu_smart_resize(hh, ww, f, lo, hi)
        out.append((rh // f) * (rw // f) + 2)
    return out


def measure(
    fns: dict[str, Callable[[], object]], reps: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Best time of each function over ``reps`` interleaved rounds."""
    best = dict.fromkeys(fns, math.inf)
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            best[name] = min(best[name], clock() - t0)
    return best


FAMILY_MODELS = [
    ("llava-next-7b", {}),
    ("internvl2.5-8b", {}),
    ("pixtral-12b", {}),
    ("llama-3.2-11b-vision-instruct", {}),
    ("gpt-4o", {"detail": "high"}),
    ("gpt-4.1-mini", {}),
    ("claude-sonnet-4-5", {}),
    ("claude-opus-4-7", {}),
    ("gemini-2.5-flash", {}),
    ("gemini-3-pro", {}),
    ("llava-1.5-7b", {}),
]


def bench_one(dist: str, n: int, reps: int, clock: Callable[[], float], families: bool) -> None:
    """Time every contender on one distribution and N; print ns/image and ratios."""
    model = tm.get_model("qwen2.5-vl-72b-instruct")
    h, w = sizes(dist, n)
    sub = min(n, 10**5)
    hs, ws = h[:sub], w[:sub]
    # Correctness guard: the kernel equals the copied reference on the subsample.
    got = grid.smart_resize_tokens(hs, ws, variant="qwen-vl-utils", offset=2, **QWEN)[0]
    if got.tolist() != ref_loop(hs, ws):
        raise SystemExit("kernel and reference loop disagree")
    fns: dict[str, Callable[[], object]] = {
        "floor": lambda: h * w,
        "tokens": lambda: grid.smart_resize_tokens(h, w, offset=2, **QWEN),
        "tokens+patches": lambda: grid.smart_resize_tokens(
            h, w, offset=2, patches_per_token=4, **QWEN
        ),
        "api": lambda: model.image_tokens(w, h),
        "sides": lambda: grid.smart_resize(h, w, **QWEN),
    }
    if families:
        for mid, opts in FAMILY_MODELS:
            m = tm.get_model(mid)
            fns[mid] = lambda m=m, opts=opts: m.image_tokens(w, h, **opts)
    t = measure(fns, reps, clock)
    t_ref = measure({"ref": lambda: ref_loop(hs, ws)}, 1 if sub >= 10**5 else 3, clock)
    floor = t["floor"] / n
    print(f"\n{dist}  N = {n:.0e}")
    ref = t_ref["ref"] / sub
    print(f"  {'ref loop (qwen-vl-utils)':32} {ref * 1e9:9.2f} ns  ({ref / floor:7.1f}x)")
    for name, v in t.items():
        print(f"  {name:32} {v / n * 1e9:9.2f} ns  ({v / n / floor:7.1f}x)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1e3 and 1e5 only")
    ap.add_argument("--families", action="store_true", help="also every family's image_tokens")
    ap.add_argument("--reps", type=int, default=0, help="rounds per N (default: 7, 3 at 1e7)")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="CPU time of this process (all its threads) instead of wall-clock time",
    )
    ap.add_argument("--dist", choices=["photo", "loguni"], action="append")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    ns = [10**3, 10**5] if args.quick else [10**3, 10**5, 10**7]
    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, "
        f"clock {'cpu' if args.cpu else 'wall'}, kernel threads {workers()} "
        "(TOKENMETER_THREADS); ns per image (ratio to floor)"
    )
    for dist in args.dist or ["photo", "loguni"]:
        for n in ns:
            bench_one(dist, n, args.reps or (3 if n >= 10**7 else 7), clock, args.families)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
