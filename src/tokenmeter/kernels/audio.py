"""Audio kernels: durations to samples, samples to mel frames, mel frames to tokens.

Every public function takes arrays and returns int64 arrays of the same shape; given one
clip as plain Python numbers it returns a Python int instead, computed with the same
integer operators (the scalar API's path, where a numpy call would cost more than the
arithmetic). The pipeline of every Whisper-style encoder (Whisper, Qwen2-Audio,
Qwen2.5-Omni, Qwen3-Omni) is

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

The ``*_of`` functions are the unchecked cores the rules call on inputs they have already
checked, one block at a time: given a ``scratch`` (:mod:`tokenmeter.kernels._blocks`)
their array steps run in place in its work arrays instead of allocating temporaries.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError
from ._blocks import Scratch, work
from ._intmath import MAX_DURATION, as_durations, as_int_array, ceil_div

__all__ = [
    "MAX_SAMPLES",
    "mel_frames",
    "mel_frames_of",
    "qwen3_omni_tokens",
    "qwen_audio_tokens",
    "rate_tokens",
    "rate_tokens_of",
    "resampled_length",
    "samples_from_durations",
    "samples_of",
    "whisper_windows",
]

#: Largest sample count accepted (2**50, about 2 200 years at 16 kHz); keeps every product
#: below int64 and every float64 step exact.
MAX_SAMPLES = 2**50
_US_PER_S = 1_000_000
Rounding = Literal["ceil", "floor", "round"]


def _one(x: object) -> bool:
    """True for a plain Python number: the one-clip path (bools and numpy scalars are not)."""
    return type(x) is int or type(x) is float


def _count(name: str, value: Any, low: int, high: int) -> Any:
    """A checked count: a Python int stays one; anything else becomes an int64 array."""
    if type(value) is int and low <= value <= high:
        return value
    return as_int_array(name, value, low=low, high=high)


def _seconds(value: Any) -> Any:
    """A checked duration: a Python number stays a float; anything else a float64 array."""
    if _one(value) and 0.0 <= value <= MAX_DURATION:
        return float(value)
    return as_durations("duration", value)


def samples_of(durations: Any, sample_rate: int, scratch: Scratch | None = None) -> Any:
    """``round(duration * sample_rate)`` half to even, unchecked (float or float64 array)."""
    if type(durations) is float:
        return round(durations * sample_rate)
    d = np.asarray(durations)
    x = np.multiply(d, float(sample_rate), out=work(scratch, d.shape))
    np.rint(x, out=x)
    out = work(scratch, d.shape, np.int64)
    np.copyto(out, x, casting="unsafe")
    return out


def samples_from_durations(durations: Any, sample_rate: int = 16_000) -> Any:
    """Samples in ``durations`` seconds at ``sample_rate``: ``round(d * sr)``, half to even.

    Args:
        durations: seconds (finite, >= 0, at most ``MAX_DURATION``).
        sample_rate: samples per second.

    Raises:
        InvalidInputError: a NaN, infinite, negative or too-long duration.
    """
    return samples_of(_seconds(durations), sample_rate)


def resampled_length(samples: Any, orig_sr: Any, target_sr: int = 16_000) -> Any:
    """Length of a clip of ``samples`` at ``orig_sr`` after resampling to ``target_sr``.

    ``librosa.resample`` (which transformers' ``load_audio`` uses) sizes its output as
    ``int(np.ceil(n * (target_sr / orig_sr)))`` in float64 and returns the input unchanged
    when the rates are equal; this reproduces both.

    Raises:
        InvalidInputError: a negative or non-integer sample count or rate.
    """
    n = _count("samples", samples, 0, MAX_SAMPLES)
    sr = _count("sample_rate", orig_sr, 1, 10**7)
    if type(n) is int and type(sr) is int:
        return n if sr == target_sr else math.ceil(n * (float(target_sr) / sr))
    n = np.asarray(n, dtype=np.int64)
    sr = np.asarray(sr, dtype=np.int64)
    ratio = float(target_sr) / sr.astype(np.float64)
    out = np.ceil(n.astype(np.float64) * ratio).astype(np.int64)
    return np.where(sr == target_sr, n, out)


def _ceil_div_into(out: np.ndarray, a: np.ndarray, d: int) -> np.ndarray:
    """``-(-a // d)`` written into ``out``."""
    np.negative(a, out=out)
    np.floor_divide(out, d, out=out)
    np.negative(out, out=out)
    return out


def mel_frames_of(
    samples: Any,
    hop_length: int,
    max_frames: int | None,
    padding: Literal["max_length", "longest"],
    scratch: Scratch | None = None,
) -> Any:
    """:func:`mel_frames` on checked samples (a Python int or an int64 array)."""
    if type(samples) is int:
        frames = (
            ceil_div(samples, hop_length) if padding == "max_length" else (samples // hop_length)
        )
        return frames if max_frames is None else min(frames, max_frames)
    s = np.asarray(samples)
    out = work(scratch, s.shape, np.int64)
    if padding == "max_length":
        _ceil_div_into(out, s, hop_length)
    else:
        np.floor_divide(s, hop_length, out=out)
    if max_frames is not None:
        np.minimum(out, max_frames, out=out)
    return out


def mel_frames(
    samples: Any,
    *,
    hop_length: int = 160,
    max_frames: int | None = None,
    padding: Literal["max_length", "longest"] = "max_length",
) -> Any:
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
    return mel_frames_of(
        _count("samples", samples, 0, MAX_SAMPLES), hop_length, max_frames, padding
    )


def qwen_audio_tokens(mel: Any, scratch: Scratch | None = None) -> tuple[Any, Any]:
    """Qwen2-Audio / Qwen2.5-Omni encoder lengths from mel frames ``L`` (``L >= 0``).

    Returns:
        ``(encoder_positions, tokens)``: conv2 (stride 2) gives ``(L - 1) // 2 + 1``
        positions; the stride-2 average pool gives ``(positions - 2) // 2 + 1`` tokens.
        Python floor division is kept, so 1 or 2 mel frames give 0 tokens, as the
        processor does (and 0 frames give 0 of each).
    """
    # ``x >> 1`` is floor(x / 2) for either sign, in Python and in numpy alike, and is one
    # cheap pass where ``// 2`` is a division.
    if type(mel) is int:
        positions = ((mel - 1) >> 1) + 1
        return positions, ((positions - 2) >> 1) + 1
    m = np.asarray(mel, dtype=np.int64)
    pos = np.subtract(m, 1, out=work(scratch, m.shape, np.int64))
    np.right_shift(pos, 1, out=pos)
    pos += 1
    tok = np.subtract(pos, 2, out=work(scratch, m.shape, np.int64))
    np.right_shift(tok, 1, out=tok)
    tok += 1
    return pos, tok


def qwen3_omni_tokens(mel: Any, n_window: int = 50, scratch: Scratch | None = None) -> Any:
    """Qwen3-Omni audio tokens from mel frames: 13 per full ``2 * n_window`` frames plus
    the conv output of the remainder (``_get_feat_extract_output_lengths``)."""
    if type(mel) is int:
        full, leave = divmod(mel, 2 * n_window)
        feat = ((leave - 1) >> 1) + 1
        return ((((feat - 1) >> 1) + 1 - 1) >> 1) + 1 + full * 13
    m = np.asarray(mel, dtype=np.int64)
    whole = work(scratch, m.shape, np.int64)
    rest: np.ndarray = work(scratch, m.shape, np.int64)
    np.divmod(m, 2 * n_window, out=(whole, rest))
    # feat = (leave - 1) // 2 + 1 and tail = ((feat - 1) // 2 + 1 - 1) // 2 + 1 are
    # floor((leave - 1) / 8) + 1: three floor halvings, one arithmetic shift.
    rest -= 1
    np.right_shift(rest, 3, out=rest)
    rest += 1
    whole *= 13
    rest += whole
    return rest


def whisper_windows(
    samples: Any, *, window_samples: int = 480_000, scratch: Scratch | None = None
) -> Any:
    """30-second windows Whisper encodes for ``samples``: ``max(1, ceil(samples / window))``.

    The feature extractor pads every input to a whole window (an empty clip becomes one
    window of silence), and long audio is encoded window by window.
    """
    n = _count("samples", samples, 0, MAX_SAMPLES)
    if type(n) is int:
        return max(ceil_div(n, window_samples), 1)
    out = _ceil_div_into(work(scratch, n.shape, np.int64), n, window_samples)
    return np.maximum(out, 1, out=out)


def _check_rounding(rounding: str) -> None:
    if rounding not in ("ceil", "floor", "round"):
        raise InvalidInputError(
            f"rounding = {rounding!r} is not allowed; use 'ceil', 'floor' or 'round'"
        )


def rate_tokens_of(
    durations: Any, tokens_per_second: int, rounding: Rounding, scratch: Scratch | None = None
) -> Any:
    """:func:`rate_tokens` on checked durations (a float or a float64 array)."""
    if type(durations) is float:
        num = round(durations * _US_PER_S) * int(tokens_per_second)
        if rounding == "ceil":
            return ceil_div(num, _US_PER_S)
        if rounding == "floor":
            return num // _US_PER_S
        q, r = divmod(num, _US_PER_S)
        return q + ((2 * r > _US_PER_S) or (2 * r == _US_PER_S and q % 2 == 1))
    num = samples_of(durations, _US_PER_S, scratch)
    num *= int(tokens_per_second)
    if rounding == "ceil":
        return _ceil_div_into(num, num, _US_PER_S)
    if rounding == "floor":
        return np.floor_divide(num, _US_PER_S, out=num)
    q, r = np.divmod(num, _US_PER_S)
    return q + ((2 * r > _US_PER_S) | ((2 * r == _US_PER_S) & (q % 2 == 1)))


def rate_tokens(durations: Any, tokens_per_second: int, rounding: Rounding = "ceil") -> Any:
    """``duration * tokens_per_second`` as whole tokens.

    The duration is first rounded to the nearest microsecond (half to even), and the
    product is then computed in integers and rounded as named, so decimal durations such
    as 0.3 s give the number a person would write down.

    Raises:
        InvalidInputError: a bad duration or rounding mode.
    """
    _check_rounding(rounding)
    return rate_tokens_of(_seconds(durations), tokens_per_second, rounding)
