"""``yunying report``: the hand-worked example of docs/report.md, the incomplete last period, the section list,
the Excel workbook as a reader opens it (openpyxl) and the e-mail through a local SMTP server."""
from __future__ import annotations

import datetime as dt
import re

import openpyxl
import pytest
from report_helpers import WEEK_A, WEEK_B, shop

import yunying
from util import ROOT
from yunying.reports.weekly import build_report, choose_period, to_dict
from yunying.reports.weekly.html import render
from yunying.reports.weekly.model import Section
from yunying.reports.weekly.sections import SECTIONS


@pytest.fixture(scope="module")
def shop_ws(tmp_path_factory):
    return shop(tmp_path_factory.mktemp("report"))


def headline(report) -> dict:
    sec = next(s for s in report.sections if s.key == "headline")
    return {r["_name"]: r for r in sec.tables[0].rows}


def test_hand_worked_example(shop_ws):
    with yunying.open(shop_ws, read_only=True) as ws:
        rep = build_report(ws, period="week")
    p = rep.period
    assert (p.start, p.end, p.prev_start, p.prev_end, p.complete) == (WEEK_B, WEEK_B + dt.timedelta(days=6), WEEK_A,
                                                                      WEEK_A + dt.timedelta(days=6), True)
    h = headline(rep)
    # docs/report.md#worked-example: revenue 2,000 → 2,430 (+21.5 %), active 100 → 90 (−10 %), buyers 20 → 27
    # (+35 %), pay rate 20 % → 30 % (+10 pp), ARPPU 100 → 90 (−10 %)
    assert (h["revenue"]["previous"], h["revenue"]["current"]) == (2000.0, 2430.0)
    assert h["revenue"]["change"] == pytest.approx(0.215)
    assert h["active_users"]["change"] == pytest.approx(-0.10) and h["buyers"]["change"] == pytest.approx(0.35)
    assert (h["pay_rate"]["change"], h["pay_rate"]["_change_kind"]) == (pytest.approx(0.10), "points")
    assert h["arppu"]["change"] == pytest.approx(-0.10)
    assert {k: r["_tone"] for k, r in h.items()} == {"revenue": "good", "active_users": "bad", "buyers": "good",
                                                     "pay_rate": "good", "arppu": "bad"}
    page = render(rep)
    assert "<td class='num good'>▲ +10.0 pp</td>" in page and "<td class='num bad'>▼ -10.0%</td>" in page
    assert "CNY 2,430.00" in page
    moved = next(s for s in rep.sections if s.key == "what_moved")
    factors = {r["factor"]: r["contribution"] for r in moved.tables[0].rows}
    assert sum(factors.values()) == pytest.approx(430.0)  # the factors add up to the change


def test_incomplete_last_period_is_marked_and_compared_like_for_like(tmp_path):
    path = shop(tmp_path, third_week_days=3)
    with yunying.open(path, read_only=True) as ws:
        default = build_report(ws, period="week")
        rep = build_report(ws, period="week", start=WEEK_B + dt.timedelta(days=8), lang="zh-Hant")
    assert default.period.start == WEEK_B and default.period.complete  # the default: the last complete week
    p = rep.period
    assert (p.start, p.end, p.complete, p.days) == (WEEK_B + dt.timedelta(days=7), WEEK_B + dt.timedelta(days=9), False, 3)
    assert (p.prev_start, p.prev_end) == (WEEK_B, WEEK_B + dt.timedelta(days=2))  # the same 3 days of week B
    h = headline(rep)
    # week B's first 3 days: users 0..89 by i % 7 → days 0,1,2 hold 13 + 13 + 13 = 39 viewers, buyers 27 → 4+4+4 = 12
    assert (h["active_users"]["previous"], h["active_users"]["current"]) == (39.0, 30.0)
    assert (h["buyers"]["previous"], h["buyers"]["current"]) == (12.0, 9.0)
    chart = next(s for s in rep.sections if s.key == "headline").charts[0]
    assert chart.incomplete == len(chart.categories) - 1 and chart.categories[-1] == str(p.start)
    page = render(rep)
    assert "本週期尚未結束" in page and "截至目前" in page and "url(#hatch)" in page
    assert to_dict(rep)["period"]["complete"] is False


def test_choose_period_months():
    p = choose_period("month", dt.date(2026, 3, 31))
    assert (p.start, p.end, p.complete, p.prev_start, p.prev_end) == (
        dt.date(2026, 3, 1), dt.date(2026, 3, 31), True, dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    p = choose_period("month", dt.date(2026, 3, 30), dt.date(2026, 3, 5))
    assert (p.complete, p.prev_end) == (False, dt.date(2026, 2, 28))  # 30 days vs February's 28: capped


def test_a_section_is_one_function_and_a_failing_one_does_not_lose_the_report(shop_ws):
    def campaigns(ctx):
        return Section("campaigns", "Campaigns", paragraphs=[f"{ctx.period.start}"])

    def broken(ctx):
        raise RuntimeError("boom")

    with yunying.open(shop_ws, read_only=True) as ws:
        rep = build_report(ws, sections=[*SECTIONS, campaigns, broken])
    keys = [s.key for s in rep.sections]
    assert keys[-2:] == ["campaigns", "broken"] and "headline" in keys
    assert rep.sections[-1].note.endswith("RuntimeError: boom")


def test_workbook_as_a_reader_opens_it(shop_ws, tmp_path):
    from yunying.reports.weekly.xlsx import write

    path = tmp_path / "r.xlsx"
    with yunying.open(shop_ws, read_only=True) as ws:
        write(build_report(ws), path)
    wb = openpyxl.load_workbook(path)
    names = wb.sheetnames
    assert names[:3] == ["About", "Headline KPIs", "What moved"] and "Alerts that fired" in names
    sh = wb["Headline KPIs"]
    assert sh.freeze_panes == "B4"
    header = [c.value for c in sh[3]][:4]
    assert header == ["Metric", "This period", "Previous", "Change"]
    rows = {r[0].value: r for r in sh.iter_rows(min_row=4, max_row=8)}
    assert rows["Revenue"][1].value == 2430 and rows["Revenue"][1].number_format == '"CNY "#,##0.00'
    assert rows["Pay rate"][1].number_format == "0.0%" and rows["Pay rate"][3].value == pytest.approx(10.0)
    assert rows["Pay rate"][3].number_format.startswith('+0.0" pp"')
    assert rows["Active users"][1].number_format == "#,##0"
    assert rows["Active users"][3].font.color.rgb.endswith("C62828")  # red: fewer active users is bad news
    assert sh.column_dimensions["A"].width >= 12
    assert len(sh._charts) == 1
    chart = sh._charts[0]
    assert chart.tagname == "barChart" and len(chart.series) == 1


def test_docs_worked_example_table(shop_ws):
    """The table of docs/report.md#worked-example is what the report shows (formatted, with its colours)."""
    from yunying.reports.weekly.html import cell_kind, cell_text

    doc = (ROOT / "docs" / "report.md").read_text(encoding="utf-8").split("## Worked example")[1]
    want = [[c.strip() for c in line.strip("|").split("|")] for line in doc.splitlines()
            if line.startswith("| ") and not line.startswith("| Metric")]
    with yunying.open(shop_ws, read_only=True) as ws:
        rep = build_report(ws)
    table = next(s for s in rep.sections if s.key == "headline").tables[0]
    colour = {"good": " (green)", "bad": " (red)", None: ""}
    got = [[cell_text(r.get(c.key), cell_kind(c, r), rep.currency) + (colour[r["_tone"]] if c.key == "change" else "")
            for c in table.columns] for r in table.rows]
    assert got == want
    assert "add up to 430 exactly" in doc


def test_alerts_that_fired_in_the_period(tmp_path):
    from yunying.storage.alerts import AlertState

    path = shop(tmp_path)
    with AlertState(path) as state:
        for start, name in ((WEEK_B + dt.timedelta(days=2), "buyers anomaly"), (WEEK_A, "too old")):
            state.record(name, "fp", "day", start, "fired", 5.0,
                         {"metric": "buyers", "value": 5.0, "reference": 12.0,
                          "detail": {"label": "Buyers", "kind": "count", "condition": "anomaly"}}, [])
    with yunying.open(path, read_only=True) as ws:
        rep = build_report(ws, lang="zh-Hans")
    sec = next(s for s in rep.sections if s.key == "alerts")
    assert sec.title == "已触发的告警"
    assert [(r["rule"], r["period_start"], r["value"]) for r in sec.tables[0].rows] == [
        ("buyers anomaly", str(WEEK_B + dt.timedelta(days=2)), "5")]
