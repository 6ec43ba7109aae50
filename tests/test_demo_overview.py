"""The demo end to end: generated data -> normal import path -> overview, checked against
the generator's truth.json and against a direct pandas computation on the generated files."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from yunying.analyses.overview import overview
from yunying.analyses.users import new_users, revenue

USERS = 12_000


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from yunying.demo.run import run_demo

    d = tmp_path_factory.mktemp("demo")
    out = run_demo(d, users=USERS, seed=11, days=56)
    truth = json.loads((d / "data" / "truth.json").read_text())
    import yunying

    ws = yunying.open(d / "workspace")
    yield d, out, truth, ws
    ws.close()


@pytest.fixture(scope="module")
def frames(demo):
    d = demo[0]
    ev = pd.read_parquet(d / "data" / "events.parquet")
    ev["ts"] = pd.to_datetime(ev["timestamp"], utc=True).dt.tz_localize(None)
    link = ev[ev["user_id"].notna() & (ev["distinct_id"] != ev["user_id"])].groupby("distinct_id")["user_id"].first()
    ev["person"] = ev["user_id"].fillna(ev["distinct_id"].map(link)).fillna(ev["distinct_id"])
    ev["day"] = ev["ts"].dt.normalize()
    ev["week"] = (ev["day"] - pd.to_timedelta(ev["day"].dt.day_of_week, unit="D")).dt.date
    spend = pd.read_csv(d / "data" / "spend.csv", parse_dates=["date"])
    spend["week"] = (spend["date"] - pd.to_timedelta(spend["date"].dt.day_of_week, unit="D")).dt.date
    return ev, spend


def test_overview_matches_direct_pandas_computation(demo, frames):
    _, out, _, _ = demo
    ev, spend = frames
    week = dt.date.fromisoformat(out["week"])
    prev = week - dt.timedelta(days=7)
    got = {m["key"]: (m["current"], m["previous"]) for m in out["metrics"]}

    sig = ev[ev["event"] == "signup"].groupby("person")["ts"].min().rename("signup_ts").reset_index()
    sig["week"] = (sig["signup_ts"].dt.normalize() - pd.to_timedelta(sig["signup_ts"].dt.day_of_week, unit="D")).dt.date
    ch = ev["channel"].fillna(ev["utm_source"])
    touches = ev[ch.notna()].assign(ch=ch[ch.notna()]).sort_values("ts")
    first_ch = touches.groupby("person")["ch"].first()
    sig["channel"] = sig["person"].map(first_ch).fillna("direct/unknown")

    def expect(w):
        s = sig[sig["week"] == w]
        act = ev[ev["event"] == "activate"].merge(s[["person", "signup_ts"]], on="person")
        activated = act[(act["ts"] >= act["signup_ts"]) & (act["ts"] <= act["signup_ts"] + pd.Timedelta(hours=24))]
        a = ev[ev["week"] == w]
        prev_cohort = sig[sig["week"] == w - dt.timedelta(days=7)]
        retained = prev_cohort["person"].isin(set(a["person"])).sum()
        p = a[a["event"] == "purchase"]
        sp = spend.loc[spend["week"] == w, "cost"].sum()
        return {
            "new_users": len(s),
            "spend": sp,
            "cost_per_registration": sp / s["channel"].isin(
                set(spend.loc[(spend["week"] == w) & (spend["cost"] > 0), "channel"])).sum(),
            "activation_rate": activated["person"].nunique() / len(s),
            "dau_avg": a.groupby("day")["person"].nunique().mean(),
            "wau": a["person"].nunique(),
            "week1_retention": retained / len(prev_cohort),
            "revenue": p["revenue"].sum(),
            "paying_users": p["person"].nunique(),
            "purchases": len(p),
            "arppu": p["revenue"].sum() / p["person"].nunique(),
        }

    cur, pre = expect(week), expect(prev)
    for key in cur:
        assert got[key][0] == pytest.approx(cur[key], rel=1e-9), key
        assert got[key][1] == pytest.approx(pre[key], rel=1e-9), key
    # the reference week is the last complete Monday-Sunday week of the data
    last = ev["day"].max().date()
    assert week.weekday() == 0 and week + dt.timedelta(days=6) <= last < week + dt.timedelta(days=14)


def test_series_recover_truth(demo):
    _, _, truth, ws = demo
    nu = new_users(ws.engine, interval="month", by_channel=True).to_pandas()
    by_channel = nu.groupby("channel")["new_users"].sum()
    for name, ch in truth["channels"].items():
        assert by_channel.get(name, 0) == ch["registrations"], name
    assert nu["new_users"].sum() == truth["totals"]["signups"]
    rev = revenue(ws.engine, interval="week").to_pandas()
    assert rev["revenue"].sum() == pytest.approx(truth["totals"]["revenue"], abs=0.01)
    assert rev["purchases"].sum() == truth["totals"]["purchases"]
    # spend imported through the normal path equals the generator's spend per channel
    spent = dict(ws.con.execute("SELECT channel, sum(cost) FROM spend GROUP BY 1").fetchall())
    for name, ch in truth["channels"].items():
        if ch["paid"]:
            assert spent[name] == pytest.approx(ch["spend_total"], abs=0.01)


def test_overview_html_written(demo):
    d, out, _, _ = demo
    page = (d / "overview.html").read_text(encoding="utf-8")
    assert "<h1>Overview</h1>" in page and "plotly" in page.lower()
    assert f'data-metric="new_users"' in page
    new = next(m for m in out["metrics"] if m["key"] == "new_users")
    assert f"{new['current']:,}" in page
    assert out["events_imported"] > 0


def test_demo_timings_cover_every_phase(demo):
    """overview.json says where the demo's time went: the phases follow one another and add up to the total."""
    t = demo[1]["timings"]
    assert list(t["phases"]) == ["generate", "load the analyses", "import", "overview", "acquisition section",
                                 "content section", "campaigns section", "experiment", "write the report"]
    assert all(w >= 0 and c >= 0 for w, c in t["phases"].values())
    assert sum(w for w, _ in t["phases"].values()) == pytest.approx(t["total_s"], abs=0.1)
    assert set(t["import_phases"]) >= {"read, validate, key, write", "commit"}   # the import's own laps
    assert t["phases"]["generate"][0] == pytest.approx(t["generate_s"], abs=0.05)
    assert t["phases"]["import"][0] >= t["import_s"] - 0.01


def test_reimport_demo_changes_nothing(demo):
    d, _, _, ws = demo
    before = ws.counts()
    rep = ws.import_events([str(d / "data" / "events.parquet")])
    assert rep.rows_added == 0
    assert ws.counts() == before
    ov = overview(ws.engine)
    for a, b in zip(ov.to_dict()["metrics"], demo[1]["metrics"]):  # float sums may differ in the last bit
        assert a["key"] == b["key"] and a["current"] == pytest.approx(b["current"], rel=1e-12)
        assert a["previous"] == pytest.approx(b["previous"], rel=1e-12)


def test_demo_cli_json(tmp_path):
    r = subprocess.run([sys.executable, "-m", "yunying", "demo", "--dir", str(tmp_path / "d"), "--users", "2000",
                        "--days", "28", "--format", "json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    keys = {m["key"] for m in data["metrics"]}
    assert {"new_users", "revenue", "wau", "week1_retention", "cost_per_registration"} <= keys
    assert (tmp_path / "d" / "overview.html").exists()
    assert all(np.isfinite(m["current"]) for m in data["metrics"] if m["current"] is not None)
