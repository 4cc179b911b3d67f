"""Video rule kinds: Qwen2/2.5-VL, Qwen3-VL, Gemini, InternVL, and video-generation DiTs.

What each rule calls a token (see ``docs/video.md``):

* ``qwen.video`` / ``qwen3.video``: decoder-context tokens — ``<|video_pad|>``
  placeholders (one per 2x2 merge of 14/16-px patches of each pair of frames) plus the
  wrappers; ``encoder_patches`` is the ViT sequence before the merge (4x the
  placeholders). Qwen3-VL also writes ``"<{t:.1f} seconds>"`` text before every temporal
  group; those text tokens are included (``details["text_tokens"]``).
* ``gemini.video``: the tokens Gemini bills (per sampled frame, plus 32/s of soundtrack),
  from the published rates — labelled estimates.
* ``internvl.video``: 256 ``<IMG_CONTEXT>`` per frame, ``<img>``/``</img>`` around each,
  and the ``"Frame{i}: "`` labels between them.
* ``dit.latent``: the DiT transformer's sequence length for a generated clip (latent
  patches). Nothing is placed in an LLM context; this is the "video tokens" of generation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..kernels import audio as ka
from ..kernels import video as kv
from ..kernels._intmath import I64, as_durations, as_int_array, checked_mul
from ..kernels.grid import smart_resize_grid
from ._base import RuleResult, VideoRule
from ._registry import builtin_rule

__all__ = [
    "DitLatentRule",
    "GeminiVideoRule",
    "InternVLVideoRule",
    "Qwen3VideoRule",
    "QwenVideoRule",
]

_QWEN_OPTIONS = frozenset({
    "sample_fps", "nframes", "min_frames", "max_frames", "min_pixels", "max_pixels",
    "total_pixels", "cap_pixels_per_frame", "do_sample_frames", "use_audio_in_video",
    "audio_duration", "has_audio",
})


def _pos(owner: str, **values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InvalidInputError(f"{owner}.{name} must be a positive number, got {value!r}")


def _opt_int(opts: Mapping[str, Any], name: str, default: int | None, low: int = 1,
             high: int = 2**40) -> int | None:
    v = opts.get(name, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= int(v) <= high:
        raise InvalidInputError(f"{name} = {v!r} is not allowed; pass an int in {low}..{high}")
    return int(v)


def _opt_float(opts: Mapping[str, Any], name: str, default: float) -> float:
    v = opts.get(name, default)
    if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or not (
        np.isfinite(v) and 0 < v <= 1e5
    ):
        raise InvalidInputError(f"{name} = {v!r} is not allowed; pass a number in (0, 1e5]")
    return float(v)


def _opt_bool(opts: Mapping[str, Any], name: str, default: bool) -> bool:
    v = opts.get(name, default)
    if not isinstance(v, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def _grouped_grid(h: I64, w: I64, max_pixels: np.ndarray, **kw: Any) -> tuple[I64, I64]:
    """``smart_resize_grid`` with a per-video ``max_pixels``, one call per distinct value.

    Videos share a handful of values (one per sampled frame count), so this costs a few
    kernel calls, not one per video.
    """
    rows = np.empty(h.shape, np.int64)
    cols = np.empty(h.shape, np.int64)
    values, inverse = np.unique(max_pixels.ravel(), return_inverse=True)
    hr, wr = h.ravel(), w.ravel()
    rr, cr = rows.reshape(-1), cols.reshape(-1)
    for k, mp in enumerate(values.tolist()):
        sel = np.flatnonzero(inverse == k) if len(values) > 1 else slice(None)
        mpv: int | float = int(mp) if float(mp).is_integer() else float(mp)
        gr, gc = smart_resize_grid(hr[sel], wr[sel], max_pixels=mpv, **kw)
        rr[sel] = gr
        cr[sel] = gc
    return rows, cols


def _audio_seconds(opts: Mapping[str, Any], durations: np.ndarray) -> np.ndarray:
    """The soundtrack's seconds: ``audio_duration`` if given, else the video's duration
    when ``has_audio`` (default True), else 0."""
    if opts.get("audio_duration") is not None:
        ad = as_durations("audio_duration", opts["audio_duration"])
        return np.broadcast_to(ad, durations.shape) if ad.ndim == 0 else ad
    if _opt_bool(opts, "has_audio", True):
        return durations
    return np.zeros_like(durations)


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class QwenVideoRule(VideoRule):
    """Qwen2-VL / Qwen2.5-VL / Qwen2.5-Omni video: frames × 14-px patches, 2×2 merge.

    Variants (``variant``):

    * ``"transformers"`` — ``Qwen2VLVideoProcessor``: ``sample_frames`` at ``sample_fps``
      (2), every frame resized with the *image* bounds of the hub config (3136..12 845 056
      px; no per-frame cap) unless ``cap_pixels_per_frame``; ``do_sample_frames=False``
      keeps every source frame.
    * ``"qwen-vl-utils"`` — ``smart_nframes`` and ``fetch_video``: 128..768 tokens per
      frame, and a total budget ``total_pixels`` shared by the frames.
    * ``"vllm"`` — vLLM's loader takes ``num_frames`` (32) uniformly spaced frames (all of
      a shorter clip), then transformers resizes them.

    Tokens: ``ceil(n / 2) * (h' / 28) * (w' / 28)`` placeholders + ``wrapper_tokens``.
    With ``audio_in_video`` (Qwen2.5-Omni) and ``use_audio_in_video=True`` the soundtrack's
    audio tokens and their ``<|audio_bos|>``/``<|audio_eos|>`` pair are added: the
    processor interleaves them in 2 s chunks, which changes the order, not the count.
    """

    kind: ClassVar[str] = "qwen.video"
    options: ClassVar[frozenset[str]] = _QWEN_OPTIONS

    patch_size: int = 14
    merge_size: int = 2
    temporal_patch_size: int = 2
    sample_fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768
    min_pixels: int = 3136
    max_pixels: int = 12_845_056
    max_ratio: float = 200.0
    wrapper_tokens: int = 2
    cap_pixels_per_frame: bool = False
    max_video_tokens: int = 128_000
    video_min_pixels: int = 100_352
    video_max_pixels: int = 602_112
    total_pixels: int = 90_316_800
    num_frames: int = 32
    audio_in_video: bool = False
    audio_max_seconds: int = 300

    def __post_init__(self) -> None:
        if self.variant not in ("transformers", "qwen-vl-utils", "vllm"):
            raise InvalidInputError(
                f"qwen.video variant {self.variant!r}; use transformers, qwen-vl-utils or vllm"
            )
        _pos("qwen.video", patch_size=self.patch_size, merge_size=self.merge_size,
             temporal_patch_size=self.temporal_patch_size, sample_fps=self.sample_fps,
             max_pixels=self.max_pixels, total_pixels=self.total_pixels,
             max_ratio=self.max_ratio)
        if self.wrapper_tokens < 0 or self.min_pixels < 0:
            raise InvalidInputError("qwen.video wrapper_tokens and min_pixels must be >= 0")

    @property
    def factor(self) -> int:
        """Side multiple: patch size times merge size."""
        return self.patch_size * self.merge_size

    def _frames(self, total: I64, fps: np.ndarray, opts: Mapping[str, Any]) -> I64:
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        nframes = _opt_int(opts, "nframes", None)
        min_f = _opt_int(opts, "min_frames", self.min_frames)
        assert_int = int(min_f or 0)
        if self.variant == "qwen-vl-utils":
            return kv.qwen_vl_utils_nframes(total, fps, fps=sample_fps, min_frames=assert_int,
                                            max_frames=_opt_int(opts, "max_frames", None),
                                            nframes=nframes)
        if self.variant == "vllm":
            k = nframes if nframes is not None else self.num_frames
            return np.minimum(total, k).astype(np.int64)
        if not _opt_bool(opts, "do_sample_frames", True):
            return total.copy()
        return kv.hf_qwen2_nframes(total, fps, fps=sample_fps, min_frames=assert_int,
                                   max_frames=int(_opt_int(opts, "max_frames",
                                                           self.max_frames) or 0),
                                   num_frames=nframes,
                                   temporal_patch_size=self.temporal_patch_size)

    def _resize(self, h: I64, w: I64, n: I64, opts: Mapping[str, Any]) -> tuple[I64, I64]:
        f = self.factor
        if self.variant == "qwen-vl-utils":
            if "cap_pixels_per_frame" in opts:
                raise InvalidInputError("cap_pixels_per_frame applies to the transformers "
                                        "variant; qwen-vl-utils always caps per frame")
            min_p = int(_opt_int(opts, "min_pixels", self.video_min_pixels, low=0) or 0)
            total = float(_opt_int(opts, "total_pixels", self.total_pixels) or 0)
            # fetch_video: max(min(VIDEO_MAX, total / n * 2), int(min * 1.05)) in floats,
            # then a user max_pixels can only lower it.
            mp = np.maximum(np.minimum(float(self.video_max_pixels), total / n * 2),
                            float(int(min_p * 1.05)))
            user = _opt_int(opts, "max_pixels", None)
            if user is not None:
                mp = np.minimum(mp, float(user))
            return _grouped_grid(h, w, mp, factor=f, min_pixels=min_p, max_ratio=self.max_ratio,
                                 variant="qwen-vl-utils")
        if "total_pixels" in opts:
            raise InvalidInputError("total_pixels applies to the qwen-vl-utils variant; "
                                    "use cap_pixels_per_frame=True under transformers")
        min_p = int(_opt_int(opts, "min_pixels", self.min_pixels, low=0) or 0)
        max_p = int(_opt_int(opts, "max_pixels", self.max_pixels) or 0)
        if _opt_bool(opts, "cap_pixels_per_frame", self.cap_pixels_per_frame):
            # Qwen2VLVideoProcessor.resize: integer share of the total budget per frame.
            budget = int(self.max_video_tokens * f * f * 0.9)
            mp = np.maximum(np.minimum(max_p, budget * self.temporal_patch_size // n),
                            int(min_p * 1.05))
            return _grouped_grid(h, w, mp, factor=f, min_pixels=min_p, max_ratio=self.max_ratio,
                                 variant="transformers")
        return smart_resize_grid(h, w, factor=f, min_pixels=min_p, max_pixels=max_p,
                                 max_ratio=self.max_ratio, variant="transformers")

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for these videos; see the class docstring for the variants."""
        n = self._frames(total_frames, fps, opts)
        rows, cols = self._resize(heights, widths, n, opts)
        tps = self.temporal_patch_size
        grid_t = (n + tps - 1) // tps
        placeholders = checked_mul("tokens", grid_t, rows * cols)
        m = self.merge_size
        patches = placeholders * (m * m)
        wrappers = np.full(placeholders.shape, self.wrapper_tokens, np.int64)
        tokens = placeholders + wrappers
        derivation: dict[str, np.ndarray] = {
            "frames": n, "grid_t": grid_t, "grid_h": rows * m, "grid_w": cols * m,
            "resized_h": rows * self.factor, "resized_w": cols * self.factor,
        }
        notes = [self._note(opts)]
        audio_on = _opt_bool(opts, "use_audio_in_video", False)
        if audio_on:
            if not self.audio_in_video:
                raise InvalidInputError(
                    f"{self.name}: this model does not take the soundtrack "
                    "(use_audio_in_video is for Qwen2.5-Omni)")
            from .audio import QwenAudioRule

            secs = _audio_seconds(opts, durations)
            samples = ka.samples_from_durations(secs)
            audio = QwenAudioRule(max_seconds=self.audio_max_seconds).count_samples(samples)
            tokens = tokens + audio.tokens
            wrappers = wrappers + audio.wrapper_tokens
            derivation["audio_tokens"] = audio.tokens
            notes.append("use_audio_in_video: the soundtrack's audio tokens (25/s, with "
                         "<|audio_bos|>/<|audio_eos|>) are interleaved in 2 s chunks; the "
                         "count is video + audio")
        elif "audio_duration" in opts or "has_audio" in opts:
            # A probed soundtrack the model is not asked to use costs nothing.
            pass
        return RuleResult(tokens=tokens, wrapper_tokens=wrappers, encoder_patches=patches,
                          derivation=derivation, notes=tuple(notes))

    def _note(self, opts: Mapping[str, Any]) -> str:
        if self.variant == "qwen-vl-utils":
            return ("qwen-vl-utils: smart_nframes at 2 fps (even, 4..768), each frame "
                    "128..768 tokens and a share of the total pixel budget")
        if self.variant == "vllm":
            return (f"vLLM: {self.num_frames} uniformly spaced frames (all frames of a "
                    "shorter clip), resized with the hub image bounds")
        return (f"transformers: sample_frames at {opts.get('sample_fps', self.sample_fps):g} "
                f"fps, each frame resized into {opts.get('min_pixels', self.min_pixels)}.."
                f"{opts.get('max_pixels', self.max_pixels)} px"
                + (" and a share of the total budget"
                   if opts.get("cap_pixels_per_frame", self.cap_pixels_per_frame) else "")
                + "; odd frame counts padded to pairs")


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class Qwen3VideoRule(VideoRule):
    """Qwen3-VL video: 16-px patches, 2×2 merge, one budget for the whole clip, timestamps.

    * ``"transformers"`` — ``Qwen3VLVideoProcessor``: ``sample_frames`` (``int(total / fps
      * 2)`` clamped to 4..768 and the clip, indices ``linspace(0, total - 1, n)``), then
      ``smart_resize`` with the hub ``size`` applied to ``t * h * w`` of the whole video
      (``max_pixels`` 25 165 824: at most 12 288 placeholders per video); optional
      ``cap_pixels_per_frame``.
    * ``"qwen-vl-utils"`` — ``smart_nframes`` and ``fetch_video`` with factor 32 (128..768
      tokens per frame pair, total budget), then the processor without a second resize.

    The processor writes ``"<{t:.1f} seconds>"`` + ``<|vision_start|>`` + placeholders +
    ``<|vision_end|>`` for every temporal group ``t`` (the mean time of its 2 frames), inside
    the template's own ``<|vision_start|>``…``<|vision_end|>``. With Qwen's tokenizer the
    timestamp string is 5 tokens plus one per integer digit (each digit is its own
    pre-token), so no vocabulary file is needed to count it exactly; the tests check this
    against the vocabulary.
    """

    kind: ClassVar[str] = "qwen3.video"
    options: ClassVar[frozenset[str]] = frozenset({
        "sample_fps", "nframes", "min_frames", "max_frames", "min_pixels", "max_pixels",
        "total_pixels", "cap_pixels_per_frame", "audio_duration", "has_audio",
    })

    patch_size: int = 16
    merge_size: int = 2
    temporal_patch_size: int = 2
    sample_fps: float = 2.0
    min_frames: int = 4
    max_frames: int = 768
    min_pixels: int = 4096
    max_pixels: int = 25_165_824
    max_ratio: float = 200.0
    wrapper_tokens: int = 2
    timestamps: bool = True
    cap_pixels_per_frame: bool = False
    max_video_tokens: int = 768
    video_min_pixels: int = 131_072
    video_max_pixels: int = 786_432
    total_pixels: int = 117_964_800

    #: Tokens of "<", ".", the decimal digit, " seconds" and ">" in a timestamp string.
    TIMESTAMP_FIXED_TOKENS: ClassVar[int] = 5

    def __post_init__(self) -> None:
        if self.variant not in ("transformers", "qwen-vl-utils"):
            raise InvalidInputError(
                f"qwen3.video variant {self.variant!r}; use transformers or qwen-vl-utils"
            )
        _pos("qwen3.video", patch_size=self.patch_size, merge_size=self.merge_size,
             temporal_patch_size=self.temporal_patch_size, sample_fps=self.sample_fps,
             max_pixels=self.max_pixels, max_ratio=self.max_ratio)

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for these videos, timestamp text included."""
        f = self.patch_size * self.merge_size
        tps = self.temporal_patch_size
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        nframes = _opt_int(opts, "nframes", None)
        min_f = int(_opt_int(opts, "min_frames", self.min_frames) or 0)
        if self.variant == "qwen-vl-utils":
            n = kv.qwen_vl_utils_nframes(total_frames, fps, fps=sample_fps, min_frames=min_f,
                                         max_frames=_opt_int(opts, "max_frames", None),
                                         nframes=nframes)
            rule = QwenVideoRule(patch_size=self.patch_size, merge_size=self.merge_size,
                                 temporal_patch_size=tps, variant="qwen-vl-utils",
                                 video_min_pixels=self.video_min_pixels,
                                 video_max_pixels=self.video_max_pixels,
                                 total_pixels=self.total_pixels, max_ratio=self.max_ratio)
            rows, cols = rule._resize(heights, widths, n, opts)
            rh, rw = rows * f, cols * f
        else:
            if "total_pixels" in opts:
                raise InvalidInputError("total_pixels applies to the qwen-vl-utils variant")
            n = kv.hf_qwen3_nframes(total_frames, fps, fps=sample_fps, min_frames=min_f,
                                    max_frames=int(_opt_int(opts, "max_frames",
                                                            self.max_frames) or 0),
                                    num_frames=nframes)
            lo = int(_opt_int(opts, "min_pixels", self.min_pixels, low=0) or 0)
            hi = int(_opt_int(opts, "max_pixels", self.max_pixels) or 0)
            hi_arr: Any = hi
            if _opt_bool(opts, "cap_pixels_per_frame", self.cap_pixels_per_frame):
                per_frame = np.maximum(np.minimum(self.max_video_tokens * f * f, hi // n),
                                       int(lo * 1.05))
                hi_arr = per_frame * n
            rh, rw = kv.qwen3_video_grid(n, heights, widths, factor=f, temporal_factor=tps,
                                         min_pixels=lo, max_pixels=hi_arr,
                                         max_ratio=self.max_ratio)
        grid_t = (n + tps - 1) // tps
        per_group = (rh // f) * (rw // f)
        placeholders = checked_mul("tokens", grid_t, per_group)
        derivation: dict[str, np.ndarray] = {
            "frames": n, "grid_t": grid_t, "grid_h": rh // self.patch_size,
            "grid_w": rw // self.patch_size, "resized_h": rh, "resized_w": rw,
        }
        wrappers = self.wrapper_tokens + (2 * grid_t if self.timestamps else 0)
        wrappers = np.asarray(wrappers, dtype=np.int64)
        text = np.zeros_like(placeholders)
        if self.timestamps:
            digits = self._timestamp_digits(total_frames, fps, n)
            text = grid_t * self.TIMESTAMP_FIXED_TOKENS + digits
            derivation["text_tokens"] = text
        return RuleResult(
            tokens=placeholders + wrappers + text,
            wrapper_tokens=wrappers,
            encoder_patches=placeholders * (self.merge_size ** 2),
            derivation=derivation,
            notes=("Qwen3-VL: one <|vision_start|>/<|vision_end|> pair and one "
                   "\"<t seconds>\" timestamp (5 tokens + 1 per integer digit) per pair of "
                   "frames, inside the prompt's own pair; the placeholder figure includes "
                   "the timestamp text_tokens; the whole clip shares the pixel budget "
                   "(t*h*w)",),
        )

    def _timestamp_digits(self, total: I64, fps: np.ndarray, n: I64) -> I64:
        """Integer digits over every group's timestamp, per video (grouped by inputs)."""
        linspace = (kv.linspace_round_f32 if self.variant == "qwen-vl-utils"
                    else kv.linspace_round_f64)
        keys = np.stack([total.ravel(), n.ravel(), np.broadcast_to(fps, n.shape).ravel()
                         .view(np.int64)], axis=1)
        uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
        vals = np.empty(len(uniq), np.int64)
        for k, (t, m, fbits) in enumerate(uniq.tolist()):
            f = float(np.int64(fbits).view(np.float64))
            vals[k] = kv.qwen3_timestamp_digits(linspace(int(t) - 1, int(m)), f,
                                                self.temporal_patch_size)
        return vals[inverse.ravel()].reshape(n.shape)


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class GeminiVideoRule(VideoRule):
    """Gemini: frames sampled at ``sample_fps`` (1 by default), a fixed cost per frame by
    ``media_resolution``, plus 32 tokens per second of soundtrack.

    Google publishes the rates, not code (``countTokens`` is the oracle): partial seconds
    are rounded up here and the timestamp metadata Gemini adds is not counted, so the
    counts are labelled estimates. ``has_audio=False`` (or ``audio_duration=0``) for a
    silent clip; the documented examples count the soundtrack.
    """

    kind: ClassVar[str] = "gemini.video"
    options: ClassVar[frozenset[str]] = frozenset(
        {"sample_fps", "media_resolution", "has_audio", "audio_duration"})
    exact: ClassVar[bool] = False

    sample_fps: float = 1.0
    frame_tokens: Mapping[str, int] = field(default_factory=dict)
    audio_tokens_per_second: int = 32

    def __post_init__(self) -> None:
        _pos("gemini.video", sample_fps=self.sample_fps)
        if "default" not in self.frame_tokens or not all(
            isinstance(v, int) and v > 0 for v in self.frame_tokens.values()
        ):
            raise InvalidInputError(
                "gemini.video.frame_tokens needs positive ints, including a 'default' entry"
            )

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for these videos at the published per-frame and per-second rates."""
        res = opts.get("media_resolution", "default")
        if res not in self.frame_tokens:
            raise InvalidInputError(
                f"media_resolution = {res!r} is not allowed; use one of "
                f"{', '.join(sorted(self.frame_tokens))}"
            )
        per_frame = self.frame_tokens[res]
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        frames = kv.frames_at_rate(durations, sample_fps)
        frame_tok = frames * per_frame
        audio = ka.rate_tokens(_audio_seconds(opts, durations), self.audio_tokens_per_second)
        tokens = frame_tok + audio
        return RuleResult(
            tokens=tokens,
            wrapper_tokens=np.zeros_like(tokens),
            derivation={"frames": frames, "frame_tokens": frame_tok, "audio_tokens": audio},
            exact=False,
            method=(f"published rates: {per_frame} tokens per frame at {sample_fps:g} fps "
                    f"(ceil of duration x fps) + {self.audio_tokens_per_second} tokens per "
                    "second of audio; timestamp metadata not counted"),
        )


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class InternVLVideoRule(VideoRule):
    """InternVL 2/2.5/3 video: ``num_segments`` frames, one 448-px tile (256 tokens) each.

    The model card's ``load_video`` always takes ``num_segments`` frames (8 in its chat
    example); transformers' ``InternVLProcessor`` writes ``"Frame{i}: <img>" +
    <IMG_CONTEXT>×256 + "</img>"`` per frame, joined by newlines. ``frame_label =
    "qwen2"`` counts those labels exactly for models on Qwen's tokenizer (3 tokens + 1 per
    digit, + the newline); ``"estimate"`` counts them the same way for other tokenizers
    and marks the count as an estimate.
    """

    kind: ClassVar[str] = "internvl.video"
    options: ClassVar[frozenset[str]] = frozenset({"num_frames", "audio_duration", "has_audio"})

    tokens_per_frame: int = 256
    num_segments: int = 8
    wrapper_tokens_per_frame: int = 2
    frame_label: str = "estimate"

    def __post_init__(self) -> None:
        _pos("internvl.video", tokens_per_frame=self.tokens_per_frame,
             num_segments=self.num_segments)
        if self.frame_label not in ("qwen2", "estimate"):
            raise InvalidInputError("internvl.video.frame_label must be 'qwen2' or 'estimate'")

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for these videos (independent of their size and length)."""
        k = int(_opt_int(opts, "num_frames", self.num_segments) or 0)
        n = np.full(np.shape(total_frames), k, np.int64)
        digits = sum(len(str(i)) for i in range(1, k + 1))
        label = 3 * k + digits + (k - 1)  # "Frame", digits, ":", " " + newlines between
        wrappers = n * self.wrapper_tokens_per_frame
        placeholders = n * self.tokens_per_frame
        text = np.full_like(n, label)
        exact = self.frame_label == "qwen2"
        return RuleResult(
            tokens=placeholders + wrappers + text,
            wrapper_tokens=wrappers,
            encoder_patches=n * 1025,  # (448/14)**2 + CLS per tile, before pixel shuffle
            derivation={"frames": n, "tiles": n, "text_tokens": text},
            exact=exact,
            method="" if exact else ("\"Frame{i}: \" labels counted with Qwen2's "
                                     "pre-tokenization; this model's tokenizer may differ"),
        )


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class DitLatentRule(VideoRule):
    """A text/image-to-video DiT: latent patches of the clip it generates.

    The requested clip (``duration`` s at ``fps``, default the model's native rate, or
    ``frames=N``) needs ``N`` frames; the pipeline is asked for the smallest ``4k + 1``
    frames that covers them (``num_frames=`` passes the pipeline argument as is).
    ``prepare_latents`` makes ``(num_frames - 1) // 4 + 1`` latent frames of ``H/8 x W/8``
    (CogVideoX1.5 pads them to even), and the transformer patchifies them
    ``patch_t x patch_hw x patch_hw``.

    Attributes:
        spatial_multiple: the pipeline's ``check_inputs`` requires height and width to be
            multiples of this (16 for Wan and HunyuanVideo, 8 for CogVideoX).
        round_frames_down: Wan's ``__call__`` rounds a ``num_frames`` that is not
            ``4k + 1`` down to ``num_frames // 4 * 4 + 1``.
    """

    kind: ClassVar[str] = "dit.latent"
    options: ClassVar[frozenset[str]] = frozenset({"num_frames"})

    vae_temporal: int = 4
    vae_spatial: int = 8
    patch_t: int = 1
    patch_hw: int = 2
    native_fps: float = 16.0
    pad_latent_t: int = 1
    spatial_multiple: int = 16
    round_frames_down: bool = False

    def __post_init__(self) -> None:
        _pos("dit.latent", vae_temporal=self.vae_temporal, vae_spatial=self.vae_spatial,
             patch_t=self.patch_t, patch_hw=self.patch_hw, native_fps=self.native_fps,
             pad_latent_t=self.pad_latent_t, spatial_multiple=self.spatial_multiple)

    @property
    def default_fps(self) -> float:
        """The frame rate assumed when the caller gives none: the model's native rate."""
        return self.native_fps

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Latent tokens for generating these clips."""
        m = self.spatial_multiple
        bad = (heights % m != 0) | (widths % m != 0)
        if bad.any():
            i = int(np.flatnonzero(bad.ravel())[0])
            hh, ww = int(heights.ravel()[i]), int(widths.ravel()[i])
            raise InvalidInputError(
                f"video {i}: height = {hh}, width = {ww}; this pipeline requires both to be "
                f"multiples of {m} (it raises otherwise), e.g. {ww - ww % m or m}x"
                f"{hh - hh % m or m} (w x h)"
            )
        if opts.get("num_frames") is not None:
            nf = as_int_array("num_frames", opts["num_frames"], low=1, high=2**40)
            nf = np.broadcast_to(nf, total_frames.shape)
        else:
            vt = self.vae_temporal
            nf = (total_frames - 1 + vt - 1) // vt * vt + 1  # smallest 4k+1 >= frames
        lt, lh, lw, _ = kv.dit_latent_grid(heights, widths, nf, vae_temporal=self.vae_temporal,
                                           vae_spatial=self.vae_spatial, patch_t=self.patch_t,
                                           patch_hw=self.patch_hw, pad_latent_t=self.pad_latent_t,
                                           frame_multiple_round_down=self.round_frames_down)
        gt, gh, gw = lt // self.patch_t, lh // self.patch_hw, lw // self.patch_hw
        empty = (gh == 0) | (gw == 0)
        if empty.any():
            # A side under vae_spatial * patch_hw px has no latent patch; the pipelines
            # fail on it (CogVideoX's rotary grid divides by zero).
            i = int(np.flatnonzero(empty.ravel())[0])
            raise InvalidInputError(
                f"video {i}: height = {int(heights.ravel()[i])}, width = "
                f"{int(widths.ravel()[i])} is smaller than one latent patch "
                f"({self.vae_spatial * self.patch_hw} px); the pipeline cannot generate it"
            )
        tokens = checked_mul("tokens", checked_mul("tokens", gt, gh), gw)
        return RuleResult(
            tokens=tokens,
            wrapper_tokens=np.zeros_like(tokens),
            encoder_patches=tokens,
            derivation={"frames": np.asarray(nf, np.int64), "grid_t": gt, "grid_h": gh,
                        "grid_w": gw, "latent_t": lt, "latent_h": lh, "latent_w": lw},
            notes=(f"DiT latent tokens: frames -> {self.vae_temporal}k+1, causal VAE "
                   f"{self.vae_temporal}x time / {self.vae_spatial}x space, patches "
                   f"{self.patch_t}x{self.patch_hw}x{self.patch_hw}"
                   + (f", latent frames padded to a multiple of {self.pad_latent_t}"
                      if self.pad_latent_t > 1 else "")
                   + "; these are not LLM tokens",),
        )
