"""The audio kernels' two paths, and the rules over many blocks.

Every kernel takes one clip as Python numbers (the scalar API's path) or many as arrays
(numpy, in place in reused scratch arrays inside a block). These check, item by item,
that the two agree, that both agree with the processors' formulas, that a rule over many
blocks (and threads) equals the rule one clip at a time, and that the scalar fast path of
``Model.count_audio`` equals the checked array path.
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
from tokenmeter.kernels import audio as ka

counts = st.integers(0, 2**40)
count_lists = st.lists(counts | st.integers(0, 2000), min_size=1, max_size=40)
seconds = st.lists(
    st.floats(0, 1e7) | st.floats(0, 0.05) | st.floats(0, 100), min_size=1, max_size=40
)


@given(
    n=count_lists,
    hop=st.sampled_from([160, 100, 1]),
    cap=st.none() | st.integers(1, 30_000),
    padding=st.sampled_from(["max_length", "longest"]),
)
def test_mel_frames_paths(n: list[int], hop: int, cap: int | None, padding: Any) -> None:
    arr = np.array(n, dtype=np.int64)
    whole = ka.mel_frames_of(arr, hop, cap, padding)
    want = [(-(-x // hop) if padding == "max_length" else x // hop) for x in n]
    want = [min(x, cap) if cap is not None else x for x in want]
    assert whole.dtype == np.int64
    assert whole.tolist() == want == [ka.mel_frames_of(x, hop, cap, padding) for x in n]
    scratch = _blocks.Scratch(len(n))
    assert ka.mel_frames_of(arr, hop, cap, padding, scratch).tolist() == want


@given(mel=count_lists, n_window=st.sampled_from([50, 25, 7]))
def test_encoder_lengths_paths(mel: list[int], n_window: int) -> None:
    arr = np.array(mel, dtype=np.int64)
    pos, tok = ka.qwen_audio_tokens(arr)
    # transformers' _get_feat_extract_output_lengths, literally (Python floor division).
    assert pos.tolist() == [(x - 1) // 2 + 1 for x in mel]
    assert tok.tolist() == [((x - 1) // 2 + 1 - 2) // 2 + 1 for x in mel]
    assert [ka.qwen_audio_tokens(x) for x in mel] == list(
        zip(pos.tolist(), tok.tolist(), strict=True)
    )
    chunk = 2 * n_window
    want3 = [
        ((((x % chunk) - 1) // 2 + 1 - 1) // 2 + 1 - 1) // 2 + 1 + (x // chunk) * 13 for x in mel
    ]
    assert ka.qwen3_omni_tokens(arr, n_window).tolist() == want3
    assert [ka.qwen3_omni_tokens(x, n_window) for x in mel] == want3
    scratch = _blocks.Scratch(len(mel))
    assert ka.qwen3_omni_tokens(arr, n_window, scratch).tolist() == want3


@given(d=seconds, per_s=st.integers(1, 100), rounding=st.sampled_from(["ceil", "floor", "round"]))
def test_rate_tokens_paths(d: list[float], per_s: int, rounding: Any) -> None:
    whole = ka.rate_tokens_of(np.array(d), per_s, rounding)
    one = [ka.rate_tokens_of(x, per_s, rounding) for x in d]
    assert whole.tolist() == one
    us = [round(x * 1_000_000) * per_s for x in d]
    if rounding == "ceil":
        assert one == [-(-u // 1_000_000) for u in us]
    elif rounding == "floor":
        assert one == [u // 1_000_000 for u in us]
    else:
        assert one == [round(u / 1_000_000) if u < 2**52 else one[i] for i, u in enumerate(us)]


@given(d=seconds, rate=st.sampled_from([16_000, 44_100, 1_000_000]))
def test_samples_paths(d: list[float], rate: int) -> None:
    whole = ka.samples_of(np.array(d), rate)
    assert whole.tolist() == [ka.samples_of(x, rate) for x in d] == [round(x * rate) for x in d]


@given(n=count_lists, window=st.sampled_from([480_000, 160_000]))
def test_whisper_windows_paths(n: list[int], window: int) -> None:
    whole = ka.whisper_windows(np.array(n), window_samples=window)
    assert (
        whole.tolist()
        == [ka.whisper_windows(x, window_samples=window) for x in n]
        == [max(1, -(-x // window)) for x in n]
    )


def test_kernel_input_checks_name_the_value() -> None:
    with pytest.raises(InvalidInputError, match="samples"):
        ka.mel_frames(-1)
    with pytest.raises(InvalidInputError, match=r"samples\[1\]"):
        ka.mel_frames([5, -1])
    with pytest.raises(InvalidInputError, match="duration"):
        ka.rate_tokens(math.nan, 10)
    with pytest.raises(InvalidInputError, match="rounding"):
        ka.rate_tokens(1.0, 10, "up")  # type: ignore[arg-type]


# -- rules over many blocks and threads -------------------------------------------------------

MODELS = [
    "qwen2-audio-7b-instruct",
    "qwen2.5-omni-7b",
    "qwen3-omni",
    "whisper-large-v3",
    "gemini-2.5-flash",
    "gpt-4o",
]


@pytest.mark.parametrize("model", MODELS)
def test_rules_in_blocks_equal_one_clip_at_a_time(
    model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    m = tm.get_model(model)
    n = 2 * _blocks.BLOCK + 91
    rng = np.random.default_rng(5)
    d = np.round(rng.uniform(0.02, 2000.0, n), 4)
    got = m.audio_tokens(d)
    monkeypatch.setattr(_blocks, "THREAD_MIN", 1)
    monkeypatch.setenv("TOKENMETER_THREADS", "3")
    assert m.audio_tokens(d).tolist() == got.tolist()
    res = m.rule("audio").evaluate(d)
    for i in rng.integers(0, n, 60).tolist():
        c = m.count_audio(float(d[i]))
        assert c.tokens == got[i]
        assert int(res.wrapper_tokens[i]) == c.wrapper_tokens
        for k, v in res.derivation.items():  # computed on first access, for the whole call
            assert int(v[i]) == c.details[k]


@pytest.mark.parametrize(
    ("model", "short", "pattern"),
    [("qwen3-omni", 0.001, "too short"), ("whisper-large-v3", 0.0, "0 samples")],
)
def test_an_error_in_a_later_block_names_that_clip(model: str, short: float, pattern: str) -> None:
    d = np.full(2 * _blocks.BLOCK + 5, 10.0)
    bad = _blocks.BLOCK + 17
    d[bad] = short
    with pytest.raises(InvalidInputError, match=rf"{pattern}.*\b{bad}\b|\b{bad}\b.*{pattern}"):
        tm.get_model(model).audio_tokens(d)


@pytest.mark.parametrize("model", MODELS[:4])
@settings(max_examples=25)
@given(
    d=st.floats(0, 1e7),
    samples=st.none() | st.integers(0, 2**40),
    rate=st.none() | st.sampled_from([8000, 16_000, 44_100, 48_000]),
)
def test_scalar_fast_path_equals_the_array_path(
    model: str, d: float, samples: int | None, rate: int | None
) -> None:
    m = tm.get_model(model)
    opts: dict[str, Any] = {}
    if samples is not None:
        opts["samples"] = samples
    if rate is not None:
        opts["sample_rate"] = rate

    def result(*args: Any, **kw: Any) -> Any:
        try:
            return m.count_audio(*args, **kw)
        except InvalidInputError as exc:
            return f"refused: {exc}"

    fast = result(d, **opts)
    slow = result(np.float64(d), **{k: np.int64(v) for k, v in opts.items()})
    assert fast == slow
    if samples is not None:
        # samples= alone: the duration follows from the clip's rate.
        assert result(samples=samples, sample_rate=rate) == result(
            samples=np.int64(samples), sample_rate=None if rate is None else np.int64(rate)
        )


def test_samples_arrays_in_blocks() -> None:
    m = tm.get_model("qwen2-audio-7b-instruct")
    n = _blocks.BLOCK + 3
    rng = np.random.default_rng(2)
    samples = rng.integers(0, 10**8, n)
    rates = np.array([8000, 16_000, 44_100, 48_000])[rng.integers(0, 4, n)]
    got = m.audio_tokens(samples=samples, sample_rate=rates)
    for i in rng.integers(0, n, 40).tolist():
        assert got[i] == m.count_audio(samples=int(samples[i]), sample_rate=int(rates[i])).tokens
