"""Issue 11 (dashboard side): segments through the query API and the /segments page, the filter bar on the
analysis pages. Sizes, members and filtered counts are checked against ``analyses/segments.py`` and the CLI
(``yunying funnel --where``) run on the same workspace; exports are read back with csv / openpyxl."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil

import httpx
import openpyxl
import pytest

from test_dashboard_browser import SHOTS, open_site, settle
from yyserver_helpers import run_cli

pytestmark = pytest.mark.browser

CITIES = ["上海", "北京", "O'Brien \"town\"", "深圳"]
AS_OF = "2026-07-12"  # the demo's last day
RULE = "did purchase at least 1 times in the last 30 days and user.city = '上海'"


@pytest.fixture(scope="module")
def site(tmp_path_factory, demo_template):
    """The demo with profiles: a city for every user (Chinese, and one with both quotes)."""
    import yunying.engines  # noqa: F401
    from yunying.storage.workspace import Workspace

    tmp = tmp_path_factory.mktemp("segments")
    ws_dir = tmp / "demo"
    shutil.copytree(demo_template, ws_dir)
    with Workspace.open(ws_dir) as ws:
        ids = sorted(r[0] for r in ws.con.execute("SELECT user_id FROM users").fetchall())
        with open(tmp / "users.csv", "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f)
            w.writerow(["user_id", "city", "plan"])
            for i, uid in enumerate(ids):
                w.writerow([uid, CITIES[i % len(CITIES)], "=1+1" if i % 7 == 0 else f"p{i % 3}"])
        ws.import_users([str(tmp / "users.csv")])
    yield from open_site(ws_dir)


def oracle(site, rule: str, as_of: str = AS_OF) -> list[str]:
    """The members by analyses/segments.py on the published workspace (what `yunying segments` reads)."""
    from yunying import Workspace
    from yunying.analyses import segments as S

    with Workspace.open(site.ws, read_only=True) as ws:
        return S.evaluate(ws.engine, rule, ws.segment, dt.date.fromisoformat(as_of))


def call(site, method: str, path: str, body=None, **params):
    resp = site.page.request.fetch(f"{site.url}{path}", method=method, params=params or None,
                                   data=json.dumps(body) if body is not None else None,
                                   headers={"Content-Type": "application/json"})
    return resp.status, (resp.json() if "json" in resp.headers.get("content-type", "") else resp.body())


# -- the query API --------------------------------------------------------------------------------------
def test_segments_api_round_trip(site):
    from yunying.model import segments as R

    # a read token is needed, as everywhere under /api
    assert httpx.get(f"{site.url}/api/segments").status_code == 401
    ok = httpx.get(f"{site.url}/api/segments", headers={"Authorization": f"Bearer {site.token}"})
    assert ok.status_code == 200 and ok.json()["segments"] == []

    # the live size of an unsaved rule, as text and as its JSON tree, equals analyses/segments.py
    want = oracle(site, RULE)
    assert len(want) > 0
    status, got = call(site, "POST", "/api/segments/preview", {"rule": RULE, "as_of": AS_OF})
    assert status == 200 and got["users"] == len(want)
    tree = R.to_json(R.parse(RULE))
    status, got = call(site, "POST", "/api/segments/preview", {"rule": tree, "as_of": AS_OF})
    assert status == 200 and got["users"] == len(want) and R.parse(got["rule"]) == R.parse(RULE)

    # create from the tree; show gives the text and the tree back; size as of the last day
    status, got = call(site, "POST", "/api/segments", {"name": "上海买家", "rule": tree})
    assert status == 201 and got["segment"]["kind"] == "dynamic"
    status, got = call(site, "GET", "/api/segments/上海买家", as_of=AS_OF)
    seg = got["segment"]
    assert R.parse(seg["rule"]) == R.parse(RULE) and R.from_json(seg["tree"]) == R.parse(RULE)
    assert seg["users"] == len(want)
    status, got = call(site, "GET", "/api/segments/上海买家/size", as_of=AS_OF)
    assert got["users"] == len(want)

    # size over weeks: each equals the evaluation as of that week's end
    status, got = call(site, "GET", "/api/segments/上海买家/size", over="week", **{"from": "2026-06-01", "to": AS_OF})
    assert status == 200 and got["sizes"][-1]["as_of"] == AS_OF
    for row in got["sizes"]:
        assert row["users"] == len(oracle(site, RULE, row["as_of"])), row
    assert [r["users"] for r in got["sizes"]] != [0] * len(got["sizes"])

    # a static segment from ids; a rule referring to it; delete refused while referred to
    ids = want[:3]
    status, got = call(site, "POST", "/api/segments", {"name": "vip list", "kind": "static", "user_ids": ids})
    assert status == 201 and got["segment"]["users"] == 3
    status, got = call(site, "POST", "/api/segments", {"name": "vip buyers", "rule": "in segment 'vip list'"})
    assert got["segment"]["users"] == 3
    status, got = call(site, "DELETE", "/api/segments/vip list")
    assert status == 400 and "vip buyers" in got["error"]
    assert call(site, "DELETE", "/api/segments/vip buyers")[0] == 200
    assert call(site, "DELETE", "/api/segments/vip list")[0] == 200
    names = [s["name"] for s in call(site, "GET", "/api/segments")[1]["segments"]]
    assert names == ["上海买家"]

    # a malformed rule is a 400 that points at the column
    status, got = call(site, "POST", "/api/segments/preview", {"rule": "did purchase at lest 2 times"})
    assert status == 400 and "column" in got["error"] and got["details"]["column"] == 17


def test_segment_export_csv_and_xlsx(site):
    if call(site, "GET", "/api/segments/上海买家")[0] != 200:
        call(site, "POST", "/api/segments", {"name": "上海买家", "rule": RULE})
    members = oracle(site, RULE)
    assert members
    status, body = call(site, "GET", "/api/segments/上海买家/export", format="csv", properties="city,plan", as_of=AS_OF)
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8"))))
    assert status == 200 and [r["user_id"] for r in rows] == members
    assert all(r["city"] == "上海" for r in rows)
    status, body = call(site, "GET", "/api/segments/上海买家/export", format="xlsx", properties="city,plan", as_of=AS_OF)
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    values = list(sheet.values)
    assert values[0] == ("user_id", "city", "plan") and [v[0] for v in values[1:]] == members
    assert all(isinstance(v[2], str) for v in values[1:])  # "=1+1" stays text, never a formula
    status, got = call(site, "GET", "/api/segments/上海买家/export", format="csv", properties="citty")
    assert status == 400 and "did you mean user.city" in got["error"]
