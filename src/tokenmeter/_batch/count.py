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
import pyarrow.compute as pc  # type: ignore[import-untyped]

from .._catalog import get_model
from ..errors import InvalidInputError, TokenmeterError
from ..kernels._intmath import MAX_DURATION, MAX_FPS, MAX_SIDE
from .frame import Frame, floats, ints, strings, valid
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
    """The input columns, parsed to numpy (``*_ok``: the value is present and usable).

    A value whose ``*_ok`` flag is False is undefined (read from under an Arrow null as it
    lies): every reader checks the flag first."""

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
    for k, v in enumerate(values):
        if v not in allowed:
            errors.add(np.flatnonzero(codes == k),
                       f"{name} {v!r} is not one of {', '.join(allowed)}")
    if codes.size and int(codes.min()) >= 0:  # no nulls: Arrow's take is the quickest map
        return np.asarray(pc.take(pa.array(table[:-1]), pa.array(codes)).to_numpy(
            zero_copy_only=False), dtype=np.int8)
    out = table[codes]  # code -1 (null) picks the trailing -1
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
    if not bad.any():
        return vals, present
    if arr is not None:
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
    lo, hi = int(k.min()), int(k.max())
    if lo == hi:
        return [(lo, rows)]
    # A small key range sorts by radix in numpy (stable), so grouping stays O(n); one
    # byte is one counting pass.
    kk = (k.astype(np.uint8) if lo >= 0 and hi < 2**8
          else k.astype(np.uint16) if lo >= 0 and hi < 2**16 else k)
    order = np.argsort(kk, kind="stable")
    srt = k[order]
    cuts = np.flatnonzero(srt[1:] != srt[:-1]) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [srt.size]))
    return [(int(srt[s]), rows[order[s:e]]) for s, e in zip(starts, ends, strict=True)]


def _key_groups(model: npt.NDArray[np.int32], modality: npt.NDArray[np.int8], todo: B
                ) -> list[tuple[int, int, npt.NDArray[np.intp]]]:
    """The rows marked ``todo`` grouped by (model code, modality code), each group's rows
    ascending: ``[(model, modality, rows), …]``.

    One small key per row (rows not to do get the largest key, so they sort last), one
    stable sort of the keys (Arrow's ``sort_indices``: a counting sort for one-byte keys,
    measured 2.7x quicker than numpy's stable argsort on 1e7 keys) and a binary search
    of the sorted keys for the group bounds: each group's rows are a slice of the sort
    order.
    """
    nmod = len(MODALITIES)
    nkeys = (int(model.max()) + 1) * nmod if model.size else 0
    if nkeys >= 2**16 - 1:  # pragma: no cover - tens of thousands of distinct model names
        rows = np.flatnonzero(todo)
        key = model[rows].astype(np.int64) * nmod + modality[rows]
        return [(k // nmod, k % nmod, r) for k, r in groups(key, rows)]
    dt = np.uint8 if nkeys < 2**8 - 1 else np.uint16
    # model and modality are >= 0 on every row to do (elsewhere the key is not used)
    key = model.astype(dt) * nmod + modality.astype(dt)
    # key where todo, else nkeys: in products, not np.where (which branches per element)
    np.multiply(key, todo, out=key)
    key += np.multiply(~todo, nkeys, dtype=dt)
    lo, hi = (int(key.min()), int(key.max())) if key.size else (nkeys, nkeys)
    if lo == nkeys:
        return []
    if hi == lo:  # every row to do, in one group
        return [(lo // nmod, lo % nmod, np.arange(key.size))]
    order = pc.array_sort_indices(pa.array(key)).to_numpy().view(np.intp)
    bounds = np.searchsorted(key[order], np.arange(nkeys + 1, dtype=dt))
    return [(k // nmod, k % nmod, order[int(bounds[k]):int(bounds[k + 1])])
            for k in range(nkeys) if bounds[k + 1] > bounds[k]]


class _Counter:
    def __init__(self, inp: Inputs, reported: B, *, estimate: bool,
                 options: Options | None) -> None:
        self.inp = inp
        self.estimate = estimate
        self.options = options or {}
        self.used_options: set[tuple[str, str]] = set()
        # A provider's own count is what it bills: exact, wrappers unknown (null). The
        # product is branch-free: 0 wherever the row is not a ``reported`` one.
        self.tokens = np.multiply(inp.reported, reported, dtype=np.int64)
        self.exact = reported.copy()
        self.wrapper = np.zeros(inp.n, dtype=np.int64)

    def opts(self, name: str, mid: str, modality: str) -> Mapping[str, Any]:
        for key in ((name, modality), (mid, modality)):
            if key in self.options:
                self.used_options.add(key)
                return self.options[key]
        return {}

    def put(self, rows: Any, tokens: Any, wrapper: Any, exact: bool) -> None:
        """Counts of ``rows`` (never reported rows: their ``exact``/``wrapper`` start as
        False/0, so a False or a zero needs no write)."""
        self.tokens[rows] = tokens
        w = np.asarray(wrapper)
        if w.ndim and w.size and w.min() == w.max():  # rules often give one value for all
            w = w.reshape(-1)[0]
        if w.ndim or int(w):
            self.wrapper[rows] = w
        if exact:
            self.exact[rows] = True


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


def _side(v: I64) -> B:
    """1 <= v <= MAX_SIDE, in one comparison (v - 1 wraps below zero as unsigned)."""
    return np.asarray((v - 1).view(np.uint64) < np.uint64(MAX_SIDE), dtype=bool)


def _seconds(v: npt.NDArray[np.float64]) -> B:
    """0 <= v <= MAX_DURATION (NaN compares False)."""
    return np.asarray((v >= 0) & (v <= MAX_DURATION), dtype=bool)


def _video(inp: Inputs, rows: npt.NDArray[np.intp]) -> tuple[B, I64, dict[str, Any]]:
    """Video rows: which the kernels would surely accept (the others go through the scalar
    API), each row's shape (which of duration, frames and fps it gives: 1, 2, 4) and the
    rows' media, gathered once."""
    w, h = inp.width[rows], inp.height[rows]
    d, f, fr = inp.duration[rows], inp.fps[rows], inp.frames[rows]
    has_d, has_f, has_r = inp.duration_ok[rows], inp.frames_ok[rows], inp.fps_ok[rows]
    # Rows without fps, or without both duration and frames, are the rule's to judge:
    # the scalar API says whether it can count them (a generation rule has a native fps).
    ok = inp.width_ok[rows] & inp.height_ok[rows] & _side(w) & _side(h)
    ok &= has_r & (has_d | has_f) & (f > 0) & (f <= MAX_FPS)
    ok &= ~has_d | _seconds(d)
    ok &= ~has_f | ((fr >= 1) & (fr <= _MAX_FRAMES))
    with np.errstate(invalid="ignore", over="ignore"):
        ok &= has_f | (np.rint(np.where(ok, d * f, 0.0)) >= 1)
    shape = has_d.astype(np.int64) + 2 * has_f + 4 * has_r
    return (np.asarray(ok, dtype=bool), shape,
            {"widths": w, "heights": h, "durations": d, "fps": f, "frames": fr})


_NEEDS: dict[str, tuple[str, ...]] = {"image": ("width", "height"),
                                      "video": ("width", "height"), "audio": ("duration",)}


def _one_by_one(c: _Counter, errors: Errors, model: Any, modality: str,
                rows: npt.NDArray[np.intp], opts: Mapping[str, Any]) -> None:
    """Rows the vectorized path does not take: a missing column is named, the rest go
    through the scalar API (its count, or its own error)."""
    inp = c.inp
    present = {"width": inp.width_ok, "height": inp.height_ok, "duration": inp.duration_ok}
    article = "an" if modality[0] in "aeiou" else "a"
    for i in rows.tolist():
        missing = [nm for nm in _NEEDS[modality] if not present[nm][i]]
        if missing:
            errors.add(i, f"{article} {modality} row needs {' and '.join(missing)}")
        else:
            _one(c, errors, model, modality, i, opts)


def _count_media(c: _Counter, errors: Errors, model: Any, modality: str,
                 rows: npt.NDArray[np.intp], opts: Mapping[str, Any]) -> None:
    inp = c.inp
    if modality == "image":
        w, h = inp.width[rows], inp.height[rows]
        good = _side(w) & _side(h) & inp.width_ok[rows] & inp.height_ok[rows]
        if not good.all():
            _one_by_one(c, errors, model, modality, rows[~good], opts)
            rows, w, h = rows[good], w[good], h[good]
        if rows.size:
            _bisect(c, errors, model, modality, rows, opts, {"widths": w, "heights": h})
        return
    if modality == "audio":
        d = inp.duration[rows]
        good = _seconds(d) & inp.duration_ok[rows]
        if not good.all():
            _one_by_one(c, errors, model, modality, rows[~good], opts)
            rows, d = rows[good], d[good]
        if rows.size:
            _bisect(c, errors, model, modality, rows, opts, {"durations": d})
        return
    good, shape, media = _video(inp, rows)
    if not good.all():
        _one_by_one(c, errors, model, modality, rows[~good], opts)
        rows, shape = rows[good], shape[good]
        media = {k: v[good] for k, v in media.items()}
    if not rows.size:
        return
    # One call per shape: which of duration, frames and fps the rows give (a missing
    # one is None, as in count_video; the rule decides what it can do without it).
    for k, pos in groups(shape, np.arange(rows.size)):
        # the usual case is one shape for every row: views, nothing gathered
        sel: Any = slice(None) if pos.size == rows.size else pos
        part = {"widths": media["widths"][sel], "heights": media["heights"][sel],
                "durations": media["durations"][sel] if k & 1 else None,
                "frames": media["frames"][sel] if k & 2 else None,
                "fps": media["fps"][sel] if k & 4 else None}
        _bisect(c, errors, model, modality, rows[sel], opts, part)


def _one(c: _Counter, errors: Errors, model: Any, modality: str, i: int,
         opts: Mapping[str, Any]) -> None:
    try:
        tc = _scalar(model, modality, c.inp, i, opts)
    except TokenmeterError as exc:
        errors.add(i, exc)
        return
    c.put(i, tc.tokens, tc.wrapper_tokens, tc.exact)


def _bisect(c: _Counter, errors: Errors, model: Any, modality: str,
            rows: npt.NDArray[np.intp], opts: Mapping[str, Any],
            kwargs: dict[str, Any]) -> None:
    """Count ``rows`` (their media in ``kwargs``, aligned) in one vectorized call; if it
    raises, halve the range until the rows it rejects are single and go one by one."""
    stack = [(0, rows.size)]
    while stack:
        lo, hi = stack.pop()
        part = {k: (None if v is None else v[lo:hi]) for k, v in kwargs.items()}
        try:
            rule, res = model._evaluate(modality, opts=opts, **part)
        except TokenmeterError:
            if hi - lo == 1:
                _one(c, errors, model, modality, int(rows[lo]), opts)
            else:
                mid = (lo + hi) // 2
                stack += [(mid, hi), (lo, mid)]
            continue
        idx = rows[lo:hi]
        wrap = np.asarray(res.wrapper_tokens, dtype=np.int64)
        c.put(idx, np.asarray(res.tokens, dtype=np.int64).reshape(idx.shape),
              wrap if wrap.ndim == 0 else wrap.reshape(idx.shape),
              bool(res.exact and rule.exact))


def _count_text(c: _Counter, errors: Errors, model: Any, rows: npt.NDArray[np.intp]) -> None:
    text = c.inp.text
    missing = "a text row needs a 'text' value (or 'reported_tokens')"
    if text is None:
        errors.add(rows, missing)
        return
    taken = text.take(pa.array(rows))
    if taken.null_count:
        has = valid(taken)
        errors.add(rows[~has], missing)
        rows = rows[has]
        taken = taken.drop_null()
    if not rows.size:
        return
    try:
        counts = model.text_tokens(taken.to_pylist(), estimate=c.estimate)
    except TokenmeterError as exc:
        errors.add(rows, exc)
        return
    exact = model.tokenizer_name is not None and not c.estimate
    c.put(rows, counts, 0, exact)


def count_rows(inp: Inputs, errors: Errors, *, estimate: bool = False,
               options: Options | None = None,
               model_lookup: Callable[[str], Any] = get_model) -> Counts:
    """Count every row of ``inp``; rows already in ``errors`` are skipped."""
    ok = errors.ok & (inp.model >= 0) & (inp.modality >= 0)
    rep = ok & inp.reported_ok
    neg = np.flatnonzero(rep & (inp.reported < 0))
    for i in neg.tolist():
        errors.add(i, f"reported_tokens must be >= 0, got {int(inp.reported[i])}")
    rep[neg] = False
    c = _Counter(inp, rep, estimate=estimate, options=options)
    models: dict[str, Any] = {}
    for m, mod, rows in _key_groups(inp.model, inp.modality, ok & ~inp.reported_ok):
        name = inp.model_names[m]
        modality = MODALITIES[mod]
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
    good = errors.ok
    if not good.all():
        bad = ~good
        c.tokens[bad] = 0
        c.exact[bad] = False
    # Every row to do was counted or got an error, so the rows with wrapper tokens are
    # the good ones that were not reported.
    wrapper_ok = good & ~inp.reported_ok
    return Counts(inputs=inp, tokens=c.tokens, wrapper=c.wrapper, wrapper_ok=wrapper_ok,
                  exact=c.exact, errors=errors)
