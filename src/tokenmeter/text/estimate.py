"""A calibrated, script-aware estimate of token counts, for when no vocabulary is installed.

How it works (details and measured errors: ``docs/text-estimate.md``):

1. Every code point gets a *class* from a lookup table (lower/upper-case Latin, digit,
   space, newline, ASCII punctuation, common Han, rare Han, CJK punctuation, kana and
   hangul, …).
2. Consecutive characters of one class form *class runs*; consecutive class runs of one
   *kind* (letters, digits, punctuation, spaces, newlines, Han) form *segments*, which
   is roughly how a BPE pre-tokenizer cuts text before merging.
3. Features are class counts plus per-segment terms: the number of Latin words and
   hinge terms ``max(0, length - k)`` of their lengths (long words split into more
   tokens), digit runs and ``ceil(run / 3)`` digit groups, punctuation runs, space runs
   of two or more, newline runs, Han runs.
4. The estimate is a linear model in those features with coefficients fitted per
   tokenizer by non-negative least squares (``tools/calibrate_estimator.py``) on real
   English and Chinese text, and stored in ``data/estimator.toml`` with the corpus,
   the split and the held-out error.

Arithmetic is exact and order-independent: features are int64 counts, coefficients are
fixed-point int64 (``round(c * 10**6)``, Python's round-half-even), and the estimate is
``floor((x · q + 500_000) / 10**6)`` — round half up — clamped to at least one token for
non-empty text. So :func:`estimate_many` equals :func:`estimate_one` item by item, on
every machine. Because every coefficient except the bias is non-negative and appending
text never lowers any feature, appending a paragraph never lowers an estimate.

Counts from here always carry ``exact=False``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._data import load_toml
from ..errors import CatalogError, CountOverflowError

__all__ = [
    "CLASSES",
    "FEATURES",
    "SCALE",
    "calibration",
    "calibrations",
    "combine",
    "estimate_many",
    "estimate_one",
    "features",
    "features_matrix",
    "quantize",
]

#: Character classes, in the order of the first :data:`FEATURES` columns.
CLASSES = (
    "lower",  # a-z
    "upper",  # A-Z
    "digit",  # 0-9 (ASCII only: other digits are rare and tokenize like symbols)
    "space",  # U+0020
    "newline",  # \n \r
    "other_ws",  # \t \v \f, NBSP and the Unicode spaces
    "punct",  # ASCII punctuation and C0 controls
    "han_top",  # the most frequent CJK ideographs (list in estimator.toml)
    "han",  # other CJK ideographs in GB 2312 level 1 (the 3,755 most used)
    "han_rare",  # every other CJK ideograph (level 2, traditional forms, extensions)
    "cjk_punct",  # U+3000-303F and fullwidth forms (，。：（）)
    "kana",  # hiragana, katakana, bopomofo
    "hangul",
    "latin_ext",  # Latin-1 letters and Latin Extended-A/B (é, ß, ł)
    "greek_cyrillic",
    "gen_punct",  # U+2000-206F: “ ” ‘ ’ — … and friends
    "symbol",  # arrows, maths, box drawing, dingbats: U+2070-2BFF
    "other",  # everything else in the BMP (other scripts, marks, lone surrogates)
    "astral",  # U+10000 and up (emoji, rare ideographs)
)
_C = {name: i for i, name in enumerate(CLASSES)}
N_CLASSES = len(CLASSES)

# Segment kinds: consecutive class runs of one kind form a segment (~ a pre-token).
_KIND_NONE, _KIND_WORD, _KIND_DIGIT, _KIND_PUNCT, _KIND_SPACE, _KIND_NL, _KIND_HAN = range(7)
_KIND_OF_CLASS = np.zeros(N_CLASSES, dtype=np.int8)
for _name, _kind in (
    ("lower", _KIND_WORD), ("upper", _KIND_WORD), ("latin_ext", _KIND_WORD),
    ("greek_cyrillic", _KIND_WORD), ("digit", _KIND_DIGIT), ("punct", _KIND_PUNCT),
    ("space", _KIND_SPACE), ("other_ws", _KIND_SPACE), ("newline", _KIND_NL),
    ("han_top", _KIND_HAN), ("han", _KIND_HAN), ("han_rare", _KIND_HAN),
):
    _KIND_OF_CLASS[_C[_name]] = _kind

# Per-segment features: (name, kind, threshold). A segment of ``kind`` and length L adds
# ``max(0, L - threshold)`` — threshold 0 means L itself, -1 means "one per segment"
# (written as (L > 0)), and "ceil3" is ceil(L / 3).
_SEGMENT_FEATURES: tuple[tuple[str, int, int | str], ...] = (
    ("words", _KIND_WORD, -1),
    ("word_len_gt3", _KIND_WORD, 3),
    ("word_len_gt6", _KIND_WORD, 6),
    ("word_len_gt9", _KIND_WORD, 9),
    ("word_len_gt13", _KIND_WORD, 13),
    ("digit_runs", _KIND_DIGIT, -1),
    ("digit_groups3", _KIND_DIGIT, "ceil3"),
    ("punct_runs", _KIND_PUNCT, -1),
    ("punct_len_gt2", _KIND_PUNCT, 2),
    ("space_runs_ge2", _KIND_SPACE, "ge2"),
    ("space_len_gt4", _KIND_SPACE, 4),
    ("newline_runs", _KIND_NL, -1),
    ("han_runs", _KIND_HAN, -1),
)

# Per-class-run features: (name, class, minimum run length). Upper-case letters come as
# capitals (one, then lower case: cheap, like the word) or as all-caps runs (dear).
_RUN_FEATURES: tuple[tuple[str, str, int], ...] = (
    ("upper_runs", "upper", 1),
    ("caps_runs", "upper", 2),
)

#: Feature names, in the order of :func:`features_matrix`' columns.
FEATURES: tuple[str, ...] = (
    *CLASSES, *(f[0] for f in _RUN_FEATURES), *(f[0] for f in _SEGMENT_FEATURES), "bias",
)
_BIAS = len(FEATURES) - 1

#: Fixed-point scale of the coefficients: ``q = round(coefficient * SCALE)``.
SCALE = 10**6

# (first code point, class) for the BMP, sorted; each range runs to the next start.
_RANGES = (
    (0x00, "punct"), (0x09, "other_ws"), (0x0A, "newline"), (0x0B, "other_ws"),
    (0x0D, "newline"), (0x0E, "punct"), (0x20, "space"), (0x21, "punct"),
    (0x30, "digit"), (0x3A, "punct"), (0x41, "upper"), (0x5B, "punct"), (0x61, "lower"),
    (0x7B, "punct"), (0x80, "other"), (0xA0, "other_ws"), (0xA1, "other"),
    (0xC0, "latin_ext"), (0xD7, "other"), (0xD8, "latin_ext"), (0xF7, "other"),
    (0xF8, "latin_ext"), (0x250, "other"), (0x370, "greek_cyrillic"), (0x530, "other"),
    (0x1100, "hangul"), (0x1200, "other"), (0x2000, "other_ws"), (0x200B, "other"),
    (0x2010, "gen_punct"), (0x2028, "other_ws"), (0x202A, "other"), (0x202F, "other_ws"),
    (0x2030, "gen_punct"), (0x205F, "other_ws"), (0x2060, "other"), (0x2070, "symbol"),
    (0x2C00, "other"), (0x2E80, "han_rare"), (0x3000, "cjk_punct"),
    (0x3040, "kana"), (0x3130, "hangul"),
    (0x3190, "other"), (0x3400, "han_rare"), (0x4DC0, "other"), (0x4E00, "han_rare"),
    (0xA000, "other"), (0xAC00, "hangul"), (0xD7B0, "other"), (0xF900, "han_rare"),
    (0xFB00, "other"), (0xFF00, "cjk_punct"), (0xFFF0, "other"),
)


def _packaged_han_top() -> str:
    return str(load_toml("estimator.toml").get("han_top", ""))


@functools.cache
def _class_table(han_top: str) -> np.ndarray:
    """The class of every code point, U+0000..U+10FFFF (uint8, 1.1 MB, built once).

    One table lookup per character is the cheapest classification numpy offers
    (a ``searchsorted`` over range starts costs several times more).
    """
    table = np.full(0x110000, _C["astral"], dtype=np.uint8)
    starts = [r[0] for r in _RANGES] + [0x10000]
    for (start, name), end in zip(_RANGES, starts[1:], strict=True):
        table[start:end] = _C[name]
    # The 3,755 level-1 ideographs of GB 2312 (chosen by frequency of use) decode from the
    # rows 0xB0-0xD7; common characters merge into multi-character tokens far more often
    # than rare ones, so they get their own class.
    hi = np.repeat(np.arange(0xB0, 0xD8, dtype=np.uint8), 94)
    lo = np.tile(np.arange(0xA1, 0xFF, dtype=np.uint8), 0xD8 - 0xB0)
    pairs = np.stack([hi, lo], axis=1).tobytes()
    common = np.frombuffer(
        pairs.decode("gb2312", errors="replace").encode("utf-32-le"), dtype="<u4"
    )
    common = common[(common >= 0x4E00) & (common < 0xA000)]
    table[common] = _C["han"]
    if han_top:
        table[np.frombuffer(han_top.encode("utf-32-le"), dtype="<u4")] = _C["han_top"]
    table.setflags(write=False)
    return table


def features_matrix(texts: Sequence[str], *, han_top: str | None = None) -> np.ndarray:
    """The feature matrix of ``texts``: int64, one row per text, :data:`FEATURES` columns.

    All texts are classified in one pass over their concatenation; string boundaries
    also end runs, so a row depends on its own text only.

    Args:
        texts: the strings.
        han_top: the ideographs of class ``han_top``; None means the packaged list
            (``han_top`` in ``data/estimator.toml``). The calibration tool passes its own.
    """
    n = len(texts)
    out = np.zeros((n, len(FEATURES)), dtype=np.int64)
    if n == 0:
        return out
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=n)
    total = int(lengths.sum())
    if total == 0:
        return out
    joined = texts[0] if n == 1 else "".join(texts)
    # surrogatepass: lone surrogates (legal in a Python str) classify as "other".
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    table = _class_table(_packaged_han_top() if han_top is None else han_top)
    cls = table[cp]
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])

    # Class runs: a run starts where the class changes or a new string begins.
    starts_mask = np.empty(total, dtype=bool)
    starts_mask[0] = True
    np.not_equal(cls[1:], cls[:-1], out=starts_mask[1:])
    text_starts = offsets[:-1][lengths > 0]
    starts_mask[text_starts] = True
    starts = np.flatnonzero(starts_mask)
    run_len = np.diff(np.append(starts, total))
    run_cls = cls[starts].astype(np.int64)
    if n == 1:
        run_sid = np.zeros(len(starts), dtype=np.int64)
    else:
        run_sid = np.searchsorted(offsets, starts, side="right") - 1

    counts = np.bincount(run_sid * N_CLASSES + run_cls, weights=run_len,
                         minlength=n * N_CLASSES)
    out[:, :N_CLASSES] = counts.reshape(n, N_CLASSES).astype(np.int64)

    col = N_CLASSES
    for _, cname, min_len in _RUN_FEATURES:
        sel = (run_cls == _C[cname]) & (run_len >= min_len)
        out[:, col] = np.bincount(run_sid[sel], minlength=n) if n > 1 else int(sel.sum())
        col += 1

    # Segments: consecutive class runs of one kind within one string.
    kind = _KIND_OF_CLASS[run_cls]
    seg_mask = np.empty(len(starts), dtype=bool)
    seg_mask[0] = True
    np.not_equal(kind[1:], kind[:-1], out=seg_mask[1:])
    seg_mask[1:] |= run_sid[1:] != run_sid[:-1]
    seg_first = np.flatnonzero(seg_mask)
    seg_kind = kind[seg_first]
    seg_len = np.add.reduceat(run_len, seg_first)
    seg_sid = run_sid[seg_first]
    for j, (_, want, threshold) in enumerate(_SEGMENT_FEATURES, start=col):
        sel = seg_kind == want
        if not sel.any():
            continue
        lens = seg_len[sel]
        if threshold == -1:
            vals = np.ones_like(lens)
        elif threshold == "ceil3":
            vals = -(-lens // 3)
        elif threshold == "ge2":
            vals = (lens >= 2).astype(np.int64)
        else:
            vals = np.maximum(lens - int(threshold), 0)
        if n == 1:
            out[0, j] = int(vals.sum())
        else:
            out[:, j] = np.bincount(seg_sid[sel], weights=vals, minlength=n).astype(np.int64)
    out[:, _BIAS] = lengths > 0
    return out


def features(text: str) -> np.ndarray:
    """The feature vector of one text (int64, :data:`FEATURES` columns)."""
    return features_matrix([text])[0]


@functools.cache
def calibrations() -> Mapping[str, Mapping[str, Any]]:
    """Every calibration in ``data/estimator.toml``, by tokenizer name."""
    data = load_toml("estimator.toml")
    return data.get("calibrations", {})  # type: ignore[no-any-return]


def calibration(name: str) -> Mapping[str, Any]:
    """The calibration table for tokenizer ``name``: coefficients, corpus, measured error.

    Raises:
        CatalogError: no calibration of that name.
    """
    cals = calibrations()
    if name not in cals:
        raise CatalogError(
            f"no estimator calibration {name!r}; known: {', '.join(sorted(cals))}. "
            "Add one with tools/calibrate_estimator.py."
        )
    return cals[name]


def quantize(coefficients: Sequence[float] | np.ndarray) -> np.ndarray:
    """Fixed-point coefficients: ``round(c * SCALE)`` (round half to even), int64."""
    return np.array([round(float(c) * SCALE) for c in coefficients], dtype=np.int64)


@functools.cache
def _coef(name: str) -> np.ndarray:
    table = calibration(name)["coefficients"]
    unknown = set(table) - set(FEATURES)
    if unknown:
        raise CatalogError(
            f"estimator calibration {name!r} has unknown features {sorted(unknown)}; "
            f"known: {', '.join(FEATURES)}"
        )
    q = quantize([float(table.get(f, 0.0)) for f in FEATURES])
    if (np.delete(q, _BIAS) < 0).any():
        # Monotonicity (appending text never lowers the estimate) rests on this.
        raise CatalogError(f"estimator calibration {name!r} has a negative coefficient")
    q.setflags(write=False)
    return q


# Largest feature total before x · q could overflow int64: a guard, not a practical limit
# (it is about 10^11 characters).
_MAX_CHARS = (2**62) // (len(FEATURES) * 10 * SCALE)


def combine(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Estimates from int64 features ``x`` and fixed-point coefficients ``q``.

    ``floor((x · q + SCALE / 2) / SCALE)`` — round half up — then at least 1 where the
    text is non-empty (its bias column is 1) and 0 where it is empty.
    """
    x = np.asarray(x, dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != len(FEATURES):
        raise ValueError(f"features must have shape (n, {len(FEATURES)}), got {x.shape}")
    value = (x @ np.asarray(q, dtype=np.int64) + SCALE // 2) // SCALE
    nonempty = x[:, _BIAS] > 0
    return np.where(nonempty, np.maximum(value, 1), 0).astype(np.int64)


def estimate_many(texts: Sequence[str], name: str) -> np.ndarray:
    """Estimated token counts of many strings under calibration ``name`` (int64).

    Equal to ``[estimate_one(t, name) for t in texts]``, computed in one vectorized pass.

    Raises:
        CatalogError: no calibration of that name.
        CountOverflowError: more text than the fixed-point arithmetic can hold (~10^11 chars).
    """
    q = _coef(name)
    if len(texts) == 0:
        return np.zeros(0, dtype=np.int64)
    if sum(len(t) for t in texts) > _MAX_CHARS:
        raise CountOverflowError(
            f"{sum(len(t) for t in texts)} characters exceed the estimator's limit of "
            f"{_MAX_CHARS}; estimate the text in parts and add the counts"
        )
    return combine(features_matrix(texts), q)


def estimate_one(text: str, name: str) -> int:
    """The estimated token count of ``text`` (0 for ``""``, at least 1 otherwise).

    Raises:
        CatalogError: no calibration of that name.
    """
    return int(estimate_many([text], name)[0])
