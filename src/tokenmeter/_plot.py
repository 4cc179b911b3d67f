"""Tokens (and price) against image size, video length or audio length, per model.

:func:`series` computes the numbers with the public vectorized API
(``Model.image_tokens``/``video_tokens``/``audio_tokens``) and prices each point with
``PriceBook.quote``; :func:`draw` puts them on one chart with matplotlib (the ``plot``
extra, imported only there). ``tokenmeter plot`` and ``docs/scripts/gen_plots.py`` both
call these, so the pictures in the docs are the ones users get.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import tokenmeter as tm

if TYPE_CHECKING:
    from tokenmeter import Model, PriceBook

__all__ = ["DOC_MODELS", "PlotData", "Series", "csv_rows", "draw", "series", "to_dict"]

#: The models the docs' plots compare, per kind.
DOC_MODELS: dict[str, tuple[str, ...]] = {
    "image": ("qwen2.5-vl-72b-instruct", "gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash",
              "llama-3.2-11b-vision-instruct", "pixtral-12b"),
    "video": ("qwen2.5-vl-72b-instruct", "qwen3-vl-8b-instruct", "gemini-2.5-flash",
              "internvl2.5-8b"),
    "audio": ("qwen2-audio-7b-instruct", "qwen2.5-omni-7b", "qwen3-omni-30b-a3b-instruct",
              "gemini-2.5-flash", "gpt-4o"),
}

#: Image widths on the x axis (16:9 images from a thumbnail to 4K).
_WIDTHS = tuple(range(224, 3841, 64))
_DEFAULT_SECONDS = {"video": 600.0, "audio": 600.0}


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    """One model's line.

    Attributes:
        model: model id.
        profile: runtime profile.
        tokens: tokens at each x.
        exact: whether every count reproduces the model's reference code.
        prices: the exact price at each x, as decimal strings, or ``None`` if unpriced.
        currency: the prices' currency, or ``None``.
        unpriced: why there is no price, or ``None``.
    """

    model: str
    profile: str
    tokens: tuple[int, ...]
    exact: bool
    prices: tuple[str, ...] | None = None
    currency: str | None = None
    unpriced: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlotData:
    """Everything a chart shows.

    Attributes:
        kind: ``"image"``, ``"video"`` or ``"audio"``.
        x: the x values (image width in px, or seconds).
        x_label: the x axis title.
        title: the chart title.
        inputs: what each x stands for, e.g. ``"1280x720"`` or ``"1280x720@30 fps, 10 s"``.
        series: one line per model.
        book: the price book id, or ``None``.
    """

    kind: str
    x: tuple[float, ...]
    x_label: str
    title: str
    inputs: tuple[str, ...]
    series: tuple[Series, ...]
    book: str | None = None


def _seconds(max_seconds: float | None, kind: str) -> list[float]:
    top = float(max_seconds or _DEFAULT_SECONDS[kind])
    if top <= 0:
        raise tm.InvalidInputError(f"max_seconds must be > 0, got {max_seconds!r}")
    n = 60
    # Whole seconds where the range allows, so each x is a length a user would try.
    pts = sorted({max(round(top * i / n, 2), 0.5) for i in range(1, n + 1)})
    return pts


def series(models: Sequence[Model], kind: str, *, book: PriceBook | None = None,
           at: dt.datetime | None = None, size: tuple[int, int] = (1280, 720),
           fps: float = 30.0, max_seconds: float | None = None) -> PlotData:
    """The numbers of a chart: tokens (and price) for each model at each x.

    Args:
        models: the models to compare; each must take ``kind`` input.
        kind: ``"image"`` (x = width of a 16:9 image), ``"video"`` (x = seconds of
            ``size`` video at ``fps``) or ``"audio"`` (x = seconds).
        book: price each point under this book (``None``: tokens only).
        at: the request time for the book.
        size: the video frame size (width, height).
        fps: the video frame rate.
        max_seconds: the longest video or audio (default 600 s).

    Raises:
        UnsupportedModalityError: a model does not take ``kind`` input.
        InvalidInputError: an unknown kind or a bad range.
    """
    import numpy as np

    if kind not in ("image", "video", "audio"):
        raise tm.InvalidInputError(f"kind must be image, video or audio, got {kind!r}")
    if kind == "image":
        widths = np.array(_WIDTHS, dtype=np.int64)
        heights = np.maximum(np.rint(widths * 9 / 16).astype(np.int64), 1)
        xs = [float(w) for w in widths]
        inputs = [f"{w}x{h}" for w, h in zip(widths.tolist(), heights.tolist(), strict=True)]
        x_label = "image width, px (16:9 images)"
        title = "Tokens per image"
    else:
        secs = _seconds(max_seconds, kind)
        xs = secs
        if kind == "video":
            w, h = size
            inputs = [f"{w}x{h}@{fps:g} fps, {s:g} s" for s in secs]
            x_label = f"video length, s ({w}x{h} at {fps:g} fps)"
            title = f"Tokens per {w}x{h} video"
        else:
            inputs = [f"{s:g} s" for s in secs]
            x_label = "audio length, s"
            title = "Tokens per audio clip"
    out: list[Series] = []
    for m in models:
        if kind == "image":
            toks = m.image_tokens(widths, heights)
        elif kind == "video":
            d = np.asarray(xs, dtype=np.float64)
            toks = m.video_tokens(np.full(d.shape, size[0]), np.full(d.shape, size[1]), d, fps)
        else:
            toks = m.audio_tokens(np.asarray(xs, dtype=np.float64))
        tokens = tuple(int(t) for t in np.asarray(toks).ravel())
        exact = _exact(m, kind, xs, size, fps)
        prices, currency, unpriced = _prices(m, kind, tokens, xs, book, at)
        out.append(Series(model=m.id, profile=m.profile, tokens=tokens, exact=exact,
                          prices=prices, currency=currency, unpriced=unpriced))
    return PlotData(kind=kind, x=tuple(xs), x_label=x_label, title=title,
                    inputs=tuple(inputs), series=tuple(out),
                    book=None if book is None else book.id)


def _exact(m: Model, kind: str, xs: Sequence[float], size: tuple[int, int], fps: float) -> bool:
    # Exactness is a property of the rule, not of the size: one scalar count tells it.
    if kind == "image":
        return m.count_image(int(xs[0]), max(round(xs[0] * 9 / 16), 1)).exact
    if kind == "video":
        return m.count_video(size[0], size[1], xs[-1], fps).exact
    return m.count_audio(xs[-1]).exact


def _prices(m: Model, kind: str, tokens: Sequence[int], xs: Sequence[float],
            book: PriceBook | None, at: dt.datetime | None
            ) -> tuple[tuple[str, ...] | None, str | None, str | None]:
    if book is None:
        return None, None, None
    prices: list[str] = []
    currency = None
    for t, x in zip(tokens, xs, strict=True):
        fields: dict[str, Any] = {kind: t}
        # The same usage tm.count builds for a file of this length (per-second prices).
        if kind == "video":
            fields["video_seconds"] = Decimal(repr(x))
        elif kind == "audio":
            fields["audio_seconds"] = Decimal(repr(x))
        try:
            q = book.quote(m, tm.Usage(**fields), at=at)
        except tm.PricingError as exc:
            return None, None, str(exc)
        d = q.to_dict()
        prices.append(d["exact"])
        currency = d["currency"]
    return tuple(prices), currency, None


def to_dict(data: PlotData) -> dict[str, Any]:
    """JSON-safe: prices are decimal strings."""
    return {
        "kind": data.kind, "x": list(data.x), "x_label": data.x_label, "title": data.title,
        "inputs": list(data.inputs), "price_book": data.book,
        "series": [{"model": s.model, "profile": s.profile, "tokens": list(s.tokens),
                    "exact": s.exact, "prices": None if s.prices is None else list(s.prices),
                    "currency": s.currency, "unpriced": s.unpriced} for s in data.series],
    }


def csv_rows(data: PlotData) -> Iterator[list[Any]]:
    """One CSV row per model and x: ``model, profile, kind, x, input, tokens, currency, price``."""
    yield ["model", "profile", "kind", "x", "input", "tokens", "exact", "currency", "price"]
    for s in data.series:
        for i, x in enumerate(data.x):
            yield [s.model, s.profile, data.kind, repr(x), data.inputs[i], s.tokens[i],
                   str(s.exact).lower(), s.currency or "",
                   "" if s.prices is None else s.prices[i]]


def draw(data: PlotData, out: str | Path, *, log: bool = False) -> Path:
    """Draw ``data`` into a PNG (or any format matplotlib infers from ``out``'s suffix).

    Tokens on top; below them the price of each priced model, in its currency. Dashed
    lines are estimates (a rule that does not reproduce the model's own code).

    Raises:
        ImportError: matplotlib is not installed (``pip install 'tokenmeter[plot]'``).
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: never open a window, work without a display
    import matplotlib.pyplot as plt

    priced = [s for s in data.series if s.prices is not None]
    rows = 2 if priced else 1
    fig, axes = plt.subplots(rows, 1, figsize=(8.0, 4.2 * rows), sharex=True, squeeze=False)
    ax = axes[0][0]
    for s in data.series:
        ax.plot(data.x, s.tokens, label=s.model + ("" if s.exact else " (estimate)"),
                linestyle="-" if s.exact else "--")
    ax.set_ylabel("tokens")
    ax.set_title(data.title)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    if priced:
        pax = axes[1][0]
        for s in priced:
            assert s.prices is not None
            pax.plot(data.x, [float(Decimal(p)) for p in s.prices],
                     label=f"{s.model} ({s.currency})")
        currencies = sorted({s.currency or "" for s in priced})
        pax.set_ylabel(f"price, {'/'.join(currencies)} (price book {data.book})")
        pax.grid(True, alpha=0.3)
        pax.legend(fontsize="small")
        unpriced = [s.model for s in data.series if s.prices is None]
        if unpriced:
            pax.set_title(f"unpriced in {data.book}: {', '.join(unpriced)}", fontsize="small")
    axes[-1][0].set_xlabel(data.x_label)
    if log:
        for row in axes:
            row[0].set_xscale("log")
            row[0].set_yscale("log")
    fig.tight_layout()
    path = Path(out)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
