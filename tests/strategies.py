"""Shared hypothesis strategies (import from tests: ``from strategies import ...``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

#: Image sides from 1 px to 20 000 px, log-uniform-ish: small, typical and huge all appear.
sides = st.one_of(
    st.integers(1, 64),
    st.integers(65, 4096),
    st.integers(4097, 20_000),
)

#: Realistic photo/video sizes.
typical_sides = st.integers(200, 4000)

#: Image (height, width) pairs: tiny, thin, typical and huge, any aspect ratio.
image_pairs = st.tuples(sides, sides)

#: Lists of image pairs for vector-versus-scalar checks.
image_pair_lists = st.lists(image_pairs, min_size=1, max_size=40)

#: Sides right at the edges that break integer code: 1, 2**31 - 1 and neighbours.
extreme_sides = st.sampled_from([1, 2, 3, 13, 14, 15, 27, 28, 29, 2**20 - 1, 2**20, 2**24 + 1,
                                 2**31 - 2, 2**31 - 1])

#: Text mixing scripts that stress tokenizers: ASCII, CJK, emoji, combining marks,
#: whitespace runs, digits and punctuation.
text_alphabet = st.one_of(
    st.characters(codec="utf-8"),
    st.sampled_from(list("你好世界中文的一是在不了有和人这 \n\t\r0123456789.,!?'\"-_/\\"
                         "éèàüßñçØœ🙂👍🏽\u0301\u200b\u3000")),
)
texts = st.text(alphabet=text_alphabet, max_size=400)

# -- pricing -----------------------------------------------------------------------------

#: Exact decimal prices: 0 to 10 000 with up to 8 decimal places.
decimal_prices = st.decimals(min_value=0, max_value=10_000, places=8, allow_nan=False,
                             allow_infinity=False)

#: Decimal amounts of money, either sign, up to 12 decimal places.
money_amounts = st.decimals(min_value=-10**9, max_value=10**9, places=12, allow_nan=False,
                            allow_infinity=False)

#: Token counts of one request (0 to 2 million) and of a billing period (to 10**12).
request_tokens = st.integers(0, 2_000_000)
period_tokens = st.integers(0, 10**12)

#: Decimals with up to 60 significant digits and exponents -60..30, either sign: far more
#: digits than the default decimal context's 28, so any operation that runs in the ambient
#: context instead of an exact one loses a digit on them.
long_amounts = st.builds(
    lambda sign, digits, exp: Decimal((sign, tuple(digits), exp)),
    st.integers(0, 1),
    st.one_of(st.lists(st.integers(0, 9), min_size=1, max_size=8),
              st.lists(st.integers(0, 9), min_size=29, max_size=60)),
    st.integers(-60, 30))

#: Prices with up to 40 significant digits (0 to 10 000): more than 28.
long_prices = st.builds(
    lambda digits, places: Decimal((0, tuple(digits), -places)),
    st.lists(st.integers(0, 9), min_size=29, max_size=40), st.integers(36, 40))

#: Token counts that reach int64's edge and past it, with small ones mixed in.
huge_tokens = st.one_of(st.integers(0, 1000), st.integers(2**61, 2**63 - 1),
                        st.sampled_from([2**62, 2**62 + 1, 2**63 - 1, 2**63, 2**64 + 7]))


# -- price books for the pricing tests -------------------------------------------------------

_BOOK_HEADER = """
schema = 1
id = "test"
currency = "{currency}"
rounding = "{rounding}"
timezone = "{timezone}"
{extra}
"""


def price_book(models: str, *, currency: str = "CNY", rounding: str = "half_up",
               timezone: str = "UTC", extra: str = "",
               versions: list[tuple[str, str]] | None = None, where: str = "test.toml") -> Any:
    """A price book whose one version (or each of ``versions``: (name, effective_from))
    holds ``models``: TOML ``[versions.models."id"]`` tables, written ``[m."id"]``."""
    text = _BOOK_HEADER.format(currency=currency, rounding=rounding, timezone=timezone, extra=extra)
    for name, start in versions or [("v1", "2000-01-01T00:00:00Z")]:
        body = models.replace("[m.", "[versions.models.").replace("[[m.", "[[versions.models.")
        text += f'\n[[versions]]\nversion = "{name}"\neffective_from = {start}\n{body}\n'
    from tokenmeter.pricing import parse_price_book

    return parse_price_book(text, where=where)


def scalar_outcome(book: Any, model: str, usage: Any, *, at: Any = None,
                   batch: bool = False) -> Any:
    """``book.quote``'s (exact, total) amounts for ``usage``, or the error it raises."""
    from tokenmeter.errors import TokenmeterError

    try:
        q = book.quote(model, usage, at=at, batch=batch)
    except TokenmeterError as exc:
        return exc
    return q.exact.amount, q.total.amount


def assert_batch_matches_scalar(book: Any, model: str, rows: list[dict[str, int]], *,
                                at: Any = None, batch: bool = False) -> Any:
    """``book.price_array`` gives each row what ``book.quote`` gives it: the same exact
    and total amounts, or -- when some row's scalar quote raises -- an error of the same
    class (naming a failing row when it names one). Returns the ArrayQuote, or ``None``
    on an error."""
    import numpy as np
    import pytest

    import tokenmeter as tm

    def quote(r: dict[str, int]) -> Any:
        try:
            usage = tm.Usage(**r)
        except tm.TokenmeterError as exc:  # e.g. cached above the inputs
            return exc
        return scalar_outcome(book, model, usage, at=at, batch=batch)

    want = [quote(r) for r in rows]
    cols = {k: np.array([r[k] for r in rows],
                        dtype=object if any(r[k] > 2**63 - 1 for r in rows) else np.int64)
            for k in rows[0]}
    errors = [(i, w) for i, w in enumerate(want) if isinstance(w, Exception)]
    if errors:
        with pytest.raises(tm.TokenmeterError) as info:
            book.price_array(model, at=at, batch=batch, **cols)
        got = str(info.value)
        assert any(type(info.value) is type(w) for _, w in errors), (got, errors)
        if got.startswith("row "):  # a row-level message names a row whose quote raises
            assert int(got[4:got.index(":")]) in dict(errors), (got, errors)
        return None
    aq = book.price_array(model, at=at, batch=batch, **cols)
    for i, (exact, total) in enumerate(want):
        assert aq.exact_amount(i) == exact, (i, rows[i])
        assert aq.total_amount(i) == total, (i, rows[i])
    return aq


# -- usage rows for tokenmeter.batch and Meter ---------------------------------------------

#: Models whose media rules cover every rule kind in the catalog, plus text models (with
#: and without a public vocabulary) and names that resolve nowhere or only in a price book.
BATCH_MEDIA_MODELS = (
    "qwen2.5-vl-7b-instruct", "qwen3-vl-8b-instruct", "qwen2.5-omni-7b", "qwen2-audio-7b-instruct",
    "qwen3-omni-30b-a3b-instruct", "gpt-4o", "gpt-4.1-mini", "gemini-2.5-flash", "gemini-3-pro",
    "claude-sonnet-4-5", "pixtral-12b", "internvl2.5-8b", "llava-next-7b", "llava-1.5-7b",
    "llama-3.2-11b-vision-instruct", "whisper-large-v3", "wan2.1-t2v-14b", "cogvideox1.5-5b",
)
BATCH_TEXT_MODELS = ("qwen2.5-72b-instruct", "llama-3.1-8b-instruct", "gpt-4o", "ernie-4.0",
                     "deepseek-chat")


@st.composite
def usage_rows(draw: Any, models: tuple[str | None, ...] = (*BATCH_MEDIA_MODELS,
                                                            *BATCH_TEXT_MODELS, "no-such-model",
                                                            None),
               modalities: tuple[str | None, ...] = ("text", "image", "video", "audio",
                                                     "image", "video", "audio", "smell", None),
               max_tokens: int = 10**9, bad: bool = True) -> dict[str, Any]:
    """One row of a usage table (a dict of the input columns), mostly valid, sometimes not:
    missing or out-of-range values, unknown names, a negative reported count."""
    def maybe(strategy: Any, *junk: Any) -> Any:
        extra = [st.just(j) for j in junk] if bad else []
        return draw(st.one_of(st.none(), strategy, strategy, strategy, *extra))

    reported = draw(st.one_of(st.none(), st.none(), st.none(), st.integers(0, max_tokens),
                              st.integers(0, max_tokens), *([st.just(-3)] if bad else [])))
    return {
        "model": draw(st.sampled_from(models)),
        "modality": draw(st.sampled_from(modalities)),
        "width": maybe(st.integers(1, 5000), 0, -7, 2**31),
        "height": maybe(st.integers(1, 5000), 0),
        "duration": maybe(st.floats(0.0, 400.0, allow_nan=False), -1.0, 1e8),
        "fps": maybe(st.sampled_from([1.0, 23.976, 24.0, 25.0, 30.0, 60.0, 2.5]), 0.0),
        "frames": draw(st.one_of(st.none(), st.none(), st.integers(1, 5000),
                                 *([st.just(0)] if bad else []))),
        "text": maybe(st.text(alphabet=text_alphabet, max_size=60)),
        "reported_tokens": reported,
        "direction": draw(st.sampled_from([None, "input", "input", "output", "cached",
                                           "cache_write", *(["sideways"] if bad else [])])),
    }
