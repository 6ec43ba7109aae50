"""Issue 13, "a note whenever a period has no data": a range starting before the data (trends from 2026-05-18 when
the data start on Wednesday 2026-06-03) showed rows of zeros people read as a real zero. The rows of periods that
end before the first event now say "no data" and a note says when the data start, as rows after the last event do
(test_audit_walk.py) — in the CLI's tables and in ``people_view`` (the dashboard's table and notes). The period
holding the first event has data: it is not marked. Hand-worked on a five-event workspace, three languages."""
from __future__ import annotations

import datetime as dt

import pytest

from test_operator_walk import cli_workspace, rows_of
from test_untranslated import cli
from yunying.reports.view import people_view

# Wednesday 2026-06-03 09:00 (UTC) … Wednesday 2026-06-10 18:00: purchases on 3 June, 8 June and 10 June
EVENTS = """user_id,event,time
u1,signup,2026-06-03 09:00:00
u1,purchase,2026-06-03 10:00:00
u2,signup,2026-06-04 12:00:00
u2,purchase,2026-06-08 08:00:00
u1,purchase,2026-06-10 18:00:00
"""
FIRST, LAST = dt.datetime(2026, 6, 3, 9, 0), dt.datetime(2026, 6, 10, 18, 0)

LANGS = {  # the row mark, the incomplete mark, the note
    "zh-Hans": ("（无数据）", "（未完整）", "数据从 2026-06-03 开始；之前的周期没有数据。"),
    "zh-Hant": ("（無資料）", "（未完整）", "資料從 2026-06-03 開始；之前的週期沒有資料。"),
    "en": (" (no data)", " (incomplete)", "Data start on 2026-06-03; earlier periods have no data."),
}


@pytest.fixture(scope="module")
def wednesday(tmp_path_factory):
    return cli_workspace(tmp_path_factory.mktemp("before"), EVENTS)


def trends(ws, lang: str, interval: str, start: str, end: str) -> tuple[list[list[str]], str]:
    out = cli(["trends", "--event", "purchase", "--interval", interval, "--from", start, "--to", end, "-w", str(ws)],
              lang)
    return rows_of(out), out


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_weeks_before_the_first_event_read_no_data(wednesday, lang):
    none, part, note = LANGS[lang]
    # weeks of 18 May and 25 May end (24, 31 May) before Wednesday 3 June: no data; the week of 1 June holds the
    # first event (1 purchase) — it has data, unmarked; the week of 8 June is the last, partial one (2 purchases)
    rows, out = trends(wednesday, lang, "week", "2026-05-18", "2026-06-14")
    assert [r[0] for r in rows] == [f"2026-05-18{none}", f"2026-05-25{none}", "2026-06-01", f"2026-06-08{part}"]
    assert [r[1] for r in rows] == ["0", "0", "1", "2"]
    assert note in out
    # a range starting on a Thursday: its first row is the week of Monday 18 May, still before the data
    rows, _ = trends(wednesday, lang, "week", "2026-05-21", "2026-06-07")
    assert [r[0] for r in rows] == [f"2026-05-18{none}", f"2026-05-25{none}", "2026-06-01"]


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_days_before_the_first_event_read_no_data(wednesday, lang):
    none, _, note = LANGS[lang]
    # 1 and 2 June: before the data; 3 June: the first day (1 purchase); 4 and 5 June: real zeros inside the data
    rows, out = trends(wednesday, lang, "day", "2026-06-01", "2026-06-05")
    assert [r[0] for r in rows] == [f"2026-06-01{none}", f"2026-06-02{none}", "2026-06-03", "2026-06-04", "2026-06-05"]
    assert [r[1] for r in rows] == ["0", "0", "1", "0", "0"]
    assert note in out and out.count(none) == 2


@pytest.mark.parametrize("lang", sorted(LANGS))
@pytest.mark.parametrize("interval,start,end", [
    ("day", "2026-06-03", "2026-06-05"),   # starting on the first event's day
    ("week", "2026-06-01", "2026-06-07"),  # starting on the week holding the first event
    ("day", "2026-06-04", "2026-06-09"),   # starting after the first event
    ("week", "2026-06-08", "2026-06-14"),
])
def test_a_range_from_the_data_on_has_no_mark_nor_note(wednesday, lang, interval, start, end):
    none, _, note = LANGS[lang]
    rows, out = trends(wednesday, lang, interval, start, end)
    assert rows and not any(r[0].endswith(none) for r in rows)
    assert note not in out and note.split("2026-06-03")[0] not in out


def view_rows(interval: str, days: list[str], first, lang: str = "en") -> dict:
    rows = [{"date": d, "value": 0} for d in days]
    return people_view("trends", {"result": {"rows": rows}, "rows_key": "rows"}, {"interval": interval}, lang=lang,
                       data_start=first, data_end=LAST)


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_people_view_marks_and_notes_as_the_cli(lang):
    none, part, note = LANGS[lang]
    view = view_rows("week", ["2026-05-18", "2026-05-25", "2026-06-01", "2026-06-08"], FIRST, lang)
    assert [t["date"] for t in view["table"]["texts"]] == \
        [f"2026-05-18{none}", f"2026-05-25{none}", "2026-06-01", f"2026-06-08{part}"]
    assert view["notes"][0] == note and len(view["notes"]) == 2  # then the incomplete last week's note
    assert [r["date"] for r in view["table"]["rows"]] == ["2026-05-18", "2026-05-25", "2026-06-01", "2026-06-08"]
    months = view_rows("month", ["2026-04-01", "2026-05-01", "2026-06-01"], FIRST, lang)
    assert [t["date"] for t in months["table"]["texts"]] == \
        [f"2026-04-01{none}", f"2026-05-01{none}", f"2026-06-01{part}"]


@pytest.mark.parametrize("kind", ["scatter", "bar"])
def test_the_chart_leaves_a_gap_under_a_no_data_band(kind):
    """Weekly points of 18 May … 8 June, data from Wednesday 3 June: the first two have no value (not 0) under a band
    from 18 May to 1 June (a line's points) or from 14 May 12:00 to 28 May 12:00 (bars stand centred on their date)."""
    def chart(first, lang):
        fig = {"data": [{"type": kind, "x": ["2026-05-18", "2026-05-25", "2026-06-01", "2026-06-08"],
                         "y": [0, 0, 1, 2]}], "layout": {}}
        return people_view("trends", {"result": {"rows": []}, "rows_key": "rows", "figure": fig},
                           {"interval": "week"}, lang=lang, data_start=first,
                           data_end=dt.datetime(2026, 6, 14, 23, 59))["figure"]  # the last week whole

    got = chart(FIRST, "zh-Hans")
    assert got["data"][0]["y"] == [None, None, 1, 2]
    band = next(s for s in got["layout"]["shapes"] if s["name"] == "no_data")
    want = ("2026-05-18T00:00:00", "2026-06-01T00:00:00") if kind == "scatter" else \
        ("2026-05-14T12:00:00", "2026-05-28T12:00:00")
    assert (band["x0"], band["x1"]) == want
    assert [a["text"] for a in got["layout"]["annotations"] if a.get("name") == "no_data"] == ["无数据"]
    alone = chart(dt.datetime(2026, 5, 18), "en")  # data from the first week on: no gap, no band
    assert alone["data"][0]["y"] == [0, 0, 1, 2]
    assert not any(s.get("name") == "no_data" for s in alone["layout"].get("shapes") or [])


@pytest.mark.parametrize("kind", ["scatter", "bar"])
def test_the_chart_leaves_a_gap_after_the_data_too(kind):
    """Weekly points of 1 June … 22 June, data from Wednesday 3 June to Wednesday 10 June 18:00: the weeks of 15 and
    22 June start after the last event — no value (not a fall to 0) under their own band from 15 June to 29 June
    (points) or 11 June 12:00 to 25 June 12:00 (bars); the week of 8 June holds the last event and keeps its 2."""
    fig = {"data": [{"type": kind, "x": ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"],
                     "y": [1, 2, 0, 0]}], "layout": {}}
    got = people_view("trends", {"result": {"rows": []}, "rows_key": "rows", "figure": fig}, {"interval": "week"},
                      lang="en", data_start=FIRST, data_end=LAST)["figure"]
    assert got["data"][0]["y"] == [1, 2, None, None]
    bands = [s for s in got["layout"]["shapes"] if s["name"] == "no_data"]
    want = ("2026-06-15T00:00:00", "2026-06-29T00:00:00") if kind == "scatter" else \
        ("2026-06-11T12:00:00", "2026-06-25T12:00:00")
    assert [(b["x0"], b["x1"]) for b in bands] == [want]
    assert [a["text"] for a in got["layout"]["annotations"] if a.get("name") == "no_data"] == ["no data"]
    # both sides at once: two bands, one before and one after
    fig = {"data": [{"type": kind, "x": ["2026-05-25", "2026-06-01", "2026-06-08", "2026-06-15"],
                     "y": [0, 1, 2, 0]}], "layout": {}}
    both = people_view("trends", {"result": {"rows": []}, "rows_key": "rows", "figure": fig}, {"interval": "week"},
                       lang="zh-Hans", data_start=FIRST, data_end=LAST)["figure"]
    assert both["data"][0]["y"] == [None, 1, 2, None]
    assert len([s for s in both["layout"]["shapes"] if s["name"] == "no_data"]) == 2


@pytest.mark.parametrize("first,marked", [
    (dt.datetime(2026, 6, 1, 0, 30), ["2026-05-25"]),  # Monday 00:30: the week of 25 May ended before it
    (dt.datetime(2026, 5, 31, 23, 59), []),            # Sunday 23:59: the week of 25 May holds the first event
    (dt.date(2026, 6, 1), ["2026-05-25"]),              # a day as the start: the same as its midnight
    (None, []),                                         # no data span (an --events file): no mark, no note
])
def test_the_week_holding_the_first_event_is_never_marked(first, marked):
    view = view_rows("week", ["2026-05-25", "2026-06-01"], first)
    assert [r["date"] for r, t in zip(view["table"]["rows"], view["table"]["texts"])
            if t["date"].endswith(" (no data)")] == marked
    assert any(n.startswith("Data start on") for n in view["notes"]) == bool(marked)


def test_no_mark_without_periods():
    """A table without a period (a funnel) is untouched even with the data's start known."""
    rows = [{"step": "signup", "count": 2}]
    view = people_view("funnel", {"result": {"rows": rows}, "rows_key": "rows"}, {}, lang="en", data_start=FIRST,
                       data_end=LAST)
    assert not view["notes"] and view["table"]["texts"][0]["step"] == "signup"


@pytest.mark.parametrize("lang", sorted(LANGS))
def test_the_weekly_reports_trend_agrees(wednesday, lang):
    """The report of the week of 8 June draws eight weeks back to 20 April: the six that ended before Wednesday 3 June
    have no bar and read "no data" (not a zero); the week of 1 June holds the first event and is drawn."""
    from yunying.reports.weekly import build_report
    from yunying.reports.weekly.html import svg_chart
    from yunying.reports.weekly.sections import headline
    from yunying.storage.workspace import Workspace

    none, _, note = LANGS[lang]
    with Workspace.open(wednesday, read_only=True) as ws:
        report = build_report(ws, period="week", lang=lang, start=dt.date(2026, 6, 8), sections=[headline])
    head = report.sections[0]
    chart = head.charts[0]
    assert chart.categories[0] == "2026-04-20" and chart.categories[6:] == ["2026-06-01", "2026-06-08"]
    assert chart.no_data == [0, 1, 2, 3, 4, 5] and chart.incomplete == 7
    assert chart.series[0].values[:6] == [None] * 6 and None not in chart.series[0].values[6:]
    assert note in report.notes
    svg = svg_chart(chart, lang)
    assert svg.count(f">{none.strip(' （()）')}<") == 6  # a "no data" label under each of the six weeks
