"""Money: exact Decimal amounts, one currency, rounding only at the declared boundary."""

from __future__ import annotations

import decimal
import json
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import long_amounts, money_amounts
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


# -- no ambient context: exact whatever decimal.getcontext() says ------------------------------
#
# The properties above run inside a wide trapped context, which would hide an operation
# that runs in the caller's context instead of an exact one. These run in the interpreter's
# default context (28 digits, Inexact not trapped) -- no ``localcontext`` at all -- or in a
# deliberately hostile one, and must give the same digits.

def hostile() -> decimal.Context:
    """Three digits, truncating, nothing trapped: any leak shows."""
    return decimal.Context(prec=3, rounding=decimal.ROUND_DOWN, traps=[])


def assert_default_context() -> None:
    ctx = decimal.getcontext()
    assert ctx.prec == 28, "a test left a context behind"
    assert not ctx.traps[decimal.Inexact], "a test left a context behind"


def test_negation_keeps_every_digit_in_the_default_context():
    assert_default_context()
    digits = "1.234567890123456789012345678901234567"
    assert (-tm.Money(digits, "CNY")).amount == Decimal("-" + digits)
    assert abs(tm.Money("-" + digits, "CNY")).amount == Decimal(digits)
    assert -tm.Money(0, "CNY") == tm.Money.zero("CNY")
    assert repr(-tm.Money(0, "CNY")) == "Money('0', 'CNY')"  # no "-0"


def test_minor_units_keep_every_digit_in_the_default_context():
    assert_default_context()
    assert tm.Money.from_minor(10**40 + 1, "CNY").amount == Decimal("1" + "0" * 38 + ".01")
    assert tm.Money("1" * 40, "CNY").to_minor() == int("1" * 40) * 100
    # Display never rounds either, even past the 100 digits arithmetic may use.
    long = "0." + "1" * 120
    assert tm.Money(long, "CNY").to_dict()["amount"] == long
    assert tm.Money("1" * 120, "CNY").to_dict()["amount"] == "1" * 120 + ".00"


def fits(d: Decimal) -> bool:
    """Whether ``d`` has at most the 100 significant digits exact arithmetic holds."""
    return len(d.normalize(trapped()).as_tuple().digits) <= 100


@given(long_amounts, long_amounts, st.sampled_from(["default", "hostile"]))
def test_money_is_exact_in_any_ambient_context(a, b, which):
    # References are computed in a wide trapped context; the code under test in the
    # default context or a hostile one.
    with decimal.localcontext(trapped()):
        want_sum, want_diff = a + b, a - b
    assume(fits(want_sum) and fits(want_diff))

    def run() -> tuple[tm.Money, ...]:
        x, y = tm.Money(a, "CNY"), tm.Money(b, "CNY")
        neg = -x
        return (x, neg, abs(x), x + y, x - y, -neg, x + neg)

    if which == "default":
        assert_default_context()
        got = run()
    else:
        with decimal.localcontext(hostile()):
            got = run()
    x, neg, ab, s, d, back, zero = got
    assert neg.amount == a.copy_negate()
    assert ab.amount == a.copy_abs()
    assert ab.amount >= 0
    assert s.amount == want_sum
    assert d.amount == want_diff
    assert back == x
    assert not zero


def test_a_sum_past_100_digits_is_refused_in_the_default_context():
    assert_default_context()
    with pytest.raises(tm.PricingError, match="significant digits"):
        tm.Money("1e60", "CNY") + tm.Money("1e-60", "CNY")


@given(long_amounts, st.sampled_from(sorted(CURRENCIES)),
       st.sampled_from(sorted(ROUNDING_MODES)))
def test_round_trips_are_exact_in_the_default_context(a, cur, mode):
    assert_default_context()
    m = tm.Money(a, cur)
    assert tm.Money.from_dict(m.to_dict()) == m
    assert Decimal(m.to_dict()["amount"]) == a
    r = m.round(mode)
    assert tm.Money.from_minor(r.to_minor(mode), cur) == r
    with decimal.localcontext(trapped()):
        assert r.amount == round_amount(a, cur, mode)
    with decimal.localcontext(hostile()):
        assert m.round(mode) == r


def test_decimal_signals_become_pricing_errors():
    with pytest.raises(tm.PricingError, match="too large"):
        tm.Money("1e999999", "CNY") * 10
    with pytest.raises(tm.PricingError, match="significant digits"):
        tm.Money("1" * 101, "CNY") + tm.Money("0.1", "CNY")


def test_rate_per_rounds_once_from_the_exact_quotient():
    # 1 / (2·10^150 + 1) = 0.4999…(150 nines)… × 10^-150: rounding first to 100 digits
    # would give 0.5 and then, half-up, 1 × 10^-150.
    assert rate_per(tm.Money(1, "CNY"), 2 * 10**150 + 1, per=1, places=150) == 0
    assert rate_per(tm.Money(1, "CNY"), 3, per=1, places=2, mode="up") == Decimal("0.34")
    assert rate_per(tm.Money(-1, "CNY"), 3, per=1, places=2, mode="floor") == Decimal("-0.34")
    assert rate_per(tm.Money(1, "CNY"), 8, per=1, places=2, mode="half_even") == Decimal("0.12")
    with pytest.raises(tm.PricingError, match="per must be"):
        rate_per(tm.Money(1, "CNY"), 3, per=0)


@given(long_amounts, st.integers(1, 10**12), st.sampled_from(sorted(ROUNDING_MODES)),
       st.integers(0, 12))
def test_rate_per_error_is_bounded(a, q, mode, places):
    assert_default_context()
    got = rate_per(tm.Money(a, "USD"), q, per=1000, places=places, mode=mode)
    unit = Decimal(1).scaleb(-places)
    with decimal.localcontext(decimal.Context(prec=400, traps=[decimal.InvalidOperation])):
        err = abs(got - a * 1000 / q)  # 400 digits: far below the bound checked
        assert err < unit
        if mode.startswith("half"):
            assert err <= unit / 2
