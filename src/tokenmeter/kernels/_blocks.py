"""Walk long arrays in cache-sized blocks, on a few threads (numpy only).

Every media kernel (images, video, audio) chains a dozen or more numpy passes; over whole
arrays of 10 million items each pass would write a fresh temporary as large as the input,
paying main memory and page faults every time. Run block by block, every temporary stays
in the L2 cache and main memory is read and written once. Long inputs are cut into one
contiguous range per thread; numpy releases the GIL inside its loops, so the threads
overlap.

Temporaries come from :class:`Scratch`, a thread's set of block-sized arrays reused from
block to block and from call to call. Fresh numpy temporaries would come from ``malloc``,
and glibc hands freed memory at the top of its heap back to the system once it passes
128 KiB (``M_TRIM_THRESHOLD``), so every block would page-fault its temporaries in again:
measured 3-4x the cost of the arithmetic on the Qwen3-VL kernels (16 Ki-item blocks), and
a fresh set per call cost 10-20 ns per item at 1e5 items (page faults are dear in a VM).
Each thread that runs blocks keeps its set (a few MiB) for the life of the thread.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = [
    "BLOCK",
    "THREAD_MIN",
    "Scratch",
    "flat",
    "run_blocks",
    "work",
    "workers",
]

#: Items per block. A numpy call costs a microsecond or two whatever its size, and a
#: Qwen3-VL block makes about a hundred of them, so small blocks pay that per item; large
#: ones spill the block's work arrays (about 30 of 8 bytes per item: 8 MiB at 2**15, kept
#: per thread) out of the L2 cache. Measured on 1e5 videos, one thread: 2**15 and 2**16
#: within noise and 15-30 % faster than 2**14 on the Qwen rules; 2**17 slower. The image
#: kernels measured 2**14..2**17 within noise.
BLOCK = 1 << 15
#: Below this many items one thread does everything (a hand-off costs more than it saves).
THREAD_MIN = 1 << 18

_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_pool_size = 0


def workers() -> int:
    """Threads for long inputs: ``$TOKENMETER_THREADS`` or the usable CPUs (at most 8)."""
    env = os.environ.get("TOKENMETER_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _get_pool(k: int) -> ThreadPoolExecutor:
    global _pool, _pool_size
    with _pool_lock:
        if _pool is None or _pool_size < k:
            _pool = ThreadPoolExecutor(max_workers=k, thread_name_prefix="tokenmeter-kernels")
            _pool_size = k
        return _pool


class Scratch:
    """Block-sized work arrays, reused from block to block (one per thread and run).

    ``scratch(n, dtype)`` hands out the next free array of that dtype (a view of its first
    ``n`` items); :meth:`reset` frees them all, at the start of every block. Nothing taken
    from it may outlive the block: results are copied to the caller's outputs first.
    """

    __slots__ = ("_bufs", "_used", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._bufs: dict[type, list[np.ndarray]] = {}
        self._used: dict[type, int] = {}

    def reset(self) -> None:
        self._used.clear()

    def __call__(self, n: int, dtype: type = np.float64) -> np.ndarray:
        if n > self.size:
            return np.empty(n, dtype)
        i = self._used.get(dtype, 0)
        self._used[dtype] = i + 1
        pool = self._bufs.setdefault(dtype, [])
        if i == len(pool):
            pool.append(np.empty(self.size, dtype))
        return pool[i][:n]


_local = threading.local()


def _take_scratch(block: int) -> tuple[Scratch, bool]:
    """This thread's scratch (kept between calls) and True; or, if it is already in use
    further up the stack (a block that runs blocks), a private one and False."""
    if getattr(_local, "busy", False):
        return Scratch(block), False  # nested: the outer set stays intact
    sc: Scratch | None = getattr(_local, "scratch", None)
    if sc is None or sc.size < block:
        sc = _local.scratch = Scratch(block)
    _local.busy = True
    return sc, True


def work(
    scratch: Scratch | None, shape: int | tuple[int, ...], dtype: type = np.float64
) -> np.ndarray:
    """A work array of ``shape``: from ``scratch`` inside a block, else a fresh one."""
    if scratch is None:
        return np.empty(shape, dtype)
    if isinstance(shape, int):
        return scratch(shape, dtype)
    return scratch(math.prod(shape), dtype).reshape(shape)


def flat(a: np.ndarray) -> np.ndarray:
    """A 1-d view of ``a`` when one exists (a copy otherwise), for slicing into blocks.

    1-d arrays, broadcast ones included (stride 0), are returned as they are, so a scalar
    broadcast to a million items is never materialised.
    """
    return a if a.ndim == 1 else a.reshape(-1)


def run_blocks(fn: Callable[[int, int, Scratch], None], size: int, block: int = BLOCK) -> None:
    """Call ``fn(start, stop, scratch)`` for consecutive blocks covering ``range(size)``.

    ``fn`` writes its results into arrays the caller preallocated, so blocks may run in
    any order; ``scratch`` is emptied before each block. Inputs of at least
    ``THREAD_MIN`` items are split into one contiguous range per worker thread, each with
    its own scratch. If ``fn`` raises, the error of the first range (in index order) is
    raised once every thread has stopped, so an error names the first bad item the
    caller's own checks would find.
    """
    if size <= 0:
        return

    def part(first: int, last: int) -> None:
        scratch, owned = _take_scratch(block)
        try:
            for start in range(first, last, block):
                scratch.reset()
                fn(start, min(start + block, last), scratch)
        finally:
            if owned:
                _local.busy = False

    k = workers() if size >= THREAD_MIN else 1
    if k == 1:
        part(0, size)
        return

    step = -(-size // (k * block)) * block
    futures = [_get_pool(k).submit(part, a, min(a + step, size)) for a in range(0, size, step)]
    error: BaseException | None = None
    for fut in futures:
        try:
            fut.result()
        except BaseException as exc:  # re-raised below, first range first
            error = error or exc
    if error is not None:
        raise error
