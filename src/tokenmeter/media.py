"""Frozen descriptions of media inputs, as read from their headers.

:func:`tokenmeter.probe` returns one of these; they can also be built by hand when the
caller already knows the numbers (e.g. from an upload form). Every required field is a
real value: a probe that cannot determine one raises a :class:`~tokenmeter.errors.ProbeError`
instead of returning ``-1`` or ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from .errors import InvalidInputError

__all__ = ["AudioInfo", "ImageInfo", "MediaInfo", "VideoInfo"]


def _positive_int(cls: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInputError(f"{cls}.{name} must be a positive int, got {value!r}")


def _nonneg_finite(cls: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidInputError(f"{cls}.{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise InvalidInputError(f"{cls}.{name} must be finite and >= 0, got {value!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ImageInfo:
    """An image as displayed.

    Attributes:
        width: displayed width in pixels, after EXIF orientation.
        height: displayed height in pixels, after EXIF orientation.
        format: container format as Pillow names it (``"JPEG"``, ``"PNG"``…), or ``""``.
        frames: number of frames (1 for a still image; >1 for animations and multi-page files).
        orientation: the EXIF orientation tag (1–8) that was applied; 1 when absent.
            5–8 mean the stored picture is transposed, so ``width``/``height`` are the
            stored height/width.
        decompression_bomb: the declared size exceeds Pillow's decompression-bomb limit
            (``PIL.Image.MAX_IMAGE_PIXELS``): Pillow would refuse to decode it. The size is
            still reported (from the header) and counted.
        source: a printable name of the input.
    """

    kind: Literal["image"] = field(default="image", init=False)
    width: int
    height: int
    format: str = ""
    frames: int = 1
    orientation: int = 1
    decompression_bomb: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        _positive_int("ImageInfo", "width", self.width)
        _positive_int("ImageInfo", "height", self.height)
        _positive_int("ImageInfo", "frames", self.frames)
        if self.orientation not in range(1, 9):
            raise InvalidInputError(
                f"ImageInfo.orientation must be an EXIF orientation 1..8, got {self.orientation!r}"
            )

    @property
    def animated(self) -> bool:
        """True when the image has more than one frame."""
        return self.frames > 1

    @property
    def pixels(self) -> int:
        """Declared pixels per frame, ``width * height``."""
        return self.width * self.height


@dataclass(frozen=True, slots=True, kw_only=True)
class AudioInfo:
    """An audio stream or file.

    Attributes:
        duration: seconds.
        sample_rate: samples per second per channel.
        channels: number of channels.
        samples: samples per channel (``round(duration * sample_rate)`` when the header
            gives only a duration).
        format: container name (``"WAV"``, ``"FLAC"``, ``"ogg"``, ``"matroska,webm"``…),
            or ``""``.
        codec: codec or sample encoding (``"PCM_16"``, ``"opus"``, ``"aac"``…), or ``""``.
        source: a printable name of the input.
    """

    kind: Literal["audio"] = field(default="audio", init=False)
    duration: float
    sample_rate: int
    channels: int = 1
    samples: int | None = None
    format: str = ""
    codec: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        _nonneg_finite("AudioInfo", "duration", self.duration)
        _positive_int("AudioInfo", "sample_rate", self.sample_rate)
        _positive_int("AudioInfo", "channels", self.channels)
        if self.samples is not None and (
            isinstance(self.samples, bool) or not isinstance(self.samples, int) or self.samples < 0
        ):
            raise InvalidInputError(f"AudioInfo.samples must be an int >= 0, got {self.samples!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class VideoInfo:
    """A video stream as displayed.

    Attributes:
        width: displayed width in pixels, after rotation metadata.
        height: displayed height in pixels, after rotation metadata.
        duration: seconds.
        fps: average frame rate (frames per second): ``frames / duration`` as the
            container states it.
        frames: number of frames in the stream.
        rotation: the rotation (degrees clockwise, 0/90/180/270) a player applies to
            display the stored picture; 90 and 270 swap the stored width and height.
        real_fps: the lowest frame rate that represents every timestamp exactly (FFmpeg's
            ``r_frame_rate``); equals ``fps`` for a constant-rate video. ``None`` when
            built by hand without it.
        vfr: True when frame durations vary (variable frame rate).
        frames_exact: False when ``frames`` was estimated as ``duration * fps`` because
            counting the frames would have read more than the probe's scan limit.
        codec: codec name (``"h264"``…), or ``""``.
        format: container name (``"mov,mp4,m4a,3gp,3g2,mj2"``…), or ``""``.
        audio: the first audio stream, if any.
        source: a printable name of the input.
    """

    kind: Literal["video"] = field(default="video", init=False)
    width: int
    height: int
    duration: float
    fps: float
    frames: int
    rotation: int = 0
    real_fps: float | None = None
    vfr: bool = False
    frames_exact: bool = True
    codec: str = ""
    format: str = ""
    audio: AudioInfo | None = None
    source: str = ""

    def __post_init__(self) -> None:
        _positive_int("VideoInfo", "width", self.width)
        _positive_int("VideoInfo", "height", self.height)
        _nonneg_finite("VideoInfo", "duration", self.duration)
        _nonneg_finite("VideoInfo", "fps", self.fps)
        if self.fps <= 0:
            raise InvalidInputError(f"VideoInfo.fps must be > 0, got {self.fps!r}")
        _positive_int("VideoInfo", "frames", self.frames)
        if self.rotation not in (0, 90, 180, 270):
            raise InvalidInputError(
                f"VideoInfo.rotation must be 0, 90, 180 or 270 (degrees clockwise), "
                f"got {self.rotation!r}"
            )
        if self.real_fps is not None:
            _nonneg_finite("VideoInfo", "real_fps", self.real_fps)
            if self.real_fps <= 0:
                raise InvalidInputError(f"VideoInfo.real_fps must be > 0, got {self.real_fps!r}")
        if self.audio is not None and not isinstance(self.audio, AudioInfo):
            raise InvalidInputError(
                f"VideoInfo.audio must be an AudioInfo or None, got {type(self.audio).__name__}"
            )

    @property
    def has_audio(self) -> bool:
        """True when the file carries an audio stream."""
        return self.audio is not None


MediaInfo = ImageInfo | VideoInfo | AudioInfo
