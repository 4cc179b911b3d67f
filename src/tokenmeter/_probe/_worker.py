"""A probe worker process: ``python -m tokenmeter._probe._worker``.

Reads pickled ``(items, options)`` chunks on stdin and writes pickled
``(pid, results)`` answers on the original stdout; file descriptor 1 is pointed at
stderr first, so that a C library printing to stdout cannot corrupt the answers.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import sys


def main() -> None:
    """Serve chunks until stdin closes."""
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    from . import _probe_chunk

    # Load the media libraries now, while the caller is still busy, not on the first file.
    for name in ("PIL.Image", "PIL.JpegImagePlugin", "PIL.PngImagePlugin", "av", "soundfile"):
        with contextlib.suppress(ImportError):
            __import__(name)
    pickle.dump(os.getpid(), out)
    out.flush()
    while True:
        try:
            items, opts = pickle.load(inp)
        except EOFError:
            return
        pickle.dump(_probe_chunk(items, opts), out, protocol=pickle.HIGHEST_PROTOCOL)
        out.flush()


if __name__ == "__main__":
    main()
