"""The batch path equals the scalar path to the last digit, and never wraps int64."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import assert_batch_matches_scalar, huge_tokens, price_book

UTC = dt.timezone.utc
AT = dt.datetime(2026, 11, 27, 3, 0, tzinfo=UTC)  # Friday 11:00 in Beijing: DeepSeek peak

MIXED = """
[m."mix"]
input_audio = "25"
output = "14.2"
reasoning = "30"
output_audio = {{ mode = "package", size = 100, price = "0.003" }}
cached_multiplier = "0.4"
cache_write_multiplier = "1.25"
batch_multiplier = "0.5"
free = {{ output = 700 }}
minimum = "{minimum}"
maximum = "50"
source = "s"
as_of = "2026-01-01"
[m."mix".input]
mode = "graduated"
tiers = [{{ up_to = 1000, price = "7", flat = "0.01" }}, {{ price = "3.5" }}]
[m."mix".input_image]
mode = "volume"
boundary = "lower-inclusive"
tiers = [{{ up_to = 500, price = "9" }}, {{ price = "4" }}]
[m."mix".context]
boundary = "lower-inclusive"
[[m."mix".context.tiers]]
up_to = 5000
[[m."mix".context.tiers]]
output = "20"
[m."mix".multimodal_input]
output_audio = "0.7"
"""

rows = st.builds(
    lambda text, image, audio, output, r, c, w, oa: {
        "text": text, "image": image, "audio": audio, "output": output,
        "reasoning": output * r // 100, "cached": (text + image + audio) * c // 100,
        "cache_write": (text + image + audio - (text + image + audio) * c // 100) * w // 100,
        "output_audio": oa},
    st.integers(0, 20_000), st.integers(0, 2000), st.integers(0, 1000), st.integers(0, 50_000),
    st.integers(0, 100), st.integers(0, 100), st.integers(0, 100), st.integers(0, 1000))


def columns(rs: list[dict[str, int]]) -> dict[str, np.ndarray]:
    return {k: np.array([r[k] for r in rs], dtype=np.int64) for k in rs[0]}


def check_equal(book, model, rs, *, at=None, batch=False):
    aq = book.price_array(model, at=at, batch=batch, **columns(rs))
    for i, r in enumerate(rs):
        q = book.quote(model, tm.Usage(**r), at=at, batch=batch)
        assert aq.exact_amount(i) == q.exact.amount, (i, r)
        assert aq.total_amount(i) == q.total.amount, (i, r)
    assert aq.sum_total() == sum((book.quote(model, tm.Usage(**r), at=at, batch=batch).total
                                  for r in rs), tm.Money(0, aq.currency))
    return aq


@settings(max_examples=100)
@given(st.lists(rows, min_size=1, max_size=12), st.booleans(),
       st.sampled_from(["0", "0.01", "0.10"]),
       st.sampled_from(["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"]))
def test_batch_equals_scalar_on_every_rule(rs, batch, minimum, rounding):
    book = price_book(MIXED.format(minimum=minimum), rounding=rounding)
    check_equal(book, "mix", rs, batch=batch)


@pytest.mark.parametrize(("book", "model"), [
    ("cn-2025", "qwen2.5-72b-instruct"), ("cn-2025", "qwen-omni-turbo"),
    ("vendors-2026-11", "gemini-2.5-pro"), ("vendors-2026-11", "qwen-plus"),
    ("vendors-2026-11", "deepseek-flash"), ("vendors-2026-11", "claude-sonnet-4-5"),
    ("vendors-2026-11", "qwen3-vl-plus"),
])
@settings(max_examples=25)
@given(st.lists(st.tuples(st.integers(0, 250_000), st.integers(0, 100), st.integers(0, 5000),
                          st.integers(0, 100)), min_size=1, max_size=8))
def test_batch_equals_scalar_on_packaged_books(book, model, rs):
    b = tm.load_price_book(book)
    media = "audio" if model == "qwen-omni-turbo" else "image"
    if model in ("qwen2.5-72b-instruct", "deepseek-flash", "qwen-plus"):
        media = "text"
    out = [{"text": t, media: m if media != "text" else t, "output": o,
            "cached": t * c // 100} for t, m, o, c in rs]
    for r in out:
        if model == "qwen3-vl-plus" and r["text"] + r.get("image", 0) > 256_000:
            r["text"] = 0
    check_equal(b, model, out, at=AT)


def test_int64_overflow_falls_back_to_exact_python_ints():
    b = tm.load_price_book()
    big = np.array([2**62, 9_000_000_000_000_000_000 // 35, 5], dtype=np.int64)
    aq = b.price_array("doubao", text=big)
    assert aq.dtype == "object"
    for i, n in enumerate(big.tolist()):
        q = b.quote("doubao", tm.Usage(text=n))
        assert aq.exact_amount(i) == q.exact.amount
        assert aq.total_amount(i) == q.total.amount
    assert aq.exact_amount(0) == Decimal(2**62) * 6 / 10**6


def test_small_values_stay_int64_and_python_ints_are_accepted():
    b = tm.load_price_book()
    assert b.price_array("doubao", text=np.arange(5)).dtype == "int64"
    obj = np.array([10**30, 1], dtype=object)
    aq = b.price_array("doubao", text=obj)
    assert aq.total_amount(0) == Decimal(6 * 10**24)


def test_batch_inputs_are_checked():
    b = tm.load_price_book()
    with pytest.raises(tm.InvalidInputError, match="negative"):
        b.price_array("doubao", text=[1, -2])
    with pytest.raises(tm.InvalidInputError, match="integer"):
        b.price_array("doubao", text=[1.5])
    with pytest.raises(tm.InvalidInputError, match="unknown column"):
        b.price_array("doubao", txt=[1])
    with pytest.raises(tm.InvalidInputError, match="cached"):
        b.price_array("doubao", text=[1], cached=[2])
    with pytest.raises(tm.InvalidInputError, match="differ in length"):
        b.price_array("doubao", text=[1, 2], output=[1, 2, 3])
    with pytest.raises(tm.UnpricedModelError):
        b.price_array("doubao", image=[0, 3])
    with pytest.raises(tm.PricingError, match="pass at="):
        tm.load_price_book("vendors-2026-11").price_array("deepseek-flash", text=[1])


def test_generation_price_in_batch():
    b = tm.load_price_book()
    with pytest.raises(tm.PricingError, match="seconds per item"):
        b.price_array("wan2.1-t2v-14b", generations=[1, 2], output_video=[147_600, 295_200])


def test_whole_minor_unit_prices_share_no_arrays():
    # Prices in whole fen make the exact scale the currency's: rounding is the identity,
    # and two lines must still add up without aliasing each other.
    b = price_book("""
[m."w"]
input = { price = "3", per = 1 }
output = { price = "2", per = 1 }
generation = "0.50"
source = "s"
as_of = "2026-01-01"
""")
    rs = [{"text": t, "output": o, "generations": g}
          for t, o, g in [(1, 2, 0), (5, 0, 1), (0, 7, 3)]]
    aq = check_equal(b, "w", rs)
    assert aq.scale == 2
    assert [aq.total_amount(i) for i in range(3)] == [Decimal(7), Decimal("15.50"),
                                                      Decimal("15.50")]


# -- int64 edges: every sum and product is bounded before it is formed ------------------------

def test_prompt_columns_summing_past_int64_do_not_wrap():
    """text + image was summed in int64 first: 2**62 + 2**62 wrapped negative, picked
    context tier 1 and priced a prompt the scalar path refuses."""
    b = tm.load_price_book("vendors-2026-11")
    with pytest.raises(tm.PricingError, match="past the last context tier"):
        b.quote("qwen3-vl-plus", tm.Usage(text=2**62, image=2**62), at=AT)
    with pytest.raises(tm.PricingError, match=r"row 0: a prompt of 9223372036854775808 tokens"
                                              r" is past the last context tier"):
        b.price_array("qwen3-vl-plus", at=AT, text=[2**62], image=[2**62])
    for cols in ({"text": [2**62, 1], "image": [2**62 - 1, 1], "video": [1, 1]},
                 {"text": [2**61] * 2, "image": [2**61] * 2, "video": [2**61] * 2,
                  "cached": [2**62] * 2}):
        with pytest.raises(tm.PricingError, match="past the last context tier"):
            b.price_array("qwen3-vl-plus", at=AT, **cols)


@pytest.mark.parametrize("rows", [
    # text + output on one combined line, each under int64, their sum past it
    [{"text": 2**62, "output": 2**62}, {"text": 3, "output": 4}],
    [{"text": 2**63 - 1, "output": 2**63 - 1}],
    # cached + cache_write: both subsets near 2**62, checked against the input sum
    [{"text": 2**62, "output": 0}, {"text": 5, "output": 2**62 + 5}],
])
def test_huge_columns_on_a_combined_text_rate_equal_the_scalar_path(rows):
    aq = assert_batch_matches_scalar(tm.load_price_book(), "doubao", rows)
    assert aq is not None
    assert aq.dtype == "object"


def test_huge_subset_columns_equal_the_scalar_path():
    book = price_book(MIXED.format(minimum="0.01"))
    rs = [{"text": 2**62, "image": 2**62 - 1, "audio": 2**62 - 2, "output": 2**62,
           "reasoning": 2**62 - 3, "cached": 2**62 + 1, "cache_write": 2**62 + 2,
           "output_audio": 2**62},
          {"text": 10, "image": 0, "audio": 0, "output": 5, "reasoning": 5, "cached": 4,
           "cache_write": 6, "output_audio": 0}]
    assert assert_batch_matches_scalar(book, "mix", rs).dtype == "object"
    # A subset larger than the inputs is still refused when the sums pass int64.
    bad = [dict(rs[0], cached=2**63 - 1, cache_write=2**63 - 1)]
    with pytest.raises(tm.InvalidInputError, match="row 0: cached"):
        book.price_array("mix", **columns(bad))


def test_uint64_counts_past_int64_are_priced_exactly():
    b = tm.load_price_book()
    aq = b.price_array("doubao", text=np.array([2**63, 2**64 - 1, 1], dtype=np.uint64))
    assert aq.dtype == "object"
    for i, n in enumerate([2**63, 2**64 - 1, 1]):
        assert aq.exact_amount(i) == b.quote("doubao", tm.Usage(text=n)).exact.amount


def test_long_exact_amounts_keep_every_digit():
    """exact_amount/total_amount/sum_* shifted in the ambient 28-digit context, and tier
    prices were scaled there: long amounts came back rounded."""
    book = price_book("""
[m."g"]
output = "1"
source = "s"
as_of = "2026-01-01"
[m."g".input]
mode = "graduated"
tiers = [{ up_to = 1000, price = "7.123456789012345678901234567891" }, { price = "3" }]
""")
    rs = [{"text": 10**22 + 7, "output": 10**21 + 3}, {"text": 999, "output": 1}]
    aq = assert_batch_matches_scalar(book, "g", rs)
    want = sum((book.quote("g", tm.Usage(**r)).exact for r in rs), tm.Money(0, "CNY"))
    assert aq.sum_exact() == want


ROWS_NEAR_INT64 = st.fixed_dictionaries({
    "text": huge_tokens, "image": huge_tokens, "audio": huge_tokens, "output": huge_tokens,
    "output_audio": huge_tokens, "c": st.integers(0, 100), "w": st.integers(0, 100),
    "r": st.integers(0, 100)})


def near_int64_row(d):
    n = d["text"] + d["image"] + d["audio"]
    cached = n * d["c"] // 100
    return {"text": d["text"], "image": d["image"], "audio": d["audio"], "output": d["output"],
            "reasoning": d["output"] * d["r"] // 100, "cached": cached,
            "cache_write": (n - cached) * d["w"] // 100, "output_audio": d["output_audio"]}


@settings(max_examples=60)
@given(st.lists(ROWS_NEAR_INT64, min_size=1, max_size=5),
       st.sampled_from(["half_up", "half_even", "floor"]))
def test_batch_equals_scalar_near_and_past_int64(ds, rounding):
    book = price_book(MIXED.format(minimum="0.01"), rounding=rounding)
    assert_batch_matches_scalar(book, "mix", [near_int64_row(d) for d in ds])


@settings(max_examples=60)
@given(st.lists(st.tuples(huge_tokens, huge_tokens, huge_tokens, st.integers(0, 100)),
                min_size=1, max_size=5))
def test_batch_equals_scalar_on_context_tiers_near_int64(rs):
    b = tm.load_price_book("vendors-2026-11")
    rows_ = [{"text": t, "image": i, "output": o, "cached": (t + i) * c // 100}
             for t, i, o, c in rs]
    assert_batch_matches_scalar(b, "qwen3-vl-plus", rows_, at=AT)
