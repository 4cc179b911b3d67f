"""Every pricing rule, proven by properties (Inexact trapped where exactness is claimed)."""

from __future__ import annotations

import datetime as dt
import decimal
import math
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import tokenmeter as tm
from strategies import decimal_prices, period_tokens, price_book, request_tokens
from tokenmeter.pricing.rules import (
    GraduatedRate,
    PackageRate,
    Tier,
    TimeWindow,
    UnitRate,
    VolumeRate,
)

UTC = dt.timezone.utc
HALF_FEN = Decimal("0.005")


def trapped() -> decimal.Context:
    return decimal.Context(prec=200, traps=[decimal.Inexact, decimal.InvalidOperation])


@st.composite
def tier_lists(draw, *, decreasing: bool | None = None, flats: bool = True) -> tuple[Tier, ...]:
    n = draw(st.integers(1, 4))
    bounds = sorted(draw(st.sets(st.integers(1, 5_000_000), min_size=n - 1, max_size=n - 1)))
    prices = draw(st.lists(decimal_prices, min_size=n, max_size=n))
    if decreasing is True:
        prices.sort(reverse=True)
    elif decreasing is False:
        prices.sort()
    flat = [draw(st.sampled_from(["0", "0.5", "2"])) if flats else "0" for _ in range(n)]
    ups: list[Decimal | None] = [Decimal(b) for b in bounds] + [None]
    return tuple(Tier(up_to=u, price=p, flat=Decimal(f))
                 for u, p, f in zip(ups, prices, flat, strict=True))


def graduated_reference(tiers: tuple[Tier, ...], per: int, q: int) -> Decimal:
    """Unit by unit, in integers: each unit k (1..q) costs its tier's price."""
    total = Decimal(0)
    lower = 0
    for t in tiers:
        upper = q if t.up_to is None else min(q, int(t.up_to))
        if upper > lower:
            total += (upper - lower) * t.price / per + t.flat
        if t.up_to is None or q <= int(t.up_to):
            break
        lower = int(t.up_to)
    return total


# -- rate functions ---------------------------------------------------------------------

@given(decimal_prices, period_tokens, period_tokens)
def test_unit_rate_is_linear_and_exact(price, a, b):
    r = UnitRate(price=price, per=1_000_000)
    with decimal.localcontext(trapped()):
        assert r.amount(Decimal(a + b)) == r.amount(Decimal(a)) + r.amount(Decimal(b))
        assert r.amount(Decimal(a)) == Decimal(a) * price / 1_000_000
        assert r.amount(Decimal(a)) >= 0


@given(tier_lists(), st.integers(0, 10**7), st.integers(0, 10**7))
def test_graduated_never_negative_monotone_and_matches_unit_by_unit(tiers, a, b):
    g = GraduatedRate(tiers=tiers, per=1000)
    lo, hi = sorted((a, b))
    with decimal.localcontext(trapped()):
        assert g.amount(Decimal(0)) == 0
        assert 0 <= g.amount(Decimal(lo)) <= g.amount(Decimal(hi))
        assert g.amount(Decimal(hi)) == graduated_reference(tiers, 1000, hi)


@given(tier_lists(), st.lists(st.integers(0, 3_000_000), min_size=1, max_size=8))
def test_graduated_is_partition_invariant(tiers, parts):
    """Pricing a period's usage in any split (each part after the ones before) sums to
    the price of the whole, before rounding."""
    g = GraduatedRate(tiers=tiers, per=1_000_000)
    with decimal.localcontext(trapped()):
        before = Decimal(0)
        total = Decimal(0)
        for q in parts:
            total += g.amount(before + q) - g.amount(before)
            before += q
        assert total == g.amount(Decimal(sum(parts)))


@given(tier_lists(decreasing=True, flats=False), st.integers(0, 10**7),
       st.sampled_from(["upper-inclusive", "lower-inclusive"]))
def test_volume_vs_graduated_with_falling_prices(tiers, q, boundary):
    g = GraduatedRate(tiers=tiers, per=1_000_000)
    v = VolumeRate(tiers=tiers, per=1_000_000, boundary=boundary)
    with decimal.localcontext(trapped()):
        vq, gq = v.amount(Decimal(q)), g.amount(Decimal(q))
        # Every unit at the (cheapest) tier reached never costs more than slice by slice.
        assert 0 <= vq <= gq
        # Inside the first tier the two agree.
        first = tiers[0].up_to
        if first is None or q < first:
            assert vq == gq
        # Volume is the whole quantity at one tier's price.
        assert vq == (Decimal(q) * v.tier_for(Decimal(q)).price / 1_000_000 if q else 0)


@given(tier_lists(decreasing=False, flats=False), st.integers(0, 10**7))
def test_volume_vs_graduated_with_rising_prices(tiers, q):
    g = GraduatedRate(tiers=tiers, per=1_000_000)
    v = VolumeRate(tiers=tiers, per=1_000_000, boundary="upper-inclusive")
    with decimal.localcontext(trapped()):
        assert v.amount(Decimal(q)) >= g.amount(Decimal(q)) >= 0


def test_volume_is_not_monotone_across_a_cheaper_tier_but_is_within_one():
    v = VolumeRate(tiers=(Tier(up_to=Decimal(1000), price=Decimal(5)),
                          Tier(up_to=None, price=Decimal(3))), per=1, boundary="upper-inclusive")
    assert v.amount(Decimal(1000)) == 5000
    assert v.amount(Decimal(1001)) == 3003  # crossing into the cheaper tier lowers the total
    lower = VolumeRate(tiers=v.tiers, per=1, boundary="lower-inclusive")
    assert lower.amount(Decimal(1000)) == 3000  # the boundary belongs to the next tier
    assert v.amount(Decimal(999)) < v.amount(Decimal(1000))


@given(st.integers(1, 10_000), decimal_prices, st.integers(0, 10**9), st.integers(0, 10**9))
def test_package_is_ceil_and_monotone(size, price, a, b):
    r = PackageRate(size=size, price=price)
    lo, hi = sorted((a, b))
    with decimal.localcontext(trapped()):
        assert r.amount(Decimal(lo)) == (-(-lo // size)) * price
        assert r.amount(Decimal(lo)) <= r.amount(Decimal(hi))
    assert r.amount(Decimal(0)) == 0


def test_package_examples():
    r = PackageRate(size=20, price=Decimal("1.5"))
    assert r.amount(Decimal("20.1")) == 3  # 20.1 units buy 2 packages
    assert r.amount(Decimal(20)) == Decimal("1.5")
    assert r.amount(Decimal(1)) == Decimal("1.5")


# -- whole-request context tiers ---------------------------------------------------------

def tiered_book(bound: int, boundary: str):
    return price_book(f"""
[m."t"]
source = "s"
as_of = "2026-01-01"
[m."t".context]
boundary = "{boundary}"
[[m."t".context.tiers]]
up_to = {bound}
input = "1"
output = "10"
[[m."t".context.tiers]]
input = "2"
output = "15"
""")


@given(st.integers(1, 2_000_000), st.sampled_from(["upper-inclusive", "lower-inclusive"]),
       st.integers(-2, 2), st.integers(0, 100_000))
def test_context_tier_boundaries_are_hit_exactly(bound, boundary, offset, out):
    b = tiered_book(bound, boundary)
    n = bound + offset
    assume(n >= 0)
    q = b.quote("t", tm.Usage(text=n, output=out))
    upper = (n > bound) if boundary == "upper-inclusive" else (n >= bound)
    in_price, out_price = (Decimal(2), Decimal(15)) if upper else (Decimal(1), Decimal(10))
    with decimal.localcontext(trapped()):
        # The whole request, output included, is billed at the tier of its prompt.
        assert q.exact.amount == (n * in_price + out * out_price) / 1_000_000


def test_gemini_over_200k_reprices_the_whole_request():
    b = tm.load_price_book("vendors-2026-11")
    at = dt.datetime(2026, 11, 27, tzinfo=UTC)
    at_bound = b.quote("gemini-2.5-pro", tm.Usage(text=200_000, output=1000), at=at)
    over = b.quote("gemini-2.5-pro", tm.Usage(text=200_001, output=1000), at=at)
    assert at_bound.exact.amount == Decimal("0.25") + Decimal("0.01")
    assert over.exact.amount == Decimal("200001") * Decimal("2.5") / 10**6 + Decimal("0.015")
    assert "context tier 2" in over.lines[0].rule


def test_prompt_past_the_last_tier_is_an_error():
    b = tm.load_price_book("vendors-2026-11")
    with pytest.raises(tm.PricingError, match="past the last context tier"):
        b.quote("qwen-plus", tm.Usage(text=1_000_001),
                at=dt.datetime(2026, 11, 27, tzinfo=UTC))


# -- time windows -------------------------------------------------------------------------

ZONES = ["UTC", "Asia/Shanghai", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"]


def reference_active(at: dt.datetime, zone: str, days: set[int], start: int, end: int) -> bool:
    """By intervals of wall-clock time: a window opened on day d at ``start`` runs to
    ``end`` the same day, or the next day when it crosses midnight."""
    local = at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)
    for d in (local.date() - dt.timedelta(days=1), local.date()):
        if d.weekday() not in days:
            continue
        midnight = dt.datetime.combine(d, dt.time())
        s = midnight + dt.timedelta(minutes=start)
        e = midnight + dt.timedelta(minutes=end + (0 if end > start else 1440))
        if s <= local < e:
            return True
    return False


instants = st.datetimes(min_value=dt.datetime(2020, 1, 1), max_value=dt.datetime(2030, 12, 31),
                        timezones=st.just(UTC))


@given(instants, st.sampled_from(ZONES), st.sets(st.integers(0, 6), min_size=1),
       st.integers(0, 1439), st.integers(1, 1440))
def test_window_matches_wall_clock_reference(at, zone, days, start, end):
    assume(start != end)
    w = TimeWindow(label="w", timezone=zone, days=frozenset(days), hours=((start, end),),
                   multiplier=Decimal("0.5"))
    assert w.active(at) == reference_active(at, zone, days, start, end)


@given(st.sampled_from(ZONES), st.integers(0, 1439), st.integers(1, 1440),
       st.dates(min_value=dt.date(2021, 1, 1), max_value=dt.date(2029, 12, 31)))
def test_window_edges(zone, start, end, day):
    assume(start < end and (start, end) != (0, 1440))  # all day, every day has no edge
    tz = ZoneInfo(zone)
    w = TimeWindow(label="w", timezone=zone, days=frozenset(range(7)), hours=((start, end),),
                   multiplier=Decimal(2))
    opens = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=start)
    local_open = opens.replace(tzinfo=tz)
    # Skip wall times that do not exist (a DST gap) or exist twice (an overlap).
    assume(local_open.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == opens)
    assume(local_open.utcoffset() == local_open.replace(fold=1).utcoffset())
    assert w.active(local_open)  # start is inclusive
    tick = dt.timedelta(microseconds=1)
    before = local_open.astimezone(UTC) - tick
    if before.astimezone(tz).replace(tzinfo=None) == opens - tick:  # no DST jump there
        assert not w.active(before)
    if end < 1440:
        wall = dt.datetime.combine(day, dt.time()) + dt.timedelta(minutes=end)
        closes = wall.replace(tzinfo=tz)
        assume(closes.utcoffset() == closes.replace(fold=1).utcoffset())
        assume(closes.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall)
        assert not w.active(closes)  # end is exclusive
        assert w.active(closes.astimezone(UTC) - tick)


def test_window_across_midnight_belongs_to_its_start_day():
    fri_night = TimeWindow(label="n", timezone="UTC", days=frozenset({4}), hours=((1320, 360),),
                           multiplier=Decimal("0.5"))
    assert fri_night.active(dt.datetime(2026, 11, 27, 22, 0, tzinfo=UTC))   # Fri 22:00
    assert fri_night.active(dt.datetime(2026, 11, 28, 5, 59, tzinfo=UTC))   # Sat 05:59
    assert not fri_night.active(dt.datetime(2026, 11, 28, 6, 0, tzinfo=UTC))
    assert not fri_night.active(dt.datetime(2026, 11, 27, 5, 0, tzinfo=UTC))  # Fri early = Thu's
    assert not fri_night.active(dt.datetime(2026, 11, 28, 22, 0, tzinfo=UTC))


def test_window_across_dst():
    ny = TimeWindow(label="w", timezone="America/New_York", days=frozenset(range(7)),
                    hours=((60, 120),), multiplier=Decimal(2))
    # 2026-11-01: 01:00-02:00 happens twice (EDT, then EST): two real hours in the window.
    first = dt.datetime(2026, 11, 1, 5, 30, tzinfo=UTC)   # 01:30 EDT
    second = dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST
    assert ny.active(first)
    assert ny.active(second)
    assert not ny.active(dt.datetime(2026, 11, 1, 7, 0, tzinfo=UTC))  # 02:00 EST
    # 2026-03-08: 02:00-03:00 does not exist, so a window there never opens that day.
    gap = TimeWindow(label="g", timezone="America/New_York", days=frozenset(range(7)),
                     hours=((120, 180),), multiplier=Decimal(2))
    day = [dt.datetime(2026, 3, 8, tzinfo=UTC) + dt.timedelta(minutes=m) for m in range(0, 1440, 1)]
    assert not any(gap.active(t) for t in day[5 * 60:9 * 60])
    # A fixed local 09:00 is 13:00 UTC in summer and 14:00 UTC in winter.
    nine = TimeWindow(label="n", timezone="America/New_York", days=frozenset(range(7)),
                      hours=((540, 541),), multiplier=Decimal(2))
    assert nine.active(dt.datetime(2026, 7, 1, 13, 0, tzinfo=UTC))
    assert nine.active(dt.datetime(2026, 12, 1, 14, 0, tzinfo=UTC))
    assert not nine.active(dt.datetime(2026, 12, 1, 13, 0, tzinfo=UTC))


def test_deepseek_peak_windows_and_cn_holidays():
    b = tm.load_price_book("vendors-2026-11")
    cst = dt.timezone(dt.timedelta(hours=8))
    u = tm.Usage(text=1_000_000, output=1_000_000)

    def cost(*args: int) -> Decimal:
        return b.quote("deepseek-flash", u, at=dt.datetime(*args, tzinfo=cst)).exact.amount

    peak, off = Decimal("1.50"), Decimal("0.75")
    assert cost(2026, 11, 27, 10, 0) == peak            # Friday morning
    assert cost(2026, 11, 27, 9, 0) == peak             # opens at 09:00 sharp
    assert cost(2026, 11, 27, 8, 59, 59) == off
    assert cost(2026, 11, 27, 12, 0) == off             # 12:00 is exclusive
    assert cost(2026, 11, 27, 14, 0) == peak
    assert cost(2026, 11, 27, 18, 0) == off
    assert cost(2026, 11, 28, 10, 0) == off             # Saturday
    assert cost(2026, 10, 5, 10, 0) == off              # National Day holiday, a Monday
    assert cost(2026, 10, 10, 10, 0) == off             # make-up workday, but a Saturday
    assert cost(2026, 9, 25, 10, 0) == off              # Mid-Autumn, a Friday
    # 2027 holidays are not in the calendar: a weekday morning cannot be decided...
    with pytest.raises(tm.PricingError, match="cannot say whether 2027-01-05"):
        cost(2027, 1, 5, 10, 0)
    # ...but a weekend or an off-peak hour needs no calendar.
    assert cost(2027, 1, 9, 10, 0) == off
    assert cost(2027, 1, 5, 20, 0) == off
    with pytest.raises(tm.PricingError, match="pass at="):
        b.quote("deepseek-flash", u)


# -- credits, allowances, limits --------------------------------------------------------

FEATURE_BOOK = """
[m."f"]
input = "3.5"
input_image = "7"
output = "{out}"
reasoning = "20"
cached_multiplier = "0.4"
batch_multiplier = "0.5"
minimum = "{minimum}"
maximum = "100"
free = {{ input = 5000 }}
source = "s"
as_of = "2026-01-01"
"""

usages = st.builds(
    lambda text, image, output, reasoning_share, cached_share: tm.Usage(
        text=text, image=image, output=output, reasoning=output * reasoning_share // 100,
        cached=(text + image) * cached_share // 100),
    request_tokens, st.integers(0, 50_000), request_tokens, st.integers(0, 100),
    st.integers(0, 100))


@given(usages, st.booleans(), st.sampled_from(["0", "0.01", "1"]),
       st.sampled_from(["0", "0.05", "3", "1000"]),
       st.sampled_from(["half_up", "half_even", "down", "ceiling"]))
def test_never_negative_credits_never_exceed_charges(u, batch, minimum, credit, rounding):
    b = price_book(FEATURE_BOOK.format(out="14", minimum=minimum), rounding=rounding)
    credits = tm.Money(credit, "CNY")
    with decimal.localcontext(trapped()):
        q = b.quote("f", u, batch=batch, credits=credits)
        owed_before_credits = sum((ln.rounded for ln in q.lines if ln.kind != "credit"),
                                  Decimal(0))
        assert q.total.amount >= 0
        assert q.credits_used.amount <= min(credits.amount, owed_before_credits)
        assert q.total.amount == owed_before_credits - q.credits_used.amount
        assert all(ln.amount >= 0 for ln in q.lines if ln.kind == "charge")
        assert q.exact.amount >= 0
        # Rounding: at most half a fen per rated line, and the difference is stated.
        for ln in q.lines:
            if ln.kind in ("charge", "allowance"):
                assert abs(ln.rounded - ln.amount) < Decimal("0.01")
                if rounding.startswith("half"):
                    assert abs(ln.rounded - ln.amount) <= HALF_FEN
        assert q.rounding_difference.amount == q.subtotal.amount - q.exact.amount


@given(usages, st.sampled_from(["text", "image", "output"]), st.integers(1, 100_000),
       st.booleans())
def test_monotone_in_quantity(u, field, extra, batch):
    b = price_book(FEATURE_BOOK.format(out="14", minimum="0"))
    more = tm.Usage(**{**{f: getattr(u, f) for f in ("text", "image", "output", "reasoning",
                                                       "cached")},
                       field: getattr(u, field) + extra})
    with decimal.localcontext(trapped()):
        assert b.quote("f", more, batch=batch).exact >= b.quote("f", u, batch=batch).exact


def test_exact_amounts_of_a_feature_request():
    b = price_book(FEATURE_BOOK.format(out="14", minimum="0.01"))
    u = tm.Usage(text=10_000, image=1000, output=3000, reasoning=1000, cached=2000)
    q = b.quote("f", u)
    got = {(ln.kind, ln.modality, ln.direction): ln.amount for ln in q.lines}
    # cached tokens come off text first; the first 5 000 uncached text tokens are free.
    assert got[("charge", "text", "input")] == Decimal("8000") * Decimal("3.5") / 10**6
    assert got[("charge", "text", "cached")] == Decimal("2000") * Decimal("1.4") / 10**6
    assert got[("charge", "image", "input")] == Decimal("0.007")
    assert got[("charge", "text", "output")] == Decimal("0.028")
    assert got[("charge", "text", "reasoning")] == Decimal("0.02")
    assert got[("allowance", "text", "input")] == Decimal("-0.0175")


def test_minimum_and_maximum_act_on_the_rounded_subtotal():
    b = price_book(FEATURE_BOOK.format(out="14", minimum="0.05"))
    small = b.quote("f", tm.Usage(text=6000))  # 1000 billable tokens: ¥0.0035 -> 0.00
    assert small.total == tm.Money("0.05", "CNY")
    assert [ln.kind for ln in small.lines][-1] == "minimum"
    big = b.quote("f", tm.Usage(text=10**7, output=10**7, image=10**7))  # ¥245 - ¥0.0175
    assert big.total == tm.Money("100", "CNY")
    assert big.exact.amount > 100


@given(st.lists(st.tuples(st.integers(0, 400_000), st.integers(0, 50_000)), min_size=1,
                max_size=6), tier_lists(flats=True))
def test_period_pricing_is_partition_invariant_with_allowances(parts, tiers):
    tier_toml = ", ".join(
        "{" + (f"up_to = {int(t.up_to)}, " if t.up_to is not None else "")
        + f'price = "{t.price}", flat = "{t.flat}"' + "}" for t in tiers)
    b = price_book(f"""
[m."g"]
input = {{ mode = "graduated", tiers = [{tier_toml}] }}
output = {{ mode = "package", size = 1000, price = "0.02" }}
free = {{ input = 100000 }}
charge_scope = "period"
minimum = "0.10"
source = "s"
as_of = "2026-01-01"
""")
    usages_ = [tm.Usage(text=t, output=o) for t, o in parts]
    with decimal.localcontext(trapped()):
        prior = tm.Usage()
        exact = Decimal(0)
        for u in usages_:
            exact += b.quote("g", u, prior=prior).exact.amount
            prior = prior + u
        whole = b.quote_period("g", sum(usages_, tm.Usage()))
    # Any split, each part priced after the ones before, sums to the whole before
    # rounding: graduated slices, packages (⌈(P+q)/s⌉ - ⌈P/s⌉ telescopes) and allowances.
    assert exact == whole.exact.amount
    assert whole.total.amount >= Decimal("0.10")


def test_request_scoped_rules_refuse_period_aggregates():
    b = tm.load_price_book("vendors-2026-11")
    with pytest.raises(tm.PricingError, match="whole-request context tiers"):
        b.quote_period("gemini-2.5-pro", tm.Usage(text=10**7),
                       at=dt.datetime(2026, 11, 1, tzinfo=UTC))


def test_multimodal_input_changes_the_output_price():
    b = tm.load_price_book("vendors-2026-11")
    at = dt.datetime(2026, 11, 27, tzinfo=UTC)
    text_only = b.quote("qwen-omni-turbo", tm.Usage(text=1000, output=1000), at=at)
    with_audio = b.quote("qwen-omni-turbo", tm.Usage(text=1000, audio=1000, output=1000), at=at)
    out = {q: next(ln for ln in q.lines if ln.direction == "output").amount
           for q in (text_only, with_audio)}
    assert out[text_only] == Decimal("0.0016")
    assert out[with_audio] == Decimal("0.0045")
    assert text_only.currency == "CNY"


def test_batch_and_cache_multipliers():
    b = tm.load_price_book("vendors-2026-11")
    at = dt.datetime(2026, 11, 27, tzinfo=UTC)
    u = tm.Usage(text=100_000, cached=40_000, output=10_000)
    full = b.quote("qwen-plus", u, at=at)
    half = b.quote("qwen-plus", u, at=at, batch=True)
    assert half.exact.amount * 2 == full.exact.amount
    cached = next(ln for ln in full.lines if ln.direction == "cached")
    assert cached.unit_price * 1000 == Decimal("0.0008") * Decimal("0.4")
    with pytest.raises(tm.UnpricedModelError, match="no batch price"):
        b.quote("gemini-2.5-flash-lite", tm.Usage(text=1), at=at, batch=True)


def test_claude_cache_read_and_write():
    b = tm.load_price_book("vendors-2026-11")
    q = b.quote("claude-sonnet-4-5", tm.Usage(text=10_000, cached=6000, cache_write=3000),
                at=dt.datetime(2026, 11, 27, tzinfo=UTC))
    got = {ln.direction: ln.amount for ln in q.lines}
    assert got == {"input": Decimal("0.003"), "cached": Decimal("0.0018"),
                   "cache_write": Decimal("0.01125")}


def test_per_second_rates():
    b = tm.load_price_book("vendors-2026-11")
    at = dt.datetime(2026, 11, 27, tzinfo=UTC)
    q = b.quote("whisper-1", tm.Usage(audio_seconds=Decimal("61.5")), at=at)
    assert q.exact.amount == Decimal("0.00615")
    q = b.quote("sora-2", tm.Usage(output_video_seconds=12), at=at)
    assert q.total == tm.Money("1.20", "USD")
    assert math.isclose(float(q.total.amount), 1.2)
