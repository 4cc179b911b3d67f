"""tokenmeter: exact token counts and exact prices for text, images, video and audio.

>>> import tokenmeter as tm
>>> m = tm.get_model("qwen2.5-vl-72b-instruct")
>>> m.count_image(1280, 720).tokens
1198
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _version

from ._catalog import get_model, list_models, register_catalog
from ._counts import TokenCount, Usage, UsagePart
from ._facade import count, probe
from ._model import Model
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
from .text import load_tokenizer

try:
    __version__ = _version("tokenmeter")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"


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
    "MissingDependencyError",
    "Model",
    "PluginError",
    "PriceBookError",
    "PricingError",
    "ProbeError",
    "ProbeTimeoutError",
    "TokenCount",
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
    "count",
    "get_model",
    "list_models",
    "load_tokenizer",
    "probe",
    "register_catalog",
    "register_rule",
]
