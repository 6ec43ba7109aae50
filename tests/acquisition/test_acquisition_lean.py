"""The acquisition tables without pandas (issue 13, start-up): on random workspaces in three time zones, the DuckDB
path (acquisition/lean_data.py + lean.py: SQL, numpy and plain rows) gives the pandas path's tables — the same rows
in the same order, the same values (floats to 1e-9: sums in another order) and the same kinds of value (an integer
stays an integer) — for channels (every model, key, interval and period), placements and attribution, and the
same credit rows per user as :func:`data.credits`."""
from __future__ import annotations

import datetime as dt
import importlib
import math
import subprocess
import sys

import numpy as np
import pytest

from acq_helpers import build_workspace
from util import assert_same_rows, workspaces_by_zone
from yunying.analyses.acquisition import api, data as D, lean, lean_budget, lean_data as L
from yunying.analyses.acquisition.specs import AttributionSpec, BudgetSpec, ChannelsSpec, PlacementsSpec
from yunying.analyses.users import DIRECT

OLD = {name: importlib.import_module(f"yunying.analyses.acquisition.{name}")
       for name in ("channels_pd", "placements_pd", "compare", "budget_pd")}
MODELS = ("first", "last", "linear", "time_decay", "position", "markov")


ws = workspaces_by_zone(lambda folder, tz, seed: build_workspace(folder, seed, 260, tz)[0],
                        [("UTC", 11), ("Asia/Shanghai", 12), ("America/Los_Angeles", 13)], "acqlean")


def _kinds(v):
    if isinstance(v, dict):
        return {k: _kinds(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_kinds(x) for x in v]
    return type(v).__name__


def _same(new, old):
    a, b = new.to_dict(), old.to_dict()
    assert a["rows"], "the random data should fill the table"
    assert_same_rows(a, b)
    assert _kinds(a) == _kinds(b)      # 3 stays 3 (not 3.0), None stays None
    assert new.columns == list(old.frame.columns)


def test_direct_label_is_the_users_one():
    assert L.DIRECT == DIRECT


@pytest.mark.parametrize("by", ["channel", "campaign", "placement"])
def test_credits_equal(ws, by):
    """Every user's credit rows (key, credit, touch time) under every model equal the pandas path's."""
    e = ws.engine
    for model in MODELS:
        spec = ChannelsSpec.build(attribution=model, channel_map={"baidu": "search"}, date_from=dt.date(2026, 6, 4))
        arr = L.load(e, spec, nonconverting=True)
        old = D.credits(D.load(e, spec, nonconverting=True), spec, by)
        users = D.load(e, spec).signups["user_id"].tolist()      # uid = the rank of the user id
        assert arr.n_users == len(users)
        c = L.credits(arr, spec, by)
        cols = L.BY_COLUMNS[by]
        got = sorted((users[u], *(arr.names[c.keys[k][i]] for k in cols), round(float(w), 9), int(t))
                     for i, (u, w, t) in enumerate(zip(c.uid.tolist(), c.credit, c.touch_us.tolist())))
        ts = old["touch_ts"].to_numpy().astype("datetime64[us]").astype(np.int64).tolist()
        rows = old[["user_id", *cols, "credit"]].itertuples(index=False, name=None)
        exp = sorted((r[0], *r[1:-1], round(float(r[-1]), 9), int(t)) for r, t in zip(rows, ts))
        assert got == exp, model


CHANNEL_SPECS = [{"attribution": m} for m in MODELS] + [
    {"by": "campaign", "attribution": "linear", "channel_map": {"baidu": "search"}},
    {"by": "placement", "interval": "week", "attribution": "markov"},
    {"interval": "day", "attribution": "last", "date_from": dt.date(2026, 6, 5), "date_to": dt.date(2026, 6, 14)},
    {"interval": "month", "attribution": "time_decay", "half_life_days": 2.0, "lookback_days": 7},
    {"by": "campaign", "date_to": dt.date(2026, 6, 8), "attribution": "position", "position_shares": (0.3, 0.5)},
]


@pytest.mark.parametrize("opts", CHANNEL_SPECS)
def test_channels_equal(ws, opts):
    spec = ChannelsSpec.build(**opts)
    _same(lean.channels(ws.engine, spec), OLD["channels_pd"].channels(ws.engine, spec))


@pytest.mark.parametrize("opts", [{}, {"attribution": "linear", "leak_threshold": 0.95, "min_denominator": 5},
                                  {"channel": "kol", "attribution": "markov"},
                                  {"date_from": dt.date(2026, 6, 6), "channel_map": {"baidu": "search"}}])
def test_placements_equal(ws, opts):
    spec = PlacementsSpec.build(**opts)
    _same(lean.placements(ws.engine, spec), OLD["placements_pd"].placements(ws.engine, spec))


@pytest.mark.parametrize("opts", [{}, {"by": "campaign", "channel_map": {"baidu": "search"}},
                                  {"by": "placement", "models": ["markov", "last"], "date_from": dt.date(2026, 6, 3)}])
def test_attribution_equal(ws, opts):
    spec = AttributionSpec.build(**opts)
    _same(lean.attribution(ws.engine, spec), OLD["compare"].attribution(ws.engine, spec))


@pytest.mark.parametrize("model", ["first", "linear", "time_decay"])
def test_budget_days_equal(ws, model):
    """Each channel's days (spend, and the credits of that local day's touches) equal daily_response_data's."""
    spec = BudgetSpec.build(attribution=model, channel_map={"baidu": "search"})
    days = lean_budget.channel_days(L.load(ws.engine, spec, all_signups=True, facts=False), spec)
    daily, _ = OLD["budget_pd"].daily_response_data(D.load(ws.engine, spec, all_signups=True), spec,
                                                    ws.engine.timezone)
    got = [(ch, d, s, r, p) for ch, g in days.items()
           for d, s, r, p in zip(g.date, g.spend, g.registrations, g.paying_users)]
    exp = sorted(daily.itertuples(index=False, name=None))
    assert len(got) == len(exp) and sum(r for *_, r, _ in got) > 0
    assert_same_rows(got, exp)


@pytest.mark.parametrize("opts", [{"all_signups": True}, {"date_from": dt.date(2026, 6, 5)}])
def test_load_without_facts_same_users_and_purchases(ws, opts):
    """The budget's load (one users query with purchase counts, no activation or revenue) numbers the same users
    with the same signups, touches and purchase counts as the full load."""
    spec = BudgetSpec.build(**{k: v for k, v in opts.items() if k != "all_signups"})
    kw = {"all_signups": opts.get("all_signups", False)}
    full, lean_ = L.load(ws.engine, spec, **kw), L.load(ws.engine, spec, facts=False, **kw)
    assert full.purchases.sum() > 0 and full.purchases.dtype == lean_.purchases.dtype == np.int64
    for name in ("purchases", "signup_us", "signup_day", "t_uid", "t_ns", "t_day"):
        np.testing.assert_array_equal(getattr(lean_, name), getattr(full, name))
    assert lean_.activated is None and lean_.revenue is None and lean_.by_day is None
    assert (lean_.names, lean_.as_of_us, lean_.spend) == (full.names, full.as_of_us, full.spend)


@pytest.mark.parametrize("opts", [{}, {"curve": "hill", "objective": "registrations", "total": 20000.0, "days": 14},
                                  {"attribution": "linear", "channels": ["kol", "search"], "min_days": 3,
                                   "date_from": dt.date(2026, 5, 25), "channel_map": {"baidu": "search"}}])
def test_budget_equal(ws, opts):
    spec = BudgetSpec.build(draws=60, **opts)
    _same(lean_budget.budget(ws.engine, spec), OLD["budget_pd"].budget(ws.engine, spec))


def test_entry_points_choose_the_path(ws):
    """No filter: the pandas-free path; a filter: the portable one — the same figures the filters keep."""
    e = ws.engine
    assert api.lean_path(e, ChannelsSpec.build()) and not api.lean_path(e, ChannelsSpec.build(
        filters=["event.event != 'nothing'"]))
    kept = api.channels(e, filters=["event.event != 'nothing'"])   # keeps every event
    whole = api.channels(e)
    assert [r["registrations"] for r in kept.records()] == [r["registrations"] for r in whole.records()]
    assert kept.records()[0]["cost_per_registration"] is None and whole.records()[0]["cost_per_registration"]


def test_binomial_shortfall_is_scipy_stats_binom_cdf():
    from scipy.stats import binom

    from yunying.stats.acquisition import binomial_shortfall_p

    rng = np.random.default_rng(5)
    for _ in range(3000):
        n = float(rng.integers(0, 3000)) + float(rng.choice([0.0, 0.4]))
        k, p = float(rng.uniform(-2, n * 1.2 + 3)), float(rng.uniform(-0.1, 1.2))
        exp = 1.0 if n <= 0 or p <= 0 else float(binom.cdf(math.floor(k + 1e-9), int(round(n)), min(p, 1.0)))
        assert binomial_shortfall_p(k, n, p) == pytest.approx(exp, rel=1e-9, abs=1e-250), (k, n, p)


def test_no_pandas_on_the_duckdb_path(tmp_path):
    """The CLI's acquisition commands load neither pandas nor scipy.stats (a third of a second each at start-up)."""
    ws, _, _ = build_workspace(tmp_path, seed=3, n_users=80, timezone="UTC")
    ws.close()
    code = ("import sys; from yunying.storage.workspace import Workspace; "
            "from yunying.analyses.acquisition import api; "
            f"w = Workspace.open({str(ws.path)!r}, read_only=True); "
            "[f(w.engine).to_json() for f in (api.channels, api.placements, api.attribution, api.budget)]; "
            "print(sorted(m for m in ('pandas', 'scipy.stats', 'ibis') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "[]", out.stderr


def test_signup_own_key_tie(tmp_path):
    """Two signup events at the user's first instant, each with its own UTM, and no earlier touch: the own key is
    the first by (channel, campaign, placement) — on both paths (hand-worked: ``feed`` < ``search``)."""
    from util import csv_workspace

    ws = csv_workspace(tmp_path, ["user_id,event,ts,channel,utm_campaign",
                                  "a,signup,2026-06-02 10:00:00,search,s1",
                                  "a,signup,2026-06-02 10:00:00,feed,f1",
                                  "b,signup,2026-06-02 11:00:00,,",
                                  "b,ad_click,2026-06-01 11:00:00,search,s1"])
    try:
        for path in (lean.channels, OLD["channels_pd"].channels):
            rows = {r["channel"]: r["registrations"] for r in path(ws.engine, ChannelsSpec.build()).records()}
            assert rows == {"feed": 1, "search": 1}
    finally:
        ws.close()


@pytest.mark.parametrize("values", [["b", None, "a", "b", None, "c", "a"], [None, None], ["x"], ["中", "a", "中", ""]])
def test_text_codes_are_arrows_dictionary_encoding(values):
    """lean_data._encode numbers text as Arrow's dictionary_encode does (first appearance; a missing value after
    all the others), the order the markov paths and the key names were built in."""
    import pyarrow as pa

    col = pa.chunked_array([pa.array(values[:2], pa.string()), pa.array(values[2:], pa.string())])
    enc = col.combine_chunks().dictionary_encode()
    exp = [len(enc.dictionary) if i is None else i for i in enc.indices.to_pylist()]
    codes, names = L._encode(col)
    assert codes.tolist() == exp and names == enc.dictionary.to_pylist()
