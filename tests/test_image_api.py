"""The image API: Model.count_image / Model.image_tokens, options, profiles, errors.

Expected numbers come from the golden vectors (reference outputs) or from the public
contract (DESIGN.md: Qwen2.5-VL 1280x720 = 1196 placeholders + 2 wrappers = 1198).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings

import tokenmeter as tm
from strategies import image_pair_lists
from tokenmeter.encoders import get_rule_class
from tokenmeter.encoders.vision import LazyDerivation
from tokenmeter.errors import CatalogError, InvalidInputError
from tokenmeter.kernels import grid as kg
from tokenmeter.kernels._blocks import THREAD_MIN

GOLDEN = Path(__file__).parent / "golden" / "image"

IMAGE_MODELS = [
    "qwen2.5-vl-72b-instruct",
    "qwen3-vl-8b-instruct",
    "qwen2.5-omni-7b",
    "qwen-vl-max",
    "llava-1.5-7b",
    "llava-next-7b",
    "internvl2.5-8b",
    "pixtral-12b",
    "mistral-small-3.1-24b-instruct",
    "llama-3.2-11b-vision-instruct",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1-mini",
    "o4-mini",
    "gpt-image-1",
    "claude-sonnet-4-5",
    "claude-opus-4-7",
    "gemini-2.5-flash",
    "gemini-3-pro",
]


def _golden(name: str) -> dict[str, np.ndarray]:
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    return {k: np.asarray(v) for k, v in doc["columns"].items()}


def test_public_contract_qwen25_vl():
    c = tm.get_model("qwen2.5-vl-72b-instruct").count_image(1280, 720)
    assert c.tokens == 1198
    assert c.wrapper_tokens == 2
    assert c.placeholder_tokens == 1196
    assert c.resized == (728, 1288)
    assert c.grid == (1, 52, 92)
    assert c.encoder_patches == 52 * 92
    assert c.exact is True
    assert c.rule == "qwen.smart_resize[transformers]"
    assert c.source
    assert int(c) == 1198


def test_every_image_model_is_covered_here():
    with_images = {m for m in tm.list_models() if "image" in tm.get_model(m).modalities}
    kinds = {tm.get_model(m).rule("image").kind for m in with_images}
    covered = {tm.get_model(m).rule("image").kind for m in IMAGE_MODELS}
    assert kinds <= covered, kinds - covered


@pytest.mark.parametrize("model_id", IMAGE_MODELS)
@settings(max_examples=25)
@given(pairs=image_pair_lists)
def test_vector_equals_scalar_api(model_id, pairs):
    """image_tokens over an array equals count_image item by item (or both raise)."""
    model = tm.get_model(model_id)
    h = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    single = []
    for hh, ww in pairs:
        try:
            single.append(model.count_image(int(ww), int(hh)).tokens)
        except InvalidInputError:
            single.append(None)
    if None in single:
        with pytest.raises(InvalidInputError):
            model.image_tokens(w, h)
    else:
        got = model.image_tokens(w, h)
        assert got.dtype == np.int64
        assert got.tolist() == single
        assert (got >= 1).all()


@pytest.mark.parametrize(
    ("model_id", "profile", "golden", "expect"),
    [
        ("qwen2.5-vl-72b-instruct", None, "qwen_transformers_qwen2_vl", "qwen"),
        ("qwen3-vl-8b-instruct", None, "qwen_transformers_qwen3_vl", "qwen"),
        ("internvl2.5-8b", None, "internvl_max12", "internvl"),
        ("pixtral-12b", None, "pixtral_12b_mistral_common", "pixtral"),
        ("llava-next-7b", None, "llava_next", "llava_next"),
        ("llama-3.2-11b-vision-instruct", "hosted", "mllama", "mllama"),
        ("claude-sonnet-4-5", None, "anthropic_standard", "anthropic"),
    ],
)
def test_token_count_fields_match_reference(model_id, profile, golden, expect):
    """The derivation fields of TokenCount (resized size, grid, tiles, patches) are the
    reference's own intermediate values, on a sample of golden cases."""
    model = tm.get_model(model_id, profile=profile)
    c = _golden(golden)
    for i in np.flatnonzero(c["error"] == 0)[::97].tolist():
        h, w = int(c["h"][i]), int(c["w"][i])
        tc = model.count_image(w, h)
        if expect == "qwen":
            assert tc.resized == (c["resized_h"][i], c["resized_w"][i])
            assert tc.encoder_patches == c["patches"][i]
            patch = 16 if "qwen3" in model_id else 14
            assert tc.grid == (1, c["resized_h"][i] // patch, c["resized_w"][i] // patch)
        elif expect == "internvl":
            assert tc.tiles == c["patches"][i]
            assert tc.grid == (c["rows"][i], c["cols"][i])
        elif expect == "pixtral":
            assert tc.grid == (c["rows"][i], c["cols"][i])
            assert tc.wrapper_tokens == c["rows"][i]  # [IMG_BREAK] x (rows-1) + [IMG_END]
        elif expect == "llava_next":
            assert (tc.details["canvas_h"], tc.details["canvas_w"]) == (
                c["best_h"][i],
                c["best_w"][i],
            )
        elif expect == "mllama":
            assert tc.grid == (c["rows"][i], c["cols"][i])
            assert tc.tiles == c["rows"][i] * c["cols"][i]
            assert tc.encoder_patches == 1601 * tc.tiles
        elif expect == "anthropic":
            assert tc.resized == (c["resized_h"][i], c["resized_w"][i])


# -- profiles and options ----------------------------------------------------------------------


def test_qwen_profiles_differ_where_the_references_do():
    """10x2000 (h x w): qwen-vl-utils 71 placeholders, transformers 29 (rules.md §1,
    reproduced by the golden vectors)."""
    c = _golden("qwen_vl_utils_f28")
    t = _golden("qwen_transformers_qwen2_vl")
    i = int(np.flatnonzero((c["h"] == 10) & (c["w"] == 2000))[0])
    qvu = (c["resized_h"][i] // 28) * (c["resized_w"][i] // 28)
    hf = t["patches"][i] // 4
    assert (qvu, hf) == (71, 29)
    m = tm.get_model("qwen2.5-vl-7b-instruct")
    assert m.count_image(2000, 10).tokens == hf + 2
    assert m.with_profile("qwen-vl-utils").count_image(2000, 10).tokens == qvu + 2
    assert m.with_profile("qwen-vl-utils").count_image(2000, 10).rule.endswith("[qwen-vl-utils]")


def test_qwen_pixel_options_follow_the_reference():
    """max_pixels=1003520 per call equals the transformers-defaults profile (golden)."""
    c = _golden("qwen_transformers_defaults")
    ok = c["error"] == 0
    m = tm.get_model("qwen2.5-vl-7b-instruct")
    got = m.image_tokens(c["w"][ok], c["h"][ok], max_pixels=1003520)
    np.testing.assert_array_equal(got, c["patches"][ok] // 4 + 2)
    got = m.image_tokens(c["w"][ok], c["h"][ok], min_pixels=3136, max_pixels=1003520)
    np.testing.assert_array_equal(got, c["patches"][ok] // 4 + 2)
    with pytest.raises(InvalidInputError, match="min_pixels"):
        m.count_image(100, 100, min_pixels=10**6, max_pixels=10**5)
    with pytest.raises(InvalidInputError, match="max_pixels"):
        m.count_image(100, 100, max_pixels=-1)


def test_internvl_max_num_option():
    c = _golden("internvl_max6")
    m = tm.get_model("internvl2.5-8b")
    np.testing.assert_array_equal(m.image_tokens(c["w"], c["h"], max_num=6), 256 * c["patches"] + 2)
    with pytest.raises(InvalidInputError, match="max_num"):
        m.count_image(100, 100, max_num=0)
    with pytest.raises(InvalidInputError, match="exceeds"):
        m.count_image(100, 100, min_num=7, max_num=3)


def test_openai_detail_option():
    m = tm.get_model("gpt-4o")
    assert m.count_image(8192, 4096, detail="low").tokens == 85  # docs: any size, low
    high = m.count_image(1024, 1024, detail="high")
    assert high.tokens == 765
    assert high.exact
    assert high.tiles == 4
    auto = m.count_image(1024, 1024, detail="auto")
    assert auto.tokens == 765
    assert auto.exact is False
    assert "auto" in auto.method
    assert m.count_image(1024, 1024).tokens == 765  # the catalog's default detail: high
    with pytest.raises(InvalidInputError, match="detail"):
        m.count_image(1024, 1024, detail="ultra")
    # Patch models take `detail` and ignore it, as the docs say.
    pm = tm.get_model("gpt-4.1-mini")
    assert pm.count_image(1024, 1024, detail="low").tokens == pm.count_image(1024, 1024).tokens


def test_openai_patch_multiplier_is_an_estimate():
    tc = tm.get_model("gpt-4.1-mini").count_image(1024, 1024)
    assert tc.details["patches"] == 1024  # docs example
    assert tc.tokens == 1659  # 1024 x 1.62 = 1658.88, rounded half up
    assert tc.exact is False
    assert "1.62" in tc.method


def test_gemini_rules_are_estimates():
    g2 = tm.get_model("gemini-2.5-flash").count_image(384, 384)
    assert (g2.tokens, g2.exact) == (258, False)
    assert g2.method
    g3 = tm.get_model("gemini-3-pro")
    for res, budget in (
        ("low", 280),
        ("medium", 560),
        ("high", 1120),
        ("ultra_high", 2240),
        ("MEDIA_RESOLUTION_LOW", 280),
    ):
        tc = g3.count_image(1920, 1080, media_resolution=res)
        assert (tc.tokens, tc.exact) == (budget, False)
    assert g3.count_image(1920, 1080).tokens == 1120  # default: high
    with pytest.raises(InvalidInputError, match="media_resolution"):
        g3.count_image(10, 10, media_resolution="max")


def test_mllama_bills_one_decoder_token_by_default():
    m = tm.get_model("llama-3.2-11b-vision-instruct")
    tc = m.count_image(1920, 1080)
    assert tc.tokens == 1
    assert tc.tiles == 4
    assert tc.encoder_patches == 6404
    assert m.with_profile("hosted").count_image(1920, 1080).tokens == 6404  # rules.md §11


@pytest.mark.parametrize("model_id", IMAGE_MODELS)
def test_unknown_option_names_the_accepted_ones(model_id):
    m = tm.get_model(model_id)
    with pytest.raises(InvalidInputError, match="does not take option"):
        m.count_image(100, 100, no_such_option=1)


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("model_id", IMAGE_MODELS)
@pytest.mark.parametrize("bad", [0, -3, 2**31, 10**12, 1.0, float("nan"), True, "100", None])
def test_bad_scalar_sizes(model_id, bad):
    with pytest.raises(InvalidInputError):
        tm.get_model(model_id).count_image(bad, 100)


@pytest.mark.parametrize("model_id", IMAGE_MODELS)
def test_bad_arrays_name_the_index(model_id):
    m = tm.get_model(model_id)
    with pytest.raises(InvalidInputError, match=r"width\[2\]"):
        m.image_tokens(np.array([100, 200, 0, 5]), np.array([100, 100, 100, 100]))
    with pytest.raises(InvalidInputError, match=r"height\[1\].*1000000000000"):
        m.image_tokens(np.array([100, 200]), np.array([100, 10**12]))
    with pytest.raises(InvalidInputError, match="shapes differ"):
        m.image_tokens(np.array([100, 200, 300]), np.array([100, 100]))
    with pytest.raises(InvalidInputError, match="integers"):
        m.image_tokens(np.array([100.0, 200.0]), np.array([100, 100]))


def test_qwen_aspect_limit_names_index_and_value():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    with pytest.raises(InvalidInputError, match=r"image 3: height = 10, width = 2010 .* 201"):
        m.image_tokens([100, 100, 100, 2010], [100, 100, 100, 10])
    assert m.count_image(2000, 10).tokens == 31  # exactly 200:1 is allowed


def test_empty_and_shaped_arrays():
    m = tm.get_model("pixtral-12b")
    out = m.image_tokens(np.zeros((0,), np.int64), np.zeros((0,), np.int64))
    assert out.shape == (0,)
    assert out.dtype == np.int64
    w = np.array([[1920, 1280], [640, 1]])
    out = m.image_tokens(w, np.array([[1080, 720], [480, 1]]))
    assert out.shape == (2, 2)
    assert out[0, 0] == m.count_image(1920, 1080).tokens
    out = m.image_tokens(w, 1080)  # a scalar broadcasts
    assert out[1, 1] == m.count_image(1, 1080).tokens


# -- rules as data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("qwen.smart_resize", {"min_pixels": 10, "max_pixels": 5}),
        ("qwen.smart_resize", {"variant": "vllm"}),
        ("qwen.smart_resize", {"patch_size": 0}),
        ("qwen.smart_resize", {"max_ratio": float("inf")}),
        ("fixed", {"tokens": 0}),
        ("llava_next.anyres", {"pinpoints": [[336, 500]]}),
        ("llava_next.anyres", {"pinpoints": []}),
        ("internvl.dynamic", {"min_num": 5, "max_num": 2}),
        ("mistral.patch_grid", {"rounding": "ceil"}),
        ("mllama.tiles", {"bill": "both"}),
        ("openai.tiles", {"default_detail": "medium"}),
        ("openai.patches", {"multiplier": 1.62}),
        ("openai.patches", {"multiplier": "-1"}),
        ("openai.patches", {"multiplier": "abc"}),
        ("anthropic.patches", {"max_edge": 5}),
        ("gemini.tiles", {"tile_size": 0}),
        ("gemini.budget", {"budgets": {"high": 1120}, "default_resolution": "low"}),
        ("gemini.budget", {"budgets": {}}),
        ("qwen.smart_resize", {"no_such_constant": 1}),
    ],
)
def test_bad_rule_constants_are_catalog_errors(kind, params):
    with pytest.raises(CatalogError):
        get_rule_class(kind).from_params(params, where="test")


def test_rules_are_frozen():
    rule = tm.get_model("pixtral-12b").rule("image")
    with pytest.raises(AttributeError):
        rule.patch_size = 4  # type: ignore[misc]


def test_image_tokens_does_not_build_the_derivation(monkeypatch):
    """image_tokens reads only tokens; over many images the resized sides (a second
    kernel pass) are computed only when read. One image's derivation is a few Python
    operations and count_image reads all of it, so it is computed at once, once."""
    calls = []
    real = kg.smart_resize

    def spy(*a, **k):
        calls.append(type(a[0]))
        return real(*a, **k)

    monkeypatch.setattr(kg, "smart_resize", spy)
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    m.image_tokens(np.full(1000, 720), np.full(1000, 1280))
    assert calls == []
    res = m.rule("image").evaluate(np.array([720, 1080]), np.array([1280, 1920]))
    assert isinstance(res.derivation, LazyDerivation)
    assert calls == []
    assert res.derivation["resized_w"].tolist() == [1288, 1932]
    assert calls == [np.ndarray]
    calls.clear()
    c = m.count_image(1280, 720)
    assert calls == [int]  # the one-image path: Python ints, one call
    assert c.resized == (728, 1288)


# -- threads -----------------------------------------------------------------------------------


@pytest.mark.parametrize("threads", ["1", "2", "3"])
def test_threaded_kernel_equals_single_thread(monkeypatch, threads):
    rng = np.random.default_rng(11)
    n = THREAD_MIN + 12_345
    h = np.exp(rng.uniform(0, np.log(20_000), n)).astype(np.int64) + 1
    w = np.exp(rng.uniform(0, np.log(20_000), n)).astype(np.int64) + 1
    ok = np.maximum(h, w) <= 200 * np.minimum(h, w)
    h, w = h[ok], w[ok]
    monkeypatch.setenv("TOKENMETER_THREADS", "1")
    want, wp = kg.smart_resize_tokens(
        h, w, offset=2, patches_per_token=4, factor=28, min_pixels=3136, max_pixels=12845056
    )
    monkeypatch.setenv("TOKENMETER_THREADS", threads)
    got, gp = kg.smart_resize_tokens(
        h, w, offset=2, patches_per_token=4, factor=28, min_pixels=3136, max_pixels=12845056
    )
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(gp, wp)
    # A bad image in the last range and one in the first: the first one is reported.
    h2 = h.copy()
    h2[len(h2) - 5] = 0
    with pytest.raises(InvalidInputError, match=rf"height\[{len(h2) - 5}\]"):
        kg.smart_resize_tokens(h2, w, factor=28, min_pixels=3136, max_pixels=12845056)
    w2 = w.copy()
    w2[7] = 200 * h[7] + 1
    with pytest.raises(InvalidInputError, match=r"image 7:"):
        kg.smart_resize_tokens(h2, w2, factor=28, min_pixels=3136, max_pixels=12845056)


def test_zero_d_inputs_give_zero_d_outputs():
    kw = {"factor": 28, "min_pixels": 3136, "max_pixels": 12845056, "offset": 2}
    t, p = kg.smart_resize_tokens(np.array(720), np.array(1280), patches_per_token=4, **kw)
    assert t.shape == ()
    assert p.shape == ()
    assert (int(t), int(p)) == (1198, 4784)
    # One image as Python ints is the one-item path: Python ints out, the same numbers.
    assert kg.smart_resize_tokens(720, 1280, patches_per_token=4, **kw) == (1198, 4784)
    assert kg.smart_resize_tokens(np.int64(720), 1280, **kw)[0].shape == ()
