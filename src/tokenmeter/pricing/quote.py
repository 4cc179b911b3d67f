"""Quotes: the priced lines of a request or a period, exact and rounded side by side."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from ..errors import CurrencyMismatchError, PricingError
from .money import Money, canonical, exact_context, negate, normal, round_amount

__all__ = ["LINE_KINDS", "Quote", "QuoteLine", "line_order"]

#: ``charge`` lines are rated usage; ``allowance`` lines take free units back off;
#: ``included`` lines show quantities a per-item price covers; ``minimum``/``maximum``
#: adjust the rounded subtotal to a charge limit; ``credit`` lines spend credits.
LINE_KINDS = ("charge", "included", "allowance", "minimum", "maximum", "credit")
_RATED = ("charge", "included", "allowance")
_ZERO = Decimal(0)
_KIND_ORDER = {k: i for i, k in enumerate(LINE_KINDS)}
_MODALITY_ORDER = {m: i for i, m in enumerate(("text", "image", "video", "audio", ""))}
_DIRECTION_ORDER = {d: i for i, d in enumerate((
    "input+output", "input", "cached", "cache_write", "output", "reasoning", "generation"))}


@dataclass(frozen=True, slots=True, kw_only=True)
class QuoteLine:
    """One priced line.

    Attributes:
        kind: one of :data:`LINE_KINDS`.
        modality: ``text``/``image``/``video``/``audio``, or ``""``.
        direction: ``input``, ``cached``, ``cache_write``, ``output``, ``reasoning``,
            ``input+output``, ``generation``, or the adjustment kind.
        unit: ``token``, ``second``, ``item`` or ``charge``.
        quantity: how many units.
        unit_price: the price of one unit after multipliers, for linear rates; ``None``
            for tiered, package and adjustment lines.
        per: the unit count the book quotes its price for (1 000 000 for per-1M prices).
        amount: the exact amount, never rounded.
        rounded: :attr:`amount` rounded once to the currency's minor unit.
        rule: the rule that produced the amount, in words.
        source, as_of: where the price was published, and when it was read.
    """

    kind: str
    modality: str
    direction: str
    unit: str
    quantity: Decimal
    unit_price: Decimal | None
    per: int
    amount: Decimal
    rounded: Decimal
    rule: str
    source: str
    as_of: str

    def __post_init__(self) -> None:
        if self.kind not in LINE_KINDS:
            raise PricingError(f"line kind must be one of {LINE_KINDS}, got {self.kind!r}")

    @property
    def price(self) -> Decimal | None:
        """:attr:`unit_price` × :attr:`per` (the figure a price list shows)."""
        if self.unit_price is None:
            return None
        with exact_context():
            return self.unit_price * self.per

    def _key(self) -> tuple[Any, ...]:
        return (self.kind, self.modality, self.direction, self.unit, self.unit_price,
                self.per, self.rule, self.source, self.as_of)

    def to_dict(self, currency: str) -> dict[str, Any]:
        """JSON-safe: every number a decimal string."""
        price = self.price
        return {
            "kind": self.kind,
            "modality": self.modality,
            "direction": self.direction,
            "unit": self.unit,
            "quantity": format(normal(self.quantity) if self.quantity else _ZERO, "f"),
            "price": None if price is None else format(normal(price), "f"),
            "per": self.per,
            "amount": canonical(self.amount, currency),
            "rounded": canonical(self.rounded, currency),
            "rule": self.rule,
            "source": self.source,
            "as_of": self.as_of,
        }


def line_order(line: QuoteLine) -> tuple[Any, ...]:
    """The sort key that gives every quote, single or added up, one stable line order."""
    return (_KIND_ORDER[line.kind], _DIRECTION_ORDER.get(line.direction, 99),
            _MODALITY_ORDER.get(line.modality, 99), line.unit, line.rule,
            line.unit_price if line.unit_price is not None else Decimal(-1), line.source)


def _sum(values: Iterable[Decimal]) -> Decimal:
    with exact_context():
        return sum(values, _ZERO)


@dataclass(frozen=True, slots=True, kw_only=True)
class Quote:
    """The price of a request (or of a billing period's usage) under one price book.

    ``total`` is the sum of the rounded lines; each line also keeps its exact amount.
    Quotes of the same model and book add (``q1 + q2``, ``sum(quotes)``): lines with the
    same rate merge and are rounded once more from their exact sums, as an invoice
    rounds once per line.

    Attributes:
        book: the price book's id.
        version: the book version(s) used (``"a+b"`` after adding quotes of two).
        model: the model id the book priced.
        currency: ISO 4217 code.
        rounding: the rounding mode's name (``"half_up"``).
        at: the request time given, or ``None``.
        batch: whether batch pricing applied.
        scope: ``"request"`` or ``"period"``.
        lines: the lines, in a stable order.
        notes: how the rules were chosen, in words.
    """

    book: str
    version: str
    model: str
    currency: str
    rounding: str
    lines: tuple[QuoteLine, ...]
    at: dt.datetime | None = None
    batch: bool = False
    scope: Literal["request", "period"] = "request"
    notes: tuple[str, ...] = ()

    # -- amounts ------------------------------------------------------------------------

    @property
    def total(self) -> Money:
        """What is owed: the sum of every line's rounded amount."""
        return Money(_sum(ln.rounded for ln in self.lines), self.currency)

    @property
    def subtotal(self) -> Money:
        """Rated usage after allowances, rounded per line, before limits and credits."""
        return Money(_sum(ln.rounded for ln in self.lines if ln.kind in _RATED), self.currency)

    @property
    def exact(self) -> Money:
        """Rated usage after allowances, unrounded (the sum of exact amounts)."""
        return Money(_sum(ln.amount for ln in self.lines if ln.kind in _RATED), self.currency)

    @property
    def rounding_difference(self) -> Money:
        """:attr:`subtotal` − :attr:`exact`: under half a minor unit per rated line."""
        return self.subtotal - self.exact

    @property
    def credits_used(self) -> Money:
        """Credits this quote spent (positive)."""
        return Money(negate(_sum(ln.amount for ln in self.lines if ln.kind == "credit")),
                     self.currency)

    # -- presentation -------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A stable, JSON-safe dict: decimal strings, never floats; same usage and book
        version give a byte-identical ``json.dumps(q.to_dict(), sort_keys=True)``."""
        return {
            "book": self.book,
            "version": self.version,
            "model": self.model,
            "currency": self.currency,
            "rounding": self.rounding,
            "scope": self.scope,
            "at": None if self.at is None else self.at.isoformat(),
            "batch": self.batch,
            "lines": [ln.to_dict(self.currency) for ln in self.lines],
            "exact": canonical(self.exact.amount, self.currency),
            "subtotal": canonical(self.subtotal.amount, self.currency),
            "credits_used": canonical(self.credits_used.amount, self.currency),
            "total": canonical(self.total.amount, self.currency),
            "notes": list(self.notes),
        }

    def explain(self) -> str:
        """Every line and how it was reached, in words."""
        cur = self.currency
        head = (f"{self.model} under price book {self.book} version {self.version} ({cur}; "
                f"each line rounded {self.rounding.replace('_', '-')} to "
                f"{Money.zero(cur).minor_units} decimals)")
        if self.at is not None:
            head += f", at {self.at.isoformat()}"
        if self.batch:
            head += ", batch"
        out = [head]
        last_source = None
        for ln in self.lines:
            q = format(normal(ln.quantity) if ln.quantity else _ZERO, "f")
            if ln.kind in ("minimum", "maximum", "credit"):
                out.append(f"  {ln.kind}: {canonical(ln.rounded, cur)} {cur} ({ln.rule})")
                continue
            plural = "" if ln.quantity == 1 else "s"
            what = (f"{q} generation{plural}" if ln.direction == "generation" else
                    f"{q} {ln.modality} {ln.direction} {ln.unit}{plural}")
            if ln.kind == "included":
                out.append(f"  {what}: included in the per-item price")
                continue
            label = "free allowance, " if ln.kind == "allowance" else ""
            out.append(f"  {label}{what} at {ln.rule} = {canonical(ln.amount, cur)} "
                       f"-> {canonical(ln.rounded, cur)} {cur}")
            if (ln.source, ln.as_of) != last_source:
                out.append(f"      source: {ln.source} (as of {ln.as_of})")
                last_source = (ln.source, ln.as_of)
        for note in self.notes:
            out.append(f"  note: {note}")
        out.append(f"total: {canonical(self.total.amount, cur)} {cur} "
                   f"(exact {canonical(self.exact.amount, cur)}"
                   + (f", credits used {canonical(self.credits_used.amount, cur)}"
                      if self.credits_used else "") + ")")
        return "\n".join(out)

    # -- combining ----------------------------------------------------------------------

    def __add__(self, other: object) -> Quote:
        if not isinstance(other, Quote):
            return NotImplemented
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot add a {self.currency} quote and a {other.currency} quote")
        if (other.book, other.model, other.rounding) != (self.book, self.model, self.rounding):
            raise PricingError(
                "only quotes of the same book, model and rounding add; got "
                f"{self.book}/{self.model} and {other.book}/{other.model}")
        merged: dict[tuple[Any, ...], QuoteLine] = {}
        for ln in (*self.lines, *other.lines):
            key = ln._key()
            have = merged.get(key)
            if have is None:
                merged[key] = ln
                continue
            with exact_context():
                amount = have.amount + ln.amount
                quantity = have.quantity + ln.quantity
                # Rated lines round once from the exact sum; limits and credits are already
                # whole minor units.
                rounded = (round_amount(amount, self.currency, self.rounding)
                           if ln.kind in _RATED else have.rounded + ln.rounded)
            merged[key] = replace(have, quantity=quantity, amount=amount, rounded=rounded)
        lines = tuple(sorted(merged.values(), key=line_order))
        versions = "+".join(dict.fromkeys((*self.version.split("+"), *other.version.split("+"))))
        return Quote(book=self.book, version=versions, model=self.model, currency=self.currency,
                     rounding=self.rounding, lines=lines, at=None,
                     batch=self.batch and other.batch, scope=self.scope,
                     notes=tuple(dict.fromkeys((*self.notes, *other.notes))))

    def __radd__(self, other: object) -> Quote:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self
        return NotImplemented
