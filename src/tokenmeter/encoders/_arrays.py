"""Array helpers the video and audio rules share.

Rules evaluate one of two ways: a single item as Python numbers (the scalar API's path,
where every numpy call would cost more than the arithmetic), or many items block by block
into preallocated int64 outputs. These helpers turn either into the arrays a
:class:`~tokenmeter.encoders._base.RuleResult` holds.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..errors import CountOverflowError
from ..kernels._blocks import Scratch, work
from ..kernels._intmath import INT64_MAX

__all__ = ["Derived", "add", "ceil_div_by", "const", "fits", "item", "mul"]


def item(value: int, shape: tuple[int, ...]) -> np.ndarray:
    """A Python int as an int64 array of ``shape`` (one item: ``()``, ``(1,)``...)."""
    a = np.array(value, dtype=np.int64)
    return a if not shape else a.reshape(shape)


def const(value: int, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` for every item, as a read-only broadcast view (no memory per item).

    One item gets a plain array: ``np.broadcast_to`` costs more than the whole count.
    """
    if math.prod(shape) == 1:
        return item(value, shape)
    return np.broadcast_to(np.int64(value), shape)


def fits(name: str, value: int) -> int:
    """``value`` (a Python int) if it fits in int64, else :class:`CountOverflowError`.

    The one-item path computes with Python ints, which never wrap; this is where the
    array path's ``checked_mul`` would raise.
    """
    if value > INT64_MAX:
        raise CountOverflowError(f"{name}[0] overflows int64")
    return value


class Derived(Mapping[str, np.ndarray]):
    """A ``RuleResult.derivation`` whose arrays are computed on first access.

    ``video_tokens`` over ten million videos never reads ``grid_h`` or ``resized_w``; each
    would be a pass over the inputs and an array as large as them. ``Model.count_video``
    and ``explain()`` read them all, for one item.
    """

    __slots__ = ("_done", "_make")

    def __init__(self, make: Mapping[str, Callable[[], Any]]) -> None:
        self._make = dict(make)
        self._done: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        v = self._done.get(key)
        if v is None:
            v = np.asarray(self._make[key](), dtype=np.int64)
            self._done[key] = v
        return v

    def __iter__(self) -> Iterator[str]:
        return iter(self._make)

    def __len__(self) -> int:
        return len(self._make)


def _shape(a: Any, b: Any) -> tuple[int, ...]:
    return a.shape if isinstance(a, np.ndarray) else np.shape(b)


def add(a: Any, b: Any, scratch: Scratch | None = None, out: np.ndarray | None = None) -> Any:
    """``a + b`` over Python ints or int64 arrays; arrays land in ``out`` or in scratch (no
    fresh temporary inside a block: see :mod:`tokenmeter.kernels._blocks`)."""
    if type(a) is int and type(b) is int:
        return a + b
    return np.add(a, b, out=out if out is not None else work(scratch, _shape(a, b), np.int64))


def mul(a: Any, b: Any, scratch: Scratch | None = None, out: np.ndarray | None = None) -> Any:
    """``a * b`` over Python ints or int64 arrays (see :func:`add`)."""
    if type(a) is int and type(b) is int:
        return a * b
    return np.multiply(a, b, out=out if out is not None else work(scratch, _shape(a, b), np.int64))


def ceil_div_by(a: Any, d: int, scratch: Scratch | None = None) -> Any:
    """``(a + d - 1) // d`` for non-negative ints or int64 arrays; a shift when ``d`` is a
    power of two."""
    shift = d.bit_length() - 1 if d & (d - 1) == 0 else -1
    if type(a) is int:
        return (a + d - 1) >> shift if shift >= 0 else (a + d - 1) // d
    out = np.add(a, d - 1, out=work(scratch, a.shape, np.int64))
    if shift >= 0:
        return np.right_shift(out, shift, out=out)
    return np.floor_divide(out, d, out=out)
