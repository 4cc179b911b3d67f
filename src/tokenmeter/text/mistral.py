"""Mistral's tekken tokenizer, through ``mistral-common`` itself (the reference)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import MissingDependencyError
from .vocab import find_vocab

__all__ = ["MistralTokenizer"]


class MistralTokenizer:
    """Tekken from the file ``mistral-common`` ships (``pip install 'tokenmeter[mistral]'``).

    Counts are ``len(Tekkenizer.encode(text, bos=False, eos=False))``.
    """

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        try:
            from mistral_common.tokens.tokenizers.tekken import Tekkenizer
        except ImportError as exc:
            raise MissingDependencyError(
                f"exact counts with tokenizer {name!r} need mistral-common: "
                "pip install 'tokenmeter[mistral]'"
            ) from exc
        self.name = name
        self.path = find_vocab(name, spec)
        self._tok = Tekkenizer.from_file(str(self.path))
        self.special_tokens: dict[str, int] = {}

    def __repr__(self) -> str:
        return f"<MistralTokenizer {self.name} from {self.path}>"

    @property
    def tekkenizer(self) -> Any:
        """The underlying ``mistral_common`` Tekkenizer."""
        return self._tok

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without BOS/EOS."""
        return list(self._tok.encode(text, bos=False, eos=False))

    def count(self, text: str) -> int:
        return len(self.encode(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]

    def count_with_specials(self, text: str) -> int:
        return self.count(text)
