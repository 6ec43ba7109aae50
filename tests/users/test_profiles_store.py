"""The users table (docs/users.md#user-profiles): profile updates (set / set once), identity merges and first /
last seen checked against an independent Python model of the documented rules on random data; file imports
(`yunying import users`), 神策 profile records in JSON Lines event imports, transactions and idempotence."""
from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys

import pyarrow as pa
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.engines.duckdb import DuckDBEngine
from yunying.errors import InputFileError, ValidationError
from yunying.analyses import filtering
from yunying.model.schema import USER_PROPERTIES

TYPED = {c.name for c in USER_PROPERTIES}
KEYS = ["city", "plan", "orders", "名字", "it's", "a.b", "name"]
VALUES = ["上海", "北京", "pro", "12", 12, 3.5, "x'; DROP TABLE users; --", True, "", {"k": [1, "二"]}]


def stored(ws) -> dict:
    """{user: {key: JSON value}} read back from the users table (typed columns and the properties JSON)."""
    cols = ["user_id", *sorted(TYPED), "properties"]
    out = {}
    for row in ws.con.execute(f"SELECT {', '.join(cols)} FROM users").fetchall():
        rec = dict(zip(cols, row))
        props = json.loads(rec["properties"]) if rec["properties"] else {}
        for c in TYPED:
            if rec[c] is not None:
                props[c] = rec[c]
        if props:
            out[rec["user_id"]] = props
    return out


class Model:
    """The documented rules, written independently: newest set wins, set once fills, merges keep the user's."""

    def __init__(self):
        self.props: dict = {}   # user -> key -> (value, set_at)
        self.alias: dict = {}   # merged id -> user

    def final(self, i):
        return self.alias.get(i, i)

    def batch(self, updates):
        sets, onces = {}, {}
        for ord_, (i, k, v, at, once) in enumerate(updates):
            if v is None:
                continue
            key = (self.final(i), k)
            if once:
                if key not in onces or (at, ord_) < onces[key][1]:
                    onces[key] = (v, (at, ord_))
            elif key not in sets or (at, ord_) > sets[key][1]:
                sets[key] = (v, (at, ord_))
        for (u, k), (v, (at, _)) in sets.items():
            held = self.props.get(u, {}).get(k)
            if held is None or held[1] <= at:
                self.props.setdefault(u, {})[k] = (v, at)
        for (u, k), (v, (at, _)) in onces.items():
            if k not in self.props.get(u, {}):
                self.props.setdefault(u, {})[k] = (v, at)

    def merge(self, anon, user):
        self.alias[anon] = user
        for k, held in self.props.pop(anon, {}).items():
            self.props.setdefault(user, {}).setdefault(k, held)

    def expected(self):
        out = {}
        for u, kv in self.props.items():
            if kv:
                out[u] = {k: (v if k not in TYPED or isinstance(v, str) else json.dumps(v, ensure_ascii=False, separators=(",", ":")))
                          for k, (v, _) in kv.items()}
        return out


def table(updates):
    return pa.table({
        "id": pa.array([u[0] for u in updates], pa.string()),
        "key": pa.array([u[1] for u in updates], pa.string()),
        "value": pa.array([None if u[2] is None else json.dumps(u[2], ensure_ascii=False) for u in updates], pa.string()),
        "set_at": pa.array([u[3] for u in updates], pa.timestamp("us")),
        "once": pa.array([u[4] for u in updates], pa.bool_()),
    })


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_updates_and_merges_match_the_model(tmp_path, seed):
    rnd = random.Random(seed)
    ws = yunying.Workspace.init(tmp_path / "w")
    model = Model()
    users = [f"u{i}" for i in range(6)] + ["用户甲"]
    anons = [f"anon{i}" for i in range(8)]
    base = dt.datetime(2024, 1, 1)
    for step in range(12):
        if step % 4 == 3:
            free = [a for a in anons if a not in model.alias]
            if free:
                anon, user = rnd.choice(free), rnd.choice(users)
                ws.identify([(anon, user)])
                model.merge(anon, user)
                continue
        updates = [(rnd.choice(users + anons), rnd.choice(KEYS), rnd.choice(VALUES + [None]),
                    base + dt.timedelta(hours=rnd.randrange(5)), rnd.random() < 0.3) for _ in range(25)]
        ws.set_profiles(table(updates))
        model.batch(updates)
        assert stored(ws) == model.expected(), f"step {step}"
    ws.close()


ROWS = """user_id,city,plan,orders,note
u1,上海,pro,3,"x'; DROP TABLE users; --"
anon1,北京,free,12,
u3,,team,,
"""


def test_import_users_file_set_once_idempotent_and_seen(tmp_path):
    (tmp_path / "e.csv").write_text("user_id,distinct_id,event,ts\n,anon1,view,2024-01-01 10:00:00\n"
                                    "u1,,buy,2024-01-03 10:00:00\nu2,,view,2024-01-02 10:00:00\n", encoding="utf-8")
    (tmp_path / "u.csv").write_text(ROWS, encoding="utf-8")
    (tmp_path / "once.csv").write_text("uid,city,vip\nu1,深圳,yes\nu2,杭州,no\n", encoding="utf-8")
    ws = yunying.Workspace.init(tmp_path / "w")
    ws.import_events(str(tmp_path / "e.csv"))
    rep = ws.import_users(str(tmp_path / "u.csv"))
    assert rep.rows_read == 3 and rep.rows_added == 8
    assert ws.import_users(str(tmp_path / "u.csv")).rows_added == 0  # idempotent
    assert ws.import_users(str(tmp_path / "once.csv"), once=True).rows_added == 3  # u1.vip, u2.city, u2.vip
    got = stored(ws)
    assert got["u1"] == {"city": "上海", "plan": "pro", "orders": "3", "note": "x'; DROP TABLE users; --", "vip": "yes"}
    assert got["u2"] == {"city": "杭州", "vip": "no"}
    assert got["u3"] == {"plan": "team"}
    ws.identify([("anon1", "u1")])  # u1's values win; anon1's first seen folds in
    got = stored(ws)
    assert "anon1" not in got and got["u1"]["city"] == "上海" and got["u1"]["plan"] == "pro"
    seen = dict((u, (f, l)) for u, f, l in ws.con.execute("SELECT user_id, first_seen, last_seen FROM users").fetchall())
    assert seen["u1"] == (dt.datetime(2024, 1, 1, 10), dt.datetime(2024, 1, 3, 10))
    assert seen["u2"] == (dt.datetime(2024, 1, 2, 10), dt.datetime(2024, 1, 2, 10))
    assert seen["u3"] == (None, None) and "anon1" not in seen
    ws.close()


def test_a_bad_file_imports_nothing(tmp_path):
    (tmp_path / "good.csv").write_text("user_id,city\nu1,上海\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("user_id,city\nu2,北京\n,广州\n", encoding="utf-8")
    ws = yunying.Workspace.init(tmp_path / "w")
    with pytest.raises(ValidationError, match=r"row 2.*user_id: missing"):
        ws.import_users([str(tmp_path / "good.csv"), str(tmp_path / "bad.csv")])
    assert stored(ws) == {}
    ws.close()


SENSORS = [
    {"distinct_id": "anon9", "time": 1704067200000, "type": "track", "event": "view", "properties": {"$os": "iOS"}},
    {"distinct_id": "u1", "time": 1704067300000, "type": "profile_set", "properties": {"city": "广州", "age": 30}},
    {"distinct_id": "u1", "time": 1704067400000, "type": "profile_set_once",
     "properties": {"city": "x", "signup": "2024-01-01"}},
    {"distinct_id": "u1", "time": 1704067500000, "type": "track", "event": "buy", "properties": {"revenue": 3}},
]


def test_sensors_profile_records_in_json_lines(tmp_path):
    f = tmp_path / "sa.jsonl"
    f.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in SENSORS) + "\n", encoding="utf-8")
    ws = yunying.Workspace.init(tmp_path / "w")
    rep = ws.import_events(str(f))
    assert rep.rows_read == 2 and rep.rows_added == 2
    assert stored(ws) == {"u1": {"city": "广州", "age": 30, "signup": "2024-01-01"}}
    assert sorted(ws.con.execute("SELECT event FROM events").fetchall()) == [("buy",), ("view",)]
    assert ws.import_events(str(f)).rows_added == 0
    bad = tmp_path / "bad.jsonl"
    bad.write_text(f.read_text(encoding="utf-8") + json.dumps({"distinct_id": "u1", "type": "profile_unset",
                                                                "properties": {"city": True}}) + "\n")
    with pytest.raises(InputFileError, match=r"row 5: 神策 record type 'profile_unset' is not supported"):
        ws.import_events(str(bad))
    ws.close()


def test_user_filters_read_the_users_table(tmp_path):
    (tmp_path / "e.csv").write_text("user_id,event,ts\na,view,2024-01-01\nb,view,2024-01-01\nc,view,2024-01-01\n",
                                    encoding="utf-8")
    (tmp_path / "u.csv").write_text("user_id,city,orders\na,上海,3\nb,北京,12\n", encoding="utf-8")
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="t"))
    ws.import_events(str(tmp_path / "e.csv"))
    ws.import_users(str(tmp_path / "u.csv"))
    eng = DuckDBEngine(ws)

    def users_of(text):
        t = filtering.apply(eng, eng.events(), text)
        return sorted(eng.execute(t.select("user_id"))["user_id"].to_pylist())

    assert users_of("user.city = '上海'") == ["a"]
    assert users_of("user.orders >= 5") == ["b"]
    assert users_of("user.city is not set") == ["c"]
    ws.close()


def test_cli_import_users(tmp_path):
    (tmp_path / "u.csv").write_text("member_no,city\nm1,上海\n", encoding="utf-8")
    run = lambda *a: subprocess.run([sys.executable, "-m", "yunying", *a], capture_output=True, text=True,  # noqa: E731
                                    timeout=300)
    assert run("init", str(tmp_path / "w")).returncode == 0
    r = run("import", "users", str(tmp_path / "u.csv"), "--map", "user_id=member_no", "-w", str(tmp_path / "w"),
            "--format", "json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rows_added"] == 1
    r = run("import", "users", str(tmp_path / "u.csv"), "-w", str(tmp_path / "w"))
    assert r.returncode != 0 and "Traceback" not in r.stderr and "missing required column(s): user_id" in r.stderr
