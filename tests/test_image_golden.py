"""Image counts against golden vectors produced by the reference implementations.

The vectors in ``tests/golden/image/`` were written by ``tests/reference/gen_image_golden.py``,
which calls qwen-vl-utils, transformers' processors, mistral-common and the reference code
printed in Anthropic's docs (see ``tests/reference/README.md``). Nothing here computes an
expected value with tokenmeter's own code: every expectation is a reference output, or a
reference output plus the wrapper count that ``processors_e2e.json`` shows the full
processor adding.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenmeter as tm
from tokenmeter.errors import InvalidInputError
from tokenmeter.kernels import grid as kg
from tokenmeter.kernels import patches as kp
from tokenmeter.kernels import tiles as kt

GOLDEN = Path(__file__).parent / "golden" / "image"


@cache
def load(name: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    cols = {k: np.asarray(v) for k, v in doc["columns"].items()}
    return doc["meta"], cols


def _qwen_tokens(c: dict[str, np.ndarray]) -> np.ndarray:
    # get_number_of_image_patches / merge_size**2, plus <|vision_start|> and <|vision_end|>.
    return c["patches"] // 4 + 2


def _resized_tokens(factor: int):  # type: ignore[no-untyped-def]
    return lambda c: (c["resized_h"] // factor) * (c["resized_w"] // factor) + 2


def _pixtral(c: dict[str, np.ndarray]) -> np.ndarray:
    # rows of [IMG]*cols + [IMG_BREAK], the last break replaced by [IMG_END].
    return c["rows"] * (c["cols"] + 1)


# (golden file, model, profile, options, expected tokens from the reference columns)
CASES = [
    ("qwen_transformers_qwen2_vl", "qwen2.5-vl-72b-instruct", None, {}, _qwen_tokens),
    ("qwen_transformers_qwen2_vl", "qwen2-vl-7b-instruct", "vllm", {}, _qwen_tokens),
    ("qwen_transformers_qwen2_5_omni", "qwen2.5-omni-7b", None, {}, _qwen_tokens),
    ("qwen_transformers_qwen3_vl", "qwen3-vl-8b-instruct", None, {}, _qwen_tokens),
    (
        "qwen_transformers_defaults",
        "qwen2.5-vl-7b-instruct",
        "transformers-defaults",
        {},
        _qwen_tokens,
    ),
    (
        "qwen_transformers_defaults",
        "qwen2.5-vl-7b-instruct",
        None,
        {"max_pixels": 1003520},
        _qwen_tokens,
    ),
    (
        "qwen_vl_utils_f28",
        "qwen2.5-vl-72b-instruct",
        "qwen-vl-utils",
        {},
        _resized_tokens(28),
    ),
    ("qwen_vl_utils_f32", "qwen3-vl-8b-instruct", "qwen-vl-utils", {}, _resized_tokens(32)),
    ("qwen_vl_utils_dashscope", "qwen-vl-max", None, {}, _resized_tokens(28)),
    ("llava", "llava-1.5-7b", None, {}, lambda c: c["placeholders"]),
    ("llava_next", "llava-next-7b", None, {}, lambda c: c["placeholders"]),
    ("internvl_max12", "internvl2.5-8b", None, {}, lambda c: 256 * c["patches"] + 2),
    ("internvl_max6", "internvl2.5-8b", None, {"max_num": 6}, lambda c: 256 * c["patches"] + 2),
    ("pixtral_12b_mistral_common", "pixtral-12b", None, {}, _pixtral),
    ("pixtral_12b_mistral_common", "pixtral-large", "mistral-common", {}, _pixtral),
    ("pixtral_12b_transformers", "pixtral-12b", "transformers", {}, _pixtral),
    ("mistral_small_3_1_mistral_common", "mistral-small-3.1-24b-instruct", None, {}, _pixtral),
    (
        "mistral_small_3_1_transformers",
        "mistral-small-3.1-24b-instruct",
        "transformers",
        {},
        _pixtral,
    ),
    (
        "mllama",
        "llama-3.2-11b-vision-instruct",
        "hosted",
        {},
        lambda c: 1601 * c["rows"] * c["cols"],
    ),
    ("mllama", "llama-3.2-90b-vision-instruct", None, {}, lambda c: np.ones_like(c["rows"])),
    ("anthropic_standard", "claude-sonnet-4-5", None, {}, lambda c: c["tokens"]),
    ("anthropic_standard", "claude-3-5-haiku", None, {}, lambda c: c["tokens"]),
    ("anthropic_high", "claude-opus-4-7", None, {}, lambda c: c["tokens"]),
    ("anthropic_high", "claude-opus-4-8", None, {}, lambda c: c["tokens"]),
]


def _id(case: tuple[Any, ...]) -> str:
    name, model, profile, opts = case[:4]
    extra = ",".join(f"{k}={v}" for k, v in opts.items())
    return f"{name}:{model}" + (f"[{profile}]" if profile else "") + (f"({extra})" if extra else "")


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_tokens_match_reference(case: tuple[Any, ...]) -> None:
    name, model_id, profile, opts, expected = case
    _, c = load(name)
    model = tm.get_model(model_id, profile=profile)
    ok = c["error"] == 0
    assert ok.sum() >= 700, "too few cases to mean anything"
    got = model.image_tokens(c["w"][ok], c["h"][ok], **opts)
    want = expected(c)[ok]
    assert got.dtype == np.int64
    bad = np.flatnonzero(got != want)
    assert bad.size == 0, [
        (int(c["h"][ok][i]), int(c["w"][ok][i]), int(got[i]), int(want[i])) for i in bad[:10]
    ]


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_tokens_match_reference_one_image_at_a_time(case: tuple[Any, ...]) -> None:
    """The same vectors through the scalar API's path: ``count_image`` on Python ints,
    which the rules evaluate in Python, one image at a time."""
    name, model_id, profile, opts, expected = case
    _, c = load(name)
    model = tm.get_model(model_id, profile=profile)
    ok = np.flatnonzero(c["error"] == 0)
    want = expected(c)[ok].tolist()
    got = [
        model.count_image(w, h, **opts).tokens
        for h, w in zip(c["h"][ok].tolist(), c["w"][ok].tolist(), strict=True)
    ]
    bad = [i for i, (g, e) in enumerate(zip(got, want, strict=True)) if g != e]
    assert bad == [], [(int(c["h"][ok][i]), int(c["w"][ok][i]), got[i], want[i]) for i in bad]


# (golden file, kernel on one image, the reference columns it must give)
KERNEL_CASES = [
    *[
        (n, lambda h, w, a=a: kg.smart_resize(h, w, **a), ("resized_h", "resized_w"))
        for n, a in [
            (
                "qwen_transformers_qwen2_vl",
                {"factor": 28, "min_pixels": 3136, "max_pixels": 12845056},
            ),
            (
                "qwen_transformers_qwen3_vl",
                {"factor": 32, "min_pixels": 65536, "max_pixels": 16777216},
            ),
            (
                "qwen_vl_utils_f28",
                {
                    "factor": 28,
                    "min_pixels": 3136,
                    "max_pixels": 12845056,
                    "variant": "qwen-vl-utils",
                },
            ),
            (
                "qwen_vl_utils_dashscope",
                {
                    "factor": 28,
                    "min_pixels": 3136,
                    "max_pixels": 1003520,
                    "variant": "qwen-vl-utils",
                },
            ),
        ]
    ],
    (
        "anthropic_standard",
        lambda h, w: kp.anthropic_patches(h, w),
        ("tokens", "resized_h", "resized_w"),
    ),
    (
        "anthropic_high",
        lambda h, w: kp.anthropic_patches(h, w, max_edge=2576, max_tokens=4784),
        ("tokens", "resized_h", "resized_w"),
    ),
    (
        "llava_next",
        lambda h, w: kt.llava_next_features(
            h, w, pinpoints=[[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
        )[:2],
        ("best_h", "best_w"),
    ),
    ("internvl_max12", lambda h, w: kt.internvl_grid(h, w), ("cols", "rows")),
    ("internvl_max6", lambda h, w: kt.internvl_grid(h, w, max_num=6), ("cols", "rows")),
    ("mllama", lambda h, w: kt.mllama_canvas(h, w), ("rows", "cols")),
    (
        "pixtral_12b_mistral_common",
        lambda h, w: kp.mistral_patch_grid(h, w, patch_size=16, max_image_size=1024),
        ("rows", "cols"),
    ),
    (
        "mistral_small_3_1_transformers",
        lambda h, w: kp.mistral_patch_grid(
            h, w, patch_size=14, max_image_size=1540, merge_size=2, rounding="floor"
        ),
        ("rows", "cols"),
    ),
]


@pytest.mark.parametrize("case", KERNEL_CASES, ids=lambda c: c[0])
def test_kernels_on_one_image_match_reference(case: tuple[Any, ...]) -> None:
    """Each kernel's one-image form (Python ints in, Python ints out) gives the
    reference's own intermediate values on every golden case it accepts."""
    name, fn, cols = case
    _, c = load(name)
    ok = np.flatnonzero(c["error"] == 0) if "error" in c else np.arange(len(c["h"]))
    got = [tuple(fn(h, w)) for h, w in zip(c["h"][ok].tolist(), c["w"][ok].tolist(), strict=True)]
    want = list(zip(*(c[k][ok].tolist() for k in cols), strict=True))
    assert got == want


@pytest.mark.parametrize("case", [c for c in CASES if (load(c[0])[1]["error"] == 1).any()], ids=_id)
def test_reference_errors_are_invalid_input(case: tuple[Any, ...]) -> None:
    """Where the reference raises (aspect > 200) or cannot process the image (a side
    rounds to zero), tokenmeter raises InvalidInputError naming the image, never a count."""
    name, model_id, profile, opts, _ = case
    _, c = load(name)
    model = tm.get_model(model_id, profile=profile)
    bad = np.flatnonzero(c["error"] == 1)
    for i in bad.tolist():
        with pytest.raises(InvalidInputError, match="image 0"):
            model.count_image(int(c["w"][i]), int(c["h"][i]), **opts)
    # In a batch, the message names the first bad image's index.
    order = np.r_[np.flatnonzero(c["error"] == 0)[:5], bad[:1]]
    with pytest.raises(InvalidInputError, match=r"image 5\b"):
        model.image_tokens(c["w"][order], c["h"][order], **opts)


@pytest.mark.parametrize(
    ("name", "factor", "lo", "hi", "variant"),
    [
        ("qwen_transformers_qwen2_vl", 28, 3136, 12845056, "transformers"),
        ("qwen_transformers_qwen3_vl", 32, 65536, 16777216, "transformers"),
        ("qwen_transformers_defaults", 28, 3136, 1003520, "transformers"),
        ("qwen_vl_utils_f28", 28, 3136, 12845056, "qwen-vl-utils"),
        ("qwen_vl_utils_f32", 32, 4096, 16777216, "qwen-vl-utils"),
        ("qwen_vl_utils_dashscope", 28, 3136, 1003520, "qwen-vl-utils"),
    ],
)
def test_smart_resize_sides_match_reference(name, factor, lo, hi, variant):
    _, c = load(name)
    ok = c["error"] == 0
    rh, rw = kg.smart_resize(
        c["h"][ok], c["w"][ok], factor=factor, min_pixels=lo, max_pixels=hi, variant=variant
    )
    np.testing.assert_array_equal(rh, c["resized_h"][ok])
    np.testing.assert_array_equal(rw, c["resized_w"][ok])


@pytest.mark.parametrize(
    ("name", "edge", "cap"), [("anthropic_standard", 1568, 1568), ("anthropic_high", 2576, 4784)]
)
def test_anthropic_resized_size_matches_docs_code(name, edge, cap):
    _, c = load(name)
    tokens, rh, rw = kp.anthropic_patches(c["h"], c["w"], max_edge=edge, max_tokens=cap)
    np.testing.assert_array_equal(rh, c["resized_h"])
    np.testing.assert_array_equal(rw, c["resized_w"])
    np.testing.assert_array_equal(tokens, c["tokens"])


def test_llava_next_canvas_matches_select_best_resolution():
    _, c = load("llava_next")
    bh, bw, _, _ = kt.llava_next_features(
        c["h"], c["w"], pinpoints=[[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    )
    np.testing.assert_array_equal(bh, c["best_h"])
    np.testing.assert_array_equal(bw, c["best_w"])


@pytest.mark.parametrize(("name", "max_num"), [("internvl_max12", 12), ("internvl_max6", 6)])
def test_internvl_grid_matches_both_orderings(name, max_num):
    _, c = load(name)
    cols, rows = kt.internvl_grid(c["h"], c["w"], max_num=max_num)
    np.testing.assert_array_equal(cols, c["cols"])
    np.testing.assert_array_equal(rows, c["rows"])
    # The model card's set-ordered candidates pick the same grid on every case.
    np.testing.assert_array_equal(c["card_cols"], c["cols"])
    np.testing.assert_array_equal(c["card_rows"], c["rows"])


def test_mllama_canvas_matches_reference():
    _, c = load("mllama")
    rows, cols = kt.mllama_canvas(c["h"], c["w"])
    np.testing.assert_array_equal(rows, c["rows"])
    np.testing.assert_array_equal(cols, c["cols"])


@pytest.mark.parametrize(
    ("name", "patch", "size", "merge", "rounding"),
    [
        ("pixtral_12b_mistral_common", 16, 1024, 1, "round"),
        ("pixtral_12b_transformers", 16, 1024, 1, "floor"),
        ("mistral_small_3_1_mistral_common", 14, 1540, 2, "round"),
        ("mistral_small_3_1_transformers", 14, 1540, 2, "floor"),
    ],
)
def test_mistral_grid_matches_reference(name, patch, size, merge, rounding):
    _, c = load(name)
    ok = c["error"] == 0
    rows, cols = kp.mistral_patch_grid(
        c["h"][ok],
        c["w"][ok],
        patch_size=patch,
        max_image_size=size,
        merge_size=merge,
        rounding=rounding,
    )
    np.testing.assert_array_equal(rows, c["rows"][ok])
    np.testing.assert_array_equal(cols, c["cols"][ok])


# -- end to end: what the full processors put in input_ids ---------------------------------

E2E_MODELS = {
    "qwen2_vl": ("qwen2.5-vl-72b-instruct", None),
    "llava": ("llava-1.5-7b", None),
    "llava_next": ("llava-next-7b", None),
    "internvl": ("internvl2.5-8b", None),
    "pixtral_transformers": ("pixtral-12b", "transformers"),
    "pixtral_12b_mistral_common": ("pixtral-12b", None),
    "mistral_small_3_1_mistral_common": ("mistral-small-3.1-24b-instruct", None),
    "mllama": ("llama-3.2-11b-vision-instruct", None),
}


def test_full_processors_match_counts_and_wrappers():
    """Real images through the full processors: placeholder ids + wrapper ids in
    ``input_ids`` equal ``tokens`` and ``wrapper_tokens``; InternVL's pixel_values tiles
    and Mllama's num_tiles equal ``tiles``."""
    _, c = load("processors_e2e")
    families = set(c["family"].tolist())
    assert set(E2E_MODELS) <= families, families - set(E2E_MODELS)
    checked = 0
    for i in range(len(c["h"])):
        fam = str(c["family"][i])
        model_id, profile = E2E_MODELS[fam]
        model = tm.get_model(model_id, profile=profile)
        h, w = int(c["h"][i]), int(c["w"][i])
        if c["placeholders"][i] < 0:
            with pytest.raises(InvalidInputError):
                model.count_image(w, h)
            continue
        tc = model.count_image(w, h)
        where = (fam, h, w)
        assert tc.tokens == c["placeholders"][i] + c["wrappers"][i], where
        assert tc.wrapper_tokens == c["wrappers"][i], where
        if c["tiles"][i] >= 0:
            want = c["tiles"][i]
            assert (tc.tiles if fam == "internvl" else tc.grid[0] * tc.grid[1]) == want, where
        checked += 1
    assert checked >= 140


# -- documented vendor examples -----------------------------------------------------------


def _vendor_rows() -> list[tuple[Any, ...]]:
    _, c = load("vendor_examples")
    keys = ("model", "option", "h", "w", "quantity", "value", "source")
    return [tuple(c[k][i].item() for k in keys) for i in range(len(c["model"]))]


@pytest.mark.parametrize("row", _vendor_rows(), ids=lambda r: f"{r[0]}-{r[3]}x{r[2]}-{r[4]}")
def test_vendor_documented_examples(row: tuple[Any, ...]) -> None:
    model_id, option, h, w, quantity, value, source = row
    model = tm.get_model(model_id)
    opts: dict[str, Any] = {}
    if option:
        key = "media_resolution" if model_id.startswith("gemini") else "detail"
        opts[key] = option
    tc = model.count_image(int(w), int(h), **opts)
    got = {
        "tokens": tc.tokens,
        "tiles": tc.tiles,
        "patches": tc.details.get("patches"),
        "resized_w": tc.resized[1] if tc.resized else None,
        "resized_h": tc.resized[0] if tc.resized else None,
    }[quantity]
    assert got == value, source
