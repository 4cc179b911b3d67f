"""Media inside a request body: data URLs, bare base64, local paths, remote references.

Everything is turned into an :class:`~tokenmeter.ImageInfo`, :class:`~tokenmeter.VideoInfo`
or :class:`~tokenmeter.AudioInfo` by the header-only probe, reading as little as the format
needs:

* **base64** (a ``data:`` URL or a bare string) is never decoded as a whole. It is wrapped
  in :class:`Base64File`, a seekable file object that decodes only the 4-character groups
  behind the bytes a reader asks for (in 48 KiB blocks). A JPEG or WebP probe therefore
  decodes its first block; a PNG also the block holding its last 64 KiB (a late ``eXIf``
  chunk can turn it sideways); a video the blocks its demuxer seeks to. The *alphabet* of
  the whole payload is still checked (a fast C-level scan, no decoding), so a corrupted
  payload that the vendor would reject is refused, not billed.
* **local paths** (``file://`` URIs, and bare paths where the shape allows them) go
  through the probe as they are.
* **remote references** (``http(s)://``, ``gs://``, file ids) are never opened. Without a
  ``resolver`` they raise :class:`~tokenmeter.InvalidInputError`; with one, the resolver's
  bytes are probed, or its Info is used as given.

Every error names the part (``messages[2].content[1]``) it comes from.
"""

from __future__ import annotations

import binascii
import io
import os
import re
import reprlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, NoReturn
from urllib.parse import unquote_to_bytes

from ..errors import InvalidInputError, MediaNotFoundError, ProbeError
from ..media import AudioInfo, ImageInfo, MediaInfo, VideoInfo

__all__ = [
    "DEFAULT_MAX_MEDIA_BYTES",
    "Base64File",
    "MediaContext",
    "Payload",
    "Resolver",
    "load_media",
    "quote",
    "shorten",
]

#: Largest decoded size of one inline media part (64 MiB). Every vendor refuses far less
#: (OpenAI 50 MB per request, Anthropic 5 MB per image, Gemini 20 MB inline, DashScope
#: 10 MB per base64 file), so a larger part is a malformed request, refused before any
#: byte of it is decoded.
DEFAULT_MAX_MEDIA_BYTES = 64 * 1024 * 1024

#: A resolver turns a remote reference (a URL or a file id, exactly as the request spells
#: it) into the media's bytes or an already known Info.
Resolver = Callable[[str], "bytes | bytearray | memoryview | MediaInfo"]

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_ALPHABET_PAD = _B64_ALPHABET + b"="
_URLSAFE = str.maketrans("-_", "+/")
_WHITESPACE = str.maketrans("", "", " \t\r\n")
# A URL scheme: two letters at least, so a Windows drive ("C:\\x") stays a path.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]+):")
#: Characters of a reference (a URL, a path, a payload) an error message quotes.
QUOTE_CHARS = 60
#: No file path is longer (Linux PATH_MAX): a longer schemeless string is not a path.
MAX_PATH_CHARS = 4096
# The base64 of the magic numbers tokenmeter probes (JPEG, PNG, GIF, RIFF: WebP/WAV/AVI,
# PDF, EBML: WebM/MKV, ID3, Ogg, FLAC): a small schemeless payload starting with one of
# them is bare base64, not a path.
_B64_MAGIC = ("/9j/", "iVBORw0KGgo", "R0lGOD", "UklGR", "JVBERi0", "GkXfo", "SUQz",
              "T2dnUw", "ZkxhQw")
_B64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_")
_IMAGE_FORMATS = {
    "image/jpeg": {"JPEG", "MPO"}, "image/jpg": {"JPEG", "MPO"}, "image/pjpeg": {"JPEG", "MPO"},
    "image/png": {"PNG"}, "image/apng": {"PNG"}, "image/gif": {"GIF"}, "image/webp": {"WEBP"},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class MediaContext:
    """How media references in one request are loaded.

    Attributes:
        resolver: called with a remote reference; returns bytes or an Info. ``None``
            refuses remote references.
        max_media_bytes: the largest decoded size of one inline part.
        local_files: whether ``file://`` URIs and local paths may be opened.
        check_base64: check the alphabet of every inline payload in full (a C-level scan,
            no decoding); ``False`` checks only the decoded header.
    """

    resolver: Resolver | None = None
    max_media_bytes: int = DEFAULT_MAX_MEDIA_BYTES
    local_files: bool = True
    check_base64: bool = True


class Payload(NamedTuple):
    """A checked base64 payload: ``text[start:end]``, standard alphabet, no padding.

    A view, not a copy: a data URL's payload stays inside the URL string.
    """

    text: str
    start: int
    end: int

    def value(self) -> str:
        """The payload as a string of its own (a copy)."""
        return self.text[self.start:self.end]


class Base64File(io.RawIOBase):
    """A read-only, seekable binary file over a base64 payload, decoded on demand.

    Only the 4-character groups behind the requested bytes are decoded (whole
    :data:`BLOCK_CHARS` blocks, the last two of which are kept), so probing a header costs
    the header, not the file.

    Args:
        payload: a :class:`Payload` from :func:`clean_base64`.
        name: the printable name used in errors (the part's index path).
    """

    #: Characters decoded at a time: 87,384 characters are 65,538 bytes, one block for the
    #: 64 KiB header prefix the image probe reads.
    BLOCK_CHARS = 87_384
    _BLOCK_BYTES = BLOCK_CHARS // 4 * 3

    def __init__(self, payload: Payload, name: str) -> None:
        super().__init__()
        self._b64, self._start, self._end = payload
        n = self._end - self._start
        self.size = n // 4 * 3 + (0, 0, 1, 2)[n % 4]
        self.name = name
        self._pos = 0
        self._cache: dict[int, bytes] = {}

    def readable(self) -> bool:
        """Always True."""
        return True

    def seekable(self) -> bool:
        """Always True."""
        return True

    def tell(self) -> int:
        """The current position."""
        return self._pos

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` (``whence`` as in :meth:`io.IOBase.seek`)."""
        if whence == 0:
            pos = offset
        elif whence == 1:
            pos = self._pos + offset
        elif whence == 2:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def _block(self, i: int) -> bytes:
        data = self._cache.get(i)
        if data is None:
            a = self._start + i * self.BLOCK_CHARS
            chunk = self._b64[a:min(a + self.BLOCK_CHARS, self._end)]
            if len(chunk) % 4:
                chunk += "=" * (-len(chunk) % 4)
            try:
                data = binascii.a2b_base64(chunk, strict_mode=True)
            except binascii.Error as exc:  # the alphabet was checked; only the tail can fail
                raise InvalidInputError(f"{self.name}: malformed base64 ({exc})") from None
            if len(self._cache) >= 2:
                self._cache.pop(next(iter(self._cache)))
            self._cache[i] = data
        return data

    def read(self, n: int | None = -1) -> bytes:
        """Read up to ``n`` bytes (all that is left when ``n`` is negative or None)."""
        start = self._pos
        end = self.size if n is None or n < 0 else min(self.size, start + n)
        if end <= start:
            return b""
        out = []
        pos = start
        while pos < end:
            i = pos // self._BLOCK_BYTES
            block = self._block(i)
            lo = pos - i * self._BLOCK_BYTES
            take = block[lo:lo + (end - pos)]
            out.append(take)
            pos += len(take)
            if not take:  # pragma: no cover - size and blocks always agree
                break
        self._pos = pos
        return b"".join(out)

    def readinto(self, buffer: Any) -> int:
        """Read into a writable buffer; returns the number of bytes read."""
        mv = memoryview(buffer).cast("B")
        data = self.read(len(mv))
        mv[:len(data)] = data
        return len(data)


def clean_base64(text: str, where: str, max_bytes: int, *, start: int = 0,
                 check: bool = True) -> Payload:
    """Check the base64 payload ``text[start:]`` and return a view of it.

    The decoded size is checked first (from the length alone), so an oversized payload is
    refused without scanning it; then, with ``check``, the alphabet of the whole payload
    is checked in one C-level pass, without decoding (``check=False`` leaves the bytes
    beyond the header unchecked: faster, for payloads already validated upstream).
    Standard and URL-safe alphabets are read, padded or not, with MIME line breaks.

    Raises:
        InvalidInputError: empty, too large, not base64, or a length no encoding produces.
    """
    if not check and any(c in text[start:start + 1024] for c in "\n\r \t"):
        # MIME-style line breaks (a break every 76 characters) show in the first 1 KiB;
        # with the full check they are found by the alphabet scan below instead.
        return clean_base64(text[start:].translate(_WHITESPACE), where, max_bytes,
                            check=False)
    if (len(text) - start) // 4 * 3 > max_bytes + 2:  # line breaks only make it smaller
        _too_large(where, (len(text) - start) // 4 * 3, max_bytes)
    if check:
        try:
            raw = text.encode("ascii")
        except UnicodeEncodeError as exc:
            raise InvalidInputError(f"{where}: malformed base64 (non-ASCII character at "
                                    f"{exc.start - start})") from None
        # One pass over the whole string; what precedes the payload (a data URL's header)
        # leaves the same residue whatever the payload is.
        if raw.translate(None, _B64_ALPHABET_PAD) != raw[:start].translate(
                None, _B64_ALPHABET_PAD):
            rest = raw[start:].translate(None, _B64_ALPHABET_PAD)
            if not rest.translate(None, b"\n\r \t"):
                # Line breaks (MIME-style wrapping): drop them and check again.
                return clean_base64(text[start:].translate(_WHITESPACE), where, max_bytes)
            if not rest.translate(None, b"-_"):  # the URL-safe alphabet (proto3 JSON)
                if raw.find(b"+", start) >= 0 or raw.find(b"/", start) >= 0:
                    raise InvalidInputError(
                        f"{where}: malformed base64 (standard and URL-safe alphabets mixed)")
                text, start = text[start:].translate(_URLSAFE), 0
            else:
                ch = chr(rest.translate(None, b"-_\n\r \t")[0])
                at = text.index(ch, start) - start
                raise InvalidInputError(
                    f"{where}: malformed base64 ({ch!r} at character {at} is not in the "
                    "base64 alphabet)")
    end = len(text)
    pad = 0
    while pad < 3 and end - pad > start and text[end - 1 - pad] == "=":
        pad += 1
    if pad and (pad > 2 or (end - start) % 4):
        raise InvalidInputError(f"{where}: malformed base64 ('=' padding that does not end a "
                                "4-character group)")
    end -= pad
    n = end - start
    if n <= 0:
        raise InvalidInputError(f"{where}: empty base64 payload (no media bytes)")
    size = n // 4 * 3 + (0, 0, 1, 2)[n % 4]
    if size > max_bytes:
        _too_large(where, size, max_bytes)
    if n % 4 == 1:
        raise InvalidInputError(
            f"{where}: malformed base64 (a length of {n} characters is not a whole number of "
            "bytes)")
    if check and text.find("=", start, end) >= 0:
        raise InvalidInputError(f"{where}: malformed base64 ('=' inside the payload, at "
                                f"character {text.find('=', start, end) - start})")
    return Payload(text, start, end)


def _too_large(where: str, size: int, max_bytes: int) -> NoReturn:
    raise InvalidInputError(
        f"{where}: inline media of {size:,} bytes exceeds max_media_bytes={max_bytes:,}; no "
        "vendor accepts an inline part this large (pass max_media_bytes= to raise the bound)")


def shorten(text: str, keep: int = QUOTE_CHARS) -> str:
    """``text`` as an error message quotes it: whole when short, else its first ``keep``
    characters and its length (``'/9j/4AAQ…(5,057 chars)'``), so a 200 MB payload never
    ends up in an error message."""
    if len(text) <= keep:
        return text
    return f"{text[:keep]}…({len(text):,} chars)"


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = QUOTE_CHARS


def quote(value: Any) -> str:
    """A request value as an error message quotes it: its ``repr``, bounded (a string longer
    than :data:`QUOTE_CHARS` is shortened as :func:`shorten` does; containers are cut by
    :mod:`reprlib`)."""
    if isinstance(value, str):
        return repr(value) if len(value) <= QUOTE_CHARS else (
            f"{value[:QUOTE_CHARS]!r}…({len(value):,} chars)")
    return _REPR.repr(value)


def looks_base64(ref: str) -> bool:
    """Whether a schemeless string is a bare base64 payload rather than a path: longer than
    any path, or a media magic number in base64, with only base64 characters in its first
    KiB."""
    if not (len(ref) > MAX_PATH_CHARS or ref.startswith(_B64_MAGIC) or (
            ref.startswith("AAAA") and ref[6:10] == "Z0eX")):  # ISO-BMFF: ....ftyp
        return False
    return _B64_CHARS.issuperset(ref[:1024].translate(_WHITESPACE))


def _bare_base64(ref: str, where: str, ctx: MediaContext, expect: str | None,
                 bare_path: bool) -> NoReturn:
    """Refuse a bare base64 payload where a reference is expected; the size limit first."""
    if (len(ref) // 4) * 3 > ctx.max_media_bytes + 2:
        _too_large(where, (len(ref) // 4) * 3, ctx.max_media_bytes)
    kind = expect if expect in ("image", "video", "audio") else "image"
    reads = ("DashScope and qwen-vl-utils read a bare string here as a file path"
             if bare_path else "the vendor reads this field as a URL")
    raise InvalidInputError(
        f"{where}: a bare base64 string ({shorten(ref)}) where a URL, a data: URL or a file "
        f"path is expected ({reads}); write inline media as a data: URL: "
        f"'data:{kind}/<format>;base64,' + the payload")


def parse_data_url(url: str, where: str) -> tuple[str, bool, int]:
    """A ``data:`` URL's (mime type, base64?, payload offset); the payload is not copied.

    Raises:
        InvalidInputError: no comma after the header.
    """
    comma = url.find(",", 5, 5 + 1024)  # the header is short; never scan the payload
    if comma < 0:
        raise InvalidInputError(f"{where}: malformed data URL (no ',' after the media type)")
    fields = url[5:comma].split(";")
    mime = fields[0].strip().lower()
    is_b64 = any(f.strip().lower() == "base64" for f in fields[1:])
    return mime, is_b64, comma + 1


def mime_kind(mime: str | None) -> str | None:
    """``"image"``, ``"video"``, ``"audio"``, ``"document"`` or ``None`` for a MIME type."""
    if not mime:
        return None
    major = mime.split("/", 1)[0]
    if major in ("image", "video", "audio"):
        return major
    if mime in ("application/pdf", "application/x-pdf"):
        return "document"
    return None


def is_remote(ref: str) -> bool:
    """True for a reference with a URL scheme other than ``data:`` and ``file:``."""
    m = _SCHEME.match(ref, 0, 256)  # a scheme is short; never scan a payload
    return m is not None and m.group(1).lower() not in ("data", "file")


def _rename(exc: ProbeError, where: str, source: Any = None) -> ProbeError:
    msg = str(exc)
    if isinstance(source, str) and len(source) > QUOTE_CHARS:
        msg = msg.replace(source, shorten(source))  # a path quoted by the probe
    if not msg.startswith(where):
        msg = f"{where}: {msg}"
    new = type(exc)(msg, source=where)
    return new


def probe_named(source: Any, where: str) -> MediaInfo:
    """Probe ``source`` (bytes, a path or a file object); errors name ``where``."""
    from .._facade import probe

    try:
        return probe(source)
    except ProbeError as exc:
        raise _rename(exc, where, source) from None


class _NamedBytes(io.BytesIO):
    name = ""


def load_media(ref: Any, *, where: str, expect: str | None, mime: str | None,
               ctx: MediaContext, allow_bare_path: bool = False,
               base64_only: bool = False) -> MediaInfo | bytes:
    """Load one media reference as it appears in a request.

    Args:
        ref: a ``data:`` URL, a base64 string (when ``base64_only``), a URL, a ``file://``
            URI, a local path (when ``allow_bare_path``), ``bytes``, or an Info.
        where: the part's index path, for errors.
        expect: ``"image"``, ``"video"``, ``"audio"`` or ``"document"``: what the part
            declares; the probed media must be of that kind.
        mime: the MIME type the request declares beside the data (Anthropic
            ``media_type``, Gemini ``mimeType``), or ``None``.
        ctx: the request's :class:`MediaContext`.
        allow_bare_path: accept a string without a scheme as a local path (DashScope and
            qwen-vl-utils do); otherwise such a string is malformed.
        base64_only: the string is a bare base64 payload (Anthropic ``data``, Gemini
            ``inline_data.data``, OpenAI ``input_audio.data``).

    Returns:
        The probed Info, or for a PDF document its decoded bytes.

    Raises:
        InvalidInputError: a remote reference without a resolver, malformed base64, a
            MIME type the bytes contradict, or a part of the wrong kind.
        ProbeError: the bytes are not readable media (the message names ``where``).
    """
    if isinstance(ref, (ImageInfo, VideoInfo, AudioInfo)):
        return _check_kind(ref, expect, where)
    if isinstance(ref, (bytes, bytearray, memoryview)):
        data = bytes(ref)
        if len(data) > ctx.max_media_bytes:
            raise InvalidInputError(
                f"{where}: inline media of {len(data):,} bytes exceeds "
                f"max_media_bytes={ctx.max_media_bytes:,}")
        return _from_bytes(data, where=where, expect=expect, mime=mime)
    if not isinstance(ref, str):
        raise InvalidInputError(
            f"{where}: expected a URL, a data: URL or base64 string, got {type(ref).__name__}")
    if base64_only:
        payload = clean_base64(ref, where, ctx.max_media_bytes, check=ctx.check_base64)
        return _from_base64(payload, where=where, expect=expect, mime=mime)
    if ref[:5].lower() == "data:":
        dmime, is_b64, at = parse_data_url(ref, where)
        if mime and dmime and mime.lower() != dmime:
            raise InvalidInputError(
                f"{where}: the part declares {quote(mime)} but its data URL says {quote(dmime)}")
        claimed = dmime or mime
        if not is_b64:
            if (len(ref) - at) // 3 > ctx.max_media_bytes:  # %XX: 3 characters a byte
                raise InvalidInputError(
                    f"{where}: inline media exceeds max_media_bytes={ctx.max_media_bytes:,}")
            data = unquote_to_bytes(ref[at:])
            if len(data) > ctx.max_media_bytes:
                raise InvalidInputError(
                    f"{where}: inline media of {len(data):,} bytes exceeds "
                    f"max_media_bytes={ctx.max_media_bytes:,}")
            return _from_bytes(data, where=where, expect=expect, mime=claimed)
        payload = clean_base64(ref, where, ctx.max_media_bytes, start=at,
                               check=ctx.check_base64)
        return _from_base64(payload, where=where, expect=expect, mime=claimed)
    if ref[:7].lower() == "file://":
        if not ctx.local_files:
            raise InvalidInputError(f"{where}: local files are not allowed (local_files=False)")
        path = ref[7:]
        if len(path) > MAX_PATH_CHARS:
            raise InvalidInputError(f"{where}: a file:// URI of {len(ref):,} characters "
                                    f"({shorten(ref)}) is longer than any file path")
        return _from_path(path, where=where, expect=expect, mime=mime)
    if is_remote(ref):
        return _remote(ref, where=where, expect=expect, mime=mime, ctx=ctx)
    if looks_base64(ref) and not (allow_bare_path and ctx.local_files and len(
            ref) <= MAX_PATH_CHARS and os.path.lexists(ref)):  # a file of that name wins
        _bare_base64(ref, where, ctx, expect, allow_bare_path)
    if allow_bare_path:
        if len(ref) > MAX_PATH_CHARS:
            raise InvalidInputError(
                f"{where}: {shorten(ref)!r} is not a URL, a data: URL or a file path (longer "
                "than any path)")
        if not ctx.local_files:
            raise InvalidInputError(f"{where}: local files are not allowed (local_files=False)")
        return _from_path(ref, where=where, expect=expect, mime=mime)
    raise InvalidInputError(
        f"{where}: {shorten(ref)!r} is not a URL or a data: URL (expected "
        "'data:<type>;base64,...', 'https://...' with a resolver, or 'file://...')")


def remote_ref(ref: str, *, where: str, expect: str | None, ctx: MediaContext,
               mime: str | None = None) -> MediaInfo | bytes:
    """Resolve a reference that is remote by nature (a file id, a ``gs://`` URI)."""
    return _remote(ref, where=where, expect=expect, mime=mime, ctx=ctx)


def _remote(ref: str, *, where: str, expect: str | None, mime: str | None,
            ctx: MediaContext) -> MediaInfo | bytes:
    shown = shorten(ref)
    if ctx.resolver is None:
        raise InvalidInputError(
            f"{where}: {shown!r} is a remote reference and tokenmeter never fetches anything. "
            "Pass resolver=<callable(reference) -> bytes | ImageInfo | VideoInfo | AudioInfo> "
            "to supply the media (or its size) yourself, or inline it as a data: URL")
    got = ctx.resolver(ref)
    if isinstance(got, (ImageInfo, VideoInfo, AudioInfo)):
        return _check_kind(got, expect, where)
    if isinstance(got, (bytes, bytearray, memoryview)):
        return _from_bytes(bytes(got), where=where, expect=expect, mime=mime)
    raise InvalidInputError(
        f"{where}: the resolver returned a {type(got).__name__} for {shown!r}; it must "
        "return bytes or an ImageInfo, VideoInfo or AudioInfo")


def _from_path(path: str, *, where: str, expect: str | None, mime: str | None
               ) -> MediaInfo | bytes:
    if expect == "document":
        try:
            with open(path, "rb") as f:
                data = f.read(DEFAULT_MAX_MEDIA_BYTES + 1)
        except OSError as exc:
            raise MediaNotFoundError(f"{where}: {shorten(path)}: {exc.strerror or exc}",
                                     source=where) from None
        return _document(data, where)
    info = probe_named(os.fsdecode(path), where)
    return _check(info, expect=expect, mime=mime, where=where)


def _from_bytes(data: bytes, *, where: str, expect: str | None, mime: str | None
                ) -> MediaInfo | bytes:
    if expect == "document" or mime_kind(mime) == "document" or data[:5] == b"%PDF-":
        if expect not in (None, "document"):
            raise InvalidInputError(f"{where}: a PDF document given where {expect} is expected")
        return _document(data, where)
    f = _NamedBytes(data)
    f.name = where
    info = probe_named(f, where)
    return _check(info, expect=expect, mime=mime, where=where)


def _from_base64(payload: Payload, *, where: str, expect: str | None, mime: str | None
                 ) -> MediaInfo | bytes:
    text, start, _ = payload
    if expect == "document" or mime_kind(mime) == "document" or (
            text[start:start + 7] == "JVBERi0"):  # "%PDF-"
        if expect not in (None, "document"):
            raise InvalidInputError(f"{where}: a PDF document given where {expect} is expected")
        # A PDF's page tree can be anywhere in the file: it is decoded whole.
        return _document(Base64File(payload, where).read(), where)
    info = probe_named(Base64File(payload, where), where)
    return _check(info, expect=expect, mime=mime, where=where)


def _document(data: bytes, where: str) -> bytes:
    if data[:5] != b"%PDF-":
        raise InvalidInputError(f"{where}: declared a PDF document but the bytes are not a PDF "
                                f"(they start with {data[:8]!r})")
    return data


def _check_kind(info: MediaInfo, expect: str | None, where: str) -> MediaInfo:
    if expect is not None and info.kind != expect:
        raise InvalidInputError(
            f"{where}: the part is {_a(expect)} {expect} but its media is {_a(info.kind)} "
            f"{info.kind} ({_describe(info)})")
    return info


def _check(info: MediaInfo, *, expect: str | None, mime: str | None, where: str) -> MediaInfo:
    claimed = mime_kind(mime)
    if claimed is not None and claimed != info.kind:
        raise InvalidInputError(
            f"{where}: declared {quote(mime)} but the bytes are {_a(info.kind)} {info.kind} "
            f"({_describe(info)})")
    if (isinstance(info, ImageInfo) and mime and mime.lower() in _IMAGE_FORMATS
            and info.format.upper() not in _IMAGE_FORMATS[mime.lower()]):
            raise InvalidInputError(
                f"{where}: declared {quote(mime)} but the bytes are a {info.format} image; the "
                "vendors reject a media type that does not match the data")
    return _check_kind(info, expect, where)


def _a(kind: str) -> str:
    return "an" if kind[:1] in "aeiou" else "a"


def _describe(info: MediaInfo) -> str:
    fmt = getattr(info, "format", "") or ""
    if isinstance(info, AudioInfo):
        return f"{fmt} {info.duration:g} s".strip()
    return f"{fmt} {info.width}x{info.height}".strip()


def media_options(part: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    """The entries of ``part`` named in ``keys`` (per-part processing options)."""
    return {k: part[k] for k in keys if k in part}
