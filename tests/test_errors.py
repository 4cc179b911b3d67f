"""The error tree: every class is a TokenmeterError and the builtin a caller would catch."""

from __future__ import annotations

import pytest

import tokenmeter as tm
from tokenmeter import errors

EXPECTED_BASES = {
    "UnknownModelError": (KeyError,),
    "UnknownProfileError": (KeyError, tm.UnknownModelError),
    "UnsupportedModalityError": (ValueError,),
    "InvalidInputError": (ValueError,),
    "CountOverflowError": (OverflowError, ValueError, tm.InvalidInputError),
    "VocabularyUnavailableError": (LookupError,),
    "MissingDependencyError": (ImportError,),
    "CatalogError": (ValueError,),
    "PluginError": (tm.CatalogError,),
    "ProbeError": (OSError,),
    "MediaNotFoundError": (FileNotFoundError, tm.ProbeError),
    "UnsupportedFormatError": (tm.ProbeError,),
    "CorruptMediaError": (tm.ProbeError,),
    "ProbeTimeoutError": (TimeoutError, tm.ProbeError),
    "PricingError": (ValueError,),
    "UnpricedModelError": (KeyError, tm.PricingError),
    "CurrencyMismatchError": (TypeError, tm.PricingError),
    "PriceBookError": (tm.PricingError,),
}


@pytest.mark.parametrize(("name", "bases"), sorted(EXPECTED_BASES.items()))
def test_bases(name, bases):
    cls = getattr(errors, name)
    assert issubclass(cls, tm.TokenmeterError)
    for base in bases:
        assert issubclass(cls, base), (name, base)


def test_every_class_is_listed_and_drawn_in_the_docstring():
    assert set(EXPECTED_BASES) | {"TokenmeterError"} == set(errors.__all__)
    for name in errors.__all__:
        assert name in (errors.__doc__ or ""), name


def test_keyerror_subclasses_print_their_message_not_its_repr():
    e = tm.UnknownModelError("unknown model 'x'")
    assert str(e) == "unknown model 'x'"
    with pytest.raises(KeyError):
        raise e


def test_unknown_model_is_caught_as_keyerror_from_the_api():
    with pytest.raises(KeyError) as info:
        tm.get_model("no-such-model-anywhere")
    assert "no-such-model-anywhere" in str(info.value)
