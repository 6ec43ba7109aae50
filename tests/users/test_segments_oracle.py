"""Segment rules (docs/users.md#segments) against an independent pandas implementation of the documented
definitions, on random data: anonymous ids merged into users, Chinese strings, numbers stored as text, missing
properties, a time zone where UTC and local days differ. Then the CLI end to end, hostile names as data."""
from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys

import pandas as pd
import pyarrow as pa
import pytest

import yunying
from yunying.analyses import segments as S
from yunying.config import WorkspaceConfig
from yunying.errors import SpecError

TZ = "Asia/Shanghai"
AS_OF = dt.date(2024, 3, 1)


def build(tmp_path, seed):
    rnd = random.Random(seed)
    users = [f"u{i}" for i in range(30)] + ["用户甲", "x'; DROP TABLE users; --"]
    anons = {f"anon{i}": rnd.choice(users) for i in range(10)}
    rows = []
    start = dt.datetime(2024, 1, 1)
    for k in range(600):
        who = rnd.choice(users + list(anons))
        ts = start + dt.timedelta(minutes=rnd.randrange(75 * 24 * 60))  # some after AS_OF
        ev = rnd.choice(["view", "view", "buy", "signup"])
        city = rnd.choice(["上海", "北京", None, "12"])
        rev = rnd.choice([None, 10.0, 60.0, 120.0]) if ev == "buy" else None
        rows.append({"user_id": None if who in anons else who, "distinct_id": who, "event": ev, "ts": ts,
                     "event_uuid": f"e{k}", "revenue": rev,
                     "properties": json.dumps({"city": city} if city else {}, ensure_ascii=False)})
    events = pd.DataFrame(rows)
    ws = yunying.Workspace.init(tmp_path / f"w{seed}", WorkspaceConfig(name="t", timezone=TZ))
    tbl = pa.Table.from_pandas(events, preserve_index=False)
    path = tmp_path / f"e{seed}.parquet"
    import pyarrow.parquet as pq

    pq.write_table(tbl.cast(pa.schema([("user_id", pa.string()), ("distinct_id", pa.string()), ("event", pa.string()),
                                       ("ts", pa.timestamp("us")), ("event_uuid", pa.string()),
                                       ("revenue", pa.float64()), ("properties", pa.string())])), path)
    ws.import_events(str(path))
    ws.identify(list(anons.items()))
    profiles = {u: {"plan": rnd.choice(["pro", "free"]), "age": rnd.choice(["25", "31", 40, None])}
                for u in rnd.sample(users, 20)}
    upd = [(u, k, v) for u, kv in profiles.items() for k, v in kv.items() if v is not None]
    ws.set_profiles(pa.table({"id": [u for u, _, _ in upd], "key": [k for _, k, _ in upd],
                              "value": [json.dumps(v) for _, _, v in upd],
                              "set_at": pa.array([dt.datetime(2024, 1, 1)] * len(upd), pa.timestamp("us")),
                              "once": [False] * len(upd)}))
    events["user"] = [anons.get(d, d) for d in events["distinct_id"]]
    events["day"] = events["ts"].dt.tz_localize("UTC").dt.tz_convert(TZ).dt.date
    events["city"] = [json.loads(p).get("city") for p in events["properties"]]
    return ws, events, profiles


def reference(events, profiles, as_of):
    """The documented definitions, in pandas."""
    e = events[events["day"] <= as_of]
    first_seen = events.groupby("user")["day"].min()
    universe = {u for u, d in first_seen.items() if d <= as_of} | set(profiles)

    def did(name, lo=None, hi=as_of, where=None, op=">=", n=1):
        x = e[(e["event"] == name) & (e["day"] <= hi)]
        if lo is not None:
            x = x[x["day"] >= lo]
        if where is not None:
            x = x[where(x)]
        c = x.groupby("user").size()
        keep = {">=": c >= n, "<=": c <= n, "=": c == n}[op]
        return set(c[keep].index) & universe

    def first(name, lo, hi):
        f = e[e["event"] == name].groupby("user")["day"].min()
        return {u for u, d in f.items() if lo <= d <= hi} & universe

    def num(v):
        try:
            return float(v)
        except (TypeError, ValueError):
            return None

    d = lambda n: as_of - dt.timedelta(days=n - 1)  # noqa: E731  first day of "the last n days"
    pro = {u for u, p in profiles.items() if p.get("plan") == "pro"}
    old = {u for u, p in profiles.items() if num(p.get("age")) is not None and num(p.get("age")) >= 30}
    return {
        "did buy in the last 7 days": did("buy", d(7)),
        "did buy at least 2 times in the last 30 days": did("buy", d(30), n=2),
        "did buy at most 1 times between 2024-01-10 and 2024-02-10":
            did("buy", dt.date(2024, 1, 10), dt.date(2024, 2, 10), op="<=", n=1),
        "did view exactly 2 times": did("view", op="=", n=2),
        "did not do buy in the last 14 days": universe - did("buy", d(14)),
        "first did buy in the last 10 days": first("buy", d(10), as_of),
        "did buy where (event.revenue > 50) in the last 30 days": did("buy", d(30), where=lambda x: x["revenue"] > 50),
        "did view where (event.city = '上海') and not user.plan = 'pro'":
            did("view", where=lambda x: x["city"] == "上海") - pro,
        "did view where (event.city >= 10)": did("view", where=lambda x: x["city"].map(num).fillna(-1) >= 10),
        "in segment recent or user.age >= 30": did("buy", d(7)) | (old & universe),
        "not (did signup or user.plan is set)": universe - did("signup") - set(
            u for u, p in profiles.items() if p.get("plan") is not None),
    }


@pytest.mark.parametrize("seed", [7, 8])
def test_rules_match_pandas(tmp_path, seed):
    ws, events, profiles = build(tmp_path, seed)
    ws.save_segment("recent", kind="dynamic", rule="did buy in the last 7 days")
    for as_of in (AS_OF, dt.date(2024, 2, 11)):
        for rule, want in reference(events, profiles, as_of).items():
            got = set(S.evaluate(ws.engine, rule, ws.segment, as_of))
            assert got == want, (rule, as_of, sorted(got ^ want)[:5])
    ws.close()


def test_static_segments_cycles_and_errors(tmp_path):
    ws, events, profiles = build(tmp_path, 3)
    ws.save_segment("ids", kind="static", static_ids=["anon1", "u1", "nobody"])
    assert ws.segment_static_ids("ids") == sorted({events.loc[events.distinct_id == "anon1", "user"].iloc[0]
                                                  if (events.distinct_id == "anon1").any() else "anon1", "u1", "nobody"})
    assert set(S.evaluate(ws.engine, "in segment ids", ws.segment, AS_OF)) <= set(ws.segment_static_ids("ids"))
    ws.save_segment("a", kind="dynamic", rule="in segment b")
    ws.save_segment("b", kind="dynamic", rule="in segment a")
    with pytest.raises(SpecError, match="refers to itself"):
        S.evaluate(ws.engine, "in segment a", ws.segment, AS_OF)
    with pytest.raises(SpecError, match="does not exist"):
        S.evaluate(ws.engine, "in segment nope", ws.segment, AS_OF)
    with pytest.raises(SpecError, match="did you mean user.plan"):
        S.check_rule(ws.engine, "user.plna = 'x'", ws.segment)
    with pytest.raises(SpecError, match="expected least or most after at at column 12"):
        S.evaluate(ws.engine, "did buy at lest 2 times", ws.segment, AS_OF)
    ws.close()


def yy(*args):
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, timeout=300)


def test_cli_segments(tmp_path):
    w = str(tmp_path / "w")
    (tmp_path / "e.csv").write_text("user_id,event,ts\na,buy,2024-01-05\nb,buy,2024-01-06\nb,buy,2024-01-07\n"
                                    "c,view,2024-01-07\n", encoding="utf-8")
    (tmp_path / "u.csv").write_text("user_id,city\na,上海\nb,\"x'; DROP TABLE users; --\"\n", encoding="utf-8")
    assert yy("init", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", w).returncode == 0
    assert yy("import", "users", str(tmp_path / "u.csv"), "-w", w).returncode == 0
    evil = "seg'; DROP TABLE segments; --"
    r = yy("segments", "create", evil, "did buy at least 2 times", "-w", w, "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["users"] == 1
    r = yy("segments", "size", evil, "--as-of", "2024-01-06", "-w", w, "-f", "json")
    assert json.loads(r.stdout)["users"] == 0
    r = yy("segments", "size", evil, "--over", "day", "--from", "2024-01-05", "--to", "2024-01-08", "-w", w, "-f", "json")
    assert [x["users"] for x in json.loads(r.stdout)["sizes"]] == [0, 0, 1, 1]
    r = yy("segments", "export", evil, "--properties", "city", "-w", w)
    import csv
    import io

    assert list(csv.reader(io.StringIO(r.stdout))) == [["user_id", "city"], ["b", "x'; DROP TABLE users; --"]]
    out = tmp_path / "s.xlsx"
    assert yy("segments", "export", evil, "--format", "xlsx", "-o", str(out), "-w", w).returncode == 0
    from openpyxl import load_workbook

    assert [[c.value for c in row] for row in load_workbook(out).active.iter_rows()] == [["User ID"], ["b"]]
    assert yy("segments", "import", "再导入", str(out), "-w", w).returncode == 0  # the file reads back as an id list
    r = yy("segments", "show", "再导入", "-w", w, "-f", "json")
    assert json.loads(r.stdout)["users"] == 1
    assert yy("segments", "delete", "再导入", "-w", w).returncode == 0
    (tmp_path / "ids.csv").write_text("uid\na\nc\n", encoding="utf-8")
    assert yy("segments", "import", "名单", str(tmp_path / "ids.csv"), "-w", w).returncode == 0
    r = yy("segments", "snapshot", evil, "--name", "frozen", "--as-of", "2024-01-08", "-w", w, "-f", "json")
    assert json.loads(r.stdout)["users"] == 1
    r = yy("segments", "list", "-w", w, "-f", "json")
    assert {s["name"]: s["members"] for s in json.loads(r.stdout)["segments"]} == {evil: 1, "名单": 2, "frozen": 1}
    r = yy("segments", "create", "bad", "did buy in the last x days", "-w", w)
    assert r.returncode != 0 and "column 21" in r.stderr and "Traceback" not in r.stderr
    assert yy("segments", "delete", "名单", "-w", w).returncode == 0
    r = yy("segments", "show", "名单", "-w", w)
    assert r.returncode != 0 and "does not exist" in r.stderr


def test_rfm_class_saved_as_a_segment(tmp_path):
    w = str(tmp_path / "w")
    (tmp_path / "e.csv").write_text("user_id,event,ts,revenue\na,purchase,2024-01-05,500\na,purchase,2024-01-06,500\n"
                                    "b,purchase,2023-06-01,5\nc,purchase,2024-01-06,5\n", encoding="utf-8")
    assert yy("init", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", w).returncode == 0
    r = yy("rfm", "-w", w, "--model", "mean8", "-f", "json")
    users = {u["user_id"]: u["segment"] for u in json.loads(r.stdout)["users"]}
    want = sorted(u for u, c in users.items() if c == users["a"])
    r = yy("rfm", "-w", w, "--model", "mean8", "--lang", "zh-Hans", "--save-segment", "rfm-a", "--class",
           users["a"], "-f", "json")
    assert r.returncode == 0, r.stderr
    r = yy("segments", "export", "rfm-a", "-w", w)
    assert r.stdout.split() == ["user_id", *want]
    r = yy("rfm", "-w", w, "--save-segment", "x", "--class", "nope")
    assert r.returncode != 0 and "not a class of this run" in r.stderr


def test_refresh_updates_stored_members(tmp_path):
    w = str(tmp_path / "w")
    (tmp_path / "e.csv").write_text("user_id,event,ts\na,buy,2024-01-05\n", encoding="utf-8")
    (tmp_path / "e2.csv").write_text("user_id,event,ts\nb,buy,2024-01-06\n", encoding="utf-8")
    assert yy("init", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e.csv"), "-w", w).returncode == 0
    assert yy("segments", "create", "buyers", "did buy", "-w", w).returncode == 0
    assert yy("import", "events", str(tmp_path / "e2.csv"), "-w", w).returncode == 0
    members = lambda: {s["name"]: s["members"] for s in json.loads(  # noqa: E731
        yy("segments", "list", "-w", w, "-f", "json").stdout)["segments"]}
    assert members() == {"buyers": 1}  # stored as of the last write
    r = yy("segments", "refresh", "-w", w, "-f", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["segments"] == [{"name": "buyers", "users": 2}]
    assert members() == {"buyers": 2}
