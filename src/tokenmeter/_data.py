"""Packaged data files, read once with :mod:`importlib.resources` and ``tomllib``.

Both are imported on first use, not at ``import tokenmeter``.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

__all__ = ["load_toml", "packaged_path", "parse_toml", "toml_error"]


def packaged_path(*parts: str) -> Any:
    """A traversable for ``tokenmeter/data/<parts>``."""
    from importlib import resources

    node = resources.files("tokenmeter") / "data"
    for p in parts:
        node = node / p
    return node


@functools.cache
def load_toml(*parts: str) -> dict[str, Any]:
    """Parse a packaged TOML file once; callers must not mutate the result."""
    return parse_toml(packaged_path(*parts).read_text(encoding="utf-8"))


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    return tomllib


def parse_toml(text: str) -> dict[str, Any]:
    """Parse TOML text (``TOMLDecodeError`` propagates with its line/column)."""
    result: dict[str, Any] = _tomllib().loads(text)
    return result


def toml_error() -> type[Exception]:
    """The ``TOMLDecodeError`` class of the TOML parser in use."""
    err: type[Exception] = _tomllib().TOMLDecodeError
    return err
