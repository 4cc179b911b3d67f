"""Fuzz: mutated small media files give a valid Info or a ProbeError — nothing else,
and never a hang (each probe runs under its own time bound).

Mutations: bit flips, bytes set to boundary values, 32-bit fields overwritten with huge or
zero lengths, truncation, and splices (a range duplicated, deleted, or copied from another
file). ``TOKENMETER_FUZZ_CASES`` sets the cases per seed file (default 150, about 3,500 in
all); the ``thorough`` hypothesis profile multiplies it by ten.
"""

from __future__ import annotations

import math
import os
import random
from collections.abc import Callable

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


@pytest.mark.parametrize("name", SEEDS)
def test_fuzz(name: str, seeds: dict[str, bytes]) -> None:
    data = seeds[name]
    _check(tm.probe(data))  # the seed itself is valid
    donors = list(seeds.values())
    rng = random.Random(f"tokenmeter-fuzz-{name}")
    outcomes = {"info": 0, "error": 0}
    messages: list[str] = []
    for i in range(_cases_per_seed()):
        case = mutate(data, rng, donors)
        try:
            # The probe enforces its own bound: a case that would run longer fails with
            # ProbeTimeoutError (a ProbeError) instead of hanging the test.
            info = tm.probe(case, timeout=2.0, max_bytes=16 * 1024 * 1024)
        except ProbeError as exc:
            messages.append(str(exc))
            outcomes["error"] += 1
            continue
        except Exception as exc:  # pragma: no cover - the failure this test looks for
            path = f"fuzz-{name}-{i}.bin"
            with open(path, "wb") as f:
                f.write(case)
            raise AssertionError(f"case {i} of {name} raised {exc!r}; saved as {path}") from exc
        _check(info)
        outcomes["info"] += 1
    assert sum(outcomes.values()) == _cases_per_seed()
    assert all(m.startswith("<bytes>: ") for m in messages)  # every error names the input
