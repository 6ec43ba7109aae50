"""The hand-worked examples of docs/campaigns.md are what the code computes."""
from __future__ import annotations

from pathlib import Path

import pytest

from yunying.analyses.campaigns import review_table
from yunying.stats.causal import did_panel

DOC = (Path(__file__).resolve().parents[2] / "docs" / "campaigns.md").read_text(encoding="utf-8").replace("−", "-")


def test_table_mode_example_numbers():
    from test_campaign_table import HAND

    out = review_table(HAND, unit="user", group="group", control="holdout", metrics=["purchased"],
                       revenue="revenue", cost_per_contact=0.5, margin=0.4)
    e = out["groups"][1]
    m = e["metrics"][0]
    assert f"**{m['incremental_total']:.1f} extra purchases**" in DOC
    assert f"**{e['cost']:.2f}**" in DOC and f"**{e['incremental_revenue']:.2f}**" in DOC
    assert f"**{e['roi']['value']:.2f}** (+{100 * e['roi']['value']:.0f} %)" in DOC
    lo, hi = e["roi"]["ci"]
    assert f"= [{lo:.2f}, {hi:.2f}]" in DOC
    rlo, rhi = e["incremental_revenue_ci"]
    assert f"(interval [{rlo:.2f}, {rhi:.2f}])" in DOC
    assert f"+{100 * m['lift_rel']:.1f} %" in DOC


def test_did_example_numbers():
    r = did_panel([[10, 14], [12, 18], [8, 9], [6, 9]], [True, True, False, False], [False, True])
    assert f"**β = {r.estimate:.0f}**" in DOC
    assert f"√2 = {r.se:.3f}" in DOC
    assert f"t = {r.t_stat:.2f}, p = {r.p_value:.2f}" in DOC
    assert f"[{r.ci[0]:.2f}, {r.ci[1]:.2f}]" in DOC
    assert r.evidence == "weak" and 'evidence "weak"' in DOC


@pytest.mark.parametrize("section", ["## Per-unit table mode", "### Definitions (口徑)", "### Hand-worked example",
                                     "### How strong is the evidence", "### Published results"])
def test_sections_exist(section):
    assert section in DOC
