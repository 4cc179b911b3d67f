"""Audio counting speed: ns per clip at N = 1e5 and 1e7, in one run, as ratios.

Per model, on the same durations in the same process:

* **tokenmeter** — ``Model.audio_tokens(durations)``, best of ``--repeat`` rounds.
* **reference loop** — the processors' per-clip arithmetic in Python, timed on a sample
  (the first ``--sample`` clips) and reported per clip: its cost per item does not depend
  on N, so the 1e7 row repeats the sample's figure (extrapolated, not run on 1e7 clips).
  The encoders' output-length formulas are transformers' own
  ``_get_feat_extract_output_lengths`` (``processing_qwen2_5_omni.py`` for Qwen2-Audio and
  Qwen2.5-Omni, ``processing_qwen3_omni_moe.py`` for Qwen3-Omni), compiled from the
  installed source (``--ref-site``; the modules import torch, so they are not imported).
  What the feature extractors do to the waveform to get there (``round(d * 16000)``
  samples, the attention mask's ``ceil``/``floor`` by the 160-sample hop, the window cap),
  Whisper's window count and Gemini's published rate are transcribed below and labelled
  ``copy``. The loop's answers are checked against tokenmeter's on the sample.
* **floor** — one numpy pass over the durations (``durations * 16000.0``).

Run: ``python benchmarks/bench_audio.py [--sizes 1e5 1e7] [--cpu]``. The load average is
printed with the results; on a shared machine take the best of several runs.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from _refsource import compile_functions, find_source, interleaved

import tokenmeter as tm


def load_refs(site: str | None) -> tuple[dict[str, Callable[[float], int]], dict[str, str]]:
    """Per-clip reference loops ``f(seconds) -> tokens`` and where each comes from."""
    src: dict[str, Any] = {}
    origin: dict[str, str] = {}
    for key, path in (
        ("qwen2", "transformers/models/qwen2_5_omni/processing_qwen2_5_omni.py"),
        ("qwen3", "transformers/models/qwen3_omni_moe/processing_qwen3_omni_moe.py"),
    ):
        found = find_source(path, site)
        if found:
            src[key] = compile_functions(found, {"_get_feat_extract_output_lengths"}, False)[
                "_get_feat_extract_output_lengths"
            ]
            origin[key] = str(found)

    def copy_qwen2_lengths(mel: int) -> int:
        """copy: the Qwen2-Audio / Qwen2.5-Omni conv + pool output length."""
        return ((mel - 1) // 2 + 1 - 2) // 2 + 1

    def copy_qwen3_lengths(mel: int, n_window: int = 50) -> int:
        """copy: Qwen3-Omni's chunked conv output length."""
        leave = mel % (2 * n_window)
        feat = (leave - 1) // 2 + 1
        return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (mel // (2 * n_window)) * 13

    qwen2_len = src.get("qwen2", copy_qwen2_lengths)
    qwen3_len = src.get("qwen3", copy_qwen3_lengths)

    def window(seconds: int) -> Callable[[float], int]:
        def qwen2(d: float) -> int:
            # copy: the feature extractor pads to the window (padding="max_length") and
            # truncates, so its mask has min(ceil(samples / 160), 100 * window) frames.
            mel = min(-(-round(d * 16000) // 160), seconds * 100)
            return int(qwen2_len(mel)) + 2  # + <|audio_bos|>, <|audio_eos|>

        return qwen2

    def qwen3(d: float) -> int:
        # copy: padding="longest" on one clip drops the partial last hop (floor).
        return int(qwen3_len(round(d * 16000) // 160)) + 2

    def whisper(d: float) -> int:
        # copy: every 30 s window is 1500 encoder positions; the last one is padded.
        return max(1, -(-round(d * 16000) // 480_000)) * 1500

    def gemini(d: float) -> int:
        # copy: the published 32 tokens/s, ceil of the duration in whole microseconds.
        return -(-(round(d * 1_000_000) * 32) // 1_000_000)

    where = {True: "_get_feat_extract_output_lengths installed source", False: "copy"}
    refs = {
        "qwen2-audio": window(30),
        "qwen2.5-omni": window(300),
        "qwen3-omni": qwen3,
        "whisper": whisper,
        "gemini": gemini,
    }
    labels = {
        "qwen2-audio": where["qwen2" in src] + ", samples/mask copy",
        "qwen2.5-omni": where["qwen2" in src] + ", samples/mask copy",
        "qwen3-omni": where["qwen3" in src] + ", samples/mask copy",
        "whisper": "copy (windows)",
        "gemini": "copy (published rate)",
    }
    for k, v in origin.items():
        labels[f"source {k}"] = v
    return refs, labels


CASES = [
    ("qwen2-audio", "qwen2-audio-7b-instruct"),
    ("qwen2.5-omni", "qwen2.5-omni-7b"),
    ("qwen3-omni", "qwen3-omni"),
    ("whisper", "whisper-large-v3"),
    ("gemini", "gemini-2.5-flash"),
]


def row(
    key: str,
    m: tm.Model,
    d: np.ndarray,
    ref: Callable[[float], int],
    label: str,
    args: argparse.Namespace,
    clock: Callable[[], float],
) -> None:
    """Measure and print one case at one N."""
    n = d.size
    k = min(n, args.sample)
    dl = d[:k].tolist()
    t_tm, t_floor = (
        t / n * 1e9
        for t in interleaved(
            [lambda: m.audio_tokens(d), lambda: d * 16000.0],
            args.repeat or (5 if n < 10**7 else 3),
            clock,
        )
    )
    t_ref = interleaved([lambda: [ref(x) for x in dl]], 1, clock)[0] / k * 1e9
    assert m.audio_tokens(d[:k]).tolist() == [ref(x) for x in dl], key
    print(
        f"{key:14} {n:>6.0e} {t_tm:>8.1f} ns {t_ref:>7.0f} ns {t_floor:>5.2f} ns "
        f"{t_ref / t_tm:>7.0f}x {t_tm / t_floor:>7.1f}x  {label}"
    )


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e7])
    ap.add_argument(
        "--cases", nargs="+", default=[c for c, _ in CASES], choices=[c for c, _ in CASES]
    )
    ap.add_argument(
        "--repeat", type=int, default=0, help="timed rounds per figure (default 5, 3 at N >= 1e7)"
    )
    ap.add_argument("--sample", type=int, default=50_000, help="clips in the reference loop")
    ap.add_argument(
        "--cpu",
        action="store_true",
        help="CPU time of the process (all threads) instead of wall time",
    )
    ap.add_argument("--ref-site", help="site-packages holding transformers")
    args = ap.parse_args(argv)
    clock = time.process_time if args.cpu else time.perf_counter
    refs, labels = load_refs(args.ref_site)
    threads = os.environ.get("TOKENMETER_THREADS") or f"{len(os.sched_getaffinity(0))} (CPUs)"
    print(
        f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs; numpy "
        f"{np.__version__}; tokenmeter threads for long inputs: {threads}; clock "
        f"{'cpu' if args.cpu else 'wall'}"
    )
    for k, v in labels.items():
        if k.startswith("source "):
            print(f"reference {k}: {v}")
    print("reference loop: timed on a sample, reported per clip (the same at any N)\n")
    print(
        f"{'case':14} {'N':>6} {'tokenmeter':>11} {'ref loop':>10} {'floor':>8} "
        f"{'vs loop':>8} {'x floor':>8}  reference"
    )
    rng = np.random.default_rng(0)
    for size in args.sizes:
        n = int(size)
        d = np.round(rng.uniform(0.02, 900.0, n), 3)
        # Settle the allocator first: the first large arrays of a process cost more (glibc
        # adapts its mmap threshold to the sizes freed), which would tax the first case.
        interleaved([lambda: d * 16000.0], 2, clock)  # noqa: B023
        for key, model in CASES:
            if key in args.cases:
                row(key, tm.get_model(model), d, refs[key], labels[key], args, clock)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
