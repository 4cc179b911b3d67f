"""Quotes are exact whatever the caller's decimal context.

The rule properties in ``test_pricing_rules.py`` wrap the code under test in a wide
trapped context, which hides any operation that runs in the *ambient* context instead
of an exact one. Everything here runs with no ``localcontext`` at all -- the interpreter's
default context, 28 digits, ``Inexact`` not trapped -- or in a hostile 3-digit one, on
amounts and counts longer than 28 digits. References are computed in a trapped context.
"""

from __future__ import annotations

import decimal
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import long_prices, price_book
from tokenmeter.pricing.rules import UnitRate


def trapped() -> decimal.Context:
    return decimal.Context(prec=400, traps=[decimal.Inexact, decimal.InvalidOperation])


def hostile() -> decimal.Context:
    return decimal.Context(prec=3, rounding=decimal.ROUND_DOWN, traps=[])


def assert_default_context() -> None:
    ctx = decimal.getcontext()
    assert ctx.prec == 28, "a test left a decimal context behind"
    assert not ctx.traps[decimal.Inexact], "a test left a decimal context behind"


ALLOWANCE = """
[m."x"]
input = "3.1234567890123456789012345"
free = { input = 9999999 }
source = "s"
as_of = "2026-01-01"
"""


def test_allowance_cancels_its_charge_exactly():
    """The audit's repro: the allowance line negated its amount in the ambient context,
    so the quote's exact total came out as -1.2345E-27."""
    assert_default_context()
    q = price_book(ALLOWANCE).quote("x", tm.Usage(text=9_999_999))
    charge, allowance = (ln.amount for ln in q.lines)
    assert allowance == charge.copy_negate()
    assert q.exact.amount == 0
    assert q.total.amount == 0
    assert q.to_dict()["exact"] == "0.00"


def test_credit_line_keeps_every_digit():
    assert_default_context()
    b = price_book("""
[m."c"]
input = { price = "1", per = 1 }
source = "s"
as_of = "2026-01-01"
""")
    owed = 10**30 + 1
    q = b.quote("c", tm.Usage(text=owed), credits=tm.Money(10**31, "CNY"))
    assert q.credits_used.amount == owed
    assert q.total.amount == 0


def test_long_quantities_add_exactly():
    assert_default_context()
    b = price_book("""
[m."t"]
text = { price = "1", per = 1 }
input_video_seconds = "1"
source = "s"
as_of = "2026-01-01"
""")
    seconds = Decimal("1.23456789012345678901234567890123")
    q = b.quote("t", tm.Usage(text=10**40 + 1, output=10**40, video_seconds=seconds))
    got = {ln.unit: ln for ln in q.lines}
    assert got["token"].quantity == 2 * 10**40 + 1
    assert got["second"].quantity == seconds
    assert got["second"].amount == seconds
    with decimal.localcontext(trapped()):
        assert q.exact.amount == 2 * 10**40 + 1 + seconds
    assert q.to_dict()["lines"][0]["quantity"] == str(2 * 10**40 + 1)


def test_per_item_seconds_limit_is_compared_exactly():
    assert_default_context()
    b = tm.load_price_book()
    n = 10**30 + 1  # 10 s per generation: exactly 10**31 + 10 s are covered
    u = tm.Usage(generations=n, output_video_seconds=Decimal(10 * n))
    total = b.quote("wan2.1-t2v", u).total.amount
    with decimal.localcontext(trapped()):
        assert total == Decimal("0.50") * n
    with pytest.raises(tm.PricingError, match="up to 10 s"):
        b.quote("wan2.1-t2v", tm.Usage(generations=n, output_video_seconds=Decimal(10 * n + 1)))


def test_long_unit_prices_are_shown_exactly():
    assert_default_context()
    price = "3.12345678901234567890123456789012345"
    unit_price = UnitRate(price=Decimal(price), per=1_000_000).unit_price
    b = price_book(f'[m."p"]\ninput = "{price}"\nsource = "s"\nas_of = "2026-01-01"\n')
    q = b.quote("p", tm.Usage(text=7))
    assert q.lines[0].to_dict("CNY")["price"] == price
    with decimal.localcontext(trapped()):  # the test's own arithmetic must not round either
        assert unit_price == Decimal(price) / 10**6
        assert q.exact.amount == Decimal(price) * 7 / 10**6


BOOK = """
[m."b"]
input = "{input}"
output = "{output}"
cached_multiplier = "0.4"
batch_multiplier = "0.5"
free = {{ input = {free} }}
source = "s"
as_of = "2026-01-01"
"""

counts = st.one_of(st.integers(0, 10**7), st.integers(10**25, 10**40))


@given(long_prices, long_prices, st.integers(0, 10**7), counts, counts, st.integers(0, 100),
       st.booleans(), st.sampled_from([None, "0.01", "100"]))
def test_quotes_are_exact_and_context_free(pin, pout, free, text, output, cached_share, batch,
                                           credit):
    """No localcontext: the default context. Never negative, equal to the reference
    computed in a trapped context, and byte-identical under a hostile context."""
    assert_default_context()
    b = price_book(BOOK.format(input=pin, output=pout, free=free))
    cached = text * cached_share // 100
    u = tm.Usage(text=text, output=output, cached=cached)
    credits = None if credit is None else tm.Money(credit, "CNY")
    q = b.quote("b", u, batch=batch, credits=credits)
    with decimal.localcontext(hostile()):
        q_hostile = b.quote("b", u, batch=batch, credits=credits)
    assert json.dumps(q.to_dict(), sort_keys=True) == json.dumps(q_hostile.to_dict(),
                                                                 sort_keys=True)
    with decimal.localcontext(trapped()):
        factor = Decimal("0.5") if batch else Decimal(1)
        billable = max(text - cached - free, 0)
        want = factor * (billable * pin + cached * pin * Decimal("0.4") + output * pout) / 10**6
        assert q.exact.amount == want
        assert q.exact.amount >= 0
        assert q.total.amount >= 0
        assert all(ln.amount >= 0 for ln in q.lines if ln.kind == "charge")
        assert all(ln.amount <= 0 for ln in q.lines if ln.kind in ("allowance", "credit"))
        assert q.total.amount == q.subtotal.amount - q.credits_used.amount
