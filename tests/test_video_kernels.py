"""The video kernels' two paths, and the block machinery, against references.

Every kernel takes one video as Python numbers (the scalar API's path, the reference's
own Python arithmetic) or many as arrays (numpy, walked in blocks with reused scratch
arrays). These properties check, item by item:

* array path == one-item path, options included, and both refuse the same videos;
* both == a plain-Python transcription of the reference (``smart_resize`` with per-video
  bounds, Qwen3-VL's timestamp loop);
* a rule over many blocks (and threads) == the same rule one video at a time, errors
  naming the right video;
* the scalar fast path of ``Model.count_video`` == the array path on the same numbers.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from tokenmeter.errors import InvalidInputError
from tokenmeter.kernels import _blocks
from tokenmeter.kernels import video as kv
from tokenmeter.kernels.grid import smart_resize_grid

FPS = [1.0, 8.0, 23.976023976023978, 24.0, 25.0, 29.97002997002997, 30.0, 50.0, 60.0, 120.0]


def items(*arrays: np.ndarray) -> list[tuple[Any, ...]]:
    return list(zip(*(a.tolist() for a in arrays), strict=True))


def outcome(fn: Any, *args: Any, **kw: Any) -> Any:
    """The result, or the marker of a refusal."""
    try:
        return fn(*args, **kw)
    except InvalidInputError:
        return "refused"


def result(fn: Any, *args: Any, **kw: Any) -> Any:
    """The result, or the refusal's message."""
    try:
        return fn(*args, **kw)
    except InvalidInputError as exc:
        return f"refused: {exc}"


# -- frame sampling: array path == one-item path ------------------------------------------


@settings(max_examples=60)
@given(
    seed=st.integers(0, 2**32 - 1),
    opts=st.fixed_dictionaries(
        {},
        optional={
            "fps": st.sampled_from([0.5, 1.0, 2.0, 4.0]),
            "min_frames": st.integers(0, 10),
            "max_frames": st.integers(2, 900),
            "nframes": st.integers(1, 1000),
        },
    ),
)
def test_qwen_vl_utils_nframes_paths(seed: int, opts: dict[str, Any]) -> None:
    rng = np.random.default_rng(seed)
    total = rng.integers(1, 5000, 50)
    src = np.array(FPS)[rng.integers(0, len(FPS), 50)]
    whole = outcome(kv.qwen_vl_utils_nframes, total, src, **opts)
    one = [outcome(kv.qwen_vl_utils_nframes, t, f, **opts) for t, f in items(total, src)]
    if isinstance(whole, str):
        assert "refused" in one
    else:
        assert whole.dtype == np.int64
        assert whole.tolist() == one


@settings(max_examples=60)
@given(
    seed=st.integers(0, 2**32 - 1),
    opts=st.fixed_dictionaries(
        {},
        optional={
            "fps": st.sampled_from([0.5, 1.0, 2.0, 4.0]),
            "min_frames": st.integers(1, 10),
            "max_frames": st.integers(2, 900),
            "num_frames": st.integers(1, 1000),
        },
    ),
)
def test_hf_nframes_paths(seed: int, opts: dict[str, Any]) -> None:
    rng = np.random.default_rng(seed)
    total = rng.integers(1, 5000, 50)
    src = np.array(FPS)[rng.integers(0, len(FPS), 50)]
    whole = outcome(kv.hf_qwen2_nframes, total, src, **opts)
    one = [outcome(kv.hf_qwen2_nframes, t, f, **opts) for t, f in items(total, src)]
    if isinstance(whole, str):
        assert "refused" in one
    else:
        assert whole.tolist() == one
    q3 = kv.hf_qwen3_nframes(total, src, **opts)
    assert q3.tolist() == [kv.hf_qwen3_nframes(t, f, **opts) for t, f in items(total, src)]


def test_nframes_refusal_names_the_first_bad_video_at_its_offset() -> None:
    total = np.array([300, 300, 1, 300])
    with pytest.raises(InvalidInputError, match=r"^video 12: qwen-vl-utils would sample 0 of 1"):
        kv.qwen_vl_utils_nframes(total, 30.0, offset=10)
    with pytest.raises(InvalidInputError, match=r"^video 7: transformers' sample_frames"):
        kv.hf_qwen2_nframes(total, 30.0, offset=5)


@given(
    d=st.lists(st.floats(0.0, 1e7), min_size=1, max_size=40),
    rate=st.sampled_from([0.25, 1.0, 3.0, 1 / 3]),
)
def test_frames_at_rate_paths(d: list[float], rate: float) -> None:
    whole = kv.frames_at_rate(np.array(d), rate)
    assert whole.tolist() == [kv.frames_at_rate(x, rate) for x in d]
    # numpy's round(x, 6) is rint(x * 1e6) / 1e6 (not Python's correctly rounded round).
    assert whole.tolist() == [max(1, math.ceil(float(np.round(x * rate, 6)))) for x in d]


@given(n=st.integers(1, 3 * _blocks.BLOCK), seed=st.integers(0, 2**32 - 1))
@settings(max_examples=10)
def test_source_frames_is_rint_in_blocks(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    d = np.round(rng.uniform(0, 1e4, n), 3)
    f = np.array(FPS)[rng.integers(0, len(FPS), n)]
    assert kv.source_frames(d, f).tolist() == np.rint(d * f).astype(np.int64).tolist()


# -- smart_resize with per-video bounds -------------------------------------------------------


def ref_smart_resize(h: int, w: int, f: int, lo: float, hi: float, variant: str) -> tuple[int, int]:
    """The image smart_resize of transformers (clamp after the floor) or qwen-vl-utils
    (clamp after rounding; its float max_pixels), literally."""
    if max(h, w) / min(h, w) > 200:
        raise ValueError("aspect")
    hb, wb = round(h / f) * f, round(w / f) * f
    if variant == "qwen-vl-utils":
        hb, wb = max(f, hb), max(f, wb)
    if hb * wb > hi:
        beta = math.sqrt((h * w) / hi)
        hb, wb = math.floor(h / beta / f) * f, math.floor(w / beta / f) * f
        if variant == "transformers":
            hb, wb = max(f, hb), max(f, wb)
    elif hb * wb < lo:
        beta = math.sqrt(lo / (h * w))
        hb, wb = math.ceil(h * beta / f) * f, math.ceil(w * beta / f) * f
    if hb <= 0 or wb <= 0:
        raise ValueError("zero")
    return hb // f, wb // f


frame = st.tuples(
    st.integers(1, 8000),
    st.integers(1, 8000),
    st.floats(20_000, 3e7) | st.integers(20_000, 30_000_000),
)


@pytest.mark.parametrize("variant", ["transformers", "qwen-vl-utils"])
@settings(max_examples=60)
@given(frames=st.lists(frame, min_size=1, max_size=40), lo=st.sampled_from([0, 3136, 100352]))
def test_per_frame_grid_paths_and_reference(variant: str, frames: list[Any], lo: int) -> None:
    frames = [(h, w, m) for h, w, m in frames if max(h, w) / min(h, w) <= 200 and m >= lo]
    if not frames:
        return
    h = np.array([x[0] for x in frames])
    w = np.array([x[1] for x in frames])
    hi = np.array([float(x[2]) for x in frames])
    whole = outcome(
        kv.bounded_grid, None, h, w, factor=28, min_pixels=lo, max_pixels=hi, variant=variant
    )
    want = []
    for hh, ww, mm in frames:
        try:
            want.append(ref_smart_resize(hh, ww, 28, lo, float(mm), variant))
        except ValueError:
            want.append("refused")
    one = [
        outcome(
            kv.bounded_grid,
            None,
            hh,
            ww,
            factor=28,
            min_pixels=lo,
            max_pixels=float(mm),
            variant=variant,
        )
        for hh, ww, mm in frames
    ]
    assert one == want
    if isinstance(whole, str):
        assert "refused" in want
    else:
        assert list(zip(whole[0].tolist(), whole[1].tolist(), strict=True)) == want


@settings(max_examples=40)
@given(
    pairs=st.lists(
        st.tuples(st.integers(1, 20_000), st.integers(1, 20_000)), min_size=1, max_size=40
    ),
    bounds=st.sampled_from([(3136, 12_845_056), (65536, 16_777_216), (0, 1_003_520)]),
)
def test_fixed_bounds_one_video_path_is_the_image_kernel(
    pairs: list[tuple[int, int]], bounds: tuple[int, int]
) -> None:
    """count_video's one-video path sizes frames with bounded_grid; the array path with
    grid.smart_resize_grid. They must agree (and refuse the same sizes)."""
    lo, hi = bounds
    pairs = [(h, w) for h, w in pairs if max(h, w) / min(h, w) <= 200]
    for h, w in pairs:
        try:
            want = tuple(
                int(x[0])
                for x in smart_resize_grid(
                    [h], [w], factor=28, min_pixels=lo, max_pixels=hi, variant="transformers"
                )
            )
        except InvalidInputError:
            want = "refused"
        got = outcome(
            kv.bounded_grid,
            None,
            h,
            w,
            factor=28,
            min_pixels=lo,
            max_pixels=hi,
            variant="transformers",
        )
        assert got == want


def test_grid_errors_name_the_video() -> None:
    h = np.array([720, 720, 100, 720])
    w = np.array([1280, 1280, 30_000, 1280])
    with pytest.raises(InvalidInputError, match=r"^video 42: .*aspect ratio"):
        kv.bounded_grid(
            None,
            h,
            w,
            factor=28,
            min_pixels=3136,
            max_pixels=602112.0,
            variant="qwen-vl-utils",
            offset=40,
        )
    with pytest.raises(InvalidInputError, match=r"^video 1: min_pixels = 100352 exceeds"):
        kv.bounded_grid(
            None,
            h[:2],
            w[:2],
            factor=28,
            min_pixels=100352,
            max_pixels=np.array([602112.0, 50000.0]),
            variant="qwen-vl-utils",
        )


@settings(max_examples=40)
@given(
    items_=st.lists(
        st.tuples(st.integers(2, 800), st.integers(1, 5000), st.integers(1, 5000)),
        min_size=1,
        max_size=30,
    )
)
def test_qwen3_grid_paths(items_: list[tuple[int, int, int]]) -> None:
    items_ = [(n, h, w) for n, h, w in items_ if max(h, w) / min(h, w) <= 150]
    if not items_:
        return
    n, h, w = (np.array(x) for x in zip(*items_, strict=True))
    kw = {"factor": 32, "temporal_factor": 2, "min_pixels": 4096, "max_pixels": 25165824}
    rh, rw = kv.qwen3_video_grid(n, h, w, **kw)
    assert list(zip(rh.tolist(), rw.tolist(), strict=True)) == [
        kv.qwen3_video_grid(a, b, c, **kw) for a, b, c in items_
    ]


# -- Qwen3-VL timestamps: closed form == the reference loop -----------------------------------


def loop_digits(total: int, m: int, fps: float, linspace: str) -> int:
    idx = (kv.linspace_round_f32 if linspace == "torch" else kv.linspace_round_f64)(total - 1, m)
    return kv.timestamp_digits_loop(idx, fps)


def test_digit_thresholds_are_the_first_floats_with_one_more_digit() -> None:
    for k, c in enumerate(kv._TS_THRESHOLDS, start=1):
        assert len(f"{c:.1f}") - 2 == k + 1
        assert len(f"{math.nextafter(c, -math.inf):.1f}") - 2 == k


@pytest.mark.parametrize("linspace", ["numpy", "torch"])
@settings(max_examples=80)
@given(
    total=st.integers(1, 400_000),
    m=st.integers(1, 1500),
    fps=st.sampled_from([*FPS, 0.3, 7.0, 10.0, 100.0, 1000.0, 1e-3]) | st.floats(0.05, 500.0),
)
def test_timestamp_digits_closed_form(linspace: str, total: int, m: int, fps: float) -> None:
    want = loop_digits(total, m, fps, linspace)
    assert kv.qwen3_timestamp_digits(total, m, fps, linspace=linspace) == want
    got = kv.qwen3_timestamp_digits(
        np.array([total, total]), np.array([m, m]), fps, linspace=linspace
    )
    assert got.tolist() == [want, want]


@pytest.mark.parametrize("linspace", ["numpy", "torch"])
def test_timestamp_digits_at_the_digit_boundaries(linspace: str) -> None:
    """Group times landing on and around 9.95 and 99.95 s: every clip length from 1 to
    2100 frames at rates whose group times are multiples of 0.05 s or near them."""
    total = np.arange(1, 2101)
    for fps in (10.0, 20.0, 29.97002997002997, 100.0, 3.0):
        for m in (1, 2, 3, 5, 65):
            mm = np.minimum(m, total)
            got = kv.qwen3_timestamp_digits(total, mm, fps, linspace=linspace)
            want = [
                loop_digits(int(t), int(k), fps, linspace)
                for t, k in zip(total.tolist(), mm.tolist(), strict=True)
            ]
            assert got.tolist() == want, (fps, m)


def test_timestamp_digits_outside_the_closed_form_take_the_loop() -> None:
    # More frames than the clip (an explicit nframes), and absurdly long timestamps.
    total = np.array([10, 10, 5_000_000])
    m = np.array([40, 7, 600])
    fps = np.array([30.0, 30.0, 1e-9])
    want = [loop_digits(t, k, f, "numpy") for t, k, f in items(total, m, fps)]
    assert kv.qwen3_timestamp_digits(total, m, fps).tolist() == want
    assert [kv.qwen3_timestamp_digits(t, k, f) for t, k, f in items(total, m, fps)] == want


def test_timestamp_digits_in_blocks_with_scratch() -> None:
    rng = np.random.default_rng(7)
    n = 3 * _blocks.BLOCK + 5
    total = rng.integers(1, 60 * 60 * 60, n)
    m = np.minimum(rng.integers(1, 769, n), total)
    fps = np.array(FPS)[rng.integers(0, len(FPS), n)]
    out = np.empty(n, np.int64)

    def block(start: int, stop: int, scratch: _blocks.Scratch) -> None:
        out[start:stop] = kv.qwen3_timestamp_digits(
            total[start:stop], m[start:stop], fps[start:stop], scratch=scratch
        )

    _blocks.run_blocks(block, n)
    sample = rng.integers(0, n, 300)
    assert out[sample].tolist() == [
        loop_digits(int(total[i]), int(m[i]), float(fps[i]), "numpy") for i in sample
    ]


# -- DiT ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [(4, 8, 1, 2, 1, True), (4, 8, 1, 2, 1, False), (4, 8, 2, 2, 2, False), (3, 6, 1, 3, 1, True)],
)
def test_dit_tokens_only_path(cfg: tuple[int, ...]) -> None:
    vt, vs, pt, phw, pad, down = cfg
    rng = np.random.default_rng(1)
    h = rng.integers(1, 5000, 500)
    w = rng.integers(1, 5000, 500)
    nf = rng.integers(1, 3000, 500)
    kw = {
        "vae_temporal": vt,
        "vae_spatial": vs,
        "patch_t": pt,
        "patch_hw": phw,
        "pad_latent_t": pad,
        "frame_multiple_round_down": down,
    }
    tokens = kv.dit_latent_grid(h, w, nf, **kw)[3]
    assert kv.dit_latent_tokens(h, w, nf, **kw).tolist() == tokens.tolist()
    assert tokens.tolist() == [kv.dit_latent_grid(a, b, c, **kw)[3] for a, b, c in items(h, w, nf)]


# -- rules over many blocks and threads -------------------------------------------------------

RULES: list[tuple[str, str | None, dict[str, Any]]] = [
    ("qwen2.5-vl-72b-instruct", None, {}),
    ("qwen2.5-vl-72b-instruct", None, {"cap_pixels_per_frame": True}),
    ("qwen2.5-vl-72b-instruct", "qwen-vl-utils", {}),
    ("qwen2.5-vl-72b-instruct", "vllm-opencv", {}),
    ("qwen3-vl-8b-instruct", None, {}),
    ("qwen3-vl-8b-instruct", None, {"cap_pixels_per_frame": True}),
    ("qwen3-vl-8b-instruct", "qwen-vl-utils", {}),
    ("qwen2.5-omni-7b", None, {"use_audio_in_video": True}),
    ("gemini-2.5-flash", None, {}),
    ("wan2.1-t2v", None, {}),
    ("cogvideox1.5", None, {}),
]


def many_videos(n: int, dit: bool, seed: int = 3) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    sizes = np.array(
        [
            [1280, 720],
            [1920, 1080],
            [854, 480],
            [640, 360],
            [3840, 2160],
            [720, 1280],
            [100, 56],
            [2000, 30],
        ]
    )
    if dit:
        sizes = sizes - sizes % 16 + 16
    pick = rng.integers(0, len(sizes), n)
    d = np.round(rng.uniform(4, 4000, n), 2)
    rates = np.array(FPS[1:])  # at least 8 fps: every clip has enough frames for every rule
    return sizes[pick, 0], sizes[pick, 1], d, rates[rng.integers(0, len(rates), n)]


@pytest.mark.parametrize(("model", "profile", "opts"), RULES)
def test_rules_in_blocks_equal_one_video_at_a_time(
    model: str, profile: str | None, opts: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    m = tm.get_model(model, profile=profile)
    dit = m.rule("video").kind == "dit.latent"
    n = 2 * _blocks.BLOCK + 77
    w, h, d, fps = many_videos(n, dit)
    f = None if dit else fps
    got = m.video_tokens(w, h, d, f, **opts)
    # The same on two threads (the pool takes over from THREAD_MIN items).
    monkeypatch.setattr(_blocks, "THREAD_MIN", 1)
    monkeypatch.setenv("TOKENMETER_THREADS", "2")
    assert m.video_tokens(w, h, d, f, **opts).tolist() == got.tolist()
    res = (
        None
        if dit
        else m.rule("video").evaluate(h, w, d, fps, np.rint(d * fps).astype(np.int64), **opts)
    )
    sample = np.random.default_rng(0).integers(0, n, 60)
    for i in sample.tolist():
        c = m.count_video(int(w[i]), int(h[i]), float(d[i]), None if dit else float(fps[i]), **opts)
        assert c.tokens == got[i]
        if res is not None:
            # The derivation is computed on first access, for the whole call.
            assert res.derivation["frames"][i] == c.frames
            if c.grid:
                assert tuple(res.derivation[k][i] for k in ("grid_t", "grid_h", "grid_w")) == c.grid
            assert int(res.wrapper_tokens[i]) == c.wrapper_tokens
            if c.encoder_patches is not None:
                assert res.encoder_patches is not None
                assert int(res.encoder_patches[i]) == c.encoder_patches


@pytest.mark.parametrize("model", ["qwen2.5-vl-72b-instruct", "qwen3-vl-8b-instruct", "wan2.1-t2v"])
def test_an_error_in_a_later_block_names_that_video(model: str) -> None:
    m = tm.get_model(model)
    n = 2 * _blocks.BLOCK + 10
    dit = m.rule("video").kind == "dit.latent"
    w, h, d, fps = many_videos(n, dit)
    w, h = w.copy(), h.copy()
    bad = _blocks.BLOCK + 123
    w[bad], h[bad] = (30_000, 100) if not dit else (1000, 720)
    with pytest.raises(InvalidInputError, match=rf"(video|image) {bad}\b"):
        m.video_tokens(w, h, d, None if dit else fps)


# -- Model.count_video's scalar fast path == the array path -------------------------------------


@pytest.mark.parametrize(("model", "profile", "opts"), RULES)
@settings(max_examples=15)
@given(
    w=st.integers(1, 5000),
    h=st.integers(1, 5000),
    d=st.floats(0, 7200),
    fps=st.sampled_from(FPS),
    frames=st.none() | st.integers(1, 10_000),
)
def test_scalar_fast_path_equals_the_array_path(
    model: str,
    profile: str | None,
    opts: dict[str, Any],
    w: int,
    h: int,
    d: float,
    fps: float,
    frames: int | None,
) -> None:
    m = tm.get_model(model, profile=profile)
    if m.rule("video").kind == "dit.latent":
        w, h = w - w % 16 + 16, h - h % 16 + 16
    # numpy scalars are not plain Python numbers, so they take the checked array path;
    # both then run the rule's one-video path, so results and refusals must be identical.
    slow = result(
        m.count_video,
        np.int64(w),
        np.int64(h),
        np.float64(d),
        np.float64(fps),
        frames=None if frames is None else np.int64(frames),
        **opts,
    )
    fast = result(m.count_video, w, h, d, fps, frames=frames, **opts)
    assert fast == slow


@pytest.mark.parametrize(
    "args",
    [
        (2**31 - 1, 720, 10.0, 30.0),
        (1280, 720, 1e7, 1.0),
        (1280, 720, 10.0, 1e5),
        (1280, 720, 0.0, 30.0),
        (1280, 720, 0.016, 30.0),
        (2**31, 720, 10.0, 30.0),
        (1280, 720, 1e7 + 1, 1.0),
        (1280, 720, 10.0, 1e5 + 1),
        (1280, 720, 10.0, 0.0),
        (0, 720, 10.0, 30.0),
        (1280, 720, math.nan, 30.0),
        (1280, 720, 10.0, math.inf),
    ],
)
def test_fast_path_bounds_are_the_array_path_bounds(args: tuple[Any, ...]) -> None:
    m = tm.get_model("gemini-2.5-flash")
    w, h, d, fps = args
    fast = result(m.count_video, w, h, d, fps)
    slow = result(m.count_video, np.int64(w), np.int64(h), np.float64(d), np.float64(fps))
    assert fast == slow
    frames = result(m.count_video, w, h, fps=fps, frames=int(1e7))
    assert frames == result(
        m.count_video, np.int64(w), np.int64(h), fps=np.float64(fps), frames=np.int64(1e7)
    )


@pytest.mark.parametrize(("model", "profile", "opts"), RULES)
def test_no_videos(model: str, profile: str | None, opts: dict[str, Any]) -> None:
    m = tm.get_model(model, profile=profile)
    e = np.array([], dtype=np.int64)
    f = np.array([])
    assert m.video_tokens(
        e, e, f, None if m.rule("video").kind == "dit.latent" else f, **opts
    ).shape == (0,)
    res = m.rule("video").evaluate(e, e, f, f, e, **opts)
    assert res.wrapper_tokens.shape == (0,)
    assert all(v.shape == (0,) and v.dtype == np.int64 for v in res.derivation.values())
