"""English chart legends are in sentence case, one-word names of ours too ("Revenue", "Attempts", "During"); the
user's one-word event or channel names stay as they are, and Chinese is unchanged (issue 13)."""
from __future__ import annotations

import doctest

import pytest

from yunying.reports import campaigns, figures


def names(fig: dict) -> list[str]:
    return [t["name"] for t in fig["data"]]


NAMES = ["attempts", "first-time", "revenue", "p_value", "search", "purchase", "app_open"]


@pytest.mark.parametrize("lang, expected", [
    # ours in sentence case; search, purchase, app_open are the user's events/channels
    ("en", ["Attempts", "First-time", "Revenue", "P-value", "search", "purchase", "app_open"]),
    ("zh-Hans", ["尝试次数", "首次", "收入", "p 值", "search", "purchase", "app_open"]),
    ("zh-Hant", ["嘗試次數", "首次", "收入", "p 值", "search", "purchase", "app_open"]),
])
def test_one_word_trace_names_of_ours(lang, expected):
    fig = {"data": [{"type": "scatter", "name": n} for n in NAMES], "layout": {}}
    assert names(figures.translate(fig, lang)) == expected


def review(gap):
    return {"lift": {"did": {"purchases": {"pre_trend": {"gap": gap}, "n_pre": 3}}}, "window": {"start": "2026-06-10"}}


@pytest.mark.parametrize("lang, expected", [("en", ["Before the start", "During"]),
                                            ("zh-Hans", ["活动前", "活动期间"]), ("zh-Hant", ["活動前", "活動期間"])])
def test_campaign_gap_chart_legend(lang, expected):
    fig = campaigns.gap_figure(review([0.1, -0.1, 0.0, 0.4, 0.5]), lang)
    assert names(fig.to_plotly_json()) == expected


def test_the_same_words_inside_a_sentence_stay_lower_case():
    line = campaigns.check_line({"lift": {"method": "did", "did": {"purchases": {
        "pre_trend": {"gap": [0.1, 0.2], "p_value": 0.5}, "n_pre": 1}}}}, "en")
    assert line.endswith("— before the start: 0.1000; during: 0.2000")


def test_documented_examples():
    assert doctest.testmod(figures).failed == 0
