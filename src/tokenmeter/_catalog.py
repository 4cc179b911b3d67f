"""The model catalog: packaged ``models.toml`` plus plugin entries, looked up lazily.

Lookups are case-insensitive and accept aliases, provider prefixes
(``"openai/gpt-4o"``), HF repo ids (``"Qwen/Qwen2.5-VL-72B-Instruct"``), dated snapshots
(``"gpt-4o-2024-08-06"``, ``"claude-3-5-sonnet-20241022"``) and ``-latest`` suffixes. An
unknown name raises :class:`~tokenmeter.errors.UnknownModelError` listing the closest ids
and where plugins were looked for.
"""

from __future__ import annotations

import copy
import difflib
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._data import load_toml, parse_toml
from .errors import CatalogError, PluginError, UnknownModelError, UnknownProfileError

if TYPE_CHECKING:
    from ._model import Model

__all__ = [
    "PLUGIN_GROUP",
    "Catalog",
    "catalog",
    "get_model",
    "list_models",
    "register_catalog",
]

PLUGIN_GROUP = "tokenmeter.plugins"
MODALITY_KEYS = ("image", "video", "audio")
_DATE_SUFFIX = re.compile(r"(?:[-@_](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{6}))+$")
_LATEST = re.compile(r"-latest$")


def _norm(name: str) -> str:
    return name.strip().lower()


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged onto a copy of ``base``; tables merge key by key, values replace."""
    out = copy.deepcopy(dict(base))
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


class Catalog:
    """Tokenizers, families and models, from the packaged file and plugins.

    Thread-safe; built on first use. The public views are read-only.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._loaded = False
        self._tokenizers: dict[str, dict[str, Any]] = {}
        self._families: dict[str, dict[str, Any]] = {}
        self._models: dict[str, dict[str, Any]] = {}
        self._names: dict[str, str] = {}  # normalized id/alias -> canonical id
        self._origin: dict[str, str] = {}  # canonical id -> where it was defined
        self._plugins: list[str] = []
        self._instances: dict[tuple[str, str], Model] = {}

    # -- loading ------------------------------------------------------------------------

    def _ensure(self) -> None:
        if self._loaded:
            return
        with self._lock:
            if self._loaded:
                return
            self._add(load_toml("models.toml"), where="tokenmeter/data/models.toml")
            self._loaded = True  # before plugins, so a plugin may call get_model()
            self._load_plugins()

    def _load_plugins(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=PLUGIN_GROUP):
            label = f"{ep.name} = {ep.value}"
            self._plugins.append(label)
            try:
                hook = ep.load()
            except Exception as exc:
                raise PluginError(
                    f"tokenmeter plugin {label!r} failed to import: {exc!r}"
                ) from exc
            if not callable(hook):
                raise PluginError(
                    f"tokenmeter plugin {label!r} must point at a callable taking the "
                    f"tokenmeter module; got {type(hook).__name__}"
                )
            import tokenmeter

            try:
                hook(tokenmeter)
            except PluginError:
                raise
            except Exception as exc:
                raise PluginError(f"tokenmeter plugin {label!r} failed: {exc!r}") from exc

    def add(self, data: Mapping[str, Any] | str | Path, *, where: str = "") -> None:
        """Add tokenizers, families and models from a mapping, TOML text or a TOML file.

        Raises:
            PluginError: a name that is already taken.
            CatalogError: a malformed entry.
        """
        if isinstance(data, Path):
            where = where or str(data)
            data = parse_toml(data.read_text(encoding="utf-8"))
        elif isinstance(data, str):
            where = where or "<toml text>"
            data = parse_toml(data)
        self._ensure()
        with self._lock:
            self._add(data, where=where or "<mapping>")

    def _add(self, data: Mapping[str, Any], *, where: str) -> None:
        unknown = set(data) - {"schema", "tokenizers", "families", "models"}
        if unknown:
            raise CatalogError(f"{where}: unknown top-level key(s) {sorted(unknown)}")
        tokenizers = dict(data.get("tokenizers", {}))
        families = dict(data.get("families", {}))
        models = dict(data.get("models", {}))
        for kind, new, have in (("tokenizer", tokenizers, self._tokenizers),
                                ("family", families, self._families)):
            for name in new:
                if name in have:
                    raise PluginError(f"{where}: {kind} {name!r} is already defined")
        for name, fam in families.items():
            self._check_family(name, fam, where)
        new_names: dict[str, str] = {}
        for mid, entry in models.items():
            self._check_model(mid, entry, where, families)
            for n in (mid, *entry.get("aliases", ())):
                key = _norm(n)
                if key in self._names or key in new_names:
                    owner = self._names.get(key) or new_names[key]
                    raise PluginError(
                        f"{where}: model name {n!r} is already taken by {owner!r} "
                        f"({self._origin.get(owner, where)})"
                    )
                new_names[key] = mid
        self._tokenizers.update(tokenizers)
        self._families.update(families)
        self._models.update(models)
        self._names.update(new_names)
        for mid in models:
            self._origin[mid] = where

    def _check_family(self, name: str, fam: Mapping[str, Any], where: str) -> None:
        for key in ("source", "as_of"):
            if not fam.get(key):
                raise CatalogError(f"{where}: family {name!r} has no {key!r}")
        for pname, prof in fam.get("profiles", {}).items():
            if not isinstance(prof, Mapping) or not prof.get("source"):
                raise CatalogError(f"{where}: profile {name}.{pname} has no 'source'")
        dp = fam.get("default_profile")
        if dp is not None and dp not in fam.get("profiles", {}):
            raise CatalogError(
                f"{where}: family {name!r} default_profile {dp!r} is not among its profiles"
            )

    def _check_model(self, mid: str, entry: Mapping[str, Any], where: str,
                     new_families: Mapping[str, Any]) -> None:
        if mid != _norm(mid):
            raise CatalogError(f"{where}: model id {mid!r} must be lower case, trimmed")
        fam = entry.get("family")
        if fam not in self._families and fam not in new_families:
            raise CatalogError(f"{where}: model {mid!r} names unknown family {fam!r}")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
            raise CatalogError(f"{where}: model {mid!r} aliases must be a list of strings")

    # -- lookup -------------------------------------------------------------------------

    def ids(self) -> list[str]:
        self._ensure()
        return sorted(self._models)

    def resolve(self, name: str) -> str:
        """The canonical id for ``name``.

        Raises:
            UnknownModelError: with the closest ids.
        """
        if not isinstance(name, str):
            raise UnknownModelError(
                f"model name must be a string, got {type(name).__name__}", name=repr(name)
            )
        self._ensure()
        key = _norm(name)
        for cand in self._candidates(key):
            if cand in self._names:
                return self._names[cand]
        pool = list(self._names)
        close = difflib.get_close_matches(key, pool, n=5, cutoff=0.6)
        if not close and "/" in key:
            close = difflib.get_close_matches(key.rsplit("/", 1)[1], pool, n=5, cutoff=0.6)
        suggestions = tuple(dict.fromkeys(self._names[c] for c in close))
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        plugins = ", ".join(self._plugins) or "none installed"
        raise UnknownModelError(
            f"unknown model {name!r}.{hint} tokenmeter.list_models() lists the known "
            f"ids; plugins come from the {PLUGIN_GROUP!r} entry-point group ({plugins}).",
            name=name,
            suggestions=suggestions,
        )

    @staticmethod
    def _candidates(key: str) -> list[str]:
        out = [key]
        tail = key.rsplit("/", 1)[1] if "/" in key else None
        for base in (key, tail):
            if base is None:
                continue
            out.append(base)
            stripped = _LATEST.sub("", _DATE_SUFFIX.sub("", base))
            out.append(stripped)
            out.append(_DATE_SUFFIX.sub("", _LATEST.sub("", base)))
        return list(dict.fromkeys(out))

    def tokenizer_spec(self, name: str) -> Mapping[str, Any]:
        self._ensure()
        try:
            return MappingProxyType(self._tokenizers[name])
        except KeyError:
            raise CatalogError(
                f"unknown tokenizer {name!r}; known: {', '.join(sorted(self._tokenizers))}"
            ) from None

    def tokenizer_names(self) -> list[str]:
        self._ensure()
        return sorted(self._tokenizers)

    def config(self, mid: str, profile: str | None) -> tuple[dict[str, Any], str, tuple[str, ...]]:
        """The merged config of model ``mid`` under ``profile`` (None = its default).

        Returns:
            (config, profile name, all profile names)
        """
        self._ensure()
        entry = self._models[mid]
        fam_name = entry["family"]
        fam = self._families[fam_name]
        profiles = dict(fam.get("profiles", {}))
        names = tuple(profiles) or ("default",)
        chosen = profile if profile is not None else (
            entry.get("default_profile") or fam.get("default_profile") or names[0]
        )
        if chosen not in names:
            raise UnknownProfileError(
                f"model {mid!r} has no profile {chosen!r}; its profiles are: "
                f"{', '.join(names)}",
                name=chosen,
                suggestions=names,
            )
        base = {k: v for k, v in fam.items() if k != "profiles"}
        merged = deep_merge(base, {k: v for k, v in entry.items() if k != "family"})
        prof = profiles.get(chosen, {})
        overrides = {k: v for k, v in prof.items() if k in MODALITY_KEYS or k == "text"}
        merged = deep_merge(merged, overrides)
        # A profile that changes a modality's rule is where that modality's numbers come
        # from: its source replaces the family's (unless the override names its own).
        for k, v in overrides.items():
            if (k in MODALITY_KEYS and isinstance(v, Mapping) and "source" not in v
                    and prof.get("source") and isinstance(merged.get(k), dict)):
                merged[k] = {**merged[k], "source": prof["source"]}
        merged["family"] = fam_name
        merged["family_source"] = fam["source"]
        merged["profile_description"] = prof.get("description", "")
        merged["profile_source"] = prof.get("source", "")
        return merged, chosen, names

    def model(self, name: str, profile: str | None = None) -> Model:
        from ._model import Model

        mid = self.resolve(name)
        key = (mid, profile or "")
        with self._lock:
            inst = self._instances.get(key)
            if inst is None:
                cfg, chosen, names = self.config(mid, profile)
                inst = Model._from_config(mid, cfg, chosen, names)
                self._instances[key] = inst
                self._instances.setdefault((mid, chosen), inst)
            return inst

    @property
    def plugins(self) -> tuple[str, ...]:
        self._ensure()
        return tuple(self._plugins)


catalog = Catalog()


def list_models() -> list[str]:
    """Every canonical model id, sorted."""
    return catalog.ids()


def get_model(name: str, *, profile: str | None = None) -> Model:
    """The model called ``name`` (case-insensitive; aliases and dated snapshots accepted).

    Args:
        name: a model id or alias, e.g. ``"qwen2.5-vl-72b-instruct"``,
            ``"Qwen/Qwen2.5-VL-72B-Instruct"`` or ``"gpt-4o-2024-08-06"``.
        profile: a runtime profile (``"transformers"``, ``"qwen-vl-utils"``…); ``None``
            picks the model's default.

    Raises:
        UnknownModelError: no such model; the message lists the closest ids.
        UnknownProfileError: the model has no such profile; the message lists them.
    """
    return catalog.model(name, profile)


def register_catalog(data: Mapping[str, Any] | str | Path, *, where: str = "") -> None:
    """Add tokenizers, families and models (a mapping, TOML text, or a TOML file path).

    The data has the shape of the packaged ``models.toml``. A plugin's entry point calls
    this with its own entries.

    Raises:
        PluginError: a name that is already taken.
        CatalogError: a malformed entry.
    """
    catalog.add(data, where=where)


