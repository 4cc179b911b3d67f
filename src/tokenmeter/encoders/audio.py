"""Audio rule kinds: Whisper windows, Qwen audio encoders, and per-second rates.

What each rule calls a token (see ``docs/audio.md``):

* ``qwen.audio`` (Qwen2-Audio, Qwen2.5-Omni) and ``qwen3_omni.audio``: ``<|AUDIO|>``
  placeholders in the decoder context, plus the ``<|audio_bos|>``/``<|audio_eos|>`` pair;
  ``encoder_patches`` is the audio encoder's length after its stride-2 conv.
* ``whisper.windows``: Whisper's encoder positions (1500 per 30 s window); Whisper has no
  decoder-side audio tokens.
* ``rate``: a vendor's published tokens per second (Gemini 32/s; OpenAI realtime 10/s for
  user audio and 20/s for assistant audio). No reference code exists, so these are
  labelled estimates.

Samples: a duration becomes ``round(duration * 16000)`` samples (half to even) at the
model's 16 kHz. ``samples=`` gives the count directly; with ``sample_rate=`` it is the
source's count at that rate and is resampled the way ``librosa.resample`` sizes its
output (``ceil(n * 16000 / sr)`` in float64).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..kernels import audio as ka
from ..kernels._intmath import I64, as_int_array, broadcast_same
from ._base import AudioRule, RuleResult
from ._registry import builtin_rule

__all__ = [
    "Qwen3OmniAudioRule",
    "QwenAudioRule",
    "RateRule",
    "WhisperWindowsRule",
    "model_samples",
]

_SAMPLE_OPTIONS = frozenset({"samples", "sample_rate"})


def _positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise InvalidInputError(f"{owner}.{name} must be a positive int, got {value!r}")


def model_samples(durations: np.ndarray, opts: dict[str, Any], model_rate: int) -> I64:
    """Samples at ``model_rate`` for each clip, from a duration or ``samples=``/``sample_rate=``.

    Args:
        durations: checked float64 seconds.
        opts: the call's options; ``samples`` (int or array) and ``sample_rate`` (the
            source's rate, default ``model_rate``) are used when present.
        model_rate: the rate the model's feature extractor expects.

    Returns:
        int64 samples, broadcast to the shape of ``durations`` and ``samples``.
    """
    samples = opts.get("samples")
    rate = opts.get("sample_rate")
    if samples is not None:
        n = as_int_array("samples", samples, low=0, high=ka.MAX_SAMPLES)
        if rate is not None:
            n = ka.resampled_length(n, rate, model_rate)
    elif rate is not None:
        sr = as_int_array("sample_rate", rate, low=1, high=10**7)
        d, sr = broadcast_same(("duration", np.asarray(durations)), ("sample_rate", sr))
        src = np.rint(d * sr.astype(np.float64)).astype(np.int64)
        n = ka.resampled_length(src, sr, model_rate)
    else:
        n = np.rint(np.asarray(durations) * float(model_rate)).astype(np.int64)
    _, n_b = broadcast_same(("duration", np.asarray(durations)), ("samples", np.asarray(n)))
    return np.asarray(n_b, dtype=np.int64)


@dataclass(frozen=True, slots=True, kw_only=True)
class _SampledAudioRule(AudioRule):
    """Shared fields of the rules that count 16 kHz samples."""

    options: ClassVar[frozenset[str]] = _SAMPLE_OPTIONS

    sample_rate: int = 16_000
    hop_length: int = 160

    def __post_init__(self) -> None:
        _positive(type(self).__name__, sample_rate=self.sample_rate, hop_length=self.hop_length)


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class QwenAudioRule(_SampledAudioRule):
    """Qwen2-Audio and Qwen2.5-Omni: Whisper features, one window of ``max_seconds``.

    The processor pads to the window with ``padding="max_length"`` and truncates longer
    audio, so ``mel = min(ceil(samples / 160), max_seconds * 100)``; then the encoder's
    conv (stride 2) and pool (stride 2) give ``((mel - 1) // 2 + 1 - 2) // 2 + 1`` tokens:
    25 per second, 750 at most for Qwen2-Audio (30 s) and 7500 for Qwen2.5-Omni (300 s).
    One or two mel frames (up to 320 samples, 20 ms) give 0 tokens, as the processor does.

    Attributes:
        max_seconds: the feature extractor's ``chunk_length``; longer audio is truncated.
        wrapper_tokens: ``<|audio_bos|>`` and ``<|audio_eos|>``.
    """

    kind: ClassVar[str] = "qwen.audio"

    max_seconds: int = 30
    wrapper_tokens: int = 2

    def __post_init__(self) -> None:
        _SampledAudioRule.__post_init__(self)
        _positive("qwen.audio", max_seconds=self.max_seconds)
        if self.wrapper_tokens < 0:
            raise InvalidInputError(
                f"qwen.audio.wrapper_tokens must be >= 0, got {self.wrapper_tokens}"
            )

    def count_samples(self, samples: I64) -> RuleResult:
        """The count for clips of ``samples`` at 16 kHz (also used for audio inside video)."""
        max_frames = self.max_seconds * self.sample_rate // self.hop_length
        mel = ka.mel_frames(samples, hop_length=self.hop_length, max_frames=max_frames)
        positions, placeholders = ka.qwen_audio_tokens(mel)
        wrappers = np.full_like(placeholders, self.wrapper_tokens)
        return RuleResult(
            tokens=placeholders + wrappers,
            wrapper_tokens=wrappers,
            encoder_patches=positions,
            derivation={"samples": samples, "mel_frames": mel},
            notes=(f"16 kHz samples -> mel frames ceil(samples/{self.hop_length}), capped at "
                   f"{self.max_seconds} s ({max_frames} frames; longer audio is truncated) -> "
                   "((mel-1)//2+1-2)//2+1 tokens (25/s); clips of up to 2 mel frames give 0",),
        )

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for clips of these durations (or ``samples=``/``sample_rate=``)."""
        return self.count_samples(model_samples(durations, opts, self.sample_rate))


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class Qwen3OmniAudioRule(_SampledAudioRule):
    """Qwen3-Omni: 13 tokens per full second (``n_window`` 50) plus the remainder's conv.

    transformers' ``Qwen3OmniMoeProcessor`` calls the feature extractor with
    ``padding=True`` (longest) and ``truncation=False``: a single clip is not padded, the
    partial last hop is dropped (``mel = floor(samples / 160)``) and nothing is truncated.
    Clips of at most ``n_fft // 2`` samples (200, 12.5 ms) make its STFT fail, so they
    are refused here too. ``padding = "max_length"`` with ``max_seconds`` gives the
    feature extractor's own defaults instead (``ceil`` and a 300 s cap).

    Attributes:
        n_window: the audio encoder's window (``2 * n_window`` mel frames = 13 tokens).
        padding: ``"longest"`` (the processor) or ``"max_length"``.
        max_seconds: the truncation window under ``"max_length"`` (0 = none).
        n_fft: the STFT size; ``"longest"`` padding needs more than ``n_fft // 2`` samples.
    """

    kind: ClassVar[str] = "qwen3_omni.audio"

    n_window: int = 50
    padding: str = "longest"
    max_seconds: int = 0
    n_fft: int = 400
    wrapper_tokens: int = 2

    def __post_init__(self) -> None:
        _SampledAudioRule.__post_init__(self)
        _positive("qwen3_omni.audio", n_window=self.n_window, n_fft=self.n_fft)
        if self.padding not in ("longest", "max_length"):
            raise InvalidInputError(
                f"qwen3_omni.audio.padding = {self.padding!r}; use 'longest' or 'max_length'"
            )
        if self.max_seconds < 0 or self.wrapper_tokens < 0:
            raise InvalidInputError("qwen3_omni.audio.max_seconds and wrapper_tokens must be >= 0")

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for clips of these durations (or ``samples=``/``sample_rate=``)."""
        samples = model_samples(durations, opts, self.sample_rate)
        min_samples = self.n_fft // 2 + 1
        if self.padding == "longest" and samples.size and int(samples.min()) < min_samples:
            i = int(np.argmin(samples.ravel()))
            raise InvalidInputError(
                f"an audio clip of {int(samples.ravel()[i])} samples (item {i}) is too short for "
                f"Qwen3-Omni: its feature extractor needs at least {min_samples} samples at "
                f"{self.sample_rate} Hz ({min_samples / self.sample_rate * 1000:g} ms)"
            )
        max_frames = (self.max_seconds * self.sample_rate // self.hop_length
                      if self.max_seconds else None)
        mel = ka.mel_frames(samples, hop_length=self.hop_length, max_frames=max_frames,
                            padding="longest" if self.padding == "longest" else "max_length")
        placeholders = ka.qwen3_omni_tokens(mel, self.n_window)
        wrappers = np.full_like(placeholders, self.wrapper_tokens)
        how = (f"floor(samples/{self.hop_length}) (padding='longest', no truncation)"
               if self.padding == "longest" else
               f"ceil(samples/{self.hop_length}), capped at {self.max_seconds} s")
        return RuleResult(
            tokens=placeholders + wrappers,
            wrapper_tokens=wrappers,
            derivation={"samples": samples, "mel_frames": mel},
            notes=(f"16 kHz samples -> mel frames {how} -> 13 tokens per {2 * self.n_window} "
                   "mel frames plus the conv output of the remainder",),
        )


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class WhisperWindowsRule(_SampledAudioRule):
    """Whisper: every 30 s window (the last one padded) is 1500 encoder positions.

    ``tokens`` and ``encoder_patches`` are both the encoder positions; Whisper puts no
    audio placeholders in its decoder. An empty clip is refused (the feature extractor
    fails on it); any other clip is at least one window.
    """

    kind: ClassVar[str] = "whisper.windows"

    window_seconds: int = 30
    positions_per_window: int = 1500

    def __post_init__(self) -> None:
        _SampledAudioRule.__post_init__(self)
        _positive("whisper.windows", window_seconds=self.window_seconds,
                  positions_per_window=self.positions_per_window)

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Encoder positions for clips of these durations (or ``samples=``)."""
        samples = model_samples(durations, opts, self.sample_rate)
        if samples.size and int(samples.min()) < 1:
            i = int(np.argmin(samples.ravel()))
            raise InvalidInputError(
                f"audio item {i} has 0 samples at {self.sample_rate} Hz; Whisper's feature "
                "extractor needs at least one sample (a duration of at least 1/32000 s)"
            )
        windows = ka.whisper_windows(samples, window_samples=self.window_seconds * self.sample_rate)
        positions = windows * self.positions_per_window
        return RuleResult(
            tokens=positions,
            wrapper_tokens=np.zeros_like(positions),
            encoder_patches=positions,
            derivation={"samples": samples, "windows": windows},
            notes=(f"{self.window_seconds} s windows (the last padded with silence), "
                   f"{self.positions_per_window} encoder positions each",),
        )


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class RateRule(AudioRule):
    """A published rate: ``tokens_per_second`` (input) and ``output_tokens_per_second``.

    The duration is rounded to whole microseconds, multiplied in integers, and rounded
    as ``rounding`` says (the vendors do not document partial seconds, so ``ceil`` is an
    upper bound). Option ``direction="output"`` uses the output rate.
    """

    kind: ClassVar[str] = "rate"
    options: ClassVar[frozenset[str]] = frozenset({"direction"})
    exact: ClassVar[bool] = False

    tokens_per_second: int = 0
    output_tokens_per_second: int = 0
    rounding: str = "ceil"

    def __post_init__(self) -> None:
        _positive("rate", tokens_per_second=self.tokens_per_second)
        if self.output_tokens_per_second < 0:
            raise InvalidInputError("rate.output_tokens_per_second must be >= 0")
        if self.rounding not in ("ceil", "floor", "round"):
            raise InvalidInputError(
                f"rate.rounding = {self.rounding!r}; use 'ceil', 'floor' or 'round'"
            )

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for clips of these durations at the input (or output) rate."""
        direction = opts.get("direction", "input")
        if direction == "input":
            per_s = self.tokens_per_second
        elif direction == "output":
            if not self.output_tokens_per_second:
                raise InvalidInputError(
                    f"{self.name} has no published output rate; direction='output' is not available"
                )
            per_s = self.output_tokens_per_second
        else:
            raise InvalidInputError(
                f"direction = {direction!r} is not allowed; use 'input' or 'output'"
            )
        tokens = ka.rate_tokens(durations, per_s, self.rounding)  # type: ignore[arg-type]
        return RuleResult(
            tokens=tokens,
            wrapper_tokens=np.zeros_like(tokens),
            exact=False,
            method=f"published rate {per_s} tokens/s ({direction}), {self.rounding} of "
                   "duration rounded to whole microseconds",
        )
