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

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import CountOverflowError, InvalidInputError
from ..kernels import audio as ka
from ..kernels import video as kv
from ..kernels._blocks import Scratch, flat, run_blocks
from ..kernels._intmath import I64, INT64_MAX, as_durations, as_int_array, checked_mul
from ..kernels.grid import smart_resize_grid, smart_resize_tokens
from ._arrays import Derived, add, ceil_div_by, const, fits, item, mul
from ._base import RuleResult, VideoRule
from ._registry import builtin_rule

__all__ = [
    "DitLatentRule",
    "GeminiVideoRule",
    "InternVLVideoRule",
    "Qwen3VideoRule",
    "QwenVideoRule",
]

_QWEN_OPTIONS = frozenset(
    {
        "sample_fps",
        "nframes",
        "min_frames",
        "max_frames",
        "min_pixels",
        "max_pixels",
        "total_pixels",
        "cap_pixels_per_frame",
        "do_sample_frames",
        "use_audio_in_video",
        "audio_duration",
        "has_audio",
    }
)


def _pos(owner: str, **values: float) -> None:
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise InvalidInputError(f"{owner}.{name} must be a positive number, got {value!r}")


def _opt_int(
    opts: Mapping[str, Any], name: str, default: int | None, low: int = 1, high: int = 2**40
) -> int | None:
    v = opts.get(name, default)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not low <= int(v) <= high:
        raise InvalidInputError(f"{name} = {v!r} is not allowed; pass an int in {low}..{high}")
    return int(v)


def _opt_float(opts: Mapping[str, Any], name: str, default: float) -> float:
    v = opts.get(name, default)
    if (
        isinstance(v, bool)
        or not isinstance(v, (int, float, np.number))
        or not (math.isfinite(v) and 0 < v <= 1e5)
    ):
        raise InvalidInputError(f"{name} = {v!r} is not allowed; pass a number in (0, 1e5]")
    return float(v)


def _opt_bool(opts: Mapping[str, Any], name: str, default: bool) -> bool:
    v = opts.get(name, default)
    if not isinstance(v, (bool, np.bool_)):
        raise InvalidInputError(f"{name} must be True or False, got {v!r}")
    return bool(v)


def _is_int(x: object) -> bool:
    return type(x) is int


# -- one video or many, block by block ---------------------------------------------------


@dataclass(slots=True)
class _Batch:
    """The videos a rule's core computes on: one video as Python numbers, or one block of
    flat arrays. ``offset`` is the first video's index (for error messages) and ``sl``
    the block's slice into whole-call arrays (``None`` for one video)."""

    h: Any
    w: Any
    d: Any
    fps: Any
    total: Any
    offset: int = 0
    sl: slice | None = None
    full: bool = True  # the derivation is wanted too (False inside the block loop)
    scratch: Scratch | None = None  # the block's work arrays
    outs: dict[str, np.ndarray] | None = None  # the block's slices of the outputs

    def dest(self, key: str) -> np.ndarray | None:
        """Where the core may write output ``key`` directly (None: anywhere)."""
        return None if self.outs is None else self.outs.get(key)


Core = Callable[[_Batch], dict[str, Any]]


class _Videos:
    """A call's checked inputs, and the machinery to run a rule's core over them.

    A rule writes its arithmetic once, as ``core(batch) -> {name: value}`` over either
    Python numbers or arrays (the kernels take both). One video runs it on Python numbers;
    many run it block by block into preallocated int64 outputs, for the names the result
    needs eagerly (tokens, wrappers, patches). The derivation's other arrays are computed
    on first access by running the core once over the whole call.
    """

    __slots__ = ("arrays", "one", "shape", "size")

    def __init__(
        self, h: np.ndarray, w: np.ndarray, d: np.ndarray, fps: np.ndarray, total: np.ndarray
    ) -> None:
        self.shape: tuple[int, ...] = total.shape
        self.size = total.size
        self.one: _Batch | None = None
        self.arrays: tuple[np.ndarray, ...] = ()
        if self.size == 1:
            self.one = _Batch(
                int(h.item()), int(w.item()), float(d.item()), float(fps.item()), int(total.item())
            )
        else:
            self.arrays = tuple(flat(a) for a in (h, w, d, fps, total))

    def whole(self) -> _Batch:
        """The whole call as one batch (the derivation's path)."""
        if self.one is not None:
            return self.one
        h, w, d, f, t = self.arrays
        return _Batch(h, w, d, f, t, 0, slice(None))

    def run(
        self, core: Core, stored: tuple[str, ...], derived: tuple[str, ...]
    ) -> tuple[dict[str, np.ndarray], Mapping[str, np.ndarray]]:
        """``stored`` outputs as int64 arrays of the inputs' shape, and the derivation."""
        if self.one is not None:
            vals = core(self.one)
            out = {k: item(vals[k], self.shape) for k in stored}
            return out, {k: item(vals[k], self.shape) for k in derived}
        outs = {k: np.empty(self.size, np.int64) for k in stored}
        h, w, d, f, t = self.arrays

        def block(start: int, stop: int, scratch: Scratch) -> None:
            sl = slice(start, stop)
            dests = {k: v[sl] for k, v in outs.items()}
            vals = core(_Batch(h[sl], w[sl], d[sl], f[sl], t[sl], start, sl, False, scratch, dests))
            for k in stored:
                if vals[k] is not dests[k]:  # the core did not write it in place
                    dests[k][...] = vals[k]

        run_blocks(block, self.size)
        cache: list[dict[str, Any]] = []

        def get(key: str) -> np.ndarray:
            if not cache:
                cache.append(core(self.whole()))
            return np.broadcast_to(cache[0][key], (self.size,)).reshape(self.shape)

        return (
            {k: v.reshape(self.shape) for k, v in outs.items()},
            Derived({k: functools.partial(get, k) for k in derived}),
        )


def _first_true(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _min(a: Any, b: Any) -> Any:
    return min(a, b) if _is_int(a) else np.minimum(a, b)


def _checked_product(name: str, a: Any, b: Any, b_: _Batch, scale: int = 1) -> Any:
    """``a * b`` for non-negative Python ints or int64 arrays; refuses a product whose
    ``scale`` multiple (the encoder patches) would not fit in int64."""
    if _is_int(a) and _is_int(b):
        fits(name, a * b * scale)
        return a * b
    amax = a if _is_int(a) else (int(a.max()) if a.size else 0)
    bmax = b if _is_int(b) else (int(b.max()) if b.size else 0)
    if amax * bmax * scale > INT64_MAX:
        try:
            checked_mul(name, checked_mul(name, a, b), scale)
        except CountOverflowError as exc:
            raise CountOverflowError(f"{exc} (in the block from item {b_.offset})") from None
    return mul(a, b, b_.scratch)


def _soundtrack(opts: Mapping[str, Any], videos: _Videos) -> Callable[[_Batch], Any]:
    """The soundtrack's seconds per batch: ``audio_duration`` if given, else the video's
    duration when ``has_audio`` (default True), else 0."""
    ad = opts.get("audio_duration")
    if ad is not None:
        if (type(ad) is float or type(ad) is int) and 0.0 <= ad <= 1e7:
            secs = float(ad)
            return lambda b: secs
        a = as_durations("audio_duration", ad)
        if a.ndim == 0:
            secs = float(a)
            return lambda b: secs
        if a.shape != videos.shape:
            raise InvalidInputError(
                f"audio_duration has shape {a.shape}, the videos {videos.shape}; pass one "
                "number or one per video"
            )
        af = flat(a)
        return lambda b: float(af[0]) if b.sl is None else af[b.sl]
    if _opt_bool(opts, "has_audio", True):
        return lambda b: b.d
    return lambda b: 0.0


# -- Qwen2-VL / Qwen2.5-VL / Qwen2.5-Omni -------------------------------------------------


@dataclass(frozen=True, slots=True)
class _QwenCall:
    """One call's options, checked once: how frames are sampled and resized."""

    sample_fps: float
    nframes: int | None
    min_frames: int
    max_frames: int | None
    do_sample: bool
    mode: str  # "grid" (fixed bounds), "cap" (a share of the budget), "vl-utils"
    min_p: int
    max_p: int = 0
    total_px: float = 0.0
    user_max: int | None = None


#: Each rule's checked options for a call that passes none (the common call): the checks
#: depend on the rule's constants only. Keyed by id() (hashing a frozen dataclass hashes
#: all its fields on every call); the rule is kept alive with its entry so the id stays
#: its own.
_DEFAULT_CALLS: dict[int, tuple[Any, Any]] = {}


def _options(rule: Any, opts: Mapping[str, Any]) -> Any:
    if opts:
        return rule._call(opts)
    hit = _DEFAULT_CALLS.get(id(rule))
    if hit is None or hit[0] is not rule:
        if len(_DEFAULT_CALLS) > 256:
            _DEFAULT_CALLS.clear()
        hit = _DEFAULT_CALLS[id(rule)] = (rule, rule._call({}))
    return hit[1]


def _processor_ratio_check(rows: Any, cols: Any, max_ratio: float, f: int, offset: int) -> None:
    """Refuse frames (``rows x cols`` grid cells of ``f`` px) past ``max_ratio``, as the
    processor's ``smart_resize`` does (``max(h, w) / min(h, w) > max_ratio`` raises)."""
    if _is_int(rows):
        hi, lo, at = max(rows, cols), min(rows, cols), 0
        if hi / lo <= max_ratio:
            return
    else:
        hi_a, lo_a = np.maximum(rows, cols), np.minimum(rows, cols)
        bad = hi_a > lo_a * max_ratio
        if not bad.any():
            return
        at = _first_true(bad)
        hi, lo = int(hi_a[at]), int(lo_a[at])
        rows, cols = int(rows[at]), int(cols[at])
    raise InvalidInputError(
        f"video {offset + at}: fetch_video resizes it to {rows * f}x{cols * f} (h x w), aspect "
        f"ratio {hi / lo:.6g}, past {max_ratio:g}:1, which the processor's own smart_resize "
        "refuses (the reference raises)"
    )


@functools.lru_cache(maxsize=8)
def _omni_audio(max_seconds: int) -> Any:
    from .audio import QwenAudioRule

    return QwenAudioRule(max_seconds=max_seconds)


def _vl_utils_budget(n: Any, video_max: int, total_px: float, min_p: int, user: int | None) -> Any:
    """qwen-vl-utils' ``fetch_video`` per-frame bound: ``max(min(VIDEO_MAX, total / n * 2),
    int(min * 1.05))`` in floats, then a user ``max_pixels`` can only lower it."""
    floor_p = float(int(min_p * 1.05))
    if _is_int(n):
        mp = max(min(float(video_max), total_px / n * 2), floor_p)
        return mp if user is None else min(mp, float(user))
    mp = np.divide(total_px, n)
    mp *= 2
    np.minimum(mp, float(video_max), out=mp)
    np.maximum(mp, floor_p, out=mp)
    if user is not None:
        np.minimum(mp, float(user), out=mp)
    return mp


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
        _pos(
            "qwen.video",
            patch_size=self.patch_size,
            merge_size=self.merge_size,
            temporal_patch_size=self.temporal_patch_size,
            sample_fps=self.sample_fps,
            max_pixels=self.max_pixels,
            total_pixels=self.total_pixels,
            max_ratio=self.max_ratio,
        )
        if self.wrapper_tokens < 0 or self.min_pixels < 0:
            raise InvalidInputError("qwen.video wrapper_tokens and min_pixels must be >= 0")

    @property
    def factor(self) -> int:
        """Side multiple: patch size times merge size."""
        return self.patch_size * self.merge_size

    def _call(self, opts: Mapping[str, Any]) -> _QwenCall:
        """Check this call's options (once, whatever the number of videos)."""
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        nframes = _opt_int(opts, "nframes", None)
        min_f = int(_opt_int(opts, "min_frames", self.min_frames) or 0)
        do_sample = True
        max_f: int | None = None
        if self.variant == "qwen-vl-utils":
            max_f = _opt_int(opts, "max_frames", None)
            if "cap_pixels_per_frame" in opts:
                raise InvalidInputError(
                    "cap_pixels_per_frame applies to the transformers "
                    "variant; qwen-vl-utils always caps per frame"
                )
            return _QwenCall(
                sample_fps,
                nframes,
                min_f,
                max_f,
                do_sample,
                "vl-utils",
                min_p=int(_opt_int(opts, "min_pixels", self.video_min_pixels, low=0) or 0),
                total_px=float(_opt_int(opts, "total_pixels", self.total_pixels) or 0),
                user_max=_opt_int(opts, "max_pixels", None),
            )
        if self.variant == "transformers":
            do_sample = _opt_bool(opts, "do_sample_frames", True)
            if do_sample:
                max_f = int(_opt_int(opts, "max_frames", self.max_frames) or 0)
        if "total_pixels" in opts:
            raise InvalidInputError(
                "total_pixels applies to the qwen-vl-utils variant; "
                "use cap_pixels_per_frame=True under transformers"
            )
        min_p = int(_opt_int(opts, "min_pixels", self.min_pixels, low=0) or 0)
        max_p = int(_opt_int(opts, "max_pixels", self.max_pixels) or 0)
        cap = _opt_bool(opts, "cap_pixels_per_frame", self.cap_pixels_per_frame)
        return _QwenCall(
            sample_fps, nframes, min_f, max_f, do_sample, "cap" if cap else "grid", min_p, max_p
        )

    def _frames(self, c: _QwenCall, b: _Batch) -> Any:
        if self.variant == "qwen-vl-utils":
            return kv.qwen_vl_utils_nframes(
                b.total,
                b.fps,
                fps=c.sample_fps,
                min_frames=c.min_frames,
                max_frames=c.max_frames,
                nframes=c.nframes,
                offset=b.offset,
                scratch=b.scratch,
            )
        if self.variant == "vllm":
            return _min(b.total, c.nframes if c.nframes is not None else self.num_frames)
        if not c.do_sample:
            return b.total
        return kv.hf_qwen2_nframes(
            b.total,
            b.fps,
            fps=c.sample_fps,
            min_frames=c.min_frames,
            max_frames=int(c.max_frames or 0),
            num_frames=c.nframes,
            temporal_patch_size=self.temporal_patch_size,
            offset=b.offset,
            scratch=b.scratch,
        )

    def _grid(self, c: _QwenCall, b: _Batch, n: Any) -> tuple[Any, Any]:
        f = self.factor
        if c.mode == "grid" and not _is_int(b.h):
            # Fixed bounds over many videos (the derivation): the image kernel.
            return smart_resize_grid(
                b.h,
                b.w,
                factor=f,
                min_pixels=c.min_p,
                max_pixels=c.max_p,
                max_ratio=self.max_ratio,
                variant="transformers",
            )
        if c.mode == "cap":
            # Qwen2VLVideoProcessor.resize: an integer share of the total budget per frame.
            budget = int(self.max_video_tokens * f * f * 0.9) * self.temporal_patch_size
            floor_p = int(c.min_p * 1.05)
            mp: Any = (
                max(min(c.max_p, budget // n), floor_p)
                if _is_int(n)
                else np.maximum(np.minimum(c.max_p, budget // n), floor_p)
            )
            variant = "transformers"
        elif c.mode == "vl-utils":
            mp = _vl_utils_budget(n, self.video_max_pixels, c.total_px, c.min_p, c.user_max)
            rows, cols = kv.bounded_grid(
                None,
                b.h,
                b.w,
                factor=f,
                min_pixels=c.min_p,
                max_pixels=mp,
                max_ratio=self.max_ratio,
                variant="qwen-vl-utils",
                offset=b.offset,
                scratch=b.scratch,
            )
            # The cookbook then hands these frames to the processor with do_resize on: its
            # smart_resize (the hub bounds) runs again -- a no-op inside the bounds, but it
            # enlarges a frame under min_pixels (after a small user min_pixels) and raises
            # on one past max_ratio (fetch_video's rounding can get there).
            if self.min_pixels <= c.min_p and 4 * max(self.video_max_pixels, c.min_p) <= (
                self.max_pixels
            ):
                # Every frame is inside the processor's bounds: only its ratio check acts.
                _processor_ratio_check(rows, cols, self.max_ratio, f, b.offset)
                return rows, cols
            try:
                return kv.bounded_grid(
                    None,
                    rows * f,
                    cols * f,
                    factor=f,
                    min_pixels=self.min_pixels,
                    max_pixels=self.max_pixels,
                    max_ratio=self.max_ratio,
                    variant="transformers",
                    offset=b.offset,
                    scratch=b.scratch,
                )
            except InvalidInputError as exc:
                raise InvalidInputError(
                    f"{exc} -- that is the frame size fetch_video resized it to, which the "
                    "processor's own smart_resize refuses"
                ) from None
        else:
            # Fixed bounds for one video: the reference's Python arithmetic (the same as
            # the image kernel's; tests/test_video_properties.py checks the two agree).
            mp, variant = c.max_p, "transformers"
        return kv.bounded_grid(
            None,
            b.h,
            b.w,
            factor=f,
            min_pixels=c.min_p,
            max_pixels=mp,
            max_ratio=self.max_ratio,
            variant=variant,
            offset=b.offset,
            scratch=b.scratch,
        )

    def _core(
        self, c: _QwenCall, sound: Callable[[_Batch], Any] | None, fixed_area: I64 | None, b: _Batch
    ) -> dict[str, Any]:
        n = self._frames(c, b)
        if fixed_area is not None and not b.full:
            area = fixed_area[b.sl]  # rows * cols, from the image kernel
        else:
            rows, cols = self._grid(c, b, n)
            area = mul(rows, cols, b.scratch)
        tps = self.temporal_patch_size
        m2 = self.merge_size * self.merge_size
        grid_t = ceil_div_by(n, tps, b.scratch)
        placeholders = _checked_product("tokens", grid_t, area, b, m2)
        out = {
            "tokens": add(placeholders, self.wrapper_tokens, out=b.dest("tokens")),
            "patches": mul(placeholders, m2, out=b.dest("patches")),
        }
        if sound is not None:
            samples = ka.samples_of(sound(b), 16_000, b.scratch)
            audio, _ = _omni_audio(self.audio_max_seconds)._core(samples, b.offset, b.scratch)
            out["tokens"] = out["tokens"] + audio
            out["audio_tokens"] = audio
        if b.full:
            m = self.merge_size
            out.update(
                frames=n,
                grid_t=grid_t,
                grid_h=rows * m,
                grid_w=cols * m,
                resized_h=rows * self.factor,
                resized_w=cols * self.factor,
            )
        return out

    def evaluate(
        self,
        heights: np.ndarray,
        widths: np.ndarray,
        durations: np.ndarray,
        fps: np.ndarray,
        total_frames: np.ndarray,
        **opts: Any,
    ) -> RuleResult:
        """Tokens for these videos; see the class docstring for the variants."""
        c = _options(self, opts)
        audio_on = bool(opts) and _opt_bool(opts, "use_audio_in_video", False)
        if audio_on and not self.audio_in_video:
            raise InvalidInputError(
                f"{self.name}: this model does not take the soundtrack "
                "(use_audio_in_video is for Qwen2.5-Omni)"
            )
        videos = _Videos(heights, widths, durations, fps, total_frames)
        fixed = None
        if c.mode == "grid" and videos.one is None:
            # Fixed bounds: the image kernel gives every video's rows * cols in one call
            # (it walks the arrays in blocks and threads itself); the sides themselves are
            # computed only if the derivation is read.
            fixed = smart_resize_tokens(
                videos.arrays[0],
                videos.arrays[1],
                factor=self.factor,
                min_pixels=c.min_p,
                max_pixels=c.max_p,
                max_ratio=self.max_ratio,
                variant="transformers",
            )[0]
        # A probed soundtrack the model is not asked to use costs nothing.
        sound = _soundtrack(opts, videos) if audio_on else None
        derived = ("frames", "grid_t", "grid_h", "grid_w", "resized_h", "resized_w")
        out, derivation = videos.run(
            functools.partial(self._core, c, sound, fixed),
            ("tokens", "patches"),
            derived + (("audio_tokens",) if audio_on else ()),
        )
        notes = [self._note(opts)]
        wrappers = self.wrapper_tokens
        if audio_on:
            wrappers += _omni_audio(self.audio_max_seconds).wrapper_tokens
            notes.append(
                "use_audio_in_video: the soundtrack's audio tokens (25/s, with "
                "<|audio_bos|>/<|audio_eos|>) are interleaved in 2 s chunks; the "
                "count is video + audio"
            )
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=const(wrappers, videos.shape),
            encoder_patches=out["patches"],
            derivation=derivation,
            notes=tuple(notes),
        )

    def _note(self, opts: Mapping[str, Any]) -> str:
        if self.variant == "qwen-vl-utils":
            return (
                "qwen-vl-utils: smart_nframes at 2 fps (even, 4..768), each frame "
                "128..768 tokens and a share of the total pixel budget"
            )
        if self.variant == "vllm":
            return (
                f"vLLM: {self.num_frames} uniformly spaced frames (all frames of a "
                "shorter clip), resized with the hub image bounds"
            )
        return (
            f"transformers: sample_frames at {opts.get('sample_fps', self.sample_fps):g} "
            f"fps, each frame resized into {opts.get('min_pixels', self.min_pixels)}.."
            f"{opts.get('max_pixels', self.max_pixels)} px"
            + (
                " and a share of the total budget"
                if opts.get("cap_pixels_per_frame", self.cap_pixels_per_frame)
                else ""
            )
            + "; odd frame counts padded to pairs"
        )


@dataclass(frozen=True, slots=True)
class _Qwen3Call:
    sample_fps: float
    nframes: int | None
    min_frames: int
    max_frames: int | None
    min_p: int
    max_p: int = 0
    cap: bool = False
    total_px: float = 0.0
    user_max: int | None = None


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
    options: ClassVar[frozenset[str]] = frozenset(
        {
            "sample_fps",
            "nframes",
            "min_frames",
            "max_frames",
            "min_pixels",
            "max_pixels",
            "total_pixels",
            "cap_pixels_per_frame",
            "audio_duration",
            "has_audio",
        }
    )

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
        _pos(
            "qwen3.video",
            patch_size=self.patch_size,
            merge_size=self.merge_size,
            temporal_patch_size=self.temporal_patch_size,
            sample_fps=self.sample_fps,
            max_pixels=self.max_pixels,
            max_ratio=self.max_ratio,
        )

    def _call(self, opts: Mapping[str, Any]) -> _Qwen3Call:
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        nframes = _opt_int(opts, "nframes", None)
        min_f = int(_opt_int(opts, "min_frames", self.min_frames) or 0)
        if self.variant == "qwen-vl-utils":
            max_f = _opt_int(opts, "max_frames", None)
            if "cap_pixels_per_frame" in opts:
                raise InvalidInputError(
                    "cap_pixels_per_frame applies to the transformers "
                    "variant; qwen-vl-utils always caps per frame"
                )
            return _Qwen3Call(
                sample_fps,
                nframes,
                min_f,
                max_f,
                min_p=int(_opt_int(opts, "min_pixels", self.video_min_pixels, low=0) or 0),
                total_px=float(_opt_int(opts, "total_pixels", self.total_pixels) or 0),
                user_max=_opt_int(opts, "max_pixels", None),
            )
        if "total_pixels" in opts:
            raise InvalidInputError("total_pixels applies to the qwen-vl-utils variant")
        return _Qwen3Call(
            sample_fps,
            nframes,
            min_f,
            int(_opt_int(opts, "max_frames", self.max_frames) or 0),
            min_p=int(_opt_int(opts, "min_pixels", self.min_pixels, low=0) or 0),
            max_p=int(_opt_int(opts, "max_pixels", self.max_pixels) or 0),
            cap=_opt_bool(opts, "cap_pixels_per_frame", self.cap_pixels_per_frame),
        )

    def _core(self, c: _Qwen3Call, b: _Batch) -> dict[str, Any]:
        f = self.patch_size * self.merge_size
        tps = self.temporal_patch_size
        if self.variant == "qwen-vl-utils":
            n = kv.qwen_vl_utils_nframes(
                b.total,
                b.fps,
                fps=c.sample_fps,
                min_frames=c.min_frames,
                max_frames=c.max_frames,
                nframes=c.nframes,
                offset=b.offset,
                scratch=b.scratch,
            )
            mp = _vl_utils_budget(n, self.video_max_pixels, c.total_px, c.min_p, c.user_max)
            rows, cols = kv.bounded_grid(
                None,
                b.h,
                b.w,
                factor=f,
                min_pixels=c.min_p,
                max_pixels=mp,
                max_ratio=self.max_ratio,
                variant="qwen-vl-utils",
                offset=b.offset,
                scratch=b.scratch,
            )
        else:
            n = kv.hf_qwen3_nframes(
                b.total,
                b.fps,
                fps=c.sample_fps,
                min_frames=c.min_frames,
                max_frames=int(c.max_frames or 0),
                num_frames=c.nframes,
                scratch=b.scratch,
            )
            hi: Any = c.max_p
            if c.cap:
                floor_p = int(c.min_p * 1.05)
                cap = self.max_video_tokens * f * f
                per_frame = (
                    max(min(cap, hi // n), floor_p)
                    if _is_int(n)
                    else np.maximum(np.minimum(cap, hi // n), floor_p)
                )
                hi = per_frame * n
            rows, cols = kv.qwen3_video_grid(
                n,
                b.h,
                b.w,
                factor=f,
                temporal_factor=tps,
                min_pixels=c.min_p,
                max_pixels=hi,
                max_ratio=self.max_ratio,
                offset=b.offset,
                grid=True,
                scratch=b.scratch,
            )
        sc = b.scratch
        grid_t = ceil_div_by(n, tps, sc)
        m2 = self.merge_size * self.merge_size
        placeholders = _checked_product("tokens", grid_t, mul(rows, cols, sc), b, m2)
        out = {"patches": mul(placeholders, m2, out=b.dest("patches"))}
        if self.timestamps:
            wrappers = add(mul(grid_t, 2, sc), self.wrapper_tokens, out=b.dest("wrappers"))
            digits = kv.qwen3_timestamp_digits(
                b.total,
                n,
                b.fps,
                temporal_patch_size=tps,
                offset=b.offset,
                scratch=sc,
                linspace="torch" if self.variant == "qwen-vl-utils" else "numpy",
            )
            text = mul(grid_t, self.TIMESTAMP_FIXED_TOKENS, sc)
            text = add(text, digits, out=text if not _is_int(text) else None)
            out["text_tokens"] = text
            out["tokens"] = add(add(placeholders, wrappers, sc), text, out=b.dest("tokens"))
        else:
            wrappers = self.wrapper_tokens
            out["tokens"] = add(placeholders, wrappers, out=b.dest("tokens"))
        out["wrappers"] = wrappers
        if b.full:
            m = self.merge_size
            out.update(
                frames=n,
                grid_t=grid_t,
                grid_h=rows * m,
                grid_w=cols * m,
                resized_h=rows * f,
                resized_w=cols * f,
            )
        return out

    def evaluate(
        self,
        heights: np.ndarray,
        widths: np.ndarray,
        durations: np.ndarray,
        fps: np.ndarray,
        total_frames: np.ndarray,
        **opts: Any,
    ) -> RuleResult:
        """Tokens for these videos, timestamp text included."""
        c = _options(self, opts)
        videos = _Videos(heights, widths, durations, fps, total_frames)
        derived: tuple[str, ...] = (
            "frames",
            "grid_t",
            "grid_h",
            "grid_w",
            "resized_h",
            "resized_w",
        )
        if self.timestamps:
            derived += ("text_tokens",)
        out, derivation = videos.run(
            functools.partial(self._core, c), ("tokens", "patches", "wrappers"), derived
        )
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=out["wrappers"],
            encoder_patches=out["patches"],
            derivation=derivation,
            notes=(
                "Qwen3-VL: one <|vision_start|>/<|vision_end|> pair and one "
                '"<t seconds>" timestamp (5 tokens + 1 per integer digit) per pair of '
                "frames, inside the prompt's own pair; the placeholder figure includes "
                "the timestamp text_tokens; the whole clip shares the pixel budget "
                "(t*h*w)",
            ),
        )


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
        {"sample_fps", "media_resolution", "has_audio", "audio_duration"}
    )
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

    def _core(
        self, per_frame: int, sample_fps: float, sound: Callable[[_Batch], Any], b: _Batch
    ) -> dict[str, Any]:
        frames = kv.frames_at_rate(b.d, sample_fps, scratch=b.scratch)
        frame_tok = mul(frames, per_frame, b.scratch)
        audio = ka.rate_tokens_of(sound(b), self.audio_tokens_per_second, "ceil", b.scratch)
        out = {"tokens": add(frame_tok, audio, out=b.dest("tokens"))}
        if b.full:
            out.update(frames=frames, frame_tokens=frame_tok, audio_tokens=audio)
        return out

    def evaluate(
        self,
        heights: np.ndarray,
        widths: np.ndarray,
        durations: np.ndarray,
        fps: np.ndarray,
        total_frames: np.ndarray,
        **opts: Any,
    ) -> RuleResult:
        """Tokens for these videos at the published per-frame and per-second rates."""
        res = opts.get("media_resolution", "default")
        if res not in self.frame_tokens:
            raise InvalidInputError(
                f"media_resolution = {res!r} is not allowed; use one of "
                f"{', '.join(sorted(self.frame_tokens))}"
            )
        per_frame = self.frame_tokens[res]
        sample_fps = _opt_float(opts, "sample_fps", self.sample_fps)
        videos = _Videos(heights, widths, durations, fps, total_frames)
        core = functools.partial(self._core, per_frame, sample_fps, _soundtrack(opts, videos))
        out, derivation = videos.run(core, ("tokens",), ("frames", "frame_tokens", "audio_tokens"))
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=const(0, videos.shape),
            derivation=derivation,
            exact=False,
            method=(
                f"published rates: {per_frame} tokens per frame at {sample_fps:g} fps "
                f"(ceil of duration x fps) + {self.audio_tokens_per_second} tokens per "
                "second of audio; timestamp metadata not counted"
            ),
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
        _pos(
            "internvl.video", tokens_per_frame=self.tokens_per_frame, num_segments=self.num_segments
        )
        if self.frame_label not in ("qwen2", "estimate"):
            raise InvalidInputError("internvl.video.frame_label must be 'qwen2' or 'estimate'")

    def evaluate(
        self,
        heights: np.ndarray,
        widths: np.ndarray,
        durations: np.ndarray,
        fps: np.ndarray,
        total_frames: np.ndarray,
        **opts: Any,
    ) -> RuleResult:
        """Tokens for these videos (independent of their size and length)."""
        k = int(_opt_int(opts, "num_frames", self.num_segments) or 0)
        digits = sum(len(str(i)) for i in range(1, k + 1))
        label = 3 * k + digits + (k - 1)  # "Frame", digits, ":", " " + newlines between
        wrappers = k * self.wrapper_tokens_per_frame
        shape = np.shape(total_frames)
        exact = self.frame_label == "qwen2"
        # Every video costs the same: read-only broadcast views, no memory per video.
        return RuleResult(
            tokens=const(k * self.tokens_per_frame + wrappers + label, shape),
            wrapper_tokens=const(wrappers, shape),
            encoder_patches=const(k * 1025, shape),  # (448/14)**2 + CLS per tile
            derivation={
                "frames": const(k, shape),
                "tiles": const(k, shape),
                "text_tokens": const(label, shape),
            },
            exact=exact,
            method=""
            if exact
            else (
                '"Frame{i}: " labels counted with Qwen2\'s '
                "pre-tokenization; this model's tokenizer may differ"
            ),
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
        _pos(
            "dit.latent",
            vae_temporal=self.vae_temporal,
            vae_spatial=self.vae_spatial,
            patch_t=self.patch_t,
            patch_hw=self.patch_hw,
            native_fps=self.native_fps,
            pad_latent_t=self.pad_latent_t,
            spatial_multiple=self.spatial_multiple,
        )

    @property
    def default_fps(self) -> float:
        """The frame rate assumed when the caller gives none: the model's native rate."""
        return self.native_fps

    def _grid(self, nf: Any, b: _Batch) -> dict[str, Any]:
        """The latent grid, checked (one video, or the whole call for the derivation)."""
        h, w = b.h, b.w
        lt, lh, lw, _ = kv.dit_latent_grid(h, w, nf, **self._shape_kw())
        gt, gh, gw = lt // self.patch_t, lh // self.patch_hw, lw // self.patch_hw
        if _is_int(gh):
            empty_at = 0 if gh == 0 or gw == 0 else -1
        else:
            empty = (gh == 0) | (gw == 0)
            empty_at = int(np.flatnonzero(empty)[0]) if empty.any() else -1
        if empty_at >= 0:
            # A side under vae_spatial * patch_hw px has no latent patch; the pipelines
            # fail on it (CogVideoX's rotary grid divides by zero).
            hh, ww = (h, w) if _is_int(h) else (int(h[empty_at]), int(w[empty_at]))
            raise InvalidInputError(
                f"video {b.offset + empty_at}: height = {hh}, width = {ww} is smaller than "
                f"one latent patch ({self.vae_spatial * self.patch_hw} px); the pipeline "
                "cannot generate it"
            )
        tokens = _checked_product("tokens", _checked_product("tokens", gt, gh, b), gw, b)
        return {
            "tokens": tokens,
            "frames": nf,
            "grid_t": gt,
            "grid_h": gh,
            "grid_w": gw,
            "latent_t": lt,
            "latent_h": lh,
            "latent_w": lw,
        }

    def _shape_kw(self) -> dict[str, Any]:
        return {
            "vae_temporal": self.vae_temporal,
            "vae_spatial": self.vae_spatial,
            "patch_t": self.patch_t,
            "patch_hw": self.patch_hw,
            "pad_latent_t": self.pad_latent_t,
            "frame_multiple_round_down": self.round_frames_down,
        }

    def _core(self, num_frames: Any, b: _Batch) -> dict[str, Any]:
        m = self.spatial_multiple
        h, w = b.h, b.w
        if _is_int(h):
            bad_at = 0 if h % m or w % m else -1
        elif m & (m - 1) == 0:
            # A power of two: one bitwise pass for both sides, a mask only on failure.
            bad_at = -1
            if int(((h | w) & (m - 1)).max()) if h.size else 0:
                bad_at = _first_true((h % m != 0) | (w % m != 0))
        else:
            bad = (h % m != 0) | (w % m != 0)
            bad_at = _first_true(bad) if bad.any() else -1
        if bad_at >= 0:
            hh, ww = (h, w) if _is_int(h) else (int(h[bad_at]), int(w[bad_at]))
            raise InvalidInputError(
                f"video {b.offset + bad_at}: height = {hh}, width = {ww}; this pipeline "
                f"requires both to be multiples of {m} (it raises otherwise), e.g. "
                f"{ww - ww % m or m}x{hh - hh % m or m} (w x h)"
            )
        vt = self.vae_temporal
        if num_frames is not None:
            nf = num_frames if _is_int(num_frames) else num_frames[b.sl]
        elif _is_int(b.total):
            nf = (b.total - 1 + vt - 1) // vt * vt + 1  # smallest 4k+1 >= frames
        else:
            nf = ceil_div_by(b.total - 1, vt, b.scratch)
            nf *= vt
            nf += 1
        if b.full:
            return self._grid(nf, b)
        # The block path: tokens only. Their maximum comes from the largest inputs (the
        # count grows with each), so one Python evaluation rules out int64 overflow.
        top = kv.dit_latent_grid(int(h.max()), int(w.max()), int(nf.max()), **self._shape_kw())[3]
        tokens = kv.dit_latent_tokens(
            h, w, nf, scratch=b.scratch, out=b.dest("tokens"), **self._shape_kw()
        )
        if top > INT64_MAX or int(tokens.min()) == 0:
            return self._grid(nf, b)  # raises, naming the video
        return {"tokens": tokens}

    def evaluate(
        self,
        heights: np.ndarray,
        widths: np.ndarray,
        durations: np.ndarray,
        fps: np.ndarray,
        total_frames: np.ndarray,
        **opts: Any,
    ) -> RuleResult:
        """Latent tokens for generating these clips."""
        videos = _Videos(heights, widths, durations, fps, total_frames)
        num_frames: Any = None
        if opts.get("num_frames") is not None:
            nf = opts["num_frames"]
            if not (_is_int(nf) and 1 <= nf <= 2**40 and videos.one is not None):
                nf = as_int_array("num_frames", nf, low=1, high=2**40)
                nf = (
                    int(nf.item())
                    if videos.one is not None and nf.size == 1
                    else flat(np.broadcast_to(nf, videos.shape))
                )
            num_frames = nf
        out, derivation = videos.run(
            functools.partial(self._core, num_frames),
            ("tokens",),
            ("frames", "grid_t", "grid_h", "grid_w", "latent_t", "latent_h", "latent_w"),
        )
        return RuleResult(
            tokens=out["tokens"],
            wrapper_tokens=const(0, videos.shape),
            encoder_patches=out["tokens"],
            derivation=derivation,
            notes=(
                f"DiT latent tokens: frames -> {self.vae_temporal}k+1, causal VAE "
                f"{self.vae_temporal}x time / {self.vae_spatial}x space, patches "
                f"{self.patch_t}x{self.patch_hw}x{self.patch_hw}"
                + (
                    f", latent frames padded to a multiple of {self.pad_latent_t}"
                    if self.pad_latent_t > 1
                    else ""
                )
                + "; these are not LLM tokens",
            ),
        )
