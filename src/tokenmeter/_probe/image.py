"""Images: size as displayed, frame count and format, from the header only.

What is read, per format:

* JPEG / MPO, PNG / APNG, TIFF, AVIF, BMP, ICO, JPEG 2000, PSD, PPM, QOI, DDS, ICNS, SGI —
  Pillow's plugin for the sniffed format, called directly (its lazy open: it parses the
  header and never calls ``load()``). Calling the plugin rather than ``Image.open`` skips
  trying every other plugin and Pillow's decompression-bomb check, which would raise or warn
  for a size that we only want to *report*.
* GIF — walked here, block by block, without Pillow: Pillow's open allocates the declared
  canvas (32 ms for a 44-byte "bomb" GIF) and counts frames by reading every data block.
* WebP — walked here (RIFF chunks: ``VP8``/``VP8L``/``VP8X``, ``ANMF``, ``EXIF``): Pillow
  reads the whole file and builds an animation decoder with a full-size canvas.

EXIF orientation is applied to width/height exactly once: it is read from the raw EXIF
(JPEG APP1 as Pillow parsed it, PNG ``eXIf`` before *or after* the image data — found by a
chunk walk, because ``getexif()`` on a PNG decodes the whole image — WebP ``EXIF``, AVIF's
``irot``/``imir`` as Pillow reports them, the TIFF tag itself). Pillow's TIFF plugin
already swaps the size at open for orientations 5–8, so for TIFF the stored size is taken
from the IFD and the orientation applied once, like every other format.
"""

from __future__ import annotations

import importlib
import io
import struct
from typing import Any, Literal

from ..errors import CorruptMediaError, MissingDependencyError, UnsupportedFormatError
from ..media import ImageInfo
from . import fastimage
from ._reasons import reason
from ._source import Guard

__all__ = ["exif_orientation", "probe_image"]

# Pillow format id -> plugin module (imported on first use only).
_PLUGINS = {
    "JPEG": "JpegImagePlugin",
    "PNG": "PngImagePlugin",
    "TIFF": "TiffImagePlugin",
    "AVIF": "AvifImagePlugin",
    "BMP": "BmpImagePlugin",
    "ICO": "IcoImagePlugin",
    "JPEG2000": "Jpeg2KImagePlugin",
    "PSD": "PsdImagePlugin",
    "PPM": "PpmImagePlugin",
    "QOI": "QoiImagePlugin",
    "DDS": "DdsImagePlugin",
    "ICNS": "IcnsImagePlugin",
    "SGI": "SgiImagePlugin",
}
_DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's MAX_IMAGE_PIXELS default, if Pillow is absent

_factories: dict[str, Any] = {}


def _factory(fmt: str) -> Any:
    f = _factories.get(fmt)
    if f is None:
        try:
            from PIL import Image
        except ImportError:
            raise MissingDependencyError(
                f"reading {fmt} headers needs Pillow: pip install 'tokenmeter[media]'"
            ) from None
        importlib.import_module(f"PIL.{_PLUGINS[fmt]}")
        f = _factories[fmt] = Image.OPEN[fmt][0]
    return f


_pil_image: Any = None  # PIL.Image once imported; False when Pillow is not installed


def _max_pixels() -> int | None:
    # Read at every call (an application may change it); the module is looked up once, as
    # an import statement costs a microsecond here, a fifth of a JPEG header's parse.
    global _pil_image
    if _pil_image is None:
        try:
            from PIL import Image
        except ImportError:
            _pil_image = False
        else:
            _pil_image = Image
    if _pil_image is False:
        return _DEFAULT_MAX_PIXELS
    limit = _pil_image.MAX_IMAGE_PIXELS
    return int(limit) if limit else None


def probe_image(g: Guard, fmt: str, head: bytes = b"") -> ImageInfo:
    """Probe an image whose format was sniffed as ``fmt`` (a Pillow format id).

    Args:
        g: the guarded input.
        fmt: the sniffed Pillow format id.
        head: the input's first bytes, as the sniffer read them (saves the JPEG and PNG
            parsers a read); ``b""`` when not at hand.
    """
    if fmt == "GIF":
        w, h, frames, orientation, name = *_gif(g, head), 1, "GIF"
    elif fmt == "WEBP":
        w, h, frames, orientation = _webp(g, head)
        name = "WEBP"
    else:
        w, h, frames, orientation, name = _pillow(g, fmt, head)
    g.check()
    if w <= 0 or h <= 0:
        raise CorruptMediaError(f"{g.name}: {name} header declares a {w}x{h} image", source=g.name)
    limit = _max_pixels()
    if orientation >= 5:  # 5-8 transpose: the displayed width is the stored height
        w, h = h, w
    return ImageInfo(
        width=w,
        height=h,
        format=name,
        frames=max(frames, 1),
        orientation=orientation,
        decompression_bomb=limit is not None and w * h > limit,
        source=g.name,
    )


# -- Pillow formats -------------------------------------------------------------------


#: Formats whose header Pillow reads front to back and that fit, in practice, in the
#: first 64 KiB (JPEG) or 16 KiB: parsed from one read into memory (C-speed reads
#: instead of one Python call per marker), falling back to the guarded file when the
#: header is longer.
_PREFIX_FORMATS = {"JPEG", "PNG", "BMP", "QOI", "PPM", "SGI", "DDS"}
_PREFIX_BYTES = 65_536


def _open_with_pillow(g: Guard, fmt: str) -> Any:
    factory = _factory(fmt)
    if fmt in _PREFIX_FORMATS:
        # JPEG headers carry EXIF thumbnails and ICC profiles; the others are short.
        prefix = g.pread(0, _PREFIX_BYTES if fmt == "JPEG" else 16_384)
        try:
            im = factory(io.BytesIO(prefix), None)
        except Exception:
            if len(prefix) >= g.size:
                raise  # that was the whole file: its error is the answer
        else:
            # Pillow's JPEG parser stops quietly at the end of its input: a prefix that
            # ends between segments after the SOF would hide the segments (an EXIF
            # block) between it and the start of scan. The tile is set at SOS.
            if fmt != "JPEG" or im.tile or len(prefix) >= g.size:
                return im
    g.seek(0)
    return factory(g, None)


#: Formats parsed by :mod:`.fastimage` before (and instead of) Pillow. A module global so
#: that tests can switch the fast path off and compare it with the Pillow path.
_FAST_FORMATS = frozenset({"JPEG", "PNG"})


def _fast(g: Guard, fmt: str, head: bytes) -> tuple[int, int, int, int, str] | None:
    """The JPEG/PNG header parsed directly, as the Pillow path below would report it,
    or None when the parser is not sure (then Pillow decides)."""
    if fmt == "JPEG":
        jpeg = fastimage.jpeg(g, head)
        if jpeg is None:
            return None
        w, h, exif = jpeg
        return w, h, 1, (1 if exif is None else exif_orientation(exif)), "JPEG"
    png = fastimage.png(g, head)
    if png is None:
        return None
    w, h, frames, exif, first = png
    orientation = exif_orientation(exif) if exif is not None else _png_late_exif(g, first)
    return w, h, frames, orientation, "PNG"


def _pillow(g: Guard, fmt: str, head: bytes = b"") -> tuple[int, int, int, int, str]:
    try:
        if fmt in _FAST_FORMATS:
            fast = _fast(g, fmt, head)
            if fast is not None:
                return fast
        im = _open_with_pillow(g, fmt)
        w, h = im.size
        name = str(im.format or fmt)
        # Pillow's TIFF n_frames loads every page's tags and sets each page up; counting
        # the IFD chain is the same number for a fraction of the work.
        frames = _tiff_pages(g) if name == "TIFF" else int(getattr(im, "n_frames", 1) or 1)
        info = im.info
        orientation = 1
        if name == "TIFF":
            orientation = _valid(im.tag_v2.get(0x0112, 1))
            # Pillow's TIFF plugin already swaps the size for orientations 5-8 at open;
            # take the stored size, so that the orientation is applied once, below.
            w, h = int(im.tag_v2[256]), int(im.tag_v2[257])
        elif "exif" in info:
            orientation = exif_orientation(info["exif"])
        elif name == "PNG":
            first = _first_idat(im)
            orientation = _png_late_exif(g, first)
    except (MissingDependencyError, UnsupportedFormatError, CorruptMediaError):
        raise
    except Exception as exc:  # Pillow raises many kinds on bad input; all mean "corrupt"
        g.check()  # a crossed bound explains the failure better than Pillow's message
        if isinstance(exc, OSError) and "not supported" in str(exc):
            raise UnsupportedFormatError(f"{g.name}: {fmt}: {exc}", source=g.name) from None
        part = _header_part(fmt, g.size)
        if _cut_before_end_of_header(g, fmt):
            # Pillow words some truncations as something else ("Missing dimensions").
            why = f"truncated {fmt}: the header ends before {part} ({g.size} bytes)"
        else:
            why = reason(exc, fmt, g.size, part, prefix=f"not a readable {fmt} header: ")
        raise CorruptMediaError(f"{g.name}: {why}", source=g.name) from None
    return w, h, frames, orientation, name


def _cut_before_end_of_header(g: Guard, fmt: str) -> bool:
    """Whether the file visibly ends inside its header: a JPEG of at most 64 KiB without
    a start of scan, a TIFF whose first IFD runs past the end of the file."""
    if fmt == "JPEG":
        return g.size <= _PREFIX_BYTES and b"\xff\xda" not in g.pread(0, g.size)
    if fmt == "TIFF":
        head = g.pread(0, 16)
        if len(head) < 8 or head[:2] not in _TIFF_ORDER:
            return len(head) < 8
        e: Literal["little", "big"] = "little" if head[:2] == b"II" else "big"
        if head[2:4] in (b"+\x00", b"\x00+"):  # BigTIFF: 8-byte offsets and counts
            if len(head) < 16:
                return True
            ifd, count_size, entry, tail = int.from_bytes(head[8:16], e), 8, 20, 8
        else:
            ifd, count_size, entry, tail = int.from_bytes(head[4:8], e), 2, 12, 4
        raw = g.pread(ifd, count_size)
        if len(raw) < count_size:
            return True
        return ifd + count_size + entry * int.from_bytes(raw, e) + tail > g.size
    return False


#: What a header of each format had not reached when its data ran out.
_PARTS = {
    "JPEG": "the start of scan (SOS)",
    "TIFF": "the end of its first IFD",
    "BMP": "the end of the bitmap header",
    "ICO": "the end of the icon directory",
    "QOI": "the end of the 14-byte QOI header",
    "PPM": "the end of the PPM header (size and maximum value)",
    "PSD": "the end of the PSD header",
    "DDS": "the end of the 128-byte DDS header",
    "SGI": "the end of the 512-byte SGI header",
    "ICNS": "the end of the icon table",
    "JPEG2000": "the image header box",
    "AVIF": "the image properties",
}


def _header_part(fmt: str, size: int) -> str:
    if fmt == "PNG":
        # Signature (8), then IHDR: length, type, 13 bytes of data, CRC.
        return "IHDR" if size < 33 else "the image data (IDAT)"
    return _PARTS.get(fmt, "the end of the header")


def _valid(value: object) -> int:
    # A value outside 1..8 is ignored, as browsers and ImageOps.exif_transpose ignore it.
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


# (u16, u32, IFD entry head) readers per TIFF byte order.
_TIFF_ORDER = {
    b"II": (struct.Struct("<H"), struct.Struct("<I"), struct.Struct("<HH")),
    b"MM": (struct.Struct(">H"), struct.Struct(">I"), struct.Struct(">HH")),
}


def exif_orientation(raw: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0 in a raw EXIF block, or 1.

    Args:
        raw: a TIFF structure, optionally preceded by ``b"Exif\\0\\0"``.
    """
    # Offsets are taken from the TIFF header at ``o`` in place, rather than slicing the
    # prefix off: a camera's EXIF block (with its thumbnail) is up to 64 KiB.
    o = 6 if raw[:6] == b"Exif\x00\x00" else 0
    if len(raw) - o < 8:
        return 1
    readers = _TIFF_ORDER.get(raw[o : o + 2])
    if readers is None:
        return 1
    u16, u32, entry = readers
    try:
        p = o + u32.unpack_from(raw, o + 4)[0]
        (count,) = u16.unpack_from(raw, p)
        p += 2
        for _ in range(min(count, 512)):
            # Tag, type, then the count (read, like the value, only as far as it exists).
            tag, typ = entry.unpack_from(raw, p)
            u32.unpack_from(raw, p + 4)
            if tag == 0x0112:
                if typ == 3:  # SHORT
                    return _valid(u16.unpack_from(raw, p + 8)[0])
                if typ == 4:  # LONG, seen from a few writers
                    return _valid(u32.unpack_from(raw, p + 8)[0])
                return 1
            p += 12
    except struct.error:
        return 1
    return 1


_PNG_TAILS = (8_192, 65_536)


def _first_idat(im: Any) -> tuple[int, int] | None:
    """(chunk start, data length) of the first IDAT, as Pillow's open found it."""
    try:
        return int(im.tile[0][2]) - 8, int(im.png.im_idat)
    except (AttributeError, IndexError, TypeError, ValueError):
        return None


#: Tails up to this long are read whole rather than in pieces: each read costs ~2.5 us
#: here, as much as copying 16 KiB more.
_SMALL_TAIL = 16_384


def _png_late_exif(g: Guard, first: tuple[int, int] | None = None) -> int:
    """Orientation from an ``eXIf`` chunk after the image data (Pillow only sees one that
    comes before IDAT without decoding the image).

    Encoders write fixed-size IDAT chunks (the last one shorter), so the last IDAT is at
    a position that follows from the first's (``first``: its chunk offset and length):
    one or two reads find it and the chunks after it. Other layouts (APNG's ``fdAT``
    chunks): the chunks after the last IDAT are few and small, so the end of the file
    holds them — find the last IDAT header in the last 8 KiB (then 64 KiB) whose chunk
    chain ends exactly at IEND, then look at the chunks after it. A file whose last IDAT
    chunk starts earlier still has few, large IDAT chunks, and is walked from the start.
    """
    size = g.size
    # The end of the file read so far, [at, size): reused by every look below.
    at, tail = size, b""
    if size <= _SMALL_TAIL + 8:
        at, tail = 8, g.pread(8, size - 8)
        if b"eXIf" not in tail:
            return 1  # the whole file is at hand: no chain below can hold an eXIf chunk
    if first is not None and first[1] > 0 and first[0] >= 8:
        start, length = first
        step = length + 12
        last = start + max((size - start - 12) // step - 1, 0) * step
        for pos in (last + step, last, last - step):
            if pos < start or pos + 12 > size:
                continue
            if pos < at and size - pos <= _SMALL_TAIL:
                at, tail = pos, g.pread(pos, size - pos)
            hdr = tail[pos - at : pos - at + 8] if pos >= at else g.pread(pos, 8)
            n = int.from_bytes(hdr[:4], "big")
            if hdr[4:8] != b"IDAT" or n > length:
                continue
            after = pos + 12 + n
            if size - after > 1 << 20:
                break
            if after < at:
                at, tail = after, g.pread(after, size - after)
            found = _after_idat(tail, after - at)
            if found is not None:
                return found
    for span in _PNG_TAILS:  # small first: libpng writes 8 KiB IDAT chunks
        start = max(size - span, 8)
        if start < at:
            at, tail = start, g.pread(start, size - start)
        # The chain from the last IDAT header found to the end of the file (a later
        # IDAT would have been found first, so the chunks after it hold none).
        j = tail.rfind(b"IDAT", start - at)
        while j >= 4 + start - at:
            chain = _chain(tail, j - 4)
            if chain is not None:
                return _exif_in(tail, chain[1:])
            j = tail.rfind(b"IDAT", start - at, j)
        if start == 8:
            break
    return _png_walk(g)


def _after_idat(buf: bytes, pos: int) -> int | None:
    """The orientation in the chunks from ``pos`` to the end of ``buf`` if they tile it
    exactly, end at IEND and hold no IDAT (``pos`` is then just past the last IDAT);
    else None."""
    if len(buf) - pos == 12 and buf[pos : pos + 8] == b"\x00\x00\x00\x00IEND":
        return 1  # only IEND after the image data (what _chain would find, for less)
    chain = _chain(buf, pos) if pos <= len(buf) else None
    if chain is None or any(kind == b"IDAT" for kind, _, _ in chain):
        return None
    return _exif_in(buf, chain)


def _chain(buf: bytes, pos: int) -> list[tuple[bytes, int, int]] | None:
    """The chunks from ``pos`` to the end of ``buf`` if they tile it exactly and end at
    IEND: ``[(type, data_start, data_len), ...]``; else None."""
    out = []
    n = len(buf)
    while pos + 12 <= n:
        length = int.from_bytes(buf[pos : pos + 4], "big")
        kind = buf[pos + 4 : pos + 8]
        if length > n or not kind.isalpha():
            return None
        out.append((kind, pos + 8, length))
        pos += 12 + length
        if kind == b"IEND":
            return out if pos == n else None
    return None


def _exif_in(buf: bytes, chunks: list[tuple[bytes, int, int]]) -> int:
    for kind, start, length in chunks:
        if kind == b"eXIf":
            return exif_orientation(buf[start : start + length])
    return 1


def _png_walk(g: Guard) -> int:
    pos = 8
    size = g.size
    for _ in range(1_000_000):
        hdr = g.pread(pos, 8)
        if len(hdr) < 8:
            return 1
        length = int.from_bytes(hdr[:4], "big")
        kind = hdr[4:]
        if kind == b"eXIf":
            return exif_orientation(g.pread(pos + 8, min(length, 1 << 20)))
        if kind == b"IEND" or pos + 12 + length > size:
            return 1
        pos += 12 + length
    return 1


# -- TIFF pages -----------------------------------------------------------------------


def _tiff_pages(g: Guard) -> int:
    """The number of IFDs in the main chain (pages), following next-IFD offsets."""
    head = g.pread(0, 16)
    e = "<" if head[:2] == b"II" else ">"
    big = head[2:4] in (b"+\x00", b"\x00+")
    if big:
        count_fmt, entry, off_fmt = "Q", 20, "Q"
        (offset,) = struct.unpack_from(e + "Q", head, 8)
    else:
        count_fmt, entry, off_fmt = "H", 12, "I"
        (offset,) = struct.unpack_from(e + "I", head, 4)
    count_size = struct.calcsize(count_fmt)
    off_size = struct.calcsize(off_fmt)
    seen: set[int] = set()
    while offset and offset not in seen and offset < g.size and len(seen) < 1_000_000:
        seen.add(offset)
        raw = g.pread(offset, count_size)
        if len(raw) < count_size:
            break
        (n,) = struct.unpack(e + count_fmt, raw)
        nxt = g.pread(offset + count_size + entry * n, off_size)
        if len(nxt) < off_size:
            break
        (offset,) = struct.unpack(e + off_fmt, nxt)
    return max(len(seen), 1)


# -- GIF ------------------------------------------------------------------------------


#: Bytes read at a time by the GIF block walk.
_GIF_WINDOW = 65_536


def _gif(g: Guard, head: bytes = b"") -> tuple[int, int, int]:
    """(width, height, frames): the blocks walked from the logical screen descriptor to the
    trailer, counting image descriptors; the image data's sub-blocks are skipped by their
    length bytes, over 64 KiB reads at absolute offsets (a sub-block may run past the end
    of one read: the walk goes on from where it ends, not from the start of the next)."""
    hdr = head[:13] if len(head) >= 13 else g.pread(0, 13)
    if len(hdr) < 13:
        raise CorruptMediaError(
            f"{g.name}: truncated GIF: the header ends before the end of the logical screen "
            f"descriptor ({len(hdr)} bytes)",
            source=g.name,
        )
    w, h, packed = struct.unpack_from("<HHB", hdr, 6)
    pos = 13 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
    size = g.size
    buf, base = head, 0  # the file's bytes [base, base + len(buf)) at hand
    frames = 0
    closed = False  # the walk stopped at a trailer or garbage, not at the end of the data
    while True:
        # A block: "," + 9-byte image descriptor, or "!" + label; then data sub-blocks.
        off = pos - base
        if off + 10 > len(buf) and base + len(buf) < size:
            buf, base, off = g.pread(pos, _GIF_WINDOW), pos, 0
        if off >= len(buf):
            break  # end of file (or a bound tripped: checked below)
        kind = buf[off]
        if kind == 0x2C:  # "," image descriptor
            if off + 10 > len(buf):
                break
            local = buf[off + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0)
            if pos >= size:
                break  # no LZW minimum code size byte
            pos += 1
            frames += 1
        elif kind == 0x21:  # "!" extension: its label, then sub-blocks
            if off + 2 > len(buf):
                break
            pos += 2
        else:  # trailer (";"), or garbage after the last frame
            closed = True
            break
        # Skip the data sub-blocks up to the zero-length terminator.
        ended = False
        while True:
            off = pos - base
            if off >= len(buf):
                if pos >= size:
                    ended = True
                    break
                buf, base, off = g.pread(pos, _GIF_WINDOW), pos, 0
                if not buf:
                    ended = True
                    break
            n = buf[off]
            pos += 1 + n
            if n == 0:
                break
        if ended:
            break  # the data ran to the end of the file
    g.check()
    if frames == 0:
        if not closed:
            raise CorruptMediaError(
                f"{g.name}: truncated GIF: the file ends before its first image ({size} bytes)",
                source=g.name,
            )
        raise CorruptMediaError(f"{g.name}: GIF holds no image", source=g.name)
    return w, h, frames


# -- WebP -----------------------------------------------------------------------------


#: Bytes read at a time by the WebP chunk walk: animation frames are often small, and one
#: read (~2.5 us, as much as copying 16 KiB more) then serves many chunk headers.
_WEBP_WINDOW = 16_384


def _webp(g: Guard, head: bytes = b"") -> tuple[int, int, int, int]:
    if len(head) < min(30, g.size):
        head = g.pread(0, 30)
    riff_end = min(8 + int.from_bytes(head[4:8], "little"), g.size)
    if len(head) < 20:
        raise CorruptMediaError(
            f"{g.name}: truncated WebP: the header ends before its first chunk ({len(head)} bytes)",
            source=g.name,
        )
    first = head[12:16]
    d = head[20:30]
    need = {b"VP8 ": 10, b"VP8L": 5, b"VP8X": 10}.get(first)
    if need is not None and len(d) < need:
        raise CorruptMediaError(
            f"{g.name}: truncated WebP: the header ends inside its {first.decode()} chunk "
            f"({g.size} bytes)",
            source=g.name,
        )
    if first == b"VP8 ":
        if d[3:6] != b"\x9d\x01\x2a":
            raise CorruptMediaError(f"{g.name}: bad VP8 frame header", source=g.name)
        w = int.from_bytes(d[6:8], "little") & 0x3FFF
        h = int.from_bytes(d[8:10], "little") & 0x3FFF
        return w, h, 1, 1
    if first == b"VP8L":
        if d[0] != 0x2F:
            raise CorruptMediaError(f"{g.name}: bad VP8L header", source=g.name)
        bits = int.from_bytes(d[1:5], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1, 1, 1
    if first != b"VP8X":
        raise CorruptMediaError(f"{g.name}: unknown WebP chunk {first!r}", source=g.name)
    flags = d[0]
    w = int.from_bytes(d[4:7], "little") + 1
    h = int.from_bytes(d[7:10], "little") + 1
    animated = bool(flags & 0x02)
    want_exif = bool(flags & 0x08)
    if not animated and not want_exif:
        return w, h, 1, 1
    frames, orientation = 0, 1
    pos = 12 + 8 + int.from_bytes(head[16:20], "little")
    pos += pos & 1
    buf, base = head, 0  # the file's bytes [base, base + len(buf)) at hand
    while pos + 8 <= riff_end:
        if pos + 8 > base + len(buf):
            buf, base = g.pread(pos, _WEBP_WINDOW), pos
            if len(buf) < 8:
                break
        off = pos - base
        kind, length = buf[off : off + 4], int.from_bytes(buf[off + 4 : off + 8], "little")
        if kind == b"ANMF":
            frames += 1
        elif kind == b"EXIF":
            n = min(length, 1 << 20)
            at = off + 8
            raw = buf[at : at + n] if at + n <= len(buf) else g.pread(pos + 8, n)
            orientation = exif_orientation(raw)
            if not animated:
                break
        pos += 8 + length + (length & 1)
    g.check()
    if animated and frames == 0:
        if 8 + int.from_bytes(head[4:8], "little") > g.size:
            raise CorruptMediaError(
                f"{g.name}: truncated WebP: the file ends before its first frame ({g.size} bytes)",
                source=g.name,
            )
        raise CorruptMediaError(f"{g.name}: animated WebP without frames", source=g.name)
    return w, h, frames if animated else 1, orientation
