"""Dask: :func:`tokenmeter.batch.price_table` as the body of ``map_partitions``.

>>> import dask.dataframe as dd
>>> from tokenmeter.integrations.dask import meter_dataframe, collect_meter
>>> priced = meter_dataframe(ddf, book="cn-2025")      # lazy; .compute() runs it
>>> meter = collect_meter(ddf)                          # a merged tokenmeter.Meter

Partitions are pandas DataFrames; each comes back with the output columns of
:func:`~tokenmeter.batch.count_table` (and of ``price_table`` when a book is given),
Arrow-backed (``int64[pyarrow]``, ``decimal128(38, 18)[pyarrow]`` for money).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import ShippedBook, apply, merge_bytes, meter_bytes

if TYPE_CHECKING:
    from ..meter import Meter
    from ..pricing import PriceBook

__all__ = ["collect_meter", "meter_dataframe"]

Options = Mapping[tuple[str, str], Mapping[str, Any]]


def meter_dataframe(ddf: Any, book: PriceBook | str | os.PathLike[str] | None = None, *,
                    strict: bool = False, estimate: bool = False,
                    options: Options | None = None) -> Any:
    """Count (and, with a book, price) every row of a Dask DataFrame, lazily.

    Args:
        ddf: a ``dask.dataframe.DataFrame`` with the columns of
            :mod:`tokenmeter.batch` (``timestamp`` timezone-aware).
        book: a price book, a packaged id or a TOML path; ``None`` counts only.
        strict: raise on the first row that cannot be counted or priced (as
            :func:`tokenmeter.batch.price_table`).
        estimate: estimate text even where the exact vocabulary is installed.
        options: per-call rule options by ``(model, modality)``, as
            :func:`tokenmeter.batch.count_table` takes them.

    Returns:
        A Dask DataFrame: the input's columns plus the output columns, same partitions.
    """
    shipped = ShippedBook.of(book)
    # The output schema is what the function returns for the empty meta frame.
    meta = apply(ddf._meta, shipped, strict, estimate, options)
    return ddf.map_partitions(apply, shipped, strict, estimate, options, meta=meta)


def collect_meter(ddf: Any, *, granularity: str = "month", timezone: str = "UTC",
                  dedupe: bool = True, estimate: bool = False,
                  options: Options | None = None, account: str = "",
                  split_every: int = 8) -> Meter:
    """Meter every row of a Dask DataFrame into one :class:`~tokenmeter.Meter`.

    Each partition is counted and recorded into its own meter; the serialized partial
    meters are merged in a tree of fan-in ``split_every`` (the merge is associative and
    commutative, so the shape of the tree does not matter). Rows need ``timestamp``
    and, when de-duplicating, ``event_id``; ``account`` is a column or the default.

    Raises:
        InvalidInputError: (from the workers) a row that cannot be counted or has no
            timestamp; rows are never skipped. Filter on ``error`` first to meter only
            the countable rows.
    """
    from dask.base import compute
    from dask.delayed import delayed

    from ..meter import Meter

    settings = (granularity, timezone, dedupe)
    Meter(granularity=granularity, timezone=timezone, dedupe=dedupe)  # check settings here
    parts = [delayed(meter_bytes)(p, settings, estimate, options, account)
             for p in ddf.to_delayed()]
    if not parts:
        return Meter(granularity=granularity, timezone=timezone, dedupe=dedupe)
    while len(parts) > 1:
        parts = [delayed(merge_bytes)(*parts[i:i + split_every])
                 for i in range(0, len(parts), split_every)]
    (data,) = compute(parts[0])  # type: ignore[no-untyped-call]
    return Meter.from_bytes(data)
