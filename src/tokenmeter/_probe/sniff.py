"""What kind of media a byte string holds, from its first bytes (never its file name).

:func:`sniff` maps magic numbers to a route: ``("image", <Pillow format>)``,
``("audio", <libsndfile major format>)`` or ``("av", <FFmpeg demuxer>)``. Containers that
may hold video or only audio (MP4/M4A, Matroska/WebM, Ogg/Theora, ASF…) go to ``"av"``,
and PyAV's stream list decides. A wrong or missing extension therefore does not matter, and
text files such as HLS playlists or FFmpeg concat lists are never handed to a demuxer.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["HEAD_BYTES", "Sniffed", "describe_head", "sniff"]

#: How many leading bytes :func:`sniff` looks at (MPEG-TS needs three 188-byte packets).
HEAD_BYTES = 1024


class Sniffed(NamedTuple):
    """A route for the probe.

    Attributes:
        kind: ``"image"``, ``"audio"``, ``"av"`` (PyAV: video, or audio in a container)
            or ``"unsupported"``.
        fmt: the Pillow format, libsndfile format or FFmpeg demuxer name to use.
    """

    kind: str
    fmt: str


_ASF = bytes.fromhex("3026b2758e66cf11a6d900aa0062ce6c")
_AVIF_BRANDS = {b"avif", b"avis"}
_HEIF_BRANDS = {
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
    b"mif2",
}
_BMP_DIB = {12, 16, 40, 52, 56, 64, 108, 124}
_MOV_ATOMS = {b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def sniff(head: bytes, *, id3_tail: bytes | None = None) -> Sniffed | None:
    """Route ``head`` (the first :data:`HEAD_BYTES` of the input), or ``None``.

    Args:
        head: the leading bytes.
        id3_tail: for an input starting with an ID3v2 tag, the bytes just after the tag
            (the caller reads them, since the tag can be large); ``None`` otherwise.

    Returns:
        The route; ``Sniffed("unsupported", name)`` for a recognised format that cannot
        be read (HEIF/HEIC); ``None`` when the bytes are not a known media format.
    """
    h = head
    if h[:3] == b"\xff\xd8\xff":
        return Sniffed("image", "JPEG")
    if h[:8] == b"\x89PNG\r\n\x1a\n":
        return Sniffed("image", "PNG")
    if h[:6] in (b"GIF87a", b"GIF89a"):
        return Sniffed("image", "GIF")
    if h[:4] == b"RIFF" or h[:4] == b"RF64":
        form = h[8:12]
        if form == b"WEBP":
            return Sniffed("image", "WEBP")
        if form == b"WAVE":
            return Sniffed("audio", "WAV")
        if form[:3] == b"AVI":
            return Sniffed("av", "avi")
        return None
    if h[4:8] == b"ftyp":
        return _iso_bmff(h)
    if h[:4] == b"\x1a\x45\xdf\xa3":
        return Sniffed("av", "matroska")
    if h[:4] == b"OggS":
        return _ogg(h)
    if h[:4] == b"fLaC":
        return Sniffed("audio", "FLAC")
    if h[:4] == b"FORM" and h[8:12] in (b"AIFF", b"AIFC"):
        return Sniffed("audio", "AIFF")
    if h[:4] == b".snd":
        return Sniffed("audio", "AU")
    if h[:4] == b"caff":
        return Sniffed("audio", "CAF")
    if h[:16] == bytes.fromhex("726966662e91cf11a5d628db04c10000"):  # "riff" GUID of W64
        return Sniffed("audio", "W64")
    if h[:3] == b"ID3":
        tail = id3_tail or b""
        if tail[:4] == b"fLaC":
            return Sniffed("audio", "FLAC")
        if _adts(tail):
            return Sniffed("av", "aac")
        return Sniffed("audio", "MP3")
    if _mpeg_audio(h):
        return Sniffed("audio", "MP3")
    if _adts(h):
        return Sniffed("av", "aac")
    if h[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return Sniffed("image", "TIFF")
    if h[:2] == b"BM" and len(h) >= 18 and int.from_bytes(h[14:18], "little") in _BMP_DIB:
        return Sniffed("image", "BMP")
    if h[:4] == b"\x00\x00\x01\x00" and len(h) >= 6 and h[4:6] != b"\x00\x00":
        return Sniffed("image", "ICO")
    if h[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or h[:4] == b"\xffO\xffQ":
        return Sniffed("image", "JPEG2000")
    if h[:4] == b"8BPS":
        return Sniffed("image", "PSD")
    if h[:4] == b"qoif":
        return Sniffed("image", "QOI")
    if h[:4] == b"DDS ":
        return Sniffed("image", "DDS")
    if h[:4] == b"icns":
        return Sniffed("image", "ICNS")
    if h[:2] == b"\x01\xda" and len(h) >= 3 and h[2] in (0, 1):
        return Sniffed("image", "SGI")
    if len(h) >= 3 and h[0] == ord("P") and h[1] in b"123456f" and h[2] in b" \t\r\n":
        return Sniffed("image", "PPM")
    if h[:4] == b"\x00\x00\x01\xba":
        return Sniffed("av", "mpeg")
    if h[:4] == b"\x00\x00\x01\xb3":
        return Sniffed("av", "mpegvideo")
    if _mpegts(h):
        return Sniffed("av", "mpegts")
    if h[:4] == b"FLV\x01":
        return Sniffed("av", "flv")
    if h[:16] == _ASF:
        return Sniffed("av", "asf")
    if h[:4] == b".RMF":
        return Sniffed("av", "rm")
    if h[:4] == b"DKIF":
        return Sniffed("av", "ivf")
    if h[:6] == b"#!AMR\n":
        return Sniffed("av", "amr")
    if h[:4] == b"wvpk":
        return Sniffed("av", "wv")
    if h[:4] == b"MAC ":
        return Sniffed("av", "ape")
    if h[4:8] in _MOV_ATOMS and int.from_bytes(h[:4], "big") >= 8:
        return Sniffed("av", "mov")
    return None


def _iso_bmff(h: bytes) -> Sniffed:
    size = int.from_bytes(h[:4], "big")
    end = min(size, len(h)) if size >= 16 else min(len(h), 64)
    brands = {h[8:12]} | {h[i : i + 4] for i in range(16, end - 3, 4)}
    if brands & _AVIF_BRANDS:
        return Sniffed("image", "AVIF")
    if h[8:12] in _HEIF_BRANDS or (
        brands & _HEIF_BRANDS
        and not brands
        & {b"isom", b"iso2", b"mp41", b"mp42", b"M4A ", b"M4V ", b"qt  ", b"3gp4", b"3gp5"}
    ):
        return Sniffed("unsupported", "HEIF/HEIC")
    return Sniffed("av", "mov")


def _ogg(h: bytes) -> Sniffed:
    nseg = h[26] if len(h) > 26 else 0
    first = h[27 + nseg : 27 + nseg + 8]
    if first[:7] == b"\x01vorbis" or first[:8] == b"OpusHead" or first[:5] == b"\x7fFLAC":
        return Sniffed("audio", "OGG")
    return Sniffed("av", "ogg")


def _mpeg_audio(h: bytes) -> bool:
    # A frame sync (11 set bits), a layer, a bitrate that is not "bad" and a sample rate
    # that is not "reserved": two bytes of 0xFF are not enough on their own.
    if len(h) < 4 or h[0] != 0xFF or (h[1] & 0xE0) != 0xE0:
        return False
    version = (h[1] >> 3) & 3
    layer = (h[1] >> 1) & 3
    bitrate = h[2] >> 4
    rate = (h[2] >> 2) & 3
    return version != 1 and layer != 0 and bitrate != 15 and rate != 3


def _adts(h: bytes) -> bool:
    return len(h) >= 7 and h[0] == 0xFF and (h[1] & 0xF6) == 0xF0 and ((h[2] >> 2) & 0xF) < 13


def _mpegts(h: bytes) -> bool:
    for step, first in ((188, 0), (192, 4), (204, 0)):
        idx = range(first, min(len(h), first + 3 * step), step)
        if len(idx) >= 3 and all(h[i] == 0x47 for i in idx):
            return True
    return False


def describe_head(head: bytes) -> str:
    """A short, printable rendering of the first bytes, for 'not media' messages."""
    sample = head[:16]
    text = sample.decode("ascii", "replace")
    if all(32 <= b < 127 or b in (9, 10, 13) for b in sample):
        return repr(text)
    return sample.hex(" ")
