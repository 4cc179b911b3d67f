"""``Model.image_counts``/``video_counts``/``audio_counts``: every number the scalar calls
report, for whole arrays — item ``i`` equals the scalar call on item ``i``."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import image_pair_lists


def _one_model_per_rule(modality: str) -> list[str]:
    seen: dict[str, str] = {}
    for mid in tm.list_models():
        m = tm.get_model(mid)
        if modality in m.modalities:
            for profile in m.profiles:
                name = m.with_profile(profile).rule(modality).name
                seen.setdefault(name, f"{mid}@{profile}")
    return sorted(seen.values())


IMAGE_MODELS = _one_model_per_rule("image")
VIDEO_MODELS = _one_model_per_rule("video")
AUDIO_MODELS = _one_model_per_rule("audio")


def _model(spec: str) -> tm.Model:
    mid, profile = spec.split("@")
    return tm.get_model(mid, profile=profile)


def test_every_rule_kind_is_covered():
    assert len(IMAGE_MODELS) >= 11
    assert len(VIDEO_MODELS) >= 6
    assert len(AUDIO_MODELS) >= 4


def _valid(call, items):
    ok, expect = [], []
    for item in items:
        try:
            expect.append(call(*item))
        except tm.InvalidInputError:
            continue
        ok.append(item)
    return ok, expect


def _check(counts: tm.TokenCounts, expect: list[tm.TokenCount]) -> None:
    assert len(counts) == len(expect)
    assert counts.tokens.dtype == np.int64
    assert counts.tokens.tolist() == [c.tokens for c in expect]
    assert counts.wrapper_tokens.tolist() == [c.wrapper_tokens for c in expect]
    if counts.encoder_patches is None:
        assert all(c.encoder_patches is None for c in expect)
    else:
        assert counts.encoder_patches.tolist() == [c.encoder_patches for c in expect]
    assert list(counts) == expect
    assert [counts[i] for i in range(-len(expect), 0)] == expect
    assert counts.total() == sum(c.tokens for c in expect)
    for key, arr in counts.derivation.items():
        assert arr.shape == counts.tokens.shape, key
    if expect:
        assert counts.rule == expect[0].rule
        assert counts.source == expect[0].source


@pytest.mark.parametrize("spec", IMAGE_MODELS)
@settings(max_examples=15, deadline=None)
@given(pairs=image_pair_lists)
def test_image_counts_equal_count_image_per_item(spec, pairs):
    m = _model(spec)
    items, expect = _valid(lambda h, w: m.count_image(w, h), pairs)
    if not items:
        return
    h = np.array([p[0] for p in items], dtype=np.int64)
    w = np.array([p[1] for p in items], dtype=np.int64)
    _check(m.image_counts(w, h), expect)


videos = st.lists(
    st.tuples(st.integers(1, 240).map(lambda k: 16 * k), st.integers(1, 240).map(lambda k: 16 * k),
              st.floats(0.25, 600.0), st.sampled_from([8.0, 16.0, 23.976, 24.0, 30.0, 60.0])),
    min_size=1, max_size=12,
)


@pytest.mark.parametrize("spec", VIDEO_MODELS)
@settings(max_examples=10, deadline=None)
@given(items=videos)
def test_video_counts_equal_count_video_per_item(spec, items):
    m = _model(spec)
    items, expect = _valid(lambda w, h, d, f: m.count_video(w, h, d, f), items)
    if not items:
        return
    cols = [np.array(c) for c in zip(*items, strict=False)]
    _check(m.video_counts(*cols), expect)


@pytest.mark.parametrize("spec", AUDIO_MODELS)
@settings(max_examples=15, deadline=None)
@given(durations=st.lists(st.floats(0.0, 4000.0), min_size=1, max_size=20))
def test_audio_counts_equal_count_audio_per_item(spec, durations):
    m = _model(spec)
    items, expect = _valid(lambda d: m.count_audio(d), [(d,) for d in durations])
    if not items:
        return
    _check(m.audio_counts(np.array([d for (d,) in items])), expect)


def test_broadcast_scalars_fill_the_inputs_shape():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    c = m.image_counts(np.array([[1280, 640], [320, 1920]]), 720)
    assert c.tokens.shape == c.wrapper_tokens.shape == c.derivation["grid_h"].shape == (2, 2)
    assert c[3] == m.count_image(1920, 720)


def test_index_errors_are_clear():
    c = tm.get_model("gpt-4o").image_counts([512, 1024], [512, 768])
    with pytest.raises(IndexError, match="out of range for 2 items"):
        c[2]
    with pytest.raises(tm.InvalidInputError, match="index must be an int"):
        c["0"]  # type: ignore[index]


def test_bad_arrays_are_refused_as_by_image_tokens():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    with pytest.raises(tm.InvalidInputError, match=r"width\[1\]"):
        m.image_counts(np.array([640, 0]), np.array([480, 480]))
    with pytest.raises(tm.InvalidInputError):
        m.video_counts([640], [480], [float("nan")], 30)


def test_total_does_not_wrap():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    c = m.video_counts(np.full(3, 7680), np.full(3, 4320), np.full(3, 86_400.0), 60)
    assert c.total() == 3 * m.count_video(7680, 4320, 86_400.0, 60).tokens
