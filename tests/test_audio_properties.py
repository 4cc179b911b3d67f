"""Properties of the audio kernels and rules.

Each rule is checked against a plain-Python loop written here from the reference code's
formulas (vector == scalar reference), for monotonicity in duration (every audio rule is
monotone: a longer clip never costs fewer tokens), int64 output, no overflow for a
24-hour clip, and bad input turning into ``InvalidInputError``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tokenmeter as tm
from tokenmeter.errors import InvalidInputError
from tokenmeter.kernels import audio as ka

DAY = 86_400.0
#: Durations from 0 to a day, with short clips (the edge cases live below 50 ms) well represented.
durations = st.one_of(
    st.floats(0.0, 0.05, allow_nan=False),
    st.floats(0.0, 40.0, allow_nan=False),
    st.floats(0.0, DAY, allow_nan=False),
)
duration_arrays = hnp.arrays(np.float64, st.integers(0, 40), elements=durations)


# -- plain-Python references (from the reference code, item by item) ------------------------


def ref_samples(d: float) -> int:
    return round(d * 16000)  # Python round: half to even, like np.rint


def ref_qwen(d: float, max_seconds: int) -> int:
    s = ref_samples(d)
    mel = min(math.ceil(s / 160) if s < 2**52 else -(-s // 160), max_seconds * 100)
    return ((mel - 1) // 2 + 1 - 2) // 2 + 1 + 2


def ref_qwen3_omni(d: float) -> int:
    mel = ref_samples(d) // 160
    leave = mel % 100
    feat = (leave - 1) // 2 + 1
    return ((feat - 1) // 2 + 1 - 1) // 2 + 1 + (mel // 100) * 13 + 2


def ref_whisper(d: float) -> int:
    s = ref_samples(d)
    return max(1, -(-s // 480_000)) * 1500


def ref_rate(d: float, per_s: int) -> int:
    us = round(d * 1_000_000)
    return -(-(us * per_s) // 1_000_000)


CASES = [
    ("qwen2-audio-7b-instruct", lambda d: ref_qwen(d, 30), 0.0),
    ("qwen2.5-omni-7b", lambda d: ref_qwen(d, 300), 0.0),
    ("qwen3-omni", ref_qwen3_omni, 201 / 16000),
    ("whisper-large-v3", ref_whisper, 1 / 16000),
    ("gemini-2.5-flash", lambda d: ref_rate(d, 32), 0.0),
    ("gpt-4o", lambda d: ref_rate(d, 10), 0.0),
]


@pytest.mark.parametrize(("model", "ref", "shortest"), CASES)
@given(ds=duration_arrays)
def test_vector_equals_scalar_reference(model: str, ref, shortest: float, ds: np.ndarray) -> None:  # type: ignore[no-untyped-def]
    ds = np.maximum(ds, shortest)
    m = tm.get_model(model)
    got = m.audio_tokens(ds)
    assert got.dtype == np.int64
    assert got.shape == ds.shape
    assert got.tolist() == [ref(float(d)) for d in ds]
    if ds.size:
        assert m.count_audio(float(ds[0])).tokens == int(got[0])


@pytest.mark.parametrize(("model", "ref", "shortest"), CASES)
@given(a=durations, b=durations)
def test_monotone_in_duration(model: str, ref, shortest: float, a: float, b: float) -> None:  # type: ignore[no-untyped-def]
    lo, hi = sorted((max(a, shortest), max(b, shortest)))
    t = tm.get_model(model).audio_tokens(np.array([lo, hi]))
    assert t[0] <= t[1]


@pytest.mark.parametrize("model", [c[0] for c in CASES])
def test_a_day_of_audio_fits(model: str) -> None:
    m = tm.get_model(model)
    t = m.audio_tokens(np.array([DAY, DAY * 100]))
    assert t.dtype == np.int64
    assert 0 < t[0] <= t[1] < 2**40


@pytest.mark.parametrize("model", [c[0] for c in CASES])
@pytest.mark.parametrize("bad", [-1.0, -1e-9, math.nan, math.inf, -math.inf, 1e30])
def test_bad_durations_are_named(model: str, bad: float) -> None:
    m = tm.get_model(model)
    with pytest.raises(InvalidInputError, match="duration"):
        m.count_audio(bad)
    with pytest.raises(InvalidInputError, match=r"duration\[1\]"):
        m.audio_tokens([1.0, bad])


def test_bad_options_are_named() -> None:
    m = tm.get_model("qwen2-audio-7b-instruct")
    with pytest.raises(InvalidInputError, match="samples"):
        m.count_audio(samples=-5)
    with pytest.raises(InvalidInputError, match="samples"):
        m.count_audio(samples=1.5)
    with pytest.raises(InvalidInputError, match="sample_rate"):
        m.count_audio(1.0, sample_rate=0)
    with pytest.raises(InvalidInputError, match="direction"):
        m.count_audio(1.0, direction="output")
    with pytest.raises(InvalidInputError, match="direction"):
        tm.get_model("gpt-4o").count_audio(1.0, direction="sideways")
    with pytest.raises(InvalidInputError, match="output rate"):
        tm.get_model("gemini-2.5-flash").count_audio(1.0, direction="output")


@given(n=st.integers(0, 2**40), sr=st.sampled_from([8000, 11025, 22050, 44100, 48000, 96000]))
def test_resampled_length_is_librosa_float_formula(n: int, sr: int) -> None:
    want = math.ceil(n * (16000 / sr))  # librosa: int(np.ceil(n * ratio)) in float64
    assert int(ka.resampled_length(n, sr)) == want


@given(d=st.floats(0, 1e6, allow_nan=False), per_s=st.integers(1, 100))
def test_rate_tokens_at_decimal_durations(d: float, per_s: int) -> None:
    # Durations that are whole tenths of a second give exact products: 0.3 s * 10/s = 3.
    tenths = round(d * 10)
    assert int(ka.rate_tokens(tenths / 10, per_s * 10)) == tenths * per_s
