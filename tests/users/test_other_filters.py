"""Filters on the analyses written as queries: overview, acquisition (channels, placements) and workspace
experiments, against pandas on a small demo workspace (docs/users.md#filters-on-analyses)."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from yunying.analyses.acquisition import channels, placements
from yunying.analyses.experiment import analyze_workspace
from yunying.analyses.overview import OverviewSpec, overview
from users_helpers import thirds_demo

TZ = "Asia/Shanghai"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("otherf")
    ws, members = thirds_demo(base, TZ)  # every third user in 三分之一
    ev = ws.con.execute("SELECT user_id, event, ts, channel, revenue, variant FROM events").df()
    ev["day"] = ev["ts"].dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date
    yield ws, ev, members
    ws.close()


def test_overview_filtered_by_segment_matches_pandas(demo):
    ws, ev, members = demo
    spec = OverviewSpec.parse(OverviewSpec.build(filters=["segment = '三分之一'"]).to_json())
    res = overview(ws.engine, spec)
    got = {r["key"]: r["current"] for r in res.records()}
    week = dt.date.fromisoformat(str(res.meta["week"]))
    in_week = lambda d: week <= d <= week + dt.timedelta(days=6)  # noqa: E731
    e = ev[ev.user_id.isin(members)]
    first_signup = e[e.event == "signup"].groupby("user_id")["day"].min()
    assert got["new_users"] == sum(in_week(d) for d in first_signup)
    assert got["wau"] == e[e.day.map(in_week)].user_id.nunique()
    p = e[(e.event == "purchase") & e.day.map(in_week)]
    assert got["revenue"] == pytest.approx(p.revenue.fillna(0).sum())
    assert got["paying_users"] == p.user_id.nunique() and got["purchases"] == len(p)
    assert got["spend"] is None and got["cost_per_registration"] is None  # spend belongs to no user
    assert overview(ws.engine).records()[0]["current"] > got["new_users"]


def test_channels_and_placements_filtered(demo):
    ws, ev, members = demo
    res = channels(ws.engine, filters=["segment = '三分之一'"])
    d = res.to_dict()
    signed = ev[(ev.event == "signup") & ev.user_id.isin(members)].user_id.nunique()
    assert sum(r["registrations"] for r in d["rows"]) == signed > 0
    assert all(r["cost_per_registration"] is None and r["roas"] is None for r in d["rows"])
    full = channels(ws.engine).to_dict()
    assert sum(r["spend"] for r in d["rows"]) == pytest.approx(sum(r["spend"] for r in full["rows"]))
    pl = placements(ws.engine, filters=["event.channel != 'nothing-like-this'"]).to_dict()
    assert all(r.get("cost_per_paying_user") is None for r in pl["rows"])


def test_experiment_filters_select_users_or_metric_events(demo):
    ws, ev, members = demo
    expo = ev[ev.event == "$exposure"].sort_values("ts").groupby("user_id").first()
    metric = [{"name": "rev", "kind": "sum", "event": "purchase", "property": "revenue", "window_days": 14}]

    # on the user: the users analysed
    res = analyze_workspace(ws.engine, {"metrics": metric, "filters": ["segment = '三分之一'"]}).to_dict()
    want = expo[expo.index.isin(members)].groupby("variant").size().to_dict()
    assert res["srm"]["observed"] == want

    # on the event: the metric events only (every exposed user stays)
    res = analyze_workspace(ws.engine, {"metrics": metric, "filters": ["event.revenue > 50"]}).to_dict()
    assert res["srm"]["observed"] == expo.groupby("variant").size().to_dict()
    p = ev[(ev.event == "purchase") & (ev.revenue > 50)].merge(expo[["ts", "variant"]], left_on="user_id",
                                                               right_index=True, suffixes=("", "_x"))
    p = p[(p.ts >= p.ts_x) & (p.ts < p.ts_x + pd.Timedelta(days=14))]
    sums = p.groupby("user_id").revenue.sum()
    per_user = expo.assign(v=expo.index.map(sums).fillna(0.0))
    means = per_user.groupby("variant").v.mean().to_dict()
    got = {v["variant"]: v["mean"] for v in res["metrics"][0]["variants"]}
    assert got == pytest.approx(means) and json.dumps(res["spec"]["filters"])


def test_query_api_carries_filters_for_funnel_and_retention(tmp_path):
    """``filters`` and per-step filters are spec fields, so ``POST /api/query/funnel`` takes them (text or JSON);
    a malformed one is a 400 naming the column; names and values with quotes and SQL are data."""
    import subprocess
    import sys

    from fastapi.testclient import TestClient

    from yunying.server.app import create_app

    w = tmp_path / "w"
    yy = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True,  # noqa: E731
                                   timeout=300)
    evil = "x'; DROP TABLE events; --"
    quoted = '"' + evil + '"'
    rows = ["user_id,event,ts,note"] + [f"u{i},view,2024-01-0{1 + i % 3} 10:00,{quoted if i % 2 else 'a'}"
                                        for i in range(6)]
    rows += [f"u{i},buy,2024-01-0{1 + i % 3} 12:00,\"{evil}\"" for i in range(0, 6, 3)]
    (tmp_path / "e.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    assert yy("init", str(w)).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", str(w)).returncode == 0
    assert yy("segments", "create", evil, "did buy", "-w", str(w)).returncode == 0
    token = yy("keys", "create", "-w", str(w), "--kind", "read").stdout.strip().splitlines()[-1].strip()
    with TestClient(create_app([w]), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"

        def counts(kind, body):
            resp = client.post(f"/api/query/{kind}", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

        f = {"steps": ["view", "buy"], "window": "1d"}
        assert [s["count"] for s in counts("funnel", f)["steps"]] == [6, 2]
        got = counts("funnel", {**f, "filters": [f"event.note = \"{evil}\""]})
        assert [s["count"] for s in got["steps"]] == [3, 1] and got["spec"]["filters"][0]["op"] == "="
        seg = {"field": {"scope": "segment"}, "op": "=", "value": {"type": "string", "value": evil}}
        assert [s["count"] for s in counts("funnel", {**f, "filters": [seg]})["steps"]] == [2, 2]
        got = counts("funnel", {"steps": ["view", "buy[event.note = 'a']"], "window": "1d"})
        assert [s["count"] for s in got["steps"]] == [6, 0]
        assert counts("funnel", {**f, "by": f"segment:{evil}"})["breakdown"][0]["value"] == evil
        r = counts("retention", {"start_event": "view", "return_event": "buy", "filters": [seg]})
        assert sum(x["size"] for x in r["cohorts"]) == 2
        resp = client.post("/api/query/funnel", json={**f, "filters": ["event.note = "]})
        assert resp.status_code == 400 and "column" in resp.json()["error"]
