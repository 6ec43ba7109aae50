"""Trends breakdowns with several series (issue 19, item 4): the breakdown values are chosen once,
across series, and a count of zero is 0 — hand-worked expectations."""
from __future__ import annotations

import math

import pytest

import yunying

from analytics_helpers import make_ws

# views and follows per piece of content, all on 2024-01-01:
#   c1: 5 views, 0 follows   c2: 4 views, 1 follow   c3: 3 views, 0 follows   c4: 1 view, 3 follows
VIEWS = {"c1": 5, "c2": 4, "c3": 3, "c4": 1}
FOLLOWS = {"c2": 1, "c4": 3}


def _rows():
    rows, k = [], 0
    for event, per in (("view_content", VIEWS), ("follow", FOLLOWS)):
        for content, n in per.items():
            for _ in range(n):
                k += 1
                rows.append((f"u{k % 3}", event, f"2024-01-01 {k % 24:02d}:00", {"piece": content}))
    return rows


@pytest.fixture(scope="module")
def ws():
    w = make_ws(_rows())
    yield w
    w.close()


def _by_value(res, col="value"):
    return {r["breakdown"]: r[col] for r in res.records()}


def test_formula_uses_one_set_of_breakdown_values(ws):
    # Top 2 by the first series (views): c1, c2; the rest of each additive series is (other).
    res = yunying.trends(ws, series=[{"event": "view_content"}, {"event": "follow"}], formula="B/A",
                         by="piece", top=2)
    assert _by_value(res, "A") == {"c1": 5, "c2": 4, "(other)": 4}
    assert _by_value(res, "B") == {"c1": 0, "c2": 1, "(other)": 3}      # c1 has no follows: 0, not n/a
    assert _by_value(res) == {"c1": 0.0, "c2": 0.25, "(other)": 0.75}


def test_zero_count_is_zero_without_fill(ws):
    res = yunying.trends(ws, series=[{"event": "view_content"}, {"event": "follow"}], formula="B/A",
                         by="piece", top=4, fill_zeros=False)
    assert _by_value(res, "B") == {"c1": 0, "c2": 1, "c3": 0, "c4": 3}
    assert _by_value(res) == {"c1": 0.0, "c2": 0.25, "c3": 0.0, "c4": 3.0}


def test_non_additive_series_has_no_other(ws):
    # distinct users cannot be summed into (other): that cell is n/a, the chosen values are exact
    res = yunying.trends(ws, series=[{"event": "view_content"}, {"event": "follow", "measure": "users"}],
                         formula="B/A", by="piece", top=2)
    b = _by_value(res, "B")
    assert b["c1"] == 0 and b["c2"] == 1
    assert b["(other)"] is None and _by_value(res)["(other)"] is None


def test_ties_in_the_first_series_are_broken_by_the_next(ws):
    # c3 (3 views, 0 follows) and the second series decide nothing here; with follows first,
    # c4 (3) then c2 (1) lead, and c1/c3 (0 follows) tie: the views break the tie (c1 has 5).
    res = yunying.trends(ws, series=[{"event": "follow"}, {"event": "view_content"}], formula="A/B",
                         by="piece", top=3)
    assert list(_by_value(res, "A")) == ["(other)", "c1", "c2", "c4"]    # sorted by name in the table
    assert _by_value(res, "A")["(other)"] == 0 and _by_value(res, "B")["(other)"] == 3
    assert not any(isinstance(v, float) and math.isnan(v) for v in _by_value(res).values())
