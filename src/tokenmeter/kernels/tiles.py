"""Tile-based image kernels (numpy only): fit-to-box then tiles, canvas and grid selection.

Every function takes int64 arrays of image heights and widths (any array-like; checked
with :func:`~tokenmeter.kernels._intmath.as_sides`) and returns int64 arrays of the same
shape. Each reproduces one published rule item for item:

* :func:`openai_tiles` — OpenAI's 512-px tile scheme (fit in 2048², short side to 768).
* :func:`mllama_canvas` — Llama 3.2 Vision's ``get_optimal_tiled_canvas`` (560-px tiles).
* :func:`internvl_grid` — InternVL's ``dynamic_preprocess`` / transformers'
  ``GotOcr2ImageProcessor.get_number_of_image_patches`` (448-px tiles + thumbnail).
* :func:`llava_next_features` — LLaVA-NeXT's ``select_best_resolution`` and unpadding.
* :func:`gemini_tiles` — Gemini 2.x's 258-token tiles (an estimate; no public code).

Where the reference computes in floats, so do these kernels, with the same operations in
the same order (numpy float64 and Python floats are both IEEE doubles); where it computes
in integers, so do these. The rounding mode is named at every float-to-int step.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError
from ._intmath import I64, as_sides, ceil_div

__all__ = [
    "fit_long_side",
    "gemini_tiles",
    "internvl_grid",
    "internvl_ratios",
    "llava_next_features",
    "mllama_canvas",
    "openai_tiles",
]

Rounding = Literal["round", "floor"]


def _pos_int(name: str, value: object, high: int = 2**31 - 1, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an int, got {value!r}")
    v = int(value)
    if not low <= v <= high:
        raise InvalidInputError(f"{name} = {v} is out of range; allowed {low}..{high}")
    return v


def _scaled_side(num: I64, mul: int, den: I64, rounding: Rounding) -> I64:
    """``num * mul / den`` in exact integers, rounded half to even or floored, at least 1."""
    prod = num * mul  # num < 2**31 and mul < 2**20 keep this inside int64
    q = _round_div_vec(prod, den) if rounding == "round" else prod // den
    # A side never goes below one pixel (a 1 x 5000 image still has a row).
    out: I64 = np.maximum(q, 1)
    return out


def _round_div_vec(a: I64, b: I64) -> I64:
    """``round(a / b)`` with ties to even for arrays ``a >= 0``, ``b > 0``."""
    q, r = np.divmod(a, b)
    twice = 2 * r
    out: I64 = q + ((twice > b) | ((twice == b) & (q % 2 == 1)))
    return out


# -- OpenAI tiles -------------------------------------------------------------------------


def fit_long_side(h: I64, w: I64, fit: int, rounding: Rounding = "round") -> tuple[I64, I64]:
    """Scale images whose long side exceeds ``fit`` so that it equals ``fit``.

    The short side becomes ``short * fit / long`` rounded (half to even, or floored), and
    never less than 1 px. Exact integer arithmetic; smaller images are unchanged.
    """
    long_ = np.maximum(h, w)
    big = long_ > fit
    if not big.any():
        return h, w
    short_ = np.minimum(h, w)
    s1 = _scaled_side(short_, fit, long_, rounding)
    wide = w >= h
    nh = np.where(big, np.where(wide, s1, fit), h)
    nw = np.where(big, np.where(wide, fit, s1), w)
    return nh, nw


def openai_tiles(
    heights: Any,
    widths: Any,
    *,
    fit_size: int = 2048,
    short_side: int = 768,
    tile_size: int = 512,
    fit_rounding: Rounding = "round",
    short_rounding: Rounding = "floor",
) -> tuple[I64, I64, I64]:
    """OpenAI's high-detail tile count: fit in ``fit_size``², short side to ``short_side``.

    1. If the long side exceeds ``fit_size``, scale so it equals ``fit_size``; the short
       side is ``short * fit_size / long`` rounded (``fit_rounding``).
    2. If the short side then exceeds ``short_side``, scale so it equals ``short_side``;
       the long side is ``long * short_side / short`` rounded (``short_rounding``).
       Images are never scaled up.
    3. ``tiles = ceil(w / tile_size) * ceil(h / tile_size)``.

    The docs leave both roundings open. The defaults follow API measurements: the 2048 fit
    rounds (2049x513 bills 8 tiles, 2050x513 bills 4; community.openai.com/t/1281361) and
    the short-side step rounds down (gpt-image-1: 1024x1025 and 1023x1024 both bill one
    512-px tile). Ties are rounded half to even. Arithmetic is exact (integers only).

    Returns:
        ``(tiles, resized_heights, resized_widths)`` as int64 arrays.
    """
    fit = _pos_int("fit_size", fit_size, 2**20)
    short = _pos_int("short_side", short_side, 2**20)
    tile = _pos_int("tile_size", tile_size, 2**20)
    for name, r in (("fit_rounding", fit_rounding), ("short_rounding", short_rounding)):
        if r not in ("round", "floor"):
            raise InvalidInputError(f"{name} = {r!r} is not known; pass 'round' or 'floor'")
    h, w = as_sides(heights, widths)
    wide = w >= h
    h, w = fit_long_side(h, w, fit, fit_rounding)
    long_ = np.maximum(h, w)
    short_ = np.minimum(h, w)
    tall = short_ > short
    if tall.any():
        l2 = _scaled_side(long_, short, short_, short_rounding)
        long_ = np.where(tall, l2, long_)
        short_ = np.where(tall, short, short_)
    rh = np.where(wide, short_, long_)
    rw = np.where(wide, long_, short_)
    tiles = ceil_div(rh, tile) * ceil_div(rw, tile)
    return tiles, rh, rw


# -- Llama 3.2 Vision (mllama) ---------------------------------------------------------------


def mllama_canvas(
    heights: Any, widths: Any, *, tile_size: int = 560, max_tiles: int = 4
) -> tuple[I64, I64]:
    """``get_optimal_tiled_canvas`` of transformers' ``MllamaImageProcessor``.

    Among canvases of ``(a, b)`` tiles with ``a * b <= max_tiles`` the scale of an image is
    ``min(canvas_h / h, canvas_w / w)``; the smallest scale >= 1 wins if there is one,
    otherwise the largest scale < 1; among equal scales, the smallest canvas area (the
    first in the reference's order on a further tie).

    Returns:
        ``(tile_rows, tile_cols)`` of the chosen canvas.
    """
    tile = _pos_int("tile_size", tile_size, 2**20)
    mt = _pos_int("max_tiles", max_tiles, 64)
    h, w = as_sides(heights, widths)
    # The reference's candidate order: (width, height) pairs from nested loops, used as
    # (canvas_height, canvas_width) after multiplying by the tile size.
    cands = [(a, b) for a in range(1, mt + 1) for b in range(1, mt + 1) if a * b <= mt]
    hf = h.astype(np.float64)
    wf = w.astype(np.float64)
    shape = h.shape
    up_scale = np.full(shape, np.inf)
    up_area = np.zeros(shape, np.int64)
    up_idx = np.full(shape, -1, np.int64)
    dn_scale = np.full(shape, -np.inf)
    dn_area = np.zeros(shape, np.int64)
    dn_idx = np.full(shape, -1, np.int64)
    for k, (a, b) in enumerate(cands):
        ch, cw = a * tile, b * tile
        # np.where(scale_w > scale_h, scale_h, scale_w) in the reference: the minimum,
        # with the same float divisions (int / int in numpy is correctly rounded).
        sh = ch / hf
        sw = cw / wf
        s = np.where(sw > sh, sh, sw)
        area = ch * cw
        is_up = s >= 1.0
        better_up = is_up & ((s < up_scale) | ((s == up_scale) & (area < up_area)))
        up_scale = np.where(better_up, s, up_scale)
        up_area = np.where(better_up, area, up_area)
        up_idx = np.where(better_up, k, up_idx)
        is_dn = ~is_up
        better_dn = is_dn & ((s > dn_scale) | ((s == dn_scale) & (area < dn_area)))
        dn_scale = np.where(better_dn, s, dn_scale)
        dn_area = np.where(better_dn, area, dn_area)
        dn_idx = np.where(better_dn, k, dn_idx)
    idx = np.where(up_idx >= 0, up_idx, dn_idx)
    rows = np.array([c[0] for c in cands], np.int64)[idx]
    cols = np.array([c[1] for c in cands], np.int64)[idx]
    return rows, cols


# -- InternVL dynamic tiling -----------------------------------------------------------------


@lru_cache(maxsize=64)
def internvl_ratios(min_num: int, max_num: int) -> tuple[tuple[int, int], ...]:
    """Candidate ``(cols, rows)`` grids in transformers' order (by area, then cols).

    ``get_all_supported_aspect_ratios`` in ``got_ocr2/image_processing_got_ocr2.py``: the
    nested loops give cols-major order, and Python's stable sort by area keeps it.
    """
    grids = [
        (c, r)
        for c in range(1, max_num + 1)
        for r in range(1, max_num + 1)
        if min_num <= c * r <= max_num
    ]
    return tuple(sorted(grids, key=lambda g: g[0] * g[1]))


@lru_cache(maxsize=64)
def _internvl_groups(min_num: int, max_num: int) -> tuple[Any, ...]:
    """Candidates grouped by their float aspect ratio ``cols / rows``, ascending.

    Returns ``(values, starts, sizes, cols, rows)``: the distinct ratios and, flattened
    group by group in the reference's iteration order, each group's grids.
    """
    grids = internvl_ratios(min_num, max_num)
    groups: dict[float, list[tuple[int, int]]] = {}
    for c, r in grids:
        groups.setdefault(c / r, []).append((c, r))
    values = sorted(groups)
    starts: list[int] = []
    sizes: list[int] = []
    cols: list[int] = []
    rows: list[int] = []
    for v in values:
        starts.append(len(cols))
        sizes.append(len(groups[v]))
        cols.extend(c for c, _ in groups[v])
        rows.extend(r for _, r in groups[v])
    return (
        np.array(values, np.float64),
        np.array(starts, np.int64),
        np.array(sizes, np.int64),
        np.array(cols, np.int64),
        np.array(rows, np.int64),
    )


def _internvl_loop(h: I64, w: I64, tile: int, grids: Sequence[tuple[int, int]]) -> tuple[I64, I64]:
    """The reference loop itself, vectorized over items (used where ratios tie)."""
    ar = w / h  # float, as in the reference (int / int)
    area = h * w
    best = np.full(h.shape, np.inf)
    bc = np.ones(h.shape, np.int64)
    br = np.ones(h.shape, np.int64)
    for c, r in grids:
        diff = np.abs(ar - c / r)
        less = diff < best
        # `area > 0.5 * tile * tile * c * r` compares an int with an exact float: in
        # integers that is `area > (tile*tile*c*r) // 2`.
        tie = (diff == best) & (area > (tile * tile * c * r) // 2)
        take = less | tie
        best = np.where(less, diff, best)
        bc = np.where(take, c, bc)
        br = np.where(take, r, br)
    return bc, br


def internvl_grid(
    heights: Any, widths: Any, *, tile_size: int = 448, min_num: int = 1, max_num: int = 12
) -> tuple[I64, I64]:
    """InternVL's tile grid: the ``(cols, rows)`` whose ratio is closest to ``w / h``.

    Reproduces ``find_closest_aspect_ratio`` (model cards) / ``get_optimal_tiled_canvas``
    (transformers ``got_ocr2``): the grid with the smallest ``|w/h - cols/rows|`` wins; on
    an exact float tie a later grid replaces the best when ``w * h > 0.5 * tile² * cols *
    rows``. Candidates are ordered as in transformers (by area, then by cols).

    How it is vectorized: the float differences are monotone on either side of ``w/h``,
    so the nearest ratio is one of the two neighbours found by ``searchsorted``; grids
    that share that ratio are resolved with the area rule in closed form. Items whose two
    neighbours tie exactly take the reference loop itself.

    Returns:
        ``(cols, rows)`` as int64 arrays (``cols * rows`` tiles before any thumbnail).
    """
    tile = _pos_int("tile_size", tile_size, 2**20)
    lo_n = _pos_int("min_num", min_num, 4096)
    hi_n = _pos_int("max_num", max_num, 4096)
    if lo_n > hi_n:
        raise InvalidInputError(f"min_num = {lo_n} exceeds max_num = {hi_n}")
    h, w = as_sides(heights, widths)
    values, starts, sizes, gcols, grows = _internvl_groups(lo_n, hi_n)
    if values.size == 0:
        raise InvalidInputError(f"no tile grid has between {lo_n} and {hi_n} tiles")
    ar = w / h
    area = h * w
    k = np.searchsorted(values, ar, side="right") - 1  # values[k] <= ar < values[k+1]
    lo = np.clip(k, 0, values.size - 1)
    hi = np.clip(k + 1, 0, values.size - 1)
    dlo = np.abs(ar - values[lo])
    dhi = np.abs(ar - values[hi])
    group = np.where(dhi < dlo, hi, lo)
    # Within one ratio group (ascending area), the first grid becomes the best and each
    # later one replaces it while `area > tile² * c * r / 2`; the condition only gets
    # harder with area, so the winner is the last grid that satisfies it (or the first).
    start = starts[group]
    size = sizes[group]
    pick = start.copy()
    for p in range(1, int(sizes.max())):
        j = np.minimum(start + p, gcols.size - 1)
        ok = (p < size) & (area > (tile * tile * gcols[j] * grows[j]) // 2)
        pick = np.where(ok, j, pick)
    cols = gcols[pick]
    rows = grows[pick]
    tie = (dlo == dhi) & (lo != hi)
    if tie.any():
        idx = np.flatnonzero(tie)
        c2, r2 = _internvl_loop(h.ravel()[idx], w.ravel()[idx], tile, internvl_ratios(lo_n, hi_n))
        cols = cols.copy()
        rows = rows.copy()
        cols.ravel()[idx] = c2
        rows.ravel()[idx] = r2
    return cols, rows


# -- LLaVA-NeXT anyres ---------------------------------------------------------------------


def _int_round7(x: np.ndarray) -> I64:
    """``int(round(x, 7))`` for floats ``x >= 0``, exactly as Python computes it.

    ``round(x, 7)`` rounds the exact binary value of ``x`` to 7 decimals (ties to even), so
    ``int()`` of it is ``floor(x) + 1`` exactly when the fraction is at least 0.99999995,
    and ``floor(x)`` otherwise. The comparison is made on ``frac * 2e7`` against
    19999999; the one float value where that product could round onto the threshold is
    settled by Python's own ``round``.
    """
    k = np.floor(x)
    p = (x - k) * 2e7  # x - floor(x) is exact
    up = p > 19999999.0
    out: I64 = (k + up).astype(np.int64)
    amb = p == 19999999.0
    if amb.any():
        for i in np.flatnonzero(amb.ravel()).tolist():
            out.ravel()[i] = int(round(float(x.ravel()[i]), 7))
    return out


def llava_next_features(
    heights: Any,
    widths: Any,
    *,
    pinpoints: Sequence[Sequence[int]],
    crop_size: int = 336,
    patch_size: int = 14,
) -> tuple[I64, I64, I64, I64]:
    """LLaVA-NeXT's anyres: best pinpoint, then the unpadded feature grid.

    Reproduces transformers' ``select_best_resolution`` (maximise the effective
    resolution ``min(int(w*s) * int(h*s), w*h)``, then minimise waste; the first pinpoint
    wins a full tie) and ``LlavaNextProcessor._get_unpadded_features`` (remove the rows or
    columns the aspect-preserving fit leaves empty, ``int(round(x, 7))`` included).

    Args:
        pinpoints: ``[[height, width], ...]`` as in the hub ``image_grid_pinpoints``.

    Returns:
        ``(best_h, best_w, grid_h, grid_w)``: the chosen pinpoint and the unpadded feature
        grid (each row of which gets one newline token).
    """
    crop = _pos_int("crop_size", crop_size, 2**16)
    patch = _pos_int("patch_size", patch_size, 2**16)
    pins = [(int(p[0]), int(p[1])) for p in pinpoints]
    if not pins or any(ph < 1 or pw < 1 for ph, pw in pins):
        raise InvalidInputError(
            f"pinpoints must be positive [height, width] pairs, got {pinpoints!r}"
        )
    h, w = as_sides(heights, widths)
    hf = h.astype(np.float64)
    wf = w.astype(np.float64)
    area = h * w
    shape = h.shape
    best_eff = np.zeros(shape, np.int64)
    best_waste = np.full(shape, np.iinfo(np.int64).max)
    best = np.full(shape, -1, np.int64)
    for k, (ph, pw) in enumerate(pins):
        scale = np.minimum(pw / wf, ph / hf)
        dw = np.trunc(wf * scale).astype(np.int64)  # int() truncates toward zero
        dh = np.trunc(hf * scale).astype(np.int64)
        eff = np.minimum(dw * dh, area)
        waste = ph * pw - eff
        take = (eff > best_eff) | ((eff == best_eff) & (waste < best_waste))
        best_eff = np.where(take, eff, best_eff)
        best_waste = np.where(take, waste, best_waste)
        best = np.where(take, k, best)
    bh = np.array([p[0] for p in pins], np.int64)[best]
    bw = np.array([p[1] for p in pins], np.int64)[best]
    per_side = crop // patch
    cur_h = per_side * (bh // crop)
    cur_w = per_side * (bw // crop)
    # Aspect comparison and the unpadding, with the reference's float expressions.
    orig_ar = wf / hf
    cur_ar = cur_w / cur_h
    wider = orig_ar > cur_ar
    new_h = _int_round7(hf * (cur_w / wf))
    new_w = _int_round7(wf * (cur_h / hf))
    gh = np.where(wider, cur_h - 2 * ((cur_h - new_h) // 2), cur_h)
    gw = np.where(wider, cur_w, cur_w - 2 * ((cur_w - new_w) // 2))
    return bh, bw, gh, gw


# -- Gemini 2.x tiles (estimate) --------------------------------------------------------------


def gemini_tiles(heights: Any, widths: Any, *, small_side: int = 384, tile_size: int = 768) -> I64:
    """Gemini 2.x image tiles: 1 if both sides are <= ``small_side``, else
    ``ceil(w / tile_size) * ceil(h / tile_size)``.

    Google publishes no code; the tile count is the common third-party reading of
    "cropped and scaled as needed into 768x768 tiles" and is an estimate.
    """
    small = _pos_int("small_side", small_side, 2**20)
    tile = _pos_int("tile_size", tile_size, 2**20)
    h, w = as_sides(heights, widths)
    tiles = ceil_div(h, tile) * ceil_div(w, tile)
    return np.where((h <= small) & (w <= small), 1, tiles).astype(np.int64)
