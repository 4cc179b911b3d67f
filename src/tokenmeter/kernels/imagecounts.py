"""Blocked token-count kernels for the tile and patch families (numpy only).

:mod:`~tokenmeter.kernels.tiles` and :mod:`~tokenmeter.kernels.patches` state each rule
in its plainest vectorized form and return the whole derivation (resized sizes, grids).
The functions here compute only the counts a rule needs eagerly (tokens, wrappers,
encoder patches, with the rule's scale and offset applied in the same pass), and are
written for speed:

* they walk the inputs in cache-sized blocks (:func:`~tokenmeter.kernels._imgargs.walk_sides`),
  check the sides inside each block, and take every temporary from the thread's reused
  scratch arrays (:mod:`~tokenmeter.kernels._blocks`);
* they use float64 arithmetic only where it is provably exact (every product and
  quotient below is of integers under 2**53, and each float decision is shown to match
  the exact rational one, or the item takes an exact fallback);
* where a rule's choice among candidates depends on the image only through its aspect
  ratio (LLaVA-NeXT's pinpoint for images larger than every pinpoint, InternVL's nearest
  grid ratio, Llama 3.2 Vision's downscaled canvas, OpenAI's capped patch grid, Claude's
  resized size), the choice and what follows from it are looked up in a table over ``u =
  w / (h + w)`` cut into 65 536 cells (:func:`_ratio_cells`). A cell holds a value only
  if it provably holds for every ratio the cell can contain, float rounding of the lookup
  included; the few images in the other cells take the plain rule.

Given one image as two Python ints, each returns Python ints from the one-item form of
the plain kernel. ``tests/test_image_kernels.py`` checks each against its plain form, a
scalar reference and the one-item form.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import CountOverflowError, InvalidInputError
from . import patches as _p
from . import tiles as _t
from ._imgargs import Rounding, SideBlock, int_param, one_image, rounding_param, walk_sides
from ._intmath import I64, INT64_MAX

__all__ = [
    "anthropic_token_counts",
    "gemini_tile_counts",
    "internvl_tile_counts",
    "internvl_token_counts",
    "llava_next_token_counts",
    "mistral_token_counts",
    "mllama_tile_counts",
    "openai_patch_counts",
    "openai_tile_counts",
]

F64 = np.float64
#: Items per block: the largest whose float64 work arrays (a dozen of 8 bytes per item)
#: stay in the 2 MiB L2 cache with the block's inputs. Measured at 1e7 photo sizes, one
#: thread: 2**15 and 2**16 within noise on most kernels, 2**16 faster where a block has
#: a fixed exact path to pay (LLaVA-NeXT, Claude); 2**17 slower.
_BLOCK = 1 << 16


def _select(out: np.ndarray, mask: np.ndarray, values: np.ndarray, tmp: np.ndarray) -> None:
    """``out[mask] = values[mask]``, as ``out += (values - out) * mask``: a masked copy
    branches on every item and costs five times as much (5 ns an item against 1) when the
    mask is as unpredictable as which images exceed a limit."""
    np.subtract(values, out, out=tmp)
    tmp *= mask
    out += tmp


#: Below this many images, a block's leftovers (those its table cannot settle) go through
#: the one-image form, a few microseconds each in Python, rather than the plain kernel,
#: whose few dozen numpy calls cost a hundred microseconds or more whatever their size.
_FEW = 32


def _leftovers(
    b: SideBlock,
    idx: I64,
    one: Callable[[int, int], tuple[int, ...]],
    plain: Callable[[I64, I64], tuple[Any, ...]],
) -> None:
    """Write the exact outputs of the block's images ``idx``: ``one(h, w)`` per image
    for a few, else ``plain(heights, widths)`` (each gives every output, in order)."""
    if idx.size <= _FEW:
        rows = [one(h, w) for h, w in zip(b.hb[idx].tolist(), b.wb[idx].tolist(), strict=True)]
        cols: tuple[Any, ...] = tuple(zip(*rows, strict=True))
    else:
        cols = plain(b.hb[idx], b.wb[idx])
    for k, col in enumerate(cols):
        b.out(k)[idx] = col


def _store(out: I64, x: np.ndarray, scale: int = 1, offset: int = 0) -> None:
    """``out = x * scale + offset`` for a float64 block of whole numbers."""
    if scale != 1:
        x *= scale
    if offset:
        x += offset
    np.copyto(out, x, casting="unsafe")


def _fit(long_: np.ndarray, short: np.ndarray, fit: int, rounding: Rounding, t: np.ndarray) -> None:
    """In place: scale images whose long side exceeds ``fit`` down to it (exact).

    ``short * fit / long`` is a quotient of integers below 2**53; its float value is
    within ``2**-42`` of the exact one, while a non-tie is at least ``1 / (2 long) >=
    2**-32`` from a half and exact halves are representable, so ``rint``/``floor`` give the
    exact rounding. ``min`` leaves smaller images alone: for them the quotient is at
    least ``short``. ``t`` is a work array.
    """
    np.multiply(short, float(fit), out=t)
    t /= long_
    np.rint(t, out=t) if rounding == "round" else np.floor(t, out=t)
    np.maximum(t, 1.0, out=t)
    np.minimum(short, t, out=short)
    np.minimum(long_, float(fit), out=long_)


# -- aspect-ratio tables ------------------------------------------------------------------------

#: Cells of ``u = w / (h + w)``; a table has one more, for ``u`` rounded to 1.
_CELLS = 1 << 16
# Margins, all far below a cell's width (1.5e-5 in u) and far above the errors they
# cover: _DU widens a cell for the float64 rounding of u (about 1e-16); _ETA is a
# relative margin on the reference's own quotients (each within 2**-52 of exact); _R7
# covers int(round(x, 7)), which rounds up from a fraction of 0.99999995.
_DU = 1e-9
_ETA = 1e-9
_R7 = 1e-6


@lru_cache(maxsize=1)
def _ratio_cells() -> tuple[np.ndarray, np.ndarray]:
    """``(r_lo, r_hi)`` per cell: the aspect ratios ``w / h`` whose computed ``u`` can
    land in the cell, widened by the margins."""
    k = np.arange(_CELLS + 1, dtype=F64)
    u_lo = np.maximum(k / _CELLS - _DU, 2.0**-40)
    u_hi = np.minimum((k + 1) / _CELLS + _DU, 1 - 2.0**-40)
    return u_lo / (1 - u_lo), u_hi / (1 - u_hi)


def _cells(b: SideBlock, hf: np.ndarray, wf: np.ndarray) -> np.ndarray:
    """Each image's cell: ``floor(w / (h + w) * 65536)``, as int64 (into scratch)."""
    u = b.work()
    np.add(hf, wf, out=u)
    t = np.multiply(wf, float(_CELLS), out=b.work())  # exact: a power of two
    np.divide(t, u, out=u)
    cell = b.work(np.int64)
    np.copyto(cell, u, casting="unsafe")  # truncation: u >= 0
    return cell


def _floor_const(x_min: np.ndarray, x_max: np.ndarray, pad: float = 0.0) -> np.ndarray:
    """Per cell: does ``floor(x)`` (or ``int(round(x, 7))`` with ``pad=_R7``) take one
    value over ``[x_min, x_max]``, with margins for the float error of ``x``?"""
    lo: np.ndarray = np.floor(x_min * (1 - _ETA) - pad) == np.floor(x_max * (1 + _ETA) + pad)
    return lo


@lru_cache(maxsize=1)
def _aspect_cells() -> tuple[np.ndarray, np.ndarray]:
    """``(a_lo, a_hi)`` per cell: bounds on the aspect ``long / short = max(r, 1 / r)``
    of the images in the cell, as the references compute it (within 2**-52)."""
    r_lo, r_hi = _ratio_cells()
    lo = np.where(r_lo >= 1, r_lo, np.where(r_hi <= 1, 1 / r_hi, 1.0))
    hi = np.where(r_lo >= 1, r_hi, np.where(r_hi <= 1, 1 / r_lo, np.maximum(r_hi, 1 / r_lo)))
    return lo * (1 - _ETA), hi * (1 + _ETA)


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
) -> Any:
    """``scale * tiles + offset`` for :func:`~tokenmeter.kernels.tiles.openai_tiles`."""
    fit = int_param("fit_size", fit_size, 1, 2**20)
    short = int_param("short_side", short_side, 1, 2**20)
    tile = int_param("tile_size", tile_size, 1, 2**20)
    fr = rounding_param("fit_rounding", fit_rounding)
    sr = rounding_param("short_rounding", short_rounding)
    scale = int_param("scale", scale, 0, 2**20)
    offset = int_param("offset", offset, 0, 2**20)
    if one_image(heights, widths):
        return _t.openai_tiles_one(heights, widths, fit, short, tile, fr, sr)[0] * scale + offset

    def block(b: SideBlock) -> None:
        _, hmax, _, wmax = b.ext
        hf, wf = b.f64()
        long_ = np.maximum(hf, wf, out=b.work())
        short_ = np.minimum(hf, wf, out=hf)
        t = wf  # free from here on
        if max(hmax, wmax) > fit:
            _fit(long_, short_, fit, fr, t)
        if short_.max() > short:
            # long * short_side / short, rounded the same way; min() keeps images whose
            # short side is already small (their quotient is at least long).
            np.multiply(long_, float(short), out=t)
            t /= short_
            np.rint(t, out=t) if sr == "round" else np.floor(t, out=t)
            np.minimum(long_, t, out=long_)
            np.minimum(short_, float(short), out=short_)
        long_ /= tile
        np.ceil(long_, out=long_)
        short_ /= tile
        np.ceil(short_, out=short_)
        long_ *= short_
        _store(b.out(0), long_, scale, offset)

    return walk_sides(heights, widths, 1, block, _BLOCK)[0]


def _multiplier(value: object, cap: int) -> Fraction:
    """A patch multiplier: a non-negative :class:`~fractions.Fraction` (or int) small
    enough that ``patches * 2 * numerator + denominator`` stays inside int64."""
    if isinstance(value, bool) or not isinstance(value, (int, Fraction)):
        raise InvalidInputError(f"multiplier must be an int or a Fraction, got {value!r}")
    m = Fraction(value)
    if m < 0:
        raise InvalidInputError(f"multiplier must be >= 0, got {m}")
    if cap * 2 * m.numerator + m.denominator > INT64_MAX:
        raise CountOverflowError(f"multiplier {m} with max_patches = {cap} overflows int64")
    return m


@lru_cache(maxsize=16)
def _openai_patch_cells(
    p: int, cap: int, fit: int, mult: Fraction
) -> tuple[np.ndarray, np.ndarray]:
    """``(over, fitted)``: per ratio cell, the tokens of an image over the patch cap that
    the fit leaves alone (-1 where the cell cannot settle them); per fitted short side
    ``S'`` (0..fit), the tokens of a fitted image (``fit x S'``).

    Over the cap, with ``rho = L / S``: ``k_L = floor(sqrt(cap rho))``, ``k_S =
    floor(sqrt(cap / rho))``; the long side binds when ``k_L <= k_S rho``, and the count is
    ``k_L * floor(k_L / rho + (p - 1) / p)``, else ``k_S * floor(k_S rho + (p - 1) / p)``
    (see :func:`openai_patch_counts`), capped. Each is a floor of a monotone function of
    ``rho``, so it holds over a cell where every floor takes one value at both ends and
    the cell holds no ``k_L / k_S``. A fitted image is ``fit x S'`` whatever its size:
    its tokens come from the one-image form.
    """
    lo, hi = _aspect_cells()
    kl = np.floor(np.sqrt(cap * lo))
    ks = np.floor(np.sqrt(cap / hi))
    ok = _floor_const(np.sqrt(cap * lo), np.sqrt(cap * hi))
    ok &= _floor_const(np.sqrt(cap / hi), np.sqrt(cap / lo))
    l_binds = kl <= ks * lo
    with np.errstate(divide="ignore"):
        cross = kl / ks  # inf where k_S = 0: the short side binds throughout
    ok &= (cross < lo * (1 - _ETA)) | (cross > hi * (1 + _ETA))
    q = (p - 1) / p
    rows_ok = _floor_const(kl / hi + q, kl / lo + q)
    cols_ok = _floor_const(ks * lo + q, ks * hi + q)
    ok &= np.where(l_binds, rows_ok, cols_ok)
    n = np.minimum(np.where(l_binds, kl * np.floor(kl / hi + q), ks * np.floor(ks * lo + q)), cap)
    over = np.where(ok, _p.scale_by_decimal(n.astype(np.int64), mult), -1)
    fitted = np.array(
        [
            _p.scale_by_decimal(_p.openai_patches_one(max(s, 1), fit, p, cap, 0)[0], mult)
            for s in range(fit + 1)
        ]
        if fit
        else [0],
        np.int64,
    )
    return over, fitted


def openai_patch_counts(
    heights: Any,
    widths: Any,
    *,
    patch_size: int = 32,
    max_patches: int = 1536,
    fit_size: int = 0,
    multiplier: int | Fraction = 1,
) -> Any:
    """The capped patch count of :func:`~tokenmeter.kernels.patches.openai_patches`,
    times ``multiplier`` rounded half up
    (:func:`~tokenmeter.kernels.patches.scale_by_decimal`).

    With ``k_L = floor(sqrt(cap * L / S))`` and ``k_S = floor(sqrt(cap * S / L))`` (``L``,
    ``S`` the long and short side), the long side binds when ``k_L * S <= k_S * L``; then
    the grid is ``k_L`` by ``ceil(floor(p k_L S / L) / p) = floor((p k_L S + (p - 1) L) /
    (p L))``, and symmetrically: a function of ``L / S`` alone, looked up in
    :func:`_openai_patch_cells`. An image the fit scales (long side above ``fit_size``)
    is ``fit x S'`` with ``S' = round(S * fit / L)`` (exact: see :func:`_fit`), looked up
    by ``S'``. Images under the cap keep ``ceil(L/p) * ceil(S/p)``; those in a cell the
    table leaves open take the plain kernel.
    """
    pi = int_param("patch_size", patch_size, 1, 2**16)
    cap_i = int_param("max_patches", max_patches, 1, 2**20)
    fit = int_param("fit_size", fit_size, 0, 2**20)
    mult = _multiplier(multiplier, cap_i)
    if one_image(heights, widths):
        n = _p.openai_patches_one(heights, widths, pi, cap_i, fit)[0]
        return _p.scale_by_decimal(n, mult) if mult != 1 else n
    over_of, fitted_of = _openai_patch_cells(pi, cap_i, fit, mult)
    p = float(pi)
    num, den = mult.numerator, mult.denominator

    def block(b: SideBlock) -> None:
        _, hmax, _, wmax = b.ext
        hf, wf = b.f64()
        cell = _cells(b, hf, wf)
        long_ = np.maximum(hf, wf, out=b.work())
        short_ = np.minimum(hf, wf, out=hf)
        fitted = None
        if fit and max(hmax, wmax) > fit:
            fitted = np.greater(long_, fit, out=b.work(np.bool_))
            _fit(long_, short_, fit, "round", wf)
        # Under the cap: ceil(L/p) * ceil(S/p), times the multiplier rounded half up.
        raw = np.divide(long_, p, out=long_)
        np.ceil(raw, out=raw)
        t = np.divide(short_, p, out=wf)
        np.ceil(t, out=t)
        raw *= t
        over = np.greater(raw, cap_i, out=b.work(np.bool_))
        if mult != 1:  # (n * 2 num + den) // (2 den): exact in float64 (n <= cap)
            raw *= 2 * num
            raw += den
            raw /= 2 * den
            np.floor(raw, out=raw)
        out = b.out(0)
        np.copyto(out, raw, casting="unsafe")
        tmp = b.work(np.int64)
        if over.any():
            vals = np.take(over_of, cell, out=b.work(np.int64), mode="clip")
            _select(out, over, vals, tmp)
        if fitted is not None:
            sp = b.work(np.int64)
            np.copyto(sp, short_, casting="unsafe")
            vals = np.take(fitted_of, sp, out=b.work(np.int64), mode="clip")
            _select(out, fitted, vals, tmp)
        bad = np.less(out, 0, out=over)
        if bad.any():
            _leftovers(
                b,
                np.flatnonzero(bad),
                lambda h, w: (
                    _p.scale_by_decimal(_p.openai_patches_one(h, w, pi, cap_i, fit)[0], mult),
                ),
                lambda h, w: (
                    _p.scale_by_decimal(
                        _p.openai_patches(h, w, patch_size=pi, max_patches=cap_i, fit_size=fit)[0],
                        mult,
                    ),
                ),
            )

    return walk_sides(heights, widths, 1, block, _BLOCK)[0]


# -- Pixtral / Mistral ----------------------------------------------------------------------------


def mistral_token_counts(
    heights: Any,
    widths: Any,
    *,
    patch_size: int,
    max_image_size: int,
    merge_size: int = 1,
    rounding: Rounding = "round",
) -> tuple[Any, Any, Any]:
    """``(tokens, patches, rows)`` of :func:`~tokenmeter.kernels.patches.mistral_patch_grid`:
    ``rows * (cols + 1)`` tokens (one ``[IMG_BREAK]``/``[IMG_END]`` per row, so ``rows``
    are the wrapper tokens) and ``rows * cols * merge_size**2`` encoder patches.

    ``max(h / m, w / m)`` is ``long / m`` (rounding is monotone); each side becomes
    ``min(side, round(side / ratio))``, which is the side itself when the ratio is at
    most 1, with the reference's own float division.
    """
    merge = int_param("merge_size", merge_size, 1, 2**8)
    pi = int_param("patch_size", patch_size, 1, 2**16) * merge
    m = int_param("max_image_size", max_image_size, 1, 2**20)
    rd = rounding_param("rounding", rounding)
    if one_image(heights, widths):
        rows, cols = _p.mistral_one(heights, widths, pi, m, rd)
        return rows * (cols + 1), rows * cols * merge * merge, rows
    p = float(pi)

    def block(b: SideBlock) -> None:
        _, hmax, _, wmax = b.ext
        hf, wf = b.f64()
        t = b.work()
        if max(hmax, wmax) > m:
            ratio = np.maximum(hf, wf, out=b.work())
            ratio /= float(m)
            for side in (hf, wf):
                np.divide(side, ratio, out=t)
                if rd == "round":
                    np.rint(t, out=t)
                    np.maximum(t, 1.0, out=t)
                else:
                    np.floor(t, out=t)
                np.minimum(side, t, out=side)
            if rd == "floor" and (hf.min() < 1.0 or wf.min() < 1.0):
                i = int(np.flatnonzero((hf < 1.0) | (wf < 1.0))[0])
                raise _p.mistral_zero_error(
                    b.start + i, int(b.hb[i]), int(b.wb[i]), int(hf[i]), int(wf[i]), m
                )
        hf /= p
        np.ceil(hf, out=hf)  # rows
        wf /= p
        np.ceil(wf, out=wf)  # cols
        np.copyto(b.out(2), hf, casting="unsafe")
        np.multiply(hf, wf, out=t)
        _store(b.out(1), t, merge * merge)
        wf += 1.0
        hf *= wf
        _store(b.out(0), hf)

    tokens, patches, wrappers = walk_sides(heights, widths, 3, block, _BLOCK)
    return tokens, patches, wrappers


# -- Llama 3.2 Vision --------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _mllama_cells(max_tiles: int) -> np.ndarray:
    """Per ratio cell: the tiles of the canvas chosen when no canvas holds the image, or
    -1 where the cell holds a ratio at which two candidates' scores cross.

    The choice maximises ``min(a t / h, b t / w)``, that is ``min(a r, b)`` with ``r =
    w / h`` (see :func:`mllama_tile_counts`); two candidates' scores cross only at a
    ratio ``b_j / a_i``. Elsewhere in a cell every score is linear throughout or flat
    throughout, so candidates that tie there tie on the whole cell and the reference's
    tie-break (smaller canvas, then earlier) decides, as it does at the cell's midpoint.
    """
    cands = _t.mllama_candidates(max_tiles)
    r_lo, r_hi = _ratio_cells()
    ok = np.ones(r_lo.shape, bool)
    for b in {b for _, b in cands}:
        for a in {a for a, _ in cands}:
            x = b / a
            ok &= (r_hi * (1 + _ETA) < x) | (r_lo * (1 - _ETA) > x)
    mid = (r_lo + r_hi) / 2
    order = sorted(range(len(cands)), key=lambda i: (cands[i][0] * cands[i][1], i))
    best = np.full(mid.shape, -np.inf)
    tiles = np.zeros(mid.shape, np.int64)
    for i in order:  # preferred first: a later candidate must score strictly more
        a, b = cands[i]
        key = np.minimum(a * mid, float(b))
        take = key > best
        best = np.where(take, key, best)
        tiles = np.where(take, a * b, tiles)
    out: np.ndarray = np.where(ok, tiles, -1)
    return out


def mllama_tile_counts(
    heights: Any, widths: Any, *, tile_size: int = 560, max_tiles: int = 4, scale: int = 1
) -> Any:
    """``scale *`` the tiles of :func:`~tokenmeter.kernels.tiles.mllama_canvas`.

    If some canvas holds the image (``ceil(h/t) * ceil(w/t) <= max_tiles``), the
    smallest upscale is that canvas itself. Otherwise the reference maximises ``min(a t /
    h, b t / w)``; every float comparison it makes agrees with the exact one (distinct
    values differ by at least 2**-34 relatively), so the choice maximises the exact
    ``min(a w, b h) / h = min(a r, b)``: a function of the aspect ratio alone, looked up
    in :func:`_mllama_cells`. Images in a cell that holds a crossing take the plain rule.
    """
    tile = int_param("tile_size", tile_size, 1, 2**16)
    mt = int_param("max_tiles", max_tiles, 1, 15)
    scale = int_param("scale", scale, 1, 2**20)
    if one_image(heights, widths):
        rows, cols = _t.mllama_canvas_one(heights, widths, tile, mt)
        return rows * cols * scale
    table = _mllama_cells(mt)
    tf = float(tile)

    def block(b: SideBlock) -> None:
        hf, wf = b.f64()
        cell = _cells(b, hf, wf)
        out = b.out(0)
        np.take(table, cell, out=out, mode="clip")
        hf /= tf
        np.ceil(hf, out=hf)
        wf /= tf
        np.ceil(wf, out=wf)
        hf *= wf  # the tiles of the smallest canvas that holds the image
        fits = np.less_equal(hf, float(mt), out=b.work(np.bool_))
        up = b.work(np.int64)
        np.copyto(up, hf, casting="unsafe")
        _select(out, fits, up, cell)
        bad = np.less(out, 0, out=fits)
        if bad.any():
            _leftovers(
                b,
                np.flatnonzero(bad),
                lambda h, w: (math.prod(_t.mllama_canvas_one(h, w, tile, mt)),),
                lambda h, w: (np.prod(_t.mllama_canvas(h, w, tile_size=tile, max_tiles=mt), 0),),
            )
        if scale != 1:
            out *= scale

    return walk_sides(heights, widths, 1, block, _BLOCK)[0]


# -- LLaVA-NeXT --------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _llava_cells(
    pins: _t.Pins, crop: int, patch: int, per_crop: int, crop_scale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Per ratio cell, for images larger than every pinpoint: the tokens and the scaled
    crop count, or tokens -1 where the cell cannot settle them; and the chosen pinpoint,
    or -1 where the cell cannot settle that either (None: too many pinpoints to
    tabulate).

    For such an image every pinpoint scales it down, so ``min(dw * dh, w * h)`` is ``dw
    * dh``: the binding side (``r >= pw / ph`` for the width) becomes the pinpoint's
    side ``c`` or ``c - 1`` (``int(w * (pw / w))`` can fall one short in floats), and the
    other ``floor(c / r)`` or ``floor(c * r)``, exact away from the integers. Over a cell
    that holds no ``pw / ph``, each pinpoint's effective resolution lies in ``[(c - 1) *
    floor(x_min), c * floor(x_max)]``; pinpoints that bind the same side to the same
    ``c`` tie on every image (same float steps) and the smaller, earlier one wins; of the
    others, one must beat every other's best case with its worst case (effective
    resolution, then waste, then order). The winner's unpadding, ``int(round(h *
    (cur_w / w), 7))`` (or the width's), is ``floor(cur_w / r)`` unless the cell comes
    within 1e-6 of a step or of ``r = cur_w / cur_h``.
    """
    if len(pins) > 24:  # pragma: no cover - the pairwise test grows as the square
        return None
    r_lo, r_hi = _ratio_cells()
    ok = np.ones(r_lo.shape, bool)
    side_w: list[np.ndarray] = []
    const: list[np.ndarray] = []
    lo: list[np.ndarray] = []
    hi: list[np.ndarray] = []
    for ph, pw in pins:
        t = pw / ph
        wb = r_lo * (1 - _ETA) > t
        ok &= wb | (r_hi * (1 + _ETA) < t)
        f_lo = np.floor(np.where(wb, pw / r_hi, ph * r_lo) * (1 - _ETA))
        f_hi = np.floor(np.where(wb, pw / r_lo, ph * r_hi) * (1 + _ETA))
        c = np.where(wb, pw, ph)
        side_w.append(wb)
        const.append(c)
        lo.append(((c - 1) * f_lo).astype(np.int64))
        hi.append((c * f_hi).astype(np.int64))
    area = [ph * pw for ph, pw in pins]
    n = len(pins)
    dominated = [np.zeros(r_lo.shape, bool) for _ in range(n)]
    for i in range(n):
        for j in range(n):
            if i != j and (area[j], j) < (area[i], i):
                dominated[i] |= (side_w[i] == side_w[j]) & (const[i] == const[j])
    winner = np.full(r_lo.shape, -1, np.int64)
    for i in range(n):
        sure = ~dominated[i]
        for j in range(n):
            if j != i:
                a0, b0 = lo[i], hi[j]
                a1, b1 = a0 - area[i], b0 - area[j]
                beats = (a0 > b0) | ((a0 == b0) & ((a1 > b1) | ((a1 == b1) & (i < j))))
                sure &= beats | dominated[j]
        winner = np.where(sure, i, winner)
    ok &= winner >= 0
    chosen = np.where(ok, winner, -1)  # the choice is settled; the unpadding may not be
    wi = np.maximum(winner, 0)
    bh = np.array([p[0] for p in pins])[wi]
    bw = np.array([p[1] for p in pins])[wi]
    side = crop // patch
    cur_h = side * (bh // crop)
    cur_w = side * (bw // crop)
    ratio = cur_w / cur_h
    wider = r_lo * (1 - _ETA) > ratio
    ok &= wider | (r_hi * (1 + _ETA) < ratio)
    new_h = np.floor(cur_w / r_hi)
    new_w = np.floor(cur_h * r_lo)
    ok &= np.where(
        wider,
        _floor_const(cur_w / r_hi, cur_w / r_lo, _R7),
        _floor_const(cur_h * r_lo, cur_h * r_hi, _R7),
    )
    gh = np.where(wider, cur_h - 2 * ((cur_h - new_h) // 2), cur_h)
    gw = np.where(wider, cur_w, cur_w - 2 * ((cur_w - new_w) // 2))
    tokens = np.where(ok, gh * (gw + 1) + per_crop, -1).astype(np.int64)
    crops = ((bh // crop) * (bw // crop) + 1) * crop_scale
    return tokens, crops.astype(np.int64), chosen


def _llava_plain(
    hb: I64, wb: I64, pins: _t.Pins, crop: int, patch: int, per_crop: int, crop_scale: int
) -> tuple[I64, I64]:
    """Tokens and scaled crops from the plain kernel (images the table cannot settle)."""
    bh, bw, gh, gw = _t.llava_next_features(
        hb, wb, pinpoints=pins, crop_size=crop, patch_size=patch
    )
    return gh * (gw + 1) + per_crop, ((bh // crop) * (bw // crop) + 1) * crop_scale


def _llava_inside(hs: I64, ws: I64, pins: _t.Pins) -> I64:
    """The pinpoint chosen for images that each fit inside some pinpoint.

    A pinpoint that holds the image scales it up (``int(w * s) >= w`` for ``s >= 1``), so
    its effective resolution is the whole ``w * h``, which a pinpoint that scales it down
    cannot reach: the best is the holding pinpoint with the least waste, the smallest
    (then the earliest).
    """
    order = sorted(range(len(pins)), key=lambda i: (pins[i][0] * pins[i][1], i))
    pick = np.zeros(hs.shape, np.int64)
    for i in reversed(order):  # the most preferred holding pinpoint is written last
        ph, pw = pins[i]
        pick[(hs <= ph) & (ws <= pw)] = i
    return pick


def _llava_unpad(
    hs: I64,
    ws: I64,
    pick: I64,
    pins: _t.Pins,
    crop: int,
    patch: int,
    per_crop: int,
    crop_scale: int,
) -> tuple[I64, I64]:
    """Tokens and scaled crops of images whose pinpoints (indices ``pick``) are known:
    the unpadding, in the reference's own float steps."""
    bh = np.array([p[0] for p in pins], np.int64)[pick]
    bw = np.array([p[1] for p in pins], np.int64)[pick]
    gh, gw = _t.llava_unpad(hs.astype(F64), ws.astype(F64), bh, bw, crop, patch)
    return gh * (gw + 1) + per_crop, ((bh // crop) * (bw // crop) + 1) * crop_scale


def _llava_one_counts(
    h: int, w: int, pins: _t.Pins, crop: int, patch: int, per_crop: int, crop_scale: int
) -> tuple[int, int]:
    """:func:`_llava_plain` for one image, from the one-image form."""
    bh, bw, gh, gw = _t.llava_next_one(h, w, pins, crop, patch)
    return gh * (gw + 1) + per_crop, ((bh // crop) * (bw // crop) + 1) * crop_scale


def llava_next_token_counts(
    heights: Any,
    widths: Any,
    *,
    pinpoints: Sequence[Sequence[int]],
    crop_size: int = 336,
    patch_size: int = 14,
    per_crop: int = 576,
    crop_scale: int = 1,
) -> tuple[Any, Any]:
    """``grid_h * (grid_w + 1) + per_crop`` from
    :func:`~tokenmeter.kernels.tiles.llava_next_features`, and ``crop_scale`` times the
    crops the encoder sees (the pinpoint's ``crop_size`` tiles plus the base image).

    Images larger than every pinpoint (in height or in width: then every pinpoint scales
    them down) are looked up by aspect ratio in :func:`_llava_cells`; the others, and
    those in a cell the table leaves open, take the plain kernel.
    """
    crop = int_param("crop_size", crop_size, 1, 2**16)
    patch = int_param("patch_size", patch_size, 1, 2**16)
    per_crop = int_param("per_crop", per_crop, 0, 2**30)
    crop_scale = int_param("crop_scale", crop_scale, 1, 2**30)
    pins = _t.llava_pins(pinpoints)
    if one_image(heights, widths):
        return _llava_one_counts(heights, widths, pins, crop, patch, per_crop, crop_scale)
    cells = _llava_cells(pins, crop, patch, per_crop, crop_scale)
    consts = (pins, crop, patch, per_crop, crop_scale)
    max_h = max(p[0] for p in pins)
    max_w = max(p[1] for p in pins)

    def block(b: SideBlock) -> None:
        out_t, out_c = b.out(0), b.out(1)
        hmin, _, wmin, _ = b.ext
        if cells is None:  # pragma: no cover - very many pinpoints
            out_t[...], out_c[...] = _llava_plain(
                b.hb, b.wb, pins, crop, patch, per_crop, crop_scale
            )
            return
        hf, wf = b.f64()
        cell = _cells(b, hf, wf)
        np.take(cells[0], cell, out=out_t, mode="clip")
        np.take(cells[1], cell, out=out_c, mode="clip")
        bad = np.less(out_t, 0, out=b.work(np.bool_))
        # Images whose pinpoint is known but not their unpadding, in one pass: those
        # inside a pinpoint (the table assumes every pinpoint scales the image down),
        # and those in a cell that settles the choice but not the unpadding.
        known: list[tuple[I64, I64]] = []
        if hmin <= max_h and wmin <= max_w:
            # Images no larger than the largest pinpoint in either side may fit in one.
            small = np.less_equal(hf, max_h, out=b.work(np.bool_))
            small &= np.less_equal(wf, max_w, out=b.work(np.bool_))
            cand = np.flatnonzero(small)
            hs, ws = b.hb[cand], b.wb[cand]
            inside = np.zeros(cand.size, np.bool_)
            for ph, pw in pins:
                inside |= (hs <= ph) & (ws <= pw)
            if inside.any():
                known.append((cand[inside], _llava_inside(hs[inside], ws[inside], pins)))
                bad[cand[inside]] = False
        if bad.any():
            idx = np.flatnonzero(bad)
            pick = cells[2][cell[idx]]
            settled = pick >= 0
            known.append((idx[settled], pick[settled]))
            bad[idx[settled]] = False
        if known:
            idx = np.concatenate([k[0] for k in known])
            pick = np.concatenate([k[1] for k in known])
            out_t[idx], out_c[idx] = _llava_unpad(b.hb[idx], b.wb[idx], pick, *consts)
        if bad.any():
            _leftovers(
                b,
                np.flatnonzero(bad),
                lambda h, w: _llava_one_counts(h, w, pins, crop, patch, per_crop, crop_scale),
                lambda h, w: _llava_plain(h, w, pins, crop, patch, per_crop, crop_scale),
            )

    tokens, crops = walk_sides(heights, widths, 2, block, _BLOCK)
    return tokens, crops


# -- InternVL ----------------------------------------------------------------------------------


@lru_cache(maxsize=32)
def _internvl_cells(
    tile: int, min_num: int, max_num: int, thumbnail: bool, scale: int, offset: int, pscale: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(group, tokens, patches)``: per ratio cell, the nearest ratio group (-1 where the
    cell holds a midpoint between two groups' ratios); per group and ``a`` (the largest
    tile count whose area threshold the image passes, capped at ``max_num``), the tokens
    ``scale * tiles + offset`` and patches ``pscale * tiles`` of the chosen grid, with a
    thumbnail tile when ``thumbnail`` and more than one tile."""
    values, groups = _t.internvl_group_lists(min_num, max_num)
    mids = [(values[i] + values[i + 1]) / 2 for i in range(len(values) - 1)]
    r_lo, r_hi = _ratio_cells()
    group = np.zeros(r_lo.shape, np.int64)
    for m in mids:
        group += r_lo * (1 - _ETA) > m
        group[(r_lo * (1 - _ETA) <= m) & (r_hi * (1 + _ETA) >= m)] = -(10**6)
    group = np.maximum(group, -1)
    width = max_num + 1
    tokens = np.zeros(len(groups) * width, np.int64)
    patches = np.zeros(len(groups) * width, np.int64)
    for g, grids in enumerate(groups):
        for a in range(width):
            # Each later grid of the group replaces the first while w*h > tile² c r / 2,
            # i.e. while c * r <= a (see internvl_token_counts).
            c, r = grids[0]
            for cj, rj in grids[1:]:
                if cj * rj > a:
                    break
                c, r = cj, rj
            n = c * r + (thumbnail and c * r > 1)
            tokens[g * width + a] = scale * n + offset
            patches[g * width + a] = pscale * n
    return group, tokens, patches


def internvl_token_counts(
    heights: Any,
    widths: Any,
    *,
    tile_size: int = 448,
    min_num: int = 1,
    max_num: int = 12,
    thumbnail: bool = False,
    scale: int = 1,
    offset: int = 0,
    patch_scale: int = 0,
) -> tuple[Any, Any]:
    """``(scale * tiles + offset, patch_scale * tiles)`` for InternVL's tiles
    (:func:`~tokenmeter.kernels.tiles.internvl_grid`'s ``cols * rows``, plus a thumbnail
    tile when ``thumbnail`` and more than one tile).

    The nearest ratio group comes from :func:`_internvl_cells`; images in a cell that
    holds a midpoint between two ratios (where the reference's float differences may
    tie) take the plain kernel. Within a group, the area rule keeps the last grid with
    ``w * h > tile² * c * r / 2``, which for integers is ``c * r <= a`` with ``a =
    floor((2 w h - 1) / tile²)``: exact in float64 wherever ``a <= max_num`` matters.
    """
    tile = int_param("tile_size", tile_size, 1, 2**16)
    lo = int_param("min_num", min_num, 1, 4096)
    hi = int_param("max_num", max_num, 1, 4096)
    if lo > hi:
        raise InvalidInputError(f"min_num = {lo} exceeds max_num = {hi}")
    if not _t.internvl_ratios(lo, hi):
        raise InvalidInputError(f"no tile grid has between {lo} and {hi} tiles")
    scale = int_param("scale", scale, 0, 2**20)
    offset = int_param("offset", offset, 0, 2**20)
    patch_scale = int_param("patch_scale", patch_scale, 0, 2**20)
    thumb = bool(thumbnail)

    def counts(n: Any) -> tuple[Any, Any]:
        if thumb:
            n = n + (n > 1)
        return scale * n + offset, patch_scale * n

    def counts_one(h: int, w: int) -> tuple[Any, Any]:
        return counts(math.prod(_t.internvl_grid_one(h, w, tile, lo, hi)))

    def counts_plain(h: I64, w: I64) -> tuple[Any, Any]:
        c, r = _t.internvl_grid(h, w, tile_size=tile, min_num=lo, max_num=hi)
        return counts(c * r)

    if one_image(heights, widths):
        return counts_one(heights, widths)
    group, tok_of, pat_of = _internvl_cells(tile, lo, hi, thumb, scale, offset, patch_scale)
    width = hi + 1
    t2 = float(tile * tile)

    def block(b: SideBlock) -> None:
        hf, wf = b.f64()
        cell = _cells(b, hf, wf)
        g = np.take(group, cell, out=b.work(np.int64), mode="clip")
        a = np.multiply(hf, wf, out=hf)  # exact where it matters (see above)
        a *= 2.0
        a -= 1.0
        a /= t2
        np.floor(a, out=a)
        np.minimum(a, float(hi), out=a)
        ai = b.work(np.int64)
        np.copyto(ai, a, casting="unsafe")
        bad = np.less(g, 0, out=b.work(np.bool_))
        g *= width
        g += ai
        np.take(tok_of, g, out=b.out(0), mode="clip")
        np.take(pat_of, g, out=b.out(1), mode="clip")
        if bad.any():
            _leftovers(b, np.flatnonzero(bad), counts_one, counts_plain)

    tokens, patches = walk_sides(heights, widths, 2, block, _BLOCK)
    return tokens, patches


def internvl_tile_counts(
    heights: Any, widths: Any, *, tile_size: int = 448, min_num: int = 1, max_num: int = 12
) -> Any:
    """Tiles ``cols * rows`` of :func:`~tokenmeter.kernels.tiles.internvl_grid`
    (:func:`internvl_token_counts` with no thumbnail, scale or offset)."""
    return internvl_token_counts(
        heights, widths, tile_size=tile_size, min_num=min_num, max_num=max_num
    )[0]


# -- Anthropic ------------------------------------------------------------------------------------


def _longest_fit(a: np.ndarray, edge: int, cap: int, p: int) -> np.ndarray:
    """``M(a)``: the largest long side ``m`` in ``1..E`` (``E`` the edge limit rounded
    down to patches) that fits with short side ``max(round(m / a), 1)``, for float
    aspects ``a``, by the docs' own bisection (the fit test is monotone in ``m``)."""
    ec = edge // p
    lo = np.ones(a.shape)
    hi = np.full(a.shape, float(ec * p + 1))  # ceil(hi / p) > ec: never fits
    while True:
        act = lo + 1 < hi
        if not act.any():
            return lo
        mid = np.floor((lo + hi) / 2)
        c = np.ceil(mid / p)
        r = np.ceil(np.maximum(np.rint(mid / a), 1.0) / p)
        ok = (c <= ec) & (r <= ec) & (c * r <= cap)
        lo = np.where(act & ok, mid, lo)
        hi = np.where(act & ~ok, mid, hi)


@lru_cache(maxsize=16)
def _anthropic_cells(edge: int, cap: int, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(tokens, m_lo, m_hi)`` per ratio cell for images over the limits: the tokens (-1
    where the cell cannot settle them) and the least and largest long sides the fit can
    reach there.

    The docs' search returns ``min(M(a), L - 1)`` with ``M`` (:func:`_longest_fit`)
    non-decreasing in the aspect ``a`` (a wider image's short side is rounder down, so it
    fits sooner). Over a cell ``a`` lies in ``[a_lo, a_hi]``, so ``m`` lies in ``[M(a_lo),
    M(a_hi)]`` for images with ``L - 1 > M(a_hi)`` and the short side ``round(m / a)`` in
    ``[round(M(a_lo) / a_hi), round(M(a_hi) / a_lo)]``; where both ends give the same
    patch counts, so does every image.
    """
    a_lo, a_hi = _aspect_cells()
    m_lo = _longest_fit(a_lo, edge, cap, p)
    m_hi = _longest_fit(a_hi, edge, cap, p)
    c_lo, c_hi = np.ceil(m_lo / p), np.ceil(m_hi / p)
    r_lo = np.ceil(np.maximum(np.rint(m_lo / a_hi), 1.0) / p)
    r_hi = np.ceil(np.maximum(np.rint(m_hi / a_lo), 1.0) / p)
    ok = (c_lo == c_hi) & (r_lo == r_hi)
    tokens = np.where(ok, c_lo * r_lo, -1).astype(np.int64)
    return tokens, m_lo.astype(np.int64), m_hi.astype(np.int64)


def anthropic_token_counts(
    heights: Any, widths: Any, *, max_edge: int = 1568, max_tokens: int = 1568, patch_size: int = 28
) -> Any:
    """Visual tokens of :func:`~tokenmeter.kernels.patches.anthropic_patches`.

    Images that fit keep ``ceil(w/p) * ceil(h/p)``. For the others the docs' binary
    search returns ``min(M(a), L - 1)``, the largest long side that fits (:func:`_longest_fit`),
    whose tokens depend on the aspect ratio alone unless the image's own long side stops
    the search: they are looked up in :func:`_anthropic_cells`. For the rest (about 2 %
    of photos) ``M(a)`` is still known to lie in the cell's ``[m_lo, m_hi]``, usually one
    or two values apart: the fit test at those few candidates, with the image's own
    aspect, settles it; wider ranges (extreme aspect ratios) take the docs' bisection.
    """
    p = int_param("patch_size", patch_size, 1, 2**16)
    edge = int_param("max_edge", max_edge, p, 2**31 - 1)
    cap = int_param("max_tokens", max_tokens, 1, 2**30)
    if one_image(heights, widths):
        return _p.anthropic_one(heights, widths, edge, cap, p)[0]
    tok_of, mlo_of, mhi_of = _anthropic_cells(edge, cap, p)
    ec = float(edge // p)
    pf = float(p)
    span = 3  # candidates tried above m_lo

    def open_items(b: SideBlock, idx: I64, cell: I64, long_: np.ndarray) -> None:
        """The exact count of images ``idx`` (block positions), from their cells' bounds."""
        hs, ws = b.hb[idx], b.wb[idx]
        lg = np.maximum(hs, ws).astype(F64)
        a = lg / np.minimum(hs, ws)  # the reference's aspect: long / short, one division
        m_lo = mlo_of[cell[idx]].astype(F64)
        k = mhi_of[cell[idx]] - mlo_of[cell[idx]]
        m = m_lo.copy()
        for j in range(1, span + 1):
            c = np.ceil((m_lo + j) / pf)
            r = np.ceil(np.maximum(np.rint((m_lo + j) / a), 1.0) / pf)
            m += (j <= k) & (c <= ec) & (r <= ec) & (c * r <= cap)  # fits is monotone
        np.minimum(m, lg - 1.0, out=m)
        np.maximum(m, 1.0, out=m)
        res = np.ceil(m / pf) * np.ceil(np.maximum(np.rint(m / a), 1.0) / pf)
        out = b.out(0)
        out[idx] = res
        wide = k > span
        if wide.any():
            far = idx[wide]
            out[far] = _p.anthropic_patches(
                b.hb[far], b.wb[far], max_edge=edge, max_tokens=cap, patch_size=p
            )[0]

    def block(b: SideBlock) -> None:
        hf, wf = b.f64()
        cell = _cells(b, hf, wf)
        long_ = np.maximum(hf, wf, out=b.work())
        short_ = np.minimum(hf, wf, out=hf)
        cl = np.divide(long_, pf, out=wf)
        np.ceil(cl, out=cl)
        cs = np.divide(short_, pf, out=short_)
        np.ceil(cs, out=cs)
        need = np.greater(cl, ec, out=b.work(np.bool_))
        cs *= cl
        need |= np.greater(cs, cap, out=b.work(np.bool_))
        out = b.out(0)
        np.copyto(out, cs, casting="unsafe")
        if need.any():
            tok = np.take(tok_of, cell, out=b.work(np.int64), mode="clip")
            _select(out, need, tok, b.work(np.int64))
            # Open cells, and images whose own long side may stop the search.
            mhi = np.take(mhi_of, cell, out=b.work(np.int64), mode="clip")
            np.subtract(long_, 1.0, out=cl)
            bad = np.less_equal(cl, mhi, out=b.work(np.bool_))
            bad |= np.less(tok, 0, out=b.work(np.bool_))
            bad &= need
            if bad.any():
                open_items(b, np.flatnonzero(bad), cell, long_)

    return walk_sides(heights, widths, 1, block, _BLOCK)[0]


# -- Gemini 2.x (an estimate) ---------------------------------------------------------------------


def gemini_tile_counts(
    heights: Any, widths: Any, *, small_side: int = 384, tile_size: int = 768, scale: int = 1
) -> Any:
    """``scale *`` the tiles of :func:`~tokenmeter.kernels.tiles.gemini_tiles`:
    ``ceil(h/t) * ceil(w/t)``, or 1 when both sides are at most ``small_side`` (which
    that formula already gives whenever ``small_side <= tile_size``)."""
    small = int_param("small_side", small_side, 1, 2**20)
    tile = int_param("tile_size", tile_size, 1, 2**20)
    scale = int_param("scale", scale, 1, 2**20)
    if one_image(heights, widths):
        if max(heights, widths) <= small:
            return scale
        return _t.gemini_tiles_of(heights, widths, tile) * scale
    tf = float(tile)

    def block(b: SideBlock) -> None:
        hf, wf = b.f64()
        if small > tile and b.ext[0] <= small and b.ext[2] <= small:
            both_small = np.maximum(hf, wf, out=b.work()) <= small
        else:
            both_small = None
        hf /= tf
        np.ceil(hf, out=hf)
        wf /= tf
        np.ceil(wf, out=wf)
        hf *= wf
        if both_small is not None:
            _select(hf, both_small, np.ones_like(hf), b.work())
        _store(b.out(0), hf, scale)

    return walk_sides(heights, widths, 1, block, _BLOCK)[0]
