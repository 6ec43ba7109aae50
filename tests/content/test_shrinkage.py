"""stats/shrinkage.py: the published Efron & Morris example, an independent likelihood, and a simulation."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import optimize, stats

from yunying.errors import YunyingError
from yunying.stats.shrinkage import fit_beta_prior, james_stein, posterior

FIXTURE = Path(__file__).parents[1] / "fixtures" / "efron_morris_1975.json"


def test_james_stein_reproduces_efron_morris():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    n = data["at_bats"]
    hits = np.array([p["hits"] for p in data["players"]])
    y = hits / n
    assert np.allclose(np.round(y, 3), [p["average"] for p in data["players"]])
    ybar = y.mean()
    out = james_stein(y, ybar * (1 - ybar) / n)
    assert round(out["grand_mean"], 3) == data["published_grand_mean"]
    assert round(out["shrinkage_factor"], 3) == data["published_shrinking_factor"]
    published = np.array([p["james_stein"] for p in data["players"]])
    # the published table rounds to three decimals (and starts from averages rounded to three decimals)
    assert np.max(np.abs(out["estimates"] - published)) <= 0.0011
    # and the famous point: the shrunk estimates predict the rest of the season better than the raw averages
    truth = np.array([p["rest_of_season"] for p in data["players"]])
    assert np.sum((out["estimates"] - truth) ** 2) < np.sum((y - truth) ** 2) / 3


def test_beta_binomial_on_baseball_shrinks_like_james_stein():
    data = json.loads(FIXTURE.read_text(encoding="utf-8"))
    hits = np.array([p["hits"] for p in data["players"]])
    n = np.full(hits.size, data["at_bats"])
    prior = fit_beta_prior(hits, n, "mle")
    post = posterior(hits, n, prior)
    js = james_stein(hits / n, (hits.sum() / n.sum()) * (1 - hits.sum() / n.sum()) / n[0])
    # both pull every average most of the way to the grand mean
    assert prior.mean == pytest.approx(js["grand_mean"], abs=1e-3)
    weight_on_data = 1 - post["prior_weight"][0]
    assert 0 < weight_on_data <= js["shrinkage_factor"] + 0.05     # the marginal MLE shrinks at least as hard
    truth = np.array([p["rest_of_season"] for p in data["players"]])
    assert np.sum((post["mean"] - truth) ** 2) < np.sum((hits / n - truth) ** 2) / 3


def _independent_mle(k, n):
    """The marginal likelihood with scipy's beta-binomial pmf, maximised by Nelder-Mead (a second implementation)."""
    def nll(t):
        a, b = np.exp(t)
        return -np.sum(stats.betabinom.logpmf(k, n, a, b))
    res = optimize.minimize(nll, np.log([2.0, 50.0]), method="Nelder-Mead",
                            options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 20000})
    return np.exp(res.x)


def test_mle_matches_scipy_betabinom_likelihood():
    rng = np.random.default_rng(3)
    n = rng.integers(50, 3000, 150)
    p = rng.beta(4.0, 120.0, 150)
    k = rng.binomial(n, p)
    prior = fit_beta_prior(k, n, "mle")
    a, b = _independent_mle(k, n)
    assert prior.a / (prior.a + prior.b) == pytest.approx(a / (a + b), rel=1e-3)
    assert prior.weight == pytest.approx(a + b, rel=2e-2)


def test_simulation_shrunk_beats_raw_and_intervals_cover():
    rng = np.random.default_rng(11)
    g = 400
    n = np.concatenate([rng.integers(20, 200, g // 2), rng.integers(2000, 20000, g // 2)])
    p = rng.beta(3.0, 150.0, g)
    k = rng.binomial(n, p)
    for method in ("mle", "mom"):
        prior = fit_beta_prior(k, n, method)
        assert prior.mean == pytest.approx(3 / 153, rel=0.15)
        post = posterior(k, n, prior, level=0.9)
        assert np.mean((post["mean"] - p) ** 2) < 0.7 * np.mean((post["raw"] - p) ** 2)
        cover = np.mean((post["lo"] <= p) & (p <= post["hi"]))
        assert 0.85 <= cover <= 0.95, (method, cover)
        # few reads: pulled hard; many: hardly
        assert post["prior_weight"][: g // 2].mean() > 0.4 > 0.05 > post["prior_weight"][g // 2:].mean()


def test_hand_worked_posterior():
    # prior Beta(2, 98) (mean 2 %, weight 100); 30 reads and 3 follows -> Beta(5, 125), mean 5/130
    from yunying.stats.shrinkage import BetaPrior

    post = posterior([3, 300], [30, 30000], BetaPrior(2.0, 98.0, "given", 0))
    assert post["mean"][0] == pytest.approx(5 / 130)
    assert post["mean"][1] == pytest.approx(302 / 30100)
    assert post["lo"][0] == pytest.approx(stats.beta.ppf(0.05, 5, 125))


def test_bad_input():
    with pytest.raises(YunyingError, match="successes <= trials"):
        fit_beta_prior([5], [3])
    with pytest.raises(YunyingError, match="no piece"):
        fit_beta_prior([0], [0])
    with pytest.raises(YunyingError, match="at least 4"):
        james_stein([0.1, 0.2], 0.01)
