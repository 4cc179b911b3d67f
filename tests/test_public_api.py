"""The public face: every user-facing name is exported, __all__ is sorted and complete."""

from __future__ import annotations

import importlib.metadata
import inspect
import types

import tokenmeter as tm
from tokenmeter import errors

# The names DESIGN.md's public API contract promises at the top level. Modules that later
# issues add (pricing, requests, batch) extend this list when they land.
CONTRACT = [
    "__version__", "list_models", "get_model", "Model", "TokenCount", "Usage", "count",
    "probe", "probe_many", "ImageInfo", "VideoInfo", "AudioInfo", "TokenmeterError",
    "load_price_book", "list_price_books", "PriceBook", "Quote", "QuoteLine", "Money",
    "count_request", "count_completion", "usage_from_provider", "compare_text",
    "count_table", "price_table", "Meter", "load_tokenizer", "register_catalog",
    "register_rule",
]


def test_all_is_sorted_and_unique():
    assert list(tm.__all__) == sorted(tm.__all__)
    assert len(set(tm.__all__)) == len(tm.__all__)


def test_all_names_exist():
    missing = [n for n in tm.__all__ if not hasattr(tm, n)]
    assert missing == []


def test_all_is_complete():
    public = {
        name for name, value in vars(tm).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "Any"}
    }
    assert public - set(tm.__all__) == set()


def test_contract_names_exported():
    for name in CONTRACT:
        assert name in tm.__all__, name
        assert hasattr(tm, name), name


def test_every_error_class_is_exported():
    classes = {n for n, v in vars(errors).items()
               if inspect.isclass(v) and issubclass(v, errors.TokenmeterError)}
    assert classes <= set(tm.__all__)
    assert set(errors.__all__) == classes


def test_version_comes_from_metadata():
    assert tm.__version__ == importlib.metadata.version("tokenmeter")


def test_model_attributes():
    m = tm.get_model("qwen2.5-vl-72b-instruct")
    assert m.id == "qwen2.5-vl-72b-instruct"
    assert m.modalities == ("text", "image", "video")
    assert m.profile == "transformers"
    assert "qwen-vl-utils" in m.profiles
    assert m.source
    assert m.as_of
