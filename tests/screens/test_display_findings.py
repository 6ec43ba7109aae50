"""Issue 13, the last review's display findings, without a browser: spend is neutral (no red or green), a rate's
change in pp has its arrow, the experiment chart title does not repeat "control", weekly axes say week."""
from __future__ import annotations

import re

import pytest

from yunying.reports.i18n import phrase
from yunying.reports.view import overview_parts, people_view

SPEND_UP = {"key": "spend", "section": "acquisition", "kind": "money", "good": "neutral", "current": 15000.0,
            "previous": 10000.0, "change": 0.5, "label": "Spend"}
RATE_DOWN = {"key": "activation_rate", "section": "activation", "kind": "rate", "good": "up", "current": 0.30,
             "previous": 0.35, "change": 0.30 / 0.35 - 1, "label": "Activation rate of new users"}
RATE_UP = {**RATE_DOWN, "current": 0.40, "change": 0.40 / 0.35 - 1}


def test_a_rise_in_spend_is_neither_green_nor_red():
    kpis = {k["key"]: k for k in overview_parts({"metrics": [SPEND_UP]}, "zh-Hans", "CNY")[0]}
    assert kpis["spend"]["direction"] == "up" and kpis["spend"]["tone"] == ""  # an arrow, no colour
    view = people_view("overview", {"result": {"metrics": [SPEND_UP, RATE_DOWN]}}, {}, lang="en", currency="CNY")
    assert view["table"]["tones"][0] == {}                       # the spend row: no tone
    assert view["table"]["tones"][1] == {"change": "bad"}        # a falling activation rate is still red
    assert "good_direction" not in {c["key"] for c in view["table"]["columns"]}


def test_overview_analysis_marks_spend_neutral_and_cost_down():
    from yunying.analyses.overview import GOOD, SECTIONS

    good = {k: GOOD.get(k, "up") for k, *_ in SECTIONS}
    assert good["spend"] == "neutral" and good["cost_per_registration"] == "down" and good["revenue"] == "up"


def test_metric_setting_accepts_neutral_and_refuses_other_words():
    from yunying.config import WorkspaceConfig
    from yunying.errors import ConfigError

    from yunying.analyses.metrics import catalog

    cfg = WorkspaceConfig.model_validate({"name": "x", "metrics": {
        "ad_spend": {"expr": "sum(ad_cost.amount)", "kind": "money", "good": "neutral"}}})
    assert catalog(cfg).get("ad_spend").good == "neutral"
    with pytest.raises((ConfigError, ValueError)) as err:
        WorkspaceConfig.model_validate({"name": "x", "metrics": {"m": {"expr": "count(a)", "good": "sideways"}}})
    assert "neutral" in str(err.value)


def test_weekly_report_leaves_neutral_changes_uncoloured():
    from yunying.reports.weekly.sections import tone

    assert tone(0.5, "neutral") is None and tone(-0.5, "neutral") is None
    assert tone(0.5, "up") == "good" and tone(0.5, "down") == "bad"


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_rate_changes_in_points_have_their_arrow(lang):
    kpis, rows = overview_parts({"metrics": [RATE_DOWN]}, lang, "")
    assert kpis[0]["change"] == "▼ -5.0 pp"
    assert overview_parts({"metrics": [RATE_UP]}, lang, "")[0][0]["change"] == "▲ +5.0 pp"
    view = people_view("overview", {"result": {"metrics": [RATE_DOWN]}}, {}, lang=lang)
    assert view["table"]["texts"][0]["change"] == "▼ -5.0 pp"


def _experiment(control: str):
    from yunying.analyses.experiment import ExperimentSpec, analyze_stats
    from yunying.stats import ProportionStats

    spec = ExperimentSpec.model_validate({"control": control, "metrics": [{"name": "buy", "kind": "conversion", "event": "buy"}]})
    stats = {"buy": {control: ProportionStats(1000, 100), "new": ProportionStats(1000, 140)}}
    return analyze_stats(spec, [control, "new"], {control: 1000, "new": 1000}, stats, {"buy": "proportion"})


@pytest.mark.parametrize("control", ["control", "Control", "对照组", "對照組"])
def test_experiment_title_names_the_control_once(control):
    title = _experiment(control).chart().layout.title.text
    assert title == "Effect vs the control group, 95% confidence intervals"
    assert phrase(title, "zh-Hans") == "相对对照组的效果，95% 置信区间"
    assert phrase(title, "zh-Hant") == "相對對照組的效果，95% 信賴區間"


def test_experiment_title_names_another_control():
    title = _experiment("old_checkout").chart().layout.title.text
    assert title == "Effect vs the control group (old_checkout), 95% confidence intervals"
    assert phrase(title, "zh-Hans") == "相对对照组（old_checkout）的效果，95% 置信区间"
    assert phrase(title, "zh-Hant") == "相對對照組（old_checkout）的效果，95% 信賴區間"


def _axes(kind: str, spec: dict, layout: dict, lang: str, result: dict | None = None) -> dict:
    fig = {"data": [{"type": "scatter", "x": ["2026-06-01", "2026-06-08"], "y": [1, 2], "name": "value"}],
           "layout": layout}
    lay = people_view(kind, {"result": result or {}, "figure": fig}, spec, lang=lang)["figure"]["layout"]
    return {a: lay[a]["title"]["text"] for a in lay if a[1:].startswith("axis") and lay[a].get("title")}


@pytest.mark.parametrize("lang,week,month,day", [("en", "Week", "Month", "Date"), ("zh-Hans", "周", "月份", "日期"),
                                                 ("zh-Hant", "週", "月份", "日期")])
def test_period_axes_say_week_or_month(lang, week, month, day):
    layout = lambda: {"xaxis": {"title": {"text": "date"}}, "yaxis": {"title": {"text": "value"}}}  # noqa: E731
    assert _axes("trends", {"interval": "week"}, layout(), lang)["xaxis"] == week
    assert _axes("trends", {"interval": "month"}, layout(), lang)["xaxis"] == month
    assert _axes("trends", {"interval": "day"}, layout(), lang)["xaxis"] == day
    # an analysis whose period is its default (repurchase: month) says so from the result's own spec
    period = {"xaxis": {"title": {"text": "period"}}}
    assert _axes("repurchase", {}, period, lang, {"spec": {"period": "month"}})["xaxis"] == month


@pytest.mark.parametrize("lang,customers", [("en", "Customers"), ("zh-Hans", "客户数"), ("zh-Hant", "客戶數")])
def test_customer_histogram_counts_customers(lang, customers):
    layout = {"xaxis": {"title": {"text": "p_alive"}}, "yaxis": {"title": {"text": "count"}}}
    assert _axes("customer_value", {}, layout, lang)["yaxis"] == customers


def test_referrals_grouping_is_a_choice():
    from yunying.analyses.content.referrals import ReferralSpec
    from yunying.errors import SpecError

    schema = ReferralSpec.model_json_schema()["properties"]["by"]
    assert schema["enum"] == ["piece", "campaign"]  # the dashboard draws an enum as a select
    with pytest.raises(SpecError):
        ReferralSpec.build(by="topic")  # before: any word silently meant "piece"


@pytest.mark.parametrize("measure", ["count", "users", "per_user", "sum", "avg", "min", "max", "median", "p90"])
def test_trends_titles_read_as_an_operator_says_them(measure):
    from types import SimpleNamespace

    from yunying.analyses.trends import TrendsSpec, _meta

    prop = {"property": "amount"} if measure not in ("count", "users", "per_user") else {}
    spec = TrendsSpec.model_validate({"event": "order", "measure": measure, "interval": "week", **prop})
    title = _meta(SimpleNamespace(timezone="UTC"), spec, spec.all_series)["title"]
    assert not title.startswith(f"{measure} of") and "per_user" not in title and " of order" not in title, title
    assert "order" in title and (not prop or "amount" in title)
    for lang in ("zh-Hans", "zh-Hant"):
        shown = phrase(title, lang)
        leftover = set(re.findall(r"[A-Za-z][A-Za-z_]+", shown)) - {"order", "amount"}
        assert not leftover and shown.endswith("）"), (lang, shown)


@pytest.mark.parametrize("name", ["yunying.stats.agreeing", "yunying.reports.columns",
                                  "yunying.analyses.experiment.result"])
def test_documented_examples(name):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_campaign_boxes_and_panel_say_errors_in_the_page_language(tmp_path, lang):
    """A pacing/review box that cannot be computed yet, and the overview's campaigns panel with a broken
    definition, say why in the page's language (they showed the English message)."""
    import datetime as dt
    import html
    from types import SimpleNamespace

    from yunying.errors import SpecError
    from yunying.reports.error_text import say_error
    from yunying.reports.i18n import messages
    from yunying.server.campaigns_page import _campaign_body
    from yunying.server.campaigns_panel import overview_panel

    early = SpecError(key="campaigns.data.campaign_starts_on_after", name="summer", start=dt.date(2026, 7, 1),
                      as_of=dt.date(2026, 6, 1))
    plan = {"name": "summer"}
    import yunying.reports.campaigns as R

    R_plan = R.plan_section
    try:
        R.plan_section = lambda *a, **k: ""  # only the boxes matter here
        page = _campaign_body("summer", {"plan": plan, "pacing": early, "review": early}, lang, "CNY")
    finally:
        R.plan_section = R_plan
    assert page.count(html.escape(say_error(early, lang))) == 2 and html.escape(str(early)) not in page
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "bad.toml").write_text('name = "bad"\nstart = "not a date"\n', encoding="utf-8")
    panel = overview_panel(SimpleNamespace(paths=SimpleNamespace(root=tmp_path)), messages(lang), lang)
    text = re.sub(r"<[^>]+>", " ", panel)
    assert re.search(r"[\u4e00-\u9fff]", text.split(messages(lang)["camp_campaigns"], 1)[1]), text
    assert not re.search(r"\b(expected|should|must|field)\b", text), text


def test_experiment_intervals_read_low_to_high():
    rows = [{"metric": "buy", "type": "proportion", "variant": "b", "mean": 0.125, "effect_abs": 0.041,
             "ci_abs": [0.0066, 0.0752], "effect_rel": 0.485, "ci_rel": [0.064, 1.076], "verdict": "win"}]
    table = people_view("experiment", {"result": {"metrics": rows}, "rows_key": "metrics"}, {}, lang="zh-Hans")["table"]
    assert table["texts"][0]["ci_rel"] == "+6.4% – +107.6%" and table["texts"][0]["ci_abs"] == "+0.7 pp – +7.5 pp"


def test_bayesian_expected_loss_of_a_rate_reads_in_points():
    # A conversion's expected loss is a difference of two rates: 0.00123 is 0.1 pp (not "0.00"), as the effect beside it; a loss too
    # small for two decimals keeps the digits that show it; a mean's risk stays a plain number.
    rows = [{"metric": "buy", "type": "proportion", "variant": "b", "mean": 0.125, "effect_abs": 0.041,
             "chance_to_win": 0.97, "risk": 0.00123},
            {"metric": "buy", "type": "proportion", "variant": "c", "mean": 0.1, "effect_abs": 0.001,
             "chance_to_win": 0.6, "risk": 0.00004},
            {"metric": "gmv", "type": "mean", "variant": "b", "mean": 12.5, "effect_abs": 0.4,
             "chance_to_win": 0.8, "risk": 0.25}]
    texts = people_view("experiment", {"result": {"metrics": rows}, "rows_key": "metrics"}, {}, lang="en")["table"]["texts"]
    assert texts[0]["risk"] == f"+{100 * 0.00123:.1f} pp" == "+0.1 pp"
    assert texts[1]["risk"] == "+0.004 pp"
    assert "pp" not in texts[2]["risk"] and "0.25" in texts[2]["risk"]
