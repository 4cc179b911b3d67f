"""Image rule kinds: each binds one kernel to a model family's constants.

What each rule calls a token (see ``docs/images.md``): ``tokens`` are the decoder-context
tokens an image occupies — placeholders plus the wrapper/special tokens the processor
inserts (``<|vision_start|>``/``<|vision_end|>`` for Qwen, ``<img>``/``</img>`` for
InternVL, ``[IMG_BREAK]``/``[IMG_END]`` for Pixtral) — or, for hosted APIs, the tokens the
vendor bills. ``encoder_patches`` is the vision encoder's sequence length before any merge,
where the architecture is public.

Kinds: ``qwen.smart_resize``, ``fixed``, ``llava_next.anyres``, ``internvl.dynamic``,
``mistral.patch_grid``, ``mllama.tiles``, ``openai.tiles``, ``openai.patches``,
``anthropic.patches``, ``gemini.tiles``, ``gemini.budget``.

Each rule's arithmetic is written once and runs on one of two forms (:class:`_Images`): one
image as Python ints (the scalar API's path: every kernel takes them and computes in
Python, so ``Model.count_image`` makes no numpy call but the result's), or arrays, whose
counts come from the blocked count kernels and whose derivation is computed only if read.
``tests/test_image_api.py`` checks the two forms against each other on every model.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from ..errors import InvalidInputError
from ..kernels import grid as kg
from ..kernels import imagecounts as ki
from ..kernels import patches as kp
from ..kernels import tiles as kt
from ._base import ImageRule, RuleResult
from ._registry import builtin_rule

__all__ = [
    "AnthropicPatchesRule",
    "FixedRule",
    "GeminiBudgetRule",
    "GeminiTilesRule",
    "InternVLDynamicRule",
    "LlavaNextAnyresRule",
    "MistralPatchGridRule",
    "MllamaTilesRule",
    "OpenAIPatchesRule",
    "OpenAITilesRule",
    "QwenSmartResizeRule",
]

Arrays = Mapping[str, np.ndarray]


class LazyDerivation(Mapping[str, np.ndarray]):
    """A derivation mapping computed on first access.

    ``Model.image_tokens`` over 10**7 images reads only ``tokens``; building the resized
    sides and grids for it would double the work. ``Model.count_image`` reads every key,
    and then the arrays are computed once (thread-safe) and kept.
    """

    __slots__ = ("_compute", "_lock", "_value")

    def __init__(self, compute: Callable[[], Arrays]) -> None:
        self._compute: Callable[[], Arrays] | None = compute
        self._value: Arrays | None = None
        self._lock = threading.Lock()

    def _get(self) -> Arrays:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    compute = self._compute
                    if compute is None:  # pragma: no cover - defensive
                        raise RuntimeError("derivation already consumed")
                    self._value = MappingProxyType(dict(compute()))
                    self._compute = None
        return self._value

    def __getitem__(self, key: str) -> np.ndarray:
        return self._get()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


def _check_int(owner: str, name: str, value: object, low: int = 1, high: int = 2**31 - 1) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{owner}.{name} must be an int, got {value!r}")
    if not low <= value <= high:
        raise InvalidInputError(f"{owner}.{name} = {value} is out of range; allowed {low}..{high}")


def _check_choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise InvalidInputError(
            f"{owner}.{name} = {value!r} is not known; pass one of {', '.join(choices)}"
        )


class _Images:
    """One call's image sides, in the form the kernels take: one image as Python ints
    (``one``), or the checked int64 arrays. Values computed from them are Python ints or
    arrays alike, and :meth:`result` turns either into a :class:`RuleResult`."""

    __slots__ = ("h", "one", "shape", "w")

    def __init__(self, heights: np.ndarray, widths: np.ndarray) -> None:
        self.shape: tuple[int, ...] = heights.shape
        self.one = heights.size == 1 and widths.size == 1
        self.h: Any = int(heights.item()) if self.one else heights
        self.w: Any = int(widths.item()) if self.one else widths

    def full(self, value: int) -> Any:
        """``value`` for every image."""
        return value if self.one else np.full(self.shape, value, dtype=np.int64)

    def result(
        self,
        tokens: Any,
        wrappers: Any,
        patches: Any = None,
        derive: Callable[[], Mapping[str, Any]] | None = None,
        *,
        exact: bool = True,
        method: str = "",
    ) -> RuleResult:
        """The rule's result: arrays of the inputs' shape (0-d wrapper counts when every
        image has the same). One image's derivation is computed at once (it is a few
        Python operations, and ``count_image`` reads all of it); many images' only when
        read."""
        if not self.one:
            return RuleResult(
                tokens=tokens,
                wrapper_tokens=np.asarray(wrappers, dtype=np.int64),
                encoder_patches=patches,
                derivation={} if derive is None else LazyDerivation(derive),
                exact=exact,
                method=method,
            )
        # Every number in one int64 array, handed out as views of the inputs' shape: one
        # numpy call instead of one per number (each costs more than the rule itself).
        d = {} if derive is None else derive()
        vals = [tokens, wrappers, 0 if patches is None else patches, *d.values()]
        a = np.array(vals, dtype=np.int64).reshape((len(vals), *self.shape))
        return RuleResult(
            tokens=a[0, ...],
            wrapper_tokens=a[1, ...],
            encoder_patches=None if patches is None else a[2, ...],
            derivation={k: a[i, ...] for i, k in enumerate(d, 3)},
            exact=exact,
            method=method,
        )


# -- Qwen ---------------------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class QwenSmartResizeRule(ImageRule):
    """Qwen2-VL / Qwen2.5-VL / Qwen2.5-Omni / Qwen3-VL: ``smart_resize`` then merged patches.

    ``tokens = (h' / factor) * (w' / factor) + wrapper_tokens`` with ``factor =
    patch_size * merge_size``; ``encoder_patches = h' * w' / patch_size²``; ``grid = (1,
    h'/patch_size, w'/patch_size)``. ``variant`` picks transformers' or qwen-vl-utils'
    ``smart_resize`` (they differ on tiny and extreme images; see ``docs/images.md``).
    Options: ``min_pixels``, ``max_pixels``.
    """

    kind: ClassVar[str] = "qwen.smart_resize"
    options: ClassVar[frozenset[str]] = frozenset({"min_pixels", "max_pixels"})

    variant: str = "transformers"
    patch_size: int = 14
    merge_size: int = 2
    min_pixels: int = 3136
    max_pixels: int = 12845056
    max_ratio: float = 200.0
    wrapper_tokens: int = 2

    def __post_init__(self) -> None:
        owner = self.kind
        _check_choice(owner, "variant", self.variant, kg.QWEN_VARIANTS)
        _check_int(owner, "patch_size", self.patch_size, 1, 4096)
        _check_int(owner, "merge_size", self.merge_size, 1, 64)
        _check_int(owner, "min_pixels", self.min_pixels, 0, 2**53)
        _check_int(owner, "max_pixels", self.max_pixels, 1, 2**53)
        _check_int(owner, "wrapper_tokens", self.wrapper_tokens, 0, 1024)
        if isinstance(self.max_ratio, bool) or not isinstance(self.max_ratio, (int, float)):
            raise InvalidInputError(f"{owner}.max_ratio must be a number, got {self.max_ratio!r}")
        if not (math.isfinite(self.max_ratio) and self.max_ratio >= 1):
            raise InvalidInputError(f"{owner}.max_ratio = {self.max_ratio!r} must be >= 1")
        if self.min_pixels > self.max_pixels:
            raise InvalidInputError(
                f"{owner}: min_pixels = {self.min_pixels} exceeds max_pixels = {self.max_pixels}"
            )

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens after ``smart_resize`` (the kernel raises for aspect > ``max_ratio``)."""
        im = _Images(heights, widths)
        kw = {
            "factor": self.patch_size * self.merge_size,
            "min_pixels": opts.get("min_pixels", self.min_pixels),
            "max_pixels": opts.get("max_pixels", self.max_pixels),
            "max_ratio": float(self.max_ratio),
            "variant": self.variant,
        }
        m2 = self.merge_size * self.merge_size
        tokens, patches = kg.smart_resize_tokens(
            im.h, im.w, offset=self.wrapper_tokens, patches_per_token=m2, **kw
        )
        patch = self.patch_size

        def derive() -> Arrays:
            rh, rw = kg.smart_resize(im.h, im.w, **kw)
            return {
                "resized_h": rh,
                "resized_w": rw,
                "grid_t": im.full(1),
                "grid_h": rh // patch,
                "grid_w": rw // patch,
            }

        return im.result(tokens, self.wrapper_tokens, patches, derive)


# -- fixed (LLaVA-1.5) ------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class FixedRule(ImageRule):
    """The same count for every image (LLaVA-1.5: resize + centre-crop to 336 -> 576)."""

    kind: ClassVar[str] = "fixed"

    tokens: int = 0
    encoder_patches: int | None = None
    wrapper_tokens: int = 0

    def __post_init__(self) -> None:
        _check_int(self.kind, "tokens", self.tokens, 1, 2**40)
        _check_int(self.kind, "wrapper_tokens", self.wrapper_tokens, 0, self.tokens)
        if self.encoder_patches is not None:
            _check_int(self.kind, "encoder_patches", self.encoder_patches, 1, 2**40)

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """``tokens`` for every image."""
        im = _Images(heights, widths)
        patches = self.encoder_patches
        return im.result(
            im.full(self.tokens), self.wrapper_tokens, None if patches is None else im.full(patches)
        )


# -- LLaVA-NeXT ----------------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class LlavaNextAnyresRule(ImageRule):
    """LLaVA-NeXT (v1.6) anyres: best pinpoint, unpadded grid, a newline token per row.

    ``tokens = grid_h * (grid_w + 1) + (crop/patch)² + num_additional_image_tokens - 1``
    (the ``-1`` for ``vision_feature_select_strategy="default"``), as transformers'
    ``LlavaNextProcessor._get_num_multimodal_tokens`` counts them. Every one of them is an
    ``<image>`` placeholder, so there are no wrapper tokens.
    """

    kind: ClassVar[str] = "llava_next.anyres"

    patch_size: int = 14
    crop_size: int = 336
    pinpoints: tuple[tuple[int, int], ...] = ()
    num_additional_image_tokens: int = 1
    vision_feature_select_strategy: str = "default"

    def __post_init__(self) -> None:
        owner = self.kind
        _check_int(owner, "patch_size", self.patch_size, 1, 4096)
        _check_int(owner, "crop_size", self.crop_size, self.patch_size, 2**16)
        _check_int(owner, "num_additional_image_tokens", self.num_additional_image_tokens, 0, 16)
        _check_choice(
            owner,
            "vision_feature_select_strategy",
            self.vision_feature_select_strategy,
            ("default", "full"),
        )
        pins = self.pinpoints
        if not isinstance(pins, (list, tuple)) or not pins:
            raise InvalidInputError(f"{owner}.pinpoints must be a non-empty list of [h, w] pairs")
        fixed: list[tuple[int, int]] = []
        for p in pins:
            if not isinstance(p, (list, tuple)) or len(p) != 2:
                raise InvalidInputError(f"{owner}.pinpoints: {p!r} is not an [h, w] pair")
            for v in p:
                _check_int(owner, "pinpoints", v, self.crop_size, 2**16)
                if v % self.crop_size:
                    raise InvalidInputError(
                        f"{owner}.pinpoints: {v} is not a multiple of crop_size {self.crop_size}"
                    )
            fixed.append((int(p[0]), int(p[1])))
        object.__setattr__(self, "pinpoints", tuple(fixed))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens from the unpadded feature grid plus the base image's features."""
        im = _Images(heights, widths)
        side = self.crop_size // self.patch_size
        per_crop = side * side + self.num_additional_image_tokens
        drop = 1 if self.vision_feature_select_strategy == "default" else 0
        # The encoder sees per_crop features of every crop (the base image included).
        tokens, patches = ki.llava_next_token_counts(
            im.h,
            im.w,
            pinpoints=self.pinpoints,
            crop_size=self.crop_size,
            patch_size=self.patch_size,
            per_crop=per_crop - drop,
            crop_scale=per_crop,
        )
        crop = self.crop_size

        def derive() -> Arrays:
            bh, bw, gh, gw = kt.llava_next_features(
                im.h,
                im.w,
                pinpoints=self.pinpoints,
                crop_size=crop,
                patch_size=self.patch_size,
            )
            crops = (bh // crop) * (bw // crop) + 1
            return {"grid_h": gh, "grid_w": gw, "tiles": crops, "canvas_h": bh, "canvas_w": bw}

        return im.result(tokens, 0, patches, derive)


# -- InternVL ------------------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class InternVLDynamicRule(ImageRule):
    """InternVL 2 / 2.5 / 3 dynamic tiling: ``tokens_per_tile`` per 448-px tile + thumbnail.

    ``tokens = tokens_per_tile * tiles + wrapper_tokens`` where ``tiles = cols * rows``,
    plus one thumbnail tile when ``use_thumbnail`` and more than one tile. Options:
    ``max_num`` (and ``min_num``), the tile limits of the model card's ``load_image``.
    """

    kind: ClassVar[str] = "internvl.dynamic"
    options: ClassVar[frozenset[str]] = frozenset({"max_num", "min_num"})

    tile_size: int = 448
    tokens_per_tile: int = 256
    patch_size: int = 14
    min_num: int = 1
    max_num: int = 12
    use_thumbnail: bool = True
    wrapper_tokens: int = 2

    def __post_init__(self) -> None:
        owner = self.kind
        _check_int(owner, "tile_size", self.tile_size, 1, 2**16)
        _check_int(owner, "tokens_per_tile", self.tokens_per_tile, 1, 2**20)
        _check_int(owner, "patch_size", self.patch_size, 1, self.tile_size)
        _check_int(owner, "min_num", self.min_num, 1, 4096)
        _check_int(owner, "max_num", self.max_num, self.min_num, 4096)
        _check_int(owner, "wrapper_tokens", self.wrapper_tokens, 0, 1024)
        if not isinstance(self.use_thumbnail, bool):
            raise InvalidInputError(f"{owner}.use_thumbnail must be true or false")

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for the chosen tile grid (plus thumbnail)."""
        lo = opts.get("min_num", self.min_num)
        hi = opts.get("max_num", self.max_num)
        _check_int("option", "min_num", lo, 1, 4096)
        _check_int("option", "max_num", hi, 1, 4096)
        if lo > hi:
            raise InvalidInputError(f"min_num = {lo} exceeds max_num = {hi}")
        im = _Images(heights, widths)
        side = self.tile_size // self.patch_size
        thumb = self.use_thumbnail
        # tokens = tokens_per_tile * tiles + wrappers and patches = side² * tiles, where
        # tiles = cols * rows (+1 thumbnail), computed in the kernel's own pass.
        tokens, patches = ki.internvl_token_counts(
            im.h,
            im.w,
            tile_size=self.tile_size,
            min_num=lo,
            max_num=hi,
            thumbnail=thumb,
            scale=self.tokens_per_tile,
            offset=self.wrapper_tokens,
            patch_scale=side * side,
        )

        def derive() -> Arrays:
            cols, rows = kt.internvl_grid(
                im.h, im.w, tile_size=self.tile_size, min_num=lo, max_num=hi
            )
            n = cols * rows
            return {"grid_h": rows, "grid_w": cols, "tiles": n + (n > 1) if thumb else n}

        return im.result(tokens, self.wrapper_tokens, patches, derive)


# -- Pixtral / Mistral ---------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class MistralPatchGridRule(ImageRule):
    """Pixtral / Mistral-Small vision: ``[IMG]`` per merged patch, ``[IMG_BREAK]`` per row.

    The token stream is ``([IMG] * cols + [IMG_BREAK]) * rows`` with the last break
    replaced by ``[IMG_END]``: ``tokens = rows * (cols + 1)`` of which ``rows`` are
    wrappers. ``rounding`` is ``"round"`` (mistral-common, vLLM's mistral mode) or
    ``"floor"`` (transformers' ``PixtralImageProcessor``).
    """

    kind: ClassVar[str] = "mistral.patch_grid"

    patch_size: int = 16
    merge_size: int = 1
    max_image_size: int = 1024
    rounding: str = "round"

    def __post_init__(self) -> None:
        owner = self.kind
        _check_int(owner, "patch_size", self.patch_size, 1, 4096)
        _check_int(owner, "merge_size", self.merge_size, 1, 64)
        _check_int(owner, "max_image_size", self.max_image_size, 1, 2**20)
        _check_choice(owner, "rounding", self.rounding, ("round", "floor"))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens of the ``[IMG]``/``[IMG_BREAK]``/``[IMG_END]`` stream."""
        kw: dict[str, Any] = {
            "patch_size": self.patch_size,
            "merge_size": self.merge_size,
            "max_image_size": self.max_image_size,
            "rounding": self.rounding,
        }
        im = _Images(heights, widths)
        # One [IMG_BREAK] or [IMG_END] per row: the rows are the wrapper tokens.
        tokens, patches, wrappers = ki.mistral_token_counts(im.h, im.w, **kw)
        p = self.patch_size * self.merge_size

        def derive() -> Arrays:
            rows, cols = kp.mistral_patch_grid(im.h, im.w, **kw)
            return {"resized_h": rows * p, "resized_w": cols * p, "grid_h": rows, "grid_w": cols}

        return im.result(tokens, wrappers, patches, derive)


# -- Llama 3.2 Vision ------------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class MllamaTilesRule(ImageRule):
    """Llama 3.2 Vision: up to ``max_tiles`` 560-px tiles, cross-attention.

    The decoder sees one ``<|image|>`` token per image (``bill="decoder"``); hosted APIs
    bill ``states_per_tile`` (1601 = 40² patches + CLS) per tile (``bill="tiles"``).
    ``encoder_patches`` is ``states_per_tile * tiles`` either way.
    """

    kind: ClassVar[str] = "mllama.tiles"

    tile_size: int = 560
    max_tiles: int = 4
    patch_size: int = 14
    states_per_tile: int = 1601
    bill: str = "decoder"

    def __post_init__(self) -> None:
        owner = self.kind
        _check_int(owner, "tile_size", self.tile_size, 1, 2**16)
        _check_int(owner, "max_tiles", self.max_tiles, 1, 64)
        _check_int(owner, "patch_size", self.patch_size, 1, self.tile_size)
        _check_int(owner, "states_per_tile", self.states_per_tile, 1, 2**20)
        _check_choice(owner, "bill", self.bill, ("decoder", "tiles"))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """One decoder token, or ``states_per_tile`` per tile."""
        im = _Images(heights, widths)
        states = ki.mllama_tile_counts(
            im.h,
            im.w,
            tile_size=self.tile_size,
            max_tiles=self.max_tiles,
            scale=self.states_per_tile,
        )
        tokens = states if self.bill == "tiles" else im.full(1)

        def derive() -> Arrays:
            rows, cols = kt.mllama_canvas(
                im.h, im.w, tile_size=self.tile_size, max_tiles=self.max_tiles
            )
            return {"grid_h": rows, "grid_w": cols, "tiles": rows * cols}

        return im.result(tokens, 0, states, derive)


# -- OpenAI -------------------------------------------------------------------------------------

_DETAILS = ("low", "high", "auto")


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAITilesRule(ImageRule):
    """OpenAI's tile scheme (GPT-4o, GPT-4.1, GPT-5, o1/o3…): ``base + tile * tiles``.

    ``detail="low"`` costs ``base_tokens``; ``"high"`` fits the image in ``fit_size``²,
    scales the short side down to ``short_side`` and counts ``tile_size`` tiles;
    ``"auto"`` lets the model choose, so it is counted as ``"high"`` (an upper bound) and
    marked as an estimate. Option: ``detail``.
    """

    kind: ClassVar[str] = "openai.tiles"
    options: ClassVar[frozenset[str]] = frozenset({"detail"})

    base_tokens: int = 85
    tile_tokens: int = 170
    fit_size: int = 2048
    short_side: int = 768
    tile_size: int = 512
    default_detail: str = "high"
    fit_rounding: str = "round"
    short_rounding: str = "floor"

    def __post_init__(self) -> None:
        owner = self.kind
        _check_int(owner, "base_tokens", self.base_tokens, 0, 2**20)
        _check_int(owner, "tile_tokens", self.tile_tokens, 1, 2**20)
        for name in ("fit_size", "short_side", "tile_size"):
            _check_int(owner, name, getattr(self, name), 1, 2**20)
        _check_choice(owner, "default_detail", self.default_detail, _DETAILS)
        _check_choice(owner, "fit_rounding", self.fit_rounding, ("round", "floor"))
        _check_choice(owner, "short_rounding", self.short_rounding, ("round", "floor"))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """``base`` at low detail; ``base + tile * tiles`` at high (and auto)."""
        detail = opts.get("detail", self.default_detail)
        _check_choice("option", "detail", detail, _DETAILS)
        im = _Images(heights, widths)
        if detail == "low":
            return im.result(im.full(self.base_tokens), 0)
        kw: dict[str, Any] = {
            "fit_size": self.fit_size,
            "short_side": self.short_side,
            "tile_size": self.tile_size,
            "fit_rounding": self.fit_rounding,
            "short_rounding": self.short_rounding,
        }
        tokens = ki.openai_tile_counts(
            im.h, im.w, scale=self.tile_tokens, offset=self.base_tokens, **kw
        )

        def derive() -> Arrays:
            tiles, rh, rw = kt.openai_tiles(im.h, im.w, **kw)
            return {"resized_h": rh, "resized_w": rw, "tiles": tiles}

        auto = detail == "auto"
        return im.result(
            tokens,
            0,
            derive=derive,
            exact=not auto,
            method="detail='auto' counted as 'high' (the model may choose low)" if auto else "",
        )


def _parse_multiplier(owner: str, value: object) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidInputError(
            f"{owner}.multiplier must be a decimal string such as '1.62', got {value!r}"
        )
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInputError(f"{owner}.multiplier = {value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise InvalidInputError(f"{owner}.multiplier = {value!r} must be a positive number")
    return Fraction(d)


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAIPatchesRule(ImageRule):
    """OpenAI's patch scheme (GPT-4.1-mini/nano, o4-mini, GPT-5-mini/nano): 32-px patches.

    ``tokens = patches * multiplier`` where ``patches`` is capped at ``max_patches`` (see
    :func:`tokenmeter.kernels.patches.openai_patches`). OpenAI does not say how a
    fractional product is rounded; it is rounded half up here and the count is marked as
    an estimate whenever the multiplier is not a whole number. ``fit_size`` (2048 in the
    catalog) first fits the image into a square of that side, as the API's bills show.
    ``detail`` is accepted and has no effect (the docs say so for patch models).
    """

    kind: ClassVar[str] = "openai.patches"
    options: ClassVar[frozenset[str]] = frozenset({"detail"})

    patch_size: int = 32
    max_patches: int = 1536
    multiplier: str = "1"
    fit_size: int = 0
    _ratio: Fraction = field(default=Fraction(1), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_int(self.kind, "patch_size", self.patch_size, 1, 4096)
        _check_int(self.kind, "max_patches", self.max_patches, 1, 2**20)
        _check_int(self.kind, "fit_size", self.fit_size, 0, 2**20)
        object.__setattr__(self, "_ratio", _parse_multiplier(self.kind, self.multiplier))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Patches (capped) times the model's multiplier."""
        if "detail" in opts:
            _check_choice("option", "detail", opts["detail"], _DETAILS)
        kw: dict[str, Any] = {
            "patch_size": self.patch_size,
            "max_patches": self.max_patches,
            "fit_size": self.fit_size,
        }
        im = _Images(heights, widths)
        tokens = ki.openai_patch_counts(im.h, im.w, multiplier=self._ratio, **kw)
        whole = self._ratio.denominator == 1
        p = self.patch_size

        def derive() -> Arrays:
            patches, cols, rows = kp.openai_patches(im.h, im.w, **kw)
            return {
                "grid_h": rows,
                "grid_w": cols,
                "patches": patches,
                "resized_h": rows * p,
                "resized_w": cols * p,
            }

        return im.result(
            tokens,
            0,
            derive=derive,
            exact=whole,
            method=""
            if whole
            else (
                f"patches x {self.multiplier} rounded half up; OpenAI does not document "
                "the rounding of the multiplied count"
            ),
        )


# -- Anthropic -----------------------------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class AnthropicPatchesRule(ImageRule):
    """Claude: ``ceil(w'/28) * ceil(h'/28)`` visual tokens after the docs' ``resized_size``.

    ``max_edge``/``max_tokens`` are 1568/1568 (standard tier) or 2576/4784 (the
    high-resolution tier of Claude Opus 4.7 and later). ``resized`` is the size before
    Claude's padding to a multiple of 28, as the docs define it.
    """

    kind: ClassVar[str] = "anthropic.patches"

    patch_size: int = 28
    max_edge: int = 1568
    max_tokens: int = 1568

    def __post_init__(self) -> None:
        _check_int(self.kind, "patch_size", self.patch_size, 1, 4096)
        _check_int(self.kind, "max_edge", self.max_edge, self.patch_size, 2**20)
        _check_int(self.kind, "max_tokens", self.max_tokens, 1, 2**30)

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Visual tokens of the resized image."""
        kw: dict[str, Any] = {
            "max_edge": self.max_edge,
            "max_tokens": self.max_tokens,
            "patch_size": self.patch_size,
        }
        im = _Images(heights, widths)
        tokens = ki.anthropic_token_counts(im.h, im.w, **kw)
        p = self.patch_size

        def derive() -> Arrays:
            _, rh, rw = kp.anthropic_patches(im.h, im.w, **kw)
            return {"resized_h": rh, "resized_w": rw, "grid_h": -(-rh // p), "grid_w": -(-rw // p)}

        return im.result(tokens, 0, derive=derive)


# -- Google Gemini (estimates) -----------------------------------------------------------------


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class GeminiTilesRule(ImageRule):
    """Gemini 2.x: 258 tokens for an image with both sides <= 384 px, else 258 per tile.

    Google publishes no tile rule or code; tiles are counted as ``ceil(w/768) *
    ceil(h/768)``, the common third-party reading of the docs. An estimate: check with
    ``countTokens``.
    """

    kind: ClassVar[str] = "gemini.tiles"
    exact: ClassVar[bool] = False

    tile_tokens: int = 258
    small_side: int = 384
    tile_size: int = 768

    def __post_init__(self) -> None:
        for name in ("tile_tokens", "small_side", "tile_size"):
            _check_int(self.kind, name, getattr(self, name), 1, 2**20)

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """``tile_tokens`` per estimated tile."""
        im = _Images(heights, widths)
        kw = {"small_side": self.small_side, "tile_size": self.tile_size}
        return im.result(
            ki.gemini_tile_counts(im.h, im.w, scale=self.tile_tokens, **kw),
            0,
            derive=lambda: {"tiles": ki.gemini_tile_counts(im.h, im.w, **kw)},
            exact=False,
            method=(
                f"{self.tile_tokens} per image <= {self.small_side} px, else per "
                f"ceil(w/{self.tile_size})*ceil(h/{self.tile_size}) tile; Google "
                "publishes no tile rule"
            ),
        )


@builtin_rule
@dataclass(frozen=True, slots=True, kw_only=True)
class GeminiBudgetRule(ImageRule):
    """Gemini 3.x: a per-image token budget chosen by ``media_resolution``.

    ``low`` 280, ``medium`` 560, ``high`` 1120 (the image default), ``ultra_high`` 2240.
    The budget is a maximum: measured counts sit a few percent below it and barely move
    with image size. An estimate (an upper bound). Option: ``media_resolution``.
    """

    kind: ClassVar[str] = "gemini.budget"
    exact: ClassVar[bool] = False
    options: ClassVar[frozenset[str]] = frozenset({"media_resolution"})

    budgets: Mapping[str, int] = field(default_factory=dict)
    default_resolution: str = "high"

    def __post_init__(self) -> None:
        if not isinstance(self.budgets, Mapping) or not self.budgets:
            raise InvalidInputError(f"{self.kind}.budgets must be a non-empty table")
        clean: dict[str, int] = {}
        for k, v in self.budgets.items():
            _check_int(self.kind, f"budgets.{k}", v, 1, 2**20)
            clean[str(k)] = int(v)
        object.__setattr__(self, "budgets", MappingProxyType(clean))
        _check_choice(self.kind, "default_resolution", self.default_resolution, tuple(clean))

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """The budget of the requested ``media_resolution`` for every image."""
        res = opts.get("media_resolution", self.default_resolution)
        if isinstance(res, str):
            res = res.lower().removeprefix("media_resolution_")
        _check_choice("option", "media_resolution", res, tuple(self.budgets))
        budget = self.budgets[res]
        im = _Images(heights, widths)
        return im.result(
            im.full(budget),
            0,
            exact=False,
            method=f"the media_resolution={res!r} budget ({budget}), an upper bound",
        )
