"""Published Cookie Cats figures from the committed sufficient statistics (tests/fixtures), so the
published-figure checks cannot vanish when ../shared is absent; and the fixture checked against the file."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from yunying.stats import FrequentistSettings, ProportionStats, compare, srm_test

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "cookie_cats_sufficient.json"
PUBLISHED = {  # ../shared/datasets/README.md
    "retention_1": {"rates": (0.4482, 0.4423), "z": 1.7841, "p": 0.0744, "ci_pp": (-1.24, 0.06)},
    "retention_7": {"rates": (0.1902, 0.1820), "z": 3.1644, "p": 0.0016, "ci_pp": (-1.33, -0.31)},
}


@pytest.fixture(scope="module")
def arms():
    return json.loads(FIXTURE.read_text())["arms"]


@pytest.mark.parametrize("metric", sorted(PUBLISHED))
def test_published_z_p_ci_from_fixture(arms, metric):
    pub = PUBLISHED[metric]
    a = ProportionStats(arms["gate_30"]["n"], arms["gate_30"][metric])
    b = ProportionStats(arms["gate_40"]["n"], arms["gate_40"][metric])
    assert (round(a.mean, 4), round(b.mean, 4)) == pub["rates"]
    r = compare(a, b, FrequentistSettings())
    assert round(-r.statistic, 4) == pub["z"]  # published z is control minus treatment
    assert round(r.p_value, 4) == pub["p"]
    lo, hi = r.ci_abs
    assert (round(100 * lo, 2), round(100 * hi, 2)) == pub["ci_pp"]


def test_published_srm_from_fixture(arms):
    r = srm_test([arms["gate_30"]["n"], arms["gate_40"]["n"]], [50, 50])
    assert (round(r.chi2, 4), round(r.p_value, 4)) == (6.9024, 0.0086)


def test_fixture_matches_the_dataset(cookie_cats, arms):
    for version, g in cookie_cats.groupby("version"):
        arm = arms[version]
        assert arm["n"] == len(g)
        assert arm["retention_1"] == int(g.retention_1.astype(int).sum())
        assert arm["retention_7"] == int(g.retention_7.astype(int).sum())
        assert arm["sum_gamerounds"] == int(g.sum_gamerounds.sum())
        assert arm["sum_gamerounds_squares"] == int((g.sum_gamerounds.astype("int64") ** 2).sum())
