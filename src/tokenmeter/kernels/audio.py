"""Audio kernels: durations to samples, samples to mel frames, mel frames to tokens.

Every function takes arrays and returns int64 arrays of the same shape. The pipeline of
every Whisper-style encoder (Whisper, Qwen2-Audio, Qwen2.5-Omni, Qwen3-Omni) is

1. **samples at 16 kHz**: ``round(duration * 16000)``, rounded half to even
   (:func:`samples_from_durations`), or the length librosa's resampler gives for a clip of
   ``n`` samples at another rate (:func:`resampled_length`: ``ceil(n * (16000 / sr))``
   computed in float64, exactly as ``librosa.resample`` sizes its output);
2. **mel frames** (hop 160, i.e. 100 per second): :func:`mel_frames`. The
   feature extractor's attention mask is sampled every 160 samples, so with
   ``padding="max_length"`` there are ``ceil(samples / 160)`` frames, capped at the
   window's ``nb_max_frames``; with ``padding="longest"`` the last, partial hop is dropped
   (``floor(samples / 160)``);
3. **tokens** from the conv/pool output-length formulas of each encoder.

Rate rules (Gemini 32/s, OpenAI realtime 10/s in and 20/s out) use
:func:`rate_tokens`, which works on whole microseconds so that ``0.3 s * 10/s`` is 3 and
not ``ceil(3.0000000000000004) = 4``.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError
from ._intmath import I64, as_durations, as_int_array, ceil_div

__all__ = [
    "MAX_SAMPLES",
    "mel_frames",
    "qwen3_omni_tokens",
    "qwen_audio_tokens",
    "rate_tokens",
    "resampled_length",
    "samples_from_durations",
    "whisper_windows",
]

#: Largest sample count accepted (2**50, about 2 200 years at 16 kHz); keeps every product
#: below int64 and every float64 step exact.
MAX_SAMPLES = 2**50
_US_PER_S = 1_000_000


def samples_from_durations(durations: Any, sample_rate: int = 16_000) -> I64:
    """Samples in ``durations`` seconds at ``sample_rate``: ``round(d * sr)``, half to even.

    Args:
        durations: seconds (finite, >= 0, at most ``MAX_DURATION``).
        sample_rate: samples per second.

    Raises:
        InvalidInputError: a NaN, infinite, negative or too-long duration.
    """
    d = as_durations("duration", durations)
    return np.rint(d * float(sample_rate)).astype(np.int64)


def resampled_length(samples: Any, orig_sr: Any, target_sr: int = 16_000) -> I64:
    """Length of a clip of ``samples`` at ``orig_sr`` after resampling to ``target_sr``.

    ``librosa.resample`` (which transformers' ``load_audio`` uses) sizes its output as
    ``int(np.ceil(n * (target_sr / orig_sr)))`` in float64 and returns the input unchanged
    when the rates are equal; this reproduces both.

    Raises:
        InvalidInputError: a negative or non-integer sample count or rate.
    """
    n = as_int_array("samples", samples, low=0, high=MAX_SAMPLES)
    sr = as_int_array("sample_rate", orig_sr, low=1, high=10**7)
    ratio = float(target_sr) / sr.astype(np.float64)
    out = np.ceil(n.astype(np.float64) * ratio).astype(np.int64)
    return np.where(sr == target_sr, n, out)


def mel_frames(samples: Any, *, hop_length: int = 160, max_frames: int | None = None,
               padding: Literal["max_length", "longest"] = "max_length") -> I64:
    """Mel frames the feature extractor's attention mask counts for ``samples``.

    Args:
        samples: samples at the model's rate (16 kHz).
        hop_length: samples per mel frame.
        max_frames: the window's ``nb_max_frames`` (``chunk_length * 100``); longer input is
            truncated to it. ``None`` for no truncation.
        padding: ``"max_length"`` (the mask is padded to a multiple of the hop, so a
            partial hop counts: ``ceil``) or ``"longest"`` (a single clip is not padded and
            the extractor drops the partial last hop: ``floor``).
    """
    n = as_int_array("samples", samples, low=0, high=MAX_SAMPLES)
    frames = ceil_div(n, hop_length) if padding == "max_length" else n // hop_length
    if max_frames is not None:
        frames = np.minimum(frames, max_frames)
    return np.asarray(frames, dtype=np.int64)


def qwen_audio_tokens(mel: I64) -> tuple[I64, I64]:
    """Qwen2-Audio / Qwen2.5-Omni encoder lengths from mel frames ``L``.

    Returns:
        ``(encoder_positions, tokens)``: conv2 (stride 2) gives ``(L - 1) // 2 + 1``
        positions; the stride-2 average pool gives ``(positions - 2) // 2 + 1`` tokens.
        Python floor division is kept, so 1 or 2 mel frames give 0 tokens, as the
        processor does.
    """
    mel = np.asarray(mel, dtype=np.int64)
    positions = (mel - 1) // 2 + 1
    tokens = (positions - 2) // 2 + 1
    return np.maximum(positions, 0), np.maximum(tokens, 0)


def qwen3_omni_tokens(mel: I64, n_window: int = 50) -> I64:
    """Qwen3-Omni audio tokens from mel frames: 13 per full ``2 * n_window`` frames plus
    the conv output of the remainder (``_get_feat_extract_output_lengths``)."""
    mel = np.asarray(mel, dtype=np.int64)
    chunk = 2 * n_window
    leave = mel % chunk
    feat = (leave - 1) // 2 + 1
    tail = ((feat - 1) // 2 + 1 - 1) // 2 + 1
    return np.asarray(tail + (mel // chunk) * 13, dtype=np.int64)


def whisper_windows(samples: Any, *, window_samples: int = 480_000) -> I64:
    """30-second windows Whisper encodes for ``samples``: ``max(1, ceil(samples / window))``.

    The feature extractor pads every input to a whole window (an empty clip becomes one
    window of silence), and long audio is encoded window by window.
    """
    n = as_int_array("samples", samples, low=0, high=MAX_SAMPLES)
    windows: I64 = np.maximum(ceil_div(n, window_samples), 1).astype(np.int64)
    return windows


def rate_tokens(durations: Any, tokens_per_second: int,
                rounding: Literal["ceil", "floor", "round"] = "ceil") -> I64:
    """``duration * tokens_per_second`` as whole tokens.

    The duration is first rounded to the nearest microsecond (half to even), and the
    product is then computed in integers and rounded as named, so decimal durations such
    as 0.3 s give the number a person would write down.

    Raises:
        InvalidInputError: a bad duration or rounding mode.
    """
    if rounding not in ("ceil", "floor", "round"):
        raise InvalidInputError(
            f"rounding = {rounding!r} is not allowed; use 'ceil', 'floor' or 'round'"
        )
    d = as_durations("duration", durations)
    us = np.rint(d * _US_PER_S).astype(np.int64)
    num = us * int(tokens_per_second)
    if rounding == "ceil":
        out = ceil_div(num, _US_PER_S)
    elif rounding == "floor":
        out = num // _US_PER_S
    else:
        q, r = np.divmod(num, _US_PER_S)
        out = q + ((2 * r > _US_PER_S) | ((2 * r == _US_PER_S) & (q % 2 == 1)))
    return np.asarray(out, dtype=np.int64)
