"""Seconds and tokens are two measures of one media input: a book bills it by one of them.

``tm.count`` reports both (tokens for token-priced models, seconds for per-second prices);
a quote must bill the input once, by the unit the book prices, and refuse only when the
book prices neither.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

import tokenmeter as tm


def test_token_priced_video_ignores_its_seconds():
    book = tm.load_price_book()  # cn-2025 prices qwen-omni-turbo's video per token
    with_seconds = book.quote("qwen-omni-turbo",
                              tm.Usage(text=100, video=7202, video_seconds=Decimal(10)))
    without = book.quote("qwen-omni-turbo", tm.Usage(text=100, video=7202))
    assert with_seconds.total == without.total
    assert with_seconds.subtotal == without.subtotal
    assert not any(line.unit == "second" for line in with_seconds.lines)
    assert any("seconds not billed" in n for n in with_seconds.notes)


def test_second_priced_audio_ignores_its_tokens():
    book = tm.load_price_book("vendors-2026-11")
    whisper = book.price_of("whisper-1")
    assert whisper is not None
    both = book.quote("whisper-1", tm.Usage(audio=30_000, audio_seconds=Decimal(600)))
    seconds_only = book.quote("whisper-1", tm.Usage(audio_seconds=Decimal(600)))
    assert both.total == seconds_only.total
    assert both.total == tm.Money("0.06", "USD")  # $0.0001 per second, published
    assert [line.unit for line in both.lines if line.kind == "charge"] == ["second"]


def test_an_input_priced_by_neither_unit_is_refused():
    book = tm.load_price_book()
    with pytest.raises(tm.UnpricedModelError) as info:
        book.quote("qwen2.5-72b-instruct",
                   tm.Usage(text=10, video=500, video_seconds=Decimal(1)))
    assert "video" in str(info.value)


def test_counted_media_files_are_priced_end_to_end():
    import mediafactory

    wav = mediafactory.audio("WAV", frames=32_000)  # 2 s at 16 kHz, as bytes
    usage = tm.count("qwen-omni-turbo", wav)
    assert usage.audio > 0
    assert usage.audio_seconds > 0
    quote = tm.load_price_book().quote("qwen-omni-turbo", usage)
    assert quote.total.currency == "CNY"
    assert [line.modality for line in quote.lines if line.kind == "charge"] == ["audio"]


@pytest.mark.parametrize(("model", "usage", "book"), [
    ("whisper-1", tm.Usage(audio=1500), "vendors-2026-11"),       # per second, no seconds
    ("qwen-omni-turbo", tm.Usage(video_seconds=Decimal(10)), "cn-2025"),  # per token, none
])
def test_the_priced_measure_missing_is_refused_not_zero(model, usage, book):
    with pytest.raises(tm.UnpricedModelError) as info:
        tm.load_price_book(book).quote(model, usage)
    assert "gives no" in str(info.value)


def test_usages_add_their_seconds_exactly_in_any_decimal_context():
    import decimal
    from decimal import Decimal

    long = Decimal("1.234567890123456789012345678901234567")
    a = tm.Usage(video_seconds=long, audio_seconds=Decimal("0.1"))
    b = tm.Usage(video_seconds=Decimal("1E-40"), audio_seconds=Decimal("0.2"))
    with decimal.localcontext(decimal.Context(prec=5)):  # a caller's coarse context
        total = a + b
        assert sum([a, b]) == total
    assert total.video_seconds == Decimal("1.2345678901234567890123456789012345670001")
    assert total.audio_seconds == Decimal("0.3")
