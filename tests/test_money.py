"""Money: exact Decimal amounts, one currency, rounding only at the declared boundary."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import money_amounts
from tokenmeter.pricing.money import (
    CURRENCIES,
    ROUNDING_MODES,
    canonical,
    minor_units,
    rate_per,
    round_amount,
)


def trapped() -> decimal.Context:
    """A wide context that raises on the first inexact operation."""
    return decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


def test_built_from_str_int_decimal():
    assert tm.Money("3.50", "CNY").amount == Decimal("3.50")
    assert tm.Money(3, "usd").currency == "USD"
    assert tm.Money(Decimal("0.07"), "CNY") == tm.Money("0.070", "CNY")


@pytest.mark.parametrize("bad", [0.1, 3.5, float("nan"), True])
def test_float_and_bool_are_type_errors(bad):
    with pytest.raises(TypeError, match="str, int or Decimal"):
        tm.Money(bad, "CNY")


def test_float_multiplier_is_a_type_error():
    with pytest.raises(TypeError):
        tm.Money("1", "CNY") * 0.5


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", "1e"])
def test_non_numbers_are_pricing_errors(bad):
    with pytest.raises(tm.PricingError):
        tm.Money(bad, "CNY")


def test_unknown_currency():
    with pytest.raises(tm.PricingError, match="unknown currency 'XYZ'"):
        tm.Money("1", "XYZ")


def test_currency_mismatch():
    with pytest.raises(tm.CurrencyMismatchError, match="different currencies"):
        tm.Money("1", "CNY") + tm.Money("1", "USD")
    with pytest.raises(tm.CurrencyMismatchError):
        _ = tm.Money("1", "CNY") < tm.Money("2", "USD")
    # Also catchable as the builtin a caller would reach for.
    with pytest.raises(TypeError):
        tm.Money("1", "CNY") - tm.Money("1", "USD")


def test_sum_and_arithmetic():
    parts = [tm.Money("0.0525", "CNY"), tm.Money("0.0175", "CNY")]
    assert sum(parts) == tm.Money("0.07", "CNY")
    assert tm.Money("2", "CNY") * 3 == tm.Money("6", "CNY")
    assert Decimal("0.5") * tm.Money("2", "CNY") == tm.Money("1", "CNY")
    assert -tm.Money("1", "CNY") == tm.Money("-1", "CNY")
    assert tm.Money("1", "CNY") < tm.Money("1.01", "CNY")
    assert not tm.Money.zero("CNY")


def test_minor_units():
    assert minor_units("CNY") == 2
    assert minor_units("USD") == 2
    assert minor_units("JPY") == 0
    assert minor_units("KWD") == 3
    assert tm.Money("1", "JPY").minor_units == 0
    assert tm.Money.from_minor(350, "CNY") == tm.Money("3.50", "CNY")
    assert tm.Money("3.505", "CNY").to_minor() == 351


def test_rounding_modes_are_named():
    m = tm.Money("0.125", "CNY")
    assert m.round().amount == Decimal("0.13")  # half_up: halves away from zero
    assert (-m).round().amount == Decimal("-0.13")
    assert m.round("half_even").amount == Decimal("0.12")
    assert m.round("down").amount == Decimal("0.12")
    assert tm.Money("2.5", "JPY").round().amount == Decimal("3")
    with pytest.raises(tm.PricingError, match="unknown rounding mode"):
        m.round("bankers")


def test_json_is_decimal_strings():
    d = tm.Money("3.5", "CNY").to_dict()
    assert d == {"amount": "3.50", "currency": "CNY"}
    assert json.loads(json.dumps(d)) == d
    assert tm.Money.from_dict(d) == tm.Money("3.50", "CNY")
    assert canonical(Decimal("0.0000035000"), "CNY") == "0.0000035"
    assert canonical(Decimal("1E+1"), "CNY") == "10.00"
    assert canonical(Decimal("-0.000"), "USD") == "0.00"
    assert str(tm.Money("7", "JPY")) == "7 JPY"


def test_exactness_is_enforced_not_assumed():
    # 101 significant digits cannot be held exactly: refused, never rounded.
    huge = tm.Money("1" * 60, "CNY")
    with pytest.raises(tm.PricingError, match="significant digits"):
        huge * int("1" * 60)


def test_rate_per_declares_its_rounding():
    # The flat ¥0.50 video generation against its 147 600 latent tokens.
    assert rate_per(tm.Money("0.50", "CNY"), 147_600) == Decimal("3.387534")
    assert rate_per(tm.Money("0.50", "CNY"), 147_600, places=2, mode="down") == Decimal("3.38")
    with pytest.raises(tm.PricingError):
        rate_per(tm.Money("0.50", "CNY"), 0)


@given(money_amounts, money_amounts, money_amounts)
def test_addition_is_exact_associative_commutative(a, b, c):
    with decimal.localcontext(trapped()):
        x, y, z = (tm.Money(v, "USD") for v in (a, b, c))
        assert (x + y) + z == x + (y + z)
        assert x + y == y + x
        assert (x + y).amount == a + b
        assert sum([x, y, z]) == x + y + z


@given(money_amounts, st.sampled_from(sorted(CURRENCIES)), st.sampled_from(sorted(ROUNDING_MODES)))
def test_rounding_error_is_bounded_and_stated(a, cur, mode):
    with decimal.localcontext(trapped()):
        r = round_amount(a, cur, mode)
        unit = Decimal(1).scaleb(-minor_units(cur))
        err = abs(r - a)
        assert err < unit
        if mode.startswith("half"):
            assert err <= unit / 2
        # The rounded value is a whole number of minor units.
        assert (r / unit) == (r / unit).to_integral_value()


@given(money_amounts)
def test_half_up_is_symmetric(a):
    assert round_amount(-a, "CNY") == -round_amount(a, "CNY")
