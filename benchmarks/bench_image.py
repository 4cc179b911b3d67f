"""Image token counting speed: µs per scalar call, and ns per image at N = 1e3, 1e5, 1e7.

Run: ``python benchmarks/bench_image.py`` (``--quick``: N = 1e3 and 1e5 only; ``--families
qwen claude ...``: a subset; ``--cpu``: CPU time instead of wall-clock).

1. **Scalar latency** — ``Model.count_image(w, h)``, which builds a full ``TokenCount``
   with its derivation (resized size, grid, tiles), per family: µs per call, the best of
   ``--reps`` passes over 512 distinct photo sizes (so no cached repeat of one size helps).
2. **Throughput** — for each N and each family, in one process and interleaved (machine
   load hits every contender alike), the best of ``--reps`` runs of:

   * ``floor`` — plain numpy ``h * w`` over the same int64 arrays: read two arrays, write
     one; the memory floor any per-image kernel must pay.
   * ``ref loop`` — the family's reference arithmetic, one image at a time in Python
     (``REFS`` below: copies of the published functions where they are pure Python,
     otherwise transcriptions of the reference's steps, each labelled). Timed on the
     first 20 000 images at most, since its cost per image does not depend on N; its
     answers are checked against tokenmeter's on those images.
   * the family: ``Model.image_tokens(widths, heights)`` (the model's up-front input
     checks included). For Qwen also the kernel alone, ``kernels.grid.smart_resize_tokens``
     (``qwen tokens``).

   Printed per row: ns per image, the ratio to ``floor`` and the reference loop's speed
   relative to it (``ref/x``: how many times faster than the per-image loop).

Timings are wall-clock (``time.perf_counter``); the kernels use ``TOKENMETER_THREADS``
worker threads (default: the usable CPUs) for N >= 2**18, while ``floor`` is one numpy call.
``--cpu`` reports the CPU time of the process instead (all threads summed): with
``TOKENMETER_THREADS=1`` that is the single-core cost, and it is less disturbed by other
processes on a loaded machine. The load average is printed before and after.

Distributions: ``photo`` = both sides uniform in 200..4000; ``loguni`` = both sides
log-uniform in 10..16384, pairs beyond 200:1 dropped (about 18 % of Qwen images take a
resize branch).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

import tokenmeter as tm
from tokenmeter.kernels import grid

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from test_image_kernels import _count_image_tokens, ref_resized_size
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


# Anthropic's reference code ("Resize your image before uploading" in its vision docs), as the
# tests copy it.
resized_size = ref_resized_size


# ---- transcriptions of the other references, one image at a time -------------------------------
PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


def llava_next(h: int, w: int) -> int:
    """transformers ``select_best_resolution`` + ``LlavaNextProcessor._get_unpadded_features``
    (+ the base image's 576 features, minus the CLS of the "default" strategy)."""
    best, max_eff, min_waste = None, 0, float("inf")
    for ph, pw in PINPOINTS:
        scale = min(pw / w, ph / h)
        dw, dh = int(w * scale), int(h * scale)
        eff = min(dw * dh, w * h)
        waste = ph * pw - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best = eff, waste, (ph, pw)
    bh, bw = best  # type: ignore[misc]
    cur_h, cur_w = 24 * (bh // 336), 24 * (bw // 336)
    if w / h > cur_w / cur_h:
        new_h = int(round(h * (cur_w / w), 7))
        cur_h -= ((cur_h - new_h) // 2) * 2
    else:
        new_w = int(round(w * (cur_h / h), 7))
        cur_w -= ((cur_w - new_w) // 2) * 2
    return cur_h * (cur_w + 1) + 576


INTERNVL_RATIOS = sorted(
    ((i, j) for i in range(1, 13) for j in range(1, 13) if 1 <= i * j <= 12),
    key=lambda x: x[0] * x[1],
)


def internvl(h: int, w: int) -> int:
    """The model card's ``find_closest_aspect_ratio`` (transformers' candidate order), a
    thumbnail tile, 256 tokens per tile and ``<img>``/``</img>``."""
    aspect = w / h
    best_diff, best = float("inf"), (1, 1)
    for c, r in INTERNVL_RATIOS:
        diff = abs(aspect - c / r)
        if diff < best_diff:
            best_diff, best = diff, (c, r)
        elif diff == best_diff and w * h > 0.5 * 448 * 448 * c * r:
            best = (c, r)
    n = best[0] * best[1]
    return 256 * (n + (n > 1)) + 2


def pixtral(h: int, w: int) -> int:
    """mistral-common ``ImageEncoder._image_to_num_tokens`` (16-px patches, 1024 px):
    ``[IMG]`` per patch plus one ``[IMG_BREAK]``/``[IMG_END]`` per row."""
    ratio = max(h / 1024, w / 1024)
    if ratio > 1:
        w, h = max(round(w / ratio), 1), max(round(h / ratio), 1)
    rows, cols = (h - 1) // 16 + 1, (w - 1) // 16 + 1
    return rows * (cols + 1)


def mllama(h: int, w: int) -> int:
    """transformers ``mllama.get_optimal_tiled_canvas`` (4 tiles of 560 px), billed as
    1601 states per tile (the hosted profile)."""
    cands = [(a, b) for a in range(1, 5) for b in range(1, 5) if a * b <= 4]
    scales = [min(a * 560 / h, b * 560 / w) for a, b in cands]
    ups = [s for s in scales if s >= 1]
    sel = min(ups) if ups else max(scales)
    best = min(
        (c for c, s in zip(cands, scales, strict=True) if s == sel), key=lambda c: c[0] * c[1]
    )
    return 1601 * best[0] * best[1]


def openai_tiles(h: int, w: int) -> int:
    """OpenAI's documented tile steps (fit in 2048², short side to 768, 512-px tiles), in
    exact arithmetic with the roundings the API's bills show: 85 + 170 per tile."""
    if max(h, w) > 2048:
        s = Fraction(2048, max(h, w))
        h, w = (max(1, round(h * s)), 2048) if w >= h else (2048, max(1, round(w * s)))
    if min(h, w) > 768:
        s = Fraction(768, min(h, w))
        h, w = (768, math.floor(w * s)) if w >= h else (math.floor(h * s), 768)
    return 85 + 170 * math.ceil(w / 512) * math.ceil(h / 512)


def openai_patches(h: int, w: int) -> int:
    """OpenAI's documented 32-px patch rule (fit in 2048², cap 1536) in exact integer
    steps, times gpt-4.1-mini's 1.62 rounded half up."""
    if max(h, w) > 2048:
        s = Fraction(2048, max(h, w))
        h, w = (max(1, round(h * s)), 2048) if w >= h else (2048, max(1, round(w * s)))
    n = math.ceil(w / 32) * math.ceil(h / 32)
    if n > 1536:
        kw, kh = math.isqrt(1536 * w // h), math.isqrt(1536 * h // w)
        if kw * h <= kh * w:
            rw, rh = 32 * kw, 32 * kw * h // w
        else:
            rw, rh = 32 * kh * w // h, 32 * kh
        n = min(math.ceil(rw / 32) * math.ceil(rh / 32), 1536)
    return (n * 162 + 50) // 100


def gemini_tiles(h: int, w: int) -> int:
    """Gemini 2.x: 258 per image up to 384 px, else per 768-px tile."""
    return 258 * (1 if h <= 384 and w <= 384 else math.ceil(h / 768) * math.ceil(w / 768))


def qwen(h: int, w: int) -> int:
    rh, rw = qvu_smart_resize(h, w, **QWEN)
    return (rh // 28) * (rw // 28) + 2


# ---- END: transcriptions ------------------------------------------------------------------------

# (label, model, profile, options, reference per image, what the reference is)
FAMILIES: list[tuple[str, str, str | None, dict[str, object], Callable[[int, int], int]]] = [
    # The qwen-vl-utils profile: the reference copied above (transformers' smart_resize
    # differs from it only on images with a side near or below 14 px).
    ("qwen", "qwen2.5-vl-72b-instruct", "qwen-vl-utils", {}, qwen),
    ("llava-next", "llava-next-7b", None, {}, llava_next),
    ("internvl", "internvl2.5-8b", None, {}, internvl),
    ("pixtral", "pixtral-12b", None, {}, pixtral),
    ("llama-3.2-vision", "llama-3.2-11b-vision-instruct", "hosted", {}, mllama),
    ("gpt-4o", "gpt-4o", None, {"detail": "high"}, openai_tiles),
    ("gpt-4.1-mini", "gpt-4.1-mini", None, {}, openai_patches),
    (
        "claude",
        "claude-sonnet-4-5",
        None,
        {},
        lambda h, w: _count_image_tokens(*resized_size(w, h)),
    ),
    (
        "claude-high",
        "claude-opus-4-7",
        None,
        {},
        lambda h, w: _count_image_tokens(*resized_size(w, h, 2576, 4784)),
    ),
    ("gemini-2.5", "gemini-2.5-flash", None, {}, gemini_tiles),
    ("gemini-3", "gemini-3-pro", None, {}, lambda h, w: 1120),
    ("llava-1.5", "llava-1.5-7b", None, {}, lambda h, w: 576),
]
REF_SAMPLE = 20_000


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


def measure(
    fns: dict[str, Callable[[], object]], reps: int, clock: Callable[[], float]
) -> dict[str, float]:
    """Best time of each function over ``reps`` interleaved rounds (after one warm-up
    round, which also builds each kernel's tables)."""
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, math.inf)
    for _ in range(reps):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            best[name] = min(best[name], clock() - t0)
    return best


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def bench_scalar(families: list[tuple], reps: int) -> None:
    """µs per ``count_image`` call: the best of ``reps`` passes over 512 distinct sizes,
    the families interleaved pass by pass (a burst of load hits them all alike)."""
    h, w = sizes("photo", 512, seed=1)
    pairs = list(zip(w.tolist(), h.tolist(), strict=True))
    print(f"\nscalar: Model.count_image(w, h) -> TokenCount, µs per call ({load()})")
    models = [(tm.get_model(mid, profile=profile), opts) for _, mid, profile, opts, _ in families]
    best = [math.inf] * len(models)
    for rep in range(reps + 1):
        for i, (m, opts) in enumerate(models):
            t0 = time.perf_counter()
            for ww, hh in pairs:
                m.count_image(ww, hh, **opts)
            if rep:  # the first pass warms up
                best[i] = min(best[i], (time.perf_counter() - t0) / len(pairs))
    for (label, mid, *_), b in zip(families, best, strict=True):
        print(f"  {label:18} {mid:34} {b * 1e6:7.1f} µs")


def bench_one(
    dist: str, n: int, reps: int, clock: Callable[[], float], families: list[tuple]
) -> None:
    """Time every family on one distribution and N; print ns/image and ratios."""
    h, w = sizes(dist, n)
    sub = min(n, REF_SAMPLE)
    hs, ws = h[:sub].tolist(), w[:sub].tolist()
    fns: dict[str, Callable[[], object]] = {"floor": lambda: h * w}
    refs: dict[str, float] = {}
    for label, mid, profile, opts, ref in families:
        m = tm.get_model(mid, profile=profile)
        fns[label] = lambda m=m, opts=opts: m.image_tokens(w, h, **opts)
        # Correctness guard: tokenmeter equals the reference loop on the sample.
        try:
            want = [ref(a, b) for a, b in zip(hs, ws, strict=True)]
        except ValueError:  # qwen-vl-utils refuses beyond 200:1 (not drawn here)
            raise SystemExit(f"{label}: the reference refused an image") from None
        if m.image_tokens(w[:sub], h[:sub], **opts).tolist() != want:
            raise SystemExit(f"{label}: tokenmeter and the reference loop disagree")
        t0 = clock()
        for a, b in zip(hs, ws, strict=True):
            ref(a, b)
        refs[label] = (clock() - t0) / sub
        if label == "qwen":
            fns["qwen tokens"] = lambda: grid.smart_resize_tokens(
                h, w, offset=2, variant="qwen-vl-utils", **QWEN
            )
            refs["qwen tokens"] = refs[label]
    t = measure(fns, reps, clock)
    floor = t["floor"] / n
    print(f"\n{dist}  N = {n:.0e}  ({load()})")
    print(f"  {'':18} {'ns/image':>10} {'/floor':>8}   {'ref loop':>10} {'ref/x':>8}")
    print(f"  {'floor (h*w)':18} {floor * 1e9:10.2f} {1.0:7.1f}x")
    for name, v in t.items():
        if name == "floor":
            continue
        per = v / n
        ref = refs[name]
        print(
            f"  {name:18} {per * 1e9:10.2f} {per / floor:7.1f}x   "
            f"{ref * 1e9:10.0f} {ref / per:7.0f}x"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="N = 1e3 and 1e5 only")
    ap.add_argument(
        "--families",
        nargs="*",
        help="labels to run (default: all): " + ", ".join(f[0] for f in FAMILIES),
    )
    ap.add_argument("--reps", type=int, default=0, help="rounds per N (default: 7, 3 at 1e7)")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="CPU time of this process (all its threads) instead of wall-clock time",
    )
    ap.add_argument("--dist", choices=["photo", "loguni"], action="append")
    ap.add_argument("--no-scalar", action="store_true", help="skip the scalar latency")
    args = ap.parse_args(argv)
    fams = [f for f in FAMILIES if not args.families or f[0] in args.families]
    clock = time.process_time if args.cpu else time.perf_counter
    ns = [10**3, 10**5] if args.quick else [10**3, 10**5, 10**7]
    print(
        f"numpy {np.__version__}, python {sys.version.split()[0]}, "
        f"clock {'cpu' if args.cpu else 'wall'}, kernel threads {workers()} "
        f"(TOKENMETER_THREADS), {os.cpu_count()} CPUs, {load()}"
    )
    if not args.no_scalar:
        bench_scalar(fams, args.reps or 15)
    for dist in args.dist or ["photo"]:
        for n in ns:
            bench_one(dist, n, args.reps or (3 if n >= 10**7 else 7), clock, fams)
    print(f"\ndone ({load()})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
