"""Base classes of the per-modality token rules.

A rule is a frozen dataclass whose fields are the constants from the catalog
(``patch_size``, ``max_pixels``…) plus ``source``. Its ``evaluate`` method is vectorized:
it takes int64/float64 arrays that the caller has already checked (see
:mod:`tokenmeter.kernels._intmath`) and returns a :class:`RuleResult` of arrays. The
scalar API (``Model.count_image``) is ``evaluate`` with N = 1, so the two can never
disagree.

Per-call options (``detail="low"``, ``max_pixels=…``) arrive as keyword arguments; each
rule lists the ones it accepts in :attr:`Rule.options`, and anything else is an
:class:`~tokenmeter.errors.InvalidInputError` naming the accepted options.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from ..errors import CatalogError, InvalidInputError

__all__ = ["AudioRule", "ImageRule", "Rule", "RuleResult", "VideoRule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleResult:
    """What a rule computed for N inputs; every array has the inputs' shape.

    Attributes:
        tokens: decoder-context tokens, wrappers included (int64).
        wrapper_tokens: how many of ``tokens`` are wrapper/special tokens (int64).
        encoder_patches: encoder sequence length before merging, or ``None`` where the
            notion does not apply.
        derivation: further int64 arrays that explain the count. Known keys become
            :class:`~tokenmeter.TokenCount` fields: ``resized_h``/``resized_w`` →
            ``resized``; ``grid_t``/``grid_h``/``grid_w`` → ``grid``; ``frames``; ``tiles``.
            Other keys land in ``TokenCount.details``.
        exact: False when the rule is an estimate (no published reference code).
        method: for estimates, a short description of how.
        notes: sentences for ``explain()`` that apply to every item.
    """

    tokens: np.ndarray
    wrapper_tokens: np.ndarray
    encoder_patches: np.ndarray | None = None
    derivation: Mapping[str, np.ndarray] = field(default_factory=dict)
    exact: bool = True
    method: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A token rule bound to one model's constants.

    Subclasses set :attr:`kind` and :attr:`modality`, declare their constants as dataclass
    fields (validated in ``__post_init__`` with explicit raises) and implement
    ``evaluate``. Every rule has ``source`` and ``variant`` fields; ``variant`` picks
    between reference implementations that disagree (``"transformers"`` vs
    ``"qwen-vl-utils"``), and is part of :attr:`name`.
    """

    kind: ClassVar[str] = ""
    modality: ClassVar[str] = ""
    #: Per-call keyword options this rule accepts.
    options: ClassVar[frozenset[str]] = frozenset()
    #: Whether the rule reproduces reference code (False for published-budget estimates).
    exact: ClassVar[bool] = True

    source: str = ""
    variant: str = ""

    @property
    def name(self) -> str:
        """The rule's id as reported in ``TokenCount.rule``."""
        return f"{self.kind}[{self.variant}]" if self.variant else self.kind

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, where: str) -> Rule:
        """Build the rule from a catalog table (``rule`` key already removed).

        Raises:
            CatalogError: unknown or missing keys, or values the rule rejects.
        """
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        unknown = sorted(set(params) - names)
        if unknown:
            raise CatalogError(
                f"{where}: rule {cls.kind!r} has no parameter(s) {unknown}; "
                f"it takes {sorted(names)}"
            )
        try:
            return cls(**params)
        except TypeError as exc:
            raise CatalogError(f"{where}: rule {cls.kind!r}: {exc}") from exc
        except InvalidInputError as exc:
            raise CatalogError(f"{where}: rule {cls.kind!r}: {exc}") from exc

    def check_options(self, opts: Mapping[str, Any]) -> None:
        """Raise :class:`InvalidInputError` for options this rule does not take."""
        unknown = sorted(set(opts) - self.options)
        if unknown:
            allowed = ", ".join(sorted(self.options)) or "none"
            raise InvalidInputError(
                f"{self.name} does not take option(s) {', '.join(unknown)}; "
                f"options it takes: {allowed}"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageRule(Rule):
    """A rule for still images: ``evaluate(heights, widths, **opts)``."""

    modality: ClassVar[str] = "image"

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for images of these sizes (int64 arrays of one shape, already checked)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoRule(Rule):
    """A rule for videos.

    ``evaluate(heights, widths, durations, fps, total_frames, **opts)``: int64 sizes,
    float64 seconds and frames-per-second of the *source*, and the source's int64 frame
    count (``round(duration * fps)`` when only a duration is known).
    """

    modality: ClassVar[str] = "video"

    def evaluate(self, heights: np.ndarray, widths: np.ndarray, durations: np.ndarray,
                 fps: np.ndarray, total_frames: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for videos of these sizes and lengths (arrays of one shape, checked)."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioRule(Rule):
    """A rule for audio: ``evaluate(durations, **opts)`` with float64 seconds."""

    modality: ClassVar[str] = "audio"

    def evaluate(self, durations: np.ndarray, **opts: Any) -> RuleResult:
        """Tokens for audio clips of these durations (float64 seconds, checked)."""
        raise NotImplementedError
