"""The top-level verbs: :func:`count` any mix of inputs, :func:`probe` a media file."""

from __future__ import annotations

import io
import os
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from ._counts import TokenCount, Usage, UsagePart
from .errors import InvalidInputError, ProbeError
from .media import AudioInfo, ImageInfo, MediaInfo, VideoInfo

if TYPE_CHECKING:
    from ._model import Model

__all__ = ["count", "count_info", "probe", "probe_many"]


def probe(source: Any, **limits: Any) -> MediaInfo:
    """Read a media file's header: width/height, duration, frame rate, sample rate…

    Args:
        source: a local path (``str`` or ``os.PathLike``), ``bytes``, or a binary file
            object. URLs are refused; nothing is fetched and no pixel or sample is decoded.
        **limits: ``timeout`` (seconds one probe may take, default 5), ``max_bytes``
            (bytes it may read, default 256 MiB), ``scan_bytes`` (bytes a frame-count
            scan may read before estimating, default 64 MiB); see ``docs/probe.md``.

    Returns:
        An :class:`ImageInfo`, :class:`VideoInfo` or :class:`AudioInfo`.

    Raises:
        ProbeError: (a subclass naming the file and the reason) when the input cannot be
            read: missing, not media, truncated, unsupported, or too slow to read.
    """
    from ._probe import probe as _probe

    return _probe(source, **limits)


def probe_many(sources: Iterable[Any], **options: Any) -> Iterator[MediaInfo | ProbeError]:
    """Probe many inputs on a pool of worker processes, streaming results in input order.

    Args:
        sources: paths, bytes or binary file objects (any iterable, consumed lazily).
        **options: ``workers`` (default: one per usable CPU), ``errors`` (``"return"``,
            the default, yields each input's :class:`ProbeError` in its place;
            ``"raise"`` raises the first), ``chunksize``, and the per-input limits of
            :func:`probe`. See ``docs/probe.md``.

    Yields:
        An :class:`ImageInfo`, :class:`VideoInfo` or :class:`AudioInfo` per input, or its
        :class:`ProbeError` (with ``errors="return"``).
    """
    from ._probe import probe_many as _probe_many

    return _probe_many(sources, **options)


def _model(model: Model | str) -> Model:
    from ._catalog import get_model
    from ._model import Model

    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        return get_model(model)
    raise InvalidInputError(f"model must be a model id or a Model, got {type(model).__name__}")


def count_info(model: Model, info: MediaInfo, **opts: Any) -> TokenCount:
    """Count one probed (or hand-built) media description on ``model``."""
    if isinstance(info, ImageInfo):
        return model.count_image(info.width, info.height, **opts)
    if isinstance(info, VideoInfo):
        # Rules that can count a soundtrack (Gemini; Qwen2.5-Omni with use_audio_in_video)
        # get the probed audio stream's length, and 0 for a silent file.
        if "audio_duration" in model.rule("video").options:
            opts.setdefault("audio_duration",
                            info.audio.duration if info.audio is not None else 0.0)
        return model.count_video(info.width, info.height, info.duration, info.fps,
                                 frames=info.frames, **opts)
    if isinstance(info, AudioInfo):
        # Sample-counting rules use the header's exact samples and rate (resampled to 16 kHz).
        if info.samples is not None and "samples" in model.rule("audio").options:
            opts.setdefault("samples", info.samples)
            opts.setdefault("sample_rate", info.sample_rate)
        return model.count_audio(info.duration, **opts)
    raise InvalidInputError(f"not a media description: {type(info).__name__}")


def _is_media_source(x: Any) -> bool:
    return isinstance(x, (bytes, bytearray, memoryview, os.PathLike, io.IOBase)) or (
        hasattr(x, "read") and callable(x.read)
    )


def count(model: Model | str, *inputs: Any, estimate: bool = False, **opts: Any) -> Usage:
    """Count any mix of inputs on ``model`` and return a :class:`Usage` with one part each.

    Args:
        model: a model id or :class:`Model`.
        *inputs: ``str`` is text; a path (``os.PathLike``), ``bytes`` or a binary file
            object is media, probed from its header; an ``ImageInfo``/``VideoInfo``/
            ``AudioInfo`` is counted as given.
        estimate: estimate text even when the vocabulary is installed.
        **opts: media options passed to the model's rules (``detail="low"``…).
    """
    m = _model(model)
    counts: list[TokenCount] = []
    parts: list[UsagePart] = []
    video_seconds = audio_seconds = Decimal(0)
    for i, item in enumerate(inputs):
        if isinstance(item, str):
            c = m.count_text(item, estimate=estimate)
            name = f"inputs[{i}]"
        elif isinstance(item, (ImageInfo, VideoInfo, AudioInfo)) or _is_media_source(item):
            info = item if isinstance(item, (ImageInfo, VideoInfo, AudioInfo)) else probe(item)
            c = count_info(m, info, **opts)
            name = info.source or f"inputs[{i}]"
            # Durations are measurements: the float's shortest repr, not its binary value.
            if isinstance(info, VideoInfo):
                video_seconds += Decimal(repr(info.duration))
            elif isinstance(info, AudioInfo):
                audio_seconds += Decimal(repr(info.duration))
        else:
            raise InvalidInputError(
                f"inputs[{i}]: cannot count a {type(item).__name__}; pass text (str), a path, "
                "bytes, a binary file object, or an ImageInfo/VideoInfo/AudioInfo"
            )
        counts.append(c)
        parts.append(UsagePart(kind=c.modality, tokens=c.tokens, exact=c.exact, rule=c.rule,
                               index=name, count=c))
    totals = dict.fromkeys(("text", "image", "video", "audio"), 0)
    for c in counts:
        totals[c.modality] += c.tokens
    return Usage(text=totals["text"], image=totals["image"], video=totals["video"],
                 audio=totals["audio"], video_seconds=video_seconds,
                 audio_seconds=audio_seconds, exact=all(c.exact for c in counts),
                 parts=tuple(parts))
