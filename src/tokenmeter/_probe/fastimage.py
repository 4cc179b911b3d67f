"""JPEG and PNG headers parsed directly: the fast path in front of Pillow.

Pillow's lazy open of a JPEG costs ~0.08 ms because ``JpegImagePlugin._open`` parses every
quantization table and marker in Python, one ``read`` call at a time; the probe needs only
the frame size and the EXIF orientation. The parsers here walk the same structure over
bytes already in memory (the sniffer's first KiB, then a few 4 KiB windows), and read only
what decides the answer: segment and chunk lengths, the SOF / IHDR fields, the IFD0 of the
EXIF block, the APNG frame count.

The contract is equality with the Pillow path (``image._pillow``) or no answer. Each
parser returns ``None`` — "don't know" — whenever the file is anything but a plainly
well-formed header: malformed, truncated, unusual (fill bytes aside, any byte between
segments, a second SOF, a multi-picture index, a PNG text chunk whose key Pillow keeps in
``info`` for its own use…), or where Pillow would raise or warn during its open. The caller
then runs the Pillow path, which gives the answer or the right ``ProbeError``. So every
check below mirrors one in Pillow's ``JpegImagePlugin`` / ``PngImagePlugin`` (13.x) that can
fail, and ``tests/test_probe_fastimage.py`` holds the two paths equal, field for field, on
every JPEG/PNG the tests can make or find installed, and on mutated files.

The parsers only read through the :class:`~tokenmeter._probe._source.Guard` (so the byte
and time bounds count every byte), never raise, and bound their own work (segments,
chunks, bytes); past those bounds they answer ``None``.
"""

from __future__ import annotations

import struct
import sys
import zlib
from typing import Any

from ._source import Guard

__all__ = ["ExifSlice", "jpeg", "png"]

#: Bytes read at a time once the walk leaves the bytes it has: the tables, SOF and
#: Huffman tables after a large EXIF segment fit in one window.
_WINDOW = 4096
#: Markers walked (fill bytes included) before giving up: real files have 5-30 segments.
_MAX_STEPS = 256
#: PNG chunks before IDAT walked, and bytes of chunk data read, before giving up.
_MAX_CHUNKS = 64
_MAX_CHUNK_BYTES = 1 << 20

#: The raw EXIF block as Pillow stores it in ``info["exif"]`` — or, for a JPEG whose
#: APP1 segment is not all in memory, a prefix of it holding all of IFD0 (what
#: :func:`~tokenmeter._probe.image.exif_orientation` reads), so the orientation is the same.
ExifSlice = bytes

# -- JPEG ---------------------------------------------------------------------------------

# What each marker byte (after 0xFF) means to the walk, one table lookup per segment.
_UNUSUAL, _SKIP, _SOF, _DQT, _SOS, _FILL, _APP0, _APP1, _APP2, _APP13, _APP14 = range(11)
_KIND = bytearray(256)  # _UNUSUAL: standalone markers (RSTn, SOI, EOI, TEM), DHP, JPGn…
# SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame header with the size.
for _m in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
    _KIND[_m] = _SOF
# Segments Pillow skips or keeps without looking inside: DHT, DAC, DNL, DRI, EXP, COM, and
# the APP segments it has no parser for.
for _m in (0xC4, 0xCC, 0xDC, 0xDD, 0xDF, 0xFE, *range(0xE3, 0xED), 0xEF):
    _KIND[_m] = _SKIP
_KIND[0xDB] = _DQT
_KIND[0xDA] = _SOS
_KIND[0xFF] = _FILL
_KIND[0xE0] = _APP0
_KIND[0xE1] = _APP1
_KIND[0xE2] = _APP2
_KIND[0xED] = _APP13
_KIND[0xEE] = _APP14
del _m


def jpeg(g: Guard, head: bytes) -> tuple[int, int, ExifSlice | None] | None:
    """``(width, height, exif)`` of a baseline/progressive/lossless/arithmetic JPEG as
    Pillow's JPEG plugin reports them (stored size from the SOF, ``info["exif"]``), or
    ``None`` when not sure — the caller then asks Pillow.

    Args:
        g: the guarded input (a JPEG by its first bytes).
        head: the input's first bytes (already read by the sniffer), or ``b""``.
    """
    size = g.size
    buf, base = head, 0
    pos = 2  # after SOI
    sof: tuple[int, int] | None = None
    exif: bytes | None = None
    kinds = _KIND
    for _ in range(_MAX_STEPS):
        off = pos - base
        avail = len(buf) - off
        if avail < 20 and avail < size - pos:
            # Enough for the marker, the length and an APP segment's identifier.
            buf, base, off = g.pread(pos, _WINDOW), pos, 0
            avail = len(buf)
        if avail < 4 or buf[off] != 0xFF:
            # Truncated, or a bound tripped (Pillow reports it); or junk between
            # segments, which Pillow skips byte by byte.
            return None
        kind = kinds[buf[off + 1]]
        if kind == _FILL:  # a fill byte: the marker starts at the next 0xFF
            pos += 1
            continue
        length = (buf[off + 2] << 8) | buf[off + 3]
        end = pos + 2 + length
        if length < 2 or end > size:
            return None  # Pillow: a negative read, or "Truncated File Read"
        if kind == _SKIP:
            pos = end
            continue
        if kind == _SOS:  # the header ends here
            if sof is None:
                return None  # no frame header: Pillow's "not identified"
            return sof[0], sof[1], exif
        if kind == _UNUSUAL:
            return None
        whole = kind <= _DQT  # SOF, DQT: the content decides
        if not whole:
            # An APP segment Pillow parses: its identifier (clamped to the segment, as
            # Pillow's startswith tests only the segment).
            tag = buf[off + 4 : min(end - base, off + 18)]
            if kind == _APP1:
                if tag[:6] == b"Exif\x00\x00":
                    if exif is not None:
                        return None  # a second EXIF segment: Pillow concatenates them
                    exif = buf[off + 4 : end - base]
                    if len(exif) < length - 2:
                        # Only IFD0 matters, not the thumbnail after it: read the rest
                        # of the segment only when the bytes at hand lack part of IFD0.
                        need = exif_ifd0_end(exif)
                        whole = need is None or need > len(exif)
            elif kind == _APP2:
                if tag[:4] == b"MPF\x00" or (tag[:12] == b"ICC_PROFILE\x00" and length < 16):
                    # A multi-picture index: Pillow decides JPEG or MPO and the frame
                    # count. A short ICC chunk makes Pillow's SOF handler fail.
                    return None
            elif kind == _APP13:
                whole = tag == b"Photoshop 3.0\x00"
            elif length < 9 and (tag[:4] == b"JFIF" if kind == _APP0 else tag[:5] == b"Adobe"):
                return None  # APP0 JFIF / APP14 Adobe: Pillow reads a version at offset 5
        if whole:
            if end > base + len(buf):
                buf, base = g.pread(pos, max(length + 2, _WINDOW)), pos
                if len(buf) < length + 2:
                    return None
            off = pos - base
            s = buf[off + 4 : off + 2 + length]
            if kind == _SOF:
                found = _sof(s)
                if found is None or sof is not None:
                    return None  # a bad frame header, or a second one (Pillow keeps the last)
                sof = found
            elif kind == _DQT:
                if not _dqt_ok(s):
                    return None
            elif kind == _APP13:
                if not _photoshop_ok(s):
                    return None
            else:
                exif = s
        pos = end
    return None


def _sof(s: bytes) -> tuple[int, int] | None:
    """(width, height) from a frame header as Pillow accepts it, else None."""
    n = len(s)
    # Pillow: 8-bit samples, 1/3/4 components, and component triples that tile the rest
    # (a partial triple is an IndexError in its layer loop); a zero size is "not
    # identified".
    if n < 6 or s[0] != 8 or s[5] not in (1, 3, 4) or (n - 6) % 3:
        return None
    w, h = (s[3] << 8) | s[4], (s[1] << 8) | s[2]
    return (w, h) if w and h else None


def _dqt_ok(s: bytes) -> bool:
    """Pillow's DQT handler raises unless the segment is whole 8- or 16-bit tables."""
    i, n = 0, len(s)
    while i < n:
        i += 65 if s[i] < 16 else 129
        if i > n:
            return False
    return True


def _photoshop_ok(s: bytes) -> bool:
    """False where Pillow's APP13 parser raises (an IndexError it does not catch); its
    struct errors end the parse quietly, and end this walk the same way."""
    n = len(s)
    offset = 14
    while s[offset : offset + 4] == b"8BIM":
        code = s[offset + 4 : offset + 6]
        offset += 6  # "8BIM", resource id
        if offset > n:
            return True
        if offset == n:
            return False  # the name length byte is past the end
        offset += 1 + s[offset]
        offset += offset & 1
        if offset + 4 > n:
            return True
        rsize = int.from_bytes(s[offset : offset + 4], "big")
        offset += 4
        if code == b"\x03\xed" and len(s[offset : offset + rsize]) < 14:
            return True  # ResolutionInfo too short: Pillow stops there
        offset += rsize
        offset += offset & 1
    return True


def exif_ifd0_end(raw: bytes) -> int | None:
    """How many leading bytes of ``raw`` (an EXIF block starting ``Exif\\0\\0``) the
    orientation reader looks at, if ``raw`` holds enough to tell; else None."""
    if len(raw) < 14:
        return None
    if raw[6:8] == b"II":
        order: Any = "little"
    elif raw[6:8] == b"MM":
        order = "big"
    else:
        return 14  # the reader stops at the byte order
    ifd = 6 + int.from_bytes(raw[10:14], order)
    if ifd + 2 > len(raw):
        return None
    count = min(int.from_bytes(raw[ifd : ifd + 2], order), 512)
    return ifd + 2 + 12 * count


# -- PNG ----------------------------------------------------------------------------------

# (bit depth, colour type) pairs Pillow opens (its _MODES); others leave it without a mode.
_MODES = frozenset(
    [(d, 0) for d in (1, 2, 4, 8, 16)]  # greyscale
    + [(8, 2), (16, 2)]  # truecolour
    + [(d, 3) for d in (1, 2, 4, 8)]  # palette
    + [(8, 4), (16, 4), (8, 6), (16, 6)]  # with alpha
)
# Chunks Pillow only checks for a minimum length.
_MIN_LEN = {b"gAMA": 4, b"cHRM": 32, b"sRGB": 1, b"pHYs": 9}
# Chunks Pillow has a handler for; any other it skips, and only its CRC can fail.
_HANDLED = frozenset(
    b"IHDR IDAT IEND PLTE tRNS gAMA cHRM sRGB pHYs iCCP tEXt zTXt iTXt eXIf acTL fcTL fdAT".split()
)
# Text keys that would overwrite what Pillow's own open reads back from ``info``.
_RESERVED_KEYS = frozenset(
    b"exif bbox default_image disposal blend duration loop interlace transparency".split()
)
_SAFEBLOCK = 1024 * 1024  # PIL.ImageFile.SAFEBLOCK: Pillow's MAX_TEXT_CHUNK default


def _load_truncated() -> bool:
    """Pillow's ``ImageFile.LOAD_TRUNCATED_IMAGES`` as the running process has set it: it
    turns several of the PNG plugin's checks off (an application may set it; it cannot
    have without importing Pillow)."""
    return bool(getattr(sys.modules.get("PIL.ImageFile"), "LOAD_TRUNCATED_IMAGES", False))


def _text_limits() -> tuple[int, int] | None:
    """Pillow's ``MAX_TEXT_CHUNK`` and ``MAX_TEXT_MEMORY`` as the running process has set
    them, or their defaults when the PNG plugin is not loaded."""
    plugin = sys.modules.get("PIL.PngImagePlugin")
    chunk = getattr(plugin, "MAX_TEXT_CHUNK", _SAFEBLOCK)
    memory = getattr(plugin, "MAX_TEXT_MEMORY", 64 * _SAFEBLOCK)
    if isinstance(chunk, int) and isinstance(memory, int):
        return chunk, memory
    return None


def _inflate_ok(data: bytes, limit: int) -> tuple[bool, bytes]:
    """Pillow's ``_safe_zlib_decompress``: (False, _) where it raises ValueError (more
    than ``limit`` bytes); a zlib error is (True, b"") as Pillow ignores it."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit)
    except zlib.error:
        return True, b""
    return (not d.unconsumed_tail), out


_CHUNK = struct.Struct(">I4s")
_IHDR = struct.Struct(">IIBBBBB")


def png(g: Guard, head: bytes) -> tuple[int, int, int, bytes | None, tuple[int, int]] | None:
    """``(width, height, frames, exif, (first IDAT offset, its length))`` of a PNG/APNG
    as Pillow's PNG plugin reports them at open (``info["exif"]`` from an ``eXIf`` chunk
    before the image data, ``None`` when there is none), or ``None`` when not sure.

    Args:
        g: the guarded input (a PNG by its signature).
        head: the input's first bytes (already read by the sniffer), or ``b""``.
    """
    if getattr(sys.modules.get("PIL.ImageFile"), "LOAD_TRUNCATED_IMAGES", False):
        return None  # see _load_truncated (inlined: this runs for every PNG)
    buf, base = head, 0
    pos = 8
    size = g.size
    ihdr: tuple[int, int, int] | None = None  # width, height, colour type
    if head[8:16] == b"\x00\x00\x00\rIHDR" and len(head) >= 33:
        # The IHDR every PNG starts with, read here rather than in the loop below.
        w, h, depth, colour, _, filt, _ = _IHDR.unpack_from(head, 16)
        if (
            zlib.crc32(head[12:29]) != int.from_bytes(head[29:33], "big")
            or not w
            or not h
            or filt
            or (depth, colour) not in _MODES
        ):
            return None  # the same checks as in the loop
        ihdr = w, h, colour
        pos = 33
    frames: int | None = None  # acTL's count
    seq: int | None = None  # the last fcTL sequence number
    bbox = False  # an fcTL came before the image data
    exif: bytes | None = None
    text = 0
    read = 0
    limits: tuple[int, int] | None = None
    for _ in range(_MAX_CHUNKS):
        off = pos - base
        if off + 8 > len(buf):
            buf, base, off = g.pread(pos, _WINDOW), pos, 0
            if len(buf) < 8:
                return None
        length, cid = _CHUNK.unpack_from(buf, off)
        # Pillow's chunk type test is \w{4}; an underscore (allowed there) is left to it.
        if not cid.isalnum() or cid == b"IEND" or cid == b"fdAT":
            return None  # Pillow: a broken PNG; or no image data before the end
        if cid == b"IDAT":
            if ihdr is None:
                return None
            if frames is not None and not bbox:
                frames += 1  # Pillow counts a default image outside the animation
            return ihdr[0], ihdr[1], frames or 1, exif, (pos, length)
        end = pos + 12 + length
        read += length
        if end > size or read > _MAX_CHUNK_BYTES:
            return None
        if end > base + len(buf):
            buf, base, off = g.pread(pos, max(length + 12, _WINDOW)), pos, 0
            if len(buf) < length + 12:
                return None
        # Pillow checks the CRC of every chunk before the image data.
        if zlib.crc32(buf[off + 4 : off + 8 + length]) != int.from_bytes(
            buf[off + 8 + length : off + 12 + length], "big"
        ):
            return None
        if cid == b"IHDR":
            if length < 13 or ihdr is not None:
                return None
            w, h, depth, colour, _, filt, _ = _IHDR.unpack_from(buf, off + 8)
            if not w or not h or filt or (depth, colour) not in _MODES:
                return None  # "not identified", "unknown filter category", or no mode
            ihdr = w, h, colour
        elif cid not in _HANDLED or cid == b"PLTE":
            pass  # Pillow skips (or keeps) it: only the CRC can fail
        elif cid == b"eXIf":
            exif = b"Exif\x00\x00" + buf[off + 8 : off + 8 + length]
        elif cid in _MIN_LEN:
            if length < _MIN_LEN[cid]:
                return None
        elif cid == b"tRNS":
            colour = ihdr[2] if ihdr is not None else -1
            if (colour == 0 and length < 2) or (colour == 2 and length < 6):
                return None
        elif cid == b"acTL":
            if length < 8 or frames is not None:
                return None
            frames = int.from_bytes(buf[off + 8 : off + 12], "big")
            if frames == 0 or frames > 0x80000000:
                return None  # Pillow warns and ignores the animation
        elif cid == b"fcTL":
            if length < 26:
                return None
            n, fw, fh, px, py = struct.unpack_from(">5I", buf, off + 8)
            if (seq is None and n != 0) or (seq is not None and n != seq + 1):
                return None  # Pillow: "APNG contains frame sequence errors"
            if ihdr is None or px + fw > ihdr[0] or py + fh > ihdr[1]:
                return None  # Pillow: "APNG contains invalid frames"
            seq = n
            bbox = True
        else:  # iCCP, tEXt, zTXt, iTXt
            if limits is None:
                limits = _text_limits()
                if limits is None:
                    return None
            used = _text(cid, buf[off + 8 : off + 8 + length], limits[0])
            if used is None:
                return None
            text += used
            if text > limits[1]:
                return None
        pos = end
    return None


def _text(cid: bytes, s: bytes, max_chunk: int) -> int | None:
    """Check an iCCP/tEXt/zTXt/iTXt chunk as Pillow parses it: the text memory it
    counts, or None where Pillow raises or keeps the key where it reads its own state."""
    if cid == b"iCCP":
        i = s.find(b"\x00")
        if i + 1 >= len(s) or s[i + 1] != 0:
            return None  # an IndexError, or an unknown compression method
        ok, _ = _inflate_ok(s[i + 2 :], max_chunk)
        return 0 if ok else None
    key, sep, v = s.partition(b"\x00")
    if key in _RESERVED_KEYS:
        return None
    if cid == b"tEXt":
        return len(v) if key else 0
    if cid == b"zTXt":
        if v and v[0] != 0:
            return None
        ok, out = _inflate_ok(v[1:], max_chunk)
        if not ok:
            return None
        return len(out) if key else 0
    # iTXt: flag, method, language, translated keyword, text.
    if not sep or len(v) < 2:
        return 0
    flag, method, rest = v[0], v[1], v[2:]
    parts = rest.split(b"\x00", 2)
    if len(parts) < 3:
        return 0
    value = parts[2]
    if flag:
        if method:
            return 0
        ok, value = _inflate_ok(value, max_chunk)
        if not ok:
            return None
    try:
        parts[0].decode("utf-8")
        parts[1].decode("utf-8")
        return len(value.decode("utf-8"))
    except UnicodeError:
        return 0
