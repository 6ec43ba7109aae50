"""Issue 13, the final walk (stop 27): what the CLI tables and the weekly report still showed unlike the one
formatter — a range past the data called "incomplete" over rows of zeros, p-values as "< 0.001", a rate's change
without its arrow, an estimated count with decimals, chart ticks in "k" in Chinese. Each against a hand-made
workspace or a hand-worked value."""
from __future__ import annotations

import re

import pytest

from test_operator_walk import rows_of, small  # noqa: F401 - the hand-made workspace (data to 2026-06-10 18:00)
from test_untranslated import cli
from yunying.reports import format as fmt
from yunying.reports.weekly.html import cell_kind, cell_text, svg_chart
from yunying.reports.weekly.model import Chart, Column, Series


@pytest.mark.parametrize("lang,none,note,part", [
    ("zh-Hans", "（无数据）", "2026-06-15 起没有数据", "（未完整）"),
    ("en", " (no data)", "No data from 2026-06-15 on", " (incomplete)")])
def test_a_range_past_the_data_reads_no_data_not_incomplete(small, lang, none, note, part):  # noqa: F811
    # weeks of 8 and 15 June: the data end on Wednesday 10 June, 18:00 — the first week is incomplete (3 of 7
    # days), the second has no data at all: its 0 is no data, not a fall
    out = cli(["trends", "--event", "purchase", "--interval", "week", "--from", "2026-06-08", "--to", "2026-06-21",
               "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)] == [f"2026-06-08{part}", f"2026-06-15{none}"]
    assert [r[1] for r in rows_of(out)] == ["2", "0"]
    assert note in out
    # the incomplete one is the last period *with data*, not the last row
    assert ("最后一个有数据的周期尚未结束" if lang == "zh-Hans" else "The last period with data is incomplete") in out
    # a range wholly after the data: no row and no note calls it incomplete
    out = cli(["trends", "--event", "purchase", "--interval", "day", "--from", "2026-07-01", "--to", "2026-07-03",
               "-w", str(small)], lang)
    assert [r[0] for r in rows_of(out)] == [f"2026-07-0{d}{none}" for d in (1, 2, 3)]
    assert part.strip(" （()）") not in out and "2026-07-01" in out.splitlines()[-1]


def test_the_weekly_report_formats_as_every_other_surface():
    # p = 1.9e-9: scientific below 0.001, as the dashboard and the Excel format (never "< 0.001" or 0)
    assert cell_text(1.86e-9, "pvalue", "CNY") == fmt.pvalue(1.86e-9) == "1.9e-09"
    assert cell_text(0.0432, "pvalue", "CNY") == "0.043"
    # an estimated 324.17 incremental purchases is a count: whole, as `yunying campaign list` shows it
    assert cell_text(324.17, "count", "CNY") == "324"
    # a rate's change (7.3 % → 7.7 %): in points, with the arrow every other change has
    change = Column("change", "Change", "metric_change")
    kind = cell_kind(change, {"_change_kind": "points"})
    assert cell_text(0.0774742 - 0.0734167, kind, "CNY") == "▲ +0.4 pp"
    assert cell_text(-0.0092766, cell_kind(change, {"_change_kind": "points"}), "CNY") == "▼ -0.9 pp"
    assert cell_text(-0.045, cell_kind(change, {"_change_kind": "change"}), "CNY") == "▼ -4.5%"


@pytest.mark.parametrize("lang,ticks,not_ticks", [("zh-Hans", ["120,000", "90,000", "30,000"], ["k<", ".0k"]),
                                                  ("en", ["120k", "90k", "30k"], [".0k"])])
def test_report_chart_ticks_count_as_the_reader_does(lang, ticks, not_ticks):
    # weekly revenue up to CNY 101,529: the axis tops at 120,000 (nice_top), ticks every quarter
    chart = Chart("column", "Revenue", ["2026-08-03", "2026-08-10"], [Series("Revenue", [101529.05, 95978.06])],
                  value_kind="money")
    svg = svg_chart(chart, lang)
    shown = re.findall(r"text-anchor='end' fill='#666'>([^<]+)<", svg)
    assert shown == ["0", ticks[2], "60,000" if lang != "en" else "60k", ticks[1], ticks[0]]
    assert not any(t in svg for t in not_ticks)


def test_every_chinese_chart_counts_in_thousands_not_k():
    """The dashboard's "what moved" waterfall and the campaign page's pacing and portfolio charts ticked 15k,
    120k and 2000 in Chinese; every other chart reads 15,000 (test_operator_walk)."""
    from yunying.reports import campaigns, figures

    waterfall = {"data": [{"type": "waterfall", "x": ["上期", "活跃用户", "本期"], "y": [18143, -1673, 16470],
                           "measure": ["absolute", "relative", "total"]}], "layout": {}}
    assert figures.translate(waterfall, "zh-Hans")["layout"]["yaxis"]["tickformat"] == figures.GROUPED_TICKS
    goal = {"metric": "revenue", "target": 118440.0,
            "days": [{"date": "2026-07-31", "cumulative": 15000.0, "target": 16920.0},
                     {"date": "2026-08-01", "cumulative": 30100.0, "target": 33840.0}]}
    for lang, want in (("zh-Hans", figures.GROUPED_TICKS), ("zh-Hant", figures.GROUPED_TICKS), ("en", None)):
        assert campaigns.pacing_figure({"goals": [goal]}, "revenue", lang).layout.yaxis.tickformat == want
    row = {"campaign": "summer_sale", "start": "2026-07-31", "cost_per_incremental_purchase": 35.1,
           "cost_per_incremental_purchase_low": 22.3, "cost_per_incremental_purchase_high": 83.1}
    assert campaigns.portfolio_figure([row], "zh-Hans", "CNY").layout.yaxis.tickformat == figures.GROUPED_TICKS


def test_the_dashboards_excel_export_writes_money_in_the_workspace_currency():
    """The page reads CNY 322,854.78; its Excel export wrote 322,854.78 with no currency."""
    import io

    import openpyxl

    from yunying.reports.columns import people_table
    from yunying.reports.xlsx import table_bytes

    rows = [{"channel": "search", "spend": 322854.78, "registrations": 13295, "cost_per_registration": 24.28},
            {"channel": "organic", "spend": 0.0, "registrations": 9888, "cost_per_registration": None}]
    table = people_table(rows, "zh-Hans", analysis="channels", currency="CNY")
    assert table["texts"][0]["spend"] == "CNY 322,854.78"
    sheet = openpyxl.load_workbook(io.BytesIO(table_bytes("渠道分析", table))).active
    head = [c.value for c in sheet[1]]
    spend, cpr, regs = (sheet.cell(2, head.index(h) + 1) for h in ("花费", "注册成本", "注册数"))
    assert spend.value == 322854.78 and spend.number_format == '"CNY "#,##0.00'
    assert cpr.number_format == '"CNY "#,##0.00' and regs.number_format == "#,##0"
    # a workspace without a currency: plain money, never a broken format
    plain = openpyxl.load_workbook(io.BytesIO(table_bytes("t", people_table(rows, "en", analysis="channels")))).active
    assert plain.cell(2, 2).number_format == "#,##0.00"
