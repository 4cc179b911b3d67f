"""Audio counts against golden vectors that the reference processors produced.

The JSON under ``tests/golden/audio/`` is written by ``tests/reference/gen_audio_golden.py``,
which calls transformers' processors, Whisper's feature extractor and librosa; nothing
here compares against numbers computed with tokenmeter's own code.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tokenmeter as tm
from tokenmeter.errors import InvalidInputError

GOLDEN = Path(__file__).parent / "golden" / "audio"


def load(name: str) -> dict[str, np.ndarray | list[Any]]:
    doc = json.loads((GOLDEN / f"{name}.json").read_text(encoding="utf-8"))
    cols = doc["columns"]
    assert doc["meta"]["cases"] == len(next(iter(cols.values())))
    return {k: (np.asarray(v) if v and not isinstance(v[0], str) else v) for k, v in cols.items()}


@pytest.mark.parametrize(
    ("name", "model", "profile"),
    [
        ("qwen2_audio", "qwen2-audio-7b-instruct", None),
        ("qwen2_5_omni", "qwen2.5-omni-7b", None),
        ("qwen3_omni", "qwen3-omni-30b-a3b-instruct", None),
    ],
)
def test_processor_counts(name: str, model: str, profile: str | None) -> None:
    g = load(name)
    m = tm.get_model(model, profile=profile)
    ok = g["error"] == 0
    samples = np.asarray(g["samples"], dtype=np.int64)
    assert len(samples) > 1000
    tokens = m.audio_tokens(samples=samples[ok])
    want = g["placeholders"][ok] + g["wrappers"][ok]
    bad = np.flatnonzero(tokens != want)
    assert bad.size == 0, [(int(samples[ok][i]), int(tokens[i]), int(want[i])) for i in bad[:5]]
    # Wrappers are the reference's <|audio_bos|>/<|audio_eos|> ids, one pair per clip.
    c = m.count_audio(samples=int(samples[ok][-1]))
    assert c.wrapper_tokens == int(g["wrappers"][ok][-1])
    # Where the processor raises, tokenmeter refuses the clip instead of inventing a count.
    for s in samples[~ok]:
        with pytest.raises(InvalidInputError, match="too short"):
            m.count_audio(samples=int(s))


def test_processor_zero_token_clips_are_reported_as_zero() -> None:
    g = load("qwen2_audio")
    zero = g["samples"][(g["placeholders"] == 0) & (g["error"] == 0)]
    assert zero.max() == 320  # up to two mel frames (20 ms) give no placeholder at all
    m = tm.get_model("qwen2-audio-7b-instruct")
    c = m.count_audio(samples=int(zero.max()))
    assert (c.tokens, c.placeholder_tokens) == (2, 0)
    assert "0" in c.explain()


def test_qwen3_omni_max_length_profile() -> None:
    g = load("qwen3_omni_max_length")
    m = tm.get_model("qwen3-omni", profile="max-length")
    tokens = m.audio_tokens(samples=g["samples"])
    np.testing.assert_array_equal(tokens - 2, g["placeholders"])


def test_whisper_positions() -> None:
    g = load("whisper")
    m = tm.get_model("whisper-large-v3")
    got = m.audio_tokens(samples=g["samples"])
    np.testing.assert_array_equal(got, g["positions"])
    with pytest.raises(InvalidInputError, match="0 samples"):
        m.count_audio(0.0)


def test_resampled_lengths_match_librosa() -> None:
    g = load("resample")
    m = tm.get_model("qwen2-audio-7b-instruct")
    c = m.rule("audio").evaluate(
        np.zeros(len(g["samples"])), samples=g["samples"], sample_rate=g["sample_rate"]
    )
    np.testing.assert_array_equal(c.derivation["samples"], g["resampled"])


def test_vendor_documented_rates() -> None:
    g = load("vendor_examples")
    for model, seconds, direction, tokens in zip(
        g["model"], g["seconds"], g["direction"], g["tokens"], strict=True
    ):
        c = tm.get_model(str(model)).count_audio(float(seconds), direction=str(direction))
        assert c.tokens == int(tokens), (model, seconds, direction)
        assert not c.exact  # a published rate, not reference code


def test_sample_rate_path_uses_resampled_length() -> None:
    # 1 s at 44.1 kHz is 44100 source samples, which librosa resamples to 16000.
    m = tm.get_model("qwen2-audio-7b-instruct")
    a = m.count_audio(1.0, sample_rate=44_100)
    b = m.count_audio(samples=44_100, sample_rate=44_100)
    assert a.tokens == b.tokens == 27
    assert a.details["samples"] == 16_000
