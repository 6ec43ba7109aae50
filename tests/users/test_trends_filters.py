"""`trends --where / --segment / --by user.PROP / --by segment:A,B` against pandas on random data (merged
anonymous ids, Chinese strings, numbers as text, missing properties, Asia/Shanghai days); the spec carries the
filters as JSON; the CLI takes them."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest
from test_segments_oracle import build

from yunying.analyses.segments import evaluate
from yunying.analyses.trends import TrendsSpec, trends
from yunying.cli.trends import segment_filter


def got(ws, **kw):
    spec = TrendsSpec.build(event="buy", interval="day", date_from=dt.date(2024, 1, 1), date_to=dt.date(2024, 3, 15),
                            **kw)
    spec = TrendsSpec.parse(spec.to_json())  # what a saved analysis / the query API carries
    f = trends(ws.engine, spec).frame
    keys = ["date", "breakdown"] if "breakdown" in f else ["date"]
    f = f[f["value"] > 0]
    return {tuple(r[k] for k in keys): r["value"] for _, r in f.iterrows()}


def want(e, keys):
    c = e.groupby(keys).size()
    return {(k if isinstance(k, tuple) else (k,)): float(v) for k, v in c.items()}


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


@pytest.mark.parametrize("seed", [11])
def test_trends_filters_match_pandas(tmp_path, seed):
    ws, events, profiles = build(tmp_path, seed)
    ws.save_segment("recent", kind="dynamic", rule="did view in the last 30 days",
                    members=evaluate(ws.engine, "did view in the last 30 days", ws.segment, dt.date(2024, 3, 1)))
    ws.save_segment("ids", kind="static", static_ids=["u1", "u2", "u3", "用户甲"])
    e = events[(events.event == "buy") & (events.day <= dt.date(2024, 3, 15))].copy()
    e["date"] = e["day"]
    plan = {u: p.get("plan") for u, p in profiles.items()}
    members = {"recent": set(ws.con.execute("SELECT user_id FROM segment_members WHERE segment = 'recent'").fetchall()),
               "ids": set(ws.segment_static_ids("ids"))}
    members["recent"] = {m[0] for m in members["recent"]}
    cases = {
        "event.city = '上海'": e[e.city == "上海"],
        "event.city != '上海'": e[e.city != "上海"],
        "event.city >= 10": e[e.city.map(num).fillna(-1) >= 10],
        "user.plan = 'pro'": e[e.user.map(plan) == "pro"],
        "user.plan is not set or event.revenue > 50": e[e.user.map(plan).isna() | (e.revenue > 50)],
        "segment = 'recent'": e[e.user.isin(members["recent"])],
    }
    for flt, sub in cases.items():
        assert got(ws, filters=[flt]) == want(sub, ["date"]), flt
    assert got(ws, filters=[segment_filter("recent")]) == want(cases["segment = 'recent'"], ["date"])
    # several filters: all must hold
    both = e[(e.city == "上海") & e.user.isin(members["ids"])]
    assert got(ws, filters=["event.city = '上海'", segment_filter("ids")]) == want(both, ["date"])
    # breakdowns by the user's current profile and by segments side by side
    e2 = e.assign(breakdown=e.user.map(plan).fillna("(none)"))
    assert got(ws, by="user.plan") == want(e2, ["date", "breakdown"])
    parts = [e[e.user.isin(members[s])].assign(breakdown=s) for s in ("recent", "ids")]
    assert got(ws, by="segment:recent,ids") == want(pd.concat(parts), ["date", "breakdown"])
    ws.close()


def test_cli_where_and_segment(tmp_path):
    w = str(tmp_path / "w")
    yy = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True,  # noqa: E731
                                   timeout=300)
    (tmp_path / "e.csv").write_text("user_id,event,ts,city\na,buy,2024-01-05,上海\nb,buy,2024-01-05,北京\n"
                                    "b,buy,2024-01-06,上海\n", encoding="utf-8")
    assert yy("init", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", w).returncode == 0
    assert yy("segments", "create", "bb", "did buy at least 2 times", "-w", w).returncode == 0
    r = yy("trends", "-e", "buy", "--where", "event.city = '上海'", "--segment", "bb", "-w", w, "-f", "json",
           "--from", "2024-01-05", "--to", "2024-01-06", "--save-spec", str(tmp_path / "s.json"))
    assert r.returncode == 0, r.stderr
    assert [x["value"] for x in json.loads(r.stdout)["series"]] == [0, 1]
    assert len(json.loads((tmp_path / "s.json").read_text(encoding="utf-8"))["filters"]) == 2
    r = yy("trends", "-e", "buy", "--where", "event.ctiy = 'x'", "-w", w)
    assert r.returncode != 0 and "did you mean event.city" in r.stderr and "Traceback" not in r.stderr


def test_trends_filters_through_the_query_api(tmp_path):
    from fastapi.testclient import TestClient

    from yunying.server.app import create_app

    w = tmp_path / "w"
    yy = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True,  # noqa: E731
                                   timeout=300)
    evil = "x'; DROP TABLE events; --"
    (tmp_path / "e.csv").write_text(f"user_id,event,ts,note\na,buy,2024-01-05,\"{evil}\"\nb,buy,2024-01-05,\n",
                                    encoding="utf-8")
    (tmp_path / "u.csv").write_text('user_id,"a\'];DROP"\na,1\n', encoding="utf-8")
    assert yy("init", str(w)).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", str(w)).returncode == 0
    assert yy("import", "users", str(tmp_path / "u.csv"), "-w", str(w)).returncode == 0
    assert yy("segments", "create", evil, "did buy", "-w", str(w)).returncode == 0
    token = yy("keys", "create", "-w", str(w), "--kind", "read").stdout.strip().splitlines()[-1].strip()
    with TestClient(create_app([w]), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        base = {"event": "buy", "date_from": "2024-01-05", "date_to": "2024-01-05"}

        def total(filters):
            resp = client.post("/api/query/trends", json={**base, "filters": filters})
            assert resp.status_code == 200, resp.text
            return sum(x["value"] for x in resp.json()["series"])

        assert total([{"field": {"scope": "event", "name": "note"}, "op": "=",
                       "value": {"type": "string", "value": evil}}]) == 1
        assert total([{"field": {"scope": "user", "name": "a'];DROP"}, "op": "is set"}]) == 1
        assert total([{"field": {"scope": "segment"}, "op": "=", "value": {"type": "string", "value": evil}}]) == 2
        assert total(["event.note = \"x'; DROP TABLE events; --\""]) == 1
        resp = client.post("/api/query/trends", json={**base, "filters": ["event.note = "]})
        assert resp.status_code == 400 and "column" in resp.json()["error"]
        resp = client.post("/api/query/trends", json={**base, "by": "user.a'];DROP"})
        assert resp.status_code == 200, resp.text


def test_distribution_filters_match_pandas(tmp_path):
    from yunying.analyses.distribution import DistributionSpec, distribution

    ws, events, profiles = build(tmp_path, 12)
    plan = {u: p.get("plan") for u, p in profiles.items()}
    e = events[events.event == "view"]
    for flt, sub in {"event.city = '上海'": e[e.city == "上海"],
                     "user.plan != 'pro'": e[e.user.map(plan) != "pro"]}.items():
        spec = DistributionSpec.parse(DistributionSpec.build(event="view", filters=[flt]).to_json())
        res = distribution(ws.engine, spec)
        per_user = sub.groupby("user").size()
        hist = {int(r["min_events"]): int(r["users"]) for _, r in res.frame.iterrows() if r["min_events"] <= 10}
        assert hist == {k: int((per_user == k).sum()) for k in range(1, 11)}, flt
        assert res.meta["users"] == len(per_user)
    ws.close()


def test_where_is_applied_not_ignored(tmp_path):
    w = str(tmp_path / "w")
    yy = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True,  # noqa: E731
                                   timeout=300)
    (tmp_path / "e.csv").write_text("user_id,event,ts\na,buy,2024-01-05\n", encoding="utf-8")
    assert yy("init", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", w).returncode == 0
    r = yy("stickiness", "--where", "event.x = 1", "-w", w)  # applied (so a misspelt property is an error)
    assert r.returncode != 0 and "event.x is not a column" in r.stderr
    r = yy("trends", "--revenue", "--where", "event.x = 1", "-w", w)  # applied to the purchase events now
    assert r.returncode != 0 and "event.x is not a column" in r.stderr
    r = yy("stickiness", "--per-user", "--where", "event.event = 'buy'", "-w", w, "-f", "json")
    assert r.returncode == 0, r.stderr
