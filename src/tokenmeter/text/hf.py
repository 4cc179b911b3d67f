"""Any local Hugging Face ``tokenizer.json`` (or a folder holding one), offline.

Uses the ``tokenizers`` package (``pip install 'tokenmeter[hf]'``); never contacts a hub.
Counts are ``len(tokenizer.encode(text, add_special_tokens=False).ids)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
        return list(self._tok.encode(self._clean(text), add_special_tokens=False).ids)

    def count(self, text: str) -> int:
        """``len(self.encode(text))``."""
        return len(self._tok.encode(self._clean(text), add_special_tokens=False).ids)

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts of many strings (the tokenizers library parallelizes the batch)."""
        enc = self._tok.encode_batch([self._clean(t) for t in texts], add_special_tokens=False)
        return [len(e.ids) for e in enc]

    def count_with_specials(self, text: str) -> int:
        """Count with added special tokens recognized (chat framing)."""
        return self.count(text)
