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
from hypothesis import given, settings
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


# -- permutation equivariance ----------------------------------------------------------------
#
# Reordering the clips reorders the counts and changes nothing else, for every audio rule
# kind (and profile) of the catalog, with durations, ``samples=`` and per-clip
# ``sample_rate=`` arrays, and over inputs long enough for several blocks and threads.


def _catalog_audio_rules() -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, profile-specific config) -> the first (model, profile) that uses it."""
    out: dict[tuple[str, str], tuple[str, str]] = {}
    for mid in tm.list_models():
        base = tm.get_model(mid)
        if "audio" not in base.modalities:
            continue
        for prof in base.profiles:
            r = base.with_profile(prof).rule("audio")
            out.setdefault((r.kind, repr(r)), (mid, prof))
    return out


CATALOG_AUDIO = _catalog_audio_rules()
AUDIO_CASES = sorted(set(CATALOG_AUDIO.values()))


def test_permutation_cases_cover_every_catalog_audio_rule() -> None:
    kinds = {k for k, _ in CATALOG_AUDIO}
    assert kinds >= {"qwen.audio", "qwen3_omni.audio", "whisper.windows", "rate"}
    tested = {tm.get_model(m, profile=p).rule("audio").kind for m, p in AUDIO_CASES}
    assert tested == kinds


def _audio_or_refusal(m: tm.Model, durations: np.ndarray | None, **opts: object) -> object:
    try:
        return m.audio_tokens(durations, **opts)
    except InvalidInputError:
        return None


@pytest.mark.parametrize(("model", "profile"), AUDIO_CASES)
@settings(max_examples=60)
@given(ds=duration_arrays, data=st.data())
def test_vector_is_permutation_equivariant(
    model: str, profile: str, ds: np.ndarray, data: st.DataObject
) -> None:
    m = tm.get_model(model, profile=profile)
    perm = np.array(data.draw(st.permutations(range(ds.size))), dtype=np.intp)
    opts = m.rule("audio").options
    mode = data.draw(st.sampled_from(["duration", "samples", "rate"]))
    kw: dict[str, object] = {}
    arrays: dict[str, np.ndarray] = {}
    durations: np.ndarray | None = ds
    if mode == "samples" and "samples" in opts:
        arrays["samples"] = np.rint(ds * 16000).astype(np.int64)
        durations = None
    elif mode == "rate" and "sample_rate" in opts:
        rates = [8000, 11025, 16000, 22050, 44100, 48000]
        arrays["sample_rate"] = np.array(
            data.draw(st.lists(st.sampled_from(rates), min_size=ds.size, max_size=ds.size)),
            dtype=np.int64,
        )
    if "direction" in opts and data.draw(st.booleans()):
        kw["direction"] = "output"
        if _audio_or_refusal(m, np.ones(1), direction="output") is None:
            kw = {}  # a rate rule without an output rate
    a = _audio_or_refusal(m, durations, **kw, **arrays)
    b = _audio_or_refusal(
        m,
        None if durations is None else durations[perm],
        **kw,
        **{k: v[perm] for k, v in arrays.items()},
    )
    if a is None:
        assert b is None
        return
    assert isinstance(a, np.ndarray)
    assert isinstance(b, np.ndarray)
    assert b.tolist() == a[perm].tolist()


@pytest.mark.parametrize(("model", "profile"), AUDIO_CASES)
def test_many_blocks_and_threads_are_permutation_equivariant(model: str, profile: str) -> None:
    m = tm.get_model(model, profile=profile)
    rng = np.random.default_rng(11)
    n = 300_000
    ds = np.concatenate(
        [
            rng.uniform(0.02, 0.05, n // 3),
            rng.uniform(0.02, 40.0, n // 3),
            rng.uniform(0.02, DAY, n - 2 * (n // 3)),
        ]
    )
    perm = rng.permutation(n)
    np.testing.assert_array_equal(m.audio_tokens(ds[perm]), m.audio_tokens(ds)[perm])
