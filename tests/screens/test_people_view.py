"""Issue 13, without a browser: the people view (reports/view.py, columns.py, figures.py) against hand-worked
examples — counts whole, rates in %, rate changes in pp, colours by whether up is good, weeks on Mondays,
axes from 0, the incomplete last period marked, chart texts translated."""
from __future__ import annotations

import datetime as dt

from yunying.reports import figures
from yunying.reports.columns import people_table
from yunying.reports.i18n import phrase
from yunying.reports.view import overview_notes, overview_parts, people_view

METRICS = [
    {"key": "new_users", "section": "acquisition", "kind": "count", "current": 11072, "previous": 10000,
     "change": 0.1072, "label": "New users (signups)", "label_zh": "新增註冊用戶"},
    {"key": "cost_per_registration", "section": "acquisition", "kind": "money", "current": 16.0, "previous": 25.0,
     "change": -0.36, "label": "Cost per registration (paid channels)", "label_zh": "註冊成本(付費渠道)"},
    {"key": "activation_rate", "section": "activation", "kind": "rate", "current": 0.3581, "previous": 0.3906,
     "change": 0.3581 / 0.3906 - 1, "label": "Activation rate of new users", "label_zh": "新用戶激活率"},
]


def test_kpis_colour_by_good_direction_and_rates_change_in_points():
    kpis = {k["key"]: k for k in overview_parts({"metrics": METRICS}, "zh-Hans", "CNY")[0]}
    # a 36 % fall in cost per registration is good (green), not red
    assert kpis["cost_per_registration"]["tone"] == "good" and kpis["cost_per_registration"]["direction"] == "down"
    assert kpis["new_users"]["tone"] == "good" and kpis["new_users"]["value"] == "11,072"
    # 39.06 % → 35.81 %: −3.25 (float: −3.2500…01) percentage points, not the relative −8.3 %, and it is bad
    assert kpis["activation_rate"]["change"] == "▼ -3.3 pp" and kpis["activation_rate"]["tone"] == "bad"
    assert kpis["activation_rate"]["value"] == "35.8%"
    # 简体 labels on a 简体 page (the result's label_zh is 繁體)
    assert kpis["new_users"]["label"] == "新增注册用户" and kpis["cost_per_registration"]["label"] == "注册成本（付费渠道）"


def test_table_cells_for_people():
    rows = [{"cohort": "2026-06-01", "size": 3587, "retained": [3587, 1210], "rates": [1.0, 0.33733], "users": 11072.0,
             "p_value": 4.8e-5, "median_seconds_from_previous": 74700.84, "label_zh": "x", "conversion_from_start": 0.3581}]
    t = people_table(rows, "en")
    text = t["texts"][0]
    assert text["retained"] == "3,587, 1,210"        # counts in lists are whole, never 3-significant-digit
    assert text["users"] == "11,072"                 # never 11,072.00
    assert text["rates"] == "100.0%, 33.7%" and text["conversion_from_start"] == "35.8%"
    assert text["p_value"] == "4.8e-05"              # never 0
    assert text["median_seconds_from_previous"] == "20 h 45 min"
    assert "label_zh" not in {c["key"] for c in t["columns"]}  # internal columns are not shown
    assert all("_" not in c["label"] for c in t["columns"])
    zh = people_table(rows, "zh-Hant")
    assert [c["label"] for c in zh["columns"]][:3] == ["同期群", "同期群人數", "留存人數"]
    assert zh["texts"][0]["median_seconds_from_previous"] == "20 小時 45 分鐘"


def test_funnel_count_is_users():
    t = people_table([{"step": 1, "name": "signup", "count": 120}], "zh-Hans", analysis="funnel")
    assert {c["key"]: c["label"] for c in t["columns"]}["count"] == "用户数"


def test_weeks_tick_on_mondays_axes_start_at_zero_and_the_partial_week_is_marked():
    weeks = ["2026-06-01", "2026-06-08", "2026-06-15", "2026-06-22"]  # Mondays
    fig = {"data": [{"type": "scatter", "x": weeks, "y": [10, 12, 11, 3], "name": "users"}], "layout": {}}
    figures.period_rules(fig, interval="week", data_end=dt.date(2026, 6, 23), lang="en")  # data end on a Tuesday
    x = fig["layout"]["xaxis"]
    assert dt.date.fromisoformat(x["tick0"]).weekday() == 0 and x["dtick"] == 7 * 86400000
    assert fig["layout"]["yaxis"]["rangemode"] == "tozero"
    shade = [s for s in fig["layout"]["shapes"] if s["name"] == "incomplete"]
    assert shade and shade[0]["x0"] == "2026-06-22"
    solid, tail = fig["data"]
    assert solid["x"] == weeks[:3] and tail["x"] == weeks[2:] and tail["line"]["dash"] == "dot"
    assert tail["line"]["color"] == solid["line"]["color"] and tail["showlegend"] is False
    complete = {"data": [{"type": "scatter", "x": weeks, "y": [1, 2, 3, 4]}], "layout": {}}
    figures.period_rules(complete, interval="week", data_end=dt.date(2026, 6, 28), lang="en")  # a full last week
    assert not complete["layout"].get("shapes") and len(complete["data"]) == 1


def test_negative_values_keep_their_axis():
    fig = {"data": [{"type": "bar", "x": ["a", "b"], "y": [-1, 2]}], "layout": {}}
    figures.period_rules(fig, interval=None, data_end=None, lang="en")
    assert "rangemode" not in fig["layout"].get("yaxis", {})


def test_chart_texts_translated_names_kept():
    assert phrase("weekly retention: first-time signup → $any", "zh-Hans") == "周留存：首次 signup → 任意事件"
    assert phrase("time from signup to purchase", "zh-Hant") == "從 signup 到 purchase 的時長"
    assert phrase("RFM (quantile) as of 2026-07-13", "zh-Hans") == "RFM（分位数）截至 2026-07-13"
    assert phrase("weekly retention: first-time signup → $any", "en") == "weekly retention: first-time signup → Any event"
    fig = {"data": [{"type": "bar", "name": "paying users", "hovertemplate": "channel=%{x}<br>new_users=%{y}"}],
           "layout": {"title": {"text": "revenue per week"}, "xaxis": {"title": {"text": "date"}}}}
    figures.translate(fig, "zh-Hans", "revenue")
    assert fig["layout"]["title"]["text"] == "每周收入" and fig["layout"]["xaxis"]["title"]["text"] == "日期"
    assert fig["data"][0]["name"] == "付费用户" and fig["data"][0]["hovertemplate"] == "渠道=%{x}<br>新增用户=%{y}"


def test_a_week_without_data_says_so():
    zero = [{**m, "current": 0} for m in METRICS if m["kind"] == "count"]
    notes = overview_notes({"metrics": zero, "week": "2026-07-13", "week_end": "2026-07-19"}, "en",
                           dt.date(2026, 7, 13))
    assert notes == ["No data in the week 2026-07-13 – 2026-07-19; data until 2026-07-13."]
    gaps = overview_notes({"metrics": METRICS}, "zh-Hans", dt.date(2026, 7, 13),
                          [dt.date(2026, 7, 14), dt.date(2026, 7, 15)])
    # Chinese punctuation in a Chinese note: 日期：2026-07-14，2026-07-15；…。 (no half-width comma, no stray space)
    assert gaps and "日期：2026-07-14，2026-07-15；" in gaps[0] and gaps[0].startswith("不可比较")
    assert gaps[0].endswith("2026-07-13。")
    view = people_view("trends", {"result": {"series": []}, "rows_key": "series"}, {}, lang="zh-Hans")
    assert view["notes"] == ["该条件和时间段内没有数据。"]


def test_user_count_axes_tick_in_whole_users():
    fig = {"data": [{"type": "bar", "y": [1060.4, 5571.49]}, {"type": "scatter", "y": [12, 65, 4], "yaxis": "y2"}],
           "layout": {"yaxis2": {"overlaying": "y", "side": "right"}}}
    figures.period_rules(fig, interval=None, data_end=None, lang="en")
    y2 = fig["layout"]["yaxis2"]
    assert y2["rangemode"] == "tozero" and y2["tick0"] == 0 and y2["dtick"] == 20  # 0, 20, 40, 60: never 11.8 users
    assert "dtick" not in fig["layout"]["yaxis"]                                  # money keeps Plotly's ticks
