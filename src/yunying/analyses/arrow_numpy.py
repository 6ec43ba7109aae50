"""Arrow columns as numpy arrays without pandas: pyarrow's ``to_numpy`` imports pandas on first use (a third of a
second at a CLI start), so numbers and dates are read from the column's buffers here. Missing values: NaN for
floats (``floats``), refused elsewhere (``ints``, ``days``). tests/analytics/test_arrow_numpy.py checks these
against pyarrow's own ``to_numpy``."""
from __future__ import annotations

import numpy as np

_WIDTH = {"int8": np.int8, "int16": np.int16, "int32": np.int32, "int64": np.int64, "uint8": np.uint8,
          "uint16": np.uint16, "uint32": np.uint32, "uint64": np.uint64, "float": np.float32, "double": np.float64,
          "halffloat": np.float16, "date32[day]": np.int32}



class _MissingIntegers(ValueError):
    """A caller's bug, never the user's data: the queries that feed ``ints`` never give missing values."""

def _array(col):
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _valid(arr) -> np.ndarray | None:
    """True where the value is present (None: every value is)."""
    if arr.null_count == 0:
        return None
    bits = np.frombuffer(arr.buffers()[0], dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little")[arr.offset:arr.offset + len(arr)].astype(bool)


def _values(arr) -> np.ndarray:
    import pyarrow as pa

    t = arr.type
    dtype = np.int64 if pa.types.is_timestamp(t) or pa.types.is_date64(t) or pa.types.is_duration(t) \
        else _WIDTH.get(str(t))
    if dtype is None:
        raise TypeError(f"not a fixed-width number column: {arr.type}")
    if len(arr) == 0:
        return np.zeros(0, dtype=dtype)
    return np.frombuffer(arr.buffers()[1], dtype=dtype, count=len(arr), offset=arr.offset * np.dtype(dtype).itemsize)


def floats(col) -> np.ndarray:
    """A number column as float64, NaN where missing."""
    arr = _array(col)
    if str(arr.type) == "null":
        return np.full(len(arr), np.nan)
    out = _values(arr).astype(np.float64)
    valid = _valid(arr)
    if valid is not None:
        out[~valid] = np.nan
    return out


def ints(col) -> np.ndarray:
    """An integer column without missing values as int64; dates (date32) as days since 1970-01-01, timestamps
    as their integers (in the column's unit since 1970-01-01 00:00)."""
    arr = _array(col)
    if arr.null_count:
        raise _MissingIntegers(f"missing values in an integer column of {len(arr)} rows")
    return _values(arr).astype(np.int64)
