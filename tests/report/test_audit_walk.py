"""Issue 13, the final walk (AUDIT.md): what the CLI tables and the weekly report still showed unlike the one
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
