"""Run :mod:`tokenmeter.batch` and :class:`tokenmeter.Meter` on an engine.

* :mod:`tokenmeter.integrations.dask` — ``meter_dataframe(ddf, book=...)``: the batch
  function is the body of ``map_partitions``; ``collect_meter(ddf)`` meters each
  partition and merges the partial meters in a tree.
* :mod:`tokenmeter.integrations.spark` — the same over ``mapInArrow``.

Each submodule imports its engine; this package imports nothing heavy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import os

    from ..pricing import PriceBook

__all__ = ["ShippedBook"]


@dataclass(frozen=True, slots=True)
class ShippedBook:
    """A price book made ready to travel to worker processes.

    A book loaded with :func:`tokenmeter.load_price_book` resolves model names through the
    model catalog, which holds locks and does not pickle; the book travels without its
    resolver and gets the catalog's back on the worker. (A custom resolver is replaced by
    the catalog's.)
    """

    book: PriceBook | None
    resolve: bool

    @classmethod
    def of(cls, book: PriceBook | str | os.PathLike[str] | None) -> ShippedBook:
        """Wrap ``book`` (a book, a packaged id or TOML path, or ``None`` to count only)."""
        from .. import load_price_book
        from ..pricing import PriceBook

        if book is None:
            return cls(None, False)
        if not isinstance(book, PriceBook):
            book = load_price_book(book)
        return cls(book.with_resolver(None), book.resolver is not None)

    def get(self) -> PriceBook | None:
        """The book, as the caller had it (catalog resolver restored)."""
        if self.book is None or not self.resolve:
            return self.book
        from .._catalog import catalog

        return self.book.with_resolver(catalog.resolve)


def apply(table: Any, shipped: ShippedBook, strict: bool, estimate: bool,
          options: Any) -> Any:
    """The per-partition body: ``price_table`` with a book, ``count_table`` without."""
    from ..batch import count_table, price_table

    book = shipped.get()
    if book is None:
        return count_table(table, strict=strict, estimate=estimate, options=options)
    return price_table(table, book, strict=strict, estimate=estimate, options=options)


def meter_bytes(table: Any, settings: tuple[str, str, bool], estimate: bool,
                options: Any, account: str) -> bytes:
    """Count ``table`` and record it into a fresh meter; the meter's bytes."""
    from ..batch import count_table
    from ..meter import Meter

    granularity, timezone, dedupe = settings
    meter = Meter(granularity=granularity, timezone=timezone, dedupe=dedupe)
    meter.record_table(count_table(table, estimate=estimate, options=options),
                       account=account)
    return meter.to_bytes()


def merge_bytes(*parts: bytes) -> bytes:
    """Merge serialized meters into one serialized meter."""
    from ..meter import Meter

    return Meter.merge_all(Meter.from_bytes(p) for p in parts).to_bytes()
