"""Text tokenizers: exact BPE from offline vocabularies, local HF files, and the estimator.

Use through :class:`tokenmeter.Model` (``model.count_text``) or directly:
:func:`get_tokenizer` for a catalog tokenizer (``"qwen2"``, ``"llama3"``,
``"cl100k_base"``, ``"o200k_base"``, ``"tekken"``), :func:`load_tokenizer` for any local
``tokenizer.json`` or tiktoken file.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._counts import TokenCount
from ..errors import CatalogError, InvalidInputError, VocabularyUnavailableError

if TYPE_CHECKING:
    import numpy as np

    from .._model import Model

__all__ = [
    "Tokenizer",
    "count_text",
    "get_tokenizer",
    "load_tokenizer",
    "text_tokens",
    "vocabulary_available",
]


class Tokenizer(Protocol):
    """What every text tokenizer offers."""

    name: str
    special_tokens: dict[str, int]

    def encode(self, text: str) -> list[int]: ...
    def count(self, text: str) -> int: ...
    def count_many(self, texts: Sequence[str]) -> list[int]: ...
    def count_with_specials(self, text: str) -> int: ...


_lock = threading.Lock()
_tokenizers: dict[str, Tokenizer] = {}
_failures: dict[str, Exception] = {}


def get_tokenizer(name: str) -> Tokenizer:
    """The catalog tokenizer ``name``, built once from its offline vocabulary.

    Raises:
        VocabularyUnavailableError: its vocabulary is not installed (names the extra).
        MissingDependencyError: the library it needs is not installed.
        CatalogError: no tokenizer of that name.
    """
    tok = _tokenizers.get(name)
    if tok is not None:
        return tok
    from .._catalog import catalog

    spec = catalog.tokenizer_spec(name)
    kind = spec.get("kind")
    with _lock:
        tok = _tokenizers.get(name)
        if tok is not None:
            return tok
        if kind == "tiktoken":
            from .bpe import TiktokenTokenizer

            tok = TiktokenTokenizer(name, spec)
        elif kind == "mistral":
            from .mistral import MistralTokenizer

            tok = MistralTokenizer(name, spec)
        elif kind == "hf":
            from .hf import HFTokenizer
            from .vocab import find_vocab

            tok = HFTokenizer(find_vocab(name, spec), name=name)
        else:
            raise CatalogError(f"tokenizer {name!r} has unknown kind {kind!r}")
        _tokenizers[name] = tok
        return tok


def vocabulary_available(name: str) -> bool:
    """Whether catalog tokenizer ``name`` can be built here (its vocabulary is installed)."""
    try:
        get_tokenizer(name)
    except (VocabularyUnavailableError, ImportError):
        return False
    return True


def load_tokenizer(path: str | Path, *, kind: str | None = None,
                   pattern: str | None = None, name: str | None = None) -> Tokenizer:
    """A tokenizer from a local file: a HF ``tokenizer.json`` (or its folder), or a
    tiktoken-format vocabulary (``kind="tiktoken"`` with its ``pattern``).

    Nothing is downloaded.
    """
    p = Path(path)
    kind = kind or ("tiktoken" if p.suffix in (".tiktoken", ".model") else "hf")
    if kind == "hf":
        from .hf import HFTokenizer

        return HFTokenizer(p, name=name)
    if kind == "tiktoken":
        if not pattern:
            raise InvalidInputError(
                "a tiktoken vocabulary needs its pre-tokenizer pattern: pass pattern=..."
            )
        from .bpe import TiktokenTokenizer

        if not p.is_file():
            raise VocabularyUnavailableError(f"no vocabulary file at {str(path)!r}")
        spec: dict[str, Any] = {"pattern": pattern, "description": str(p)}
        return TiktokenTokenizer(name or p.stem, spec, path=p)
    raise InvalidInputError(f"unknown tokenizer kind {kind!r}; use 'hf' or 'tiktoken'")


def _estimate_name(model: Model) -> str:
    cfg = model.text_config
    return str(cfg.get("estimate") or cfg.get("tokenizer") or "cl100k_base")


def _check_text(text: object) -> str:
    if not isinstance(text, str):
        raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
    return text


_meta: dict[str, tuple[Tokenizer, str, str, str, str]] = {}


def _exact(name: str) -> tuple[Tokenizer, str, str, str, str]:
    """(tokenizer, rule, source, as_of, vocabulary path) for catalog tokenizer ``name``,
    computed once: ``count_text`` is called per message on billing hot paths."""
    meta = _meta.get(name)
    if meta is None:
        from .._catalog import catalog

        tok = get_tokenizer(name)
        spec = catalog.tokenizer_spec(name)
        meta = _meta[name] = (tok, f"{spec.get('kind')}:{name}", str(spec.get("source", "")),
                              str(spec.get("as_of", "")), str(getattr(tok, "path", "")))
    return meta


def count_text(model: Model, text: str, *, estimate: bool = False) -> TokenCount:
    """See :meth:`tokenmeter.Model.count_text`."""
    if type(text) is not str:
        text = _check_text(text)
    tok_name = model.tokenizer_name
    if tok_name is not None and not estimate:
        tok, rule, source, as_of, vocab = _exact(tok_name)
        return TokenCount(
            tokens=tok.count(text), modality="text", model=model.id, profile=model.profile,
            rule=rule, exact=True, source=source, as_of=as_of,
            details={"chars": len(text), "vocabulary": vocab},
        )
    from .estimate import calibration, estimate_one

    cal_name = _estimate_name(model)
    cal = calibration(cal_name)
    why = ("requested" if tok_name else f"{model.id} has no public tokenizer")
    return TokenCount(
        tokens=estimate_one(text, cal_name), modality="text", model=model.id,
        profile=model.profile, rule=f"estimate:{cal_name}", exact=False,
        method=f"script-aware linear estimate calibrated to {cal_name} ({why})",
        source=str(cal.get("source", "tools/calibrate_estimator.py")),
        as_of=str(cal.get("as_of", "")),
        details={"chars": len(text)},
    )


def text_tokens(model: Model, texts: Sequence[str], *, estimate: bool = False) -> np.ndarray:
    """See :meth:`tokenmeter.Model.text_tokens`."""
    import numpy as np

    if isinstance(texts, str):
        raise InvalidInputError("text_tokens takes a sequence of strings; use count_text for one")
    items = [_check_text(t) for t in texts]
    tok_name = model.tokenizer_name
    if tok_name is not None and not estimate:
        return np.asarray(get_tokenizer(tok_name).count_many(items), dtype=np.int64)
    from .estimate import estimate_many

    return estimate_many(items, _estimate_name(model))
