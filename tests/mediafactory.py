"""Small, real media files made on the fly for tests (images, video, audio).

Every function returns the encoded file as ``bytes``; :func:`write` puts it on disk. The
arguments are the truth a test checks a probe against, so each function writes exactly
what it is asked for (sizes, frame counts, timestamps, orientation, rotation…).

>>> from mediafactory import image, video, audio, write
>>> png = image("PNG", (64, 48), orientation=6)            # displayed as 48 x 64
>>> mp4 = video("mp4", "libx264", (64, 48), fps=25, frames=10, rotation=90)
>>> wav = audio("WAV", sample_rate=16_000, channels=2, frames=8000)

Needs the ``media`` extra (Pillow, PyAV, soundfile), which ``tokenmeter[test]`` installs.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

__all__ = [
    "audio",
    "av_audio",
    "exif_orientation",
    "image",
    "png_with_exif_after_idat",
    "video",
    "write",
]


def write(path: Path | str, data: bytes) -> Path:
    """Write ``data`` to ``path`` and return it as a :class:`Path`."""
    p = Path(path)
    p.write_bytes(data)
    return p


def exif_orientation(orientation: int) -> bytes:
    """A minimal EXIF block (TIFF, little-endian) holding only the Orientation tag."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif.tobytes()


def image(
    fmt: str = "PNG",
    size: tuple[int, int] = (64, 48),
    *,
    orientation: int | None = None,
    frames: int = 1,
    mode: str = "RGB",
    **save: object,
) -> bytes:
    """An image of ``size`` (width, height) in Pillow format ``fmt``.

    Args:
        fmt: a Pillow format name that can be written (``"PNG"``, ``"JPEG"``, ``"GIF"``,
            ``"WEBP"``, ``"TIFF"``, ``"BMP"``, ``"AVIF"``…).
        size: the stored (coded) width and height.
        orientation: an EXIF orientation (1–8) to embed, or ``None`` for no EXIF.
        frames: more than 1 writes an animation (GIF/WebP/PNG → APNG/AVIF) or a
            multi-page file (TIFF); each frame differs so encoders keep them all.
        mode: the Pillow mode of the frames.
        **save: extra keyword arguments for ``Image.save``.
    """
    from PIL import Image

    w, h = size
    ims = [Image.new(mode, (w, h), _colour(mode, i)) for i in range(frames)]
    # Make every frame visibly different everywhere, so no encoder merges or drops one.
    for i, im in enumerate(ims):
        im.putpixel((i % w, (i // w) % h), _colour(mode, i + 7))
    kw: dict[str, object] = dict(save)
    if orientation is not None:
        kw["exif"] = exif_orientation(orientation)
    if frames > 1:
        kw.update(save_all=True, append_images=ims[1:])
        if fmt in {"GIF", "WEBP", "PNG", "AVIF"}:
            kw.setdefault("duration", 40)
            kw.setdefault("loop", 0)
        if fmt == "GIF":
            kw.setdefault("disposal", 1)
        if fmt == "WEBP":
            kw.setdefault("lossless", True)
    buf = io.BytesIO()
    ims[0].save(buf, fmt, **kw)
    return buf.getvalue()


def _colour(mode: str, i: int) -> int | tuple[int, ...]:
    c = (37 * i + 11) % 256, (91 * i + 53) % 256, (17 * i + 200) % 256
    if mode in {"L", "P", "1"}:
        return c[0]
    if mode == "RGBA":
        return (*c, 255)
    return c


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_exif_after_idat(size: tuple[int, int], orientation: int) -> bytes:
    """A PNG whose ``eXIf`` chunk comes after the image data (legal, and what some
    writers do); Pillow only sees it after decoding the whole image."""
    png = image("PNG", size)
    iend = png.rindex(b"IEND") - 4
    return png[:iend] + _chunk(b"eXIf", exif_orientation(orientation)[6:]) + png[iend:]


def video(
    container: str = "mp4",
    codec: str = "libx264",
    size: tuple[int, int] = (64, 48),
    *,
    fps: int | Fraction = 25,
    frames: int = 10,
    rotation: int = 0,
    timestamps: Sequence[int] | None = None,
    time_base: Fraction | None = None,
    audio: tuple[int, int, float] | None = None,
    audio_codec: str = "aac",
    pix_fmt: str = "yuv420p",
) -> bytes:
    """A video of ``frames`` frames at ``fps`` (or at explicit ``timestamps``).

    Args:
        container: an FFmpeg muxer name (``"mp4"``, ``"mov"``, ``"matroska"``, ``"webm"``,
            ``"avi"``, ``"mpeg"``, ``"mpegts"``, ``"ogg"``, ``"flv"``…).
        codec: an FFmpeg encoder (``"libx264"``, ``"libvpx-vp9"``, ``"mpeg4"``…).
        size: coded width and height (before rotation).
        fps: the nominal frame rate.
        frames: number of frames to encode.
        rotation: clockwise degrees a player must rotate the picture to display it
            (0, 90, 180, 270), written as the stream's display matrix.
        timestamps: per-frame presentation times in ``time_base`` units, for a
            variable frame rate; ``None`` for ``i / fps``.
        time_base: the time base of ``timestamps`` (default ``1 / 1000``).
        audio: ``(sample_rate, channels, seconds)`` of a sine audio track, or ``None``.
        audio_codec: the audio encoder.
        pix_fmt: the encoder's pixel format.
    """
    import av
    import numpy as np

    buf = io.BytesIO()
    w, h = size
    rate = Fraction(fps)
    with av.open(buf, "w", format=container) as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height, vs.pix_fmt = w, h, pix_fmt
        if codec in {"libx264", "libx265"}:
            vs.options = {"preset": "ultrafast"}
        if timestamps is not None:
            tb = time_base or Fraction(1, 1000)
            vs.codec_context.time_base = tb
        else:
            tb = 1 / rate
            vs.codec_context.time_base = tb
        if rotation:
            # PyAV's angle is counter-clockwise (FFmpeg's convention); ours is clockwise.
            vs.set_display_rotation(-rotation)
        aus = None
        if audio is not None:
            sr, ch, _secs = audio
            aus = out.add_stream(audio_codec, rate=sr)
            aus.layout = "stereo" if ch == 2 else "mono"
        rng = np.random.default_rng(len(buf.getbuffer()) + frames)
        for i in range(frames):
            arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(arr, format="rgb24").reformat(format=pix_fmt)
            frame.pts = timestamps[i] if timestamps is not None else i
            frame.time_base = tb
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        if aus is not None and audio is not None:
            _encode_sine(aus, out, audio[0], audio[1], audio[2])
    return buf.getvalue()


def _encode_sine(stream: object, out: object, sr: int, ch: int, seconds: float) -> None:
    import av
    import numpy as np

    n = round(sr * seconds)
    t = np.arange(n) / sr
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    fmt = stream.codec_context.codec.audio_formats[0].name  # type: ignore[attr-defined]
    layout = "stereo" if ch == 2 else "mono"
    step = 1024
    for start in range(0, n, step):
        block = np.tile(wave[start : start + step], (ch, 1))
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        if fmt != "fltp":
            frame = av.AudioResampler(format=fmt, layout=layout, rate=sr).resample(frame)[0]
        out.mux(stream.encode(frame))  # type: ignore[attr-defined]
    out.mux(stream.encode(None))  # type: ignore[attr-defined]


def av_audio(
    container: str = "webm",
    codec: str = "libopus",
    *,
    sample_rate: int = 48_000,
    channels: int = 1,
    seconds: float = 1.0,
) -> bytes:
    """An audio-only file written by FFmpeg (PyAV): Opus in WebM/Ogg, AAC in M4A/ADTS,
    MP3…, for what libsndfile cannot write or read."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format=container) as out:
        st = out.add_stream(codec, rate=sample_rate)
        st.layout = "stereo" if channels == 2 else "mono"
        _encode_sine(st, out, sample_rate, channels, seconds)
    return buf.getvalue()


def audio(
    fmt: str = "WAV",
    *,
    sample_rate: int = 16_000,
    channels: int = 1,
    frames: int = 16_000,
    subtype: str | None = None,
) -> bytes:
    """An audio file written by libsndfile (soundfile): WAV, FLAC, OGG (Vorbis/Opus),
    AIFF, AU, MP3…, holding ``frames`` samples per channel of a sine."""
    import numpy as np
    import soundfile as sf

    t = np.arange(frames) / sample_rate
    data = 0.25 * np.sin(2 * np.pi * 330 * t)
    if channels > 1:
        data = np.tile(data[:, None], (1, channels))
    buf = io.BytesIO()
    sf.write(buf, data, sample_rate, format=fmt, subtype=subtype)
    return buf.getvalue()
