"""A calibrated, script-aware estimate of token counts, for when no vocabulary is installed.

How it works (details and measured errors: ``docs/text-estimate.md``):

1. Every code point gets a *class* from a lookup table: lower/upper-case Latin, other
   Latin letters, Greek, Cyrillic, digit, ASCII punctuation, space, other whitespace,
   newline, the 300 most frequent Han characters, other common Han (GB 2312 level 1),
   rare Han, astral Han (extensions B-H), CJK punctuation, general punctuation, symbols,
   kana, hangul, other, astral (emoji and the rest above U+FFFF).
2. Consecutive characters of one class form *runs*; consecutive runs of one *kind*
   (letters, digits, punctuation, spaces, newlines, Han, …) form *segments*, roughly
   where a BPE pre-tokenizer cuts text.
3. Features are the class counts, run counts of the classes whose runs break BPE merges
   (upper case, accented Latin, other scripts, Han tiers, symbols), and per-segment
   terms: Latin words, capitalised and all-caps words, hinge terms
   ``max(0, length - k)`` of word lengths (long words split into more tokens), digit runs
   and ``ceil(run / 3)`` digit groups, punctuation runs, space runs of two or more,
   newline runs, Han segments, and a bias.
4. The estimate is linear in those features, with coefficients fitted per tokenizer by
   non-negative least squares (``tools/calibrate_estimator.py``) on real English and
   Chinese text; ``data/estimator.toml`` holds them with the corpus, the split and the
   measured held-out error.

Arithmetic is exact and order-independent: features are int64 counts, coefficients are
fixed-point int64 (``round(c * 10**6)``, Python's round-half-even), and the estimate is
``floor((x · q + 500_000) / 10**6)`` — round half up — clamped to at least one token for
non-empty text. :func:`estimate_many` therefore equals :func:`estimate_one` item by item
on every machine. Every coefficient but the bias is non-negative and appending text
never lowers a feature, so appending a paragraph never lowers an estimate.

The hot path does not build the feature matrix: it folds the coefficients into a cost per
class and a cost table per (segment kind, capitalisation, length) and sums costs, which
gives the same integers with far fewer passes over the text. Counts from here always
carry ``exact=False``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
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

# Class codes are ``kind * 8 + sub`` so the segment kind of a character is ``code >> 3``
# (one cheap shift instead of a second table lookup).
_SHIFT = 3
_CODES = {
    "lower": 0, "upper": 1, "latin_ext": 2, "greek": 3, "cyrillic": 4,  # kind 0: letters
    "digit": 8,  # kind 1 (ASCII digits only; other digits tokenize like symbols)
    "punct": 16,  # kind 2: ASCII punctuation and C0 controls
    "space": 24, "other_ws": 25,  # kind 3: U+0020; tabs, NBSP, the Unicode spaces
    "newline": 32,  # kind 4: \n \r
    "han_top": 40, "han": 41, "han_rare": 42, "han_ext": 43,  # kind 5: Han ideographs
    "cjk_punct": 48, "gen_punct": 49, "symbol": 50,  # kind 6: no segment features
    "kana": 56, "hangul": 57, "other": 58, "astral": 59,  # kind 7: no segment features
}
_N_CODES = 64
_WORD, _DIGIT, _PUNCT, _SPACE, _NL, _HAN = range(6)
_N_KINDS = 8
_UPPER = _CODES["upper"]

#: Character classes, in the order of the first :data:`FEATURES` columns.
CLASSES: tuple[str, ...] = tuple(sorted(_CODES, key=_CODES.__getitem__))


def _one(n: np.ndarray) -> np.ndarray:
    return np.ones_like(n)


def _hinge(k: int) -> Callable[[np.ndarray], np.ndarray]:
    def f(n: np.ndarray) -> np.ndarray:
        return np.asarray(np.maximum(n - k, 0))

    return f


def _ceil3(n: np.ndarray) -> np.ndarray:
    return -(-n // 3)  # ceil(n / 3) in integers


def _ge2(n: np.ndarray) -> np.ndarray:
    return (n >= 2).astype(np.int64)


# Per-segment features: (name, kind, minimum capitalisation, value of a segment of length
# n). Capitalisation is 0 (anything), 1 (first letter upper case) or 2 (first two upper
# case). Hinges let the cost of a word grow faster once it is too long to be one token.
_SEGMENT_FEATURES: tuple[tuple[str, int, int, Callable[[np.ndarray], np.ndarray]], ...] = (
    ("words", _WORD, 0, _one),
    ("cap_words", _WORD, 1, _one),
    ("caps_words", _WORD, 2, _one),
    ("word_len_gt3", _WORD, 0, _hinge(3)),
    ("word_len_gt6", _WORD, 0, _hinge(6)),
    ("word_len_gt9", _WORD, 0, _hinge(9)),
    ("word_len_gt13", _WORD, 0, _hinge(13)),
    ("digit_runs", _DIGIT, 0, _one),
    ("digit_groups3", _DIGIT, 0, _ceil3),
    ("punct_runs", _PUNCT, 0, _one),
    ("punct_len_gt2", _PUNCT, 0, _hinge(2)),
    ("space_runs_ge2", _SPACE, 0, _ge2),
    ("space_len_gt4", _SPACE, 0, _hinge(4)),
    ("newline_runs", _NL, 0, _one),
    ("han_segments", _HAN, 0, _one),
)
# Past this length every segment feature grows linearly, except ceil(n/3), which grows by
# one every 3: so the cost table stops here (a multiple of 3 above every hinge).
_LMAX = 15

# Classes whose runs cost a token of their own: a switch into upper case, an accented
# letter or another script inside a word usually ends a BPE merge.
_RUN_CLASSES = (
    "upper", "latin_ext", "greek", "cyrillic", "han_top", "han", "han_rare", "cjk_punct",
    "gen_punct", "symbol", "kana", "hangul", "other", "astral",
)

#: Feature names, in the order of :func:`features_matrix`' columns.
FEATURES: tuple[str, ...] = (
    *CLASSES, *(f"{c}_runs" for c in _RUN_CLASSES), *(f[0] for f in _SEGMENT_FEATURES),
    "bias",
)
_BIAS = len(FEATURES) - 1
_N_CLS = len(CLASSES)
_FIRST_SEGMENT_COLUMN = _N_CLS + len(_RUN_CLASSES)
# Column of each class code's character count, and of its run count (-1: none).
_COLUMN_OF_CODE = np.full(_N_CODES, -1, dtype=np.int64)
_RUN_COLUMN_OF_CODE = np.full(_N_CODES, -1, dtype=np.int64)
for _i, _name in enumerate(CLASSES):
    _COLUMN_OF_CODE[_CODES[_name]] = _i
for _i, _name in enumerate(_RUN_CLASSES, start=_N_CLS):
    _RUN_COLUMN_OF_CODE[_CODES[_name]] = _i

#: Fixed-point scale of the coefficients: ``q = round(coefficient * SCALE)``.
SCALE = 10**6

# (first code point, class) for the BMP, sorted; each range runs to the next start.
_RANGES = (
    (0x00, "punct"), (0x09, "other_ws"), (0x0A, "newline"), (0x0B, "other_ws"),
    (0x0D, "newline"), (0x0E, "punct"), (0x20, "space"), (0x21, "punct"),
    (0x30, "digit"), (0x3A, "punct"), (0x41, "upper"), (0x5B, "punct"), (0x61, "lower"),
    (0x7B, "punct"), (0x80, "other"), (0xA0, "other_ws"), (0xA1, "other"),
    (0xC0, "latin_ext"), (0xD7, "other"), (0xD8, "latin_ext"), (0xF7, "other"),
    (0xF8, "latin_ext"), (0x250, "other"), (0x370, "greek"), (0x400, "cyrillic"),
    (0x530, "other"),
    (0x1100, "hangul"), (0x1200, "other"), (0x2000, "other_ws"), (0x200B, "other"),
    (0x2010, "gen_punct"), (0x2028, "other_ws"), (0x202A, "other"), (0x202F, "other_ws"),
    (0x2030, "gen_punct"), (0x205F, "other_ws"), (0x2060, "other"), (0x2070, "symbol"),
    (0x2C00, "other"), (0x2E80, "han_rare"), (0x3000, "cjk_punct"), (0x3040, "kana"),
    (0x3130, "hangul"), (0x3190, "other"), (0x3400, "han_rare"), (0x4DC0, "other"),
    (0x4E00, "han_rare"), (0xA000, "other"), (0xAC00, "hangul"), (0xD7B0, "other"),
    (0xF900, "han_rare"), (0xFB00, "other"), (0xFF00, "cjk_punct"), (0xFFF0, "other"),
)


def _packaged_han_top() -> str:
    return str(load_toml("estimator.toml").get("han_top", ""))


@functools.cache
def _class_table(han_top: str) -> np.ndarray:
    """The class code of every code point, U+0000..U+10FFFF (uint8, 1.1 MB, built once).

    One table lookup per character is the cheapest classification numpy offers (a
    ``searchsorted`` over range starts costs about eight times more).
    """
    table = np.full(0x110000, _CODES["astral"], dtype=np.uint8)
    starts = [r[0] for r in _RANGES] + [0x10000]
    for (start, name), end in zip(_RANGES, starts[1:], strict=True):
        table[start:end] = _CODES[name]
    # The 3,755 level-1 ideographs of GB 2312 (chosen by frequency of use) decode from
    # rows 0xB0-0xD7; common characters merge into multi-character tokens far more often
    # than rare ones, so they get their own class.
    hi = np.repeat(np.arange(0xB0, 0xD8, dtype=np.uint8), 94)
    lo = np.tile(np.arange(0xA1, 0xFF, dtype=np.uint8), 0xD8 - 0xB0)
    pairs = np.stack([hi, lo], axis=1).tobytes()
    common = np.frombuffer(
        pairs.decode("gb2312", errors="replace").encode("utf-32-le"), dtype="<u4"
    )
    table[common[(common >= 0x4E00) & (common < 0xA000)]] = _CODES["han"]
    # Astral ideographs (CJK extensions B-H, compatibility supplement): four UTF-8 bytes
    # that byte-level vocabularies rarely merge, unlike emoji, which share "astral".
    table[0x20000:0x323B0] = _CODES["han_ext"]
    if han_top:
        table[np.frombuffer(han_top.encode("utf-32-le"), dtype="<u4")] = _CODES["han_top"]
    table.setflags(write=False)
    return table


@dataclass(frozen=True, slots=True)
class _Scan:
    """Class runs and segments of a batch of texts (positions in their concatenation)."""

    lengths: np.ndarray  # chars per text
    offsets: np.ndarray  # n + 1 text boundaries
    run_start: np.ndarray  # first char of each class run
    run_len: np.ndarray  # chars per class run (int64)
    run_code: np.ndarray  # class code per run (intp)
    seg_first: np.ndarray  # first run of each segment
    seg_len: np.ndarray  # chars per segment (int64)
    seg_kind: np.ndarray  # kind per segment (intp)
    seg_cap: np.ndarray  # capitalisation per segment: 0, 1 or 2 (intp)


def _scan(texts: Sequence[str], han_top: str | None) -> _Scan | None:
    """Classify every character, cut class runs and segments; None if all texts are empty.

    Only four passes touch every character (encode, table lookup, compare, nonzero);
    everything else works on runs, of which there are about a third as many as chars
    in English and far fewer in Chinese.
    """
    n = len(texts)
    if n == 1:
        lengths = np.array([len(texts[0])], dtype=np.int64)
    else:
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    total = int(offsets[-1])
    if total == 0:
        return None
    joined = texts[0] if n == 1 else "".join(texts)
    # surrogatepass: lone surrogates (legal in a Python str) classify as "other".
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    table = _class_table(_packaged_han_top() if han_top is None else han_top)
    codes = np.take(table, cp)
    boundary = np.empty(total, dtype=bool)
    boundary[0] = True
    np.not_equal(codes[1:], codes[:-1], out=boundary[1:])
    if n > 1:
        # A new text always starts a new run, so no run or segment spans two texts.
        boundary[offsets[:-1][lengths > 0]] = True
    run_start = np.flatnonzero(boundary)
    run_len = np.diff(run_start, append=total)
    run_code = codes[run_start].astype(np.intp)
    kind = run_code >> _SHIFT
    seg_mask = np.empty(len(run_start), dtype=bool)
    seg_mask[0] = True
    np.not_equal(kind[1:], kind[:-1], out=seg_mask[1:])
    if n > 1:
        text_of_run = np.searchsorted(offsets, run_start, side="right")
        seg_mask[1:] |= text_of_run[1:] != text_of_run[:-1]
    seg_first = np.flatnonzero(seg_mask)
    seg_len = np.diff(run_start[seg_first], append=total)
    first_code = run_code[seg_first]
    # A segment starting with an upper-case run of two or more is all-caps at its start.
    cap = (first_code == _UPPER).astype(np.intp)
    cap += cap & (run_len[seg_first] >= 2)
    return _Scan(lengths, offsets, run_start, run_len, run_code, seg_first, seg_len,
                 first_code >> _SHIFT, cap)


def features_matrix(texts: Sequence[str], *, han_top: str | None = None) -> np.ndarray:
    """The feature matrix of ``texts``: int64, one row per text, :data:`FEATURES` columns.

    The calibration tool fits on these; :func:`estimate_many` computes ``x · q`` without
    building them (and a test checks the two agree).

    Args:
        texts: the strings.
        han_top: the ideographs of class ``han_top``; None means the packaged list
            (``han_top`` in ``data/estimator.toml``). The calibration tool passes its own.
    """
    n = len(texts)
    out = np.zeros((n, len(FEATURES)), dtype=np.int64)
    scan = _scan(texts, han_top) if n else None
    if scan is None:
        return out
    run_sid = np.searchsorted(scan.offsets, scan.run_start, side="right") - 1
    counts = np.bincount(run_sid * _N_CODES + scan.run_code, weights=scan.run_len,
                         minlength=n * _N_CODES)
    counts = counts.reshape(n, _N_CODES).astype(np.int64)
    runs = np.bincount(run_sid * _N_CODES + scan.run_code, minlength=n * _N_CODES)
    runs = runs.reshape(n, _N_CODES)
    for code, col in enumerate(_COLUMN_OF_CODE):
        if col >= 0:
            out[:, col] = counts[:, code]
    for code, col in enumerate(_RUN_COLUMN_OF_CODE):
        if col >= 0:
            out[:, col] = runs[:, code]
    seg_sid = run_sid[scan.seg_first]
    for j, (_, kind, min_cap, value) in enumerate(_SEGMENT_FEATURES,
                                                  start=_FIRST_SEGMENT_COLUMN):
        sel = (scan.seg_kind == kind) & (scan.seg_cap >= min_cap)
        vals = value(scan.seg_len[sel])
        out[:, j] = np.bincount(seg_sid[sel], weights=vals, minlength=n).astype(np.int64)
    out[:, _BIAS] = scan.lengths > 0
    return out


def features(text: str) -> np.ndarray:
    """The feature vector of one text (int64, :data:`FEATURES` columns)."""
    return np.asarray(features_matrix([text])[0], dtype=np.int64)


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


@dataclass(frozen=True, slots=True)
class _Costs:
    """A calibration folded into lookup tables (all fixed-point int64)."""

    q: np.ndarray  # per feature
    per_code: np.ndarray  # cost of one character of each class code
    per_run: np.ndarray  # cost of one run of each class code
    segment: np.ndarray  # cost of a segment by (kind * 3 + cap) * (_LMAX + 1) + length
    slope: np.ndarray  # per kind: extra cost per character past _LMAX
    per3: np.ndarray  # per kind: extra cost per 3 characters past _LMAX
    bias: int
    per_code_list: list[int]
    per_run_list: list[int]
    segment_list: list[int]


def _fold(q: np.ndarray) -> _Costs:
    per_code = np.zeros(_N_CODES, dtype=np.int64)
    per_run = np.zeros(_N_CODES, dtype=np.int64)
    for code, col in enumerate(_COLUMN_OF_CODE):
        if col >= 0:
            per_code[code] = q[col]
    for code, col in enumerate(_RUN_COLUMN_OF_CODE):
        if col >= 0:
            per_run[code] = q[col]
    lengths = np.arange(_LMAX + 1, dtype=np.int64)
    segment = np.zeros((_N_KINDS, 3, _LMAX + 1), dtype=np.int64)
    slope = np.zeros(_N_KINDS, dtype=np.int64)
    per3 = np.zeros(_N_KINDS, dtype=np.int64)
    for j, (_, kind, min_cap, value) in enumerate(_SEGMENT_FEATURES,
                                                  start=_FIRST_SEGMENT_COLUMN):
        vals = value(lengths)
        vals[0] = 0  # no segment has length 0
        for cap in range(min_cap, 3):
            segment[kind, cap] += q[j] * vals
        # Growth past _LMAX: a hinge adds one per char, ceil(n/3) one per 3 chars.
        if value is _ceil3:
            per3[kind] += q[j]
        elif value not in (_one, _ge2):
            slope[kind] += q[j]
    flat = segment.reshape(-1)
    return _Costs(q, per_code, per_run, flat, slope, per3, int(q[_BIAS]),
                  [int(v) for v in per_code], [int(v) for v in per_run],
                  [int(v) for v in flat])


@functools.cache
def _costs(name: str) -> _Costs:
    table = calibration(name).get("coefficients", {})
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
    return _fold(q)


# Above this many characters x · q could leave int64 (coefficients are < 100 tokens per
# feature unit): a guard, not a practical limit (about 10^11 characters).
_MAX_CHARS = (2**62) // (len(FEATURES) * 100 * SCALE)


def _raw(scan: _Scan, costs: _Costs, n: int) -> np.ndarray:
    """``x · q`` per text, in fixed point, from the folded cost tables."""
    seg_cost = np.take(
        costs.segment,
        (scan.seg_kind * 3 + scan.seg_cap) * (_LMAX + 1) + np.minimum(scan.seg_len, _LMAX),
    )
    long = np.flatnonzero(scan.seg_len > _LMAX)
    if long.size:
        extra = scan.seg_len[long] - _LMAX
        kinds = scan.seg_kind[long]
        seg_cost[long] += costs.slope[kinds] * extra + costs.per3[kinds] * (-(-extra // 3))
    run_cost = (np.take(costs.per_code, scan.run_code) * scan.run_len
                + np.take(costs.per_run, scan.run_code))
    if n == 1:
        return np.array([int(run_cost.sum()) + int(seg_cost.sum()) + costs.bias])
    # Texts are contiguous and runs and segments never span two texts: sum each text by
    # differences of prefix sums at its first run and first segment.
    run_cum = np.zeros(len(run_cost) + 1, dtype=np.int64)
    np.cumsum(run_cost, out=run_cum[1:])
    seg_cum = np.zeros(len(seg_cost) + 1, dtype=np.int64)
    np.cumsum(seg_cost, out=seg_cum[1:])
    first_run = np.searchsorted(scan.run_start, scan.offsets, side="left")
    first_seg = np.searchsorted(scan.seg_first, first_run, side="left")
    total: np.ndarray = (np.diff(run_cum[first_run]) + np.diff(seg_cum[first_seg])
                         + costs.bias * (scan.lengths > 0))
    return total


# Up to this many characters a plain-Python pass beats numpy's fixed cost per call
# (about 30 array operations of a few µs each); both give the same integers.
_SHORT = 320


@functools.cache
def _table_bytes(han_top: str) -> bytes:
    """The class table as bytes: indexing bytes is the fastest lookup plain Python has."""
    return _class_table(han_top).tobytes()


def _raw_short(text: str, costs: _Costs) -> int:
    """``x · q`` of one short text in plain Python (the same integers as :func:`_raw`)."""
    table = _table_bytes(_packaged_han_top())
    codes = [table[o] for o in map(ord, text)]
    per_code = costs.per_code_list
    per_run = costs.per_run_list
    segment = costs.segment_list
    total = costs.bias
    i = 0
    n = len(codes)
    while i < n:
        c0 = codes[i]
        kind = c0 >> _SHIFT
        j = i + 1
        while j < n and codes[j] == c0:
            j += 1
        cap = 0
        if c0 == _UPPER:
            cap = 2 if j - i >= 2 else 1
        total += per_code[c0] * (j - i) + per_run[c0]
        while j < n and codes[j] >> _SHIFT == kind:
            c = codes[j]
            k = j + 1
            while k < n and codes[k] == c:
                k += 1
            total += per_code[c] * (k - j) + per_run[c]
            j = k
        length = j - i
        if length <= _LMAX:
            total += segment[(kind * 3 + cap) * (_LMAX + 1) + length]
        else:
            extra = length - _LMAX
            total += (segment[(kind * 3 + cap) * (_LMAX + 1) + _LMAX]
                      + int(costs.slope[kind]) * extra + int(costs.per3[kind]) * -(-extra // 3))
        i = j
    return total


def estimate_many(texts: Sequence[str], name: str) -> np.ndarray:
    """Estimated token counts of many strings under calibration ``name`` (int64).

    Equal to ``[estimate_one(t, name) for t in texts]``, computed in one vectorized pass
    over all of them.

    Raises:
        CatalogError: no calibration of that name.
        CountOverflowError: more text than the fixed-point arithmetic can hold (~10^11 chars).
    """
    costs = _costs(name)
    n = len(texts)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    scan = _scan(texts, None)
    if scan is None:
        return np.zeros(n, dtype=np.int64)
    if int(scan.offsets[-1]) > _MAX_CHARS:
        raise CountOverflowError(
            f"{int(scan.offsets[-1])} characters exceed the estimator's limit of "
            f"{_MAX_CHARS}; estimate the text in parts and add the counts"
        )
    value = (_raw(scan, costs, n) + SCALE // 2) // SCALE
    return np.where(scan.lengths > 0, np.maximum(value, 1), 0).astype(np.int64)


def estimate_one(text: str, name: str) -> int:
    """The estimated token count of ``text`` (0 for ``""``, at least 1 otherwise).

    Raises:
        CatalogError: no calibration of that name.
    """
    costs = _costs(name)  # an unknown calibration is an error even for empty text
    if not text:
        return 0
    if len(text) <= _SHORT:
        return max(1, (_raw_short(text, costs) + SCALE // 2) // SCALE)
    return int(estimate_many([text], name)[0])
