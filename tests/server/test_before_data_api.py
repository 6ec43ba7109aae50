"""Issue 13, "a note whenever a period has no data", on the dashboard: ``/api/view/trends`` for a range starting
before the data marks the days before the first event "no data" and says when the data start — the first event's
local day in the workspace's time zone (Asia/Shanghai: 20:00 UTC on Tuesday 2 June is Wednesday 3 June there)."""
from __future__ import annotations

import json

from test_screens_api import post
from util import csv_workspace
from yyserver_helpers import ServerThread, create_key

LINES = ["user_id,event,ts", "u1,signup,2026-06-02T20:00:00Z", "u1,purchase,2026-06-02T20:30:00Z",
         "u2,signup,2026-06-04T02:00:00Z", "u1,purchase,2026-06-10T10:00:00Z"]


def test_the_dashboard_marks_days_before_the_data(tmp_path):
    csv_workspace(tmp_path, LINES, timezone="Asia/Shanghai").close()
    ws = tmp_path / "ws"
    token = create_key(ws, "read")
    spec = {"active": True, "measure": "users", "interval": "day", "date_from": "2026-06-01", "date_to": "2026-06-05"}
    with ServerThread(ws) as server:
        views = {lang: json.loads(post(server, token, f"/api/view/trends?lang={lang}", spec))["view"]
                 for lang in ("zh-Hans", "zh-Hant", "en")}
    want = {"zh-Hans": ("（无数据）", "数据从 2026-06-03 开始；之前的周期没有数据。"),
            "zh-Hant": ("（無資料）", "資料從 2026-06-03 開始；之前的週期沒有資料。"),
            "en": (" (no data)", "Data start on 2026-06-03; earlier periods have no data.")}
    for lang, (none, note) in want.items():
        view = views[lang]
        assert [t["date"] for t in view["table"]["texts"]] == \
            [f"2026-06-01{none}", f"2026-06-02{none}", "2026-06-03", "2026-06-04", "2026-06-05"], lang
        # active users per local day: u1 on 3 June (04:00, 04:30 local), u2 on 4 June (10:00 local)
        assert [r["value"] for r in view["table"]["rows"]] == [0, 0, 1, 1, 0]
        assert view["notes"] == [note]
