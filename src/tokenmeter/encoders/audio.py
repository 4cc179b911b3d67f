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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..kernels import audio as ka
from ..kernels._blocks import Scratch, flat, run_blocks
from ..kernels._intmath import I64, as_int_array, broadcast_same
from ._arrays import Derived, const, item
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


def _plain_int(value: object) -> bool:
    return value is None or type(value) is int


class _Samples:
    """The 16 kHz sample counts of a call's clips, one item or block by block.

    ``one`` is the count of a single clip given as Python numbers (the scalar API), or
    None. Otherwise ``block(start, stop)`` gives the counts of those clips: for plain
    durations (the common case) it converts each block as it is needed; ``samples=`` and
    ``sample_rate=`` arrays are converted whole, once.
    """

    __slots__ = ("_d", "_n", "_rate", "one", "shape", "size")

    def __init__(self, durations: np.ndarray, opts: Mapping[str, Any], model_rate: int) -> None:
        samples = opts.get("samples")
        rate = opts.get("sample_rate")
        self._rate = model_rate
        self._n: I64 | None = None
        self.one: int | None = None
        if durations.size == 1 and _plain_int(samples) and _plain_int(rate):
            self.shape: tuple[int, ...] = durations.shape
            self.size = 1
            self.one = self._one(durations.item(), samples, rate)
            return
        if samples is None and rate is None:
            self._d = flat(durations)
            self.shape = durations.shape
        else:
            n = model_samples(durations, dict(opts), model_rate)
            self._n = flat(n)
            self.shape = n.shape
        self.size = int(np.prod(self.shape))

    def _one(self, d: float, samples: int | None, rate: int | None) -> int:
        """The count of one clip, with the array path's checks and messages."""
        if samples is not None:
            if not 0 <= samples <= ka.MAX_SAMPLES:
                as_int_array("samples", samples, low=0, high=ka.MAX_SAMPLES)  # raises
            n: int = samples if rate is None else ka.resampled_length(samples, rate, self._rate)
            return n
        if rate is not None:
            if not 1 <= rate <= 10**7:
                as_int_array("sample_rate", rate, low=1, high=10**7)  # raises
            n = ka.resampled_length(ka.samples_of(d, rate), rate, self._rate)
            return n
        n = ka.samples_of(d, self._rate)
        return n

    @classmethod
    def of_counts(cls, samples: Any) -> _Samples:
        """Clips given by their (checked) 16 kHz counts: a Python int or an int64 array."""
        self = cls.__new__(cls)
        self._rate = 0
        if type(samples) is int:
            self.one, self._n, self.shape, self.size = samples, None, (), 1
        else:
            arr = np.asarray(samples, dtype=np.int64)
            self.one, self._n, self.shape, self.size = None, flat(arr), arr.shape, arr.size
        return self

    def block(self, start: int, stop: int, scratch: Scratch | None = None) -> Any:
        if self._n is not None:
            return self._n[start:stop]
        return ka.samples_of(self._d[start:stop], self._rate, scratch)

    def whole(self) -> I64:
        """Every clip's count as one int64 array of the inputs' shape."""
        if self.one is not None:
            return item(self.one, self.shape)
        if self._n is not None:
            return self._n.reshape(self.shape)
        return np.asarray(ka.samples_of(self._d, self._rate)).reshape(self.shape)


Core = Callable[[Any, int, "Scratch | None"], tuple[Any, ...]]


def _evaluate(src: _Samples, core: Core, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Run ``core(samples, offset, scratch) -> values`` (one per name) over every clip."""
    if src.one is not None:
        return {k: item(v, src.shape) for k, v in zip(names, core(src.one, 0, None), strict=True)}
    outs = {k: np.empty(src.size, np.int64) for k in names}

    def block(start: int, stop: int, scratch: Scratch) -> None:
        vals = core(src.block(start, stop, scratch), start, scratch)
        for k, v in zip(names, vals, strict=True):
            outs[k][start:stop] = v

    run_blocks(block, src.size)
    return {k: v.reshape(src.shape) for k, v in outs.items()}


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
            n = ka.resampled_length(
                n, as_int_array("sample_rate", rate, low=1, high=10**7), model_rate
            )
    elif rate is not None:
        sr = as_int_array("sample_rate", rate, low=1, high=10**7)
        d, sr = broadcast_same(("duration", np.asarray(durations)), ("sample_rate", sr))
        src = np.rint(d * sr.astype(np.float64)).astype(np.int64)
        n = ka.resampled_length(src, sr, model_rate)
    else:
        n = np.rint(np.asarray(durations) * float(model_rate)).astype(np.int64)
    _, n_b = broadcast_same(("duration", np.asarray(durations)), ("samples", np.asarray(n)))
    return np.asarray(n_b, dtype=np.int64)


def _lazy(src: _Samples, **make: Callable[[I64], Any]) -> Mapping[str, np.ndarray]:
    """The derivation: ``samples`` and arrays computed from them, on first access
    (``audio_tokens`` never reads them)."""
    if src.one is not None:
        # One clip: Python ints all the way, one small array per key.
        n, shape = src.one, src.shape
        one: Any = n  # the kernels take a Python int as well as an array
        return {"samples": item(n, shape), **{k: item(fn(one), shape) for k, fn in make.items()}}
    cache: list[I64] = []

    def samples() -> I64:
        if not cache:
            cache.append(src.whole())
        return cache[0]

    table: dict[str, Callable[[], Any]] = {"samples": samples}
    for k, fn in make.items():
        table[k] = partial(_apply, fn, samples)
    return Derived(table)


def _apply(fn: Callable[[I64], Any], samples: Callable[[], I64]) -> Any:
    return fn(samples())


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

    def _max_frames(self) -> int:
        return self.max_seconds * self.sample_rate // self.hop_length

    def _mel(self, samples: Any, scratch: Scratch | None = None) -> Any:
        return ka.mel_frames_of(samples, self.hop_length, self._max_frames(), "max_length", scratch)

    def _core(self, samples: Any, offset: int, scratch: Scratch | None = None) -> tuple[Any, Any]:
        positions, placeholders = ka.qwen_audio_tokens(self._mel(samples, scratch), scratch)
        placeholders += self.wrapper_tokens  # a fresh int, or a work array of this block
        return placeholders, positions

    def _count(self, src: _Samples) -> RuleResult:
        out = _evaluate(src, self._core, ("tokens", "positions"))
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=const(self.wrapper_tokens, src.shape),
            encoder_patches=out["positions"],
            derivation=_lazy(src, mel_frames=self._mel),
            notes=(
                f"16 kHz samples -> mel frames ceil(samples/{self.hop_length}), capped at "
                f"{self.max_seconds} s ({self._max_frames()} frames; longer audio is "
                "truncated) -> ((mel-1)//2+1-2)//2+1 tokens (25/s); clips of up to 2 mel "
                "frames give 0",
            ),
        )

    def count_samples(self, samples: Any) -> RuleResult:
        """The count for clips of ``samples`` at 16 kHz (also used for audio inside video):
        checked counts, a Python int (one clip) or an int64 array."""
        return self._count(_Samples.of_counts(samples))

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for clips of these durations (or ``samples=``/``sample_rate=``)."""
        return self._count(_Samples(durations, opts, self.sample_rate))


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

    def _mel(self, samples: Any, scratch: Scratch | None = None) -> Any:
        max_frames = (
            self.max_seconds * self.sample_rate // self.hop_length if self.max_seconds else None
        )
        return ka.mel_frames_of(
            samples,
            self.hop_length,
            max_frames,
            "longest" if self.padding == "longest" else "max_length",
            scratch,
        )

    def _core(self, samples: Any, offset: int, scratch: Scratch | None = None) -> tuple[Any]:
        min_samples = self.n_fft // 2 + 1
        if self.padding == "longest":
            shortest = (
                samples
                if type(samples) is int
                else (int(samples.min()) if samples.size else min_samples)
            )
            if shortest < min_samples:
                i = 0 if type(samples) is int else int(np.argmin(samples))
                raise InvalidInputError(
                    f"an audio clip of {shortest} samples (item {offset + i}) is too short "
                    f"for Qwen3-Omni: its feature extractor needs at least {min_samples} "
                    f"samples at {self.sample_rate} Hz "
                    f"({min_samples / self.sample_rate * 1000:g} ms)"
                )
        tokens = ka.qwen3_omni_tokens(self._mel(samples, scratch), self.n_window, scratch)
        tokens += self.wrapper_tokens  # a fresh int, or a work array of this block
        return (tokens,)

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for clips of these durations (or ``samples=``/``sample_rate=``)."""
        src = _Samples(durations, opts, self.sample_rate)
        out = _evaluate(src, self._core, ("tokens",))
        how = (
            f"floor(samples/{self.hop_length}) (padding='longest', no truncation)"
            if self.padding == "longest"
            else f"ceil(samples/{self.hop_length}), capped at {self.max_seconds} s"
        )
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=const(self.wrapper_tokens, src.shape),
            derivation=_lazy(src, mel_frames=self._mel),
            notes=(
                f"16 kHz samples -> mel frames {how} -> 13 tokens per {2 * self.n_window} "
                "mel frames plus the conv output of the remainder",
            ),
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
        _positive(
            "whisper.windows",
            window_seconds=self.window_seconds,
            positions_per_window=self.positions_per_window,
        )

    def _windows(self, samples: Any, scratch: Scratch | None = None) -> Any:
        return ka.whisper_windows(
            samples, window_samples=self.window_seconds * self.sample_rate, scratch=scratch
        )

    def _core(self, samples: Any, offset: int, scratch: Scratch | None = None) -> tuple[Any]:
        shortest = samples if type(samples) is int else (int(samples.min()) if samples.size else 1)
        if shortest < 1:
            i = 0 if type(samples) is int else int(np.argmin(samples))
            raise InvalidInputError(
                f"audio item {offset + i} has 0 samples at {self.sample_rate} Hz; Whisper's "
                "feature extractor needs at least one sample (a duration of at least "
                "1/32000 s)"
            )
        positions = self._windows(samples, scratch)
        positions *= self.positions_per_window  # a fresh int, or a work array of this block
        return (positions,)

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Encoder positions for clips of these durations (or ``samples=``)."""
        src = _Samples(durations, opts, self.sample_rate)
        positions = _evaluate(src, self._core, ("positions",))["positions"]
        return RuleResult(
            tokens=positions,
            wrapper_tokens=const(0, src.shape),
            encoder_patches=positions,
            derivation=_lazy(src, windows=self._windows),
            notes=(
                f"{self.window_seconds} s windows (the last padded with silence), "
                f"{self.positions_per_window} encoder positions each",
            ),
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
        rounding: ka.Rounding = self.rounding  # type: ignore[assignment]  # checked above
        if durations.size == 1:
            tokens = item(ka.rate_tokens_of(durations.item(), per_s, rounding), durations.shape)
        else:
            d = flat(durations)
            out = np.empty(d.size, np.int64)

            def block(start: int, stop: int, scratch: Scratch) -> None:
                out[start:stop] = ka.rate_tokens_of(d[start:stop], per_s, rounding, scratch)

            run_blocks(block, d.size)
            tokens = out.reshape(durations.shape)
        return RuleResult(
            tokens=tokens,
            wrapper_tokens=const(0, tokens.shape),
            exact=False,
            method=f"published rate {per_s} tokens/s ({direction}), {self.rounding} of "
            "duration rounded to whole microseconds",
        )
