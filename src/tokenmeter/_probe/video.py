"""Video (and audio in video containers) through PyAV, without decoding a frame.

How a field is found, cheapest first:

* **Open** (fast path): FFmpeg's demuxer for the sniffed container, fed through the guarded
  file object (so it can read nothing but this file), with ``probesize=32``,
  ``analyzeduration=1`` and the decoders told to ``skip_frame=all``. Without ``skip_frame``,
  ``avformat_find_stream_info`` decodes H.264 frames to guess the decoder delay (12 ms for
  one 640x480 key frame); without the tiny probe size it reads megabytes.
* **Container boxes we read ourselves**: the rotation (MP4/MOV ``tkhd`` matrix × ``mvhd``
  matrix; Matroska ``ProjectionPoseRoll``), which PyAV does not expose for reading, and for
  MP4/MOV the ``stts`` frame durations (variable frame rate, real frame rate).
* **Packet scan** where the header has no frame count (Matroska/WebM, Ogg, MPEG-PS/TS,
  FLV…) or no duration: packets of the one stream are demuxed (other streams discarded),
  never decoded, within the probe's ``scan_bytes``; past that the count is estimated as
  ``duration × fps`` and marked ``frames_exact=False``. A scan that reaches the end of a
  file cut short — packets ending well before the length its header declares, or a last
  container unit that runs past the end — raises :class:`CorruptMediaError` instead.
* **Full probe**: only when the fast path left a field unknown (no size, no sample rate or
  channel count, no stream at all), the container is reopened with FFmpeg's default probe
  size and duration, still with ``skip_frame=all``.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Callable, Iterator
from fractions import Fraction
from typing import Any

from ..errors import (
    CorruptMediaError,
    MissingDependencyError,
    ProbeError,
    UnsupportedFormatError,
)
from ..media import AudioInfo, VideoInfo
from ._reasons import reason
from ._source import Guard

__all__ = ["probe_av"]

_FAST = {
    "probesize": "32",
    "analyzeduration": "1",
    "skip_frame": "all",
    "protocol_whitelist": "file",
}
_FULL = {"skip_frame": "all", "protocol_whitelist": "file"}

#: Raw streams whose header has no length: FFmpeg estimates it from the bit rate, which
#: is wrong for variable bit rates, so their packets are counted instead.
_BITRATE_DURATION = {"aac", "mp3", "amr", "ac3", "eac3"}

#: Demuxers that create streams as their packets turn up (no stream table in a header):
#: the fast path can see the first stream only (an FLV's audio before its video), so
#: they get the full probe.
_STREAMS_ON_THE_FLY = {"flv", "mpeg", "mpegvideo"}

#: Durations above this are treated as absent (a corrupt or placeholder header).
_MAX_DURATION = 30 * 24 * 3600.0
_MAX_FPS = 10_000.0


def _refuse_io(url: str, flags: int, options: dict[str, str]) -> Any:
    # Playlists, concat lists, DASH manifests and external MOV references ask the
    # format context to open another URL; a probe reads only the file it was given.
    raise PermissionError(f"probe refused to open a second resource: {url!r}")


def _av() -> Any:
    try:
        import av
    except ImportError:
        raise MissingDependencyError(
            "reading video and container audio needs PyAV: pip install 'tokenmeter[media]'"
        ) from None
    return av


def _open(g: Guard, demuxer: str, options: dict[str, str]) -> Any:
    av = _av()
    g.seek(0)
    remaining = max(g.deadline - _now(), 0.001)
    try:
        return av.open(
            g,
            "r",
            format=demuxer,
            options=options,
            buffer_size=16384,
            timeout=remaining,
            io_open=_refuse_io,
        )
    except Exception as exc:
        g.check()
        raise _classify(g, exc, demuxer) from None


def _now() -> float:
    import time

    return time.monotonic()


def _classify(g: Guard, exc: BaseException, demuxer: str) -> ProbeError:
    av = _av()
    msg = str(exc) or type(exc).__name__
    if isinstance(exc, ProbeError):
        return exc
    if isinstance(exc, getattr(av, "InvalidDataError", ())) or "Invalid data" in msg:
        return CorruptMediaError(f"{g.name}: not a readable {demuxer} file: {msg}", source=g.name)
    if isinstance(
        exc, (getattr(av, "PatchWelcomeError", ()), getattr(av, "DecoderNotFoundError", ()))
    ):
        return UnsupportedFormatError(f"{g.name}: {demuxer}: {msg}", source=g.name)
    why = reason(
        exc, demuxer, g.size, "the end of the header", prefix=f"cannot read the {demuxer} header: "
    )
    return CorruptMediaError(f"{g.name}: {why}", source=g.name)


def probe_av(g: Guard, demuxer: str) -> VideoInfo | AudioInfo:
    """Probe a container with PyAV: a :class:`VideoInfo` when it holds a video stream
    (cover art does not count), else an :class:`AudioInfo` for its first audio stream."""
    result = None
    if demuxer not in _STREAMS_ON_THE_FLY:
        c = _open(g, demuxer, _FAST)
        try:
            result = _read(c, g, demuxer, final=False)
        finally:
            c.close()
    if result is None:
        c = _open(g, demuxer, _FULL)
        try:
            result = _read(c, g, demuxer, final=True)
        finally:
            c.close()
    g.check()
    if result is None:  # final=True never returns None; keep mypy and -O honest
        raise CorruptMediaError(f"{g.name}: no usable stream", source=g.name)
    return result


def _read(c: Any, g: Guard, demuxer: str, *, final: bool) -> VideoInfo | AudioInfo | None:
    try:
        return _read_streams(c, g, demuxer, final=final)
    except ProbeError:
        raise
    except Exception as exc:  # PyAV and FFmpeg errors while reading stream metadata
        g.check()
        raise _classify(g, exc, demuxer) from None


def _read_streams(c: Any, g: Guard, demuxer: str, *, final: bool) -> VideoInfo | AudioInfo | None:
    av = _av()
    attached = int(av.stream.Disposition.attached_pic)
    videos = [s for s in c.streams.video if not int(s.disposition) & attached]
    audios = list(c.streams.audio)
    fmt = _container_name(g, demuxer)
    if not videos and not audios:
        if not final:
            return None
        g.check()
        raise UnsupportedFormatError(
            f"{g.name}: the {demuxer} file has no video or audio stream", source=g.name
        )
    audio_info = None
    if audios:
        audio_info = _audio(
            c,
            audios[0],
            g,
            fmt,
            scan=not videos,
            estimated=demuxer in _BITRATE_DURATION,
            final=final,
        )
        if audio_info is None:
            return None
    if not videos:
        return audio_info
    return _video(c, videos[0], g, demuxer, fmt, audio_info, final=final)


# -- audio ----------------------------------------------------------------------------


def _audio(
    c: Any, s: Any, g: Guard, fmt: str, *, scan: bool, estimated: bool, final: bool
) -> AudioInfo | None:
    cc = s.codec_context
    if cc is None:
        raise UnsupportedFormatError(
            f"{g.name}: audio stream in a codec FFmpeg cannot read", source=g.name
        )
    rate = int(cc.sample_rate or 0)
    channels = int(cc.channels or 0)
    if rate <= 0 or channels <= 0:
        if not final:
            return None
        raise CorruptMediaError(
            f"{g.name}: the audio stream declares no sample rate or channel count", source=g.name
        )
    duration = _stream_duration(c, s)
    if scan and (duration is None or estimated):
        sc = _scan(c, s, g)
        if sc.duration is not None and (sc.complete or duration is None):
            duration = sc.duration
    if duration is None:
        duration = _container_duration(c)
    if duration is None:
        if not final:
            return None
        raise CorruptMediaError(f"{g.name}: the audio stream has no duration", source=g.name)
    tb = s.time_base
    if s.duration and tb == Fraction(1, rate) and s.duration > 0:
        samples = int(s.duration)
    else:
        samples = round(duration * rate)
    return AudioInfo(
        duration=duration,
        sample_rate=rate,
        channels=channels,
        samples=samples,
        format=fmt,
        codec=str(cc.codec.canonical_name),
        source=g.name,
    )


def _container_name(g: Guard, demuxer: str) -> str:
    # FFmpeg has one demuxer for MP4 and QuickTime, and one for Matroska and WebM.
    if demuxer == "mov":
        head = g.pread(0, 12)
        return "mov" if head[4:8] != b"ftyp" or head[8:12] == b"qt  " else "mp4"
    if demuxer == "matroska":
        return "webm" if b"webm" in g.pread(0, 64) else "matroska"
    return demuxer


def _sane(seconds: float | None) -> float | None:
    if seconds is None or not math.isfinite(seconds) or not 0 < seconds <= _MAX_DURATION:
        return None
    return seconds


def _stream_duration(c: Any, s: Any) -> float | None:
    if s.duration is not None and s.duration > 0 and s.time_base:
        d = _sane(float(s.duration * s.time_base))
        if d is not None:
            return d
    tag = s.metadata.get("DURATION") or s.metadata.get("duration")
    if tag:
        return _sane(_hms(tag))
    return None


def _container_duration(c: Any) -> float | None:
    if c.duration is not None and c.duration > 0:
        return _sane(c.duration / 1_000_000)
    return None


def _hms(text: str) -> float | None:
    # Matroska's per-stream DURATION tag: "HH:MM:SS.nnnnnnnnn".
    try:
        h, m, sec = text.strip().split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


# -- packet scan -------------------------------------------------------------------------


class _Scan:
    __slots__ = (
        "budget",
        "complete",
        "deltas",
        "duration",
        "end",
        "end_all",
        "error",
        "frame",
        "frames",
    )

    def __init__(
        self,
        frames: int,
        duration: float | None,
        deltas: list[int],
        *,
        budget: bool,
        error: bool,
        end: float | None,
        end_all: float | None,
        frame: float | None,
    ) -> None:
        self.frames = frames
        self.duration = duration
        self.deltas = deltas
        #: stopped at ``scan_bytes`` (the rest of the file was not looked at).
        self.budget = budget
        #: the demuxer failed on a corrupt or truncated packet before the end.
        self.error = error
        #: ran to the end of the file.
        self.complete = not budget and not error
        #: where the stream's packets end (last timestamp + its duration), in seconds
        #: from the container's zero; ``end_all``: the same over every stream demuxed.
        self.end = end
        self.end_all = end_all
        #: the typical frame duration in seconds (None: a lone packet without one).
        self.frame = frame


def _scan(c: Any, s: Any, g: Guard, *, every: bool = False) -> _Scan:
    """Demux (never decode) the packets of stream ``s`` within the scan budget.

    Args:
        every: demux the other streams too (attached pictures aside), only to find where
            the last of them ends (``_Scan.end_all``); frames are counted for ``s`` alone.
    """
    av = _av()
    attached = int(av.stream.Disposition.attached_pic)
    keep = [s]
    for other in c.streams:
        if other.index == s.index:
            continue
        if every and not int(other.disposition) & attached:
            keep.append(other)
        else:
            other.discard = av.stream.Discard.all
    limit = g.bytes_read + g.limits.scan_bytes
    pts: list[int] = []
    last_dur = 0
    frames = 0
    budget = error = False
    # Per other stream: (largest timestamp, its packet's duration), in its time base.
    ends: dict[int, tuple[int, int]] = {}
    try:
        for p in c.demux(*keep):
            if p.size == 0 and p.pts is None and p.dts is None:
                continue  # the flush packet PyAV yields at the end
            t = p.pts if p.pts is not None else p.dts
            k = p.stream_index
            if k != s.index:
                if t is not None and (k not in ends or int(t) >= ends[k][0]):
                    ends[k] = int(t), int(p.duration or 0)
            else:
                frames += 1
                if t is not None:
                    pts.append(int(t))
                    last_dur = int(p.duration or 0)
            if g.bytes_read > limit:
                budget = True
                break
    except Exception:  # a truncated or corrupt tail: what was demuxed is what is there
        error = True
    g.check()
    duration = end = frame = None
    deltas: list[int] = []
    if pts and s.time_base:
        pts.sort()
        deltas = [b - a for a, b in itertools.pairwise(pts)]
        if deltas:
            typical = sorted(deltas)[len(deltas) // 2]
            # Some demuxers (FLV) give every packet a 1-tick duration: not a real one.
            if last_dur < typical // 2:
                last_dur = typical
            frame = float(typical * s.time_base)
        elif last_dur > 0:
            frame = float(last_dur * s.time_base)
        duration = _sane(float((pts[-1] + last_dur - pts[0]) * s.time_base))
        end = float((pts[-1] + last_dur) * s.time_base)
    end_all = end
    for k, (t, d) in ends.items():
        tb = c.streams[k].time_base
        if tb:
            e = float((t + d) * tb)
            end_all = e if end_all is None else max(end_all, e)
    return _Scan(
        frames,
        duration,
        deltas,
        budget=budget,
        error=error,
        end=end,
        end_all=end_all,
        frame=frame,
    )


# -- truncation ---------------------------------------------------------------------------
#
# Matroska/WebM, FLV and ASF headers declare how long the file is; Ogg and MPEG-TS/PS do
# not (FFmpeg's duration for those comes from the last timestamps in the file itself, so
# it describes whatever is there). A scan that runs to the end of the file and finds the
# packets ending well before the declared length has found a truncated file: its count
# describes neither the file that was meant (the header's length) nor, reliably, what a
# decoder or a provider makes of the stub, so the probe refuses it (docs/probe.md).


class _Declared:
    __slots__ = ("per_stream", "seconds", "size", "source")

    def __init__(
        self, seconds: float, per_stream: bool, source: str, size: int | None = None
    ) -> None:
        self.seconds = seconds
        #: True: the length of this video stream (Matroska's per-track DURATION tag);
        #: False: of the file (compared with where the last of its streams ends).
        self.per_stream = per_stream
        self.source = source
        #: the file size the header declares (ASF), if any.
        self.size = size


def _declared(g: Guard, s: Any, demuxer: str, mkv_head: bytes | None) -> _Declared | None:
    """The length the container's header declares for stream ``s`` or the whole file,
    read from the file (never FFmpeg's estimate), or None when it declares none."""
    if demuxer == "matroska":
        tag = s.metadata.get("DURATION") or s.metadata.get("duration")
        seconds = _sane(_hms(tag)) if tag else None
        if seconds is not None:
            return _Declared(seconds, True, "its DURATION tag")
        seconds = _mkv_duration(mkv_head if mkv_head is not None else g.pread(0, _MKV_HEAD))
        return None if seconds is None else _Declared(seconds, False, "its Segment Info")
    if demuxer == "flv":
        seconds = _flv_duration(g)
        return None if seconds is None else _Declared(seconds, False, "its onMetaData")
    if demuxer == "asf":
        asf = _asf_duration(g)
        return None if asf is None else _Declared(asf[0], False, "its File Properties", asf[1])
    return None


def _check_length(g: Guard, fmt: str, s: Any, sc: _Scan, declared: _Declared) -> None:
    """Raise :class:`CorruptMediaError` when the packets end well before the declared
    length: by more than two frame durations and 20 ms (the rounding of the header's
    length and of the last frame's duration)."""
    if sc.budget:
        return  # the rest of the file was not looked at: the count is an estimate
    found = sc.end if declared.per_stream else sc.end_all
    frame = sc.frame
    if frame is None and sc.frames != 1:
        frame = 1 / (_rate(s.average_rate) or 25.0)  # no packet at all: how short is short
    elif frame is None:
        avg = _rate(s.average_rate)
        if avg is None:
            # One frame that carries no duration, in a header without a frame rate
            # (ASF): it may be meant to last the whole file. Only the declared size
            # can tell a one-frame file from the first frame of a cut one.
            if declared.size is None or g.size >= declared.size:
                return
            raise CorruptMediaError(
                f"{g.name}: truncated {fmt} file: {declared.source} declares "
                f"{declared.seconds:.3f} s and {declared.size} bytes for the file, but it "
                f"has {g.size} bytes and one frame",
                source=g.name,
            )
        frame = 1 / avg
    slack = 2 * frame + 0.02
    if found is not None and found >= declared.seconds - slack:
        return
    what = "of video" if declared.per_stream else "for the file"
    where = "no packet could be read" if found is None else f"the packets end at {found:.3f} s"
    why = " (the demuxer stopped at a damaged packet)" if sc.error else ""
    raise CorruptMediaError(
        f"{g.name}: truncated {fmt} file: {declared.source} declares "
        f"{declared.seconds:.3f} s {what}, but {where}{why}",
        source=g.name,
    )


#: Bytes at the end of a file looked at for its last container unit.
_TAIL = 65_536


def _ts_cut(g: Guard) -> str | None:
    """MPEG-TS: a file is a whole number of 188-byte packets (192 for M2TS, 204 with
    Reed-Solomon parity), as the sniffer found them."""
    head = g.pread(0, 1024)
    for step, first in ((188, 0), (192, 4), (204, 0)):
        at = range(first, min(len(head), first + 3 * step), step)
        if len(at) >= 3 and all(head[i] == 0x47 for i in at):
            extra = g.size % step
            if extra:
                return (
                    f"it ends {extra} bytes into a {step}-byte transport packet "
                    f"({g.size} bytes is not a whole number of them)"
                )
            return None
    return None


def _walk_cut(g: Guard, marker: bytes, unit: Callable[[bytes, int], int | None]) -> int | None:
    """How many bytes the file's last container unit lacks, or None when it is whole
    (or when the tail cannot be walked). Units are walked over the last 64 KiB from an
    occurrence of ``marker``; ``unit(buf, pos)`` gives where the unit at ``pos`` ends
    (past ``len(buf)`` when the file ends inside it), or None if ``pos`` holds none.

    Only an anchored walk is believed: one that starts at offset 0 of the file, or in
    which a unit was followed by another (a marker that turns up inside a payload
    would have to be followed by a consistent chain to mislead it).
    """
    size = g.size
    base = max(size - _TAIL, 0)
    buf = g.pread(base, size - base)
    n = len(buf)
    start = buf.find(marker)
    for _ in range(256):
        if start < 0:
            return None
        pos, anchored = start, base + start == 0
        while True:
            end = unit(buf, pos)
            if end is None:
                break  # no chain of units from this start: try the next marker
            anchored = anchored or pos != start  # a unit right after another one
            if end > n:
                return end - n if anchored else None
            if end == n:
                return None  # the last unit ends with the file
            pos = end
        start = buf.find(marker, start + 1)
    return None


def _ogg_page(buf: bytes, pos: int) -> int | None:
    """Where the Ogg page at ``pos`` ends (27-byte header, lacing values, payload)."""
    n = len(buf)
    if buf[pos : pos + 5] != b"OggS\x00"[: n - pos]:
        return None
    if pos + 27 > n:
        return pos + 27
    nseg = buf[pos + 26]
    if pos + 27 + nseg > n:
        return pos + 27 + nseg
    return pos + 27 + nseg + sum(buf[pos + 27 : pos + 27 + nseg])


def _ps_unit(buf: bytes, pos: int) -> int | None:
    """Where the MPEG-PS unit at ``pos`` ends: a pack header (MPEG-1 or -2), a system
    header or PES packet (a 16-bit length), or the program end code."""
    n = len(buf)
    if buf[pos : pos + 3] != b"\x00\x00\x01"[: n - pos]:
        return None
    if pos + 4 > n:
        return pos + 4
    code = buf[pos + 3]
    if code == 0xB9:
        return pos + 4
    if code == 0xBA:
        if pos + 5 > n:
            return pos + 5
        if buf[pos + 4] >> 6 == 1:  # MPEG-2: 14 bytes and up to 7 stuffing bytes
            if pos + 14 > n:
                return pos + 14
            return pos + 14 + (buf[pos + 13] & 7)
        return pos + 12 if buf[pos + 4] >> 4 == 2 else None
    if code < 0xBB:
        return None
    if pos + 6 > n:
        return pos + 6
    return pos + 6 + int.from_bytes(buf[pos + 4 : pos + 6], "big")


def _ogg_cut(g: Guard) -> str | None:
    missing = _walk_cut(g, b"OggS", _ogg_page)
    return None if missing is None else f"its last Ogg page lacks {missing} bytes"


def _ps_cut(g: Guard) -> str | None:
    missing = _walk_cut(g, b"\x00\x00\x01\xba", _ps_unit)
    return None if missing is None else f"its last PES packet or pack lacks {missing} bytes"


#: Containers that declare no length, and how a file that ends inside one of their
#: units (a cut download) is recognised: their demuxers hand a cut last packet on as a
#: frame (MPEG-PS), or drop it, and either way the file is not what was written.
_FRAMED: dict[str, Callable[[Guard], str | None]] = {
    "mpegts": _ts_cut,
    "mpeg": _ps_cut,
    "ogg": _ogg_cut,
}


# -- video ----------------------------------------------------------------------------------


def _video(
    c: Any, s: Any, g: Guard, demuxer: str, fmt: str, audio: AudioInfo | None, *, final: bool
) -> VideoInfo | None:
    cc = s.codec_context
    if cc is None:
        raise UnsupportedFormatError(
            f"{g.name}: video stream in a codec FFmpeg cannot read", source=g.name
        )
    w, h = int(cc.width or 0), int(cc.height or 0)
    if w <= 0 or h <= 0:
        if not final:
            return None
        raise CorruptMediaError(
            f"{g.name}: the video stream declares no picture size", source=g.name
        )
    tb = s.time_base
    duration = _stream_duration(c, s)
    frames = int(s.frames or 0)
    avg = _rate(s.average_rate)
    base = _rate(s.base_rate)
    frames_exact = True
    deltas: list[int] | None = None
    rotation = 0
    if demuxer == "mov":
        box = _mov_track(g, int(s.id))
        if box is not None:
            rotation, deltas, tb = box.rotation, box.deltas, box.time_base or tb
    mkv_head = None
    if demuxer == "matroska":
        # PyAV leaves Stream.id at 0 for Matroska; FFmpeg creates one stream per
        # TrackEntry, in order, so the stream index finds the entry.
        mkv_head = g.pread(0, _MKV_HEAD)
        rotation = _mkv_rotation(mkv_head, int(s.index))
    if frames <= 0 or duration is None:
        declared = _declared(g, s, demuxer, mkv_head)
        # A length declared for the whole file is compared with where the last of its
        # streams ends (an audio track may outlast the video): those are demuxed too.
        sc = _scan(c, s, g, every=declared is not None and not declared.per_stream)
        if declared is not None:
            _check_length(g, fmt, s, sc, declared)
        elif demuxer in _FRAMED:
            cut = _FRAMED[demuxer](g)
            if cut is not None:
                raise CorruptMediaError(f"{g.name}: truncated {fmt} file: {cut}", source=g.name)
        if sc.complete and sc.frames > 0:
            frames = sc.frames
            duration = sc.duration or duration
        deltas = sc.deltas
        if frames <= 0:
            duration = duration or sc.duration or _container_duration(c)
            fps = avg or base or (sc.frames / sc.duration if sc.duration else None)
            if duration is None or not fps:
                raise CorruptMediaError(
                    f"{g.name}: the video stream has no frames that can be counted", source=g.name
                )
            frames = max(round(duration * fps), sc.frames, 1)
            frames_exact = False
    if duration is None:
        duration = _container_duration(c)
    if duration is None and avg:
        duration = frames / avg
    if duration is None:
        raise CorruptMediaError(f"{g.name}: the video stream has no duration", source=g.name)
    fps = frames / duration if frames_exact or not avg else avg
    vfr, real = _timing(deltas, tb)
    for better in (avg, real):
        if better and tb and abs(fps - better) <= fps * 2 * float(tb) / duration:
            # The difference is timestamp rounding (7 frames at 30 fps in milliseconds
            # last 233 ms, not 233.3): the exact rate is the better number.
            fps = better
            break
    if not 0 < fps <= _MAX_FPS:
        fps = avg or base or 0.0
    if not 0 < fps <= _MAX_FPS:
        raise CorruptMediaError(
            f"{g.name}: the video stream has no usable frame rate", source=g.name
        )
    real_fps = real if real is not None else base
    if real is not None and tb:
        for better in (avg, base):
            # Header rates are exact; the one measured from timestamps is rounded to a
            # tick per frame. Take the header's when they agree within that rounding.
            if better and abs(real - better) <= real * real * float(tb):
                real_fps = better
                break
    if real_fps is None or not 0 < real_fps <= _MAX_FPS:
        real_fps = fps
    if deltas is None:
        vfr = avg is not None and base is not None and abs(avg - base) > 0.005 * base
    if rotation in (90, 270):
        w, h = h, w
    return VideoInfo(
        width=w,
        height=h,
        duration=duration,
        fps=fps,
        frames=frames,
        rotation=rotation,
        real_fps=real_fps,
        vfr=vfr,
        frames_exact=frames_exact,
        codec=str(cc.codec.canonical_name),
        format=fmt,
        audio=audio,
        source=g.name,
    )


def _rate(r: Fraction | None) -> float | None:
    if r is None or r <= 0:
        return None
    v = float(r)
    return v if 0 < v <= _MAX_FPS else None


def _timing(deltas: list[int] | None, tb: Fraction | None) -> tuple[bool, float | None]:
    """(variable frame rate?, real frame rate) from frame durations in ``tb`` units.

    The last duration is left out (muxers stretch or shorten the last frame). A stream is
    variable-rate when its durations differ by more than one tick (timestamp rounding: a
    29.97 fps stream in milliseconds alternates 33 and 34) and more than 1 %.
    """
    if not deltas or not tb:
        return False, None
    body = [d for d in (deltas[:-1] if len(deltas) > 2 else deltas) if d > 0]
    if not body:
        return False, None
    lo, hi = min(body), max(body)
    body.sort()
    median = body[len(body) // 2]
    vfr = hi - lo > 1 and hi - lo > 0.01 * median
    # The nominal rate: the most common duration, averaged with its one-tick neighbours
    # so that rounded timestamps (33/34 ms) give 29.97 and not 30.3.
    counts: dict[int, int] = {}
    for d in body:
        counts[d] = counts.get(d, 0) + 1
    mode = max(counts, key=lambda d: (counts[d], -d))
    near = [(d, n) for d, n in counts.items() if abs(d - mode) <= 1]
    mean = sum(d * n for d, n in near) / sum(n for _, n in near)
    return vfr, float(1 / (mean * tb))


# -- MP4 / MOV boxes --------------------------------------------------------------------


class _Track:
    __slots__ = ("deltas", "rotation", "time_base")

    def __init__(self, rotation: int, deltas: list[int] | None, time_base: Fraction | None) -> None:
        self.rotation = rotation
        self.deltas = deltas
        self.time_base = time_base


class _Window:
    """Reads of a guarded file through a cache of 64 KiB blocks: walking boxes takes many
    small reads, nearly all of them within the block the previous one came from."""

    __slots__ = ("blocks", "g", "size")
    BLOCK = 65_536

    def __init__(self, g: Guard) -> None:
        self.g = g
        self.size = g.size
        self.blocks: dict[int, bytes] = {}

    def pread(self, offset: int, n: int) -> bytes:
        first, last = offset // self.BLOCK, (offset + max(n, 1) - 1) // self.BLOCK
        if last - first > 16:  # a big table: read it straight, without caching
            return self.g.pread(offset, n)
        parts = []
        for b in range(first, last + 1):
            block = self.blocks.get(b)
            if block is None:
                block = self.blocks[b] = self.g.pread(b * self.BLOCK, self.BLOCK)
            parts.append(block)
        data = parts[0] if len(parts) == 1 else b"".join(parts)
        start = offset - first * self.BLOCK
        return data[start : start + n]


def _boxes(g: _Window, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of the boxes between ``start`` and ``end``."""
    pos = start
    for _ in range(100_000):
        if pos + 8 > end:
            return
        hdr = g.pread(pos, 16)
        if len(hdr) < 8:
            return
        size = int.from_bytes(hdr[:4], "big")
        kind = hdr[4:8]
        head = 8
        if size == 1:
            if len(hdr) < 16:
                return
            size = int.from_bytes(hdr[8:16], "big")
            head = 16
        elif size == 0:
            size = end - pos
        if size < head:
            return
        yield kind, pos + head, min(pos + size, end)
        pos += size


def _find(g: _Window, start: int, end: int, kind: bytes) -> tuple[int, int] | None:
    for k, a, b in _boxes(g, start, end):
        if k == kind:
            return a, b
    return None


_IDENTITY = (1.0, 0.0, 0.0, 1.0)


def _matrix(raw: bytes) -> tuple[float, float, float, float]:
    a, b, _u, c, d = struct.unpack(">iiiii", raw[:20])
    return a / 65536, b / 65536, c / 65536, d / 65536


def _mov_track(guard: Guard, track_id: int) -> _Track | None:
    """Rotation and frame durations of MOV/MP4 track ``track_id`` (None if not found)."""
    g = _Window(guard)
    moov = _find(g, 0, g.size, b"moov")
    if moov is None:
        return None
    movie = _IDENTITY
    for kind, a, b in _boxes(g, *moov):
        if kind == b"mvhd":
            raw = g.pread(a, 100)
            off = 48 if raw[:1] == b"\x01" else 36
            if len(raw) >= off + 36:
                movie = _matrix(raw[off : off + 36])
        elif kind == b"trak":
            t = _trak(g, a, b, track_id, movie)
            if t is not None:
                return t
    return None


def _trak(
    g: _Window, start: int, end: int, track_id: int, movie: tuple[float, float, float, float]
) -> _Track | None:
    tkhd = _find(g, start, end, b"tkhd")
    if tkhd is None:
        return None
    raw = g.pread(tkhd[0], 92)
    v1 = raw[:1] == b"\x01"
    id_off, m_off = (20, 52) if v1 else (12, 40)
    if len(raw) < m_off + 36 or int.from_bytes(raw[id_off : id_off + 4], "big") != track_id:
        return None
    ta, tb_, _, _ = _matrix(raw[m_off : m_off + 36])
    ma, mb, mc, md = movie
    # FFmpeg multiplies the track matrix by the movie matrix (row vectors: [x y 1] · M).
    a, b = ta * ma + tb_ * mc, ta * mb + tb_ * md
    rotation = 0
    if a or b:
        rotation = round(math.degrees(math.atan2(b, a)) / 90) % 4 * 90
    deltas, time_base = _stts(g, start, end)
    return _Track(rotation, deltas, time_base)


def _stts(g: _Window, start: int, end: int) -> tuple[list[int] | None, Fraction | None]:
    mdia = _find(g, start, end, b"mdia")
    if mdia is None:
        return None, None
    time_base = None
    stts = None
    for kind, a, b in _boxes(g, *mdia):
        if kind == b"mdhd":
            raw = g.pread(a, 24)
            off = 20 if raw[:1] == b"\x01" else 12
            if len(raw) >= off + 4:
                scale = int.from_bytes(raw[off : off + 4], "big")
                time_base = Fraction(1, scale) if scale else None
        elif kind == b"minf":
            stbl = _find(g, a, b, b"stbl")
            if stbl is not None:
                stts = _find(g, *stbl, b"stts")
    if stts is None:
        return None, time_base
    a, b = stts
    n = int.from_bytes(g.pread(a + 4, 4), "big")
    n = min(n, (b - a - 8) // 8, 1 << 17)
    raw = g.pread(a + 8, 8 * n)
    deltas: list[int] = []
    total = 0
    for i in range(len(raw) // 8):
        count, delta = struct.unpack_from(">II", raw, 8 * i)
        # Expand at most a few entries per run: only min/max/mode matter, and the
        # last entry must stay last.
        reps = min(count, 3)
        deltas.extend([delta] * reps)
        total += count
    return (deltas or None), time_base


# -- Matroska -------------------------------------------------------------------------------

_SEGMENT, _TRACKS, _CLUSTER = 0x18538067, 0x1654AE6B, 0x1F43B675
_INFO, _TIMESTAMP_SCALE, _DURATION = 0x1549A966, 0x2AD7B1, 0x4489
#: The bytes of a Matroska file searched for its Info and Tracks elements.
_MKV_HEAD = 262_144
_TRACK_ENTRY, _VIDEO = 0xAE, 0xE0
_PROJECTION, _POSE_ROLL = 0x7670, 0x7675


def _vint(buf: bytes, pos: int, *, mask: bool) -> tuple[int, int] | None:
    if pos >= len(buf):
        return None
    first = buf[pos]
    if first == 0:
        return None
    n = 8 - first.bit_length() + 1
    if pos + n > len(buf):
        return None
    value = int.from_bytes(buf[pos : pos + n], "big")
    if mask:
        value &= (1 << (7 * n)) - 1
        if value == (1 << (7 * n)) - 1:
            value = -1  # unknown size
    return value, pos + n


def _elements(buf: bytes, start: int, end: int) -> Iterator[tuple[int, int, int]]:
    pos = start
    while pos < end:
        idv = _vint(buf, pos, mask=False)
        if idv is None:
            return
        eid, pos = idv
        sv = _vint(buf, pos, mask=True)
        if sv is None:
            return
        size, pos = sv
        stop = end if size < 0 else min(pos + size, end)
        yield eid, pos, stop
        pos = stop


def _mkv_rotation(buf: bytes, track_index: int) -> int:
    """Clockwise display rotation from the track's ``ProjectionPoseRoll`` (0 if none).

    Tracks sit near the start of the file in practice; only ``buf``, the first 256 KiB,
    is read.
    """
    for eid, a, b in _elements(buf, 0, len(buf)):
        if eid != _SEGMENT:
            continue
        for eid2, a2, b2 in _elements(buf, a, b):
            if eid2 == _CLUSTER:
                return 0
            if eid2 == _TRACKS:
                return _mkv_tracks(buf, a2, b2, track_index)
    return 0


def _mkv_tracks(buf: bytes, start: int, end: int, track_index: int) -> int:
    k = -1
    for eid, a, b in _elements(buf, start, end):
        if eid != _TRACK_ENTRY:
            continue
        k += 1
        roll = 0.0
        for eid2, a2, b2 in _elements(buf, a, b):
            if eid2 == _VIDEO:
                for eid3, a3, b3 in _elements(buf, a2, b2):
                    if eid3 == _PROJECTION:
                        for eid4, a4, b4 in _elements(buf, a3, b3):
                            if eid4 == _POSE_ROLL and b4 - a4 in (4, 8):
                                roll = struct.unpack(">f" if b4 - a4 == 4 else ">d", buf[a4:b4])[0]
        if k == track_index:
            if not math.isfinite(roll):
                return 0
            # FFmpeg turns a roll of r degrees into a display matrix that rotates the
            # picture r degrees counter-clockwise; players then turn it back clockwise.
            return round(-roll / 90) % 4 * 90
    return 0


def _mkv_duration(buf: bytes) -> float | None:
    """The Segment's declared Duration (Info element) in seconds, or None.

    Read from ``buf``, the file's first bytes: live recordings (a browser's
    MediaRecorder) have none, and FFmpeg then estimates one that the file does not
    declare.
    """
    for eid, a, b in _elements(buf, 0, len(buf)):
        if eid != _SEGMENT:
            continue
        for eid2, a2, b2 in _elements(buf, a, b):
            if eid2 == _CLUSTER:
                return None
            if eid2 != _INFO:
                continue
            scale, duration = 1_000_000, None
            for eid3, a3, b3 in _elements(buf, a2, b2):
                if eid3 == _TIMESTAMP_SCALE and 1 <= b3 - a3 <= 8:
                    scale = int.from_bytes(buf[a3:b3], "big") or 1_000_000
                elif eid3 == _DURATION and b3 - a3 in (4, 8):
                    duration = struct.unpack(">f" if b3 - a3 == 4 else ">d", buf[a3:b3])[0]
            if duration is None:
                return None
            return _sane(duration * scale / 1e9)
    return None


# -- FLV and ASF declared lengths ----------------------------------------------------------


def _flv_duration(g: Guard) -> float | None:
    """``duration`` from the FLV's first script tag (``onMetaData``), or None."""
    head = g.pread(0, 24)
    if len(head) < 24 or head[:3] != b"FLV" or head[13] != 18:  # 18: a script data tag
        return None
    size = int.from_bytes(head[14:17], "big")
    body = g.pread(24, min(size, 65_536))
    i = body.find(b"\x00\x08duration\x00")  # the key, then AMF0 type 0: a number
    if i < 0 or i + 19 > len(body):
        return None
    return _sane(struct.unpack_from(">d", body, i + 11)[0])


_ASF_HEADER = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_ASF_FILE_PROPERTIES = bytes.fromhex("a1dcab8c47a9cf118ee400c00c205365")


def _asf_duration(g: Guard) -> tuple[float, int] | None:
    """(play duration less preroll, file size) from the ASF File Properties Object, or
    None (absent, or a broadcast file whose durations are not set). FFmpeg drops this
    length when the file's size differs from the declared one, i.e. when it is cut."""
    head = g.pread(0, 65_536)
    if len(head) < 30 or head[:16] != _ASF_HEADER:
        return None
    end = min(int.from_bytes(head[16:24], "little"), len(head))
    pos = 30
    for _ in range(1_000):
        if pos + 24 > end:
            return None
        size = int.from_bytes(head[pos + 16 : pos + 24], "little")
        if head[pos : pos + 16] == _ASF_FILE_PROPERTIES:
            if size < 92 or pos + 92 > end:
                return None
            file_size = int.from_bytes(head[pos + 40 : pos + 48], "little")
            play, _send, preroll = struct.unpack_from("<QQQ", head, pos + 64)
            flags = int.from_bytes(head[pos + 88 : pos + 92], "little")
            seconds = _sane(play / 1e7 - preroll / 1e3)
            if flags & 1 or seconds is None:  # broadcast: the durations are not valid
                return None
            return seconds, file_size
        if size < 24:
            return None
        pos += size
    return None
