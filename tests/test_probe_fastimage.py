"""The JPEG/PNG fast path (``_probe/fastimage.py``) reports exactly what the Pillow path does.

Every case is probed twice — with the fast path, and with it switched off so that Pillow's
plugin parses the header as before — and the two outcomes must be equal: the same
``ImageInfo`` field for field, or the same ``ProbeError`` class and message. The fast
parser's own answer is also checked directly (it must equal the Pillow path's fields or be
"don't know"), and for the files it is meant to read, that it did answer.

Cases: every JPEG/PNG variant the tests can make (all 8 orientations in both EXIF byte
orders, progressive, grey/CMYK, restart markers, APP segments of many sizes across the read
windows, EXIF thumbnails, MPO, every SOF type, fill bytes, APNG, 16-bit, interlaced, every
PNG bit depth and colour type, text and ICC chunks, declared sizes beyond the
decompression-bomb limit, truncations at every byte of the header), the JPEGs and PNGs that
installed packages ship, and mutated files (a seeded random loop and a hypothesis property).
"""

from __future__ import annotations

import contextlib
import io
import os
import random
import struct
import warnings
import zlib
from collections.abc import Callable, Iterator
from importlib import util
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("PIL")

from PIL import Image, ImageFile, PngImagePlugin

import mediafactory as mf
import tokenmeter as tm
from test_probe_fuzz import mutate
from tokenmeter._probe import _DEFAULT_LIMITS, _source, image
from tokenmeter._probe._source import open_source
from tokenmeter._probe.sniff import HEAD_BYTES, sniff
from tokenmeter.errors import ProbeError, ProbeTimeoutError

_ON = frozenset({"JPEG", "PNG"})
Outcome = Any  # an ImageInfo, or (ProbeError class, message)


@contextlib.contextmanager
def _fast_path(on: bool) -> Iterator[None]:
    saved = image._FAST_FORMATS
    image._FAST_FORMATS = _ON if on else frozenset()
    try:
        yield
    finally:
        image._FAST_FORMATS = saved


def outcome(source: Any, *, fast: bool, **limits: Any) -> Outcome:
    """What ``tm.probe`` gives, with or without the fast path.

    Pillow warns about some malformed headers (an invalid APNG frame count, a bad MP
    index, corrupt EXIF) and goes on; pytest turns warnings into errors, which would make
    the reference fail where a user's process does not. Both paths run as in a user's
    process."""
    with _fast_path(fast), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return tm.probe(source, **limits)
        except ProbeError as exc:
            return type(exc), str(exc)


def fast_answer(source: Any) -> tuple[int, int, int, int, str] | None:
    """The fast parser's own answer (stored size, frames, orientation, format), or None."""
    with open_source(source, _DEFAULT_LIMITS) as g:
        head = g.pread(0, HEAD_BYTES)
        route = sniff(head)
        if route is None or route.fmt not in _ON:
            return None  # not a JPEG/PNG (a truncation or mutation made it something else)
        return image._fast(g, route.fmt, head)


def check_same(source: Any, fast: bool | None = None) -> Outcome:
    """Assert that both paths agree on ``source``, and (when ``fast`` is given) whether the
    fast parser answered; returns the outcome."""
    ref = outcome(source, fast=False)
    got = outcome(source, fast=True)
    assert got == ref
    answer = fast_answer(source)
    if answer is not None:
        assert isinstance(ref, tm.ImageInfo), f"fast path answered {answer}, Pillow: {ref}"
        w, h, frames, orientation, name = answer
        shown = (h, w) if orientation >= 5 else (w, h)
        assert (*shown, frames, orientation, name) == (
            ref.width,
            ref.height,
            ref.frames,
            ref.orientation,
            ref.format,
        )
    if fast is not None:
        assert (answer is not None) == fast, f"fast path answered: {answer}; Pillow: {ref}"
    return ref


# -- building blocks -----------------------------------------------------------------------


def _seg(marker: int, payload: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def _segments(data: bytes) -> list[tuple[int, int, int]]:
    """(offset, marker, length) of each JPEG segment up to SOS (an independent walk)."""
    out, pos = [], 2
    while pos + 4 <= len(data):
        marker, length = data[pos + 1], int.from_bytes(data[pos + 2 : pos + 4], "big")
        out.append((pos, marker, length))
        if marker == 0xDA:
            break
        pos += 2 + length
    return out


def _at(data: bytes, marker: int) -> int:
    return next(p for p, m, _ in _segments(data) if m == marker)


def _jpeg(size: tuple[int, int] = (40, 30), **save: Any) -> bytes:
    mode = save.pop("mode", "RGB")
    buf = io.BytesIO()
    im = Image.new(mode, size, (10, 200, 30, 0)[: len(mode)] if mode != "L" else 80)
    im.save(buf, "JPEG", **save)
    return buf.getvalue()


def _exif(orientation: int, endian: str) -> bytes:
    """An EXIF block (with the ``Exif\\0\\0`` prefix) in either byte order, with tags
    before and after Orientation."""
    exif = Image.Exif()
    exif[0x010F] = "maker"
    exif[0x0112] = orientation
    exif[0x0131] = "software"
    exif.endian = endian  # type: ignore[attr-defined]
    return exif.tobytes()


def _exif_with_thumbnail(orientation: int, endian: str, thumb: bytes, ifd0_last: bool) -> bytes:
    """A camera-style EXIF block: IFD0, IFD1 pointing at a JPEG thumbnail — or the
    thumbnail first and IFD0 after it, so IFD0 is far from the segment start."""
    e = "<" if endian == "II" else ">"

    def ifd(entries: list[tuple[int, int, int, bytes]], nxt: int) -> bytes:
        body = b"".join(struct.pack(e + "HHI", t, ty, n) + v for t, ty, n, v in entries)
        return struct.pack(e + "H", len(entries)) + body + struct.pack(e + "I", nxt)

    size0, size1 = 2 + 12 * 3 + 4, 2 + 12 * 2 + 4
    if ifd0_last:
        thumb_at, ifd1_at, ifd0_at = 8, 8 + len(thumb), 8 + len(thumb) + size1
    else:
        ifd0_at, ifd1_at, thumb_at = 8, 8 + size0, 8 + size0 + size1
    ifd0 = ifd(
        [
            (0x010F, 2, 4, b"Cam\x00"),
            (0x0112, 3, 1, struct.pack(e + "HH", orientation, 0)),
            (0x0131, 2, 4, b"sw\x00\x00"),
        ],
        ifd1_at,
    )
    offset, length = struct.pack(e + "I", thumb_at), struct.pack(e + "I", len(thumb))
    ifd1 = ifd([(0x0201, 4, 1, offset), (0x0202, 4, 1, length)], 0)
    head = (b"II*\x00" if e == "<" else b"MM\x00*") + struct.pack(e + "I", ifd0_at)
    body = thumb + ifd1 + ifd0 if ifd0_last else ifd0 + ifd1 + thumb
    return b"Exif\x00\x00" + head + body


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _before_idat(png: bytes, extra: bytes) -> bytes:
    i = png.index(b"IDAT") - 4
    return png[:i] + extra + png[i:]


def _png(size: tuple[int, int] = (40, 30), mode: str = "RGB", **save: Any) -> bytes:
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG", **save)
    return buf.getvalue()


def _png_header(
    w: int, h: int, depth: int = 8, colour: int = 2, interlace: int = 0, extra: bytes = b""
) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace)
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + extra
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


# -- JPEG ------------------------------------------------------------------------------------

SIZES = [(1, 1), (7, 3), (40, 30), (333, 77)]


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("mode", ["RGB", "L", "CMYK"])
@pytest.mark.parametrize("progressive", [False, True])
def test_jpeg_modes_and_progressive(size: tuple[int, int], mode: str, progressive: bool) -> None:
    data = _jpeg(size, mode=mode, progressive=progressive, optimize=progressive)
    assert (0xC2 if progressive else 0xC0) in {m for _, m, _ in _segments(data)}
    ref = check_same(data, fast=True)
    assert (ref.width, ref.height, ref.format) == (*size, "JPEG")


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("endian", ["<", ">"])
def test_jpeg_orientation_both_byte_orders(orientation: int, endian: str) -> None:
    exif = _exif(orientation, endian)
    assert exif[6:8] == (b"II" if endian == "<" else b"MM")
    data = _jpeg((40, 30), exif=exif)
    ref = check_same(data, fast=True)
    assert ref.orientation == orientation
    assert (ref.width, ref.height) == ((30, 40) if orientation >= 5 else (40, 30))


@pytest.mark.parametrize("orientation", [1, 6, 8])
@pytest.mark.parametrize("endian", ["II", "MM"])
@pytest.mark.parametrize("thumb_size", [200, 5_000, 60_000])
@pytest.mark.parametrize("ifd0_last", [False, True])
def test_jpeg_exif_thumbnail(
    orientation: int, endian: str, thumb_size: int, ifd0_last: bool
) -> None:
    # A thumbnail is a whole JPEG (SOI, SOF…) inside the APP1 segment: the walk must skip
    # it by the segment length. IFD0 after a large thumbnail is beyond the first read.
    thumb = _jpeg((16, 12))
    thumb += b"\x00" * max(thumb_size - len(thumb), 0)
    exif = _exif_with_thumbnail(orientation, endian, thumb, ifd0_last)
    data = _jpeg((50, 20), exif=exif)
    ref = check_same(data, fast=True)
    assert ref.orientation == orientation


def test_jpeg_restart_markers_comment_dpi_xmp() -> None:
    for save in (
        {"restart_marker_rows": 1},
        {"restart_marker_blocks": 3, "progressive": True},
        {"comment": b"hello"},
        {"dpi": (300, 300)},
        {"xmp": b"<x:xmpmeta/>"},
    ):
        data = _jpeg((64, 48), **save)
        markers = {m for _, m, _ in _segments(data)}
        if "restart_marker_rows" in save or "restart_marker_blocks" in save:
            assert 0xDD in markers  # DRI
        check_same(data, fast=True)


@pytest.mark.parametrize("n", [1, 100, 3_000, 65_519, 65_520, 200_000])
def test_jpeg_icc_profiles(n: int) -> None:
    data = _jpeg((20, 10), icc_profile=bytes(range(256)) * (n // 256) + b"x" * (n % 256))
    assert sum(m == 0xE2 for _, m, _ in _segments(data)) == -(-n // 65_519)
    check_same(data, fast=True)


def _app_sizes() -> list[int]:
    # Around the sniffer's first 1024 bytes, the 4 KiB read windows, and the extremes.
    return [0, 1, 2, 14, 100, *range(985, 1040, 3), *range(4060, 4110, 7), 65_000, 65_533]


@pytest.mark.parametrize("marker", [0xE0, 0xE1, 0xE3, 0xEB, 0xEF, 0xFE])
def test_jpeg_segments_of_many_sizes(marker: int) -> None:
    # A segment of each size spliced in front of the EXIF block, so that the EXIF, the
    # tables and the SOF fall on every side of each read boundary.
    base = _jpeg((40, 30), exif=_exif(6, "<"))
    for n in _app_sizes():
        data = base[:2] + _seg(marker, b"\x00" * n) + base[2:]
        ref = check_same(data, fast=True)
        assert ref.orientation == 6


def test_jpeg_fill_bytes() -> None:
    base = _jpeg((40, 30), exif=_exif(3, ">"))
    for marker in (0xE1, 0xDB, 0xC0, 0xC4, 0xDA):
        at = _at(base, marker)
        for k in (1, 2, 7):
            data = base[:at] + b"\xff" * k + base[at:]
            assert check_same(data, fast=True).orientation == 3


@pytest.mark.parametrize(
    "sof", [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF]
)
def test_jpeg_every_sof_type(sof: int) -> None:
    # Progressive, lossless, hierarchical and arithmetic-coded frame headers carry the
    # size the same way; Pillow opens each (it does not decode here).
    base = bytearray(_jpeg((123, 45)))
    base[_at(bytes(base), 0xC0) + 1] = sof
    ref = check_same(bytes(base), fast=True)
    assert (ref.width, ref.height) == (123, 45)


def test_jpeg_frame_headers_pillow_refuses_or_rereads() -> None:
    base = _jpeg((123, 45))
    sof = _at(base, 0xC0)
    dhp = bytearray(base)
    dhp[sof + 1] = 0xDE  # DHP: Pillow reads it as a frame header too; left to it
    assert isinstance(check_same(bytes(dhp), fast=False), tm.ImageInfo)
    # 12/16-bit samples, a zero height or width, 2 or 5 components: Pillow refuses.
    for at, value in ((4, b"\x0c"), (4, b"\x10"), (5, b"\x00\x00"), (7, b"\x00\x00"), (9, b"\x02")):
        bad = bytearray(base)
        bad[sof + at : sof + at + len(value)] = value
        assert isinstance(check_same(bytes(bad), fast=False), tuple)
    # A second frame header: Pillow keeps the last one.
    length = int.from_bytes(base[sof + 2 : sof + 4], "big")
    first = bytearray(base[sof : sof + 2 + length])
    first[5:9] = struct.pack(">HH", 9, 9)
    ref = check_same(base[:sof] + bytes(first) + base[sof:], fast=False)
    assert (ref.width, ref.height) == (123, 45)


def test_jpeg_sof_component_triples() -> None:
    # A frame header whose component list does not tile into triples is an IndexError
    # inside Pillow's parser; one byte short of a triple likewise.
    base = _jpeg((30, 20))
    sof = _at(base, 0xC0)
    length = int.from_bytes(base[sof + 2 : sof + 4], "big")
    for extra in (b"\x00", b"\x00\x11", b"\x04\x11\x00"):
        seg = _seg(0xC0, base[sof + 4 : sof + 2 + length] + extra)
        data = base[:sof] + seg + base[sof + 2 + length :]
        check_same(data, fast=len(extra) == 3)


def test_jpeg_photoshop_segments() -> None:
    res = struct.pack(">IHHIHH", 72 << 16, 1, 1, 72 << 16, 1, 1)
    good = b"Photoshop 3.0\x00" + b"8BIM\x03\xed\x00\x00" + struct.pack(">I", len(res)) + res
    good += b"8BIM\x04\x04\x03abc" + struct.pack(">I", 3) + b"iptc\x00"
    base = _jpeg((30, 20))
    cases = {
        good: True,
        b"Photoshop 3.0\x00": True,
        b"Photoshop 3.0\x008BIM\x04\x04": False,  # Pillow: IndexError on the name length
        b"Photoshop 3.0\x008BIM\x04": True,  # struct.error on the id, caught by Pillow
        b"Photoshop 3.0\x008BIM\x03\xed\x00\x00\x00\x00\x00\x02ab8BIM\x04\x04": True,
    }
    for payload, fast in cases.items():
        check_same(base[:2] + _seg(0xED, payload) + base[2:], fast=fast)


def test_jpeg_app_segments_pillow_reads_into() -> None:
    base = _jpeg((30, 20))
    cases = [
        (_seg(0xE0, b"JFIF\x00\x01"), False),  # too short for the version: Pillow raises
        (_seg(0xE0, b"JFIF\x00\x01\x02"), True),
        (_seg(0xEE, b"Adobe\x00"), False),
        (_seg(0xEE, b"Adobe\x00\x64"), True),
        (_seg(0xE2, b"ICC_PROFILE\x00\x01"), False),  # Pillow's SOF handler fails on it
        (_seg(0xE2, b"ICC_PROFILE\x00\x01\x01"), True),
        (_seg(0xE2, b"MPF\x00" + b"\x00" * 40), False),  # multi-picture: Pillow decides
        (_seg(0xE1, b"Exif\x00\x00") + _seg(0xE1, _exif(6, "<")), False),  # concatenated
        (_seg(0xE1, b"Exif\x00\x00II*\x00\x08"), True),  # a short EXIF: orientation 1
        (_seg(0xDB, b"\x00" + b"\x01" * 63), False),  # a partial quantization table
        (_seg(0xDB, b"\x10" + b"\x01" * 128), True),  # a 16-bit one
        (_seg(0xFE, b""), True),
        (b"\x00", False),  # junk between segments (Pillow skips it)
        (b"\xff\x00", False),
        (b"\xff\xd8", False),  # a second SOI
        (b"\xff\x01", False),  # TEM: Pillow: "no marker found"
        (_seg(0xC4, b""), True),
    ]
    dqt = _at(base, 0xDB)  # after the JFIF segment
    for extra, fast in cases:
        check_same(base[:dqt] + extra + base[dqt:], fast=fast)


def test_mpo_is_left_to_pillow() -> None:
    # A multi-picture file (MPO, also Ultra HDR gain maps) is decided by Pillow: format MPO
    # and its frame count. Frames do not change what an image costs (count_image uses the
    # size), but ImageInfo.frames keeps reporting them as before.
    for frames in (2, 3):
        ref = check_same(mf.image("MPO", (21, 13), frames=frames), fast=False)
        assert (ref.format, ref.frames) == ("MPO", frames)


@pytest.mark.parametrize(("w", "h"), [(65535, 65535), (60000, 2), (16384, 16384)])
def test_jpeg_declared_sizes_beyond_the_bomb_limit(w: int, h: int) -> None:
    data = bytearray(_jpeg((64, 48), exif=_exif(6, "<")))
    sof = _at(bytes(data), 0xC0)
    data[sof + 5 : sof + 9] = struct.pack(">HH", h, w)
    ref = check_same(bytes(data), fast=True)
    assert (ref.width, ref.height) == (h, w)  # orientation 6
    assert ref.decompression_bomb == (w * h > Image.MAX_IMAGE_PIXELS)


def test_jpeg_exif_after_the_frame_header_at_the_64k_boundary() -> None:
    # The Pillow path parses the first 64 KiB; Pillow's parser stops quietly at the end
    # of its input, so a segment boundary at exactly 64 KiB between the SOF and the start
    # of scan used to hide an EXIF block after it (orientation 1). It re-reads the file
    # now, and both paths see the EXIF block.
    base = _jpeg((40, 30))
    dht = _at(base, 0xC4)
    pad = 65_536 - dht - 4
    data = base[:dht] + _seg(0xFE, b"c" * pad) + _seg(0xE1, _exif(6, "<")) + base[dht:]
    assert _at(data, 0xE1) == 65_536
    ref = check_same(data, fast=True)
    assert (ref.width, ref.height, ref.orientation) == (30, 40, 6)


def test_jpeg_truncated_at_every_byte_of_the_header() -> None:
    data = _jpeg((40, 30), exif=_exif(8, ">"), icc_profile=b"p" * 300, comment=b"c")
    sos = _at(data, 0xDA)
    for cut in range(1, sos + 40):
        check_same(data[:cut], fast=None)
    assert check_same(data[: sos + 40], fast=True).orientation == 8


# -- PNG ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "I;16"])
@pytest.mark.parametrize("size", SIZES)
def test_png_modes(mode: str, size: tuple[int, int]) -> None:
    ref = check_same(_png(size, mode), fast=True)
    assert (ref.width, ref.height, ref.format) == (*size, "PNG")


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 8, 16])
@pytest.mark.parametrize("colour", range(7))
@pytest.mark.parametrize("interlace", [0, 1])
def test_png_every_depth_and_colour_type(depth: int, colour: int, interlace: int) -> None:
    # Pillow opens the pairs it has a mode for; the others are "not identified".
    data = _png_header(5000, 3, depth, colour, interlace)
    ok = (depth, colour) in PngImagePlugin._MODES
    ref = check_same(data, fast=ok)
    assert isinstance(ref, tm.ImageInfo) == ok


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("endian", ["<", ">"])
def test_png_orientation_both_byte_orders(orientation: int, endian: str) -> None:
    early = _png((40, 30), exif=_exif(orientation, endian))
    assert early.index(b"eXIf") < early.index(b"IDAT")
    assert check_same(early, fast=True).orientation == orientation
    plain = _png((40, 30))
    iend = plain.rindex(b"IEND") - 4
    late = plain[:iend] + _chunk(b"eXIf", _exif(orientation, endian)[6:]) + plain[iend:]
    ref = check_same(late, fast=True)
    assert ref.orientation == orientation


@pytest.mark.parametrize("frames", [2, 3, 5])
@pytest.mark.parametrize("default_image", [False, True])
def test_apng(frames: int, default_image: bool) -> None:
    data = mf.image("PNG", (21, 13), frames=frames, default_image=default_image, disposal=1)
    ref = check_same(data, fast=True)
    with Image.open(io.BytesIO(data)) as im:
        assert ref.frames == im.n_frames


def test_apng_chunks_pillow_checks() -> None:
    base = mf.image("PNG", (21, 13), frames=3)
    actl = base.index(b"acTL") - 4
    fctl = base.index(b"fcTL") - 4
    n = int.from_bytes(base[fctl : fctl + 4], "big")
    fc = bytearray(base[fctl + 8 : fctl + 8 + n])
    cases: list[tuple[bytes, bool]] = []
    for frames in (0, 0x80000001, 1):  # Pillow warns and drops the animation for 0 and 2**31+1
        actl_chunk = _chunk(b"acTL", struct.pack(">II", frames, 0))
        cases.append((base[:actl] + actl_chunk + base[actl + 20 :], frames == 1))
    cases.append((_before_idat(base, _chunk(b"acTL", struct.pack(">II", 2, 0))), False))  # twice
    for offset, value in ((0, 5), (4, 99), (12, 1)):  # sequence, width, x offset
        bad = bytearray(fc)
        bad[offset : offset + 4] = struct.pack(">I", value)
        cases.append((base[:fctl] + _chunk(b"fcTL", bytes(bad)) + base[fctl + 12 + n :], False))
    cases.append((base[:fctl] + _chunk(b"fcTL", bytes(fc[:20])) + base[fctl + 12 + n :], False))
    for data, fast in cases:
        check_same(data, fast=fast)


def test_png_text_and_icc_chunks() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "plain")
    info.add_text("Title", "compressed " * 100, zip=True)
    info.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta/>", "en", "XMP")
    info.add_itxt("Description", "zipped ✓ " * 200, "fr", "Desc", zip=True)
    data = _png((30, 20), pnginfo=info, icc_profile=b"icc" * 2000, dpi=(144, 144))
    for kind in (b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"pHYs"):
        assert kind in data
    check_same(data, fast=True)
    # Keys Pillow's own open reads back from info: left to Pillow.
    for key in ("exif", "bbox", "default_image"):
        info = PngImagePlugin.PngInfo()
        info.add_text(key, "1")
        check_same(_png((30, 20), pnginfo=info), fast=False)


@pytest.mark.parametrize(
    ("chunk", "fast"),
    [
        (_chunk(b"gAMA", struct.pack(">I", 45455)), True),
        (_chunk(b"gAMA", b"\x00\x01"), False),
        (_chunk(b"cHRM", b"\x00" * 32), True),
        (_chunk(b"cHRM", b"\x00" * 31), False),
        (_chunk(b"sRGB", b"\x00"), True),
        (_chunk(b"sRGB", b""), False),
        (_chunk(b"pHYs", b"\x00" * 9), True),
        (_chunk(b"pHYs", b"\x00" * 8), False),
        (_chunk(b"tRNS", b"\x00\x01\x00\x02\x00\x03"), True),
        (_chunk(b"tRNS", b"\x00\x01"), False),  # truecolour needs 6 bytes
        (_chunk(b"bKGD", b"\x00" * 6) + _chunk(b"tIME", b"\x07\xe9\x01\x01\x00\x00\x00"), True),
        (_chunk(b"iCCP", b"name\x00\x01xx"), False),  # unknown compression method
        (_chunk(b"iCCP", b"name\x00"), False),
        (_chunk(b"iCCP", b"name\x00\x00not zlib"), True),  # Pillow ignores a zlib error
        (_chunk(b"zTXt", b"k\x00\x05"), False),
        (_chunk(b"iTXt", b"k\x00\x01\x00en\x00K\x00not zlib"), True),
        (_chunk(b"iTXt", b"k\x00\x00\x00\xff\xfe\x00K\x00v"), True),  # bad UTF-8: ignored
        (_chunk(b"ab_c", b"x"), False),  # Pillow accepts the type; left to it
        (_chunk(b"ab c", b"x"), False),  # broken PNG
        (_chunk(b"prVt", b"x")[:-1] + b"\x00", False),  # bad CRC
        (_chunk(b"IEND", b""), False),  # no image data
        (_chunk(b"IHDR", struct.pack(">IIBBBBB", 3, 3, 8, 2, 0, 0, 0)), False),  # twice
        (_chunk(b"fdAT", b"\x00" * 8), False),
    ],
)
def test_png_chunks_pillow_checks(chunk: bytes, fast: bool) -> None:
    check_same(_before_idat(_png((30, 20)), chunk), fast=fast)


def test_png_chunks_of_many_sizes() -> None:
    base = _png((40, 30), exif=_exif(7, "<"))
    for n in [0, 1, *range(960, 1010, 4), *range(4050, 4100, 9), 70_000]:
        data = base[:33] + _chunk(b"prVt", b"\x01" * n) + base[33:]
        assert check_same(data, fast=True).orientation == 7


@pytest.mark.parametrize(("w", "h"), [(65535, 66601), (2**31 - 1, 2), (1, 2**32 - 1)])
def test_png_declared_sizes_beyond_the_bomb_limit(w: int, h: int) -> None:
    ref = check_same(_png_header(w, h), fast=True)
    assert (ref.width, ref.height) == (w, h)
    assert ref.decompression_bomb == (w * h > Image.MAX_IMAGE_PIXELS)
    check_same(_png_header(0, h), fast=False)


def test_png_truncated_at_every_byte_of_the_header() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("k", "v", "en", "K")
    data = _png((30, 20), pnginfo=info, exif=_exif(5, ">"), icc_profile=b"p" * 100)
    idat = data.index(b"IDAT")
    for cut in range(1, idat + 10):
        check_same(data[:cut], fast=None)
    assert check_same(data[: idat + 10], fast=True).orientation == 5


def test_png_pillow_settings_are_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    # Applications may change Pillow's module settings; the fast path follows them.
    data = _before_idat(_png((30, 20)), _chunk(b"prVt", b"x")[:-1] + b"\x00")  # bad CRC
    icc = _png((30, 20), icc_profile=b"icc" * 1000)
    check_same(icc, fast=True)
    monkeypatch.setattr(PngImagePlugin, "MAX_TEXT_CHUNK", 100)
    assert isinstance(check_same(icc, fast=False), tuple)  # Pillow: too large
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    assert isinstance(check_same(data, fast=False), tm.ImageInfo)  # CRC no longer checked


# -- bounds, and what installed packages ship ----------------------------------------------


def test_byte_bound_still_counts_the_fast_path() -> None:
    thumb = _jpeg((16, 12)) + b"\x00" * 50_000
    data = _jpeg((50, 20), exif=_exif_with_thumbnail(6, "II", thumb, ifd0_last=True))
    ref = outcome(data, fast=False, max_bytes=4000)
    assert outcome(data, fast=True, max_bytes=4000) == ref
    assert ref[0] is ProbeError
    assert "max_bytes" in ref[1]
    assert outcome(data, fast=True, max_bytes=60_000).orientation == 6


def test_time_bound_still_applies_to_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    thumb = _jpeg((16, 12)) + b"\x00" * 50_000
    data = _jpeg((50, 20), exif=_exif_with_thumbnail(6, "II", thumb, ifd0_last=True))
    for fast in (True, False):
        # The clock: read at the guard's start, the first read and the check after it;
        # then the deadline has passed.
        clock = iter([0.0, 0.0, 0.0] + [100.0] * 1000)
        monkeypatch.setattr(_source.time, "monotonic", lambda clock=clock: next(clock))
        result = outcome(data, fast=fast, timeout=5)
        assert result[0] is ProbeTimeoutError


def _shipped() -> list[Path]:
    """JPEG/PNG/MPO files shipped by installed packages (and the interpreter's test data)."""
    out: list[Path] = []
    packages = ("llama_models", "models", "matplotlib", "PIL", "IPython", "distributed")
    for name in (*packages, "material", "mkdocs", "skimage", "imageio", "test"):
        try:
            spec = util.find_spec(name)
        except (ImportError, ValueError):
            continue
        for root in (spec.submodule_search_locations or []) if spec else []:
            for p in Path(root).rglob("*"):
                if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".mpo") and p.is_file():
                    out.append(p)
    return sorted(out)


SHIPPED = _shipped()


def test_images_shipped_by_installed_packages() -> None:
    if not SHIPPED:
        pytest.skip("no installed package ships JPEG/PNG files")
    answered = 0
    for path in SHIPPED:
        if path.read_bytes()[:3] not in (b"\xff\xd8\xff", b"\x89PN"):
            continue  # a misnamed file
        check_same(path)
        answered += fast_answer(path) is not None
    # They are ordinary files: the fast path reads every one.
    assert answered == sum(p.read_bytes()[:3] in (b"\xff\xd8\xff", b"\x89PN") for p in SHIPPED)


# -- mutated files ---------------------------------------------------------------------------

SEEDS: dict[str, Callable[[], bytes]] = {
    "jpeg-exif-le": lambda: _jpeg((17, 9), exif=_exif(6, "<")),
    "jpeg-exif-be-progressive": lambda: _jpeg((17, 9), exif=_exif(7, ">"), progressive=True),
    "jpeg-thumbnail": lambda: _jpeg(
        (17, 9), exif=_exif_with_thumbnail(8, "MM", _jpeg((8, 8)), ifd0_last=False)
    ),
    "jpeg-cmyk-icc-restart": lambda: _jpeg(
        (17, 9), mode="CMYK", icc_profile=b"p" * 40, restart_marker_rows=1, comment=b"c"
    ),
    "jpeg-grey-app-segments": lambda: (
        b"\xff\xd8"
        + _seg(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x01x")
        + _seg(0xE2, b"ICC_PROFILE\x00\x01\x01icc")
        + _jpeg((9, 5), mode="L")[2:]
    ),
    "png-exif": lambda: _png((17, 9), exif=_exif(6, "<")),
    "png-late-exif": lambda: mf.png_with_exif_after_idat((11, 5), 8),
    "apng": lambda: mf.image("PNG", (9, 7), frames=3),
    "apng-default-image": lambda: mf.image("PNG", (9, 7), frames=2, default_image=True),
    "png-text-icc": lambda: _png(
        (9, 7), "RGBA", icc_profile=b"icc" * 20, pnginfo=_pnginfo(), dpi=(72, 72)
    ),
    "png-palette-trns": lambda: _png((9, 7), "P", transparency=3),
    "png-16bit-interlaced": lambda: _png_header(9, 7, 16, 2, 1, _chunk(b"gAMA", b"\x00" * 4)),
}


def _pnginfo() -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_text("a", "b")
    info.add_text("z", "zz" * 10, zip=True)
    info.add_itxt("i", "ii", "en", "I", zip=True)
    return info


SEED_BYTES = {k: f() for k, f in SEEDS.items()}


def _cases_per_seed() -> int:
    n = int(os.environ.get("TOKENMETER_FUZZ_CASES", "150")) * 2
    if os.environ.get("HYPOTHESIS_PROFILE") == "thorough":
        n *= 10
    return n


@pytest.mark.parametrize("name", SEEDS)
def test_mutated_files_agree_with_pillow(name: str) -> None:
    data = SEED_BYTES[name]
    check_same(data, fast=True)  # the seed itself is read by the fast path
    rng = random.Random(f"tokenmeter-fastimage-{name}")
    donors = list(SEED_BYTES.values())
    answered = 0
    for _ in range(_cases_per_seed()):
        case = mutate(data, rng, donors)
        if case[:3] != b"\xff\xd8\xff" and case[:8] != b"\x89PNG\r\n\x1a\n":
            continue  # no longer a JPEG/PNG: another reader's business
        check_same(case)
        answered += fast_answer(case) is not None
    assert answered > 0  # many mutations leave the header readable


@given(
    name=st.sampled_from(sorted(SEEDS)),
    edits=st.lists(
        st.tuples(
            st.integers(0, 4000), st.sampled_from(["set", "insert", "delete"]), st.integers(0, 255)
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_mutation_property(name: str, edits: list[tuple[int, str, int]]) -> None:
    data = bytearray(SEED_BYTES[name])
    for pos, op, value in edits:
        pos %= len(data) + 1
        if op == "set" and pos < len(data):
            data[pos] = value
        elif op == "insert":
            data[pos:pos] = bytes([value])
        else:
            del data[pos : pos + 1 + value % 8]
    if bytes(data[:3]) == b"\xff\xd8\xff" or bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
        check_same(bytes(data))
