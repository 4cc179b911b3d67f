"""Blocked token-count kernels for the tile and patch families (numpy only).

:mod:`~tokenmeter.kernels.tiles` and :mod:`~tokenmeter.kernels.patches` state each rule
in its plainest vectorized form and return the whole derivation (resized sizes, grids).
The functions here compute only the count, and are written for speed: they walk the
inputs in cache-sized blocks (:mod:`~tokenmeter.kernels._blocks`), check the sides
inside each block, use float64 arithmetic only where it is provably exact (every product
and quotient below is of integers under 2**53, and each float decision is shown to match
the exact rational one, or the item takes an exact fallback), and choose among candidates
with arithmetic (``min``/``max`` of encoded scores) rather than ``np.where`` or sorting.
``tests/test_image_kernels.py`` checks each against its plain form and a scalar reference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError
from . import patches as _p
from . import tiles as _t
from ._blocks import run_blocks
from ._imgargs import check_block, int_param, one_image, prepare_sides, rounding_param
from ._intmath import I64

__all__ = [
    "anthropic_token_counts",
    "gemini_tile_counts",
    "internvl_tile_counts",
    "llava_next_token_counts",
    "mistral_token_counts",
    "mllama_tile_counts",
    "openai_patch_counts",
    "openai_tile_counts",
]

F64 = np.float64
Rounding = Literal["round", "floor"]
_int = int_param
_rounding = rounding_param


def _blocks(fn: Any, n: int, k: int) -> list[I64]:
    outs = [np.empty(n, np.int64) for _ in range(k)]
    run_blocks(lambda a, b, sc: fn(a, b, outs), n)
    return outs


def _store(out: I64, x: np.ndarray, scale: int, offset: int) -> None:
    """``out = x * scale + offset`` for a float64 block of whole numbers."""
    if scale != 1:
        x *= scale
    if offset:
        x += offset
    np.copyto(out, x, casting="unsafe")


def _fit(long_: np.ndarray, short: np.ndarray, fit: int, rounding: Rounding) -> None:
    """In place: scale images whose long side exceeds ``fit`` down to it (exact).

    ``short * fit / long`` is a quotient of integers below 2**53; its float value is
    within ``2**-42`` of the exact one, while a non-tie is at least ``1 / (2 long) >=
    2**-32`` from a half and exact halves are representable, so ``rint``/``floor`` give the
    exact rounding. ``min`` leaves smaller images alone: for them the quotient is at
    least ``short``.
    """
    t = short * float(fit)
    t /= long_
    np.rint(t, out=t) if rounding == "round" else np.floor(t, out=t)
    np.maximum(t, 1.0, out=t)
    np.minimum(short, t, out=short)
    np.minimum(long_, float(fit), out=long_)


# -- OpenAI ------------------------------------------------------------------------------------


def openai_tile_counts(
    heights: Any,
    widths: Any,
    *,
    fit_size: int = 2048,
    short_side: int = 768,
    tile_size: int = 512,
    fit_rounding: Rounding = "round",
    short_rounding: Rounding = "floor",
    scale: int = 1,
    offset: int = 0,
) -> I64:
    """``scale * tiles + offset`` for :func:`~tokenmeter.kernels.tiles.openai_tiles`."""
    fit = _int("fit_size", fit_size, 1, 2**20)
    short = _int("short_side", short_side, 1, 2**20)
    tile = float(_int("tile_size", tile_size, 1, 2**20))
    fr = _rounding("fit_rounding", fit_rounding)
    sr = _rounding("short_rounding", short_rounding)
    if one_image(heights, widths):
        t = _t.openai_tiles_one(heights, widths, fit, short, int(tile), fr, sr)[0]
        return t * scale + offset  # type: ignore[return-value]
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        _, hmax, _, wmax = check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        long_ = np.maximum(hf, wf)
        short_ = np.minimum(hf, wf, out=hf)
        if max(hmax, wmax) > fit:
            _fit(long_, short_, fit, fr)
        if short_.max() > short:
            # long * short_side / short, rounded the same way; min() keeps images whose
            # short side is already small (their quotient is at least long).
            t = long_ * float(short)
            t /= short_
            np.rint(t, out=t) if sr == "round" else np.floor(t, out=t)
            np.minimum(long_, t, out=long_)
            np.minimum(short_, float(short), out=short_)
        long_ /= tile
        np.ceil(long_, out=long_)
        short_ /= tile
        np.ceil(short_, out=short_)
        long_ *= short_
        _store(outs[0][start:stop], long_, scale, offset)

    return _blocks(block, h.size, 1)[0].reshape(shape)


def _floor_sqrt_ratio(num: np.ndarray, den: np.ndarray, fix: bool) -> np.ndarray:
    """``floor(sqrt(num / den))`` for whole-number arrays with ``num, den < 2**53``.

    The float root is within one of the answer; two exact integer checks
    (``q² * den <= num < (q+1)² * den``, every product below 2**53 here) settle it.
    Without ``fix`` (the caller knows ``num / den < 2**23`` and ``den < 2**12``): a
    non-square ``num / den`` is then at least ``1 / den >= 2**-12`` from any square,
    beyond the float root's error, and a square one is exact.
    """
    q: np.ndarray = np.floor(np.sqrt(num / den))
    if fix:
        q -= q * q * den > num
        q1 = q + 1.0
        q += q1 * q1 * den <= num
    return q


def _floor_div(num: np.ndarray, den: np.ndarray, fix: bool) -> np.ndarray:
    """``floor(num / den)`` exactly, for whole numbers below 2**53 (float, then fixed).

    Without ``fix`` (the caller knows ``num / den < 2**13`` and ``den < 2**17``) the
    float quotient is within ``2**-40`` of the exact one, which is at least ``1 / den``
    from the next integer above, so no fix is needed.
    """
    q: np.ndarray = np.floor(num / den)
    if fix:
        q -= q * den > num
        q += (q + 1.0) * den <= num
    return q


def openai_patch_counts(
    heights: Any,
    widths: Any,
    *,
    patch_size: int = 32,
    max_patches: int = 1536,
    fit_size: int = 0,
) -> I64:
    """The capped patch count of :func:`~tokenmeter.kernels.patches.openai_patches`.

    With ``k_L = floor(sqrt(cap * L / S))`` and ``k_S = floor(sqrt(cap * S / L))`` (``L``,
    ``S`` the long and short side), the long side binds when ``k_L * S <= k_S * L``; then
    the grid is ``k_L`` by ``ceil(floor(p k_L S / L) / p) = floor((p k_L S + (p - 1) L) /
    (p L))``, and symmetrically. All in exact whole-number float arithmetic.
    """
    p = float(_int("patch_size", patch_size, 1, 2**16))
    cap = float(_int("max_patches", max_patches, 1, 2**20))
    fit = _int("fit_size", fit_size, 0, 2**20)
    if one_image(heights, widths):
        return _p.openai_patches_one(heights, widths, int(p), int(cap), fit)[0]  # type: ignore[return-value]
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        _, hmax, _, wmax = check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        long_ = np.maximum(hf, wf)
        short_ = np.minimum(hf, wf, out=hf)
        if fit and max(hmax, wmax) > fit:
            _fit(long_, short_, fit, "round")
        raw = np.ceil(long_ / p) * np.ceil(short_ / p)
        if raw.max() > cap:
            fix = float(long_.max()) > 2048.0 or cap > 2048.0 or p > 32.0
            cl = long_ * cap
            cs = short_ * cap
            kl = _floor_sqrt_ratio(cl, short_, fix)
            ks = _floor_sqrt_ratio(cs, long_, fix)
            l_binds = kl * short_ <= ks * long_
            # rows when the long side binds; columns when the short side does.
            rows = _floor_div(p * kl * short_ + (p - 1.0) * long_, p * long_, fix)
            cols = _floor_div(p * ks * long_ + (p - 1.0) * short_, p * short_, fix)
            n = np.where(l_binds, kl * rows, ks * cols)
            np.minimum(n, cap, out=n)
            raw = np.where(raw > cap, n, raw)
        np.copyto(outs[0][start:stop], raw, casting="unsafe")

    return _blocks(block, h.size, 1)[0].reshape(shape)


# -- Pixtral / Mistral ----------------------------------------------------------------------------


def mistral_token_counts(
    heights: Any,
    widths: Any,
    *,
    patch_size: int,
    max_image_size: int,
    merge_size: int = 1,
    rounding: Rounding = "round",
) -> tuple[I64, I64]:
    """``rows * (cols + 1)`` of :func:`~tokenmeter.kernels.patches.mistral_patch_grid`,
    and the encoder patches ``rows * cols * merge_size**2``.

    ``max(h / m, w / m)`` is ``long / m`` (rounding is monotone); each side becomes
    ``min(side, round(side / ratio))``, which is the side itself when the ratio is at
    most 1, with the reference's own float division.
    """
    merge = _int("merge_size", merge_size, 1, 2**8)
    p = float(_int("patch_size", patch_size, 1, 2**16) * merge)
    m2 = float(merge * merge)
    m = _int("max_image_size", max_image_size, 1, 2**20)
    rd = _rounding("rounding", rounding)
    if one_image(heights, widths):
        rows, cols = _p.mistral_one(heights, widths, int(p), m, rd)
        return rows * (cols + 1), rows * cols * merge * merge  # type: ignore[return-value]
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        _, hmax, _, wmax = check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        if max(hmax, wmax) > m:
            ratio = np.maximum(hf, wf)
            ratio /= float(m)
            for side in (hf, wf):
                t = side / ratio
                if rd == "round":
                    np.rint(t, out=t)
                    np.maximum(t, 1.0, out=t)
                else:
                    np.floor(t, out=t)
                np.minimum(side, t, out=side)
            if rd == "floor" and (hf.min() < 1.0 or wf.min() < 1.0):
                i = int(np.flatnonzero((hf < 1.0) | (wf < 1.0))[0])
                raise InvalidInputError(
                    f"image {start + i}: height = {int(hb[i])}, width = {int(wb[i])} floors "
                    f"to a {int(hf[i])}x{int(wf[i])} image when fitted into {m} px "
                    "(transformers' Pixtral rounding); the reference cannot process it"
                )
        hf /= p
        np.ceil(hf, out=hf)
        wf /= p
        np.ceil(wf, out=wf)
        np.copyto(outs[1][start:stop], hf * wf * m2, casting="unsafe")
        wf += 1.0
        hf *= wf
        np.copyto(outs[0][start:stop], hf, casting="unsafe")

    tokens, patches = _blocks(block, h.size, 2)
    return tokens.reshape(shape), patches.reshape(shape)


# -- Llama 3.2 Vision --------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _mllama_table(max_tiles: int) -> tuple[tuple[tuple[int, int, float], ...], np.ndarray]:
    """Candidates ``(a, b, preference)`` and the tile count of each preference rank.

    A preference is higher for a smaller canvas area, then for an earlier candidate in
    the reference's order: the tie-breaks of ``get_optimal_tiled_canvas``.
    """
    cands = [
        (a, b)
        for a in range(1, max_tiles + 1)
        for b in range(1, max_tiles + 1)
        if a * b <= max_tiles
    ]
    order = sorted(range(len(cands)), key=lambda i: (cands[i][0] * cands[i][1], i))
    pref = {i: float(len(cands) - 1 - rank) for rank, i in enumerate(order)}
    tiles = np.zeros(len(cands), F64)
    for i, (a, b) in enumerate(cands):
        tiles[int(pref[i])] = a * b
    return tuple((a, b, pref[i]) for i, (a, b) in enumerate(cands)), tiles


def mllama_tile_counts(
    heights: Any, widths: Any, *, tile_size: int = 560, max_tiles: int = 4
) -> I64:
    """Tiles of :func:`~tokenmeter.kernels.tiles.mllama_canvas`.

    If some canvas holds the image (``ceil(h/t) * ceil(w/t) <= max_tiles``), the
    smallest upscale is that canvas itself. Otherwise the reference maximises ``min(a t /
    h, b t / w)``; every float comparison it makes agrees with the exact one (distinct
    values differ by at least 2**-34 relatively), so the same choice is the maximum of
    the exact integer key ``min(a w, b h)``, encoded with the tie-break preference as
    ``64 * key + preference`` (below 2**42, exact; at most 45 candidates).
    """
    tile = float(_int("tile_size", tile_size, 1, 2**16))
    mt = _int("max_tiles", max_tiles, 1, 15)
    if one_image(heights, widths):
        rows, cols = _t.mllama_canvas_one(heights, widths, int(tile), mt)
        return rows * cols  # type: ignore[return-value]
    cands, tiles_of = _mllama_table(mt)
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        up = np.ceil(hf / tile) * np.ceil(wf / tile)
        if up.max() > mt:
            best = np.full(hf.shape, -1.0)
            for a, b, pref in cands:
                key = np.minimum(wf * (64.0 * a), hf * (64.0 * b))
                key += pref
                np.maximum(best, key, out=best)
            rank = best - 64.0 * np.floor(best / 64.0)
            down = tiles_of[rank.astype(np.int64)]
            up = np.where(up <= mt, up, down)
        np.copyto(outs[0][start:stop], up, casting="unsafe")

    return _blocks(block, h.size, 1)[0].reshape(shape)


# -- LLaVA-NeXT --------------------------------------------------------------------------------


def llava_next_token_counts(
    heights: Any,
    widths: Any,
    *,
    pinpoints: Sequence[Sequence[int]],
    crop_size: int = 336,
    patch_size: int = 14,
    per_crop: int = 576,
) -> tuple[I64, I64]:
    """``grid_h * (grid_w + 1) + per_crop`` from
    :func:`~tokenmeter.kernels.tiles.llava_next_features`, and the crops the encoder sees
    (the pinpoint's ``crop_size`` tiles plus the base image).

    ``select_best_resolution`` is a lexicographic maximum of (effective resolution, -waste,
    -index); with ``waste = area - effective`` that is the maximum of ``8 * effective +
    preference`` (smaller pinpoint area, then earlier, preferred), all below 2**53. The
    float steps (``min(W/w, H/h)``, ``int(w * s)``, ``int(round(x, 7))``) are the
    reference's own.
    """
    crop = _int("crop_size", crop_size, 1, 2**16)
    patch = _int("patch_size", patch_size, 1, 2**16)
    pins = _t.llava_pins(pinpoints)
    if one_image(heights, widths):
        bh, bw, gh, gw = _t.llava_next_one(heights, widths, pins, crop, patch)
        return gh * (gw + 1) + per_crop, (bh // crop) * (bw // crop) + 1  # type: ignore[return-value]
    order = sorted(range(len(pins)), key=lambda i: (pins[i][0] * pins[i][1], i))
    pref = {i: float(len(pins) - 1 - r) for r, i in enumerate(order)}
    side = crop // patch
    cur_h_of = np.zeros(len(pins), F64)
    cur_w_of = np.zeros(len(pins), F64)
    crops_of = np.zeros(len(pins), np.int64)
    for i, (ph, pw) in enumerate(pins):
        cur_h_of[int(pref[i])] = side * (ph // crop)
        cur_w_of[int(pref[i])] = side * (pw // crop)
        crops_of[int(pref[i])] = (ph // crop) * (pw // crop) + 1
    numer = sorted({v for pin in pins for v in pin})
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        area = hf * wf  # compared with values < 2**21 only: rounding above 2**53 is harmless
        # The reference's W / w and H / h, one division per distinct value (a value twice
        # another is that quotient doubled, which is exact).
        qw: dict[int, np.ndarray] = {}
        qh: dict[int, np.ndarray] = {}
        for v in numer:
            if v % 2 == 0 and v // 2 in qw:
                qw[v] = qw[v // 2] * 2.0
                qh[v] = qh[v // 2] * 2.0
            else:
                qw[v] = v / wf
                qh[v] = v / hf
        best = np.full(hf.shape, -1.0)
        s = np.empty_like(hf)
        eff = np.empty_like(hf)
        t = np.empty_like(hf)
        for i, (ph, pw) in enumerate(pins):
            np.minimum(qw[pw], qh[ph], out=s)
            np.multiply(wf, s, out=eff)
            np.trunc(eff, out=eff)  # int(w * scale)
            np.multiply(hf, s, out=t)
            np.trunc(t, out=t)
            eff *= t
            np.minimum(eff, area, out=eff)
            eff *= 128.0
            eff += pref[i]
            np.maximum(best, eff, out=best)
        np.divide(best, 128.0, out=t)
        np.floor(t, out=t)
        t *= 128.0
        best -= t
        rank = best.astype(np.int64)
        cur_h = cur_h_of[rank]
        cur_w = cur_w_of[rank]
        # wider: w / h > cur_w / cur_h, with the reference's two divisions.
        np.divide(wf, hf, out=t)
        np.divide(cur_w, cur_h, out=s)
        wider = t > s
        # Only one side is unpadded: the height when the image is wider than the grid
        # (new_h = int(round(h * (cur_w / w), 7))), else the width.
        np.divide(cur_w, wf, out=s)
        s *= hf
        np.divide(cur_h, hf, out=t)
        t *= wf
        np.copyto(t, s, where=wider)
        new = _t._int_round7(t)
        cur = np.where(wider, cur_h, cur_w)
        cur -= new
        cur /= 2.0
        np.floor(cur, out=cur)
        cur *= 2.0  # the padding removed: 2 * ((cur - new) // 2)
        # grid_h = cur_h - wider * pad, grid_w = cur_w - (1 - wider) * pad;
        # tokens = grid_h * (grid_w + 1) + per_crop.
        np.multiply(cur, wider, out=s)
        cur -= s
        np.subtract(cur_h, s, out=cur_h)
        np.subtract(cur_w, cur, out=cur_w)
        cur_w += 1.0
        cur_h *= cur_w
        cur_h += per_crop
        np.copyto(outs[0][start:stop], cur_h, casting="unsafe")
        np.take(crops_of, rank, out=outs[1][start:stop])

    tokens, crops = _blocks(block, h.size, 2)
    return tokens.reshape(shape), crops.reshape(shape)


# -- InternVL ----------------------------------------------------------------------------------

_CELLS = 1 << 13


@lru_cache(maxsize=32)
def _internvl_cells(min_num: int, max_num: int) -> tuple[np.ndarray, ...] | None:
    """Per cell of ``u = r / (1 + r)`` (``r = w / h``): the ratio groups left and right of
    the one midpoint the cell may hold, and that midpoint; per group, the tile counts of
    its grids in the reference's order (padded with inf). None if two midpoints would
    share a cell."""
    grids = _t.internvl_ratios(min_num, max_num)
    groups: dict[float, list[tuple[int, int]]] = {}
    for c, r in grids:
        groups.setdefault(c / r, []).append((c, r))
    values = sorted(groups)
    width = max(len(g) for g in groups.values())
    areas = np.full((len(values), width), np.inf)
    for i, v in enumerate(values):
        for j, (c, r) in enumerate(groups[v]):
            areas[i, j] = c * r
    mids = [(values[i] + values[i + 1]) / 2 for i in range(len(values) - 1)]
    pos = [m / (1 + m) * _CELLS for m in mids]
    cell_of = [math.floor(x) for x in pos]
    # One midpoint per cell, and none near a cell edge, so that an item whose cell index
    # rounds the other way still lies on the same side of every midpoint it is compared to.
    if len(set(cell_of)) != len(cell_of) or any(
        min(x - math.floor(x), math.ceil(x) - x) < 1e-6 for x in pos
    ):
        return None
    left = np.zeros(_CELLS + 1, np.int64)
    right = np.zeros(_CELLS + 1, np.int64)
    # A finite sentinel where a cell holds no midpoint: every ratio is below it (so the
    # left group, which equals the right one there, is chosen) and never "near" it.
    mid = np.full(_CELLS + 1, 1e300)
    g = 0
    for k in range(_CELLS + 1):
        left[k] = right[k] = g
        if g < len(mids) and cell_of[g] == k:
            mid[k] = mids[g]
            right[k] = g + 1
            g += 1
    return left, right, mid, areas


def internvl_tile_counts(
    heights: Any, widths: Any, *, tile_size: int = 448, min_num: int = 1, max_num: int = 12
) -> Any:
    """Tiles ``cols * rows`` of :func:`~tokenmeter.kernels.tiles.internvl_grid`.

    The nearest ratio is found by a table over ``u = r / (1 + r)`` cut into 8192 cells,
    each holding at most one midpoint between neighbouring ratios: one comparison with
    that midpoint picks the group. Items within a relative 1e-9 of a midpoint (where the
    reference's float differences may tie) take the reference loop. Within a group of
    ratio-equal grids the area rule keeps the last grid ``(c, r)`` with ``w * h > tile² *
    c * r / 2`` (or the first).
    """
    tile = _int("tile_size", tile_size, 1, 2**16)
    lo = _int("min_num", min_num, 1, 4096)
    hi = _int("max_num", max_num, 1, 4096)
    if lo > hi:
        raise InvalidInputError(f"min_num = {lo} exceeds max_num = {hi}")
    if one_image(heights, widths):
        if not _t.internvl_ratios(lo, hi):
            raise InvalidInputError(f"no tile grid has between {lo} and {hi} tiles")
        c, r = _t.internvl_grid_one(heights, widths, tile, lo, hi)
        return c * r
    cells = _internvl_cells(lo, hi)
    if cells is None:  # pragma: no cover - very large max_num
        c, r = _t.internvl_grid(heights, widths, tile_size=tile, min_num=lo, max_num=hi)
        return c * r
    left, right, mid, areas = cells
    half_tile2 = tile * tile / 2.0
    width = areas.shape[1]
    flat = areas.ravel()
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        ar = wf / hf
        u = ar / (1.0 + ar)
        u *= _CELLS
        cell = u.astype(np.int64)
        m = mid[cell]
        grp = np.where(ar < m, left[cell], right[cell])
        near = np.abs(ar - m) <= 1e-9 * m
        area = hf * wf
        # In the group's order (ascending area) each later grid replaces the best while
        # w*h > tile² * c * r / 2, a condition that only gets harder: count those grids
        # (padding is inf and never counts) and take the grid at that position.
        pos = grp * width
        k = np.zeros_like(area)
        for j in range(1, width):
            k += area > half_tile2 * flat[pos + j]
        b = flat[pos + k.astype(np.int64)]
        np.copyto(outs[0][start:stop], b, casting="unsafe")
        if near.any():
            # Resolved together after the walk: the reference loop's fixed cost (a numpy
            # call per candidate grid) would dominate if paid once per block.
            near_items.append(np.flatnonzero(near) + start)

    near_items: list[I64] = []
    out = _blocks(block, h.size, 1)[0]
    if near_items:
        idx = np.concatenate(near_items)
        c, r = _t.internvl_grid(h[idx], w[idx], tile_size=tile, min_num=lo, max_num=hi)
        out[idx] = c * r
    return out.reshape(shape)


# -- Anthropic ------------------------------------------------------------------------------------


def anthropic_token_counts(
    heights: Any, widths: Any, *, max_edge: int = 1568, max_tokens: int = 1568, patch_size: int = 28
) -> I64:
    """Visual tokens of :func:`~tokenmeter.kernels.patches.anthropic_patches`.

    Images that fit keep ``ceil(w/p) * ceil(h/p)``. For the others, the docs' binary
    search returns the largest long side ``m`` that fits (the test is monotone in ``m``).
    Writing ``r`` for the short side's patch count at that ``m``, the answer is ``m_r =
    min(p * min(T // r, E // p), mmax(p * r), long - 1)`` where ``mmax(S)`` is the largest
    ``m`` whose short side ``max(round(m / a), 1)`` is at most ``S``; each ``m_r`` fits by
    construction, so the answer is the largest of them. Two ``r`` at ``sqrt(T / a)`` are
    tried and the result accepted only if it fits and ``m + 1`` does not; the rest (about
    1 in 10**5) take the plain bisection.
    """
    p = _int("patch_size", patch_size, 1, 2**16)
    edge = _int("max_edge", max_edge, p, 2**31 - 1)
    cap = _int("max_tokens", max_tokens, 1, 2**30)
    ec = float(edge // p)
    pf = float(p)
    capf = float(cap)
    if one_image(heights, widths):
        return _p.anthropic_one(heights, widths, edge, cap, p)[0]  # type: ignore[return-value]
    h, w, shape = prepare_sides(heights, widths)

    def short_of(m: np.ndarray, a: np.ndarray) -> np.ndarray:
        s: np.ndarray = np.rint(m / a)
        np.maximum(s, 1.0, out=s)
        return s

    def fits(m: np.ndarray, a: np.ndarray) -> np.ndarray:
        c = np.ceil(m / pf)
        r = np.ceil(short_of(m, a) / pf)
        ok: np.ndarray = (c <= ec) & (r <= ec) & (c * r <= capf)
        return ok

    def mmax(s_lim: np.ndarray, a: np.ndarray) -> np.ndarray:
        # The largest m with round(m / a) <= s_lim, by its float value: off by one only
        # when (s_lim + 0.5) * a is within rounding error of an integer, and then the
        # check below sends the item to the bisection.
        m: np.ndarray = np.floor((s_lim + 0.5) * a)
        return m

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        long_ = np.maximum(hf, wf)
        short_ = np.minimum(hf, wf, out=hf)
        cl = np.ceil(long_ / pf)
        cs = np.ceil(short_ / pf)
        tokens = cl * cs
        need = (cl > ec) | (tokens > capf)
        out = outs[0][start:stop]
        if need.any():
            idx = np.flatnonzero(need)
            lg = long_[idx]
            a = lg / short_[idx]  # the reference's aspect: long / short, one division
            r0 = np.floor(np.sqrt(capf / a))
            best = np.zeros_like(a)
            # r0 and r0 + 1 settle all but about 1e-5 of the images (measured on photo
            # and log-uniform sizes, both tiers); the check below catches the rest.
            for dr in (0.0, 1.0):
                r = np.clip(r0 + dr, 1.0, ec)
                m = np.minimum(pf * np.minimum(np.floor(capf / r), ec), mmax(pf * r, a))
                np.maximum(best, m, out=best)
            np.minimum(best, lg - 1.0, out=best)
            np.maximum(best, 1.0, out=best)
            good = fits(best, a) & ~(fits(best + 1.0, a) & (best + 1.0 < lg))
            res = np.ceil(best / pf) * np.ceil(short_of(best, a) / pf)
            tokens[idx] = res
            if not good.all():
                bad = idx[~good]
                tokens[bad] = _p.anthropic_patches(
                    hb[bad], wb[bad], max_edge=edge, max_tokens=cap, patch_size=p
                )[0]
        np.copyto(out, tokens, casting="unsafe")

    return _blocks(block, h.size, 1)[0].reshape(shape)


# -- Gemini 2.x (an estimate) ---------------------------------------------------------------------


def gemini_tile_counts(
    heights: Any, widths: Any, *, small_side: int = 384, tile_size: int = 768
) -> I64:
    """Tiles of :func:`~tokenmeter.kernels.tiles.gemini_tiles`: ``ceil(h/t) * ceil(w/t)``,
    or 1 when both sides are at most ``small_side`` (which that formula already gives
    whenever ``small_side <= tile_size``)."""
    small = float(_int("small_side", small_side, 1, 2**20))
    tile = float(_int("tile_size", tile_size, 1, 2**20))
    if one_image(heights, widths):
        if max(heights, widths) <= small:
            return 1  # type: ignore[return-value]
        return _t.gemini_tiles_of(heights, widths, int(tile))  # type: ignore[no-any-return]
    h, w, shape = prepare_sides(heights, widths)

    def block(start: int, stop: int, outs: Sequence[I64]) -> None:
        hb, wb = h[start:stop], w[start:stop]
        check_block(hb, wb, h, w)
        hf = hb.astype(F64)
        wf = wb.astype(F64)
        t = np.ceil(hf / tile)
        t *= np.ceil(wf / tile)
        if small > tile:
            t = np.where(np.maximum(hf, wf) <= small, 1.0, t)
        np.copyto(outs[0][start:stop], t, casting="unsafe")

    return _blocks(block, h.size, 1)[0].reshape(shape)
