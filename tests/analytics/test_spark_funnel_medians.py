"""The funnel's exact medians from mergeable partials (analyses/funnel_partials.py): log-linear histogram buckets,
then the values of the bucket(s) around the middle (cut into finer bins first when a bucket holds too many),
give numba's ``np.median`` bit for bit - checked on random data with ties, even counts, zeros, wide ranges and
breakdown groups, with a pandas stand-in for the engine's ``binned`` (the Spark one is covered by the parity
tests). Pure Python: no Spark needed."""
from __future__ import annotations

import numba
import numpy as np
import pandas as pd
import pytest

import yunying.analyses.funnel_partials as fp


@numba.njit(cache=False)
def _numba_median(a):
    return np.median(a)


class FakeAgg:
    """``RowAggregates.binned`` over a pandas frame of VALUES rows (kind, attr, i1, i2, v, n)."""

    def __init__(self, values: pd.DataFrame):
        self.values, self.jobs = values, 0

    def binned(self, targets, value, count):
        import pyarrow as pa

        self.jobs += 1
        out = []
        for t in targets:
            df = self.values
            sel = (df[value] >= t["lo"]) & (df[value] < t["hi"])
            for c, vals in t["where"].items():
                sel &= df[c].isin(vals)
            for c, vals in t["exclude"].items():
                sel &= ~df[c].isin(vals)
            g = df[sel].assign(bin=(df[value][sel] - t["lo"]) // t["width"]).groupby("bin")[count].sum()
            out += [{"target": t["id"], "bin": int(b), "n": int(n)} for b, n in g.items()]
        return pa.Table.from_pylist(out, schema=pa.schema([("target", pa.int64()), ("bin", pa.int64()),
                                                            ("n", pa.int64())]))


def partials(d: np.ndarray, attr: np.ndarray, w: int = 1, k: int = 2):
    """HIST and VALUES rows as PartialRows makes them (one chunk)."""
    key, shift = fp.bucket_of(d)
    hist = fp._grouped(fp.HIST, {"attr": attr, "i1": w, "i2": k, "i3": key, "v": shift}, {"n": np.ones(d.size, np.int64)})
    vals = fp._grouped(fp.VALUES, {"attr": attr, "i1": w, "i2": k, "v": d}, {"n": np.ones(d.size, np.int64)})
    return pd.DataFrame(hist), pd.DataFrame(vals)


def test_bucket_of_holds_every_value():
    rng = np.random.default_rng(1)
    v = np.concatenate([np.arange(0, 300), rng.integers(0, 2**52, 20000), 2 ** np.arange(0, 53) - 1,
                        2 ** np.arange(0, 53), (2 ** np.arange(1, 53) + 1)]).astype(np.int64)
    key, shift = fp.bucket_of(v)
    assert ((key << shift) <= v).all() and (v < ((key + 1) << shift)).all()
    assert (key < 2 ** (fp.SUB_BITS + 1)).all()  # at most 2^(SUB_BITS+1) keys per shift: narrow buckets


@pytest.mark.parametrize("limit", [16_384, 1])
def test_exact_medians_equal_numba(monkeypatch, limit):
    monkeypatch.setattr(fp, "VALUES_LIMIT", limit)  # 1: every bucket of 2+ values is cut into finer bins first
    monkeypatch.setattr(fp, "BINS", 7 if limit == 1 else fp.BINS)
    rng = np.random.default_rng(3)
    cases = [rng.integers(0, 7 * 86_400_000_000, 1001),           # odd
             rng.integers(0, 7 * 86_400_000_000, 1000),           # even
             np.repeat(rng.integers(0, 10, 5), 40),                # heavy ties, tiny values
             np.array([0, 0, 1, 3_000_000_000_001]),               # zeros and a wide range, even
             np.array([123456789])]                                # one value
    for d in cases:
        d = d.astype(np.int64)
        attr = rng.choice(np.array(["a", "b", "c", "d"], object), d.size)
        hist, vals = partials(d, attr)
        agg = FakeAgg(vals)
        top = ["a", "b"]
        got = fp.exact_medians(agg, hist, [(None, 1, 2), ("a", 1, 2), (fp.OTHER, 1, 2)], top)
        assert got[(None, 1, 2)] == _numba_median(d)
        assert got.get(("a", 1, 2)) == (_numba_median(d[attr == "a"]) if (attr == "a").any() else None)
        other = ~np.isin(attr, top)
        assert got.get((fp.OTHER, 1, 2)) == (_numba_median(d[other]) if other.any() else None)
        if limit == 1 and d.size > 900:  # wide random values: buckets of many values
            assert agg.jobs >= 2  # a cut into finer bins, then the values (the first read is 1 pass)
