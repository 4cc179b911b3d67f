"""A small, real sample set for ``tokenmeter demo``: video, images, audio and text.

:func:`make_samples` writes the files into a folder in a few seconds on two cores, with
nothing but the ``media`` extra (Pillow, PyAV, soundfile) and numpy. Every file is real
media that a phone, a screen recorder or a voice app could have produced, so probing it
goes through the same code as a user's files:

* ``clip-720p-10s.mp4`` — 10 s of 1280×720 H.264 at 25 fps with a 10 s AAC soundtrack;
* ``photo-exif-rotated.jpg`` — stored 1600×1200 with EXIF orientation 6, as a phone held
  upright writes it, so it is *displayed* (and counted) as 1200×1600;
* ``screenshot-1920x1080.png`` and ``sticker-512.webp`` — two more image formats and sizes;
* ``voice-note.wav`` — 12.5 s of 16 kHz mono PCM;
* ``notes-en.txt`` and ``notes-zh.txt`` — the same short note in English and Chinese, so
  the table shows how differently the two languages tokenize.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from .errors import MissingDependencyError

__all__ = ["SAMPLES", "Sample", "make_samples"]

_INSTALL = "pip install 'tokenmeter[media]'"

EN_TEXT = """\
Meeting notes, product review.

We agreed to show the price of every upload before the user sends it. The app reads the
file's header only: the size of a photo, the length and frame rate of a video, the duration
of a voice note. From those numbers and the model's own resize rules we know how many
tokens the request will occupy, and the price book turns that into money, exactly.

Open questions: should long videos be sampled at a lower frame rate to save cost, and do
we show the estimate for text attachments, or only for media?
"""

ZH_TEXT = """\
会议纪要：产品评审。

我们同意在用户发送之前显示每次上传的价格。应用只读取文件头：照片的尺寸、视频的时长和帧率、
语音消息的时长。根据这些数字和模型自身的缩放规则，我们就能知道请求会占用多少个令牌，
再由价目表把它精确地换算成金额。

待定问题：长视频是否应以较低的帧率采样以节省费用？文本附件也显示估算，还是只对媒体文件显示？
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Sample:
    """One file of the sample set.

    Attributes:
        name: file name inside the sample folder.
        kind: ``"video"``, ``"image"``, ``"audio"`` or ``"text"``.
        what: a short description, for the docs and the demo's header.
    """

    name: str
    kind: str
    what: str


SAMPLES: tuple[Sample, ...] = (
    Sample(name="clip-720p-10s.mp4", kind="video",
           what="10 s 1280x720 H.264 at 25 fps with a 10 s AAC soundtrack"),
    Sample(name="notes-en.txt", kind="text", what="a meeting note in English"),
    Sample(name="notes-zh.txt", kind="text", what="the same note in Chinese"),
    Sample(name="photo-exif-rotated.jpg", kind="image",
           what="stored 1600x1200, EXIF orientation 6: displayed 1200x1600"),
    Sample(name="screenshot-1920x1080.png", kind="image", what="a 1920x1080 PNG"),
    Sample(name="sticker-512.webp", kind="image", what="a 512x512 WebP"),
    Sample(name="voice-note.wav", kind="audio", what="12.5 s of 16 kHz mono PCM"),
)


def _require_media() -> None:
    missing = []
    for mod in ("PIL", "av", "soundfile"):
        try:
            __import__(mod)
        except ImportError:
            missing.append({"PIL": "pillow"}.get(mod, mod))
    if missing:
        raise MissingDependencyError(
            f"the demo writes real media files and needs {', '.join(missing)}; "
            f"install them with: {_INSTALL}")


def make_samples(folder: str | Path) -> list[Path]:
    """Write the sample set into ``folder`` (created if needed) and return the paths.

    Raises:
        MissingDependencyError: Pillow, PyAV or soundfile is not installed (the message
            names ``pip install 'tokenmeter[media]'``).
    """
    _require_media()
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    writers = {
        "clip-720p-10s.mp4": _video,
        "notes-en.txt": lambda p: p.write_text(EN_TEXT, encoding="utf-8"),
        "notes-zh.txt": lambda p: p.write_text(ZH_TEXT, encoding="utf-8"),
        "photo-exif-rotated.jpg": _photo,
        "screenshot-1920x1080.png": _screenshot,
        "sticker-512.webp": _sticker,
        "voice-note.wav": _wav,
    }
    paths = []
    for sample in SAMPLES:
        path = out / sample.name
        writers[sample.name](path)
        paths.append(path)
    return paths


# -- images ------------------------------------------------------------------------------

def _gradient(width: int, height: int, phase: int = 0) -> object:
    import numpy as np

    x = np.linspace(0, 255, width, dtype=np.float32)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None]
    r = (x + phase) % 256
    g = np.broadcast_to(y, (height, width))
    b = (x * 0.5 + y * 0.5 + 2 * phase) % 256
    return np.dstack([np.broadcast_to(r, (height, width)), g, b]).astype(np.uint8)


def _photo(path: Path) -> None:
    from PIL import Image

    im = Image.fromarray(_gradient(1600, 1200))  # type: ignore[arg-type]
    exif = Image.Exif()
    # Orientation 6: the viewer rotates the stored landscape picture 90° clockwise, which
    # is what a phone held upright writes; the displayed size is 1200 x 1600.
    exif[0x0112] = 6
    im.save(path, "JPEG", quality=80, exif=exif.tobytes())


def _screenshot(path: Path) -> None:
    from PIL import Image

    # Flat colour compresses to almost nothing and encodes in milliseconds.
    Image.new("RGB", (1920, 1080), (236, 239, 244)).save(path, "PNG", compress_level=1)


def _sticker(path: Path) -> None:
    from PIL import Image

    Image.fromarray(_gradient(512, 512, 40)).save(path, "WEBP", quality=70)  # type: ignore[arg-type]


# -- audio -------------------------------------------------------------------------------

def _wav(path: Path) -> None:
    import numpy as np
    import soundfile as sf  # type: ignore[import-untyped]

    rate = 16_000
    t = np.arange(int(12.5 * rate)) / rate
    sf.write(path, 0.2 * np.sin(2 * np.pi * 220 * t), rate, subtype="PCM_16")


# -- video -------------------------------------------------------------------------------

def _video(path: Path, *, width: int = 1280, height: int = 720, fps: int = 25,
           seconds: int = 10) -> None:
    import av

    rate = Fraction(fps)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=rate)
        vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
        # ultrafast + zerolatency: 250 frames of 720p encode in about a second on one core.
        vs.options = {"preset": "ultrafast", "tune": "zerolatency"}
        vs.codec_context.time_base = 1 / rate
        aus = out.add_stream("aac", rate=44_100)
        aus.layout = "mono"
        base = _yuv_frame(width, height)
        for i in range(fps * seconds):
            # A still gradient with a box sliding across it, made directly in the encoder's
            # YUV 4:2:0 layout: real motion, yet cheap to make (an RGB -> YUV conversion
            # per frame would cost more than the encoding) and cheap to encode (the
            # unchanged background is skipped).
            arr = base.copy()  # type: ignore[attr-defined]
            x = (16 * i) % (width - 96)
            arr[height // 2 - 48:height // 2 + 48, x:x + 96] = 235
            frame = av.VideoFrame.from_ndarray(arr, format="yuv420p")
            frame.pts = i
            frame.time_base = 1 / rate
            out.mux(vs.encode(frame))
        out.mux(vs.encode(None))
        _sine(aus, out, 44_100, seconds)


def _yuv_frame(width: int, height: int) -> object:
    """One frame as PyAV's packed ``yuv420p`` array: ``height * 3 / 2`` rows of ``width``."""
    import numpy as np

    x = np.linspace(16, 235, width, dtype=np.float32)[None, :]
    y = np.linspace(16, 235, height, dtype=np.float32)[:, None]
    luma = (0.7 * x + 0.3 * y).astype(np.uint8)
    chroma = np.broadcast_to(
        np.linspace(64, 192, width, dtype=np.float32)[None, :], (height // 2, width)
    ).astype(np.uint8)
    return np.vstack([luma, chroma])


def _sine(stream: object, out: object, rate: int, seconds: int) -> None:
    import av
    import numpy as np

    n = rate * seconds
    t = np.arange(n) / rate
    wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    step = 1024  # the AAC encoder's frame size
    resampler = None
    for start in range(0, n, step):
        block = wave[None, start:start + step]
        frame = av.AudioFrame.from_ndarray(block, format="fltp", layout="mono")
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        fmt = stream.codec_context.codec.audio_formats[0].name  # type: ignore[attr-defined]
        if fmt != "fltp":  # pragma: no cover - FFmpeg's native AAC encoder takes fltp
            resampler = resampler or av.AudioResampler(format=fmt, layout="mono", rate=rate)
            frame = resampler.resample(frame)[0]
        out.mux(stream.encode(frame))  # type: ignore[attr-defined]
    out.mux(stream.encode(None))  # type: ignore[attr-defined]
