"""Worker processes for :func:`tokenmeter.probe_many`.

Each worker is ``python -m tokenmeter._probe._worker``, started with :mod:`subprocess` and
fed pickled chunks over a pipe. Not :mod:`multiprocessing`: its ``spawn`` and
``forkserver`` start methods re-run the caller's main script in every worker (a script
without an ``if __name__ == "__main__"`` guard then starts pools from inside workers, and
the batch falls apart), and ``fork`` is unsafe in a threaded program such as a web server.
A worker that dies (a media library crashing on a hostile file) takes only its chunk with
it; the thread that drove it starts a new one.
"""

from __future__ import annotations

import os
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import IO, Any

__all__ = ["Pool", "WorkerCrashed", "WorkerStartError"]


class WorkerCrashed(Exception):
    """The worker process died while probing a chunk."""


class WorkerStartError(Exception):
    """A worker process could not be started (no interpreter, tokenmeter not importable)."""


def _env() -> dict[str, str]:
    # The worker must import this very tokenmeter, even when the caller put it on
    # sys.path at run time (a source checkout) rather than installing it.
    # .../<root>/tokenmeter/_probe/_workers.py -> <root>
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class _Worker:
    def __init__(self) -> None:
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tokenmeter._probe._worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=_env(),
                close_fds=True,
            )
        except OSError as exc:
            raise WorkerStartError(f"cannot start a probe worker: {exc}") from None
        self._in: IO[bytes] = self.proc.stdin  # type: ignore[assignment]
        self._out: IO[bytes] = self.proc.stdout  # type: ignore[assignment]
        try:
            hello = pickle.load(self._out)
        except (EOFError, OSError, pickle.UnpicklingError):
            self.kill()
            raise WorkerStartError(
                f"a probe worker exited at start (is tokenmeter importable by {sys.executable}?)"
            ) from None
        self.pid = int(hello)

    def run(self, items: list[Any], opts: dict[str, Any]) -> Any:
        try:
            pickle.dump((items, opts), self._in, protocol=pickle.HIGHEST_PROTOCOL)
            self._in.flush()
            return pickle.load(self._out)
        except (EOFError, OSError, pickle.UnpicklingError) as exc:
            self.kill()
            raise WorkerCrashed(f"probe worker {self.pid} died") from exc

    def kill(self) -> None:
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                if f is not None:
                    f.close()
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()  # end of input: the worker exits
            self.proc.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.kill()


_Job = tuple[Future[Any], list[Any], dict[str, Any]]


class Pool:
    """``n`` worker processes, each driven by a daemon thread that takes chunks from one
    queue (the threads wait on pipes, so they do not hold the GIL)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._drive, name=f"tokenmeter-probe-{i}", daemon=True)
            for i in range(n)
        ]
        for t in self._threads:
            t.start()

    def submit(self, items: list[Any], opts: dict[str, Any]) -> Future[Any]:
        """Probe ``items`` in a worker; the future's result is ``(pid, results)``."""
        fut: Future[Any] = Future()
        self._jobs.put((fut, items, opts))
        return fut

    def _drive(self) -> None:
        worker: _Worker | None = None
        try:
            # Start at once (not on the first job): startup, ~0.3 s of imports, then
            # overlaps with the caller reading its inputs.
            worker = _Worker()
        except WorkerStartError:
            worker = None  # the first job retries, and reports the error
        try:
            while True:
                job = self._jobs.get()
                if job is None:
                    return
                fut, items, opts = job
                if not fut.set_running_or_notify_cancel():
                    continue
                try:
                    if worker is None:
                        worker = _Worker()
                    fut.set_result(worker.run(items, opts))
                except WorkerCrashed as exc:
                    worker = None
                    fut.set_exception(exc)
                except BaseException as exc:  # start errors and anything unexpected
                    fut.set_exception(exc)
        finally:
            if worker is not None:
                worker.close()

    def shutdown(self) -> None:
        """Stop the threads and their workers."""
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout=10)
