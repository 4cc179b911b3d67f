"""Golden video token counts, produced by calling the reference code itself.

Run in the reference venv (torch, torchvision, transformers 5.24, qwen-vl-utils 0.0.14,
diffusers 0.42, tiktoken, opencv; see README.md for the recipe); CI only reads the JSON::

    /work/refvenv/bin/python tests/reference/gen_video_golden.py            # every group
    /work/refvenv/bin/python tests/reference/gen_video_golden.py --only dit  # one group

Groups (``--only``, repeatable) and the files they write under ``tests/golden/video/``:

* ``qwen``: ``qwen_vl_utils_28.json`` / ``qwen_vl_utils_32.json`` — ``qwen_vl_utils.
  fetch_video`` (image_patch_size 14 / 16) on a stand-in reader: the reader stub calls the
  real ``smart_nframes`` and ``torch.linspace`` exactly as ``_read_video_torchvision``
  does but returns a zero-cost expanded tensor, and ``transforms.functional.resize`` is
  replaced by a recorder, so ``fetch_video``'s own sizing code (per-frame bounds, total
  budget, user ``max_pixels``, ``smart_resize``) runs unchanged. The grid is then
  ``Qwen2VLVideoProcessor.get_num_of_video_patches`` of the result (the processor's second
  resize is a no-op); the placeholders come from the processor's ``replace_video_token``
  (``Qwen2_5_VLProcessor`` for factor 28, ``Qwen3VLProcessor`` with its timestamp text for
  32), and the prompt's own ``<|vision_start|>``/``<|vision_end|>`` pair from a full
  processor call (``outer_wrappers``).
  ``hf_qwen2.json`` — ``Qwen2VLVideoProcessor.sample_frames`` + ``get_num_of_video_patches``
  with the hub bounds (Qwen2.5-VL's preprocessor_config) and the Qwen2.5-Omni bounds, and
  ``resize(cap_pixels_per_frame=True)`` (the parent ``resize`` replaced by a recorder).
  ``hf_qwen3.json`` — ``Qwen3VLVideoProcessor.sample_frames`` + ``get_num_of_video_patches``
  (hub ``size``), with and without ``cap_pixels_per_frame``; the prompt text from
  ``Qwen3VLProcessor.replace_video_token``: ``<|video_pad|>`` and wrapper counts, and the
  timestamp strings' tokens under Qwen's vocabulary (tiktoken with the ``qwen.tiktoken``
  file that PyPI ``dashscope`` ships).
* ``options``: ``qwen_vl_utils_options_28.json`` / ``_32.json`` — the same ``fetch_video``
  path with the element's ``fps``, ``nframes``, ``min_frames``, ``max_frames``,
  ``min_pixels``, ``max_pixels`` and ``total_pixels``: each alone (three values) and random
  combinations, every option set applied to ``--per-set`` clips.
* ``omni``: ``qwen2_5_omni_audio_in_video.json`` — ``Qwen2_5OmniProcessor`` with
  ``load_audio_from_video`` (``use_audio_in_video``): frames, grid, the audio track through
  ``_process_audio`` and the interleaved ``replace_video_token`` string; ``e2e`` rows ran
  the whole ``__call__`` on a tensor of every source frame with the real STFT.
* ``internvl``: ``internvl.json`` — the InternVL2.5 model card's ``get_index`` and prompt
  (copied below with a label and the card's address) with ``GotOcr2ImageProcessor`` tiles
  per frame, and transformers' ``InternVLProcessor.replace_video_token`` (``e2e`` rows:
  the whole ``__call__``); the label text under Qwen2.5's BPE.
* ``vllm``: ``vllm.json`` — vLLM's own ``vllm/multimodal/video.py`` from the wheel
  (``pip download vllm==0.33.0 --no-deps``; ``--vllm-wheel``), executed in isolation with
  three stubbed helpers: the generic loader's and the Qwen loaders'
  ``compute_frames_index_to_sample``, and real OpenCV-written clips through ``load_bytes``.
* ``dit``: ``dit.json`` — diffusers ``WanPipeline``, ``HunyuanVideoPipeline`` and
  ``CogVideoXPipeline`` (CogVideoX and CogVideoX1.5 transformer configs) called for real
  with tiny transformers; a forward hook on the transformer's patch embedding records the
  sequence it receives and stops the run. ``error`` = 1 where the pipeline raises.
* ``vendor``: ``vendor_examples.json`` — numbers printed in Google's docs and the research
  notes' table of reference runs (rules.md §13).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _refenv
import numpy as np
import torch

QWEN_PAT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+"
            r"[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+")


def qwen_tiktoken():  # type: ignore[no-untyped-def]
    """Qwen's BPE from dashscope's qwen.tiktoken (found in the dev venv), via tiktoken."""
    import base64
    import glob

    import tiktoken

    path = sorted(glob.glob("/work/venv/lib/python3*/site-packages/dashscope/resources/"
                            "qwen.tiktoken"))[0]
    ranks = {}
    for line in Path(path).read_bytes().splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return tiktoken.Encoding("qwen", pat_str=QWEN_PAT, mergeable_ranks=ranks, special_tokens={})


def sizes(r, n: int) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    """Typical video sizes, small and odd sizes, and random ones (h, w)."""
    base = [(720, 1280), (1080, 1920), (480, 854), (360, 640), (2160, 3840), (1280, 720),
            (240, 320), (100, 100), (28, 28), (56, 200), (13, 40), (1, 150), (300, 20000),
            (1088, 1920), (768, 1360), (480, 832)]
    out = list(base)
    while len(out) < n:
        out.append((r.randint(1, 2200), r.randint(1, 4000)))
    return out


def clips(r, n: int) -> list[tuple[int, float]]:  # type: ignore[no-untyped-def]
    """(total_frames, fps) pairs: short and long clips at common and odd rates."""
    rates = [24.0, 25.0, 30.0, 29.97002997002997, 60.0, 15.0, 8.0, 1.0, 2.0, 23.976023976023978]
    out = [(300, 30.0), (1, 30.0), (2, 30.0), (3, 30.0), (4, 30.0), (5, 2.0), (7, 1.0),
           (1536, 2.0), (1537, 2.0), (18000, 30.0), (108000, 30.0)]
    while len(out) < n:
        fps = r.choice(rates) if r.random() < 0.8 else round(r.uniform(0.5, 120), 3)
        secs = r.choice([r.uniform(0.1, 20), r.uniform(0.1, 600), r.uniform(0.1, 4000)])
        out.append((max(1, round(secs * fps)), fps))
    return out


# -- qwen-vl-utils ----------------------------------------------------------------------------

_VL_SEEN: dict = {}


def install_vl_utils_stub() -> dict:  # type: ignore[type-arg]
    """Point qwen-vl-utils at a reader stub and a resize recorder; returns what they saw.

    The stub makes ``_read_video_torchvision``'s own calls (``smart_nframes`` on the
    element, ``torch.linspace(0, total - 1, n).round()``) and returns a zero-cost expanded
    tensor of the source size; the recorder replaces ``transforms.functional.resize``, so
    ``fetch_video``'s sizing code (per-frame bounds, total budget, user options,
    ``smart_resize``) runs unchanged.
    """
    import qwen_vl_utils.vision_process as vp

    seen = _VL_SEEN

    def reader(ele):  # type: ignore[no-untyped-def]
        total, fps = ele["_total"], ele["_fps"]
        nframes = vp.smart_nframes(ele, total_frames=total, video_fps=fps)
        idx = torch.linspace(0, total - 1, nframes).round().long()
        sample_fps = nframes / max(total, 1e-6) * fps
        video = torch.zeros(1, 1, 1, 1, dtype=torch.uint8).expand(nframes, 3, ele["_h"],
                                                                  ele["_w"])
        meta = dict(fps=fps, frames_indices=idx, total_num_frames=total,
                    video_backend="torchvision")
        seen["idx"] = idx.tolist()
        return video, meta, sample_fps

    import torchvision.transforms.functional

    real_resize = torchvision.transforms.functional.resize

    def fake_resize(video, size, **kw):  # type: ignore[no-untyped-def]
        if min(size) <= 0:
            # smart_resize can floor a side to 0 under a small max_pixels; the real resize
            # raises on that (torch's interpolate): let it, on a one-pixel frame.
            real_resize(torch.zeros(1, 1, 1, 1), list(size), **kw)
        seen["size"] = tuple(size)
        return torch.zeros(1).expand(video.shape[0], 3, size[0], size[1])

    vp.VIDEO_READER_BACKENDS["torchvision"] = reader
    vp.get_video_reader_backend = lambda: "torchvision"
    # Only vision_process's name for torchvision.transforms is replaced (the real module
    # stays as it is for the processors the other groups call).
    vp.transforms = types.SimpleNamespace(functional=types.SimpleNamespace(resize=fake_resize))
    return seen


def vl_utils_one(ele: dict, factor: int, tok, proc3, proc25, e2e: bool = False) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """``fetch_video`` on one stub element, then the processor as each model's cookbook
    calls it (qwen-vl-utils' README): Qwen2.5-VL's with ``do_resize`` left on, so its
    ``smart_resize`` (hub bounds 3136..12845056, 200:1) runs again on the frames — the
    grid from ``get_num_of_video_patches``; Qwen3-VL's with ``do_resize=False``, so the
    frames are patchified as they are. The placeholders and Qwen3-VL's timestamp text come
    from the processor's ``replace_video_token``. With ``e2e`` (small frames only) the
    whole processor ``__call__`` runs on a tensor of the frames as the cookbook passes
    them, and must give the same grid, placeholders and wrappers."""
    import qwen_vl_utils.vision_process as vp
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor
    from transformers.video_utils import VideoMetadata

    seen = _VL_SEEN
    hub = Qwen2VLVideoProcessor(min_pixels=factor * factor * 4,
                                max_pixels=16384 * factor * factor, patch_size=factor // 2)
    p = factor // 2
    fail = dict(error=1, frames=0, fetch_h=0, fetch_w=0, resized_h=0, resized_w=0, patches=0,
                pads=0, ts_tokens=0, wrappers=0, e2e=0)
    try:
        video, _meta = vp.fetch_video(ele, image_patch_size=p, return_video_metadata=True)
    except (ValueError, AssertionError, ZeroDivisionError, RuntimeError):
        return fail
    n = video.shape[0]
    fh, fw = seen["size"]
    if factor == 28:
        from transformers.models.qwen2_vl.video_processing_qwen2_vl import smart_resize

        try:  # Qwen2VLVideoProcessor._preprocess: smart_resize with the processor's bounds
            rh, rw = smart_resize(fh, fw, factor, min_pixels=hub.size["shortest_edge"],
                                  max_pixels=hub.size["longest_edge"])
            patches = hub.get_num_of_video_patches(n, fh, fw, {})
        except ValueError:
            return {**fail, "frames": n, "fetch_h": fh, "fetch_w": fw}
    else:  # do_resize=False
        rh, rw = fh, fw
        patches = (n + 1) // 2 * (rh // p) * (rw // p)
    thw = torch.tensor([[(n + 1) // 2, rh // p, rw // p]])
    assert int(thw.prod()) == patches
    if factor == 32:
        m = VideoMetadata(total_num_frames=ele["_total"], fps=ele["_fps"],
                          frames_indices=seen["idx"])
        text = proc3.replace_video_token({"video_grid_thw": thw, "video_metadata": [m]}, 0)
        ts, wr = text_cost(text, tok)
    else:
        text = proc25.replace_video_token({"video_grid_thw": thw}, 0)
        ts = wr = 0
    row = dict(error=0, frames=n, fetch_h=fh, fetch_w=fw, resized_h=rh, resized_w=rw,
               patches=patches, pads=text.count("<|video_pad|>"), ts_tokens=ts, wrappers=wr,
               e2e=0)
    if e2e and n * fh * fw <= 8_000_000:
        frames = torch.zeros(1, 1, 1, 1, dtype=torch.uint8).expand(n, 3, fh, fw).contiguous()
        prompt = ["<|vision_start|><|video_pad|><|vision_end|>"]
        if factor == 28:
            out = proc25(text=prompt, videos=[frames])
        else:
            meta = {"total_num_frames": ele["_total"], "fps": ele["_fps"],
                    "frames_indices": seen["idx"]}
            out = proc3(text=prompt, videos=[frames], videos_kwargs={
                "video_metadata": [meta], "do_resize": False, "do_sample_frames": False})
        tk = (proc25 if factor == 28 else proc3).tokenizer
        ids = list(out["input_ids"][0])
        pads = sum(1 for i in ids if i == tk.convert_tokens_to_ids("<|video_pad|>"))
        wrap = sum(1 for i in ids if i in (tk.convert_tokens_to_ids("<|vision_start|>"),
                                           tk.convert_tokens_to_ids("<|vision_end|>")))
        got = (int(out["video_grid_thw"].prod()), pads, wrap - 2)
        assert got == (patches, row["pads"], wr), (got, row, ele)
        row["e2e"] = 1
    return row


def qwen_vl_utils_cases(r, factor: int, n_cases: int, tok, proc3, proc25) -> dict:  # type: ignore[no-untyped-def]
    install_vl_utils_stub()
    cols: dict[str, list] = {k: [] for k in ("h", "w", "total", "fps", "nframes", "max_pixels",
                                              "error", "frames", "fetch_h", "fetch_w",
                                              "resized_h", "resized_w", "patches", "pads",
                                              "ts_tokens", "wrappers", "e2e")}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    cases = []
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = cl[i]
        nf = mp = None
        if r.random() < 0.1:
            nf = r.randint(1, 60)
        elif r.random() < 0.1:
            mp = r.randint(50_000, 2_000_000)
        cases.append((h, w, total, fps, nf, mp))
    # Near 200:1, where fetch_video's rounding (and its share of the total budget on long
    # clips) can leave a frame the processor's second smart_resize refuses.
    for h, w in ((41, 5700), (42, 8390), (100, 19000), (60, 10800), (28, 5600), (29, 5650),
                 (50, 9990), (140, 27990), (5700, 41), (19000, 100)):
        for total, fps in ((300, 30.0), (18000, 30.0), (1537, 2.0)):
            cases.append((h, w, total, fps, None, None))
    for h, w, total, fps, nf, mp in cases:
        ele = {"video": "stub.mp4", "_total": total, "_fps": fps, "_h": h, "_w": w}
        if nf:
            ele["nframes"] = nf
        if mp:
            ele["max_pixels"] = mp
        row = dict(h=h, w=w, total=total, fps=fps, nframes=nf or 0, max_pixels=mp or 0)
        row.update(vl_utils_one(ele, factor, tok, proc3, proc25, e2e=True))
        for k, v in row.items():
            cols[k].append(v)
    return cols


#: fetch_video element keys swept, with tokenmeter's name for each (``fps`` is the sampling
#: rate, ``sample_fps`` in tokenmeter).
VL_OPTIONS = {"fps": "sample_fps", "nframes": "nframes", "min_frames": "min_frames",
              "max_frames": "max_frames", "min_pixels": "min_pixels",
              "max_pixels": "max_pixels", "total_pixels": "total_pixels"}


def vl_option_sets(r, factor: int, n_sets: int) -> list[dict]:  # type: ignore[no-untyped-def,type-arg]
    """Option dicts for ``fetch_video``: each key alone at edge and typical values, then
    random combinations (``nframes`` never with ``fps``: smart_nframes asserts on that)."""
    f2 = factor * factor
    pick = {
        "fps": lambda: r.choice([0.25, 0.5, 1.0, 1.5, 3.0, 4.0, 8.0, round(r.uniform(0.1, 12), 3)]),
        "nframes": lambda: r.choice([2, 3, 4, 7, 8, 16, 31, 32, 64, r.randint(1, 200)]),
        "min_frames": lambda: r.choice([1, 2, 3, 8, 16, 33, 64, r.randint(1, 300)]),
        "max_frames": lambda: r.choice([2, 3, 4, 9, 16, 64, 100, 768, 1000, r.randint(1, 1200)]),
        "min_pixels": lambda: r.choice([0, 1, f2, 4 * f2, 64 * f2, 256 * f2,
                                        r.randint(1, 800_000)]),
        "max_pixels": lambda: r.choice([f2, 4 * f2, 100 * f2, 500_000, 2_000_000,
                                        r.randint(f2, 3_000_000)]),
        "total_pixels": lambda: r.choice([f2 * 100, 1_000_000, 20_000_000, 90_316_800,
                                          117_964_800, r.randint(100_000, 300_000_000)]),
    }
    out: list[dict] = []
    for key in VL_OPTIONS:  # each option alone, three values
        for _ in range(3):
            out.append({key: pick[key]()})
    while len(out) < n_sets:
        keys = r.sample(sorted(VL_OPTIONS), r.randint(2, 4))
        if "nframes" in keys and "fps" in keys:
            keys.remove("fps")
        out.append({k: pick[k]() for k in keys})
    return out


def qwen_vl_utils_option_cases(r, factor: int, n_sets: int, per_set: int, tok, proc3,  # type: ignore[no-untyped-def]
                                proc25) -> dict:
    """Every option set applied to ``per_set`` clips (so the tests can count each set in
    one vectorized call)."""
    install_vl_utils_stub()
    keys = list(VL_OPTIONS)
    cols: dict[str, list] = {k: [] for k in ("set", "h", "w", "total", "fps", *[
        f"opt_{k}" for k in keys], "error", "frames", "fetch_h", "fetch_w", "resized_h",
        "resized_w", "patches", "pads", "ts_tokens", "wrappers", "e2e")}
    sets = vl_option_sets(r, factor, n_sets)
    sz = sizes(r, n_sets * per_set)
    cl = clips(r, n_sets * per_set)
    for si, opts in enumerate(sets):
        for j in range(per_set):
            h, w = sz[si * per_set + j] if j else sz[r.randrange(16)]  # one common size per set
            total, fps = cl[si * per_set + j]
            ele = {"video": "stub.mp4", "_total": total, "_fps": fps, "_h": h, "_w": w, **opts}
            row: dict = {"set": si, "h": h, "w": w, "total": total, "fps": fps}
            row.update({f"opt_{k}": opts.get(k, -1) for k in keys})
            row.update(vl_utils_one(ele, factor, tok, proc3, proc25, e2e=True))
            for k, v in row.items():
                cols[k].append(v)
    return cols


def text_cost(text: str, tok) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """(tokens of the non-special text, wrapper ids) in a replacement string."""
    wr = text.count("<|vision_start|>") + text.count("<|vision_end|>")
    plain = text.replace("<|video_pad|>", "\0").replace("<|vision_start|>", "\0").replace(
        "<|vision_end|>", "\0")
    pieces = [p for p in plain.split("\0") if p]  # special tokens split the text
    return sum(len(tok.encode(p)) for p in pieces), wr


# -- transformers video processors --------------------------------------------------------------

def hf_qwen2_cases(r, n_cases: int) -> dict:  # type: ignore[no-untyped-def]
    from transformers.image_utils import SizeDict
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor
    from transformers.video_processing_utils import BaseVideoProcessor
    from transformers.video_utils import VideoMetadata

    seen = {}

    def fake_resize(self, image, size, **kw):  # type: ignore[no-untyped-def]
        seen["size"] = (size.height, size.width)
        return image

    real_resize = BaseVideoProcessor.resize
    BaseVideoProcessor.resize = fake_resize  # restored below: later groups run processors
    bounds = {"hub": (3136, 12845056), "omni": (100352, 602112)}
    procs = {k: Qwen2VLVideoProcessor(min_pixels=lo, max_pixels=hi) for k, (lo, hi) in
             bounds.items()}
    cols: dict[str, list] = {k: [] for k in ("h", "w", "total", "fps", "bounds", "sample_fps",
                                              "num_frames", "cap", "error", "frames",
                                              "patches")}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = cl[i]
        b = "omni" if r.random() < 0.25 else "hub"
        p = procs[b]
        sfps = r.choice([2.0, 2.0, 2.0, 1.0, 0.5, 4.0])
        nf = r.randint(1, 64) if r.random() < 0.1 else None
        cap = r.random() < 0.3
        row = dict(h=h, w=w, total=total, fps=fps, bounds=b, sample_fps=sfps,
                   num_frames=nf or 0, cap=int(cap))
        try:
            meta = VideoMetadata(total_num_frames=total, fps=fps)
            idx = p.sample_frames(meta, num_frames=nf, fps=None if nf else sfps)
            n = len(idx)
            if cap:
                vid = torch.zeros(1, 1, 1, 1, 1).expand(1, n, 3, h, w)
                lo, hi = bounds[b]
                p.resize(vid, SizeDict(shortest_edge=lo, longest_edge=hi), None, factor=28,
                         temporal_factor=2, cap_pixels_per_frame=True)
                rh, rw = seen["size"]
                patches = (n + 1) // 2 * (rh // 14) * (rw // 14)
            else:
                patches = p.get_num_of_video_patches(n, h, w, {})
            row.update(error=0, frames=n, patches=patches)
        except (ValueError, ZeroDivisionError):
            row.update(error=1, frames=0, patches=0)
        for k, v in row.items():
            cols[k].append(v)
    BaseVideoProcessor.resize = real_resize
    return cols


def hf_qwen3_cases(r, n_cases: int, tok, proc3) -> dict:  # type: ignore[no-untyped-def]
    from transformers.models.qwen3_vl import Qwen3VLVideoProcessor
    from transformers.video_utils import VideoMetadata

    hub = dict(size={"shortest_edge": 4096, "longest_edge": 25165824}, fps=2, min_frames=4,
               max_frames=768, do_sample_frames=True)
    p = Qwen3VLVideoProcessor(**hub)
    cols: dict[str, list] = {k: [] for k in ("h", "w", "total", "fps", "sample_fps", "num_frames",
                                              "cap", "error", "frames", "patches", "pads",
                                              "ts_tokens", "wrappers")}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = cl[i]
        sfps = r.choice([2.0, 2.0, 2.0, 1.0, 0.5, 3.0])
        nf = r.randint(1, 64) if r.random() < 0.1 else None
        cap = r.random() < 0.3
        row = dict(h=h, w=w, total=total, fps=fps, sample_fps=sfps, num_frames=nf or 0,
                   cap=int(cap))
        try:
            meta = VideoMetadata(total_num_frames=total, fps=fps)
            idx = p.sample_frames(meta, num_frames=nf, fps=None if nf else sfps)
            n = len(idx)
            patches = p.get_num_of_video_patches(n, h, w, {"cap_pixels_per_frame": cap})
            t = (n + 1) // 2
            per = patches // t
            m = VideoMetadata(total_num_frames=total, fps=fps, frames_indices=list(idx))
            # grid_h * grid_w = per; any split gives the same replacement text length.
            thw = torch.tensor([[t, per, 1]])
            text = proc3.replace_video_token({"video_grid_thw": thw, "video_metadata": [m]}, 0)
            ts, wr = text_cost(text, tok)
            row.update(error=0, frames=n, patches=patches, pads=text.count("<|video_pad|>"),
                       ts_tokens=ts, wrappers=wr)
        except ValueError:
            row.update(error=1, frames=0, patches=0, pads=0, ts_tokens=0, wrappers=0)
        for k, v in row.items():
            cols[k].append(v)
    return cols


def prompt_wrappers(proc, temporal_groups: bool) -> int:  # type: ignore[no-untyped-def]
    """Wrapper ids in the full processor output for a tiny clip, minus the ones the video's
    replacement writes (Qwen3-VL: a pair per temporal group): the chat template's own
    <|vision_start|>/<|vision_end|> pair around the video."""
    video = torch.zeros(8, 3, 64, 64, dtype=torch.uint8)
    kw: dict = {"video_metadata": [{"total_num_frames": 8, "fps": 2.0}], "do_sample_frames": True}
    if temporal_groups:
        kw["cap_pixels_per_frame"] = False
    else:
        kw["fps"] = 2.0  # Qwen2VLVideoProcessor has no default sampling rate
    out = proc(text=["<|vision_start|><|video_pad|><|vision_end|>"], videos=[video],
               videos_kwargs=kw)
    ids = list(out["input_ids"][0])
    t = int(out["video_grid_thw"][0][0])
    tk = proc.tokenizer
    wr = sum(1 for i in ids if i in (tk.convert_tokens_to_ids("<|vision_start|>"),
                                     tk.convert_tokens_to_ids("<|vision_end|>")))
    return wr - 2 * t if temporal_groups else wr


# -- Qwen2.5-Omni: use_audio_in_video ----------------------------------------------------------

OMNI_SPECIALS = {**_refenv.QWEN_SPECIALS}
OMNI_BOUNDS = (128 * 28 * 28, 768 * 28 * 28)  # Qwen2_5OmniProcessor.videos_kwargs["size"]


def omni_processor(patched: bool):  # type: ignore[no-untyped-def]
    """Qwen2_5OmniProcessor from its classes (as gen_audio_golden.py builds it)."""
    import gen_audio_golden
    from transformers import WhisperFeatureExtractor
    from transformers.models.qwen2_5_omni import Qwen2_5OmniProcessor
    from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    fe = WhisperFeatureExtractor(feature_size=128, chunk_length=300, hop_length=160, n_fft=400,
                                 sampling_rate=16_000)
    if patched:
        gen_audio_golden.fake_fbank(fe)  # features never change a count; the e2e rows check
    return Qwen2_5OmniProcessor(image_processor=Qwen2VLImageProcessor(),
                                video_processor=Qwen2VLVideoProcessor(), feature_extractor=fe,
                                tokenizer=_refenv.tiny_tokenizer(OMNI_SPECIALS))


def omni_count(text: str) -> dict[str, int]:
    return {"video_pads": text.count("<|VIDEO|>"), "audio_pads": text.count("<|AUDIO|>"),
            "audio_wrappers": text.count("<|audio_bos|>") + text.count("<|audio_eos|>"),
            "vision_wrappers": text.count("<|vision_bos|>") + text.count("<|vision_eos|>")}


def omni_audio_in_video_cases(r, n_cases: int, n_e2e: int) -> dict:  # type: ignore[no-untyped-def]
    """``Qwen2_5OmniProcessor`` with ``load_audio_from_video`` (the renamed
    ``use_audio_in_video``) on clips of ``duration`` s at ``fps``: frames from the video
    processor's ``sample_frames`` (2 fps), the grid from ``get_num_of_video_patches`` with
    the processor's size bounds, the audio track (``round(duration * 16000)`` zero samples)
    through the processor's own ``_process_audio``, and the interleaved replacement from
    ``replace_video_token`` (``replace_video_with_audio_token``); the prompt's
    ``<|vision_bos|>``/``<|vision_eos|>`` pair is counted from a full processor call. Rows
    with ``e2e`` = 1 ran the whole ``__call__`` on a real tensor of every source frame with
    the unpatched STFT, and are asserted equal to the direct path."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize
    from transformers.video_utils import VideoMetadata

    proc = omni_processor(patched=True)
    real = omni_processor(patched=False)
    vp = proc.video_processor
    size = {"shortest_edge": OMNI_BOUNDS[0], "longest_edge": OMNI_BOUNDS[1]}
    tok = proc.tokenizer
    ids = {t: tok.convert_tokens_to_ids(t) for t in ("<|VIDEO|>", "<|AUDIO|>", "<|audio_bos|>",
                                                     "<|audio_eos|>", "<|vision_bos|>",
                                                     "<|vision_eos|>")}
    prompt = "<|vision_bos|><|VIDEO|><|vision_eos|>"
    kw = dict(load_audio_from_video=True, position_id_per_seconds=proc.position_id_per_seconds,
              seconds_per_chunk=proc.seconds_per_chunk)

    def direct(h: int, w: int, d: float, total: int, fps: float) -> dict:  # type: ignore[type-arg]
        samples = round(d * 16_000)
        idx = vp.sample_frames(VideoMetadata(total_num_frames=total, fps=fps), fps=2.0)
        n = len(idx)
        rh, rw = smart_resize(h, w, 28, min_pixels=size["shortest_edge"],
                              max_pixels=size["longest_edge"])
        patches = vp.get_num_of_video_patches(n, h, w, {"size": size})
        thw = torch.tensor([[(n + 1) // 2, rh // 14, rw // 14]])
        assert int(thw.prod()) == patches
        audio_inputs, _ = proc._process_audio([np.zeros(samples, dtype=np.float32)],
                                              sampling_rate=16_000, return_attention_mask=True)
        videos = {"video_grid_thw": thw, "video_second_per_grid": [2 / 2.0]}
        text = proc.replace_video_token(videos, 0, processed_audio=audio_inputs,
                                        video_to_audio_indices=[0], **kw)
        c = omni_count(text)
        c["vision_wrappers"] = 2  # the prompt's pair, checked in full calls below
        return {"samples": samples, "frames": n, "patches": patches, **c}

    def full(h: int, w: int, d: float, total: int, fps: float) -> dict:  # type: ignore[type-arg]
        samples = round(d * 16_000)
        video = torch.zeros(1, 1, 1, 1, dtype=torch.uint8).expand(total, 3, h, w).contiguous()
        out = real(text=[prompt], videos=[video], audio=[np.zeros(samples, dtype=np.float32)],
                   audio_from_video_indices=[0], use_audio_in_video=True,
                   videos_kwargs={"video_metadata": [{"total_num_frames": total, "fps": fps}],
                                  "do_sample_frames": True, "fps": 2.0})
        got = list(out["input_ids"][0])
        k = {v: sum(1 for i in got if i == v) for v in ids.values()}
        return {"video_pads": k[ids["<|VIDEO|>"]], "audio_pads": k[ids["<|AUDIO|>"]],
                "audio_wrappers": k[ids["<|audio_bos|>"]] + k[ids["<|audio_eos|>"]],
                "vision_wrappers": k[ids["<|vision_bos|>"]] + k[ids["<|vision_eos|>"]],
                "frames": int(out["video_grid_thw"][0][0]) * 2}

    keys = ("h", "w", "duration", "fps", "total", "e2e", "error", "samples", "frames", "patches",
            "video_pads", "audio_pads", "audio_wrappers", "vision_wrappers")
    cols: dict[str, list] = {k: [] for k in keys}
    rates = [24.0, 25.0, 30.0, 29.97002997002997, 60.0, 15.0, 8.0, 1.0, 2.0, 23.976023976023978]
    durs = [10.0, 0.0625, 0.5, 1.0, 1.999, 2.0, 2.02, 3.9, 4.0, 30.5, 299.96, 300.0, 300.02, 301.0,
            600.0, 1800.0]
    sz = sizes(r, n_cases)
    cases = []
    for i in range(n_cases):
        fps = rates[i % len(rates)] if i < 40 else (
            r.choice(rates) if r.random() < 0.8 else round(r.uniform(0.5, 120), 3))
        d = durs[i] if i < len(durs) else r.choice(
            [r.uniform(0.05, 8), r.uniform(0.05, 120), r.uniform(0.05, 1000)])
        cases.append((sz[i], d, fps, 0))
    for _ in range(n_e2e):  # small clips for the whole processor
        cases.append(((r.randint(20, 160), r.randint(20, 160)), r.uniform(0.1, 6.0),
                      r.choice([8.0, 10.0, 24.0, 25.0, 30.0]), 1))
    for (h, w), d, fps, e2e in cases:
        total = round(d * fps)
        row = dict(h=h, w=w, duration=d, fps=fps, total=total, e2e=e2e)
        try:
            if total < 1:
                raise ValueError("no frames")
            got = direct(h, w, d, total, fps)
            if e2e:
                f = full(h, w, d, total, fps)
                for k, v in f.items():
                    assert got[k] == v, (k, got[k], v, h, w, d, fps)
            row.update(error=0, **got)
        except (ValueError, ZeroDivisionError):
            row.update(error=1, samples=0, frames=0, patches=0, video_pads=0, audio_pads=0,
                       audio_wrappers=0, vision_wrappers=0)
        for k in keys:
            cols[k].append(row[k])
    return cols


# -- InternVL ------------------------------------------------------------------------------------

# fmt: off
# ---- BEGIN: copied from the OpenGVLab/InternVL2_5-8B model card
# (https://huggingface.co/OpenGVLab/InternVL2_5-8B, README "video multi-round conversation"):
# get_index verbatim (renamed with a card_ prefix); load_video's frame loop reduced to what
# decides the count (decord's len(vr) - 1 and get_avg_fps() are the arguments here, and
# dynamic_preprocess's tile count comes from transformers' GotOcr2ImageProcessor, which the
# image goldens check against the card); the card's prompt construction and the
# `<image>` replacement of modeling_internvl_chat.py's chat().
def card_get_index(bound, fps, max_frame, first_idx=0, num_segments=32):  # type: ignore[no-untyped-def]
    if bound:
        start, end = bound[0], bound[1]
    else:
        start, end = -100000, 100000
    start_idx = max(first_idx, round(start * fps))
    end_idx = min(round(end * fps), max_frame)
    seg_size = float(end_idx - start_idx) / num_segments
    frame_indices = np.array([
        int(start_idx + (seg_size / 2) + np.round(seg_size * idx))
        for idx in range(num_segments)
    ])
    return frame_indices


def card_load_video_num_patches(total_frames, avg_fps, tiles_per_frame, bound=None, num_segments=32):  # type: ignore[no-untyped-def]  # noqa: E501
    max_frame = total_frames - 1  # max_frame = len(vr) - 1
    fps = float(avg_fps)          # fps = float(vr.get_avg_fps())
    num_patches_list = []
    frame_indices = card_get_index(bound, fps, max_frame, first_idx=0, num_segments=num_segments)
    for frame_index in frame_indices:  # noqa: B007
        # img = dynamic_preprocess(img, image_size=input_size, use_thumbnail=True, max_num=max_num)
        num_patches_list.append(tiles_per_frame)
    return frame_indices, num_patches_list


def card_query(num_patches_list, num_image_token=256, IMG_START_TOKEN='<img>',  # type: ignore[no-untyped-def]
               IMG_END_TOKEN='</img>', IMG_CONTEXT_TOKEN='<IMG_CONTEXT>'):
    video_prefix = ''.join([f'Frame{i+1}: <image>\n' for i in range(len(num_patches_list))])
    query = video_prefix  # question = video_prefix + 'What is the red panda doing?'
    for num_patches in num_patches_list:
        image_tokens = IMG_START_TOKEN + IMG_CONTEXT_TOKEN * num_image_token * num_patches + IMG_END_TOKEN  # noqa: E501
        query = query.replace('<image>', image_tokens, 1)
    return query
# ---- END: copied from the InternVL model card
# fmt: on


def split_specials(text: str, specials: tuple[str, ...], tok) -> tuple[dict[str, int], int]:  # type: ignore[no-untyped-def]
    """Counts of each special string, and the Qwen BPE tokens of the text between them."""
    counts = {s: text.count(s) for s in specials}
    plain = text
    for s in specials:
        plain = plain.replace(s, "\0")
    return counts, sum(len(tok.encode(x)) for x in plain.split("\0") if x)


def internvl_cases(r, n_cases: int, tok) -> dict:  # type: ignore[no-untyped-def]
    """InternVL video, two references on the same clips: the model card's ``load_video``
    (``get_index``, per-frame tiles with ``max_num``) and prompt (``"Frame{i}: <image>\\n"``,
    each ``<image>`` replaced as ``chat()`` does), and transformers' ``InternVLProcessor.
    replace_video_token`` (one tile per frame, ``"\\n".join`` of the frames) plus a full
    ``InternVLProcessor`` call on a small tensor for every 10th row. Text between the special
    tokens is counted with Qwen2.5's BPE (InternVL2.5-78B's language model)."""
    from transformers.models.got_ocr2 import GotOcr2ImageProcessor
    from transformers.models.internvl import InternVLProcessor, InternVLVideoProcessor

    specials = {"start_image_token": "<img>", "end_image_token": "</img>",
                "context_image_token": "<IMG_CONTEXT>", "video_token": "<video>",
                "image_token": "<IMG_CONTEXT>"}
    tiny = _refenv.tiny_tokenizer(specials)
    hf = InternVLProcessor(image_processor=GotOcr2ImageProcessor(crop_to_patches=True),
                           tokenizer=tiny, image_seq_length=256,
                           video_processor=InternVLVideoProcessor(size={"height": 448,
                                                                        "width": 448}))
    tiles = {m: GotOcr2ImageProcessor(crop_to_patches=True, min_patches=1, max_patches=m,
                                      size={"height": 448, "width": 448}) for m in (1, 2, 6, 12)}
    sp = ("<img>", "</img>", "<IMG_CONTEXT>")
    keys = ("h", "w", "total", "fps", "num_segments", "max_num", "e2e", "frames", "indices_ok",
            "tiles_per_frame", "card_pads", "card_wrappers", "card_text_tokens", "hf_pads",
            "hf_wrappers", "hf_text_tokens")
    cols: dict[str, list] = {k: [] for k in keys}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = cl[i]
        k = 8 if i < 300 or r.random() < 0.4 else r.choice([1, 2, 3, 4, 9, 10, 16, 32, 64,
                                                            r.randint(1, 128)])
        max_num = 1 if r.random() < 0.75 else r.choice([2, 6, 12])
        t = tiles[max_num].get_number_of_image_patches(h, w, {})
        idx, num_patches = card_load_video_num_patches(total, fps, t, num_segments=k)
        ok = int(bool(((idx >= 0) & (idx <= total - 1)).all()))
        c, text_tok = split_specials(card_query(num_patches), sp, tok)
        hf_text = hf.replace_video_token(
            {"pixel_values_videos": [torch.zeros(len(idx), 1, 1, 1)]}, 0)
        hc, hf_tok = split_specials(hf_text, sp, tok)
        e2e = int(i % 10 == 0 and len(idx) <= 64)
        if e2e:  # the whole processor on a tensor of the sampled frames (small pixels)
            out = hf(text=["<video>"], videos=[torch.zeros(len(idx), 3, 16, 16,
                                                           dtype=torch.uint8)])
            got = list(out["input_ids"][0])
            assert sum(1 for x in got if x == tiny.convert_tokens_to_ids("<IMG_CONTEXT>")) \
                == hc["<IMG_CONTEXT>"]
            assert sum(1 for x in got if x in (tiny.convert_tokens_to_ids("<img>"),
                                               tiny.convert_tokens_to_ids("</img>"))) \
                == hc["<img>"] + hc["</img>"]
        row = dict(h=h, w=w, total=total, fps=fps, num_segments=k, max_num=max_num, e2e=e2e,
                   frames=len(idx), indices_ok=ok, tiles_per_frame=t,
                   card_pads=c["<IMG_CONTEXT>"], card_wrappers=c["<img>"] + c["</img>"],
                   card_text_tokens=text_tok, hf_pads=hc["<IMG_CONTEXT>"],
                   hf_wrappers=hc["<img>"] + hc["</img>"], hf_text_tokens=hf_tok)
        for key in keys:
            cols[key].append(row[key])
    return cols


# -- vLLM ----------------------------------------------------------------------------------------

def load_vllm_video(wheel: str):  # type: ignore[no-untyped-def]
    """vLLM's own ``vllm/multimodal/video.py`` (and its ``video_decoders`` package), taken
    from the wheel and executed in isolation: ``vllm``, ``vllm.multimodal`` and
    ``vllm.utils`` are bare packages pointing at the extracted files (their real
    ``__init__`` pulls in the engine), and the three helpers the module imports are stubbed:
    ``vllm.envs`` (only ``VLLM_MAX_IMAGE_PIXELS``, its default), ``vllm.logger.init_logger``
    (``logging.getLogger``) and ``vllm.utils.import_utils.PlaceholderModule``. Returns the
    module and ``VideoMediaIO.__init__``'s ``num_frames`` default, read from the source of
    ``vllm/multimodal/media/video.py`` (importing that module needs the server's stack)."""
    import ast
    import importlib
    import logging
    import tempfile
    import zipfile

    tmp = tempfile.mkdtemp(prefix="vllm_src_")
    with zipfile.ZipFile(wheel) as z:
        for name in z.namelist():
            if name.startswith(("vllm/multimodal/video", "vllm/multimodal/media/video.py",
                                "vllm/utils/registry.py")):
                z.extract(name, tmp)

    def package(name: str, path: str) -> types.ModuleType:
        m = types.ModuleType(name)
        m.__path__ = [path]
        sys.modules[name] = m
        return m

    root = package("vllm", f"{tmp}/vllm")
    envs = types.ModuleType("vllm.envs")
    envs.VLLM_MAX_IMAGE_PIXELS = 178_956_970  # type: ignore[attr-defined]
    sys.modules["vllm.envs"] = root.envs = envs  # type: ignore[attr-defined]
    logger = types.ModuleType("vllm.logger")
    logger.init_logger = logging.getLogger  # type: ignore[attr-defined]
    sys.modules["vllm.logger"] = logger
    package("vllm.utils", f"{tmp}/vllm/utils")
    iu = types.ModuleType("vllm.utils.import_utils")

    class PlaceholderModule:
        def __init__(self, name: str) -> None:
            self.name = name

        def __getattr__(self, key: str):  # type: ignore[no-untyped-def]
            raise ImportError(self.name)

    iu.PlaceholderModule = PlaceholderModule  # type: ignore[attr-defined]
    sys.modules["vllm.utils.import_utils"] = iu
    package("vllm.multimodal", f"{tmp}/vllm/multimodal")
    video = importlib.import_module("vllm.multimodal.video")
    tree = ast.parse(Path(f"{tmp}/vllm/multimodal/media/video.py").read_text())
    default = None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "VideoMediaIO":
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and fn.name == "__init__":
                    args = fn.args.args[-len(fn.args.defaults):]
                    for a, dflt in zip(args, fn.args.defaults, strict=True):
                        if a.arg == "num_frames":
                            default = ast.literal_eval(dflt)
    assert isinstance(default, int), "VideoMediaIO.num_frames default not found"
    return video, default


def vllm_cases(r, n_cases: int, wheel: str) -> tuple[dict, dict]:  # type: ignore[no-untyped-def,type-arg]
    """vLLM's frame choice from its own code: ``VideoBackend`` (the generic ``opencv``
    loader, ``num_frames`` from ``VideoMediaIO``) and the processor-mapped ``qwen2_vl`` /
    ``qwen3_vl`` loaders (fps 2), each ``compute_frames_index_to_sample`` on the source's
    (frames, fps, duration); tokens from transformers' ``Qwen2VLVideoProcessor.
    get_num_of_video_patches`` with the Qwen2.5-VL hub bounds on the generic loader's frames.
    A few real MPEG-4 clips (OpenCV-written) go through ``VideoBackend.load_bytes`` and
    ``Qwen2VLVideoBackend.load_bytes`` — vLLM's decode path — and must give the same
    frames as ``compute_frames_index_to_sample`` on their metadata."""
    import importlib.metadata as md
    import re

    import cv2
    from transformers.models.auto.video_processing_auto import VIDEO_PROCESSOR_MAPPING_NAMES
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor

    v, default_frames = load_vllm_video(wheel)
    from vllm.multimodal.video_decoders import VideoSourceMetadata, VideoTargetMetadata

    hub = Qwen2VLVideoProcessor(min_pixels=3136, max_pixels=12845056)

    def frames_of(cls, total: int, fps: float, num_frames: int, target_fps: float) -> int:  # type: ignore[no-untyped-def]
        src = VideoSourceMetadata(total, fps, total / fps if fps > 0 else 0)
        tgt = VideoTargetMetadata(num_frames=num_frames, fps=target_fps, max_duration=300)
        try:
            return len(cls.compute_frames_index_to_sample(src, tgt))
        except (ValueError, ZeroDivisionError):
            return -1  # the loader refuses this clip

    keys = ("h", "w", "total", "fps", "num_frames", "generic_frames", "qwen2_vl_frames",
            "qwen3_vl_frames", "error", "patches")
    cols: dict[str, list] = {k: [] for k in keys}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    extra = [(t, 30.0) for t in (1, 2, 3, 4, 5, 31, 32, 33, 63, 64, 65)]
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = extra[i] if i < len(extra) else cl[i]
        nf = 0 if r.random() < 0.8 else r.choice([1, 2, 3, 8, 16, 31, 64, 100, r.randint(1, 400)])
        g = frames_of(v.VideoBackend, total, fps, nf or default_frames, -1)
        q2 = frames_of(v.Qwen2VLVideoBackend, total, fps, -1, 2)
        q3 = frames_of(v.Qwen3VLVideoBackend, total, fps, -1, 2)
        try:
            patches = hub.get_num_of_video_patches(g, h, w, {})
            err = 0
        except ValueError:  # the processor refuses the frame (aspect ratio over 200)
            patches, err = 0, 1
        row = dict(h=h, w=w, total=total, fps=fps, num_frames=nf, generic_frames=g,
                   qwen2_vl_frames=q2, qwen3_vl_frames=q3, error=err, patches=patches)
        for k in keys:
            cols[k].append(row[k])
    # vLLM's decode path on real files: the frames it returns == compute_frames_index_to_sample.
    e2e = []
    path = Path(tempfile_dir()) / "clip.mp4"
    for total, fps in ((1, 30.0), (5, 30.0), (31, 30.0), (33, 25.0), (95, 30.0), (150, 24.0),
                       (301, 30.0), (64, 8.0)):
        wr = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, (64, 48))
        for j in range(total):
            wr.write(np.full((48, 64, 3), j % 251, np.uint8))
        wr.release()
        data = path.read_bytes()
        frames, meta = v.VideoBackend.load_bytes(data, num_frames=default_frames)
        assert frames.shape[0] == len(meta["frames_indices"]) == frames_of(
            v.VideoBackend, meta["total_num_frames"], meta["fps"], default_frames, -1), total
        q2 = -1
        with contextlib.suppress(ValueError, ZeroDivisionError):
            f2, _ = v.Qwen2VLVideoBackend.load_bytes(data)
            q2 = f2.shape[0]
        assert q2 == frames_of(v.Qwen2VLVideoBackend, meta["total_num_frames"], meta["fps"], -1,
                               2), total
        e2e.append({"total": meta["total_num_frames"], "fps": meta["fps"],
                    "generic_frames": int(frames.shape[0]), "qwen2_vl_frames": q2})
    try:
        version = md.version("vllm")
    except md.PackageNotFoundError:
        version = re.search(r"vllm-([^-]+)-", Path(wheel).name).group(1)  # type: ignore[union-attr]
    meta = {
        "versions": {"vllm": f"{version} (wheel; vllm/multimodal/video.py run in isolation)"},
        "video_media_io_num_frames": default_frames,
        "processor_to_loader": dict(sorted(v.VIDEO_LOADER_REGISTRY.processor2backend.items())),
        "transformers_video_processor": {k: VIDEO_PROCESSOR_MAPPING_NAMES.get(k) for k in (
            "qwen2_vl", "qwen2_5_vl", "qwen2_5_omni", "qwen3_vl")},
        "decoded_clips": e2e,
    }
    return cols, meta


def tempfile_dir() -> str:
    import tempfile

    return tempfile.mkdtemp(prefix="vllm_clips_")


# -- DiT ----------------------------------------------------------------------------------------

class _Got(Exception):
    pass


def dit_runner(ch: int = 1):  # type: ignore[no-untyped-def]
    """``run(model, h, w, num_frames) -> latent tokens``: the pipelines called for real.

    The tiny transformers have one latent channel (``in_channels`` 1): the pipelines size
    the latents from ``transformer.config.in_channels``, and channels never change a
    sequence length, so this only makes ``prepare_latents``' noise and the patch
    embedding 16 times cheaper (``--check-channels`` re-runs a sample with 16)."""
    from diffusers import (
        CogVideoXDDIMScheduler,
        CogVideoXPipeline,
        CogVideoXTransformer3DModel,
        FlowMatchEulerDiscreteScheduler,
        HunyuanVideoPipeline,
        HunyuanVideoTransformer3DModel,
        WanPipeline,
        WanTransformer3DModel,
    )

    seen: list = []

    def hook(mod, inp, out):  # type: ignore[no-untyped-def]
        seen.append(tuple(out.shape))
        raise _Got

    wan_t = WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=1,
                                  attention_head_dim=12, in_channels=ch, out_channels=ch,
                                  text_dim=8, freq_dim=8, ffn_dim=8, num_layers=1)
    wan_t.patch_embedding.register_forward_hook(hook)
    wan = WanPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=wan_t,
                      scheduler=FlowMatchEulerDiscreteScheduler())
    hy_t = HunyuanVideoTransformer3DModel(in_channels=ch, out_channels=ch, num_attention_heads=1,
                                          attention_head_dim=12, num_layers=1,
                                          num_single_layers=1, num_refiner_layers=1,
                                          patch_size=2, patch_size_t=1, text_embed_dim=8,
                                          pooled_projection_dim=8, rope_axes_dim=(4, 4, 4))
    hy_t.x_embedder.register_forward_hook(hook)
    hy = HunyuanVideoPipeline(text_encoder=None, tokenizer=None, transformer=hy_t, vae=None,
                              scheduler=FlowMatchEulerDiscreteScheduler(), text_encoder_2=None,
                              tokenizer_2=None)
    cogs = {}
    # Hub transformer configs: CogVideoX-5B sample 60x90 (latent) x 49 frames, patch_size_t
    # None; CogVideoX1.5-5B sample 300x300 x 81, patch_size_t 2 (its rotary grid is sliced
    # from the sample size, so that must be the hub's).
    for name, pt, sh, sw, sf in (("cogvideox", None, 60, 90, 49),
                                 ("cogvideox1.5", 2, 300, 300, 81)):
        ct = CogVideoXTransformer3DModel(num_attention_heads=1, attention_head_dim=16,
                                         in_channels=ch, out_channels=ch, text_embed_dim=8,
                                         sample_height=sh, sample_width=sw, sample_frames=sf,
                                         num_layers=1, patch_size=2, patch_size_t=pt,
                                         use_rotary_positional_embeddings=True,
                                         time_embed_dim=8, max_text_seq_length=4)
        ct.patch_embed.register_forward_hook(hook)
        cogs[name] = CogVideoXPipeline(tokenizer=None, text_encoder=None, vae=None,
                                       transformer=ct, scheduler=CogVideoXDDIMScheduler())
    emb = torch.zeros(1, 4, 8)

    def run(model: str, h: int, w: int, nf: int) -> int:
        seen.clear()
        try:
            if model == "wan2.1-t2v":
                wan(prompt_embeds=emb, negative_prompt_embeds=emb, guidance_scale=1.0, height=h,
                    width=w, num_frames=nf, num_inference_steps=1, output_type="latent")
            elif model == "hunyuanvideo":
                hy(prompt_embeds=emb, pooled_prompt_embeds=torch.zeros(1, 8),
                   prompt_attention_mask=torch.ones(1, 4, dtype=torch.long), height=h, width=w,
                   num_frames=nf, num_inference_steps=1, output_type="latent",
                   guidance_scale=1.0)
            else:
                cogs[model](prompt_embeds=emb, negative_prompt_embeds=emb, guidance_scale=1.0,
                            height=h, width=w, num_frames=nf, num_inference_steps=1,
                            output_type="latent", max_sequence_length=4)
        except _Got:
            pass
        shape = seen[0]
        if model == "wan2.1-t2v":
            return int(np.prod(shape[2:]))  # conv3d patch embed: (b, c, t, h, w)
        if model == "hunyuanvideo":
            return int(shape[1])  # HunyuanVideoPatchEmbed flattens: (b, seq, dim)
        return shape[1] - 4  # CogVideoX: text tokens first, then the video's patches

    for pipe in (wan, hy, *cogs.values()):
        pipe.set_progress_bar_config(disable=True)
    return run


def dit_cases(r, n_cases: int, check_channels: int = 0) -> dict:  # type: ignore[no-untyped-def]
    run = dit_runner()
    cols: dict[str, list] = {k: [] for k in ("model", "h", "w", "num_frames", "error", "tokens")}
    models = ["wan2.1-t2v", "hunyuanvideo", "cogvideox", "cogvideox1.5"]
    fixed = [(720, 1280, 161), (480, 832, 81), (720, 1280, 81), (720, 1280, 129),
             (720, 1280, 241), (480, 720, 49), (768, 1360, 81), (720, 1280, 1), (720, 1280, 2),
             (720, 1280, 4), (720, 1280, 5), (1080, 1920, 81), (720, 1280, 160)]
    for model in models:
        cases = list(fixed)
        while len(cases) < n_cases:
            mult = 16 if r.random() < 0.85 else 8
            big = r.random() < 0.5  # half up to 1280x1760, half small (long clips stay cheap)
            h = r.randint(1, 80 if big else 30) * mult + (
                r.choice([0, 0, 0, 0, 4, 1, 2]) if r.random() < 0.1 else 0)
            w = r.randint(1, 110 if big else 30) * mult + (
                r.choice([0, 0, 0, 0, 4, 1, 2]) if r.random() < 0.05 else 0)
            nf = r.randint(1, 130) if big else r.choice(
                [r.randint(1, 40), r.randint(1, 300), 4 * r.randint(0, 60) + r.choice([0, 1, 2])])
            cases.append((h, w, max(1, nf)))
        for h, w, nf in cases:
            try:
                tok = run(model, h, w, nf)
                err = 0
            except (ValueError, RuntimeError, ZeroDivisionError):
                tok, err = 0, 1  # the pipeline refuses this request
            for k, v in zip(cols, (model, h, w, nf, err, tok), strict=True):
                cols[k].append(v)
    if check_channels:  # the hub's 16 latent channels give the same sequence lengths
        run16 = dit_runner(16)
        for i in r.sample(range(len(cols["model"])), check_channels):
            args = (cols["model"][i], cols["h"][i], cols["w"][i], cols["num_frames"][i])
            try:
                got = run16(*args)
            except (ValueError, RuntimeError, ZeroDivisionError):
                got = 0
            assert got == cols["tokens"][i], args
    return cols


GROUPS = ("qwen", "options", "omni", "internvl", "vllm", "dit", "vendor")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1500)
    ap.add_argument("--dit", type=int, default=1500, help="cases per DiT model")
    ap.add_argument("--check-channels", type=int, default=60,
                    help="DiT cases re-run with 16 latent channels and asserted equal")
    ap.add_argument("--option-sets", type=int, default=60)
    ap.add_argument("--per-set", type=int, default=25)
    ap.add_argument("--omni", type=int, default=1200)
    ap.add_argument("--omni-e2e", type=int, default=40)
    ap.add_argument("--internvl", type=int, default=1500)
    ap.add_argument("--vllm", type=int, default=1500)
    ap.add_argument("--vllm-wheel", default=None,
                    help="a vllm wheel (pip download vllm==0.33.0 --no-deps -d DIR); "
                         "default: the newest /tmp/vllm_dl/vllm-*.whl")
    ap.add_argument("--only", choices=GROUPS, action="append", default=None)
    args = ap.parse_args()
    only = set(args.only or GROUPS)

    if only & {"qwen", "options", "internvl"}:
        tok = qwen_tiktoken()
    if only & {"qwen", "options"}:
        from transformers.models.qwen2_5_vl import Qwen2_5_VLProcessor
        from transformers.models.qwen2_vl import Qwen2VLImageProcessor, Qwen2VLVideoProcessor
        from transformers.models.qwen3_vl import Qwen3VLProcessor, Qwen3VLVideoProcessor

        specials = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                    "vision_start_token": "<|vision_start|>",
                    "vision_end_token": "<|vision_end|>"}
        tiny = _refenv.tiny_tokenizer(specials)
        proc3 = Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(patch_size=16),
                                 tokenizer=tiny,
                                 video_processor=Qwen3VLVideoProcessor(
                                     size={"shortest_edge": 4096, "longest_edge": 25165824}))
        # Qwen2.5-VL's hub preprocessor_config bounds (its video processor reads that file).
        proc25 = Qwen2_5_VLProcessor(image_processor=Qwen2VLImageProcessor(), tokenizer=tiny,
                                     video_processor=Qwen2VLVideoProcessor(
                                         min_pixels=3136, max_pixels=12845056))
        outer = {32: prompt_wrappers(proc3, temporal_groups=True),
                 28: prompt_wrappers(proc25, temporal_groups=False)}
        print("prompt wrapper ids kept outside the video's replacement:", outer)

    if "qwen" in only:
        r = _refenv.rng(2026)
        _refenv.write("video", "hf_qwen2",
                      {"reference": "transformers Qwen2VLVideoProcessor sample_frames + "
                                    "get_num_of_video_patches / resize(cap_pixels_per_frame)",
                       "bounds": {"hub": [3136, 12845056], "omni": [100352, 602112]}},
                      hf_qwen2_cases(r, args.cases))
        cols = hf_qwen3_cases(r, args.cases, tok, proc3)
        _refenv.write("video", "hf_qwen3",
                      {"reference": "transformers Qwen3VLVideoProcessor sample_frames + "
                                    "get_num_of_video_patches; Qwen3VLProcessor."
                                    "replace_video_token; timestamp text under Qwen's BPE "
                                    "(tiktoken, dashscope qwen.tiktoken)",
                       "outer_wrappers": outer[32]}, cols)
        for factor in (28, 32):
            cols = qwen_vl_utils_cases(r, factor, args.cases, tok, proc3, proc25)
            _refenv.write("video", f"qwen_vl_utils_{factor}",
                          {"reference": VL_REFERENCE[factor], "outer_wrappers": outer[factor]},
                          cols)
    if "options" in only:
        for factor in (28, 32):
            r = _refenv.rng(3000 + factor)
            cols = qwen_vl_utils_option_cases(r, factor, args.option_sets, args.per_set, tok,
                                              proc3, proc25)
            _refenv.write("video", f"qwen_vl_utils_options_{factor}",
                          {"reference": VL_REFERENCE[factor] + "; fetch_video element options "
                                        "(opt_* columns, -1 = not passed; opt_fps is the "
                                        "element's 'fps', tokenmeter's sample_fps)",
                           "outer_wrappers": outer[factor], "option_names": VL_OPTIONS}, cols)
    if "omni" in only:
        _refenv.write("video", "qwen2_5_omni_audio_in_video",
                      {"reference": "transformers Qwen2_5OmniProcessor (load_audio_from_video, "
                                    "the renamed use_audio_in_video): video_processor."
                                    "sample_frames(fps=2) + get_num_of_video_patches with the "
                                    "processor's size bounds, _process_audio, "
                                    "replace_video_token (replace_video_with_audio_token); "
                                    "e2e rows: the whole __call__, unpatched STFT",
                       "size": list(OMNI_BOUNDS)},
                      omni_audio_in_video_cases(_refenv.rng(41), args.omni, args.omni_e2e))
    if "internvl" in only:
        _refenv.write("video", "internvl",
                      {"reference": "InternVL2.5 model card load_video/get_index and prompt "
                                    "(copied, labelled) with GotOcr2ImageProcessor tiles per "
                                    "frame (card_*); transformers InternVLProcessor."
                                    "replace_video_token (hf_*), e2e rows through __call__; "
                                    "text between special tokens under Qwen2.5's BPE "
                                    "(tiktoken, dashscope qwen.tiktoken)",
                       "model_card": "https://huggingface.co/OpenGVLab/InternVL2_5-8B"},
                      internvl_cases(_refenv.rng(51), args.internvl, tok))
    if "vllm" in only:
        wheel = args.vllm_wheel or sorted(
            str(x) for x in Path("/tmp/vllm_dl").glob("vllm-*.whl"))[-1]
        cols, meta = vllm_cases(_refenv.rng(61), args.vllm, wheel)
        _refenv.write("video", "vllm",
                      {"reference": "vllm/multimodal/video.py (from the vllm wheel, run in "
                                    "isolation): VideoBackend / Qwen2VLVideoBackend / "
                                    "Qwen3VLVideoBackend.compute_frames_index_to_sample; "
                                    "Qwen2VLVideoProcessor.get_num_of_video_patches (hub "
                                    "bounds) on the generic loader's frames; "
                                    "decoded_clips: MPEG-4 files written with opencv "
                                    "through load_bytes",
                       **meta}, cols)
    if "dit" in only:
        _refenv.write("video", "dit",
                      {"reference": "diffusers WanPipeline / HunyuanVideoPipeline / "
                                    "CogVideoXPipeline __call__ with tiny transformers; hook on "
                                    "the patch embedding"},
                      dit_cases(_refenv.rng(7), args.dit, args.check_channels))
    if "vendor" in only:
        write_vendor_examples()


VL_REFERENCE = {
    f: f"qwen_vl_utils.fetch_video(image_patch_size={f // 2}) with a stub reader; "
       "Qwen2VLVideoProcessor.get_num_of_video_patches; "
       + ("Qwen3VLProcessor.replace_video_token (pads, per-group wrappers, timestamp text "
          "under Qwen's BPE: tiktoken, dashscope qwen.tiktoken); processor e2e rows with "
          "do_resize=False" if f == 32 else
          "the processor's second smart_resize (hub bounds); Qwen2_5_VLProcessor."
          "replace_video_token (pads); e2e rows through the processor call")
    for f in (28, 32)
}


def write_vendor_examples() -> None:
    _refenv.write(
        "video", "vendor_examples",
        {"reference": "vendor documentation and the research notes' reference runs"},
        {
            "model": ["gemini-2.5-flash", "gemini-2.5-flash", "gemini-3-pro",
                      "qwen2.5-vl-72b-instruct", "qwen2.5-vl-72b-instruct",
                      "qwen2.5-vl-72b-instruct", "qwen3-vl-8b-instruct", "qwen3-vl-8b-instruct",
                      "wan2.1-t2v", "hunyuanvideo", "cogvideox1.5", "wan2.1-t2v"],
            "profile": ["", "", "", "", "qwen-vl-utils", "vllm-opencv", "", "qwen-vl-utils",
                        "", "", "", ""],
            "width": [1280] * 11 + [832],
            "height": [720] * 11 + [480],
            "seconds": [10.0] * 12,
            "fps": [30.0] * 8 + [0.0] * 4,
            "options": ['{}', '{"media_resolution": "low"}', '{}', '{}', '{}', '{}', '{}', '{}',
                        '{}', '{}', '{}', '{}'],
            "placeholders": [2900, 980, 1020, 11960, 7200, 19136, 8800, 7200, 147600, 219600,
                             75600, 63960],
            "source": [
                "https://ai.google.dev/gemini-api/docs/tokens (10*258 + 10*32)",
                "https://ai.google.dev/gemini-api/docs/media-resolution (10*66 + 10*32)",
                "https://ai.google.dev/gemini-api/docs/media-resolution (10*70 + 10*32)",
            ] + ["research/rules.md section 13 (reference runs)"] * 5
              + ["research/rules.md section 12 (diffusers prepare_latents)"] * 4,
        },
    )




if __name__ == "__main__":
    main()
