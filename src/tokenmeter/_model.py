"""A model from the catalog: its text tokenizer and its per-modality token rules."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, cast

from ._counts import Modality, TokenCount, TokenCounts, Usage
from .errors import (
    InvalidInputError,
    UnsupportedModalityError,
)

if TYPE_CHECKING:
    import numpy as np

    from .encoders._base import AudioRule, ImageRule, Rule, RuleResult, VideoRule

__all__ = ["Model"]

_GRID_KEYS = ("grid_t", "grid_h", "grid_w")
_FIELD_KEYS = {"resized_h", "resized_w", "frames", "tiles", *_GRID_KEYS}


class Model:
    """A model's counting rules under one runtime profile.

    Get one with :func:`tokenmeter.get_model`. Instances are immutable and shared.

    Attributes:
        id: canonical id (``"qwen2.5-vl-72b-instruct"``).
        family: the catalog family (``"qwen2_vl"``).
        aliases: other names that resolve to this model.
        modalities: the inputs it takes, e.g. ``("text", "image", "video")``.
        profile: the runtime profile these counts follow.
        profiles: every profile the model has.
        source: where the model's rules come from.
        as_of: when they were checked.
    """

    __slots__ = (
        "_config",
        "_lock",
        "_rules",
        "_tokenizer_name",
        "aliases",
        "as_of",
        "description",
        "family",
        "id",
        "modalities",
        "profile",
        "profile_description",
        "profiles",
        "source",
    )

    id: str
    family: str
    aliases: tuple[str, ...]
    modalities: tuple[Modality, ...]
    profile: str
    profiles: tuple[str, ...]
    source: str
    as_of: str
    description: str
    profile_description: str
    _config: Mapping[str, Any]
    _rules: dict[str, Rule]
    _lock: threading.Lock
    _tokenizer_name: str | None

    def __init__(self) -> None:  # pragma: no cover - use get_model()
        raise TypeError("use tokenmeter.get_model(name) to get a Model")

    @classmethod
    def _from_config(cls, mid: str, cfg: Mapping[str, Any], profile: str,
                     profiles: tuple[str, ...]) -> Model:
        self = object.__new__(cls)
        mods: list[Modality] = []
        if "text" in cfg:
            mods.append("text")
        m: Modality
        for m in ("image", "video", "audio"):
            if m in cfg:
                mods.append(m)
        s = object.__setattr__
        s(self, "id", mid)
        s(self, "family", cfg["family"])
        s(self, "aliases", tuple(cfg.get("aliases", ())))
        s(self, "modalities", tuple(mods))
        s(self, "profile", profile)
        s(self, "profiles", profiles)
        s(self, "source", cfg.get("source") or cfg["family_source"])
        s(self, "as_of", cfg["as_of"])
        s(self, "description", cfg.get("description", ""))
        s(self, "profile_description", cfg.get("profile_description", ""))
        s(self, "_config", cfg)
        tok = cfg.get("text", {}).get("tokenizer")
        s(self, "_tokenizer_name", str(tok) if tok else None)
        s(self, "_rules", {})
        s(self, "_lock", threading.Lock())
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Model is immutable; cannot set {name!r}")

    def __repr__(self) -> str:
        return f"<Model {self.id} profile={self.profile!r} modalities={list(self.modalities)}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (self.id, self.profile) == (other.id, other.profile)

    def __hash__(self) -> int:
        return hash((self.id, self.profile))

    def with_profile(self, profile: str) -> Model:
        """The same model under another runtime profile."""
        from ._catalog import get_model

        return get_model(self.id, profile=profile)

    # -- configuration ------------------------------------------------------------------

    @property
    def text_config(self) -> Mapping[str, Any]:
        """The text table: ``tokenizer`` (may be absent), ``chat``, ``estimate``."""
        return dict(self._config.get("text", {}))

    @property
    def tokenizer_name(self) -> str | None:
        """The catalog name of the model's exact tokenizer, or None if it has none public."""
        return self._tokenizer_name

    def _require(self, modality: str) -> None:
        if modality not in self.modalities:
            raise UnsupportedModalityError(
                f"{self.id} does not take {modality} input; it takes "
                f"{', '.join(self.modalities) or 'nothing'}"
            )

    def rule(self, modality: str) -> Rule:
        """The bound rule this model uses for ``"image"``, ``"video"`` or ``"audio"``.

        Raises:
            UnsupportedModalityError: the model does not take that input.
        """
        if modality not in ("image", "video", "audio"):
            raise InvalidInputError(f"no media rule for modality {modality!r}")
        self._require(modality)
        rule = self._rules.get(modality)
        if rule is None:
            from .encoders._registry import get_rule_class

            table = dict(self._config[modality])
            kind = table.pop("rule", None)
            if not kind:
                from .errors import CatalogError

                raise CatalogError(f"{self.id}: the {modality} table names no 'rule'")
            table.setdefault("source", self._config.get("source") or self._config["family_source"])
            cls = get_rule_class(kind)
            if cls.modality != modality:
                from .errors import CatalogError

                raise CatalogError(
                    f"{self.id}: rule {kind!r} is a {cls.modality} rule, used for {modality}"
                )
            rule = cls.from_params(table, where=f"{self.id} [{self.profile}] {modality}")
            with self._lock:
                rule = self._rules.setdefault(modality, rule)
        return rule

    # -- text ---------------------------------------------------------------------------

    def count_text(self, text: str, *, estimate: bool = False) -> TokenCount:
        """Tokens of ``text`` on this model's tokenizer.

        Args:
            text: any string. Lone surrogates are replaced by U+FFFD first, as tiktoken does.
            estimate: return the calibrated estimate even when the vocabulary is installed.

        Raises:
            VocabularyUnavailableError: the model has a public tokenizer whose vocabulary
                is not installed, and ``estimate`` is False. The message names the extra.
            UnsupportedModalityError: the model does not take text.
        """
        from .text import count_text

        if "text" not in self.modalities:
            self._require("text")
        return count_text(self, text, estimate=estimate)

    def text_tokens(self, texts: Sequence[str], *, estimate: bool = False) -> np.ndarray:
        """Token counts of many strings (int64), using every core for large batches."""
        from .text import text_tokens

        self._require("text")
        return text_tokens(self, texts, estimate=estimate)

    def count_messages(self, messages: Sequence[Mapping[str, Any]], *, estimate: bool = False,
                       add_generation_prompt: bool = True) -> TokenCount:
        """Tokens of a chat conversation, the family's framing tokens included.

        Args:
            messages: ``[{"role": "user", "content": "…"}, …]`` with string contents
                (use :func:`tokenmeter.count_request` for multimodal parts).
            estimate: estimate the text even when the vocabulary is installed.
            add_generation_prompt: include the tokens that open the assistant's reply.
        """
        from .text.chat import count_messages

        self._require("text")
        return count_messages(self, messages, estimate=estimate,
                              add_generation_prompt=add_generation_prompt)

    # -- media --------------------------------------------------------------------------

    def _build(self, modality: Modality, rule: Rule, res: RuleResult, i: int,
               extra: Mapping[str, Any] | None = None) -> TokenCount:
        d = {k: int(v.ravel()[i]) if v.ndim else int(v) for k, v in res.derivation.items()}
        resized = (d["resized_h"], d["resized_w"]) if "resized_h" in d else None
        grid_vals = tuple(d[k] for k in _GRID_KEYS if k in d)
        details: dict[str, Any] = {k: v for k, v in d.items() if k not in _FIELD_KEYS}
        if res.notes:
            details["note"] = " ".join(res.notes)
        if extra:
            details.update(extra)
        patches = None if res.encoder_patches is None else int(res.encoder_patches.ravel()[i])
        wrap = res.wrapper_tokens
        return TokenCount(
            tokens=int(res.tokens.ravel()[i]),
            wrapper_tokens=int(wrap.ravel()[i]) if wrap.ndim else int(wrap),
            encoder_patches=patches,
            exact=res.exact and rule.exact,
            modality=modality,
            model=self.id,
            profile=self.profile,
            rule=rule.name,
            method=res.method,
            source=rule.source,
            as_of=self.as_of,
            resized=resized,
            grid=grid_vals or None,
            frames=d.get("frames"),
            tiles=d.get("tiles"),
            details=details,
        )

    def _counts(self, modality: Modality, rule: Rule, res: RuleResult) -> TokenCounts:
        import numpy as np

        shape = res.tokens.shape

        def full(a: np.ndarray) -> np.ndarray:
            return a if a.shape == shape else np.broadcast_to(a, shape)

        res = replace(
            res,
            wrapper_tokens=full(res.wrapper_tokens),
            encoder_patches=None if res.encoder_patches is None else full(res.encoder_patches),
            derivation=MappingProxyType({k: full(v) for k, v in res.derivation.items()}),
        )
        return TokenCounts(
            tokens=res.tokens,
            wrapper_tokens=res.wrapper_tokens,
            encoder_patches=res.encoder_patches,
            derivation=res.derivation,
            exact=res.exact and rule.exact,
            modality=modality,
            model=self.id,
            profile=self.profile,
            rule=rule.name,
            method=res.method,
            source=rule.source,
            as_of=self.as_of,
            _item=lambda i: self._build(modality, rule, res, i),
        )

    def _image(self, widths: Any, heights: Any, opts: Mapping[str, Any]) -> tuple[Rule, RuleResult]:
        rule = cast("ImageRule", self.rule("image"))
        if opts:
            rule.check_options(opts)
        if _side_ok(widths) and _side_ok(heights):
            # One image given as ints: the same 0-d arrays as_sides makes, checked in Python
            # (its numpy checks cost more than the count itself).
            import numpy as np

            h, w = np.array(heights, dtype=np.int64), np.array(widths, dtype=np.int64)
        else:
            from .kernels._intmath import as_sides

            h, w = as_sides(heights, widths)
        return rule, rule.evaluate(h, w, **opts)

    def count_image(self, width: int, height: int, **opts: Any) -> TokenCount:
        """Tokens of one ``width`` × ``height`` image.

        Options depend on the rule (``detail``, ``min_pixels``/``max_pixels``,
        ``media_resolution``, ``max_num``…); ``model.rule("image").options`` lists them.

        Raises:
            InvalidInputError: a size that is not a positive int, an unknown option, or an
                aspect ratio the model rejects.
        """
        if type(width) is not int or type(height) is not int:  # ints pass _scalar
            _scalar("width", width)
            _scalar("height", height)
        rule, res = self._image(width, height, opts)
        return self._build("image", rule, res, 0)

    def image_tokens(self, widths: Any, heights: Any, **opts: Any) -> np.ndarray:
        """Tokens for whole arrays of image sizes (int64, the inputs' shape)."""
        _, res = self._image(widths, heights, opts)
        return res.tokens

    def image_counts(self, widths: Any, heights: Any, **opts: Any) -> TokenCounts:
        """Every number :meth:`count_image` reports — tokens, wrapper tokens, encoder
        patches, resized sizes, grids, tiles — for whole arrays of image sizes;
        ``image_counts(w, h)[i] == count_image(w[i], h[i])``."""
        rule, res = self._image(widths, heights, opts)
        return self._counts("image", rule, res)

    def _video(self, widths: Any, heights: Any, durations: Any, fps: Any, frames: Any,
               opts: Mapping[str, Any]) -> tuple[Rule, RuleResult]:
        rule = cast("VideoRule", self.rule("video"))
        rule.check_options(opts)
        if fps is None:
            # Generation rules assume the model's native frame rate.
            fps = getattr(rule, "default_fps", None)
        one = _one_video(widths, heights, durations, fps, frames)
        if one is not None:
            return rule, rule.evaluate(*one, **opts)
        import numpy as np

        from .kernels._intmath import MAX_FPS, as_durations, as_int_array, as_sides, broadcast_same

        h, w = as_sides(heights, widths)
        if fps is None:
            raise InvalidInputError("count_video needs fps (frames per second of the source)")
        f = as_durations("fps", fps, low=0.0, high=MAX_FPS, low_inclusive=False)
        if frames is not None:
            n = as_int_array("frames", frames, low=1, high=2**40)
            if durations is None:
                d = n.astype(np.float64) / f
            else:
                d = as_durations("duration", durations)
        elif durations is None:
            raise InvalidInputError("count_video needs a duration (seconds) or frames=N")
        else:
            d = as_durations("duration", durations)
            # The source's frame count: duration x fps, rounded half to even.
            from .kernels.video import source_frames

            n = source_frames(d, f)
            if n.size and int(n.min()) < 1:
                i = int(np.argmin(n))
                rate = float(np.broadcast_to(f, n.shape).ravel()[i])
                raise InvalidInputError(
                    f"a video of {float(d.ravel()[i])!r} s at {rate!r} fps has no frames; "
                    "the duration must cover at least one frame"
                )
        h, w, d, f, n = broadcast_same(("height", h), ("width", w), ("duration", d),
                                       ("fps", f), ("frames", n))
        return rule, rule.evaluate(h, w, d, f, n, **opts)

    def count_video(self, width: int, height: int, duration: float | None = None,
                    fps: float | None = None, *, frames: int | None = None,
                    **opts: Any) -> TokenCount:
        """Tokens of one video: ``width`` × ``height``, ``duration`` seconds at ``fps``.

        Pass ``frames=N`` (the source's frame count) instead of, or as well as, a duration.
        Options depend on the rule (``sample_fps``, ``nframes``, ``min_frames``,
        ``max_frames``, ``media_resolution``, ``use_audio_in_video``…).
        """
        _scalar("width", width)
        _scalar("height", height)
        rule, res = self._video(width, height, duration, fps, frames, opts)
        return self._build("video", rule, res, 0)

    def video_tokens(self, widths: Any, heights: Any, durations: Any, fps: Any, *,
                     frames: Any = None, **opts: Any) -> np.ndarray:
        """Tokens for whole arrays of videos (int64); equal to :meth:`count_video` per item."""
        _, res = self._video(widths, heights, durations, fps, frames, opts)
        return res.tokens

    def video_counts(self, widths: Any, heights: Any, durations: Any, fps: Any = None, *,
                     frames: Any = None, **opts: Any) -> TokenCounts:
        """Every number :meth:`count_video` reports (frames sampled, grids, wrapper tokens,
        encoder patches) for whole arrays of videos."""
        rule, res = self._video(widths, heights, durations, fps, frames, opts)
        return self._counts("video", rule, res)

    def _audio(self, durations: Any, opts: Mapping[str, Any]) -> tuple[Rule, RuleResult]:
        import numpy as np

        from .kernels._intmath import as_durations, as_int_array

        rule = cast("AudioRule", self.rule("audio"))
        rule.check_options(opts)
        if durations is None:
            # samples= alone, as Python ints: the duration the array path would compute
            # (an int / int true division rounds once, like float64 on exact operands).
            samples, rate = opts.get("samples"), opts.get("sample_rate")
            if (type(samples) is int and 0 <= samples <= 2**50
                    and (rate is None or (type(rate) is int and 1 <= rate <= 10**7))):
                per_s: int = rate if rate is not None else getattr(rule, "sample_rate", 16_000)
                durations = samples / per_s
        if _number(durations) and 0.0 <= durations <= 1e7:  # MAX_DURATION
            # One clip in seconds: the 0-d array as_durations makes, checked in Python.
            return rule, rule.evaluate(np.array(float(durations)), **opts)
        if durations is None:
            # samples= alone: the duration follows from the clip's sample rate.
            if opts.get("samples") is None:
                raise InvalidInputError("count_audio needs a duration (seconds) or samples=N")
            n = as_int_array("samples", opts["samples"], low=0, high=2**50)
            rate = opts.get("sample_rate")
            if rate is None:
                rate = getattr(rule, "sample_rate", 16_000)
            else:
                # Checked here (the rule checks it again) so that an array of rates is
                # not tested for truth and a zero is named, not divided by.
                rate = as_int_array("sample_rate", rate, low=1, high=10**7)
            durations = n.astype(np.float64) / np.asarray(rate, dtype=np.float64)
        return rule, rule.evaluate(as_durations("duration", durations), **opts)

    def count_audio(self, duration: float | None = None, **opts: Any) -> TokenCount:
        """Tokens of ``duration`` seconds of audio.

        Rules that count samples also take ``samples=N`` (instead of, or with, a duration)
        and ``sample_rate=`` (the clip's own rate; it is resampled to the model's). A
        duration becomes ``round(duration * 16000)`` samples, half to even.
        """
        rule, res = self._audio(duration, opts)
        return self._build("audio", rule, res, 0)

    def audio_tokens(self, durations: Any = None, **opts: Any) -> np.ndarray:
        """Tokens for a whole array of audio durations (int64)."""
        _, res = self._audio(durations, opts)
        return res.tokens

    def audio_counts(self, durations: Any = None, **opts: Any) -> TokenCounts:
        """Every number :meth:`count_audio` reports for a whole array of clips."""
        rule, res = self._audio(durations, opts)
        return self._counts("audio", rule, res)

    def _evaluate(self, modality: str, *, widths: Any = None, heights: Any = None,
                  durations: Any = None, fps: Any = None, frames: Any = None,
                  opts: Mapping[str, Any] | None = None) -> tuple[Rule, RuleResult]:
        """The bound rule and its whole :class:`RuleResult` (wrapper tokens included) for
        arrays of one media modality; ``tokenmeter.batch`` reads per-row wrapper tokens
        from it. Validation and errors are those of ``image_tokens``/``video_tokens``/
        ``audio_tokens``."""
        o = opts or {}
        if modality == "image":
            return self._image(widths, heights, o)
        if modality == "video":
            return self._video(widths, heights, durations, fps, frames, o)
        if modality == "audio":
            return self._audio(durations, o)
        raise InvalidInputError(f"no media rule for modality {modality!r}")

    # -- inputs of any kind -------------------------------------------------------------

    def count(self, *inputs: Any, **opts: Any) -> Usage:
        """Count every input: a ``str`` is text; a path, ``bytes``, binary file object or
        an ``ImageInfo``/``VideoInfo``/``AudioInfo`` is media (probed from its header)."""
        from ._facade import count

        return count(self, *inputs, **opts)

    def count_request(self, request: Any, **options: Any) -> Usage:
        """Count a whole API request body (OpenAI, Anthropic, Gemini, DashScope) on this
        model, part by part; see :func:`tokenmeter.count_request` for the options."""
        from ._requests import count_request

        return count_request(self, request, **options)


def _number(x: object) -> bool:
    """A plain Python int or float (not a bool, not a numpy scalar)."""
    return type(x) is float or type(x) is int


def _side_ok(x: object) -> bool:
    return type(x) is int and 1 <= x <= 2**31 - 1  # MAX_SIDE


def _one_video(widths: Any, heights: Any, durations: Any, fps: Any,
               frames: Any) -> tuple[np.ndarray, ...] | None:
    """The checked ``(h, w, duration, fps, frames)`` of one valid video given as Python
    numbers, as the 0-d arrays the array path would make; None for anything else, which
    then takes the array path (and its error messages).

    The checks are the array path's: sides in 1..2**31-1, 0 < fps <= 1e5, frames in
    1..2**40, 0 <= duration <= 1e7 (NaN fails every comparison), and the frame count
    ``round(duration * fps)`` (half to even, as ``np.rint``) at least 1.
    """
    if not (_side_ok(widths) and _side_ok(heights) and _number(fps) and 0.0 < fps <= 1e5):
        return None
    f = float(fps)
    if durations is not None and not (_number(durations) and 0.0 <= durations <= 1e7):
        return None
    if frames is not None:
        if type(frames) is not int or not 1 <= frames <= 2**40:
            return None
        n = frames
        d = frames / f if durations is None else float(durations)
    elif durations is None:
        return None
    else:
        d = float(durations)
        n = round(d * f)
        if n < 1:
            return None
    import numpy as np

    return (np.array(heights, dtype=np.int64), np.array(widths, dtype=np.int64), np.array(d),
            np.array(f), np.array(n, dtype=np.int64))


def _scalar(name: str, value: object) -> None:
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidInputError(f"{name} must be an int, got {value!r}")
