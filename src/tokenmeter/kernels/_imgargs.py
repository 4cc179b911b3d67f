"""Argument checks shared by the image kernels (numpy only).

Constants (``patch_size=``, ``rounding=``…) are checked once per call. Image sides come
in one of two forms, as the video kernels' inputs do: one image as two Python ints (the
scalar API's path: checked here in Python, since a numpy check would cost more than the
count), or arrays (shape-checked up front, values checked block by block while each
block is in cache). Both forms raise the same :class:`~tokenmeter.errors.InvalidInputError`
for the same bad value, built by :func:`~tokenmeter.kernels._intmath.as_sides`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from ..errors import InvalidInputError
from ._blocks import BLOCK, Scratch, run_blocks
from ._intmath import I64, MAX_SIDE, as_sides, broadcast_same

__all__ = [
    "Rounding",
    "SideBlock",
    "check_block",
    "int_param",
    "one_image",
    "prepare_sides",
    "rounding_param",
    "walk_sides",
]

Rounding = Literal["round", "floor"]
_MIN = np.minimum.reduce
_MAX = np.maximum.reduce


def int_param(name: str, value: object, low: int = 1, high: int = MAX_SIDE) -> int:
    """A kernel constant: an int (a numpy integer too, never a bool) in ``low..high``."""
    if type(value) is int and low <= value <= high:  # the common case, first: one image's
        return value  # count checks half a dozen constants, and isinstance costs more
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InvalidInputError(f"{name} must be an int, got {value!r}")
    v = int(value)
    if not low <= v <= high:
        raise InvalidInputError(f"{name} = {v} is out of range; allowed {low}..{high}")
    return v


def rounding_param(name: str, value: object) -> Rounding:
    """``"round"`` (half to even, as Python's ``round``) or ``"floor"``."""
    if value not in ("round", "floor"):
        raise InvalidInputError(f"{name} = {value!r} is not known; pass 'round' or 'floor'")
    return value  # type: ignore[return-value,unused-ignore]


def one_image(heights: Any, widths: Any) -> bool:
    """True for one image given as two Python ints (the one-item path), checked.

    Bools and numpy scalars are not Python ints: they take the array path. An int outside
    1..2**31 - 1 raises the array path's own error.
    """
    if type(heights) is not int or type(widths) is not int:
        return False
    if not (1 <= heights <= MAX_SIDE and 1 <= widths <= MAX_SIDE):
        as_sides(heights, widths)
        raise AssertionError("unreachable: as_sides accepted a bad side")  # pragma: no cover
    return True


def prepare_sides(heights: object, widths: object) -> tuple[I64, I64, tuple[int, ...]]:
    """Flat contiguous int64 sides and their common shape.

    int64 inputs are only shape-checked here; :func:`check_block` checks their values
    block by block (while each block is in cache). Other dtypes take the full up-front
    check of :func:`~tokenmeter.kernels._intmath.as_sides`.
    """
    ha = np.asarray(heights)
    wa = np.asarray(widths)
    if ha.dtype == np.int64 and wa.dtype == np.int64:
        ha, wa = broadcast_same(("height", ha), ("width", wa))
    else:
        ha, wa = as_sides(ha, wa)
    shape = ha.shape
    return np.ascontiguousarray(ha).reshape(-1), np.ascontiguousarray(wa).reshape(-1), shape


def check_block(hb: I64, wb: I64, h: I64, w: I64) -> tuple[int, int, int, int]:
    """``(hmin, hmax, wmin, wmax)`` of a block; if any side is outside 1..2**31 - 1, the
    whole input is re-checked to raise the error naming the first bad value."""
    # The ufuncs' reduce directly: ndarray.min/max add a Python wrapper per call, which
    # is most of the cost of a small call.
    hmin, hmax = int(_MIN(hb)), int(_MAX(hb))
    wmin, wmax = int(_MIN(wb)), int(_MAX(wb))
    if hmin < 1 or wmin < 1 or hmax > MAX_SIDE or wmax > MAX_SIDE:
        as_sides(h, w)
        raise AssertionError("unreachable: a block failed the side checks")  # pragma: no cover
    return hmin, hmax, wmin, wmax


class SideBlock:
    """One block of a call's sides, checked, with its scratch and its output slices.

    ``hb``/``wb`` are the block's int64 sides, ``ext`` their ``(hmin, hmax, wmin, wmax)``
    and ``start`` the first item's index (for error messages).
    """

    __slots__ = ("ext", "hb", "n", "outs", "sc", "start", "wb")

    def __init__(
        self,
        hb: I64,
        wb: I64,
        ext: tuple[int, int, int, int],
        start: int,
        sc: Scratch,
        outs: list[I64],
    ) -> None:
        self.hb, self.wb, self.ext, self.start, self.sc = hb, wb, ext, start, sc
        self.n = hb.shape[0]
        self.outs = outs

    def f64(self) -> tuple[np.ndarray, np.ndarray]:
        """The sides as float64 work arrays (exact: every side is below 2**31)."""
        hf, wf = self.sc(self.n), self.sc(self.n)
        np.copyto(hf, self.hb, casting="unsafe")
        np.copyto(wf, self.wb, casting="unsafe")
        return hf, wf

    def work(self, dtype: type = np.float64) -> np.ndarray:
        """A block-sized work array."""
        return self.sc(self.n, dtype)

    def out(self, k: int) -> I64:
        """The block's slice of output ``k``."""
        return self.outs[k][self.start : self.start + self.n]


def walk_sides(
    heights: Any, widths: Any, n_out: int, fn: Callable[[SideBlock], None], block: int = BLOCK
) -> list[I64]:
    """Call ``fn`` on every block of checked sides; return ``n_out`` int64 outputs of the
    inputs' shape, which ``fn`` fills through :meth:`SideBlock.out`.

    Blocks run in worker threads for large inputs (:func:`~tokenmeter.kernels._blocks.run_blocks`),
    each checking its own sides while they are in cache.
    """
    h, w, shape = prepare_sides(heights, widths)
    outs = [np.empty(h.shape, np.int64) for _ in range(n_out)]

    def one_block(start: int, stop: int, sc: Scratch) -> None:
        hb, wb = h[start:stop], w[start:stop]
        fn(SideBlock(hb, wb, check_block(hb, wb, h, w), start, sc, outs))

    run_blocks(one_block, h.shape[0], block)
    return [o.reshape(shape) for o in outs]
