"""Issue 13: ``shrink`` fits its priors with SciPy's OpenBLAS on one thread (its threads cost 4-7 times the CPU on
the fits' 2-vectors). The fits and intervals are the same as with OpenBLAS's own thread count, on random piece
tables, and the limit is in force while the priors are fitted and lifted afterwards."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.optimize  # noqa: F401  (its OpenBLAS loaded, so threadpoolctl sees it)
from threadpoolctl import threadpool_info, threadpool_limits

from yunying.analyses.content import ContentSpec
from yunying.analyses.content import funnel


def _pieces(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 60))
    readers = rng.integers(0, 5000, n)
    readers[rng.random(n) < 0.1] = 0
    rate = rng.beta(2, 40, n)
    return pd.DataFrame({
        "content_id": [f"c{i}" for i in range(n)], "readers": readers,
        "followers": rng.binomial(readers, rate), "sharers": rng.binomial(readers, rate / 2),
        "converters": rng.binomial(readers, rate / 5),
        "account": rng.choice(["a", "b", "c", None], n), "topic": rng.choice(["x", "y"], n)})


def _blas_threads() -> list[int]:
    return [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]


@pytest.mark.parametrize("seed", range(12))
def test_one_blas_thread_fits_the_same(seed):
    df = _pieces(seed)
    spec = ContentSpec.build(baseline=["account", "topic", "all"][seed % 3], method=["mle", "mom"][seed % 4 == 3])
    with threadpool_limits(4, user_api="blas"):  # OpenBLAS with several threads: the path before the limit
        ref, ref_priors = funnel._shrink(df, spec)
    got, priors = funnel.shrink(df, spec)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert priors == ref_priors


def test_the_limit_holds_while_fitting_only(monkeypatch):
    seen = []
    fit = funnel.fit_beta_prior
    monkeypatch.setattr(funnel, "fit_beta_prior", lambda *a: seen.append(_blas_threads()) or fit(*a))
    with threadpool_limits(3, user_api="blas"):
        funnel.shrink(_pieces(1), ContentSpec.build())
        assert set(_blas_threads()) == {3}
    assert seen and all(t and set(t) == {1} for t in seen), seen
