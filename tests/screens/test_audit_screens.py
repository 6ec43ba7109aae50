"""Issue 13, the audit of every screen: what the screenshots showed still wrong, each checked by hand-worked
examples (no browser): partial periods marked in charts and tables, retention as a cohort × period table,
yunying's own names and units in the reader's language, colours only where up or down is good or bad."""
from __future__ import annotations

import datetime as dt

from yunying.reports import figures
from yunying.reports.columns import people_table
from yunying.reports.format import count
from yunying.reports.view import people_view
from yunying.reports.view_periods import mark_incomplete, partial_cells, retention_table

WEEKS = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"]  # Mondays


def test_a_last_day_whose_data_stop_in_the_morning_is_incomplete():
    # the demo's data end at 2026-07-12 23:59 UTC = 2026-07-13 07:59 in Shanghai: 13 July is 8 hours long
    assert figures.incomplete(dt.date(2026, 7, 13), "day", dt.datetime(2026, 7, 13, 7, 59))
    assert not figures.incomplete(dt.date(2026, 7, 13), "day", dt.datetime(2026, 7, 13, 23, 30))  # an hour's slack
    assert not figures.incomplete(dt.date(2026, 7, 13), "day", dt.date(2026, 7, 13))  # a date is a whole day
    assert figures.incomplete(dt.date(2026, 7, 13), "week", dt.datetime(2026, 7, 19, 12, 0))
    assert not figures.incomplete(dt.date(2026, 7, 1), "month", dt.datetime(2026, 7, 31, 23, 59))
    days = [f"2026-07-{d:02d}" for d in range(1, 14)]
    fig = {"data": [{"type": "scatter", "x": days, "y": list(range(13))}], "layout": {}}
    figures.period_rules(fig, interval="day", data_end=dt.datetime(2026, 7, 13, 7, 59), lang="en")
    assert [s["name"] for s in fig["layout"]["shapes"]] == ["incomplete"]
    assert fig["layout"]["annotations"][0]["text"] == "Incomplete period (data until 2026-07-13 07:59)"


def test_the_shading_covers_the_whole_last_bar():
    fig = {"data": [{"type": "bar", "x": WEEKS, "y": [5, 6, 7, 1]}], "layout": {}}
    figures.period_rules(fig, interval="week", data_end=dt.date(2026, 6, 23), lang="en")
    shade = fig["layout"]["shapes"][0]
    # the bar of the week of 22 June stands centred on 22 June: from 18 June 12:00 to 25 June 12:00
    assert shade["x0"] == "2026-06-18T12:00:00" and shade["x1"] == "2026-06-25T12:00:00"


def test_days_tick_on_mondays_and_months_once_each():
    days = [(dt.date(2026, 5, 31) + dt.timedelta(days=i)).isoformat() for i in range(43)]  # from a Sunday
    fig = {"data": [{"type": "scatter", "x": days, "y": [1] * 43}], "layout": {}}
    figures.period_rules(fig, interval="day", data_end=None, lang="en")
    x = fig["layout"]["xaxis"]
    assert x["tick0"] == "2026-05-25" and dt.date(2026, 5, 25).weekday() == 0 and x["dtick"] == 7 * 86400000
    months = {"data": [{"type": "scatter", "x": ["2026-06-01", "2026-07-01"], "y": [0.16, 0.19],
                        "name": "repurchase_rate"}], "layout": {}}
    figures.percent_axes(months)
    figures.period_rules(months, interval="month", data_end=None, lang="en")
    assert months["layout"]["xaxis"]["dtick"] == "M1" and months["layout"]["xaxis"]["tickformat"] == "%Y-%m"
    assert months["layout"]["yaxis"]["tickformat"] == ".0%"  # 20%, not 0.2
    counts = {"data": [{"type": "scatter", "x": ["a"], "y": [3], "name": "new_users"}], "layout": {}}
    assert "tickformat" not in figures.percent_axes(counts)["layout"].get("yaxis", {})


def test_stacked_bars_tick_for_the_stack_and_log_axes_at_powers_of_ten():
    fig = {"data": [{"type": "bar", "x": WEEKS, "y": [90, 80, 70, 60]}, {"type": "bar", "x": WEEKS, "y": [220, 10, 5, 1]}],
           "layout": {"barmode": "stack"}}
    figures.period_rules(fig, interval=None, data_end=None, lang="en")
    assert fig["layout"]["yaxis"]["dtick"] == 100  # stacks reach 310: 0, 100, 200, 300 — not 17 ticks of 20
    log = {"data": [{"type": "bar", "x": ["a", "b"], "y": [80, 12000]}], "layout": {"yaxis": {"type": "log"}}}
    figures.period_rules(log, interval=None, data_end=None, lang="en")
    assert log["layout"]["yaxis"]["dtick"] == 1 and log["layout"]["yaxis"]["tickformat"] == ",.6~g"


def test_own_names_in_paths_and_the_winback_groups():
    fig = {"data": [{"type": "sankey", "node": {"label": ["0. signup", "1. $exposure", "2. (other)"]}},
                    {"type": "bar", "name": "target", "x": ["u1"], "y": [1]},
                    {"type": "bar", "name": "holdout", "x": ["u2"], "y": [1]}], "layout": {}}
    figures.translate(fig, "zh-Hans", "winback")
    assert fig["data"][0]["node"]["label"] == ["0. signup", "1. 实验曝光", "2. （其他）"]
    assert [fig["data"][1]["name"], fig["data"][2]["name"]] == ["召回组", "保留组"]  # not 去向 / 保留组比例


def test_incomplete_rows_are_marked_in_the_table():
    table = people_table([{"date": w, "new_users": n} for w, n in zip(WEEKS, [10, 12, 11, 3])], "zh-Hans")
    assert mark_incomplete(table, "week", dt.datetime(2026, 6, 23, 9, 0), "zh-Hans")
    assert [t["date"] for t in table["texts"]] == WEEKS[:3] + ["2026-06-22（未完整）"]
    whole = people_table([{"date": w, "new_users": 1} for w in WEEKS], "en")
    assert not mark_incomplete(whole, "week", dt.date(2026, 6, 28), "en")
    view = people_view("stickiness", {"result": {"rows": [{"period": "2026-07-13", "stickiness": 1.0}]},
                                      "rows_key": "rows"}, {"period": "week"}, lang="zh-Hans",
                       data_end=dt.datetime(2026, 7, 13, 7, 59))
    assert view["table"]["texts"][0]["period"] == "2026-07-13（未完整）"
    assert view["notes"][-1] == "最后一个周期尚未结束（见表中标注），不是下降：数据截至 2026-07-13 07:59。"  # no shading
    assert {c["key"]: c["label"] for c in view["table"]["columns"]}["stickiness"] == "粘性（DAU/WAU）"  # a week's


def test_retention_is_a_cohort_by_period_table_with_partial_cells_starred():
    # weekly cohorts; data end Monday 2026-06-15 08:00: week 2 of the 1 June cohort (15–21 June) has only begun
    rows = [{"cohort": "2026-06-01", "breakdown": None, "size": 100, "retained": [100, 40, 5],
             "rates": [1.0, 0.4, 0.05], "observed_periods": 3},
            {"cohort": "2026-06-08", "breakdown": None, "size": 50, "retained": [50, 2, 0],
             "rates": [1.0, 0.04, None], "observed_periods": 2}]
    spec = {"start_event": "signup", "return_event": "$any", "period": "week", "periods": 2}
    end = dt.datetime(2026, 6, 15, 8, 0)
    assert partial_cells(rows, [(0, 0), (1, 1), (2, 2)], "week", end) == [{2}, {1}]
    table, partial = retention_table(rows, spec, "zh-Hans", end)
    shown = [c for c in table["columns"] if not c["hidden"]]
    assert [c["label"] for c in shown] == ["同期群", "同期群人数", "第 0 周", "第 1 周", "第 2 周"]
    assert [table["texts"][0][f"rate_{j}"] for j in range(3)] == ["100.0%", "40.0%", "5.0%*"]
    assert [table["texts"][1][f"rate_{j}"] for j in range(3)] == ["100.0%", "4.0%*", "—"]
    assert table["rows"][1]["retained_2"] is None  # a period not started is empty, not 0 users
    fig = {"data": [{"type": "heatmap", "text": [["100%", "40%", "5%"], ["100%", "4%", ""]], "x": ["week 0"]}],
           "layout": {}}
    view = people_view("retention", {"result": {"cohorts": rows}, "rows_key": "cohorts", "figure": fig}, spec,
                       lang="zh-Hans", data_end=end)
    assert view["figure"]["data"][0]["text"] == [["100%", "40%", "5%*"], ["100%", "4%*", ""]]
    assert any(n.startswith("* 该周期尚未结束") for n in view["notes"])


def test_experiment_conversions_read_in_percent_and_points():
    rows = [{"metric": "purchase", "type": "proportion", "variant": "control", "n": 607, "mean": 0.08},
            {"metric": "purchase", "type": "proportion", "variant": "treatment", "n": 617, "mean": 0.12,
             "effect_abs": 0.04, "ci_abs": [0.01, 0.07], "p_value": 0.02, "verdict": "winner"},
            {"metric": "revenue", "type": "mean", "variant": "treatment", "n": 617, "mean": 12.5, "effect_abs": 1.5}]
    view = people_view("experiment", {"result": {"rows": rows}, "rows_key": "rows"}, {}, lang="zh-Hans")
    texts = view["table"]["texts"]
    assert texts[0]["mean"] == "8.0%" and texts[1]["mean"] == "12.0%"
    assert texts[1]["effect_abs"] == "+4.0 pp" and texts[1]["ci_abs"] == "+1.0 pp – +7.0 pp"
    assert texts[2]["mean"] == "12.50" and texts[2]["effect_abs"] == "1.50"  # a mean stays a number


def test_a_proposed_budget_shift_is_not_coloured_and_forecast_users_are_whole():
    rows = [{"channel": "feed", "change": -0.556, "expected_paying_users": 15.15},
            {"channel": "wechat", "change": 1.778, "expected_paying_users": 43.38}]
    t = people_table(rows, "zh-Hans", analysis="budget")
    assert t["tones"] == [{}, {}]
    assert [x["expected_paying_users"] for x in t["texts"]] == ["15", "43"]
    assert people_table(rows, "en", analysis="channels")["tones"][0] == {"change": "bad"}  # elsewhere: coloured
    assert count(15.6) == "16"  # rounded, never cut to 15


def test_time_buckets_in_the_readers_units():
    rows = [{"from_seconds": 60, "to_seconds": 300.0, "label": "1m–5m", "count": 2, "share": 0.01},
            {"from_seconds": 2592000, "to_seconds": None, "label": "≥30d", "count": 1, "share": 0.005}]
    fig = {"data": [{"type": "bar", "x": ["1m–5m", "≥30d"], "y": [2, 1]}], "layout": {}}
    view = people_view("intervals", {"result": {"histogram": rows}, "rows_key": "histogram", "figure": fig}, {},
                       lang="zh-Hans")
    assert [t["label"] for t in view["table"]["texts"]] == ["1 分钟–5 分钟", "≥ 30 天"]
    assert view["figure"]["data"][0]["x"] == ["1 分钟–5 分钟", "≥ 30 天"]


def test_a_chart_that_failed_says_so_in_words_and_referral_ratios_are_not_percent():
    view = people_view("content_flags", {"result": {"flags": []}, "rows_key": "flags",
                                         "figure": {"error": "ValueError: Plotly Express cannot process"}},
                       {}, lang="zh-Hant")
    assert view["figure"] == {"error": "此分析沒有圖表，請看下方數據。"}
    rows = [{"content_id": "c1", "new_users": 3, "shares": 1, "new_users_per_share": 3.0, "k_factor": 0.05}]
    view = people_view("referrals", {"result": {"rows": rows}, "rows_key": "rows"}, {}, lang="zh-Hans")
    labels = {c["key"]: c["label"] for c in view["table"]["columns"]}
    assert labels["new_users_per_share"] == "每次分享带来新用户" and labels["k_factor"] == "K 因子"
    assert view["table"]["texts"][0]["new_users_per_share"] == "3.00"  # 3 new users per share, not 300.0%


def test_excel_p_values_never_read_zero_and_campaign_counts_are_whole():
    import io

    import openpyxl

    from yunying.reports.campaigns import metric_value
    from yunying.reports.format import PVALUE_FORMAT
    from yunying.reports.xlsx import table_bytes

    t = people_table([{"metric": "m", "p_value": 4.8e-5}, {"metric": "n", "p_value": 0.043}], "zh-Hans")
    sheet = openpyxl.load_workbook(io.BytesIO(table_bytes("t", t))).active
    cells = [c for row in sheet.iter_rows() for c in row if c.value in (4.8e-5, 0.043)]
    # one format, two sections: below 0.001 in scientific form (4.8E-05), else three decimals (0.043)
    assert len(cells) == 2 and all(c.number_format == PVALUE_FORMAT == "[<0.001]0.0E+00;0.000" for c in cells)
    assert metric_value("purchases", 59.0, lang="zh-Hans") == "59" and metric_value("purchases", 12.86) == "12.9"


def test_trend_titles_read_as_sentences_with_their_breakdown_translated():
    import yunying.engines  # noqa: F401
    from yunying.analyses.trends import TrendsSpec, _meta

    class Series:  # what _meta reads of a series
        active, measure, event, label = True, "users", None, "active users"

    engine = type("E", (), {"timezone": "UTC"})()
    title = _meta(engine, TrendsSpec.build(active=True, interval="day", by="channel"), [Series()])["title"]
    assert title == "active users per day by channel"  # not "users of active users per day"
    from yunying.reports.i18n import phrase
    assert phrase(title, "zh-Hans") == "活跃用户（每天）（按渠道）" and phrase(title, "zh-Hant") == "活躍用戶（每天）（按渠道）"


def test_what_moved_reads_each_factor_in_its_own_unit():
    # revenue = active users × pay rate × ARPPU; 1,550 → 1,600 users is +50 users (not "+5000.0%")
    rows = [{"name": "active_users", "label": "Active users", "kind": "count", "current": 1600.0, "previous": 1550.0,
             "change": 50.0, "change_pct": 50 / 1550, "contribution": 255.62},
            {"name": "pay_rate", "label": "Pay rate", "kind": "rate", "current": 0.0719, "previous": 0.0658,
             "change": 0.0061, "change_pct": 0.0927, "contribution": 710.22},
            {"name": "gmv_per_head", "label": "GMV per head", "kind": "money", "current": 82.09, "previous": 66.72,
             "change": 15.37, "change_pct": 0.2304, "contribution": -1669.5}]
    view = people_view("explain", {"result": {"factors": rows, "metric_kind": "money"}, "rows_key": "factors"}, {},
                       lang="zh-Hans", currency="CNY")
    t = view["table"]["texts"]
    assert [x["name"] for x in t] == ["活跃用户", "付费率", "GMV per head"]  # a metric of yunying.toml keeps its label
    assert [x["change"] for x in t] == ["+50", "+0.6 pp", "+CNY 15.37"]
    assert [x["current"] for x in t] == ["1,600", "7.2%", "CNY 82.09"]
    assert [x["contribution"] for x in t] == ["+CNY 255.62", "+CNY 710.22", "-CNY 1,669.50"]
    assert t[0]["change_pct"] == "▲ +3.2%"
    assert {c["key"] for c in view["table"]["columns"] if c["hidden"]} >= {"label"}


def test_cli_overview_title_names_the_previous_week():
    from rich.console import Console

    from yunying.reports.overview import print_overview

    out = Console(record=True, width=200)
    data = {"week": "2026-07-20", "week_end": "2026-07-26", "previous_week": "2026-07-13", "timezone": "UTC",
            "metrics": []}
    print_overview(data, out, "zh-Hans")
    assert out.export_text().splitlines()[0] == "概览 — 周起始 2026-07-20 – 2026-07-26 · 较上期 2026-07-13（UTC）"


def test_content_pages_have_charts_in_words():
    import json

    import pandas as pd
    import plotly.io as pio

    from yunying.analyses.content.forecast import ForecastResult
    from yunying.analyses.content.referrals import ReferralResult

    curve = ForecastResult(None, pd.DataFrame({"hours": [1.0, 3.0, 24.0], "readers": [0, 7, 32]}), {})
    fig = figures.translate(json.loads(pio.to_json(curve.chart())), "zh-Hans", "content")
    assert (fig["layout"]["xaxis"]["title"]["text"], fig["layout"]["yaxis"]["title"]["text"]) == ("发布后小时数", "阅读人数")
    shared = ReferralResult(None, pd.DataFrame({"content_id": ["c1", "c2"], "new_users": [3, 1]}), {})
    fig = figures.translate(json.loads(pio.to_json(shared.chart())), "zh-Hant", "content")
    assert fig["data"][0]["x"] == ["c1", "c2"] and fig["layout"]["yaxis"]["title"]["text"] == "分享帶來的新用戶"


def test_overview_bars_previous_grey_this_week_blue():
    fig = {"data": [{"type": "bar", "name": "previous week", "x": ["WAU"], "y": [817]},
                    {"type": "bar", "name": "this week", "x": ["WAU"], "y": [915]}], "layout": {}}
    view = people_view("overview", {"result": {"metrics": []}, "figure": fig}, {}, lang="zh-Hans")
    prev, cur = view["figure"]["data"]
    assert (prev["name"], cur["name"]) == ("上周", "本周")
    assert prev["marker"]["color"] == "#9aa4b1" and cur["marker"]["color"] == "#0b6bcb"  # no red for this week


def test_a_tiny_share_is_not_shown_as_zero():
    # 人均事件分布: 1 user of 2,326 did exactly 3 events — 0.04 %, which "0.0%" would deny
    t = people_table([{"bucket": "3", "users": 1, "share": 1 / 2326}, {"bucket": "4", "users": 0, "share": 0.0}],
                     "zh-Hans")
    assert [x["share"] for x in t["texts"]] == ["<0.1%", "0.0%"]
