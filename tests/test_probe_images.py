"""Image probing: every field checked against what was written, and against Pillow."""

from __future__ import annotations

import io
import struct
import zlib
from importlib import resources

import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("PIL")

from PIL import Image, ImageOps

import mediafactory as mf
import tokenmeter as tm
from tokenmeter._probe.image import exif_orientation

STILL_FORMATS = [
    "PNG",
    "JPEG",
    "WEBP",
    "GIF",
    "TIFF",
    "BMP",
    "AVIF",
    "JPEG2000",
    "PPM",
    "QOI",
    "ICO",
    "SGI",
    "DDS",
]
ORIENTED_FORMATS = ["PNG", "JPEG", "WEBP", "TIFF", "AVIF"]
SIZES = [(1, 1), (7, 3), (64, 48), (333, 77)]


def _writable(fmt: str) -> bool:
    return fmt in Image.SAVE and (fmt != "AVIF" or mf.image("AVIF", (4, 4)) is not None)


def _expected(data: bytes) -> tuple[int, int, int]:
    """(width, height, frames) as Pillow shows the image after exif_transpose()."""
    with Image.open(io.BytesIO(data)) as im:
        im.getexif()  # first: a TIFF's EXIF is read from the file, closed by load()
        frames = getattr(im, "n_frames", 1)
        im.load()  # the reference may decode; the probe must not need to
        shown = ImageOps.exif_transpose(im)
        return shown.width, shown.height, frames


@pytest.mark.parametrize("fmt", STILL_FORMATS)
@pytest.mark.parametrize("size", SIZES)
def test_still_image_size_and_format(fmt: str, size: tuple[int, int]) -> None:
    if fmt == "ICO":  # icons are at most 256 x 256
        size = (min(size[0], 256), min(size[1], 256))
    mode = "RGBA" if fmt == "DDS" else "RGB"
    kw = {"sizes": [size]} if fmt == "ICO" else {}
    data = mf.image(fmt, size, mode=mode, **kw)
    info = tm.probe(data)
    assert isinstance(info, tm.ImageInfo)
    assert (info.width, info.height) == (size if fmt != "ICO" else _expected(data)[:2])
    assert info.frames == 1
    assert info.orientation == 1
    assert not info.animated
    assert not info.decompression_bomb
    assert info.format == ("JPEG2000" if fmt == "JPEG2000" else fmt)
    assert info.source == "<bytes>"


@pytest.mark.parametrize("fmt", ORIENTED_FORMATS)
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_applied_exactly_once(fmt: str, orientation: int) -> None:
    data = mf.image(fmt, (40, 30), orientation=orientation)
    info = tm.probe(data)
    assert info.orientation == orientation
    swapped = orientation >= 5
    assert (info.width, info.height) == ((30, 40) if swapped else (40, 30))
    # The reference: Pillow's own transpose of the decoded image.
    assert (info.width, info.height) == _expected(data)[:2]


@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_png_exif_after_image_data_is_found_without_decoding(orientation: int) -> None:
    data = mf.png_with_exif_after_idat((50, 20), orientation)
    with Image.open(io.BytesIO(data)) as im:
        assert "exif" not in im.info  # Pillow's lazy open does not see it
    info = tm.probe(data)
    assert info.orientation == orientation
    assert (info.width, info.height) == ((20, 50) if orientation >= 5 else (50, 20))
    assert (info.width, info.height) == _expected(data)[:2]


def test_png_late_exif_with_many_small_idat_chunks() -> None:
    # Re-chunk the image data into 100-byte IDATs, so the last one is far from the
    # start, then add eXIf after them: the tail search must still find it.
    png = mf.png_with_exif_after_idat((300, 200), 6)
    chunks = _png_chunks(png)
    idat = b"".join(d for k, d in chunks if k == b"IDAT")
    out = b"\x89PNG\r\n\x1a\n"
    for k, d in chunks:
        if k == b"IDAT":
            continue
        if k == b"eXIf":
            out += b"".join(_chunk(b"IDAT", idat[i : i + 100]) for i in range(0, len(idat), 100))
        out += _chunk(k, d)
    info = tm.probe(out)
    assert (info.width, info.height, info.orientation) == (200, 300, 6)


def test_png_big_single_idat_walks_forward() -> None:
    # A noisy image, one IDAT larger than the 64 KiB tail: found by the forward walk.
    import numpy as np

    arr = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", compress_level=0)
    chunks = _png_chunks(buf.getvalue())
    idat = b"".join(d for k, d in chunks if k == b"IDAT")
    assert len(idat) > 70_000
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", chunks[0][1]) + _chunk(b"IDAT", idat)
    out += _chunk(b"eXIf", mf.exif_orientation(8)[6:]) + _chunk(b"tEXt", b"k\x00" + b"v" * 70_000)
    out += _chunk(b"IEND", b"")
    info = tm.probe(out)
    assert (info.width, info.height, info.orientation) == (300, 300, 8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    out, pos = [], 8
    while pos < len(png):
        n = int.from_bytes(png[pos : pos + 4], "big")
        out.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + n]))
        pos += 12 + n
    return out


@pytest.mark.parametrize(
    ("fmt", "frames"),
    [("GIF", 2), ("GIF", 17), ("WEBP", 3), ("PNG", 4), ("TIFF", 5), ("AVIF", 3), ("MPO", 2)],
)
def test_animated_and_multiframe_counts(fmt: str, frames: int) -> None:
    data = mf.image(fmt, (21, 13), frames=frames)
    info = tm.probe(data)
    assert info.frames == frames
    assert info.animated
    assert (info.width, info.height) == (21, 13)
    assert info.format == fmt
    assert _expected(data) == (21, 13, frames)


def test_animated_webp_with_orientation() -> None:
    data = mf.image("WEBP", (21, 13), frames=3, orientation=6)
    info = tm.probe(data)
    assert (info.width, info.height, info.frames, info.orientation) == (13, 21, 3, 6)


def test_large_animated_webp_with_orientation() -> None:
    # Noisy frames: the chunk walk crosses many of its reads, and the EXIF chunk comes
    # after all the frames.
    import numpy as np

    rng = np.random.default_rng(3)
    ims = [Image.fromarray(rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)) for _ in range(12)]
    buf = io.BytesIO()
    ims[0].save(
        buf,
        "WEBP",
        save_all=True,
        append_images=ims[1:],
        lossless=True,
        exif=mf.exif_orientation(6),
        duration=40,
    )
    data = buf.getvalue()
    assert len(data) > 4 * 16_384
    info = tm.probe(data)
    # Stored 48 wide, 64 high; orientation 6 shows it 64 x 48.
    assert (info.width, info.height, info.frames, info.orientation) == (64, 48, 12, 6)
    assert (info.width, info.height, info.frames) == _expected(data)


def test_lossy_and_lossless_webp_match_pillow() -> None:
    for kw in ({"quality": 40}, {"lossless": True}):
        data = mf.image("WEBP", (97, 31), **kw)
        info = tm.probe(data)
        assert (info.width, info.height) == (97, 31) == _expected(data)[:2]


def test_gif_frames_match_pillow_for_odd_layouts() -> None:
    # Local colour tables, disposal modes, comments and application extensions.
    ims = [Image.new("P", (30, 10), i) for i in range(6)]
    for i, im in enumerate(ims):
        im.putpalette([(i * 40 + k) % 256 for k in range(768)])
    buf = io.BytesIO()
    ims[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=ims[1:],
        duration=[10, 20] * 3,
        disposal=[0, 1, 2, 3, 2, 1],
        comment=b"hello",
        loop=3,
    )
    info = tm.probe(buf.getvalue())
    assert (info.width, info.height, info.frames) == _expected(buf.getvalue())
    assert info.frames == 6


@pytest.mark.parametrize("frames", [2, 7])
def test_large_gif_frames_match_pillow(frames: int) -> None:
    # Noisy frames: the image data runs over many of the walker's 64 KiB reads, and data
    # sub-blocks straddle their ends (the walk once lost its place there and counted 2
    # frames of 10).
    import numpy as np

    rng = np.random.default_rng(frames)
    ims = [
        Image.fromarray(rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)).convert("P")
        for _ in range(frames)
    ]
    buf = io.BytesIO()
    ims[0].save(buf, "GIF", save_all=True, append_images=ims[1:], duration=40, loop=0)
    data = buf.getvalue()
    assert len(data) > frames * 40_000
    info = tm.probe(data)
    assert (info.width, info.height, info.frames) == _expected(data)
    assert info.frames == frames


# -- decompression bombs: sizes from the header, never decoded ---------------------------


def _png_header_only(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", ihdr)
        + _chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + _chunk(b"IEND", b"")
    )


def _gif_bomb(w: int, h: int) -> bytes:
    return (
        b"GIF89a"
        + struct.pack("<HHBBB", w, h, 0, 0, 0)
        + b","
        + struct.pack("<HHHHB", 0, 0, w, h, 0)
        + b"\x02\x02\x44\x01\x00;"
    )


def _webp_canvas(w: int, h: int) -> bytes:
    vp8x = bytes([0, 0, 0, 0]) + (w - 1).to_bytes(3, "little") + (h - 1).to_bytes(3, "little")
    vp8l = b"\x2f" + ((w - 1 & 0x3FFF) | ((h - 1 & 0x3FFF) << 14)).to_bytes(4, "little") + b"\0"
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + vp8x + b"VP8L" + struct.pack("<I", 6) + vp8l
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _jpeg_sof(w: int, h: int) -> bytes:
    sof = struct.pack(">BHHB", 8, h, w, 3) + b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    return (
        b"\xff\xd8"
        + b"\xff\xc0"
        + struct.pack(">H", len(sof) + 2)
        + sof
        + b"\xff\xda\x00\x0c\x03\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
        + b"\x00" * 16
        + b"\xff\xd9"
    )


def _bmp_header(w: int, h: int) -> bytes:
    data = bytearray(mf.image("BMP", (4, 4)))
    data[18:26] = struct.pack("<ii", w, h)
    return bytes(data)


def _tiff_header(w: int, h: int) -> bytes:
    data = bytearray(mf.image("TIFF", (4, 4)))
    ifd = int.from_bytes(data[4:8], "little")
    for k in range(int.from_bytes(data[ifd : ifd + 2], "little")):
        e = ifd + 2 + 12 * k
        tag, typ = struct.unpack_from("<HH", data, e)
        if tag in (256, 257):
            value = w if tag == 256 else h
            data[e + 8 : e + 12] = (
                struct.pack("<I", value) if typ == 4 else struct.pack("<HH", min(value, 65535), 0)
            )
    return bytes(data)


@pytest.mark.parametrize(
    ("maker", "fmt"),
    [
        (_png_header_only, "PNG"),
        (_gif_bomb, "GIF"),
        (_webp_canvas, "WEBP"),
        (_jpeg_sof, "JPEG"),
        (_bmp_header, "BMP"),
        (_tiff_header, "TIFF"),
    ],
)
@pytest.mark.parametrize(("w", "h"), [(65535, 66601), (16383, 16383), (60000, 2)])
def test_decompression_bomb_sizes_are_reported_not_decoded(maker, fmt, w, h) -> None:
    if fmt == "WEBP":
        w, h = min(w, 16384), min(h, 16384)
    if fmt in ("JPEG", "GIF", "TIFF"):  # 16-bit fields (TIFF: our SHORT tags)
        w, h = min(w, 65535), min(h, 65535)
    info = tm.probe(maker(w, h))
    assert (info.width, info.height, info.format) == (w, h, fmt)
    assert info.pixels == w * h
    assert info.decompression_bomb == (w * h > Image.MAX_IMAGE_PIXELS)


def test_bomb_flag_follows_pillow_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png_header_only(1000, 1000)
    assert not tm.probe(data).decompression_bomb
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 999_999)
    assert tm.probe(data).decompression_bomb


# -- what installed packages ship -----------------------------------------------------------


def _shipped_images() -> list[object]:
    out = []
    for pkg in ("llama_models", "models"):
        try:
            root = resources.files(pkg) / "resources"
        except (ModuleNotFoundError, TypeError):
            continue
        if root.is_dir():
            out += [p for p in root.iterdir() if p.name.lower().endswith((".jpg", ".jpeg", ".png"))]
    return out


@pytest.mark.parametrize(
    "path", _shipped_images() or [None], ids=lambda p: getattr(p, "name", "none")
)
def test_images_shipped_by_installed_packages(path: object) -> None:
    if path is None:
        pytest.skip("no package with sample images is installed")
    data = path.read_bytes()  # type: ignore[attr-defined]
    with Image.open(io.BytesIO(data)) as im:
        orientation = im.getexif().get(0x0112, 1)
        fmt = im.format
    info = tm.probe(path)  # type: ignore[arg-type]
    assert (info.width, info.height, info.frames) == _expected(data)
    assert info.orientation == orientation
    assert info.format == fmt
    assert info.source == str(path)


# -- the EXIF reader itself ---------------------------------------------------------------------


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("endian", ["<", ">"])
def test_exif_orientation_reader(orientation: int, endian: str) -> None:
    from PIL import TiffImagePlugin

    exif = Image.Exif()
    exif[0x010F] = "maker"
    exif[0x0112] = orientation
    exif[0x0131] = "software"
    exif.endian = endian  # type: ignore[attr-defined]
    raw = exif.tobytes()
    assert raw[6:8] == (b"II" if endian == "<" else b"MM")
    assert exif_orientation(raw) == orientation
    assert exif_orientation(raw[6:]) == orientation  # without the "Exif\0\0" prefix
    assert TiffImagePlugin  # the plugin that wrote it


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"Exif\x00\x00",
        b"XX\x00\x00\x00\x00\x00\x00",
        b"II*\x00\xff\xff\xff\x7f",
        b"MM\x00*\x00\x00\x00\x08\x00\x01",
    ],
)
def test_exif_orientation_reader_on_garbage(raw: bytes) -> None:
    assert exif_orientation(raw) == 1


def test_out_of_range_orientation_is_ignored() -> None:
    exif = Image.Exif()
    exif[0x0112] = 9
    buf = io.BytesIO()
    Image.new("RGB", (40, 30)).save(buf, "JPEG", exif=exif.tobytes())
    info = tm.probe(buf.getvalue())
    assert (info.width, info.height, info.orientation) == (40, 30, 1)


@pytest.mark.parametrize("pages", [1, 2, 7])
@pytest.mark.parametrize("big", [False, True])
def test_tiff_page_count_matches_pillow(pages: int, big: bool) -> None:
    data = mf.image("TIFF", (11, 6), frames=pages, big_tiff=big)
    assert data[2:4] in ((b"+\x00",) if big else (b"*\x00",))
    info = tm.probe(data)
    assert (info.width, info.height, info.frames) == (11, 6, pages)
    with Image.open(io.BytesIO(data)) as im:
        assert im.n_frames == pages


@given(
    w=st.integers(1, 300),
    h=st.integers(1, 300),
    orientation=st.integers(1, 8),
    fmt=st.sampled_from(["PNG", "JPEG", "WEBP", "TIFF"]),
)
def test_displayed_size_property(w: int, h: int, orientation: int, fmt: str) -> None:
    info = tm.probe(mf.image(fmt, (w, h), orientation=orientation))
    assert info.orientation == orientation
    assert (info.width, info.height) == ((h, w) if orientation >= 5 else (w, h))
    assert info.pixels == w * h


def test_apng_exif_after_frames_is_found() -> None:
    # fdAT chunks after the IDAT make the layout irregular: the tail search finds it.
    apng = mf.image("PNG", (30, 20), frames=3)
    iend = apng.rindex(b"IEND") - 4
    data = apng[:iend] + _chunk(b"eXIf", mf.exif_orientation(6)[6:]) + apng[iend:]
    info = tm.probe(data)
    assert (info.width, info.height, info.frames, info.orientation) == (20, 30, 3, 6)


@pytest.mark.parametrize("idat", [50, 8192, 65536])
def test_regular_idat_layout_with_and_without_late_exif(idat: int) -> None:
    import numpy as np

    arr = np.random.default_rng(idat).integers(0, 256, (120, 200, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "PNG", compress_level=1)
    chunks = _png_chunks(buf.getvalue())
    data = b"".join(d for k, d in chunks if k == b"IDAT")
    body = b"".join(_chunk(b"IDAT", data[i : i + idat]) for i in range(0, len(data), idat))
    head = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", chunks[0][1])
    plain = head + body + _chunk(b"IEND", b"")
    late = head + body + _chunk(b"eXIf", mf.exif_orientation(5)[6:]) + _chunk(b"IEND", b"")
    assert tm.probe(plain).orientation == 1
    info = tm.probe(late)
    assert (info.width, info.height, info.orientation) == (120, 200, 5)
