"""Properties of the video kernels and rules.

* Every kernel equals a plain-Python transcription of its reference, item by item.
* ``video_tokens`` (vector) equals ``count_video`` (scalar) for every video rule.
* Monotone in duration where the rule is: Gemini, the DiTs, InternVL (constant). Qwen's
  are *not*: a longer clip samples more frames, and a shared pixel budget (qwen-vl-utils'
  total, Qwen3-VL's whole-video bound) then shrinks every frame — a counterexample is
  pinned below.
* int64 throughout; a 24-hour 4K video does not overflow; bad input is an
  ``InvalidInputError`` naming the value.
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
from tokenmeter.kernels import video as kv

fps_values = st.sampled_from(
    [
        1.0,
        2.0,
        8.0,
        15.0,
        23.976023976023978,
        24.0,
        25.0,
        29.97002997002997,
        30.0,
        50.0,
        60.0,
        120.0,
    ]
)
totals = st.integers(1, 200_000)
sides = st.integers(16, 4096)


# -- plain-Python references -------------------------------------------------------------


def ref_smart_nframes(total: int, video_fps: float, fps: float = 2.0) -> int:
    """qwen_vl_utils.smart_nframes, transcribed (fps path, default options)."""
    min_frames = math.ceil(4 / 2) * 2
    max_frames = math.floor(min(768, total) / 2) * 2
    n = total / video_fps * fps
    n = min(min(max(n, min_frames), max_frames), total)
    return math.floor(n / 2) * 2


def ref_hf_qwen2(total: int, video_fps: float, fps: float = 2.0) -> int:
    max_frames = math.floor(min(768, total) / 2) * 2
    n = total / video_fps * fps
    n = math.floor(min(max(n, 4), max_frames, total) / 2) * 2
    return math.ceil(total / (total / n))  # len(torch.arange(0, total, total / n))


def ref_hf_qwen3(total: int, video_fps: float, fps: float = 2.0) -> int:
    return min(max(int(total / video_fps * fps), 4), 768, total)


def ref_qwen3_resize(
    n: int, h: int, w: int, lo: int = 4096, hi: int = 25165824, f: int = 32
) -> tuple[int, int]:
    if h < f or w < f:
        s = max(f / h, f / w)
        h, w = int(h * s), int(w * s)
    hb, wb, tb = round(h / f) * f, round(w / f) * f, round(n / 2) * 2
    if tb * hb * wb > hi:
        beta = math.sqrt((n * h * w) / hi)
        hb = max(f, math.floor(h / beta / f) * f)
        wb = max(f, math.floor(w / beta / f) * f)
    elif tb * hb * wb < lo:
        beta = math.sqrt(lo / (n * h * w))
        hb = math.ceil(h * beta / f) * f
        wb = math.ceil(w * beta / f) * f
    return hb, wb


def ref_dit(h: int, w: int, nf: int, pt: int, pad: int, down: bool) -> int:
    if down and nf % 4 != 1:
        nf = nf // 4 * 4 + 1
    lt = (nf - 1) // 4 + 1
    if pad > 1 and lt % pad:
        lt += pad - lt % pad
    return (lt // pt) * ((h // 8) // 2) * ((w // 8) // 2)


# -- kernels == references -------------------------------------------------------------------


@given(
    ts=st.lists(st.tuples(totals, fps_values), min_size=1, max_size=30),
    fps=st.sampled_from([0.5, 1.0, 2.0, 4.0]),
)
def test_frame_sampling_kernels(ts: list[tuple[int, float]], fps: float) -> None:
    ts = [(t, f) for t, f in ts if t >= 4]
    if not ts:
        return
    total = np.array([t for t, _ in ts])
    src = np.array([f for _, f in ts])
    a = kv.qwen_vl_utils_nframes(total, src, fps=fps)
    b = kv.hf_qwen2_nframes(total, src, fps=fps)
    c = kv.hf_qwen3_nframes(total, src, fps=fps)
    for arr in (a, b, c):
        assert arr.dtype == np.int64
    assert a.tolist() == [ref_smart_nframes(t, f, fps) for t, f in ts]
    assert b.tolist() == [ref_hf_qwen2(t, f, fps) for t, f in ts]
    assert c.tolist() == [ref_hf_qwen3(t, f, fps) for t, f in ts]


@given(
    items=st.lists(
        st.tuples(st.integers(2, 800), st.integers(1, 5000), st.integers(1, 5000)),
        min_size=1,
        max_size=30,
    )
)
def test_qwen3_video_resize(items: list[tuple[int, int, int]]) -> None:
    items = [(n, h, w) for n, h, w in items if max(h, w) / min(h, w) <= 150]
    if not items:
        return
    n, h, w = (np.array(x) for x in zip(*items, strict=True))
    rh, rw = kv.qwen3_video_grid(
        n, h, w, factor=32, temporal_factor=2, min_pixels=4096, max_pixels=25165824
    )
    assert list(zip(rh.tolist(), rw.tolist(), strict=True)) == [
        ref_qwen3_resize(*it) for it in items
    ]


@given(
    items=st.lists(
        st.tuples(st.integers(1, 200), st.integers(1, 200), st.integers(1, 2000)),
        min_size=1,
        max_size=30,
    ),
    cfg=st.sampled_from([(1, 1, True), (1, 1, False), (2, 2, False)]),
)
def test_dit_kernel(items: list[tuple[int, int, int]], cfg: tuple[int, int, bool]) -> None:
    pt, pad, down = cfg
    h = np.array([i[0] * 16 for i in items])
    w = np.array([i[1] * 16 for i in items])
    nf = np.array([i[2] for i in items])
    *_, tok = kv.dit_latent_grid(
        h,
        w,
        nf,
        vae_temporal=4,
        vae_spatial=8,
        patch_t=pt,
        patch_hw=2,
        pad_latent_t=pad,
        frame_multiple_round_down=down,
    )
    assert tok.tolist() == [
        ref_dit(int(a), int(b), int(c), pt, pad, down) for a, b, c in zip(h, w, nf, strict=True)
    ]


@given(d=st.floats(0.001, 1e6), f=st.sampled_from([0.25, 0.5, 1.0, 2.0, 3.0]))
def test_frames_at_rate(d: float, f: float) -> None:
    want = max(1, math.ceil(round(d * f, 6)))
    assert int(kv.frames_at_rate(d, f)) == want


@given(stop=st.integers(0, 100_000), num=st.integers(1, 800))
def test_linspace_f64_is_numpy(stop: int, num: int) -> None:
    assert (
        kv.linspace_round_f64(stop, num).tolist()
        == np.linspace(0, stop, num).round().astype(int).tolist()
    )


# -- rules: vector == scalar -----------------------------------------------------------------

MODELS: list[tuple[str, str | None, dict[str, Any]]] = [
    ("qwen2.5-vl-72b-instruct", None, {}),
    ("qwen2.5-vl-72b-instruct", None, {"cap_pixels_per_frame": True}),
    ("qwen2.5-vl-72b-instruct", "qwen-vl-utils", {}),
    ("qwen2.5-vl-72b-instruct", "vllm-opencv", {}),
    ("qwen3-vl-8b-instruct", None, {}),
    ("qwen3-vl-8b-instruct", "qwen-vl-utils", {}),
    ("qwen2.5-omni-7b", None, {"use_audio_in_video": True}),
    ("gemini-2.5-flash", None, {}),
    ("gemini-3-pro", None, {"media_resolution": "high"}),
    ("internvl2.5-78b", None, {}),
    ("wan2.1-t2v", None, {}),
    ("cogvideox1.5", None, {}),
]

videos = st.lists(
    st.tuples(sides, sides, st.floats(2.0, 3600.0), fps_values), min_size=1, max_size=12
)


@pytest.mark.parametrize(("model", "profile", "opts"), MODELS)
@settings(max_examples=40)
@given(vs=videos)
def test_vector_equals_scalar(
    model: str, profile: str | None, opts: dict[str, Any], vs: list[tuple[int, int, float, float]]
) -> None:
    m = tm.get_model(model, profile=profile)
    vs = [(w, h, d, f) for w, h, d, f in vs if max(w, h) / min(w, h) < 150]
    if m.rule("video").kind == "dit.latent":
        vs = [(w - w % 16 or 16, h - h % 16 or 16, d, f) for w, h, d, f in vs]
    if not vs:
        return
    w, h, d, f = (np.array(x) for x in zip(*vs, strict=True))
    got = m.video_tokens(w, h, d, f, **opts)
    assert got.dtype == np.int64
    assert got.tolist() == [
        m.count_video(int(a), int(b), float(c), float(e), **opts).tokens for a, b, c, e in vs
    ]


@pytest.mark.parametrize(
    "model",
    [
        "gemini-2.5-flash",
        "gemini-3-pro",
        "wan2.1-t2v",
        "hunyuanvideo",
        "cogvideox",
        "cogvideox1.5",
        "internvl2.5-8b",
    ],
)
@settings(max_examples=60)
@given(a=st.floats(0.1, 86_400.0), b=st.floats(0.1, 86_400.0))
def test_monotone_in_duration(model: str, a: float, b: float) -> None:
    lo, hi = sorted((a, b))
    m = tm.get_model(model)
    fps = None if m.rule("video").kind == "dit.latent" else 30.0
    t = m.video_tokens([1280, 1280], [720, 720], [lo, hi], fps)
    assert t[0] <= t[1]


def test_qwen_counts_are_not_monotone_in_duration() -> None:
    # qwen-vl-utils: past 300 frames the 90.3 MP total budget shrinks every frame.
    m = tm.get_model("qwen2.5-vl-72b-instruct", profile="qwen-vl-utils")
    t = m.video_tokens([1920] * 2, [1080] * 2, [150.0, 160.0], 30.0)
    assert t[1] < t[0] or t[1] - t[0] < 0.1 * t[0]
    q3 = tm.get_model("qwen3-vl-8b-instruct")
    # Qwen3-VL: the whole clip shares 25.2 MP, so a longer clip can cost fewer tokens.
    ds = np.linspace(10, 400, 400)
    tok = q3.video_tokens(np.full(400, 1280), np.full(400, 720), ds, 30.0)
    assert (np.diff(tok) < 0).any()


@pytest.mark.parametrize(("model", "profile", "opts"), MODELS)
def test_a_day_of_4k_video_fits(model: str, profile: str | None, opts: dict[str, Any]) -> None:
    m = tm.get_model(model, profile=profile)
    fps = None if m.rule("video").kind == "dit.latent" else 60.0
    c = m.count_video(3840, 2160, 86_400.0, fps, **opts)
    assert 0 < c.tokens < 2**50
    if profile is None and m.rule("video").kind == "qwen.video":
        every = m.count_video(3840, 2160, 86_400.0, 60.0, do_sample_frames=False)
        assert every.frames == 86_400 * 60
        assert every.tokens == every.grid[0] * every.grid[1] * every.grid[2] // 4 + 2


@pytest.mark.parametrize(
    "model",
    [
        "qwen2.5-vl-72b-instruct",
        "qwen3-vl-8b-instruct",
        "gemini-2.5-flash",
        "wan2.1-t2v",
        "internvl2.5-8b",
    ],
)
def test_bad_input_is_named(model: str) -> None:
    m = tm.get_model(model)
    for bad in (-1.0, math.nan, math.inf):
        with pytest.raises(InvalidInputError, match="duration"):
            m.count_video(1280, 720, bad, 30.0)
        with pytest.raises(InvalidInputError, match="fps"):
            m.count_video(1280, 720, 10.0, bad)
    with pytest.raises(InvalidInputError, match="fps"):
        m.count_video(1280, 720, 10.0, 0.0)
    with pytest.raises(InvalidInputError, match="no frames"):
        m.count_video(1280, 720, 0.001, 30.0)
    with pytest.raises(InvalidInputError, match="frames"):
        m.count_video(1280, 720, fps=30.0, frames=0)
    for w, h in ((0, 720), (1280, -1), (2**31, 720)):
        with pytest.raises(InvalidInputError, match=r"width|height"):
            m.count_video(w, h, 10.0, 30.0)
    with pytest.raises(InvalidInputError, match="option"):
        m.count_video(1280, 720, 10.0, 30.0, bogus=1)
    with pytest.raises(InvalidInputError, match=r"duration\[1\]"):
        m.video_tokens([1280, 1280], [720, 720], [1.0, -1.0], 30.0)


def test_extreme_aspect_ratio_is_refused_by_qwen() -> None:
    for model in ("qwen2.5-vl-72b-instruct", "qwen3-vl-8b-instruct"):
        with pytest.raises(InvalidInputError, match="aspect ratio"):
            tm.get_model(model).count_video(30_000, 100, 10.0, 30.0)


def test_qwen_refuses_too_few_frames() -> None:
    with pytest.raises(InvalidInputError, match="frames"):
        tm.get_model("qwen2.5-vl-72b-instruct", profile="qwen-vl-utils").count_video(
            1280, 720, fps=30.0, frames=1
        )
    with pytest.raises(InvalidInputError, match="at least 2"):
        tm.get_model("qwen3-vl-8b-instruct").count_video(1280, 720, fps=30.0, frames=1)


def test_bad_option_values() -> None:
    q = tm.get_model("qwen2.5-vl-72b-instruct")
    with pytest.raises(InvalidInputError, match="sample_fps"):
        q.count_video(1280, 720, 10.0, 30.0, sample_fps=-2)
    with pytest.raises(InvalidInputError, match="total_pixels"):
        q.count_video(1280, 720, 10.0, 30.0, total_pixels=10**8)
    with pytest.raises(InvalidInputError, match="soundtrack"):
        q.count_video(1280, 720, 10.0, 30.0, use_audio_in_video=True)
    g = tm.get_model("gemini-2.5-flash")
    with pytest.raises(InvalidInputError, match="media_resolution"):
        g.count_video(1280, 720, 10.0, 30.0, media_resolution="ultra")
    with pytest.raises(InvalidInputError, match="multiples of 16"):
        tm.get_model("wan2.1-t2v").count_video(1920, 1080, 5.0)


def test_timestamp_closed_form_matches_the_qwen_vocabulary() -> None:
    from tokenmeter.text import get_tokenizer, vocabulary_available

    if not vocabulary_available("qwen2"):
        pytest.skip("the qwen extra is not installed")
    tok = get_tokenizer("qwen2")
    ts = [
        0.0,
        0.25,
        0.75,
        1.0,
        9.94,
        9.95,
        9.96,
        10.0,
        99.9,
        99.96,
        123.4,
        999.95,
        12345.6,
        86_399.9,
        1e6 + 0.1,
    ]
    for t in ts:
        s = f"<{t:.1f} seconds>"
        digits = len(f"{t:.1f}") - 2
        assert tok.count(s) == 5 + digits, s
    for i in (1, 9, 10, 99, 100, 1000):
        assert tok.count(f"Frame{i}: ") == 3 + len(str(i))
    assert tok.count("\n") == 1


def test_gemini_silent_and_probed_soundtrack() -> None:
    g = tm.get_model("gemini-2.5-flash")
    assert g.count_video(1280, 720, 10, 30).tokens == 2900
    assert g.count_video(1280, 720, 10, 30, has_audio=False).tokens == 2580
    assert g.count_video(1280, 720, 10, 30, audio_duration=5.0).tokens == 2580 + 160
    assert g.count_video(1280, 720, 10, 30, sample_fps=2.0, has_audio=False).tokens == 5160


# -- rules: permutation equivariance -------------------------------------------------------
#
# Reordering the videos reorders the counts and changes nothing else: no item's count may
# depend on its position or its neighbours (block boundaries, thread ranges, scratch
# arrays reused between blocks, caches keyed on the first item). Run over one model per
# video rule kind and variant of the catalog, each under several options.


def _catalog_video_rules() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, variant) -> the first (model, profile) of the catalog that uses it."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for mid in tm.list_models():
        base = tm.get_model(mid)
        if "video" not in base.modalities:
            continue
        for prof in base.profiles:
            r = base.with_profile(prof).rule("video")
            out.setdefault((r.kind, getattr(r, "variant", "") or ""), (mid, prof))
    return out


CATALOG_VIDEO = _catalog_video_rules()

#: Options tried per rule kind and variant (each in its own parametrized case).
VIDEO_OPTIONS: dict[tuple[str, str], list[dict[str, Any]]] = {
    ("qwen.video", "transformers"): [
        {},
        {"cap_pixels_per_frame": True},
        {"sample_fps": 1.0, "max_frames": 64},
        {"nframes": 16},
        {"do_sample_frames": False},
    ],
    ("qwen.video", "qwen-vl-utils"): [
        {},
        {"total_pixels": 20_000_000, "min_frames": 8},
        {"sample_fps": 0.5, "max_pixels": 200_000, "min_pixels": 50_000},
    ],
    ("qwen.video", "vllm"): [{}, {"nframes": 8}],
    ("qwen3.video", "transformers"): [{}, {"cap_pixels_per_frame": True}, {"sample_fps": 1.0}],
    ("qwen3.video", "qwen-vl-utils"): [{}, {"total_pixels": 30_000_000, "max_frames": 100}],
    ("gemini.video", ""): [
        {},
        {"media_resolution": "low", "sample_fps": 2.0},
        {"has_audio": False},
    ],
    ("internvl.video", ""): [{}, {"num_frames": 16}],
    ("dit.latent", ""): [{}],
}

PERM_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (model, profile, opts)
    for key, (model, profile) in sorted(CATALOG_VIDEO.items())
    for opts in VIDEO_OPTIONS.get(key, [{}])
] + [("qwen2.5-omni-7b", "transformers", {"use_audio_in_video": True})]


def test_permutation_cases_cover_every_catalog_video_rule() -> None:
    assert set(CATALOG_VIDEO) >= {
        ("qwen.video", "transformers"),
        ("qwen.video", "qwen-vl-utils"),
        ("qwen.video", "vllm"),
        ("qwen3.video", "transformers"),
        ("qwen3.video", "qwen-vl-utils"),
        ("gemini.video", ""),
        ("internvl.video", ""),
        ("dit.latent", ""),
    }
    assert set(VIDEO_OPTIONS) >= set(CATALOG_VIDEO), "a new video rule kind needs options here"


def _tokens_or_refusal(m: Any, *args: Any, **kw: Any) -> Any:
    try:
        return m.video_tokens(*args, **kw)
    except InvalidInputError:
        return None


@pytest.mark.parametrize(("model", "profile", "opts"), PERM_CASES)
@settings(max_examples=25)
@given(
    vs=st.lists(
        st.tuples(sides, sides, st.floats(0.5, 3600.0), fps_values, st.integers(1, 200)),
        min_size=1,
        max_size=14,
    ),
    data=st.data(),
)
def test_vector_is_permutation_equivariant(
    model: str,
    profile: str,
    opts: dict[str, Any],
    vs: list[tuple[int, int, float, float, int]],
    data: st.DataObject,
) -> None:
    m = tm.get_model(model, profile=profile)
    dit = m.rule("video").kind == "dit.latent"
    vs = [v for v in vs if max(v[0], v[1]) / min(v[0], v[1]) < 150]
    if dit:
        vs = [(w - w % 16 or 16, h - h % 16 or 16, d, f, k) for w, h, d, f, k in vs]
    if not vs:
        return
    perm = np.array(data.draw(st.permutations(range(len(vs)))), dtype=np.intp)
    w, h, d, f, k = (np.array(x) for x in zip(*vs, strict=True))
    kw = dict(opts)
    per_video: dict[str, np.ndarray] = {}
    if dit and data.draw(st.booleans()):
        per_video["num_frames"] = k  # the pipeline argument, one per video
    takes_audio = m.rule("video").kind == "gemini.video" or opts.get("use_audio_in_video")
    if takes_audio and data.draw(st.booleans()):
        per_video["audio_duration"] = d * data.draw(st.sampled_from([0.0, 0.5, 1.0]))
    use_frames = data.draw(st.booleans())
    frames = np.maximum(1, np.rint(d * f)).astype(np.int64) if use_frames else None
    fps = None if dit and data.draw(st.booleans()) else f

    def call(ix: np.ndarray | None) -> Any:
        def pick(a: Any) -> Any:
            return a if a is None or ix is None else a[ix]

        extra = {name: pick(v) for name, v in per_video.items()}
        return _tokens_or_refusal(
            m,
            pick(w),
            pick(h),
            None if use_frames else pick(d),
            pick(fps),
            frames=pick(frames),
            **kw,
            **extra,
        )

    a = call(None)
    b = call(perm)
    if a is None:
        assert b is None  # the same set of videos is refused, whatever the order
        return
    assert b is not None
    assert a.dtype == b.dtype == np.int64
    assert b.tolist() == a[perm].tolist()


@pytest.mark.parametrize(("model", "profile", "opts"), PERM_CASES)
def test_many_blocks_and_threads_are_permutation_equivariant(
    model: str, profile: str, opts: dict[str, Any]
) -> None:
    """Inputs long enough for several blocks (32 768 videos) and worker threads (2**18)."""
    m = tm.get_model(model, profile=profile)
    rng = np.random.default_rng(7)
    n = 300_000
    w = rng.integers(1, 256, n) * 16
    h = rng.integers(1, 136, n) * 16
    w = np.minimum(w, h * 100)  # aspect ratios the Qwen rules accept
    d = rng.uniform(2.0, 900.0, n)  # at least 48 frames: every option set accepts them
    f = rng.choice([24.0, 25.0, 29.97002997002997, 30.0, 60.0], n)
    perm = rng.permutation(n)
    a = m.video_tokens(w, h, d, f, **opts)
    b = m.video_tokens(w[perm], h[perm], d[perm], f[perm], **opts)
    np.testing.assert_array_equal(b, a[perm])
