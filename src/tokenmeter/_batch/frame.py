"""Tables in, tables out: the containers :mod:`tokenmeter.batch` takes, read as Arrow.

Every container is read into Arrow arrays of the input columns only (other columns are
carried through untouched), and the results are written back into a container of the
kind that came in: a pyarrow ``Table`` or ``RecordBatch`` gets new columns, a pandas
``DataFrame`` gets Arrow-backed columns (``int64[pyarrow]``, ``decimal128(38, 18)[pyarrow]``
…) on the same index, a Polars ``DataFrame`` gets native columns, and a dict of numpy
arrays gets numpy arrays (masked arrays where a value can be missing, ``Decimal``
objects for money).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]

from ..errors import InvalidInputError

__all__ = [
    "AMOUNT_TYPE",
    "COUNT_COLUMNS",
    "INPUT_COLUMNS",
    "PRICE_COLUMNS",
    "Frame",
    "column",
    "floats",
    "ints",
    "read",
    "strings",
    "timestamps",
    "valid",
    "write",
]

#: Columns read from the input; any may be absent (read as all null) except ``model``
#: and ``modality``.
INPUT_COLUMNS = ("model", "modality", "width", "height", "duration", "fps", "frames", "text",
                 "reported_tokens", "direction", "timestamp")
COUNT_COLUMNS = ("tokens", "wrapper_tokens", "exact", "error")
PRICE_COLUMNS = ("amount", "amount_rounded", "currency")
#: Money: exact decimals with 18 places (Spark's and Arrow's usual wide decimal). A value
#: that needs more places, or more than 20 integer digits, is a row error, never rounded.
AMOUNT_TYPE = pa.decimal128(38, 18)

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


@dataclass(slots=True)
class Frame:
    """An input table, read.

    Attributes:
        kind: ``"table"``, ``"batch"``, ``"pandas"``, ``"polars"`` or ``"dict"``.
        original: the object given.
        columns: the input columns present, as Arrow arrays (one chunk each).
        n: the number of rows.
    """

    kind: str
    original: Any
    columns: dict[str, pa.Array]
    n: int


def _one_chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def read(table: Any, outputs: tuple[str, ...]) -> Frame:
    """Read ``table``'s input columns; refuse a table that already has an output column."""
    module = type(table).__module__.split(".")[0]
    if isinstance(table, (pa.Table, pa.RecordBatch)):
        names = list(table.schema.names)
        kind = "table" if isinstance(table, pa.Table) else "batch"
        cols = {c: _one_chunk(table.column(c)) for c in INPUT_COLUMNS if c in names}
        n = table.num_rows
    elif module == "pandas" and type(table).__name__ == "DataFrame":
        names = [str(c) for c in table.columns]
        kind = "pandas"
        # from_pandas: NaN/NaT/None are missing values, as pandas means them.
        cols = {c: _one_chunk(pa.array(table[c], from_pandas=True))
                for c in INPUT_COLUMNS if c in names}
        n = len(table)
    elif module == "polars" and type(table).__name__ == "DataFrame":
        names = list(table.columns)
        kind = "polars"
        present = [c for c in INPUT_COLUMNS if c in names]
        arrow = table.select(present).to_arrow() if present else None
        cols = {c: _one_chunk(arrow.column(c)) for c in present} if arrow is not None else {}
        n = table.height
    elif isinstance(table, Mapping):
        names = [str(c) for c in table]
        kind = "dict"
        cols = {}
        lengths = set()
        for c in INPUT_COLUMNS:
            if c in table:
                v = table[c]
                if isinstance(v, np.ma.MaskedArray):
                    mask = np.ma.getmaskarray(v)  # type: ignore[no-untyped-call]
                    arr = pa.array(v.data, mask=mask, from_pandas=True)
                else:
                    arr = pa.array(v, from_pandas=True)
                cols[c] = _one_chunk(arr)
                lengths.add(len(arr))
        for v in table.values():
            lengths.add(len(v))
        if len(lengths) > 1:
            raise InvalidInputError(f"the columns differ in length: {sorted(lengths)}")
        n = lengths.pop() if lengths else 0
    else:
        raise InvalidInputError(
            f"count_table/price_table take a pyarrow Table or RecordBatch, a pandas or Polars "
            f"DataFrame, or a dict of numpy arrays; got {type(table).__name__}")
    clash = [c for c in outputs if c in names]
    if clash:
        raise InvalidInputError(
            f"the input already has column(s) {clash}, which would be overwritten; drop or "
            "rename them first")
    for need in ("model", "modality"):
        if need not in cols:
            raise InvalidInputError(
                f"the input has no {need!r} column; columns: {', '.join(names) or 'none'}")
    return Frame(kind=kind, original=table, columns=cols, n=n)


def write(frame: Frame, outputs: dict[str, pa.Array]) -> Any:
    """``frame``'s container with ``outputs`` added as new columns, input order kept."""
    orig = frame.original
    if frame.kind == "table":
        out = orig
        for name, arr in outputs.items():
            out = out.append_column(name, arr)
        return out
    if frame.kind == "batch":
        return pa.RecordBatch.from_arrays(
            [*orig.columns, *outputs.values()], names=[*orig.schema.names, *outputs])
    if frame.kind == "pandas":
        import pandas as pd  # type: ignore[import-untyped]

        new = {name: pd.Series(pd.arrays.ArrowExtensionArray(arr), index=orig.index)
               for name, arr in outputs.items()}
        return orig.assign(**new)
    if frame.kind == "polars":
        import polars as pl

        return orig.with_columns([pl.Series(name, arr) for name, arr in outputs.items()])
    out_dict = dict(orig)
    for name, arr in outputs.items():
        out_dict[name] = _to_numpy(arr)
    return out_dict


def column(values: npt.NDArray[Any], valid: B | None = None) -> pa.Array:
    """An int64 or bool numpy array as an Arrow array, null where ``valid`` is False.

    Built from buffers: the int64 values are shared, not copied, and the validity bitmap
    (and a bool array's bits) are packed by numpy in one pass each.
    """
    n = values.size
    bitmap, nulls = None, 0
    if valid is not None:
        nulls = n - int(np.count_nonzero(valid))
        if nulls:
            bitmap = pa.py_buffer(np.packbits(valid, bitorder="little"))
    if values.dtype == np.bool_:
        typ, data = pa.bool_(), pa.py_buffer(np.packbits(values, bitorder="little"))
    else:
        typ, data = pa.int64(), pa.py_buffer(np.ascontiguousarray(values, dtype=np.int64))
    return pa.Array.from_buffers(typ, n, [bitmap, data], null_count=nulls)


def _to_numpy(arr: pa.Array) -> Any:
    t = arr.type
    if pa.types.is_integer(t) or pa.types.is_boolean(t):
        mask = arr.is_null().to_numpy(zero_copy_only=False)
        fill = False if pa.types.is_boolean(t) else 0
        data = arr.fill_null(fill).to_numpy(zero_copy_only=False)
        return np.ma.MaskedArray(data, mask=mask)  # type: ignore[no-untyped-call]
    # strings and decimals: objects, None where missing (Decimal, never float, for money)
    return np.asarray(arr.to_pylist(), dtype=object)


# -- column readers ---------------------------------------------------------------------

def _type_name(arr: pa.Array) -> str:
    return str(arr.type)


def _is_str(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t)
                or pa.types.is_string_view(t))


def valid(arr: pa.Array) -> B:
    """True where ``arr`` has a value: its validity bitmap unpacked (one pass, no Arrow
    kernel), or all True when it has no nulls."""
    n = len(arr)
    if arr.null_count == 0:
        return np.ones(n, dtype=bool)
    if pa.types.is_null(arr.type):
        return np.zeros(n, dtype=bool)
    bitmap = arr.buffers()[0]
    if bitmap is None:  # pragma: no cover - a type whose nulls are not in a bitmap
        return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), dtype=bool)
    bits = np.frombuffer(bitmap, dtype=np.uint8)
    out = np.unpackbits(bits, count=arr.offset + n, bitorder="little")[arr.offset:]
    return out.view(np.bool_)


def _values(arr: pa.Array) -> Any:
    """An integer or float64 array's values as int64 or float64, read from the data
    buffer as they lie: no copy for int64/float64, and no Arrow ``fill_null`` pass. What
    sits under a null is undefined in Arrow (often the value a masked numpy array held):
    callers read a value only where the row's ``present`` flag is True."""
    if arr.null_count == 0:
        vals = arr.to_numpy(zero_copy_only=False)
        if vals.dtype.kind == "f":
            return np.ascontiguousarray(vals, dtype=np.float64)
        return vals.astype(np.int64, copy=False)
    data = arr.buffers()[1]
    if data is None:  # pragma: no cover - Arrow allocates a data buffer for these types
        return _values(arr.fill_null(0.0 if pa.types.is_floating(arr.type) else 0))
    dtype = np.dtype(arr.type.to_pandas_dtype())
    raw = np.frombuffer(data, dtype=dtype)[arr.offset:arr.offset + len(arr)]
    return raw.astype(np.float64 if dtype.kind == "f" else np.int64, copy=False)


def strings(name: str, arr: pa.Array | None, n: int) -> tuple[npt.NDArray[np.int32], list[str]]:
    """Dictionary codes of a string column: ``(codes, values)``, code -1 where null."""
    if arr is None or pa.types.is_null(arr.type):
        return np.full(n, -1, dtype=np.int32), []
    if pa.types.is_dictionary(arr.type) and _is_str(arr.type.value_type):
        # Already encoded (Parquet, Polars categoricals, pandas categories): use its codes,
        # merging any repeated dictionary values into one code.
        values = [str(v) for v in arr.dictionary.to_pylist()]
        uniq = list(dict.fromkeys(values))
        indices = arr.indices
        if len(uniq) == len(values) and indices.null_count == 0:
            # The usual case: the codes are the indices themselves (no copy for int32).
            return indices.to_numpy(zero_copy_only=False).astype(np.int32, copy=False), uniq
        remap = np.array([uniq.index(v) for v in values] + [-1], dtype=np.int32)
        idx = indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        return remap[idx], uniq
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_string())
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        raise InvalidInputError(f"column {name!r} must hold strings, got {_type_name(arr)}")
    enc = pc.dictionary_encode(arr)
    codes = enc.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int32, copy=False)
    return codes, [str(v) for v in enc.dictionary.to_pylist()]


def ints(name: str, arr: pa.Array | None, n: int) -> tuple[I64, B, B]:
    """An integer column as ``(values, present, bad)``.

    ``present`` is False where the value is missing (the value there is undefined: never
    read it). Integral floats are read as integers (a pandas integer column with a missing
    value becomes float64); ``bad`` marks the present values that are not whole numbers or
    do not fit in int64 (values 0 there).
    """
    none = np.zeros(n, dtype=bool)
    if arr is None or pa.types.is_null(arr.type):
        return np.zeros(n, dtype=np.int64), none, none
    t = arr.type
    present = valid(arr)
    if pa.types.is_integer(t):
        if pa.types.is_unsigned_integer(t) and t.bit_width == 64:
            raw = arr.fill_null(0).to_numpy(zero_copy_only=False)
            bad = present & (raw > np.uint64(2**63 - 1))
            vals = np.where(bad, np.uint64(0), raw).astype(np.int64)
            return vals, present, bad
        return _values(arr), present, none
    if pa.types.is_floating(t):
        f = arr.cast(pa.float64()).fill_null(0.0).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(f) & (np.floor(f) == f) & (np.abs(f) < 2.0**63)
        bad = present & ~ok
        vals = np.where(ok, f, 0.0).astype(np.int64)
        return vals, present, bad
    raise InvalidInputError(f"column {name!r} must hold integers, got {_type_name(arr)}")


def floats(name: str, arr: pa.Array | None, n: int) -> tuple[F64, B]:
    """A numeric column as float64 ``(values, present)`` (NaN stays a value: it is invalid;
    where ``present`` is False the value is undefined: never read it)."""
    if arr is None or pa.types.is_null(arr.type):
        return np.zeros(n, dtype=np.float64), np.zeros(n, dtype=bool)
    t = arr.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t)):
        raise InvalidInputError(f"column {name!r} must hold numbers, got {_type_name(arr)}")
    present = valid(arr)
    if pa.types.is_float64(t):
        return _values(arr), present
    vals = arr.cast(pa.float64(), safe=False).fill_null(0.0).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(vals, dtype=np.float64), present


def timestamps(arr: pa.Array | None, n: int) -> tuple[I64, B]:
    """A timezone-aware timestamp column as ``(UTC microseconds, present)``.

    Instants are read to the microsecond (what Python's ``datetime`` holds), flooring
    any nanoseconds. A column without a time zone is refused: a naive time cannot be
    placed in a price book's time zone.
    """
    if arr is None or pa.types.is_null(arr.type):
        return np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)
    t = arr.type
    if not pa.types.is_timestamp(t):
        raise InvalidInputError(
            f"column 'timestamp' must be a timestamp type with a time zone, got {t}")
    if t.tz is None:
        raise InvalidInputError(
            "column 'timestamp' has no time zone; a naive time cannot be placed in a price "
            "book's time zone. Localize it first (pandas: s.dt.tz_localize('UTC'); Polars: "
            "s.dt.replace_time_zone('UTC'); Arrow: timestamp('us', tz='UTC')).")
    present = ~arr.is_null().to_numpy(zero_copy_only=False)
    raw = arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    per_us = {"s": None, "ms": None, "us": 1, "ns": 1000}[t.unit]
    if t.unit == "s":
        us = raw * 1_000_000
    elif t.unit == "ms":
        us = raw * 1000
    else:
        us = raw // (per_us or 1)
    return us, present


def to_datetime(us: int) -> dt.datetime:
    """UTC microseconds since the epoch as an aware ``datetime``."""
    return _EPOCH + dt.timedelta(microseconds=int(us))
