"""Tile-based image kernels (numpy only): fit-to-box then tiles, canvas and grid selection.

Every function takes int64 arrays of image heights and widths (any array-like; checked
with :func:`~tokenmeter.kernels._intmath.as_sides`) and returns int64 arrays of the same
shape; or one image as two Python ints, and then returns Python ints, computed with the
reference's own Python arithmetic (the scalar API's path, where a numpy call would cost
more than the rule). ``tests/test_image_kernels.py`` checks the two forms against each
other and against transcriptions of the references, item by item. Each function
reproduces one published rule:

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

import bisect
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ._imgargs import Rounding, int_param, one_image, rounding_param
from ._intmath import I64, as_sides, ceil_div

__all__ = [
    "fit_long_side",
    "gemini_tiles",
    "gemini_tiles_of",
    "internvl_grid",
    "internvl_grid_one",
    "internvl_group_lists",
    "internvl_ratios",
    "llava_next_features",
    "llava_next_one",
    "llava_pins",
    "llava_unpad",
    "mllama_candidates",
    "mllama_canvas",
    "mllama_canvas_one",
    "openai_tiles",
    "openai_tiles_one",
    "round_div",
]


def round_div(a: int, b: int) -> int:
    """``round(a / b)`` with ties to even for Python ints ``a >= 0``, ``b > 0`` (exact)."""
    q, r = divmod(a, b)
    return q + (2 * r > b or (2 * r == b and q % 2 == 1))


def _scaled_side_one(num: int, mul: int, den: int, rounding: Rounding) -> int:
    """:func:`_scaled_side` for one image."""
    q = round_div(num * mul, den) if rounding == "round" else num * mul // den
    return max(q, 1)


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


def fit_long_side(h: Any, w: Any, fit: int, rounding: Rounding = "round") -> tuple[Any, Any]:
    """Scale images whose long side exceeds ``fit`` so that it equals ``fit``.

    The short side becomes ``short * fit / long`` rounded (half to even, or floored), and
    never less than 1 px. Exact integer arithmetic; smaller images are unchanged. Checked
    int64 arrays, or one image as Python ints.
    """
    if type(h) is int:
        if max(h, w) <= fit:
            return h, w
        s = _scaled_side_one(min(h, w), fit, max(h, w), rounding)
        return (s, fit) if w >= h else (fit, s)
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
) -> tuple[Any, Any, Any]:
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
    fit = int_param("fit_size", fit_size, 1, 2**20)
    short = int_param("short_side", short_side, 1, 2**20)
    tile = int_param("tile_size", tile_size, 1, 2**20)
    fr = rounding_param("fit_rounding", fit_rounding)
    sr = rounding_param("short_rounding", short_rounding)
    if one_image(heights, widths):
        return openai_tiles_one(heights, widths, fit, short, tile, fr, sr)
    h, w = as_sides(heights, widths)
    wide = w >= h
    h, w = fit_long_side(h, w, fit, fr)
    long_ = np.maximum(h, w)
    short_ = np.minimum(h, w)
    tall = short_ > short
    if tall.any():
        l2 = _scaled_side(long_, short, short_, sr)
        long_ = np.where(tall, l2, long_)
        short_ = np.where(tall, short, short_)
    rh = np.where(wide, short_, long_)
    rw = np.where(wide, long_, short_)
    tiles = ceil_div(rh, tile) * ceil_div(rw, tile)
    return tiles, rh, rw


def openai_tiles_one(
    h: int, w: int, fit: int, short: int, tile: int, fr: Rounding, sr: Rounding
) -> tuple[int, int, int]:
    """:func:`openai_tiles` for one image (checked Python ints and constants)."""
    wide = w >= h
    h, w = fit_long_side(h, w, fit, fr)
    long_, short_ = max(h, w), min(h, w)
    if short_ > short:
        long_, short_ = _scaled_side_one(long_, short, short_, sr), short
    rh, rw = (short_, long_) if wide else (long_, short_)
    return -(-rh // tile) * -(-rw // tile), rh, rw


# -- Llama 3.2 Vision (mllama) ---------------------------------------------------------------


def mllama_canvas(
    heights: Any, widths: Any, *, tile_size: int = 560, max_tiles: int = 4
) -> tuple[Any, Any]:
    """``get_optimal_tiled_canvas`` of transformers' ``MllamaImageProcessor``.

    Among canvases of ``(a, b)`` tiles with ``a * b <= max_tiles`` the scale of an image is
    ``min(canvas_h / h, canvas_w / w)``; the smallest scale >= 1 wins if there is one,
    otherwise the largest scale < 1; among equal scales, the smallest canvas area (the
    first in the reference's order on a further tie).

    Returns:
        ``(tile_rows, tile_cols)`` of the chosen canvas.
    """
    tile = int_param("tile_size", tile_size, 1, 2**20)
    mt = int_param("max_tiles", max_tiles, 1, 64)
    cands = mllama_candidates(mt)
    if one_image(heights, widths):
        return mllama_canvas_one(heights, widths, tile, mt)
    h, w = as_sides(heights, widths)
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


@lru_cache(maxsize=16)
def mllama_candidates(max_tiles: int) -> tuple[tuple[int, int], ...]:
    """The reference's candidate order: (width, height) pairs from nested loops, used as
    (canvas_height, canvas_width) after multiplying by the tile size."""
    r = range(1, max_tiles + 1)
    return tuple((a, b) for a in r for b in r if a * b <= max_tiles)


def mllama_canvas_one(h: int, w: int, tile: int, max_tiles: int) -> tuple[int, int]:
    """:func:`mllama_canvas` for one image, by the array path's rule (the smallest scale
    >= 1, else the largest; the smaller canvas, then the earlier one, on a tie)."""
    up: tuple[float, int, int, int] | None = None  # (scale, area, rows, cols)
    dn: tuple[float, int, int, int] | None = None
    for a, b in mllama_candidates(max_tiles):
        ch, cw = a * tile, b * tile
        sh, sw = ch / h, cw / w
        s = sh if sw > sh else sw
        area = ch * cw
        if s >= 1.0:
            if up is None or s < up[0] or (s == up[0] and area < up[1]):
                up = (s, area, a, b)
        elif dn is None or s > dn[0] or (s == dn[0] and area < dn[1]):
            dn = (s, area, a, b)
    best = up if up is not None else dn
    if best is None:  # pragma: no cover - there is always the 1x1 canvas
        raise AssertionError("no canvas")
    return best[2], best[3]


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
) -> tuple[Any, Any]:
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
    tile = int_param("tile_size", tile_size, 1, 2**20)
    lo_n = int_param("min_num", min_num, 1, 4096)
    hi_n = int_param("max_num", max_num, 1, 4096)
    if lo_n > hi_n:
        raise InvalidInputError(f"min_num = {lo_n} exceeds max_num = {hi_n}")
    if not internvl_ratios(lo_n, hi_n):
        raise InvalidInputError(f"no tile grid has between {lo_n} and {hi_n} tiles")
    if one_image(heights, widths):
        return internvl_grid_one(heights, widths, tile, lo_n, hi_n)
    h, w = as_sides(heights, widths)
    values, starts, sizes, gcols, grows = _internvl_groups(lo_n, hi_n)
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


@lru_cache(maxsize=64)
def internvl_group_lists(
    min_num: int, max_num: int
) -> tuple[tuple[float, ...], tuple[tuple[tuple[int, int], ...], ...]]:
    """:func:`_internvl_groups` as Python tuples: the distinct ratios, ascending, and each
    ratio's grids in the reference's order."""
    groups: dict[float, list[tuple[int, int]]] = {}
    for c, r in internvl_ratios(min_num, max_num):
        groups.setdefault(c / r, []).append((c, r))
    values = tuple(sorted(groups))
    return values, tuple(tuple(groups[v]) for v in values)


@lru_cache(maxsize=64)  # see llava_next_one
def internvl_grid_one(h: int, w: int, tile: int, min_num: int, max_num: int) -> tuple[int, int]:
    """:func:`internvl_grid` for one image, by the array path's rule: the nearer of the two
    ratios around ``w / h`` (the reference loop itself on an exact float tie), then the
    area rule within that ratio's grids."""
    values, groups = internvl_group_lists(min_num, max_num)
    ar = w / h
    k = bisect.bisect_right(values, ar) - 1  # values[k] <= ar < values[k+1]
    last = len(values) - 1
    lo, hi = min(max(k, 0), last), min(max(k + 1, 0), last)
    dlo, dhi = abs(ar - values[lo]), abs(ar - values[hi])
    if dlo == dhi and lo != hi:
        best_diff, best = math.inf, (1, 1)
        area = h * w
        for c, r in internvl_ratios(min_num, max_num):
            diff = abs(ar - c / r)
            if diff < best_diff:
                best_diff, best = diff, (c, r)
            elif diff == best_diff and area > (tile * tile * c * r) // 2:
                best = (c, r)
        return best
    group = groups[hi if dhi < dlo else lo]
    pick = group[0]
    area = h * w
    for c, r in group[1:]:
        # Each later grid of the group replaces the best while w*h > tile² * c * r / 2
        # (an int against an exact half: compared in integers).
        if area <= (tile * tile * c * r) // 2:
            break
        pick = (c, r)
    return pick


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
) -> tuple[Any, Any, Any, Any]:
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
    crop = int_param("crop_size", crop_size, 1, 2**16)
    patch = int_param("patch_size", patch_size, 1, 2**16)
    pins = llava_pins(pinpoints)
    if one_image(heights, widths):
        return llava_next_one(heights, widths, pins, crop, patch)
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
    gh, gw = llava_unpad(hf, wf, bh, bw, crop, patch)
    return bh, bw, gh, gw


def llava_unpad(
    hf: np.ndarray, wf: np.ndarray, bh: I64, bw: I64, crop: int, patch: int
) -> tuple[I64, I64]:
    """The unpadded feature grid of images ``hf x wf`` (float64) on pinpoints ``bh x bw``:
    ``LlavaNextProcessor._get_unpadded_features``, with the reference's float
    expressions (the aspect comparison, ``int(round(x, 7))``)."""
    per_side = crop // patch
    cur_h = per_side * (bh // crop)
    cur_w = per_side * (bw // crop)
    wider = wf / hf > cur_w / cur_h
    new_h = _int_round7(hf * (cur_w / wf))
    new_w = _int_round7(wf * (cur_h / hf))
    gh = np.where(wider, cur_h - 2 * ((cur_h - new_h) // 2), cur_h)
    gw = np.where(wider, cur_w, cur_w - 2 * ((cur_w - new_w) // 2))
    return gh, gw


Pins = tuple[tuple[int, int], ...]


def _make_pins(pinpoints: Any) -> Pins:
    pins = tuple((int(p[0]), int(p[1])) for p in pinpoints)
    if not 1 <= len(pins) <= 64 or any(ph < 1 or pw < 1 for ph, pw in pins):
        raise InvalidInputError(
            f"pinpoints must be 1..64 positive [height, width] pairs, got {pinpoints!r}"
        )
    return pins


_cached_pins = lru_cache(maxsize=32)(_make_pins)


def llava_pins(pinpoints: Any) -> Pins:
    """Checked ``(height, width)`` pinpoints (at most 64: the count kernel ranks them in 7
    bits), cached for the tuples rules pass; lists are checked on every call."""
    try:
        return _cached_pins(pinpoints)
    except TypeError:  # unhashable (a list of lists)
        return _make_pins(pinpoints)


# One image's count and its derivation both come from here: cached so that the second
# call (the derivation of the same image, just after the count) costs a lookup.
@lru_cache(maxsize=64)
def llava_next_one(h: int, w: int, pins: Pins, crop: int, patch: int) -> tuple[int, int, int, int]:
    """:func:`llava_next_features` for one image, in the reference's Python arithmetic."""
    best = pins[0]
    best_eff, best_waste = 0, math.inf
    area = h * w
    for ph, pw in pins:
        scale = min(pw / w, ph / h)
        eff = min(int(w * scale) * int(h * scale), area)
        waste = ph * pw - eff
        if eff > best_eff or (eff == best_eff and waste < best_waste):
            best, best_eff, best_waste = (ph, pw), eff, waste
    bh, bw = best
    per_side = crop // patch
    cur_h = per_side * (bh // crop)
    cur_w = per_side * (bw // crop)
    if w / h > cur_w / cur_h:
        new_h = int(round(h * (cur_w / w), 7))
        return bh, bw, cur_h - 2 * ((cur_h - new_h) // 2), cur_w
    new_w = int(round(w * (cur_h / h), 7))
    return bh, bw, cur_h, cur_w - 2 * ((cur_w - new_w) // 2)


# -- Gemini 2.x tiles (estimate) --------------------------------------------------------------


def gemini_tiles(heights: Any, widths: Any, *, small_side: int = 384, tile_size: int = 768) -> Any:
    """Gemini 2.x image tiles: 1 if both sides are <= ``small_side``, else
    ``ceil(w / tile_size) * ceil(h / tile_size)``.

    Google publishes no code; the tile count is the common third-party reading of
    "cropped and scaled as needed into 768x768 tiles" and is an estimate.
    """
    small = int_param("small_side", small_side, 1, 2**20)
    tile = int_param("tile_size", tile_size, 1, 2**20)
    if one_image(heights, widths):
        return 1 if max(heights, widths) <= small else gemini_tiles_of(heights, widths, tile)
    h, w = as_sides(heights, widths)
    tiles = gemini_tiles_of(h, w, tile)
    return np.where((h <= small) & (w <= small), 1, tiles).astype(np.int64)


def gemini_tiles_of(h: Any, w: Any, tile: int) -> Any:
    """``ceil(h / tile) * ceil(w / tile)`` for Python ints or int64 arrays."""
    return ceil_div(h, tile) * ceil_div(w, tile)
