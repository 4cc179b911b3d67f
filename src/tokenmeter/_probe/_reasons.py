"""Reasons for a ``ProbeError`` from what a media library raised.

Pillow, PyAV and libsndfile fail in two ways. Their deliberate errors carry a reason worth
passing on ("broken PNG file", "Invalid data found when processing input"). Others are a
Python error from deep inside a parser that ran out of bytes or met a value it did not
expect — ``struct.error: unpack_from requires a buffer of at least 4 bytes…``,
``IndexError: index out of range`` — whose text describes the library's code, not the
file. Those are replaced by a reason in the file's terms: it is truncated (the usual cause:
a read came up short) or its header is malformed.
"""

from __future__ import annotations

import re
import struct

__all__ = ["is_raw", "reason"]

#: Python errors that no library raises on purpose to describe a file.
_RAW_TYPES: tuple[type[BaseException], ...] = (
    struct.error,
    IndexError,
    KeyError,
    EOFError,
    TypeError,
    AttributeError,
    ZeroDivisionError,
    OverflowError,
    UnicodeError,
    RecursionError,
    MemoryError,
    AssertionError,
    NameError,
)

#: Wording of Python's own errors (also when a library re-raises them as a ValueError or
#: OSError with the same text).
_RAW_WORDS = re.compile(
    r"unpack|struct|index out of range|out of range|invalid literal|buffer|\bEOF\b|"
    r"NoneType|has no attribute|not subscriptable|division by zero|can't decode|"
    r"codec can't|not enough values|too many values|object is not",
    re.IGNORECASE,
)

#: How a read that came up short shows: Python's errors when a parser indexes or unpacks
#: past the bytes it got, and the libraries' own words for the end of the data.
_SHORT_WORDS = re.compile(
    r"requires a buffer|index out of range|\bEOF\b|truncated|end of (the )?file|"
    r"not enough (data|bytes)|Truncated File Read|incomplete|chunk b'.{0,3}'\)",
    re.IGNORECASE,
)


def is_raw(exc: BaseException) -> bool:
    """Whether ``exc``'s text describes a library's code rather than the file."""
    return isinstance(exc, _RAW_TYPES) or bool(_RAW_WORDS.search(str(exc)))


def reason(exc: BaseException, fmt: str, size: int, part: str, *, prefix: str = "") -> str:
    """The reason to give for ``exc``, raised while reading a ``fmt`` header.

    Args:
        exc: what the library raised.
        fmt: the format's name, as in the other messages (``PNG``, ``mov``…).
        size: the input's length in bytes.
        part: what the header had not reached when the data ran out ("IHDR", "the start
            of scan (SOS)"…).
        prefix: put before a library's own reason (``"not a readable PNG header: "``).

    Returns:
        ``truncated PNG: the header ends before IHDR (8 bytes)`` for a short read,
        ``malformed PNG header: …`` for another Python error, else the library's own
        words after ``prefix``.
    """
    text = str(exc) or type(exc).__name__
    short = bool(_SHORT_WORDS.search(text)) or isinstance(exc, (EOFError, IndexError))
    # Pillow's own errors for a short read are OSError ("Truncated File Read") and
    # SyntaxError ("broken PNG file (incomplete checksum in b'IHDR')").
    if short and (is_raw(exc) or isinstance(exc, (OSError, SyntaxError))):
        return f"truncated {fmt}: the header ends before {part} ({size} bytes)"
    if is_raw(exc):
        return (
            f"malformed {fmt} header: a length, offset or count in it does not fit the "
            f"data ({size} bytes)"
        )
    return prefix + (text if len(text) < 200 else text[:200] + "…")
