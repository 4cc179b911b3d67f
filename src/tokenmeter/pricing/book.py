"""Price books: versioned TOML files of per-model rules, and the quotes they give.

A book has an id, a currency, a rounding mode and one or more versions, each with an
``effective_from`` (inclusive) and optional ``effective_to`` (exclusive); the version in
effect at a request's time prices it. Every model entry carries ``source`` and ``as_of``.
The schema is documented in ``docs/pricing.md``; a malformed file raises
:class:`~tokenmeter.errors.PriceBookError` naming the file, the line and the key.

This module knows nothing of the model catalog: a book takes an optional *resolver*
(``name -> canonical id``) so that ``"Qwen/Qwen2.5-72B-Instruct"`` finds the entry keyed
``qwen2.5-72b-instruct``; :func:`tokenmeter.load_price_book` supplies the catalog's.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from .._data import packaged_path, parse_toml, toml_error
from ..errors import CurrencyMismatchError, PriceBookError, PricingError, UnpricedModelError
from .money import (
    CURRENCIES,
    ROUNDING_MODES,
    Money,
    exact_context,
    minor_units,
    negate,
    round_amount,
)
from .quote import Quote, QuoteLine, line_order
from .rules import (
    BOUNDARIES,
    DAY_NAMES,
    RATE_KEYS,
    AnyRate,
    Calendar,
    ContextTier,
    ContextTiers,
    GraduatedRate,
    Meter,
    ModelPrice,
    PackageRate,
    Priced,
    Tier,
    TimeWindow,
    UnitRate,
    VolumeRate,
    rate_usage,
)

if TYPE_CHECKING:
    from .._counts import Usage

__all__ = [
    "DEFAULT_BOOK",
    "PriceBook",
    "PriceBookVersion",
    "list_price_books",
    "load_price_book",
    "parse_price_book",
]

#: The packaged book :func:`load_price_book` returns when given no path.
DEFAULT_BOOK = "cn-2025"
SCHEMA = 1

Resolver = Callable[[str], str]
_ZERO = Decimal(0)

# -- locating keys in the TOML text (tomllib keeps no positions) --------------------------

_Path = tuple[str | int, ...]


def _split_dotted(name: str) -> list[str]:
    parts: list[str] = []
    buf: list[str] = []
    quote = ""
    for ch in name:
        if quote:
            if ch == quote:
                quote = ""
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote = ch
        elif ch == ".":
            parts.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append("".join(buf).strip())
    return parts


class _Locator:
    """Maps a key path (``("versions", 0, "models", "x", "input")``) to a line number."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.headers: list[tuple[int, _Path]] = []
        counts: dict[_Path, int] = {}
        for no, raw in enumerate(self.lines, 1):
            s = raw.strip()
            is_array = s.startswith("[[")
            if not s.startswith("["):
                continue
            end = s.find("]]") if is_array else s.find("]")
            if end < 0:
                continue
            parts = _split_dotted(s[2 if is_array else 1:end])
            path: list[str | int] = []
            for i, part in enumerate(parts):
                path.append(part)
                key = tuple(path)
                if is_array and i == len(parts) - 1:
                    counts[key] = counts.get(key, 0) + 1
                    path.append(counts[key] - 1)
                elif key in counts:
                    path.append(counts[key] - 1)
            self.headers.append((no, tuple(path)))

    def line(self, path: _Path) -> int:
        best_no, best_len = 0, -1
        for no, hpath in self.headers:
            if len(hpath) <= len(path) and path[:len(hpath)] == hpath and len(hpath) > best_len:
                best_no, best_len = no, len(hpath)
        start = best_no  # 0 = the top of the file
        stop = next((no - 1 for no, _ in self.headers if no > start), len(self.lines))
        found = best_no or 1
        first = True
        for comp in path[max(best_len, 0):]:
            if not isinstance(comp, str):
                continue
            name = re.escape(comp)
            pat = (re.compile(rf"^\s*(?:{name}|\"{name}\"|'{name}')\s*[=.]") if first else
                   re.compile(rf"(?:^|[\s{{,])(?:{name}|\"{name}\")\s*="))
            for no in range(max(found, start + 1 if best_no else 1), stop + 1):
                if pat.search(self.lines[no - 1]):
                    found = no
                    break
            first = False
        return found


def _dotted(path: _Path) -> str:
    out = ""
    for comp in path:
        if isinstance(comp, int):
            out += f"[{comp}]"
        else:
            piece = comp if re.fullmatch(r"[A-Za-z0-9_-]+", comp) else f'"{comp}"'
            out += ("." if out else "") + piece
    return out


class _Ctx:
    def __init__(self, where: str, text: str) -> None:
        self.where = where
        self._text = text
        self._loc: _Locator | None = None

    def error(self, path: _Path, message: str) -> PriceBookError:
        if self._loc is None:
            self._loc = _Locator(self._text)
        line = self._loc.line(path)
        return PriceBookError(f"{self.where}:{line}: {_dotted(path)}: {message}")


# -- value parsers ---------------------------------------------------------------------

def _table(ctx: _Ctx, path: _Path, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ctx.error(path, f"must be a table, got {type(value).__name__}")
    return value


def _keys(ctx: _Ctx, path: _Path, data: Mapping[str, Any], allowed: Iterable[str],
          required: Iterable[str] = ()) -> None:
    allowed = set(allowed)
    for key in data:
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ctx.error((*path, key),
                            f"unknown key{hint}; allowed: {', '.join(sorted(allowed))}")
    for key in required:
        if key not in data:
            raise ctx.error(path, f"missing required key {key!r}")


def _str(ctx: _Ctx, path: _Path, value: object) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        raise ctx.error(path, f"must be a non-empty string, got {value!r}")
    return value.strip()


def _dec(ctx: _Ctx, path: _Path, value: object, *, positive: bool = False) -> Decimal:
    if isinstance(value, float):
        raise ctx.error(path, f"{value!r} is a TOML float (binary, inexact); write prices as "
                              f"strings, e.g. \"{value}\"")
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ctx.error(path, f"must be a decimal string or an integer, got {value!r}")
    try:
        d = Decimal(value.strip().replace("_", "")) if isinstance(value, str) else Decimal(value)
    except ArithmeticError:
        raise ctx.error(path, f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise ctx.error(path, f"must be a finite number {'> 0' if positive else '>= 0'}, "
                              f"got {value!r}")
    return d


def _int(ctx: _Ctx, path: _Path, value: object, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ctx.error(path, f"must be an integer >= {low}, got {value!r}")
    return value


def _per(ctx: _Ctx, path: _Path, value: object) -> int:
    per = _int(ctx, path, value)
    if str(per).rstrip("0") != "1":
        raise ctx.error(path, f"must be a power of ten (1, 1000, 1000000…), got {per}")
    return per


def _when(ctx: _Ctx, path: _Path, value: object) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None:
        raise ctx.error(path, "must be a TOML offset date-time with a UTC offset, e.g. "
                              f"2025-01-01T00:00:00+08:00; got {value!r}")
    return value


def _date(ctx: _Ctx, path: _Path, value: object) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ctx.error(path, f"must be a TOML local date (2026-01-01), got {value!r}")
    return value


_MODEL_KEYS = frozenset({
    "source", "as_of", "note", "aliases", "currency", "per", "batch_multiplier",
    "cached_multiplier", "cache_write_multiplier", "context", "multimodal_input", "windows",
    "includes", "item_max_seconds", "minimum", "maximum", "charge_scope", "free",
})
_TOKEN_PER = 1_000_000


def _rate(ctx: _Ctx, path: _Path, value: object, meter: Meter, per: int) -> AnyRate:
    per = per if meter.unit == "token" else 1
    if not isinstance(value, Mapping):
        return UnitRate(price=_dec(ctx, path, value), per=per)
    mode = value.get("mode", "unit")
    try:
        if mode == "unit":
            _keys(ctx, path, value, ("mode", "price", "per"), ("price",))
            return UnitRate(price=_dec(ctx, (*path, "price"), value["price"]),
                            per=_per(ctx, (*path, "per"), value.get("per", per)))
        if mode in ("graduated", "volume"):
            _keys(ctx, path, value, ("mode", "tiers", "per", "boundary"), ("tiers",))
            rate_per = _per(ctx, (*path, "per"), value.get("per", per))
            tiers = _tiers(ctx, (*path, "tiers"), value["tiers"])
            if mode == "graduated":
                if value.get("boundary", "upper-inclusive") not in BOUNDARIES:
                    raise ctx.error((*path, "boundary"), f"must be one of {BOUNDARIES}")
                return GraduatedRate(tiers=tiers, per=rate_per)
            if value.get("boundary") not in BOUNDARIES:
                raise ctx.error((*path, "boundary"), "a volume rate must say which tier a "
                                f"quantity on a boundary belongs to: one of {BOUNDARIES}")
            return VolumeRate(tiers=tiers, per=rate_per, boundary=value["boundary"])
        if mode == "package":
            _keys(ctx, path, value, ("mode", "size", "price"), ("size", "price"))
            return PackageRate(size=_int(ctx, (*path, "size"), value["size"]),
                               price=_dec(ctx, (*path, "price"), value["price"]))
    except PricingError as exc:
        if isinstance(exc, PriceBookError):
            raise
        raise ctx.error(path, str(exc)) from None
    raise ctx.error((*path, "mode"), f"unknown rate mode {mode!r}; use unit, graduated, "
                                     "volume or package")


def _tiers(ctx: _Ctx, path: _Path, value: object) -> tuple[Tier, ...]:
    if not isinstance(value, list) or not value:
        raise ctx.error(path, "must be a non-empty array of tables")
    out = []
    for i, raw in enumerate(value):
        t = _table(ctx, (*path, i), raw)
        _keys(ctx, (*path, i), t, ("up_to", "price", "flat"), ("price",))
        up = t.get("up_to")
        out.append(Tier(
            up_to=None if up is None else _dec(ctx, (*path, i, "up_to"), up, positive=True),
            price=_dec(ctx, (*path, i, "price"), t["price"]),
            flat=_dec(ctx, (*path, i, "flat"), t.get("flat", 0))))
    return tuple(out)


def _rate_table(ctx: _Ctx, path: _Path, data: Mapping[str, Any], *, per: int, source: str,
                as_of: str, via: tuple[str, ...] = ()) -> dict[Meter, Priced]:
    table: dict[Meter, Priced] = {}
    for key, value in data.items():
        meter = RATE_KEYS.get(key)
        if meter is None:
            continue
        if meter in table:
            raise ctx.error((*path, key), f"prices {meter.label} a second time (two names for "
                                          "one meter, e.g. input and input_text)")
        table[meter] = Priced(rate=_rate(ctx, (*path, key), value, meter, per),
                              source=source, as_of=as_of, via=via)
    text_split = {RATE_KEYS["input"], RATE_KEYS["output"]} & set(table)
    if RATE_KEYS["text"] in table and text_split:
        raise ctx.error((*path, "text"), "a combined text rate cannot be given together with "
                                         "a text input or output rate")
    return table


def _provenance(ctx: _Ctx, path: _Path, data: Mapping[str, Any], source: str,
                as_of: str) -> tuple[str, str]:
    src = _str(ctx, (*path, "source"), data["source"]) if "source" in data else source
    when = _str(ctx, (*path, "as_of"), data["as_of"]) if "as_of" in data else as_of
    return src, when


def _hours(ctx: _Ctx, path: _Path, value: object) -> tuple[tuple[int, int], ...]:
    if not isinstance(value, list) or not value:
        raise ctx.error(path, "must be a non-empty array of \"HH:MM-HH:MM\" strings")
    out = []
    for i, item in enumerate(value):
        m = re.fullmatch(r"\s*(\d{2}):(\d{2})\s*-\s*(\d{2}):(\d{2})\s*", str(item))
        if not isinstance(item, str) or m is None:
            raise ctx.error((*path, i), f"must look like \"09:00-12:00\", got {item!r}")
        h1, m1, h2, m2 = (int(g) for g in m.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440 or start == end:
            raise ctx.error((*path, i), f"bad hours {item!r}: times run 00:00..24:00 and a "
                                        "range may not be empty")
        out.append((start, end))
    return tuple(out)


class _Parser:
    def __init__(self, ctx: _Ctx, data: Mapping[str, Any]) -> None:
        self.ctx = ctx
        self.data = data
        self.currency = ""
        self.timezone = ""
        self.calendars: dict[str, Calendar] = {}

    def book(self) -> PriceBook:
        ctx, data = self.ctx, self.data
        _keys(ctx, (), data, ("schema", "id", "title", "description", "currency", "rounding",
                              "timezone", "calendars", "versions"),
              ("schema", "id", "currency", "versions"))
        if data["schema"] != SCHEMA:
            raise ctx.error(("schema",), f"this tokenmeter reads price-book schema {SCHEMA}, "
                                         f"got {data['schema']!r}")
        book_id = _str(ctx, ("id",), data["id"])
        self.currency = _str(ctx, ("currency",), data["currency"]).upper()
        if self.currency not in CURRENCIES:
            raise ctx.error(("currency",), f"unknown currency {self.currency!r}; known: "
                                           f"{', '.join(CURRENCIES)}")
        rounding = data.get("rounding", "half_up")
        if rounding not in ROUNDING_MODES:
            raise ctx.error(("rounding",), f"unknown rounding mode {rounding!r}; known: "
                                           f"{', '.join(ROUNDING_MODES)}")
        self.timezone = _str(ctx, ("timezone",), data.get("timezone", "UTC"))
        for cid, raw in _table(ctx, ("calendars",), data.get("calendars", {})).items():
            self.calendars[cid] = self.calendar(("calendars", cid), cid, raw)
        raw_versions = data["versions"]
        if not isinstance(raw_versions, list) or not raw_versions:
            raise ctx.error(("versions",), "must be a non-empty array of tables ([[versions]])")
        versions: list[PriceBookVersion] = []
        for i, raw in enumerate(raw_versions):
            versions.append(self.version(("versions", i), raw, versions))
        for i in range(1, len(versions)):
            prev, cur = versions[i - 1], versions[i]
            if cur.effective_from <= prev.effective_from:
                raise ctx.error(("versions", i, "effective_from"),
                                "versions must be listed in increasing effective_from order")
            if prev.effective_to is not None and prev.effective_to > cur.effective_from:
                raise ctx.error(("versions", i - 1, "effective_to"),
                                f"version {prev.version!r} overlaps version {cur.version!r}")
        return PriceBook(id=book_id, title=str(data.get("title", "")), currency=self.currency,
                         rounding=rounding, timezone=self.timezone, versions=tuple(versions),
                         calendars=MappingProxyType(self.calendars), path=ctx.where)

    def calendar(self, path: _Path, cid: str, raw: object) -> Calendar:
        ctx = self.ctx
        t = _table(ctx, path, raw)
        _keys(ctx, path, t, ("description", "source", "as_of", "covers_from", "covers_to",
                             "holidays"), ("source", "as_of", "covers_from", "covers_to",
                                           "holidays"))
        days: set[dt.date] = set()
        hol = t["holidays"]
        if not isinstance(hol, list):
            raise ctx.error((*path, "holidays"), "must be an array of dates or "
                                                 "\"YYYY-MM-DD..YYYY-MM-DD\" ranges")
        for i, item in enumerate(hol):
            if isinstance(item, str):
                m = re.fullmatch(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})", item.strip())
                if m is None:
                    raise ctx.error((*path, "holidays", i), f"bad range {item!r}")
                a, b = (dt.date.fromisoformat(g) for g in m.groups())
                if b < a:
                    raise ctx.error((*path, "holidays", i), f"range {item!r} ends before it starts")
                days.update(a + dt.timedelta(days=k) for k in range((b - a).days + 1))
            else:
                days.add(_date(ctx, (*path, "holidays", i), item))
        try:
            return Calendar(id=cid, holidays=frozenset(days),
                            covers_from=_date(ctx, (*path, "covers_from"), t["covers_from"]),
                            covers_to=_date(ctx, (*path, "covers_to"), t["covers_to"]),
                            source=_str(ctx, (*path, "source"), t["source"]),
                            as_of=_str(ctx, (*path, "as_of"), t["as_of"]))
        except PricingError as exc:
            if isinstance(exc, PriceBookError):
                raise
            raise ctx.error(path, str(exc)) from None

    def version(self, path: _Path, raw: object,
                earlier: Sequence[PriceBookVersion]) -> PriceBookVersion:
        ctx = self.ctx
        t = _table(ctx, path, raw)
        _keys(ctx, path, t, ("version", "effective_from", "effective_to", "inherits", "note",
                             "models"), ("version", "effective_from", "models"))
        name = _str(ctx, (*path, "version"), t["version"])
        if any(v.version == name for v in earlier):
            raise ctx.error((*path, "version"), f"version {name!r} is listed twice")
        start = _when(ctx, (*path, "effective_from"), t["effective_from"])
        end = (_when(ctx, (*path, "effective_to"), t["effective_to"])
               if "effective_to" in t else None)
        if end is not None and end <= start:
            raise ctx.error((*path, "effective_to"), "must be after effective_from")
        models: dict[str, ModelPrice] = {}
        if "inherits" in t:
            base = _str(ctx, (*path, "inherits"), t["inherits"])
            parent = next((v for v in earlier if v.version == base), None)
            if parent is None:
                raise ctx.error((*path, "inherits"), f"no earlier version {base!r} in this file")
            models.update(parent.models)
        for mid, entry in _table(ctx, (*path, "models"), t["models"]).items():
            key = mid.strip().lower()
            if key != mid:
                raise ctx.error((*path, "models", mid), "model ids must be lower case and trimmed")
            models[key] = self.model((*path, "models", mid), key, entry)
        names: dict[str, str] = {}
        for mid, price in models.items():
            for n in (mid, *price.aliases):
                if names.get(n, mid) != mid:
                    raise ctx.error((*path, "models", mid), f"name {n!r} is taken by "
                                                            f"{names[n]!r}")
                names[n] = mid
        return PriceBookVersion(version=name, effective_from=start, effective_to=end,
                                models=MappingProxyType(models),
                                names=MappingProxyType(names), note=str(t.get("note", "")))

    def model(self, path: _Path, mid: str, raw: object) -> ModelPrice:
        ctx = self.ctx
        t = _table(ctx, path, raw)
        _keys(ctx, path, t, _MODEL_KEYS | set(RATE_KEYS), ("source", "as_of"))
        source = _str(ctx, (*path, "source"), t["source"])
        as_of = _str(ctx, (*path, "as_of"), t["as_of"])
        currency = _str(ctx, (*path, "currency"), t.get("currency", self.currency)).upper()
        if currency not in CURRENCIES:
            raise ctx.error((*path, "currency"), f"unknown currency {currency!r}")
        per = _per(ctx, (*path, "per"), t.get("per", _TOKEN_PER))
        table = _rate_table(ctx, path, t, per=per, source=source, as_of=as_of)
        aliases = t.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise ctx.error((*path, "aliases"), "must be an array of strings")
        opt: dict[str, Any] = {}
        for key in ("batch_multiplier", "cached_multiplier", "cache_write_multiplier",
                    "item_max_seconds"):
            if key in t:
                opt[key] = _dec(ctx, (*path, key), t[key], positive=True)
        for key in ("minimum", "maximum"):
            if key in t:
                amount = _dec(ctx, (*path, key), t[key])
                if amount != round_amount(amount, currency, "down"):
                    raise ctx.error((*path, key), f"a charge limit must be whole minor units of "
                                                  f"{currency} ({minor_units(currency)} decimals)")
                opt[key] = amount
        if "charge_scope" in t:
            if t["charge_scope"] not in ("request", "period"):
                raise ctx.error((*path, "charge_scope"), "must be 'request' or 'period'")
            opt["charge_scope"] = t["charge_scope"]
        if "context" in t:
            opt["context"] = self.context((*path, "context"), t["context"], per, source, as_of)
        if "multimodal_input" in t:
            mm = _table(ctx, (*path, "multimodal_input"), t["multimodal_input"])
            _keys(ctx, (*path, "multimodal_input"), mm, set(RATE_KEYS) | {"source", "as_of"})
            src, when = _provenance(ctx, (*path, "multimodal_input"), mm, source, as_of)
            opt["multimodal_input"] = MappingProxyType(_rate_table(
                ctx, (*path, "multimodal_input"), mm, per=per, source=src, as_of=when,
                via=("multimodal input",)))
        if "windows" in t:
            ws = t["windows"]
            if not isinstance(ws, list) or not ws:
                raise ctx.error((*path, "windows"), "must be an array of tables ([[…windows]])")
            opt["windows"] = tuple(self.window((*path, "windows", i), w, per, source, as_of)
                                   for i, w in enumerate(ws))
        if "includes" in t:
            inc = t["includes"]
            if not isinstance(inc, list) or any(k not in RATE_KEYS for k in inc):
                raise ctx.error((*path, "includes"), "must be an array of rate keys "
                                                     f"({', '.join(RATE_KEYS)})")
            opt["includes"] = frozenset(RATE_KEYS[k] for k in inc)
        if "free" in t:
            free = _table(ctx, (*path, "free"), t["free"])
            _keys(ctx, (*path, "free"), free, RATE_KEYS)
            opt["free"] = MappingProxyType({RATE_KEYS[k]: _dec(ctx, (*path, "free", k), v)
                                            for k, v in free.items()})
        try:
            return ModelPrice(id=mid, currency=currency, source=source, as_of=as_of,
                              table=MappingProxyType(table), note=str(t.get("note", "")),
                              aliases=tuple(a.strip().lower() for a in aliases), **opt)
        except PricingError as exc:
            if isinstance(exc, PriceBookError):
                raise
            raise ctx.error(path, str(exc)) from None

    def context(self, path: _Path, raw: object, per: int, source: str,
                as_of: str) -> ContextTiers:
        ctx = self.ctx
        t = _table(ctx, path, raw)
        _keys(ctx, path, t, ("boundary", "selector", "tiers"), ("boundary", "tiers"))
        boundary = t["boundary"]
        if boundary not in BOUNDARIES:
            raise ctx.error((*path, "boundary"), f"must be one of {BOUNDARIES} (which tier a "
                                                 "prompt exactly on a bound belongs to)")
        raw_tiers = t["tiers"]
        if not isinstance(raw_tiers, list) or not raw_tiers:
            raise ctx.error((*path, "tiers"), "must be a non-empty array of tables")
        tiers = []
        lower: Decimal = _ZERO
        for i, raw_tier in enumerate(raw_tiers):
            tp = (*path, "tiers", i)
            tt = _table(ctx, tp, raw_tier)
            _keys(ctx, tp, tt, set(RATE_KEYS) | {"up_to", "source", "as_of"})
            up = _dec(ctx, (*tp, "up_to"), tt["up_to"], positive=True) if "up_to" in tt else None
            if up is None and i != len(raw_tiers) - 1:
                raise ctx.error(tp, "only the last context tier may omit up_to")
            if up is not None and up <= lower and i:
                raise ctx.error((*tp, "up_to"), "context tier bounds must increase")
            sym = ("<", "<=") if boundary == "upper-inclusive" else ("<=", "<")
            label = (f"{i + 1}: {lower} {sym[0]} prompt" if i else f"{i + 1}: prompt") + (
                f" {sym[1]} {up}" if up is not None else "")
            src, when = _provenance(ctx, tp, tt, source, as_of)
            tiers.append(ContextTier(up_to=up, label=label, table=MappingProxyType(_rate_table(
                ctx, tp, tt, per=per, source=src, as_of=when, via=(f"context tier {label}",)))))
            lower = up if up is not None else lower
        return ContextTiers(boundary=boundary, tiers=tuple(tiers),
                            selector=str(t.get("selector", "input")))

    def window(self, path: _Path, raw: object, per: int, source: str,
               as_of: str) -> TimeWindow:
        ctx = self.ctx
        t = _table(ctx, path, raw)
        _keys(ctx, path, t, set(RATE_KEYS) | {"label", "timezone", "days", "hours",
                                              "except_holidays", "multiplier", "source",
                                              "as_of"}, ("label", "days", "hours"))
        label = _str(ctx, (*path, "label"), t["label"])
        days = t["days"]
        if not isinstance(days, list) or not days or any(d not in DAY_NAMES for d in days):
            raise ctx.error((*path, "days"), f"must be an array of {', '.join(DAY_NAMES)}")
        cal = None
        if "except_holidays" in t:
            cid = t["except_holidays"]
            if cid not in self.calendars:
                raise ctx.error((*path, "except_holidays"),
                                f"no calendar {cid!r} in [calendars] (known: "
                                f"{', '.join(self.calendars) or 'none'})")
            cal = self.calendars[cid]
        src, when = _provenance(ctx, path, t, source, as_of)
        try:
            return TimeWindow(
                label=label, timezone=_str(ctx, (*path, "timezone"),
                                           t.get("timezone", self.timezone)),
                days=frozenset(DAY_NAMES.index(d) for d in days),
                hours=_hours(ctx, (*path, "hours"), t["hours"]), calendar=cal,
                table=MappingProxyType(_rate_table(ctx, path, t, per=per, source=src,
                                                   as_of=when, via=(f"{label} window",))),
                multiplier=(_dec(ctx, (*path, "multiplier"), t["multiplier"], positive=True)
                            if "multiplier" in t else None))
        except PricingError as exc:
            if isinstance(exc, PriceBookError):
                raise
            raise ctx.error(path, str(exc)) from None


# -- the book --------------------------------------------------------------------------

@dataclass(frozen=True, slots=True, kw_only=True)
class PriceBookVersion:
    """One version of a price book: the models it prices and when it is in effect.

    Attributes:
        version: its name (``"2025.1"``).
        effective_from: first instant it applies (inclusive).
        effective_to: first instant it no longer applies (exclusive), or ``None`` (until
            the next version, or for ever).
        models: entries by model id.
        names: every id and alias (lower case) to its entry's id.
        note: free text.
    """

    version: str
    effective_from: dt.datetime
    effective_to: dt.datetime | None
    models: Mapping[str, ModelPrice]
    names: Mapping[str, str]
    note: str = ""


def _check_at(at: object) -> dt.datetime | None:
    if at is None:
        return None
    if not isinstance(at, dt.datetime):
        raise PricingError(f"at must be a datetime, got {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise PricingError(f"at must be timezone-aware (got naive {at.isoformat()}); a naive "
                           "time cannot be placed in a vendor's time zone")
    return at


def _apply_output(usage: Usage, output_tokens: int) -> Usage:
    if isinstance(output_tokens, bool) or not isinstance(output_tokens, int) or output_tokens < 0:
        raise PricingError(f"output_tokens must be an int >= 0, got {output_tokens!r}")
    if not output_tokens:
        return usage
    if usage.output:
        raise PricingError(
            f"usage already has output={usage.output}; pass output_tokens only with a usage "
            "that counts the input alone (or add the output to the usage itself)")
    return usage.with_output(output_tokens)


def _credit_line(lines: Sequence[QuoteLine], credits: Money | None, currency: str,
                 source: str) -> list[QuoteLine]:
    if credits is None:
        return []
    if not isinstance(credits, Money):
        raise PricingError(f"credits must be Money, got {type(credits).__name__}")
    if credits.currency != currency:
        raise CurrencyMismatchError(f"credits are in {credits.currency} but the quote is in "
                                    f"{currency}")
    if credits.amount < 0:
        raise PricingError(f"credits must be >= 0, got {credits}")
    with exact_context():
        owed = sum((ln.rounded for ln in lines), _ZERO)
    # Credits are spent in whole minor units and never beyond what is owed, so the total
    # cannot go below zero; an unspendable fraction of a fen stays in the balance.
    used = min(round_amount(credits.amount, currency, "down"), owed)
    if used <= 0:
        return []
    return [QuoteLine(kind="credit", modality="", direction="credit", unit="charge",
                      quantity=Decimal(1), unit_price=None, per=1, amount=negate(used),
                      rounded=negate(used),
                      rule=f"credits applied after rating (balance {credits})", source=source,
                      as_of="")]


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceBook:
    """A versioned price book. Load one with :func:`tokenmeter.load_price_book`.

    Attributes:
        id: the book's id (``"cn-2025"``).
        title: a human title.
        currency: the default currency of its entries.
        rounding: the rounding mode's name, applied once per quote line.
        timezone: the default zone of its time windows.
        versions: in increasing ``effective_from`` order.
        calendars: holiday calendars by id.
        path: where it was read from.
        resolver: maps a caller's model name to a canonical id (the catalog's).
    """

    id: str
    title: str
    currency: str
    rounding: str
    timezone: str
    versions: tuple[PriceBookVersion, ...]
    calendars: Mapping[str, Calendar]
    path: str
    resolver: Resolver | None = field(default=None, compare=False, repr=False)

    def with_resolver(self, resolver: Resolver | None) -> PriceBook:
        """The same book resolving model names with ``resolver``."""
        return replace(self, resolver=resolver)

    # -- versions -----------------------------------------------------------------------

    def version_at(self, at: dt.datetime | None = None) -> PriceBookVersion:
        """The version in effect at ``at`` (``None`` = now).

        Raises:
            PricingError: ``at`` is naive, or no version is in effect then.
        """
        when = _check_at(at) or dt.datetime.now(dt.timezone.utc)
        for i, v in enumerate(self.versions):
            end = v.effective_to or (self.versions[i + 1].effective_from
                                     if i + 1 < len(self.versions) else None)
            if v.effective_from <= when and (end is None or when < end):
                return v
        spans = ", ".join(f"{v.version}: from {v.effective_from.isoformat()}"
                          + (f" to {v.effective_to.isoformat()}" if v.effective_to else "")
                          for v in self.versions)
        raise PricingError(f"price book {self.id} has no version in effect at "
                           f"{when.isoformat()} ({spans})")

    def models(self, at: dt.datetime | None = None) -> list[str]:
        """Ids of the models priced by the version in effect at ``at``, sorted."""
        return sorted(self.version_at(at).models)

    # -- models -------------------------------------------------------------------------

    def _resolve(self, model: object, version: PriceBookVersion) -> str:
        name = model if isinstance(model, str) else getattr(model, "id", None)
        if not isinstance(name, str):
            raise PricingError(f"model must be a model id or a Model, got {model!r}")
        key = name.strip().lower()
        tail = key.rsplit("/", 1)[-1]
        for cand in (key, tail):
            if cand in version.names:
                return version.names[cand]
        canonical_id = None
        if self.resolver is not None:
            try:
                canonical_id = self.resolver(name)
            except LookupError:
                canonical_id = None
            if canonical_id is not None and canonical_id in version.names:
                return version.names[canonical_id]
        close = difflib.get_close_matches(tail, list(version.names), n=4, cutoff=0.6)
        hint = f" Close entries: {', '.join(dict.fromkeys(version.names[c] for c in close))}." \
            if close else ""
        known = f" (catalog id {canonical_id!r})" if canonical_id and canonical_id != key else ""
        raise UnpricedModelError(
            f"price book {self.id} version {version.version} has no price for model "
            f"{name!r}{known}.{hint} tokenmeter never prices an unknown model at zero; "
            f"PriceBook.models() lists the {len(version.models)} priced ids."
        )

    def price_of(self, model: object, *, at: dt.datetime | None = None) -> ModelPrice:
        """The entry pricing ``model`` (an id, alias, catalog name or ``Model``).

        Raises:
            UnpricedModelError: the book has no entry for it.
        """
        version = self.version_at(at)
        return version.models[self._resolve(model, version)]

    # -- quoting ------------------------------------------------------------------------

    def quote(self, model: object, usage: Usage, *, output_tokens: int = 0,
              at: dt.datetime | None = None, batch: bool = False, prior: Usage | None = None,
              credits: Money | None = None) -> Quote:
        """Price one request.

        Args:
            model: a model id, alias, catalog name (``"Qwen/Qwen2.5-72B-Instruct"``) or
                :class:`~tokenmeter.Model`.
            usage: the request's :class:`~tokenmeter.Usage`.
            output_tokens: generated text tokens, when ``usage`` counts the input only.
            at: when the request was made (timezone-aware). Picks the book version and
                any time-of-day window; ``None`` = the version in effect now, and a model
                priced by time of day then raises.
            batch: price at the model's batch rate.
            prior: the usage already billed in this period, so graduated tiers, volume
                tiers and free allowances continue from it (``None``: this request opens
                the period).
            credits: a credit balance to spend after rating (never more than is owed).

        Returns:
            A :class:`Quote`; same arguments and book version give a byte-identical one.

        Raises:
            UnpricedModelError: the model, or a non-zero modality/direction, has no price.
            PricingError: malformed arguments, no version in effect, and the like.
        """
        return self._quote(model, usage, output_tokens=output_tokens, at=at, batch=batch,
                           prior=prior, credits=credits, scope="request")

    def quote_period(self, model: object, usage: Usage, *, at: dt.datetime | None = None,
                     batch: bool = False, credits: Money | None = None) -> Quote:
        """Price a billing period's aggregate usage of one model.

        Graduated and volume tiers, packages and free allowances apply to the period's
        totals, and period-scoped minimum/maximum charges apply once. ``at`` picks the
        book version (pass the period's start). Models with request-scoped rules (context
        tiers, time windows, per-request limits) raise :class:`PricingError`: quote their
        requests one by one and add the quotes.
        """
        return self._quote(model, usage, output_tokens=0, at=at, batch=batch, prior=None,
                           credits=credits, scope="period")

    def _quote(self, model: object, usage: Usage, *, output_tokens: int,
               at: dt.datetime | None, batch: bool, prior: Usage | None,
               credits: Money | None, scope: Literal["request", "period"]) -> Quote:
        usage = _apply_output(usage, output_tokens)
        at = _check_at(at)
        version = self.version_at(at)
        price = version.models[self._resolve(model, version)]
        where = f"price book {self.id} version {version.version}"
        lines, notes = rate_usage(price, usage, at=at, batch=bool(batch), prior=prior,
                                  scope=scope, rounding=self.rounding, where=where)
        lines.extend(_credit_line(lines, credits, price.currency, where))
        return Quote(book=self.id, version=version.version, model=price.id,
                     currency=price.currency, rounding=self.rounding,
                     lines=tuple(sorted(lines, key=line_order)), at=at, batch=bool(batch),
                     scope=scope, notes=tuple(notes))

    def price_array(self, model: object, *, at: dt.datetime | None = None,
                    batch: bool = False, **columns: Any) -> Any:
        """Price columns of token counts exactly, row by row equal to :meth:`quote`.

        See :func:`tokenmeter.pricing.batch.price_array` (numpy is imported on first use).
        """
        from .batch import price_array

        return price_array(self, model, at=at, batch=batch, **columns)


# -- loading ---------------------------------------------------------------------------

def parse_price_book(text: str, *, where: str = "<price book>") -> PriceBook:
    """A :class:`PriceBook` from TOML text.

    Raises:
        PriceBookError: naming ``where``, the line and the key.
    """
    ctx = _Ctx(where, text)
    try:
        data = parse_toml(text)
    except toml_error() as exc:
        raise PriceBookError(f"{where}: not valid TOML: {exc}") from None
    return _Parser(ctx, data).book()


def _packaged_names() -> list[str]:
    node = packaged_path("prices")
    return sorted(p.name[:-5] for p in node.iterdir() if p.name.endswith(".toml"))


def list_price_books() -> list[str]:
    """Ids of the packaged price books, sorted (``["cn-2025", "vendors-2026-11"]``)."""
    return _packaged_names()


@functools.cache
def _load_packaged(name: str) -> PriceBook:
    text = packaged_path("prices", f"{name}.toml").read_text(encoding="utf-8")
    return parse_price_book(text, where=f"tokenmeter/data/prices/{name}.toml")


def load_price_book(path: str | os.PathLike[str] | None = None, *,
                    resolver: Resolver | None = None) -> PriceBook:
    """Load a price book.

    Args:
        path: ``None`` for the packaged default (``cn-2025``), a packaged book's id
            (``"vendors-2026-11"``), or a path to a TOML file.
        resolver: maps model names to canonical ids; :func:`tokenmeter.load_price_book`
            passes the catalog's.

    Raises:
        PriceBookError: the file is missing or malformed (file, line and key named).
    """
    if path is None:
        path = DEFAULT_BOOK
    if isinstance(path, str) and path in _packaged_names():
        return _load_packaged(path).with_resolver(resolver)
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceBookError(
            f"{p}: cannot read price book ({exc.strerror or exc}); packaged books: "
            f"{', '.join(_packaged_names())}") from None
    return parse_price_book(text, where=str(p)).with_resolver(resolver)
