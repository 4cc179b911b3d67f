"""Properties of the Qwen ``smart_resize`` kernel against a plain-Python reference loop.

The reference functions below are transcriptions of the two published ``smart_resize``
functions (transformers' ``image_processing_qwen2_vl.smart_resize`` and qwen-vl-utils'
``vision_process.smart_resize``), kept deliberately literal. The kernel is checked against
them here; the golden vectors in ``tests/golden/image/`` check both against the real
packages.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from strategies import sides
from tokenmeter.errors import InvalidInputError
from tokenmeter.kernels import grid

QWEN25 = {"factor": 28, "min_pixels": 3136, "max_pixels": 12845056}
QWEN3 = {"factor": 32, "min_pixels": 65536, "max_pixels": 16777216}
DASHSCOPE = {"factor": 28, "min_pixels": 3136, "max_pixels": 1003520}
CONFIGS = [QWEN25, QWEN3, DASHSCOPE]
VARIANTS = ["transformers", "qwen-vl-utils"]


def ref_transformers(height, width, factor, min_pixels, max_pixels):
    """transformers 5.24.0 models/qwen2_vl/image_processing_qwen2_vl.py smart_resize."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def ref_qwen_vl_utils(height, width, factor, min_pixels, max_pixels):
    """qwen-vl-utils 0.0.14 vision_process.py smart_resize."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError("aspect")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = math.floor(height / beta / factor) * factor
        w_bar = math.floor(width / beta / factor) * factor
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


REFS = {"transformers": ref_transformers, "qwen-vl-utils": ref_qwen_vl_utils}


def ref_or_none(variant, h, w, cfg):
    """The reference result, or None where the reference raises or yields a zero side."""
    try:
        hb, wb = REFS[variant](h, w, **cfg)
    except ValueError:
        return None
    return None if hb <= 0 or wb <= 0 else (hb, wb)


# Pairs within the 200:1 limit, from tiny to huge.
def _pair(h, r):
    return h, max(1, min(2**31 - 1, round(h * r)))


valid_pairs = st.builds(_pair, sides, st.floats(1 / 200, 200)).filter(
    lambda p: max(p) / min(p) <= 200
)
pair_lists = st.lists(valid_pairs, min_size=1, max_size=60)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("cfg", CONFIGS, ids=["qwen2.5", "qwen3", "dashscope"])
@given(pairs=pair_lists)
def test_vector_equals_scalar_reference(variant, cfg, pairs):
    h = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    rh, rw = grid.smart_resize(h, w, variant=variant, **cfg)
    assert rh.dtype == np.int64
    assert rw.dtype == np.int64
    for i, (hh, ww) in enumerate(pairs):
        assert (int(rh[i]), int(rw[i])) == REFS[variant](hh, ww, **cfg)
    assert (rh % cfg["factor"] == 0).all()
    assert (rh >= cfg["factor"]).all()
    assert (rw >= cfg["factor"]).all()
    tokens, patches = grid.smart_resize_tokens(
        h, w, variant=variant, offset=2, patches_per_token=4, **cfg
    )
    f = cfg["factor"]
    assert tokens.tolist() == ((rh // f) * (rw // f) + 2).tolist()
    assert patches.tolist() == ((rh // f) * (rw // f) * 4).tolist()
    gh, gw = grid.smart_resize_grid(h, w, variant=variant, **cfg)
    assert gh.tolist() == (rh // f).tolist()
    assert gw.tolist() == (rw // f).tolist()


@pytest.mark.parametrize("variant", VARIANTS)
@given(
    h=st.integers(1, 20_000),
    w=st.integers(1, 20_000),
    factor=st.sampled_from([1, 2, 14, 16, 28, 32, 56]),
    lo=st.integers(0, 10**6),
    span=st.integers(0, 2 * 10**7),
)
def test_any_constants_match_reference_or_raise(variant, h, w, factor, lo, span):
    """Arbitrary bounds (including ones that drive a side to zero) match or raise."""
    cfg = {"factor": factor, "min_pixels": lo, "max_pixels": max(lo + span, 1)}
    expected = ref_or_none(variant, h, w, cfg)
    if expected is None:
        with pytest.raises(InvalidInputError, match=r"image 0"):
            grid.smart_resize([h], [w], variant=variant, **cfg)
    else:
        rh, rw = grid.smart_resize([h], [w], variant=variant, **cfg)
        assert (int(rh[0]), int(rw[0])) == expected
        assert grid.smart_resize_scalar(h, w, variant=variant, **cfg) == expected


def _outcome(fn, *args, **kw):
    """The result, or the refusal's message."""
    try:
        return fn(*args, **kw)
    except InvalidInputError as exc:
        return f"refused: {exc}"


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize(
    "cfg",
    [*CONFIGS, {"factor": 28, "min_pixels": 3136, "max_pixels": 3136}],
    ids=["qwen2.5", "qwen3", "dashscope", "zero-sides"],
)
@settings(max_examples=40)  # up to 40 images each; the golden tests run thousands more
@given(pairs=st.lists(st.tuples(sides, sides), min_size=1, max_size=40))
def test_one_image_form_equals_array_form_and_reference(variant, cfg, pairs):
    """One image given as Python ints (the scalar API's path) gives Python ints equal to
    the array path's item and to the reference; where the reference refuses (aspect beyond
    200:1, a zero side) both forms refuse with the same message, naming image 0."""
    h = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    kw = {"variant": variant, **cfg}
    f = cfg["factor"]
    ones = [_outcome(grid.smart_resize, hh, ww, **kw) for hh, ww in pairs]
    for (hh, ww), one in zip(pairs, ones, strict=True):
        expected = ref_or_none(variant, hh, ww, cfg)
        assert one == _outcome(grid.smart_resize, np.array([hh]), np.array([ww]), **kw) or (
            isinstance(one, tuple)
            and [int(x[0]) for x in grid.smart_resize(np.array([hh]), np.array([ww]), **kw)]
            == list(one)
        )
        if expected is None:
            assert isinstance(one, str)
            assert "image 0:" in one
            continue
        assert one == expected
        assert all(type(x) is int for x in one)
        assert grid.smart_resize_grid(hh, ww, **kw) == (one[0] // f, one[1] // f)
        t, pt = grid.smart_resize_tokens(hh, ww, offset=2, patches_per_token=4, **kw)
        assert (t, pt) == ((one[0] // f) * (one[1] // f) + 2, (one[0] // f) * (one[1] // f) * 4)
        assert grid.smart_resize_tokens(hh, ww, **kw)[1] is None
    whole = _outcome(grid.smart_resize_tokens, h, w, offset=2, **kw)
    if any(isinstance(one, str) for one in ones):
        # The array form names a refused image (aspect ratios are checked block-wide
        # before any resize, so a later too-thin image may be named before a zero side).
        assert isinstance(whole, str)
        named = int(whole.split("image ")[1].split(":")[0])
        assert isinstance(ones[named], str)
    else:
        assert whole[0].tolist() == [(a // f) * (b // f) + 2 for a, b in ones]


@pytest.mark.parametrize("variant", VARIANTS)
@given(pairs=pair_lists, data=st.data())
def test_permutation_equivariant(variant, pairs, data):
    h = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    perm = np.array(data.draw(st.permutations(range(len(pairs)))))
    t, _ = grid.smart_resize_tokens(h, w, variant=variant, **QWEN25)
    tp, _ = grid.smart_resize_tokens(h[perm], w[perm], variant=variant, **QWEN25)
    assert tp.tolist() == t[perm].tolist()


def test_not_monotone_in_size():
    """Tokens are NOT monotone in the side lengths, so no monotonicity property is tested:
    one pixel more can cross into the max_pixels branch, whose floor lands below the
    bound (3584x3598 -> 16384 tokens, 3584x3599 -> 16256), or out of the min_pixels
    branch, whose ceil overshoots (1x3 -> 8 tokens, 1x4 -> 4). Between the branches the
    count is monotone (rounding is)."""
    t, _ = grid.smart_resize_tokens([3584, 3584, 1, 1], [3598, 3599, 3, 4], **QWEN25)
    assert t.tolist() == [16384, 16256, 8, 4]
    for h, w in [(3584, 3598), (3584, 3599), (1, 3), (1, 4)]:
        assert math.prod(x // 28 for x in ref_transformers(h, w, **QWEN25)) in t.tolist()


@given(h=st.integers(1, 5000), w=st.integers(1, 5000), dh=st.integers(0, 500))
def test_monotone_inside_the_unresized_range(h, w, dh):
    """Where neither image is resized, more pixels never mean fewer tokens."""
    t, _ = grid.smart_resize_tokens([h, h + dh], [w, w], max_ratio=1e9, **QWEN25)
    rounded = [round(x / 28) * round(w / 28) for x in (h, h + dh)]
    assume(all(4 <= r <= 16384 for r in rounded))
    assert t[0] <= t[1]


@given(h=st.integers(1, 20_000), w=st.integers(1, 20_000))
def test_tokens_within_bounds(h, w):
    """Where the reference accepts an image, tokens lie in [min, max] tokens of the config
    (qwen-vl-utils can only fall short of min_pixels by its ceil rounding, never below 1)."""
    assume(max(h, w) / min(h, w) <= 200)
    for variant in VARIANTS:
        t, _ = grid.smart_resize_tokens([h], [w], variant=variant, **QWEN25)
        assert 4 <= int(t[0]) <= 16384


@pytest.mark.parametrize(
    ("h", "w", "variant", "expected"),
    [
        # rules.md §1 edge cases, reproduced by the golden vectors too.
        (10, 2000, "qwen-vl-utils", 71),
        (10, 2000, "transformers", 29),
        (1, 200, "qwen-vl-utils", 7),
        (1, 200, "transformers", 29),
        (14, 2800, "qwen-vl-utils", 100),
        (14, 2800, "transformers", 29),
        # rules.md says 3584x3584 = 16384, but the reference's float steps give
        # 20000 / sqrt(4e8 / 12845056) / 28 = 127.99999999999999 -> floor 127: 3556x3556.
        (20000, 20000, "transformers", 16129),
        (20000, 20000, "qwen-vl-utils", 16129),
    ],
)
def test_documented_edge_cases(h, w, variant, expected):
    t, _ = grid.smart_resize_tokens([h], [w], variant=variant, **QWEN25)
    assert int(t[0]) == expected
    assert int(t[0]) == math.prod(x // 28 for x in REFS[variant](h, w, **QWEN25))


def test_banker_rounding():
    # 22.5 * 28 = 630: round(22.5) == 22 in Python, so 630 -> 616, while 658 (23.5) -> 672.
    rh, rw = grid.smart_resize([630, 658, 14 * 28], [630, 658, 15 * 28], **QWEN25)
    assert rh.tolist() == [616, 672, 392]
    assert rw.tolist() == [616, 672, 420]


class TestBadInput:
    def test_aspect_names_index_and_value(self):
        with pytest.raises(InvalidInputError, match=r"image 2: height = 1, width = 201"):
            grid.smart_resize([100, 100, 1], [100, 100, 201], **QWEN25)

    def test_aspect_in_a_later_block(self):
        n = 150_000  # three blocks
        h = np.full(n, 500)
        w = np.full(n, 500)
        w[n - 7] = 500 * 201
        with pytest.raises(InvalidInputError, match=rf"image {n - 7}:"):
            grid.smart_resize_tokens(h, w, **QWEN25)

    def test_exactly_200_is_allowed(self):
        rh, rw = grid.smart_resize([1], [200], **QWEN25)
        assert (int(rh[0]), int(rw[0])) == ref_transformers(1, 200, **QWEN25)

    @pytest.mark.parametrize("value", [0, -5, 2**31, 10**12, 1.5, float("nan"), "12", None])
    def test_bad_sides(self, value):
        with pytest.raises(InvalidInputError):
            grid.smart_resize([100, value], [100, 100], **QWEN25)

    def test_bool_array(self):
        with pytest.raises(InvalidInputError):
            grid.smart_resize(np.array([True, False]), np.array([100, 100]), **QWEN25)

    def test_huge_side_names_index(self):
        with pytest.raises(InvalidInputError, match=r"height\[1\] = .*1000000000000"):
            grid.smart_resize(np.array([5, 10**12]), np.array([5, 10**12]), **QWEN25)

    def test_shapes_differ(self):
        with pytest.raises(InvalidInputError, match="shapes differ"):
            grid.smart_resize([1, 2, 3], [1, 2], **QWEN25)

    def test_float_dtype(self):
        with pytest.raises(InvalidInputError, match="integers"):
            grid.smart_resize(np.array([100.0]), np.array([100]), **QWEN25)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"factor": 0},
            {"factor": 28.0},
            {"min_pixels": -1},
            {"max_pixels": 0},
            {"min_pixels": 10**6, "max_pixels": 10**5},
            {"max_ratio": float("nan")},
            {"max_ratio": 0.5},
            {"variant": "vllm"},
        ],
    )
    def test_bad_constants(self, kwargs):
        with pytest.raises(InvalidInputError):
            grid.smart_resize([100], [100], **{**QWEN25, **kwargs})

    def test_zero_side_raises(self):
        # qwen-vl-utils' max_pixels branch floors without clamping: 100x1000 at
        # max_pixels 3136 floors the height to 0; the reference then cannot resize.
        assert ref_qwen_vl_utils(100, 1000, 28, 3136, 3136)[0] == 0
        with pytest.raises(InvalidInputError, match=r"image 0: .* resizes to 0x"):
            grid.smart_resize(
                [100], [1000], factor=28, min_pixels=3136, max_pixels=3136, variant="qwen-vl-utils"
            )


def test_shape_preserved_and_scalar_broadcast():
    h = np.array([[100, 2000], [720, 1080]])
    rh, rw = grid.smart_resize(h, 1280, **QWEN25)
    assert rh.shape == (2, 2)
    assert rw.shape == (2, 2)
    assert (int(rh[1, 0]), int(rw[1, 0])) == ref_transformers(720, 1280, **QWEN25)


def test_empty():
    rh, rw = grid.smart_resize(np.array([], np.int64), np.array([], np.int64), **QWEN25)
    assert rw.shape == (0,)
    assert rh.shape == (0,)
    assert rh.dtype == np.int64


@pytest.mark.parametrize("variant", VARIANTS)
def test_huge_sides_no_overflow(variant):
    """Sides near 2**31 (h*w near 2**62, past float64's exact range) take the exact
    scalar path: the result equals the reference and nothing wraps."""
    big = 2**31 - 1
    cases = [(big, big), (big, big // 200 + 1), (big // 3, big // 7), (94906267, 94906267)]
    h = np.array([c[0] for c in cases])
    w = np.array([c[1] for c in cases])
    rh, rw = grid.smart_resize(h, w, variant=variant, **QWEN25)
    for i, (hh, ww) in enumerate(cases):
        assert (int(rh[i]), int(rw[i])) == REFS[variant](hh, ww, **QWEN25)
    t, p = grid.smart_resize_tokens(h, w, variant=variant, patches_per_token=4, **QWEN25)
    assert (t <= 16384).all()
    assert (p == 4 * t).all()
    # The one-image form computes in Python ints (which never wrap): the same numbers.
    for i, (hh, ww) in enumerate(cases):
        assert grid.smart_resize(hh, ww, variant=variant, **QWEN25) == (int(rh[i]), int(rw[i]))


def test_many_blocks_match_reference():
    """More items than one block, including resize branches scattered across blocks."""
    rng = np.random.default_rng(7)
    n = 150_000  # three blocks
    h = np.exp(rng.uniform(0, np.log(30_000), n)).astype(np.int64) + 1
    r = np.exp(rng.uniform(-np.log(150), np.log(150), n))
    w = np.clip(np.rint(h * r), 1, 2**31 - 1).astype(np.int64)
    ok = np.maximum(h, w) / np.minimum(h, w) <= 200
    h, w = h[ok], w[ok]
    for variant in VARIANTS:
        t, _ = grid.smart_resize_tokens(h, w, variant=variant, **QWEN25)
        idx = rng.choice(len(h), 3000, replace=False)
        for i in idx.tolist():
            hb, wb = REFS[variant](int(h[i]), int(w[i]), **QWEN25)
            assert int(t[i]) == (hb // 28) * (wb // 28)
