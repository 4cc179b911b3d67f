"""Price books: the packaged books, the product's worked examples, versions, the TOML
schema's errors, determinism and the public quote API."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenmeter as tm
from tokenmeter.pricing import rate_per

UTC = dt.timezone.utc
CST = dt.timezone(dt.timedelta(hours=8))


def trapped() -> decimal.Context:
    return decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


# -- the packaged books ---------------------------------------------------------------

def test_packaged_books_are_listed_and_load():
    assert tm.list_price_books() == ["cn-2025", "vendors-2026-11"]
    for name in tm.list_price_books():
        b = tm.load_price_book(name)
        assert b.id == name
        for v in b.versions:
            for price in v.models.values():
                assert price.source, price.id
                assert price.as_of, price.id


def test_default_book_is_cn_2025_in_cny():
    b = tm.load_price_book()
    assert (b.id, b.currency, b.rounding) == ("cn-2025", "CNY", "half_up")
    assert b.models() == sorted([
        "doubao", "ernie-4.0", "gpt-4o-mini", "hunyuan", "llama-3.1-70b-instruct",
        "qwen-omni-turbo", "qwen2.5-72b-instruct", "wan2.1-t2v-14b"])


@pytest.mark.parametrize(("model", "price"), [
    ("qwen2.5-72b-instruct", "3.50"), ("llama-3.1-70b-instruct", "5.20"),
    ("gpt-4o-mini", "4.00"), ("ernie-4.0", "4.80"), ("hunyuan", "5.00"), ("doubao", "6.00"),
])
def test_product_brief_text_prices(model, price):
    q = tm.load_price_book().quote(model, tm.Usage(text=1_000_000))
    assert q.total == tm.Money(price, "CNY")
    assert q.exact == tm.Money(price, "CNY")


def test_worked_example_one_million_qwen_tokens_is_exactly_3_50():
    with decimal.localcontext(trapped()):
        q = tm.load_price_book().quote("Qwen/Qwen2.5-72B-Instruct", tm.Usage(text=1_000_000))
    assert q.model == "qwen2.5-72b-instruct"
    assert q.total.amount == Decimal("3.50")
    assert q.lines[0].amount == Decimal("3.50")
    assert q.to_dict()["total"] == "3.50"


@given(st.integers(0, 20_000))
def test_worked_example_a_20k_token_conversation_is_7_fen(input_tokens):
    # However the 20 000 tokens split between the customer's input and the model's
    # output, cn-2025 prices text tokens at one rate, so the conversation is one line.
    with decimal.localcontext(trapped()):
        q = tm.load_price_book().quote("qwen2.5-72b-instruct", tm.Usage(text=input_tokens),
                                       output_tokens=20_000 - input_tokens if input_tokens < 20_000
                                       else 0)
    assert q.total == tm.Money("0.07", "CNY")
    assert q.exact == tm.Money("0.07", "CNY")


def test_worked_example_video_generation_flat_vs_latent_tokens():
    b = tm.load_price_book()
    # 147 600 = Wan 2.1's DiT tokens for 10 s of 1280x720 at 16 fps (41 x 45 x 80).
    u = tm.Usage(generations=1, output_video=147_600, output_video_seconds=10)
    q = b.quote("wan2.1-t2v", u)
    assert q.total == tm.Money("0.50", "CNY")
    included = {ln.unit: ln.quantity for ln in q.lines if ln.kind == "included"}
    assert included == {"token": 147_600, "second": 10}
    # Per token, if someone asks: ¥0.50 / 147 600 ≈ ¥3.39 per 1M latent tokens, close to
    # Qwen2.5-72B's ¥3.50 per 1M text tokens; a division, so its rounding is declared.
    assert rate_per(q.total, 147_600) == Decimal("3.387534")
    assert rate_per(q.total, 147_600, places=2) == Decimal("3.39")
    # Two generations cost ¥1.00; a 15 s generation is not what the price covers.
    assert b.quote("wan2.1-t2v", u + u).total == tm.Money("1.00", "CNY")
    with pytest.raises(tm.PricingError, match="up to 10 s"):
        b.quote("wan2.1-t2v", tm.Usage(generations=1, output_video_seconds=15))


@pytest.mark.parametrize(("model", "usage", "what"), [
    ("qwen2.5-72b-instruct", tm.Usage(image=1198), "image input"),
    ("gpt-4o-mini", tm.Usage(audio=10), "audio input"),
    ("wan2.1-t2v-14b", tm.Usage(output_video=10), "video output"),
    ("qwen2.5-72b-instruct", tm.Usage(generations=1), "generations"),
])
def test_unpriced_modalities_raise_never_zero(model, usage, what):
    with pytest.raises(tm.UnpricedModelError, match=what) as info:
        tm.load_price_book().quote(model, usage)
    assert "never bills an unpriced item at zero" in str(info.value)
    assert isinstance(info.value, KeyError)


def test_unpriced_and_unknown_models():
    b = tm.load_price_book()
    with pytest.raises(tm.UnpricedModelError, match="no price for model 'gpt-4o'"):
        b.quote("gpt-4o", tm.Usage(text=1))
    with pytest.raises(tm.UnpricedModelError, match=r"Close entries: qwen2\.5-72b-instruct"):
        b.quote("qwen2.5-72b-instruc", tm.Usage(text=1))


def test_zero_usage_costs_zero_without_lines():
    q = tm.load_price_book().quote("doubao", tm.Usage())
    assert q.lines == ()
    assert q.total == tm.Money("0", "CNY")


def test_output_tokens_argument():
    b = tm.load_price_book()
    q = b.quote("doubao", tm.Usage(text=500_000), output_tokens=500_000)
    assert q.total == tm.Money("6.00", "CNY")
    with pytest.raises(tm.PricingError, match="already has output"):
        b.quote("doubao", tm.Usage(text=1, output=2), output_tokens=3)
    with pytest.raises(tm.PricingError):
        b.quote("doubao", tm.Usage(text=1), output_tokens=-1)


def test_resolves_catalog_names_and_model_objects():
    b = tm.load_price_book()
    model = tm.get_model("meta-llama/Llama-3.1-70B-Instruct")
    assert b.quote(model, tm.Usage(text=10**6)).model == "llama-3.1-70b-instruct"
    assert b.quote("ernie-bot-4", tm.Usage(text=10**6)).total == tm.Money("4.80", "CNY")
    assert b.quote("openai/gpt-4o-mini", tm.Usage(text=10**6)).model == "gpt-4o-mini"


# -- quotes: determinism, dict, explain, addition ----------------------------------------

def test_quote_is_deterministic_and_json_safe():
    b = tm.load_price_book("vendors-2026-11")
    u = tm.Usage(text=250_000, image=1198, cached=100_000, output=5000)
    at = dt.datetime(2026, 11, 27, 12, tzinfo=UTC)
    one = json.dumps(b.quote("gemini-2.5-pro", u, at=at).to_dict(), sort_keys=True)
    fresh = tm.pricing.parse_price_book(
        Path(tm.pricing.book.packaged_path("prices", "vendors-2026-11.toml")).read_text(),
        where="copy")
    two = json.dumps(fresh.quote("gemini-2.5-pro", u, at=at).to_dict(), sort_keys=True)
    assert one == two
    d = json.loads(one)
    assert all(isinstance(ln["amount"], str) and isinstance(ln["rounded"], str)
               for ln in d["lines"])
    assert d["total"] == "0.49"

    def no_floats(x: object) -> bool:
        if isinstance(x, dict):
            return all(no_floats(v) for v in x.values())
        if isinstance(x, list):
            return all(no_floats(v) for v in x)
        return not isinstance(x, float)

    assert no_floats(d)


def test_explain_says_how():
    q = tm.load_price_book("vendors-2026-11").quote(
        "qwen-plus", tm.Usage(text=150_000, cached=100_000, output=2000), batch=True,
        at=dt.datetime(2026, 11, 27, tzinfo=UTC))
    text = q.explain()
    for needle in ("qwen-plus", "version 2026-08-16", "context tier 2", "cached ×0.4",
                   "batch ×0.5", "half-up", "help.aliyun.com", "total: 0.13 CNY"):
        assert needle in text, needle


def test_quotes_add_and_round_once_per_line():
    b = tm.load_price_book()
    small = b.quote("doubao", tm.Usage(text=1000))  # ¥0.006 -> 0.01
    assert small.total == tm.Money("0.01", "CNY")
    total = sum([small] * 10)
    assert total.exact == tm.Money("0.06", "CNY")
    assert total.total == tm.Money("0.06", "CNY")  # not 10 x 0.01
    assert total.lines[0].quantity == 10_000
    with pytest.raises(tm.PricingError):
        small + b.quote("hunyuan", tm.Usage(text=1))


def test_credits_spend_balance():
    b = tm.load_price_book()
    q = b.quote("doubao", tm.Usage(text=1_000_000), credits=tm.Money("2.50", "CNY"))
    assert q.credits_used == tm.Money("2.50", "CNY")
    assert q.total == tm.Money("3.50", "CNY")
    q = b.quote("doubao", tm.Usage(text=1_000_000), credits=tm.Money("100", "CNY"))
    assert q.total == tm.Money("0", "CNY")
    assert q.credits_used == tm.Money("6.00", "CNY")
    with pytest.raises(tm.CurrencyMismatchError):
        b.quote("doubao", tm.Usage(text=1), credits=tm.Money("1", "USD"))


def test_money_in_quote_is_never_float():
    q = tm.load_price_book().quote("doubao", tm.Usage(text=123_457))
    assert isinstance(q.total.amount, Decimal)
    assert all(isinstance(ln.amount, Decimal) for ln in q.lines)


# -- versions -----------------------------------------------------------------------------

VERSIONED = """
[m."x"]
text = "{price}"
source = "s"
as_of = "2026-01-01"
"""


@given(st.lists(st.datetimes(min_value=dt.datetime(2020, 1, 1),
                             max_value=dt.datetime(2030, 1, 1)),
                min_size=1, max_size=5, unique=True),
       st.datetimes(min_value=dt.datetime(2019, 1, 1), max_value=dt.datetime(2031, 1, 1)))
def test_version_selection_by_timestamp(starts, at):
    starts = sorted(s.replace(tzinfo=UTC, microsecond=0) for s in starts)
    starts = sorted(set(starts))
    at = at.replace(tzinfo=UTC)
    body = ""
    for i, s in enumerate(starts):
        body += (f'\n[[versions]]\nversion = "v{i}"\neffective_from = {s.isoformat()}\n'
                 + VERSIONED.format(price=i + 1).replace("[m.", "[versions.models."))
    b = tm.pricing.parse_price_book(
        'schema = 1\nid = "t"\ncurrency = "CNY"\n' + body, where="t.toml")
    expected = [i for i, s in enumerate(starts) if s <= at]
    if not expected:
        with pytest.raises(tm.PricingError, match="no version in effect"):
            b.quote("x", tm.Usage(text=10**6), at=at)
        return
    q = b.quote("x", tm.Usage(text=10**6), at=at)
    assert q.version == f"v{expected[-1]}"
    assert q.total == tm.Money(expected[-1] + 1, "CNY")
    # The instant a version starts belongs to it; one microsecond earlier does not.
    k = expected[-1]
    assert b.version_at(starts[k]).version == f"v{k}"
    if k:
        assert b.version_at(starts[k] - dt.timedelta(microseconds=1)).version == f"v{k - 1}"


def test_vendor_book_versions_deepseek():
    b = tm.load_price_book("vendors-2026-11")
    u = tm.Usage(text=1_000_000)
    # 2025 regime: deepseek-chat is V3 with a UTC off-peak window.
    q = b.quote("deepseek-chat", u, at=dt.datetime(2025, 3, 3, 12, tzinfo=UTC))
    assert (q.version, q.total) == ("2025-02-26", tm.Money("0.27", "USD"))
    q = b.quote("deepseek-chat", u, at=dt.datetime(2025, 3, 3, 23, 59, tzinfo=UTC))
    assert q.total == tm.Money("0.14", "USD")  # 0.135 rounds half-up
    # Between the regimes no version is in effect: an error, not a guess.
    with pytest.raises(tm.PricingError, match="no version in effect"):
        b.quote("deepseek-chat", u, at=dt.datetime(2026, 1, 1, tzinfo=UTC))
    # 2026: deepseek-chat is billed as V4 Flash.
    q = b.quote("deepseek-chat", u, at=dt.datetime(2026, 11, 27, 20, tzinfo=CST))
    assert (q.version, q.model, q.total) == ("2026-08-16", "deepseek-flash",
                                             tm.Money("0.15", "USD"))


def test_naive_at_is_refused():
    with pytest.raises(tm.PricingError, match="timezone-aware"):
        tm.load_price_book().quote("doubao", tm.Usage(text=1), at=dt.datetime(2026, 1, 1))


def test_inherits_copies_the_earlier_version():
    b = tm.pricing.parse_price_book("""
schema = 1
id = "t"
currency = "USD"
[[versions]]
version = "a"
effective_from = 2026-01-01T00:00:00Z
[versions.models."x"]
input = "1"
source = "s"
as_of = "2026-01-01"
[versions.models."y"]
input = "2"
source = "s"
as_of = "2026-01-01"
[[versions]]
version = "b"
effective_from = 2026-06-01T00:00:00Z
inherits = "a"
[versions.models."y"]
input = "3"
source = "s2"
as_of = "2026-06-01"
""")
    late = dt.datetime(2026, 7, 1, tzinfo=UTC)
    assert b.quote("x", tm.Usage(text=10**6), at=late).total == tm.Money("1", "USD")
    assert b.quote("y", tm.Usage(text=10**6), at=late).total == tm.Money("3", "USD")


# -- schema errors name the file, line and key ---------------------------------------------

GOOD = """schema = 1
id = "t"
currency = "CNY"

[[versions]]
version = "1"
effective_from = 2026-01-01T00:00:00Z

[versions.models."m"]
input = "1"
output = "2"
source = "s"
as_of = "2026-01-01"
"""


@pytest.mark.parametrize(("edit", "line", "message"), [
    (('output = "2"', "output = 2.5"), 11, r'versions\[0\]\.models\.m\.output: 2\.5 is a TOML '
                                           "float"),
    (('output = "2"', 'ouptut = "2"'), 11, "unknown key .*did you mean output"),
    (('source = "s"\n', ""), 9, "missing required key 'source'"),
    (("2026-01-01T00:00:00Z", "2026-01-01T00:00:00"), 7, "offset date-time"),
    (('input = "1"', 'input = "-1"'), 10, "must be a finite number >= 0"),
    (('currency = "CNY"', 'currency = "XXX"'), 3, "unknown currency"),
    (('input = "1"', 'input = { mode = "volume", tiers = [{price = "1"}] }'), 10,
     "must say which tier"),
    (('input = "1"', 'input = { price = "1", per = 300 }'), 10, "power of ten"),
    (('output = "2"', 'output = "2"\ntext = "3"'), 12, "combined text rate"),
    (("schema = 1", "schema = 2"), 1, "schema 1"),
])
def test_schema_errors_name_file_line_and_key(tmp_path, edit, line, message):
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(*edit), encoding="utf-8")
    with pytest.raises(tm.PriceBookError, match=message) as info:
        tm.load_price_book(path)
    assert str(info.value).startswith(f"{path}:{line}: "), str(info.value)


def test_good_file_loads_and_missing_file_is_named(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert tm.load_price_book(path).quote("m", tm.Usage(text=10**6)).total == \
        tm.Money("1", "CNY")
    with pytest.raises(tm.PriceBookError, match="cannot read price book"):
        tm.load_price_book(tmp_path / "nope.toml")
    with pytest.raises(tm.PriceBookError, match="not valid TOML"):
        tm.pricing.parse_price_book("x = ", where="broken.toml")


def test_window_and_context_errors_are_located():
    text = GOOD + """
[[versions.models."m".windows]]
label = "peak"
days = ["mon", "funday"]
hours = ["09:00-12:00"]
multiplier = "2"
"""
    with pytest.raises(tm.PriceBookError, match=r"^w\.toml:17: .*windows\[0\]\.days"):
        tm.pricing.parse_price_book(text, where="w.toml")
    text = GOOD + """
[versions.models."m".context]
boundary = "inclusive"
tiers = [{ up_to = 10, input = "1" }, { input = "2" }]
"""
    with pytest.raises(tm.PriceBookError, match=r"^c\.toml:16: .*context\.boundary"):
        tm.pricing.parse_price_book(text, where="c.toml")


def test_overlapping_versions_are_refused():
    start = "effective_from = 2026-01-01T00:00:00Z"
    text = GOOD.replace(start, start + "\neffective_to = 2026-09-01T00:00:00Z")
    text += GOOD[GOOD.index("[[versions]]"):].replace('"1"\neffective_from = 2026-01-01',
                                                      '"2"\neffective_from = 2026-06-01')
    with pytest.raises(tm.PriceBookError, match="overlaps"):
        tm.pricing.parse_price_book(text, where="o.toml")


def test_pricing_guide_examples_run():
    """The ```python blocks of docs/pricing.md run, in order, in one namespace."""
    guide = Path(__file__).resolve().parents[1] / "docs" / "pricing.md"
    text = guide.read_text(encoding="utf-8")
    blocks = [b.split("```", 1)[0] for b in text.split("```python\n")[1:]]
    assert len(blocks) >= 6
    namespace: dict[str, object] = {}
    for block in blocks:
        exec(compile(block, str(guide), "exec"), namespace)
