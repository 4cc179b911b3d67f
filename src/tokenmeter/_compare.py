"""The product's question: what does the same text cost, in tokens, on several models?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._counts import TokenCount
from .errors import InvalidInputError, VocabularyUnavailableError

if TYPE_CHECKING:
    from ._model import Model

__all__ = ["TextComparison", "compare_text"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TextComparison:
    """One model's row in a :func:`compare_text` table.

    Attributes:
        model: canonical model id.
        tokens: tokens of the text on that model.
        chars: characters in the text.
        chars_per_token: ``chars / tokens`` (0.0 for empty text).
        ratio: ``tokens`` divided by the fewest tokens in the table (1.0 for the best).
        exact: whether the count is the model's own tokenizer (False: an estimate).
        count: the full :class:`TokenCount`.
    """

    model: str
    tokens: int
    chars: int
    chars_per_token: float
    ratio: float
    exact: bool
    count: TokenCount


def compare_text(text: str, models: Iterable[str | Model], *,
                 estimate_missing: bool = True) -> list[TextComparison]:
    """Count ``text`` on every model and return one row each, in the order given.

    Args:
        text: the text to compare.
        models: model ids or :class:`Model` objects.
        estimate_missing: when a model's vocabulary is not installed, use the labelled
            estimate (``exact=False``) instead of raising.

    Raises:
        VocabularyUnavailableError: a vocabulary is missing and ``estimate_missing`` is False.
    """
    from ._catalog import get_model
    from ._model import Model

    if not isinstance(text, str):
        raise InvalidInputError(f"text must be a str, got {type(text).__name__}")
    counts: list[TokenCount] = []
    for m in models:
        model = m if isinstance(m, Model) else get_model(m)
        try:
            c = model.count_text(text)
        except VocabularyUnavailableError:
            if not estimate_missing:
                raise
            c = model.count_text(text, estimate=True)
        counts.append(c)
    if not counts:
        raise InvalidInputError("compare_text needs at least one model")
    fewest = min(c.tokens for c in counts) or 1
    return [
        TextComparison(
            model=c.model, tokens=c.tokens, chars=len(text),
            chars_per_token=(len(text) / c.tokens) if c.tokens else 0.0,
            ratio=c.tokens / fewest, exact=c.exact, count=c,
        )
        for c in counts
    ]
