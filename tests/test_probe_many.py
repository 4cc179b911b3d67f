"""probe_many (order, errors, worker processes) and the facade's count() over media."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("PIL")
pytest.importorskip("soundfile")

import mediafactory as mf
import tokenmeter as tm
from tokenmeter import _probe
from tokenmeter.errors import CorruptMediaError, InvalidInputError, MediaNotFoundError


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> list[object]:
    d = tmp_path_factory.mktemp("batch")
    items: list[object] = []
    for i in range(40):
        k = i % 5
        if k == 0:
            items.append(mf.write(d / f"{i}.png", mf.image("PNG", (10 + i, 5 + i))))
        elif k == 1:
            items.append(mf.image("GIF", (3 + i, 2), frames=1 + i % 3))  # bytes
        elif k == 2:
            items.append(mf.write(d / f"{i}.wav", mf.audio("WAV", frames=100 + i)))
        elif k == 3:
            items.append(str(d / f"missing-{i}.png"))  # a per-item error
        else:
            items.append(io.BytesIO(mf.image("JPEG", (8, 8 + i))))  # probed locally
    return items


def _expected(items: list[object]) -> list[object]:
    out: list[object] = []
    for x in items:
        if isinstance(x, io.BytesIO):
            x.seek(0)
        try:
            out.append(tm.probe(x))
        except tm.ProbeError as exc:
            out.append(type(exc))
    return out


def _normal(results: list[object]) -> list[object]:
    return [type(r) if isinstance(r, tm.ProbeError) else r for r in results]


@pytest.mark.parametrize("workers", [1, 2])
def test_results_in_input_order_with_errors_in_place(batch: list[object], workers: int) -> None:
    expected = _expected(batch)
    got = list(tm.probe_many(iter(batch), workers=workers, chunksize=3))
    assert _normal(got) == expected
    assert sum(isinstance(r, MediaNotFoundError) for r in got) == 8
    missing = got[3]
    assert isinstance(missing, MediaNotFoundError)
    assert "missing-3.png" in str(missing)


def test_pool_uses_two_processes(batch: list[object]) -> None:
    paths = [x for x in batch if isinstance(x, Path)] * 8
    # Workers start together, but on a loaded machine one may be up well before the
    # other and serve a short batch alone: run batches until both have started (they
    # are kept between calls), then check a batch is shared by both.
    for _ in range(100):
        list(tm.probe_many(paths, workers=2, chunksize=2))
        if len(_probe._last_pids) == 2:
            break
    got = list(tm.probe_many(paths * 4, workers=2, chunksize=2))
    assert len(got) == 4 * len(paths)
    assert all(isinstance(r, (tm.ImageInfo, tm.AudioInfo)) for r in got)
    # Two worker processes served the batch, so both cores were put to work.
    assert len(_probe._last_pids) == 2


def test_errors_raise(batch: list[object]) -> None:
    it = tm.probe_many(batch, workers=2, errors="raise", chunksize=4)
    assert isinstance(next(it), tm.ImageInfo)
    assert isinstance(next(it), tm.ImageInfo)
    assert isinstance(next(it), tm.AudioInfo)
    with pytest.raises(MediaNotFoundError):
        next(it)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidInputError):
        tm.probe_many([], errors="ignore")
    with pytest.raises(InvalidInputError):
        tm.probe_many([], workers=0)
    with pytest.raises(InvalidInputError):
        list(tm.probe_many([b"GIF89a", 42], workers=1))
    assert list(tm.probe_many([], workers=2)) == []


def test_corrupt_item_in_a_batch() -> None:
    good = mf.audio("FLAC", frames=10)
    got = list(tm.probe_many([good, good[:30], good], workers=2, chunksize=1))
    assert isinstance(got[0], tm.AudioInfo)
    assert isinstance(got[2], tm.AudioInfo)
    assert isinstance(got[1], CorruptMediaError)


# -- the facade: count() probes media inputs ------------------------------------------------


def _model_for(modality: str) -> tm.Model:
    for name in tm.list_models():
        try:
            m = tm.get_model(name)
            if modality in m.modalities:
                if modality == "image":
                    m.count_image(64, 64)
                elif modality == "video":
                    m.count_video(64, 64, 1.0, 2.0)
                else:
                    m.count_audio(1.0)
                return m
        except tm.TokenmeterError:
            continue
    pytest.skip(f"no model in the catalog counts {modality} yet")


def test_count_probes_images_from_path_bytes_and_file(tmp_path: Path) -> None:
    m = _model_for("image")
    data = mf.image("JPEG", (640, 480), orientation=6)
    want = m.count_image(480, 640).tokens  # as displayed
    p = mf.write(tmp_path / "photo.jpg", data)
    for src in (p, data, io.BytesIO(data)):
        u = tm.count(m, src)
        assert u.image == want
        assert u.total == want
    assert m.count(p).image == want


def test_count_probes_audio(tmp_path: Path) -> None:
    m = _model_for("audio")
    data = mf.audio("WAV", sample_rate=16_000, frames=48_000)
    assert tm.count(m, data).audio == m.count_audio(3.0).tokens


def test_count_probes_video(tmp_path: Path) -> None:
    m = _model_for("video")
    data = mf.video("mp4", "libx264", (64, 48), fps=10, frames=20, rotation=90)
    info = tm.probe(data)
    u = tm.count(m, data)
    assert u.video == m.count_video(48, 64, info.duration, info.fps, frames=20).tokens
    assert u.video_seconds == pytest.approx(2.0)


def test_a_crashed_worker_costs_only_its_items() -> None:
    # A media library that crashes takes its worker down: the chunk is retried item by
    # item (the pool starts a new worker), so the other items still get their answers.
    from concurrent.futures import Future

    from tokenmeter._probe._workers import WorkerCrashed

    broken: Future[object] = Future()
    broken.set_exception(WorkerCrashed("a worker died"))
    good, bad = mf.image("PNG", (5, 4)), b"\x89PNG\r\n\x1a\n" + b"\x00" * 8
    opts = {"timeout": 5.0, "max_bytes": 1 << 20, "scan_bytes": 1 << 20}
    got = _probe._result(broken, 2, [good, bad], opts)
    assert isinstance(got[0], tm.ImageInfo)
    assert (got[0].width, got[0].height) == (5, 4)
    assert isinstance(got[1], CorruptMediaError)


def test_a_worker_killed_mid_batch_is_replaced() -> None:
    from tokenmeter._probe._workers import Pool, WorkerCrashed

    pool = Pool(1)
    try:
        opts = {"timeout": 5.0, "max_bytes": 1 << 20, "scan_bytes": 1 << 20}
        pid, (info,) = pool.submit([mf.image("GIF", (3, 2))], opts).result(timeout=60)
        os.kill(pid, signal.SIGKILL)
        with pytest.raises(WorkerCrashed):
            pool.submit([b"x"], opts).result(timeout=60)
        pid2, (info2,) = pool.submit([mf.image("GIF", (3, 2))], opts).result(timeout=60)
        assert pid2 != pid
        assert info == info2
    finally:
        pool.shutdown()


def test_unguarded_script_does_not_recurse(tmp_path: Path) -> None:
    # multiprocessing's spawn/forkserver would re-run this script in every worker; our
    # workers never import the caller's main module.
    img = mf.write(tmp_path / "a.gif", mf.image("GIF", (3, 2)))
    script = tmp_path / "script.py"
    script.write_text(
        "import tokenmeter as tm\n"
        f"paths = [{str(img)!r}] * 200\n"
        "out = list(tm.probe_many(paths, workers=2, chunksize=8))\n"
        "from tokenmeter import _probe\n"
        "print(len(out), sum(isinstance(r, tm.ImageInfo) for r in out), len(_probe._last_pids))\n"
    )
    res = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=True
    )
    count, ok, pids = res.stdout.split()
    assert (count, ok) == ("200", "200")
    assert pids in ("1", "2")  # served by the workers, not by re-runs of the script
