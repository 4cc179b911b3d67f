"""tokenmeter.batch: every row equals the scalar API; containers, errors, money types."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import usage_rows
from tokenmeter._batch.usage import known_meters, plan
from tokenmeter.batch import count_table, price_table
from tokenmeter.errors import InvalidInputError, TokenmeterError

SCHEMA = pa.schema([
    ("model", pa.string()), ("modality", pa.string()), ("width", pa.int64()),
    ("height", pa.int64()), ("duration", pa.float64()), ("fps", pa.float64()),
    ("frames", pa.int64()), ("text", pa.string()), ("reported_tokens", pa.int64()),
    ("direction", pa.string()), ("timestamp", pa.timestamp("us", tz="UTC")),
])
UTC = dt.timezone.utc


def table_of(rows: list[dict[str, Any]]) -> pa.Table:
    full = [{f.name: r.get(f.name) for f in SCHEMA} for r in rows]
    return pa.Table.from_pylist(full, schema=SCHEMA)


class Expect:
    """What the scalar API says about one row."""

    def __init__(self, tokens: int | None = None, wrapper: int | None = None,
                 exact: bool | None = None, error: str | None = None,
                 error_class: str | None = None) -> None:
        self.tokens, self.wrapper, self.exact = tokens, wrapper, exact
        self.error, self.error_class = error, error_class

    @classmethod
    def failed(cls, exc: Exception) -> Expect:
        return cls(error=f"{type(exc).__name__}: {exc}", error_class=type(exc).__name__)


def scalar_count(row: dict[str, Any], *, estimate: bool = False) -> Expect:
    """The row through Model.count_* one at a time (the reference the batch must equal)."""
    model, modality = row.get("model"), row.get("modality")
    direction = row.get("direction")
    if (model is None or modality not in ("text", "image", "video", "audio")
            or direction not in (None, "input", "output", "cached", "cache_write")):
        return Expect(error_class="InvalidInputError")  # batch-level message
    reported = row.get("reported_tokens")
    if reported is not None:
        if reported < 0:
            return Expect(error_class="InvalidInputError")
        return Expect(tokens=reported, wrapper=None, exact=True)
    try:
        m = tm.get_model(model)
    except TokenmeterError as exc:
        return Expect.failed(exc)
    w, h, d, fps, frames = (row.get(k) for k in ("width", "height", "duration", "fps", "frames"))
    try:
        if modality == "text":
            if row.get("text") is None:
                if "text" not in m.modalities:
                    return Expect(error_class=None)  # either message is right
                return Expect(error_class="InvalidInputError")
            tc = m.count_text(row["text"], estimate=estimate)
        elif modality == "image":
            if "image" in m.modalities and (w is None or h is None):
                m.rule("image")
                return Expect(error_class="InvalidInputError")
            tc = m.count_image(w if w is not None else 1, h if h is not None else 1)
        elif modality == "video":
            if "video" in m.modalities and (w is None or h is None):
                m.rule("video")
                return Expect(error_class="InvalidInputError")
            tc = m.count_video(w if w is not None else 1, h if h is not None else 1, d, fps,
                               frames=frames)
        else:
            if "audio" in m.modalities and d is None:
                m.rule("audio")
                return Expect(error_class="InvalidInputError")
            tc = m.count_audio(d if d is not None else 1.0)
    except TokenmeterError as exc:
        return Expect.failed(exc)
    return Expect(tokens=tc.tokens, wrapper=tc.wrapper_tokens, exact=tc.exact)


def check_counts(rows: list[dict[str, Any]], out: pa.Table, *, estimate: bool = False) -> None:
    got = out.select(["tokens", "wrapper_tokens", "exact", "error"]).to_pylist()
    assert len(got) == len(rows)  # nothing dropped
    for i, (row, g) in enumerate(zip(rows, got, strict=True)):
        e = scalar_count(row, estimate=estimate)
        if e.error_class is None and e.tokens is None:  # "text on a media-only model"
            assert g["error"] is not None, (i, row, g)
            continue
        if e.error_class is not None:
            assert g["error"] is not None, (i, row, g, e.error)
            assert g["error"].startswith(e.error_class + ":"), (i, row, g, e.error)
            if e.error is not None:
                assert g["error"] == e.error, (i, row)
            assert (g["tokens"], g["wrapper_tokens"], g["exact"]) == (None, None, None)
        else:
            assert g["error"] is None, (i, row, g)
            assert (g["tokens"], g["wrapper_tokens"], g["exact"]) == (
                e.tokens, e.wrapper, e.exact), (i, row)


# -- batch == scalar ----------------------------------------------------------------------

@settings(max_examples=60)
@given(st.lists(usage_rows(), min_size=0, max_size=30))
def test_count_table_equals_the_scalar_api_row_by_row(rows):
    check_counts(rows, count_table(table_of(rows)))


@settings(max_examples=8)
@given(st.lists(usage_rows(models=("qwen2.5-vl-7b-instruct", "gemini-2.5-flash", "gpt-4o"),
                           modalities=("image", "video", "audio"), bad=False),
                min_size=50, max_size=150))
def test_large_groups_with_interleaved_models_keep_row_order(rows):
    # Big groups go through one vectorized call each; results must land on their own rows.
    check_counts(rows, count_table(table_of(rows)))


GARBAGE = {"width": 640, "height": 480, "frames": 90, "reported_tokens": 7,
           "duration": 12.5, "fps": 30.0}


def with_values_under_nulls(table: pa.Table) -> pa.Table:
    """``table`` with plausible numbers under every null of its numeric columns. Arrow
    leaves what lies under a null undefined (a masked numpy array keeps its values), and
    the batch path reads the buffers as they lie: it must never read one there."""
    for name, junk in GARBAGE.items():
        col = table.column(name).combine_chunks()
        mask = col.is_null().to_numpy(zero_copy_only=False)
        dtype = np.float64 if pa.types.is_floating(col.type) else np.int64
        values = np.array(col.fill_null(0).to_numpy(zero_copy_only=False), dtype=dtype)
        values[mask] = junk
        arr = pa.array(values, mask=mask, type=col.type)
        table = table.set_column(table.schema.get_field_index(name), name, arr)
    return table


@settings(max_examples=40)
@given(st.lists(usage_rows(), min_size=1, max_size=40))
def test_values_under_nulls_are_never_read(rows):
    plain = table_of(rows)
    junk = with_values_under_nulls(plain)
    assert junk.column("width").chunk(0).buffers()[1] is not None
    cols = ["tokens", "wrapper_tokens", "exact", "error"]
    assert count_table(junk).select(cols).equals(count_table(plain).select(cols))
    check_counts(rows, count_table(junk))
    book = tm.load_price_book("vendors-2026-11")
    for r in rows:
        r["timestamp"] = ts(2026, 11, 3)
    plain, cols = table_of(rows), [*cols, "amount", "amount_rounded", "currency"]
    assert price_table(with_values_under_nulls(plain), book).select(cols).equals(
        price_table(plain, book).select(cols))


def test_bad_rows_inside_a_group_are_found_one_by_one():
    # A model that rejects extreme aspect ratios: the group's array call fails, bisection
    # finds the rows, and each gets the scalar API's own message.
    rows = [{"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": w, "height": h}
            for w, h in [(640, 480), (20000, 20), (1280, 720), (5, 4000), (28, 28)] * 40]
    out = count_table(table_of(rows))
    check_counts(rows, out)
    errors = out.column("error").to_pylist()
    assert sum(e is not None for e in errors) == 80
    assert all("aspect" in e.lower() for e in errors if e is not None)


def test_estimate_flag_follows_count_text():
    rows = [{"model": "qwen2.5-72b-instruct", "modality": "text", "text": t}
            for t in ["hello world", "你好，世界", ""]]
    check_counts(rows, count_table(table_of(rows), estimate=True), estimate=True)


def test_options_per_model_and_modality():
    rows = [{"model": "gpt-4o", "modality": "image", "width": 2048, "height": 1024},
            {"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": 2048,
             "height": 1024}]
    out = count_table(table_of(rows), options={("gpt-4o", "image"): {"detail": "low"}})
    m = tm.get_model("gpt-4o")
    assert out.column("tokens").to_pylist() == [
        m.count_image(2048, 1024, detail="low").tokens,
        tm.get_model("qwen2.5-vl-7b-instruct").count_image(2048, 1024).tokens]
    bad = count_table(table_of(rows), options={("gpt-4o", "image"): {"nope": 1}})
    assert bad.column("error").to_pylist()[0].startswith("InvalidInputError:")
    assert bad.column("error").to_pylist()[1] is None


# -- containers ---------------------------------------------------------------------------

ROWS = [
    {"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": 1280, "height": 720},
    {"model": "gemini-2.5-flash", "modality": "audio", "duration": 12.5},
    {"model": "qwen2.5-vl-7b-instruct", "modality": "video", "width": 640, "height": 480,
     "duration": 3.0, "fps": 30.0},
    {"model": "nope", "modality": "image", "width": 3, "height": 3},
    {"model": "qwen2.5-72b-instruct", "modality": "text", "reported_tokens": 1_000_000},
    {"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": 0, "height": 720},
]


def _columns(rows: list[dict[str, Any]]) -> dict[str, list[Any]]:
    return {f.name: [r.get(f.name) for r in rows] for f in SCHEMA if f.name != "timestamp"}


def test_every_container_gives_the_same_rows_back_in_its_own_kind():
    ref = count_table(table_of(ROWS)).select(["tokens", "wrapper_tokens", "exact", "error"])
    cols = _columns(ROWS)
    # pandas: a non-default index is kept, an integer column with a gap is float64.
    pdf = pd.DataFrame(cols, index=[10, 11, 12, 13, 14, 15])
    assert pdf["width"].dtype == np.float64
    out_pd = count_table(pdf)
    assert isinstance(out_pd, pd.DataFrame)
    assert list(out_pd.index) == list(pdf.index)
    assert list(out_pd.columns[: len(pdf.columns)]) == list(pdf.columns)
    assert str(out_pd["tokens"].dtype) == "int64[pyarrow]"
    out_pl = count_table(pl.DataFrame(cols, strict=False))
    assert isinstance(out_pl, pl.DataFrame)
    batch = table_of(ROWS).to_batches()[0]
    out_rb = count_table(batch)
    assert isinstance(out_rb, pa.RecordBatch)
    arrays = {k: np.array(v, dtype=object) for k, v in cols.items()}
    out_np = count_table(arrays)
    assert isinstance(out_np, dict)
    assert set(arrays) <= set(out_np)
    assert isinstance(out_np["tokens"], np.ma.MaskedArray)
    views = {
        "pandas": pa.Table.from_pandas(out_pd[["tokens", "wrapper_tokens", "exact", "error"]],
                                       preserve_index=False),
        "polars": out_pl.select(["tokens", "wrapper_tokens", "exact", "error"]).to_arrow(),
        "batch": pa.Table.from_batches([out_rb]).select(["tokens", "wrapper_tokens", "exact",
                                                         "error"]),
        "dict": pa.table({k: [None if v is np.ma.masked else v for v in out_np[k].tolist()]
                          if isinstance(out_np[k], np.ma.MaskedArray) else list(out_np[k])
                          for k in ("tokens", "wrapper_tokens", "exact", "error")}),
    }
    for name, view in views.items():
        assert view.to_pylist() == ref.to_pylist(), name


def test_empty_table():
    out = price_table(table_of([]))
    assert out.num_rows == 0
    assert out.schema.field("amount").type == pa.decimal128(38, 18)


# -- errors --------------------------------------------------------------------------------

def test_strict_raises_the_first_bad_row_with_its_own_class():
    with pytest.raises(tm.UnknownModelError, match=r"^row 3: unknown model 'nope'.*1 more row"):
        count_table(table_of(ROWS), strict=True)
    with pytest.raises(InvalidInputError, match=r"^row 0: width"):
        count_table(table_of(ROWS[5:]), strict=True)
    assert count_table(table_of(ROWS[:3]), strict=True).column("error").null_count == 3


@pytest.mark.parametrize(("table", "match"), [
    (pa.table({"modality": ["text"]}), "no 'model' column"),
    (pa.table({"model": ["x"], "modality": ["text"], "width": ["wide"]}), "must hold integers"),
    (pa.table({"model": ["x"], "modality": ["text"], "tokens": [1]}), "already has column"),
    (pa.table({"model": ["x"], "modality": ["text"],
               "timestamp": pa.array([0], pa.timestamp("us"))}), "no time zone"),
    ({"model": ["a", "b"], "modality": ["text"]}, "differ in length"),
    ([1, 2, 3], "take a pyarrow Table"),
])
def test_malformed_tables_raise_naming_the_column(table, match):
    with pytest.raises(InvalidInputError, match=match):
        price_table(table)


def test_integral_floats_are_integers_and_fractional_ones_are_row_errors():
    pdf = pd.DataFrame({"model": ["qwen2.5-vl-7b-instruct"] * 3, "modality": ["image"] * 3,
                        "width": [640.0, 640.5, np.nan], "height": [480.0, 480.0, 480.0]})
    err = count_table(pdf)["error"].tolist()
    assert err[0] is None or pd.isna(err[0])
    assert "width must be an int, got 640.5" in err[1]
    assert "needs width" in err[2]


def test_integer_overflow_is_a_row_error_never_a_wrap():
    t = pa.table({"model": ["qwen2.5-72b-instruct"] * 2, "modality": ["text"] * 2,
                  "reported_tokens": pa.array([2**64 - 1, 2**63 - 1], pa.uint64())})
    out = price_table(t)
    err = out.column("error").to_pylist()
    assert "does not fit in int64" in err[0]
    assert err[1] is None
    # 2**63-1 tokens at ¥3.50 per 1M: exact, past int64 in numerators, no float anywhere.
    assert out.column("amount").to_pylist()[1] == Decimal(2**63 - 1) * Decimal("3.50") / 10**6


# -- prices ---------------------------------------------------------------------------------

def ts(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


def scalar_price(book: Any, row: dict[str, Any], tokens: int) -> Any:
    """``book.quote`` of the row's usage (the usage module's definition), or its exception."""
    entry = book.price_of(row["model"], at=row.get("timestamp"))
    p = plan(known_meters(entry), row["modality"], row.get("direction") or "input")
    fields: dict[str, Any] = {}
    timed = p.seconds_field is not None and row.get("duration") is not None
    if p.seconds_field is not None and not p.tokens_when_timed and not timed:
        an = "an" if row["modality"][0] in "aeiou" else "a"
        raise InvalidInputError(
            f"{an} {row['modality']} row on {row['model']!r} needs a duration: the price book "
            f"bills {row['modality']} {row.get('direction') or 'input'} by the second only")
    if not timed or p.tokens_when_timed:
        fields[p.token_field] = tokens
        if p.subset_field:
            fields[p.subset_field] = tokens
    if timed:
        fields[p.seconds_field] = row["duration"]
    if p.generation:
        fields["generations"] = 1
    return book.quote(row["model"], tm.Usage(**fields), at=row.get("timestamp"))


def fits_amount_column(d: Decimal) -> bool:
    """Whether ``d`` is exact in a decimal128(38, 18) column (at most 18 places)."""
    return abs(d) < Decimal(10) ** 20 and d == d.quantize(Decimal("1e-18"), context=BIG)


BIG = decimal.Context(prec=100)


def check_prices(book: Any, rows: list[dict[str, Any]]) -> None:
    out = price_table(table_of(rows), book).to_pylist()
    counted = count_table(table_of(rows)).to_pylist()
    for i, (row, g, c) in enumerate(zip(rows, out, counted, strict=True)):
        if c["error"] is not None:
            assert g["error"] == c["error"]
            assert g["amount"] is None
            continue
        try:
            q = scalar_price(book, row, c["tokens"])
        except TokenmeterError as exc:
            q, failure = None, f"{type(exc).__name__}: {exc}"
        # A row that counts keeps its count columns whatever its price does.
        assert (g["tokens"], g["wrapper_tokens"], g["exact"]) == (
            c["tokens"], c["wrapper_tokens"], c["exact"]), (i, row)
        if q is None:
            assert g["error"] == failure, (i, row)
            assert g["amount"] is g["amount_rounded"] is g["currency"] is None
            continue
        if not (fits_amount_column(q.exact.amount) and fits_amount_column(q.total.amount)):
            # e.g. 1e-38 s of audio at $0.0001/s: exact, but past 18 places; never rounded
            assert g["error"].startswith("InvalidInputError: the amount "), (i, row)
            assert g["amount"] is None
            continue
        assert g["error"] is None, (i, row, g["error"])
        assert (g["amount"], g["amount_rounded"], g["currency"]) == (
            q.exact.amount, q.total.amount, q.currency), (i, row)
        assert g["tokens"] == c["tokens"]


STAMPS = st.one_of(
    st.none(),
    st.datetimes(min_value=dt.datetime(2026, 8, 17), max_value=dt.datetime(2026, 12, 31),
                 timezones=st.just(UTC)),
    st.datetimes(min_value=dt.datetime(2026, 8, 17), max_value=dt.datetime(2026, 12, 31),
                 timezones=st.just(UTC)),
    st.datetimes(min_value=dt.datetime(2024, 12, 1), max_value=dt.datetime(2026, 12, 31),
                 timezones=st.just(UTC)),
    st.sampled_from([ts(2026, 9, 1, 2, 30), ts(2026, 10, 1, 3), ts(2025, 3, 3, 17),
                     ts(2025, 9, 5, 16), ts(2026, 8, 16, 16), ts(2025, 1, 1)]),
)
VENDOR_MODELS = ("gpt-4o", "claude-sonnet-4-5", "gemini-2.5-flash", "gemini-2.5-pro",
                 "deepseek-chat", "deepseek-flash", "qwen-plus", "qwen-omni-turbo", "whisper-1",
                 "sora-2", "gpt-image-1", "wan2.1-kf2v-plus", "nope")


@st.composite
def priced_rows(draw: Any, models: tuple[str, ...]) -> dict[str, Any]:
    bad = draw(st.sampled_from([False, False, False, True]))
    row = draw(usage_rows(models=models, modalities=("text", "image", "video", "audio"),
                          max_tokens=3_000_000, bad=bad))
    if row["reported_tokens"] is None and draw(st.booleans()):
        # Provider-reported counts are the usual billing input (and price book-only models).
        row["reported_tokens"] = draw(st.integers(0, 3_000_000))
    row["timestamp"] = draw(STAMPS)
    return row


@settings(max_examples=50)
@given(st.lists(priced_rows(VENDOR_MODELS), max_size=40))
def test_price_table_equals_quote_row_by_row_vendors(rows):
    check_prices(tm.load_price_book("vendors-2026-11"), rows)


@settings(max_examples=40)
@given(st.lists(priced_rows(("qwen2.5-72b-instruct", "qwen-omni-turbo", "wan2.1-t2v-14b",
                             "ernie-4.0", "qwen2.5-omni-7b")), max_size=40))
def test_price_table_equals_quote_row_by_row_cn(rows):
    check_prices(tm.load_price_book(), rows)


def test_price_table_equals_quote_on_a_tiered_book_with_limits():
    from strategies import price_book

    book = price_book('''
[m."qwen2.5-72b-instruct"]
currency = "CNY"
minimum = "0.05"
free = { text = 500 }
source = "test"
as_of = "2025-01-01"
[m."qwen2.5-72b-instruct".text]
mode = "graduated"
tiers = [{ up_to = 1000, price = "0" }, { up_to = 100000, price = "2", flat = "0.5" },
         { price = "1.234567" }]
''')
    rows = [{"model": "qwen2.5-72b-instruct", "modality": "text", "reported_tokens": n,
             "timestamp": ts(2025, 5, 1)} for n in (0, 1, 999, 1000, 1001, 123456, 10**9)]
    check_prices(book, rows)


def test_hand_checked_amounts():
    cn, vendors = tm.load_price_book(), tm.load_price_book("vendors-2026-11")
    at = ts(2026, 11, 1)
    out = price_table(table_of([
        {"model": "qwen2.5-72b-instruct", "modality": "text", "reported_tokens": 1_000_000},
        {"model": "wan2.1-t2v-14b", "modality": "video", "direction": "output",
         "width": 1280, "height": 720, "duration": 5.0, "fps": 16.0},
    ]), cn).to_pylist()
    assert out[0]["amount"] == Decimal("3.50")
    assert out[0]["currency"] == "CNY"
    assert out[1]["amount"] == Decimal("0.50")  # one generation, tokens and seconds included
    out = price_table(table_of([
        # whisper-1 bills seconds only: 60 s at $0.0001/s; the 1500 tokens are not billed.
        {"model": "whisper-1", "modality": "audio", "reported_tokens": 1500, "duration": 60.0,
         "timestamp": at},
        # without a duration a per-second row has nothing billable: an error, never ¥0.
        {"model": "whisper-1", "modality": "audio", "reported_tokens": 1500, "timestamp": at},
        {"model": "gpt-4o", "modality": "image", "width": 1024, "height": 1024,
         "timestamp": at},
    ]), vendors).to_pylist()
    assert out[0]["amount"] == Decimal("0.006")
    assert out[0]["currency"] == "USD"
    assert out[1]["error"].startswith("InvalidInputError: an audio row on 'whisper-1' needs")
    assert out[2]["tokens"] == 765
    assert out[2]["amount"] == Decimal(765) * Decimal("2.50") / 10**6


def test_money_is_decimal_in_every_container():
    rows = [{"model": "qwen2.5-72b-instruct", "modality": "text", "reported_tokens": 7}]
    cols = _columns(rows)
    out_pd = price_table(pd.DataFrame(cols))
    assert str(out_pd["amount"].dtype) == "decimal128(38, 18)[pyarrow]"
    assert isinstance(out_pd["amount"].iloc[0], Decimal)
    out_pl = price_table(pl.DataFrame(cols, strict=False))
    assert out_pl.schema["amount"] == pl.Decimal(38, 18)
    out_np = price_table({k: np.array(v, dtype=object) for k, v in cols.items()})
    assert isinstance(out_np["amount"][0], Decimal)
    assert out_np["amount"][0] == Decimal("0.0000245")
    assert not any(isinstance(v, float) for v in out_np["amount_rounded"])


def test_amounts_of_a_big_table_sum_exactly():
    n = 20_000
    rng = np.random.default_rng(7)
    counts = rng.integers(0, 50_000, n)
    t = pa.table({"model": ["qwen2.5-72b-instruct"] * n, "modality": ["text"] * n,
                  "reported_tokens": counts})
    out = price_table(t)
    total = sum(out.column("amount").to_pylist(), Decimal(0))
    assert total == Decimal(int(counts.sum())) * Decimal("3.50") / 10**6
    assert math.isclose(float(total), float(counts.sum()) * 3.5e-6)


def test_rows_an_array_call_rejects_are_priced_one_by_one():
    # qwen-plus's last context tier ends at 1M tokens: those rows fail, their group-mates
    # (same model, version and window) are still priced in arrays.
    at = ts(2026, 11, 3)
    counts = [1000, 2_000_000, 5000, 128_001, 3_000_000, 10] * 30
    rows = [{"model": "qwen-plus", "modality": "text", "reported_tokens": n, "timestamp": at}
            for n in counts]
    book = tm.load_price_book("vendors-2026-11")
    check_prices(book, rows)
    errors = price_table(table_of(rows), book).column("error").to_pylist()
    assert sum(e is not None for e in errors) == 60
    assert all("past the last context tier" in e for e in errors if e is not None)


def test_an_unpriced_model_keeps_its_count_and_reports_the_price_error():
    # qwen2.5-vl-7b-instruct counts images, but vendors-2026-11 has no price for it.
    at = ts(2026, 11, 3)
    rows = [{"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": 1280,
             "height": 720, "timestamp": at},
            {"model": "gpt-4o", "modality": "image", "width": 1024, "height": 1024,
             "timestamp": at},
            {"model": "qwen2.5-vl-7b-instruct", "modality": "text", "reported_tokens": 42,
             "timestamp": at},
            {"model": "qwen2.5-vl-7b-instruct", "modality": "image", "width": 0,
             "height": 720, "timestamp": at}]
    book = tm.load_price_book("vendors-2026-11")
    check_prices(book, rows)
    out = price_table(table_of(rows), book).to_pylist()
    tc = tm.get_model("qwen2.5-vl-7b-instruct").count_image(1280, 720)
    assert (out[0]["tokens"], out[0]["wrapper_tokens"], out[0]["exact"]) == (
        tc.tokens, tc.wrapper_tokens, tc.exact)
    assert out[0]["error"].startswith("UnpricedModelError: ")
    assert out[0]["amount"] is out[0]["amount_rounded"] is out[0]["currency"] is None
    assert out[1]["error"] is None
    assert out[1]["amount"] is not None
    assert (out[2]["tokens"], out[2]["wrapper_tokens"], out[2]["exact"]) == (42, None, True)
    assert out[2]["error"].startswith("UnpricedModelError: ")
    # a row that cannot be counted has no numbers at all, and its count error
    assert out[3]["tokens"] is None
    assert out[3]["error"].startswith("InvalidInputError: ")
    with pytest.raises(tm.UnpricedModelError, match=r"^row 0: "):
        price_table(table_of(rows[:2]), book, strict=True)


def test_docs_batch_page_examples_run():
    """The table and meter examples of docs/batch.md run as written (the Dask and Spark
    ones run in tests/test_integrations_*.py, next to their engines)."""
    from pathlib import Path

    page = Path(__file__).resolve().parents[1] / "docs" / "batch.md"
    text = page.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    plain = [b for b, before in zip(blocks, text.split("```python\n")[:-1], strict=True)
             if not before.rstrip().endswith(("<!-- example: dask -->",
                                              "<!-- example: spark -->"))]
    assert len(plain) == 2
    namespace: dict[str, Any] = {}
    for block in plain:
        exec(compile(block, str(page), "exec"), namespace)


def test_dictionary_encoded_columns_read_like_plain_strings():
    t = table_of(ROWS)
    # a dictionary with a repeated value, as concatenated Parquet chunks can produce
    enc = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 2, 3, 0, 2], pa.int32()),
        pa.array(["qwen2.5-vl-7b-instruct", "gemini-2.5-flash", "qwen2.5-vl-7b-instruct",
                  "nope"]))
    t2 = t.set_column(0, "model", pa.chunked_array([enc.cast(
        pa.dictionary(pa.int32(), pa.string()))]))
    t2 = t2.set_column(1, "modality", t2.column("modality").dictionary_encode())
    ref = count_table(t).select(["tokens", "error"]).to_pylist()
    assert count_table(t2).select(["tokens", "error"]).to_pylist()[:4] == ref[:4]
    pdf = pd.DataFrame(_columns(ROWS)).astype({"model": "category", "modality": "category"})
    assert count_table(pdf)["tokens"].tolist() == count_table(
        pd.DataFrame(_columns(ROWS)))["tokens"].tolist()


def test_an_amount_past_eighteen_places_is_a_row_error_not_rounded():
    at = ts(2026, 11, 3)
    rows = [{"model": "whisper-1", "modality": "audio", "reported_tokens": 1, "timestamp": at,
             "duration": d} for d in (1e-38, 0.5)]
    out = price_table(table_of(rows), tm.load_price_book("vendors-2026-11")).to_pylist()
    assert out[0]["error"].startswith("InvalidInputError: the amount 1E-42 USD does not fit")
    assert out[0]["amount"] is None
    assert out[1]["amount"] == Decimal("0.00005")
