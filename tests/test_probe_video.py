"""Video probing: containers × codecs, rotation, variable frame rate, odd sizes, audio
tracks — every field checked against what the test wrote; and one comparison with ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

pytest.importorskip("av")

import mediafactory as mf
import tokenmeter as tm

# (container, codec, expected format name, expected codec name)
CONTAINERS = [
    ("mp4", "libx264", "mp4", "h264"),
    ("mov", "libx264", "mov", "h264"),
    ("mp4", "mpeg4", "mp4", "mpeg4"),
    ("matroska", "libx264", "matroska", "h264"),
    ("webm", "libvpx-vp9", "webm", "vp9"),
    ("webm", "libvpx", "webm", "vp8"),
    ("avi", "mpeg4", "avi", "mpeg4"),
    ("mpegts", "libx264", "mpegts", "h264"),
    ("mpeg", "mpeg2video", "mpeg", "mpeg2video"),
    ("ogg", "libvpx", "ogg", "vp8"),
    ("flv", "flv1", "flv", "flv1"),
    ("asf", "wmv2", "asf", "wmv2"),
]


@pytest.mark.parametrize(
    ("container", "codec", "fmt", "codec_name"),
    CONTAINERS,
    ids=[f"{c}-{k}" for c, k, _, _ in CONTAINERS],
)
@pytest.mark.parametrize(("size", "fps", "frames"), [((64, 48), 25, 10), ((34, 18), 30, 7)])
def test_constant_rate_fields(container, codec, fmt, codec_name, size, fps, frames) -> None:
    if container == "mpeg" and fps == 30:
        fps = Fraction(30000, 1001)  # MPEG-2 allows only the standard rates
    data = mf.video(container, codec, size, fps=fps, frames=frames)
    info = tm.probe(data)
    assert isinstance(info, tm.VideoInfo)
    assert (info.width, info.height) == size
    assert info.frames == frames
    assert info.frames_exact
    # Millisecond timestamps (Matroska, FLV, ASF) cannot tell 30 from 29.97 fps over 7
    # frames: 0.3 % is one tick of rounding there; elsewhere the rate is exact.
    rel = 3e-3 if container in ("matroska", "webm", "flv", "asf") else 1e-6
    assert info.fps == pytest.approx(float(fps), rel=rel)
    assert info.real_fps == pytest.approx(float(fps), rel=rel)
    assert info.duration == pytest.approx(frames / float(fps), abs=0.0015)
    assert not info.vfr
    assert info.rotation == 0
    assert info.audio is None
    assert (info.format, info.codec) == (fmt, codec_name)


@pytest.mark.parametrize(
    ("container", "codec"),
    [("mp4", "libx264"), ("mov", "mpeg4"), ("matroska", "libx264"), ("webm", "libvpx-vp9")],
)
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_rotation_swaps_displayed_size(container: str, codec: str, rotation: int) -> None:
    data = mf.video(container, codec, (64, 48), frames=5, rotation=rotation)
    info = tm.probe(data)
    assert info.rotation == rotation
    assert (info.width, info.height) == ((48, 64) if rotation in (90, 270) else (64, 48))
    assert info.frames == 5


VFR_TIMES = [0, 40, 80, 200, 240, 400, 440, 480, 1000, 1040]


@pytest.mark.parametrize(
    ("container", "codec"),
    [("mp4", "libx264"), ("mov", "mpeg4"), ("matroska", "libx264"), ("webm", "libvpx-vp9")],
)
def test_variable_frame_rate(container: str, codec: str) -> None:
    data = mf.video(container, codec, (32, 32), frames=len(VFR_TIMES), timestamps=VFR_TIMES)
    info = tm.probe(data)
    assert info.vfr
    assert info.frames == 10
    # The last frame lasts as long as the typical one (40 ms) in these muxers.
    assert info.duration == pytest.approx(1.08, abs=0.002)
    assert info.fps == pytest.approx(10 / 1.08, rel=2e-3)
    assert info.real_fps == pytest.approx(25, rel=1e-3)  # the most common frame duration


def test_rounded_timestamps_are_not_variable() -> None:
    # 29.97 fps in a millisecond time base alternates 33 and 34 ms: still constant rate.
    times = [round(i * 1001 / 30) for i in range(30)]
    data = mf.video("matroska", "libx264", (32, 32), frames=30, timestamps=times)
    info = tm.probe(data)
    assert not info.vfr
    assert info.frames == 30
    assert info.real_fps == pytest.approx(30000 / 1001, rel=2e-3)


@pytest.mark.parametrize(
    ("container", "acodec"),
    [
        ("mp4", "aac"),
        ("matroska", "libopus"),
        ("webm", "libopus"),
        ("mpegts", "mp2"),
        ("mov", "pcm_s16le"),
        ("mp4", "mp3"),
    ],
)
@pytest.mark.parametrize(("rate", "channels"), [(48_000, 2), (16_000, 1)])
def test_audio_track(container: str, acodec: str, rate: int, channels: int) -> None:
    if acodec == "libopus" and rate not in (48_000, 24_000, 16_000, 12_000, 8_000):
        pytest.skip("Opus rates only")
    vcodec = "libvpx-vp9" if container == "webm" else "libx264"
    data = mf.video(
        container, vcodec, (32, 24), frames=25, audio=(rate, channels, 1.0), audio_codec=acodec
    )
    info = tm.probe(data)
    assert info.has_audio
    a = info.audio
    assert a is not None
    # Opus always decodes at 48 kHz, and says so in its header, whatever went in.
    out_rate = 48_000 if acodec == "libopus" else rate
    assert a.sample_rate == out_rate
    assert a.channels == channels
    # Encoders pad (AAC/Opus priming, whole MP3 frames): a few codec frames at most.
    assert a.duration == pytest.approx(1.0, abs=0.1)
    assert a.samples == pytest.approx(out_rate * a.duration, abs=1)
    assert a.codec == {"libopus": "opus"}.get(acodec, acodec)
    assert info.frames == 25


def test_odd_sizes_and_many_frames() -> None:
    data = mf.video("mp4", "libx264", (178, 94), fps=60, frames=121, pix_fmt="yuv420p")
    info = tm.probe(data)
    assert (info.width, info.height, info.frames) == (178, 94, 121)
    assert info.duration == pytest.approx(121 / 60, abs=1e-3)


def test_webm_needs_a_scan_and_gets_it_exact() -> None:
    data = mf.video("webm", "libvpx-vp9", (32, 24), fps=24, frames=48)
    info = tm.probe(data)
    assert (info.frames, info.frames_exact) == (48, True)
    assert info.duration == pytest.approx(2.0, abs=1e-3)


def test_scan_limit_estimates_and_says_so() -> None:
    data = mf.video("webm", "libvpx-vp9", (64, 48), fps=25, frames=50)
    info = tm.probe(data, scan_bytes=2000)
    assert not info.frames_exact
    assert info.frames == 50  # duration (header) x fps, which is right for this file
    exact = tm.probe(data)
    assert exact.frames_exact
    assert exact.frames == 50


def test_cover_art_does_not_make_audio_a_video() -> None:
    data = mf.av_audio("mp4", "aac", sample_rate=44_100, channels=2, seconds=0.5)
    info = tm.probe(data)
    assert isinstance(info, tm.AudioInfo)


def test_paths_and_file_objects_give_the_same_answer(tmp_path: Path) -> None:
    data = mf.video("mp4", "libx264", (40, 30), frames=8, rotation=90, audio=(16_000, 1, 0.3))
    p = mf.write(tmp_path / "clip.bin", data)  # a wrong extension does not matter
    a = tm.probe(p)
    with p.open("rb") as f:
        f.seek(5)
        b = tm.probe(f)
        assert f.tell() == 5
    c = tm.probe(bytearray(data))
    assert a.source == str(p)
    strip = {"source": ""}
    assert (
        a.__class__(**{**_fields(a), **strip})
        == b.__class__(**{**_fields(b), **strip})
        == c.__class__(**{**_fields(c), **strip})
    )


def _fields(info: object) -> dict[str, object]:
    from dataclasses import fields

    out = {f.name: getattr(info, f.name) for f in fields(info) if f.init}  # type: ignore[arg-type]
    if out.get("audio") is not None:
        out["audio"] = out["audio"].__class__(**{**_fields(out["audio"]), "source": ""})
    return out


# -- against ffprobe -----------------------------------------------------------------------


def _ffprobe(path: Path) -> dict:
    out = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-count_packets",
            "-show_streams",
            "-show_format",
            "-of",
            "json",
            str(path),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(out.stdout)


def _rate(text: str) -> float:
    n, d = text.split("/")
    return int(n) / int(d)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
@pytest.mark.parametrize(
    ("container", "codec", "kw"),
    [
        ("mp4", "libx264", {"rotation": 90, "audio": (44_100, 2, 1.0)}),
        ("mov", "mpeg4", {"rotation": 180}),
        (
            "matroska",
            "libx264",
            {"rotation": 270, "audio": (48_000, 1, 1.0), "audio_codec": "libopus"},
        ),
        ("webm", "libvpx-vp9", {"timestamps": VFR_TIMES}),
        ("mpegts", "libx264", {"audio": (48_000, 2, 1.0), "audio_codec": "mp2"}),
        # FFmpeg's AVI muxer indexes empty (repeat) chunks when audio is interleaved, so
        # the header's frame count is more than the packets: we report it as ffprobe does.
        ("avi", "mpeg4", {"audio": (16_000, 1, 1.0), "audio_codec": "mp3"}),
        ("ogg", "libvpx", {}),
    ],
)
def test_matches_ffprobe(tmp_path: Path, container: str, codec: str, kw: dict) -> None:
    n = len(kw.get("timestamps", [])) or 20
    p = mf.write(
        tmp_path / f"v.{container}", mf.video(container, codec, (66, 38), fps=20, frames=n, **kw)
    )
    ref = _ffprobe(p)
    v = next(s for s in ref["streams"] if s["codec_type"] == "video")
    info = tm.probe(p)
    rot = 0
    for sd in v.get("side_data_list", []):
        if "rotation" in sd:
            rot = int(-sd["rotation"]) % 360  # ffprobe: counter-clockwise; ours: clockwise
    assert info.rotation == rot == kw.get("rotation", 0)
    swap = rot in (90, 270)
    assert (info.width, info.height) == (
        (v["height"], v["width"]) if swap else (v["width"], v["height"])
    )
    assert info.codec == v["codec_name"]
    if "nb_frames" in v:
        assert info.frames == int(v["nb_frames"])
    else:
        assert info.frames == int(v["nb_read_packets"])
    if "timestamps" not in kw:
        # For variable-rate files FFmpeg's r_frame_rate is the header's default duration
        # (here 20 fps); ours is the most common frame duration (25 fps), tested above.
        assert info.real_fps == pytest.approx(_rate(v["r_frame_rate"]), rel=1e-3)
    if v.get("avg_frame_rate", "0/0") != "0/0" and "timestamps" not in kw:
        assert info.fps == pytest.approx(_rate(v["avg_frame_rate"]), rel=5e-3)
    duration = float(v.get("duration") or ref["format"]["duration"])
    if "timestamps" not in kw and container not in ("mpegts",):
        assert info.duration == pytest.approx(duration, abs=0.051)
    a_ref = [s for s in ref["streams"] if s["codec_type"] == "audio"]
    if a_ref:
        assert info.audio is not None
        assert info.audio.sample_rate == int(a_ref[0]["sample_rate"])
        assert info.audio.channels == int(a_ref[0]["channels"])
        assert info.audio.codec == a_ref[0]["codec_name"]
    else:
        assert info.audio is None


# -- the fast path loses nothing ----------------------------------------------------------


@pytest.mark.parametrize(
    ("container", "codec", "kw"),
    [
        ("mp4", "libx264", {"audio": (44_100, 1, 0.5), "audio_codec": "mp3", "rotation": 90}),
        ("mpegts", "mpeg2video", {"audio": (48_000, 2, 0.5), "audio_codec": "mp2"}),
        ("mpeg", "mpeg2video", {}),
        ("ogg", "libvpx", {}),
        ("asf", "wmv2", {}),
        ("webm", "libvpx-vp9", {"audio": (48_000, 2, 0.5), "audio_codec": "libopus"}),
        ("matroska", "libx264", {"timestamps": VFR_TIMES}),
        ("avi", "mpeg4", {"audio": (22_050, 1, 0.5), "audio_codec": "mp3"}),
        # FLV and MPEG-PS create streams as packets arrive: audio may come first.
        ("flv", "flv1", {"audio": (44_100, 2, 0.5), "audio_codec": "mp3"}),
        ("mpeg", "mpeg2video", {"audio": (48_000, 2, 0.5), "audio_codec": "mp2"}),
        ("ogg", "libvpx", {"audio": (48_000, 2, 0.5), "audio_codec": "libopus"}),
    ],
)
def test_fast_path_equals_full_analysis(
    container: str, codec: str, kw: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The fast path (tiny probe size, no analysis) must give every field that FFmpeg's
    # full stream analysis gives: MPEG-PS/TS, Ogg and ASF lose the average rate, and
    # mono MP3 in MP4 reads as stereo, when the fast path is taken naively.
    from tokenmeter._probe import video

    n = len(kw.get("timestamps", [])) or 12
    data = mf.video(container, codec, (48, 32), fps=25, frames=n, **kw)
    fast = tm.probe(data)
    monkeypatch.setattr(video, "_FAST", video._FULL)
    full = tm.probe(data)
    assert fast == full
    assert isinstance(fast, tm.VideoInfo)
    if container != "avi":  # FFmpeg's AVI muxer indexes extra empty chunks (see above)
        assert fast.frames == n
    if "audio" in kw:
        assert fast.audio is not None
        assert fast.audio.channels == kw["audio"][1]
