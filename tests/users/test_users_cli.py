"""`yunying rfm` and `yunying repurchase` as a user runs them, and filters through the query API:
the JSON contract, --where, errors without tracebacks, and hostile text that stays data."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

EVIL = "x'; DROP TABLE events; --"
EVENTS = f"""user_id,event,timestamp,revenue,city,note
A,purchase,2024-02-01T10:00:00Z,50,上海,
A,purchase,2024-03-20T10:00:00Z,50,上海,
A,purchase,2024-03-30T10:00:00Z,100,北京,
B,purchase,2024-03-01T10:00:00Z,500,北京,"{EVIL.replace('"', '""')}"
C,purchase,2024-03-25T10:00:00Z,30,,
C,purchase,2024-03-28T10:00:00Z,30,,
D,purchase,2024-01-01T10:00:00Z,10,上海,
E,purchase,2024-02-15T10:00:00Z,80,,
E,purchase,2024-02-20T10:00:00Z,80,,
E,purchase,2024-03-05T10:00:00Z,80,,
E,purchase,2024-03-10T10:00:00Z,60,,
F,view,2024-03-10T10:00:00Z,,,
"""


def yy(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=300)


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "e.csv").write_text(EVENTS, encoding="utf-8")
    d = tmp / "w"
    assert yy("init", str(d)).returncode == 0
    r = yy("import", "events", str(tmp / "e.csv"), "-w", str(d))
    assert r.returncode == 0, r.stderr
    return d


def test_rfm_json_contract(wsdir):
    r = yy("rfm", "-w", str(wsdir), "--as-of", "2024-03-31", "--format", "json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    users = {u["user_id"]: u for u in out["users"]}
    assert set(users) == set("ABCDE")
    assert set(users["A"]) >= {"user_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score",
                               "segment"}
    assert (users["A"]["recency_days"], users["A"]["frequency"], users["A"]["monetary"]) == (1, 3, 200.0)
    assert users["E"]["segment"] == "important_retention"
    assert {s["segment"]: s["users"] for s in out["segments"]}["general_value"] == 2
    assert all({"users", "share", "revenue_share"} <= set(s) for s in out["segments"])
    r = yy("rfm", "-w", str(wsdir), "--as-of", "2024-03-31", "--model", "mean8", "--lang", "zh-Hans", "--format", "json")
    users = {u["user_id"]: u for u in json.loads(r.stdout)["users"]}
    assert users["E"]["segment_name"] == "重要价值客户"


def test_rfm_where_table_and_csv(wsdir):
    r = yy("rfm", "-w", str(wsdir), "--where", "event.city = '上海'", "--where", "event.revenue >= 50",
           "--as-of", "2024-03-31", "--format", "csv")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith("user_id,recency_days,frequency,monetary,r_score,f_score,m_score,segment")
    assert [line.split(",")[:4] for line in lines[1:]] == [["A", "11", "2", "100.0"]]
    r = yy("rfm", "-w", str(wsdir), "--lang", "zh-Hant")
    assert r.returncode == 0, r.stderr
    assert "重要保持客戶" in r.stdout


def test_repurchase_json(wsdir):
    r = yy("repurchase", "-w", str(wsdir), "--period", "month", "--format", "json")
    assert r.returncode == 0, r.stderr
    periods = json.loads(r.stdout)["periods"]
    assert '"returning_buyers": 2,' in r.stdout  # a count, not 2.0
    assert [(p["period"], p["buyers"], p["repeat_buyers"], p["returning_buyers"]) for p in periods] == [
        ("2024-01-01", 1, 0, 0), ("2024-02-01", 2, 1, 2), ("2024-03-01", 4, 3, None)]
    r = yy("repurchase", "-w", str(wsdir), "--period", "week")
    assert r.returncode == 0 and "复购率" in r.stdout


@pytest.mark.parametrize("args, fragment", [
    (["--where", "event.city = "], "expected a value"),
    (["--where", "event.ctiy = '上海'"], "did you mean event.city"),
    (["--where", "city = '上海'"], "unknown field"),
    (["--model", "kmeans"], "model"),
    (["--bins", "1"], "bins"),
])
def test_bad_input_is_one_clear_error(wsdir, args, fragment):
    r = yy("rfm", "-w", str(wsdir), *args)
    assert r.returncode == 1
    assert fragment in r.stderr and "Traceback" not in r.stderr


def test_malformed_filter_shows_the_caret(wsdir):
    r = yy("repurchase", "-w", str(wsdir), "--where", "event.city in ('上海' '北京')")
    assert r.returncode == 1
    assert "column 21" in r.stderr and "^" in r.stderr


def test_hostile_text_is_data_in_the_cli(wsdir):
    where = "event.note = " + json.dumps(EVIL)  # double-quoted, with the single quote inside
    r = yy("rfm", "-w", str(wsdir), "--where", where, "--as-of", "2024-03-31", "--format", "json")
    assert r.returncode == 0, r.stderr
    assert [u["user_id"] for u in json.loads(r.stdout)["users"]] == ["B"]
    r = yy("rfm", "-w", str(wsdir), "--where", "event.`note` = 'x'")
    assert r.returncode == 1 and "unexpected character '`'" in r.stderr
    r = yy("rfm", "-w", str(wsdir), "--format", "json")
    assert len(json.loads(r.stdout)["users"]) == 5  # every purchase still there


def test_filters_through_the_query_api(wsdir, tmp_path):
    from fastapi.testclient import TestClient

    from yunying.server.app import create_app

    r = yy("keys", "create", "-w", str(wsdir), "--kind", "read")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip().splitlines()[-1].strip()
    app = create_app([wsdir])
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        evil = {"field": {"scope": "event", "name": "note"}, "op": "=", "value": {"type": "string", "value": EVIL}}
        resp = client.post("/api/query/rfm", json={"as_of": "2024-03-31", "filters": [evil]})
        assert resp.status_code == 200, resp.text
        assert [u["user_id"] for u in resp.json()["users"]] == ["B"]
        name = {"field": {"scope": "event", "name": "a'];DROP TABLE events;--"}, "op": "is set"}
        resp = client.post("/api/query/repurchase", json={"filters": [name]})
        assert resp.status_code == 400 and resp.json()["code"] == "spec_error"
        assert "is not a column and no event has it" in resp.json()["error"]
        resp = client.post("/api/query/rfm", json={"filters": ["event.city = '上海' and"]})
        assert resp.status_code == 400 and "column" in resp.json()["error"]
        resp = client.post("/api/query/repurchase", json={"filters": ["event.city in ('上海', '北京')"]})
        assert resp.status_code == 200 and [p["buyers"] for p in resp.json()["periods"]] == [1, 1, 2]


def test_a_saved_spec_runs_as_it_is_other_options_are_errors(wsdir, tmp_path):
    """Issue 19 item 5 (siblings): --spec next to an analysis option was silently ignored by rfm/repurchase."""
    saved = tmp_path / "rfm.json"
    r = yy("rfm", "-w", str(wsdir), "--model", "mean8", "--save-spec", str(saved), "-f", "json")
    assert r.returncode == 0, r.stderr
    again = yy("rfm", "-w", str(wsdir), "--spec", str(saved), "-f", "json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["segments"] == json.loads(r.stdout)["segments"]
    bad = yy("rfm", "-w", str(wsdir), "--spec", str(saved), "--bins", "3", "-f", "json")
    assert bad.returncode == 1 and "--bins" in bad.stderr and "--spec" in bad.stderr
    bad = yy("repurchase", "-w", str(wsdir), "--spec", '{"period": "week"}', "--period", "month")
    assert bad.returncode == 1 and "--period" in bad.stderr and "--spec" in bad.stderr
