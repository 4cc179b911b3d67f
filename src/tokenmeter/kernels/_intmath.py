"""Integer helpers and input checks shared by every kernel (numpy only).

The checks turn malformed input into :class:`~tokenmeter.errors.InvalidInputError` naming
the offending value and its index, before any arithmetic happens, so a numpy
``ValueError`` or a silent int64 wrap can never reach the caller.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from ..errors import CountOverflowError, InvalidInputError

__all__ = [
    "I64",
    "INT64_MAX",
    "MAX_DURATION",
    "MAX_FPS",
    "MAX_SIDE",
    "as_durations",
    "as_int_array",
    "as_sides",
    "broadcast_same",
    "ceil_div",
    "check_no_overflow",
    "checked_mul",
    "round_half_even_div",
]

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]

INT64_MAX = int(np.iinfo(np.int64).max)
#: Largest image side accepted: 2**31 - 1 (PNG's limit). Two sides multiply to < 2**62,
#: so ``h * w`` and small multiples of it never overflow int64.
MAX_SIDE = 2**31 - 1
#: Longest media duration accepted, in seconds (about 115 days).
MAX_DURATION = 1e7
#: Highest frame rate accepted, in frames per second.
MAX_FPS = 1e5


def _first_bad(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask.ravel())[0])


def _describe(name: str, arr: np.ndarray, index: int) -> str:
    flat = arr.ravel()
    where = f"{name}[{index}]" if arr.ndim else name
    return f"{where} = {flat[index]!r}"


def as_int_array(name: str, values: Any, *, low: int = 1, high: int = MAX_SIDE) -> I64:
    """``values`` as an int64 array, every item in ``[low, high]``.

    Floats (even integral ones), booleans, strings and objects are refused: a size is a
    count of pixels, and a float here is almost always a bug upstream.

    Raises:
        InvalidInputError: naming the first offending value and its index.
    """
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        if arr.dtype == object:
            raise InvalidInputError(f"{name} must be integers, got objects (dtype=object)")
        if np.issubdtype(arr.dtype, np.floating) and arr.size:
            bad = ~np.isfinite(arr) | (arr != np.floor(arr))
            i = _first_bad(bad) if bad.any() else 0
            raise InvalidInputError(
                f"{name} must be integers, got dtype {arr.dtype} ({_describe(name, arr, i)}); "
                "pass whole pixel counts"
            )
        raise InvalidInputError(f"{name} must be integers, got dtype {arr.dtype}")
    if arr.dtype == np.uint64 and arr.size and int(arr.max()) > INT64_MAX:
        i = int(np.argmax(arr))
        raise CountOverflowError(f"{_describe(name, arr, i)} does not fit in int64")
    arr = arr.astype(np.int64, copy=False)
    # Two reductions settle the common all-valid case without a mask as large as the
    # input; the mask is built only to name the first bad value.
    if arr.size and (int(arr.min()) < low or int(arr.max()) > high):
        bad = (arr < low) | (arr > high)
        if bad.any():
            i = _first_bad(bad)
            raise InvalidInputError(
                f"{_describe(name, arr, i)} is out of range; allowed {low}..{high}"
            )
    return arr


def as_sides(heights: Any, widths: Any) -> tuple[I64, I64]:
    """Check image heights and widths (1..2**31-1 each) and bring them to one shape."""
    h = as_int_array("height", heights)
    w = as_int_array("width", widths)
    return broadcast_same(("height", h), ("width", w))  # type: ignore[return-value]


def as_durations(name: str, values: Any, *, low: float = 0.0, high: float = MAX_DURATION,
                 low_inclusive: bool = True) -> F64:
    """``values`` as a float64 array of finite numbers in ``[low, high]``.

    Raises:
        InvalidInputError: naming the first NaN, infinite, negative or too-large value.
    """
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise InvalidInputError(f"{name} must be numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    # min/max propagate NaN, which then fails both comparisons, so two reductions settle
    # the common all-valid case; the masks are built only to name the first bad value.
    mn, mx = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if arr.size and not ((mn >= low if low_inclusive else mn > low) and mx <= high
                         and math.isfinite(mn) and math.isfinite(mx)):
        too_low = (arr < low) if low_inclusive else (arr <= low)
        bad = ~np.isfinite(arr) | too_low | (arr > high)
        if bad.any():
            i = _first_bad(bad)
            rel = ">=" if low_inclusive else ">"
            raise InvalidInputError(
                f"{_describe(name, arr, i)} is not allowed; {name} must be finite, "
                f"{rel} {low:g} and <= {high:g}"
            )
    return arr


def broadcast_same(*named: tuple[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """Bring arrays to one shape: equal shapes, or 0-d scalars broadcast to the others.

    Raises:
        InvalidInputError: when two non-scalar arrays differ in shape.
    """
    shapes = {a.shape for _, a in named if a.ndim}
    if len(shapes) > 1:
        desc = ", ".join(f"{n} {a.shape}" for n, a in named)
        raise InvalidInputError(f"array shapes differ: {desc}; pass arrays of one shape")
    if not shapes:
        return tuple(a for _, a in named)
    (shape,) = shapes
    return tuple(np.broadcast_to(a, shape) if a.ndim == 0 else a for _, a in named)


def ceil_div(a: Any, b: Any) -> Any:
    """Integer ceiling division, ``-(-a // b)``, exact for int64 (no float step)."""
    return -(-a // b)


def round_half_even_div(a: I64, b: int) -> I64:
    """``round(a / b)`` with Python's banker's rounding, in integers (``a >= 0``, ``b > 0``).

    Python's ``round(22.5) == 22``; ``floor(x + 0.5)`` would give 23.
    """
    q, r = np.divmod(a, b)
    twice = 2 * r
    up = (twice > b) | ((twice == b) & (q % 2 == 1))
    result: I64 = q + up
    return result


def check_no_overflow(name: str, value: np.ndarray, limit: int = INT64_MAX) -> None:
    """Raise :class:`CountOverflowError` if any item of a float estimate exceeds ``limit``."""
    if value.size and float(np.max(value)) > limit:
        i = int(np.argmax(value))
        raise CountOverflowError(f"{name}[{i}] would be {float(value.ravel()[i]):.3g}, past int64")


def checked_mul(name: str, a: I64, b: Any) -> I64:
    """``a * b`` in int64, raising :class:`CountOverflowError` instead of wrapping."""
    a = np.asarray(a, dtype=np.int64)
    bb = np.asarray(b, dtype=np.int64)
    # Compare in float first (cheap), then confirm exactly only where it is close.
    approx = np.abs(a.astype(np.float64) * bb.astype(np.float64))
    if approx.size and float(approx.max()) >= 2.0**62:
        exact = np.frompyfunc(lambda x, y: int(x) * int(y), 2, 1)(a, bb)
        big = np.abs(exact.astype(object)) > INT64_MAX
        if np.any(big):
            i = _first_bad(np.asarray(big, dtype=bool))
            raise CountOverflowError(f"{name}[{i}] overflows int64")
    product: I64 = a * bb
    return product
