"""Count values: :class:`TokenCount` (one input on one model) and :class:`Usage` (a request)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

from .errors import InvalidInputError

__all__ = ["MODALITIES", "Modality", "TokenCount", "TokenCounts", "Usage", "UsagePart"]

Modality = Literal["text", "image", "video", "audio"]
MODALITIES: tuple[Modality, ...] = ("text", "image", "video", "audio")

_EMPTY: Mapping[str, Any] = MappingProxyType({})


def _check_count(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInputError(f"{owner}.{name} must be an int, got {value!r}")
    if value < 0:
        raise InvalidInputError(f"{owner}.{name} must be >= 0, got {value}")


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenCount:
    """How many tokens one input occupies on one model, and how that number was reached.

    ``int(count)`` is :attr:`tokens`.

    Attributes:
        tokens: every token the input occupies in the model's decoder context: placeholders
            plus the wrapper/special tokens the processor inserts around them. This is what
            providers bill and what fills the context window.
        wrapper_tokens: how many of :attr:`tokens` are wrappers (``<|vision_start|>``…);
            ``tokens - wrapper_tokens`` is the placeholder-only count some references report.
        encoder_patches: the vision/audio encoder's sequence length before any merge, where
            meaningful (``None`` otherwise).
        exact: True only when the count reproduces the model's own reference code.
        modality: ``"text"``, ``"image"``, ``"video"`` or ``"audio"``.
        model: canonical model id.
        profile: the runtime profile the count was made under.
        rule: the rule that produced the count (``"qwen.smart_resize"``, ``"tiktoken"``…).
        method: for estimates, how the estimate was made; ``""`` for exact counts.
        source: where the rule comes from (a URL or file path in the reference code).
        as_of: the date the rule was checked against its source.
        resized: ``(height, width)`` after the model's resize, where there is one.
        grid: the patch grid (``(t, h, w)`` or ``(h, w)``), where there is one.
        frames: frames sampled from a video, where relevant.
        tiles: image tiles, where relevant.
        details: any further derivation values, read-only.
    """

    tokens: int
    modality: Modality
    model: str
    rule: str
    exact: bool
    wrapper_tokens: int = 0
    encoder_patches: int | None = None
    profile: str = ""
    method: str = ""
    source: str = ""
    as_of: str = ""
    resized: tuple[int, int] | None = None
    grid: tuple[int, ...] | None = None
    frames: int | None = None
    tiles: int | None = None
    details: Mapping[str, Any] = field(default_factory=lambda: _EMPTY, hash=False)

    def __post_init__(self) -> None:
        _check_count("TokenCount", "tokens", self.tokens)
        _check_count("TokenCount", "wrapper_tokens", self.wrapper_tokens)
        if self.wrapper_tokens > self.tokens:
            raise InvalidInputError(
                f"TokenCount.wrapper_tokens ({self.wrapper_tokens}) exceeds tokens ({self.tokens})"
            )
        if self.encoder_patches is not None:
            _check_count("TokenCount", "encoder_patches", self.encoder_patches)
        if not isinstance(self.details, MappingProxyType):
            object.__setattr__(self, "details", MappingProxyType(dict(self.details)))

    def __int__(self) -> int:
        return self.tokens

    def __index__(self) -> int:
        return self.tokens

    @property
    def placeholder_tokens(self) -> int:
        """``tokens - wrapper_tokens``."""
        return self.tokens - self.wrapper_tokens

    def explain(self) -> str:
        """The derivation of this count, in words."""
        kind = "exact" if self.exact else f"estimate ({self.method or 'not the reference code'})"
        lines = [f"{self.modality} on {self.model}"
                 + (f" [{self.profile}]" if self.profile else "")
                 + f": {self.tokens} tokens, {kind}"]
        lines.append(f"  rule: {self.rule}" + (f" (source: {self.source}" if self.source else "")
                     + (f", as of {self.as_of})" if self.source and self.as_of else
                        (")" if self.source else "")))
        if self.resized is not None:
            lines.append(f"  resized to {self.resized[1]}x{self.resized[0]} (w x h)")
        if self.frames is not None:
            lines.append(f"  frames sampled: {self.frames}")
        if self.grid is not None:
            lines.append(f"  patch grid: {' x '.join(str(g) for g in self.grid)}")
        if self.tiles is not None:
            lines.append(f"  tiles: {self.tiles}")
        if self.encoder_patches is not None:
            lines.append(f"  encoder patches (before merge): {self.encoder_patches}")
        if self.wrapper_tokens:
            lines.append(
                f"  placeholders {self.placeholder_tokens} + wrappers {self.wrapper_tokens}"
            )
        for key, value in self.details.items():
            if key == "note":
                lines.append(f"  note: {value}")
            else:
                lines.append(f"  {key}: {value}")
        return "\n".join(lines)


def _exact_sum(name: str, a: Decimal | int, b: Decimal | int) -> Decimal:
    """``a + b`` with every digit kept, whatever the caller's decimal context."""
    import decimal

    ctx = decimal.Context(prec=2000, Emax=999_999, Emin=-999_999,
                          traps=[decimal.Inexact, decimal.Overflow, decimal.InvalidOperation])
    try:
        return ctx.add(Decimal(a), Decimal(b))
    except decimal.DecimalException:
        raise InvalidInputError(
            f"Usage.{name}: {a} + {b} cannot be added exactly") from None


@dataclass(frozen=True, slots=True, kw_only=True, eq=False)
class TokenCounts:
    """The numbers of :class:`TokenCount` for whole arrays of media, as int64 arrays.

    What ``Model.image_counts``/``video_counts``/``audio_counts`` return; every array has
    the inputs' (broadcast) shape. ``counts[i]`` is the :class:`TokenCount` that the scalar
    call (``count_image``…) gives for item ``i`` of the flattened inputs, and iterating
    yields them in order.

    Attributes:
        tokens: decoder-context tokens, wrappers included.
        wrapper_tokens: how many of ``tokens`` are wrapper/special tokens.
        encoder_patches: the encoder's sequence length before any merge, or ``None``
            where the rule has no such notion.
        derivation: the rule's further arrays by name — ``resized_h``/``resized_w``,
            ``grid_t``/``grid_h``/``grid_w``, ``frames``, ``tiles`` and rule-specific ones
            (read-only mapping).
        exact, modality, model, profile, rule, method, source, as_of: as on
            :class:`TokenCount`, shared by every item.
    """

    tokens: np.ndarray
    wrapper_tokens: np.ndarray
    encoder_patches: np.ndarray | None
    derivation: Mapping[str, np.ndarray]
    exact: bool
    modality: Modality
    model: str
    profile: str
    rule: str
    method: str = ""
    source: str = ""
    as_of: str = ""
    _item: Callable[[int], TokenCount] = field(repr=False, compare=False)

    def __len__(self) -> int:
        return int(self.tokens.size)

    def __getitem__(self, i: int) -> TokenCount:
        if isinstance(i, bool) or not isinstance(i, int):
            raise InvalidInputError(f"TokenCounts index must be an int, got {i!r}")
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"TokenCounts index {i} out of range for {n} items")
        return self._item(i % n)

    def __iter__(self) -> Iterator[TokenCount]:
        return (self._item(i) for i in range(len(self)))

    @property
    def placeholder_tokens(self) -> np.ndarray:
        """``tokens - wrapper_tokens``."""
        out: np.ndarray = self.tokens - self.wrapper_tokens
        return out

    def total(self) -> int:
        """The sum of :attr:`tokens` as a Python int (no int64 wrap-around)."""
        t = self.tokens
        if t.size == 0:
            return 0
        if int(t.max()) <= (2**63 - 1) // t.size:  # the int64 sum cannot wrap
            return int(t.sum())
        return sum(t.ravel().tolist())


@dataclass(frozen=True, slots=True, kw_only=True)
class UsagePart:
    """One counted piece of a request: a message's text, one image, the chat framing…

    Attributes:
        kind: ``"text"``, ``"image"``, ``"video"``, ``"audio"`` or ``"framing"``; in
            a counted request also ``"tools"`` (tool definitions) and ``"document"`` (PDF
            pages, image tokens); from a response or a usage block ``"output"``,
            ``"reasoning"``, ``"output_audio"``, ``"cached"``…
        tokens: tokens this part contributes.
        exact: whether the count reproduces the reference code.
        rule: the rule used.
        role: the chat role the part belongs to, or ``""``.
        index: a path to the part inside the request (``"messages[1].content[0]"``), or a
            file name.
        count: the full :class:`TokenCount`, when there is one.
    """

    kind: str
    tokens: int
    exact: bool
    rule: str = ""
    role: str = ""
    index: str = ""
    count: TokenCount | None = None


_TOKEN_FIELDS = (
    "text", "image", "video", "audio",
    "output", "reasoning", "output_audio", "output_image", "output_video",
    "cached", "cache_write", "generations",
)


def _as_seconds(owner: str, name: str, value: object) -> Decimal:
    if isinstance(value, bool):
        raise InvalidInputError(f"{owner}.{name} must be a number of seconds, got {value!r}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, float):
        # Durations are measurements, not money: take the shortest repr that round-trips.
        d = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            d = Decimal(value)
        except ArithmeticError as exc:
            raise InvalidInputError(f"{owner}.{name}: {value!r} is not a number") from exc
    else:
        raise InvalidInputError(f"{owner}.{name} must be a number of seconds, got {value!r}")
    if not d.is_finite() or d < 0:
        raise InvalidInputError(f"{owner}.{name} must be finite and >= 0, got {value!r}")
    return d


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage of one request (or a sum of requests), by modality and direction.

    Input tokens are counted per modality (:attr:`text`, :attr:`image`, :attr:`video`,
    :attr:`audio`). :attr:`cached` and :attr:`cache_write` are *subsets* of the input
    tokens (OpenAI/Gemini semantics); additive vendor fields (Anthropic) are folded in when
    a provider usage block is parsed. :attr:`reasoning` is a subset of :attr:`output`.

    ``Usage`` values add: ``a + b`` and ``sum(usages, Usage())``.

    Attributes:
        text, image, video, audio: input tokens by modality.
        output: generated text tokens (reasoning included).
        reasoning: the reasoning part of :attr:`output`.
        output_audio, output_image, output_video: generated media tokens.
        cached: input tokens read from a prompt cache (a subset of the inputs).
        cache_write: input tokens written to a prompt cache (a subset of the inputs).
        generations: media-generation requests (priced per item).
        video_seconds, audio_seconds: media durations, for per-second prices.
        output_video_seconds: seconds of generated video, for per-second prices.
        exact: False if any part of the count is an estimate.
        parts: per-part breakdown, when the usage was counted here.
    """

    text: int = 0
    image: int = 0
    video: int = 0
    audio: int = 0
    output: int = field(default=0, kw_only=True)
    reasoning: int = field(default=0, kw_only=True)
    output_audio: int = field(default=0, kw_only=True)
    output_image: int = field(default=0, kw_only=True)
    output_video: int = field(default=0, kw_only=True)
    cached: int = field(default=0, kw_only=True)
    cache_write: int = field(default=0, kw_only=True)
    generations: int = field(default=0, kw_only=True)
    video_seconds: Decimal = field(default=Decimal(0), kw_only=True)
    audio_seconds: Decimal = field(default=Decimal(0), kw_only=True)
    output_video_seconds: Decimal = field(default=Decimal(0), kw_only=True)
    exact: bool = field(default=True, kw_only=True)
    parts: tuple[UsagePart, ...] = field(default=(), kw_only=True, compare=False)

    def __post_init__(self) -> None:
        for name in _TOKEN_FIELDS:
            _check_count("Usage", name, getattr(self, name))
        for name in ("video_seconds", "audio_seconds", "output_video_seconds"):
            object.__setattr__(self, name, _as_seconds("Usage", name, getattr(self, name)))
        if self.cached + self.cache_write > self.input_tokens:
            raise InvalidInputError(
                f"Usage.cached ({self.cached}) + cache_write ({self.cache_write}) exceed the "
                f"input tokens ({self.input_tokens}); they are subsets of the inputs"
            )
        if self.reasoning > self.output:
            raise InvalidInputError(
                f"Usage.reasoning ({self.reasoning}) exceeds output ({self.output}); "
                "reasoning tokens are a subset of output tokens"
            )
        if not isinstance(self.parts, tuple):
            object.__setattr__(self, "parts", tuple(self.parts))

    @property
    def input_tokens(self) -> int:
        """All input tokens: text + image + video + audio."""
        return self.text + self.image + self.video + self.audio

    @property
    def output_tokens(self) -> int:
        """All generated tokens: text (with reasoning) + audio + image + video."""
        return self.output + self.output_audio + self.output_image + self.output_video

    @property
    def total(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def by_modality(self) -> dict[str, int]:
        """Input tokens per modality, zeros included."""
        return {m: getattr(self, m) for m in MODALITIES}

    def __add__(self, other: object) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        values: dict[str, Any] = {}
        for f in fields(self):
            if f.name == "exact":
                values["exact"] = self.exact and other.exact
            elif f.name == "parts":
                values["parts"] = self.parts + other.parts
            else:
                a, b = getattr(self, f.name), getattr(other, f.name)
                if isinstance(a, Decimal) or isinstance(b, Decimal):
                    values[f.name] = _exact_sum(f.name, a, b)
                else:
                    values[f.name] = a + b
        return Usage(**values)

    def __radd__(self, other: object) -> Usage:
        if other == 0:  # sum() starts from 0
            return self
        return NotImplemented

    def with_output(self, tokens: int) -> Usage:
        """A copy with :attr:`output` set to ``tokens``."""
        return replace(self, output=tokens)

    def explain(self) -> str:
        """Every part and the totals, in words."""
        lines: list[str] = []
        for part in self.parts:
            where = f"{part.index} " if part.index else ""
            role = f"({part.role}) " if part.role else ""
            kind = "exact" if part.exact else "estimate"
            lines.append(f"{where}{role}{part.kind}: {part.tokens} tokens [{part.rule}, {kind}]")
        nonzero = [f"{m} {getattr(self, m)}" for m in MODALITIES if getattr(self, m)]
        lines.append("input: " + (", ".join(nonzero) if nonzero else "0")
                     + f" = {self.input_tokens} tokens")
        if self.cached or self.cache_write:
            lines.append(f"  of which cache read {self.cached}, cache write {self.cache_write}")
        if self.output_tokens:
            out = [f"{n} {getattr(self, n)}" for n in
                   ("output", "output_audio", "output_image", "output_video") if getattr(self, n)]
            lines.append("output: " + ", ".join(out) + f" = {self.output_tokens} tokens")
        kind = "exact" if self.exact else "includes estimates"
        lines.append(f"total: {self.total} tokens ({kind})")
        return "\n".join(lines)

    @classmethod
    def from_counts(cls, counts: Iterable[TokenCount]) -> Usage:
        """Sum :class:`TokenCount` values into a :class:`Usage`, one part per count."""
        totals = dict.fromkeys(MODALITIES, 0)
        parts = []
        exact = True
        for c in counts:
            totals[c.modality] += c.tokens
            exact = exact and c.exact
            parts.append(UsagePart(kind=c.modality, tokens=c.tokens, exact=c.exact,
                                   rule=c.rule, index=str(c.details.get("source_name", "")),
                                   count=c))
        return cls(text=totals["text"], image=totals["image"], video=totals["video"],
                   audio=totals["audio"], exact=exact, parts=tuple(parts))
