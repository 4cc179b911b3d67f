"""Any local Hugging Face tokenizer, offline: a ``tokenizer.json``, or a tokenizer folder.

A ``tokenizer.json`` (or a folder holding one) loads with the ``tokenizers`` package. A
folder without one — the older "slow" layouts: ``vocab.json`` + ``merges.txt``, a
SentencePiece ``tokenizer.model``, with their ``tokenizer_config.json`` — loads with
``transformers.AutoTokenizer`` from the local files only (``local_files_only=True``,
``trust_remote_code=False``): no hub is ever contacted and no repository code runs. Both
come with ``pip install 'tokenmeter[hf]'``. Counts are the tokenizer's own
``encode(text, add_special_tokens=False)`` length.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import InvalidInputError, MissingDependencyError, VocabularyUnavailableError

__all__ = ["HFTokenizer"]


class HFTokenizer:
    """A tokenizer loaded from a local ``tokenizer.json``.

    Attributes:
        name: a label (the file's parent folder name by default).
        path: the ``tokenizer.json`` in use.
    """

    def __init__(self, path: str | Path, *, name: str | None = None) -> None:
        try:
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "loading a tokenizer.json needs the tokenizers package: "
                "pip install 'tokenmeter[hf]'"
            ) from exc
        p = Path(path)
        self._hf: Any = None
        if p.is_dir() and not (p / "tokenizer.json").is_file():
            self._load_folder(p, name)
            return
        if p.is_dir():
            p = p / "tokenizer.json"
        if not p.is_file():
            raise VocabularyUnavailableError(
                f"no tokenizer.json at {str(path)!r}; pass the file or the folder holding it"
            )
        try:
            self._tok = Tokenizer.from_file(str(p))
        except Exception as exc:
            raise InvalidInputError(f"{p} is not a valid tokenizer.json: {exc}") from exc
        self.path = p
        self.name = name or p.parent.name or p.stem
        self.special_tokens = {
            t.content: i for i, t in self._tok.get_added_tokens_decoder().items() if t.special
        }

    def _load_folder(self, folder: Path, name: str | None) -> None:
        if not any(folder.iterdir()):
            raise VocabularyUnavailableError(f"tokenizer folder {str(folder)!r} is empty")
        try:
            from transformers import AutoTokenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"{folder} has no tokenizer.json; loading its slow-tokenizer files needs "
                "transformers: pip install 'tokenmeter[hf]'"
            ) from exc
        try:
            self._hf = AutoTokenizer.from_pretrained(
                str(folder), local_files_only=True, trust_remote_code=False)
        except Exception as exc:
            raise InvalidInputError(
                f"{folder} is not a tokenizer folder transformers can load offline: {exc}"
            ) from exc
        self.path = folder
        self.name = name or folder.name
        self.special_tokens = {t: self._hf.convert_tokens_to_ids(t)
                               for t in self._hf.all_special_tokens}

    def __repr__(self) -> str:
        return f"<HFTokenizer {self.name} from {self.path}>"

    @staticmethod
    def _clean(text: str) -> str:
        # The Rust side cannot take lone surrogates; replace them as tiktoken does.
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return text

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without the tokenizer's added BOS/EOS."""
        if self._hf is not None:
            return list(self._hf.encode(self._clean(text), add_special_tokens=False))
        return list(self._tok.encode(self._clean(text), add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        """``len(self.encode(text))``."""
        if self._hf is not None:
            return len(self.encode(text))
        return len(self._tok.encode(self._clean(text), add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts of many strings (the tokenizers library parallelizes the batch)."""
        if self._hf is not None:
            return [self.count(t) for t in texts]
        enc = self._tok.encode_batch([self._clean(t) for t in texts], add_special_tokens=False)
        return [len(e.ids) for e in enc]

    def count_with_specials(self, text: str) -> int:
        """Count with added special tokens recognized (chat framing)."""
        return self.count(text)
