"""The review's definitions on a hand-built workspace (Asia/Shanghai, so local days differ from UTC days): daily
purchases, revenue, purchasers, new and reactivated users, coupons redeemed, media spend, the audience kinds,
and `campaign create` from the command line (errors name the field, no traceback)."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from pathlib import Path

import pytest

import yunying.engines  # noqa: F401
from yunying.analyses.campaigns import assign_holdout, data
from yunying.analyses.campaigns.review import costs, goals
from yunying.config import WorkspaceConfig
from yunying.storage import campaigns as store
from yunying.storage.workspace import Workspace

ROOT = Path(__file__).parents[2]
EVENTS = """user_id,event,timestamp,revenue,coupon,platform
a,app_open,2026-01-01T02:00:00Z,,,ios
a,purchase,2026-03-03T02:00:00Z,100,10,ios
b,signup,2026-03-01T20:00:00Z,,,android
b,purchase,2026-03-02T03:00:00Z,50,,android
b,purchase,2026-03-04T03:00:00Z,30,5,android
c,app_open,2026-02-28T02:00:00Z,,,ios
c,purchase,2026-03-03T05:00:00Z,20,,ios
d,app_open,2026-02-01T02:00:00Z,,,web
d,purchase,2026-03-04T20:00:00Z,40,7,web
e,app_open,2026-03-01T17:00:00Z,,,ios
"""
SPEND = """date,channel,campaign,cost
2026-03-01,push,spring,100
2026-03-02,push,spring,200
2026-03-04,push,spring,300
2026-03-03,push,other,999
"""
D = dt.date


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    root = tmp_path_factory.mktemp("hand")
    (root / "e.csv").write_text(EVENTS, encoding="utf-8")
    (root / "s.csv").write_text(SPEND, encoding="utf-8")
    w = Workspace.init(root / "ws", WorkspaceConfig(name="hand", timezone="Asia/Shanghai"))
    w.import_events([str(root / "e.csv")])
    w.import_spend([str(root / "s.csv")])
    yield w
    w.close()


def camp(**kw):
    return store.parse({"name": "spring", "start": "2026-03-02", "end": "2026-03-04",
                        "goals": [{"metric": m, "target": 1} for m in store.METRICS],
                        "budget": [{"kind": "coupons", "amount": 20, "property": "coupon"},
                                   {"kind": "media", "amount": 600}, {"kind": "fees", "amount": 50, "actual": 45}],
                        **kw}, "test")


@pytest.fixture(params=["plain SQL", "Ibis"])
def path(request, monkeypatch):
    """Each hand-worked check on both paths: the DuckDB engine's plain SQL and the Ibis expressions (filters,
    Spark)."""
    if request.param == "Ibis":
        monkeypatch.setattr("yunying.analyses.sql.plain_duckdb", lambda engine: False)
    return request.param


def test_daily_by_hand(ws, path):
    c = camp()
    d = data.daily(ws.engine, c, c.start, c.end, data.audience(ws.engine, c))
    assert d["date"] == [D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 4)]

    def row(i):
        return {m: d[m][i] for m in store.METRICS}
    # local days (UTC+8): b's signup 03-01 20:00Z is 03-02; d's purchase 03-04 20:00Z is 03-05 (outside)
    assert row(0) == {"purchases": 1, "revenue": 50, "purchasers": 1, "new_users": 2,
                                              "reactivated_users": 0}
    assert row(1) == {"purchases": 2, "revenue": 120, "purchasers": 2, "new_users": 0,
                                              "reactivated_users": 1}
    assert row(2) == {"purchases": 1, "revenue": 30, "purchasers": 0, "new_users": 0,
                                              "reactivated_users": 0}


def test_goals_and_costs_by_hand(ws, path):
    c = camp()
    rows, _ = goals(ws.engine, c, c.end)
    assert {g["metric"]: g["actual"] for g in rows} == {"purchases": 4, "revenue": 200, "purchasers": 3,
                                                         "new_users": 2, "reactivated_users": 1}
    k = costs(ws.engine, c, c.end)
    assert (k["media"], k["coupons"], k["fees"], k["total"]) == (500, 15, 45, 560)
    assert k["budget"] == {"media": 600, "coupons": 20, "fees": 50}


def test_audiences(ws, path):
    ios = camp(audience={"event": "app_open", "property": "platform", "value": "ios"})
    ids = set(data.user_ids(ws.engine, data.audience(ws.engine, ios)))
    assert ids == {"a", "c", "e"}
    rows, _ = goals(ws.engine, ios, ios.end)
    assert {g["metric"]: g["actual"] for g in rows}["purchases"] == 2      # a and c on 03-03
    ws.save_segment("vip", kind="static", static_ids=["b", "d"], replace=True)
    vip = camp(audience={"segment": "vip"}, holdout={"share": 0.5, "seed": 1})
    assert set(data.user_ids(ws.engine, data.audience(ws.engine, vip))) == {"b", "d"}
    assert costs(ws.engine, vip, vip.end)["coupons"] == 5                   # d's coupon is on 03-05
    n = assign_holdout(ws, vip)
    assert n["target"] + n["holdout"] == 2
    with pytest.raises(Exception, match="segment 'nobody' has no members"):
        data.audience(ws.engine, camp(audience={"segment": "nobody"}))


def _cli(*args):
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, env=env)


def test_create_from_cli(tmp_path):
    w = tmp_path / "ws"
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    assert _cli("init", str(w)).returncode == 0
    assert _cli("import", "events", str(tmp_path / "e.csv"), "-w", str(w)).returncode == 0
    r = _cli("campaign", "create", "spring", "-w", str(w), "--start", "2026-03-02", "--end", "2026-03-04",
             "--goal", "purchases=10", "--goal", "revenue=500", "--holdout", "20%", "--seed", "3",
             "--budget", "coupons=100:coupon", "--budget", "fees=50", "--margin", "0.4",
             "--task", "copy|Li|2026-02-20|2026-02-25", "--task", "send|Li|2026-03-02|2026-03-04|copy")
    assert r.returncode == 0, r.stderr
    assert "holdout recorded" in r.stdout
    c = store.load(w, "spring")
    assert c.holdout.share == 0.2 and c.margin == 0.4 and c.tasks[1].depends_on == ["copy"]
    assert [b.property for b in c.budget] == ["coupon", None]
    r = _cli("campaign", "assign", "spring", "-w", str(w), "--export", str(tmp_path / "groups.csv"))
    assert r.returncode == 0 and "0 newly assigned" in r.stdout, r.stderr
    lines = (tmp_path / "groups.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "user_id,group" and {x.split(",")[0] for x in lines[1:]} == set("abcde")
    draws = dict(zip("abcde", store.holdout_draws("spring", 3, list("abcde"))))
    assert all(g == ("holdout" if draws[u] < 0.2 else "target") for u, g in (x.split(",") for x in lines[1:]))
    r = _cli("campaign", "create", "spring", "-w", str(w), "--start", "2026-03-02", "--end", "2026-03-04",
             "--goal", "purchases=10")
    assert r.returncode == 1 and "exists already" in r.stderr and "Traceback" not in r.stderr
    r = _cli("campaign", "create", "x", "-w", str(w), "--start", "2026-03-02", "--end", "2026-03-04",
             "--goal", "clicks=10")
    assert r.returncode == 1 and "goals[0].metric" in r.stderr and "'clicks'" in r.stderr
    (w / "campaigns" / "bad.toml").write_text('name = "bad"\nstart = 2026-03-02\nend = 2026-03-01\n'
                                              '[[goals]]\nmetric = "purchases"\ntarget = 1\n', encoding="utf-8")
    r = _cli("campaign", "plan", "bad", "-w", str(w))
    assert r.returncode == 1 and "bad.toml" in r.stderr and "before start" in r.stderr
    assert "Traceback" not in r.stderr
