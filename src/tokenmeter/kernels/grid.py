"""Patch-grid image kernels: Qwen's ``smart_resize`` (numpy only, vectorized, exact).

Qwen2-VL, Qwen2.5-VL, Qwen2.5-Omni and Qwen3-VL resize every image so that both sides are
multiples of ``factor`` (patch × merge) and the area lies in ``[min_pixels, max_pixels]``.
The reference is a scalar Python function in two published variants:

* ``"transformers"`` — ``transformers.models.qwen2_vl.image_processing_qwen2_vl.smart_resize``
  (HF transformers and vLLM): a side may round to 0, and then the ``min_pixels`` branch
  scales it up; the ``max_pixels`` branch clamps each side to at least ``factor``.
* ``"qwen-vl-utils"`` — ``qwen_vl_utils.vision_process.smart_resize`` (the Qwen cookbook):
  each rounded side is clamped to at least ``factor`` *before* the range checks; the
  ``max_pixels`` branch does not clamp.

This module reproduces both bit for bit, including Python's banker's rounding
(``round(22.5) == 22``) and the float steps of the resize branches, over whole arrays.

Two input forms, as every image kernel: arrays give int64 arrays; one image given as two
Python ints gives Python ints, computed by :func:`smart_resize_scalar`'s own arithmetic
(the scalar API's path). ``tests/test_image_kernel_qwen.py`` checks both against
transcriptions of the references.

How the array form stays fast: the common case (no resize) needs only ``q =
round_half_even(side / factor)`` per side and ``q_h * q_w`` per image. The arrays are
walked in blocks that fit in the L2 cache (:mod:`~tokenmeter.kernels._blocks`), each block
runs a handful of whole-block numpy passes into reused scratch arrays, and only the few
items whose area falls outside the bounds take the exact resize (gathered with
``np.flatnonzero`` while the block is in cache). See ``benchmarks/bench_image.py`` for the
numbers.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import CountOverflowError, InvalidInputError
from ._blocks import Scratch, run_blocks
from ._imgargs import check_block, int_param, one_image, prepare_sides
from ._intmath import I64, INT64_MAX

__all__ = [
    "QWEN_VARIANTS",
    "resize_one",
    "smart_resize",
    "smart_resize_grid",
    "smart_resize_scalar",
    "smart_resize_tokens",
]

F64 = npt.NDArray[np.float64]

#: The reference implementations :func:`smart_resize` can follow.
QWEN_VARIANTS = ("transformers", "qwen-vl-utils")
QwenVariant = Literal["transformers", "qwen-vl-utils"]

# Items per block: twice the shared default, since this kernel's per-block work arrays
# are float32 (a 2**16 block's inputs and work arrays, about 2 MiB, still fit in L2) and
# each block pays a fixed few dozen numpy calls. Measured at 1e7 photo sizes, one thread:
# 2**16 and 2**17 within noise, 10-15 % faster than 2**15; 2**14 25 % slower.
_BLOCK = 1 << 16
# Integers up to 2**53 convert to float64 exactly; past it numpy's float(a) / float(b) may
# round twice where Python's int / int rounds once, so such items take the scalar path.
_EXACT_FLOAT = 2**53
# Bounds on the constants: the pixel bounds must be exact as float64 (see above), and a
# factor this size keeps every ``side + factor`` product inside int64.
_MAX_PIXELS_LIMIT = 2**53
_MAX_FACTOR = 2**20


@dataclass(frozen=True, slots=True)
class _Params:
    factor: int
    min_pixels: int
    max_pixels: int | float  # a float only for qwen-vl-utils' video budget share
    max_ratio: float
    clamp_first: bool  # qwen-vl-utils: max(factor, ·) right after rounding
    clamp_floor: bool  # transformers: max(factor, ·) after the max_pixels floor
    variant: str
    # Token-space bounds: h_bar*w_bar > max_pixels  <=>  q_h*q_w > tok_hi, and
    # h_bar*w_bar < min_pixels  <=>  q_h*q_w < ceil(min_pixels / factor²).
    tok_lo: int
    tok_hi: int


def _params(
    factor: object, min_pixels: object, max_pixels: object, max_ratio: object, variant: object
) -> _Params:
    """The checked constants, cached: a one-image call would otherwise spend more on
    these checks than on the resize. Typed, so that ``max_pixels`` 1000 and 1000.0 (the
    reference compares with either as given) stay apart; unhashable (bad) arguments are
    checked, and refused, uncached."""
    try:
        return _cached_params(factor, min_pixels, max_pixels, max_ratio, variant)
    except TypeError:
        return _make_params(factor, min_pixels, max_pixels, max_ratio, variant)


def _make_params(
    factor: object, min_pixels: object, max_pixels: object, max_ratio: object, variant: object
) -> _Params:
    f = int_param("factor", factor, 1, _MAX_FACTOR)
    lo = int_param("min_pixels", min_pixels, 0, _MAX_PIXELS_LIMIT)
    # qwen-vl-utils' fetch_video passes a float max_pixels (total_pixels / nframes * 2);
    # the reference compares and divides by that float, so it is kept as given.
    if isinstance(max_pixels, (float, np.floating)) and math.isfinite(max_pixels):
        hi: int | float = float(max_pixels)
        if not 1 <= hi <= _MAX_PIXELS_LIMIT:
            raise InvalidInputError(
                f"max_pixels = {hi!r} is out of range; allowed 1..{_MAX_PIXELS_LIMIT}"
            )
    else:
        hi = int_param("max_pixels", max_pixels, 1, _MAX_PIXELS_LIMIT)
    if lo > hi:
        raise InvalidInputError(
            f"min_pixels = {lo} exceeds max_pixels = {hi}; pass min_pixels <= max_pixels"
        )
    if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float, np.number)):
        raise InvalidInputError(f"max_ratio must be a number, got {max_ratio!r}")
    r = float(max_ratio)
    if not (math.isfinite(r) and r >= 1.0):
        raise InvalidInputError(
            f"max_ratio = {max_ratio!r} is not allowed; pass a finite ratio >= 1"
        )
    if variant not in QWEN_VARIANTS:
        raise InvalidInputError(
            f"variant = {variant!r} is not known; pass one of {', '.join(QWEN_VARIANTS)}"
        )
    f2 = f * f
    return _Params(
        factor=f,
        min_pixels=lo,
        max_pixels=hi,
        max_ratio=r,
        clamp_first=variant == "qwen-vl-utils",
        clamp_floor=variant == "transformers",
        variant=str(variant),
        # A grid with a zero side (transformers can round a side to 0) is never a fast-path
        # result, so the lower token bound is at least 1.
        tok_lo=max(-(-lo // f2), 1),
        tok_hi=math.floor(hi) // f2,  # q*f² > hi  <=>  q > floor(hi) // f² for int q
    )


_cached_params = functools.lru_cache(maxsize=256, typed=True)(_make_params)


# -- the scalar reference ---------------------------------------------------------------


def smart_resize_scalar(
    height: int,
    width: int,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    max_ratio: float = 200.0,
    variant: QwenVariant = "transformers",
) -> tuple[int, int]:
    """One image through the reference ``smart_resize``, in plain Python.

    This is the reference functions' own arithmetic (Python ints, ``round``, ``math.sqrt``,
    ``math.floor``/``math.ceil`` on floats) and is what the vectorized kernel falls back to
    for items whose area is too large for float64 to hold exactly.

    Raises:
        InvalidInputError: the aspect ratio exceeds ``max_ratio``, or the reference would
            produce a zero side (an image it cannot resize).
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    return _scalar(int(height), int(width), p, 0)


def _ratio_error(h: int, w: int, p: _Params, index: int) -> InvalidInputError:
    ratio = max(h, w) / min(h, w)
    return InvalidInputError(
        f"image {index}: height = {h}, width = {w} has aspect ratio {ratio:.6g}, "
        f"beyond this model's limit of {p.max_ratio:g}:1 (the reference smart_resize raises "
        "here); crop or pad the image first"
    )


def _zero_error(h: int, w: int, hb: int, wb: int, p: _Params, index: int) -> InvalidInputError:
    return InvalidInputError(
        f"image {index}: height = {h}, width = {w} resizes to {hb}x{wb} (h x w) under "
        f"{p.variant} smart_resize with min_pixels = {p.min_pixels}, max_pixels = "
        f"{p.max_pixels}; a zero side is an image the reference cannot process. Raise "
        "max_pixels (or min_pixels) or pad the image"
    )


def resize_one(
    h: int,
    w: int,
    factor: int,
    min_pixels: int | float,
    max_pixels: int | float,
    max_ratio: float,
    clamp_first: bool,
    clamp_floor: bool,
    ratio_error: Callable[[int, int], Exception],
    zero_error: Callable[[int, int], Exception],
    frames: int = 1,
    temporal: int = 1,
    upscale: bool = False,
) -> tuple[int, int]:
    """``smart_resize`` in the reference's own Python arithmetic: the resized sides.

    Python ints, ``round``, ``math.sqrt`` and ``math.floor``/``math.ceil`` on floats, as
    every published variant computes them; the image kernels' one-image form and their
    exact fallback, and the video kernels' per-video bounds
    (:func:`~tokenmeter.kernels.video.bounded_grid`), all run on this. For a video,
    ``t_bar = round(frames / temporal) * temporal`` frames share the bounds and ``beta``
    uses the true frame count (Qwen3-VL; 1 and 1 for an image), and ``upscale`` first
    scales sides below ``factor`` up, truncating with ``int()`` (Qwen3-VL).

    Raises:
        The caller's ``ratio_error(h, w)`` for an aspect ratio beyond ``max_ratio`` and
        ``zero_error(h_bar, w_bar)`` for a zero side (the reference cannot process it).
    """
    f = factor
    if upscale and (h < f or w < f):
        scale = max(f / h, f / w)
        h = int(h * scale)
        w = int(w * scale)
    if max(h, w) / min(h, w) > max_ratio:
        raise ratio_error(h, w)
    hb = round(h / f) * f
    wb = round(w / f) * f
    if clamp_first:
        hb = max(f, hb)
        wb = max(f, wb)
    tb = round(frames / temporal) * temporal
    if tb * hb * wb > max_pixels:
        beta = math.sqrt((frames * h * w) / max_pixels)
        hb = math.floor(h / beta / f) * f
        wb = math.floor(w / beta / f) * f
        if clamp_floor:
            hb = max(f, hb)
            wb = max(f, wb)
    elif tb * hb * wb < min_pixels:
        beta = math.sqrt(min_pixels / (frames * h * w))
        hb = math.ceil(h * beta / f) * f
        wb = math.ceil(w * beta / f) * f
    if hb <= 0 or wb <= 0:
        raise zero_error(hb, wb)
    return hb, wb


def _scalar(h: int, w: int, p: _Params, index: int) -> tuple[int, int]:
    """:func:`resize_one` for image ``index`` with the call's constants."""
    return resize_one(
        h,
        w,
        p.factor,
        p.min_pixels,
        p.max_pixels,
        p.max_ratio,
        p.clamp_first,
        p.clamp_floor,
        lambda a, b: _ratio_error(a, b, p, index),
        lambda hb, wb: _zero_error(h, w, hb, wb, p, index),
    )


# -- the vectorized kernel --------------------------------------------------------------


def _ratio_ok(hmax: float, hmin: float, wmax: float, wmin: float, p: _Params) -> bool:
    """A whole-block bound: float division is monotone, so if ``max(h) / min(w)`` and
    ``max(w) / min(h)`` are within the limit, every item of the block is."""
    return hmax / wmin <= p.max_ratio and wmax / hmin <= p.max_ratio


def _check_ratio_items(
    h: I64, w: I64, hf: np.ndarray, wf: np.ndarray, sc: Scratch, p: _Params, offset: int
) -> None:
    """Raise for the first item with ``max(h, w) / min(h, w) > max_ratio``.

    The divisions are made in float64 on exact integer values, as Python's ``int / int``
    computes them (both operands are below 2**53, so each division rounds once).
    """
    n = h.shape[0]
    r = sc(n)
    bad = sc(n, np.bool_)
    tmp = sc(n, np.bool_)
    np.divide(hf, wf, out=r)
    np.greater(r, p.max_ratio, out=bad)
    np.divide(wf, hf, out=r)
    np.greater(r, p.max_ratio, out=tmp)
    bad |= tmp
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _ratio_error(int(h[i]), int(w[i]), p, offset + i)


def _resize_items(
    h: I64, w: I64, qh: I64, qw: I64, p: _Params, offset: int, idx: I64
) -> tuple[I64, I64]:
    """Exact resize for the items ``idx`` of a block whose rounded area is outside the
    bounds; ``qh``/``qw`` are those items' rounded grids. Returns their final grids
    (sides divided by ``factor``).

    A handful go through the scalar reference (a few us each, against the few dozen
    numpy calls of the vectorized form, whatever its size). Otherwise each branch
    present is evaluated with the reference's float steps and picked per item.
    """
    f = p.factor
    if idx.size <= 8:
        pairs = [_scalar(int(h[i]), int(w[i]), p, offset + i) for i in idx.tolist()]
        return (
            np.array([a // f for a, _ in pairs], np.int64),
            np.array([b // f for _, b in pairs], np.int64),
        )
    hs = h[idx]
    ws = w[idx]
    hb = qh * f
    wb = qw * f
    if p.clamp_first:
        np.maximum(hb, f, out=hb)
        np.maximum(wb, f, out=wb)
    area = hb * wb  # < 2**63: each side <= 2**31 - 1 + factor/2
    big = area > p.max_pixels
    hw = hs * ws  # exact in int64 (sides < 2**31)
    hf = hs.astype(np.float64)
    wf = ws.astype(np.float64)
    hwf = hw.astype(np.float64)
    gh = hb // f
    gw = wb // f
    # h*w >= 1 and max_pixels >= 1: neither branch can divide by zero.
    if big.any():
        # max_pixels branch: beta = sqrt(h*w / max_pixels); floor(h / beta / f) * f.
        beta = np.sqrt(hwf / p.max_pixels)
        nh = np.floor(hf / beta / f)
        nw = np.floor(wf / beta / f)
        if p.clamp_floor:
            np.maximum(nh, 1.0, out=nh)
            np.maximum(nw, 1.0, out=nw)
        np.copyto(gh, nh, casting="unsafe", where=big)
        np.copyto(gw, nw, casting="unsafe", where=big)
    small = ~big & (area < p.min_pixels)
    if small.any():
        # min_pixels branch: beta = sqrt(min_pixels / (h*w)); ceil(h * beta / f) * f.
        beta = np.sqrt(p.min_pixels / hwf)
        np.copyto(gh, np.ceil(hf * beta / f), casting="unsafe", where=small)
        np.copyto(gw, np.ceil(wf * beta / f), casting="unsafe", where=small)
    # Items whose h*w is not exact as float64 go through the scalar reference, since
    # numpy's float(h*w) / max_pixels rounds twice where Python's int / int rounds once.
    inexact = (big | small) & (hw > _EXACT_FLOAT)
    for j in np.flatnonzero(inexact).tolist():
        rh, rw = _scalar(int(hs[j]), int(ws[j]), p, offset + int(idx[j]))
        gh[j], gw[j] = rh // f, rw // f
    zero = (gh <= 0) | (gw <= 0)
    if zero.any():
        j = int(np.flatnonzero(zero)[0])
        raise _zero_error(
            int(hs[j]), int(ws[j]), int(gh[j]) * f, int(gw[j]) * f, p, offset + int(idx[j])
        )
    return gh, gw


def _shrink_items(
    h: I64, w: I64, qh: np.ndarray, qw: np.ndarray, p: _Params, offset: int, idx: I64, small: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Grids of the block's items ``idx``, all in the ``max_pixels`` branch: ``floor(side
    / beta / factor)`` with ``beta = sqrt(h * w / max_pixels)``, the reference's float
    steps (``h * w`` is exact in float64 when ``small``: sides below 2**20). ``qh``/``qw``
    are the block's rounded grids.

    This is most of the resizing on photos (a few percent of them exceed Qwen2.5-VL's
    max_pixels), so it takes only this branch's dozen numpy calls; anything less
    certain goes through :func:`_resize_items`."""
    if idx.size <= 8 or not small:
        return _resize_items(
            h, w, qh[idx].astype(np.int64), qw[idx].astype(np.int64), p, offset, idx
        )
    hs = h[idx].astype(np.float64)
    ws = w[idx].astype(np.float64)
    f = float(p.factor)
    beta = np.multiply(hs, ws)
    beta /= p.max_pixels
    np.sqrt(beta, out=beta)
    hs /= beta
    hs /= f
    np.floor(hs, out=hs)
    ws /= beta
    ws /= f
    np.floor(ws, out=ws)
    if p.clamp_floor:
        np.maximum(hs, 1.0, out=hs)
        np.maximum(ws, 1.0, out=ws)
    elif float(hs.min()) < 1 or float(ws.min()) < 1:
        j = int(np.flatnonzero((hs < 1) | (ws < 1))[0])
        i = int(idx[j])
        raise _zero_error(
            int(h[i]), int(w[i]), int(hs[j]) * p.factor, int(ws[j]) * p.factor, p, offset + i
        )
    return hs, ws


def _block_f64(
    hb_: I64, wb_: I64, ext: tuple[int, int, int, int], sc: Scratch, p: _Params, start: int
) -> tuple[F64, F64, F64]:
    """One block in float64: any valid side (up to 2**31 - 1)."""
    n = hb_.shape[0]
    hf, wf, qt = sc(n), sc(n), sc(n)
    np.copyto(hf, hb_, casting="unsafe")
    np.copyto(wf, wb_, casting="unsafe")
    hmin, hmax, wmin, wmax = ext
    if not _ratio_ok(hmax, hmin, wmax, wmin, p):
        _check_ratio_items(hb_, wb_, hf, wf, sc, p, start)
    f = float(p.factor)
    # round(side / factor) with ties to even. Division (not multiplication by 1/f) so
    # that exact halves such as 14/28 stay exact and rint sees the true tie; every
    # side < 2**31 so the quotient's rounding error can never create a false tie.
    np.divide(hf, f, out=hf)
    np.rint(hf, out=hf)
    np.divide(wf, f, out=wf)
    np.rint(wf, out=wf)
    # Exact below 2**53; above, float rounding is monotone, so comparisons against the
    # token bounds (< 2**53) still hold.
    np.multiply(hf, wf, out=qt)
    return hf, wf, qt


def _block_f32(
    hb_: I64,
    wb_: I64,
    hs: np.ndarray,
    ws: np.ndarray,
    ext: tuple[int, int, int, int],
    sc: Scratch,
    p: _Params,
    start: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One block in float32, for sides below 2**20 and token bounds below 2**24.

    Why float32 is exact here: ``fl32(side / factor)`` is within ``side / factor * 2**-24
    < 2**-4 / factor`` of the true quotient, while a non-tie quotient is at least
    ``1 / (2 * factor)`` from the nearest half; exact halves are representable (quotients
    < 2**23). So ``rint`` (ties to even) gives Python's ``round`` on every side. Grid
    products are exact below 2**24, and comparisons with the bounds (< 2**24) are exact
    above it because rounding is monotone. float32 arithmetic runs at twice the SIMD
    width of float64 and its conversions from int32 are vectorized, which is most of the
    speed of the common path.
    """
    n = hb_.shape[0]
    hmin, hmax, wmin, wmax = ext
    if not _ratio_ok(hmax, hmin, wmax, wmin, p):
        # A float32 screen first: fl32(h / w) is within a relative 2**-24 of h / w, so any
        # image beyond the limit lands above R * (1 - 2**-20) or below (1 / R) * (1 +
        # 2**-20); only such suspects get the exact float64 check.
        r = sc(n, np.float32)
        sus = sc(n, np.bool_)
        tmp = sc(n, np.bool_)
        np.divide(hs, ws, out=r)
        np.greater(r, np.float32(p.max_ratio * (1 - 2**-20)), out=sus)
        np.less(r, np.float32((1 + 2**-20) / p.max_ratio), out=tmp)
        sus |= tmp
        if sus.any():
            j = np.flatnonzero(sus)
            hj, wj = hb_[j], wb_[j]
            # The exact test on the few suspects: max / min > R as Python computes it.
            bad = np.maximum(hj, wj) / np.minimum(hj, wj) > p.max_ratio
            if bad.any():
                i = int(j[np.flatnonzero(bad)[0]])
                raise _ratio_error(int(hb_[i]), int(wb_[i]), p, start + i)
    f = np.float32(p.factor)
    qt = sc(n, np.float32)
    np.divide(hs, f, out=hs)
    np.rint(hs, out=hs)
    np.divide(ws, f, out=ws)
    np.rint(ws, out=ws)
    np.multiply(hs, ws, out=qt)
    return hs, ws, qt


# The low 32-bit word of an int64 (the whole value, for a valid side): its index in the
# array's int32 view.
_LOW_WORD = 0 if sys.byteorder == "little" else 1
_F32_SIDE = 2**20
_F32_TOKENS = 2**24


@dataclass(frozen=True, slots=True)
class _Outputs:
    """Where :func:`_run` stores results: grid sides times ``side_scale``, ``q_h * q_w +
    t_offset`` and ``q_h * q_w * m_scale`` (each array optional)."""

    out_h: I64 | None = None
    out_w: I64 | None = None
    side_scale: int = 1
    out_t: I64 | None = None
    t_offset: int = 0
    out_m: I64 | None = None
    m_scale: int = 1


def _block(h: I64, w: I64, p: _Params, o: _Outputs, start: int, stop: int, sc: Scratch) -> None:
    """Items ``start..stop``: checked, rounded, the out-of-range ones resized, stored.

    The side checks (1 <= side <= 2**31 - 1) happen here, while the block is in cache,
    instead of in separate passes over the whole arrays. The few items whose rounded
    area falls outside the bounds are resized here too: gathered later from all over a
    large input, each would cost a cache miss on the way in and another on the way out.
    """
    n = stop - start
    hb_, wb_ = h[start:stop], w[start:stop]
    # int64 reductions: they check the range, and give the exact extremes that the
    # whole-block aspect bound and the float32 eligibility need.
    ext = check_block(hb_, wb_, h, w)
    hmin, hmax, wmin, wmax = ext
    f = p.factor
    # float32 and int32 hold every value of the block exactly (see _block_f32); the last
    # test bounds the largest rounded grid, so no int32 cast can overflow.
    small = (
        p.tok_hi < _F32_TOKENS
        and hmax < _F32_SIDE
        and wmax < _F32_SIDE
        and round(hmax / f) * round(wmax / f) < 2**30
    )
    if small:
        hs, ws = sc(n, np.float32), sc(n, np.float32)
        # The low 32-bit words of valid sides are the sides (a strided int32 view);
        # int32 -> float32 conversion is vectorized, int64 -> float is not.
        lo = 2 * start + _LOW_WORD
        np.copyto(hs, h.view(np.int32)[lo : 2 * stop : 2], casting="unsafe")
        np.copyto(ws, w.view(np.int32)[lo : 2 * stop : 2], casting="unsafe")
        qh, qw, qt = _block_f32(hb_, wb_, hs, ws, ext, sc, p, start)
    else:
        qh, qw, qt = _block_f64(hb_, wb_, ext, sc, p, start)
    # The rounded grid is monotone in each side, so the block's extremes bound every
    # item's grid; the masks are built only when those bounds do not settle it.
    mask = sc(n, np.bool_)
    if round(hmax / f) * round(wmax / f) > p.tok_hi:
        # Past max_pixels in token space is past it in pixels too (clamping to at least
        # one factor only grows the area): the max_pixels branch for sure.
        idx = np.flatnonzero(np.greater(qt, p.tok_hi, out=mask))
        if idx.size:
            gh, gw = _shrink_items(hb_, wb_, qh, qw, p, start, idx, small)
            qh[idx] = gh
            qw[idx] = gw
            qt[idx] = gh * gw  # bounded by max_pixels: exact in float32 (see _block_f32)
    if round(hmin / f) * round(wmin / f) < p.tok_lo:
        idx = np.flatnonzero(np.less(qt, p.tok_lo, out=mask))
        if idx.size:
            gh, gw = _resize_items(
                hb_, wb_, qh[idx].astype(np.int64), qw[idx].astype(np.int64), p, start, idx
            )
            qh[idx] = gh
            qw[idx] = gw
            qt[idx] = gh * gw
    _write(qh, qw, qt, small, sc, start, stop, o)


def _run(h: I64, w: I64, p: _Params, o: _Outputs) -> None:
    """Fill the outputs for flat contiguous int64 inputs, block by block (in worker
    threads for large inputs; the first bad item's error is raised)."""
    run_blocks(lambda a, b, sc: _block(h, w, p, o, a, b, sc), h.shape[0], 1 << 17)


def _write(
    qh: np.ndarray,
    qw: np.ndarray,
    qt: np.ndarray,
    small: bool,
    sc: Scratch,
    start: int,
    stop: int,
    o: _Outputs,
) -> None:
    """Store one block's results. Small values go through int32 (whose conversions from
    float32 and widenings to int64 are vectorized; float -> int64 casts are not)."""
    if small:
        qi = sc(stop - start, np.int32)
        if o.out_h is not None and o.out_w is not None:
            np.copyto(qi, qh, casting="unsafe")
            np.multiply(qi, o.side_scale, out=o.out_h[start:stop], dtype=np.int64)
            np.copyto(qi, qw, casting="unsafe")
            np.multiply(qi, o.side_scale, out=o.out_w[start:stop], dtype=np.int64)
        if o.out_t is not None:
            if o.t_offset:
                np.add(qt, np.float32(o.t_offset), out=qt)  # exact: qt + offset < 2**24
            np.copyto(qi, qt, casting="unsafe")
            ot = o.out_t[start:stop]
            np.copyto(ot, qi)
            if o.out_m is not None:
                # Patches from the int64 tokens just written (int32 -> int64 widening
                # inside a multiply is a slow buffered cast).
                om = o.out_m[start:stop]
                np.subtract(ot, o.t_offset, out=om)
                om *= o.m_scale
        elif o.out_m is not None:
            np.copyto(qi, qt, casting="unsafe")
            om = o.out_m[start:stop]
            np.copyto(om, qi)
            om *= o.m_scale
        return
    if o.out_h is not None and o.out_w is not None:
        np.multiply(qh, o.side_scale, out=o.out_h[start:stop], casting="unsafe")
        np.multiply(qw, o.side_scale, out=o.out_w[start:stop], casting="unsafe")
    if o.out_t is not None:
        np.add(qt, o.t_offset, out=o.out_t[start:stop], casting="unsafe")
    if o.out_m is not None:
        np.multiply(qt, o.m_scale, out=o.out_m[start:stop], casting="unsafe")


def smart_resize(
    heights: Any,
    widths: Any,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    max_ratio: float = 200.0,
    variant: QwenVariant = "transformers",
) -> tuple[Any, Any]:
    """Qwen's ``smart_resize`` over arrays of image sizes (or one, as Python ints).

    Args:
        heights: image heights in pixels (int array-like, 1..2**31-1).
        widths: image widths, the same shape as ``heights`` (or a scalar).
        factor: the side multiple, ``patch_size * merge_size`` (28 for Qwen2/2.5-VL, 32
            for Qwen3-VL).
        min_pixels: lower bound on the resized area.
        max_pixels: upper bound on the resized area.
        max_ratio: the largest ``max(h, w) / min(h, w)`` accepted (200 in both references).
        variant: ``"transformers"`` (HF transformers / vLLM) or ``"qwen-vl-utils"``; they
            differ only on images with a side near or below ``factor / 2`` and when the
            ``max_pixels`` floor reaches zero (see the module docstring).

    Returns:
        ``(resized_heights, resized_widths)``: int64 arrays of the inputs' shape, each a
        multiple of ``factor`` (Python ints for one image given as Python ints).

    Raises:
        InvalidInputError: a size that is not a whole number in 1..2**31-1, shapes that
            differ, an aspect ratio beyond ``max_ratio``, a resize to a zero side, or
            bad constants. The message names the first offending image's index and size.
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    if one_image(heights, widths):
        return _scalar(heights, widths, p, 0)
    h, w, shape = prepare_sides(heights, widths)
    out_h = np.empty(h.shape, np.int64)
    out_w = np.empty(h.shape, np.int64)
    _run(h, w, p, _Outputs(out_h=out_h, out_w=out_w, side_scale=p.factor))
    return out_h.reshape(shape), out_w.reshape(shape)


def smart_resize_grid(
    heights: Any,
    widths: Any,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int | float,
    max_ratio: float = 200.0,
    variant: QwenVariant = "transformers",
) -> tuple[Any, Any]:
    """The resized sides divided by ``factor``: the merged-token grid ``(rows, cols)``.

    Same arguments and errors as :func:`smart_resize`; ``max_pixels`` may also be a float,
    as qwen-vl-utils' ``fetch_video`` passes for a frame's share of the video budget.
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    if one_image(heights, widths):
        rh, rw = _scalar(heights, widths, p, 0)
        return rh // p.factor, rw // p.factor
    h, w, shape = prepare_sides(heights, widths)
    out_h = np.empty(h.shape, np.int64)
    out_w = np.empty(h.shape, np.int64)
    _run(h, w, p, _Outputs(out_h=out_h, out_w=out_w, side_scale=1))
    return out_h.reshape(shape), out_w.reshape(shape)


def smart_resize_tokens(
    heights: Any,
    widths: Any,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    max_ratio: float = 200.0,
    variant: QwenVariant = "transformers",
    offset: int = 0,
    patches_per_token: int = 0,
) -> tuple[Any, Any]:
    """Merged tokens ``(h'/factor) * (w'/factor) + offset`` after :func:`smart_resize`.

    The fused form of ``smart_resize`` for counting: it never materialises the resized
    sides, so it costs a few passes over cache-resident blocks per image.

    Args:
        heights, widths, factor, min_pixels, max_pixels, max_ratio, variant: as in
            :func:`smart_resize`.
        offset: added to every count (the wrapper tokens around the placeholders).
        patches_per_token: when > 0, also return ``(h'/factor) * (w'/factor) *
            patches_per_token`` (encoder patches before the merge: ``merge_size**2``).

    Returns:
        ``(tokens, patches)``; ``patches`` is None when ``patches_per_token`` is 0.
        int64 arrays, or Python ints for one image given as Python ints.
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    off = int_param("offset", offset, 0, 2**20)
    ppt = int_param("patches_per_token", patches_per_token, 0, 2**20)
    if ppt and (p.tok_hi + 1) * ppt > INT64_MAX:
        raise CountOverflowError(
            f"max_pixels = {p.max_pixels} with patches_per_token = {ppt} can give patch "
            "counts past int64; lower max_pixels"
        )
    if one_image(heights, widths):
        rh, rw = _scalar(heights, widths, p, 0)
        q = (rh // p.factor) * (rw // p.factor)
        return q + off, (q * ppt if ppt else None)
    h, w, shape = prepare_sides(heights, widths)
    out_t = np.empty(h.shape, np.int64)
    out_m = np.empty(h.shape, np.int64) if ppt else None
    _run(h, w, p, _Outputs(out_t=out_t, t_offset=off, out_m=out_m, m_scale=ppt))
    return out_t.reshape(shape), (out_m.reshape(shape) if out_m is not None else None)
