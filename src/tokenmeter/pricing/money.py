"""Exact money: :class:`Money`, the currency table, and the rounding boundary.

Money is a ``Decimal`` amount and an ISO 4217 currency code. It is never a float: a
``float`` amount is a :class:`TypeError`, because ``0.1`` is not one tenth and a bill
that starts from a float can never be reproduced to the last digit.

All arithmetic on amounts runs in :data:`EXACT`, a decimal context with
``decimal.Inexact`` trapped: an operation whose result would need rounding raises
:class:`~tokenmeter.errors.PricingError` instead of losing a digit. Rounding happens
only in :func:`round_amount` (and :meth:`Money.round`), the declared boundary, with a
named mode.

Nothing here depends on the caller's ambient decimal context (``decimal.getcontext()``,
28 digits by default): sign changes use ``copy_negate``/``copy_abs``, shifts by powers of
ten and display normalisation run in a context wide enough to be exact by construction
(:func:`shift`, :func:`normal`), and everything else runs inside :func:`exact_context`.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Any

from ..errors import CurrencyMismatchError, PricingError

__all__ = [
    "CURRENCIES",
    "EXACT",
    "ROUNDING_MODES",
    "Money",
    "canonical",
    "exact_context",
    "minor_units",
    "negate",
    "normal",
    "rate_per",
    "round_amount",
    "shift",
    "to_decimal",
]

#: Significant digits available to exact arithmetic. 100 digits hold any product of a
#: 64-bit count and a price with dozens of decimals; past that an amount is refused
#: (``Inexact`` is trapped) rather than rounded.
PRECISION = 100

#: The context every amount is computed in: wide, and loud on the first lost digit.
EXACT = decimal.Context(
    prec=PRECISION,
    rounding=decimal.ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.DivisionByZero,
           decimal.Overflow],
)

# Rounding itself must not trap Inexact (losing digits is its whole purpose). Its
# precision is unbounded so that quantize never fails on a long amount, and so that
# shifts (scaleb) and normalize, which only move the exponent or drop trailing zeros,
# are exact by construction whatever the ambient context says.
_WIDE = decimal.Context(prec=decimal.MAX_PREC, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN,
                        traps=[decimal.InvalidOperation, decimal.Overflow,
                               decimal.DivisionByZero])

#: ISO 4217 minor units (digits after the decimal point) of the currencies a price book
#: may use. Source: ISO 4217 list one (SIX Group), checked 2026-11-27.
CURRENCIES: Mapping[str, int] = MappingProxyType({
    "AED": 2, "ARS": 2, "AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2,
    "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "IQD": 3, "ISK": 0, "JOD": 3, "JPY": 0,
    "KRW": 0, "KWD": 3, "LYD": 3, "MOP": 2, "MXN": 2, "MYR": 2, "NOK": 2, "NZD": 2,
    "OMR": 3, "PHP": 2, "PKR": 2, "PLN": 2, "QAR": 2, "RUB": 2, "SAR": 2, "SEK": 2,
    "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "TWD": 2, "UAH": 2, "UGX": 0, "USD": 2,
    "VND": 0, "XAF": 0, "XOF": 0, "ZAR": 2,
})

#: Rounding modes by name. ``half_up`` rounds halves away from zero (the fiat default:
#: 0.125 -> 0.13, -0.125 -> -0.13); ``half_even`` is banker's rounding.
ROUNDING_MODES: Mapping[str, str] = MappingProxyType({
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "half_down": decimal.ROUND_HALF_DOWN,
    "up": decimal.ROUND_UP,
    "down": decimal.ROUND_DOWN,
    "ceiling": decimal.ROUND_CEILING,
    "floor": decimal.ROUND_FLOOR,
})


@contextmanager
def exact_context() -> Iterator[decimal.Context]:
    """Run the body in :data:`EXACT`; a lost digit becomes a :class:`PricingError`.

    Every other decimal signal trapped in the body (an exponent past :data:`EXACT`'s
    range, an integer division whose quotient has too many digits) is a
    :class:`PricingError` too, never a bare :mod:`decimal` exception.
    """
    try:
        with decimal.localcontext(EXACT) as ctx:
            yield ctx
    except decimal.Overflow as exc:  # an Inexact subclass: test it first
        raise PricingError(
            f"an amount is too large to represent (its exponent passes {EXACT.Emax}); "
            "tokenmeter refuses to round it silently"
        ) from exc
    except decimal.Inexact as exc:
        raise PricingError(
            f"an amount needs more than {PRECISION} significant digits and cannot be "
            "represented exactly; tokenmeter refuses to round it silently"
        ) from exc
    except decimal.DecimalException as exc:
        raise PricingError(
            f"exact decimal arithmetic failed ({type(exc).__name__}): an amount or quantity "
            f"needs more than {PRECISION} significant digits or is out of range"
        ) from exc


def shift(value: Decimal, places: int) -> Decimal:
    """``value × 10**places``: a change of exponent, exact whatever the ambient context.

    Raises:
        PricingError: the exponent would leave decimal's range.
    """
    with exact_context():
        return value.scaleb(places, context=_WIDE)


def normal(value: Decimal) -> Decimal:
    """``value`` without trailing zeros (``Decimal.normalize``), never rounded."""
    with exact_context():
        return value.normalize(_WIDE)


def negate(value: Decimal) -> Decimal:
    """``-value`` without a context (``copy_negate``); a zero stays ``+0``."""
    return value.copy_negate() if value else value.copy_abs()


def minor_units(currency: str) -> int:
    """Digits after the decimal point for ``currency`` (CNY/USD 2, JPY 0, KWD 3).

    Raises:
        PricingError: an unknown or malformed currency code.
    """
    try:
        return CURRENCIES[currency]
    except (KeyError, TypeError):
        raise PricingError(
            f"unknown currency {currency!r}; use an ISO 4217 code such as "
            f"{', '.join(('CNY', 'USD', 'EUR', 'JPY'))} (known: {', '.join(CURRENCIES)})"
        ) from None


def to_decimal(value: object, what: str = "amount") -> Decimal:
    """``value`` (``str``, ``int`` or ``Decimal``) as a finite ``Decimal``.

    Raises:
        TypeError: for a ``float`` (binary floats are not decimal money) or a ``bool``.
        PricingError: for text that is not a number, NaN or an infinity.
    """
    if isinstance(value, (bool, float)):
        hint = f"; write it as a string, e.g. {str(value)!r}" if isinstance(value, float) else ""
        raise TypeError(f"{what} must be str, int or Decimal, not {type(value).__name__}{hint}")
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, int):
        d = Decimal(value)
    elif isinstance(value, str):
        try:
            d = Decimal(value.strip().replace("_", ""))
        except decimal.InvalidOperation:
            raise PricingError(f"{what} {value!r} is not a decimal number") from None
    else:
        raise TypeError(f"{what} must be str, int or Decimal, not {type(value).__name__}")
    if not d.is_finite():
        raise PricingError(f"{what} must be finite, got {value!r}")
    return d


def round_amount(amount: Decimal, currency: str, mode: str = "half_up") -> Decimal:
    """``amount`` rounded to ``currency``'s minor unit with the named ``mode``.

    This is the only place tokenmeter drops digits.

    Raises:
        PricingError: an unknown currency or rounding mode.
    """
    try:
        rounding = ROUNDING_MODES[mode]
    except KeyError:
        raise PricingError(
            f"unknown rounding mode {mode!r}; known: {', '.join(ROUNDING_MODES)}"
        ) from None
    quantum = Decimal((0, (1,), -minor_units(currency)))
    with exact_context():  # only an exponent past decimal's range can fail here
        return amount.quantize(quantum, rounding=rounding, context=_WIDE)


def canonical(amount: Decimal, currency: str) -> str:
    """A stable decimal string: no exponent, at least the minor-unit digits, no other
    trailing zeros (``3.5`` CNY -> ``"3.50"``, ``0.00000350`` -> ``"0.0000035"``)."""
    digits = minor_units(currency)
    if not amount.is_finite():  # never reaches here (to_decimal refuses NaN/infinity)
        raise PricingError(f"amount {amount!r} is not finite")
    d = normal(amount)
    if d.is_zero():
        d = Decimal(0)
    exp = d.as_tuple().exponent
    if isinstance(exp, int) and exp > -digits:
        with exact_context():  # adds zeros only: exact in the wide context
            d = d.quantize(Decimal((0, (1,), -digits)), context=_WIDE)
    return format(d, "f")


def rate_per(total: Money, quantity: int | Decimal, per: int = 1_000_000, *,
             places: int = 6, mode: str = "half_up") -> Decimal:
    """The effective price of ``per`` units when ``quantity`` units cost ``total``.

    A division, so in general inexact (¥0.50 for 147 600 tokens is
    ¥3.38753387… per million): the result is rounded once, from the exact quotient, to
    ``places`` decimals with the named ``mode``, and is for display and comparison,
    never for billing.

    Raises:
        PricingError: a non-positive quantity or ``per``, or an unknown mode.
    """
    q = to_decimal(quantity, "quantity") if not isinstance(quantity, Decimal) else quantity
    if not q.is_finite() or q <= 0:
        raise PricingError(f"quantity must be > 0 to compute a rate, got {quantity}")
    if isinstance(per, bool) or not isinstance(per, int) or per < 1:
        raise PricingError(f"per must be an int >= 1, got {per!r}")
    if isinstance(places, bool) or not isinstance(places, int):
        raise PricingError(f"places must be an int, got {places!r}")
    if mode not in ROUNDING_MODES:
        raise PricingError(f"unknown rounding mode {mode!r}; known: {', '.join(ROUNDING_MODES)}")
    # In rationals, then one rounding: a quotient first rounded to some precision and
    # then to ``places`` could round twice (0.4999…9|7 -> 0.5 -> 1).
    exact = Fraction(total.amount) * per / Fraction(q) * Fraction(10) ** places
    return shift(Decimal(_round_ratio(exact.numerator, exact.denominator, mode)), -places)


def _round_ratio(num: int, den: int, mode: str) -> int:
    """``num / den`` (``den > 0``) rounded to an integer with the named mode."""
    neg = num < 0
    q, r = divmod(-num if neg else num, den)
    twice = 2 * r
    up = {
        "half_up": twice >= den,
        "half_even": twice > den or (twice == den and q % 2 == 1),
        "half_down": twice > den,
        "up": r > 0,
        "down": False,
        "ceiling": r > 0 and not neg,
        "floor": r > 0 and neg,
    }[mode]
    mag = q + 1 if up else q
    return -mag if neg else mag


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount of one currency.

    ``Money("3.50", "CNY")``; built from ``str``, ``int`` or ``Decimal`` (a ``float`` is a
    :class:`TypeError`). Arithmetic is exact and same-currency only; ``sum()`` works.
    The amount keeps every digit it was given or computed with; :meth:`round` is the
    declared rounding boundary.

    Attributes:
        amount: the exact amount.
        currency: the ISO 4217 code (upper case).
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.currency, str):
            raise TypeError(f"currency must be an ISO 4217 code string, got {self.currency!r}")
        code = self.currency.strip().upper()
        minor_units(code)  # validates
        object.__setattr__(self, "currency", code)
        object.__setattr__(self, "amount", to_decimal(self.amount, "Money amount"))

    # -- construction -------------------------------------------------------------------

    @classmethod
    def zero(cls, currency: str) -> Money:
        """``Money(0, currency)``."""
        return cls(Decimal(0), currency)

    @classmethod
    def from_minor(cls, units: int, currency: str) -> Money:
        """From an integer count of minor units (``from_minor(350, "CNY")`` is ¥3.50)."""
        if isinstance(units, bool) or not isinstance(units, int):
            raise TypeError(f"minor units must be an int, got {type(units).__name__}")
        return cls(shift(Decimal(units), -minor_units(currency.upper())), currency)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Money:
        """The inverse of :meth:`to_dict`."""
        return cls(data["amount"], data["currency"])

    # -- views --------------------------------------------------------------------------

    @property
    def minor_units(self) -> int:
        """Digits after the decimal point of this currency."""
        return CURRENCIES[self.currency]

    def round(self, mode: str = "half_up") -> Money:
        """This amount rounded to the currency's minor unit with the named mode."""
        return Money(round_amount(self.amount, self.currency, mode), self.currency)

    def to_minor(self, mode: str = "half_up") -> int:
        """The rounded amount as an integer count of minor units."""
        return int(shift(round_amount(self.amount, self.currency, mode), self.minor_units))

    def to_dict(self) -> dict[str, str]:
        """``{"amount": "3.50", "currency": "CNY"}``: decimal strings, never floats."""
        return {"amount": canonical(self.amount, self.currency), "currency": self.currency}

    def __str__(self) -> str:
        return f"{canonical(self.amount, self.currency)} {self.currency}"

    def __repr__(self) -> str:
        return f"Money('{format(self.amount, 'f')}', '{self.currency}')"

    # -- arithmetic ---------------------------------------------------------------------

    def _same(self, other: Money, op: str) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {op} {self} and {other}: different currencies; convert one "
                "explicitly first (tokenmeter never converts currencies)"
            )

    def __add__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "add")
        with exact_context():
            return Money(self.amount + other.amount, self.currency)

    def __radd__(self, other: object) -> Money:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self  # sum() starts from 0
        return NotImplemented

    def __sub__(self, other: object) -> Money:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "subtract")
        with exact_context():
            return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        # copy_negate/copy_abs take no context: ``-d`` and ``abs(d)`` would round to the
        # ambient context's 28 digits.
        return Money(negate(self.amount), self.currency)

    def __abs__(self) -> Money:
        return Money(self.amount.copy_abs(), self.currency)

    def __mul__(self, factor: object) -> Money:
        if isinstance(factor, (bool, float)) or not isinstance(factor, (int, Decimal)):
            if isinstance(factor, float):
                raise TypeError("cannot multiply Money by a float; use a Decimal or an int")
            return NotImplemented
        with exact_context():
            return Money(self.amount * to_decimal(factor, "factor"), self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount < other.amount

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount <= other.amount

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount > other.amount

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, Money):
            return NotImplemented
        self._same(other, "compare")
        return self.amount >= other.amount

    def __bool__(self) -> bool:
        return not self.amount.is_zero()
