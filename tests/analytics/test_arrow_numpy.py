"""Arrow columns read as numpy from their buffers (analyses/arrow_numpy.py) equal pyarrow's own ``to_numpy``:
chunked, sliced (an offset into the buffers), with missing values, every fixed-width number type, dates."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pytest

from yunying.analyses.arrow_numpy import floats, ints


def _sliced(values, typ):
    whole = pa.array(values, type=typ)
    return pa.chunked_array([whole.slice(3, 7), whole.slice(10)])  # offsets into one buffer, two chunks


@pytest.mark.parametrize("typ", [pa.int8(), pa.int32(), pa.int64(), pa.uint16(), pa.float32(), pa.float64()])
def test_floats_equal_pyarrow(typ):
    rng = np.random.default_rng(3)
    values = [None if rng.random() < 0.3 else int(rng.integers(0, 100)) for _ in range(40)]
    col = _sliced(values, typ)
    exp = col.to_numpy().astype(np.float64)  # pyarrow: NaN for the missing ones
    got = floats(col)
    assert np.isnan(got).sum() == sum(v is None for v in values[3:10] + values[10:]) > 0
    np.testing.assert_array_equal(got, exp)


def test_ints_and_dates_equal_pyarrow():
    days = [dt.date(1969, 12, 30) + dt.timedelta(days=int(d)) for d in np.random.default_rng(4).integers(0, 30000, 50)]
    col = _sliced(days, pa.date32())
    exp = col.to_numpy().astype("datetime64[D]").astype(np.int64)
    np.testing.assert_array_equal(ints(col), exp)
    assert ints(col)[0] == (days[3] - dt.date(1970, 1, 1)).days
    np.testing.assert_array_equal(ints(pa.chunked_array([pa.array([5, -2, 7], pa.int64())])), [5, -2, 7])


def test_missing_integer_refused_empty_and_null_columns():
    with pytest.raises(ValueError):
        ints(pa.array([1, None], pa.int64()))
    assert floats(pa.array([], pa.float64())).size == 0
    assert np.isnan(floats(pa.array([None, None]))).all()
    with pytest.raises(TypeError):
        floats(pa.array(["a"]))


def test_timestamps_as_their_integers():
    ts = [dt.datetime(2026, 5, 1, 10, 0, 0, 123456) + dt.timedelta(minutes=int(m)) for m in range(0, 900, 37)]
    col = _sliced(ts, pa.timestamp("us"))
    np.testing.assert_array_equal(ints(col), col.to_numpy().astype("datetime64[us]").astype(np.int64))
