"""Fixed-size patch kernels (numpy only): Pixtral/Mistral, OpenAI 32-px patches, Claude.

* :func:`mistral_patch_grid` — mistral-common's ``ImageEncoder._image_to_num_tokens``
  (``rounding="round"``) and transformers' ``PixtralImageProcessor`` (``"floor"``).
* :func:`openai_patches` — OpenAI's 32-px patch scheme with its 1536-patch cap.
* :func:`anthropic_patches` — the reference ``resized_size`` from Anthropic's vision docs
  (28-px patches after a fit to an edge and a token limit).

Inputs are int64 arrays of heights and widths of one shape (any array-like; checked with
:func:`~tokenmeter.kernels._intmath.as_sides`); outputs are int64 arrays of that shape. One
image given as two Python ints gives Python ints, computed in Python (see
:mod:`~tokenmeter.kernels.tiles`).
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import InvalidInputError
from ._imgargs import Rounding, int_param, one_image, rounding_param
from ._intmath import I64, as_sides, ceil_div
from .tiles import fit_long_side

__all__ = [
    "anthropic_one",
    "anthropic_patches",
    "anthropic_resized_scalar",
    "isqrt",
    "mistral_one",
    "mistral_patch_grid",
    "openai_patches",
    "openai_patches_one",
    "scale_by_decimal",
]


# -- Pixtral / Mistral --------------------------------------------------------------------


def mistral_patch_grid(
    heights: Any,
    widths: Any,
    *,
    patch_size: int,
    max_image_size: int,
    merge_size: int = 1,
    rounding: Rounding = "round",
) -> tuple[Any, Any]:
    """Rows and columns of ``[IMG]`` tokens for Pixtral / Mistral-Small vision.

    ``ratio = max(h / max_image_size, w / max_image_size)``; if it exceeds 1 each side is
    divided by it and rounded (``"round"``: Python's ``round``, ties to even, at least 1,
    as mistral-common does; ``"floor"``: ``math.floor`` with no lower clamp, as
    transformers does). Then ``cols = (w - 1) // p + 1`` and ``rows = (h - 1) // p + 1``
    with ``p = patch_size * merge_size``. Images are never scaled up.

    Returns:
        ``(rows, cols)``.

    Raises:
        InvalidInputError: with ``rounding="floor"``, an image so thin that a side floors
            to 0 pixels (the reference then has nothing to resize to).
    """
    p = int_param("patch_size", patch_size, 1, 2**16) * int_param("merge_size", merge_size, 1, 2**8)
    m = int_param("max_image_size", max_image_size, 1, 2**20)
    rd = rounding_param("rounding", rounding)
    if one_image(heights, widths):
        return mistral_one(heights, widths, p, m, rd)
    h, w = as_sides(heights, widths)
    hf = h.astype(np.float64)
    wf = w.astype(np.float64)
    ratio = np.maximum(hf / m, wf / m)
    big = ratio > 1.0
    if big.any():
        # Python's round() on a float rounds half to even, as np.rint does.
        if rd == "round":
            nh = np.maximum(np.rint(hf / ratio), 1.0)
            nw = np.maximum(np.rint(wf / ratio), 1.0)
        else:
            nh = np.floor(hf / ratio)
            nw = np.floor(wf / ratio)
        h = np.where(big, nh.astype(np.int64), h)
        w = np.where(big, nw.astype(np.int64), w)
        zero = (h < 1) | (w < 1)
        if zero.any():
            i = int(np.flatnonzero(zero.ravel())[0])
            raise mistral_zero_error(
                i, int(hf.ravel()[i]), int(wf.ravel()[i]), int(h.ravel()[i]), int(w.ravel()[i]), m
            )
    cols = (w - 1) // p + 1
    rows = (h - 1) // p + 1
    return rows, cols


def mistral_zero_error(i: int, h: int, w: int, nh: int, nw: int, m: int) -> InvalidInputError:
    """Image ``i`` floors to a zero side under transformers' Pixtral rounding."""
    return InvalidInputError(
        f"image {i}: height = {h}, width = {w} floors to a {nh}x{nw} image when fitted into "
        f"{m} px (transformers' Pixtral rounding); the reference cannot process it"
    )


def mistral_one(h: int, w: int, p: int, m: int, rounding: Rounding) -> tuple[int, int]:
    """:func:`mistral_patch_grid` for one image (``p`` = patch × merge), in the
    reference's Python arithmetic."""
    ratio = max(h / m, w / m)
    if ratio > 1:
        if rounding == "round":
            nh, nw = max(round(h / ratio), 1), max(round(w / ratio), 1)
        else:
            nh, nw = math.floor(h / ratio), math.floor(w / ratio)
            if nh < 1 or nw < 1:
                raise mistral_zero_error(0, h, w, nh, nw, m)
        h, w = nh, nw
    return (h - 1) // p + 1, (w - 1) // p + 1


# -- OpenAI patches -------------------------------------------------------------------------


def isqrt(x: I64) -> I64:
    """``floor(sqrt(x))`` for int64 ``0 <= x < 2**52``, exact (float guess, then fixed)."""
    q = np.floor(np.sqrt(x.astype(np.float64))).astype(np.int64)
    # The float root is within one of the true root for x < 2**52; fix it both ways.
    q = np.where(q * q > x, q - 1, q)
    q = np.where((q + 1) * (q + 1) <= x, q + 1, q)
    return q


def openai_patches(
    heights: Any,
    widths: Any,
    *,
    patch_size: int = 32,
    max_patches: int = 1536,
    fit_size: int = 0,
) -> tuple[Any, Any, Any]:
    """OpenAI's patch count: ``ceil(w/32) * ceil(h/32)``, scaled down to fit the cap.

    The docs' rule: if the count exceeds ``max_patches``, scale by
    ``r = sqrt(32² * max_patches / (w * h))``, then shrink ``r`` so that the binding side
    is a whole number of patches, ``r *= min(floor(w r / 32) / (w r / 32), floor(h r / 32)
    / (h r / 32))``, and count ``ceil(w r / 32) * ceil(h r / 32)`` capped at
    ``max_patches``. This kernel evaluates that in exact arithmetic:
    ``floor(w r / 32) = isqrt(max_patches * w // h)``, the binding side comes out as an
    exact multiple of 32, and the other side ``32 * k * h / w`` is floored to whole pixels
    (as third-party implementations do with ``int()``) before the ``ceil``. Float
    implementations can differ by one row or column where ``max_patches * w / h`` is a
    perfect square (3:2 images, for example), because ``w r / 32`` then lands a hair
    below the integer.

    Args:
        fit_size: when > 0, first scale the long side down to ``fit_size`` (the short side
            rounded half to even), as the tile scheme does. The docs do not describe this
            step for patch models, but the API bills a 4000x1474 image on gpt-4.1-mini at
            the 1536 cap (2488 = 1536 x 1.62), which the fit explains (2048x755 is 64 x 24
            patches) and the bare formula does not (1449 patches).

    Returns:
        ``(patches, cols, rows)``: the capped count and the grid it came from.
    """
    p = int_param("patch_size", patch_size, 1, 2**16)
    cap = int_param("max_patches", max_patches, 1, 2**20)
    fit = int_param("fit_size", fit_size, 0, 2**20)
    if one_image(heights, widths):
        return openai_patches_one(heights, widths, p, cap, fit)
    h, w = as_sides(heights, widths)
    if fit:
        h, w = fit_long_side(h, w, fit)
    cols = ceil_div(w, p)
    rows = ceil_div(h, p)
    raw = cols * rows
    over = raw > cap
    if not over.any():
        return raw, cols, rows
    # floor(w r / p) = floor(sqrt(cap * w / h)) = isqrt(floor(cap * w / h)).
    kw = isqrt((cap * w) // h)
    kh = isqrt((cap * h) // w)
    w_binds = kw * h <= kh * w  # 32 kw / w <= 32 kh / h: the width sets the scale
    # Resized sides in whole pixels: the binding one exactly p*k, the other floored.
    rw = np.where(w_binds, p * kw, (p * kh * w) // h)
    rh = np.where(w_binds, (p * kw * h) // w, p * kh)
    c2 = ceil_div(rw, p)
    r2 = ceil_div(rh, p)
    n2 = np.minimum(c2 * r2, cap)
    return (np.where(over, n2, raw), np.where(over, c2, cols), np.where(over, r2, rows))


def openai_patches_one(h: int, w: int, p: int, cap: int, fit: int) -> tuple[int, int, int]:
    """:func:`openai_patches` for one image, in the same exact integer steps."""
    if fit:
        h, w = fit_long_side(h, w, fit)
    cols, rows = -(-w // p), -(-h // p)
    if cols * rows <= cap:
        return cols * rows, cols, rows
    kw = math.isqrt((cap * w) // h)
    kh = math.isqrt((cap * h) // w)
    if kw * h <= kh * w:  # the width sets the scale
        rw, rh = p * kw, (p * kw * h) // w
    else:
        rw, rh = (p * kh * w) // h, p * kh
    c2, r2 = -(-rw // p), -(-rh // p)
    return min(c2 * r2, cap), c2, r2


def scale_by_decimal(counts: Any, multiplier: Fraction) -> Any:
    """``counts * multiplier`` rounded half up to an integer, in exact integers (int64
    arrays or Python ints)."""
    num, den = multiplier.numerator, multiplier.denominator
    if num < 0:
        raise InvalidInputError(f"multiplier must be >= 0, got {multiplier}")
    if den == 1:
        return counts * num
    return (counts * (2 * num) + den) // (2 * den)


# -- Anthropic ---------------------------------------------------------------------------------


def anthropic_resized_scalar(
    width: int, height: int, max_edge: int, max_tokens: int, patch: int = 28
) -> tuple[int, int]:
    """Anthropic's ``resized_size`` for one image, in plain Python (the docs' algorithm)."""

    def fits(w: int, h: int) -> bool:
        return (
            math.ceil(w / patch) * patch <= max_edge
            and math.ceil(h / patch) * patch <= max_edge
            and math.ceil(w / patch) * math.ceil(h / patch) <= max_tokens
        )

    if fits(width, height):
        return width, height
    if height > width:
        rh, rw = anthropic_resized_scalar(height, width, max_edge, max_tokens, patch)
        return rw, rh
    aspect = width / height
    lo, hi = 1, width
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fits(mid, max(round(mid / aspect), 1)):
            lo = mid
        else:
            hi = mid
    return lo, max(round(lo / aspect), 1)


def _short_of(m: I64, aspect: np.ndarray) -> I64:
    """``max(round(m / aspect), 1)``: the short side the reference pairs with long side m."""
    out: I64 = np.maximum(np.rint(m / aspect), 1.0).astype(np.int64)
    return out


def anthropic_patches(
    heights: Any, widths: Any, *, max_edge: int = 1568, max_tokens: int = 1568, patch_size: int = 28
) -> tuple[Any, Any, Any]:
    """Claude's visual tokens: ``ceil(w'/28) * ceil(h'/28)`` after the docs' resize.

    The docs' ``resized_size`` keeps an image that fits (each side padded to a multiple of
    28 is at most ``max_edge`` and the patch count at most ``max_tokens``) and otherwise
    binary-searches the long edge ``m`` for the largest size ``(m, max(round(m / aspect),
    1))`` that fits. That predicate is monotone in ``m`` (every term grows with it), so the
    search returns the largest fitting ``m``; this kernel finds the same ``m`` by a
    vectorized bisection that starts from a bracket proven by bounds (``m`` past the edge
    limit or past the token limit by the area bound cannot fit; ``m`` inside the slack
    bound always fits), so only a few halvings are needed.

    Returns:
        ``(tokens, resized_heights, resized_widths)``.
    """
    p = int_param("patch_size", patch_size, 1, 2**16)
    edge = int_param("max_edge", max_edge, 1, 2**31 - 1)
    cap = int_param("max_tokens", max_tokens, 1, 2**40)
    if one_image(heights, widths):
        return anthropic_one(heights, widths, edge, cap, p)
    h, w = as_sides(heights, widths)
    rh = h.copy()
    rw = w.copy()
    edge_p = (edge // p) * p  # the largest side whose padded size fits the edge limit

    def fits(a: I64, b: I64) -> np.ndarray:
        ca = ceil_div(a, p)
        cb = ceil_div(b, p)
        ok: np.ndarray = (ca <= edge_p // p) & (cb <= edge_p // p) & (ca * cb <= cap)
        return ok

    need = ~fits(h, w)
    if need.any():
        idx = np.flatnonzero(need.ravel())
        hs = h.ravel()[idx]
        ws = w.ravel()[idx]
        long_ = np.maximum(hs, ws)
        short = np.minimum(hs, ws)
        # The reference recurses with the sides swapped when h > w, so its aspect is
        # long / short either way.
        aspect = long_ / short
        af = aspect
        # Upper end: invalid for sure. Past the edge limit, or past the token limit by the
        # area bound (ceil(m/p) * ceil(s/p) >= m * (m/a - 1/2) / p²).
        t = float(cap) * p * p
        root_hi = (0.5 + np.sqrt(0.25 + 4.0 * t / af)) * af / 2.0
        hi = np.minimum(np.minimum(long_, edge_p + 1), np.ceil(root_hi).astype(np.int64) + 2)
        # Lower end: valid for sure: (m + p - 1) * (m/a + 0.5 + p) <= cap * p² bounds the
        # patch count from above, and m <= edge_p keeps both padded sides in the limit.
        b = (p + 0.5) + (p - 1) / af
        c = (p - 1) * (p + 0.5) - t
        root_lo = (-b + np.sqrt(b * b - 4.0 * c / af)) * af / 2.0
        lo = np.clip(np.floor(root_lo).astype(np.int64) - 2, 1, None)
        lo = np.minimum(np.minimum(lo, edge_p), hi - 1)
        lo = np.maximum(lo, 1)
        # The bounds were derived in floats: confirm them, and widen where they fail (only
        # possible through rounding at the very edge of the bracket).
        bad_lo = ~fits(lo, _short_of(lo, af)) & (lo > 1)
        if bad_lo.any():
            lo = np.where(bad_lo, 1, lo)
        bad_hi = fits(hi, _short_of(hi, af)) & (hi < long_)
        if bad_hi.any():
            hi = np.where(bad_hi, long_, hi)
        active = lo + 1 < hi
        while active.any():
            mid = (lo + hi) // 2
            ok = fits(mid, _short_of(mid, af))
            lo = np.where(active & ok, mid, lo)
            hi = np.where(active & ~ok, mid, hi)
            active = lo + 1 < hi
        s = _short_of(lo, af)
        wide = ws >= hs
        rw.ravel()[idx] = np.where(wide, lo, s)
        rh.ravel()[idx] = np.where(wide, s, lo)
    tokens = ceil_div(rh, p) * ceil_div(rw, p)
    return tokens, rh, rw


# One image's count and its derivation both come from here: cached so that the second
# call (the derivation of the same image, just after the count) costs a lookup.
@lru_cache(maxsize=64)
def anthropic_one(h: int, w: int, edge: int, cap: int, p: int) -> tuple[int, int, int]:
    """:func:`anthropic_patches` for one image: ``(tokens, resized_h, resized_w)``.

    The docs' binary search costs a dozen halvings in Python; this finds the same long
    side in closed form (the count kernel's rule, see
    :func:`~tokenmeter.kernels.imagecounts.anthropic_token_counts`) and keeps it only if
    it fits and one more pixel does not (the search's answer, since the fit test is
    monotone); otherwise, about one image in 10**5, it runs the docs' search itself.
    """
    ec = edge // p

    def fits(a: int, b: int) -> bool:
        ca, cb = -(-a // p), -(-b // p)
        return ca <= ec and cb <= ec and ca * cb <= cap

    if fits(w, h):
        return -(-h // p) * -(-w // p), h, w
    long_, short = max(h, w), min(h, w)
    a = long_ / short  # the reference's aspect (it swaps the sides so that w >= h)
    r0 = math.floor(math.sqrt(cap / a))
    best = 0
    for r in (r0, r0 + 1):
        r = min(max(r, 1), ec)
        # The largest m whose long side fits beside r rows of patches, and whose short
        # side round(m / a) still has at most r of them (by its float value).
        best = max(best, min(p * min(cap // r, ec), math.floor((p * r + 0.5) * a)))
    m = max(min(best, long_ - 1), 1)
    if not (
        fits(m, max(round(m / a), 1))
        and not (m + 1 < long_ and fits(m + 1, max(round((m + 1) / a), 1)))
    ):
        rw, rh = anthropic_resized_scalar(long_, short, edge, cap, p)
        m = rw
    s = max(round(m / a), 1)
    rh, rw = (s, m) if w >= h else (m, s)
    return -(-rh // p) * -(-rw // p), rh, rw
