"""The registry of rule kinds: built-ins found lazily, plugins added explicitly.

Built-in kinds live in the modules listed in ``_BUILTIN_MODULES``; they are imported on
first lookup (so ``import tokenmeter`` does not import numpy). A duplicate kind name is an
error; an unknown one lists the known kinds.
"""

from __future__ import annotations

import difflib
import importlib
import threading
from types import MappingProxyType
from typing import TYPE_CHECKING

from ..errors import CatalogError, PluginError

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ._base import Rule

__all__ = ["get_rule_class", "register_rule", "rule_kinds"]

_BUILTIN_MODULES = (
    "tokenmeter.encoders.vision",
    "tokenmeter.encoders.video",
    "tokenmeter.encoders.audio",
)

_lock = threading.RLock()
_kinds: dict[str, type[Rule]] = {}
_builtins_loaded = False


def _register(cls: type[Rule], *, builtin: bool) -> None:
    kind = cls.kind
    if not kind:
        raise PluginError(f"rule class {cls.__qualname__} has no `kind`")
    existing = _kinds.get(kind)
    if existing is not None and existing is not cls:
        raise PluginError(
            f"rule kind {kind!r} is already registered by "
            f"{existing.__module__}.{existing.__qualname__}; pick another name"
        )
    _kinds[kind] = cls


def builtin_rule(cls: type[Rule]) -> type[Rule]:
    """Class decorator for the built-in rule modules."""
    with _lock:
        _register(cls, builtin=True)
    return cls


def _load_builtins() -> None:
    global _builtins_loaded
    if _builtins_loaded:
        return
    with _lock:
        if _builtins_loaded:
            return
        for mod in _BUILTIN_MODULES:
            try:
                importlib.import_module(mod)
            except ModuleNotFoundError as exc:
                # A modality module that does not exist yet simply contributes no kinds.
                if exc.name != mod:
                    raise
        _builtins_loaded = True


def register_rule(cls: type[Rule]) -> type[Rule]:
    """Register a rule class under its ``kind`` (usable as a class decorator).

    Raises:
        PluginError: the kind is empty or already taken by another class.
    """
    _load_builtins()
    with _lock:
        _register(cls, builtin=False)
    return cls


def get_rule_class(kind: str) -> type[Rule]:
    """The rule class registered under ``kind``.

    Raises:
        CatalogError: no such kind; the message lists the closest known kinds.
    """
    _load_builtins()
    try:
        return _kinds[kind]
    except KeyError:
        close = difflib.get_close_matches(kind, list(_kinds), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CatalogError(
            f"unknown rule kind {kind!r}{hint} Known kinds: {', '.join(sorted(_kinds))}"
        ) from None


def rule_kinds() -> Mapping[str, type[Rule]]:
    """A read-only view of every registered rule kind."""
    _load_builtins()
    return MappingProxyType(_kinds)
