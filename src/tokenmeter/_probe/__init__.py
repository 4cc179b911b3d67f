"""Header-only media probing: the size, length and rate of a file before it is uploaded.

:func:`probe` reads one input — a local path, ``bytes`` or a binary file object — and
returns a frozen :class:`~tokenmeter.ImageInfo`, :class:`~tokenmeter.VideoInfo` or
:class:`~tokenmeter.AudioInfo`. :func:`probe_many` does the same for a stream of inputs on
a pool of worker processes. Nothing is decoded, nothing but the given file is opened, and
every failure is a :class:`~tokenmeter.ProbeError` subclass naming the input and the
reason. See ``docs/probe.md`` for what is read, the bounds and the guarantees.

The media libraries (Pillow, PyAV, soundfile) are imported on first use, so
``import tokenmeter`` does not load them.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future
from typing import Any

from ..errors import (
    CorruptMediaError,
    InvalidInputError,
    MissingDependencyError,
    ProbeError,
    UnsupportedFormatError,
)
from ..media import MediaInfo
from ._reasons import reason
from ._source import Guard, Limits, describe, open_source
from .sniff import HEAD_BYTES, describe_head, sniff

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_SCAN_BYTES",
    "DEFAULT_TIMEOUT",
    "probe",
    "probe_many",
]

#: Seconds one probe may take before it fails with :class:`ProbeTimeoutError`.
DEFAULT_TIMEOUT = 5.0
#: Bytes one probe may read in all (headers, index tables, a frame-count scan).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Bytes a frame-count scan may read before the count is estimated (``frames_exact=False``).
DEFAULT_SCAN_BYTES = 64 * 1024 * 1024

_DEFAULT_LIMITS = Limits(DEFAULT_TIMEOUT, DEFAULT_MAX_BYTES, DEFAULT_SCAN_BYTES)


def probe(
    source: Any,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    scan_bytes: int = DEFAULT_SCAN_BYTES,
) -> MediaInfo:
    """Read a media file's header: image size as displayed, video size/duration/frame
    rate/frame count/rotation, audio duration/sample rate/channels.

    The kind of media is found from the first bytes (magic numbers), never from the file
    name, so a wrong extension does not matter.

    Args:
        source: a local path (``str`` or ``os.PathLike``), ``bytes``/``bytearray``/
            ``memoryview``, or a binary file object (read from offset 0, like Pillow
            does; its position is restored afterwards and it is never closed). A string
            that starts with a URL scheme (``http:``, ``file:``…) is refused.
        timeout: seconds the probe may take (a pathological file fails rather than hangs).
        max_bytes: bytes the probe may read in all.
        scan_bytes: bytes a video frame-count scan may read (only containers without a
            frame count in the header, e.g. WebM, are scanned); past it the count is
            estimated and ``frames_exact`` is False.

    Returns:
        An :class:`ImageInfo`, :class:`VideoInfo` or :class:`AudioInfo` whose ``source``
        names the input.

    Raises:
        MediaNotFoundError: missing path, directory, special file, permission denied, URL.
        UnsupportedFormatError: empty-of-media input (text, HTML, a playlist), or a format
            or codec that cannot be read (HEIF without a plugin, an unknown codec).
        CorruptMediaError: empty, truncated or inconsistent media.
        ProbeTimeoutError: the probe ran past ``timeout``.
        ProbeError: the probe would read more than ``max_bytes``.
        InvalidInputError: ``source`` is not a path, bytes or binary file object, or a
            bound is not positive.
        MissingDependencyError: the ``media`` extra is not installed.
    """
    if (
        timeout == DEFAULT_TIMEOUT
        and max_bytes == DEFAULT_MAX_BYTES
        and (scan_bytes == DEFAULT_SCAN_BYTES)
    ):
        limits = _DEFAULT_LIMITS
    else:
        limits = Limits(timeout, max_bytes, scan_bytes)
    with open_source(source, limits) as g:
        return _probe_guarded(g)


def _probe_guarded(g: Guard) -> MediaInfo:
    if g.size == 0:
        raise CorruptMediaError(f"{g.name}: empty (0 bytes)", source=g.name)
    head = g.pread(0, HEAD_BYTES)
    id3_tail = None
    if head[:3] == b"ID3" and len(head) >= 10:
        # ID3v2 size: four 7-bit bytes; a footer (flag 0x10) adds 10 more.
        n = 0
        for b in head[6:10]:
            n = (n << 7) | (b & 0x7F)
        id3_tail = g.pread(10 + n + (10 if head[5] & 0x10 else 0), 16)
    g.check()
    route = sniff(head, id3_tail=id3_tail)
    if route is None:
        raise UnsupportedFormatError(
            f"{g.name}: not an image, video or audio format that tokenmeter reads (it starts "
            f"with {describe_head(head)}); see docs/probe.md for the formats",
            source=g.name,
        )
    kind, fmt = route
    if kind == "unsupported":
        raise UnsupportedFormatError(
            f"{g.name}: {fmt} images are not supported (Pillow cannot open them without a "
            "plugin); convert to JPEG, PNG, WebP or AVIF",
            source=g.name,
        )
    try:
        if kind == "image":
            from .image import probe_image

            return probe_image(g, fmt, head)
        if kind == "audio":
            from .audio import probe_audio

            return probe_audio(g, fmt, g.fd)
        from .video import probe_av

        return probe_av(g, fmt)
    except (ProbeError, MissingDependencyError):
        raise
    except Exception as exc:
        # A last net: the readers turn library errors into ProbeErrors themselves, but a
        # hostile file must never surface as a raw exception from deep inside a library
        # (an out-of-range header value also lands here, refused by the Info's checks).
        g.check()
        why = reason(
            exc, fmt, g.size, "the end of the header", prefix=f"cannot read the {fmt} header: "
        )
        raise CorruptMediaError(f"{g.name}: {why}", source=g.name) from None


# -- batches -----------------------------------------------------------------------------

_pools: dict[int, Any] = {}
_atexit_registered = False
#: Worker process ids that served the last :func:`probe_many` call (for diagnostics).
_last_pids: set[int] = set()


def probe_many(
    sources: Iterable[Any],
    *,
    workers: int | None = None,
    errors: str = "return",
    chunksize: int = 16,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    scan_bytes: int = DEFAULT_SCAN_BYTES,
) -> Iterator[MediaInfo | ProbeError]:
    """Probe many inputs on a pool of worker processes; results stream in input order.

    Paths and bytes are probed in worker processes (one per usable core by default), so a
    batch uses every core: header parsing is Python-heavy and a thread pool would share one
    core under the GIL. A crash inside a media library then takes down a worker, not the
    caller. File objects cannot be sent to another process; they are probed in the calling
    process, in order. The workers (``python -m tokenmeter._probe._worker``, not
    :mod:`multiprocessing`, so the caller's script is never re-imported and needs no
    ``__main__`` guard) are started on first use and kept for later calls. A batch of a
    single chunk is probed in the calling process.

    Args:
        sources: paths, bytes or binary file objects; any iterable, consumed lazily (a
            bounded number of chunks is in flight at a time).
        workers: worker processes; ``None`` for the number of usable CPUs; ``1`` probes
            in the calling process.
        errors: ``"return"`` (default) yields each input's :class:`ProbeError` in its
            place, so one bad upload does not stop a batch; ``"raise"`` raises the first.
        chunksize: inputs sent to a worker at a time.
        timeout: per-input bound, as in :func:`probe`.
        max_bytes: per-input bound, as in :func:`probe`.
        scan_bytes: per-input bound, as in :func:`probe`.

    Yields:
        For each input, in order, its Info or (with ``errors="return"``) its ProbeError.

    Raises:
        InvalidInputError: an input that is not a path, bytes or a file object (raised
            when that input is reached), or a bad argument.
    """
    if errors not in ("return", "raise"):
        raise InvalidInputError(f"errors must be 'return' or 'raise', got {errors!r}")
    if isinstance(chunksize, bool) or not isinstance(chunksize, int) or chunksize < 1:
        raise InvalidInputError(f"chunksize must be a positive int, got {chunksize!r}")
    if workers is None:
        workers = _usable_cpus()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidInputError(f"workers must be a positive int or None, got {workers!r}")
    Limits(timeout, max_bytes, scan_bytes)  # validate now, not in a worker
    opts = {"timeout": timeout, "max_bytes": max_bytes, "scan_bytes": scan_bytes}
    return _stream(iter(sources), workers, errors == "raise", chunksize, opts)


def _usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return max(len(os.sched_getaffinity(0)), 1)
    return os.cpu_count() or 1


def _probe_one(x: Any, opts: dict[str, Any]) -> MediaInfo | ProbeError:
    try:
        return probe(x, **opts)
    except ProbeError as exc:
        return exc
    except MissingDependencyError as exc:  # report it per item, as the batch goes on
        return UnsupportedFormatError(f"{describe(x)}: {exc}", source=describe(x))


def _probe_chunk(items: list[Any], opts: dict[str, Any]) -> tuple[int, list[Any]]:
    return os.getpid(), [_probe_one(x, opts) for x in items]


def _payload(x: Any, i: int) -> Any:
    """What is sent to a worker for input ``x``, or ``None`` to probe it locally."""
    if isinstance(x, (str, os.PathLike)):
        return os.fspath(x)
    if isinstance(x, bytes):
        return x
    if isinstance(x, (bytearray, memoryview)):
        return bytes(x)
    if hasattr(x, "read") and callable(x.read):
        return None
    raise InvalidInputError(
        f"inputs[{i}]: cannot probe a {type(x).__name__}; pass a local path, bytes, or a "
        "binary file object"
    )


def _stream(
    it: Iterator[Any], workers: int, raise_first: bool, chunksize: int, opts: dict[str, Any]
) -> Iterator[MediaInfo | ProbeError]:
    _last_pids.clear()
    if workers == 1:
        for i, x in enumerate(it):
            _payload(x, i)  # the same type check as for a pool
            yield _deliver(_probe_one(x, opts), raise_first)
        return
    window: deque[tuple[Future[Any] | None, list[Any], list[Any]]] = deque()
    index = 0
    pending: list[Any] = []
    first = True
    while True:
        chunk, pending = pending, []
        for x in it:
            chunk.append(x)
            if len(chunk) == chunksize:
                break
        if not chunk:
            break
        if first:
            first = False
            pending = [x for _, x in zip(range(1), it, strict=False)]
            if not pending:
                # One chunk in all: probing it here is faster than waking a pool.
                for i, x in enumerate(chunk):
                    _payload(x, i)
                    yield _deliver(_probe_one(x, opts), raise_first)
                return
        payloads = [_payload(x, index + k) for k, x in enumerate(chunk)]
        index += len(chunk)
        remote = [p for p in payloads if p is not None]
        fut = _submit(workers, remote, opts) if remote else None
        window.append((fut, chunk, payloads))
        while len(window) > 2 * workers:
            yield from _drain(window.popleft(), workers, raise_first, opts)
    while window:
        yield from _drain(window.popleft(), workers, raise_first, opts)


def _deliver(r: MediaInfo | ProbeError, raise_first: bool) -> MediaInfo | ProbeError:
    if raise_first and isinstance(r, ProbeError):
        raise r
    return r


def _drain(
    entry: tuple[Future[Any] | None, list[Any], list[Any]],
    workers: int,
    raise_first: bool,
    opts: dict[str, Any],
) -> Iterator[MediaInfo | ProbeError]:
    fut, chunk, payloads = entry
    results: list[Any] = []
    if fut is not None:
        remote = [p for p in payloads if p is not None]
        results = _result(fut, workers, remote, opts)
    it = iter(results)
    for x, p in zip(chunk, payloads, strict=True):
        r = next(it) if p is not None else _probe_one(x, opts)
        yield _deliver(r, raise_first)


def _pool(workers: int) -> Any:
    pool = _pools.get(workers)
    if pool is None:
        from ._workers import Pool

        global _atexit_registered
        if not _atexit_registered:
            import atexit

            _atexit_registered = True
            # Stop the workers before interpreter teardown.
            atexit.register(_shutdown_pools)
        pool = _pools[workers] = Pool(workers)
    return pool


def _submit(workers: int, items: list[Any], opts: dict[str, Any]) -> Future[Any]:
    return _pool(workers).submit(items, opts)  # type: ignore[no-any-return]


def _result(fut: Future[Any], workers: int, items: list[Any], opts: dict[str, Any]) -> list[Any]:
    from ._workers import WorkerCrashed, WorkerStartError

    try:
        pid, results = fut.result()
        _last_pids.add(pid)
        return list(results)
    except WorkerStartError:
        # No worker can run here (no interpreter, tokenmeter not importable by it):
        # probe in this process rather than fail the batch.
        return [_probe_one(x, opts) for x in items]
    except WorkerCrashed:
        # A media library crashed on some input and took its worker down. Retry one by
        # one (the pool starts a new worker), so only the input that crashes again is
        # reported.
        out: list[Any] = []
        for x in items:
            try:
                _, (r,) = _submit(workers, [x], opts).result()
            except WorkerCrashed:
                name = describe(x)
                r = CorruptMediaError(f"{name}: the probe crashed reading this file", source=name)
            out.append(r)
        return out


def _shutdown_pools() -> None:
    """Stop the worker pools (they are otherwise kept for the next call)."""
    while _pools:
        _, pool = _pools.popitem()
        pool.shutdown()
