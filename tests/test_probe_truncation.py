"""Truncated files: a count is either what the file really holds, or a CorruptMediaError.

Video containers without a frame count are counted by a packet scan (docs/probe.md). Where
the header declares a length (Matroska/WebM, FLV, ASF), a scan whose packets end well
before it has found a truncated file, and the probe must say so rather than report the
stub's count as exact or the header's length as an estimate. Where the container declares
no length (Ogg, MPEG-TS, MPEG-PS), a cut file is a shorter file, and its count must be the
frames a decoder gets from it.
"""

from __future__ import annotations

import io
import re
import struct
import warnings
from collections.abc import Callable

import pytest

pytest.importorskip("av")

import mediafactory as mf
import tokenmeter as tm
from tokenmeter.errors import CorruptMediaError, ProbeError, UnsupportedFormatError

FPS, FRAMES = 24, 48  # 2.0 s

# Containers whose header declares the file's length (or the video's).
DECLARED: dict[str, Callable[[], bytes]] = {
    "webm": lambda: mf.video("webm", "libvpx-vp9", (32, 24), fps=FPS, frames=FRAMES),
    "matroska": lambda: mf.video("matroska", "libx264", (32, 24), fps=FPS, frames=FRAMES),
    "matroska+opus": lambda: mf.video(
        "matroska",
        "libx264",
        (32, 24),
        fps=FPS,
        frames=FRAMES,
        audio=(48_000, 2, 2.0),
        audio_codec="libopus",
    ),
    "flv": lambda: mf.video("flv", "flv1", (32, 24), fps=FPS, frames=FRAMES),
    "flv+mp3": lambda: mf.video(
        "flv", "flv1", (32, 24), fps=FPS, frames=FRAMES, audio=(44_100, 1, 2.0), audio_codec="mp3"
    ),
    "asf": lambda: mf.video("asf", "wmv2", (32, 24), fps=FPS, frames=FRAMES),
}

# Containers that declare no length: FFmpeg's duration comes from their last timestamps.
# (maker, FFmpeg demuxer, the offsets where one of its units starts)
UNDECLARED: dict[str, tuple[Callable[[], bytes], str, Callable[[bytes], list[int]]]] = {
    "ogg": (
        lambda: mf.video("ogg", "libvpx", (32, 24), fps=FPS, frames=FRAMES),
        "ogg",
        lambda d: _all(d, b"OggS"),
    ),
    "mpegts": (
        lambda: mf.video("mpegts", "mpeg2video", (32, 24), fps=FPS, frames=FRAMES),
        "mpegts",
        lambda d: list(range(188, len(d), 188)),
    ),
    "mpegts-h264": (
        lambda: mf.video("mpegts", "libx264", (32, 24), fps=FPS, frames=FRAMES),
        "mpegts",
        lambda d: list(range(188, len(d), 188)),
    ),
    "mpeg": (
        lambda: mf.video("mpeg", "mpeg2video", (48, 32), fps=FPS, frames=FRAMES),
        "mpeg",
        lambda d: _all(d, b"\x00\x00\x01\xba"),
    ),
}


def _all(data: bytes, marker: bytes) -> list[int]:
    out, i = [], data.find(marker, 1)
    while i > 0:
        out.append(i)
        i = data.find(marker, i + 1)
    return out


def decoded_frames(data: bytes, demuxer: str | None = None) -> int | None:
    """Frames FFmpeg decodes from ``data`` (None when it cannot open it as a video)."""
    import av

    try:
        with av.open(io.BytesIO(data), format=demuxer) as c:
            if not c.streams.video:
                return None
            n = 0
            try:
                for _ in c.decode(video=0):
                    n += 1
            except av.FFmpegError:
                pass  # what was decoded before the damage is what a decoder gets
            return n
    except av.FFmpegError:
        return None


def outcome(data: bytes) -> tm.VideoInfo | ProbeError:
    """The probe's answer, or the ProbeError it raised."""
    try:
        info = tm.probe(data)
    except ProbeError as exc:
        return exc
    assert isinstance(info, tm.VideoInfo)
    return info


def _cuts(n: int, steps: int = 40) -> range:
    return range(max(n // steps, 1), n, max(n // steps, 1))


def test_truncated_webm_from_the_audit() -> None:
    # A valid 2.0 s WebM cut to ~3000 bytes: 9 frames, 0.36 s were reported as exact.
    data = DECLARED["webm"]()
    assert tm.probe(data).frames == FRAMES
    with pytest.raises(CorruptMediaError) as e:
        tm.probe(data[:3000])
    msg = str(e.value)
    assert msg.startswith("<bytes>: truncated webm file")
    assert "declares 2.000 s" in msg
    assert "packets end at" in msg
    assert e.value.source == "<bytes>"


@pytest.mark.parametrize("kind", DECLARED)
def test_declared_length_truncations_are_errors(kind: str) -> None:
    data = DECLARED[kind]()
    whole = tm.probe(data)
    assert isinstance(whole, tm.VideoInfo)
    assert (whole.frames, whole.frames_exact) == (FRAMES, True)
    raised = 0
    for cut in _cuts(len(data)):
        part = data[:cut]
        ref = decoded_frames(part)
        got = outcome(part)
        if isinstance(got, ProbeError):
            assert isinstance(got, CorruptMediaError), (cut, got)
            assert str(got).startswith("<bytes>: ")
            if ref:  # the header was whole: the reason is the truncation
                assert "truncated" in str(got)
                assert "declares" in str(got)
                raised += 1
            continue
        # An answer only when at most the last two frames are gone, and then it is the
        # frames a decoder gets, exactly.
        info = got
        assert ref is not None
        assert ref >= FRAMES - 2, (cut, info)
        assert info.frames == ref
        assert info.frames_exact
    assert raised >= 20


@pytest.mark.parametrize("kind", UNDECLARED)
def test_undeclared_length_cut_inside_a_unit_is_an_error(kind: str) -> None:
    # Nothing declares the length, but the container's own framing shows the cut: the
    # file ends inside an Ogg page, a transport packet, a PES packet or pack.
    make, _, starts = UNDECLARED[kind]
    data = make()
    assert tm.probe(data).frames == FRAMES
    boundaries = set(starts(data))
    for cut in _cuts(len(data), 60):
        if cut in boundaries:
            continue
        # (Under three transport packets, a cut TS is not recognised as one.)
        with pytest.raises((CorruptMediaError, UnsupportedFormatError)) as e:
            tm.probe(data[:cut])
        assert str(e.value).startswith("<bytes>: ")
        if cut > 3000:  # past the header: the reason is the cut
            assert f"truncated {tm.probe(data).format} file" in str(e.value)


@pytest.mark.parametrize("kind", UNDECLARED)
def test_undeclared_length_cut_between_units_counts_what_is_there(kind: str) -> None:
    # Cut exactly between two units, such a file cannot be told from a shorter one:
    # the count is the frames a decoder gets from it (MPEG-PS: or one more, the
    # fragment of a frame cut at a pack boundary; see docs/probe.md).
    make, demuxer, starts = UNDECLARED[kind]
    data = make()
    answered = 0
    for cut in starts(data):
        part = data[:cut]
        info = outcome(part)
        if isinstance(info, ProbeError):
            assert isinstance(info, (CorruptMediaError, UnsupportedFormatError)), info
            assert str(info).startswith("<bytes>: ")
            continue
        ref = decoded_frames(part, demuxer)
        assert ref is not None
        extra = info.frames - ref
        assert extra == 0 or (kind == "mpeg" and extra == 1), (cut, info, ref)
        assert info.frames_exact
        assert info.duration <= (ref + extra) / FPS + 1.5 / FPS  # the stub's length
        answered += 1
    assert answered >= 3


def test_audio_outlasting_the_video_is_not_a_truncation() -> None:
    # Without per-track DURATION tags the Segment's Duration is the file's: the audio
    # ends at 3 s, the video at 1 s. Only a cut that shortens the file is an error.
    data = mf.video(
        "matroska",
        "libx264",
        (32, 24),
        fps=FPS,
        frames=FPS,
        audio=(48_000, 1, 3.0),
        audio_codec="libopus",
    )
    data = data.replace(b"DURATION", b"XURATION")  # same length: still a valid file
    import av

    with av.open(io.BytesIO(data)) as c:
        assert not c.streams.video[0].metadata.get("DURATION")
        assert c.duration / 1e6 == pytest.approx(3.0, abs=0.05)
    info = tm.probe(data)
    assert (info.frames, info.frames_exact) == (FPS, True)
    assert info.duration == pytest.approx(1.0, abs=0.002)
    assert info.audio is not None
    with pytest.raises(CorruptMediaError, match=r"Segment Info declares 3\.0\d\d s for the file"):
        tm.probe(data[: len(data) * 2 // 3])


def test_flv_audio_outlasting_the_video_is_not_a_truncation() -> None:
    data = mf.video(
        "flv", "flv1", (32, 24), fps=FPS, frames=FPS, audio=(44_100, 2, 3.0), audio_codec="mp3"
    )
    info = tm.probe(data)
    assert (info.frames, info.frames_exact) == (FPS, True)
    with pytest.raises(CorruptMediaError, match="onMetaData declares"):
        tm.probe(data[: len(data) // 2])


def test_a_scan_stopped_by_its_budget_is_still_an_estimate() -> None:
    # scan_bytes stops the scan before the end: that is no evidence of truncation.
    data = DECLARED["webm"]()
    info = tm.probe(data, scan_bytes=2000)
    assert (info.frames, info.frames_exact) == (FRAMES, False)


def test_live_webm_without_a_declared_length_counts_what_is_there() -> None:
    # A browser's MediaRecorder writes no Duration: a cut recording is a shorter one.
    from test_probe_audio import _strip_webm_durations

    data = _strip_webm_durations(DECLARED["webm"]())
    part = data[: len(data) // 2]
    info = tm.probe(part)
    assert info.frames == decoded_frames(part)
    assert info.frames_exact


# -- truncated image headers: the reason is in the file's terms ----------------------------

#: Words of Python's own errors (struct.error, IndexError, EOFError…) that describe a
#: library's code, not the file.
RAW = re.compile(r"unpack|struct|index out of range|out of range|EOFError|IndexError|buffer")

IMAGES: dict[str, Callable[[], bytes]] = {
    "jpeg": lambda: mf.image("JPEG", (17, 9), orientation=8),
    "jpeg-progressive": lambda: mf.image("JPEG", (17, 9), progressive=True),
    "png": lambda: mf.image("PNG", (17, 9), orientation=6),
    "apng": lambda: mf.image("PNG", (9, 7), frames=3),
    "gif": lambda: mf.image("GIF", (13, 6), frames=2),
    "webp": lambda: mf.image("WEBP", (13, 6), frames=2, orientation=5),
    "webp-lossy": lambda: mf.image("WEBP", (13, 6), quality=30),
    "webp-lossless": lambda: mf.image("WEBP", (13, 6), lossless=True),
    "bmp": lambda: mf.image("BMP", (9, 4)),
    "tiff": lambda: mf.image("TIFF", (9, 4), frames=2, orientation=7),
    "bigtiff": lambda: mf.image("TIFF", (9, 4), big_tiff=True),
    "ico": lambda: mf.image("ICO", (16, 16)),
    "qoi": lambda: mf.image("QOI", (8, 8)),
    "ppm": lambda: mf.image("PPM", (8, 8)),
}


def test_png_signature_alone() -> None:
    png = mf.image("PNG", (17, 9))
    with pytest.raises(CorruptMediaError) as e:
        tm.probe(png[:8])
    assert str(e.value) == "<bytes>: truncated PNG: the header ends before IHDR (8 bytes)"


@pytest.mark.parametrize("kind", IMAGES)
def test_image_header_cut_at_every_byte_gives_a_readable_reason(kind: str) -> None:
    pytest.importorskip("PIL")
    data = IMAGES[kind]()
    whole = tm.probe(data)
    assert isinstance(whole, tm.ImageInfo)
    end = min(len(data), 2048)  # the header and then some
    truncated = 0
    for cut in range(1, end):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about cut EXIF blocks
            got = outcome_any(data[:cut])
        if not isinstance(got, ProbeError):
            continue  # the header was whole; the image data is not read
        msg = str(got)
        assert msg.startswith("<bytes>: "), msg
        assert not RAW.search(msg), f"cut at {cut}: {msg}"
        assert isinstance(got, (CorruptMediaError, UnsupportedFormatError)), msg
        truncated += "truncated" in msg
    assert truncated >= 3


def outcome_any(data: bytes) -> object:
    try:
        return tm.probe(data)
    except ProbeError as exc:
        return exc


@pytest.mark.parametrize(
    ("exc", "want"),
    [
        (struct.error("unpack_from requires a buffer of at least 4 bytes"), "truncated PNG: "),
        (IndexError("index out of range"), "truncated PNG: "),
        (EOFError(), "truncated PNG: "),
        (OSError("Truncated File Read"), "truncated PNG: "),
        (SyntaxError("broken PNG file (incomplete checksum in b'IHDR')"), "truncated PNG: "),
        (KeyError(7), "malformed PNG header: "),
        (ZeroDivisionError("division by zero"), "malformed PNG header: "),
        (ValueError("invalid literal for int() with base 10: b'x'"), "malformed PNG header: "),
        (SyntaxError("not a PNG file"), "not a readable PNG header: not a PNG file"),
        (OSError("cannot identify image file"), "not a readable PNG header: cannot identify"),
    ],
)
def test_library_errors_become_reasons_in_the_files_terms(exc: BaseException, want: str) -> None:
    from tokenmeter._probe._reasons import reason

    got = reason(exc, "PNG", 8, "IHDR", prefix="not a readable PNG header: ")
    assert got.startswith(want)
    assert not RAW.search(got)


def test_an_unexpected_error_in_a_video_reader_is_reworded(monkeypatch: pytest.MonkeyPatch) -> None:
    # The readers' last nets: a Python error from inside a reader (here a struct.error
    # while the streams are read) must not surface with its own text.
    from tokenmeter._probe import video

    def broken(*a: object, **k: object) -> None:
        struct.unpack(">I", b"")

    monkeypatch.setattr(video, "_read_streams", broken)
    with pytest.raises(CorruptMediaError) as e:
        tm.probe(DECLARED["webm"]())
    assert str(e.value).startswith("<bytes>: truncated matroska: ")
    assert not RAW.search(str(e.value))


def test_the_probes_last_net_rewords_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenmeter._probe import image

    def broken(*a: object, **k: object) -> None:
        [][1]  # an IndexError from deep inside a reader

    monkeypatch.setattr(image, "probe_image", broken)
    with pytest.raises(CorruptMediaError) as e:
        tm.probe(mf.image("PNG", (4, 4)))
    assert str(e.value).startswith("<bytes>: truncated PNG: ")
    assert not RAW.search(str(e.value))
