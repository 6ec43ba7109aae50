"""The CLI as a user runs it: contracts, formats and error messages without tracebacks."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from util import write

EVENTS = """user_id,event,timestamp,channel,revenue
u1,signup,2026-06-01T10:00:00Z,search,
u1,purchase,2026-06-02T10:00:00Z,,10
u2,signup,2026-06-02T11:00:00Z,feed,
u2,app_open,2026-06-09T11:00:00Z,,
u3,app_open,2026-06-09T23:30:00Z,,
"""


def yy(*args, cwd=None):
    r = subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, cwd=cwd, timeout=300)
    return r


@pytest.fixture
def wsdir(tmp_path):
    d = tmp_path / "w"
    assert yy("init", str(d)).returncode == 0
    assert yy("import", "events", str(write(tmp_path / "e.csv", EVENTS)), "-w", str(d)).returncode == 0
    return d


def test_trends_json_contract(wsdir):
    r = yy("trends", "--workspace", str(wsdir), "--active", "--measure", "users", "--interval", "week", "--format", "json")
    assert r.returncode == 0, r.stderr
    series = json.loads(r.stdout)["series"]
    assert series == [{"date": "2026-06-01", "value": 2}, {"date": "2026-06-08", "value": 2}]
    r = yy("trends", "--workspace", str(wsdir), "--event", "signup", "--measure", "count", "--interval", "day",
           "--by", "channel", "--format", "json")
    s = json.loads(r.stdout)["series"]
    assert {"date": "2026-06-01", "breakdown": "search", "channel": "search", "value": 1} in s
    assert {"date": "2026-06-01", "breakdown": "feed", "channel": "feed", "value": 0} in s   # zero-filled


def test_trends_on_a_file_and_csv(tmp_path):
    f = write(tmp_path / "e.csv", EVENTS)
    r = yy("trends", "--events", str(f), "--event", "purchase", "--measure", "sum", "--property", "revenue",
           "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == ["date,value", "2026-06-02,10.0"]


def test_timezone_moves_day_boundaries(tmp_path):
    d = tmp_path / "sh"
    yy("init", str(d), "--timezone", "Asia/Shanghai")
    yy("import", "events", str(write(tmp_path / "e.csv", EVENTS)), "-w", str(d))
    r = yy("trends", "-w", str(d), "--event", "app_open", "--measure", "users", "--format", "json")
    # 2026-06-09T23:30Z is 06-10 07:30 in Shanghai
    assert json.loads(r.stdout)["series"] == [{"date": "2026-06-09", "value": 1}, {"date": "2026-06-10", "value": 1}]


@pytest.mark.parametrize("args,needle", [
    (["trends", "--event", "x", "--measure", "sum"], "needs property"),
    (["trends", "--event", "x", "--interval", "year"], "interval"),
    (["trends", "--active", "--format", "xml"], "--format must be"),
    (["import", "events", "nope.csv"], "nope.csv: no such file"),
    # every date option is read by cli.common.parse_day: the option named, what was expected, what came
    (["alerts", "history", "--since", "2026-13-01"], "--since: expected a date YYYY-MM-DD (got '2026-13-01')"),
    (["alerts", "test", "r", "--period-start", "soon"], "--period-start: expected a date YYYY-MM-DD (got 'soon')"),
    (["report", "--start", "03/02/2026"], "--start: expected a date YYYY-MM-DD (got '03/02/2026')"),
])
def test_errors_are_one_clear_line(wsdir, args, needle):
    r = yy(*args, "-w", str(wsdir))
    assert r.returncode != 0
    assert needle in r.stderr
    assert "Traceback" not in r.stderr


def test_parse_day():
    import datetime as dt

    from yunying.cli.common import parse_day
    from yunying.errors import SpecError

    assert parse_day(None, "--as-of") is None
    assert parse_day(" 2026-03-02 ", "--as-of") == dt.date(2026, 3, 2)
    with pytest.raises(SpecError, match=r"^--as-of: expected a date YYYY-MM-DD \(got ''\)$"):
        parse_day("", "--as-of")


def test_not_a_workspace(tmp_path):
    r = yy("trends", "--active", "-w", str(tmp_path))
    assert r.returncode == 1 and "is not a yunying workspace" in r.stderr and "Traceback" not in r.stderr
    r = yy("--debug", "trends", "--active", "-w", str(tmp_path))
    assert "Traceback" in r.stderr


def test_bad_import_via_cli_changes_nothing(wsdir, tmp_path):
    bad = write(tmp_path / "bad.csv", "user_id,event,timestamp\nu9,open,2026-06-01\nu9,open,soon\n")
    r = yy("import", "events", str(bad), "-w", str(wsdir))
    assert r.returncode == 1 and "row 2 (line 3)" in r.stderr and "nothing was imported" in r.stderr
    info = json.loads(yy("info", "-w", str(wsdir), "--format", "json").stdout)
    assert info["events"] == 5


def test_new_users_and_revenue_series(wsdir):
    r = yy("trends", "-w", str(wsdir), "--new-users", "--by", "channel", "--interval", "week", "--format", "json")
    s = json.loads(r.stdout)["series"]
    assert sorted((x["channel"], x["value"]) for x in s if x["date"] == "2026-06-01") == [("feed", 1), ("search", 1)]
    r = yy("trends", "-w", str(wsdir), "--revenue", "--interval", "week", "--format", "json")
    s = json.loads(r.stdout)["series"]
    assert s[0]["value"] == 10 and s[0]["paying_users"] == 1


def test_python_api(wsdir):
    import yunying

    with yunying.open(wsdir) as ws:
        res = yunying.trends(ws, active=True, measure="users", interval="week")
        assert res.to_pandas()["value"].tolist() == [2, 2]
        assert res.to_arrow().num_rows == 2
        assert json.loads(res.to_json())["series"][0]["value"] == 2
        assert res.chart().data[0].y.tolist() == [2, 2]
        same = yunying.analysis("trends", ws, {"active": True, "measure": "users", "interval": "week"})
        assert same.to_dict()["series"] == res.to_dict()["series"]


def test_spec_round_trips_through_json():
    from yunying.analyses.trends import TrendsSpec
    from yunying.errors import SpecError

    spec = TrendsSpec.build(event="purchase", measure="sum", property="revenue", by="channel", date_from="2026-06-01")
    again = TrendsSpec.parse(spec.to_json())
    assert again == spec
    with pytest.raises(SpecError, match="not 'funnel'|spec is for"):
        TrendsSpec.parse('{"kind": "funnel", "event": "x"}')
    with pytest.raises(SpecError, match="colour: Extra inputs are not permitted"):
        TrendsSpec.parse({"event": "x", "colour": "red"})


@pytest.mark.parametrize("args", [
    ["trends", "--event", "sigup"],
    ["retention", "--start-event", "sigup", "--return-event", "app_open"],
    ["funnel", "--steps", "sigup,purchase", "--window", "7d"],
])
def test_unknown_event_names_suggest_the_right_one(wsdir, args):
    r = yy(*args, "-w", str(wsdir))
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert "event 'sigup' does not occur in this data; did you mean 'signup'?" in r.stderr


def test_top_level_python_api(wsdir):
    import yunying

    with yunying.open(wsdir) as ws:
        f = yunying.funnel(ws, steps=["signup", "purchase"], window="7d").to_dict()
        assert [s["count"] for s in f["steps"]] == [2, 1]
        r = yunying.retention(ws, start_event="signup", return_event="$any", period="week", periods=1).to_dict()
        assert r["cohorts"][0]["size"] == 2 and r["cohorts"][0]["retained"][1] == 1
        import csv
        import io

        from yunying.analyses.base import Result
        import pandas as pd

        res = Result(None, pd.DataFrame({"k": ["a"], "hist": [[1, 2, 3]], "m": [{"x": None}]}))
        rows = list(csv.DictReader(io.StringIO(res.to_csv())))
        assert json.loads(rows[0]["hist"]) == [1, 2, 3] and json.loads(rows[0]["m"]) == {"x": None}


def test_map_and_target_options_are_checked(wsdir, tmp_path):
    f = write(tmp_path / "e.csv", EVENTS)
    r = yy("import", "events", str(f), "-w", str(wsdir), "--map", "colour=plan")
    assert r.returncode == 1 and "'colour' is not a field yunying knows" in r.stderr
    r = yy("trends", "--active", "-w", str(wsdir), "--events", str(f))
    assert r.returncode == 1 and "not both" in r.stderr


def test_funnel_breakdown_csv_keeps_every_group(wsdir):
    import csv
    import io

    r = yy("funnel", "-w", str(wsdir), "--steps", "signup,purchase", "--window", "7d", "--by", "channel",
           "--format", "csv")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    got = {(x["breakdown"], x["name"]): int(x["count"]) for x in rows}
    assert got[("search", "signup")] == 1 and got[("search", "purchase")] == 1
    assert got[("feed", "signup")] == 1 and got[("feed", "purchase")] == 0
