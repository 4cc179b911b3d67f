"""Exact batch pricing: arrays of token counts in, per-row amounts equal to the scalar path.

Every price becomes an integer numerator over one power-of-ten denominator ``10**scale``
(¥3.50 per 1M tokens is 35 over 10**7 per token), so a row's exact amount is an integer
sum of ``count × numerator`` and its rounding to the currency's minor unit is integer
division with the book's named mode — the same digits :meth:`PriceBook.quote` produces,
line by line. Every int64 operation is bounded before it is performed: the sum of the
columns' largest values bounds every quantity the call forms (the prompt size
``text + image + video + audio``, ``cached + cache_write``, a combined text line), and
that sum times the largest numerators bounds every amount. When any bound (or a tier
bound, allowance or charge limit) could pass int64, the call computes on Python integers
(object arrays) from the start, so nothing wraps and each row gets what the scalar quote
gives, result or error.

Supported: per-token, graduated, volume and package rates on token and item columns;
cached/cache-write/reasoning splits; cache and batch multipliers; whole-request context
tiers and multimodal-input rates chosen row by row; one time window chosen by ``at`` for
all rows; free allowances (each row as the first of its period); per-request minimum and
maximum charges. Seconds (Decimal durations) and credits go through the scalar path.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInputError, PricingError
from .money import Money, exact_context, minor_units, normal, shift
from .rules import (
    COMBINED_TEXT,
    GENERATION,
    METER_ORDER,
    AnyRate,
    GraduatedRate,
    Meter,
    ModelPrice,
    PackageRate,
    Priced,
    Selection,
    UnitRate,
    VolumeRate,
    _unpriced,
    active_window,
    effective_table,
)

if TYPE_CHECKING:
    from .book import PriceBook

__all__ = ["COLUMNS", "ArrayQuote", "price_array"]

#: Integer columns ``price_array`` accepts (the :class:`~tokenmeter.Usage` field names).
COLUMNS = ("text", "image", "video", "audio", "output", "reasoning", "output_audio",
           "output_image", "output_video", "cached", "cache_write", "generations")
_INPUTS = ("text", "image", "video", "audio")
_SAFE = 2**62  # headroom under int64 for sums of several lines and rounding offsets
_INT64_MAX = 2**63 - 1

Arr = npt.NDArray[Any]


def _places(d: Decimal) -> int:
    """Decimal places needed to write ``d`` as an integer."""
    exp = normal(d).as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def _as_column(name: str, values: Any) -> Arr:
    arr = np.asarray(values)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or arr.dtype == object):
        raise InvalidInputError(f"{name} must be integer token counts, got dtype {arr.dtype}")
    if arr.ndim > 1:
        raise InvalidInputError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype == object:
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in arr.ravel()):
            raise InvalidInputError(f"{name} must hold Python ints when dtype is object")
    elif arr.dtype == np.uint64 and arr.size and int(arr.max()) > _INT64_MAX:
        arr = arr.astype(object)  # past int64: exact Python ints, as the scalar path
    if arr.size and arr.min() < 0:
        i = int(np.flatnonzero(np.asarray(arr < 0))[0])
        raise InvalidInputError(f"{name}[{i}] = {arr[i]} is negative; counts are >= 0")
    return arr


@dataclass(frozen=True, slots=True, kw_only=True)
class ArrayQuote:
    """Per-row prices of a column batch, exact and rounded.

    Attributes:
        book, version, model, currency, rounding: as in :class:`Quote`.
        scale: exact amounts are integers over ``10**scale``.
        exact: per-row exact amount of rated lines (allowances included), as numerators.
        total: per-row amount owed in minor units: rated lines rounded one by one, then
            any per-request minimum/maximum — equal to ``Quote.total`` for that row.
        lines: per-line rounded amounts in minor units, keyed ``"kind:modality direction
            unit"`` (``"charge:text input token"``).
        dtype: ``"int64"``, or ``"object"`` when values needed Python integers.
    """

    book: str
    version: str
    model: str
    currency: str
    rounding: str
    scale: int
    exact: Arr
    total: Arr
    lines: Mapping[str, Arr]
    dtype: str

    def __len__(self) -> int:
        return int(self.total.shape[0])

    def exact_amount(self, i: int) -> Decimal:
        """Row ``i``'s exact amount."""
        return shift(Decimal(int(self.exact[i])), -self.scale)

    def total_amount(self, i: int) -> Decimal:
        """Row ``i``'s amount owed."""
        return shift(Decimal(int(self.total[i])), -minor_units(self.currency))

    def sum_total(self) -> Money:
        """The sum of every row's amount owed (per-row rounding kept)."""
        s = int(self.total.sum(dtype=object)) if self.total.size else 0
        return Money(shift(Decimal(s), -minor_units(self.currency)), self.currency)

    def sum_exact(self) -> Money:
        """The sum of every row's exact amount."""
        s = int(self.exact.sum(dtype=object)) if self.exact.size else 0
        return Money(shift(Decimal(s), -self.scale), self.currency)


def _round_div(n: Arr, k: int, mode: str, nonneg: bool) -> Arr:
    """``n / k`` rounded with the named mode, in integers (``k`` a power of ten)."""
    if k == 1:
        return n.copy()  # callers accumulate in place; never hand back the input
    if nonneg and mode == "half_up":  # the hot path: one add, one in-place division
        out = n + k // 2
        out //= k
        return out
    neg = n < 0
    a = np.where(neg, -n, n)
    q, r = a // k, a % k
    twice = 2 * r
    if mode == "half_up":
        up = twice >= k
    elif mode == "half_even":
        up = (twice > k) | ((twice == k) & (q % 2 == 1))
    elif mode == "half_down":
        up = twice > k
    elif mode == "up":
        up = r > 0
    elif mode == "down":
        up = np.zeros(a.shape, dtype=bool)
    elif mode == "ceiling":
        up = (r > 0) & ~neg
    elif mode == "floor":
        up = (r > 0) & neg
    else:  # pragma: no cover - the book validated the mode
        raise PricingError(f"unknown rounding mode {mode!r}")
    mag = q + up.astype(q.dtype) if q.dtype != object else q + np.asarray(up, dtype=object)
    return np.where(neg, -mag, mag)


class _Rates:
    """Integer numerators of one meter's rate at the common scale."""

    def __init__(self, p: Priced, scale: int) -> None:
        self.rate: AnyRate = p.rate
        self.scale = scale

        def num(d: Decimal) -> int:
            with exact_context():
                v = shift(p.factor * d, scale)
            if v != v.to_integral_value():  # pragma: no cover - scale covers every price
                raise PricingError(f"internal: {d} x {p.factor} is not integral at 10^-{scale}")
            return int(v)

        rate = p.rate
        self.unit = 0
        self.tiers: list[tuple[int | None, int, int]] = []
        self.size = 1
        if isinstance(rate, UnitRate):
            self.unit = num(rate.unit_price)
        elif isinstance(rate, (GraduatedRate, VolumeRate)):
            places = -(len(str(rate.per)) - 1)
            for t in rate.tiers:
                if t.up_to is not None and t.up_to != t.up_to.to_integral_value():
                    raise PricingError("the batch path needs whole-number tier bounds; use "
                                       "PriceBook.quote for fractional ones")
                self.tiers.append((None if t.up_to is None else int(t.up_to),
                                   num(shift(t.price, places)), num(t.flat)))
        elif isinstance(rate, PackageRate):
            self.size = rate.size
            self.unit = num(rate.price)

    def bound(self, qmax: int) -> int:
        """An upper bound of ``|F(q)|`` numerators for ``0 <= q <= qmax``, and of every
        constant the vectorized ``F`` puts in an array (numerators, tier bounds)."""
        qmax = max(qmax, 1)
        if self.tiers:
            return (qmax * max(t[1] for t in self.tiers) + sum(t[2] for t in self.tiers)
                    + max(t[0] or 0 for t in self.tiers))
        if isinstance(self.rate, PackageRate):
            return (qmax // self.size + 1) * self.unit + self.size
        return qmax * self.unit

    def amount(self, q: Arr, zero: Arr) -> Arr:
        """``F(q)`` numerators, vectorized, exact."""
        rate = self.rate
        if isinstance(rate, UnitRate):
            return q * self.unit
        if isinstance(rate, PackageRate):
            return (-(-q // self.size)) * self.unit
        if isinstance(rate, GraduatedRate):
            total = zero.copy()
            lower = 0
            for up, unit, flat in self.tiers:
                top = q if up is None else np.minimum(q, up)
                span = np.maximum(top - lower, 0)
                total = total + span * unit
                if flat:
                    total = total + (q > lower).astype(np.int64).astype(q.dtype) * flat
                if up is None:
                    break
                lower = up
            return total
        if isinstance(rate, VolumeRate):
            bounds = [t[0] for t in self.tiers if t[0] is not None]
            idx = _count_below(q, bounds, inclusive=rate.boundary == "lower-inclusive")
            units = np.array([t[1] for t in self.tiers], dtype=q.dtype)
            flats = np.array([t[2] for t in self.tiers], dtype=q.dtype)
            out = q * units[idx] + flats[idx]
            return np.where(q > 0, out, zero)
        raise PricingError(f"unsupported rate {type(rate).__name__}")  # pragma: no cover


def _count_below(values: Arr, bounds: list[int], *, inclusive: bool) -> Arr:
    """How many of ``bounds`` lie below each value (``<=`` when ``inclusive``): the tier
    index. Compared exactly, on int64 or on Python ints (no float step)."""
    idx = np.zeros(values.shape, dtype=np.int64)
    for b in bounds:
        idx += np.asarray((values >= b) if inclusive else (values > b), dtype=np.int64)
    return idx


def _quantities(cols: Mapping[str, Arr], table: Mapping[Meter, Priced]) -> dict[Meter, Arr]:
    """Vectorized :func:`~tokenmeter.pricing.rules.meter_quantities` (same attribution).

    Columns that were not given are absent and cost no array pass.
    """
    out: dict[Meter, Arr] = {}

    def add(m: Meter, v: Arr | None) -> None:
        if v is not None:
            out[m] = out[m] + v if m in out else v

    combined = COMBINED_TEXT in table
    cached, written = cols.get("cached"), cols.get("cache_write")
    given = [mod for mod in _INPUTS if mod in cols]
    for i, mod in enumerate(given):
        n = cols[mod]
        later = i + 1 < len(given)
        c = w = None
        if cached is not None:
            c = np.minimum(cached, n)
            cached = cached - c if later else None
        if written is not None:
            w = np.minimum(written, n if c is None else n - c)
            written = written - w if later else None
        rest = n
        for direction, k in (("cached", c), ("cache_write", w)):
            m = Meter(mod, direction, "token")
            if k is not None and m in table:
                add(m, k)
                rest = rest - k
        add(COMBINED_TEXT if mod == "text" and combined else Meter(mod, "input", "token"), rest)
    output = cols.get("output")
    reasoning = Meter("text", "reasoning", "token")
    if reasoning in table and "reasoning" in cols and output is not None:
        add(reasoning, cols["reasoning"])
        output = output - cols["reasoning"]
    add(COMBINED_TEXT if combined else Meter("text", "output", "token"), output)
    for mod in ("audio", "image", "video"):
        add(Meter(mod, "output", "token"), cols.get(f"output_{mod}"))
    add(GENERATION, cols.get("generations"))
    return out


def _tier_rows(price: ModelPrice, n_in: Arr) -> Arr:
    ctx = price.context
    if ctx is None:
        return np.zeros(n_in.shape, dtype=np.int64)
    bounded = [t.up_to for t in ctx.tiers if t.up_to is not None]
    if ctx.boundary == "upper-inclusive":  # n <= b  <=>  n <= floor(b)
        ints = [int(b.to_integral_value(rounding="ROUND_FLOOR")) for b in bounded]
    else:  # n < b  <=>  n < ceil(b)
        ints = [int(b.to_integral_value(rounding="ROUND_CEILING")) for b in bounded]
    idx = _count_below(n_in, ints, inclusive=ctx.boundary == "lower-inclusive")
    if ctx.tiers[-1].up_to is not None and (idx >= len(ctx.tiers)).any():
        i = int(np.flatnonzero(idx >= len(ctx.tiers))[0])
        raise PricingError(f"row {i}: a prompt of {n_in[i]} tokens is past the last context "
                           f"tier ({ctx.tiers[-1].label}); the book has no price for it")
    return idx


def price_array(book: PriceBook, model: object, *, at: dt.datetime | None = None,
                batch: bool = False, **columns: Any) -> ArrayQuote:
    """Price many requests of one model at once, exactly.

    Args:
        book: the price book.
        model: a model id, alias, catalog name or ``Model``.
        at: the time all rows are priced at (book version and time window).
        batch: batch pricing for every row.
        **columns: integer arrays (or scalars) named like :class:`~tokenmeter.Usage`
            fields: ``text``, ``image``, ``video``, ``audio``, ``output``, ``reasoning``,
            ``output_audio``, ``output_image``, ``output_video``, ``cached``,
            ``cache_write``, ``generations``.

    Returns:
        An :class:`ArrayQuote` whose row ``i`` equals ``book.quote(model, Usage(...row
        i...), at=at, batch=batch)``: the same exact amount and the same total.

    Raises:
        InvalidInputError: a malformed column (negative, non-integer, cached above inputs).
        UnpricedModelError / PricingError: as :meth:`PriceBook.quote`.
    """
    from .book import _check_at

    unknown = set(columns) - set(COLUMNS)
    if unknown:
        raise InvalidInputError(f"unknown column(s) {sorted(unknown)}; columns: "
                                f"{', '.join(COLUMNS)} (seconds go through PriceBook.quote)")
    at = _check_at(at)
    version = book.version_at(at)
    price = version.models[book._resolve(model, version)]
    where = f"price book {book.id} version {version.version}"
    arrays = {k: _as_column(k, v) for k, v in columns.items()}
    shapes = {a.shape for a in arrays.values() if a.ndim == 1}
    if len(shapes) > 1:
        raise InvalidInputError(f"columns differ in length: {sorted(shapes)}")
    shape = shapes.pop() if shapes else (1,)
    # Every quantity this call forms (the prompt size, cached + cache_write, the media
    # sum, a combined text line) is a sum of given columns, so the sum of the columns'
    # maxima bounds them all. It is taken in Python ints, before any array arithmetic:
    # past int64 the whole call runs on Python ints, as the scalar path does.
    qmax = sum(int(a.max()) for a in arrays.values() if a.size)
    big = any(a.dtype == object for a in arrays.values()) or qmax >= _SAFE
    # Only the columns given are kept: a missing column is zero and costs no array pass.
    cols: dict[str, Arr] = {}
    for k, a in arrays.items():
        a = np.broadcast_to(a, shape) if a.ndim == 0 else a
        cols[k] = a.astype(object) if big else a.astype(np.int64, copy=False)

    def col(name: str) -> Arr | int:
        return cols.get(name, 0)

    n_in: Arr | int = 0
    for mod in _INPUTS:
        if mod in cols:
            n_in = cols[mod] if isinstance(n_in, int) else n_in + cols[mod]
    checks = []
    if "cached" in cols or "cache_write" in cols:
        parts = [cols[k] for k in ("cached", "cache_write") if k in cols]
        subsets = parts[0] if len(parts) == 1 else parts[0] + parts[1]
        checks.append((np.asarray(subsets > n_in), "cached + cache_write exceed the input tokens"))
    if "reasoning" in cols:
        checks.append((np.asarray(cols["reasoning"] > col("output")), "reasoning exceeds output"))
    for bad, msg in checks:
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InvalidInputError(f"row {i}: {msg}")
    if price.item_max_seconds is not None:
        raise PricingError(f"{price.id!r} limits seconds per item; price it with "
                           "PriceBook.quote")
    window = active_window(price, at)
    variants: list[tuple[Arr | None, dict[Meter, Priced]]] = []
    if price.context is None and price.multimodal_input is None:
        variants.append((None, effective_table(price, Selection(window=window), batch=batch,
                                               where=where)))
    else:
        n_arr = np.broadcast_to(np.asarray(n_in), shape)
        tiers = _tier_rows(price, n_arr)
        media = col("image") + col("video") + col("audio")
        mm_rows = (np.broadcast_to(np.asarray(media) > 0, shape)
                   if price.multimodal_input is not None else np.zeros(shape, dtype=bool))
        ctx_tiers = price.context.tiers if price.context is not None else (None,)
        for ti, tier in enumerate(ctx_tiers):
            for mm in (False, True):
                mask = (tiers == ti) & (mm_rows == mm)
                if not mask.any():
                    continue
                table = effective_table(price, Selection(tier=tier, multimodal=mm,
                                                         window=window),
                                        batch=batch, where=where)
                variants.append((None if mask.all() else mask, table))
        if not variants:  # zero rows
            variants.append((None, effective_table(
                price, Selection(tier=ctx_tiers[0], window=window), batch=batch, where=where)))
    cur = price.currency
    digits = minor_units(cur)
    scale = digits
    for _, table in variants:
        for p in table.values():
            vals = [p.rate.unit_price] if isinstance(p.rate, UnitRate) else (
                [shift(t.price, -(len(str(p.rate.per)) - 1)) for t in p.rate.tiers]
                + [t.flat for t in p.rate.tiers]
                if isinstance(p.rate, (GraduatedRate, VolumeRate)) else [p.rate.price])
            for v in vals:
                with exact_context():
                    scale = max(scale, _places(p.factor * v))
    # Bound every product before forming it; fall back to Python ints if int64 could wrap.
    bound = max(sum(_Rates(p, scale).bound(qmax) for p in table.values())
                for _, table in variants)
    limits = [int(a) for a in price.free.values()] + [
        int(shift(v, digits)) for v in (price.minimum, price.maximum) if v is not None]
    obj = big or bound * 2 + 10**scale >= _SAFE or max(limits, default=0) >= _SAFE
    if obj and not big:
        cols = {k: v.astype(object) for k, v in cols.items()}
    zero = np.zeros(shape, dtype=object if obj else np.int64)
    if obj:
        zero[...] = 0
    exact: Arr | None = None
    line_arrays: dict[str, Arr] = {}
    k_div = 10 ** (scale - digits)
    mode = book.rounding
    for mask, table in variants:
        sub = cols if mask is None else {k: v[mask] for k, v in cols.items()}
        sz = zero if mask is None else zero[mask]
        qty = _quantities(sub, table)
        for meter in METER_ORDER:
            q = qty.get(meter)
            if q is None:
                continue
            priced = table.get(meter)
            if priced is None:
                if not q.any():
                    continue
                gens = qty.get(GENERATION)
                if meter in price.includes and gens is not None and not (
                        (q > 0) & (gens == 0)).any():
                    continue
                raise _unpriced(price, meter, where, " (it is priced only as part of a "
                                "generation)" if meter in price.includes else "")
            meter_rate = _Rates(priced, scale)
            pieces = [(f"charge:{meter.modality} {meter.direction} {meter.unit}",
                       meter_rate.amount(q, sz), True)]
            allowance = price.free.get(meter)
            if allowance is not None:
                if allowance != allowance.to_integral_value():
                    raise PricingError("the batch path needs whole-unit free allowances")
                free = meter_rate.amount(np.minimum(q, int(allowance)), sz)
                pieces.append((f"allowance:{meter.modality} {meter.direction} {meter.unit}",
                               -free, False))
            for key, n, nonneg in pieces:
                r = _round_div(n, k_div, mode, nonneg)
                if mask is None:
                    # In place: every n and r here is a fresh array this call owns.
                    if exact is None:
                        exact = n
                    else:
                        exact += n
                    if key in line_arrays:
                        line_arrays[key] += r
                    else:
                        line_arrays[key] = r
                else:
                    if exact is None:
                        exact = zero.copy()
                    exact[mask] += n
                    full = line_arrays[key] if key in line_arrays else zero.copy()
                    full[mask] += r
                    line_arrays[key] = full
    exact = zero.copy() if exact is None else exact
    total = zero.copy()
    for r in line_arrays.values():
        total += r
    if price.charge_scope == "request":
        if price.minimum is not None:
            total = np.maximum(total, int(shift(price.minimum, digits)))
        if price.maximum is not None:
            total = np.minimum(total, int(shift(price.maximum, digits)))
    return ArrayQuote(book=book.id, version=version.version, model=price.id, currency=cur,
                      rounding=mode, scale=scale, exact=exact, total=total, lines=line_arrays,
                      dtype="object" if obj else "int64")
