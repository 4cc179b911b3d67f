"""A calibrated, script-aware estimate of token counts, for when no vocabulary is installed.

The estimate is a linear model over character-class features (CJK ideographs, Latin
letters and words, digits and digit runs, whitespace, punctuation…), fitted per tokenizer
on real English and Chinese text by ``tools/calibrate_estimator.py``; the coefficients
live in ``data/estimator.toml`` with the corpus, split and measured error. Counts from
here always carry ``exact=False``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._data import load_toml
from ..errors import CatalogError

__all__ = ["FEATURES", "calibration", "calibrations", "estimate_many", "estimate_one", "features"]

# Code-point classes, as (start, end_exclusive, class) sorted by start. Anything not
# listed is "other" (class 11); astral code points (>= 0x10000) are class 12.
_RANGES = (
    (0x00, 0x09, 5), (0x09, 0x0A, 4), (0x0A, 0x0B, 3), (0x0B, 0x0D, 4), (0x0D, 0x0E, 3),
    (0x0E, 0x20, 5), (0x20, 0x21, 2), (0x21, 0x30, 5), (0x30, 0x3A, 1), (0x3A, 0x41, 5),
    (0x41, 0x5B, 0), (0x5B, 0x61, 5), (0x61, 0x7B, 0), (0x7B, 0x80, 5),
    (0x80, 0xC0, 11), (0xC0, 0x250, 9), (0x250, 0x370, 11), (0x370, 0x530, 10),
    (0x530, 0x1100, 11), (0x1100, 0x1200, 8), (0x1200, 0x3000, 11), (0x3000, 0x3040, 7),
    (0x3040, 0x3100, 8), (0x3100, 0x3130, 11), (0x3130, 0x3190, 8), (0x3190, 0x3400, 11),
    (0x3400, 0x4DC0, 6), (0x4DC0, 0x4E00, 11), (0x4E00, 0xA000, 6), (0xA000, 0xAC00, 11),
    (0xAC00, 0xD7B0, 8), (0xD7B0, 0xF900, 11), (0xF900, 0xFB00, 6), (0xFB00, 0xFF00, 11),
    (0xFF00, 0xFFF0, 7), (0xFFF0, 0x10000, 11),
)
_STARTS = np.array([r[0] for r in _RANGES], dtype=np.uint32)
_CLASSES = np.array([r[2] for r in _RANGES], dtype=np.int64)
N_CLASSES = 13
LATIN, DIGIT, SPACE, NEWLINE, OTHER_WS, PUNCT, HAN, CJK_PUNCT, KANA_HANGUL, LATIN_EXT, \
    GREEK_CYRILLIC, OTHER, ASTRAL = range(N_CLASSES)

#: Feature names, in the order of :func:`features`' columns.
FEATURES = (
    "latin", "digit", "space", "newline", "other_ws", "punct", "han", "cjk_punct",
    "kana_hangul", "latin_ext", "greek_cyrillic", "other", "astral",
    "words", "digit_runs", "digit_groups3", "punct_runs", "space_runs", "bias",
)


def _classes(text: str) -> np.ndarray:
    cp = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    cls = _CLASSES[np.searchsorted(_STARTS, cp, side="right") - 1]
    cls[cp >= 0x10000] = ASTRAL
    return cls


def _runs(mask: np.ndarray) -> tuple[int, np.ndarray]:
    """Number of runs of True in ``mask`` and their lengths."""
    if not mask.size:
        return 0, np.zeros(0, dtype=np.int64)
    m = mask.astype(np.int8)
    d = np.diff(np.concatenate(([0], m, [0])))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return len(starts), ends - starts


def features(text: str) -> np.ndarray:
    """The feature vector of ``text`` (float64, ``len(FEATURES)`` columns)."""
    out = np.zeros(len(FEATURES), dtype=np.float64)
    if not text:
        return out
    cls = _classes(text)
    out[:N_CLASSES] = np.bincount(cls, minlength=N_CLASSES)
    letters = (cls == LATIN) | (cls == LATIN_EXT) | (cls == GREEK_CYRILLIC)
    out[13], _ = _runs(letters)
    n_digit_runs, lengths = _runs(cls == DIGIT)
    out[14] = n_digit_runs
    out[15] = float(np.sum(-(-lengths // 3)))
    out[16], _ = _runs(cls == PUNCT)
    out[17], _ = _runs((cls == SPACE) | (cls == OTHER_WS) | (cls == NEWLINE))
    out[18] = 1.0
    return out


@functools.cache
def calibrations() -> Mapping[str, Mapping[str, Any]]:
    """Every calibration in ``data/estimator.toml``, by tokenizer name."""
    data = load_toml("estimator.toml")
    return data.get("calibrations", {})  # type: ignore[no-any-return]


@functools.cache
def _coef(name: str) -> np.ndarray:
    cal = calibration(name)
    coef = cal["coefficients"]
    return np.array([float(coef.get(f, 0.0)) for f in FEATURES], dtype=np.float64)


def calibration(name: str) -> Mapping[str, Any]:
    """The calibration table for tokenizer ``name``.

    Raises:
        CatalogError: no calibration of that name.
    """
    cals = calibrations()
    if name not in cals:
        raise CatalogError(
            f"no estimator calibration {name!r}; known: {', '.join(sorted(cals))}"
        )
    return cals[name]


def estimate_one(text: str, name: str) -> int:
    """The estimated token count of ``text`` (0 for ``""``, at least 1 otherwise)."""
    if not text:
        return 0
    value = float(features(text) @ _coef(name))
    # Round half up to whole tokens; never below one token for non-empty text.
    return max(1, int(np.floor(value + 0.5)))


def estimate_many(texts: Sequence[str], name: str) -> np.ndarray:
    """Estimated counts of many strings (int64)."""
    if not texts:
        return np.zeros(0, dtype=np.int64)
    feats = np.stack([features(t) for t in texts])
    values = np.floor(feats @ _coef(name) + 0.5).astype(np.int64)
    empty = np.array([not t for t in texts])
    return np.where(empty, 0, np.maximum(values, 1))
