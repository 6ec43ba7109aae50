"""The spend-joined channel table against a direct pandas computation on random data."""
from __future__ import annotations

import math

import pandas as pd
import pytest

from acq_helpers import build_workspace, day, oracle_channels
from util import assert_same_rows

CMAP = {"baidu": "search"}
TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def rand(tmp_path_factory):
    ws, ev, sp = build_workspace(tmp_path_factory.mktemp("acq_oracle"), seed=11, n_users=260, timezone=TZ)
    yield ws, ev, sp
    ws.close()


def _close(a, b, rel=1e-9, abs_=1e-6):
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    if b is None or (isinstance(b, float) and math.isnan(b)):
        return False
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=abs_)


COLS = ["spend", "impressions", "reads", "clicks", "ctr", "cpc", "registrations", "cost_per_registration",
        "activated", "paying_users", "cost_per_paying_user", "first_purchase_revenue", "revenue", "roas"]


def _compare(res, expected, keycols, cols=COLS):
    got = {tuple(r[c] for c in keycols): r for r in res.to_dict()["rows"]}
    exp = {tuple(r[c] for c in keycols): r for r in expected.to_dict(orient="records")}
    assert set(got) == set(exp)
    for k, e in exp.items():
        g = got[k]
        for c in cols:
            assert _close(g[c], e[c]), (k, c, g[c], e[c])


@pytest.mark.parametrize("model", ["first", "last", "linear"])
def test_channels_match_pandas(rand, model):
    from yunying.analyses.acquisition import channels

    ws, ev, sp = rand
    res = channels(ws.engine, attribution=model, channel_map=CMAP)
    exp = oracle_channels(ev, sp, tz=TZ, model=model, cmap=CMAP)
    _compare(res, exp, ["channel"], COLS + (["payback_days"] if model == "first" else []))
    rows = res.to_dict()["rows"]
    # every signed-up user is credited exactly once in total; none dropped
    n_signups = ev[ev["event"] == "signup"]["user_id"].nunique()
    assert sum(r["registrations"] for r in rows) == pytest.approx(n_signups)
    assert any(r["channel"] == "direct/unknown" for r in rows)


def test_period_and_placement_match_pandas(rand):
    from yunying.analyses.acquisition import channels

    ws, ev, sp = rand
    f, t = day("2026-06-05"), day("2026-06-12")
    res = channels(ws.engine, by="placement", date_from=f, date_to=t, channel_map=CMAP)
    exp = oracle_channels(ev, sp, tz=TZ, by="placement", date_from=f, date_to=t, cmap=CMAP)
    _compare(res, exp, ["channel", "placement"])
    data = res.to_dict()
    assert data["period"]["from"] == "2026-06-05" and data["currency"] == "CNY"
    # wechat has spend but no users: cost ratios are n/a, never inf or NaN
    wx = [r for r in data["rows"] if r["channel"] == "wechat"]
    assert wx and all(r["registrations"] == 0 and r["cost_per_registration"] is None
                      and r["cost_per_paying_user"] is None for r in wx)
    free = [r for r in data["rows"] if r["spend"] == 0 and r["registrations"] > 0]
    # no spend recorded: no cost per user either (null, shown "—"), never a cost of 0
    assert free and all(r["roas"] is None and r["cost_per_registration"] is None
                        and r["cost_per_paying_user"] is None for r in free)


def test_campaign_key_and_mapping_rule(rand):
    from yunying.analyses.acquisition import channels

    ws, ev, sp = rand
    res = channels(ws.engine, by="campaign", channel_map=CMAP)
    exp = oracle_channels(ev, sp, tz=TZ, by="campaign", cmap=CMAP)
    _compare(res, exp, ["channel", "campaign"])
    # without the mapping, utm_source-only touches stay under their own key "baidu" (no spend)
    raw = {r["channel"]: r for r in channels(ws.engine).to_dict()["rows"]}
    assert "baidu" in raw and raw["baidu"]["spend"] == 0


def test_weekly_grain_adds_up(rand):
    from yunying.analyses.acquisition import channels

    ws, ev, sp = rand
    whole = {r["channel"]: r for r in channels(ws.engine, channel_map=CMAP).to_dict()["rows"]}
    weekly = channels(ws.engine, interval="week", channel_map=CMAP).to_dict()["rows"]
    assert all(pd.Timestamp(r["period"]).weekday() == 0 for r in weekly)
    for ch, r in whole.items():
        parts = [w for w in weekly if w["channel"] == ch]
        for c in ("registrations", "paying_users", "revenue"):
            assert sum(p[c] for p in parts) == pytest.approx(r[c])
    # weekly spend covers only weeks with spend or signups; all spend rows are in some week
    assert sum(w["spend"] for w in weekly) == pytest.approx(sp["cost"].sum())


def test_revenue_conserved_across_models(rand):
    from yunying.analyses.acquisition import attribution

    ws, ev, sp = rand
    res = attribution(ws.engine, channel_map=CMAP)
    df = res.to_pandas()
    n = ev[ev["event"] == "signup"]["user_id"].nunique()
    revs = [df[f"revenue_{m}"].sum() for m in res.meta["models"]]
    regs = [df[f"registrations_{m}"].sum() for m in res.meta["models"]]
    assert all(r == pytest.approx(revs[0]) for r in revs)
    assert all(r == pytest.approx(n) for r in regs)
    assert revs[0] == pytest.approx(res.meta["revenue"])


def test_cac_interval_and_verdicts():
    from yunying.analyses.acquisition import cac_interval, verdict

    lo, hi = cac_interval(1000.0, 10, 0.95)
    # exact Poisson (Garwood) limits for 10 events: 4.795 .. 18.390
    assert lo == pytest.approx(1000 / 18.390, rel=1e-3) and hi == pytest.approx(1000 / 4.795, rel=1e-3)
    lo0, hi0 = cac_interval(1000.0, 0)
    assert hi0 is None and lo0 == pytest.approx(1000 / 3.689, rel=1e-3)
    assert cac_interval(0.0, 5) == (None, None)
    assert verdict(50, 80, 100, 1000) == "better"
    assert verdict(120, 150, 100, 1000) == "worse"
    assert verdict(60, 200, 100, 1000) == "too early to tell"     # includes it, wider than x2
    assert verdict(90, 120, 100, 1000) == "on par"
    assert verdict(lo0, hi0, 500, 1000) == "too early to tell"    # no payers yet after two benchmark CACs
    assert verdict(lo0, hi0, 100, 1000) == "worse"                # ten benchmark CACs spent, no payer
    assert verdict(*cac_interval(5000.0, 0), 100, 5000) == "worse"  # 5000 spent, 0 payers at CAC 100
    assert verdict(None, None, 100, 0) == "no spend"


def test_cac_interval_is_scipy_gamma_quantiles():
    # computed with scipy.special.gammaincinv; scipy.stats.gamma.ppf is the oracle
    from scipy.stats import gamma

    from yunying.analyses.acquisition import cac_interval

    for payers in (0, 0.4, 1, 3.5, 10, 250, 12_345.25):
        for conf in (0.8, 0.9, 0.95, 0.99):
            a = (1 - conf) / 2
            lo, hi = cac_interval(777.0, payers, conf)
            assert lo == pytest.approx(777.0 / float(gamma.ppf(1 - a, payers + 1)), rel=1e-12)
            assert hi == (None if payers == 0 else pytest.approx(777.0 / float(gamma.ppf(a, payers)), rel=1e-12))


def test_one_load_many_analyses_equal_fresh_loads(rand):
    # the report computes channels, placements, budget and attribution from one AcqData whose credits and user
    # facts are computed once: every result equals the one from its own fresh load, whatever ran before it
    from yunying.analyses.acquisition import (AcquisitionSpec, AttributionSpec, ChannelsSpec, PlacementsSpec,
                                              attribution_from, channels_from, credits, load, placements_from,
                                              user_facts)

    ws, ev, sp = rand
    common = {"channel_map": CMAP}

    def run(data):  # data(): the AcqData each analysis gets
        return (channels_from(data(), ChannelsSpec.parse({**common, "by": "channel"}), TZ).to_dict()["rows"],
                channels_from(data(), ChannelsSpec.parse({**common, "by": "channel", "interval": "week"}),
                              TZ).to_dict()["rows"],
                placements_from(data(), PlacementsSpec.parse(common), TZ).to_dict()["rows"],
                attribution_from(data(), AttributionSpec.parse({**common, "models": ["first", "last", "linear",
                                                                                       "markov"]})).to_dict()["rows"])

    def fresh():
        return load(ws.engine, AcquisitionSpec.parse(common), all_signups=True, nonconverting=True)

    shared = fresh()
    got = [run(lambda: shared) for _ in range(2)]                  # the second run is served from the cache
    c = credits(shared, AcquisitionSpec.parse(common), "channel")
    c["credit"] = -1.0                                       # a caller changing its copy changes nothing shared
    f = user_facts(shared)
    f["revenue"] = 0.0
    assert got[0] == got[1] == run(lambda: shared)
    assert_same_rows(got[0], run(fresh))                     # each analysis on its own load: nothing shared
    assert (credits(shared, AcquisitionSpec.parse(common), "channel")["credit"] > 0).all()
    last = credits(shared, AcquisitionSpec.parse({**common, "attribution": "last"}), "channel")
    assert not last.equals(credits(shared, AcquisitionSpec.parse(common), "channel"))   # keyed by the model
