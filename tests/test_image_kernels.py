"""Properties of the tile and patch kernels against plain-Python reference loops.

Each ``ref_*`` below is a scalar transcription of the rule's reference (the function it
names), in plain Python with Python's own ``round``/``math``/``Fraction``: the kernels are
vectorized rewrites and must agree with these on every input. (The golden vectors check
both against the real packages; see ``test_image_golden.py``.)
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from strategies import extreme_sides, image_pair_lists, image_pairs
from tokenmeter.errors import InvalidInputError
from tokenmeter.kernels import imagecounts as ki
from tokenmeter.kernels import patches as kp
from tokenmeter.kernels import tiles as kt

# -- scalar references ----------------------------------------------------------------------------


def ref_openai_tiles(h, w, fit=2048, short=768, tile=512):
    """OpenAI's tile steps in exact arithmetic: the 2048 fit rounded (half to even), the
    short-side step floored (both as measured against the API), never below 1 px."""
    if max(h, w) > fit:
        s = Fraction(fit, max(h, w))
        h, w = (max(1, round(h * s)), fit) if w >= h else (fit, max(1, round(w * s)))
    if min(h, w) > short:
        s = Fraction(short, min(h, w))
        h, w = (short, math.floor(w * s)) if w >= h else (math.floor(h * s), short)
    return math.ceil(w / tile) * math.ceil(h / tile), h, w


def ref_openai_patches(h, w, patch=32, cap=1536, fit=0):
    """The docs' patch formula, with the square root taken in 60-digit decimal arithmetic
    and the rest in fractions; the scaled sides are floored to whole pixels."""
    if fit and max(h, w) > fit:
        s = Fraction(fit, max(h, w))
        h, w = (max(1, round(h * s)), fit) if w >= h else (fit, max(1, round(w * s)))
    raw = math.ceil(w / patch) * math.ceil(h / patch)
    if raw <= cap:
        return raw
    with localcontext() as ctx:
        ctx.prec = 60
        r = (Decimal(patch * patch * cap) / Decimal(w * h)).sqrt()
        kw = int((Decimal(w) * r / patch).to_integral_value(rounding="ROUND_FLOOR"))
        kh = int((Decimal(h) * r / patch).to_integral_value(rounding="ROUND_FLOOR"))
    # r' = r * min(kw / (w r / p), kh / (h r / p)) = min(p kw / w, p kh / h), exactly.
    r2 = min(Fraction(patch * kw, w), Fraction(patch * kh, h))
    cols = math.ceil(math.floor(w * r2) / patch)
    rows = math.ceil(math.floor(h * r2) / patch)
    return min(cap, cols * rows)


# ---- copied from Anthropic's vision docs (Resize your image before uploading) -----------------
def _count_image_tokens(width: int, height: int) -> int:
    return math.ceil(width / 28) * math.ceil(height / 28)


def ref_resized_size(width, height, max_edge=1568, max_tokens=1568):
    def fits(w: int, h: int) -> bool:
        return (
            math.ceil(w / 28) * 28 <= max_edge
            and math.ceil(h / 28) * 28 <= max_edge
            and _count_image_tokens(w, h) <= max_tokens
        )

    if fits(width, height):
        return (width, height)
    if height > width:
        resized_h, resized_w = ref_resized_size(height, width, max_edge, max_tokens)
        return (resized_w, resized_h)
    aspect_ratio = width / height
    lo, hi = 1, width
    while lo + 1 < hi:
        mid = (lo + hi) // 2
        if fits(mid, max(round(mid / aspect_ratio), 1)):
            lo = mid
        else:
            hi = mid
    return (lo, max(round(lo / aspect_ratio), 1))


# ---- end of the copy ---------------------------------------------------------------------------


def ref_mistral(h, w, patch, max_size, merge=1, rounding="round"):
    """mistral-common ``_image_to_num_tokens`` ("round") / transformers Pixtral ("floor");
    None where the floor variant leaves a zero side."""
    ratio = max(h / max_size, w / max_size)
    if ratio > 1:
        if rounding == "round":
            w, h = max(round(w / ratio), 1), max(round(h / ratio), 1)
        else:
            w, h = math.floor(w / ratio), math.floor(h / ratio)
    if h < 1 or w < 1:
        return None
    p = patch * merge
    return (h - 1) // p + 1, (w - 1) // p + 1


def ref_mllama(h, w, tile=560, max_tiles=4):
    """transformers ``mllama.get_optimal_tiled_canvas`` (numpy there, floats here)."""
    cands = [
        (a, b)
        for a in range(1, max_tiles + 1)
        for b in range(1, max_tiles + 1)
        if a * b <= max_tiles
    ]
    scales = []
    for a, b in cands:
        sh, sw = a * tile / h, b * tile / w
        scales.append(sh if sw > sh else sw)
    ups = [s for s in scales if s >= 1]
    sel = min(ups) if ups else max(s for s in scales if s < 1)
    chosen = [c for c, s in zip(cands, scales, strict=True) if s == sel]
    best = min(chosen, key=lambda c: c[0] * c[1])  # min() keeps the first on ties
    return best


def ref_internvl(h, w, tile=448, min_num=1, max_num=12):
    """``find_closest_aspect_ratio`` of the InternVL model card, candidates in
    transformers' order (by area, then columns)."""
    ratios = sorted(
        (
            (i, j)
            for i in range(1, max_num + 1)
            for j in range(1, max_num + 1)
            if min_num <= i * j <= max_num
        ),
        key=lambda x: x[0] * x[1],
    )
    aspect = w / h
    best_diff, best = float("inf"), (1, 1)
    for c, r in ratios:
        diff = abs(aspect - c / r)
        if diff < best_diff:
            best_diff, best = diff, (c, r)
        elif diff == best_diff and w * h > 0.5 * tile * tile * c * r:
            best = (c, r)
    return best


PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


def ref_llava_next(h, w, pinpoints=PINPOINTS, crop=336, patch=14):
    """transformers ``select_best_resolution`` + ``_get_unpadded_features``."""
    best, max_eff, min_waste = None, 0, float("inf")
    for ph, pw in pinpoints:
        scale = min(pw / w, ph / h)
        dw, dh = int(w * scale), int(h * scale)
        eff = min(dw * dh, w * h)
        waste = ph * pw - eff
        if eff > max_eff or (eff == max_eff and waste < min_waste):
            max_eff, min_waste, best = eff, waste, (ph, pw)
    bh, bw = best
    cur_h = (crop // patch) * (bh // crop)
    cur_w = (crop // patch) * (bw // crop)
    if w / h > cur_w / cur_h:
        new_h = int(round(h * (cur_w / w), 7))
        cur_h -= ((cur_h - new_h) // 2) * 2
    else:
        new_w = int(round(w * (cur_h / h), 7))
        cur_w -= ((cur_w - new_w) // 2) * 2
    return bh, bw, cur_h, cur_w


def _arrays(pairs):
    return np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])


# -- vector == scalar --------------------------------------------------------------------------

OPENAI_TILE_CONFIGS = [(2048, 768, 512), (2048, 512, 512)]


@pytest.mark.parametrize(("fit", "short", "tile"), OPENAI_TILE_CONFIGS)
@given(pairs=image_pair_lists)
def test_openai_tiles_vs_reference(fit, short, tile, pairs):
    h, w = _arrays(pairs)
    tiles, rh, rw = kt.openai_tiles(h, w, fit_size=fit, short_side=short, tile_size=tile)
    assert tiles.dtype == np.int64
    for i, (hh, ww) in enumerate(pairs):
        assert (int(tiles[i]), int(rh[i]), int(rw[i])) == ref_openai_tiles(hh, ww, fit, short, tile)
    assert (tiles >= 1).all()
    # After both steps the long side is <= fit and the short side <= short, so at most
    # ceil(fit/tile) * ceil(short/tile)... unless the fit already made the short side small.
    assert (tiles <= math.ceil(fit / tile) * math.ceil(fit / tile)).all()


@pytest.mark.parametrize("fit", [0, 2048])
@given(pairs=image_pair_lists)
def test_openai_patches_vs_reference(fit, pairs):
    h, w = _arrays(pairs)
    n, cols, rows = kp.openai_patches(h, w, fit_size=fit)
    assert n.dtype == np.int64
    for i, (hh, ww) in enumerate(pairs):
        assert int(n[i]) == ref_openai_patches(hh, ww, fit=fit)
    assert ((n >= 1) & (n <= 1536)).all()
    assert (n == np.minimum(cols * rows, 1536)).all()


@pytest.mark.parametrize(("edge", "cap"), [(1568, 1568), (2576, 4784), (1000, 100)])
@given(pairs=image_pair_lists)
def test_anthropic_vs_docs_code(edge, cap, pairs):
    h, w = _arrays(pairs)
    tokens, rh, rw = kp.anthropic_patches(h, w, max_edge=edge, max_tokens=cap)
    for i, (hh, ww) in enumerate(pairs):
        ew, eh = ref_resized_size(ww, hh, edge, cap)
        assert (int(rh[i]), int(rw[i])) == (eh, ew)
        assert int(tokens[i]) == _count_image_tokens(ew, eh)
    assert ((tokens >= 1) & (tokens <= cap)).all()
    assert ((-(-rh // 28) * 28 <= edge) & (-(-rw // 28) * 28 <= edge)).all()


@pytest.mark.parametrize(
    ("patch", "size", "merge", "rounding"),
    [
        (16, 1024, 1, "round"),
        (14, 1540, 2, "round"),
        (16, 1024, 1, "floor"),
        (14, 1540, 2, "floor"),
    ],
)
@given(pairs=image_pair_lists)
def test_mistral_vs_reference(patch, size, merge, rounding, pairs):
    h, w = _arrays(pairs)
    expected = [ref_mistral(hh, ww, patch, size, merge, rounding) for hh, ww in pairs]
    if any(e is None for e in expected):
        with pytest.raises(InvalidInputError, match=r"image \d+: .*floors to"):
            kp.mistral_patch_grid(
                h, w, patch_size=patch, max_image_size=size, merge_size=merge, rounding=rounding
            )
        return
    rows, cols = kp.mistral_patch_grid(
        h, w, patch_size=patch, max_image_size=size, merge_size=merge, rounding=rounding
    )
    assert list(zip(rows.tolist(), cols.tolist(), strict=True)) == expected
    side = -(-size // (patch * merge))
    assert ((rows >= 1) & (cols >= 1) & (rows <= side) & (cols <= side)).all()


@given(pairs=image_pair_lists, max_tiles=st.integers(1, 6))
def test_mllama_vs_reference(pairs, max_tiles):
    h, w = _arrays(pairs)
    rows, cols = kt.mllama_canvas(h, w, max_tiles=max_tiles)
    for i, (hh, ww) in enumerate(pairs):
        assert (int(rows[i]), int(cols[i])) == ref_mllama(hh, ww, 560, max_tiles)
    assert ((rows * cols >= 1) & (rows * cols <= max_tiles)).all()


@given(pairs=image_pair_lists, bounds=st.sampled_from([(1, 12), (1, 6), (1, 1), (2, 9), (1, 40)]))
def test_internvl_vs_reference(pairs, bounds):
    lo, hi = bounds
    h, w = _arrays(pairs)
    cols, rows = kt.internvl_grid(h, w, min_num=lo, max_num=hi)
    for i, (hh, ww) in enumerate(pairs):
        assert (int(cols[i]), int(rows[i])) == ref_internvl(hh, ww, 448, lo, hi)
    assert ((cols * rows >= lo) & (cols * rows <= hi)).all()


def test_internvl_exact_ties_take_the_reference_loop():
    """Sizes whose aspect ratio is exactly midway between two candidate ratios (a float
    tie in |w/h - c/r|): the kernel's fallback must reproduce the reference's order."""
    pairs = []
    for c1, r1, c2, r2 in [(1, 1, 2, 1), (2, 1, 3, 1), (3, 2, 2, 1), (1, 2, 1, 1), (4, 3, 3, 2)]:
        mid = (Fraction(c1, r1) + Fraction(c2, r2)) / 2
        for k in (1, 3, 50, 400, 2000):
            pairs.append((mid.denominator * k, mid.numerator * k))
    h, w = _arrays(pairs)
    cols, rows = kt.internvl_grid(h, w)
    for i, (hh, ww) in enumerate(pairs):
        assert (int(cols[i]), int(rows[i])) == ref_internvl(hh, ww)


@given(pairs=image_pair_lists)
def test_llava_next_vs_reference(pairs):
    h, w = _arrays(pairs)
    bh, bw, gh, gw = kt.llava_next_features(h, w, pinpoints=PINPOINTS)
    for i, (hh, ww) in enumerate(pairs):
        assert (int(bh[i]), int(bw[i]), int(gh[i]), int(gw[i])) == ref_llava_next(hh, ww)
    assert ((gh >= 0) & (gh <= 72) & (gw >= 0) & (gw <= 72)).all()


def test_llava_next_round7_edge():
    """Sizes where ``h * (cur_w / w)`` is an integer in exact arithmetic but a hair below
    it in floats (2.9999999999999996): ``int(round(x, 7))`` rounds up, ``int(x)`` would
    not. Built from w = cur_w * h / k, both orientations."""
    found = []
    for hh in range(1, 1500):
        for cw in (24, 48, 72):
            for k in range(1, cw + 1):
                if (cw * hh) % k == 0:
                    ww = cw * hh // k
                    x = hh * (cw / ww)
                    if int(round(x, 7)) != int(x):
                        found += [(hh, ww), (ww, hh)]
    assert len(found) > 100
    h, w = _arrays(found)
    bh, bw, gh, gw = kt.llava_next_features(h, w, pinpoints=PINPOINTS)
    for i, (hh, ww) in enumerate(found):
        assert (int(bh[i]), int(bw[i]), int(gh[i]), int(gw[i])) == ref_llava_next(hh, ww)


@given(pairs=image_pair_lists)
def test_gemini_tiles_formula(pairs):
    h, w = _arrays(pairs)
    tiles = kt.gemini_tiles(h, w)
    for i, (hh, ww) in enumerate(pairs):
        exp = 1 if hh <= 384 and ww <= 384 else math.ceil(hh / 768) * math.ceil(ww / 768)
        assert int(tiles[i]) == exp


# -- permutation equivariance ----------------------------------------------------------------------

KERNELS = {
    "openai_tiles": lambda h, w: kt.openai_tiles(h, w)[0],
    "openai_patches": lambda h, w: kp.openai_patches(h, w, fit_size=2048)[0],
    "anthropic": lambda h, w: kp.anthropic_patches(h, w)[0],
    "pixtral": lambda h, w: np.prod(
        kp.mistral_patch_grid(h, w, patch_size=16, max_image_size=1024), axis=0
    ),
    "mllama": lambda h, w: np.prod(kt.mllama_canvas(h, w), axis=0),
    "internvl": lambda h, w: np.prod(kt.internvl_grid(h, w), axis=0),
    "llava_next": lambda h, w: kt.llava_next_features(h, w, pinpoints=PINPOINTS)[2],
    "gemini": kt.gemini_tiles,
}


@pytest.mark.parametrize("name", sorted(KERNELS))
@settings(max_examples=100)
@given(pairs=image_pair_lists, data=st.data())
def test_permutation_equivariant(name, pairs, data):
    fn = KERNELS[name]
    h, w = _arrays(pairs)
    perm = np.array(data.draw(st.permutations(range(len(pairs)))))
    np.testing.assert_array_equal(fn(h[perm], w[perm]), fn(h, w)[perm])


SCALAR = {
    "openai_tiles": lambda h, w: ref_openai_tiles(h, w)[0],
    "openai_patches": lambda h, w: ref_openai_patches(h, w, fit=2048),
    "anthropic": lambda h, w: _count_image_tokens(*ref_resized_size(w, h)),
    "pixtral": lambda h, w: math.prod(ref_mistral(h, w, 16, 1024)),
    "mllama": lambda h, w: math.prod(ref_mllama(h, w)),
    "internvl": lambda h, w: math.prod(ref_internvl(h, w)),
    "llava_next": lambda h, w: ref_llava_next(h, w)[2],
    "gemini": lambda h, w: 1 if h <= 384 and w <= 384 else math.ceil(h / 768) * math.ceil(w / 768),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
@given(h=extreme_sides, w=extreme_sides)
def test_extreme_sides_no_overflow(name, h, w):
    """Sides at 1 and 2**31 - 1 (products near 2**62): the kernel equals the scalar
    reference computed with Python's unbounded ints, so nothing wrapped."""
    out = KERNELS[name](np.array([h]), np.array([w]))
    assert out.dtype == np.int64
    assert int(out[0]) == SCALAR[name](h, w)


@pytest.mark.parametrize("name", sorted(KERNELS))
@given(pair=image_pairs)
def test_shape_and_scalar_broadcast(name, pair):
    fn = KERNELS[name]
    h = np.full((2, 3), pair[0])
    out = fn(h, np.full((2, 3), pair[1]))
    assert out.shape == (2, 3)
    assert (out == out[0, 0]).all()


# -- monotonicity: stated where it holds, shown false where it does not ----------------------------


@given(h=st.integers(1, 20_000), w=st.integers(1, 20_000), d=st.integers(0, 5000))
def test_gemini_and_raw_patch_counts_are_monotone(h, w, d):
    assert kt.gemini_tiles([h], [w])[0] <= kt.gemini_tiles([h + d], [w])[0]
    # OpenAI patches are monotone while under the cap (before any scaling).
    a = kp.openai_patches([h], [w])[0]
    b = kp.openai_patches([h + d], [w])[0]
    if math.ceil((h + d) / 32) * math.ceil(w / 32) <= 1536:
        assert a <= b


NOT_MONOTONE = [
    # (kernel, (h, w) smaller, (h, w) one pixel wider or taller, why)
    ("openai_tiles", (768, 1030), (800, 1030), "the short side is scaled down to 768"),
    ("pixtral", (1000, 1024), (1000, 1100), "a wider image is scaled down more"),
    ("internvl", (500, 437), (500, 438), "the closest grid jumps from 3x4 to 1x1"),
    ("llava_next", (500, 307), (500, 308), "a wider image unpads to fewer rows"),
    ("anthropic", (1000, 1227), (1000, 1228), "the fit lands on a smaller grid"),
    ("mllama", (600, 1199), (600, 1200), "a canvas that needs no upscale wins"),
]


@pytest.mark.parametrize(("name", "a", "b", "why"), NOT_MONOTONE)
def test_not_monotone_examples(name, a, b, why):
    """These rules are not monotone in the image size (so no monotonicity property is
    tested for them); a concrete counterexample each, checked against the reference."""
    out = KERNELS[name](np.array([a[0], b[0]]), np.array([a[1], b[1]]))
    assert out.tolist() == [SCALAR[name](*a), SCALAR[name](*b)]
    assert out[0] > out[1], why


# -- bad input ---------------------------------------------------------------------------------

ALL = {
    **KERNELS,
    "mllama_canvas": lambda h, w: kt.mllama_canvas(h, w)[0],
}


@pytest.mark.parametrize("name", sorted(ALL))
@pytest.mark.parametrize("bad", [0, -1, 2**31, 10**12, 1.5, float("nan"), None, "7"])
def test_bad_sides_raise_invalid_input(name, bad):
    objects = bad is None or isinstance(bad, str)
    # Numbers are named by index; an object array is refused as a whole (its dtype).
    match = "must be integers" if objects else r"height\[1\]"
    with pytest.raises(InvalidInputError, match=match):
        ALL[name](np.array([10, bad], dtype=object if objects else None), np.array([10, 10]))


@pytest.mark.parametrize("name", sorted(ALL))
def test_mismatched_shapes_raise(name):
    with pytest.raises(InvalidInputError, match="shapes differ"):
        ALL[name](np.array([1, 2, 3]), np.array([1, 2]))


def test_bad_constants_raise():
    with pytest.raises(InvalidInputError):
        kt.openai_tiles([1], [1], fit_size=0)
    with pytest.raises(InvalidInputError):
        kt.openai_tiles([1], [1], short_rounding="ceil")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        kt.internvl_grid([1], [1], min_num=5, max_num=2)
    with pytest.raises(InvalidInputError):
        kp.mistral_patch_grid([1], [1], patch_size=16, max_image_size=1024, rounding="up")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        kt.llava_next_features([1], [1], pinpoints=[])
    with pytest.raises(InvalidInputError):
        kp.anthropic_patches([1], [1], max_edge=0)
    with pytest.raises(InvalidInputError):
        kp.openai_patches([1], [1], patch_size=True)  # type: ignore[arg-type]


def test_scale_by_decimal_rounds_half_up_exactly():
    counts = np.array([0, 1, 25, 1024, 1536, 10**12])
    got = kp.scale_by_decimal(counts, Fraction("1.62"))
    want = [int((Fraction(c) * Fraction("1.62") + Fraction(1, 2)) // 1) for c in counts.tolist()]
    assert got.tolist() == want
    assert kp.scale_by_decimal(np.array([25]), Fraction("1.62")).tolist() == [41]  # 40.5 -> 41


# -- the blocked count kernels equal the plain ones --------------------------------------------

FAST = {
    "openai_tiles": (
        lambda h, w: ki.openai_tile_counts(h, w),
        lambda h, w: kt.openai_tiles(h, w)[0],
    ),
    "openai_tiles_512": (
        lambda h, w: ki.openai_tile_counts(h, w, short_side=512, scale=129, offset=65),
        lambda h, w: 65 + 129 * kt.openai_tiles(h, w, short_side=512)[0],
    ),
    "openai_patches": (
        lambda h, w: ki.openai_patch_counts(h, w, fit_size=2048),
        lambda h, w: kp.openai_patches(h, w, fit_size=2048)[0],
    ),
    "openai_patches_nofit": (
        lambda h, w: ki.openai_patch_counts(h, w),
        lambda h, w: kp.openai_patches(h, w)[0],
    ),
    "pixtral": (
        lambda h, w: ki.mistral_token_counts(h, w, patch_size=16, max_image_size=1024)[0],
        lambda h, w: _pix(kp.mistral_patch_grid(h, w, patch_size=16, max_image_size=1024)),
    ),
    "mistral_small": (
        lambda h, w: ki.mistral_token_counts(
            h, w, patch_size=14, max_image_size=1540, merge_size=2
        )[0],
        lambda h, w: _pix(
            kp.mistral_patch_grid(h, w, patch_size=14, max_image_size=1540, merge_size=2)
        ),
    ),
    "mllama": (
        lambda h, w: ki.mllama_tile_counts(h, w),
        lambda h, w: np.prod(kt.mllama_canvas(h, w), axis=0),
    ),
    "mllama_6": (
        lambda h, w: ki.mllama_tile_counts(h, w, max_tiles=6),
        lambda h, w: np.prod(kt.mllama_canvas(h, w, max_tiles=6), axis=0),
    ),
    "llava_next": (
        lambda h, w: ki.llava_next_token_counts(h, w, pinpoints=PINPOINTS)[0],
        lambda h, w: _lnx(kt.llava_next_features(h, w, pinpoints=PINPOINTS)),
    ),
    "internvl": (
        lambda h, w: ki.internvl_tile_counts(h, w),
        lambda h, w: np.prod(kt.internvl_grid(h, w), axis=0),
    ),
    "internvl_6": (
        lambda h, w: ki.internvl_tile_counts(h, w, max_num=6),
        lambda h, w: np.prod(kt.internvl_grid(h, w, max_num=6), axis=0),
    ),
    "internvl_40": (
        lambda h, w: ki.internvl_tile_counts(h, w, min_num=2, max_num=40),
        lambda h, w: np.prod(kt.internvl_grid(h, w, min_num=2, max_num=40), axis=0),
    ),
    "gemini": (
        lambda h, w: ki.gemini_tile_counts(h, w),
        lambda h, w: kt.gemini_tiles(h, w),
    ),
    "gemini_big_small_side": (
        lambda h, w: ki.gemini_tile_counts(h, w, small_side=1000, tile_size=768),
        lambda h, w: kt.gemini_tiles(h, w, small_side=1000, tile_size=768),
    ),
    "anthropic": (
        lambda h, w: ki.anthropic_token_counts(h, w),
        lambda h, w: kp.anthropic_patches(h, w)[0],
    ),
    "anthropic_high": (
        lambda h, w: ki.anthropic_token_counts(h, w, max_edge=2576, max_tokens=4784),
        lambda h, w: kp.anthropic_patches(h, w, max_edge=2576, max_tokens=4784)[0],
    ),
    "anthropic_small": (
        lambda h, w: ki.anthropic_token_counts(h, w, max_edge=1000, max_tokens=100),
        lambda h, w: kp.anthropic_patches(h, w, max_edge=1000, max_tokens=100)[0],
    ),
}


def _pix(rc):
    return rc[0] * (rc[1] + 1)


def _lnx(f):
    return f[2] * (f[3] + 1) + 576


@pytest.mark.parametrize("name", sorted(FAST))
# 100 random lists each: the deterministic tests below cover the kernels' risky inputs
# (every open table cell's edges and every breakpoint ratio, one pixel either side).
@settings(max_examples=100)
@given(pairs=image_pair_lists)
def test_fast_counts_equal_plain_kernels(name, pairs):
    fast, plain = FAST[name]
    h, w = _arrays(pairs)
    got = fast(h, w)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, plain(h, w))


@pytest.mark.parametrize("name", sorted(FAST))
def test_fast_counts_many_blocks(name):
    """Several blocks, every size regime, extreme sides included."""
    rng = np.random.default_rng(5)
    n = 70_000
    h = np.exp(rng.uniform(0, np.log(30_000), n)).astype(np.int64) + 1
    w = np.exp(rng.uniform(0, np.log(30_000), n)).astype(np.int64) + 1
    h[:50] = rng.choice([1, 2, 3, 27, 28, 2**20, 2**31 - 1], 50)
    w[50:100] = rng.choice([1, 2, 3, 27, 28, 2**20, 2**31 - 1], 50)
    fast, plain = FAST[name]
    try:
        want = plain(h, w)
    except InvalidInputError:
        with pytest.raises(InvalidInputError):
            fast(h, w)
        return
    np.testing.assert_array_equal(fast(h, w), want)


# -- the two input forms: one image as Python ints == the array path == the reference ---------

# Every kernel, plain and count, with each family's constants; a kernel returns a tuple or
# one value, for arrays and for one image alike.
FORMS = {
    "openai_tiles": lambda h, w: kt.openai_tiles(h, w),
    "openai_tiles_alt": lambda h, w: kt.openai_tiles(
        h, w, short_side=512, fit_rounding="floor", short_rounding="round"
    ),
    "openai_tile_counts": lambda h, w: ki.openai_tile_counts(h, w, scale=170, offset=85),
    "openai_patches": lambda h, w: kp.openai_patches(h, w),
    "openai_patches_fit": lambda h, w: kp.openai_patches(h, w, fit_size=2048),
    "openai_patch_counts": lambda h, w: ki.openai_patch_counts(h, w, fit_size=2048),
    "anthropic": lambda h, w: kp.anthropic_patches(h, w),
    "anthropic_high": lambda h, w: kp.anthropic_patches(h, w, max_edge=2576, max_tokens=4784),
    "anthropic_small": lambda h, w: kp.anthropic_patches(h, w, max_edge=1000, max_tokens=100),
    "anthropic_counts": lambda h, w: ki.anthropic_token_counts(h, w),
    "anthropic_high_counts": lambda h, w: ki.anthropic_token_counts(
        h, w, max_edge=2576, max_tokens=4784
    ),
    "pixtral": lambda h, w: kp.mistral_patch_grid(h, w, patch_size=16, max_image_size=1024),
    "mistral_floor": lambda h, w: kp.mistral_patch_grid(
        h, w, patch_size=14, max_image_size=1540, merge_size=2, rounding="floor"
    ),
    "mistral_counts": lambda h, w: ki.mistral_token_counts(
        h, w, patch_size=14, max_image_size=1540, merge_size=2
    ),
    "mistral_floor_counts": lambda h, w: ki.mistral_token_counts(
        h, w, patch_size=16, max_image_size=1024, rounding="floor"
    ),
    "mllama": lambda h, w: kt.mllama_canvas(h, w),
    "mllama_6": lambda h, w: kt.mllama_canvas(h, w, max_tiles=6),
    "mllama_counts": lambda h, w: ki.mllama_tile_counts(h, w),
    "internvl": lambda h, w: kt.internvl_grid(h, w),
    "internvl_40": lambda h, w: kt.internvl_grid(h, w, min_num=2, max_num=40),
    "internvl_counts": lambda h, w: ki.internvl_tile_counts(h, w, max_num=6),
    "llava_next": lambda h, w: kt.llava_next_features(h, w, pinpoints=PINPOINTS),
    "llava_next_counts": lambda h, w: ki.llava_next_token_counts(
        h, w, pinpoints=PINPOINTS, per_crop=576
    ),
    "gemini": lambda h, w: kt.gemini_tiles(h, w),
    "gemini_counts": lambda h, w: ki.gemini_tile_counts(h, w, small_side=1000),
}

# The references of the plain kernels (the count kernels' are the plain ones, above).
FORM_REFS = {
    "openai_tiles": lambda h, w: ref_openai_tiles(h, w),
    "anthropic": lambda h, w: (lambda rw, rh: (_count_image_tokens(rw, rh), rh, rw))(
        *ref_resized_size(w, h)
    ),
    "anthropic_high": lambda h, w: (lambda rw, rh: (_count_image_tokens(rw, rh), rh, rw))(
        *ref_resized_size(w, h, 2576, 4784)
    ),
    "pixtral": lambda h, w: ref_mistral(h, w, 16, 1024),
    "mistral_floor": lambda h, w: ref_mistral(h, w, 14, 1540, 2, "floor"),
    "mllama": lambda h, w: ref_mllama(h, w),
    "mllama_6": lambda h, w: ref_mllama(h, w, max_tiles=6),
    "internvl": lambda h, w: ref_internvl(h, w),
    "internvl_40": lambda h, w: ref_internvl(h, w, min_num=2, max_num=40),
    "llava_next": lambda h, w: ref_llava_next(h, w),
}


def _as_tuple(x):
    return x if isinstance(x, tuple) else (x,)


def _one_form(fn, h, w):
    try:
        return _as_tuple(fn(h, w))
    except InvalidInputError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("name", sorted(FORMS))
@settings(max_examples=40)  # up to 30 images each; the golden tests run thousands more
@given(pairs=st.lists(st.one_of(image_pairs, st.tuples(extreme_sides, extreme_sides)), max_size=30))
def test_one_image_form_equals_array_form_and_reference(name, pairs):
    """Each image as two Python ints gives Python ints (int64-sized) equal to the array
    path's item, and to the plain-Python reference where there is one; where the one-item
    form refuses an image, the array form refuses the batch."""
    fn = FORMS[name]
    ones = [_one_form(fn, hh, ww) for hh, ww in pairs]
    ref = FORM_REFS.get(name)
    for (hh, ww), one in zip(pairs, ones, strict=True):
        if isinstance(one, str):
            assert "image 0:" in one  # one image is image 0
            if ref is not None:
                assert ref(hh, ww) is None
            continue
        assert all(type(v) is int and 0 <= v < 2**63 for v in one)
        if ref is not None:
            assert one == _as_tuple(ref(hh, ww))
        if name.startswith("openai_patches"):  # the reference gives the count only
            assert one[0] == ref_openai_patches(hh, ww, fit=2048 if "fit" in name else 0)
    if not pairs:
        return
    h, w = _arrays(pairs)
    if any(isinstance(one, str) for one in ones):
        first = next(i for i, one in enumerate(ones) if isinstance(one, str))
        with pytest.raises(InvalidInputError, match=rf"image {first}:"):
            fn(h, w)
        return
    whole = _as_tuple(fn(h, w))
    assert all(a.dtype == np.int64 for a in whole)
    assert list(zip(*(a.tolist() for a in whole), strict=True)) == ones


@pytest.mark.parametrize("name", sorted(FORMS))
def test_one_image_form_checks_sides_like_the_array_form(name):
    """A bad side given as a Python int raises the array path's own error; bools and
    numpy scalars are not the one-item form (they are arrays of one item)."""
    fn = FORMS[name]
    for bad in (0, -3, 2**31):
        with pytest.raises(InvalidInputError, match=r"height = .* is out of range"):
            fn(bad, 100)
        with pytest.raises(InvalidInputError, match=r"width = .* is out of range"):
            fn(100, bad)
    with pytest.raises(InvalidInputError, match="must be integers"):
        fn(True, 100)
    out = _as_tuple(fn(np.int64(1080), 1920))
    assert all(type(a) is not int and np.asarray(a).dtype == np.int64 for a in out)
    assert all(np.ndim(a) == 0 for a in out)
    assert [int(a) for a in out] == list(_as_tuple(fn(1080, 1920)))


# -- the fused outputs and the aspect-ratio tables of the count kernels ------------------------

FUSED = {
    # (count kernel, the same numbers from the plain kernel)
    "internvl_tokens": (
        lambda h, w: ki.internvl_token_counts(
            h, w, thumbnail=True, scale=256, offset=2, patch_scale=1024
        ),
        lambda h, w: (lambda n: (256 * n + 2, 1024 * n))(
            (lambda t: t + (t > 1))(np.prod(kt.internvl_grid(h, w), axis=0))
        ),
    ),
    "internvl_6_plain_tiles": (
        lambda h, w: ki.internvl_token_counts(h, w, max_num=6, scale=1),
        lambda h, w: (np.prod(kt.internvl_grid(h, w, max_num=6), axis=0), 0 * h),
    ),
    "llava_next_crops": (
        lambda h, w: ki.llava_next_token_counts(
            h, w, pinpoints=PINPOINTS, per_crop=575, crop_scale=577
        ),
        lambda h, w: (
            lambda f: (f[2] * (f[3] + 1) + 575, ((f[0] // 336) * (f[1] // 336) + 1) * 577)
        )(kt.llava_next_features(h, w, pinpoints=PINPOINTS)),
    ),
    "mllama_states": (
        lambda h, w: ki.mllama_tile_counts(h, w, scale=1601),
        lambda h, w: 1601 * np.prod(kt.mllama_canvas(h, w), axis=0),
    ),
    "openai_patches_multiplier": (
        lambda h, w: ki.openai_patch_counts(h, w, fit_size=2048, multiplier=Fraction("1.62")),
        lambda h, w: kp.scale_by_decimal(
            kp.openai_patches(h, w, fit_size=2048)[0], Fraction("1.62")
        ),
    ),
    "openai_patches_small_cap": (
        lambda h, w: ki.openai_patch_counts(h, w, patch_size=14, max_patches=300, fit_size=1000),
        lambda h, w: kp.openai_patches(h, w, patch_size=14, max_patches=300, fit_size=1000)[0],
    ),
    "gemini_tokens": (
        lambda h, w: ki.gemini_tile_counts(h, w, scale=258),
        lambda h, w: 258 * kt.gemini_tiles(h, w),
    ),
    "mistral_rows": (
        lambda h, w: ki.mistral_token_counts(h, w, patch_size=16, max_image_size=1024),
        lambda h, w: (lambda rc: (rc[0] * (rc[1] + 1), rc[0] * rc[1], rc[0]))(
            kp.mistral_patch_grid(h, w, patch_size=16, max_image_size=1024)
        ),
    ),
    "anthropic_high": FAST["anthropic_high"],
    "anthropic_small": FAST["anthropic_small"],
}
# The count kernels with a table over aspect ratios, and its cells.
TABLES = [
    "internvl_tokens",
    "internvl_6_plain_tiles",
    "llava_next_crops",
    "mllama_states",
    "openai_patches_multiplier",
    "openai_patches_small_cap",
    "anthropic_high",
    "anthropic_small",
]


def _same(fast, plain):
    got, want = _as_tuple(fast), _as_tuple(plain)
    assert len(got) == len(want)
    for g, e in zip(got, want, strict=True):
        assert g.dtype == np.int64
        np.testing.assert_array_equal(g, e)


@pytest.mark.parametrize("name", sorted(FUSED))
@settings(max_examples=40)
@given(pairs=image_pair_lists)
def test_fused_outputs_equal_plain_arithmetic(name, pairs):
    """The rules' scale, offset, thumbnail, multiplier and wrapper outputs, computed in
    the count kernels' own pass, equal the same arithmetic on the plain kernels."""
    fast, plain = FUSED[name]
    h, w = _arrays(pairs)
    _same(fast(h, w), plain(h, w))
    for hh, ww in pairs[:5]:  # and the one-image form
        assert _as_tuple(fast(hh, ww)) == tuple(
            int(x[0]) for x in _as_tuple(plain(h[:1] * 0 + hh, w[:1] * 0 + ww))
        )


def _edge_images(cells, scales=(1, 2, 3)):
    """Images whose w / (h + w) is exactly a cell boundary k / 65536, and their one-pixel
    neighbours on either side: the images whose cell float rounding decides."""
    k = np.asarray(cells, np.int64)
    k = k[(k > 0) & (k < 65536)]
    hs, ws = [], []
    for s in scales:
        for dh, dw in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)):
            hs.append((65536 - k) * s + dh)
            ws.append(k * s + dw)
    h, w = np.concatenate(hs), np.concatenate(ws)
    keep = (h >= 1) & (w >= 1)
    return h[keep], w[keep]


def _breakpoint_images():
    """Images at and one pixel off the aspect ratios where a table's value can change:
    pinpoint and grid ratios, their midpoints, and small-denominator rationals."""
    ratios = {Fraction(a, b) for a in range(1, 73) for b in range(1, 73)}
    ratios |= {Fraction(p[1], p[0]) for p in PINPOINTS}
    grids = sorted({Fraction(c, r) for c in range(1, 41) for r in range(1, 41) if c * r <= 40})
    ratios |= {(a + b) / 2 for a, b in itertools.pairwise(grids)}
    ratios |= {Fraction(k * k, 1536) for k in range(1, 200)} | {
        Fraction(1536, k * k) for k in range(1, 40)
    }
    hs, ws = [], []
    for q in ratios:
        for s in (1, 5, 37, 401):
            h, w = q.denominator * s, q.numerator * s
            for dh, dw in ((0, 0), (1, 0), (0, 1), (-1, 0), (0, -1)):
                if h + dh >= 1 and w + dw >= 1 and max(h, w) < 2**31:
                    hs.append(h + dh)
                    ws.append(w + dw)
    return np.array(hs), np.array(ws)


@pytest.mark.parametrize("name", TABLES)
def test_ratio_tables_at_cell_edges_and_breakpoints(name):
    """The table kernels equal the plain ones on images right at every cell boundary the
    table leaves open (and a sample of the others), one pixel either side, and at the
    aspect ratios where a rule's choice changes."""
    fast, plain = FUSED[name]
    rng = np.random.default_rng(17)
    tables = [
        ki._internvl_cells(448, 1, 12, True, 256, 2, 1024)[0],
        ki._llava_cells(tuple(map(tuple, PINPOINTS)), 336, 14, 575, 577)[0],
        ki._mllama_cells(4),
        ki._openai_patch_cells(32, 1536, 2048, Fraction("1.62"))[0],
        ki._anthropic_cells(2576, 4784, 28)[0],
    ]
    open_cells = np.unique(np.concatenate([np.flatnonzero(t < 0) for t in tables]))
    cells = np.concatenate(
        [open_cells - 1, open_cells, open_cells + 1, rng.integers(1, 65536, 3000)]
    )
    h1, w1 = _edge_images(cells)
    h2, w2 = _breakpoint_images()
    h, w = np.concatenate([h1, h2]), np.concatenate([w1, w2])
    _same(fast(h, w), plain(h, w))
    _same(fast(w, h), plain(w, h))  # both orientations


@pytest.mark.parametrize("name", TABLES)
def test_ratio_tables_extreme_and_tiny_images(name):
    """Thin, tiny and huge images (the tables' first and last cells, images inside a
    pinpoint, sides at 1 and 2**31 - 1)."""
    fast, plain = FUSED[name]
    sides = np.array(
        [
            1,
            2,
            3,
            13,
            14,
            27,
            28,
            29,
            335,
            336,
            337,
            447,
            448,
            449,
            671,
            672,
            1007,
            1008,
            1009,
            2047,
            2048,
            2049,
            2**20,
            2**31 - 1,
        ]
    )
    h, w = (x.ravel() for x in np.meshgrid(sides, sides))
    _same(fast(h, w), plain(h, w))


@pytest.mark.parametrize("name", sorted(FAST))
def test_count_kernels_in_threads_and_later_blocks(name, monkeypatch):
    """Split across threads (each with its own scratch), the counts equal one thread's;
    a bad side in a later block is named by its own index."""
    from tokenmeter.kernels import _blocks

    rng = np.random.default_rng(23)
    n = 2 * (1 << 16) + 123
    h = np.exp(rng.uniform(0, np.log(30_000), n)).astype(np.int64) + 1
    w = np.exp(rng.uniform(0, np.log(30_000), n)).astype(np.int64) + 1
    fast, plain = FAST[name]
    try:
        want = plain(h, w)
    except InvalidInputError:
        return  # transformers' Pixtral rounding refuses some thin image: checked elsewhere
    monkeypatch.setattr(_blocks, "THREAD_MIN", 1)
    monkeypatch.setenv("TOKENMETER_THREADS", "3")
    np.testing.assert_array_equal(fast(h, w), want)
    h[n - 7] = 0
    with pytest.raises(InvalidInputError, match=rf"height\[{n - 7}\]"):
        fast(h, w)
