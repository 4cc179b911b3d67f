"""tokenmeter: exact token counts and exact prices for text, images, video and audio.

>>> import tokenmeter as tm
>>> m = tm.get_model("qwen2.5-vl-72b-instruct")
>>> m.count_image(1280, 720).tokens
1198
"""

from __future__ import annotations

import os
from typing import Any

from ._catalog import get_model, list_models, register_catalog
from ._compare import TextComparison, compare_text
from ._counts import TokenCount, TokenCounts, Usage, UsagePart
from ._facade import count, probe, probe_many
from ._model import Model
from ._requests import count_completion, count_request, usage_from_provider
from .errors import (
    CatalogError,
    CorruptMediaError,
    CountOverflowError,
    CurrencyMismatchError,
    InvalidInputError,
    MediaNotFoundError,
    MissingDependencyError,
    PluginError,
    PriceBookError,
    PricingError,
    ProbeError,
    ProbeTimeoutError,
    TokenmeterError,
    UnknownModelError,
    UnknownProfileError,
    UnpricedModelError,
    UnsupportedFormatError,
    UnsupportedModalityError,
    VocabularyUnavailableError,
)
from .media import AudioInfo, ImageInfo, VideoInfo
from .meter import Meter, MeterKey, MeterTotals
from .pricing import Money, PriceBook, Quote, QuoteLine, list_price_books
from .text import load_tokenizer


def __getattr__(name: str) -> Any:
    # __version__ comes from the installed metadata; importlib.metadata costs ~0.1 s to
    # import, so it is read on first access rather than at `import tokenmeter`.
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            value = version("tokenmeter")
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            value = "0+unknown"
        globals()["__version__"] = value
        return value
    if name in ("count_table", "price_table"):
        # tokenmeter.batch needs pyarrow; it is imported on first use, not at import.
        from . import batch

        func = getattr(batch, name)
        globals()[name] = func
        return func
    raise AttributeError(f"module 'tokenmeter' has no attribute {name!r}")


def load_price_book(path: str | os.PathLike[str] | None = None) -> PriceBook:
    """Load a price book whose model names resolve through the model catalog.

    Args:
        path: ``None`` for the packaged default (``"cn-2025"``), a packaged book's id
            (see :func:`list_price_books`), or a path to a TOML price book.

    Raises:
        PriceBookError: the file is missing or malformed (file, line and key named).
    """
    from ._catalog import catalog
    from .pricing import load_price_book as _load

    return _load(path, resolver=catalog.resolve)


def register_rule(cls: type) -> type:
    """Register a rule class (a subclass of :class:`tokenmeter.encoders.Rule`) by its
    ``kind``, so catalog entries can name it. Usable as a class decorator."""
    from .encoders import register_rule as _register

    return _register(cls)


__all__ = [
    "AudioInfo",
    "CatalogError",
    "CorruptMediaError",
    "CountOverflowError",
    "CurrencyMismatchError",
    "ImageInfo",
    "InvalidInputError",
    "MediaNotFoundError",
    "Meter",
    "MeterKey",
    "MeterTotals",
    "MissingDependencyError",
    "Model",
    "Money",
    "PluginError",
    "PriceBook",
    "PriceBookError",
    "PricingError",
    "ProbeError",
    "ProbeTimeoutError",
    "Quote",
    "QuoteLine",
    "TextComparison",
    "TokenCount",
    "TokenCounts",
    "TokenmeterError",
    "UnknownModelError",
    "UnknownProfileError",
    "UnpricedModelError",
    "UnsupportedFormatError",
    "UnsupportedModalityError",
    "Usage",
    "UsagePart",
    "VideoInfo",
    "VocabularyUnavailableError",
    "__version__",
    "compare_text",
    "count",
    "count_completion",
    "count_request",
    "count_table",
    "get_model",
    "list_models",
    "list_price_books",
    "load_price_book",
    "load_tokenizer",
    "price_table",
    "probe",
    "probe_many",
    "register_catalog",
    "register_rule",
    "usage_from_provider",
]
