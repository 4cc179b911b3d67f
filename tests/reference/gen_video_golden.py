"""Golden video token counts, produced by calling the reference code itself.

Run in the reference venv (torch, torchvision, transformers 5.24, qwen-vl-utils 0.0.14,
diffusers 0.42, tiktoken); CI only reads the JSON::

    /work/refvenv/bin/python tests/reference/gen_video_golden.py

Writes ``tests/golden/video/``:

* ``qwen_vl_utils_28.json`` / ``qwen_vl_utils_32.json`` — ``qwen_vl_utils.fetch_video``
  (image_patch_size 14 / 16) on a stand-in reader: the reader stub calls the real
  ``smart_nframes`` and ``torch.linspace`` exactly as ``_read_video_torchvision`` does
  but returns a zero-cost expanded tensor, and ``transforms.functional.resize`` is replaced
  by a recorder, so ``fetch_video``'s own sizing code (per-frame bounds, total budget,
  user ``max_pixels``, ``smart_resize``) runs unchanged. The grid is then
  ``Qwen2VLVideoProcessor.get_num_of_video_patches`` of the result (the processor's
  second resize is a no-op), and for factor 32 the timestamp text comes from
  ``Qwen3VLProcessor.replace_video_token`` on those frame indices.
* ``hf_qwen2.json`` — ``Qwen2VLVideoProcessor.sample_frames`` + ``get_num_of_video_patches``
  with the hub bounds (Qwen2.5-VL's preprocessor_config) and the Qwen2.5-Omni bounds, and
  ``resize(cap_pixels_per_frame=True)`` (the parent ``resize`` replaced by a recorder).
* ``hf_qwen3.json`` — ``Qwen3VLVideoProcessor.sample_frames`` + ``get_num_of_video_patches``
  (hub ``size``), with and without ``cap_pixels_per_frame``; the prompt text from
  ``Qwen3VLProcessor.replace_video_token``: ``<|video_pad|>`` and wrapper counts, and the
  timestamp strings' tokens under Qwen's vocabulary (tiktoken with the ``qwen.tiktoken``
  file that PyPI ``dashscope`` ships).
* ``dit.json`` — diffusers ``WanPipeline``, ``HunyuanVideoPipeline`` and
  ``CogVideoXPipeline`` (CogVideoX and CogVideoX1.5 transformer configs) called for real
  with tiny transformers; a forward hook on the transformer's patch embedding records the
  sequence it receives and stops the run. ``error`` = 1 where the pipeline raises.
* ``vendor_examples.json`` — numbers printed in Google's docs and the research notes'
  table of reference runs (rules.md §13).
"""

from __future__ import annotations

import argparse
import sys
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

def qwen_vl_utils_cases(r, factor: int, n_cases: int, tok, proc3) -> dict:  # type: ignore[no-untyped-def]
    import qwen_vl_utils.vision_process as vp
    from transformers.models.qwen2_vl import Qwen2VLVideoProcessor
    from transformers.video_utils import VideoMetadata

    seen: dict = {}

    def reader(ele):  # type: ignore[no-untyped-def]
        # _read_video_torchvision's own steps, with a zero-cost tensor instead of decoding.
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

    def fake_resize(video, size, **kw):  # type: ignore[no-untyped-def]
        seen["size"] = tuple(size)
        return torch.zeros(1).expand(video.shape[0], 3, size[0], size[1])

    vp.VIDEO_READER_BACKENDS["torchvision"] = reader
    vp.get_video_reader_backend = lambda: "torchvision"
    vp.transforms.functional.resize = fake_resize
    hub = Qwen2VLVideoProcessor(min_pixels=factor * factor * 4, max_pixels=16384 * factor * factor,
                                patch_size=factor // 2)
    cols: dict[str, list] = {k: [] for k in ("h", "w", "total", "fps", "nframes", "max_pixels",
                                              "error", "frames", "resized_h", "resized_w",
                                              "patches", "ts_tokens", "wrappers")}
    sz = sizes(r, n_cases)
    cl = clips(r, n_cases)
    for i in range(n_cases):
        h, w = sz[i]
        total, fps = cl[i]
        ele = {"video": "stub.mp4", "_total": total, "_fps": fps, "_h": h, "_w": w}
        nf = mp = None
        if r.random() < 0.1:
            nf = r.randint(1, 60)
            ele["nframes"] = nf
        elif r.random() < 0.1:
            mp = r.randint(50_000, 2_000_000)
            ele["max_pixels"] = mp
        row = dict(h=h, w=w, total=total, fps=fps, nframes=nf or 0, max_pixels=mp or 0)
        try:
            video, _meta = vp.fetch_video(ele, image_patch_size=factor // 2,
                                         return_video_metadata=True)
            n = video.shape[0]
            rh, rw = seen["size"]
            patches = hub.get_num_of_video_patches(n, rh, rw, {})
            ts = wr = 0
            if proc3 is not None:
                m = VideoMetadata(total_num_frames=total, fps=fps, frames_indices=seen["idx"])
                thw = torch.tensor([[(n + 1) // 2, rh // (factor // 2), rw // (factor // 2)]])
                text = proc3.replace_video_token({"video_grid_thw": thw, "video_metadata": [m]}, 0)
                ts, wr = text_cost(text, tok)
            row.update(error=0, frames=n, resized_h=rh, resized_w=rw, patches=patches,
                       ts_tokens=ts, wrappers=wr)
        except (ValueError, AssertionError, ZeroDivisionError):
            row.update(error=1, frames=0, resized_h=0, resized_w=0, patches=0, ts_tokens=0,
                       wrappers=0)
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

    BaseVideoProcessor.resize = fake_resize
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


def prompt_wrappers(proc3) -> int:  # type: ignore[no-untyped-def]
    """Wrapper ids in the full processor output for a tiny clip minus the per-group ones:
    the chat template's own <|vision_start|>/<|vision_end|> pair is kept around the groups."""
    video = torch.zeros(8, 3, 64, 64, dtype=torch.uint8)
    out = proc3(text=["<|vision_start|><|video_pad|><|vision_end|>"], videos=[video],
                videos_kwargs={"video_metadata": [{"total_num_frames": 8, "fps": 2.0}],
                               "do_sample_frames": True, "cap_pixels_per_frame": False})
    ids = list(out["input_ids"][0])
    t = int(out["video_grid_thw"][0][0])
    tk = proc3.tokenizer
    wr = sum(1 for i in ids if i in (tk.convert_tokens_to_ids("<|vision_start|>"),
                                     tk.convert_tokens_to_ids("<|vision_end|>")))
    return wr - 2 * t


# -- DiT ----------------------------------------------------------------------------------------

class _Got(Exception):
    pass


def dit_cases(r, n_cases: int) -> dict:  # type: ignore[no-untyped-def]
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
                                  attention_head_dim=12, in_channels=16, out_channels=16,
                                  text_dim=8, freq_dim=8, ffn_dim=8, num_layers=1)
    wan_t.patch_embedding.register_forward_hook(hook)
    wan = WanPipeline(tokenizer=None, text_encoder=None, vae=None, transformer=wan_t,
                      scheduler=FlowMatchEulerDiscreteScheduler())
    hy_t = HunyuanVideoTransformer3DModel(in_channels=16, out_channels=16, num_attention_heads=1,
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
                                         in_channels=16, out_channels=16, text_embed_dim=8,
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

    cols: dict[str, list] = {k: [] for k in ("model", "h", "w", "num_frames", "error", "tokens")}
    models = ["wan2.1-t2v", "hunyuanvideo", "cogvideox", "cogvideox1.5"]
    fixed = [(720, 1280, 161), (480, 832, 81), (720, 1280, 81), (720, 1280, 129),
             (720, 1280, 241), (480, 720, 49), (768, 1360, 81), (720, 1280, 1), (720, 1280, 2),
             (720, 1280, 4), (720, 1280, 5), (1080, 1920, 81), (720, 1280, 160)]
    for model in models:
        cases = list(fixed)
        while len(cases) < n_cases:
            mult = 16 if r.random() < 0.85 else 8
            h = r.randint(1, 80) * mult + (r.choice([0, 0, 0, 0, 4]) if r.random() < 0.1 else 0)
            w = r.randint(1, 110) * mult
            cases.append((h, w, r.randint(1, 130)))
        for h, w, nf in cases:
            try:
                tok = run(model, h, w, nf)
                err = 0
            except (ValueError, RuntimeError, ZeroDivisionError):
                tok, err = 0, 1  # the pipeline refuses this request
            for k, v in zip(cols, (model, h, w, nf, err, tok), strict=True):
                cols[k].append(v)
    return cols


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1500)
    ap.add_argument("--dit", type=int, default=250)
    ap.add_argument("--only", choices=["dit"], default=None)
    args = ap.parse_args()
    if args.only == "dit":
        _refenv.write("video", "dit",
                      {"reference": "diffusers WanPipeline / HunyuanVideoPipeline / "
                                    "CogVideoXPipeline __call__ with tiny transformers; hook "
                                    "on the patch embedding"},
                      dit_cases(_refenv.rng(7), args.dit))
        return

    from transformers.models.qwen2_vl import Qwen2VLImageProcessor
    from transformers.models.qwen3_vl import Qwen3VLProcessor, Qwen3VLVideoProcessor

    tok = qwen_tiktoken()
    specials = {"image_token": "<|image_pad|>", "video_token": "<|video_pad|>",
                "vision_start_token": "<|vision_start|>", "vision_end_token": "<|vision_end|>"}
    tiny = _refenv.tiny_tokenizer(specials)
    proc3 = Qwen3VLProcessor(image_processor=Qwen2VLImageProcessor(patch_size=16),
                             tokenizer=tiny,
                             video_processor=Qwen3VLVideoProcessor(
                                 size={"shortest_edge": 4096, "longest_edge": 25165824}))
    outer = prompt_wrappers(proc3)
    print("Qwen3-VL prompt keeps", outer, "outer wrapper ids")

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
                   "outer_wrappers": outer}, cols)
    for factor in (28, 32):
        cols = qwen_vl_utils_cases(r, factor, args.cases, tok, proc3 if factor == 32 else None)
        _refenv.write("video", f"qwen_vl_utils_{factor}",
                      {"reference": f"qwen_vl_utils.fetch_video(image_patch_size={factor // 2}) "
                                    "with a stub reader; Qwen2VLVideoProcessor."
                                    "get_num_of_video_patches",
                       "outer_wrappers": outer if factor == 32 else 0}, cols)
    _refenv.write("video", "dit",
                  {"reference": "diffusers WanPipeline / HunyuanVideoPipeline / CogVideoXPipeline "
                                "__call__ with tiny transformers; hook on the patch embedding"},
                  dit_cases(r, args.dit))
    _refenv.write(
        "video", "vendor_examples",
        {"reference": "vendor documentation and the research notes' reference runs"},
        {
            "model": ["gemini-2.5-flash", "gemini-2.5-flash", "gemini-3-pro",
                      "qwen2.5-vl-72b-instruct", "qwen2.5-vl-72b-instruct",
                      "qwen2.5-vl-72b-instruct", "qwen3-vl-8b-instruct", "qwen3-vl-8b-instruct",
                      "wan2.1-t2v", "hunyuanvideo", "cogvideox1.5", "wan2.1-t2v"],
            "profile": ["", "", "", "", "qwen-vl-utils", "vllm", "", "qwen-vl-utils", "", "", "",
                        ""],
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
