"""docs/overview.md's worked example, computed by yunying."""
from __future__ import annotations

import pytest

from util import write
from yunying.analyses.overview import overview

EVENTS = """distinct_id,user_id,event,timestamp,channel,utm_source,revenue
a1,,ad_click,2026-06-01T09:00:00Z,search,,
a1,u1,signup,2026-06-01T10:00:00Z,,,
u1,u1,activate,2026-06-01T12:00:00Z,,,
u1,u1,app_open,2026-06-09T08:00:00Z,,,
u1,u1,purchase,2026-06-09T09:00:00Z,,,50
u2,u2,signup,2026-06-03T10:00:00Z,,,
u2,u2,purchase,2026-06-04T10:00:00Z,,,20
u2,u2,app_open,2026-06-10T10:00:00Z,,,
u3,u3,signup,2026-06-09T08:00:00Z,feed,,
u3,u3,purchase,2026-06-10T10:00:00Z,,,30
u3,u3,activate,2026-06-11T09:00:00Z,,,
u3,u3,purchase,2026-06-12T10:00:00Z,,,10
u4,u4,signup,2026-06-10T09:00:00Z,,search,
u4,u4,activate,2026-06-10T10:00:00Z,,,
u4,u4,app_open,2026-06-14T20:00:00Z,,,
"""
SPEND = """date,channel,cost
2026-06-02,search,100
2026-06-09,search,60
2026-06-09,feed,40
"""

EXPECTED = {
    "new_users": (2, 2), "spend": (100, 100), "cost_per_registration": (50, 100),
    "activation_rate": (0.5, 0.5), "dau_avg": (8 / 7, 3 / 7), "wau": (4, 2),
    "week1_retention": (1.0, None), "revenue": (90, 20), "paying_users": (2, 1),
    "purchases": (3, 1), "arppu": (45, 20),
}


def test_worked_example(ws, tmp_path):
    ws.import_events(str(write(tmp_path / "e.csv", EVENTS)))
    ws.import_spend(str(write(tmp_path / "s.csv", SPEND)))
    out = overview(ws.engine).to_dict()
    assert out["week"] == "2026-06-08" and out["previous_week"] == "2026-06-01"
    got = {m["key"]: (m["current"], m["previous"]) for m in out["metrics"]}
    for key, (cur, prev) in EXPECTED.items():
        assert got[key][0] == pytest.approx(cur), key
        if prev is None:
            assert got[key][1] is None, key
        else:
            assert got[key][1] == pytest.approx(prev), key
    change = {m["key"]: m["change"] for m in out["metrics"]}
    assert change["revenue"] == pytest.approx(3.5) and change["new_users"] == 0 and change["week1_retention"] is None
    chans = {c["channel"]: c for c in out["channels"]}
    assert chans["feed"]["new_users"] == 1 and chans["direct/unknown"]["previous"] == 1


def test_excel_and_html_reports(ws, tmp_path):
    import pandas as pd

    from yunying.reports.overview import write_overview_html, write_overview_xlsx

    ws.import_events(str(write(tmp_path / "e.csv", EVENTS)))
    ws.import_spend(str(write(tmp_path / "s.csv", SPEND)))
    res = overview(ws.engine)
    write_overview_xlsx(res, tmp_path / "o.xlsx")
    sheet = pd.read_excel(tmp_path / "o.xlsx", sheet_name="Overview", skiprows=2)
    row = sheet[sheet["Metric"] == "Revenue"].iloc[0]
    assert (row["This week"], row["Previous week"]) == (90, 20)
    chans = pd.read_excel(tmp_path / "o.xlsx", sheet_name="Channels")
    assert set(chans["Channel"]) == {"search", "feed", "direct/unknown"}
    page = write_overview_html(ws.engine, res, tmp_path / "o.html").read_text(encoding="utf-8")
    assert "CNY 90.00" in page and "▲ +350.0%" in page
    # 简体 too (issue 13): sheet, headers and the page in simplified Chinese
    write_overview_xlsx(res, tmp_path / "zh.xlsx", lang="zh-Hans")
    sheet = pd.read_excel(tmp_path / "zh.xlsx", sheet_name="概览", skiprows=2)
    assert sheet[sheet["指标"] == "收入"].iloc[0]["本周"] == 90
    page = write_overview_html(ws.engine, res, tmp_path / "zh.html", lang="zh-Hans").read_text(encoding="utf-8")
    assert '<html lang="zh-Hans">' in page and "概览" in page and "收入" in page and "營收" not in page
