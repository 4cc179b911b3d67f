"""Audio probing: libsndfile formats and the PyAV fallback, checked against what was
written."""

from __future__ import annotations

import pytest

pytest.importorskip("soundfile")
pytest.importorskip("av")

import mediafactory as mf
import tokenmeter as tm

# (format, subtype, codec name reported)
SNDFILE = [
    ("WAV", "PCM_16", "PCM_16"),
    ("WAV", "FLOAT", "FLOAT"),
    ("WAV", "PCM_24", "PCM_24"),
    ("FLAC", "PCM_16", "PCM_16"),
    ("OGG", "VORBIS", "VORBIS"),
    ("OGG", "OPUS", "OPUS"),
    ("AIFF", "PCM_16", "PCM_16"),
    ("AU", "PCM_16", "PCM_16"),
    ("CAF", "PCM_16", "PCM_16"),
    ("W64", "PCM_16", "PCM_16"),
    ("MP3", "MPEG_LAYER_III", "MPEG_LAYER_III"),
]


@pytest.mark.parametrize(
    ("fmt", "subtype", "codec"), SNDFILE, ids=[f"{f}-{s}" for f, s, _ in SNDFILE]
)
@pytest.mark.parametrize(("rate", "channels", "frames"), [(16_000, 1, 16_000), (48_000, 2, 12_345)])
def test_soundfile_formats(
    fmt: str, subtype: str, codec: str, rate: int, channels: int, frames: int
) -> None:
    data = mf.audio(fmt, subtype=subtype, sample_rate=rate, channels=channels, frames=frames)
    info = tm.probe(data)
    assert isinstance(info, tm.AudioInfo)
    assert info.sample_rate == rate
    assert info.channels == channels
    assert info.samples == frames
    assert info.duration == pytest.approx(frames / rate, abs=1e-9)
    assert (info.format, info.codec) == (fmt, codec)


# (container, codec, reported container, reported codec)
AV_AUDIO = [
    ("webm", "libopus", "webm", "opus"),
    ("matroska", "libopus", "matroska", "opus"),
    ("ogg", "libopus", "OGG", "OPUS"),  # libsndfile reads Ogg Opus itself
    ("mp4", "aac", "mp4", "aac"),
    ("ipod", "aac", "mp4", "aac"),  # .m4a
    ("adts", "aac", "aac", "aac"),
    ("mp3", "libmp3lame", "MP3", "MPEG_LAYER_III"),
    ("matroska", "flac", "matroska", "flac"),
]


@pytest.mark.parametrize(
    ("container", "codec", "fmt", "codec_name"),
    AV_AUDIO,
    ids=[f"{c}-{k}" for c, k, _, _ in AV_AUDIO],
)
@pytest.mark.parametrize("channels", [1, 2])
def test_container_audio(
    container: str, codec: str, fmt: str, codec_name: str, channels: int
) -> None:
    rate = 48_000 if "opus" in codec else 44_100
    data = mf.av_audio(container, codec, sample_rate=rate, channels=channels, seconds=1.5)
    info = tm.probe(data)
    assert isinstance(info, tm.AudioInfo)
    assert (info.sample_rate, info.channels) == (rate, channels)
    # Priming and padding of lossy codecs: at most a few codec frames.
    assert info.duration == pytest.approx(1.5, abs=0.08)
    assert info.samples == pytest.approx(info.duration * rate, abs=1)
    assert (info.format, info.codec) == (fmt, codec_name)


def test_browser_style_webm_without_duration_is_scanned() -> None:
    # MediaRecorder writes live WebM: no Duration element, no DURATION tag.
    data = mf.av_audio("webm", "libopus", seconds=2.0)
    stripped = _strip_webm_durations(data)
    import av

    with av.open(__import__("io").BytesIO(stripped)) as c:
        assert not c.duration
        assert not c.streams.audio[0].metadata.get("DURATION")
    info = tm.probe(stripped)
    assert info.duration == pytest.approx(2.0, abs=0.03)
    assert info.sample_rate == 48_000


def _strip_webm_durations(data: bytes) -> bytes:
    # Overwrite the Segment Info Duration (0x4489) and the DURATION tag by Void (0xEC)
    # elements of the same length: the file stays valid, the durations are gone.
    out = bytearray(data)
    i = out.find(b"\x44\x89")
    if i > 0:
        size = out[i + 2] & 0x7F
        out[i : i + 3 + size] = b"\xec" + bytes([0x80 | (size + 1)]) + b"\x00" * (size + 1)
    j = out.find(b"DURATION")
    while j > 0:
        out[j : j + 8] = b"XXXXXXXX"
        j = out.find(b"DURATION", j)
    return bytes(out)


def test_wrong_extension_is_ignored(tmp_path) -> None:
    data = mf.audio("FLAC", sample_rate=22_050, frames=2205)
    p = mf.write(tmp_path / "song.mp3.jpg", data)
    info = tm.probe(p)
    assert (info.format, info.sample_rate, info.samples) == ("FLAC", 22_050, 2205)


def test_mp3_with_id3_tag() -> None:
    raw = mf.audio("MP3", sample_rate=44_100, frames=44_100)
    body = b"TIT2" + (6).to_bytes(4, "big") + b"\x00\x00" + b"\x00title"
    tag = b"ID3\x03\x00\x00" + bytes([0, 0, len(body) >> 7, len(body) & 0x7F]) + body
    info = tm.probe(tag + raw)
    assert info.sample_rate == 44_100
    assert info.duration == pytest.approx(1.0, abs=0.06)


def test_facade_counts_audio_seconds() -> None:
    data = mf.audio("WAV", sample_rate=16_000, frames=32_000)
    info = tm.probe(data)
    assert info.duration == 2.0


# -- FLAC and Ogg header fields read directly agree with libsndfile -----------------------


def _direct_cases() -> list[tuple[str, str, int, int, int]]:
    import random

    rng = random.Random(5)
    out = []
    for _ in range(40):
        fmt, sub = rng.choice(
            [
                ("FLAC", "PCM_16"),
                ("FLAC", "PCM_24"),
                ("FLAC", "PCM_S8"),
                ("OGG", "VORBIS"),
                ("OGG", "OPUS"),
            ]
        )
        rates = [8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]
        if sub == "OPUS":  # the only rates libsndfile's Opus encoder takes
            rates = [8000, 12000, 16000, 24000, 48000]
        out.append((fmt, sub, rng.choice(rates), rng.choice([1, 2, 3]), rng.randint(1, 60_000)))
    return out


@pytest.mark.parametrize(("fmt", "subtype", "rate", "channels", "frames"), _direct_cases())
def test_direct_header_read_equals_libsndfile(
    fmt: str,
    subtype: str,
    rate: int,
    channels: int,
    frames: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    import soundfile as sf

    data = mf.audio(fmt, subtype=subtype, sample_rate=rate, channels=channels, frames=frames)
    ref = sf.info(io.BytesIO(data))

    def refuse(*a: object, **k: object) -> None:
        raise AssertionError("the direct read should not need libsndfile here")

    monkeypatch.setattr(sf, "SoundFile", refuse)
    info = tm.probe(data)
    assert (info.sample_rate, info.channels, info.samples) == (
        ref.samplerate,
        ref.channels,
        ref.frames,
    )
    assert (info.format, info.codec) == (ref.format, ref.subtype)
    assert info.duration == pytest.approx(ref.duration, abs=1e-12)


def test_unusual_ogg_goes_to_libsndfile() -> None:
    # Two Ogg streams one after the other (a chained file): the last page belongs to the
    # second stream, so the direct read declines and libsndfile (or FFmpeg) answers.
    a = mf.audio("OGG", sample_rate=16_000, frames=16_000)
    b = mf.audio("OGG", sample_rate=16_000, frames=8_000)
    info = tm.probe(a + b)
    assert info.sample_rate == 16_000
    assert info.duration > 0


_WAV_CASES = [
    (major, subtype)
    for major in ("WAV", "WAVEX")
    for subtype in ("PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW")
    if not (major == "WAVEX" and subtype in ("ULAW", "ALAW"))  # libsndfile writes none
]


@pytest.mark.parametrize(("major", "subtype"), _WAV_CASES)
@pytest.mark.parametrize("cut", [0, 7])
def test_direct_wav_read_equals_libsndfile(
    major: str, subtype: str, cut: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    import soundfile as sf

    data = mf.audio(major, subtype=subtype, sample_rate=11_025, channels=2, frames=1001)
    data = data[: len(data) - cut]  # a truncated data chunk counts what is there
    ref = sf.info(io.BytesIO(data))
    monkeypatch.setattr(sf, "SoundFile", None)  # the direct read must not need it
    info = tm.probe(data)
    assert (info.sample_rate, info.channels, info.samples) == (
        ref.samplerate,
        ref.channels,
        ref.frames,
    )
    assert (info.format, info.codec) == (ref.format, ref.subtype)
