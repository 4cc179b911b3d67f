"""Exact prices: :class:`Money`, price rules, versioned :class:`PriceBook` files, quotes.

This layer knows only :mod:`decimal`, :mod:`datetime`/:mod:`zoneinfo`, the packaged TOML
loader and (for :mod:`~tokenmeter.pricing.batch`) numpy; it never imports the model
catalog or the media and text layers. Names are resolved through a callable the caller
passes in (:func:`tokenmeter.load_price_book` passes the catalog's).
"""

from __future__ import annotations

from .book import (
    DEFAULT_BOOK,
    PriceBook,
    PriceBookVersion,
    list_price_books,
    load_price_book,
    parse_price_book,
)
from .money import CURRENCIES, ROUNDING_MODES, Money, minor_units, rate_per, round_amount
from .quote import Quote, QuoteLine
from .rules import Meter, ModelPrice

__all__ = [
    "CURRENCIES",
    "DEFAULT_BOOK",
    "ROUNDING_MODES",
    "Meter",
    "ModelPrice",
    "Money",
    "PriceBook",
    "PriceBookVersion",
    "Quote",
    "QuoteLine",
    "list_price_books",
    "load_price_book",
    "minor_units",
    "parse_price_book",
    "rate_per",
    "round_amount",
]
