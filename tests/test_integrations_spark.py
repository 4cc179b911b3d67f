"""Spark (local mode): mapInArrow over generated rows gives the single-process result exactly.

One SparkSession serves the whole module (a local session takes ~10 s to start). Spark's
Python workers run this interpreter (``PYSPARK_PYTHON``), and everything binds to the
loopback address.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

import tokenmeter as tm
from engine_data import usage_table
from tokenmeter.batch import count_table, price_table
from tokenmeter.integrations.spark import collect_meter, meter_dataframe

DOCS = Path(__file__).resolve().parents[1] / "docs" / "batch.md"
BOOK = "vendors-2026-11"


@pytest.fixture(scope="module")
def spark():
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (SparkSession.builder.master("local[2]").appName("tokenmeter-tests")
               .config("spark.ui.enabled", "false")
               .config("spark.driver.host", "127.0.0.1")
               .config("spark.driver.bindAddress", "127.0.0.1")
               .config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "2")
               .config("spark.sql.execution.arrow.maxRecordsPerBatch", "700")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def test_meter_dataframe_equals_one_process_row_by_row(spark):
    table = usage_table(3000, seed=11, bad=30).append_column(
        "row", pa.array(range(3000), pa.int64()))
    sdf = spark.createDataFrame(table).repartition(3)  # rows cross batches and partitions
    book = tm.load_price_book(BOOK)
    got = meter_dataframe(sdf, book=book).toArrow().sort_by("row")
    ref = price_table(table, book)
    assert got.num_rows == ref.num_rows == 3000  # no row dropped
    for col in ("tokens", "wrapper_tokens", "exact", "error", "amount", "amount_rounded",
                "currency"):
        assert got.schema.field(col).type == ref.schema.field(col).type, col
        assert got.column(col).to_pylist() == ref.column(col).to_pylist(), col
    # and so the totals, exactly (Spark's own decimal sum is in the docs example)
    totals: dict[str, Decimal] = {}
    one: dict[str, Decimal] = {}
    for g, r in zip(got.to_pylist(), ref.to_pylist(), strict=True):
        if r["error"] is None:
            totals[g["currency"]] = totals.get(g["currency"], Decimal(0)) + g["amount"]
            one[r["currency"]] = one.get(r["currency"], Decimal(0)) + r["amount"]
    assert totals == one
    assert set(one) == {"USD", "CNY"}


def test_collect_meter_equals_the_one_process_meter(spark):
    table = usage_table(2500, seed=12)
    doubled = pa.concat_tables([table, table.slice(0, 400)])  # replays in other partitions
    meter = collect_meter(spark.createDataFrame(doubled).repartition(4))
    one = tm.Meter()
    one.record_table(count_table(table))
    assert meter == one
    assert len(meter) == 2500


def test_docs_spark_example_runs_as_written(spark):
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- example: spark -->\n```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, str(DOCS), "exec"), {"__name__": "__main__"})
