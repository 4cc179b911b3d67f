"""Video kernels: how many frames a model samples, how big they get, and DiT latent grids.

Every function reproduces one reference implementation's arithmetic, float steps
included:

* :func:`qwen_vl_utils_nframes` — ``qwen_vl_utils.vision_process.smart_nframes`` (>= 0.0.10).
* :func:`hf_qwen2_nframes` — ``Qwen2VLVideoProcessor.sample_frames``; the frame count is
  the length of ``torch.arange(0, total, total / n)``, which a float step can make
  ``n + 1``.
* :func:`hf_qwen3_nframes` — ``Qwen3VLVideoProcessor.sample_frames``.
* :func:`bounded_grid` — Qwen's ``smart_resize`` with bounds that differ per video: a
  frame's share of a video budget (qwen-vl-utils' ``fetch_video``, transformers'
  ``cap_pixels_per_frame``), or Qwen3-VL's bound on ``t_bar * h * w`` of the whole clip
  (``qwen3_vl.video_processing_qwen3_vl.smart_resize``, whose ``beta`` uses the real frame
  count). :func:`qwen3_video_grid` is the Qwen3-VL form.
* :func:`qwen3_timestamp_digits` — the integer digits of every ``"<{t:.1f} seconds>"``
  string Qwen3-VL writes per temporal group (the string's other 5 tokens are fixed), in
  closed form; :func:`timestamp_digits_loop` is the reference's own loop.
* :func:`dit_latent_grid` — the latent grid of a causal-VAE video DiT (Wan 2.1,
  HunyuanVideo, CogVideoX, CogVideoX1.5) from ``prepare_latents`` and the pipelines'
  ``__call__``.
* :func:`frames_at_rate` — frames sampled at a fixed rate (Gemini: 1 per second).

Two input forms, one contract. Arrays (int64 counts and sizes, float64 seconds and rates)
give int64 arrays, computed with numpy passes; the rules walk long inputs in cache-sized
blocks (:mod:`tokenmeter.kernels._blocks`), pass ``offset``, the block's first index,
so that errors name the right video, and pass ``scratch``, the block's reusable work
arrays, so that no pass allocates. One video given as plain Python numbers gives Python
ints, computed with the reference's own Python arithmetic: this is the scalar API's path,
where a numpy call (a microsecond or two, whatever its size) would cost more than the
work. ``tests/test_video_kernels.py`` checks the two forms against each other and against
transcriptions of the references, item by item.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInputError
from ._blocks import BLOCK, Scratch, run_blocks, work
from ._intmath import I64, ceil_div
from .grid import resize_one

__all__ = [
    "bounded_grid",
    "dit_latent_grid",
    "frames_at_rate",
    "hf_qwen2_nframes",
    "hf_qwen3_nframes",
    "linspace_round_f32",
    "linspace_round_f64",
    "qwen3_timestamp_digits",
    "qwen3_video_grid",
    "qwen_vl_utils_nframes",
    "source_frames",
    "timestamp_digits_loop",
]

F64 = npt.NDArray[np.float64]
Linspace = Literal["numpy", "torch"]


def _i64(x: Any) -> I64:
    return np.asarray(x, dtype=np.int64)


def _f64(x: Any) -> F64:
    return np.asarray(x, dtype=np.float64)


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(np.ravel(mask))[0])


def _one(x: object) -> bool:
    """True for a plain Python number: the one-video path (bools and numpy scalars are not)."""
    return type(x) is int or type(x) is float


# -- frame sampling ---------------------------------------------------------------------


def _floor_to(x: F64, factor: int) -> F64:
    """``floor(x / factor) * factor`` in place, as the references' ``floor_by_factor``."""
    np.divide(x, factor, out=x)
    np.floor(x, out=x)
    np.multiply(x, factor, out=x)
    return x


def _pair(total_frames: Any, video_fps: Any) -> tuple[I64, F64]:
    total, src = np.broadcast_arrays(_i64(total_frames), _f64(video_fps))
    return total, src


def _as_int(x: F64, scratch: Scratch | None) -> I64:
    """Whole-number floats as int64 (into scratch inside a block)."""
    out = work(scratch, x.shape, np.int64)
    np.copyto(out, x, casting="unsafe")
    return out


def _nframes_error(index: int, n: int, total: int, ff: int) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: qwen-vl-utils would sample {n} of {total} frames; it needs "
        f"{ff}..total_frames (a clip of at least {ff} frames)"
    )


def qwen_vl_utils_nframes(
    total_frames: Any,
    video_fps: Any,
    *,
    fps: float = 2.0,
    min_frames: int = 4,
    max_frames: int | None = None,
    nframes: int | None = None,
    frame_factor: int = 2,
    offset: int = 0,
    scratch: Scratch | None = None,
) -> Any:
    """Frames ``qwen_vl_utils.smart_nframes`` samples (versions 0.0.10 to 0.0.14).

    ``n = floor(min(max(total / video_fps * fps, ceil(min_frames)), floor(min(768,
    total)), total) / 2) * 2`` with the bounds rounded to multiples of 2, or
    ``round(nframes / 2) * 2`` when ``nframes`` is given. A user ``max_frames`` replaces
    ``min(768, total)`` (and is then still capped by ``total``).

    Raises:
        InvalidInputError: the result is outside ``[2, total]`` (the reference raises),
            naming the first such video.
    """
    ff = frame_factor
    if _one(total_frames):
        t = int(total_frames)
        if nframes is not None:
            n = round(nframes / ff) * ff
        else:
            lo = math.ceil(min_frames / ff) * ff
            hi = math.floor((min(768, t) if max_frames is None else max_frames) / ff) * ff
            x = t / float(video_fps) * fps  # the reference's float order
            n = math.floor(min(min(max(x, lo), hi), t) / ff) * ff
        if not ff <= n <= t:
            raise _nframes_error(offset, n, t, ff)
        return n
    total, src = _pair(total_frames, video_fps)
    if nframes is not None:
        c = round(nframes / ff) * ff
        given = np.full(total.shape, c, np.int64)
        if total.size and (c < ff or int(total.min()) < c):
            i = _first((given < ff) | (given > total))
            raise _nframes_error(offset + i, c, int(total.ravel()[i]), ff)
        return given
    # floor(min(max(x, lo), hi, total) / 2) * 2 == min(max(F(x), lo), F(hi), F(total)) for
    # the monotone F = floor(. / 2) * 2 (lo and F(hi) are already multiples of 2); the
    # cap min(768, total) is min(768, F(total)) after F. Fewer passes, same numbers.
    lo = math.ceil(min_frames / ff) * ff
    hi = math.floor((768 if max_frames is None else max_frames) / ff) * ff
    x = np.divide(total, src, out=work(scratch, total.shape))
    np.multiply(x, fps, out=x)
    _floor_to(x, ff)
    np.maximum(x, lo, out=x)
    np.minimum(x, hi, out=x)
    ft = np.divide(total, ff, out=work(scratch, total.shape))
    np.floor(ft, out=ft)
    np.multiply(ft, ff, out=ft)
    np.minimum(x, ft, out=x)
    # n <= F(total) <= total always, so only the lower end can fail.
    if x.size and float(x.min()) < ff:
        i = _first(x < ff)
        raise _nframes_error(offset + i, int(x.ravel()[i]), int(total.ravel()[i]), ff)
    return _as_int(x, scratch)


def _hf_qwen2_error(index: int, n: float, total: int, tps: int) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: transformers' sample_frames would take {int(n)} of {total} frames; "
        f"it needs 1..total_frames (a clip of at least {tps} frames)"
    )


def hf_qwen2_nframes(
    total_frames: Any,
    video_fps: Any,
    *,
    fps: float = 2.0,
    min_frames: int = 4,
    max_frames: int = 768,
    num_frames: int | None = None,
    temporal_patch_size: int = 2,
    offset: int = 0,
    scratch: Scratch | None = None,
) -> Any:
    """Frames ``Qwen2VLVideoProcessor.sample_frames`` returns.

    The target ``n`` is ``floor(min(max(total / video_fps * fps, min_frames),
    floor(min(max_frames, total) / 2) * 2, total) / 2) * 2`` (or ``round(num_frames / 2) *
    2``), and the indices are ``torch.arange(0, total, total / n)``, whose length is
    ``ceil(total / (total / n))`` in float64: usually ``n``, occasionally ``n + 1``.

    Raises:
        InvalidInputError: ``n`` is 0 or exceeds ``total`` (the reference raises).
    """
    tps = temporal_patch_size
    if _one(total_frames):
        t = int(total_frames)
        if num_frames is not None:
            n = round(num_frames / tps) * tps
        else:
            hi = math.floor(min(max_frames, t) / tps) * tps
            x = t / float(video_fps) * fps
            n = math.floor(min(max(x, min_frames), hi, t) / tps) * tps
        if n < 1 or n > t:
            raise _hf_qwen2_error(offset, n, t, tps)
        return math.ceil(t / (t / n))
    total, src = _pair(total_frames, video_fps)
    tf = work(scratch, total.shape)
    np.copyto(tf, total, casting="unsafe")
    nf = work(scratch, total.shape)
    if num_frames is not None:
        nf.fill(float(round(num_frames / tps) * tps))
    else:
        # As in qwen_vl_utils_nframes: the monotone floor-to-pairs commutes with min/max.
        np.divide(tf, src, out=nf)
        np.multiply(nf, fps, out=nf)
        _floor_to(nf, tps)
        np.maximum(nf, math.floor(min_frames / tps) * tps, out=nf)
        np.minimum(nf, math.floor(max_frames / tps) * tps, out=nf)
        ft = np.divide(tf, tps, out=work(scratch, total.shape))
        np.floor(ft, out=ft)
        np.multiply(ft, tps, out=ft)
        np.minimum(nf, ft, out=nf)
    # Sampled from the rate, nf <= F(total) <= total; a given num_frames may exceed total.
    if nf.size and (float(nf.min()) < 1 or (num_frames is not None and bool((nf > tf).any()))):
        i = _first((nf < 1) | (nf > tf))
        raise _hf_qwen2_error(offset + i, float(nf.ravel()[i]), int(tf.ravel()[i]), tps)
    # len(torch.arange(0, total, total / nf)) = ceil(total / (total / nf)) in float64.
    np.divide(tf, nf, out=nf)
    np.divide(tf, nf, out=nf)
    np.ceil(nf, out=nf)
    return _as_int(nf, scratch)


def hf_qwen3_nframes(
    total_frames: Any,
    video_fps: Any,
    *,
    fps: float = 2.0,
    min_frames: int = 4,
    max_frames: int = 768,
    num_frames: int | None = None,
    scratch: Scratch | None = None,
) -> Any:
    """Frames ``Qwen3VLVideoProcessor.sample_frames`` returns.

    ``n = min(max(int(total / video_fps * fps), min_frames), max_frames, total)`` (``int``
    truncates), or ``num_frames`` as given; the indices are ``linspace(0, total - 1, n)``,
    so odd counts are possible (patchify pads them). The product is capped at
    ``max_frames`` before truncating, which changes nothing for finite values and keeps a
    product that overflowed to infinity (a tiny ``video_fps``) at ``max_frames``.
    """
    if _one(total_frames):
        if num_frames is not None:
            return int(num_frames)
        t = int(total_frames)
        x = t / float(video_fps) * fps
        return min(max(math.floor(min(x, max_frames)), min_frames), max_frames, t)
    total, src = _pair(total_frames, video_fps)
    if num_frames is not None:
        return np.full(total.shape, num_frames, np.int64)
    x = np.divide(total, src, out=work(scratch, total.shape))
    np.multiply(x, fps, out=x)
    np.minimum(x, max_frames, out=x)
    np.floor(x, out=x)
    np.maximum(x, min_frames, out=x)
    np.minimum(x, max_frames, out=x)  # a max_frames below min_frames wins, as in min(max())
    np.minimum(x, total, out=x)
    return _as_int(x, scratch)


def source_frames(durations: Any, fps: Any) -> I64:
    """A source's frame count from its duration: ``rint(duration * fps)`` (half to even).

    Long inputs are converted block by block, so the float product is never a second
    array as large as the input.
    """
    d, f = np.broadcast_arrays(_f64(durations), _f64(fps))
    if d.size <= BLOCK:
        x = np.multiply(d, f)
        return np.asarray(np.rint(x), dtype=np.int64)
    out = np.empty(d.shape, np.int64)
    dv, fv, ov = d.reshape(-1), f.reshape(-1), out.reshape(-1)

    def block(start: int, stop: int, scratch: Scratch) -> None:
        x = np.multiply(dv[start:stop], fv[start:stop], out=scratch(stop - start))
        np.rint(x, out=x)
        np.copyto(ov[start:stop], x, casting="unsafe")

    run_blocks(block, d.size)
    return out


def frames_at_rate(durations: Any, sample_fps: Any, *, scratch: Scratch | None = None) -> Any:
    """Frames sampled at ``sample_fps`` from a clip of ``durations`` seconds.

    ``ceil(duration * sample_fps)``, with the product first rounded to 6 decimals so that
    decimal inputs (10.1 s at 1 fps) give 11 and not ``ceil(10.100000000000001)``; at least
    one frame for any non-empty clip. The rounding is numpy's ``round(x, 6)``:
    ``rint(x * 1e6) / 1e6`` (half to even), also on the one-video path.
    """
    if _one(durations) and _one(sample_fps):
        y = round(durations * sample_fps * 1e6) / 1e6
        return max(math.ceil(y), 1)
    d, r = np.broadcast_arrays(_f64(durations), _f64(sample_fps))
    x = np.multiply(d, r, out=work(scratch, d.shape))
    # np.round(x, 6) spelled out (its own algorithm, which is not Python's round(x, 6)),
    # in place: np.round with out= still makes temporaries.
    x *= 1e6
    np.rint(x, out=x)
    x /= 1e6
    np.ceil(x, out=x)
    np.maximum(x, 1, out=x)
    return _as_int(x, scratch)


# -- frame indices and Qwen3-VL timestamps ------------------------------------------------


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


def timestamp_digits_loop(indices: I64, video_fps: float, temporal_patch_size: int = 2) -> int:
    """Integer digits summed over the ``"<{t:.1f} seconds>"`` strings of one video.

    The reference's own loop: ``indices`` are the sampled frame indices; as in
    ``Qwen3VLProcessor._calculate_timestamps`` they are padded with the last index to a
    multiple of ``temporal_patch_size``, turned into seconds (``idx / fps``) and averaged
    per group (first and last frame of the group); each mean is formatted with ``.1f``.
    The Qwen tokenizer splits every digit into its own token, so the digits are the only
    part of the string whose token count varies.
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


def _digit_thresholds(count: int) -> tuple[float, ...]:
    """``c[k - 1]``: the smallest float that ``.1f`` writes with ``k + 1`` integer digits.

    ``f"{t:.1f}"`` rounds the exact binary value of ``t`` correctly, so it reaches
    ``10**k`` exactly when ``t >= 10**k - 0.05``; that decimal is never a binary fraction
    (no ties), so the threshold is the first float above it.
    """
    out = []
    for k in range(1, count + 1):
        edge = Fraction(10**k) - Fraction(1, 20)
        c = float(edge)
        if Fraction(c) < edge:
            c = math.nextafter(c, math.inf)
        out.append(c)
    return tuple(out)


#: Timestamps up to 15 integer digits take the closed form; longer ones (a frame rate
#: below 1e-5 fps on a long clip) take the reference loop.
_TS_THRESHOLDS = _digit_thresholds(15)
#: Frame counts up to this take the closed form (see qwen3_timestamp_digits); more frames
#: than that (only through an explicit ``nframes``) take the loop.
_TS_MAX_FRAMES = 1 << 16
# |t_g - L(g)| <= spacing / 4 (+ a relative 2**-16 at most) and the float estimate of the
# boundary is within 0.01 of the exact one, so the first group at or past a threshold is
# P or P + 1 with P = ceil(X - 0.3), X = c * fps / (2 * step) - 1/4. See the proof below.
_TS_SLACK = 0.55


def _torch_index_one(j: int, stop: int, m: int) -> int:
    """Index ``j`` of ``torch.linspace(0, stop, m).round()`` (float32, as torch computes it)."""
    if m == 1:
        return 0
    end = np.float32(stop)
    step = np.float32(end / np.float32(m - 1))
    if j < m // 2:
        v = np.float32(step * np.float32(j))
    else:
        v = np.float32(end - np.float32(step * np.float32(m - 1 - j)))
    return int(np.rint(v))


def _numpy_index_one(j: int, stop: int, m: int) -> int:
    """Index ``j`` of ``np.linspace(0, stop, m).round()``: ``rint(j * (stop / (m - 1)))``,
    with the last one set to ``stop`` (as numpy sets ``y[-1] = stop``)."""
    if m == 1:
        return 0
    if j >= m - 1:
        return stop
    return round(j * (stop / (m - 1)))


def _ts_digits_one(total: int, m: int, fps: float, linspace: Linspace) -> int:
    """:func:`qwen3_timestamp_digits` for one video (temporal patch size 2)."""
    if not 1 <= m <= min(total, _TS_MAX_FRAMES):
        return _ts_loop(total, m, fps, linspace, 2)
    stop = total - 1
    index = _torch_index_one if linspace == "torch" else _numpy_index_one
    groups = (m + 1) // 2

    def t_at(g: int) -> float:
        a = index(2 * g, stop, m)
        b = index(min(2 * g + 1, m - 1), stop, m)
        return (a / fps + b / fps) / 2

    t_last = t_at(groups - 1)
    if not t_last < _TS_THRESHOLDS[-1]:
        return _ts_loop(total, m, fps, linspace, 2)
    digits = groups
    if t_last < _TS_THRESHOLDS[0]:
        return digits
    fi = fps / (2 * (stop / (m - 1)))  # m >= 2 and stop >= 1 here: t_last >= 9.95
    for c in _TS_THRESHOLDS:
        if c > t_last:
            break
        p = min(max(math.ceil(c * fi - _TS_SLACK), 0), groups)
        first = min(p + (t_at(min(p, groups - 1)) < c), groups)
        digits += groups - first
    return digits


def _ts_loop(total: int, m: int, fps: float, linspace: Linspace, tps: int) -> int:
    idx = (linspace_round_f32 if linspace == "torch" else linspace_round_f64)(total - 1, m)
    return timestamp_digits_loop(idx, fps, tps)


def _torch_index(j: F64, stop: F64, m: F64) -> F64:
    """Float32 ``torch.linspace(0, stop, m).round()`` at indices ``j`` (float64 in and out).

    Used on the few videos whose timestamps need an exact evaluation, so it allocates.
    """
    end = stop.astype(np.float32)
    step = end / np.maximum(m - 1, 1).astype(np.float32)  # m = 1: index 0 only
    lo = step * j.astype(np.float32)
    np.rint(lo, out=lo)
    hi = step * (m - 1 - j).astype(np.float32)
    np.subtract(end, hi, out=hi)
    np.rint(hi, out=hi)
    # Pick the half each index falls in; both are whole numbers, so the arithmetic
    # selection is exact (a masked copy costs several times more).
    first = (j < np.floor(m / 2)).astype(np.float64)
    out: F64 = lo.astype(np.float64)
    np.subtract(out, hi, out=out)
    np.multiply(out, first, out=out)
    np.add(out, hi, out=out)
    return out


def qwen3_timestamp_digits(
    total_frames: Any,
    num_frames: Any,
    video_fps: Any,
    *,
    linspace: Linspace = "numpy",
    temporal_patch_size: int = 2,
    offset: int = 0,
    scratch: Scratch | None = None,
) -> Any:
    """Integer digits over every temporal group's ``"<{t:.1f} seconds>"``, per video.

    Frames are ``linspace(0, total - 1, num_frames)`` rounded (``"numpy"``: the
    transformers processor; ``"torch"``: qwen-vl-utils, float32), paired, and each pair's
    mean time ``t_g`` is written with ``.1f``. The count is ``G + sum_k #{g : t_g >=
    c_k}`` over ``G`` groups, where ``c_k`` is the first float written with ``k + 1``
    integer digits; ``t_g`` grows with ``g``, so each term is ``G`` minus the first group
    at or past ``c_k``.

    That group is found without visiting the others. With ``s = stop / (m - 1)`` (at
    least 1 when ``m <= total``), the full pair ``g`` sits at ``L(g) = (4g + 1) s / (2
    fps)`` within ``r`` of the spacing ``2 s / fps``, ``r = 1 / (4 s)`` (each rounded index
    moves ``t_g`` by at most ``1 / (4 fps)``), plus ``(m - 1) * 2**-22`` for float32
    indices; a padded last group (odd ``m``) is exactly ``stop / fps``. So the first full
    pair at or past ``c`` lies in ``[ceil(X - r), ceil(X + r)]`` for ``X = c fps / (2 s) -
    1/4``: one candidate when those agree, else two, and one exact evaluation of ``t_P``
    (the reference's own float steps) decides. The one-video path takes the wider bound
    ``r = 1/4`` (the padded group included) and always evaluates. Videos outside the
    proof's assumptions (more frames than ``total`` or than 65 536, timestamps of 16
    digits or more, a temporal patch size other than 2) take :func:`timestamp_digits_loop`.

    Returns:
        The digit count per video (int64 array), or an int for one video given as Python
        numbers.
    """
    if _one(total_frames) and _one(num_frames):
        t, m1 = int(total_frames), int(num_frames)
        if temporal_patch_size != 2:
            return _ts_loop(t, m1, float(video_fps), linspace, temporal_patch_size)
        return _ts_digits_one(t, m1, float(video_fps), linspace)
    total_a, m_a, fps_a = np.broadcast_arrays(_i64(total_frames), _i64(num_frames), _f64(video_fps))
    shape = total_a.shape
    total_i, m_i, fps = total_a.reshape(-1), m_a.reshape(-1), fps_a.reshape(-1)
    k = total_i.size
    if temporal_patch_size != 2 or not k:
        out = np.empty(k, np.int64)
        for i in range(k):
            out[i] = _ts_loop(
                int(total_i[i]), int(m_i[i]), float(fps[i]), linspace, temporal_patch_size
            )
        return out.reshape(shape)

    def buf() -> F64:
        return work(scratch, k)

    m = buf()
    np.copyto(m, m_i, casting="unsafe")
    stop = np.subtract(total_i, 1, out=buf(), casting="unsafe")
    pairs = np.multiply(m, 0.5, out=buf())
    np.floor(pairs, out=pairs)
    odd = np.multiply(pairs, -2, out=buf())
    odd += m
    tl = np.divide(stop, fps, out=buf())  # the padded group's time; a bound on all of them
    digits = np.add(pairs, odd, out=buf())  # one digit at least per group
    flat_ok = int(m_i.min()) >= 2 and float(stop.min()) >= 1
    if not flat_ok:
        # A single frame is linspace(0, stop, 1) = [0], and a one-frame clip has only
        # index 0: every timestamp is 0.0, one digit per group and no pair to search.
        zero = (m_i < 2) | (stop < 1)
        tl[zero] = 0.0
        pairs[zero] = 0.0
    top = float(tl.max())
    ok_all = (
        int(m_i.max()) <= _TS_MAX_FRAMES
        and top < _TS_THRESHOLDS[-1]
        and bool((m_i <= total_i).all())
    )
    ok = None
    if not ok_all:
        ok = (m_i <= total_i) & (m_i <= _TS_MAX_FRAMES) & (tl < _TS_THRESHOLDS[-1])
        top = float(tl[ok].max()) if ok.any() else 0.0
    if top >= _TS_THRESHOLDS[0]:
        s = np.subtract(m, 1, out=buf())
        np.maximum(s, 1, out=s)
        np.divide(stop, s, out=s)
        if not flat_ok:
            s[s <= 0] = 1.0  # those videos have no pairs left to count
        x_per_c = np.divide(fps, s, out=buf())
        x_per_c *= 0.5  # X = c * fps / (2 s) - 1/4
        slack = np.divide(0.25, s, out=buf())
        slack += (1 / 64 if linspace == "torch" else 1e-9) + 0.01
        x, lo, hit_c = buf(), buf(), work(scratch, k, np.bool_)
        for c in _TS_THRESHOLDS:
            if c > top:
                break
            np.multiply(x_per_c, c, out=x)
            x -= 0.25
            np.subtract(x, slack, out=lo)
            np.ceil(lo, out=lo)
            x += slack
            np.ceil(x, out=x)  # x is now the upper candidate Q
            idx = np.flatnonzero(np.not_equal(lo, x, out=hit_c))
            if idx.size:
                p = lo[idx]
                pi = pairs[idx]
                g = np.maximum(p, 0)
                np.minimum(g, np.maximum(pi - 1, 0), out=g)
                j = 2 * g
                if linspace == "torch":
                    a = _torch_index(j, stop[idx], m[idx])
                    b = _torch_index(j + 1, stop[idx], m[idx])
                else:
                    si = s[idx]
                    a = np.rint(j * si)
                    b = np.rint((j + 1) * si)
                fi = fps[idx]
                a /= fi
                b /= fi
                a += b
                a /= 2
                # t_P >= c: the first pair is P itself, else P + 1 = Q. Candidates out of
                # range (P < 0, P >= pairs) are settled by the clip below.
                x[idx] -= (a >= c) & (p >= 0) & (p < pi)
            np.maximum(x, 0, out=x)
            np.minimum(x, pairs, out=x)
            digits += pairs
            digits -= x
            # The padded last group, exactly stop / fps.
            np.greater_equal(tl, c, out=hit_c)
            np.multiply(odd, hit_c, out=x)
            digits += x
    out = _as_int(digits, scratch)
    if ok is not None:
        for i in np.flatnonzero(~ok).tolist():
            out[i] = _ts_loop(int(total_i[i]), int(m_i[i]), float(fps[i]), linspace, 2)
    return out.reshape(shape)


# -- resizing ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Resize:
    """The constants of one ``smart_resize`` variant."""

    factor: int
    temporal: int  # t_bar = round(n / temporal) * temporal; 1 for per-frame bounds
    max_ratio: float
    variant: str
    upscale: bool  # Qwen3-VL: sides below factor are scaled up first
    clamp_first: bool  # qwen-vl-utils: max(factor, .) right after rounding
    clamp_floor: bool  # transformers, Qwen3-VL: max(factor, .) in the max_pixels branch


_VARIANTS = ("transformers", "qwen-vl-utils", "qwen3")
#: Pixel bounds are kept below this, so that float64 compares them exactly with any product
#: of grid sides (exact below 2**53, and far above the bounds when not).
_MAX_BOUND = 2**50
_EXACT = 2.0**53


def _ratio_error(index: int, h: int, w: int, p: _Resize) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: a video of {h}x{w} (h x w) has aspect ratio "
        f"{max(h, w) / min(h, w):.6g}, beyond the model's limit of {p.max_ratio:g}:1 (the "
        "reference raises); crop or pad it"
    )


def _zero_error(index: int, h: int, w: int, hb: int, wb: int, p: _Resize) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: frames of {h}x{w} (h x w) resize to {hb}x{wb} under {p.variant} "
        "smart_resize with this video's pixel bounds; a zero side is a frame the reference "
        "cannot process. Raise max_pixels (or min_pixels) or pad the video"
    )


def _resize_one(
    n: int, h: int, w: int, lo: int, hi: float, p: _Resize, index: int
) -> tuple[int, int]:
    """``smart_resize`` for one video in the reference's Python arithmetic (the image
    kernels' :func:`~tokenmeter.kernels.grid.resize_one`, with the video's frames); grid
    sides."""
    hb, wb = resize_one(
        h,
        w,
        p.factor,
        lo,
        hi,
        p.max_ratio,
        p.clamp_first,
        p.clamp_floor,
        lambda a, b: _ratio_error(index, a, b, p),
        lambda rh, rw: _zero_error(index, h, w, rh, rw, p),
        frames=n,
        temporal=p.temporal,
        upscale=p.upscale,
    )
    return hb // p.factor, wb // p.factor


@functools.lru_cache(maxsize=64)
def _params(factor: int, temporal: int, max_ratio: float, variant: str) -> _Resize:
    if variant not in _VARIANTS:
        raise InvalidInputError(f"variant = {variant!r}; use one of {', '.join(_VARIANTS)}")
    return _Resize(
        factor=factor,
        temporal=temporal,
        max_ratio=float(max_ratio),
        variant=variant,
        upscale=variant == "qwen3",
        clamp_first=variant == "qwen-vl-utils",
        clamp_floor=variant != "qwen-vl-utils",
    )


def _bounds_error(index: int, lo: float, hi: float) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: min_pixels = {lo} exceeds this video's max_pixels = {hi} (a frame's "
        "share of the budget); the reference smart_resize refuses it. Pass min_pixels <= "
        "max_pixels"
    )


def _span(x: Any) -> tuple[float, float]:
    """``(min, max)`` of a bound: one number for every video, or an array (``(1, 0)``
    for an empty one: nothing to check)."""
    if np.ndim(x) == 0:
        return x, x
    if not np.size(x):
        return 1.0, 0.0
    return float(np.min(x)), float(np.max(x))


def _check_bounds(lo: Any, hi: Any) -> None:
    lo_min, lo_max = _span(lo)
    hi_min, hi_max = _span(hi)
    if min(lo_min, lo_max) < 0 or lo_max > _MAX_BOUND or hi_min < 1 or hi_max > _MAX_BOUND:
        raise InvalidInputError(
            f"pixel bounds must lie in 0..{_MAX_BOUND} (min_pixels) and 1..{_MAX_BOUND} "
            "(max_pixels)"
        )


def bounded_grid(
    frames: Any,
    heights: Any,
    widths: Any,
    *,
    factor: int,
    min_pixels: Any,
    max_pixels: Any,
    max_ratio: float = 200.0,
    variant: str = "transformers",
    temporal_factor: int = 1,
    offset: int = 0,
    scratch: Scratch | None = None,
) -> tuple[Any, Any]:
    """Qwen's ``smart_resize`` with per-video bounds: the merged grid ``(rows, cols)``.

    ``variant``:

    * ``"transformers"`` / ``"qwen-vl-utils"`` — the image ``smart_resize`` of either
      reference applied to every frame, with ``frames=None`` and a per-video
      ``max_pixels`` (a frame's share of the video budget; qwen-vl-utils passes a float).
    * ``"qwen3"`` — Qwen3-VL's video ``smart_resize``: ``t_bar * h_bar * w_bar`` (``t_bar
      = round(n / temporal_factor) * temporal_factor``) is held in the bounds, ``beta``
      uses the true frame count ``n``, and sides below ``factor`` are first scaled up,
      truncating with ``int()``.

    Sides are rounded with float64 ``rint(side / factor)``, which is Python's banker's
    ``round`` for every side below 2**31; the resize branches take the reference's float
    steps. Items the float steps could get wrong (``n * h * w`` past 2**53), the Qwen3-VL
    upscaled ones, and aspect ratios beyond the limit go through the scalar reference.

    Returns:
        ``(rows, cols)``: the resized sides divided by ``factor``.

    Raises:
        InvalidInputError: an aspect ratio beyond ``max_ratio`` or a resize to a zero
            side (both fail in the reference), naming the first such video.
    """
    p = _params(factor, temporal_factor, max_ratio, variant)
    if _one(heights):
        if not p.upscale and min_pixels > max_pixels:
            raise _bounds_error(offset, min_pixels, max_pixels)
        return _resize_one(
            1 if frames is None else int(frames),
            int(heights),
            int(widths),
            int(min_pixels),
            max_pixels,
            p,
            offset,
        )
    # Bounds shared by every video stay Python numbers: no per-item pass for them.
    lo, hi = _bound(min_pixels), _bound(max_pixels)
    _check_bounds(lo, hi)
    named = {"h": _i64(heights), "w": _i64(widths)}
    if frames is not None:
        named["n"] = _i64(frames)
    if np.ndim(lo):
        named["lo"] = lo
    if np.ndim(hi):
        named["hi"] = hi
    shapes = {v.shape for v in named.values()}
    if len(shapes) == 1 and len(next(iter(shapes))) == 1:
        shape = next(iter(shapes))  # one block's 1-d arrays: nothing to broadcast
        a = named
    else:
        shape = np.broadcast_shapes(*shapes)
        a = {k: np.broadcast_to(v, shape).reshape(-1) for k, v in named.items()}
    lo, hi = a.get("lo", lo), a.get("hi", hi)
    if not p.upscale and _span(lo)[1] > _span(hi)[0] and bool(np.any(lo > hi)):
        # The image smart_resize asserts max_pixels >= min_pixels (a user max_pixels can
        # lower a frame's share below min_pixels); Qwen3-VL's video one does not.
        i = _first(np.broadcast_to(lo > hi, a["h"].shape))
        raise _bounds_error(offset + i, _at(lo, i), _at(hi, i))
    rows, cols = _grid_block(a.get("n"), a["h"], a["w"], lo, hi, p, offset, scratch)
    return rows.reshape(shape), cols.reshape(shape)


def _bound(x: Any) -> Any:
    """A pixel bound: a Python number if there is one for every video, else an array."""
    if np.ndim(x) == 0:
        return x.item() if isinstance(x, np.generic | np.ndarray) else x
    return np.asarray(x)


def _at(a: Any, i: int) -> Any:
    """Item ``i`` of a per-video array, or the shared Python number."""
    return a[i].item() if np.ndim(a) else a


def _sel(a: Any, sel: Any) -> Any:
    return a[sel] if np.ndim(a) else a


def _grid_block(
    n: I64 | None,
    h: I64,
    w: I64,
    lo: Any,
    hi: Any,
    p: _Resize,
    offset: int,
    scratch: Scratch | None,
) -> tuple[I64, I64]:
    """:func:`bounded_grid` over 1-d arrays of one length (bounds: arrays or numbers)."""
    k = h.shape[0]
    if k == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    f = p.factor
    hmin, hmax, wmin, wmax = int(h.min()), int(h.max()), int(w.min()), int(w.max())
    nmax = 1 if n is None else int(n.max())
    # Items for the scalar reference. The screens are whole-block bounds first, so a
    # common block pays a few reductions and no per-item pass.
    special: npt.NDArray[np.bool_] | None = None
    if p.upscale and (hmin < f or wmin < f):
        special = (h < f) | (w < f)
    if not (hmax / wmin <= p.max_ratio and wmax / hmin <= p.max_ratio):
        # Exact: both sides are integers below 2**31, so the float division rounds once,
        # as Python's int / int does.
        hf, wf = h.astype(np.float64), w.astype(np.float64)
        bad = np.maximum(hf, wf) / np.minimum(hf, wf) > p.max_ratio
        special = bad if special is None else special | bad
    if nmax * hmax * wmax >= _EXACT:
        nhw = h.astype(np.float64) * w
        if n is not None:
            nhw *= n
        big_nhw = nhw >= _EXACT
        special = big_nhw if special is None else special | big_nhw
    if special is None or not special.any():
        rows, cols = _vector_grid(n, h, w, lo, hi, p, scratch)
    else:
        rows = np.empty(k, np.int64)
        cols = np.empty(k, np.int64)
        # In index order, so the first video the reference refuses is the one named.
        for i in np.flatnonzero(special).tolist():
            rows[i], cols[i] = _resize_one(
                1 if n is None else int(n[i]),
                int(h[i]),
                int(w[i]),
                int(_at(lo, i)),
                _at(hi, i),
                p,
                offset + i,
            )
        idx = np.flatnonzero(~special)
        if idx.size:
            rows[idx], cols[idx] = _vector_grid(
                None if n is None else n[idx], h[idx], w[idx], _sel(lo, idx), _sel(hi, idx), p, None
            )
    if int(rows.min()) <= 0 or int(cols.min()) <= 0:
        i = _first((rows <= 0) | (cols <= 0))
        raise _zero_error(offset + i, int(h[i]), int(w[i]), int(rows[i]) * f, int(cols[i]) * f, p)
    return rows, cols


def _vector_grid(
    n: I64 | None, h: I64, w: I64, lo: Any, hi: Any, p: _Resize, scratch: Scratch | None
) -> tuple[I64, I64]:
    """The reference's arithmetic over arrays, for items whose every float step is exact.

    Work arrays come from ``scratch``; the returned grids too (inside a block).
    """
    k = h.shape[0]
    f = p.factor

    def buf(dtype: type = np.float64) -> np.ndarray:
        return work(scratch, k, dtype)

    hf = buf()
    np.copyto(hf, h, casting="unsafe")
    wf = buf()
    np.copyto(wf, w, casting="unsafe")
    qh = np.divide(hf, f, out=buf())
    np.rint(qh, out=qh)
    qw = np.divide(wf, f, out=buf())
    np.rint(qw, out=qw)
    if p.clamp_first:
        np.maximum(qh, 1, out=qh)
        np.maximum(qw, 1, out=qw)
    # The rounded volume in pixels. Against bounds below 2**50 the comparisons are exact:
    # the product is exact below 2**53 and far above the bounds when rounded.
    vol = np.multiply(qh, qw, out=buf())
    vol *= f * f
    nf: F64 | None = None
    if n is not None:
        nf = buf()
        np.copyto(nf, n, casting="unsafe")
        if p.temporal == 1:
            vol *= nf
        else:
            tb = np.divide(nf, p.temporal, out=buf())
            np.rint(tb, out=tb)  # Python's round(n / t): the same float quotient, half to even
            tb *= p.temporal
            vol *= tb
    big = np.greater(vol, hi, out=buf(np.bool_))
    any_big = bool(big.any())
    small: npt.NDArray[np.bool_] | None = None
    if np.ndim(lo) or lo > 0:  # vol >= 0: nothing is below a zero min_pixels
        small = np.less(vol, lo, out=buf(np.bool_))
        if any_big:
            np.greater(small, big, out=small)  # small and not big: the reference's elif
    any_small = small is not None and bool(small.any())
    if not any_small:
        small = None
    if any_big or small is not None:
        count = (np.count_nonzero(big) if any_big else 0) + (
            np.count_nonzero(small) if small is not None else 0
        )
        if count * 4 >= k:
            # Many to resize: both branches over the whole block, selected arithmetically
            # (every value is a whole number, so ``q + mask * (new - q)`` is exact); when
            # every item takes the max_pixels branch (long clips), no selection at all.
            everyone = any_big and not any_small and count == k
            _resize_branches(
                qh,
                qw,
                hf,
                wf,
                nf,
                lo,
                hi,
                True if everyone else (big if any_big else None),
                small if any_small else None,
                f,
                p,
                buf,
            )
        else:
            sel = np.flatnonzero(big | small if small is not None else big)
            sh, sw = qh[sel], qw[sel]
            _resize_branches(
                sh,
                sw,
                hf[sel],
                wf[sel],
                None if nf is None else nf[sel],
                _sel(lo, sel),
                _sel(hi, sel),
                big[sel] if any_big else None,
                None if small is None else small[sel],
                f,
                p,
                lambda dtype=np.float64: np.empty(sel.size, dtype),
            )
            qh[sel] = sh
            qw[sel] = sw
    rows = buf(np.int64)
    np.copyto(rows, qh, casting="unsafe")
    cols = buf(np.int64)
    np.copyto(cols, qw, casting="unsafe")
    return rows, cols


def _resize_branches(
    qh: F64,
    qw: F64,
    hf: F64,
    wf: F64,
    nf: F64 | None,
    lo: Any,
    hi: Any,
    big: npt.NDArray[np.bool_] | bool | None,
    small: npt.NDArray[np.bool_] | None,
    f: int,
    p: _Resize,
    buf: Any,
) -> None:
    """Overwrite ``qh``/``qw`` where ``big`` (the max_pixels branch; ``True``: every item)
    or ``small`` (the min_pixels branch) holds, with the reference's float steps."""
    nhw = np.multiply(hf, wf, out=buf())  # exact: n*h*w < 2**53 for every item here
    if nf is not None:
        nhw *= nf
    beta = buf()
    new = buf()
    for mask, maximum in ((big, True), (small, False)):
        if mask is None or mask is False:
            continue
        if maximum:
            # max_pixels branch: beta = sqrt(n*h*w / max_pixels); floor(h / beta / f).
            np.divide(nhw, hi, out=beta)
        else:
            # min_pixels branch: beta = sqrt(min_pixels / (n*h*w)); ceil(h * beta / f).
            np.divide(lo, nhw, out=beta)
        np.sqrt(beta, out=beta)
        for q, side in ((qh, hf), (qw, wf)):
            if maximum:
                np.divide(side, beta, out=new)
                new /= f
                np.floor(new, out=new)
                if p.clamp_floor:
                    np.maximum(new, 1, out=new)
            else:
                np.multiply(side, beta, out=new)
                new /= f
                np.ceil(new, out=new)
            if mask is True:
                np.copyto(q, new)
            else:
                new -= q
                new *= mask
                q += new


def qwen3_video_grid(
    num_frames: Any,
    heights: Any,
    widths: Any,
    *,
    factor: int,
    temporal_factor: int,
    min_pixels: Any,
    max_pixels: Any,
    max_ratio: float = 200.0,
    offset: int = 0,
    grid: bool = False,
    scratch: Scratch | None = None,
) -> tuple[Any, Any]:
    """Qwen3-VL's video ``smart_resize``: resized ``(heights, widths)`` for whole videos.

    ``min_pixels``/``max_pixels`` bound ``t_bar * h_bar * w_bar`` with ``t_bar =
    round(n / temporal_factor) * temporal_factor``; the resize branches use ``beta =
    sqrt(n * h * w / max_pixels)`` (the true frame count). Sides below ``factor`` are first
    scaled up to it, truncating with ``int()``. Bounds may be per-video arrays. This is
    :func:`bounded_grid` with ``variant="qwen3"``, times ``factor`` (unless ``grid``: then
    the grid sides themselves).

    Raises:
        InvalidInputError: fewer than ``temporal_factor`` frames, or an aspect ratio beyond
            ``max_ratio`` (both raise in the reference), naming the first such video.
    """
    f = factor
    if _one(num_frames):
        if num_frames < temporal_factor:
            raise _short_error(offset, int(num_frames), temporal_factor)
        r, c = bounded_grid(
            num_frames,
            heights,
            widths,
            factor=f,
            min_pixels=min_pixels,
            max_pixels=max_pixels,
            max_ratio=max_ratio,
            variant="qwen3",
            temporal_factor=temporal_factor,
            offset=offset,
        )
        return (r, c) if grid else (r * f, c * f)
    n = _i64(num_frames)
    if n.size and int(n.min()) < temporal_factor:
        i = _first(n < temporal_factor)
        raise _short_error(offset + i, int(n.ravel()[i]), temporal_factor)
    rows, cols = bounded_grid(
        n,
        heights,
        widths,
        factor=f,
        min_pixels=min_pixels,
        max_pixels=max_pixels,
        max_ratio=max_ratio,
        variant="qwen3",
        temporal_factor=temporal_factor,
        offset=offset,
        scratch=scratch,
    )
    if not grid:
        rows *= f
        cols *= f
    return rows, cols


def _short_error(index: int, n: int, tf: int) -> InvalidInputError:
    return InvalidInputError(
        f"video {index}: {n} frame(s) sampled; Qwen3-VL needs at least {tf} (its "
        "smart_resize raises on fewer)"
    )


# -- video generation (DiT) ---------------------------------------------------------------


def _floordiv(x: Any, d: int) -> Any:
    """``x // d``; a right shift when ``d`` is a power of two (floor division for either
    sign, in Python and numpy alike, and much cheaper than numpy's int64 division)."""
    return x >> (d.bit_length() - 1) if d & (d - 1) == 0 else x // d


def dit_latent_grid(
    heights: Any,
    widths: Any,
    num_frames: Any,
    *,
    vae_temporal: int,
    vae_spatial: int,
    patch_t: int,
    patch_hw: int,
    pad_latent_t: int,
    frame_multiple_round_down: bool,
) -> tuple[Any, Any, Any, Any]:
    """Latent grid and tokens of a video DiT for a requested ``num_frames`` and size.

    * ``frame_multiple_round_down`` (Wan 2.1): ``__call__`` turns ``num_frames`` that is
      not ``4k + 1`` into ``num_frames // 4 * 4 + 1`` (which leaves ``4k + 1`` as it is,
      so the formula applies to every count).
    * ``latent_t = (num_frames - 1) // vae_temporal + 1`` (causal VAE: the first frame is
      encoded alone), ``latent_h = H // vae_spatial``, ``latent_w = W // vae_spatial``.
    * ``pad_latent_t`` (CogVideoX1.5: 2): latent frames are padded up to a multiple of it.
    * tokens = ``(latent_t // patch_t) * (latent_h // patch_hw) * (latent_w // patch_hw)``.

    Only integer operators are used, so Python ints (one video) and int64 arrays take the
    same code.

    Returns:
        ``(latent_t, latent_h, latent_w, tokens)``: int64 arrays, or ints for Python ints.
    """
    if not (_one(heights) and _one(widths) and _one(num_frames)):
        heights, widths, num_frames = np.broadcast_arrays(
            _i64(heights), _i64(widths), _i64(num_frames)
        )
    n = num_frames
    vt = vae_temporal
    if frame_multiple_round_down:
        n = _floordiv(n, vt) * vt + 1
    lt = _floordiv(n - 1, vt) + 1
    if pad_latent_t > 1:
        lt = ceil_div(lt, pad_latent_t) * pad_latent_t
    lh = _floordiv(heights, vae_spatial)
    lw = _floordiv(widths, vae_spatial)
    tokens = _floordiv(lt, patch_t) * _floordiv(lh, patch_hw) * _floordiv(lw, patch_hw)
    return lt, lh, lw, tokens


def _idiv(x: I64, d: int) -> I64:
    """``x //= d`` in place (a shift for a power of two)."""
    if d & (d - 1) == 0:
        return np.right_shift(x, d.bit_length() - 1, out=x)
    return np.floor_divide(x, d, out=x)


def dit_latent_tokens(
    heights: Any,
    widths: Any,
    num_frames: Any,
    *,
    vae_temporal: int,
    vae_spatial: int,
    patch_t: int,
    patch_hw: int,
    pad_latent_t: int,
    frame_multiple_round_down: bool,
    scratch: Scratch | None = None,
    out: I64 | None = None,
) -> I64:
    """The ``tokens`` of :func:`dit_latent_grid` alone, over arrays: the same integer
    steps done in place in two work arrays (the block path; see ``_blocks``)."""
    h, w, nf = np.broadcast_arrays(_i64(heights), _i64(widths), _i64(num_frames))
    t = work(scratch, h.shape, np.int64)
    np.copyto(t, nf)
    vt = vae_temporal
    if frame_multiple_round_down:
        _idiv(t, vt)
        t *= vt
        t += 1
    t -= 1  # latent_t = (num_frames - 1) // vt + 1
    _idiv(t, vt)
    t += 1
    if pad_latent_t > 1:  # ceil_div(lt, pad) * pad
        np.negative(t, out=t)
        _idiv(t, pad_latent_t)
        np.negative(t, out=t)
        t *= pad_latent_t
    _idiv(t, patch_t)
    side = work(scratch, h.shape, np.int64)
    for x in (h, w):
        np.copyto(side, x)
        _idiv(side, vae_spatial)
        _idiv(side, patch_hw)
        t *= side
    if out is not None:
        np.copyto(out, t)
        return out
    return t
