"""Helpers for the pricing tests: build small price books from TOML fragments."""

from __future__ import annotations

from decimal import Decimal

from tokenmeter.pricing import PriceBook, parse_price_book

HEADER = """
schema = 1
id = "test"
currency = "{currency}"
rounding = "{rounding}"
timezone = "{timezone}"
{extra}
"""


def book(models: str, *, currency: str = "CNY", rounding: str = "half_up",
         timezone: str = "UTC", extra: str = "", versions: list[tuple[str, str]] | None = None,
         where: str = "test.toml") -> PriceBook:
    """A book whose single version (or each of ``versions``: (name, effective_from)) holds
    ``models``, TOML text of ``[versions.models."id"]`` tables written as ``[m."id"]``."""
    text = HEADER.format(currency=currency, rounding=rounding, timezone=timezone, extra=extra)
    for name, start in versions or [("v1", "2000-01-01T00:00:00Z")]:
        body = models.replace("[m.", "[versions.models.").replace("[[m.", "[[versions.models.")
        text += f'\n[[versions]]\nversion = "{name}"\neffective_from = {start}\n{body}\n'
    return parse_price_book(text, where=where)


def dec(x: object) -> str:
    """A TOML decimal string."""
    return f'"{Decimal(str(x))}"'
