"""Counting rows: grouped by (model, modality), each group through the vectorized kernels.

A group's media go through :meth:`Model._evaluate` (the same rule evaluation the scalar
``count_image``/``count_video``/``count_audio`` use with N = 1) and its texts through
:meth:`Model.text_tokens`. Rows that cannot be counted get an error message; nothing is
dropped. Rows that fail a cheap pre-check, and any row a group's vectorized call still
rejects (found by bisection), are counted one by one through the scalar API, so a row's
error message is exactly the one the scalar call raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]

from .._catalog import get_model
from ..errors import InvalidInputError, TokenmeterError
from ..kernels._intmath import MAX_DURATION, MAX_FPS, MAX_SIDE
from .frame import Frame, floats, ints, strings
from .usage import DIRECTIONS, MODALITIES

__all__ = ["Counts", "Errors", "Inputs", "count_rows", "parse"]

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]
Options = Mapping[tuple[str, str], Mapping[str, Any]]
_MAX_FRAMES = 2**40


class Errors:
    """Per-row error messages, stored once each (a code per row, -1 = no error)."""

    def __init__(self, n: int) -> None:
        self.code = np.full(n, -1, dtype=np.int32)
        self.messages: list[str] = []
        self.types: list[type[Exception]] = []
        self._index: dict[tuple[type[Exception], str], int] = {}

    def add(self, rows: npt.NDArray[np.intp] | int, exc: Exception | str) -> None:
        """Mark ``rows`` (row numbers of the input) with ``exc``'s message."""
        cls: type[Exception] = type(exc) if isinstance(exc, Exception) else InvalidInputError
        msg = str(exc)
        i = self._index.get((cls, msg))
        if i is None:
            i = self._index[(cls, msg)] = len(self.messages)
            self.messages.append(f"{cls.__name__}: {msg}")
            self.types.append(cls)
        self.code[rows] = i

    @property
    def ok(self) -> B:
        """True for rows without an error."""
        return self.code < 0

    def column(self) -> pa.Array:
        """The ``error`` column: ``"ErrorClass: message"``, null where the row is fine."""
        if not self.messages:
            return pa.nulls(len(self.code), pa.string())
        idx = pa.array(self.code, mask=self.code < 0, type=pa.int32())
        return pa.DictionaryArray.from_arrays(idx, pa.array(self.messages, pa.string())).cast(
            pa.string())

    def raise_first(self) -> None:
        """Raise the first row's error (strict mode), naming the row."""
        bad = np.flatnonzero(self.code >= 0)
        if not bad.size:
            return
        row = int(bad[0])
        k = int(self.code[row])
        cls, text = self.types[k], self.messages[k].split(": ", 1)[1]
        more = f" ({bad.size - 1} more row(s) have errors)" if bad.size > 1 else ""
        msg = f"row {row}: {text}{more}"
        try:
            exc = cls(msg)
        except TypeError:  # pragma: no cover - every tokenmeter error takes a message
            exc = InvalidInputError(msg)
        raise exc


@dataclass(slots=True)
class Inputs:
    """The input columns, parsed to numpy (``*_ok``: the value is present and usable)."""

    n: int
    model: npt.NDArray[np.int32]
    model_names: list[str]
    modality: npt.NDArray[np.int8]
    direction: npt.NDArray[np.int8]
    width: I64
    width_ok: B
    height: I64
    height_ok: B
    frames: I64
    frames_ok: B
    reported: I64
    reported_ok: B
    duration: npt.NDArray[np.float64]
    duration_ok: B
    fps: npt.NDArray[np.float64]
    fps_ok: B
    text: pa.Array | None


@dataclass(slots=True)
class Counts:
    """What :func:`count_rows` found, per row."""

    inputs: Inputs
    tokens: I64
    wrapper: I64
    wrapper_ok: B
    exact: B
    errors: Errors


def _codes(name: str, frame: Frame, allowed: tuple[str, ...], errors: Errors,
           default: int | None) -> npt.NDArray[np.int8]:
    codes, values = strings(name, frame.columns.get(name), frame.n)
    table = np.array([allowed.index(v) if v in allowed else -2 for v in values] + [-1],
                     dtype=np.int8)
    out = table[codes]  # code -1 (null) picks the trailing -1
    for k, v in enumerate(values):
        if v not in allowed:
            errors.add(np.flatnonzero(codes == k),
                       f"{name} {v!r} is not one of {', '.join(allowed)}")
    missing = out == -1
    if default is not None:
        out[missing] = default
    elif missing.any():
        errors.add(np.flatnonzero(missing),
                   f"{name} is missing; one of {', '.join(allowed)}")
    return out


def _int_col(frame: Frame, name: str, errors: Errors) -> tuple[I64, B]:
    arr = frame.columns.get(name)
    vals, present, bad = ints(name, arr, frame.n)
    if bad.any() and arr is not None:
        for i in np.flatnonzero(bad):
            v = arr[int(i)].as_py()
            whole = isinstance(v, int) or (isinstance(v, float) and v.is_integer())
            errors.add(int(i), f"{name} = {v!r} does not fit in int64" if whole
                       else f"{name} must be an int, got {v!r}")
    return vals, present & ~bad


def parse(frame: Frame, errors: Errors) -> Inputs:
    """Parse the input columns; malformed values become row errors."""
    n = frame.n
    model, names = strings("model", frame.columns.get("model"), n)
    if (model < 0).any():
        errors.add(np.flatnonzero(model < 0), "model is missing")
    modality = _codes("modality", frame, MODALITIES, errors, None)
    direction = _codes("direction", frame, DIRECTIONS, errors, 0)
    width, width_ok = _int_col(frame, "width", errors)
    height, height_ok = _int_col(frame, "height", errors)
    frames, frames_ok = _int_col(frame, "frames", errors)
    reported, reported_ok = _int_col(frame, "reported_tokens", errors)
    duration, duration_ok = floats("duration", frame.columns.get("duration"), n)
    fps, fps_ok = floats("fps", frame.columns.get("fps"), n)
    text = frame.columns.get("text")
    if text is not None and not pa.types.is_null(text.type):
        if pa.types.is_dictionary(text.type):
            text = text.dictionary_decode()
        if pa.types.is_string_view(text.type):
            text = text.cast(pa.large_string())
        if not (pa.types.is_string(text.type) or pa.types.is_large_string(text.type)):
            raise InvalidInputError(f"column 'text' must hold strings, got {text.type}")
    else:
        text = None
    return Inputs(n=n, model=model, model_names=names, modality=modality, direction=direction,
                  width=width, width_ok=width_ok, height=height, height_ok=height_ok,
                  frames=frames, frames_ok=frames_ok, reported=reported,
                  reported_ok=reported_ok, duration=duration, duration_ok=duration_ok,
                  fps=fps, fps_ok=fps_ok, text=text)


def groups(k: npt.NDArray[np.int64], rows: npt.NDArray[np.intp]
           ) -> list[tuple[int, npt.NDArray[np.intp]]]:
    """``rows`` split by their keys ``k`` (one per row): ``[(key, rows in order), …]``."""
    if not rows.size:
        return []
    # A small key range sorts by radix in numpy (stable), so grouping stays O(n).
    kk = k.astype(np.uint16) if int(k.max()) < 2**16 and int(k.min()) >= 0 else k
    order = np.argsort(kk, kind="stable")
    srt = k[order]
    cuts = np.flatnonzero(srt[1:] != srt[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [srt.size]))
    return [(int(srt[s]), rows[order[s:e]]) for s, e in zip(starts, ends, strict=True)]


class _Counter:
    def __init__(self, inp: Inputs, *, estimate: bool, options: Options | None) -> None:
        n = inp.n
        self.inp = inp
        self.estimate = estimate
        self.options = options or {}
        self.used_options: set[tuple[str, str]] = set()
        self.tokens = np.zeros(n, dtype=np.int64)
        self.wrapper = np.zeros(n, dtype=np.int64)
        self.wrapper_ok = np.zeros(n, dtype=bool)
        self.exact = np.zeros(n, dtype=bool)

    def opts(self, name: str, mid: str, modality: str) -> Mapping[str, Any]:
        for key in ((name, modality), (mid, modality)):
            if key in self.options:
                self.used_options.add(key)
                return self.options[key]
        return {}

    def put(self, rows: Any, tokens: Any, wrapper: Any, exact: bool) -> None:
        self.tokens[rows] = tokens
        self.wrapper[rows] = wrapper
        self.wrapper_ok[rows] = True
        self.exact[rows] = exact


def _media_kwargs(inp: Inputs, modality: str, idx: npt.NDArray[np.intp]) -> dict[str, Any]:
    if modality == "image":
        return {"widths": inp.width[idx], "heights": inp.height[idx]}
    if modality == "audio":
        return {"durations": inp.duration[idx]}
    has_d = bool(inp.duration_ok[idx[0]])
    has_f = bool(inp.frames_ok[idx[0]])
    has_r = bool(inp.fps_ok[idx[0]])
    return {"widths": inp.width[idx], "heights": inp.height[idx],
            "durations": inp.duration[idx] if has_d else None,
            "fps": inp.fps[idx] if has_r else None,
            "frames": inp.frames[idx] if has_f else None}


def _scalar(model: Any, modality: str, inp: Inputs, i: int, opts: Mapping[str, Any]) -> Any:
    """Row ``i`` through the scalar API: its ``TokenCount`` (or the scalar error)."""
    if modality == "image":
        return model.count_image(int(inp.width[i]), int(inp.height[i]), **opts)
    if modality == "audio":
        return model.count_audio(float(inp.duration[i]), **opts)
    return model.count_video(
        int(inp.width[i]), int(inp.height[i]),
        float(inp.duration[i]) if inp.duration_ok[i] else None,
        float(inp.fps[i]) if inp.fps_ok[i] else None,
        frames=int(inp.frames[i]) if inp.frames_ok[i] else None, **opts)


def _precheck(inp: Inputs, modality: str, rows: npt.NDArray[np.intp]) -> B:
    """Rows the kernels would surely accept (the others go through the scalar API)."""
    def side(v: I64) -> B:
        return (v >= 1) & (v <= MAX_SIDE)

    def seconds(v: npt.NDArray[np.float64]) -> B:
        return np.isfinite(v) & (v >= 0) & (v <= MAX_DURATION)

    if modality == "image":
        return side(inp.width[rows]) & side(inp.height[rows])
    d = inp.duration[rows]
    if modality == "audio":
        return seconds(d)
    f = inp.fps[rows]
    fr = inp.frames[rows]
    has_d = inp.duration_ok[rows]
    has_f = inp.frames_ok[rows]
    has_r = inp.fps_ok[rows]
    # Rows without fps, or without both duration and frames, are the rule's to judge:
    # the scalar API says whether it can count them (a generation rule has a native fps).
    ok = side(inp.width[rows]) & side(inp.height[rows]) & has_r & (has_d | has_f)
    ok &= np.isfinite(f) & (f > 0) & (f <= MAX_FPS)
    ok &= ~has_d | seconds(d)
    ok &= ~has_f | ((fr >= 1) & (fr <= _MAX_FRAMES))
    with np.errstate(invalid="ignore", over="ignore"):
        ok &= has_f | (np.rint(np.where(ok, d * f, 0.0)) >= 1)
    return np.asarray(ok, dtype=bool)


def _count_media(c: _Counter, errors: Errors, model: Any, modality: str,
                 rows: npt.NDArray[np.intp], opts: Mapping[str, Any]) -> None:
    inp = c.inp
    need: list[tuple[str, B]] = []
    if modality in ("image", "video"):
        need += [("width", inp.width_ok), ("height", inp.height_ok)]
    if modality == "audio":
        need += [("duration", inp.duration_ok)]
    have = np.ones(rows.size, dtype=bool)
    for _, ok in need:
        have &= ok[rows]
    if not have.all():
        for i in rows[~have]:
            missing = [nm for nm, ok in need if not ok[i]]
            article = "an" if modality[0] in "aeiou" else "a"
            errors.add(int(i), f"{article} {modality} row needs {' and '.join(missing)}")
        rows = rows[have]
    if not rows.size:
        return
    good = _precheck(inp, modality, rows)
    for i in rows[~good]:
        _one(c, errors, model, modality, int(i), opts)
    rows = rows[good]
    if modality == "video":
        # One call per shape: which of duration, frames and fps the rows give (a missing
        # one is None, as in count_video; the rule decides what it can do without it).
        pattern = (inp.duration_ok[rows].astype(np.int64) + 2 * inp.frames_ok[rows]
                   + 4 * inp.fps_ok[rows])
        for _, sub in groups(pattern, rows):
            _bisect(c, errors, model, modality, sub, opts)
    elif rows.size:
        _bisect(c, errors, model, modality, rows, opts)


def _one(c: _Counter, errors: Errors, model: Any, modality: str, i: int,
         opts: Mapping[str, Any]) -> None:
    try:
        tc = _scalar(model, modality, c.inp, i, opts)
    except TokenmeterError as exc:
        errors.add(i, exc)
        return
    c.put(i, tc.tokens, tc.wrapper_tokens, tc.exact)


def _bisect(c: _Counter, errors: Errors, model: Any, modality: str,
            rows: npt.NDArray[np.intp], opts: Mapping[str, Any]) -> None:
    stack = [rows]
    while stack:
        idx = stack.pop()
        try:
            rule, res = model._evaluate(modality, opts=opts, **_media_kwargs(c.inp, modality, idx))
        except TokenmeterError:
            if idx.size == 1:
                _one(c, errors, model, modality, int(idx[0]), opts)
            else:
                half = idx.size // 2
                stack += [idx[half:], idx[:half]]
            continue
        wrap = np.broadcast_to(np.asarray(res.wrapper_tokens, dtype=np.int64), idx.shape)
        c.put(idx, np.asarray(res.tokens, dtype=np.int64).reshape(idx.shape), wrap,
              bool(res.exact and rule.exact))


def _count_text(c: _Counter, errors: Errors, model: Any, rows: npt.NDArray[np.intp]) -> None:
    text = c.inp.text
    has = (np.zeros(rows.size, dtype=bool) if text is None
           else ~text.is_null().to_numpy(zero_copy_only=False)[rows])
    if not has.all():
        errors.add(rows[~has], "a text row needs a 'text' value (or 'reported_tokens')")
        rows = rows[has]
    if not rows.size or text is None:
        return
    texts = text.take(pa.array(rows)).to_pylist()
    try:
        counts = model.text_tokens(texts, estimate=c.estimate)
    except TokenmeterError as exc:
        errors.add(rows, exc)
        return
    exact = model.tokenizer_name is not None and not c.estimate
    c.put(rows, counts, 0, exact)


def count_rows(inp: Inputs, errors: Errors, *, estimate: bool = False,
               options: Options | None = None,
               model_lookup: Callable[[str], Any] = get_model) -> Counts:
    """Count every row of ``inp``; rows already in ``errors`` are skipped."""
    c = _Counter(inp, estimate=estimate, options=options)
    ok = errors.ok & (inp.model >= 0) & (inp.modality >= 0)
    rep = ok & inp.reported_ok
    if rep.any():
        neg = rep & (inp.reported < 0)
        for i in np.flatnonzero(neg):
            errors.add(int(i), f"reported_tokens must be >= 0, got {int(inp.reported[i])}")
        good = rep & ~neg
        # A provider's own count is what it bills: exact, wrappers unknown (null).
        c.tokens[good] = inp.reported[good]
        c.exact[good] = True
    todo = np.flatnonzero(ok & ~inp.reported_ok)
    key = inp.model.astype(np.int64) * len(MODALITIES) + inp.modality
    models: dict[str, Any] = {}
    for k, rows in groups(key[todo], todo):
        name = inp.model_names[k // len(MODALITIES)]
        modality = MODALITIES[k % len(MODALITIES)]
        try:
            model = models.get(name) or models.setdefault(name, model_lookup(name))
        except TokenmeterError as exc:
            errors.add(rows, exc)
            continue
        opts = c.opts(name, model.id, modality)
        if modality == "text":
            if opts:
                errors.add(rows, "text takes no options")
                continue
            _count_text(c, errors, model, rows)
            continue
        try:
            model.rule(modality).check_options(opts)
        except TokenmeterError as exc:
            errors.add(rows, exc)
            continue
        _count_media(c, errors, model, modality, rows, opts)
    bad = ~errors.ok
    c.tokens[bad] = 0
    c.wrapper_ok[bad] = False
    return Counts(inputs=inp, tokens=c.tokens, wrapper=c.wrapper, wrapper_ok=c.wrapper_ok,
                  exact=c.exact, errors=errors)
