"""Properties of the rule kinds the examples alone covered: flat per-item prices, per-second
rates, holiday calendars in time-of-day windows (DST edges included), output prices that
depend on the input's modalities, and version selection with ``effective_to`` gaps.

For each: never negative, monotone in quantity, linear where the rule is linear, and
batch == scalar where a batch path exists. The code under test runs in the interpreter's
default decimal context (no ``localcontext``: 28 digits, ``Inexact`` not trapped), so an
operation that leaks out of the exact context shows; references are computed in a wide
trapped context.
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import (
    assert_batch_matches_scalar,
    decimal_prices,
    huge_tokens,
    long_prices,
    price_book,
)

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
TICK = dt.timedelta(microseconds=1)


def trapped() -> decimal.Context:
    return decimal.Context(prec=400, traps=[decimal.Inexact, decimal.InvalidOperation])


def assert_default_context() -> None:
    ctx = decimal.getcontext()
    assert ctx.prec == 28, "a test left a decimal context behind"
    assert not ctx.traps[decimal.Inexact], "a test left a decimal context behind"


prices = st.one_of(decimal_prices, long_prices)
counts = st.one_of(st.integers(0, 1000), st.integers(0, 10**12), huge_tokens)
small_counts = st.one_of(st.just(0), st.integers(1, 1000), st.integers(0, 2_000_000))


# -- flat price per item (per generation) ---------------------------------------------------

ITEM_BOOK = """
[m."gen"]
generation = "{price}"
includes = ["output_video", "output_video_seconds"]
batch_multiplier = "0.5"
free = {{ generation = {free} }}
{limit}
source = "s"
as_of = "2026-01-01"
"""


@given(prices, st.integers(0, 20), counts, counts, small_counts, st.booleans())
def test_flat_per_item_is_linear_monotone_never_negative(price, free, n, m, video, batch):
    assert_default_context()
    b = price_book(ITEM_BOOK.format(price=price, free=free, limit=""))

    def exact(k: int, v: int = 0) -> Decimal:
        return b.quote("gen", tm.Usage(generations=k, output_video=v), batch=batch).exact.amount

    e_n, e_m, e_nm = exact(n), exact(m), exact(n + m)
    with decimal.localcontext(trapped()):
        f = Decimal("0.5") if batch else Decimal(1)
        assert e_n == f * price * max(n - free, 0)
        assert e_nm == f * price * max(n + m - free, 0)
        assert 0 <= e_n <= e_nm  # never negative; monotone in the item count
        if free == 0:
            assert e_nm == e_n + e_m  # linear
    if n:  # the item price covers its latent tokens: included, and free of charge
        q = b.quote("gen", tm.Usage(generations=n, output_video=video), batch=batch)
        assert q.exact.amount == e_n
        included = [ln for ln in q.lines if ln.kind == "included"]
        assert [ln.quantity for ln in included] == ([video] if video else [])
        assert all(ln.amount == 0 for ln in included)
    elif video:
        with pytest.raises(tm.UnpricedModelError, match="only as part of a generation"):
            exact(0, video)


@given(prices, st.integers(0, 10**6), st.decimals(0, 10**8, places=3))
def test_per_item_seconds_limit(price, n, seconds):
    assert_default_context()
    b = price_book(ITEM_BOOK.format(price=price, free=0, limit='item_max_seconds = "10"'))
    u = tm.Usage(generations=n, output_video_seconds=seconds)
    if seconds > 10 * n:
        with pytest.raises(tm.PricingError, match="up to 10 s"):
            b.quote("gen", u)
    else:
        with decimal.localcontext(trapped()):
            want = price * n
        assert b.quote("gen", u).exact.amount == want
    # The batch path leaves per-item seconds limits to the scalar quote, and says so.
    with pytest.raises(tm.PricingError, match="seconds per item"):
        b.price_array("gen", generations=[n])


@settings(max_examples=100)
@given(prices, st.integers(0, 5), st.booleans(),
       st.lists(st.tuples(counts, small_counts), min_size=1, max_size=6))
def test_flat_per_item_batch_equals_scalar(price, free, batch, rs):
    b = price_book(ITEM_BOOK.format(price=price, free=free, limit=""))
    rows = [{"generations": g, "output_video": v} for g, v in rs]
    assert_batch_matches_scalar(b, "gen", rows, batch=batch)


# -- per second of media ----------------------------------------------------------------------

SECONDS_BOOK = """
[m."sec"]
input = "{pt}"
input_audio_seconds = "{pa}"
input_video_seconds = "{pv}"
output_video_seconds = "{po}"
batch_multiplier = "0.5"
source = "s"
as_of = "2026-01-01"
"""

seconds = st.one_of(
    st.just(Decimal(0)),
    st.decimals(0, 10**5, places=3),
    # long ones, but short enough that price x seconds fits the 100 exact digits
    st.builds(lambda d, p: Decimal((0, tuple(d), -p)),
              st.lists(st.integers(0, 9), min_size=1, max_size=30), st.integers(0, 20)))


@st.composite
def second_usages(draw: Any) -> dict[str, Any]:
    return {"text": draw(small_counts), "audio_seconds": draw(seconds),
            "video_seconds": draw(seconds), "output_video_seconds": draw(seconds)}


def added(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    with decimal.localcontext(trapped()):  # Usage.__add__ would add seconds in the ambient one
        return {k: a[k] + b[k] for k in a}


@given(prices, prices, prices, prices, second_usages(), second_usages(), st.booleans())
def test_per_second_rates_are_linear_monotone_never_negative(pt, pa, pv, po, u1, u2, batch):
    assert_default_context()
    b = price_book(SECONDS_BOOK.format(pt=pt, pa=pa, pv=pv, po=po))

    def exact(u: dict[str, Any]) -> Decimal:
        return b.quote("sec", tm.Usage(**u), batch=batch).exact.amount

    both = added(u1, u2)
    e1, e2, e12 = exact(u1), exact(u2), exact(both)
    with decimal.localcontext(trapped()):
        f = Decimal("0.5") if batch else Decimal(1)
        want = f * (pt * u1["text"] / 10**6 + pa * u1["audio_seconds"]
                    + pv * u1["video_seconds"] + po * u1["output_video_seconds"])
        assert e1 == want
        assert e12 == e1 + e2  # linear in every quantity
        assert 0 <= e1 <= e12  # never negative; monotone
    for field, unit_price in (("audio_seconds", pa), ("video_seconds", pv),
                              ("output_video_seconds", po)):
        more = added(u1, {k: int(k == field) for k in u1})
        with decimal.localcontext(trapped()):
            assert exact(more) - e1 == (Decimal("0.5") if batch else 1) * unit_price


@given(prices, second_usages(), st.integers(1, 10**6))
def test_seconds_priced_input_bills_its_seconds_never_its_tokens(pa, u, tokens):
    assert_default_context()
    b = price_book(SECONDS_BOOK.format(pt="1", pa=pa, pv="1", po="1"))
    with_tokens = dict(u, audio=tokens)
    if u["audio_seconds"]:
        q = b.quote("sec", tm.Usage(**with_tokens))
        assert q.exact == b.quote("sec", tm.Usage(**u)).exact
        assert any("audio input tokens not billed" in n for n in q.notes)
    else:  # tokens alone cannot be priced by the second: refused, never zero
        with pytest.raises(tm.UnpricedModelError, match="gives no seconds"):
            b.quote("sec", tm.Usage(**with_tokens))


@settings(max_examples=50)
@given(st.lists(st.tuples(small_counts, small_counts), min_size=1, max_size=5))
def test_per_second_books_in_the_batch_path(rs):
    b = price_book(SECONDS_BOOK.format(pt="3.5", pa="0.0001", pv="0.1", po="0.2"))
    # Token columns price as the scalar quote does (audio tokens: unpriced, both ways)...
    assert_batch_matches_scalar(b, "sec", [{"text": t, "audio": a} for t, a in rs])
    # ...and seconds are not a batch column: the error says where they go.
    with pytest.raises(tm.InvalidInputError, match=r"seconds go through PriceBook\.quote"):
        b.price_array("sec", audio_seconds=[1])


# -- holiday calendars in time-of-day windows, DST included ------------------------------------

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Shanghai", "UTC"]
COVERS = (dt.date(2025, 1, 1), dt.date(2026, 12, 31))
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@functools.cache
def transitions(zone: str) -> tuple[dt.datetime, ...]:
    """The instants in 2024-2027 at which ``zone``'s UTC offset changes."""
    tz = ZoneInfo(zone)
    out = []
    t = dt.datetime(2024, 1, 1, tzinfo=UTC)
    while t.year < 2028:
        nxt = t + DAY
        if t.astimezone(tz).utcoffset() != nxt.astimezone(tz).utcoffset():
            lo, hi = t, nxt
            while hi - lo > dt.timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == lo.astimezone(tz).utcoffset():
                    lo = mid
                else:
                    hi = mid
            out.append(hi.replace(microsecond=0))
        t = nxt
    return tuple(out)


def test_dst_zones_have_transitions():
    assert len(transitions("America/New_York")) == 8
    assert len(transitions("Australia/Lord_Howe")) == 8  # a 30-minute shift
    assert transitions("Asia/Shanghai") == ()


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@st.composite
def window_cases(draw: Any) -> dict[str, Any]:
    zone = draw(st.sampled_from(ZONES))
    days = draw(st.one_of(st.just(set(range(7))), st.sets(st.integers(0, 6), min_size=1)))
    # Hours: anywhere, or around the small hours when clocks change.
    start = draw(st.one_of(st.integers(0, 1439), st.sampled_from([60, 90, 120, 150, 180])))
    end = draw(st.one_of(st.integers(1, 1440), st.sampled_from([120, 150, 180, 210, 1440])))
    assume(start != end)
    edges = transitions(zone)
    plain = st.datetimes(min_value=dt.datetime(2024, 10, 1), max_value=dt.datetime(2027, 3, 1),
                         timezones=st.just(UTC))
    near_dst = (st.builds(lambda e, k: e + dt.timedelta(seconds=k), st.sampled_from(edges),
                          st.integers(-4 * 3600, 4 * 3600)) if edges else plain)
    span = (end - start) % 1440 or 1440
    tz = ZoneInfo(zone)
    inside = st.builds(  # a wall-clock time inside the window's hours, either fold
        lambda d, k, fold: (dt.datetime.combine(d, dt.time()) + dt.timedelta(minutes=start + k))
        .replace(tzinfo=tz, fold=fold).astimezone(UTC),
        st.dates(dt.date(2024, 10, 1), dt.date(2027, 3, 1)), st.integers(0, span - 1),
        st.integers(0, 1))
    at = draw(st.one_of(plain, near_dst, inside))
    holidays = draw(st.sets(st.dates(*COVERS), max_size=30))
    return {"zone": zone, "days": days, "start": start, "end": end, "at": at,
            "holidays": holidays}


def window_book(c: dict[str, Any], holidays: set[dt.date]) -> Any:
    listed = ", ".join(d.isoformat() for d in sorted(holidays))
    calendar = f"""
[calendars.h]
source = "s"
as_of = "2026-01-01"
covers_from = {COVERS[0].isoformat()}
covers_to = {COVERS[1].isoformat()}
holidays = [{listed}]
"""
    days = ", ".join(f'"{DAYS[d]}"' for d in sorted(c["days"]))
    return price_book(f"""
[m."w"]
input = "1"
output = "2"
source = "s"
as_of = "2026-01-01"
[[m."w".windows]]
label = "peak"
timezone = "{c['zone']}"
days = [{days}]
hours = ["{hhmm(c['start'])}-{hhmm(c['end'])}"]
except_holidays = "h"
multiplier = "3"
""", extra=calendar)


def window_day(c: dict[str, Any]) -> dt.date | None:
    """The day whose window holds ``at``, by intervals of wall-clock time (weekday checked,
    holidays not): a window opened on day d at ``start`` runs to ``end`` that day, or the
    next day when it crosses midnight. ``None``: outside every window."""
    local = c["at"].astimezone(ZoneInfo(c["zone"])).replace(tzinfo=None)
    for d in (local.date() - DAY, local.date()):
        if d.weekday() not in c["days"]:
            continue
        midnight = dt.datetime.combine(d, dt.time())
        s = midnight + dt.timedelta(minutes=c["start"])
        e = midnight + dt.timedelta(minutes=c["end"] + (0 if c["end"] > c["start"] else 1440))
        if s <= local < e:
            return d
    return None


@settings(max_examples=300)
@given(window_cases(), small_counts, small_counts, small_counts, small_counts)
def test_holiday_windows_match_the_wall_clock_reference(c, t1, o1, t2, o2):
    assert_default_context()
    day = window_day(c)
    covered = day is not None and COVERS[0] <= day <= COVERS[1]
    event("outside every window" if day is None else
          "in a window, covered by the calendar" if covered else
          "in a window, past the calendar")
    if any(abs(c["at"] - e) <= dt.timedelta(hours=4) for e in transitions(c["zone"])):
        event("within 4 h of a DST change")
    books = {"listed": window_book(c, c["holidays"] | ({day} if covered else set())),
             "workday": window_book(c, c["holidays"] - {day})}
    for kind, b in books.items():
        if day is not None and not covered:
            # The calendar cannot say whether that day is a holiday: an error, not a guess.
            with pytest.raises(tm.PricingError, match="cannot say whether"):
                b.quote("w", tm.Usage(text=t1), at=c["at"])
            continue
        peak = day is not None and kind == "workday"

        def exact(t: int, o: int, b: Any = b) -> Decimal:
            return b.quote("w", tm.Usage(text=t, output=o), at=c["at"]).exact.amount

        e1, e2, e12 = exact(t1, o1), exact(t2, o2), exact(t1 + t2, o1 + o2)
        with decimal.localcontext(trapped()):
            assert e1 == (t1 + 2 * o1) * (3 if peak else 1) / Decimal(10**6)
            assert e12 == e1 + e2  # linear at a fixed instant
            assert 0 <= e1 <= e12  # never negative; monotone
    if covered:  # the same instant costs less on a holiday than on a workday
        u = tm.Usage(text=t1 + 1, output=o1)
        assert (books["listed"].quote("w", u, at=c["at"]).exact
                < books["workday"].quote("w", u, at=c["at"]).exact)


@settings(max_examples=100)
@given(window_cases(), st.lists(st.tuples(small_counts, small_counts), min_size=1, max_size=5))
def test_holiday_windows_batch_equals_scalar(c, rs):
    b = window_book(c, c["holidays"])
    assert_batch_matches_scalar(b, "w", [{"text": t, "output": o} for t, o in rs], at=c["at"])


def test_window_over_a_dst_gap_and_a_holiday():
    # New York springs forward on 2026-03-08 (a Sunday) at 02:00; a 01:00-03:00 window has
    # one real hour that night. 2026-03-09 listed as a holiday: no window that day at all.
    c = {"zone": "America/New_York", "days": set(range(7)), "start": 60, "end": 180,
         "holidays": {dt.date(2026, 3, 9)}}
    b = window_book(c, c["holidays"])
    u = tm.Usage(text=10**6)

    def cost(*args: int) -> Decimal:
        return b.quote("w", u, at=dt.datetime(*args, tzinfo=UTC)).exact.amount

    assert cost(2026, 3, 8, 5, 59, 59) == 1   # 00:59:59 EST
    assert cost(2026, 3, 8, 6, 0) == 3        # 01:00 EST: open
    assert cost(2026, 3, 8, 6, 59, 59) == 3   # 01:59:59 EST, the last second before the jump
    assert cost(2026, 3, 8, 7, 0) == 1        # 03:00 EDT: closed after one real hour
    assert cost(2026, 3, 9, 5, 30) == 1       # 01:30 EDT on the holiday
    assert cost(2026, 3, 10, 5, 30) == 3      # 01:30 EDT the day after


# -- output price depending on the input's modalities (Qwen-Omni) ----------------------------

OMNI_AT = dt.datetime(2026, 11, 27, tzinfo=UTC)
OMNI = {"text": "0.0004", "image": "0.0015", "video": "0.0015", "audio": "0.025",
        "output": "0.0016", "output_mm": "0.0045", "output_audio": "0.05"}  # CNY per 1k

media_counts = st.one_of(st.just(0), st.just(0), st.integers(1, 200_000))


@st.composite
def omni_usages(draw: Any, media: bool | None = None) -> dict[str, int]:
    u = {"text": draw(small_counts), "image": draw(media_counts), "video": draw(media_counts),
         "audio": draw(media_counts), "output": draw(small_counts),
         "output_audio": draw(st.one_of(st.just(0), st.integers(0, 100_000)))}
    if media is False:
        u.update(image=0, video=0, audio=0)
    elif media is True and not (u["image"] or u["video"] or u["audio"]):
        u[draw(st.sampled_from(["image", "video", "audio"]))] = draw(st.integers(1, 10_000))
    return u


def has_media(u: dict[str, int]) -> bool:
    return bool(u["image"] or u["video"] or u["audio"])


def omni_reference(u: dict[str, int]) -> Decimal:
    with decimal.localcontext(trapped()):
        out = OMNI["output_mm"] if has_media(u) else OMNI["output"]
        return (sum(u[k] * Decimal(OMNI[k]) for k in ("text", "image", "video", "audio"))
                + u["output"] * Decimal(out) + u["output_audio"] * Decimal(OMNI["output_audio"])
                ) / 1000


@given(omni_usages(), st.sampled_from(["vendors-2026-11", "cn-2025"]))
def test_qwen_omni_output_price_follows_the_input_modalities(u, name):
    assert_default_context()
    q = tm.load_price_book(name).quote("qwen-omni-turbo", tm.Usage(**u), at=OMNI_AT)
    assert q.exact.amount == omni_reference(u)
    assert q.exact.amount >= 0
    out = [ln for ln in q.lines if (ln.modality, ln.direction) == ("text", "output")]
    if out:
        want = OMNI["output_mm"] if has_media(u) else OMNI["output"]
        assert out[0].price == Decimal(want)
        assert ("multimodal input" in out[0].rule) == has_media(u)


@given(st.booleans(), st.data())
def test_omni_is_linear_within_a_modality_class_and_monotone(media, data):
    assert_default_context()
    b = tm.load_price_book("vendors-2026-11")
    u1, u2 = data.draw(omni_usages(media)), data.draw(omni_usages(media))

    def exact(u: dict[str, int]) -> Decimal:
        return b.quote("qwen-omni-turbo", tm.Usage(**u), at=OMNI_AT).exact.amount

    both = {k: u1[k] + u2[k] for k in u1}
    with decimal.localcontext(trapped()):
        assert exact(both) == exact(u1) + exact(u2)  # same class: linear
        assert 0 <= exact(u1) <= exact(both)
    # Adding media to a text-only request never lowers its price: the output re-prices up.
    if not media:
        with_media = dict(u1, audio=1)
        with decimal.localcontext(trapped()):
            jump = u1["output"] * (Decimal(OMNI["output_mm"]) - Decimal(OMNI["output"])) / 1000
            assert exact(with_media) == exact(u1) + Decimal(OMNI["audio"]) / 1000 + jump


MM_BOOK = """
[m."mm"]
input = "{a}"
input_audio = "{b}"
output = "{c}"
output_audio = "{d}"
batch_multiplier = "0.5"
source = "s"
as_of = "2026-01-01"
[m."mm".multimodal_input]
output = "{e}"
output_audio = "{f}"
"""


@settings(max_examples=100)
@given(st.lists(prices, min_size=6, max_size=6),
       st.lists(omni_usages(), min_size=1, max_size=6), st.booleans())
def test_multimodal_rates_batch_equals_scalar(ps, us, batch):
    b = price_book(MM_BOOK.format(**dict(zip("abcdef", ps, strict=True))))
    rows = [{k: u[k] for k in ("text", "audio", "output", "output_audio")} for u in us]
    aq = assert_batch_matches_scalar(b, "mm", rows, batch=batch)
    assert aq is not None
    for i, r in enumerate(rows):
        with decimal.localcontext(trapped()):
            out, oa = (ps[4], ps[5]) if r["audio"] else (ps[2], ps[3])
            want = (r["text"] * ps[0] + r["audio"] * ps[1] + r["output"] * out
                    + r["output_audio"] * oa) / 10**6 * (Decimal("0.5") if batch else 1)
        assert aq.exact_amount(i) == want


# -- versions with effective_to gaps -----------------------------------------------------------

OFFSETS = [dt.timedelta(0), dt.timedelta(hours=8), dt.timedelta(hours=-5),
           dt.timedelta(hours=5, minutes=45)]


@st.composite
def version_cases(draw: Any) -> dict[str, Any]:
    n = draw(st.integers(1, 5))
    raw = draw(st.lists(st.datetimes(min_value=dt.datetime(2020, 1, 1),
                                     max_value=dt.datetime(2030, 1, 1)),
                        min_size=2 * n, max_size=2 * n, unique=True))
    points = sorted({p.replace(microsecond=0, tzinfo=UTC) for p in raw})
    assume(len(points) == 2 * n)
    versions = []
    for i in range(n):
        mode = draw(st.sampled_from(["open", "gap", "touch"]))
        start = points[2 * i]
        end = (None if mode == "open" else
               points[2 * i + 2] if mode == "touch" and i + 1 < n else points[2 * i + 1])
        versions.append((start, end))
    edges = [p for v in versions for p in v if p is not None]
    at = draw(st.one_of(
        st.datetimes(min_value=dt.datetime(2019, 6, 1), max_value=dt.datetime(2030, 6, 1),
                     timezones=st.just(UTC)),
        st.builds(lambda e, d: e + d, st.sampled_from(edges), st.sampled_from([-TICK, 0 * TICK,
                                                                               TICK]))))
    offsets = draw(st.lists(st.sampled_from(OFFSETS), min_size=2 * n, max_size=2 * n))
    return {"versions": versions, "at": at, "offsets": offsets}


def versioned_book(c: dict[str, Any]) -> Any:
    text = 'schema = 1\nid = "t"\ncurrency = "CNY"\n'
    for i, (start, end) in enumerate(c["versions"]):
        def stamp(t: dt.datetime, k: int) -> str:
            return t.astimezone(dt.timezone(c["offsets"][k])).isoformat()
        text += (f'\n[[versions]]\nversion = "v{i}"\neffective_from = {stamp(start, 2 * i)}\n'
                 + (f"effective_to = {stamp(end, 2 * i + 1)}\n" if end is not None else "")
                 + f'[versions.models."x"]\ntext = "{i + 1}"\nsource = "s"\n'
                 'as_of = "2026-01-01"\n')
    return tm.pricing.parse_price_book(text, where="versions.toml")


def expected_version(c: dict[str, Any]) -> int | None:
    vs = c["versions"]
    for i, (start, end) in enumerate(vs):
        stop = end if end is not None else (vs[i + 1][0] if i + 1 < len(vs) else None)
        if start <= c["at"] and (stop is None or c["at"] < stop):
            return i
    return None


@settings(max_examples=300)
@given(version_cases(), small_counts, small_counts)
def test_version_selection_with_effective_to_gaps(c, t1, t2):
    assert_default_context()
    b = versioned_book(c)
    want = expected_version(c)
    event("no version in effect" if want is None else "a version in effect")
    if any(e is not None and c["at"] - e in (-TICK, 0 * TICK, TICK) for v in c["versions"]
           for e in v):
        event("at a version edge, give or take 1 us")
    if want is None:  # before the first version, in a gap, or after a closed last one
        with pytest.raises(tm.PricingError, match="no version in effect"):
            b.quote("x", tm.Usage(text=t1), at=c["at"])
        with pytest.raises(tm.PricingError, match="no version in effect"):
            b.price_array("x", at=c["at"], text=[t1, t2])
        return
    q1 = b.quote("x", tm.Usage(text=t1), at=c["at"])
    q12 = b.quote("x", tm.Usage(text=t1 + t2), at=c["at"])
    assert q1.version == f"v{want}"
    with decimal.localcontext(trapped()):
        assert q1.exact.amount == Decimal(t1) * (want + 1) / 10**6
        assert q12.exact.amount == q1.exact.amount + Decimal(t2) * (want + 1) / 10**6
        assert 0 <= q1.exact.amount <= q12.exact.amount
    aq = assert_batch_matches_scalar(b, "x", [{"text": t1}, {"text": t2}], at=c["at"])
    assert aq is not None
    assert aq.version == f"v{want}"


def test_version_edges_are_exact():
    start = dt.datetime(2026, 1, 1, tzinfo=UTC)
    c = {"versions": [(start, start + DAY), (start + 2 * DAY, None)], "at": start,
         "offsets": [dt.timedelta(0)] * 4}
    b = versioned_book(c)
    assert b.version_at(start).version == "v0"
    assert b.version_at(start + DAY - TICK).version == "v0"
    for gap in (start + DAY, start + 2 * DAY - TICK):
        with pytest.raises(tm.PricingError, match="no version in effect"):
            b.version_at(gap)
    assert b.version_at(start + 2 * DAY).version == "v1"
    assert b.price_array("x", at=start + 2 * DAY, text=np.array([10**6])).total_amount(0) == 2
