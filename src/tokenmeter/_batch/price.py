"""Pricing counted rows: grouped by (model, book version, time window), priced in arrays.

Each row is priced as one request of its own (``PriceBook.quote(model, usage, at=ts)``),
with the usage :mod:`.usage` defines. Rows whose usage has no seconds go through
:func:`tokenmeter.pricing.batch.price_array`, which equals the scalar quote row by row
(integer numerators over a power of ten, so nothing is ever a float); rows whose usage
needs seconds (per-second prices), entries with per-item seconds limits, and any row an
array call rejects go through ``PriceBook.quote`` one by one, whose exceptions become the
rows' error messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .._counts import Usage
from ..errors import InvalidInputError, TokenmeterError
from ..pricing import PriceBook, minor_units
from .count import Counts, Errors, groups
from .frame import AMOUNT_TYPE, timestamps, to_datetime
from .usage import DIRECTIONS, MODALITIES, Plan, known_meters, plan

__all__ = ["price_rows"]

Rows = npt.NDArray[np.intp]
_SCALE = AMOUNT_TYPE.scale
_LIMIT = Decimal(10) ** (AMOUNT_TYPE.precision - AMOUNT_TYPE.scale)
_QUANTUM = Decimal(1).scaleb(-_SCALE)
_NOW = -2
_NONE = -1


@dataclass(slots=True)
class _Out:
    """Priced pieces: row numbers with their exact and rounded amounts as Arrow decimals."""

    rows: list[Rows] = field(default_factory=list)
    amount: list[pa.Array] = field(default_factory=list)
    rounded: list[pa.Array] = field(default_factory=list)
    currency: list[npt.NDArray[np.int32]] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)

    def code(self, cur: str) -> int:
        if cur not in self.currencies:
            self.currencies.append(cur)
        return self.currencies.index(cur)


def _decimal_array(values: npt.NDArray[Any], scale: int) -> pa.Array:
    """Integers over ``10**scale`` as an :data:`AMOUNT_TYPE` array, exactly.

    int64 numerators become decimal128 by writing the 128-bit two's complement directly
    (sign-extended), then Arrow rescales to 18 places, raising if that would overflow.
    """
    if values.dtype == object:
        return pa.array([Decimal(int(v)).scaleb(-scale) for v in values], type=AMOUNT_TYPE)
    lo = values.astype("<i8", copy=False)
    words = np.empty(2 * lo.size, dtype="<i8")
    words[0::2] = lo
    words[1::2] = lo >> 63
    arr = pa.Array.from_buffers(pa.decimal128(38, scale), lo.size,
                                [None, pa.py_buffer(words)])
    return arr.cast(AMOUNT_TYPE)


def _fits(d: Decimal) -> bool:
    """Whether ``d`` is exactly representable in :data:`AMOUNT_TYPE`."""
    if not d.is_finite() or abs(d) >= _LIMIT:
        return False
    with localcontext() as ctx:
        ctx.prec = 2 * AMOUNT_TYPE.precision
        return d.quantize(_QUANTUM) == d


class _Pricer:
    def __init__(self, counts: Counts, book: PriceBook, ts: npt.NDArray[np.int64],
                 ts_ok: npt.NDArray[np.bool_]) -> None:
        self.c = counts
        self.inp = counts.inputs
        self.errors: Errors = counts.errors
        self.book = book
        self.ts = ts
        self.ts_ok = ts_ok
        self.out = _Out()

    # -- rows one at a time ---------------------------------------------------------------

    def usage(self, p: Plan, i: int) -> Usage:
        tokens = int(self.c.tokens[i])
        fields: dict[str, Any] = {}
        timed = p.seconds_field is not None and bool(self.inp.duration_ok[i])
        if not timed or p.tokens_when_timed:
            fields[p.token_field] = tokens
            if p.subset_field is not None:
                fields[p.subset_field] = tokens
        if timed and p.seconds_field is not None:
            fields[p.seconds_field] = float(self.inp.duration[i])
        if p.generation:
            fields["generations"] = 1
        return Usage(**fields)

    def at(self, i: int) -> Any:
        return to_datetime(int(self.ts[i])) if self.ts_ok[i] else None

    def one(self, name: str, p: Plan, i: int) -> bool:
        """Price row ``i`` with ``PriceBook.quote``; False if it is an error row."""
        try:
            q = self.book.quote(name, self.usage(p, i), at=self.at(i))
        except TokenmeterError as exc:
            self.errors.add(i, exc)
            return False
        exact, total = q.exact.amount, q.total.amount
        if not (_fits(exact) and _fits(total)):
            self.errors.add(i, InvalidInputError(
                f"the amount {exact} {q.currency} does not fit the amount column "
                f"(decimal128(38, {_SCALE})); price this row with PriceBook.quote"))
            return False
        o = self.out
        o.rows.append(np.array([i], dtype=np.intp))
        o.amount.append(pa.array([exact], type=AMOUNT_TYPE))
        o.rounded.append(pa.array([total], type=AMOUNT_TYPE))
        o.currency.append(np.array([o.code(q.currency)], dtype=np.int32))
        return True

    # -- rows in arrays ---------------------------------------------------------------------

    def columns(self, plans: dict[int, Plan], rows: Rows) -> dict[str, npt.NDArray[np.int64]]:
        inp = self.inp
        tok = self.c.tokens[rows]
        cols: dict[str, npt.NDArray[np.int64]] = {}
        combo = inp.modality[rows].astype(np.int64) * len(DIRECTIONS) + inp.direction[rows]
        for k, p in plans.items():
            m = combo == k
            if not m.any():
                continue
            for name in (p.token_field, p.subset_field):
                if name is not None:
                    col = cols.setdefault(name, np.zeros(rows.size, dtype=np.int64))
                    col[m] += tok[m]
            if p.generation:
                col = cols.setdefault("generations", np.zeros(rows.size, dtype=np.int64))
                col[m] = 1
        return cols

    def array(self, name: str, plans: dict[int, Plan], rows: Rows, at: Any) -> bool:
        """Price ``rows`` in one array call; False (nothing recorded) if it raised."""
        try:
            cols: dict[str, Any] = dict(self.columns(plans, rows))
            aq = self.book.price_array(name, at=at, **cols)
        except TokenmeterError:
            return False
        digits = minor_units(aq.currency)
        if aq.scale > _SCALE:
            rem = np.asarray(aq.exact) % (10 ** (aq.scale - _SCALE))
            if np.any(rem != 0):
                return False  # the one-by-one path reports the rows that do not fit
        try:
            amount = _decimal_array(np.asarray(aq.exact), aq.scale)
            rounded = _decimal_array(np.asarray(aq.total), digits)
        except (pa.ArrowInvalid, ArithmeticError):
            return False
        o = self.out
        o.rows.append(rows)
        o.amount.append(amount)
        o.rounded.append(rounded)
        o.currency.append(np.full(rows.size, o.code(aq.currency), dtype=np.int32))
        return True

    def bisect(self, name: str, plans: dict[int, Plan], rows: Rows, at: Any) -> None:
        """Price ``rows`` in arrays; rows an array call rejects are found by bisection and
        priced (or reported) one by one through ``PriceBook.quote``."""
        if self.array(name, plans, rows, at):
            return
        first = int(rows[0])
        if self.array(name, plans, rows[:1], at):
            pass
        elif self.one(name, self.plan_of(plans, first), first) and rows.size > 1:
            # The scalar path prices a row the array path cannot: a rule price_array does
            # not cover. Price the group one by one rather than bisecting to every leaf.
            for i in rows[1:]:
                self.one(name, self.plan_of(plans, int(i)), int(i))
            return
        stack = [rows[1:]] if rows.size > 1 else []
        while stack:
            idx = stack.pop()
            if self.array(name, plans, idx, at):
                continue
            if idx.size == 1:
                self.one(name, self.plan_of(plans, int(idx[0])), int(idx[0]))
            else:
                half = idx.size // 2
                stack += [idx[half:], idx[:half]]

    def plan_of(self, plans: dict[int, Plan], i: int) -> Plan:
        return plans[int(self.inp.modality[i]) * len(DIRECTIONS) + int(self.inp.direction[i])]

    # -- groups ---------------------------------------------------------------------------

    def version_index(self, rows: Rows) -> npt.NDArray[np.int64]:
        """Per row, the index of the book version in effect (-2: no timestamp, -1: none)."""
        vs = self.book.versions
        out = np.full(rows.size, _NONE, dtype=np.int64)
        ts = self.ts[rows]
        for k in range(len(vs) - 1, -1, -1):  # the first matching version wins
            start = _us(vs[k].effective_from)
            end_dt = vs[k].effective_to or (vs[k + 1].effective_from if k + 1 < len(vs)
                                           else None)
            m = ts >= start
            if end_dt is not None:
                m &= ts < _us(end_dt)
            out[m] = k
        out[~self.ts_ok[rows]] = _NOW
        return out

    def price_model(self, name: str, rows: Rows) -> None:
        inp = self.inp
        for v, vrows in groups(self.version_index(rows) + 2, rows):
            v -= 2
            at = None if v == _NOW else to_datetime(int(self.ts[vrows[0]]))
            try:
                entry = self.book.price_of(name, at=at)
            except TokenmeterError as exc:
                if v == _NONE:
                    for i in vrows:  # each row's own "no version in effect at …"
                        try:
                            self.book.version_at(self.at(int(i)))
                        except TokenmeterError as e:
                            self.errors.add(int(i), e)
                else:
                    self.errors.add(vrows, exc)
                continue
            known = known_meters(entry)
            combo_of_row = (inp.modality[vrows].astype(np.int64) * len(DIRECTIONS)
                            + inp.direction[vrows])
            # a handful of small codes: bincount finds them in one pass (np.unique hashes)
            combos = np.flatnonzero(np.bincount(combo_of_row,
                                                minlength=len(MODALITIES) * len(DIRECTIONS)))
            plans = {int(k): plan(known, MODALITIES[int(k) // len(DIRECTIONS)],
                                  DIRECTIONS[int(k) % len(DIRECTIONS)]) for k in combos}
            timed = np.zeros(vrows.size, dtype=bool)
            untimed_bad = np.zeros(vrows.size, dtype=bool)
            for k, p in plans.items():
                if p.seconds_field is not None:
                    here = combo_of_row == k
                    timed |= here & inp.duration_ok[vrows]
                    if not p.tokens_when_timed:
                        # The book bills this medium by the second only: without a
                        # duration the row has nothing billable; never price it at zero.
                        bad = here & ~inp.duration_ok[vrows]
                        if bad.any():
                            mod = MODALITIES[k // len(DIRECTIONS)]
                            d = DIRECTIONS[k % len(DIRECTIONS)]
                            self.errors.add(vrows[bad], InvalidInputError(
                                f"{_an(mod)} {mod} row on {name!r} needs a duration: the "
                                "price book "
                                f"bills {mod} {d} by the second only"))
                            untimed_bad |= bad
            keep = ~untimed_bad
            vrows, combo_of_row, timed = vrows[keep], combo_of_row[keep], timed[keep]
            one_by_one = timed | (entry.item_max_seconds is not None)
            if entry.windows:
                window = np.full(vrows.size, -1, dtype=np.int64)
                for j, i in enumerate(vrows):
                    a = self.at(int(i))
                    if a is None:
                        one_by_one[j] = True
                        continue
                    try:
                        window[j] = next((w for w, tw in enumerate(entry.windows)
                                          if tw.active(a)), -1)
                    except TokenmeterError:
                        one_by_one[j] = True
            else:
                window = np.zeros(vrows.size, dtype=np.int64)
            for i in vrows[one_by_one]:
                self.one(name, self.plan_of(plans, int(i)), int(i))
            rest = ~one_by_one
            for _, wrows in groups(window[rest] + 1, np.arange(int(rest.sum()))):
                sel = vrows[rest][wrows]
                self.bisect(name, plans, sel, self.at(int(sel[0])))


def _an(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _us(when: Any) -> int:
    delta = when - to_datetime(0)
    return int((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds)


def price_rows(counts: Counts, book: PriceBook, timestamp: pa.Array | None
               ) -> dict[str, pa.Array]:
    """``amount``, ``amount_rounded`` and ``currency`` for every counted row (null on error)."""
    inp = counts.inputs
    n = inp.n
    ts, ts_ok = timestamps(timestamp, n)
    pr = _Pricer(counts, book, ts, ts_ok)
    todo = np.flatnonzero(counts.errors.ok)
    for m, rows in groups(inp.model[todo].astype(np.int64), todo):
        pr.price_model(inp.model_names[m], rows)
    o = pr.out
    # A row priced, then marked in error (never happens today), must not keep an amount.
    done = np.concatenate(o.rows) if o.rows else np.zeros(0, dtype=np.intp)
    seen = np.zeros(n, dtype=bool)
    seen[done] = True
    rest = np.flatnonzero(~seen)
    order = np.concatenate((done, rest)).astype(np.int64)
    pos = np.empty(n, dtype=np.int64)
    pos[order] = np.arange(n, dtype=np.int64)
    nulls = pa.nulls(rest.size, AMOUNT_TYPE)
    amount = pa.concat_arrays([*o.amount, nulls]).take(pa.array(pos))
    rounded = pa.concat_arrays([*o.rounded, nulls]).take(pa.array(pos))
    cur_codes = np.concatenate([*o.currency, np.full(rest.size, -1, dtype=np.int32)])[pos]
    if o.currencies:
        currency = pa.DictionaryArray.from_arrays(
            pa.array(cur_codes, mask=cur_codes < 0, type=pa.int32()),
            pa.array(o.currencies, pa.string())).cast(pa.string())
    else:
        currency = pa.nulls(n, pa.string())
    bad = ~counts.errors.ok
    if bad.any():  # a row with an error has no amount, whatever path it took
        keep = pa.array(~bad)
        amount = pc.if_else(keep, amount, pa.scalar(None, AMOUNT_TYPE))
        rounded = pc.if_else(keep, rounded, pa.scalar(None, AMOUNT_TYPE))
        currency = pc.if_else(keep, currency, pa.scalar(None, pa.string()))
    return {"amount": amount, "amount_rounded": rounded, "currency": currency}
