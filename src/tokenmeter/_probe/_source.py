"""Turning a probe input into one bounded, read-only byte stream.

Every media library reads the input through :class:`Guard`, a small file-like object that
counts the bytes handed out and watches a deadline. When either bound is crossed it does not
raise (an exception raised inside an FFmpeg or libsndfile read callback would be swallowed
or printed); it *trips*: every later read returns ``b""`` as at end of file, the library
gives up quickly, and the probe then raises the matching :class:`ProbeError` from
:meth:`Guard.check`.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import time
from typing import IO, Any

from ..errors import InvalidInputError, MediaNotFoundError, ProbeError, ProbeTimeoutError

__all__ = ["Guard", "Limits", "open_source"]

# A URL scheme: letters then "+-." then ":" — two letters at least, so that a Windows
# drive ("C:\\x") is still a path. "file:" is refused too: a path is given as a path.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]+:")


class Limits:
    """The bounds of one probe (see :func:`tokenmeter.probe` for their meaning)."""

    __slots__ = ("max_bytes", "scan_bytes", "timeout")

    def __init__(self, timeout: float, max_bytes: int, scan_bytes: int) -> None:
        if not (isinstance(timeout, (int, float)) and timeout > 0):
            raise InvalidInputError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        for name, value in (("max_bytes", max_bytes), ("scan_bytes", scan_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise InvalidInputError(f"{name} must be a positive int, got {value!r}")
        self.timeout = float(timeout)
        self.max_bytes = max_bytes
        self.scan_bytes = scan_bytes


class Guard:
    """A read-only, seekable view of the input that enforces the probe's bounds.

    Attributes:
        name: the printable name of the input, used in every error message.
        size: the input's length in bytes.
        fd: the OS file descriptor when the input is a path the probe opened, else None.
        bytes_read: bytes handed out so far.
        tripped: ``None``, or the error to raise because a bound was crossed.
    """

    def __init__(
        self,
        raw: IO[bytes],
        name: str,
        size: int,
        limits: Limits,
        *,
        base: int = 0,
        fd: int | None = None,
    ) -> None:
        self._raw = raw
        self.fd = fd
        self._read = raw.read
        self._base = base
        self.name = name
        self.size = size
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout
        self.bytes_read = 0
        self.budget = limits.max_bytes
        self.tripped: ProbeError | None = None

    # -- bounds ---------------------------------------------------------------------

    def _trip(self, err: ProbeError) -> None:
        if self.tripped is None:
            self.tripped = err

    def expired(self) -> bool:
        """True (and tripped) once the deadline has passed."""
        if self.tripped is not None:
            return isinstance(self.tripped, ProbeTimeoutError)
        if time.monotonic() > self.deadline:
            self._trip(
                ProbeTimeoutError(
                    f"{self.name}: reading the header took longer than the "
                    f"{self.limits.timeout:g} s time bound; the file is pathological or the "
                    "machine is overloaded (pass a larger timeout= to allow more)",
                    source=self.name,
                )
            )
            return True
        return False

    def check(self) -> None:
        """Raise the error of a crossed bound, if any."""
        if self.tripped is None:
            self.expired()
        if self.tripped is not None:
            raise self.tripped

    # -- file protocol ----------------------------------------------------------------

    def read(self, n: int | None = -1) -> bytes:
        """Read up to ``n`` bytes (all that is left when ``n`` is negative or None)."""
        if self.tripped is not None or self.expired():
            return b""
        if n is None or n < 0:
            n = max(self.size - self.tell(), 0)
        if self.bytes_read + n > self.budget:
            self._trip(
                ProbeError(
                    f"{self.name}: probing would read more than {self.budget} bytes (max_bytes); "
                    "the header is unreasonably large or the file is malformed",
                    source=self.name,
                )
            )
            return b""
        try:
            data = self._read(n)
        except (OSError, ValueError) as exc:  # a failing disk, or the caller closed the file
            self._trip(ProbeError(f"{self.name}: read failed: {exc}", source=self.name))
            return b""
        if not isinstance(data, bytes):
            data = bytes(data)
        self.bytes_read += len(data)
        return data

    def readinto(self, buf: Any) -> int:
        """Read into a writable buffer; returns the number of bytes read."""
        mv = memoryview(buf).cast("B")
        data = self.read(len(mv))
        mv[: len(data)] = data
        return len(data)

    def readline(self, limit: int = -1) -> bytes:
        """Read one line, at most ``limit`` bytes (8 KiB when not given)."""
        start = self.tell()
        chunk = self.read(8192 if limit is None or limit < 0 else limit)
        i = chunk.find(b"\n")
        if i >= 0:
            chunk = chunk[: i + 1]
            self.seek(start + i + 1)
        return chunk

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move to ``offset`` (``whence`` as in :meth:`io.IOBase.seek`)."""
        if whence == 0:
            pos = offset
        elif whence == 1:
            pos = self.tell() + offset
        elif whence == 2:
            pos = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        return self._raw.seek(self._base + pos) - self._base

    def tell(self) -> int:
        """The current position."""
        return self._raw.tell() - self._base

    def seekable(self) -> bool:
        """Always True."""
        return True

    def readable(self) -> bool:
        """Always True."""
        return True

    def writable(self) -> bool:
        """Always False: probing never writes."""
        return False

    @property
    def closed(self) -> bool:
        """Whether the underlying file is closed."""
        return bool(self._raw.closed)

    def close(self) -> None:
        """Does nothing: the probe closes what it opened, and never the caller's file."""

    def pread(self, offset: int, n: int) -> bytes:
        """Read ``n`` bytes at ``offset`` (fewer at end of file), then return to the
        current position: FFmpeg keeps its own read-ahead buffer and assumes the file
        position is where it left it."""
        pos = self._raw.tell()
        self.seek(offset)
        try:
            return self.read(n)
        finally:
            self._raw.seek(pos)


class _Opened:
    """An opened input: the guard, and what to do when the probe is finished."""

    __slots__ = ("_close", "_restore", "guard")

    def __init__(self, guard: Guard, close: IO[bytes] | None, restore: tuple[Any, int] | None):
        self.guard = guard
        self._close = close
        self._restore = restore

    def __enter__(self) -> Guard:
        return self.guard

    def __exit__(self, *exc: object) -> None:
        if self._close is not None:
            self._close.close()
        if self._restore is not None:
            f, pos = self._restore
            with contextlib.suppress(OSError, ValueError):  # closed or broken meanwhile
                f.seek(pos)


def describe(source: Any) -> str:
    """A printable name for ``source`` (used in errors and ``Info.source``)."""
    if isinstance(source, (str, os.PathLike)):
        return os.fsdecode(os.fspath(source))
    if isinstance(source, (bytes, bytearray, memoryview)):
        return "<bytes>"
    name = getattr(source, "name", None)
    if isinstance(name, (str, bytes)) and name:
        return os.fsdecode(name)
    return "<file object>"


def open_source(source: Any, limits: Limits) -> _Opened:
    """Open ``source`` (path, bytes-like or binary file object) behind a :class:`Guard`.

    Raises:
        MediaNotFoundError: a missing path, a directory, a special file (FIFO, device),
            an unreadable file, or a URL.
        InvalidInputError: ``source`` is not a path, bytes or a binary file object.
    """
    if isinstance(source, (str, os.PathLike)):
        return _open_path(source, limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source) if not isinstance(source, bytes) else source
        return _Opened(Guard(io.BytesIO(data), "<bytes>", len(data), limits), None, None)
    if hasattr(source, "read") and callable(source.read):
        return _open_fileobj(source, limits)
    raise InvalidInputError(
        f"cannot probe a {type(source).__name__}; pass a local path (str or os.PathLike), "
        "bytes, or a binary file object opened with 'rb'"
    )


def _open_path(source: str | os.PathLike[Any], limits: Limits) -> _Opened:
    path = os.fspath(source)
    name = os.fsdecode(path)
    if isinstance(path, str) and _SCHEME.match(path):
        raise MediaNotFoundError(
            f"{name}: URLs are not probed; tokenmeter reads only local files. Download it "
            "and pass the path, bytes, or a file object",
            source=name,
        )
    if not path:
        raise MediaNotFoundError("'': an empty path names no file", source=name)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; we refuse it just after.
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise MediaNotFoundError(f"{name}: no such file", source=name) from None
    except IsADirectoryError:
        raise MediaNotFoundError(f"{name}: is a directory, not a media file", source=name) from None
    except PermissionError:
        raise MediaNotFoundError(f"{name}: permission denied", source=name) from None
    except OSError as exc:
        raise MediaNotFoundError(
            f"{name}: cannot open: {exc.strerror or exc}", source=name
        ) from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise MediaNotFoundError(f"{name}: is a directory, not a media file", source=name)
        if not stat.S_ISREG(st.st_mode):
            raise MediaNotFoundError(
                f"{name}: not a regular file (a FIFO, socket or device); only files are probed",
                source=name,
            )
        # O_NONBLOCK stays: it does not affect reads of a regular file. Unbuffered: the
        # probes read in large pieces or through their own buffers.
        f = io.FileIO(fd, "r", closefd=True)
    except BaseException:
        os.close(fd)
        raise
    return _Opened(Guard(f, name, st.st_size, limits, fd=fd), f, None)


def _open_fileobj(f: Any, limits: Limits) -> _Opened:
    name = describe(f)
    if isinstance(f, io.TextIOBase):
        raise InvalidInputError(f"{name}: a text-mode file; open it in binary mode ('rb')")
    try:
        seekable = bool(f.seekable()) if hasattr(f, "seekable") else hasattr(f, "seek")
    except (OSError, ValueError) as exc:
        raise MediaNotFoundError(
            f"{name}: cannot use the file object: {exc}", source=name
        ) from None
    if not seekable:
        # A pipe or socket: read it once, within the byte bound, and probe the copy.
        try:
            data = f.read(limits.max_bytes + 1)
        except (OSError, ValueError) as exc:
            raise MediaNotFoundError(f"{name}: cannot read: {exc}", source=name) from None
        if not isinstance(data, (bytes, bytearray)):
            raise InvalidInputError(f"{name}: read() returned {type(data).__name__}, not bytes")
        if len(data) > limits.max_bytes:
            raise ProbeError(
                f"{name}: a non-seekable stream longer than max_bytes={limits.max_bytes}; "
                "pass a path or a seekable file object",
                source=name,
            )
        return _Opened(Guard(io.BytesIO(bytes(data)), name, len(data), limits), None, None)
    try:
        pos = f.tell()
        size = f.seek(0, 2)
        if not isinstance(size, int):  # some wrappers return None from seek()
            size = f.tell()
        f.seek(0)
        probe_byte = f.read(0)
    except (OSError, ValueError) as exc:
        raise MediaNotFoundError(
            f"{name}: cannot use the file object: {exc}", source=name
        ) from None
    if not isinstance(probe_byte, (bytes, bytearray)):
        raise InvalidInputError(f"{name}: a text-mode file; open it in binary mode ('rb')")
    # Like Pillow, probe the whole file from offset 0, and put the position back after.
    return _Opened(Guard(f, name, size, limits), None, (f, pos))
