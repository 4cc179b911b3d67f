"""Fuzz: mutated small media files give a valid Info or a ProbeError — nothing else,
and never a hang.

The probe enforces its own time bound (``timeout=``), but the test does not rely on it:
each case is timed from outside and must finish within that bound plus a slack, and a
``faulthandler`` watchdog armed around each seed's batch turns a hang (a case that never
returns, even from C code holding the GIL) into a traceback on the real stderr and a
failed run, instead of a suite that never ends. The hung case is named in that traceback:
each case runs in a function called ``fuzz_<seed>_case_<i>``.

Mutations: bit flips, bytes set to boundary values, 32-bit fields overwritten with huge or
zero lengths, truncation, and splices (a range duplicated, deleted, or copied from another
file). ``TOKENMETER_FUZZ_CASES`` sets the cases per seed file (default 150, about 3,500 in
all); the ``thorough`` hypothesis profile multiplies it by ten.
"""

from __future__ import annotations

import contextlib
import faulthandler
import math
import os
import random
import re
import time
import types
from collections.abc import Callable, Iterator
from typing import Any

import pytest

pytest.importorskip("av")
pytest.importorskip("PIL")
pytest.importorskip("soundfile")

import mediafactory as mf
import tokenmeter as tm
from tokenmeter.errors import ProbeError

SEEDS: dict[str, Callable[[], bytes]] = {
    "png": lambda: mf.image("PNG", (17, 9), orientation=6),
    "png-late-exif": lambda: mf.png_with_exif_after_idat((11, 5), 8),
    "apng": lambda: mf.image("PNG", (9, 7), frames=3),
    "jpeg": lambda: mf.image("JPEG", (17, 9), orientation=8),
    "mpo": lambda: mf.image("MPO", (9, 7), frames=2),
    "gif": lambda: mf.image("GIF", (13, 6), frames=4),
    "webp": lambda: mf.image("WEBP", (13, 6), frames=3, orientation=5),
    "webp-lossy": lambda: mf.image("WEBP", (13, 6), quality=30),
    "tiff": lambda: mf.image("TIFF", (9, 4), frames=3, orientation=7),
    "bmp": lambda: mf.image("BMP", (9, 4)),
    "avif": lambda: mf.image("AVIF", (8, 8), orientation=6),
    "mp4": lambda: mf.video(
        "mp4", "libx264", (16, 16), frames=4, rotation=90, audio=(8000, 1, 0.2)
    ),
    "mov-vfr": lambda: mf.video("mov", "mpeg4", (16, 16), frames=4, timestamps=[0, 40, 120, 130]),
    "mkv": lambda: mf.video("matroska", "libx264", (16, 16), frames=4, rotation=270),
    "webm": lambda: mf.video("webm", "libvpx-vp9", (16, 16), frames=4),
    "mpegts": lambda: mf.video("mpegts", "mpeg2video", (16, 16), frames=4),
    "avi": lambda: mf.video("avi", "mpeg4", (16, 16), frames=4),
    "wav": lambda: mf.audio("WAV", frames=400),
    "flac": lambda: mf.audio("FLAC", frames=400),
    "ogg": lambda: mf.audio("OGG", frames=4000),
    "mp3": lambda: mf.audio("MP3", sample_rate=22_050, frames=2000),
    "opus-webm": lambda: mf.av_audio("webm", "libopus", seconds=0.1),
    "m4a": lambda: mf.av_audio("ipod", "aac", sample_rate=8000, seconds=0.2),
}


#: The probe's own time bound per case, and the slack the outside timing allows on top of
#: it (a loaded machine; the library returns only after the guard has tripped).
TIMEOUT = 2.0
SLACK = 3.0
#: Python's own error wording, which a reason must not carry (docs/probe.md).
RAW = re.compile(r"unpack|struct|index out of range|out of range|EOFError|IndexError|buffer")


def _cases_per_seed() -> int:
    n = int(os.environ.get("TOKENMETER_FUZZ_CASES", "150"))
    if os.environ.get("HYPOTHESIS_PROFILE") == "thorough":
        n *= 10
    return n


_INTERESTING = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE]
_HUGE = [
    b"\xff\xff\xff\xff",
    b"\x7f\xff\xff\xff",
    b"\x00\x00\x00\x00",
    b"\x80\x00\x00\x00",
    b"\x00\x01\x00\x00",
]


def mutate(data: bytes, rng: random.Random, donors: list[bytes]) -> bytes:
    """One random mutation (sometimes two) of ``data``."""
    out = bytearray(data)
    for _ in range(rng.choice((1, 1, 1, 2))):
        n = len(out)
        if n == 0:
            break
        op = rng.randrange(7)
        # Headers matter most: bias positions towards the start.
        pos = min(int(rng.expovariate(1 / 64)), n - 1) if rng.random() < 0.6 else rng.randrange(n)
        if op == 0:  # flip 1-8 bits
            for _ in range(rng.randint(1, 8)):
                out[pos] ^= 1 << rng.randrange(8)
                pos = min(pos + rng.randrange(4), n - 1)
        elif op == 1:
            out[pos] = rng.choice(_INTERESTING)
        elif op == 2:  # a length/count field
            out[pos : pos + 4] = rng.choice(_HUGE)
        elif op == 3:  # truncate
            del out[rng.randrange(1, n + 1) :]
        elif op == 4:  # duplicate a range somewhere
            a = rng.randrange(n)
            b = min(n, a + rng.randint(1, 512))
            out[pos:pos] = out[a:b]
        elif op == 5:  # delete a range
            del out[pos : pos + rng.randint(1, 256)]
        else:  # splice in bytes of another file
            d = rng.choice(donors)
            a = rng.randrange(len(d))
            out[pos : pos + rng.randint(1, 256)] = d[a : a + rng.randint(1, 256)]
    return bytes(out)


def _check(info: object) -> None:
    assert isinstance(info, (tm.ImageInfo, tm.VideoInfo, tm.AudioInfo))
    if isinstance(info, tm.ImageInfo):
        assert info.width > 0
        assert info.height > 0
        assert info.frames >= 1
    elif isinstance(info, tm.VideoInfo):
        assert info.width > 0
        assert info.height > 0
        assert info.frames >= 1
        assert info.fps > 0
        assert math.isfinite(info.duration)
        assert info.duration >= 0
        assert info.real_fps is not None
        assert info.real_fps > 0
    else:
        assert info.sample_rate > 0
        assert info.channels > 0
        assert info.duration >= 0
        assert info.samples is not None
        assert info.samples >= 0


@pytest.fixture(scope="module")
def seeds() -> dict[str, bytes]:
    return {k: f() for k, f in SEEDS.items()}


def _batch_bound(cases: int) -> float:
    """Seconds after which a seed's batch has hung: a batch takes ~0.1 s, and one that
    averaged 0.1 s a case, 50-500 times its usual pace, would be a failure anyway."""
    return 60.0 + 0.1 * cases


@contextlib.contextmanager
def watchdog(seconds: float, fd: int) -> Iterator[None]:
    """Dump every thread's stack to ``fd`` and exit the process with status 1 if the
    block runs longer than ``seconds`` (faulthandler's watchdog is a C thread: it fires
    even while a library holds the GIL)."""
    faulthandler.dump_traceback_later(seconds, exit=True, file=fd)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def real_stderr(capfd: pytest.CaptureFixture[str]) -> Iterator[int]:
    """A descriptor of the stderr pytest found (its capture would swallow a dump)."""
    with capfd.disabled():
        fd = os.dup(2)
    try:
        yield fd
    finally:
        os.close(fd)


def _probe_case(case: bytes) -> Any:
    return tm.probe(case, timeout=TIMEOUT, max_bytes=16 * 1024 * 1024)


def _named(name: str, i: int) -> Callable[[bytes], Any]:
    """:func:`_probe_case` under the name ``fuzz_<seed>_case_<i>``, which a watchdog
    dump shows for the case that hung."""
    seed = re.sub(r"\W", "_", name)
    code = _probe_case.__code__.replace(co_name=f"fuzz_{seed}_case_{i}")
    return types.FunctionType(code, _probe_case.__globals__)  # type: ignore[no-any-return]


def _save(name: str, i: int, case: bytes) -> str:
    path = f"fuzz-{name}-{i}.bin"
    with open(path, "wb") as f:
        f.write(case)
    return path


@pytest.mark.parametrize("name", SEEDS)
def test_fuzz(name: str, seeds: dict[str, bytes], capfd: pytest.CaptureFixture[str]) -> None:
    data = seeds[name]
    _check(tm.probe(data))  # the seed itself is valid
    donors = list(seeds.values())
    rng = random.Random(f"tokenmeter-fuzz-{name}")
    outcomes = {"info": 0, "error": 0}
    messages: list[str] = []
    slowest = 0.0
    cases = _cases_per_seed()
    with real_stderr(capfd) as fd, watchdog(_batch_bound(cases), fd):
        for i in range(cases):
            case = mutate(data, rng, donors)
            run = _named(name, i)
            start = time.monotonic()
            try:
                info = run(case)
            except ProbeError as exc:
                info = exc
            except Exception as exc:  # pragma: no cover - the failure this test looks for
                path = _save(name, i, case)
                raise AssertionError(f"case {i} of {name} raised {exc!r}; saved as {path}") from exc
            elapsed = time.monotonic() - start
            slowest = max(slowest, elapsed)
            if elapsed >= TIMEOUT + SLACK:  # pragma: no cover - the failure this test looks for
                path = _save(name, i, case)
                raise AssertionError(
                    f"case {i} of {name} took {elapsed:.2f} s, past the probe's {TIMEOUT} s "
                    f"bound + {SLACK} s; saved as {path}"
                )
            if isinstance(info, ProbeError):
                messages.append(str(info))
                outcomes["error"] += 1
            else:
                _check(info)
                outcomes["info"] += 1
    assert sum(outcomes.values()) == cases
    assert slowest < TIMEOUT + SLACK
    assert all(m.startswith("<bytes>: ") for m in messages)  # every error names the input
    raw = [m for m in messages if RAW.search(m)]
    assert not raw, raw[:5]  # reasons in the file's terms, not a library's code


def test_watchdog_turns_a_hang_into_a_failure() -> None:
    # The watchdog itself: a "probe" that never returns, in a child process, must end
    # with faulthandler's dump naming the case, and a failure status, well before the
    # subprocess timeout.
    import subprocess
    import sys

    code = f"""
import sys, time
sys.path.insert(0, {os.path.dirname(__file__)!r})
import test_probe_fuzz as f
def hang(case):
    while True:
        time.sleep(0.01)
f._probe_case = hang
with f.watchdog(0.5, sys.stderr.fileno()):
    f._named("webm", 17)(b"")
print("the watchdog did not fire")
"""
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "Timeout" in proc.stderr
    assert "fuzz_webm_case_17" in proc.stderr
