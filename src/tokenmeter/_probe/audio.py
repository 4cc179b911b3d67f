"""Audio files through libsndfile (``soundfile``), with PyAV as the fallback.

libsndfile reads the header of WAV/RF64/W64, FLAC, AIFF, AU, CAF, Ogg (Vorbis, Opus) and
MP3 and reports frames (samples per channel), sample rate and channels; no sample is
decoded. What it cannot open — or opens without a length — goes to PyAV with the matching
FFmpeg demuxer (Opus or AAC in Matroska/WebM/MP4 never come here: the sniffer sends those
containers straight to PyAV).
"""

from __future__ import annotations

import os
import struct
from typing import Any

from ..errors import CorruptMediaError, MissingDependencyError, ProbeError
from ..media import AudioInfo, VideoInfo
from . import _reasons
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
    reader = _DIRECT.get(fmt)
    fast = reader(g) if reader is not None else None
    if fast is not None:
        return fast
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
        reason = _reasons.reason(exc, fmt, g.size, "the end of the header")
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


# -- header fields read directly --------------------------------------------------------
#
# libsndfile initialises a whole decoder to report a FLAC or Ogg header (0.1-0.7 ms; for
# Ogg Vorbis it also sets up the codec), and its WAV open costs more than the probe's
# budget. The fields it reports are plain header values: WAV's fmt and data chunks,
# FLAC's STREAMINFO, and for Ogg the identification header plus the granule position of
# the last page. Those are read here, and anything unusual (RF64, an odd codec, an ID3 tag
# before FLAC, an unknown total, chained or multiplexed Ogg streams, trailing bytes) goes
# to libsndfile. Tests check both paths give the same numbers.

_FLAC_SUBTYPE = {8: "PCM_S8", 16: "PCM_16", 24: "PCM_24", 32: "PCM_32"}


def _flac(g: Guard) -> AudioInfo | None:
    head = g.pread(0, 42)
    # "fLaC", then the STREAMINFO block (type 0, 34 bytes) always first.
    if len(head) < 42 or head[:4] != b"fLaC" or head[4] & 0x7F != 0 or head[5:8] != b"\0\0\x22":
        return None
    bits = int.from_bytes(head[18:26], "big")
    rate = bits >> 44
    channels = ((bits >> 41) & 0x7) + 1
    depth = ((bits >> 36) & 0x1F) + 1
    total = bits & ((1 << 36) - 1)
    subtype = _FLAC_SUBTYPE.get(depth)
    if rate == 0 or total == 0 or subtype is None:
        return None
    return AudioInfo(
        duration=total / rate,
        sample_rate=rate,
        channels=channels,
        samples=total,
        format="FLAC",
        codec=subtype,
        source=g.name,
    )


_WAV_SUBTYPE = {
    (1, 8): "PCM_U8", (1, 16): "PCM_16", (1, 24): "PCM_24", (1, 32): "PCM_32",
    (3, 32): "FLOAT", (3, 64): "DOUBLE", (6, 8): "ALAW", (7, 8): "ULAW",
}  # fmt: skip


def _wav(g: Guard) -> AudioInfo | None:
    head = g.pread(0, 12)
    if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None  # RF64 and friends: libsndfile
    pos, fmt_chunk = 12, None
    for _ in range(64):
        hdr = g.pread(pos, 8)
        if len(hdr) < 8:
            return None
        kind, length = hdr[:4], int.from_bytes(hdr[4:], "little")
        if kind == b"fmt ":
            fmt_chunk = g.pread(pos + 8, min(length, 40))
        elif kind == b"data":
            if fmt_chunk is None or len(fmt_chunk) < 16:
                return None
            tag, channels, rate = struct.unpack_from("<HHI", fmt_chunk)
            block, bits = struct.unpack_from("<HH", fmt_chunk, 12)
            major = "WAV"
            if tag == 0xFFFE and len(fmt_chunk) >= 26:  # WAVE_FORMAT_EXTENSIBLE
                tag, major = int.from_bytes(fmt_chunk[24:26], "little"), "WAVEX"
            subtype = _WAV_SUBTYPE.get((tag, bits))
            if subtype is None or channels == 0 or rate == 0 or block != channels * bits // 8:
                return None
            # A data size past the end of the file (a truncated or streamed file) counts
            # what is there, as libsndfile does.
            size = min(length, g.size - (pos + 8))
            frames = size // block
            return AudioInfo(
                duration=frames / rate,
                sample_rate=rate,
                channels=channels,
                samples=frames,
                format=major,
                codec=subtype,
                source=g.name,
            )
        pos += 8 + length + (length & 1)
    return None


_OGG_TAIL = 65_536
_OPUS_RATES = (8_000, 12_000, 16_000, 24_000, 48_000)


def _ogg(g: Guard) -> AudioInfo | None:
    head = g.pread(0, 28 + 255 + 64)
    if len(head) < 58 or head[:5] != b"OggS\0" or head[5] != 0x02:  # first page: BOS only
        return None
    serial = head[14:18]
    nseg = head[26]
    body = head[27 + nseg :]
    if nseg != 1:
        return None
    if body[:8] == b"OpusHead" and len(body) >= 19:
        channels, pre_skip = body[9], int.from_bytes(body[10:12], "little")
        # libsndfile decodes Opus at the lowest Opus rate that is at least the input
        # rate the header records; granules count 48 kHz samples whatever that rate is.
        wanted = int.from_bytes(body[12:16], "little")
        rate = next((r for r in _OPUS_RATES if r >= wanted), 48_000) if wanted else 48_000
        codec, offset = "OPUS", pre_skip
    elif body[:7] == b"\x01vorbis" and len(body) >= 16:
        channels, rate = body[11], int.from_bytes(body[12:16], "little")
        codec, offset = "VORBIS", 0
    else:
        return None
    if channels == 0 or rate == 0:
        return None
    granule = _last_granule(g, serial)
    if granule is None or granule < offset:
        return None
    samples = granule - offset
    if codec == "OPUS":
        samples = samples * rate // 48_000
    return AudioInfo(
        duration=samples / rate,
        sample_rate=rate,
        channels=channels,
        samples=samples,
        format="OGG",
        codec=codec,
        source=g.name,
    )


def _last_granule(g: Guard, serial: bytes) -> int | None:
    """The granule position of the page that ends exactly at the end of the file, if it
    belongs to stream ``serial`` and closes it (EOS flag)."""
    size = g.size
    start = max(size - _OGG_TAIL, 0)
    tail = g.pread(start, size - start)
    i = tail.rfind(b"OggS")
    while i >= 0:
        if i + 27 <= len(tail) and tail[i + 4] == 0:
            nseg = tail[i + 26]
            lacing = tail[i + 27 : i + 27 + nseg]
            end = i + 27 + nseg + sum(lacing)
            if len(lacing) == nseg and end == len(tail):
                if tail[i + 14 : i + 18] != serial or not tail[i + 5] & 0x04:
                    return None  # another (chained or multiplexed) stream, or no EOS
                granule = int.from_bytes(tail[i + 6 : i + 14], "little", signed=True)
                return granule if granule >= 0 else None
        i = tail.rfind(b"OggS", 0, i)
    return None


_DIRECT = {"WAV": _wav, "FLAC": _flac, "OGG": _ogg}


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
