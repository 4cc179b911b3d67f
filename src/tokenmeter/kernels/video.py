"""Video kernels: how many frames a model samples, how big they get, and DiT latent grids.

Every function is vectorized over videos (int64/float64 arrays in, int64 arrays out) and
reproduces one reference implementation's arithmetic, float steps included:

* :func:`qwen_vl_utils_nframes` — ``qwen_vl_utils.vision_process.smart_nframes`` (>= 0.0.10).
* :func:`hf_qwen2_nframes` — ``Qwen2VLVideoProcessor.sample_frames``; the frame count is
  the length of ``torch.arange(0, total, total / n)``, which a float step can make
  ``n + 1``.
* :func:`hf_qwen3_nframes` — ``Qwen3VLVideoProcessor.sample_frames``.
* :func:`qwen3_video_grid` — ``qwen3_vl.video_processing_qwen3_vl.smart_resize``: the pixel
  bounds apply to ``t_bar * h * w`` of the whole clip (not per frame) and ``beta`` uses the
  real frame count. Sides are rounded with the integer banker's rounding of
  :func:`~tokenmeter.kernels._intmath.round_half_even_div`; the two resize branches take
  the reference's float steps.
* :func:`qwen3_timestamp_digits` — the integer digits of every ``"<{t:.1f} seconds>"``
  string Qwen3-VL writes per temporal group (the string's other 5 tokens are fixed).
* :func:`dit_latent_grid` — the latent grid of a causal-VAE video DiT (Wan 2.1,
  HunyuanVideo, CogVideoX, CogVideoX1.5) from ``prepare_latents`` and the pipelines'
  ``__call__``.
* :func:`frames_at_rate` — frames sampled at a fixed rate (Gemini: 1 per second).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInputError
from ._intmath import I64, ceil_div, round_half_even_div

__all__ = [
    "dit_latent_grid",
    "frames_at_rate",
    "hf_qwen2_nframes",
    "hf_qwen3_nframes",
    "linspace_round_f32",
    "linspace_round_f64",
    "qwen3_timestamp_digits",
    "qwen3_video_grid",
    "qwen_vl_utils_nframes",
]

F64 = npt.NDArray[np.float64]


def _i64(x: Any) -> I64:
    return np.asarray(x, dtype=np.int64)


def _f64(x: Any) -> F64:
    return np.asarray(x, dtype=np.float64)


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(np.ravel(mask))[0])


# -- frame sampling ---------------------------------------------------------------------


def qwen_vl_utils_nframes(total_frames: Any, video_fps: Any, *, fps: float = 2.0,
                          min_frames: int = 4, max_frames: int | None = None,
                          nframes: int | None = None, frame_factor: int = 2) -> I64:
    """Frames ``qwen_vl_utils.smart_nframes`` samples (versions 0.0.10 to 0.0.14).

    ``n = floor(min(max(total / video_fps * fps, ceil(min_frames)), floor(min(768,
    total)), total) / 2) * 2`` with the bounds rounded to multiples of 2, or
    ``round(nframes / 2) * 2`` when ``nframes`` is given. A user ``max_frames`` replaces
    ``min(768, total)`` (and is then still capped by ``total``).

    Raises:
        InvalidInputError: the result is outside ``[2, total]`` (the reference raises),
            naming the first such video.
    """
    total = _i64(total_frames)
    src_fps = _f64(video_fps)
    ff = frame_factor
    if nframes is not None:
        n = np.broadcast_to(_i64(round(nframes / ff) * ff), total.shape).copy()
    else:
        lo = math.ceil(min_frames / ff) * ff
        cap = (np.minimum(768, total) if max_frames is None
               else np.broadcast_to(_i64(max_frames), total.shape))
        hi = np.floor(cap / ff) * ff
        x = total / src_fps * fps  # the reference's float order: (total / fps_src) * fps
        x = np.minimum(np.minimum(np.maximum(x, lo), hi), total)
        n = (np.floor(x / ff) * ff).astype(np.int64)
    bad = (n < ff) | (n > total)
    if bad.any():
        i = _first(bad)
        raise InvalidInputError(
            f"video {i}: qwen-vl-utils would sample {int(n.ravel()[i])} of "
            f"{int(np.broadcast_to(total, n.shape).ravel()[i])} frames; it needs "
            f"{ff}..total_frames (a clip of at least {ff} frames)"
        )
    return n


def hf_qwen2_nframes(total_frames: Any, video_fps: Any, *, fps: float = 2.0,
                     min_frames: int = 4, max_frames: int = 768,
                     num_frames: int | None = None, temporal_patch_size: int = 2) -> I64:
    """Frames ``Qwen2VLVideoProcessor.sample_frames`` returns.

    The target ``n`` is ``floor(min(max(total / video_fps * fps, min_frames),
    floor(min(max_frames, total) / 2) * 2, total) / 2) * 2`` (or ``round(num_frames / 2) *
    2``), and the indices are ``torch.arange(0, total, total / n)``, whose length is
    ``ceil(total / (total / n))`` in float64: usually ``n``, occasionally ``n + 1``.

    Raises:
        InvalidInputError: ``n`` is 0 or exceeds ``total`` (the reference raises).
    """
    total = _i64(total_frames)
    tps = temporal_patch_size
    if num_frames is not None:
        n = np.broadcast_to(_f64(round(num_frames / tps) * tps), total.shape)
    else:
        hi = np.floor(np.minimum(max_frames, total) / tps) * tps
        x = total / _f64(video_fps) * fps
        x = np.minimum(np.minimum(np.maximum(x, min_frames), hi), total)
        n = np.floor(x / tps) * tps
    bad = (n < 1) | (n > total)
    if bad.any():
        i = _first(bad)
        raise InvalidInputError(
            f"video {i}: transformers' sample_frames would take {int(n.ravel()[i])} of "
            f"{int(np.broadcast_to(total, n.shape).ravel()[i])} frames; it needs "
            f"1..total_frames (a clip of at least {tps} frames)"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        count = np.ceil(total / (total / n))
    return _i64(count)


def hf_qwen3_nframes(total_frames: Any, video_fps: Any, *, fps: float = 2.0,
                     min_frames: int = 4, max_frames: int = 768,
                     num_frames: int | None = None) -> I64:
    """Frames ``Qwen3VLVideoProcessor.sample_frames`` returns.

    ``n = min(max(int(total / video_fps * fps), min_frames), max_frames, total)`` (``int``
    truncates), or ``num_frames`` as given; the indices are ``linspace(0, total - 1, n)``,
    so odd counts are possible (patchify pads them).
    """
    total = _i64(total_frames)
    if num_frames is not None:
        return np.broadcast_to(_i64(num_frames), total.shape).copy()
    x = np.trunc(total / _f64(video_fps) * fps).astype(np.int64)
    return _i64(np.minimum(np.minimum(np.maximum(x, min_frames), max_frames), total))


def frames_at_rate(durations: Any, sample_fps: Any) -> I64:
    """Frames sampled at ``sample_fps`` from a clip of ``durations`` seconds.

    ``ceil(duration * sample_fps)``, with the product first rounded to 6 decimals so that
    decimal inputs (10.1 s at 1 fps) give 11 and not ``ceil(10.100000000000001)``; at least
    one frame for any non-empty clip.
    """
    x = np.round(_f64(durations) * _f64(sample_fps), 6)
    return _i64(np.maximum(np.ceil(x), 1))


# -- frame indices ----------------------------------------------------------------------


def linspace_round_f64(stop: int, num: int) -> I64:
    """``np.linspace(0, stop, num).round().astype(int)`` (numpy, float64)."""
    return np.linspace(0, stop, num).round().astype(np.int64)


def linspace_round_f32(stop: int, num: int) -> I64:
    """``torch.linspace(0, stop, num).round().long()`` as torch's CPU kernel computes it.

    float32 throughout: ``step = stop / (num - 1)``; the first half is ``step * i``, the
    second half ``stop - step * (num - 1 - i)``; then round half to even.
    """
    if num == 1:
        return np.zeros(1, np.int64)
    end = np.float32(stop)
    step = np.float32(end / np.float32(num - 1))
    i = np.arange(num)
    half = num // 2
    lo = np.float32(0) + step * i[:half].astype(np.float32)
    hi = end - step * (num - 1 - i[half:]).astype(np.float32)
    vals = np.concatenate([lo, hi]).astype(np.float32)
    return _i64(np.rint(vals))


def qwen3_timestamp_digits(indices: I64, video_fps: float, temporal_patch_size: int = 2) -> int:
    """Integer digits summed over the ``"<{t:.1f} seconds>"`` strings of one video.

    ``indices`` are the sampled frame indices; as in ``Qwen3VLProcessor.
    _calculate_timestamps`` they are padded with the last index to a multiple of
    ``temporal_patch_size``, turned into seconds (``idx / fps``) and averaged per group
    (first and last frame of the group); each mean is formatted with ``.1f``. The Qwen
    tokenizer splits every digit into its own token, so the digits are the only part of
    the string whose token count varies.
    """
    idx = [int(v) for v in indices]
    if len(idx) % temporal_patch_size:
        idx.extend([idx[-1]] * (temporal_patch_size - len(idx) % temporal_patch_size))
    ts = [i / video_fps for i in idx]
    total = 0
    for g in range(0, len(ts), temporal_patch_size):
        t = (ts[g] + ts[g + temporal_patch_size - 1]) / 2
        total += len(f"{t:.1f}") - 2  # drop "." and the one decimal
    return total


# -- resizing ---------------------------------------------------------------------------


def _qwen3_scalar(n: int, h: int, w: int, tf: int, f: int, lo: int, hi: int,
                  ratio: float) -> tuple[int, int]:
    """``qwen3_vl.video_processing_qwen3_vl.smart_resize`` for one video, in Python."""
    if h < f or w < f:
        scale = max(f / h, f / w)
        h = int(h * scale)
        w = int(w * scale)
    if max(h, w) / min(h, w) > ratio:
        raise InvalidInputError(
            f"a video of {h}x{w} (h x w) has aspect ratio {max(h, w) / min(h, w):.6g}, "
            f"beyond the model's limit of {ratio:g}:1 (the reference raises); crop or pad it"
        )
    hb = round(h / f) * f
    wb = round(w / f) * f
    tb = round(n / tf) * tf
    if tb * hb * wb > hi:
        beta = math.sqrt((n * h * w) / hi)
        hb = max(f, math.floor(h / beta / f) * f)
        wb = max(f, math.floor(w / beta / f) * f)
    elif tb * hb * wb < lo:
        beta = math.sqrt(lo / (n * h * w))
        hb = math.ceil(h * beta / f) * f
        wb = math.ceil(w * beta / f) * f
    return hb, wb


def qwen3_video_grid(num_frames: Any, heights: Any, widths: Any, *, factor: int,
                     temporal_factor: int, min_pixels: Any, max_pixels: Any,
                     max_ratio: float = 200.0) -> tuple[I64, I64]:
    """Qwen3-VL's video ``smart_resize``: resized ``(heights, widths)`` for whole videos.

    ``min_pixels``/``max_pixels`` bound ``t_bar * h_bar * w_bar`` with ``t_bar =
    round(n / temporal_factor) * temporal_factor``; the resize branches use ``beta =
    sqrt(n * h * w / max_pixels)`` (the true frame count). Sides below ``factor`` are first
    scaled up to it, truncating with ``int()``. Bounds may be per-video arrays.

    Raises:
        InvalidInputError: fewer than ``temporal_factor`` frames, or an aspect ratio beyond
            ``max_ratio`` (both raise in the reference), naming the first such video.
    """
    n, h, w, lo, hi = np.broadcast_arrays(_i64(num_frames), _i64(heights), _i64(widths),
                                          _i64(min_pixels), _i64(max_pixels))
    shape = n.shape
    n, h, w, lo, hi = (np.ravel(a) for a in (n, h, w, lo, hi))
    f = factor
    short = n < temporal_factor
    if short.any():
        i = _first(short)
        raise InvalidInputError(
            f"video {i}: {int(n[i])} frame(s) sampled; Qwen3-VL needs at least "
            f"{temporal_factor} (its smart_resize raises on fewer)"
        )
    # Sides below the factor are scaled up first; that path is rare and done exactly in
    # Python (its int() truncation of a float product).
    up = (h < f) | (w < f)
    hf = h.astype(np.float64)
    wf = w.astype(np.float64)
    ratio_bad = np.maximum(hf, wf) / np.minimum(hf, wf) > max_ratio
    out_h = np.empty_like(h)
    out_w = np.empty_like(w)
    # Items whose n*h*w is not exact in float64 (or would not fit in int64) go the scalar
    # way too; the float product is only a cheap, safe upper bound for that test.
    scalar = up | ratio_bad | (n.astype(np.float64) * hf * wf > 2.0**53)
    for i in np.flatnonzero(scalar).tolist():
        try:
            out_h[i], out_w[i] = _qwen3_scalar(int(n[i]), int(h[i]), int(w[i]), temporal_factor,
                                               f, int(lo[i]), int(hi[i]), max_ratio)
        except InvalidInputError as exc:
            raise InvalidInputError(f"video {i}: {exc}") from None
    v = ~scalar
    if v.any():
        hv, wv, nv, lov, hiv = h[v], w[v], n[v], lo[v], hi[v]
        hb = round_half_even_div(hv, f) * f
        wb = round_half_even_div(wv, f) * f
        tb = round_half_even_div(nv, temporal_factor) * temporal_factor
        vol = tb * hb * wb
        big = vol > hiv
        small = ~big & (vol < lov)
        if big.any():
            nhw = (nv[big] * hv[big] * wv[big]).astype(np.float64)
            beta = np.sqrt(nhw / hiv[big].astype(np.float64))
            hb[big] = np.maximum(f, np.floor(hv[big] / beta / f).astype(np.int64) * f)
            wb[big] = np.maximum(f, np.floor(wv[big] / beta / f).astype(np.int64) * f)
        if small.any():
            nhw = (nv[small] * hv[small] * wv[small]).astype(np.float64)
            beta = np.sqrt(lov[small].astype(np.float64) / nhw)
            hb[small] = np.ceil(hv[small] * beta / f).astype(np.int64) * f
            wb[small] = np.ceil(wv[small] * beta / f).astype(np.int64) * f
        out_h[v] = hb
        out_w[v] = wb
    return out_h.reshape(shape), out_w.reshape(shape)


# -- video generation (DiT) ---------------------------------------------------------------


def dit_latent_grid(heights: Any, widths: Any, num_frames: Any, *, vae_temporal: int,
                    vae_spatial: int, patch_t: int, patch_hw: int, pad_latent_t: int,
                    frame_multiple_round_down: bool) -> tuple[I64, I64, I64, I64]:
    """Latent grid and tokens of a video DiT for a requested ``num_frames`` and size.

    * ``frame_multiple_round_down`` (Wan 2.1): ``__call__`` turns ``num_frames`` that is
      not ``4k + 1`` into ``num_frames // 4 * 4 + 1``.
    * ``latent_t = (num_frames - 1) // vae_temporal + 1`` (causal VAE: the first frame is
      encoded alone), ``latent_h = H // vae_spatial``, ``latent_w = W // vae_spatial``.
    * ``pad_latent_t`` (CogVideoX1.5: 2): latent frames are padded up to a multiple of it.
    * tokens = ``(latent_t // patch_t) * (latent_h // patch_hw) * (latent_w // patch_hw)``.

    Returns:
        ``(latent_t, latent_h, latent_w, tokens)`` as int64 arrays.
    """
    h, w, n = np.broadcast_arrays(_i64(heights), _i64(widths), _i64(num_frames))
    if frame_multiple_round_down:
        n = np.where(n % vae_temporal != 1, n // vae_temporal * vae_temporal + 1, n)
        n = np.maximum(n, 1)
    lt = (n - 1) // vae_temporal + 1
    if pad_latent_t > 1:
        lt = ceil_div(lt, pad_latent_t) * pad_latent_t
    lh = h // vae_spatial
    lw = w // vae_spatial
    tokens = (lt // patch_t) * (lh // patch_hw) * (lw // patch_hw)
    return _i64(lt), _i64(lh), _i64(lw), _i64(tokens)
