"""Cache-sized blocks and worker threads for the image kernels (numpy only).

A kernel that makes a dozen numpy passes over 10**7 images pays for main memory on
every pass; the same passes over blocks of 2**15 images run in the L2 cache, so main
memory is read and written once. :func:`run_blocks` walks flat inputs block by block
(in one thread per core for large inputs: numpy releases the GIL inside its loops) and
hands each block to a function that fills the matching slices of the outputs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._intmath import I64, MAX_SIDE, as_sides, broadcast_same

__all__ = [
    "BLOCK",
    "THREAD_MIN",
    "check_block",
    "pool",
    "prepare_sides",
    "run_blocks",
    "run_ranges",
    "split",
    "workers",
]

#: Items per block: a block's inputs and a few float64 temporaries stay in the L2 cache.
BLOCK = 1 << 15
#: Below this many items one thread does the work (handing work to a thread costs more).
THREAD_MIN = 1 << 18

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def workers() -> int:
    """Threads for large inputs: ``$TOKENMETER_THREADS`` or the usable CPUs (at most 8)."""
    env = os.environ.get("TOKENMETER_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def pool(k: int) -> ThreadPoolExecutor:
    """The shared worker pool, grown to at least ``k`` threads."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < k:
            _pool = ThreadPoolExecutor(max_workers=k, thread_name_prefix="tokenmeter-kernels")
            _pool_size = k
        return _pool


def split(n: int, block: int = BLOCK) -> list[tuple[int, int]]:
    """Contiguous ranges, one per worker, each a whole number of blocks (one range for
    small inputs)."""
    k = workers() if n >= THREAD_MIN else 1
    if k == 1:
        return [(0, n)]
    step = -(-n // (k * block)) * block
    return [(a, min(a + step, n)) for a in range(0, n, step)]


def run_ranges(fn: Callable[[int, int], object], ranges: Sequence[tuple[int, int]]) -> list[object]:
    """``fn(first, last)`` for each range (in worker threads when there are several).

    Returns the results in range order. If several ranges raise, the first range's error
    is raised, so an error names the first bad item the caller's own checks would find.
    """
    if len(ranges) == 1:
        return [fn(*ranges[0])]
    futures = [pool(len(ranges)).submit(fn, a, b) for a, b in ranges]
    out: list[object] = []
    error: BaseException | None = None
    for fut in futures:
        try:
            out.append(fut.result())
        except BaseException as exc:  # re-raised below, first range first
            error = error or exc
    if error is not None:
        raise error
    return out


def run_blocks(
    fn: Callable[[int, int, Sequence[I64]], None],
    n: int,
    n_out: int,
    block: int = BLOCK,
) -> list[I64]:
    """Allocate ``n_out`` int64 outputs of length ``n`` and call ``fn(start, stop, outs)``
    for every block, in worker threads for large ``n``. ``fn`` fills
    ``outs[k][start:stop]``."""
    outs = [np.empty(n, np.int64) for _ in range(n_out)]
    if n == 0:
        return outs

    def walk(first: int, last: int) -> None:
        for start in range(first, last, block):
            fn(start, min(start + block, last), outs)

    run_ranges(walk, split(n, block))
    return outs


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
    hmin, hmax = int(hb.min()), int(hb.max())
    wmin, wmax = int(wb.min()), int(wb.max())
    if hmin < 1 or wmin < 1 or hmax > MAX_SIDE or wmax > MAX_SIDE:
        as_sides(h, w)
        raise AssertionError("unreachable: a block failed the side checks")  # pragma: no cover
    return hmin, hmax, wmin, wmax
