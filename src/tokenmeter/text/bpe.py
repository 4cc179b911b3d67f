"""Exact BPE counts with tiktoken, from vocabulary files found offline.

Counts equal ``len(encoding.encode_ordinary(text))`` of the model's reference tokenizer
for every string (special-token text such as ``"<|im_end|>"`` counts as ordinary text).

Large inputs are split only at *safe* points — between a ``"\\n"`` and a following letter,
where every supported pre-tokenizer pattern always ends one piece and starts another — and
counted on every core; the result equals the unsplit count (a property test checks it).
Llama 3 counts reproduce ``llama_models``' own splitting (400k-character windows, runs of
at most 25k (non-)whitespace characters), because that is what its reference does.
"""

from __future__ import annotations

import itertools
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import MissingDependencyError
from ._pool import pool, workers
from .vocab import load_ranks, read_tiktoken_ranks

__all__ = ["TiktokenTokenizer", "safe_split"]

#: Inputs longer than this (characters) are split and counted in parallel.
PARALLEL_MIN_CHARS = 1 << 20
#: Texts shorter than this are one piece (Llama 3's own splitting starts at 25,000
#: characters) and are counted inline, without the chunking machinery.
SHORT_CHARS = 4096
#: Target chunk size for parallel counting.
CHUNK_CHARS = 1 << 18

# Code points for which str.isspace() is true (Unicode 15; a test re-derives it).
WHITESPACE = (
    *range(0x09, 0x0E), *range(0x1C, 0x21), 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
    0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
)
LLAMA3_WINDOW = 400_000
LLAMA3_MAX_RUN = 25_000


def safe_split(text: str, target: int = CHUNK_CHARS) -> list[str]:
    """Split ``text`` into pieces of about ``target`` chars at newline→letter boundaries.

    Every pre-tokenizer pattern we support ends a piece at such a boundary: no pattern
    lets a match that contains ``"\\n"`` continue into a letter, and a letter-led match
    cannot start with ``"\\n"``. So the pieces tokenize to the same total count.
    """
    n = len(text)
    if n <= target:
        return [text]
    out: list[str] = []
    start = 0
    while n - start > target:
        pos = start + target
        cut = -1
        while True:
            nl = text.find("\n", pos, n - 1)
            if nl < 0:
                break
            if text[nl + 1].isalpha():
                cut = nl + 1
                break
            pos = nl + 1
        if cut < 0:
            break
        out.append(text[start:cut])
        start = cut
    out.append(text[start:])
    return out


def _llama3_run_cuts(window: str) -> list[int]:
    """Where llama_models' ``_split_whitespaces_or_nonwhitespaces`` cuts ``window``."""
    import numpy as np

    cp = np.frombuffer(window.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    space = np.isin(cp, np.array(WHITESPACE, dtype=np.uint32))
    change = np.flatnonzero(space[1:] != space[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(cp)]))
    long_runs = np.flatnonzero(ends - starts > LLAMA3_MAX_RUN)
    cuts: list[int] = []
    for r in long_runs.tolist():
        a, b = int(starts[r]), int(ends[r])
        cuts.extend(range(a + LLAMA3_MAX_RUN, b, LLAMA3_MAX_RUN))
    return cuts


def llama3_pieces(text: str) -> Iterator[str]:
    """The substrings ``llama_models.llama3.tokenizer.Tokenizer.encode`` encodes one by one."""
    for i in range(0, len(text), LLAMA3_WINDOW):
        window = text[i:i + LLAMA3_WINDOW]
        cuts = _llama3_run_cuts(window) if len(window) > LLAMA3_MAX_RUN else []
        if not cuts:
            yield window
            continue
        bounds = [0, *cuts, len(window)]
        for a, b in itertools.pairwise(bounds):
            yield window[a:b]


class TiktokenTokenizer:
    """A tiktoken BPE built from a catalog spec (vocabulary file, pattern, specials).

    Attributes:
        name: the catalog name (``"qwen2"``).
        path: the vocabulary file in use.
        normalize: a Unicode normalization applied first (``"NFC"`` for Qwen), or ``""``.
    """

    def __init__(self, name: str, spec: Mapping[str, Any], *, path: Path | None = None) -> None:
        try:
            import tiktoken
        except ImportError as exc:
            extra = spec.get("extra", "openai")
            raise MissingDependencyError(
                f"exact counts with tokenizer {name!r} need tiktoken: "
                f"pip install 'tokenmeter[{extra}]'"
            ) from exc
        self.name = name
        self.spec = dict(spec)
        if path is not None:
            self.path, ranks = path, read_tiktoken_ranks(path)
        else:
            self.path, ranks = load_ranks(name, spec)
        self.normalize = str(spec.get("normalize", ""))
        self._split = str(spec.get("split", ""))
        specials = {str(k): int(v) for k, v in dict(spec.get("special_tokens", {})).items()}
        self.special_tokens = specials
        self._enc = tiktoken.Encoding(
            name=f"tokenmeter-{name}",
            pat_str=str(spec["pattern"]),
            mergeable_ranks=ranks,
            special_tokens=specials,
        )
        self.n_vocab = self._enc.n_vocab

    def __repr__(self) -> str:
        return f"<TiktokenTokenizer {self.name} from {self.path}>"

    def _prepare(self, text: str) -> str:
        # ASCII is already NFC. Otherwise call normalize() directly: it returns the input
        # when its quick check says so, while is_normalized() re-normalizes and compares
        # whenever the quick check says "maybe" (0.9 s on 10 MB of mixed text).
        if not self.normalize or text.isascii():
            return text
        return unicodedata.normalize(self.normalize, text)  # type: ignore[arg-type]

    def _pieces(self, text: str) -> list[str]:
        if self._split == "llama3":
            return list(llama3_pieces(text))
        return [text]

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` as ordinary text (no special tokens recognized)."""
        text = self._prepare(text)
        ids: list[int] = []
        for piece in self._pieces(text):
            ids.extend(self._enc.encode_ordinary(piece))
        return ids

    def count(self, text: str) -> int:
        """``len(self.encode(text))``, on every core for large inputs."""
        if len(text) < SHORT_CHARS:  # the common short-text path: one piece
            return len(self._enc.encode_ordinary(self._prepare(text)))
        if len(text) < PARALLEL_MIN_CHARS or workers() == 1:
            text = self._prepare(text)
            return sum(len(self._enc.encode_ordinary(p)) for p in self._pieces(text))
        # Split the raw text, then normalize each chunk in the worker: NFC never composes
        # across a newline followed by a letter (both are starters), so NFC(chunks) joins
        # to NFC(text) with the same boundaries, and normalizing (which holds the GIL)
        # overlaps with encoding (which releases it) on the other threads.
        chunks = [c for p in self._pieces(text) for c in safe_split(p, CHUNK_CHARS)]
        enc, prep = self._enc, self._prepare
        return sum(pool().map(lambda c: len(enc.encode_ordinary(prep(c))), chunks))

    def _count_each(self, texts: Sequence[str]) -> list[int]:
        """``[self.count(t) for t in texts]``, with :meth:`count`'s short-text path (one
        piece, NFC only where the tokenizer normalizes and the text is not ASCII) inlined."""
        enc = self._enc.encode_ordinary
        count = self.count
        norm = self.normalize
        if not norm:
            return [len(enc(t)) if len(t) < SHORT_CHARS else count(t) for t in texts]
        nfc = unicodedata.normalize
        return [(len(enc(t)) if t.isascii() else len(enc(nfc(norm, t))))  # type: ignore[arg-type]
                if len(t) < SHORT_CHARS else count(t) for t in texts]

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Counts of many strings, spread over every core when there is enough work."""
        total = sum(map(len, texts))
        if total < PARALLEL_MIN_CHARS or workers() == 1 or len(texts) < 2:
            return self._count_each(texts)
        n = workers() * 4
        step = max(1, -(-len(texts) // n))
        batches = [texts[i:i + step] for i in range(0, len(texts), step)]
        out: list[int] = []
        for part in pool().map(self._count_each, batches):
            out.extend(part)
        return out

    def count_with_specials(self, text: str) -> int:
        """Count ``text`` with this tokenizer's special tokens recognized (chat framing)."""
        text = self._prepare(text)
        return len(self._enc.encode(text, allowed_special="all"))


_cache: dict[str, TiktokenTokenizer] = {}
_lock = threading.Lock()


def get_tiktoken(name: str, spec: Mapping[str, Any]) -> TiktokenTokenizer:
    """The (cached) tokenizer for catalog spec ``name``."""
    tok = _cache.get(name)
    if tok is None:
        with _lock:
            tok = _cache.get(name)
            if tok is None:
                tok = _cache[name] = TiktokenTokenizer(name, spec)
    return tok
