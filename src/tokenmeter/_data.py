"""Packaged data files, read once with :mod:`importlib.resources` and ``tomllib``."""

from __future__ import annotations

import functools
import sys
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["load_toml", "packaged_path", "parse_toml", "tomllib"]


def packaged_path(*parts: str) -> Any:
    """A traversable for ``tokenmeter/data/<parts>``."""
    node = resources.files("tokenmeter") / "data"
    for p in parts:
        node = node / p
    return node


@functools.cache
def load_toml(*parts: str) -> dict[str, Any]:
    """Parse a packaged TOML file once; callers must not mutate the result."""
    return parse_toml(packaged_path(*parts).read_text(encoding="utf-8"))


def parse_toml(text: str) -> dict[str, Any]:
    """Parse TOML text (``tomllib.TOMLDecodeError`` propagates with its line/column)."""
    return tomllib.loads(text)
