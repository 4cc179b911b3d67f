"""Audio files through libsndfile (``soundfile``), with PyAV as the fallback.

libsndfile reads the header of WAV/RF64/W64, FLAC, AIFF, AU, CAF, Ogg (Vorbis, Opus) and
MP3 and reports frames (samples per channel), sample rate and channels; no sample is
decoded. What it cannot open — or opens without a length — goes to PyAV with the matching
FFmpeg demuxer (Opus or AAC in Matroska/WebM/MP4 never come here: the sniffer sends those
containers straight to PyAV).
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import CorruptMediaError, MissingDependencyError, ProbeError
from ..media import AudioInfo, VideoInfo
from ._source import Guard

__all__ = ["probe_audio"]

# Formats whose length is a header field: libsndfile may read them through the file
# descriptor (no Python callback per read; the file was already checked to be a regular
# file). Ogg and MP3 lengths come from scanning, so those read through the guard, which
# bounds bytes and time.
_FIXED_HEADER = {"WAV", "W64", "FLAC", "AIFF", "AU", "CAF"}
_DEMUXER = {
    "WAV": "wav",
    "W64": "w64",
    "FLAC": "flac",
    "AIFF": "aiff",
    "AU": "au",
    "CAF": "caf",
    "OGG": "ogg",
    "MP3": "mp3",
}
_UNKNOWN_FRAMES = 1 << 62


def probe_audio(g: Guard, fmt: str, fd: int | None) -> AudioInfo | VideoInfo:
    """Probe an audio file sniffed as libsndfile format ``fmt``."""
    try:
        import soundfile  # type: ignore[import-untyped]
    except ImportError:
        raise MissingDependencyError(
            "reading audio headers needs soundfile: pip install 'tokenmeter[media]'"
        ) from None
    reason = ""
    info = None
    try:
        if fd is not None and fmt in _FIXED_HEADER:
            os.lseek(fd, 0, os.SEEK_SET)
            f = soundfile.SoundFile(fd, closefd=False)
        else:
            g.seek(0)
            f = soundfile.SoundFile(g)
        with f:
            info = _from_soundfile(f, g)
    except ProbeError:
        raise
    except Exception as exc:  # LibsndfileError, RuntimeError, TypeError from odd headers
        reason = str(exc) or type(exc).__name__
    g.check()
    if info is not None:
        return info
    from .video import probe_av

    try:
        return probe_av(g, _DEMUXER.get(fmt, fmt.lower()))
    except CorruptMediaError as exc:
        raise CorruptMediaError(
            f"{g.name}: not a readable {fmt} file (libsndfile: {reason or 'no length'}; "
            f"FFmpeg: {exc})",
            source=g.name,
        ) from None


def _from_soundfile(f: Any, g: Guard) -> AudioInfo | None:
    rate, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
    if rate <= 0 or channels <= 0 or frames < 0 or frames >= _UNKNOWN_FRAMES:
        return None  # no usable length in the header: let FFmpeg try
    return AudioInfo(
        duration=frames / rate,
        sample_rate=rate,
        channels=channels,
        samples=frames,
        format=str(f.format),
        codec=str(f.subtype),
        source=g.name,
    )
