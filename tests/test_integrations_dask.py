"""Dask: a real LocalCluster of worker processes gives the single-process result exactly."""

from __future__ import annotations

from pathlib import Path

import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.compute
import pytest
from dask.distributed import Client, LocalCluster

import tokenmeter as tm
from engine_data import usage_table
from tokenmeter.batch import count_table, price_table
from tokenmeter.integrations.dask import collect_meter, meter_dataframe

DOCS = Path(__file__).resolve().parents[1] / "docs" / "batch.md"
BOOK = "vendors-2026-11"


@pytest.fixture(scope="module")
def client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0", host="127.0.0.1") as cluster, \
            Client(cluster) as c:
        yield c


def test_meter_dataframe_equals_one_process_row_by_row(client):
    table = usage_table(6000, seed=1, bad=30)
    pdf = table.to_pandas(types_mapper=pd.ArrowDtype)
    ddf = dd.from_pandas(pdf, npartitions=7)
    book = tm.load_price_book(BOOK)
    got = meter_dataframe(ddf, book=book).compute()
    ref = price_table(pdf, book)
    assert len(got) == len(ref) == 6000  # no row dropped
    for col in ("tokens", "wrapper_tokens", "exact", "error", "amount", "amount_rounded",
                "currency"):
        assert str(got[col].dtype) == str(ref[col].dtype), col
        assert got[col].tolist() == ref[col].tolist(), col
    assert got["error"].notna().sum() >= 20  # unknown models and negative counts at least
    # exact decimal totals per currency, computed on the cluster and in one process
    dask_sums = meter_dataframe(ddf, book=book).groupby("currency")["amount"].sum().compute()
    one = {}
    for cur, amt in zip(ref["currency"], ref["amount"], strict=True):
        if not pd.isna(amt):
            one[cur] = one.get(cur, 0) + amt
    assert {k: v for k, v in dask_sums.items()} == one


def test_collect_meter_merges_partitions_into_the_one_process_meter(client):
    table = usage_table(4000, seed=2)
    pdf = table.to_pandas(types_mapper=pd.ArrowDtype)
    # every 10th row delivered twice, the copy in another partition: counted once
    doubled = pd.concat([pdf, pdf.iloc[::10]], ignore_index=True)
    meter = collect_meter(dd.from_pandas(doubled, npartitions=5), split_every=2)
    one = tm.Meter()
    one.record_table(count_table(table))
    assert meter == one
    assert len(meter) == 4000
    # and so are the period quotes (qwen-plus has context tiers: priced per row instead)
    book = tm.load_price_book(BOOK)
    keep = pa.compute.not_equal(table.column("model"), "qwen-plus")
    unit = tm.Meter()
    unit.record_table(count_table(table.filter(keep)))
    dask_meter = collect_meter(dd.from_pandas(
        table.filter(keep).to_pandas(types_mapper=pd.ArrowDtype), npartitions=3))
    assert dask_meter.quote(book) == unit.quote(book)


def test_collect_meter_refuses_rows_it_cannot_count(client):
    pdf = usage_table(200, seed=3, bad=3).to_pandas(types_mapper=pd.ArrowDtype)
    with pytest.raises(Exception, match="has an error and cannot be metered"):
        collect_meter(dd.from_pandas(pdf, npartitions=2))


def test_docs_dask_example_runs_as_written():
    text = DOCS.read_text(encoding="utf-8")
    block = text.split("<!-- example: dask -->\n```python\n", 1)[1].split("```", 1)[0]
    exec(compile(block, str(DOCS), "exec"), {"__name__": "__main__"})
