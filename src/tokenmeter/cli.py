"""The ``tokenmeter`` command line: estimate, compare, count, explain, list, demo and plot.

A thin layer over the public API (``import tokenmeter as tm``): every number it prints is
what ``tm.count``, ``Model.count_*`` and ``PriceBook.quote`` return for the same inputs.
``main(argv)`` returns the exit status instead of exiting, so tests call it in-process.

Exit status: 0 when everything was counted; 1 on an error, or when some inputs failed
(the rest are still counted and listed); 2 on a usage error (bad option or argument).
Errors go to stderr; ``--json`` and ``--csv`` output goes to stdout and is documented in
``docs/cli.md`` (the JSON Schema is ``docs/cli-schema.json``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import math
import os
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import tokenmeter as tm

if TYPE_CHECKING:
    from tokenmeter import Model, PriceBook, Quote, TokenCount, Usage
    from tokenmeter.media import MediaInfo

__all__ = ["DEFAULT_MODEL", "SCHEMA_VERSION", "main"]

#: The model ``estimate`` and ``demo`` count on when no ``--model`` is given: Alibaba's
#: hosted Qwen-Omni-Turbo (Qwen2.5-Omni's rules) takes all four inputs (text, image, video
#: with its soundtrack, audio), so every file of a mixed folder gets a count, and the
#: default book prices every one of them.
DEFAULT_MODEL = "qwen-omni-turbo"
#: The price-book entry the demo prices under when it differs from the model (no longer
#: needed now that the default model is itself priced; kept for ``--price-as``).
DEMO_PRICE_AS: str | None = None
#: Bumped when a JSON or CSV field changes meaning or goes away (adding fields does not).
SCHEMA_VERSION = 1

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2

#: Below this many files ``estimate`` probes in its own process; from it on, on a pool.
_POOL_FROM = 32
_PLOT_INSTALL = "pip install 'tokenmeter[plot]'"
_MEDIA_KINDS = ("image", "video", "audio")

_CSV_ROW_FIELDS = (
    "input", "model", "profile", "modality", "width", "height", "duration", "fps", "frames",
    "sample_rate", "chars", "tokens", "wrapper_tokens", "encoder_patches", "exact", "rule",
    "book", "entry", "currency", "price", "price_rounded", "status", "message",
)
_CSV_COMPARE_FIELDS = (
    "model", "profile", "tokens", "chars", "chars_per_token", "token_ratio", "exact", "book",
    "entry", "currency", "price", "price_rounded", "price_ratio", "status", "message",
)


class UsageError(Exception):
    """A bad argument found after parsing; exits 2 like argparse's own errors."""


# -- inputs ---------------------------------------------------------------------------------

@dataclass(slots=True)
class Item:
    """One thing to count: a file, a literal text, or a media description from a spec.

    ``info`` is set for probed files and specs, ``text`` for text; ``error`` when the
    file could not be read (the row then lists the failure).
    """

    label: str
    path: Path | None = None
    text: str | None = None
    info: MediaInfo | None = None
    error: BaseException | None = None

    @property
    def modality(self) -> str:
        if self.info is not None:
            return str(self.info.kind)
        return "text"


@dataclass(slots=True)
class Row:
    """One input counted on one model, and its price."""

    item: Item
    model: Model
    usage: Usage | None = None
    count: TokenCount | None = None
    quote: Quote | None = None
    entry: str = ""
    unpriced: str | None = None
    notes: list[str] = field(default_factory=list)
    error: BaseException | None = None


_SIZE = re.compile(r"^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)\s*(ms|h|m|s)?")
_VIDEO = re.compile(r"^\s*(?P<size>\d+\s*[x×X*]\s*\d+)\s*@\s*(?P<fps>[\d.]+(?:/[\d.]+)?)\s*:"
                    r"\s*(?P<dur>[^+]+?)\s*(?P<audio>\+\s*audio)?\s*$")


def parse_size(text: str) -> tuple[int, int]:
    """``"1280x720"`` → ``(1280, 720)`` (width, height)."""
    m = _SIZE.match(text)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a size; write WIDTHxHEIGHT in pixels, e.g. 1280x720")
    return int(m.group(1)), int(m.group(2))


def parse_duration(text: str) -> float:
    """``"10"``, ``"10s"``, ``"2.5s"``, ``"1m30s"``, ``"1h"``, ``"500ms"`` → seconds."""
    s = text.strip().lower().replace(" ", "")
    pos, total, seen = 0, 0.0, False
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, None: 1.0}
    while pos < len(s):
        m = _DURATION_PART.match(s, pos)
        if not m or m.end() == pos:
            break
        total += float(m.group(1)) * scale[m.group(2)]
        pos, seen = m.end(), True
    if not seen or pos != len(s) or not math.isfinite(total):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a duration; write seconds (30, 30s, 2.5s) or 1m30s, 1h, 500ms")
    return total


def _parse_fps(text: str) -> float:
    try:
        if "/" in text:
            num, den = text.split("/", 1)
            value = float(num) / float(den)
        else:
            value = float(text)
    except (ValueError, ZeroDivisionError):
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame rate (30, 29.97, 30000/1001)")
    return value


def parse_video(text: str) -> MediaInfo:
    """``"1280x720@30:10s"`` (``+audio`` for a soundtrack; ``:300f`` for 300 frames)."""
    m = _VIDEO.match(text)
    if not m:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a video; write WIDTHxHEIGHT@FPS:DURATION, e.g. 1280x720@30:10s, "
            "1280x720@29.97:300f (frames), 1280x720@30:1m+audio (with a soundtrack)")
    width, height = parse_size(m.group("size"))
    fps = _parse_fps(m.group("fps"))
    dur = m.group("dur").strip().lower()
    if re.fullmatch(r"\d+\s*f", dur):
        frames = int(dur[:-1])
        duration = frames / fps
    else:
        duration = parse_duration(dur)
        frames = round(duration * fps)
    if frames < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: the video has no frames")
    try:
        audio = (tm.AudioInfo(duration=duration, sample_rate=16_000, source="soundtrack")
                 if m.group("audio") else None)
        return tm.VideoInfo(width=width, height=height, duration=duration, fps=fps,
                            frames=frames, audio=audio, source=f"video {text.strip()}")
    except tm.InvalidInputError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None


def parse_image(text: str) -> MediaInfo:
    """``"1280x720"`` → an :class:`~tokenmeter.ImageInfo`."""
    width, height = parse_size(text)
    return tm.ImageInfo(width=width, height=height, source=f"image {width}x{height}")


def parse_audio(text: str) -> MediaInfo:
    """``"30s"`` → an :class:`~tokenmeter.AudioInfo` at 16 kHz."""
    seconds = parse_duration(text)
    return tm.AudioInfo(duration=seconds, sample_rate=16_000, source=f"audio {text.strip()}")


def parse_option(text: str) -> tuple[str, str, Any]:
    """``"detail=low"`` or ``"video.sample_fps=1"`` → ``(modality or "", key, value)``."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    scope = ""
    if "." in key:
        scope, key = key.split(".", 1)
        if scope not in _MEDIA_KINDS:
            raise argparse.ArgumentTypeError(
                f"{text!r}: the scope must be image, video or audio, got {scope!r}")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an option; write KEY=VALUE (detail=low, max_pixels=1003520) or "
            "MODALITY.KEY=VALUE (video.sample_fps=1)")
    return scope, key, _option_value(raw.strip())


def _option_value(raw: str) -> Any:
    low = raw.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(raw)
        except ValueError:
            pass
    return raw


def parse_at(text: str) -> dt.datetime:
    """An ISO 8601 time with a UTC offset (``2025-06-01T09:30:00+08:00``)."""
    try:
        when = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time, e.g. 2025-06-01T09:30:00+08:00") from None
    if when.tzinfo is None or when.utcoffset() is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} has no UTC offset; add one (+08:00, Z) so the time can be placed in "
            "the vendor's time zone")
    return when


def parse_jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 1:
        raise argparse.ArgumentTypeError(f"--jobs takes a positive number, got {text!r}")
    return n


_SPEC_PREFIXES: dict[str, Callable[[str], MediaInfo]] = {
    "image": parse_image, "video": parse_video, "audio": parse_audio,
}


def _looks_like_path(arg: str) -> bool:
    # No whitespace and a separator or an extension: almost certainly meant as a file.
    return not any(c.isspace() for c in arg) and (
        os.sep in arg or "/" in arg or bool(re.search(r"\.[A-Za-z0-9]{1,5}$", arg)))


def resolve_input(arg: str, *, stdin: IO[str] | None = None) -> Item:
    """What a ``TEXT_OR_PATH`` argument means.

    An existing path is a file; ``-`` is standard input (text); ``image:WxH``,
    ``video:WxH@FPS:DUR`` and ``audio:DUR`` are media descriptions; ``text:…`` is the
    text after the colon; anything else that looks like a path (no spaces, a ``/`` or a
    file extension) is a missing file; everything else is literal text.
    """
    if arg == "-":
        return Item(label="<stdin>", text=(stdin or sys.stdin).read())
    prefix, sep, rest = arg.partition(":")
    if sep and prefix in _SPEC_PREFIXES and not os.path.exists(arg):
        try:
            info = _SPEC_PREFIXES[prefix](rest)
        except argparse.ArgumentTypeError as exc:
            raise UsageError(str(exc)) from None
        return Item(label=arg, info=info)
    if sep and prefix == "text" and not os.path.exists(arg):
        return Item(label=_text_label(rest), text=rest)
    if os.path.exists(arg):
        return Item(label=arg, path=Path(arg))
    if _looks_like_path(arg):
        return Item(label=arg, path=Path(arg), error=tm.MediaNotFoundError(
            f"{arg}: no such file (to count it as text, write text:{arg})", source=arg))
    return Item(label=_text_label(arg), text=arg)


def _text_label(text: str) -> str:
    one = " ".join(text.split())
    return f'"{one[:27]}…"' if len(one) > 28 else f'"{one}"'


def collect_files(args: Sequence[str], *, recursive: bool) -> list[Item]:
    """The files named by ``args``: files as given, folders expanded (sorted, hidden files
    skipped; subfolders only with ``recursive``). Missing paths become failed items."""
    items: list[Item] = []
    for arg in args:
        p = Path(arg)
        if p.is_dir():
            if recursive:
                found = [Path(root) / f for root, dirs, files in os.walk(p)
                         for f in files if not f.startswith(".")
                         if not any(part.startswith(".") for part in
                                    Path(root).relative_to(p).parts)]
            else:
                found = [c for c in p.iterdir() if c.is_file() and not c.name.startswith(".")]
            items.extend(Item(label=str(f), path=f) for f in sorted(found))
        elif p.exists():
            items.append(Item(label=arg, path=p))
        else:
            items.append(Item(label=arg, path=p, error=tm.MediaNotFoundError(
                f"{arg}: no such file or folder", source=arg)))
    return items


def read_items(items: list[Item], *, jobs: int | None, progress: Progress | None) -> None:
    """Probe every file item in place: media gets ``info``; a file that is not media but
    is UTF-8 text gets ``text``; anything else gets ``error``."""
    todo = [it for it in items if it.path is not None and it.error is None
            and it.info is None and it.text is None]
    if not todo:
        return
    workers = jobs if jobs is not None else (1 if len(todo) < _POOL_FROM else None)
    results: Iterator[Any] = tm.probe_many([str(it.path) for it in todo], workers=workers)
    for it, res in zip(todo, results, strict=True):
        if isinstance(res, tm.UnsupportedFormatError):
            text = _read_text(it.path)
            if text is not None:
                it.text = text
            else:
                it.error = res
        elif isinstance(res, BaseException):
            it.error = res
        else:
            it.info = res
        if progress is not None:
            progress.advance(it.label)


def _read_text(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if b"\x00" in data[:8192]:
        return None  # binary, whatever else it decodes as
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None


# -- counting and pricing ---------------------------------------------------------------------

_INSTALL_HINT = re.compile(r"pip install '[^']+'")


def _opts_for(model: Model, modality: str,
              options: Sequence[tuple[str, str, Any]]) -> dict[str, Any]:
    if modality not in _MEDIA_KINDS or not options:
        return {}
    accepted = model.rule(modality).options
    return {k: v for scope, k, v in options
            if (scope == modality) or (not scope and k in accepted)}


def check_options(models: Sequence[Model], options: Sequence[tuple[str, str, Any]]) -> None:
    """Refuse an unscoped option that no rule of these models takes (a typo, most likely)."""
    for scope, key, _ in options:
        if scope:
            continue
        takes = [m for m in models for k in _MEDIA_KINDS
                 if k in m.modalities and key in m.rule(k).options]
        if not takes:
            known = sorted({o for m in models for k in _MEDIA_KINDS if k in m.modalities
                            for o in m.rule(k).options})
            raise UsageError(f"no rule of {', '.join(m.id for m in models)} takes option "
                             f"{key!r}; options they take: {', '.join(known) or 'none'}")


def count_item(model: Model, item: Item, *, exact: bool,
               options: Sequence[tuple[str, str, Any]] = ()) -> Row:
    """Count one item on one model; failures land in ``Row.error``, never raise."""
    row = Row(item=item, model=model)
    if item.error is not None:
        row.error = item.error
        return row
    try:
        if item.text is not None:
            try:
                row.usage = tm.count(model, item.text)
            except tm.VocabularyUnavailableError as exc:
                if exact:
                    raise
                row.usage = tm.count(model, item.text, estimate=True)
                hint = _INSTALL_HINT.search(str(exc))
                row.notes.append("estimated: the exact vocabulary is not installed"
                                 + (f" ({hint.group(0)} for the exact count)" if hint else ""))
        else:
            assert item.info is not None
            opts = _opts_for(model, item.modality, options)
            row.usage = tm.count(model, item.info, **opts)
    except (tm.TokenmeterError, ValueError) as exc:
        row.error = exc
        return row
    part = row.usage.parts[0] if row.usage.parts else None
    row.count = part.count if part is not None else None
    if row.count is not None and not row.count.exact and row.count.method and not row.notes:
        row.notes.append(f"estimate: {row.count.method}")
    return row


def price_row(row: Row, book: PriceBook | None, *, entry: str | None,
              at: dt.datetime | None) -> None:
    """Quote ``row`` under ``book`` (as ``entry`` if given); unpriced rows say why."""
    if book is None or row.usage is None:
        return
    row.entry = entry or row.model.id
    try:
        row.quote = book.quote(row.entry, row.usage, at=at)
    except tm.PricingError as exc:  # UnpricedModelError, or a price that needs --at
        row.unpriced = str(exc)


def sum_quotes(quotes: Sequence[Quote]) -> Quote | None:
    """The quotes added as an invoice adds them: lines with the same rate merge and are
    rounded once from their exact sum."""
    if not quotes:
        return None
    total = quotes[0]
    for q in quotes[1:]:
        total = total + q
    return total


# -- output helpers ---------------------------------------------------------------------------

class Progress:
    """A one-line progress bar on stderr, for terminals only."""

    def __init__(self, total: int, stream: IO[str], what: str = "reading") -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.what = what
        self._last = 0.0
        self._width = 0

    def advance(self, label: str) -> None:
        self.done += 1
        now = time.monotonic()
        # Redrawing more than ~20 times a second only costs time; the last step always shows.
        if self.done < self.total and now - self._last < 0.05:
            return
        self._last = now
        frac = self.done / self.total if self.total else 1.0
        bar = "#" * int(frac * 24)
        name = label if len(label) <= 40 else "…" + label[-39:]
        line = f"{self.what} [{bar:<24}] {self.done}/{self.total} {name}"
        pad = max(self._width - len(line), 0)
        self._width = len(line)
        self.stream.write("\r" + line + " " * pad)
        self.stream.flush()

    def close(self) -> None:
        if self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()


def _want_progress(args: argparse.Namespace, n: int) -> bool:
    if getattr(args, "json", False) or getattr(args, "csv", False) or args.no_progress:
        return False
    return n > 1 and sys.stderr.isatty() and sys.stdout.isatty()


def render_table(headers: Sequence[str], rows: Sequence[Sequence[str]],
                 right: Iterable[int] = ()) -> str:
    """Aligned columns; columns listed in ``right`` are right-aligned (numbers)."""
    right_set = set(right)
    widths = [display_width(h) for h in headers]
    for r in rows:
        for i, cell in enumerate(r):
            widths[i] = max(widths[i], display_width(cell))

    def line(cells: Sequence[str]) -> str:
        out = []
        for i, c in enumerate(cells):
            pad = " " * (widths[i] - display_width(c))
            out.append(pad + c if i in right_set else c + pad)
        return "  ".join(out).rstrip()

    return "\n".join([line(headers), *(line(r) for r in rows)])


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes: CJK and other wide characters take two."""
    import unicodedata

    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(ch) else
               2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _fmt_seconds(x: float) -> str:
    return f"{x:.2f} s"


def describe_media(item: Item) -> str:
    """What was read, in a few words (``1280x720, 10.00 s at 25 fps, audio 10.00 s``)."""
    info = item.info
    if info is None:
        return f"{len(item.text or '')} chars" if item.text is not None else ""
    if isinstance(info, tm.ImageInfo):
        s = f"{info.width}x{info.height}"
        if info.format:
            s += f" {info.format}"
        if info.orientation >= 5:
            s += f" (EXIF {info.orientation}: stored {info.height}x{info.width})"
        if info.frames > 1:
            s += f", {info.frames} frames"
        return s
    if isinstance(info, tm.VideoInfo):
        fps = f"{info.fps:.3f}".rstrip("0").rstrip(".")
        s = f"{info.width}x{info.height}, {_fmt_seconds(info.duration)} at {fps} fps"
        if info.rotation:
            s += f", rotated {info.rotation}°"
        if info.audio is not None:
            s += f", audio {_fmt_seconds(info.audio.duration)}"
        return s
    if isinstance(info, tm.AudioInfo):
        return f"{_fmt_seconds(info.duration)}, {info.sample_rate} Hz, {info.channels} ch"
    return ""  # pragma: no cover - MediaInfo is one of the three


def media_dict(item: Item) -> dict[str, Any] | None:
    """The probed description as JSON (every field of the Info but ``source``)."""
    if item.info is not None:
        d = dataclasses.asdict(item.info)
        d.pop("source", None)
        if isinstance(d.get("audio"), dict):
            d["audio"].pop("source", None)
        return dict(d)
    if item.text is not None:
        return {"kind": "text", "chars": len(item.text)}
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def count_dict(c: TokenCount | None) -> dict[str, Any] | None:
    """A :class:`~tokenmeter.TokenCount` as JSON."""
    if c is None:
        return None
    return {
        "tokens": c.tokens,
        "wrapper_tokens": c.wrapper_tokens,
        "encoder_patches": c.encoder_patches,
        "exact": c.exact,
        "rule": c.rule,
        "method": c.method,
        "source": c.source,
        "as_of": c.as_of,
        "resized": None if c.resized is None else list(c.resized),
        "grid": None if c.grid is None else list(c.grid),
        "frames": c.frames,
        "tiles": c.tiles,
        "details": _jsonable(dict(c.details)),
    }


def price_dict(q: Quote | None, entry: str = "") -> dict[str, Any] | None:
    """A quote's headline as JSON: decimal strings, never floats."""
    if q is None:
        return None
    d = q.to_dict()
    return {"book": d["book"], "version": d["version"], "entry": entry or d["model"],
            "currency": d["currency"], "exact": d["exact"], "total": d["total"]}


def _emit_json(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")


def _csv_writer() -> Any:
    import csv

    return csv.writer(sys.stdout, lineterminator="\n")


def _err(message: str) -> None:
    sys.stderr.write(f"tokenmeter: {message}\n")


def _error_name(exc: BaseException) -> str:
    return type(exc).__name__


# -- shared option handling -------------------------------------------------------------------

def _models(args: argparse.Namespace, default: Sequence[str] = (DEFAULT_MODEL,)) -> list[Model]:
    names = args.model or list(default)
    return [tm.get_model(n, profile=args.profile) for n in dict.fromkeys(names)]


def _book(args: argparse.Namespace) -> PriceBook | None:
    if getattr(args, "no_price", False):
        return None
    return tm.load_price_book(args.price_book)


def _book_head(book: PriceBook | None, at: dt.datetime | None) -> str:
    if book is None:
        return "not priced (--no-price)"
    return f"price book {book.id} {book.version_at(at).version} ({book.currency})"


def _exit_for(rows: Sequence[Row], failures: Sequence[Row]) -> int:
    return EXIT_ERROR if failures else EXIT_OK


# -- estimate / count / demo: the row report --------------------------------------------------

def build_report(items: list[Item], models: list[Model], book: PriceBook | None, *,
                 args: argparse.Namespace, price_as: str | None = None) -> list[Row]:
    """Count every item on every model and price each row."""
    options = getattr(args, "option", None) or []
    check_options(models, options)
    rows: list[Row] = []
    for model in models:
        for item in items:
            row = count_item(model, item, exact=args.exact, options=options)
            price_row(row, book, entry=price_as, at=args.at)
            rows.append(row)
    return rows


def _totals(rows: Sequence[Row], models: Sequence[Model]) -> list[dict[str, Any]]:
    out = []
    for model in models:
        mine = [r for r in rows if r.model is model and r.usage is not None]
        priced = [r.quote for r in mine if r.quote is not None]
        unpriced = sum(1 for r in mine if r.quote is None)
        by_mod = dict.fromkeys(("text", "image", "video", "audio"), 0)
        for r in mine:
            assert r.usage is not None
            for k, v in r.usage.by_modality().items():
                by_mod[k] += v
        subtotal = sum_quotes(priced)
        entry = mine[0].entry if mine else ""
        out.append({
            "model": model.id,
            "profile": model.profile,
            "inputs": len(mine),
            "failed": sum(1 for r in rows if r.model is model and r.error is not None),
            "tokens": sum(by_mod.values()),
            "by_modality": by_mod,
            "exact": all(r.usage is not None and r.usage.exact for r in mine),
            "price": price_dict(subtotal, entry) if unpriced == 0 else None,
            "priced_subtotal": price_dict(subtotal, entry),
            "priced_inputs": len(priced),
            "unpriced_inputs": unpriced,
        })
    return out


def _row_status(r: Row) -> str:
    if r.error is not None:
        return "error"
    # "unpriced" only when a book was asked and had no price; --no-price rows are "ok".
    return "unpriced" if r.entry and r.quote is None else "ok"


def row_dict(r: Row) -> dict[str, Any]:
    """One counted row of ``estimate``/``count``/``demo`` JSON (failures go to ``errors``)."""
    return {
        "input": r.item.label,
        "model": r.model.id,
        "profile": r.model.profile,
        "modality": r.item.modality,
        "media": media_dict(r.item),
        "tokens": r.usage.input_tokens if r.usage is not None else None,
        "exact": r.usage.exact if r.usage is not None else None,
        "count": count_dict(r.count),
        "price": price_dict(r.quote, r.entry),
        "status": _row_status(r),
        "unpriced": r.unpriced,
        "notes": list(r.notes),
    }


def report_dict(command: str, rows: Sequence[Row], models: Sequence[Model],
                book: PriceBook | None, args: argparse.Namespace,
                price_as: str | None = None) -> dict[str, Any]:
    """The JSON document of ``estimate``, ``count`` and ``demo``."""
    return {
        "command": command,
        "schema_version": SCHEMA_VERSION,
        "tokenmeter": tm.__version__,
        "models": [{"id": m.id, "profile": m.profile} for m in models],
        "price_book": None if book is None else {
            "id": book.id, "version": book.version_at(args.at).version,
            "currency": book.currency},
        "price_as": price_as,
        "at": None if args.at is None else args.at.isoformat(),
        "rows": [row_dict(r) for r in rows if r.error is None],
        "totals": _totals(rows, models),
        "errors": [{"input": r.item.label, "model": r.model.id, "type": _error_name(r.error),
                    "message": str(r.error)} for r in rows if r.error is not None],
    }


def _csv_rows(rows: Sequence[Row]) -> Iterator[list[Any]]:
    yield list(_CSV_ROW_FIELDS)
    for r in rows:
        media = media_dict(r.item) or {}
        price = price_dict(r.quote, r.entry) or {}
        c = r.count
        message = (str(r.error) if r.error is not None else
                   r.unpriced if r.unpriced is not None else "; ".join(r.notes))
        yield [
            r.item.label, r.model.id, r.model.profile,
            r.item.modality if r.item.error is None else "",
            media.get("width", ""), media.get("height", ""),
            _csv_num(media.get("duration")), _csv_num(media.get("fps")),
            media.get("frames", "") if media.get("kind") == "video" else "",
            media.get("sample_rate", ""), media.get("chars", ""),
            "" if r.usage is None else r.usage.input_tokens,
            "" if c is None else c.wrapper_tokens,
            "" if c is None or c.encoder_patches is None else c.encoder_patches,
            "" if r.usage is None else str(r.usage.exact).lower(),
            "" if c is None else c.rule,
            price.get("book", ""), price.get("entry", ""), price.get("currency", ""),
            price.get("exact", ""), price.get("total", ""),
            _row_status(r), message,
        ]


def _csv_num(x: Any) -> str:
    if x is None or x == "":
        return ""
    return repr(float(x)) if isinstance(x, float) else str(x)


def _price_cell(r: Row) -> str:
    if r.error is not None or not r.entry:  # failed, or not priced at all (--no-price)
        return "-"
    if r.quote is None:
        return "unpriced"
    return str(price_dict(r.quote, r.entry)["exact"])  # type: ignore[index]


def print_report(rows: Sequence[Row], models: Sequence[Model], book: PriceBook | None,
                 args: argparse.Namespace, *, price_as: str | None = None,
                 title: str = "") -> None:
    """The human table of ``estimate``, ``count`` and ``demo``."""
    out = sys.stdout
    many = len(models) > 1
    cur = book.currency if book is not None else ""
    head = title or ", ".join(f"{m.id} [{m.profile}]" for m in models)
    head += f" · {_book_head(book, args.at)}"
    if price_as:
        head += f", priced as {price_as}"
    out.write(head + "\n\n")
    ok = [r for r in rows if r.error is None]
    footnotes: dict[str, int] = {}

    def mark(text: str) -> str:
        n = footnotes.setdefault(text, len(footnotes) + 1)
        return f" [{n}]"

    headers = ["input", *(["model"] if many else []), "modality", "read", "tokens", "count",
               f"price {cur}".rstrip()]
    table = []
    for r in ok:
        assert r.usage is not None
        kind = "exact" if r.usage.exact else "estimate"
        notes = "".join(mark(n) for n in r.notes)
        price = _price_cell(r) + (mark(r.unpriced) if r.unpriced else "")
        table.append([r.item.label, *([r.model.id] if many else []), r.item.modality,
                      describe_media(r.item), str(r.usage.input_tokens), kind + notes, price])
    for t in _totals(rows, models):
        label = f"total ({t['inputs']} input{'s' if t['inputs'] != 1 else ''})"
        if t["price"] is not None:
            price = f"{t['price']['total']} (exact {t['price']['exact']})"
        elif t["priced_subtotal"] is not None:
            price = (f"{t['priced_subtotal']['total']} + {t['unpriced_inputs']} unpriced")
        elif book is None:
            price = "-"
        else:
            price = "unpriced"
        table.append([label, *([t["model"]] if many else []), "", "", str(t["tokens"]),
                      "exact" if t["exact"] else "estimate", price])
    right = {len(headers) - 3, len(headers) - 1}
    out.write(render_table(headers, table, right=right) + "\n")
    if footnotes:
        out.write("\n")
        for text, n in footnotes.items():
            out.write(f"[{n}] {text}\n")
    failed = [r for r in rows if r.error is not None]
    if failed:
        _err(f"{len(failed)} of {len(rows)} counts failed:")
        for r in failed:
            who = f" on {r.model.id}" if many else ""
            err = r.error
            assert err is not None
            sys.stderr.write(f"  {r.item.label}{who}: {_error_name(err)}: {err}\n")


def emit_report(command: str, rows: list[Row], models: list[Model], book: PriceBook | None,
                args: argparse.Namespace, *, price_as: str | None = None,
                extra: dict[str, Any] | None = None, title: str = "") -> int:
    failed = [r for r in rows if r.error is not None]
    if args.json:
        doc = report_dict(command, rows, models, book, args, price_as)
        if extra:
            doc.update(extra)
        _emit_json(doc)
    elif args.csv:
        w = _csv_writer()
        for line in _csv_rows(rows):
            w.writerow(line)
    else:
        print_report(rows, models, book, args, price_as=price_as, title=title)
    if failed and (args.json or args.csv):
        _err(f"{len(failed)} of {len(rows)} counts failed (listed under \"errors\" / "
             "status=error)")
    return _exit_for(rows, failed)


def cmd_estimate(args: argparse.Namespace) -> int:
    """``tokenmeter estimate PATH...``."""
    models = _models(args)
    book = _book(args)
    items = collect_files(args.paths, recursive=args.recursive)
    if not items:
        raise UsageError("no files to estimate (the folders given are empty)")
    progress = Progress(len(items), sys.stderr) if _want_progress(args, len(items)) else None
    try:
        read_items(items, jobs=args.jobs, progress=progress)
    finally:
        if progress is not None:
            progress.close()
    rows = build_report(items, models, book, args=args, price_as=args.price_as)
    return emit_report("estimate", rows, models, book, args, price_as=args.price_as)


def cmd_count(args: argparse.Namespace) -> int:
    """``tokenmeter count --image WxH --video ... --audio ... --text ...``."""
    items: list[Item] = []
    for info in args.image or []:
        items.append(Item(label=info.source, info=info))
    for info in args.video or []:
        items.append(Item(label=info.source, info=info))
    for info in args.audio or []:
        items.append(Item(label=info.source, info=info))
    for text in args.text or []:
        items.append(Item(label=_text_label(text), text=text))
    if not items:
        raise UsageError("nothing to count: give --image, --video, --audio or --text")
    models = _models(args)
    book = _book(args)
    rows = build_report(items, models, book, args=args, price_as=args.price_as)
    return emit_report("count", rows, models, book, args, price_as=args.price_as)


def cmd_demo(args: argparse.Namespace) -> int:
    """``tokenmeter demo``: make the sample set and estimate it."""
    import tempfile

    from ._demo import SAMPLES, make_samples

    price_as = args.price_as
    if price_as is None and not args.model and args.price_book is None:
        price_as = DEMO_PRICE_AS
    models = _models(args)
    book = _book(args)
    with tempfile.TemporaryDirectory(prefix="tokenmeter-demo-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        t0 = time.perf_counter()
        paths = make_samples(folder)
        made = time.perf_counter() - t0
        if not (args.json or args.csv):
            where = (f"in {folder}" if args.keep else
                     "in a temporary folder (--keep DIR keeps them)")
            sys.stderr.write(f"tokenmeter demo: made {len(paths)} sample files {where} "
                             f"in {made:.1f} s\n")
        items = [Item(label=p.name, path=p) for p in paths]
        read_items(items, jobs=1, progress=None)
        rows = build_report(items, models, book, args=args, price_as=price_as)
        extra = {"samples": [{"name": s.name, "kind": s.kind, "what": s.what}
                             for s in SAMPLES]}
        return emit_report("demo", rows, models, book, args, price_as=price_as, extra=extra)


# -- compare ------------------------------------------------------------------------------------

def _default_compare_models(books: Sequence[PriceBook], needs: set[str],
                            at: dt.datetime | None) -> list[str]:
    names: list[str] = []
    for book in books:
        for entry in book.models(at):
            try:
                m = tm.get_model(entry)
            except tm.UnknownModelError:
                continue  # a hosted name the catalog does not count (it is priced only)
            if needs <= set(m.modalities):
                names.append(m.id)
    return list(dict.fromkeys(names))


def cmd_compare(args: argparse.Namespace) -> int:
    """``tokenmeter compare TEXT_OR_PATH... --model A --model B``."""
    items = [resolve_input(a) for a in args.inputs]
    read_items(items, jobs=1, progress=None)
    books = [tm.load_price_book(b) for b in (args.price_book or [None])]
    if not args.model:
        needs = {it.modality for it in items if it.error is None}
        names = _default_compare_models(books, needs, args.at)
        if not names:
            raise UsageError("no priced model takes these inputs; name models with --model")
        args.model = names
    models = _models(args, default=())
    options = args.option or []
    check_options(models, options)
    chars = sum(len(it.text) for it in items if it.text is not None)
    failed_inputs = [it for it in items if it.error is not None]
    for it in failed_inputs:
        _err(f"{it.label}: {_error_name(it.error)}: {it.error}")  # type: ignore[arg-type]
    good = [it for it in items if it.error is None]
    results = []
    for model in models:
        rows = [count_item(model, it, exact=args.exact, options=options) for it in good]
        err = next((r.error for r in rows if r.error is not None), None)
        usage = None
        if err is None and rows:
            usage = sum((r.usage for r in rows if r.usage is not None), tm.Usage())
        notes = list(dict.fromkeys(n for r in rows for n in r.notes))
        priced: list[tuple[PriceBook, Quote]] = []
        unpriced: list[str] = []
        if usage is not None:
            for book in books:
                try:
                    priced.append((book, book.quote(args.price_as or model.id, usage,
                                                    at=args.at)))
                except tm.UnpricedModelError as exc:
                    unpriced.append(str(exc))
                except tm.PricingError as exc:
                    unpriced.append(str(exc))
        if priced:
            for _, q in priced:
                results.append(_compare_row(model, usage, chars, q, None, err, notes))
        else:
            results.append(_compare_row(model, usage, chars, None,
                                        unpriced[0] if unpriced else None, err, notes))
    _ratios(results)
    if args.sort != "input":
        key = (lambda r: (r["tokens"] is None, r["tokens"] or 0)) if args.sort == "tokens" \
            else (lambda r: (r["price"] is None, r["price"]["currency"] if r["price"] else "",
                             Decimal(r["price"]["exact"]) if r["price"] else 0))
        results.sort(key=key)
    failed = bool(failed_inputs) or any(r["error"] is not None for r in results)
    if args.json:
        _emit_json({
            "command": "compare", "schema_version": SCHEMA_VERSION,
            "tokenmeter": tm.__version__,
            "inputs": [{"input": it.label, "modality": it.modality,
                        "media": media_dict(it)} for it in good],
            "price_books": [b.id for b in books],
            "at": None if args.at is None else args.at.isoformat(),
            "rows": results,
            "errors": [{"input": it.label, "model": None, "type": _error_name(it.error),
                        "message": str(it.error)} for it in failed_inputs if it.error],
        })
    elif args.csv:
        w = _csv_writer()
        w.writerow(_CSV_COMPARE_FIELDS)
        for r in results:
            p = r["price"] or {}
            w.writerow([r["model"], r["profile"], _blank(r["tokens"]), r["chars"],
                        _blank(r["chars_per_token"]), _blank(r["token_ratio"]),
                        _blank(r["exact"]), p.get("book", ""), p.get("entry", ""),
                        p.get("currency", ""), p.get("exact", ""), p.get("total", ""),
                        _blank(r["price_ratio"]), r["status"],
                        (r["error"] or {}).get("message") or r["unpriced"] or
                        "; ".join(r["notes"])])
    else:
        _print_compare(results, items, books)
    return EXIT_ERROR if failed else EXIT_OK


def _blank(x: Any) -> Any:
    if x is None:
        return ""
    if isinstance(x, bool):
        return str(x).lower()
    return x


def _compare_row(model: Model, usage: Usage | None, chars: int, quote: Quote | None,
                 unpriced: str | None, err: BaseException | None,
                 notes: list[str]) -> dict[str, Any]:
    tokens = usage.input_tokens if usage is not None else None
    return {
        "model": model.id,
        "profile": model.profile,
        "tokens": tokens,
        "by_modality": usage.by_modality() if usage is not None else None,
        "chars": chars,
        "chars_per_token": round(chars / tokens, 3) if tokens and chars else None,
        "token_ratio": None,
        "exact": usage.exact if usage is not None else None,
        "price": price_dict(quote),
        "price_ratio": None,
        "status": "error" if err is not None else ("unpriced" if quote is None else "ok"),
        "unpriced": unpriced if err is None else None,
        "error": None if err is None else {"type": _error_name(err), "message": str(err)},
        "notes": notes,
    }


def _ratios(rows: list[dict[str, Any]]) -> None:
    counted = [r["tokens"] for r in rows if r["tokens"] is not None]
    fewest = min(counted) if counted else 0
    cheapest: dict[str, Decimal] = {}
    for r in rows:
        if r["tokens"] is not None and fewest:
            r["token_ratio"] = round(r["tokens"] / fewest, 3)
        if r["price"] is not None:
            cur, amt = r["price"]["currency"], Decimal(r["price"]["exact"])
            cheapest[cur] = min(cheapest.get(cur, amt), amt)
    for r in rows:
        if r["price"] is not None:
            low = cheapest[r["price"]["currency"]]
            amt = Decimal(r["price"]["exact"])
            # Ratios to the cheapest in the same currency; prices in other currencies are
            # not converted (no exchange rate is implied).
            r["price_ratio"] = round(float(amt / low), 3) if low else None


def _print_compare(results: Sequence[dict[str, Any]], items: Sequence[Item],
                   books: Sequence[PriceBook]) -> None:
    out = sys.stdout
    what = ", ".join(f"{it.label} ({it.modality})" for it in items if it.error is None)
    out.write(f"{what} · price books {', '.join(b.id for b in books)}\n\n")
    footnotes: dict[str, int] = {}

    def mark(text: str) -> str:
        return f" [{footnotes.setdefault(text, len(footnotes) + 1)}]"

    headers = ["model", "tokens", "chars/token", "x fewest", "count", "price", "x cheapest"]
    table = []
    for r in results:
        if r["error"] is not None:
            table.append([r["model"], "-", "-", "-", "error" + mark(r["error"]["message"]),
                          "-", "-"])
            continue
        p = r["price"]
        price = f"{p['exact']} {p['currency']}" if p else "unpriced" + mark(r["unpriced"] or "")
        kind = ("exact" if r["exact"] else "estimate") + "".join(mark(n) for n in r["notes"])
        table.append([
            r["model"] + (f" ({p['book']})" if p and len(books) > 1 else ""),
            str(r["tokens"]),
            f"{r['chars_per_token']:.2f}" if r["chars_per_token"] else "-",
            f"{r['token_ratio']:.2f}" if r["token_ratio"] else "-",
            kind, price,
            f"{r['price_ratio']:.2f}" if r["price_ratio"] else "-",
        ])
    out.write(render_table(headers, table, right={1, 2, 3, 5, 6}) + "\n")
    if footnotes:
        out.write("\n")
        for text, n in footnotes.items():
            out.write(f"[{n}] {text}\n")


# -- explain ------------------------------------------------------------------------------------

def cmd_explain(args: argparse.Namespace) -> int:
    """``tokenmeter explain --model M INPUT``: the whole derivation in words."""
    item = resolve_input(args.input)
    read_items([item], jobs=1, progress=None)
    if item.error is not None:
        raise item.error
    models = _models(args)
    book = _book(args)
    options = args.option or []
    check_options(models, options)
    docs: list[dict[str, Any]] = []
    status = EXIT_OK
    for model in models:
        row = count_item(model, item, exact=args.exact, options=options)
        if row.error is not None:
            raise row.error
        price_row(row, book, entry=args.price_as, at=args.at)
        assert row.usage is not None
        if args.json:
            docs.append({
                "model": model.id, "profile": model.profile,
                "tokens": row.usage.input_tokens, "exact": row.usage.exact,
                "count": count_dict(row.count),
                "explanation": row.count.explain() if row.count is not None else "",
                "quote": None if row.quote is None else row.quote.to_dict(),
                "price_explanation": None if row.quote is None else row.quote.explain(),
                "unpriced": row.unpriced, "notes": row.notes,
            })
            continue
        out = sys.stdout
        out.write(f"{item.label}: {item.modality}" +
                  (f", {describe_media(item)}" if describe_media(item) else "") + "\n")
        if row.count is not None:
            out.write(row.count.explain() + "\n")
        for n in row.notes:
            out.write(f"  note: {n}\n")
        if row.quote is not None:
            out.write(row.quote.explain() + "\n")
        elif book is not None:
            out.write(f"price: unpriced: {row.unpriced}\n")
        docs.append({})
        if model is not models[-1]:
            out.write("\n")
    if args.json:
        _emit_json({"command": "explain", "schema_version": SCHEMA_VERSION,
                    "tokenmeter": tm.__version__, "input": item.label,
                    "modality": item.modality, "media": media_dict(item),
                    "price_book": None if book is None else book.id,
                    "explanations": docs})
    return status


# -- models / price-books -----------------------------------------------------------------------

def cmd_models(args: argparse.Namespace) -> int:
    """``tokenmeter models``: the catalog, with the packaged books that price each model."""
    books = [tm.load_price_book(b) for b in tm.list_price_books()]
    rows: list[dict[str, Any]] = []
    for mid in tm.list_models():
        m = tm.get_model(mid)
        if args.modality and args.modality not in m.modalities:
            continue
        priced = []
        for b in books:
            try:
                b.price_of(m)
                priced.append(b.id)
            except tm.PricingError:
                pass
        text = ""
        if "text" in m.modalities:
            text = m.tokenizer_name or "estimate"
        rows.append({"id": m.id, "family": m.family, "aliases": list(m.aliases),
                     "modalities": list(m.modalities), "profile": m.profile,
                     "profiles": list(m.profiles), "tokenizer": text or None,
                     "price_books": priced, "description": m.description})
    if args.json:
        _emit_json({"command": "models", "schema_version": SCHEMA_VERSION,
                    "tokenmeter": tm.__version__, "models": rows})
    elif args.csv:
        w = _csv_writer()
        w.writerow(["id", "family", "modalities", "profile", "profiles", "tokenizer",
                    "price_books", "aliases"])
        for r in rows:
            w.writerow([r["id"], r["family"], " ".join(r["modalities"]), r["profile"],
                        " ".join(r["profiles"]), r["tokenizer"] or "",
                        " ".join(r["price_books"]), " ".join(r["aliases"])])
    else:
        table = [[r["id"], ", ".join(r["modalities"]), r["tokenizer"] or "-",
                  ", ".join([r["profile"], *[p for p in r["profiles"] if p != r["profile"]]]),
                  ", ".join(r["price_books"]) or "-"] for r in rows]
        sys.stdout.write(render_table(
            ["model", "inputs", "text", "profiles (default first)", "priced in"], table) + "\n")
    return EXIT_OK


def cmd_price_books(args: argparse.Namespace) -> int:
    """``tokenmeter price-books``: the packaged books and their versions."""
    out: list[dict[str, Any]] = []
    default = tm.load_price_book().id
    for bid in tm.list_price_books():
        b = tm.load_price_book(bid)
        try:
            current: str | None = b.version_at().version
        except tm.PricingError:
            current = None
        out.append({
            "id": b.id, "title": b.title, "currency": b.currency, "rounding": b.rounding,
            "timezone": b.timezone, "default": bid == default, "current_version": current,
            "versions": [{"version": v.version,
                          "effective_from": v.effective_from.isoformat(),
                          "effective_to": None if v.effective_to is None
                          else v.effective_to.isoformat(),
                          "models": sorted(v.models)} for v in b.versions],
        })
    if args.json:
        _emit_json({"command": "price-books", "schema_version": SCHEMA_VERSION,
                    "tokenmeter": tm.__version__, "price_books": out})
    elif args.csv:
        w = _csv_writer()
        w.writerow(["id", "version", "effective_from", "effective_to", "currency", "current",
                    "default", "models"])
        for d in out:
            for v in d["versions"]:
                w.writerow([d["id"], v["version"], v["effective_from"], v["effective_to"] or "",
                            d["currency"], str(v["version"] == d["current_version"]).lower(),
                            str(d["default"]).lower(), len(v["models"])])
    else:
        table = [[d["id"] + (" (default)" if d["default"] else ""), d["currency"],
                  d["current_version"] or "-",
                  str(len(next((v["models"] for v in d["versions"]
                                if v["version"] == d["current_version"]), []))),
                  d["title"]] for d in out]
        sys.stdout.write(render_table(["price book", "currency", "in effect", "models",
                                       "title"], table, right={3}) + "\n")
    return EXIT_OK


# -- plot ---------------------------------------------------------------------------------------

def cmd_plot(args: argparse.Namespace) -> int:
    """``tokenmeter plot --model A --model B --kind image --out FILE.png``."""
    from . import _plot

    if not (args.out or args.json or args.csv):
        raise UsageError("plot needs --out FILE.png (or --json/--csv for the numbers)")
    if not args.model:
        raise UsageError("plot needs at least one --model")
    models = _models(args, default=())
    for m in models:
        if args.kind not in m.modalities:
            raise tm.UnsupportedModalityError(
                f"{m.id} does not take {args.kind} input (it takes {', '.join(m.modalities)}); "
                f"`tokenmeter models` lists the models that do")
    book = None if args.no_price else tm.load_price_book(args.price_book)
    data = _plot.series(models, args.kind, book=book, at=args.at, size=args.size, fps=args.fps,
                        max_seconds=args.max_seconds)
    if args.out:
        try:
            _plot.draw(data, args.out, log=args.log)
        except ImportError as exc:
            raise tm.MissingDependencyError(
                f"tokenmeter plot draws with matplotlib, which is not installed ({exc}); "
                f"install it with: {_PLOT_INSTALL}") from None
    if args.json:
        doc = _plot.to_dict(data)
        doc.update({"command": "plot", "schema_version": SCHEMA_VERSION,
                    "tokenmeter": tm.__version__, "out": args.out})
        _emit_json(doc)
    elif args.csv:
        w = _csv_writer()
        for line in _plot.csv_rows(data):
            w.writerow(line)
    elif args.out:
        sys.stdout.write(f"wrote {args.out}: {data.title}\n")
    return EXIT_OK


# -- the parser ---------------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse calls this for usage errors
        self.print_usage(sys.stderr)
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _common_parents() -> dict[str, _Parser]:
    fmt = _Parser(add_help=False)
    g = fmt.add_mutually_exclusive_group()
    g.add_argument("--json", action="store_true",
                   help="machine-readable JSON on stdout (schema: docs/cli.md)")
    g.add_argument("--csv", action="store_true", help="CSV rows on stdout (docs/cli.md)")

    json_only = _Parser(add_help=False)
    json_only.add_argument("--json", action="store_true",
                           help="machine-readable JSON on stdout (schema: docs/cli.md)")
    json_only.set_defaults(csv=False)

    model = _Parser(add_help=False)
    model.add_argument("-m", "--model", action="append", metavar="MODEL",
                       help="a model id or alias (repeat for several); "
                            f"default: {DEFAULT_MODEL}")
    model.add_argument("--profile", metavar="PROFILE",
                       help="the runtime profile (default: each model's own default)")

    price = _Parser(add_help=False)
    price.add_argument("-b", "--price-book", metavar="BOOK",
                       help="a packaged price book id or a TOML file (default: cn-2025)")
    price.add_argument("--price-as", metavar="ENTRY",
                       help="price the counts under this price-book entry instead of the "
                            "model's own id (e.g. an open model's hosted name)")
    price.add_argument("--at", type=parse_at, metavar="TIME",
                       help="when the request is made (ISO 8601 with offset); picks the book "
                            "version and any time-of-day price")
    price.add_argument("--no-price", action="store_true", help="count only, do not price")

    counting = _Parser(add_help=False)
    counting.add_argument("--exact", action="store_true",
                          help="refuse estimates: text on a model whose vocabulary is not "
                               "installed fails instead of being estimated")
    counting.add_argument("-o", "--option", action="append", type=parse_option,
                          metavar="KEY=VALUE",
                          help="a rule option (detail=low, video.sample_fps=1); repeatable")
    return {"fmt": fmt, "json": json_only, "model": model, "price": price,
            "counting": counting}


def build_parser() -> argparse.ArgumentParser:
    """The ``tokenmeter`` argument parser (used by :func:`main` and the docs)."""
    p = _common_parents()
    parser = _Parser(
        prog="tokenmeter",
        description="Exact token counts and exact prices for text, images, video and audio.",
        epilog="Exit status: 0 all counted; 1 an error or some inputs failed; 2 usage error. "
               "Docs: docs/cli.md",
    )
    parser.add_argument("--version", action="version",
                        version=f"%(prog)s {tm.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    est = sub.add_parser(
        "estimate", parents=[p["model"], p["price"], p["counting"], p["fmt"]],
        help="token counts and prices for files and folders",
        description="One row per file and model: what was read, tokens, exact or estimate, "
                    "price; then a total. Text files count as text. Files that fail are "
                    "listed with their reason (exit status 1) while the rest still count.")
    est.add_argument("paths", nargs="+", metavar="PATH", help="files and folders")
    est.add_argument("-r", "--recursive", action="store_true", help="descend into subfolders")
    est.add_argument("-j", "--jobs", type=parse_jobs, metavar="N",
                     help=f"probe on N processes (default: 1 below {_POOL_FROM} files, else "
                          "one per CPU)")
    est.add_argument("--no-progress", action="store_true",
                     help="no progress bar (it shows only on a terminal anyway)")
    est.set_defaults(func=cmd_estimate)

    cmp_ = sub.add_parser(
        "compare", parents=[p["model"], p["counting"], p["fmt"]],
        help="the same inputs on several models and price books, side by side",
        description="Counts the inputs (as one request) on every model and prices them "
                    "under every price book that prices the model: tokens, chars per token, "
                    "ratio to the fewest tokens, price, ratio to the cheapest (same "
                    "currency). Without --model: every model the price books price that "
                    "takes the inputs.")
    cmp_.add_argument("inputs", nargs="+", metavar="TEXT_OR_PATH",
                      help="a file, '-' for stdin, image:WxH / video:WxH@FPS:DUR / audio:DUR, "
                           "text:… or literal text")
    cmp_.add_argument("-b", "--price-book", action="append", metavar="BOOK",
                      help="a price book (repeat for several; default: cn-2025)")
    cmp_.add_argument("--price-as", metavar="ENTRY", help=argparse.SUPPRESS)
    cmp_.add_argument("--at", type=parse_at, metavar="TIME",
                      help="when the request is made (ISO 8601 with offset)")
    cmp_.add_argument("--sort", choices=("input", "tokens", "price"), default="input",
                      help="row order (default: as given)")
    cmp_.set_defaults(func=cmd_compare)

    cnt = sub.add_parser(
        "count", parents=[p["model"], p["price"], p["counting"], p["fmt"]],
        help="count without files, for planning",
        description="Counts media described by their numbers, and literal text.")
    cnt.add_argument("--image", action="append", type=parse_image, metavar="WxH",
                     help="an image, e.g. 1280x720 (repeatable)")
    cnt.add_argument("--video", action="append", type=parse_video, metavar="WxH@FPS:DUR",
                     help="a video, e.g. 1280x720@30:10s, 1920x1080@25:300f, "
                          "1280x720@30:1m+audio (repeatable)")
    cnt.add_argument("--audio", action="append", type=parse_audio, metavar="DURATION",
                     help="audio, e.g. 30s or 1m30s (repeatable)")
    cnt.add_argument("--text", action="append", metavar="TEXT", help="text (repeatable)")
    cnt.set_defaults(func=cmd_count)

    exp = sub.add_parser(
        "explain", parents=[p["model"], p["price"], p["counting"], p["json"]],
        help="the whole derivation of one input's count and price, in words")
    exp.add_argument("input", metavar="INPUT",
                     help="a file, image:WxH, video:WxH@FPS:DUR, audio:DUR, text:… or text")
    exp.set_defaults(func=cmd_explain)

    mod = sub.add_parser("models", parents=[p["fmt"]], help="the model catalog")
    mod.add_argument("--modality", choices=("text", "image", "video", "audio"),
                     help="only models that take this input")
    mod.set_defaults(func=cmd_models)

    pb = sub.add_parser("price-books", parents=[p["fmt"]], help="the packaged price books")
    pb.set_defaults(func=cmd_price_books)

    demo = sub.add_parser(
        "demo", parents=[p["model"], p["price"], p["counting"], p["fmt"]],
        help="make sample media in a temporary folder and estimate it",
        description="Writes a 10 s 720p video with a soundtrack, three images (one "
                    "EXIF-rotated), a WAV clip and an English and a Chinese text, then runs "
                    f"`estimate` on them with {DEFAULT_MODEL} and the default price book.")
    demo.add_argument("--keep", metavar="DIR", help="write the samples into DIR and keep them")
    demo.set_defaults(func=cmd_demo, no_progress=True)

    plot = sub.add_parser(
        "plot", parents=[p["fmt"]],
        help="tokens (and price) against image size, video or audio length, per model",
        description=f"Draws a PNG with matplotlib ({_PLOT_INSTALL}). --json/--csv print "
                    "the plotted numbers.")
    plot.add_argument("-m", "--model", action="append", metavar="MODEL",
                      help="a model (repeat for several)")
    plot.add_argument("--profile", metavar="PROFILE", help="the runtime profile")
    plot.add_argument("--kind", required=True, choices=_MEDIA_KINDS)
    plot.add_argument("--out", metavar="FILE.png", help="where to write the picture")
    plot.add_argument("-b", "--price-book", metavar="BOOK", help="price book (default: cn-2025)")
    plot.add_argument("--no-price", action="store_true", help="tokens only")
    plot.add_argument("--at", type=parse_at, metavar="TIME", help=argparse.SUPPRESS)
    plot.add_argument("--size", type=parse_size, default=(1280, 720), metavar="WxH",
                      help="video frame size (default 1280x720)")
    plot.add_argument("--fps", type=_fps_arg, default=30.0, help="video frame rate (default 30)")
    plot.add_argument("--max-seconds", type=parse_duration, default=None, metavar="DURATION",
                      help="longest video/audio on the x axis (default 10m video, 10m audio)")
    plot.add_argument("--log", action="store_true", help="logarithmic axes")
    plot.set_defaults(func=cmd_plot)
    return parser


def _fps_arg(text: str) -> float:
    return _parse_fps(text)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 error, 2 usage)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, and usage errors
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "command", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.func(args))
    except UsageError as exc:
        sys.stderr.write(f"tokenmeter {args.command}: error: {exc}\n")
        return EXIT_USAGE
    except tm.TokenmeterError as exc:
        _err(f"error: {exc}")
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`tokenmeter models | head`): stop quietly, as a filter does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
