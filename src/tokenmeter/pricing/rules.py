"""Price rules: what a quantity costs, and how one request's usage becomes quantities.

The pieces, each a frozen value:

* :class:`Meter` — a billable quantity: (modality, direction, unit), e.g. text input
  tokens, cached audio tokens, generated video seconds, generation items.
* Rates — the cost of a *cumulative* quantity ``F(Q)`` within a billing period:
  :class:`UnitRate` (linear), :class:`GraduatedRate` (each slice at its tier's price),
  :class:`VolumeRate` (every unit at the price of the tier the total reaches) and
  :class:`PackageRate` (⌈Q/size⌉ packages). A request that follows ``P`` units of the
  same period costs ``F(P + q) - F(P)``; pricing a period's requests in any split sums to
  ``F(total)``.
* :class:`Priced` — a rate with the factor, source and provenance it was chosen with.
* Request-scoped selectors: :class:`ContextTiers` (the whole request billed at the tier
  its prompt falls in), :class:`TimeWindow` (wall-clock windows in a vendor's time zone,
  with a :class:`Calendar` of holidays), multimodal-input overrides.
* :class:`ModelPrice` — everything a price book says about one model.

:func:`rate_usage` turns a :class:`~tokenmeter.Usage` into exact quote lines. All
arithmetic runs in :data:`~tokenmeter.pricing.money.EXACT` (``Inexact`` trapped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, ClassVar, Literal, NamedTuple, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import PricingError, UnpricedModelError
from .money import exact_context, negate, round_amount, shift
from .quote import QuoteLine

if TYPE_CHECKING:
    from .._counts import Usage

__all__ = [
    "BOUNDARIES",
    "COMBINED_TEXT",
    "DAY_NAMES",
    "GENERATION",
    "METER_ORDER",
    "RATE_KEYS",
    "AnyRate",
    "Calendar",
    "ContextTier",
    "ContextTiers",
    "GraduatedRate",
    "Meter",
    "ModelPrice",
    "PackageRate",
    "Priced",
    "Rate",
    "Selection",
    "Tier",
    "TimeWindow",
    "UnitRate",
    "VolumeRate",
    "active_window",
    "effective_table",
    "meter_quantities",
    "rate_usage",
    "select_rules",
    "tier_index",
]

Boundary = Literal["upper-inclusive", "lower-inclusive"]
#: ``upper-inclusive``: a tier ending at ``b`` holds ``a < n <= b`` (Gemini's ``> 200k``,
#: DashScope's ``start < n <= end``, Stripe's ``up_to``). ``lower-inclusive``: it holds
#: ``a <= n < b`` (xAI's ``>= 128k``).
BOUNDARIES: tuple[Boundary, ...] = ("upper-inclusive", "lower-inclusive")

_MODALITIES = ("text", "image", "video", "audio")
_ZERO = Decimal(0)
_ONE = Decimal(1)


class Meter(NamedTuple):
    """One billable quantity (a named tuple: cheap to hash, as a quote hashes many).

    Attributes:
        modality: ``text``, ``image``, ``video``, ``audio``, or ``""`` for items.
        direction: ``input``, ``cached``, ``cache_write``, ``output``, ``reasoning``,
            ``input+output`` (one rate for text in both directions) or ``generation``.
        unit: ``token``, ``second`` or ``item``.
    """

    modality: str
    direction: str
    unit: str

    @property
    def label(self) -> str:
        """``"text input tokens"``, ``"video output seconds"``, ``"generations"``."""
        if self.direction == "generation":
            return "generations"
        return f"{self.modality} {self.direction} {self.unit}s"


COMBINED_TEXT = Meter("text", "input+output", "token")
GENERATION = Meter("", "generation", "item")

#: Price-book keys and the meter each prices.
RATE_KEYS: Mapping[str, Meter] = MappingProxyType({
    "text": COMBINED_TEXT,
    "input": Meter("text", "input", "token"),
    "input_text": Meter("text", "input", "token"),
    "input_image": Meter("image", "input", "token"),
    "input_video": Meter("video", "input", "token"),
    "input_audio": Meter("audio", "input", "token"),
    "cached": Meter("text", "cached", "token"),
    "cached_text": Meter("text", "cached", "token"),
    "cached_image": Meter("image", "cached", "token"),
    "cached_video": Meter("video", "cached", "token"),
    "cached_audio": Meter("audio", "cached", "token"),
    "cache_write": Meter("text", "cache_write", "token"),
    "cache_write_text": Meter("text", "cache_write", "token"),
    "cache_write_image": Meter("image", "cache_write", "token"),
    "cache_write_video": Meter("video", "cache_write", "token"),
    "cache_write_audio": Meter("audio", "cache_write", "token"),
    "output": Meter("text", "output", "token"),
    "output_text": Meter("text", "output", "token"),
    "reasoning": Meter("text", "reasoning", "token"),
    "output_audio": Meter("audio", "output", "token"),
    "output_image": Meter("image", "output", "token"),
    "output_video": Meter("video", "output", "token"),
    "generation": GENERATION,
    "input_video_seconds": Meter("video", "input", "second"),
    "input_audio_seconds": Meter("audio", "input", "second"),
    "output_video_seconds": Meter("video", "output", "second"),
})

#: The order lines appear in a quote (stable, so quotes are byte-identical).
METER_ORDER: tuple[Meter, ...] = tuple(dict.fromkeys(RATE_KEYS.values()))
_ORDER_INDEX = {m: i for i, m in enumerate(METER_ORDER)}


def _per_text(per: int, unit: str) -> str:
    if per == 1:
        return unit
    for size, suffix in ((1_000_000_000, "B"), (1_000_000, "M"), (1_000, "k")):
        if per >= size and per % size == 0:
            return f"{per // size}{suffix} {unit}s"
    return f"{per} {unit}s"


def _check_per(per: int) -> int:
    # A power of ten keeps price/per an exact decimal shift, never a division.
    if isinstance(per, bool) or not isinstance(per, int) or per < 1 or str(per).rstrip("0") != "1":
        raise PricingError(f"per must be a power of ten (1, 1000, 1000000…), got {per!r}")
    return per


def _check_price(price: Decimal, what: str) -> None:
    if not isinstance(price, Decimal) or not price.is_finite() or price < 0:
        raise PricingError(f"{what} must be a finite Decimal >= 0, got {price!r}")


def tier_index(value: Decimal, bounds: tuple[Decimal | None, ...],
               boundary: Boundary) -> int | None:
    """Which tier ``value`` falls in; ``None`` past the last bounded tier.

    ``bounds`` are the tiers' upper ends in increasing order (``None`` = open).
    """
    for i, up in enumerate(bounds):
        if up is None:
            return i
        if (value <= up) if boundary == "upper-inclusive" else (value < up):
            return i
    return None


class Rate(Protocol):
    """The cost of a cumulative quantity within a billing period."""

    kind: ClassVar[str]
    #: True when ``amount`` never decreases as the quantity grows.
    monotone: ClassVar[bool]

    def amount(self, quantity: Decimal) -> Decimal:
        """``F(quantity)``, exact."""

    def describe(self, currency: str, unit: str) -> str:
        """The rate in words."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitRate:
    """``price`` per ``per`` units: ``F(Q) = Q × price / per``.

    Attributes:
        price: the price of ``per`` units.
        per: a power of ten (1 000 000 for per-1M-token prices).
    """

    price: Decimal
    per: int = 1
    kind: ClassVar[str] = "unit"
    monotone: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_price(self.price, "price")
        _check_per(self.per)

    @property
    def unit_price(self) -> Decimal:
        """The price of one unit (an exact decimal shift of :attr:`price`)."""
        return shift(self.price, -(len(str(self.per)) - 1))

    def amount(self, quantity: Decimal) -> Decimal:
        with exact_context():
            return quantity * self.unit_price

    def describe(self, currency: str, unit: str) -> str:
        return f"{self.price} {currency} per {_per_text(self.per, unit)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Tier:
    """One tier of a graduated or volume rate.

    Attributes:
        up_to: the tier's upper end in units (``None`` = open, last tier only).
        price: price per ``per`` units inside the tier.
        flat: a flat amount added once when the quantity reaches the tier.
    """

    up_to: Decimal | None
    price: Decimal
    flat: Decimal = _ZERO

    def __post_init__(self) -> None:
        _check_price(self.price, "tier price")
        _check_price(self.flat, "tier flat")
        if self.up_to is not None and (not isinstance(self.up_to, Decimal) or self.up_to <= 0):
            raise PricingError(f"tier up_to must be a Decimal > 0, got {self.up_to!r}")


def _check_tiers(tiers: tuple[Tier, ...], *, open_end: bool) -> None:
    if not tiers:
        raise PricingError("a tiered rate needs at least one tier")
    last = _ZERO
    for i, t in enumerate(tiers):
        if t.up_to is None:
            if i != len(tiers) - 1:
                raise PricingError(f"only the last tier may be open (tier {i + 1} has no up_to)")
        elif t.up_to <= last:
            raise PricingError(
                f"tier up_to values must increase: tier {i + 1} ends at {t.up_to} after {last}"
            )
        else:
            last = t.up_to
    if open_end and tiers[-1].up_to is not None:
        raise PricingError("the last tier of a period rate must be open (no up_to), so every "
                           "quantity has a price")


def _tiers_text(tiers: tuple[Tier, ...], per: int, currency: str, unit: str) -> str:
    parts = []
    lo: Decimal = _ZERO
    for t in tiers:
        span = f"{lo}–{t.up_to}" if t.up_to is not None else f">{lo}"
        flat = f" + {t.flat} flat" if t.flat else ""
        parts.append(f"{span}: {t.price}{flat}")
        lo = t.up_to if t.up_to is not None else lo
    return f"{'; '.join(parts)} {currency} per {_per_text(per, unit)}"


@dataclass(frozen=True, slots=True, kw_only=True)
class GraduatedRate:
    """Each slice of the period's quantity at its own tier's price (Stripe ``graduated``).

    ``F(Q) = Σ_tiers (min(Q, up_to) - lower)⁺ × price / per + flat·[Q > lower]``.
    """

    tiers: tuple[Tier, ...]
    per: int = 1
    kind: ClassVar[str] = "graduated"
    monotone: ClassVar[bool] = True

    def __post_init__(self) -> None:
        _check_per(self.per)
        _check_tiers(self.tiers, open_end=True)

    def amount(self, quantity: Decimal) -> Decimal:
        places = -(len(str(self.per)) - 1)
        total = _ZERO
        lower = _ZERO
        with exact_context():
            for t in self.tiers:
                if quantity <= lower:
                    break
                top = quantity if t.up_to is None else min(quantity, t.up_to)
                total += (top - lower) * shift(t.price, places) + t.flat
                if t.up_to is None:
                    break
                lower = t.up_to
        return total

    def describe(self, currency: str, unit: str) -> str:
        return "graduated: " + _tiers_text(self.tiers, self.per, currency, unit)


@dataclass(frozen=True, slots=True, kw_only=True)
class VolumeRate:
    """Every unit at the price of the tier the period's total falls in (Stripe ``volume``).

    ``F(Q) = Q × price_k / per + flat_k`` where ``k`` is ``Q``'s tier; ``F(0) = 0``.
    Not monotone: crossing into a cheaper tier can lower the total.
    """

    tiers: tuple[Tier, ...]
    boundary: Boundary
    per: int = 1
    kind: ClassVar[str] = "volume"
    monotone: ClassVar[bool] = False

    def __post_init__(self) -> None:
        _check_per(self.per)
        _check_tiers(self.tiers, open_end=True)
        if self.boundary not in BOUNDARIES:
            raise PricingError(f"boundary must be one of {BOUNDARIES}, got {self.boundary!r}")

    def tier_for(self, quantity: Decimal) -> Tier:
        """The tier ``quantity`` falls in."""
        i = tier_index(quantity, tuple(t.up_to for t in self.tiers), self.boundary)
        if i is None:  # impossible: the last tier is open (checked above)
            raise PricingError(f"no volume tier for {quantity}")
        return self.tiers[i]

    def amount(self, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            return _ZERO
        t = self.tier_for(quantity)
        with exact_context():
            return quantity * shift(t.price, -(len(str(self.per)) - 1)) + t.flat

    def describe(self, currency: str, unit: str) -> str:
        return f"volume ({self.boundary}): " + _tiers_text(self.tiers, self.per, currency, unit)


@dataclass(frozen=True, slots=True, kw_only=True)
class PackageRate:
    """``⌈Q / size⌉ × price``: 0 buys nothing, 20.1 units at size 20 buy 2 packages."""

    size: int
    price: Decimal
    kind: ClassVar[str] = "package"
    monotone: ClassVar[bool] = True

    def __post_init__(self) -> None:
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 1:
            raise PricingError(f"package size must be an int >= 1, got {self.size!r}")
        _check_price(self.price, "package price")

    def packages(self, quantity: Decimal) -> Decimal:
        """⌈quantity / size⌉, in integers (no division rounding)."""
        with exact_context():
            whole = quantity // self.size
            return whole + (_ONE if quantity % self.size else _ZERO)

    def amount(self, quantity: Decimal) -> Decimal:
        if quantity <= 0:
            return _ZERO
        with exact_context():
            return self.packages(quantity) * self.price

    def describe(self, currency: str, unit: str) -> str:
        return f"package: {self.price} {currency} per started {self.size} {unit}s"


AnyRate = UnitRate | GraduatedRate | VolumeRate | PackageRate


@dataclass(frozen=True, slots=True, kw_only=True)
class Priced:
    """A rate as it applies to one request: with its factor and where it came from.

    Attributes:
        rate: the rate.
        factor: multipliers applied (batch, cache, time window), exact.
        source: where the price was published.
        as_of: when it was read.
        via: the selections and multipliers that led here, in words.
    """

    rate: AnyRate
    source: str
    as_of: str
    factor: Decimal = _ONE
    via: tuple[str, ...] = ()

    def scaled(self, factor: Decimal, why: str) -> Priced:
        """This rate with ``factor`` more applied."""
        with exact_context():
            return replace(self, factor=self.factor * factor, via=(*self.via, why))


Table = Mapping[Meter, Priced]


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextTier:
    """Rates that replace the model's when the prompt falls in this tier."""

    up_to: Decimal | None
    table: Table
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextTiers:
    """Whole-request context tiers: the prompt's size picks one tier for every line.

    Attributes:
        boundary: ``upper-inclusive`` (``a < n <= b``) or ``lower-inclusive``.
        tiers: in increasing order of :attr:`ContextTier.up_to`.
        selector: what is measured: ``"input"`` = all prompt tokens of the request,
            cached ones included.
    """

    boundary: Boundary
    tiers: tuple[ContextTier, ...]
    selector: str = "input"

    def __post_init__(self) -> None:
        if self.boundary not in BOUNDARIES:
            raise PricingError(f"boundary must be one of {BOUNDARIES}, got {self.boundary!r}")
        if self.selector != "input":
            raise PricingError(f"context selector must be 'input', got {self.selector!r}")

    def select(self, prompt_tokens: int) -> ContextTier:
        """The tier a prompt of ``prompt_tokens`` falls in.

        Raises:
            PricingError: the prompt is past the last tier's bound.
        """
        i = tier_index(Decimal(prompt_tokens), tuple(t.up_to for t in self.tiers), self.boundary)
        if i is None:
            raise PricingError(
                f"a prompt of {prompt_tokens} tokens is past the last context tier "
                f"({self.tiers[-1].label}); the book has no price for it"
            )
        return self.tiers[i]


@dataclass(frozen=True, slots=True, kw_only=True)
class Calendar:
    """Holiday dates, with the span of dates the list is known to cover.

    Attributes:
        id: the calendar's name in the book (``"cn"``).
        holidays: the holiday dates.
        covers_from, covers_to: the first and last date the list is complete for.
        source, as_of: where the list comes from and when it was read.
    """

    id: str
    holidays: frozenset[dt.date]
    covers_from: dt.date
    covers_to: dt.date
    source: str
    as_of: str

    def __post_init__(self) -> None:
        if self.covers_to < self.covers_from:
            raise PricingError(f"calendar {self.id!r}: covers_to is before covers_from")
        outside = sorted(d for d in self.holidays if not self.covers_from <= d <= self.covers_to)
        if outside:
            raise PricingError(f"calendar {self.id!r}: holiday {outside[0]} is outside the "
                               f"covered span {self.covers_from}..{self.covers_to}")

    def is_holiday(self, day: dt.date) -> bool:
        """Whether ``day`` is a holiday.

        Raises:
            PricingError: ``day`` is outside the span the calendar covers; guessing
                "not a holiday" could bill a holiday at peak rates.
        """
        if not self.covers_from <= day <= self.covers_to:
            raise PricingError(
                f"holiday calendar {self.id!r} covers {self.covers_from}..{self.covers_to}; "
                f"it cannot say whether {day} is a holiday. Add that year's holidays to the "
                "price book."
            )
        return day in self.holidays


DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_US_PER_MIN = 60_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TimeWindow:
    """A wall-clock window in a vendor's time zone in which other rates apply.

    Hours are half-open ``[start, end)``; a range whose end is not after its start
    crosses midnight and belongs to the day it starts on (``fri 22:00-06:00`` covers
    Friday 22:00 to Saturday 06:00). Days and holidays are judged on that start day.

    Attributes:
        label: a name (``"peak"``).
        timezone: an IANA zone (``"Asia/Shanghai"``), DST handled by :mod:`zoneinfo`.
        days: weekdays, 0 = Monday.
        hours: ``(start, end)`` minutes after local midnight; ``end`` may be 1440.
        calendar: holidays on which the window does not apply, or ``None``.
        table: rates that replace the model's inside the window.
        multiplier: a factor on every rate inside the window, or ``None``.
    """

    label: str
    timezone: str
    days: frozenset[int]
    hours: tuple[tuple[int, int], ...]
    calendar: Calendar | None = None
    table: Table = field(default_factory=lambda: MappingProxyType({}))
    multiplier: Decimal | None = None

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise PricingError(f"window {self.label!r}: unknown time zone {self.timezone!r}; "
                               "use an IANA name such as 'Asia/Shanghai'") from None
        if not self.days or not self.days <= set(range(7)):
            raise PricingError(f"window {self.label!r}: days must be weekday numbers 0-6")
        if not self.hours:
            raise PricingError(f"window {self.label!r}: no hours")
        for start, end in self.hours:
            if not (0 <= start < 1440 and 0 < end <= 1440) or start == end:
                raise PricingError(f"window {self.label!r}: bad hours {start}-{end} (minutes)")
        if not self.table and self.multiplier is None:
            raise PricingError(f"window {self.label!r} changes nothing: give rates or a multiplier")

    def _day_ok(self, day: dt.date) -> bool:
        if day.weekday() not in self.days:
            return False
        return not (self.calendar is not None and self.calendar.is_holiday(day))

    def active(self, at: dt.datetime) -> bool:
        """Whether the instant ``at`` (timezone-aware) falls inside this window."""
        local = at.astimezone(ZoneInfo(self.timezone))
        t = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        day = local.date()
        for start, end in self.hours:
            s, e = start * _US_PER_MIN, end * _US_PER_MIN
            if s < e:
                if s <= t < e and self._day_ok(day):
                    return True
            else:  # crosses midnight: the part after midnight belongs to yesterday's window
                if t >= s and self._day_ok(day):
                    return True
                if t < e and self._day_ok(day - dt.timedelta(days=1)):
                    return True
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelPrice:
    """Everything one price-book version says about one model.

    Attributes:
        id: the model id the book keys it by (a catalog id where there is one).
        currency: ISO 4217 code of every amount.
        source, as_of: where the prices were published and when they were read.
        table: the base rates by meter.
        note: free text.
        aliases: other names the book answers to for this entry.
        context: whole-request context tiers, or ``None``.
        multimodal_input: rates that apply when the input has image, video or audio.
        windows: time-of-day windows; the first active one applies.
        batch_multiplier, cached_multiplier, cache_write_multiplier: factors.
        includes: meters covered by the per-item price (billed at 0, shown as included).
        item_max_seconds: seconds of generated video one item's price covers.
        minimum, maximum: charge limits, whole minor units, applied after rating.
        charge_scope: ``"request"`` or ``"period"``: what the limits apply to.
        free: free allowances per meter per billing period, applied after rating.
    """

    id: str
    currency: str
    source: str
    as_of: str
    table: Table
    note: str = ""
    aliases: tuple[str, ...] = ()
    context: ContextTiers | None = None
    multimodal_input: Table | None = None
    windows: tuple[TimeWindow, ...] = ()
    batch_multiplier: Decimal | None = None
    cached_multiplier: Decimal | None = None
    cache_write_multiplier: Decimal | None = None
    includes: frozenset[Meter] = frozenset()
    item_max_seconds: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    charge_scope: Literal["request", "period"] = "request"
    free: Mapping[Meter, Decimal] = field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.charge_scope not in ("request", "period"):
            raise PricingError(f"charge_scope must be 'request' or 'period', "
                               f"got {self.charge_scope!r}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise PricingError(f"{self.id}: minimum {self.minimum} exceeds maximum {self.maximum}")
        both = self.includes & set(self.table)
        if both:
            raise PricingError(f"{self.id}: {sorted(m.label for m in both)} are both priced "
                               "and included in the per-item price")
        for meter in self.free:
            if isinstance(self._any_rate(meter), VolumeRate):
                raise PricingError(
                    f"{self.id}: a free allowance on a volume-tiered rate is ambiguous; "
                    "write it as a zero-price first tier of a graduated rate instead"
                )

    def _any_rate(self, meter: Meter) -> AnyRate | None:
        p = self.table.get(meter)
        return p.rate if p is not None else None

    @property
    def request_scoped(self) -> tuple[str, ...]:
        """The rules that depend on each request and so cannot price a period aggregate."""
        out = []
        if self.context is not None:
            out.append("whole-request context tiers")
        if self.windows:
            out.append("time-of-day windows")
        if self.multimodal_input is not None:
            out.append("output prices that depend on the input's modalities")
        if self.charge_scope == "request" and (self.minimum is not None
                                               or self.maximum is not None):
            out.append("per-request minimum/maximum charges")
        if self.item_max_seconds is not None:
            out.append("a per-item seconds limit")
        return tuple(out)

    def priced_meters(self) -> list[str]:
        """Labels of the meters this entry prices (for error messages)."""
        return [m.label for m in METER_ORDER if m in self.table]


def _unpriced(price: ModelPrice, meter: Meter, where: str, why: str = "") -> UnpricedModelError:
    have = ", ".join(price.priced_meters()) or "nothing"
    return UnpricedModelError(
        f"{where} has no price for {meter.label} on model {price.id!r}{why}; it prices: "
        f"{have}. tokenmeter never bills an unpriced item at zero: add a rate to the price "
        "book, or leave the item out of the usage."
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """The request-scoped choices for one request: context tier, multimodal input, window."""

    tier: ContextTier | None = None
    multimodal: bool = False
    window: TimeWindow | None = None
    notes: tuple[str, ...] = ()


def select_rules(price: ModelPrice, usage: Usage, at: dt.datetime | None) -> Selection:
    """Pick the context tier, multimodal-input rates and time window for one request.

    Raises:
        PricingError: a time window needs ``at``; a prompt past the last context tier.
    """
    notes: list[str] = []
    tier = None
    if price.context is not None:
        tier = price.context.select(usage.input_tokens)
        notes.append(f"context tier {tier.label} (prompt {usage.input_tokens} tokens, "
                     f"{price.context.boundary}); the whole request is billed at this tier")
    multimodal = price.multimodal_input is not None and bool(
        usage.image or usage.video or usage.audio)
    if multimodal:
        notes.append("the input has image, video or audio: multimodal-input rates apply")
    window = active_window(price, at)
    if price.windows and at is not None:
        notes.append(f"{at.isoformat()} is in the {window.label!r} window ({window.timezone})"
                     if window is not None else
                     f"{at.isoformat()} is outside every time window: base rates apply")
    return Selection(tier=tier, multimodal=multimodal, window=window, notes=tuple(notes))


def active_window(price: ModelPrice, at: dt.datetime | None) -> TimeWindow | None:
    """The first of the model's time windows active at ``at`` (``None`` if none is).

    Raises:
        PricingError: the model has windows and ``at`` is ``None``.
    """
    if not price.windows:
        return None
    if at is None:
        labels = ", ".join(w.label for w in price.windows)
        raise PricingError(f"{price.id!r} is priced by time of day ({labels} windows); pass "
                           "at=<timezone-aware datetime of the request>")
    return next((w for w in price.windows if w.active(at)), None)


def effective_table(price: ModelPrice, selection: Selection, *, batch: bool,
                    where: str) -> dict[Meter, Priced]:
    """The rates that apply to a request with the given selection.

    Overlays, in order: base rates < the context tier's < multimodal-input rates < the
    active window's; then cache rates derived from input rates by multipliers; then the
    window's multiplier; then the batch multiplier.

    Raises:
        UnpricedModelError: ``batch=True`` on a model with no batch price.
    """
    table: dict[Meter, Priced] = dict(price.table)
    if selection.tier is not None:
        table.update(selection.tier.table)
    if selection.multimodal and price.multimodal_input is not None:
        table.update(price.multimodal_input)
    window = selection.window
    if window is not None:
        table.update(window.table)
    for mod in _MODALITIES:
        base_meter = (COMBINED_TEXT if mod == "text" and COMBINED_TEXT in table
                      else Meter(mod, "input", "token"))
        base = table.get(base_meter)
        if base is None:
            continue
        for direction, mult in (("cached", price.cached_multiplier),
                                ("cache_write", price.cache_write_multiplier)):
            m = Meter(mod, direction, "token")
            if mult is not None and m not in table:
                table[m] = base.scaled(mult, f"{direction} ×{mult}")
    if window is not None and window.multiplier is not None:
        table = {m: p.scaled(window.multiplier, f"{window.label} ×{window.multiplier}")
                 for m, p in table.items()}
    if batch:
        if price.batch_multiplier is None:
            raise UnpricedModelError(
                f"{where} has no batch price for {price.id!r}; quote with batch=False or add "
                "batch_multiplier to the book"
            )
        table = {m: p.scaled(price.batch_multiplier, f"batch ×{price.batch_multiplier}")
                 for m, p in table.items()}
    return table


def meter_quantities(usage: Usage, table: Mapping[Meter, Priced]) -> dict[Meter, Decimal]:
    """Split a usage into billable quantities under ``table``.

    Cached and cache-write tokens are subsets of the inputs; they are attributed to the
    modalities in the order text, image, video, audio, and leave the input line only when
    the table has a cache rate for that modality (with none, they are ordinary input,
    which is what they are). Reasoning leaves the output line only when it has its own
    rate. With a combined ``text`` rate, text input and output are one line.
    """
    out: dict[Meter, Decimal] = {}

    def add(meter: Meter, value: int | Decimal) -> None:
        if value:
            with exact_context():  # counts may be far longer than 28 digits
                out[meter] = out.get(meter, _ZERO) + Decimal(value)

    combined = COMBINED_TEXT in table
    cached, written = usage.cached, usage.cache_write
    for mod, (m_in, m_cached, m_written) in _INPUT_METERS.items():
        n = getattr(usage, mod)
        if not n:
            continue
        c = min(cached, n)
        cached -= c
        w = min(written, n - c)
        written -= w
        rest = n
        if c and m_cached in table:
            add(m_cached, c)
            rest -= c
        if w and m_written in table:
            add(m_written, w)
            rest -= w
        add(COMBINED_TEXT if combined and mod == "text" else m_in, rest)
    output = usage.output
    if usage.reasoning and _REASONING in table:
        add(_REASONING, usage.reasoning)
        output -= usage.reasoning
    add(COMBINED_TEXT if combined else _TEXT_OUTPUT, output)
    for field_name, meter in _OTHER_METERS:
        add(meter, getattr(usage, field_name))
    return out


_INPUT_METERS = {mod: (Meter(mod, "input", "token"), Meter(mod, "cached", "token"),
                       Meter(mod, "cache_write", "token")) for mod in _MODALITIES}
_REASONING = Meter("text", "reasoning", "token")
_TEXT_OUTPUT = Meter("text", "output", "token")
_OTHER_METERS = (
    ("output_audio", Meter("audio", "output", "token")),
    ("output_image", Meter("image", "output", "token")),
    ("output_video", Meter("video", "output", "token")),
    ("generations", GENERATION),
    ("video_seconds", Meter("video", "input", "second")),
    ("audio_seconds", Meter("audio", "input", "second")),
    ("output_video_seconds", Meter("video", "output", "second")),
)


# The two measures of one input: a video's tokens and its seconds, and so on.
_SAME_INPUT: dict[Meter, Meter] = {}
for _mod, _dir in (("video", "input"), ("audio", "input"), ("video", "output")):
    _SAME_INPUT[Meter(_mod, _dir, "token")] = Meter(_mod, _dir, "second")
    _SAME_INPUT[Meter(_mod, _dir, "second")] = Meter(_mod, _dir, "token")


def _rule_text(p: Priced, meter: Meter, currency: str) -> str:
    text = p.rate.describe(currency, meter.unit)
    return "; ".join((text, *p.via))


def rate_usage(price: ModelPrice, usage: Usage, *, at: dt.datetime | None, batch: bool,
               prior: Usage | None, scope: Literal["request", "period"], rounding: str,
               where: str) -> tuple[list[QuoteLine], list[str]]:
    """Rate one request (``scope="request"``) or a period's aggregate usage.

    Returns charge, included and allowance lines (exact and rounded) plus any
    minimum/maximum adjustment, and notes. Credits are applied by the caller.

    Raises:
        UnpricedModelError: a non-zero quantity with no price.
        PricingError: a request-scoped rule asked to price a period aggregate, a
            per-item limit exceeded, a window without ``at``, a prompt past the last tier.
    """
    if scope == "period" and price.request_scoped:
        raise PricingError(
            f"{price.id!r} has {' and '.join(price.request_scoped)}, which depend on each "
            "request; a period aggregate cannot be priced by them. Quote each request "
            "(PriceBook.quote with prior=the period's usage so far) and add the quotes."
        )
    selection = select_rules(price, usage, at)
    notes = list(selection.notes)
    table = effective_table(price, selection, batch=batch, where=where)
    if scope == "request" and (price.free or any(p.rate.kind != "unit"
                                                 for p in table.values())):
        notes.append("priced after the period's prior usage: tiers and allowances continue "
                     "from it" if prior is not None else
                     "no prior usage given: priced as the first request of its period")
    if price.item_max_seconds is not None:
        with exact_context():  # the ambient context would round the product
            covered = price.item_max_seconds * usage.generations
        if usage.output_video_seconds > covered:
            raise PricingError(
                f"{price.id!r}: the per-item price covers up to {price.item_max_seconds} s "
                f"of generated video per generation; the usage has "
                f"{usage.output_video_seconds} s for {usage.generations} generation(s)"
            )
    qty = meter_quantities(usage, table)
    before = meter_quantities(prior, table) if prior is not None else {}
    lines: list[QuoteLine] = []
    cur = price.currency
    for meter in sorted(qty, key=_ORDER_INDEX.__getitem__):
        q = qty[meter]
        p = table.get(meter)
        if p is None:
            alternate = _SAME_INPUT.get(meter)
            if alternate is not None and alternate in table:
                # Seconds and tokens measure the same input: a book that bills this input
                # by the other unit prices it through that measure, so this one is not
                # billed -- but only if the usage carries that measure; otherwise the
                # input would silently cost nothing.
                if qty.get(alternate):
                    notes.append(f"{meter.modality} {meter.direction} {meter.unit}s not "
                                 f"billed: this book prices that input per {alternate.unit}")
                    continue
                raise _unpriced(price, meter, where,
                                f" (this book prices {meter.modality} {meter.direction} per "
                                f"{alternate.unit}, and the usage gives no "
                                f"{alternate.unit}s of it)")
            if meter in price.includes and GENERATION in qty:
                lines.append(QuoteLine(
                    kind="included", modality=meter.modality, direction=meter.direction,
                    unit=meter.unit, quantity=q, unit_price=_ZERO, per=1, amount=_ZERO,
                    rounded=round_amount(_ZERO, cur, rounding),
                    rule="included in the per-item price", source=price.source,
                    as_of=price.as_of))
                continue
            why = (" (it is priced only as part of a generation, and the usage has none)"
                   if meter in price.includes else "")
            raise _unpriced(price, meter, where, why)
        start = before.get(meter, _ZERO)
        with exact_context():
            amount = p.factor * (p.rate.amount(start + q) - p.rate.amount(start))
            unit_price = (p.factor * p.rate.unit_price if isinstance(p.rate, UnitRate)
                          else None)
        per = p.rate.per if isinstance(p.rate, (UnitRate, GraduatedRate, VolumeRate)) else 1
        lines.append(QuoteLine(
            kind="charge", modality=meter.modality, direction=meter.direction, unit=meter.unit,
            quantity=q, unit_price=unit_price, per=per, amount=amount,
            rounded=round_amount(amount, cur, rounding), rule=_rule_text(p, meter, cur),
            source=p.source, as_of=p.as_of))
        allowance = price.free.get(meter)
        if allowance is not None:
            with exact_context():
                used_before = min(start, allowance)
                used_after = min(start + q, allowance)
                free_quantity = used_after - used_before
                free_amount = p.factor * (p.rate.amount(used_after) - p.rate.amount(used_before))
            if free_amount:
                # negate(), not ``-free_amount``: unary minus rounds to the ambient context.
                lines.append(QuoteLine(
                    kind="allowance", modality=meter.modality, direction=meter.direction,
                    unit=meter.unit, quantity=free_quantity, unit_price=None,
                    per=per, amount=negate(free_amount),
                    rounded=round_amount(negate(free_amount), cur, rounding),
                    rule=f"free allowance of {allowance} {meter.unit}s per period",
                    source=price.source, as_of=price.as_of))
    if price.charge_scope == scope:
        lines.extend(_limits(price, lines, rounding))
    return lines, notes


def _limits(price: ModelPrice, lines: list[QuoteLine], rounding: str) -> list[QuoteLine]:
    # Limits act on the rounded subtotal and are whole minor units, so a minimum of ¥0.01
    # makes the total exactly ¥0.01 whatever the lines rounded to.
    with exact_context():
        subtotal = sum((ln.rounded for ln in lines), _ZERO)
    out = []
    for kind, limit in (("minimum", price.minimum), ("maximum", price.maximum)):
        if limit is None or (subtotal >= limit if kind == "minimum" else subtotal <= limit):
            continue
        with exact_context():
            adj = limit - subtotal
        out.append(QuoteLine(
            kind=kind, modality="", direction=kind, unit="charge", quantity=_ONE,
            unit_price=None, per=1, amount=adj, rounded=adj,
            rule=f"{kind} charge of {limit} {price.currency} per {price.charge_scope}",
            source=price.source, as_of=price.as_of))
    return out
