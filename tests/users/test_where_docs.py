"""The worked example of docs/users.md#where-each-filter-applies, re-computed (through the CLI's analyses and the
command line itself), and the example's figures found in the page."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from users_helpers import make_ws

from yunying.analyses.rfm import rfm
from yunying.analyses.users import new_users, revenue

DOC = Path(__file__).resolve().parents[2] / "docs" / "users.md"
ROWS = [
    ("u1", "signup", "2024-01-01 09:00", None, "ios"), ("u1", "purchase", "2024-01-02 09:00", 100, "android"),
    ("u1", "purchase", "2024-01-03 09:00", 50, "ios"),
    ("u2", "signup", "2024-01-01 10:00", None, "android"), ("u2", "signup", "2024-01-05 10:00", None, "ios"),
    ("u2", "purchase", "2024-01-05 11:00", 30, "ios"),
    ("u3", "signup", "2024-01-02 12:00", None, "ios"),
]
IOS, PRO = "event.platform = 'ios'", "user.plan = 'pro'"


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = make_ws([{"user_id": u, "event": e, "ts": t, "revenue": r, "props": {"platform": p}} for u, e, t, r, p in ROWS],
                directory=tmp_path_factory.mktemp("wheredoc"))
    plans = {"u1": "pro", "u2": "free", "u3": "pro"}
    w.set_profiles(pa.table({"id": list(plans), "key": ["plan"] * 3, "value": [json.dumps(v) for v in plans.values()],
                             "set_at": pa.array([dt.datetime(2024, 1, 1)] * 3, pa.timestamp("us")), "once": [False] * 3}))
    yield w
    w.close()


def nonzero(frame, col):
    return {str(r["date"]): r[col] for _, r in frame.iterrows() if r[col]}


def test_the_worked_example(ws):
    e = ws.engine
    assert nonzero(new_users(e, filters=[IOS]).frame, "new_users") == {"2024-01-01": 1, "2024-01-02": 1}
    assert nonzero(new_users(e, filters=[PRO]).frame, "new_users") == {"2024-01-01": 1, "2024-01-02": 1}
    assert nonzero(new_users(e).frame, "new_users") == {"2024-01-01": 2, "2024-01-02": 1}  # unfiltered: u2 too
    r = revenue(e, filters=[IOS]).frame
    assert (r["revenue"].sum(), r["purchases"].sum(), nonzero(r, "paying_users")) == (
        80, 2, {"2024-01-03": 1, "2024-01-05": 1})
    r = revenue(e, filters=[PRO]).frame
    assert (r["revenue"].sum(), r["purchases"].sum(), r["paying_users"].max()) == (150, 2, 1)
    got = {x["user_id"]: (x["frequency"], x["monetary"]) for x in rfm(e, filters=[IOS]).records()}
    assert got == {"u1": (1, 50.0), "u2": (1, 30.0)}
    got = {x["user_id"]: (x["frequency"], x["monetary"]) for x in rfm(e, filters=[PRO]).records()}
    assert got == {"u1": (2, 150.0)}


def test_the_page_states_these_figures():
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## Where each filter applies"):text.index("**Breakdowns by who the users are.**")]
    for line in ("| `trends --new-users` | 2 new users: u1 (Jan 1), u3 (Jan 2); u2's first signup was on android | 2: u1 "
                 "(Jan 1), u3 (Jan 2) |",
                 "| `trends --revenue` | 80 from 2 purchases by 2 paying users (u1 on Jan 3, u2 on Jan 5) | 150 from 2 "
                 "purchases by 1 paying user (u1) |",
                 "| `rfm` | 2 buyers: u1 (F 1, M 50), u2 (F 1, M 30) | 1 buyer: u1 (F 2, M 150) |"):
        assert line in section


def test_the_command_line_applies_them(ws):
    def yy(*a):
        r = subprocess.run([sys.executable, "-m", "yunying", *a, "-w", str(ws.path), "-f", "json"],
                           capture_output=True, text=True, timeout=300)
        return r

    ws.close()  # the CLI opens the workspace itself
    r = yy("trends", "--revenue", "--where", IOS, "--by", "user.plan")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["series"]
    assert {(x["breakdown"], x["revenue"]) for x in rows if x["revenue"]} == {("pro", 50.0), ("free", 30.0)}
    r = yy("trends", "--new-users", "--where", PRO, "--by", "event.platform")
    assert r.returncode == 0, r.stderr
    assert sum(x["value"] for x in json.loads(r.stdout)["series"] if x["breakdown"] == "ios") == 2
    r = yy("trends", "--revenue", "--by", "channel")
    assert r.returncode != 0 and "user.$first_channel" in r.stderr and "Traceback" not in r.stderr


def test_the_query_api_carries_the_filters(ws):
    from fastapi.testclient import TestClient

    from yunying.server.app import create_app

    ws.close()
    key = subprocess.run([sys.executable, "-m", "yunying", "keys", "create", "-w", str(ws.path), "--kind", "read"],
                         capture_output=True, text=True, timeout=300).stdout.strip().splitlines()[-1].strip()
    with TestClient(create_app([ws.path]), raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {key}"

        def post(kind, body):
            resp = client.post(f"/api/query/{kind}", json=body)
            assert resp.status_code == 200, resp.text
            return resp.json()

        assert sum(r["revenue"] for r in post("revenue", {"filters": [IOS]})["series"]) == 80
        assert sum(r["new_users"] for r in post("new_users", {"filters": [PRO], "by": "event.platform"})["series"]) == 2
        rows = post("attribution", {"filters": [PRO], "models": ["first"]})["rows"]
        assert sum(r["registrations_first"] for r in rows) == 2  # u1 and u3, direct/unknown (no touches)
        resp = client.post("/api/query/revenue", json={"filters": ["event.platfrom = 'ios'"]})
        assert resp.status_code == 400 and "did you mean event.platform" in resp.json()["error"]
