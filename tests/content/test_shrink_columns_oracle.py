"""Issue 13: ``shrink`` fills its rate columns by position and sets each once; the previous path set them group
by group with ``.loc`` (kept here as the oracle). Both give the same frame, to the bit, and the same priors on random
piece tables: groups without readers, missing groups, every baseline and both fitting methods."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from yunying.analyses.content import ContentSpec
from yunying.analyses.content.data import group_key
from yunying.analyses.content.funnel import RATES, shrink
from yunying.stats.shrinkage import fit_beta_prior, posterior


def _shrink_loc(df: pd.DataFrame, spec) -> tuple[pd.DataFrame, dict]:
    """The previous implementation (before issue 13's change), a ``.loc`` per group and column."""
    df = df.copy()
    df["baseline_group"] = group_key(df, spec.baseline)
    priors: dict = {}
    n_all = df["readers"].fillna(0).to_numpy(float)
    for rate, count in RATES.items():
        k_all = np.minimum(df[count].fillna(0).to_numpy(float), n_all)
        for col in ("", "_shrunk", "_lo", "_hi", "_baseline"):
            df[rate + col] = np.nan
        for g, idx in df.groupby("baseline_group").indices.items():
            k, n = k_all[idx], n_all[idx]
            if not (n > 0).any():
                continue
            prior = fit_beta_prior(k, n, spec.method)
            post = posterior(k, n, prior, spec.level)
            rows = df.index[idx]
            df.loc[rows, rate] = post["raw"]
            df.loc[rows, rate + "_shrunk"] = post["mean"]
            df.loc[rows, rate + "_lo"] = post["lo"]
            df.loc[rows, rate + "_hi"] = post["hi"]
            df.loc[rows, rate + "_baseline"] = prior.mean
            priors.setdefault(g, {})[rate] = prior.to_dict()
    return df, priors


def _pieces(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    readers = rng.integers(0, 5000, n)
    readers[rng.random(n) < 0.15] = 0
    rate = rng.beta(2, 40, n)
    accounts = rng.choice(["a", "b", "c", "d"], n).astype(object)
    accounts[rng.random(n) < 0.1] = None
    readers[accounts == "d"] = 0  # a group without a reader: its rates stay missing
    return pd.DataFrame({
        "content_id": [f"c{i:02d}" for i in range(n)], "readers": readers,
        "followers": rng.binomial(readers, rate), "sharers": rng.binomial(readers, rate / 2),
        "converters": rng.binomial(readers, rate / 5), "account": accounts,
        "topic": rng.choice(["x", "y"], n)})


@pytest.mark.parametrize("seed", range(16))
def test_shrink_is_the_loc_path(seed):
    df = _pieces(seed)
    spec = ContentSpec.build(baseline=["account", "topic", "all", "platform"][seed % 4],
                             method="mom" if seed % 5 == 4 else "mle", level=[0.9, 0.8, 0.95][seed % 3])
    got, priors = shrink(df, spec)
    ref, ref_priors = _shrink_loc(df, spec)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert priors == ref_priors
    assert got["follow_rate_shrunk"].notna().any() == (df.readers > 0).any()
