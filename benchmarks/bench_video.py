"""Video counting speed: ns per video at N = 1e5 and 1e7, in one run, as ratios.

For each rule, on the same arrays in the same process:

* **tokenmeter** — ``Model.video_tokens(widths, heights, durations, fps)``, best of
  ``--repeat`` runs (one run at 1e7).
* **reference loop** — the reference's own per-video Python, timed on a sample (the first
  ``--sample`` videos, fewer for the slow Qwen3-VL loop) and reported per video: the loop
  costs the same per item at any N, so its ns/video at 1e7 is the sample's (extrapolated,
  not run on 1e7 items). Where the reference is pure Python its *installed source* is
  run: ``qwen_vl_utils.vision_process.smart_nframes``/``smart_resize`` and transformers'
  ``smart_resize`` functions are compiled from the package files (found with
  ``--ref-site`` or on ``sys.path``; the modules themselves import torch, so they are not
  imported). The glue around them (the frame counts of ``sample_frames``, which torch
  computes, ``fetch_video``'s budget line, diffusers' latent shapes, Gemini's published
  rates) is transcribed below and labelled ``copy``. The loop's answers are checked
  against tokenmeter's on the sample.
* **floor** — one plain numpy expression over the same input arrays, ``w * h + d * fps``:
  what reading the inputs (and writing a result) costs at all.

Run: ``python benchmarks/bench_video.py [--sizes 1e5 1e7] [--cases qwen2.5 wan ...]``.
The machine's load average is printed with the results; on a shared machine take the
best of several runs.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from _refsource import compile_functions, find_source, interleaved

import tokenmeter as tm

# -- the reference code -------------------------------------------------------------------


@dataclass
class Refs:
    """The reference functions: installed source where found, else transcriptions."""

    vl_utils: dict[str, Any] = field(default_factory=dict)
    hf_qwen2_resize: Callable[..., tuple[int, int]] | None = None
    hf_qwen3_resize: Callable[..., tuple[int, int]] | None = None
    origin: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, site: str | None) -> Refs:
        r = cls()
        path = find_source("qwen_vl_utils/vision_process.py", site)
        if path:
            r.vl_utils = compile_functions(
                path,
                {
                    "round_by_factor",
                    "ceil_by_factor",
                    "floor_by_factor",
                    "smart_resize",
                    "smart_nframes",
                },
                constants=True,
            )
            r.origin["qwen-vl-utils"] = str(path)
        path = find_source("transformers/models/qwen2_vl/image_processing_qwen2_vl.py", site)
        if path:
            r.hf_qwen2_resize = compile_functions(path, {"smart_resize"}, False)["smart_resize"]
            r.origin["transformers qwen2_vl"] = str(path)
        path = find_source("transformers/models/qwen3_vl/video_processing_qwen3_vl.py", site)
        if path:
            r.hf_qwen3_resize = compile_functions(path, {"smart_resize"}, False)["smart_resize"]
            r.origin["transformers qwen3_vl"] = str(path)
        return r


def copy_smart_resize(
    height: int, width: int, factor: int, min_pixels: float, max_pixels: float, clamp_first: bool
) -> tuple[int, int]:
    """copy: transformers' (clamp_first=False) or qwen-vl-utils' smart_resize."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect ratio")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if clamp_first:
        h_bar, w_bar = max(factor, h_bar), max(factor, w_bar)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
        if not clamp_first:
            h_bar, w_bar = max(factor, h_bar), max(factor, w_bar)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def copy_hf_qwen2_frames(total: int, fps: float) -> int:
    """copy: Qwen2VLVideoProcessor.sample_frames (fps=2, 4..768), then the length of
    torch.arange(0, total, total / n), which is ceil(total / (total / n)) in float64."""
    max_frames = math.floor(min(768, total) / 2) * 2
    n = total / fps * 2.0
    n = min(max(n, 4), max_frames, total)
    n = math.floor(n / 2) * 2
    return math.ceil(total / (total / n))


def copy_qwen3_timestamp_digits(total: int, n: int, fps: float) -> int:
    """copy: Qwen3VLProcessor: linspace indices, _calculate_timestamps, then the integer
    digits of every f"<{t:.1f} seconds>" (each digit is one Qwen token)."""
    indices = np.linspace(0, total - 1, n).round().astype(int).tolist()
    if len(indices) % 2:
        indices.append(indices[-1])
    ts = [i / fps for i in indices]
    groups = [(ts[i] + ts[i + 1]) / 2 for i in range(0, len(ts), 2)]
    return sum(len(f"{t:.1f}") - 2 for t in groups)


def make_refs(refs: Refs) -> dict[str, tuple[Callable[[int, int, float, float], int], str]]:
    """Per-video reference loops ``f(w, h, duration, fps) -> tokens`` and their origin."""
    vl = refs.vl_utils
    hf2 = refs.hf_qwen2_resize or (
        lambda h, w, factor, min_pixels, max_pixels: copy_smart_resize(
            h, w, factor, min_pixels, max_pixels, False
        )
    )

    def qwen25_hf(w: int, h: int, d: float, fps: float) -> int:
        total = round(d * fps)
        n = copy_hf_qwen2_frames(total, fps)
        hb, wb = hf2(h, w, factor=28, min_pixels=3136, max_pixels=12845056)
        return (n + 1) // 2 * (hb // 28) * (wb // 28) + 2

    def qwen25_vl(w: int, h: int, d: float, fps: float) -> int:
        total = round(d * fps)
        if vl:
            n = vl["smart_nframes"]({}, total_frames=total, video_fps=fps)
        else:
            x = min(min(max(total / fps * 2.0, 4), math.floor(min(768, total) / 2) * 2), total)
            n = math.floor(x / 2) * 2
        # copy: fetch_video's per-frame budget (the function itself decodes the video).
        max_pixels = max(min(602112, 90316800.0 / n * 2), int(100352 * 1.05))
        if vl:
            hb, wb = vl["smart_resize"](h, w, factor=28, min_pixels=100352, max_pixels=max_pixels)
        else:
            hb, wb = copy_smart_resize(h, w, 28, 100352, max_pixels, True)
        return (n + 1) // 2 * (hb // 28) * (wb // 28) + 2

    def qwen3_hf(w: int, h: int, d: float, fps: float) -> int:
        total = round(d * fps)
        n = min(max(int(total / fps * 2.0), 4), 768, total)  # copy: sample_frames
        if refs.hf_qwen3_resize is not None:
            hb, wb = refs.hf_qwen3_resize(
                n, h, w, temporal_factor=2, factor=32, min_pixels=4096, max_pixels=25165824
            )
        else:
            raise LookupError("transformers' qwen3_vl source not found (--ref-site)")
        gt = (n + 1) // 2
        digits = copy_qwen3_timestamp_digits(total, n, fps)
        return gt * (hb // 32) * (wb // 32) + 2 + 2 * gt + 5 * gt + digits

    def gemini(w: int, h: int, d: float, fps: float) -> int:
        # copy: the published rates as tokenmeter documents them (there is no code):
        # ceil(duration * 1 fps), product rounded like numpy's round(x, 6), at least one
        # frame, 258 tokens each; 32 per second of audio, ceil of whole microseconds.
        frames = max(math.ceil(round(d * 1.0 * 1e6) / 1e6), 1)
        return frames * 258 + -(-(round(d * 1e6) * 32) // 1_000_000)

    def wan(w: int, h: int, d: float, fps: float) -> int:
        # copy: diffusers WanPipeline: num_frames -> 4k+1, prepare_latents, patch 1x2x2.
        nf = (round(d * fps) - 1 + 3) // 4 * 4 + 1
        nf = nf // 4 * 4 + 1
        return ((nf - 1) // 4 + 1) * (h // 8 // 2) * (w // 8 // 2)

    where = {True: "installed source", False: "copy"}
    return {
        "qwen2.5": (
            qwen25_hf,
            "sample_frames copy, smart_resize " + where[refs.hf_qwen2_resize is not None],
        ),
        "qwen2.5-vl-utils": (
            qwen25_vl,
            "smart_nframes + smart_resize " + where[bool(vl)] + ", fetch_video budget copy",
        ),
        "qwen3": (
            qwen3_hf,
            "sample_frames + timestamps copy, smart_resize "
            + where[refs.hf_qwen3_resize is not None],
        ),
        "gemini": (gemini, "copy (published rates)"),
        "wan": (wan, "copy (diffusers latent shapes)"),
    }


# -- the cases ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    key: str
    model: str
    profile: str | None = None
    dit: bool = False
    sample: int = 20_000


CASES = [
    Case("qwen2.5", "qwen2.5-vl-72b-instruct"),
    Case("qwen2.5-vl-utils", "qwen2.5-vl-72b-instruct", "qwen-vl-utils"),
    Case("qwen3", "qwen3-vl-8b-instruct", sample=2_000),
    Case("gemini", "gemini-2.5-flash"),
    Case("wan", "wan2.1-t2v", dit=True),
]


def inputs(n: int, dit: bool) -> tuple[np.ndarray, ...]:
    """Common sizes, durations of 2 s to 10 min, common frame rates (DiT sizes are
    multiples of 16 and use the model's native 16 fps)."""
    rng = np.random.default_rng(0)
    pick = rng.integers(0, 4, n)
    if dit:
        w = np.array([1280, 1920, 848, 640])[pick]
        h = np.array([720, 1088, 480, 368])[pick]
    else:
        w = np.array([1280, 1920, 854, 640])[pick]
        h = np.array([720, 1080, 480, 360])[pick]
    d = np.round(rng.uniform(2, 600, n), 2)
    fps = np.full(n, 16.0) if dit else np.array([24.0, 25.0, 30.0, 60.0])[rng.integers(0, 4, n)]
    return w, h, d, fps


def row(
    case: Case,
    n: int,
    loop: tuple[Callable[..., int], str],
    repeat: int,
    clock: Callable[[], float],
) -> None:
    """Measure and print one case at one N."""
    m = tm.get_model(case.model, profile=case.profile)
    ref, origin = loop
    w, h, d, fps = inputs(n, case.dit)
    f = None if case.dit else fps
    t_tm, t_floor = (
        t / n * 1e9
        for t in interleaved(
            [lambda: m.video_tokens(w, h, d, f), lambda: w * h + d * fps],
            repeat or (5 if n < 10**7 else 3),
            clock,
        )
    )
    k = min(n, case.sample)
    rows = list(zip(w[:k].tolist(), h[:k].tolist(), d[:k].tolist(), fps[:k].tolist(), strict=True))
    t_ref = interleaved([lambda: [ref(*r) for r in rows]], 1, clock)[0] / k * 1e9
    got = m.video_tokens(w[:k], h[:k], d[:k], None if f is None else f[:k])
    assert got.tolist() == [ref(*r) for r in rows], case.key
    print(
        f"{case.key:18} {n:>6.0e} {t_tm:>8.1f} ns {t_ref:>8.0f} ns {t_floor:>5.2f} ns "
        f"{t_ref / t_tm:>7.0f}x {t_tm / t_floor:>7.1f}x  {origin}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e7])
    ap.add_argument(
        "--cases", nargs="+", default=[c.key for c in CASES], choices=[c.key for c in CASES]
    )
    ap.add_argument(
        "--repeat", type=int, default=0, help="timed rounds per figure (default 5, 3 at N >= 1e7)"
    )
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="CPU time of the process (all threads) instead of wall time; with "
        "TOKENMETER_THREADS=1 the single-core cost, less disturbed by other load",
    )
    ap.add_argument("--ref-site", help="site-packages holding qwen_vl_utils / transformers")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    refs = Refs.load(args.ref_site)
    loops = make_refs(refs)
    threads = os.environ.get("TOKENMETER_THREADS") or f"{len(os.sched_getaffinity(0))} (CPUs)"
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; numpy "
        f"{np.__version__}; tokenmeter threads for long inputs: {threads}; clock "
        f"{'cpu' if args.cpu else 'wall'}"
    )
    for name, origin in refs.origin.items():
        print(f"reference source: {name}: {origin}")
    print("reference loop: timed on a sample, reported per video (the same at any N)\n")
    print(
        f"{'case':18} {'N':>6} {'tokenmeter':>11} {'ref loop':>11} {'floor':>8} "
        f"{'vs loop':>8} {'x floor':>8}  reference"
    )
    # Settle the allocator first: the first large arrays of a process cost more (glibc
    # adapts its mmap threshold to the sizes freed), which would tax the first case only.
    for size in args.sizes:
        w, h, d, fps = inputs(int(size), False)
        interleaved([lambda: w * h + d * fps], 2, clock)  # noqa: B023
    for case in [c for c in CASES if c.key in args.cases]:
        for size in args.sizes:
            row(case, int(size), loops[case.key], args.repeat, clock)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
