"""Issue 13, what the final walk left on the charts: the "what moved" waterfall and the campaign page's charts
ticked "15k" / "120k" / "2000" in Chinese (the rule of the other charts: 15,000), and the revenue chart's x axis
ran two empty weeks past its last bar. Checked on the figures and, independently, by plotly.js itself in Chromium
(the tick texts it draws and the range it picks)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from yunying.reports import campaigns as C, figures

CHROMIUM = "/usr/bin/chromium"
WEEKS = [(dt.date(2026, 6, 1) + dt.timedelta(weeks=i)).isoformat() for i in range(13)]  # Mondays
DATA_END = dt.datetime(2026, 8, 29, 23, 59)  # Saturday of the last week (2026-08-24): an incomplete week


def waterfall() -> dict:
    """The explain chart as ExplainResult.chart draws it: previous, factors, current."""
    import plotly.graph_objects as go

    return go.Figure(go.Waterfall(x=["previous", "orders", "price", "current"], y=[100000, 15000, -5000, 110000],
                                  measure=["absolute", "relative", "relative", "total"])).to_plotly_json()


def pacing(lang: str, per_day: int = 15000):
    days = [{"date": dt.date(2026, 6, 1) + dt.timedelta(days=i), "cumulative": per_day * i * 16 // 15,
             "target": per_day * i} for i in range(9)]
    return C.pacing_figure({"goals": [{"metric": "revenue", "target": per_day * 8, "days": days}]}, "revenue", lang)


def revenue_chart() -> dict:
    """The revenue page's chart (analyses/users.py SeriesResult.chart): weekly bars and paying users on y2."""
    import plotly.graph_objects as go

    fig = go.Figure([go.Bar(x=WEEKS, y=[12000 + 7000 * i for i in range(13)], name="revenue"),
                     go.Scatter(x=WEEKS, y=[150 + 90 * i for i in range(13)], name="paying users", yaxis="y2",
                                mode="lines+markers")])
    fig.update_layout(title="Weekly revenue", yaxis={"title": "revenue (CNY)"},
                      yaxis2={"title": "paying users", "overlaying": "y", "side": "right"})
    return fig.to_plotly_json()


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_chinese_waterfall_and_campaign_charts_group_thousands(lang):
    assert figures.translate(waterfall(), lang, "explain")["layout"]["yaxis"]["tickformat"] == figures.GROUPED_TICKS
    fig = pacing(lang)
    assert fig.layout.yaxis.tickformat == figures.GROUPED_TICKS and fig.layout.xaxis.tickformat is None  # dates
    rows = [{"campaign": "a", "start": dt.date(2026, 6, 1), "cost_per_incremental_purchase": 2500.0}]
    assert C.portfolio_figure(rows, lang).layout.yaxis.tickformat == figures.GROUPED_TICKS


def test_english_charts_keep_plotlys_ticks():
    assert "tickformat" not in figures.translate(waterfall(), "en", "explain")["layout"].get("yaxis", {})
    assert pacing("en").layout.yaxis.tickformat is None


def test_the_incomplete_note_does_not_sit_on_the_date_axis():
    """Plotly widens an axis to hold a note placed on it: the note is placed on the plot's edge instead."""
    fig = figures.period_rules(revenue_chart(), interval="week", data_end=DATA_END, lang="zh-Hans")
    note = next(a for a in fig["layout"]["annotations"] if a.get("name") == "incomplete")
    assert note["xref"] == "paper" and note["x"] == 1 and note["xanchor"] == "right"
    shade = next(s for s in fig["layout"]["shapes"] if s.get("name") == "incomplete")
    assert shade["x0"] == "2026-08-20T12:00:00" and shade["x1"] == "2026-08-27T12:00:00"  # the last bar, whole


@pytest.fixture(scope="module")
def plotly_page():
    assert Path(CHROMIUM).exists(), "Debian chromium is not installed (apt-get install chromium)"
    from playwright import sync_api
    from plotly.offline import get_plotlyjs

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1000, "height": 500})
        page.set_content('<div id="g" style="width:1000px;height:450px"></div>')
        page.add_script_tag(content=get_plotlyjs())
        yield page
        browser.close()


def draw(page, fig: dict) -> dict:
    """What plotly.js draws of ``fig``: its y tick texts and its x axis range (milliseconds on a date axis)."""
    import plotly.utils

    spec = json.dumps(fig, cls=plotly.utils.PlotlyJSONEncoder)
    return page.evaluate("""async spec => { const f = JSON.parse(spec); const g = document.getElementById('g');
        await Plotly.newPlot(g, f.data, f.layout);
        const x = g._fullLayout.xaxis;
        return {y: Array.from(g.querySelectorAll('.ytick text')).map(t => t.textContent),
                x: x.type === 'date' ? x.range.map(v => x.r2l(v)) : null}; }""", spec)


@pytest.mark.browser
def test_plotly_draws_thousands_and_ends_the_axis_at_the_last_bar(plotly_page):
    zh = draw(plotly_page, figures.translate(waterfall(), "zh-Hans", "explain"))["y"]
    assert "100,000" in zh and not any(t.endswith("k") for t in zh), zh  # Plotly's own: "100k"
    assert any(t.endswith("k") for t in draw(plotly_page, figures.translate(waterfall(), "en", "explain"))["y"])
    ticks = draw(plotly_page, pacing("zh-Hant").to_plotly_json())["y"]
    assert "100,000" in ticks and not any(t.endswith("k") for t in ticks), ticks
    ticks = draw(plotly_page, pacing("zh-Hans", per_day=500).to_plotly_json())["y"]
    assert "2,000" in ticks and "2000" not in ticks, ticks  # Plotly's own: "2000"
    assert "2000" in draw(plotly_page, pacing("en", per_day=500).to_plotly_json())["y"]
    fig = figures.translate(revenue_chart(), "zh-Hans", "revenue")
    x = draw(plotly_page, figures.period_rules(fig, interval="week", data_end=DATA_END, lang="zh-Hans"))["x"]
    last_bar_end = dt.datetime(2026, 8, 27, 12, tzinfo=dt.timezone.utc).timestamp() * 1000  # 2026-08-24 + 3.5 days
    assert x[1] < last_bar_end + 2 * 24 * 3600 * 1000, dt.datetime.fromtimestamp(x[1] / 1000, dt.timezone.utc)
