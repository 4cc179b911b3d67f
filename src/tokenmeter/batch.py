"""Count and price whole tables of usage rows at once.

>>> import pyarrow as pa
>>> from tokenmeter.batch import count_table
>>> t = pa.table({"model": ["qwen2.5-vl-7b-instruct"] * 2, "modality": ["image", "image"],
...               "width": [1280, 640], "height": [720, 480]})
>>> count_table(t).column("tokens").to_pylist()
[1198, 394]

Input columns (any may be absent or null where a row has no use for it, except ``model``
and ``modality``):

============== ============================================================================
``model``       model id, alias or catalog name (string)
``modality``    ``text``, ``image``, ``video`` or ``audio``
``width``       pixels (integer; an integral float from a pandas column with gaps is fine)
``height``      pixels
``duration``    seconds (number) — audio, and video unless ``frames`` is given
``fps``         frames per second of the source video
``frames``      the source video's frame count (instead of, or with, ``duration``)
``text``        the text itself (string)
``reported_tokens`` the provider's own token count; when present it is the row's count
                (exact; wrapper tokens unknown) and nothing is recounted
``direction``   ``input`` (default), ``output``, ``cached`` or ``cache_write``
``timestamp``   when the request was made: a timestamp *with a time zone* (prices only)
============== ============================================================================

Output columns, added after the input's own (which are all kept):

* ``tokens`` (int64), ``wrapper_tokens`` (int64; null for ``reported_tokens`` rows),
  ``exact`` (bool) and ``error`` (string: ``"ErrorClass: message"``, null when fine);
  the numbers are null on a row that cannot be counted. A row that counts but cannot be
  priced (:func:`price_table`: an unpriced model, no book version in effect…) keeps
  them; its price columns are null and ``error`` holds the pricing error.
* from :func:`price_table`: ``amount`` — the row's exact, unrounded price as a
  ``decimal128(38, 18)`` (``Decimal`` objects in a dict), equal to ``Quote.exact`` —
  ``amount_rounded`` — what the row's own quote says is owed, each line rounded once
  with the book's mode (``Quote.total``) — and ``currency`` (ISO 4217). Money is never
  a float; an amount that does not fit the column is a row error, never rounded.

Every row is counted exactly as the scalar API counts it (``Model.count_image`` and
friends; rows are grouped by model and modality and sent through the same rule
evaluation in arrays), and priced as ``PriceBook.quote(model, usage, at=timestamp)``
with the usage :mod:`tokenmeter._batch.usage` defines (one item per row; per-second and
per-item prices used where the book has them). Results come back in the input's row
order, in a container of the input's kind.

Invalid rows are never dropped: each gets its error message (the scalar API's own) in
``error``; with ``strict=True`` the first bad row raises, naming the row.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import MissingDependencyError

if TYPE_CHECKING:
    from .pricing import PriceBook

__all__ = ["INPUT_COLUMNS", "OUTPUT_COLUMNS", "PRICE_COLUMNS", "count_table", "price_table"]

#: Columns read from the input table.
INPUT_COLUMNS = ("model", "modality", "width", "height", "duration", "fps", "frames", "text",
                 "reported_tokens", "direction", "timestamp")
#: Columns :func:`count_table` adds.
OUTPUT_COLUMNS = ("tokens", "wrapper_tokens", "exact", "error")
#: Further columns :func:`price_table` adds.
PRICE_COLUMNS = ("amount", "amount_rounded", "currency")

Options = Mapping[tuple[str, str], Mapping[str, Any]]


def _need_arrow() -> None:
    try:
        import pyarrow  # type: ignore[import-untyped]  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(
            "tokenmeter.batch needs pyarrow: pip install 'tokenmeter[batch]'") from exc


def _run(table: Any, book: PriceBook | None, *, strict: bool, estimate: bool,
         options: Options | None) -> Any:
    _need_arrow()
    import pyarrow as pa

    from ._batch.count import Errors, count_rows, parse
    from ._batch.frame import column, read, write

    outputs = OUTPUT_COLUMNS + (PRICE_COLUMNS if book is not None else ())
    frame = read(table, outputs)
    errors = Errors(frame.n)
    counts = count_rows(parse(frame, errors), errors, estimate=estimate, options=options)
    # The count columns follow the count: a row that counts but cannot be priced (an
    # unpriced model, no book version in effect…) keeps its tokens; only the price
    # columns are null there, and the pricing error is in ``error``.
    bad = ~errors.ok
    priced = {}
    if book is not None:
        from ._batch.price import price_rows

        priced = price_rows(counts, book, frame.columns.get("timestamp"))
    if strict:
        errors.raise_first()
    counted = ~bad
    cols: dict[str, pa.Array] = {
        "tokens": column(counts.tokens, counted),
        "wrapper_tokens": column(counts.wrapper, counts.wrapper_ok),
        "exact": column(counts.exact, counted),
        "error": errors.column(),
    }
    cols.update(priced)
    return write(frame, cols)


def count_table(table: Any, *, strict: bool = False, estimate: bool = False,
                options: Options | None = None) -> Any:
    """Token counts for every row of a table.

    Args:
        table: a pyarrow ``Table`` or ``RecordBatch``, a pandas or Polars ``DataFrame``,
            or a dict of numpy arrays (or lists), with the columns in the module docs.
        strict: raise on the first row that cannot be counted instead of reporting it in
            the ``error`` column.
        estimate: count text with the calibrated estimator even where the exact
            vocabulary is installed (as ``Model.count_text(..., estimate=True)``).
        options: per-call rule options by ``(model, modality)``, e.g.
            ``{("gpt-4o", "image"): {"detail": "low"}}`` (the model as written in the
            table, or its canonical id).

    Returns:
        The same kind of container with ``tokens``, ``wrapper_tokens``, ``exact`` and
        ``error`` added, rows in the input's order.

    Raises:
        InvalidInputError: the table is malformed as a whole (no ``model`` column, a
            column of the wrong type, a naive ``timestamp``), or, with ``strict``, the
            first bad row (its own error class, message prefixed with ``row N:``).
        MissingDependencyError: pyarrow is not installed.
    """
    return _run(table, None, strict=strict, estimate=estimate, options=options)


def price_table(table: Any, book: PriceBook | str | os.PathLike[str] | None = None, *,
                strict: bool = False, estimate: bool = False,
                options: Options | None = None) -> Any:
    """Token counts and exact prices for every row of a table.

    Each row is priced as one request: ``book.quote(model, usage, at=timestamp)``.
    Period pricing (graduated tiers over a month) is :meth:`tokenmeter.Meter.quote`.

    Args:
        table: as :func:`count_table`; a ``timestamp`` column picks each row's book
            version and time-of-day window (null: the version in effect now).
        book: a :class:`~tokenmeter.PriceBook`, a packaged book's id or a TOML path;
            ``None`` is the default book (``cn-2025``).
        strict, estimate, options: as :func:`count_table`.

    Returns:
        The container with the count columns plus ``amount`` (exact decimal),
        ``amount_rounded`` and ``currency``.

    Raises:
        As :func:`count_table`; pricing failures (an unpriced model or modality, no book
        version at a timestamp…) are row errors, or raise with ``strict``. Such a row
        keeps its ``tokens``, ``wrapper_tokens`` and ``exact``; its ``amount``,
        ``amount_rounded`` and ``currency`` are null.
    """
    from . import load_price_book
    from .pricing import PriceBook

    if not isinstance(book, PriceBook):
        book = load_price_book(book)
    return _run(table, book, strict=strict, estimate=estimate, options=options)
