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

How it stays fast: the common case (no resize) needs only ``q = round_half_even(side /
factor)`` per side and ``q_h * q_w`` per image. The arrays are walked in blocks that fit in
the L2 cache, each block runs a handful of whole-block numpy passes into preallocated
buffers, and only the few items whose area falls outside the bounds take the exact slow
path (gathered with ``np.flatnonzero``). See ``benchmarks/bench_image.py`` for the numbers.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ..errors import CountOverflowError, InvalidInputError
from ._imgblocks import run_ranges, split
from ._intmath import I64, INT64_MAX, MAX_SIDE, as_sides, broadcast_same

__all__ = [
    "QWEN_VARIANTS",
    "smart_resize",
    "smart_resize_grid",
    "smart_resize_scalar",
    "smart_resize_tokens",
]

F64 = npt.NDArray[np.float64]

#: The reference implementations :func:`smart_resize` can follow.
QWEN_VARIANTS = ("transformers", "qwen-vl-utils")
QwenVariant = Literal["transformers", "qwen-vl-utils"]

# Items per block: the block's int64 inputs and float32/int32 working arrays (about 1 MiB)
# stay in the L2 cache between the dozen numpy passes a block takes; larger blocks would
# spill, smaller ones pay more per-call overhead. Measured: 2**14..2**17 within noise.
_BLOCK = 1 << 15
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


def _int_param(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an int, got {value!r}")
    v = int(value)
    if not low <= v <= high:
        raise InvalidInputError(f"{name} = {v} is out of range; allowed {low}..{high}")
    return v


def _params(
    factor: object, min_pixels: object, max_pixels: object, max_ratio: object, variant: object
) -> _Params:
    f = _int_param("factor", factor, 1, _MAX_FACTOR)
    lo = _int_param("min_pixels", min_pixels, 0, _MAX_PIXELS_LIMIT)
    # qwen-vl-utils' fetch_video passes a float max_pixels (total_pixels / nframes * 2);
    # the reference compares and divides by that float, so it is kept as given.
    if isinstance(max_pixels, (float, np.floating)) and math.isfinite(max_pixels):
        hi: int | float = float(max_pixels)
        if not 1 <= hi <= _MAX_PIXELS_LIMIT:
            raise InvalidInputError(
                f"max_pixels = {hi!r} is out of range; allowed 1..{_MAX_PIXELS_LIMIT}"
            )
    else:
        hi = _int_param("max_pixels", max_pixels, 1, _MAX_PIXELS_LIMIT)
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


def _scalar(h: int, w: int, p: _Params, index: int) -> tuple[int, int]:
    f = p.factor
    if max(h, w) / min(h, w) > p.max_ratio:
        raise _ratio_error(h, w, p, index)
    hb = round(h / f) * f
    wb = round(w / f) * f
    if p.clamp_first:
        hb = max(f, hb)
        wb = max(f, wb)
    if hb * wb > p.max_pixels:
        beta = math.sqrt((h * w) / p.max_pixels)
        hb = math.floor(h / beta / f) * f
        wb = math.floor(w / beta / f) * f
        if p.clamp_floor:
            hb = max(f, hb)
            wb = max(f, wb)
    elif hb * wb < p.min_pixels:
        beta = math.sqrt(p.min_pixels / (h * w))
        hb = math.ceil(h * beta / f) * f
        wb = math.ceil(w * beta / f) * f
    if hb <= 0 or wb <= 0:
        raise _zero_error(h, w, hb, wb, p, index)
    return hb, wb


# -- the vectorized kernel --------------------------------------------------------------


class _Buffers:
    """Preallocated per-block working arrays (one set per call, reused block to block)."""

    __slots__ = ("fa", "fb", "fc", "fd", "ia", "ma", "mb", "sa", "sb", "st")

    def __init__(self, n: int) -> None:
        self.fa = np.empty(n, np.float64)
        self.fb = np.empty(n, np.float64)
        self.fc = np.empty(n, np.float64)
        self.fd = np.empty(n, np.float64)
        self.sa = np.empty(n, np.float32)
        self.sb = np.empty(n, np.float32)
        self.st = np.empty(n, np.float32)
        self.ia = np.empty(n, np.int32)
        self.ma = np.empty(n, np.bool_)
        self.mb = np.empty(n, np.bool_)


def _ratio_ok(hmax: float, hmin: float, wmax: float, wmin: float, p: _Params) -> bool:
    """A whole-block bound: float division is monotone, so if ``max(h) / min(w)`` and
    ``max(w) / min(h)`` are within the limit, every item of the block is."""
    return hmax / wmin <= p.max_ratio and wmax / hmin <= p.max_ratio


def _check_ratio_items(
    h: I64,
    w: I64,
    hf: np.ndarray,
    wf: np.ndarray,
    buf: _Buffers,
    n: int,
    p: _Params,
    offset: int,
) -> None:
    """Raise for the first item with ``max(h, w) / min(h, w) > max_ratio``.

    The divisions are made in float64 on exact integer values, as Python's ``int / int``
    computes them (both operands are below 2**53, so each division rounds once).
    """
    r = buf.fc[:n]
    bad = buf.ma[:n]
    tmp = buf.mb[:n]
    np.divide(hf, wf, out=r, dtype=np.float64)
    np.greater(r, p.max_ratio, out=bad)
    np.divide(wf, hf, out=r, dtype=np.float64)
    np.greater(r, p.max_ratio, out=tmp)
    bad |= tmp
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise _ratio_error(int(h[i]), int(w[i]), p, offset + i)


def _slow(h: I64, w: I64, qh: I64, qw: I64, p: _Params, offset: int, idx: I64) -> tuple[I64, I64]:
    """Exact resize for the items ``idx`` whose rounded area is outside the bounds.

    ``qh``/``qw`` are those items' rounded grids. Both resize branches are evaluated on
    every one of these items and the right one picked per item: fewer numpy calls than
    gathering each branch's items separately. Returns the final grids (sides divided by
    ``factor``).
    """
    f = p.factor
    hs = h[idx]
    ws = w[idx]
    hb = qh * f
    wb = qw * f
    if p.clamp_first:
        np.maximum(hb, f, out=hb)
        np.maximum(wb, f, out=wb)
    area = hb * wb  # < 2**63: each side <= 2**31 - 1 + factor/2
    big = area > p.max_pixels
    small = ~big & (area < p.min_pixels)
    hw = hs * ws  # exact in int64 (sides < 2**31)
    hf = hs.astype(np.float64)
    wf = ws.astype(np.float64)
    hwf = hw.astype(np.float64)
    # h*w >= 1 and max_pixels >= 1: neither branch can divide by zero.
    # max_pixels branch: beta = sqrt(h*w / max_pixels); floor(h / beta / f) * f.
    beta = np.sqrt(hwf / p.max_pixels)
    nh = np.floor(hf / beta / f)
    nw = np.floor(wf / beta / f)
    if p.clamp_floor:
        np.maximum(nh, 1.0, out=nh)
        np.maximum(nw, 1.0, out=nw)
    # min_pixels branch: beta = sqrt(min_pixels / (h*w)); ceil(h * beta / f) * f.
    beta = np.sqrt(p.min_pixels / hwf)
    mh = np.ceil(hf * beta / f)
    mw = np.ceil(wf * beta / f)
    gh = np.where(big, nh, np.where(small, mh, hb // f)).astype(np.int64)
    gw = np.where(big, nw, np.where(small, mw, wb // f)).astype(np.int64)
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


def _out_of_range(
    qh: np.ndarray, qw: np.ndarray, qt: np.ndarray, buf: _Buffers, n: int, p: _Params
) -> tuple[I64, I64, I64]:
    """Positions (in the block) and rounded grids of items whose area is out of bounds."""
    bad = buf.ma[:n]
    tmp = buf.mb[:n]
    np.less(qt, p.tok_lo, out=bad)
    np.greater(qt, p.tok_hi, out=tmp)
    bad |= tmp
    idx = np.flatnonzero(bad)
    return idx, qh[idx].astype(np.int64), qw[idx].astype(np.int64)


def _block_f64(
    hb_: I64,
    wb_: I64,
    hmin: int,
    hmax: int,
    wmin: int,
    wmax: int,
    buf: _Buffers,
    n: int,
    p: _Params,
    start: int,
) -> tuple[F64, F64, F64]:
    """One block in float64: any valid side (up to 2**31 - 1)."""
    hf, wf, qt = buf.fa[:n], buf.fb[:n], buf.fd[:n]
    np.copyto(hf, hb_, casting="unsafe")
    np.copyto(wf, wb_, casting="unsafe")
    if not _ratio_ok(hmax, hmin, wmax, wmin, p):
        _check_ratio_items(hb_, wb_, hf, wf, buf, n, p, start)
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
    hmin: int,
    hmax: int,
    wmin: int,
    wmax: int,
    buf: _Buffers,
    n: int,
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
    if not _ratio_ok(hmax, hmin, wmax, wmin, p):
        # A float32 screen first: fl32(h / w) is within a relative 2**-24 of h / w, so any
        # image beyond the limit lands above R * (1 - 2**-20) or below (1 / R) * (1 +
        # 2**-20); only such suspects get the exact float64 check.
        r = buf.st[:n]
        sus = buf.ma[:n]
        tmp = buf.mb[:n]
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
    qt = buf.st[:n]
    np.divide(hs, f, out=hs)
    np.rint(hs, out=hs)
    np.divide(ws, f, out=ws)
    np.rint(ws, out=ws)
    np.multiply(hs, ws, out=qt)
    return hs, ws, qt


def _invalid(h: I64, w: I64) -> None:
    """Re-check whole inputs to raise the error that names the first bad value."""
    as_sides(h, w)
    raise AssertionError("unreachable: a block failed the side checks")  # pragma: no cover


_LITTLE = sys.byteorder == "little"
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


_Pending = list[tuple[I64, I64, I64]]


def _run_range(h: I64, w: I64, p: _Params, o: _Outputs, first: int, last: int) -> _Pending:
    """Process items ``first..last`` block by block; return the items left to resize.

    The side checks (1 <= side <= 2**31 - 1) happen here, block by block while the block
    is in cache, instead of in separate passes over the whole arrays.
    """
    buf = _Buffers(min(_BLOCK, last - first))
    h32 = h.view(np.int32)
    w32 = w.view(np.int32)
    f32_ok = p.tok_hi < _F32_TOKENS
    f = p.factor
    # Items whose rounded area falls outside the bounds are collected across blocks and
    # resized together at the end: the exact resize costs a few dozen numpy calls, which
    # would dominate if paid once per block.
    pending: _Pending = []
    for start in range(first, last, _BLOCK):
        stop = min(start + _BLOCK, last)
        n = stop - start
        hb_, wb_ = h[start:stop], w[start:stop]
        # int64 reductions: they check the range, and give the exact extremes that the
        # whole-block aspect bound and the float32 eligibility need.
        hmin, hmax = int(hb_.min()), int(hb_.max())
        wmin, wmax = int(wb_.min()), int(wb_.max())
        if hmin < 1 or wmin < 1 or hmax > MAX_SIDE or wmax > MAX_SIDE:
            _invalid(h, w)
        # float32 and int32 hold every value of the block exactly (see _block_f32); the
        # last test bounds the largest rounded grid, so no int32 cast can overflow.
        small = (
            f32_ok
            and hmax < _F32_SIDE
            and wmax < _F32_SIDE
            and round(hmax / f) * round(wmax / f) < 2**30
        )
        if small:
            hs, ws = buf.sa[:n], buf.sb[:n]
            # The low 32-bit words of valid sides are the sides (a strided int32 view,
            # little-endian); int32 -> float32 conversion is vectorized, int64 -> float
            # is not.
            np.copyto(hs, h32[2 * start : 2 * stop : 2], casting="unsafe")
            np.copyto(ws, w32[2 * start : 2 * stop : 2], casting="unsafe")
            qh, qw, qt = _block_f32(hb_, wb_, hs, ws, hmin, hmax, wmin, wmax, buf, n, p, start)
        else:
            qh, qw, qt = _block_f64(hb_, wb_, hmin, hmax, wmin, wmax, buf, n, p, start)
        # The rounded grid is monotone in each side, so the block's extremes bound every
        # item's grid; the reductions run only when those bounds do not settle it.
        lo_sure = round(hmin / f) * round(wmin / f) >= p.tok_lo
        hi_sure = round(hmax / f) * round(wmax / f) <= p.tok_hi
        if (not lo_sure and float(qt.min()) < p.tok_lo) or (
            not hi_sure and float(qt.max()) > p.tok_hi
        ):
            idx, gh, gw = _out_of_range(qh, qw, qt, buf, n, p)
            if idx.size * 16 > n:
                # Many here (sizes spread over a wide range): resize them now, while the
                # block is in cache, rather than gather them from all over memory later.
                gh, gw = _slow(hb_, wb_, gh, gw, p, start, idx)
                qh[idx] = gh
                qw[idx] = gw
                qt[idx] = gh * gw  # bounded by the pixel bounds: exact in float32
            else:
                pending.append((idx + start, gh, gw))
        _write(qh, qw, qt, small, buf, n, start, stop, o)
    return pending


def _run(h: I64, w: I64, p: _Params, o: _Outputs) -> None:
    """Fill the outputs for flat contiguous int64 inputs.

    Large inputs are split into one contiguous range per worker thread (numpy releases
    the GIL inside its loops, and each core keeps its own blocks in its own cache). The
    items left for the exact resize are then resized in one pass. If several ranges hold
    bad input, the error of the first range is raised.
    """
    n_total = h.shape[0]
    if n_total == 0:
        return
    ranges = split(n_total, _BLOCK)
    parts = run_ranges(lambda a, b: _run_range(h, w, p, o, a, b), ranges)
    pending: _Pending = [item for part in parts for item in part]  # type: ignore[attr-defined]
    if pending:
        idx = np.concatenate([x[0] for x in pending])
        if idx.size <= 8:
            # A handful: the scalar reference (a few us each) beats the vectorized pass,
            # whose dozens of numpy calls cost tens of us whatever their size.
            pairs = [_scalar(int(h[i]), int(w[i]), p, int(i)) for i in idx.tolist()]
            gh = np.array([a // p.factor for a, _ in pairs], np.int64)
            gw = np.array([b // p.factor for _, b in pairs], np.int64)
        else:
            gh, gw = _slow(
                h,
                w,
                np.concatenate([x[1] for x in pending]),
                np.concatenate([x[2] for x in pending]),
                p,
                0,
                idx,
            )
        if o.out_h is not None and o.out_w is not None:
            o.out_h[idx] = gh * o.side_scale
            o.out_w[idx] = gw * o.side_scale
        area = gh * gw
        if o.out_t is not None:
            o.out_t[idx] = area + o.t_offset
        if o.out_m is not None:
            o.out_m[idx] = area * o.m_scale


def _write(
    qh: np.ndarray,
    qw: np.ndarray,
    qt: np.ndarray,
    small: bool,
    buf: _Buffers,
    n: int,
    start: int,
    stop: int,
    o: _Outputs,
) -> None:
    """Store one block's results. Small values go through int32 (whose conversions from
    float32 and widenings to int64 are vectorized; float -> int64 casts are not)."""
    if small:
        qi = buf.ia[:n]
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
    # Items still to be resized may hold huge rounded grids here; their casts can
    # overflow harmlessly, since the resize pass overwrites them.
    with np.errstate(invalid="ignore"):
        if o.out_h is not None and o.out_w is not None:
            np.multiply(qh, o.side_scale, out=o.out_h[start:stop], casting="unsafe")
            np.multiply(qw, o.side_scale, out=o.out_w[start:stop], casting="unsafe")
        if o.out_t is not None:
            np.add(qt, o.t_offset, out=o.out_t[start:stop], casting="unsafe")
        if o.out_m is not None:
            np.multiply(qt, o.m_scale, out=o.out_m[start:stop], casting="unsafe")


def _prepare(heights: Any, widths: Any) -> tuple[I64, I64, tuple[int, ...]]:
    """Flat contiguous int64 copies (or views) of the inputs, and their common shape.

    int64 inputs are only checked for shape here; their values are checked block by
    block in :func:`_run`. Other dtypes (and big-endian machines) take the full up-front
    check of :func:`~tokenmeter.kernels._intmath.as_sides`.
    """
    ha = np.asarray(heights)
    wa = np.asarray(widths)
    if not (_LITTLE and ha.dtype == np.int64 and wa.dtype == np.int64):
        ha, wa = as_sides(ha, wa)
    else:
        ha, wa = broadcast_same(("height", ha), ("width", wa))
    shape = ha.shape
    return (np.ascontiguousarray(ha).reshape(-1), np.ascontiguousarray(wa).reshape(-1), shape)


def smart_resize(
    heights: Any,
    widths: Any,
    *,
    factor: int,
    min_pixels: int,
    max_pixels: int,
    max_ratio: float = 200.0,
    variant: QwenVariant = "transformers",
) -> tuple[I64, I64]:
    """Qwen's ``smart_resize`` over arrays of image sizes.

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
        multiple of ``factor``.

    Raises:
        InvalidInputError: a size that is not a whole number in 1..2**31-1, shapes that
            differ, an aspect ratio beyond ``max_ratio``, a resize to a zero side, or
            bad constants. The message names the first offending image's index and size.
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    h, w, shape = _prepare(heights, widths)
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
) -> tuple[I64, I64]:
    """The resized sides divided by ``factor``: the merged-token grid ``(rows, cols)``.

    Same arguments and errors as :func:`smart_resize`; ``max_pixels`` may also be a float,
    as qwen-vl-utils' ``fetch_video`` passes for a frame's share of the video budget.
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    h, w, shape = _prepare(heights, widths)
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
) -> tuple[I64, I64 | None]:
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
    """
    p = _params(factor, min_pixels, max_pixels, max_ratio, variant)
    off = _int_param("offset", offset, 0, 2**20)
    ppt = _int_param("patches_per_token", patches_per_token, 0, 2**20)
    if ppt and (p.tok_hi + 1) * ppt > INT64_MAX:
        raise CountOverflowError(
            f"max_pixels = {p.max_pixels} with patches_per_token = {ppt} can give patch "
            "counts past int64; lower max_pixels"
        )
    h, w, shape = _prepare(heights, widths)
    out_t = np.empty(h.shape, np.int64)
    out_m = np.empty(h.shape, np.int64) if ppt else None
    _run(h, w, p, _Outputs(out_t=out_t, t_offset=off, out_m=out_m, m_scale=ppt))
    return out_t.reshape(shape), (out_m.reshape(shape) if out_m is not None else None)
