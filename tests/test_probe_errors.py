"""Every failure is a ProbeError subclass naming the input; only the given file is read."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("av")
pytest.importorskip("PIL")
pytest.importorskip("soundfile")

import mediafactory as mf
import tokenmeter as tm
from tokenmeter.errors import (
    CorruptMediaError,
    InvalidInputError,
    MediaNotFoundError,
    ProbeError,
    ProbeTimeoutError,
    UnsupportedFormatError,
)

# -- paths that are not media files -------------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "nope.png"
    with pytest.raises(MediaNotFoundError, match="no such file") as e:
        tm.probe(p)
    assert isinstance(e.value, FileNotFoundError)
    assert str(p) in str(e.value)
    assert e.value.source == str(p)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(MediaNotFoundError, match="directory"):
        tm.probe(tmp_path)


def test_permission_denied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = mf.write(tmp_path / "secret.png", mf.image("PNG"))
    if hasattr(os, "geteuid") and os.geteuid() != 0:
        p.chmod(0)
    else:  # root reads anything: make the open itself fail as it would for a user
        from tokenmeter._probe import _source

        def denied(*a: object, **k: object) -> int:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(_source.os, "open", denied)
    with pytest.raises(MediaNotFoundError, match="permission denied") as e:
        tm.probe(p)
    assert str(p) in str(e.value)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(MediaNotFoundError, match="not a regular file"):
        tm.probe(fifo)


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_device_is_refused() -> None:
    with pytest.raises(MediaNotFoundError, match="not a regular file"):
        tm.probe(Path("/dev/zero"))


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/a.png",
        "https://x/y.mp4",
        "file:///etc/passwd",
        "ftp://h/a.wav",
        "concat:a.mp4|b.mp4",
        "data:image/png;base64,AAAA",
        "rtmp://h/live",
        "s3://b/k",
    ],
)
def test_urls_are_refused(url: str) -> None:
    with pytest.raises(MediaNotFoundError, match="URLs are not probed"):
        tm.probe(url)


def test_windows_drive_is_a_path_not_a_url() -> None:
    with pytest.raises(MediaNotFoundError, match="no such file"):
        tm.probe("C:\\no\\such\\file.png")


# -- contents that are not (good) media -----------------------------------------------------


def test_empty() -> None:
    with pytest.raises(CorruptMediaError, match="empty"):
        tm.probe(b"")


@pytest.mark.parametrize(
    "data",
    [
        b"hello world\n",
        b"<!DOCTYPE html><html></html>",
        b'{"a": 1}',
        bytes(range(256)) * 4,
        b"\x00" * 5000,
        b"PK\x03\x04" + b"\x00" * 100,
        b"%PDF-1.7\n",
    ],
)
def test_not_media(data: bytes) -> None:
    with pytest.raises(UnsupportedFormatError, match="not an image, video or audio") as e:
        tm.probe(data)
    assert "<bytes>" in str(e.value)


def test_heif_is_unsupported_with_advice() -> None:
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(UnsupportedFormatError, match="HEIF"):
        tm.probe(heic)


def test_unsupported_codec() -> None:
    # A WAV whose format tag names no codec anyone knows.
    wav = bytearray(mf.audio("WAV", frames=100))
    i = wav.find(b"fmt ") + 8
    wav[i : i + 2] = (0x7A7A).to_bytes(2, "little")
    with pytest.raises(ProbeError) as e:
        tm.probe(bytes(wav))
    assert isinstance(e.value, (UnsupportedFormatError, CorruptMediaError))


MEDIA = {
    "png": lambda: mf.image("PNG", (40, 30)),
    "jpeg": lambda: mf.image("JPEG", (40, 30), orientation=6),
    "gif": lambda: mf.image("GIF", (40, 30), frames=3),
    "webp": lambda: mf.image("WEBP", (40, 30), frames=2),
    "tiff": lambda: mf.image("TIFF", (40, 30)),
    "mp4": lambda: mf.video("mp4", "libx264", (32, 24), frames=5, audio=(16_000, 1, 0.2)),
    "webm": lambda: mf.video("webm", "libvpx-vp9", (32, 24), frames=5),
    "mpegts": lambda: mf.video("mpegts", "libx264", (32, 24), frames=5),
    "wav": lambda: mf.audio("WAV", frames=4000),
    "flac": lambda: mf.audio("FLAC", frames=4000),
    "ogg": lambda: mf.audio("OGG", frames=4000),
    "opus.webm": lambda: mf.av_audio("webm", "libopus", seconds=0.3),
}


@pytest.mark.parametrize("kind", MEDIA)
@pytest.mark.parametrize("keep", [1, 4, 12, 20])
def test_truncated_header(kind: str, keep: int) -> None:
    data = MEDIA[kind]()[:keep]
    with pytest.raises(ProbeError) as e:
        tm.probe(data)
    assert isinstance(e.value, (CorruptMediaError, UnsupportedFormatError))
    assert "<bytes>" in str(e.value)


@pytest.mark.parametrize("kind", MEDIA)
def test_truncated_anywhere_is_an_error_or_a_valid_info(kind: str) -> None:
    data = MEDIA[kind]()
    for cut in range(1, len(data), max(len(data) // 60, 1)):
        try:
            info = tm.probe(data[:cut])
        except ProbeError:
            continue
        assert info.kind in ("image", "video", "audio")


# -- inputs: types, file objects -----------------------------------------------------------


@pytest.mark.parametrize("bad", [42, None, 3.5, ["a.png"], {"path": "a.png"}])
def test_wrong_type(bad: object) -> None:
    with pytest.raises(InvalidInputError, match="cannot probe"):
        tm.probe(bad)


def test_text_mode_file(tmp_path: Path) -> None:
    p = mf.write(tmp_path / "a.png", mf.image("PNG"))
    with p.open("r", encoding="latin-1") as f, pytest.raises(InvalidInputError, match="binary"):
        tm.probe(f)


def test_file_object_position_restored_and_not_closed(tmp_path: Path) -> None:
    data = mf.image("PNG", (12, 7))
    f = io.BytesIO(b"" + data)
    f.seek(10)
    info = tm.probe(f)
    assert (info.width, info.height) == (12, 7)
    assert f.tell() == 10
    assert not f.closed
    assert info.source == "<file object>"
    p = mf.write(tmp_path / "b.bin", data)
    with p.open("rb") as fh:
        assert tm.probe(fh).source == str(p)
        assert fh.tell() == 0
        assert not fh.closed


def test_non_seekable_stream() -> None:
    data = mf.audio("FLAC", frames=1000)
    r, w = os.pipe()
    os.write(w, data)
    os.close(w)
    with os.fdopen(r, "rb", buffering=0) as pipe:
        info = tm.probe(pipe)
    assert info.samples == 1000


def test_bytes_like_inputs() -> None:
    data = mf.image("GIF", (9, 4), frames=2)
    for src in (data, bytearray(data), memoryview(data)):
        info = tm.probe(src)
        assert (info.width, info.height, info.frames) == (9, 4, 2)


# -- bounds -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gif", "mp4", "webm", "ogg", "png"])
def test_time_bound_is_enforced_by_the_probe(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from tokenmeter._probe import _source

    data = MEDIA[kind]()
    clock = iter(range(0, 10**9, 7))  # every look at the clock: 7 s later
    monkeypatch.setattr(_source.time, "monotonic", lambda: float(next(clock)))
    with pytest.raises(ProbeTimeoutError, match="time bound") as e:
        tm.probe(data, timeout=5)
    assert isinstance(e.value, TimeoutError)


def test_byte_bound(tmp_path: Path) -> None:
    data = mf.video("webm", "libvpx-vp9", (64, 48), frames=20)
    with pytest.raises(ProbeError, match="max_bytes") as e:
        tm.probe(data, max_bytes=3000)
    assert not isinstance(e.value, ProbeTimeoutError)


@pytest.mark.parametrize(
    "kw", [{"timeout": 0}, {"timeout": -1}, {"max_bytes": 0}, {"scan_bytes": -5}, {"timeout": "1"}]
)
def test_bad_bounds(kw: dict) -> None:
    with pytest.raises(InvalidInputError):
        tm.probe(b"GIF89a", **kw)


# -- only the given file ------------------------------------------------------------------


def test_playlists_and_concat_lists_are_not_media(tmp_path: Path) -> None:
    seg = mf.write(tmp_path / "seg.ts", mf.video("mpegts", "libx264", (32, 24), frames=5))
    texts = {
        "a.m3u8": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{seg}\n"
        "#EXTINF:1,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
        "b.ffconcat": f"ffconcat version 1.0\nfile '{seg}'\nfile '/etc/passwd'\n",
        "c.txt": f"file '{seg}'\n",
        "d.sdp": "v=0\no=- 0 0 IN IP4 127.0.0.1\nm=video 5004 RTP/AVP 96\n",
    }
    for name, text in texts.items():
        p = mf.write(tmp_path / name, text.encode())
        with pytest.raises(UnsupportedFormatError, match="not an image, video or audio"):
            tm.probe(p)


def test_demuxers_cannot_open_a_second_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Defence in depth: even if a playlist reached FFmpeg's HLS or concat demuxer, its
    # request to open another file is refused (and nothing is read from it).
    from tokenmeter._probe import _source, video

    seg = mf.write(tmp_path / "seg.ts", mf.video("mpegts", "libx264", (32, 24), frames=5))
    asked: list[str] = []
    refuse = video._refuse_io

    def spy(url: str, flags: int, options: dict[str, str]) -> object:
        asked.append(url)
        return refuse(url, flags, options)

    monkeypatch.setattr(video, "_refuse_io", spy)
    cases = {
        "hls": f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n{seg}\n#EXT-X-ENDLIST\n",
        "concat": f"ffconcat version 1.0\nfile '{seg}'\n",
    }
    limits = _source.Limits(5.0, 1 << 20, 1 << 20)
    for demuxer, text in cases.items():
        with _source.open_source(text.encode(), limits) as g, pytest.raises(ProbeError):
            video.probe_av(g, demuxer)
    assert any(str(seg) in u or u.endswith("seg.ts") for u in asked), asked


def test_import_tokenmeter_loads_no_media_library() -> None:
    code = (
        "import sys, tokenmeter, tokenmeter._probe; "
        "print(sorted(m for m in ('PIL', 'av', 'soundfile') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120
    ).stdout.strip()
    assert out == "[]"
