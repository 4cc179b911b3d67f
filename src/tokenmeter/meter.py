"""Meters: usage aggregated by (account, model, modality, period), mergeable and idempotent.

A :class:`Meter` is a commutative monoid: ``a.merge(b)``/``a + b`` combine two meters in
any order and grouping with the same result, and ``Meter()`` is the identity. So a job
can meter each partition of its data on its own machine and merge the partial meters
in whatever order they arrive (``tokenmeter.integrations`` does this on Dask and Spark).

**Idempotency.** By default a meter keeps every event it counted, keyed by the caller's
idempotency key (``event_id``), with the event's own numbers. Recording or merging an
event a second time changes nothing, wherever the copy comes from (a retried request, a
log shipped twice, the same event in two partitions), so the merge is a set union and
replaying any subset of events is harmless. The same key with *different* numbers is an
error (as Orb answers 409), never a silent choice of one of them.

The price of exactness is memory: in CPython about 130-150 bytes per distinct event (a
5-tuple, a dict slot and the token count; measured in ``tests/test_meter.py``) plus the
id string itself (81 bytes for a 32-character id), so about 0.25 GB per million events,
and the serialized meter carries every event. A job that has de-duplicated upstream (for
example ``dropDuplicates`` on the event id) can use ``Meter(dedupe=False)``: constant
memory per key, events simply add, and a replayed event counts twice. No approximate
(Bloom-filter) mode is offered: it would drop real events on a false positive, and
billing must not.

**Periods.** An event's period is the calendar month (or day, or hour) of its timestamp
in the meter's time zone. :meth:`Meter.quote` prices each (account, model, period)
aggregate with :meth:`PriceBook.quote_period`, so graduated and volume tiers, packages
and free allowances apply to the period's totals.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
import threading
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ._batch.usage import DIRECTIONS, MEDIA, MODALITIES, known_meters, plan
from ._counts import Usage
from .errors import InvalidInputError, PricingError, TokenmeterError

if TYPE_CHECKING:
    from .pricing import PriceBook, Quote

__all__ = ["GRANULARITIES", "Meter", "MeterKey", "MeterTotals"]

#: Period lengths a meter can aggregate by.
GRANULARITIES = ("month", "day", "hour")
_FORMAT = "tokenmeter.Meter"
_MODALITY_SET = frozenset(MODALITIES)
_DIRECTION_INDEX = {d: i for i, d in enumerate(DIRECTIONS)}
_MAGIC = b"TMMETER\x01"
_ZERO = Decimal(0)


class MeterKey(NamedTuple):
    """What a meter aggregates by.

    Attributes:
        account: the customer, tenant or API key the usage belongs to.
        model: the model name as recorded.
        modality: ``text``, ``image``, ``video`` or ``audio``.
        period: ``"2025-01"`` (month), ``"2025-01-31"`` (day) or ``"2025-01-31T13"``
            (hour), in the meter's time zone.
    """

    account: str
    model: str
    modality: str
    period: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterTotals:
    """The aggregate of one key. Values add (``a + b``).

    Attributes:
        events: distinct events counted.
        input: input tokens, the cached and cache-write ones included.
        output: generated tokens.
        cached: input tokens read from a prompt cache (a subset of :attr:`input`).
        cache_write: input tokens written to a prompt cache (a subset of :attr:`input`).
        input_seconds: seconds of input media, from events that gave a duration.
        output_seconds: seconds of generated media.
        generations: generated media items (each output image/video/audio event).
        untimed_input: input video/audio events without a duration.
        untimed_output: generated video/audio events without a duration.
        estimated: events whose token count was an estimate, not exact.
    """

    events: int = 0
    input: int = 0
    output: int = 0
    cached: int = 0
    cache_write: int = 0
    input_seconds: Decimal = _ZERO
    output_seconds: Decimal = _ZERO
    generations: int = 0
    untimed_input: int = 0
    untimed_output: int = 0
    estimated: int = 0

    def __add__(self, other: object) -> MeterTotals:
        if not isinstance(other, MeterTotals):
            return NotImplemented
        return MeterTotals(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                              for f in fields(self)})

    @property
    def exact(self) -> bool:
        """True when no event's count was an estimate."""
        return self.estimated == 0


_N = len(fields(MeterTotals))
_SEC_IN, _SEC_OUT = 5, 6
# An event: (key, direction index, tokens, seconds or None, exact).
_Event = tuple[MeterKey, int, int, "Decimal | None", bool]


def _cell_delta(ev: _Event) -> list[Any]:
    """The totals one event contributes, as a list in :class:`MeterTotals` field order."""
    key, d, tokens, seconds, exact = ev
    direction = DIRECTIONS[d]
    media = key.modality in MEDIA
    timed_media = key.modality in ("video", "audio")
    out = [1, 0, 0, 0, 0, _ZERO, _ZERO, 0, 0, 0, 0 if exact else 1]
    if direction == "output":
        out[2] = tokens
        if seconds is not None and timed_media:
            out[_SEC_OUT] = seconds
        elif timed_media:
            out[9] = 1
        if media:
            out[7] = 1
    else:
        out[1] = tokens
        if direction == "cached":
            out[3] = tokens
        elif direction == "cache_write":
            out[4] = tokens
        # Only plain input carries billable seconds (as a row's usage does).
        if direction == "input" and seconds is not None and timed_media:
            out[_SEC_IN] = seconds
        elif timed_media:
            out[8] = 1
    return out


def _seconds(value: object) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInputError(f"seconds must be a number, got {value!r}")
    if isinstance(value, float):
        # A measured duration, not money: its shortest round-tripping decimal (as Usage).
        d = Decimal(repr(value))
    elif isinstance(value, (int, Decimal, str)):
        try:
            d = Decimal(value)
        except InvalidOperation:
            raise InvalidInputError(f"seconds {value!r} is not a number") from None
    else:
        raise InvalidInputError(f"seconds must be a number, got {type(value).__name__}")
    if not d.is_finite() or d < 0:
        raise InvalidInputError(f"seconds must be finite and >= 0, got {value!r}")
    return d


def _event_id(event_id: object) -> str:
    if isinstance(event_id, str) and event_id:
        return event_id
    if isinstance(event_id, numbers.Integral) and not isinstance(event_id, bool):
        return str(int(event_id))
    raise InvalidInputError(f"event_id must be a non-empty str (or an int), got {event_id!r}")


class Meter:
    """Usage by (account, model, modality, period): mergeable, idempotent, thread-safe.

    >>> import datetime as dt, tokenmeter as tm
    >>> at = dt.datetime(2025, 1, 15, tzinfo=dt.timezone.utc)
    >>> m = tm.Meter()
    >>> m.record("req-1", model="qwen2.5-72b-instruct", modality="text", tokens=1200, at=at)
    True
    >>> m.record("req-1", model="qwen2.5-72b-instruct", modality="text", tokens=1200, at=at)
    False
    >>> m.totals()[tm.MeterKey("", "qwen2.5-72b-instruct", "text", "2025-01")].input
    1200

    Args:
        granularity: the period length: ``"month"`` (default), ``"day"`` or ``"hour"``.
        timezone: the IANA zone periods are cut in (``"UTC"`` by default; a CNY book's
            billing month is usually ``"Asia/Shanghai"``).
        dedupe: keep every event by its idempotency key (default), so replays count once;
            ``False`` keeps only totals (see the module docs for the trade-off).

    Meters merge only with meters of the same granularity, time zone and dedupe mode.
    """

    __slots__ = ("_cells", "_dedupe", "_events", "_granularity", "_keys", "_last", "_lock",
                 "_tz", "_zone")

    def __init__(self, *, granularity: str = "month", timezone: str = "UTC",
                 dedupe: bool = True) -> None:
        if granularity not in GRANULARITIES:
            raise InvalidInputError(
                f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}")
        try:
            zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            raise InvalidInputError(
                f"unknown time zone {timezone!r}; use an IANA name such as 'Asia/Shanghai'"
            ) from None
        self._granularity = granularity
        self._tz = timezone
        self._zone = zone
        self._dedupe = bool(dedupe)
        self._lock = threading.Lock()
        self._events: dict[str, _Event] = {}
        self._cells: dict[MeterKey, list[Any]] = {}
        self._keys: dict[MeterKey, MeterKey] = {}  # interned: events share key objects
        self._last: tuple[dt.datetime, str] | None = None

    # -- settings -------------------------------------------------------------------------

    @property
    def granularity(self) -> str:
        """``"month"``, ``"day"`` or ``"hour"``."""
        return self._granularity

    @property
    def timezone(self) -> str:
        """The zone periods are cut in."""
        return self._tz

    @property
    def dedupe(self) -> bool:
        """Whether events are kept by idempotency key."""
        return self._dedupe

    def _settings(self) -> tuple[str, str, bool]:
        return (self._granularity, self._tz, self._dedupe)

    def period_of(self, at: dt.datetime) -> str:
        """The period label of the instant ``at`` (timezone-aware)."""
        cached = self._last
        if cached is not None and cached[0] is at:  # events of one batch share a time
            return cached[1]
        label = self._period_of(at)
        self._last = (at, label)
        return label

    def _period_of(self, at: dt.datetime) -> str:
        if not isinstance(at, dt.datetime):
            raise InvalidInputError(f"at must be a datetime, got {type(at).__name__}")
        if at.tzinfo is None or at.utcoffset() is None:
            raise InvalidInputError(
                f"at must be timezone-aware (got naive {at.isoformat()}); a naive time "
                "cannot be placed in a billing period")
        local = at.astimezone(self._zone)
        if self._granularity == "month":
            return f"{local.year:04d}-{local.month:02d}"
        if self._granularity == "day":
            return local.date().isoformat()
        return f"{local.date().isoformat()}T{local.hour:02d}"

    def period_start(self, period: str) -> dt.datetime:
        """The first instant of ``period``, timezone-aware."""
        try:
            if self._granularity == "month":
                y, m = period.split("-")
                local = dt.datetime(int(y), int(m), 1)
            elif self._granularity == "day":
                local = dt.datetime.fromisoformat(period)
            else:
                local = dt.datetime.fromisoformat(period + ":00")
        except ValueError:
            raise InvalidInputError(
                f"{period!r} is not a {self._granularity} period label") from None
        return local.replace(tzinfo=self._zone)

    # -- recording ------------------------------------------------------------------------

    def _make(self, *, account: object, model: object, modality: object, tokens: object,
              at: dt.datetime, direction: object, seconds: object, exact: object) -> _Event:
        # The hot path of record(): exact type checks first (cheap), the general ones after.
        if type(account) is not str:
            raise InvalidInputError(f"account must be a str, got {account!r}")
        if type(model) is not str or not model.strip():
            raise InvalidInputError(f"model must be a non-empty str, got {model!r}")
        if modality not in _MODALITY_SET:
            raise InvalidInputError(
                f"modality must be one of {', '.join(MODALITIES)}, got {modality!r}")
        d = _DIRECTION_INDEX.get(direction) if type(direction) is str else None
        if d is None:
            raise InvalidInputError(
                f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
        if type(tokens) is not int:
            if isinstance(tokens, bool) or not isinstance(tokens, numbers.Integral):
                raise InvalidInputError(f"tokens must be an int, got {tokens!r}")
            tokens = int(tokens)
        if tokens < 0:
            raise InvalidInputError(f"tokens must be >= 0, got {tokens}")
        if exact is not True and exact is not False:
            raise InvalidInputError(f"exact must be a bool, got {exact!r}")
        key = MeterKey(account, model.strip(), str(modality), self.period_of(at))
        key = self._keys.setdefault(key, key)
        return (key, d, tokens, None if seconds is None else _seconds(seconds), exact)

    def _add(self, ev: _Event) -> None:
        cell = self._cells.get(ev[0])
        if cell is None:
            self._cells[ev[0]] = _cell_delta(ev)
        elif ev[1] == 0 and ev[3] is None and ev[0].modality == "text":
            # plain text input, the common event: no delta list needed
            cell[0] += 1
            cell[1] += ev[2]
            if not ev[4]:
                cell[10] += 1
        else:
            for i, v in enumerate(_cell_delta(ev)):
                if v:
                    cell[i] += v

    def _insert(self, event_id: str | None, ev: _Event) -> bool:
        """Count ``ev`` unless its id was seen (caller holds the lock)."""
        if self._dedupe:
            if event_id is None:
                raise InvalidInputError(
                    "this Meter de-duplicates by idempotency key: pass event_id, or use "
                    "Meter(dedupe=False) if the events are already unique")
            old = self._events.get(event_id)
            if old is not None:
                if old != ev:
                    raise InvalidInputError(
                        f"event {event_id!r} was already recorded with different numbers "
                        f"({_describe(old)}; now {_describe(ev)}); an idempotency key must "
                        "name one event")
                return False
            self._events[event_id] = ev
        self._add(ev)
        return True

    def record(self, event_id: str | int | None, *, model: str, modality: str, tokens: int,
               at: dt.datetime, account: str = "", direction: str = "input",
               seconds: Decimal | float | int | str | None = None,
               exact: bool = True) -> bool:
        """Count one event (one item of usage), unless its ``event_id`` was counted.

        Thread-safe: any number of threads may record into one meter.

        Args:
            event_id: the idempotency key (unique per event: a request with several items
                needs one key per item, e.g. ``f"{request_id}:{n}"``); ``None`` only
                with ``dedupe=False``.
            model: the model name.
            modality: ``text``, ``image``, ``video`` or ``audio``.
            tokens: the event's tokens.
            at: when it happened (timezone-aware); picks the period.
            account: who it belongs to.
            direction: ``input``, ``output``, ``cached`` or ``cache_write``.
            seconds: the media's duration, for books that bill by the second.
            exact: False if ``tokens`` is an estimate.

        Returns:
            True if counted; False if the same event was counted before.

        Raises:
            InvalidInputError: a malformed value, or ``event_id`` already recorded with
                different numbers.
        """
        eid = None if event_id is None else _event_id(event_id)
        ev = self._make(account=account, model=model, modality=modality, tokens=tokens,
                        at=at, direction=direction, seconds=seconds, exact=exact)
        with self._lock:
            return self._insert(eid, ev)

    def record_table(self, table: Any, *, account: str = "") -> int:
        """Record every row of a :func:`tokenmeter.batch.count_table` (or ``price_table``)
        result: one event per row.

        Columns used: ``model``, ``modality``, ``tokens``, ``exact``, ``error``,
        ``timestamp`` (timezone-aware), and where present ``direction``, ``duration``
        (the seconds of video/audio rows), ``account`` (else the ``account`` argument) and
        ``event_id`` (required when de-duplicating).

        Returns:
            How many rows were newly counted (replays are not).

        Raises:
            InvalidInputError: a row has an error or no timestamp (naming the first such
                row; rows are never skipped silently), or a needed column is missing.
        """
        from ._batch.frame import read, timestamps, to_datetime

        frame = read(table, ())
        cols = frame.columns
        extra = _extra_columns(table)
        need = ["tokens", "exact", "error", "timestamp"]
        missing = [c for c in need if c not in extra and c not in cols]
        if self._dedupe and "event_id" not in extra:
            missing.append("event_id")
        if missing:
            raise InvalidInputError(
                f"record_table needs column(s) {missing}; pass a count_table/price_table "
                "result (and an event_id column, or use Meter(dedupe=False))")

        def col(name: str) -> list[Any]:
            arr = cols.get(name)
            if arr is None:
                arr = extra.get(name)
            return [] if arr is None else arr.to_pylist()

        n = frame.n
        errors = col("error")
        stamps = extra.get("timestamp", cols.get("timestamp"))
        us, present = timestamps(stamps, n)  # refuses a naive column; floors to microseconds
        ts_us: list[Any] = [int(u) if p else None
                            for u, p in zip(us.tolist(), present.tolist(), strict=True)]
        models, modalities, tokens = col("model"), col("modality"), col("tokens")
        exacts = col("exact")
        directions = col("direction") or [None] * n
        durations = col("duration") or [None] * n
        accounts = col("account") or [account] * n
        ids = col("event_id") or [None] * n
        for i in range(n):
            if errors[i] is not None:
                raise InvalidInputError(f"row {i} has an error and cannot be metered: "
                                        f"{errors[i]}")
            if ts_us[i] is None:
                raise InvalidInputError(f"row {i} has no timestamp; a meter needs one")
        events = []
        for i in range(n):
            d = durations[i]
            ev = self._make(account=accounts[i] if accounts[i] is not None else account,
                            model=models[i], modality=modalities[i], tokens=tokens[i],
                            at=to_datetime(int(ts_us[i])), direction=directions[i] or "input",
                            seconds=None if d is None else float(d), exact=exacts[i])
            events.append((None if ids[i] is None else _event_id(ids[i]), ev))
        added = 0
        with self._lock:
            for eid, ev in events:
                added += self._insert(eid, ev)
        return added

    # -- combining ------------------------------------------------------------------------

    def _check_same(self, other: Meter) -> None:
        if self._settings() != other._settings():
            raise InvalidInputError(
                "meters merge only with the same granularity, time zone and dedupe mode; got "
                f"{self._settings()} and {other._settings()}")

    def _snapshot(self) -> tuple[dict[str, _Event], dict[MeterKey, list[Any]]]:
        with self._lock:
            return dict(self._events), {k: list(v) for k, v in self._cells.items()}

    def merge(self, other: Meter) -> Meter:
        """Add ``other``'s events into this meter (in place) and return it.

        With de-duplication this is a set union of events: an event in both counts once.

        Raises:
            InvalidInputError: different settings, or one event id with different numbers.
        """
        if not isinstance(other, Meter):
            raise InvalidInputError(f"can only merge a Meter, got {type(other).__name__}")
        self._check_same(other)
        if other is self:
            return self
        events, cells = other._snapshot()
        with self._lock:
            if self._dedupe:
                for eid, (key, d, tokens, seconds, exact) in events.items():
                    key = self._keys.setdefault(key, key)
                    self._insert(eid, (key, d, tokens, seconds, exact))
            else:
                for key, delta in cells.items():
                    key = self._keys.setdefault(key, key)
                    cell = self._cells.get(key)
                    if cell is None:
                        self._cells[key] = list(delta)
                    else:
                        for i, v in enumerate(delta):
                            cell[i] += v
        return self

    def copy(self) -> Meter:
        """An independent copy."""
        return Meter(granularity=self._granularity, timezone=self._tz,
                     dedupe=self._dedupe).merge(self)

    def __add__(self, other: object) -> Meter:
        if not isinstance(other, Meter):
            return NotImplemented
        return self.copy().merge(other)

    def __radd__(self, other: object) -> Meter:
        if isinstance(other, int) and not isinstance(other, bool) and other == 0:
            return self.copy()  # sum() starts from 0
        return NotImplemented

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Meter):
            return NotImplemented
        if self._settings() != other._settings():
            return False
        a_events, a_cells = self._snapshot()
        b_events, b_cells = other._snapshot()
        if self._dedupe:
            return a_events == b_events
        return a_cells == b_cells

    __hash__ = None  # type: ignore[assignment]  # mutable: meters are not hashable

    def __len__(self) -> int:
        """Distinct events counted."""
        with self._lock:
            return sum(c[0] for c in self._cells.values())

    def __repr__(self) -> str:
        return (f"<Meter {self._granularity} {self._tz} dedupe={self._dedupe}: "
                f"{len(self)} events, {len(self._cells)} keys>")

    def __reduce__(self) -> tuple[Any, ...]:
        # Locks do not pickle; ship the canonical bytes (Dask and Spark pickle meters).
        return (Meter.from_bytes, (self.to_bytes(),))

    # -- reading --------------------------------------------------------------------------

    def totals(self) -> dict[MeterKey, MeterTotals]:
        """Every key's totals, in key order."""
        _, cells = self._snapshot()
        return {k: MeterTotals(**dict(zip(_FIELD_NAMES, cells[k], strict=True)))
                for k in sorted(cells)}

    def keys(self) -> list[MeterKey]:
        """The keys with usage, sorted."""
        with self._lock:
            return sorted(self._cells)

    def event_ids(self) -> Iterator[str]:
        """The idempotency keys counted (empty without de-duplication), sorted."""
        events, _ = self._snapshot()
        return iter(sorted(events))

    def quote(self, book: PriceBook) -> dict[tuple[str, str, str], Quote]:
        """Price each (account, model, period) aggregate over its period.

        Each aggregate's usage (every modality of the model in that period, keyed by the
        book entry the model name resolves to) is priced with
        :meth:`PriceBook.quote_period` at the period's start, so graduated and volume
        tiers, packages and free allowances apply to the period's totals. Which usage
        fields the events fill follows the same rule as
        :func:`tokenmeter.batch.price_table` (seconds and generations where the book bills
        them).

        Returns:
            ``{(account, priced model id, period): Quote}``, sorted.

        Raises:
            UnpricedModelError: a model, modality or direction the book does not price.
            PricingError: a model whose prices depend on each request (context tiers,
                time-of-day windows, per-request limits): price its rows with
                ``price_table`` instead; or media the book bills by the second only that
                were recorded without a duration.
        """
        groups: dict[tuple[str, str, str], dict[str, Any]] = {}
        for key, t in self.totals().items():
            at = self.period_start(key.period)
            try:
                entry = book.price_of(key.model, at=at)
            except TokenmeterError as exc:
                raise type(exc)(f"{key.account or '<no account>'} / {key.model} / "
                                f"{key.period}: {exc}") from exc
            gkey = (key.account, entry.id, key.period)
            g = groups.setdefault(gkey, {"model": key.model, "at": at, "fields": {},
                                         "estimated": 0})
            g["estimated"] += t.estimated
            _add_fields(g["fields"], known_meters(entry), key, t)
        out: dict[tuple[str, str, str], Quote] = {}
        for gkey in sorted(groups):
            g = groups[gkey]
            usage = Usage(**g["fields"], exact=g["estimated"] == 0)
            try:
                out[gkey] = book.quote_period(g["model"], usage, at=g["at"])
            except TokenmeterError as exc:
                raise type(exc)(f"{gkey[0] or '<no account>'} / {gkey[1]} / {gkey[2]}: "
                                f"{exc}") from exc
        return out

    # -- serialization --------------------------------------------------------------------

    def to_json(self) -> str:
        """A canonical JSON text: equal meters give identical text; money-free (counts
        and decimal-string seconds only)."""
        events, cells = self._snapshot()
        keys = sorted(cells)
        index = {k: i for i, k in enumerate(keys)}
        state: dict[str, Any] = {
            "format": _FORMAT, "version": 1, "granularity": self._granularity,
            "timezone": self._tz, "dedupe": self._dedupe,
            "keys": [list(k) for k in keys],
        }
        if self._dedupe:
            state["events"] = [
                [eid, index[ev[0]], DIRECTIONS[ev[1]], ev[2],
                 None if ev[3] is None else _dec_str(ev[3]), ev[4]]
                for eid, ev in sorted(events.items())]
        else:
            state["cells"] = [
                [index[k], *[_dec_str(v) if i in (_SEC_IN, _SEC_OUT) else v
                             for i, v in enumerate(cells[k])]] for k in keys]
        return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str | bytes) -> Meter:
        """Rebuild a meter from :meth:`to_json` text.

        Raises:
            InvalidInputError: not a meter's JSON, or inconsistent.
        """
        try:
            state = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"not a Meter's JSON: {exc}") from None
        if not isinstance(state, dict):
            raise InvalidInputError("not a Meter's JSON (not an object)")
        try:
            if state.get("format") != _FORMAT or state.get("version") != 1:
                raise InvalidInputError(
                    f"not a Meter's JSON (format {state.get('format')!r}, version "
                    f"{state.get('version')!r}); expected {_FORMAT!r} version 1")
            m = cls(granularity=state["granularity"], timezone=state["timezone"],
                    dedupe=state["dedupe"])
            keys = [MeterKey(*_strs(k)) for k in state["keys"]]
            for k in keys:
                if k.modality not in MODALITIES:
                    raise InvalidInputError(f"bad modality in key {list(k)}")
                m._keys[k] = k
            if m._dedupe:
                for eid, ki, d, tokens, seconds, exact in state["events"]:
                    if (not isinstance(tokens, int) or isinstance(tokens, bool) or tokens < 0
                            or not isinstance(exact, bool) or d not in DIRECTIONS):
                        raise InvalidInputError(f"bad event {eid!r}")
                    ev = (keys[ki], DIRECTIONS.index(d), tokens, _seconds(seconds), exact)
                    m._insert(_event_id(eid), ev)
            else:
                for row in state["cells"]:
                    cell = [_dec(v) if i in (_SEC_IN, _SEC_OUT) else _count(v)
                            for i, v in enumerate(row[1:])]
                    if len(cell) != _N:
                        raise InvalidInputError("bad cell")
                    m._cells[keys[row[0]]] = cell
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            raise InvalidInputError(f"malformed Meter JSON: {exc!r}") from None
        return m

    def to_bytes(self) -> bytes:
        """Compact bytes (canonical JSON, zlib-compressed, with a magic prefix)."""
        return _MAGIC + zlib.compress(self.to_json().encode("utf-8"), 6)

    @classmethod
    def from_bytes(cls, data: bytes) -> Meter:
        """Rebuild a meter from :meth:`to_bytes`.

        Raises:
            InvalidInputError: not a meter's bytes.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)) or not bytes(data[:8]) == _MAGIC:
            raise InvalidInputError("not a Meter's bytes (no tokenmeter Meter header)")
        try:
            text = zlib.decompress(bytes(data[8:])).decode("utf-8")
        except (zlib.error, UnicodeDecodeError) as exc:
            raise InvalidInputError(f"corrupt Meter bytes: {exc}") from None
        return cls.from_json(text)

    @classmethod
    def merge_all(cls, meters: Iterable[Meter]) -> Meter:
        """Merge many meters into a new one (order and grouping do not matter)."""
        out: Meter | None = None
        for m in meters:
            out = m.copy() if out is None else out.merge(m)
        return out if out is not None else cls()


_FIELD_NAMES = tuple(f.name for f in fields(MeterTotals))


def _describe(ev: _Event) -> str:
    key, d, tokens, seconds, exact = ev
    sec = f", {seconds} s" if seconds is not None else ""
    return (f"{key.account}/{key.model}/{key.modality}/{key.period} {DIRECTIONS[d]} "
            f"{tokens} tokens{sec}{'' if exact else ', estimated'}")


def _dec_str(d: Decimal) -> str:
    return format(d.normalize(), "f") if d else "0"


def _dec(v: object) -> Decimal:
    if not isinstance(v, str):
        raise InvalidInputError(f"seconds must be a decimal string, got {v!r}")
    out = _seconds(v)
    return out if out is not None else _ZERO


def _count(v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise InvalidInputError(f"a count must be an int >= 0, got {v!r}")
    return v


def _strs(k: object) -> list[str]:
    if not isinstance(k, list) or len(k) != 4 or not all(isinstance(s, str) for s in k):
        raise InvalidInputError(f"bad key {k!r}")
    return k


def _extra_columns(table: Any) -> dict[str, Any]:
    """Output and bookkeeping columns of a table, as Arrow arrays (by name)."""
    import pyarrow as pa  # type: ignore[import-untyped]

    names = ("tokens", "exact", "error", "event_id", "account", "timestamp", "duration",
             "direction")
    if isinstance(table, (pa.Table, pa.RecordBatch)):
        have = table.schema.names
        return {c: _chunk(table.column(c)) for c in names if c in have}
    module = type(table).__module__.split(".")[0]
    if module == "pandas":
        return {c: pa.array(table[c], from_pandas=True) for c in names if c in table.columns}
    if module == "polars":
        present = [c for c in names if c in table.columns]
        t = table.select(present).to_arrow()
        return {c: _chunk(t.column(c)) for c in present}
    if isinstance(table, Mapping):
        return {c: pa.array(_plain(table[c]), from_pandas=True) for c in names if c in table}
    return {}


def _plain(v: Any) -> Any:
    import numpy as np

    if isinstance(v, np.ma.MaskedArray):
        mask = np.ma.getmaskarray(v)  # type: ignore[no-untyped-call]
        return [None if m else x for x, m in zip(v.data.tolist(), mask,
                                                  strict=True)]
    return v


def _chunk(col: Any) -> Any:
    return col.combine_chunks() if hasattr(col, "combine_chunks") else col


def _add_fields(fields_: dict[str, Any], known: frozenset[Any], key: MeterKey,
                t: MeterTotals) -> None:
    """Add one key's totals to a period usage's fields (the row rule of ``usage``)."""
    def add(name: str, value: Any) -> None:
        if value:
            fields_[name] = fields_.get(name, 0) + value

    p_in = plan(known, key.modality, "input")
    p_out = plan(known, key.modality, "output")
    where = f"{key.account or '<no account>'} / {key.model} / {key.modality} / {key.period}"
    # Input: seconds where billed by the second; tokens unless only seconds are billed.
    if p_in.seconds_field is not None:
        add(p_in.seconds_field, t.input_seconds)
    if p_in.seconds_field is None or p_in.tokens_when_timed:
        add(p_in.token_field, t.input)
        add("cached", t.cached)
        add("cache_write", t.cache_write)
    elif t.untimed_input:
        raise PricingError(
            f"{where}: {t.untimed_input} input event(s) have no duration, and the book bills "
            f"{key.modality} input by the second only; record their seconds")
    if p_out.seconds_field is not None:
        add(p_out.seconds_field, t.output_seconds)
    if p_out.seconds_field is None or p_out.tokens_when_timed:
        add(p_out.token_field, t.output)
    elif t.untimed_output:
        raise PricingError(
            f"{where}: {t.untimed_output} output event(s) have no duration, and the book "
            f"bills generated {key.modality} by the second only; record their seconds")
    if p_out.generation:
        add("generations", t.generations)
