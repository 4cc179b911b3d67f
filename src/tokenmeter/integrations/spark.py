"""Spark: :func:`tokenmeter.batch.price_table` as the body of ``mapInArrow``.

>>> from tokenmeter.integrations.spark import meter_dataframe, collect_meter
>>> priced = meter_dataframe(sdf, book="cn-2025")   # a lazy Spark DataFrame
>>> meter = collect_meter(sdf)                       # a merged tokenmeter.Meter

Each Arrow batch Spark hands to Python is counted and priced as it comes; the output
columns are ``tokens``/``wrapper_tokens`` (``bigint``), ``exact`` (``boolean``),
``error``/``currency`` (``string``) and ``amount``/``amount_rounded``
(``decimal(38,18)``, exact). Spark's Python workers must run an interpreter that has
tokenmeter installed: set ``PYSPARK_PYTHON`` (for example to ``sys.executable``).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from . import ShippedBook, apply, meter_bytes

if TYPE_CHECKING:
    from ..meter import Meter
    from ..pricing import PriceBook

__all__ = ["collect_meter", "meter_dataframe", "output_schema"]

Options = Mapping[tuple[str, str], Mapping[str, Any]]


def output_schema(schema: Any, *, priced: bool) -> Any:
    """The Spark schema of :func:`meter_dataframe`'s result for an input ``schema``."""
    from pyspark.sql.types import (
        BooleanType,
        DecimalType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    fields = [*schema.fields,
              StructField("tokens", LongType()), StructField("wrapper_tokens", LongType()),
              StructField("exact", BooleanType()), StructField("error", StringType())]
    if priced:
        fields += [StructField("amount", DecimalType(38, 18)),
                   StructField("amount_rounded", DecimalType(38, 18)),
                   StructField("currency", StringType())]
    return StructType(fields)


def _map_in_arrow(sdf: Any, func: Any, schema: Any) -> Any:
    # PySpark 4.3 checks its pandas version when building any Arrow UDF and warns on
    # pandas >= 3 (FutureWarning) although mapInArrow never touches pandas; that warning
    # is silenced here, and only here, so a -W error run does not fail on it.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                                category=FutureWarning)
        return sdf.mapInArrow(func, schema)


def meter_dataframe(sdf: Any, book: PriceBook | str | os.PathLike[str] | None = None, *,
                    strict: bool = False, estimate: bool = False,
                    options: Options | None = None) -> Any:
    """Count (and, with a book, price) every row of a Spark DataFrame, lazily.

    Args:
        sdf: a ``pyspark.sql.DataFrame`` with the columns of :mod:`tokenmeter.batch`.
        book: a price book, a packaged id or a TOML path; ``None`` counts only.
        strict: raise on the first row that cannot be counted or priced (as
            :func:`tokenmeter.batch.price_table`).
        estimate: estimate text even where the exact vocabulary is installed.
        options: per-call rule options by ``(model, modality)``, as
            :func:`tokenmeter.batch.count_table` takes them.

    Returns:
        A Spark DataFrame: the input's columns plus :func:`output_schema`'s.
    """
    shipped = ShippedBook.of(book)
    schema = output_schema(sdf.schema, priced=shipped.book is not None)
    names = [f.name for f in schema.fields]

    def body(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa  # type: ignore[import-untyped]

        arrow_schema = None
        for batch in batches:
            out = apply(batch, shipped, strict, estimate, options)
            if arrow_schema is None:
                arrow_schema = pa.schema([out.schema.field(n) for n in names])
            yield out.select(names).cast(arrow_schema) if hasattr(out, "select") else out

    return _map_in_arrow(sdf, body, schema)


def collect_meter(sdf: Any, *, granularity: str = "month", timezone: str = "UTC",
                  dedupe: bool = True, estimate: bool = False,
                  options: Options | None = None, account: str = "") -> Meter:
    """Meter every row of a Spark DataFrame into one :class:`~tokenmeter.Meter`.

    Each partition's rows are counted and recorded into a meter on the executor; the
    serialized meters (one per partition) are collected and merged on the driver, in
    whatever order they arrive (the merge is associative and commutative). Rows need
    ``timestamp`` and, when de-duplicating, ``event_id``.

    Raises:
        pyspark.errors.PythonException: Spark's wrapping of tokenmeter's
            ``InvalidInputError`` from an executor, for a row that cannot be counted or
            has no timestamp (rows are never skipped).
    """
    from ..meter import Meter

    settings = (granularity, timezone, dedupe)
    Meter(granularity=granularity, timezone=timezone, dedupe=dedupe)  # check settings here

    def body(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        meter = Meter(granularity=granularity, timezone=timezone, dedupe=dedupe)
        for batch in batches:
            meter.merge(Meter.from_bytes(meter_bytes(batch, settings, estimate, options,
                                                     account)))
        yield pa.RecordBatch.from_pydict({"meter": pa.array([meter.to_bytes()], pa.binary())})

    rows = _map_in_arrow(sdf, body, "meter binary").collect()
    return Meter.merge_all(Meter.from_bytes(bytes(r["meter"])) for r in rows)
