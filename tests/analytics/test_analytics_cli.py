"""CLI contracts of the product analytics commands (JSON shapes other tools rely on)."""
from __future__ import annotations

import csv
import io
import json

import pytest
from typer.testing import CliRunner

from yunying.cli import app
from yunying.errors import SpecError

from analytics_helpers import events_table

runner = CliRunner()

ROWS = [
    ("u1", "signup", "2024-01-01 09:00", {"channel": "feed"}), ("u1", "activate", "2024-01-01 10:00"),
    ("u1", "purchase", "2024-01-02 10:00", {"revenue": 30}), ("u1", "app_open", "2024-01-09 10:00"),
    ("u2", "signup", "2024-01-01 12:00", {"channel": "search"}), ("u2", "activate", "2024-01-03 12:00"),
    ("u2", "app_open", "2024-01-02 12:00"),
    ("u3", "signup", "2024-01-08 12:00", {"channel": "feed"}), ("u3", "app_open", "2024-01-15 08:00"),
]


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    import pyarrow.parquet as pq

    import yunying

    d = tmp_path_factory.mktemp("cli")
    path = d / "events.parquet"
    pq.write_table(events_table(ROWS), path)
    ws = yunying.Workspace.init(d / "ws")
    ws.import_events([str(path)])
    ws.close()
    return d


def run_json(*args):
    r = runner.invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0, (r.output, r.exception)
    return json.loads(r.stdout)


def test_funnel_json_contract(wsdir):
    d = run_json("funnel", "--workspace", str(wsdir / "ws"), "--steps", "signup,activate,purchase", "--window", "7d")
    assert [s["name"] for s in d["steps"]] == ["signup", "activate", "purchase"]
    assert [s["count"] for s in d["steps"]] == [3, 2, 1]
    assert [s["conversion_from_start"] for s in d["steps"]] == [1.0, 2 / 3, 1 / 3]


def test_funnel_on_a_file_with_options(wsdir):
    d = run_json("funnel", "--events", str(wsdir / "events.parquet"), "--steps", "signup,activate", "--window", "1d",
                 "--order", "strict", "--by", "channel", "--attribution", "first", "--interval", "week")
    assert [s["count"] for s in d["steps"]] == [3, 1]
    assert {b["value"]: b["steps"][1]["count"] for b in d["breakdown"]} == {"feed": 1, "search": 0}
    assert d["over_time"][0]["period"] == "2024-01-01"
    d = run_json("funnel", "--events", str(wsdir / "events.parquet"), "--steps", "signup,activate", "--window", "1d",
                 "--exclude", "app_open:1-2", "--repeat", "--from", "2024-01-01", "--to", "2024-01-07")
    assert [s["count"] for s in d["steps"]] == [1, 1] and d["counting"] == "attempts"


def test_funnel_dropped_users_csv(wsdir):
    r = runner.invoke(app, ["funnel", "--workspace", str(wsdir / "ws"), "--steps", "signup,activate,purchase",
                            "--window", "7d", "--dropped-after", "2", "--format", "csv"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["user_id"] for row in rows] == ["u2"]
    assert rows[0]["entered_at"].startswith("2024-01-01 12:00")


def test_retention_json_contract(wsdir):
    d = run_json("retention", "--workspace", str(wsdir / "ws"), "--start-event", "signup", "--return-event",
                 "app_open", "--period", "week", "--periods", "2", "--cohort", "first-time")
    assert d["cohorts"] == [c for c in d["cohorts"]]
    by = {c["cohort"]: (c["size"], c["retained"]) for c in d["cohorts"]}
    assert by == {"2024-01-01": (2, [2, 1, 0]), "2024-01-08": (1, [1, 1, 0])}
    d = run_json("retention", "--workspace", str(wsdir / "ws"), "--start-event", "signup", "--return-event",
                 "app_open", "--period", "day", "--periods", "3", "--cohort", "recurring", "--on-or-after")
    assert all(len(c["retained"]) == 4 for c in d["cohorts"])


def test_retention_brackets_value_and_csv(wsdir):
    d = run_json("retention", "--workspace", str(wsdir / "ws"), "--start-event", "signup", "--return-event",
                 "purchase", "--brackets", "1,2-7", "--value", "revenue", "--by", "channel")
    feed = next(c for c in d["cohorts"] if c["cohort"] == "2024-01-01" and c["breakdown"] == "feed")
    assert feed["retained"] == [1, 1, 0] and feed["value"] == [0.0, 30.0, 0.0]
    r = runner.invoke(app, ["retention", "--workspace", str(wsdir / "ws"), "--start-event", "signup",
                            "--period", "week", "--periods", "1", "--format", "csv"])
    assert r.exit_code == 0 and r.stdout.splitlines()[0] == "cohort,size,week 0,week 1,week 0 rate,week 1 rate"


def test_lifecycle_stickiness_paths_trends_json(wsdir):
    ws = str(wsdir / "ws")
    d = run_json("lifecycle", "--workspace", ws, "--period", "week")
    assert [(p["period"], p["new"], p["returning"], p["dormant"]) for p in d["periods"]] == \
        [("2024-01-01", 2, 0, 0), ("2024-01-08", 1, 1, 1), ("2024-01-15", 0, 1, 1)]
    d = run_json("stickiness", "--workspace", ws, "--period", "week")
    assert d["periods"][0]["active_users"] == 2 and d["periods"][0]["days_active"][:3] == [0, 1, 1]
    r = runner.invoke(app, ["stickiness", "--workspace", ws, "--period", "week", "--format", "csv"])
    header, first = r.stdout.splitlines()[:2]
    assert r.exit_code == 0 and header.endswith(",active 1 day,active 2 days,active 3 days,active 4 days,"
                                                "active 5 days,active 6 days,active 7 days")
    assert "[" not in r.stdout and first.split(",")[-7:-4] == ["0", "1", "1"]
    d = run_json("stickiness", "--workspace", ws, "--per-user", "--event", "app_open")
    assert d["histogram"][0] == {"bucket": "1", "min_events": 1, "max_events": 1, "users": 3, "share": 1.0}
    d = run_json("stickiness", "--workspace", ws, "--between", "signup,activate")
    assert d["pairs"] == 2
    d = run_json("paths", "--workspace", ws, "--event", "signup", "--depth", "2", "--min-share", "0")
    assert {(e["step"], e["source"], e["target"], e["count"]) for e in d["edges"]} == {
        (1, "signup", "activate", 1), (1, "signup", "app_open", 2), (2, "activate", "purchase", 1),
        (2, "app_open", "activate", 1)}
    d = run_json("trends", "--workspace", ws, "--event", "signup", "--measure", "users", "--interval", "week")
    assert [(s["date"], s["value"]) for s in d["series"]] == [("2024-01-01", 2), ("2024-01-08", 1)]
    d = run_json("trends", "--workspace", ws, "--event", "purchase", "--event", "signup", "--formula", "A/B",
                 "--interval", "week")
    assert [s["value"] for s in d["series"]] == [0.5, 0.0]
    d = run_json("trends", "--workspace", ws, "--event", "signup", "--interval", "week", "--compare",
                 "--from", "2024-01-08", "--to", "2024-01-14")
    assert d["series"] == [{"date": "2024-01-08", "value": 1, "previous_date": "2024-01-01", "previous_value": 2,
                            "change": -0.5}]
    d = run_json("trends", "--workspace", ws, "--event", "signup", "--by", "channel", "--interval", "week")
    assert {(s["date"], s["channel"], s["value"]) for s in d["series"]} >= {("2024-01-01", "feed", 1)}


def test_saved_specs_round_trip(wsdir, tmp_path):
    spec = tmp_path / "f.json"
    a = run_json("funnel", "--workspace", str(wsdir / "ws"), "--steps", "signup,activate", "--window", "1d",
                 "--save-spec", str(spec))
    assert json.loads(spec.read_text())["kind"] == "funnel"
    b = run_json("funnel", "--workspace", str(wsdir / "ws"), "--spec", str(spec))
    assert a == b
    r = runner.invoke(app, ["retention", "--workspace", str(wsdir / "ws"), "--spec", str(spec)])
    assert isinstance(r.exception, SpecError)


def test_errors_are_spec_errors(wsdir):
    for args in (["funnel", "--steps", "a"], ["funnel", "--steps", "a,b", "--window", "soon"],
                 ["funnel", "--steps", "a,b", "--attribution", "middle"],
                 ["retention", "--periods", "0"], ["paths"], ["stickiness", "--between", "a"]):
        r = runner.invoke(app, [*args, "--workspace", str(wsdir / "ws")])
        assert isinstance(r.exception, SpecError), (args, r.output)
