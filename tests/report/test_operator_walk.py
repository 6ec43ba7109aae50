"""Issue 13, the new operator's walk over the whole issue (disp3): what the CLI tables still showed unlike the
dashboard — the last, partial week not marked, a week's stickiness called DAU/MAU, time buckets as ``1m–5m`` in
Chinese, customer value's repeat purchases called "purchases" and its recency in model periods (0.14), the
holdout check in English with snake_case headers — and the English "what moved" formula in snake_case. Each is
checked against a small hand-made workspace or a hand-worked example."""
from __future__ import annotations

import doctest
import re

import pytest

from yunying.reports import columns, format as fmt
from test_untranslated import SNAKE, cli

# Monday 2026-06-01 … Wednesday 2026-06-10: the second week has three of its seven days.
EVENTS = """user_id,event,time
u1,signup,2026-06-01 09:00:00
u1,purchase,2026-06-01 09:00:30
u2,signup,2026-06-02 10:00:00
u2,purchase,2026-06-02 10:04:00
u1,purchase,2026-06-03 12:00:00
u3,signup,2026-06-08 08:00:00
u3,purchase,2026-06-08 09:00:00
u2,purchase,2026-06-10 18:00:00
"""


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    return cli_workspace(tmp_path_factory.mktemp("walk"), EVENTS)


def cli_workspace(root, events: str):
    """A UTC workspace at ``root/ws`` made as an operator does: ``yunying init`` and ``import events`` of the CSV."""
    (root / "events.csv").write_text(events, encoding="utf-8")
    cli(["init", str(root / "ws"), "--timezone", "UTC"], "en")
    cli(["import", "events", str(root / "events.csv"), "-w", str(root / "ws")], "en")
    return root / "ws"


def rows_of(out: str) -> list[list[str]]:
    return [[c.strip() for c in line.strip().strip("│").split("│")] for line in out.splitlines()
            if line.strip().startswith("│")]


@pytest.mark.parametrize("lang,mark,note", [("zh-Hans", "2026-06-08（未完整）", "数据截至 2026-06-10 18:00"),
                                            ("en", "2026-06-08 (incomplete)", "data until 2026-06-10 18:00")])
def test_the_cli_marks_the_partial_last_week_as_the_dashboard_does(small, lang, mark, note):
    out = cli(["trends", "--event", "purchase", "--interval", "week", "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)] == ["2026-06-01", mark]  # 3 purchases, then 2 in three days: not a fall
    assert [r[1] for r in rows_of(out)] == ["3", "2"]
    assert note in out
    out = cli(["lifecycle", "-w", str(small)], lang)
    assert rows_of(out)[-1][0] == mark
    out = cli(["trends", "--event", "purchase", "--interval", "week", "--to", "2026-06-07", "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)] == ["2026-06-01"] and note not in out  # a whole week: no mark, no note


def test_a_weeks_stickiness_is_dau_over_wau_and_its_histogram_is_titled(small):
    out = cli(["stickiness", "--period", "week", "-w", str(small)], "zh-Hans")
    assert "粘性（DAU/WAU）" in out and "DAU/MAU" not in out
    assert "每周活跃天数分布" in out and "per week" not in out
    # week of 1 June: u1 active 2 days (1st, 3rd), u2 one day (2nd): 3 user-days over 7 days / 2 users
    first = rows_of(out)[0]
    assert first[0] == "2026-06-01" and first[1] == "2"


def test_time_buckets_read_in_the_readers_units(small):
    out = cli(["stickiness", "--between", "signup,purchase", "-w", str(small)], "zh-Hans")
    labels = [r[2] for r in rows_of(out)]
    # u1: 30 s (0 s–1 min), u2: 4 min (1–5 min), u3: 1 h (the buckets end at the longest: ≥ 30 min)
    assert labels == ["0 秒–1 分钟", "1 分钟–5 分钟", "5 分钟–15 分钟", "15 分钟–30 分钟", "≥ 30 分钟"]
    assert [r[3] for r in rows_of(out)] == ["1", "1", "0", "0", "1"]
    assert not [x for x in labels if re.search(r"\d[smhd]\b", x)], labels


def test_customer_value_says_repeat_purchases_and_days(tmp_path):
    """Hand-worked: a customer who bought on 1, 13 and 20 June has 2 repeat purchases, 19 days from the first to the
    last, and (the data ending 20 June) 19 days since the first; a week is 7 days, not "2.71"."""
    rows = [{"user_id": "u1", "frequency": 2, "recency": 19 / 7, "T": 19 / 7, "monetary": 50.0}]
    table = columns.customer_periods(columns.people_table(rows, "zh-Hans", analysis="customer_value", currency="CNY"),
                                     "week", "zh-Hans")
    labels = {c["key"]: c["label"] for c in table["columns"]}
    assert labels["frequency"] == "复购次数" and labels["monetary"] == "平均复购金额"
    assert table["texts"][0]["recency"] == "19 天" and table["texts"][0]["T"] == "19 天"
    day = columns.customer_periods(columns.people_table(rows, "en", analysis="winback"), "day", "en")
    assert day["texts"][0]["recency"] == "3 d"  # period "day": 19/7 days, rounded
    assert {c["key"]: c["label"] for c in day["columns"]}["frequency"] == "Repeat purchases"
    assert doctest.testmod(columns).failed == 0 and doctest.testmod(fmt).failed == 0


def test_payback_is_in_days_not_a_decimal():
    t = columns.people_table([{"channel": "search", "payback_days": 49.0}, {"channel": "feed", "payback_days": None}],
                             "zh-Hans", analysis="channels")
    assert [x["payback_days"] for x in t["texts"]] == ["49 天", "—"]


def test_the_english_factor_tree_names_metrics_as_people_read_them():
    from yunying.reports.explain import tree_text

    d = {"metric": "revenue", "factors": [{"name": "active_users"}, {"name": "pay_rate"}, {"name": "arppu"}]}
    text = tree_text("revenue = active_users * pay_rate * arppu", d, "en")
    assert text == "Revenue = Active users × Pay rate × ARPPU"
    assert not SNAKE.findall(text)
    assert tree_text("revenue = active_users * pay_rate * arppu", d, "zh-Hans") == "收入 = 活跃用户 × 付费率 × 客单价（ARPPU）"


def test_experiment_tables_read_as_numbers_people_use(tmp_path):
    """A Bayesian table: the chance to beat control in percent (not ``1``), the expected loss in the metric's unit
    (not ``5.02e-13``), a mean of money with separators (not ``1029``); a metric the command named, in words."""
    import random

    import yunying.cli.experiment as exp

    rnd = random.Random(1)
    lines = ["user,variant,converted,spend"]
    for i in range(400):
        treated = i % 2 == 1
        lines.append(f"u{i},{'treatment' if treated else 'control'},{int(rnd.random() < (0.3 if treated else 0.1))},"
                     f"{1000.0 + (300.0 if treated else 0.0) + (i % 7)}")
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    means = {v: sum(float(r.split(",")[3]) for r in lines[1:] if r.split(",")[1] == v) / 200
             for v in ("control", "treatment")}  # the hand-worked means the table must show
    out = cli(["experiment", "--table", str(tmp_path / "t.csv"), "--unit", "user", "--metric", "converted,spend",
               "--method", "bayesian"], "zh-Hans")
    conv, spend = [r for r in rows_of(out) if r[0] == "treatment"]
    assert conv[5] == "> 99.9%" and re.fullmatch(r"(< 0\.01|\d+\.\d\d) pp", conv[6]), conv
    assert spend[5] == "> 99.9%" and re.fullmatch(r"< 0\.01|[\d,]+\.\d\d", spend[6]), spend
    assert [r[2] for r in rows_of(out) if r[0] in ("control*", "treatment")][2:] == \
        [f"{means['control']:,.2f}", f"{means['treatment']:,.2f}"]
    assert not re.search(r"\de[+-]\d", out)  # no 1.235e+04, no 5.02e-13
    assert doctest.testmod(exp).failed == 0
    name = exp._value_name({"kind": "count", "event": "app_open"}, 14.0)
    given = exp.given_names({"window_days": 14.0, "metrics": [{"name": name, "kind": "count", "event": "app_open"}]})
    assert exp.metric_words(name, "zh-Hant", given) == "14 天內人均 app_open 次數"


def test_rate_charts_tick_in_percent():
    from yunying.reports import figures

    heat = {"data": [{"type": "heatmap", "z": [[1.0, 0.4]], "text": [["100%", "40%*"]]}], "layout": {}}
    assert figures.percent_axes(heat)["data"][0]["colorbar"]["tickformat"] == ".0%"
    hist = {"data": [{"type": "histogram", "x": [0.1, 0.55, 0.98]}], "layout": {"xaxis": {"title": {"text": "p_alive"}}}}
    assert figures.percent_axes(hist)["layout"]["xaxis"]["tickformat"] == ".0%"
    spend = {"data": [{"type": "histogram", "x": [0.1, 0.5]}], "layout": {"xaxis": {"title": {"text": "spend"}}}}
    counts = {"data": [{"type": "heatmap", "z": [[3, 4]], "text": [["3", "4"]]}], "layout": {}}
    assert "tickformat" not in figures.percent_axes(spend)["layout"]["xaxis"]
    assert "colorbar" not in figures.percent_axes(counts)["data"][0]


def test_winback_groups_and_risk_read_as_words_in_english():
    """The English table said ``target`` / ``high`` beside a chart legend saying "Target group": the same words."""
    t = columns.people_table([{"user_id": "u1", "group": "target", "churn_risk": "high"},
                              {"user_id": "u2", "group": "holdout", "churn_risk": "medium"}], "en", analysis="winback")
    assert [(x["group"], x["churn_risk"]) for x in t["texts"]] == [("Target group", "High"), ("Holdout group", "Medium")]
    assert t["rows"][0]["group"] == "target"  # the raw value (exports, API) stays


def test_a_campaign_review_reads_money_as_money_and_purchases_whole():
    """The review's lift table said revenue per user 0.4655 and 324.2 incremental purchases beside a summary of
    "324 purchases"; the after-campaign cohorts had ASCII brackets in Chinese."""
    from yunying.reports import campaigns as R

    iv = lambda v, lo, hi: {"value": v, "low": lo, "high": hi}  # noqa: E731
    r = {"lift": {"metrics": {"purchases": {"per_unit": 0.00727, "ci": [0.0031, 0.0115], "p_value": 6.9e-4,
                                            "incremental": iv(324.2, 137.0, 511.3)},
                              "revenue": {"per_unit": 0.4655, "ci": [0.1588, 0.7721], "p_value": 0.003,
                                          "incremental": iv(20757.67, 7081.41, 34433.93)}}},
         "economics": {"incremental_purchases": iv(324.2, 137.0, 511.3), "roi": iv(-0.271, -0.751, 0.209)},
         "afterwards": {"cohorts": [{"cohort": "acquired", "users": 6604, "baseline_users": 5421, "weeks": [
             {"measure": "active_w1", "campaign": 0.498, "baseline": 0.514, "difference": iv(-0.016, -0.034, 0.002)}]}]}}
    _, lift = R.lift_rows(r, "zh-Hans", "CNY")
    assert lift[0][1:4] == ["0.0073", "0.0031", "0.0115"] and lift[0][5:] == ["324", "137", "511"]
    assert lift[1][1:4] == ["CNY 0.47", "CNY 0.16", "CNY 0.77"] and lift[1][5] == "CNY 20,757.67"
    _, econ = R.econ_rows(r, "zh-Hans", "CNY")
    assert econ[0][1:] == ["324", "137", "511"]
    _, after = R.after_rows(r, "zh-Hans")
    assert after[0][0].endswith("（6,604 / 5,421）")


def test_a_chinese_workspace_speaks_chinese_without_lang(tmp_path):
    """``init --lang zh-Hans`` once; then init's own message, the import report, info and the report follow the
    workspace setting with no --lang (they printed English, "9.00" events and "n/a" before)."""
    from typer.testing import CliRunner

    from yunying.cli import app
    from yunying.cli.common import _Lang

    def run(*args):
        _Lang.flag = _Lang.workspace = None
        try:
            res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"}, catch_exceptions=False)
        finally:
            _Lang.flag = _Lang.workspace = None
        assert res.exit_code == 0, res.output
        return res.output

    ws = str(tmp_path / "ws")
    assert run("init", ws, "--lang", "zh-Hans").startswith("已在 ")
    (tmp_path / "e.txt").write_text("user_id event time\nu1 signup 2026-06-01T10:00:00.250\n"
                                    "u2 signup 2026-06-08T11:00:00\n", encoding="utf-8")
    out = run("import", "events", str(tmp_path / "e.txt"), "-w", ws)
    assert out.strip().startswith("事件：从 1 个文件读取 2 行，新增 2 行") and "（" in out and "rows read" not in out
    info = {r[0]: r[1] for r in rows_of(run("info", "-w", ws))}
    assert info["事件数"] == "2" and info["用户数"] == "2" and info["花费行数"] == "0"
    assert info["最早事件"] == "2026-06-01 10:00:00"
    out = run("report", "-w", ws)
    assert "运营周报" in out and "n/a" not in out and "—" in out


@pytest.mark.parametrize("lang,head", [("en", ["Cohort", "Cohort size", "Week 0", "Week 1"]),
                                       ("zh-Hant", ["同期群", "同期群人數", "第 0 週", "第 1 週"])])
def test_cli_retention_is_the_dashboards_cohort_table(small, lang, head):
    """Cohort of 1 June: u1 and u2 (2 users); in the week of 8 June u2 came back on the 10th — 50%, but that week
    was only three days old when the data end: starred, with the note. Cohort of 8 June: u3, its own week partial."""
    out = cli(["retention", "--period", "week", "--periods", "1", "-w", str(small)], lang)
    header = [c.strip() for line in out.splitlines() if line.strip().startswith("┃")
              for c in line.strip().strip("┃").split("┃")]
    assert header == head
    assert rows_of(out) == [["2026-06-01", "2", "100.0%", "50.0%*"],
                            ["2026-06-08", "1", "100.0%*", "—" if lang != "en" else "n/a"]]
    assert out.strip().splitlines()[-1].startswith("*")


def test_chart_and_table_titles_use_chinese_brackets():
    import datetime as dt

    from yunying.reports import figures
    from yunying.reports.i18n import phrase

    assert phrase("days active per week ($any)", "zh-Hans") == "每周活跃天数（任意事件）"
    assert phrase("click(banner) per user", "en") == "click(banner) per user"
    fig = {"data": [{"type": "bar", "x": ["2026-06-01", "2026-06-08"], "y": [3, 1]}], "layout": {}}
    figures.period_rules(fig, interval="week", data_end=dt.datetime(2026, 6, 10, 18, 0), lang="zh-Hant")
    text = fig["layout"]["annotations"][0]["text"]
    assert "（" in text and "(" not in text and text.endswith("2026-06-10 18:00）")


def test_a_report_before_the_data_says_so(tmp_path, small):
    """Events on one Thursday only: the last complete week is the one before — all zeros, now with a note."""
    ws = tmp_path / "one"
    cli(["init", str(ws)], "en")
    (tmp_path / "e.csv").write_text("user_id,event,time\nu1,signup,2026-06-04 10:00:00\n", encoding="utf-8")
    cli(["import", "events", str(tmp_path / "e.csv"), "-w", str(ws)], "en")
    out = cli(["report", "-w", str(ws)], "zh-Hans")
    assert "2026-05-25 – 2026-05-31" in out and "本周期没有事件：数据从 2026-06-04 开始" in out
    assert "没有事件" not in cli(["report", "-w", str(small)], "zh-Hans")  # a week with data: no such note


def test_a_forecasts_hours_are_whole():
    from yunying.reports.content import content_people_table

    rows = [{"hours": h, "readers": r} for h, r in ((1.0, 71), (120.0, 3315), (1084.0, 6650))]
    t = content_people_table("content_forecast", rows, "en")
    assert [x["hours"] for x in t["texts"]] == ["1", "120", "1,084"]  # was 1.00, 120, 1,084


def test_the_rfm_chart_names_its_axis_by_what_it_shows():
    from yunying.reports import figures

    fig = {"data": [{"type": "bar", "x": ["重要价值客户"], "y": [3]}], "layout": {"xaxis": {"title": {"text": "name"}}}}
    assert figures.translate(fig, "zh-Hans", "rfm")["layout"]["xaxis"]["title"]["text"] == "客户类别"  # not 名称


def test_the_experiment_html_reads_conversions_in_percent_and_points(tmp_path):
    """control 20 of 200 converted (10.0%), treatment 56 of 200 (28.0%): +18.0 pp — not 0.10, 0.28 and 0.18."""
    lines = ["user,variant,converted"] + [f"u{i},{'treatment' if i % 2 else 'control'},"
                                           f"{int((i // 2) < (56 if i % 2 else 20))}" for i in range(400)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    page = tmp_path / "e.html"
    cli(["experiment", "--table", str(tmp_path / "t.csv"), "--unit", "user", "--metric", "converted",
         "--html", str(page)], "en")
    from test_untranslated import html_text

    text = html_text(page).splitlines()
    assert "10.0%" in text and "28.0%" in text and "+18.0 pp" in text
    assert "0.10" not in text and "0.28" not in text
    # a metric the command named (purchase_conversion_14d) is titled in words, in the table and the HTML
    ws = tmp_path / "wx"
    cli(["init", str(ws)], "en")
    events = ["user_id,event,time,variant"] + [f"u{i},$exposure,2026-06-01 10:00:00,{'treatment' if i % 2 else 'control'}"
                                               for i in range(60)] + [f"u{i},purchase,2026-06-02 10:00:00,"
                                                                      for i in range(0, 60, 3)]
    (tmp_path / "x.csv").write_text("\n".join(events) + "\n", encoding="utf-8")
    cli(["import", "events", str(tmp_path / "x.csv"), "-w", str(ws)], "en")
    out = cli(["experiment", "-w", str(ws), "--conversion", "purchase:14d", "--html", str(tmp_path / "x.html")],
              "zh-Hans")
    assert "purchase 14 天内转化（比例）" in out and "purchase_conversion_14d" not in out
    assert "purchase 14 天内转化" in html_text(tmp_path / "x.html").splitlines()


def test_chinese_chart_ticks_group_thousands_not_si_prefixes():
    """Plotly's default tick text is "5k / 15k"; in Chinese the ticks read 15,000 as the tables do."""
    import plotly.graph_objects as go

    from yunying.reports import figures

    def fig():
        f = go.Figure([go.Bar(x=["2026-06-01", "2026-06-08"], y=[5000, 15000], name="users"),
                       go.Scatter(x=["2026-06-01", "2026-06-08"], y=[0.2, 0.4], name="repurchase_rate", yaxis="y2")])
        f.update_layout(yaxis2={"overlaying": "y", "side": "right"})
        return figures.percent_axes(f.to_plotly_json())

    for lang in ("zh-Hans", "zh-Hant"):
        layout = figures.translate(fig(), lang)["layout"]
        assert layout["yaxis"]["tickformat"] == ",.4~f"  # d3: 15000 → "15,000", 2.5 → "2.5"
        assert layout["yaxis2"]["tickformat"] == ".0%"  # a rate keeps its percent ticks
        assert "tickformat" not in layout.get("xaxis", {})  # dates are not numbers
    assert "tickformat" not in figures.translate(fig(), "en")["layout"].get("yaxis", {})


@pytest.mark.parametrize("lang,under", [("en", "under 1 s"), ("zh-Hans", "不到 1 秒"), ("zh-Hant", "不到 1 秒")])
def test_a_short_import_took_under_a_second_not_zero_seconds(lang, under):
    assert fmt.human_duration(0.3, lang) == under and fmt.human_duration(0.999, lang) == under
    assert fmt.human_duration(0, lang) in ("0 s", "0 秒")  # nothing at all (a bucket's lower end) stays 0
    assert fmt.human_duration(1.2, lang) in ("1 s", "1 秒")


def test_import_and_optimize_progress_speak_the_workspaces_language(tmp_path, monkeypatch):
    """The bar's stage text ("reading e.csv", "sorting events by user and time") in a Chinese workspace."""
    from typer.testing import CliRunner

    from yunying.cli import app, core
    from yunying.cli.common import _Lang

    seen: list[str] = []

    class Bar:  # rich's Progress as the commands use it, recording what it is told to show
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def add_task(self, description, **kw):
            seen.append(str(description))
            return 0

        def update(self, task, description=None, **kw):
            if description is not None:
                seen.append(str(description))

    monkeypatch.setattr(core, "_progress", Bar)
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    ws = str(tmp_path / "ws")
    cli(["init", ws, "--timezone", "UTC"], "zh-Hans")
    (tmp_path / "ws" / "yunying.toml").write_text(
        (tmp_path / "ws" / "yunying.toml").read_text(encoding="utf-8").replace('lang = "en"', 'lang = "zh-Hans"'),
        encoding="utf-8")
    for args in (["import", "events", str(tmp_path / "e.csv"), "-w", ws], ["optimize", "-w", ws]):
        _Lang.flag = _Lang.workspace = None
        try:
            res = CliRunner().invoke(app, args, catch_exceptions=False)
        finally:
            _Lang.flag = _Lang.workspace = None
        assert res.exit_code == 0, res.output
    assert "正在读取 e.csv" in seen and "正在存储 8 条事件（去重、识别用户）" in seen
    assert "正在按用户和时间排序事件" in seen
    assert not [s for s in seen if re.search(r"[A-Za-z]{4,}", s.replace("e.csv", ""))], seen  # no English left


@pytest.mark.parametrize("lang,mark,note", [("zh-Hans", "2026-06-01（未完整）", "数据截至 2026-06-10 18:00"),
                                            ("en", "2026-06-01 (incomplete)", "data until 2026-06-10 18:00")])
def test_repurchase_marks_its_partial_last_month_as_the_dashboard_does(small, lang, mark, note):
    # the data end on 10 June: June has 10 of its 30 days
    out = cli(["repurchase", "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)] == [mark] and note in out
    # weeks: 1–7 June is whole, 8–14 June ends after the data
    out = cli(["repurchase", "--period", "week", "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)][0] == "2026-06-01" and rows_of(out)[-1][0].startswith("2026-06-08")
    assert rows_of(out)[-1][0] != "2026-06-08" and note in out


@pytest.mark.parametrize("args,lang,head", [([], "zh-Hans", "事件次数"), (["--measure", "users"], "en", "Unique users"),
                                            (["--measure", "sum", "--property", "revenue"], "zh-Hant", "求和（revenue）")])
def test_the_trends_value_column_says_what_it_measures(small, args, lang, head):
    out = cli(["trends", "--event", "purchase", "--interval", "week", *args, "-w", str(small)], lang)
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    assert [c.strip() for c in header.strip("┃").split("┃")][1] == head
    assert "数值" not in header and "Value" not in header and "數值" not in header


def test_english_chart_and_legend_titles_in_sentence_case():
    """Titles of ours start with a capital ("Win-back list"); the user's own names (a channel) stay as written."""
    import plotly.graph_objects as go

    from yunying.reports import figures

    f = go.Figure([go.Bar(x=["search", "kol"], y=[24.3, 40.2], name="cost per registration (CNY)"),
                   go.Bar(x=["search", "kol"], y=[1, 2], name="search")])
    f.update_layout(title="win-back list", legend_title_text="cost per registration (CNY)",
                    yaxis_title="cost per registration (CNY)")
    out = figures.translate(f.to_plotly_json(), "en")
    assert out["layout"]["title"]["text"] == "Win-back list"
    assert out["layout"]["legend"]["title"]["text"] == "Cost per registration (CNY)"
    assert out["layout"]["yaxis"]["title"]["text"] == "Cost per registration (CNY)"
    assert [t["name"] for t in out["data"]] == ["Cost per registration (CNY)", "search"]
    assert out["data"][0]["x"] == ["search", "kol"]
    zh = figures.translate(f.to_plotly_json(), "zh-Hans")
    assert zh["layout"]["title"]["text"][0] not in "Ww"  # Chinese titles are not touched by English casing


def test_one_number_of_decimals_down_a_column():
    """The CLV fit table had "129" beside "19.92", the holdout check "913" beside "55.58"."""
    from yunying.reports.columns import people_table

    fit = [{"model": "BG/NBD", "parameter": "r", "value": 0.27, "se": 0.02},
           {"model": "Gamma-Gamma", "parameter": "v", "value": 129.37, "se": 19.92}]
    t = people_table(fit, "en", analysis="fit")
    assert [x["value"] for x in t["texts"]] == ["0.27", "129.37"] and [x["se"] for x in t["texts"]] == ["0.02", "19.92"]
    hold = [{"frequency": "0", "customers": 3755, "predicted": 913.2, "actual": 750},
            {"frequency": "1", "customers": 766, "predicted": 55.58, "actual": 301}]
    t = people_table(hold, "zh-Hans", analysis="holdout")
    assert [x["predicted"] for x in t["texts"]] == ["913.20", "55.58"]
    # every text of a number column has as many decimals as the others
    whole = people_table([{"value": 1234.0}, {"value": 150.7}], "en", analysis="fit")
    assert [x["value"] for x in whole["texts"]] == ["1,234", "151"]


@pytest.mark.parametrize("lang,title", [("zh-Hans", "阅读最多的 30 篇内容的关注率"), ("en", "Follow rate of the 30 most-read pieces")])
def test_the_content_chart_has_a_title(lang, title):
    import pandas as pd

    from yunying.analyses.content.funnel import ContentResult
    from yunying.reports.view import people_view

    frame = pd.DataFrame({"content_id": ["c2", "c1"], "readers": [90, 40], "follow_rate": [0.02, 0.05]})
    res = ContentResult(frame=frame, spec={}, meta={})
    fig = res.chart().to_plotly_json()
    view = people_view("content", {"result": {"rows": frame.to_dict("records")}, "rows_key": "rows",
                                   "figure": fig}, {}, lang=lang)
    assert view["figure"]["layout"]["title"]["text"] == title
    by = ContentResult(frame=frame.rename(columns={"content_id": "topic"}), spec={}, meta={}).chart().to_plotly_json()
    view = people_view("content", {"result": {"rows": []}, "rows_key": "rows", "figure": by}, {}, lang="zh-Hans")
    assert view["figure"]["layout"]["title"]["text"] == "各选题的关注率"
