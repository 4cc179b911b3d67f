"""Shared hypothesis strategies (import from tests: ``from strategies import ...``)."""

from __future__ import annotations

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

