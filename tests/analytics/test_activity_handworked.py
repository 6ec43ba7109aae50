"""Lifecycle, stickiness, distribution, intervals and paths on hand-worked logs (every option)."""
from __future__ import annotations

import pytest

from yunying.analyses.distribution import distribution
from yunying.analyses.intervals import intervals
from yunying.analyses.lifecycle import lifecycle
from yunying.analyses.paths import paths
from yunying.analyses.stickiness import stickiness

from analytics_helpers import make_ws


@pytest.fixture
def ws_of():
    opened = []

    def make(rows, tz="UTC"):
        ws = make_ws(rows, tz=tz)
        opened.append(ws)
        return ws.engine

    yield make
    for ws in opened:
        ws.close()


def test_lifecycle_new_is_first_activity_ever_and_range_only_selects_periods(ws_of):
    e = ws_of([("u1", "open", "2024-01-01"), ("u1", "open", "2024-01-03"), ("u2", "open", "2024-01-03"),
               ("u1", "buy", "2024-01-04")])
    rows = lifecycle(e, period="day", date_from="2024-01-02").records()
    assert [(r["period"], r["new"], r["returning"], r["resurrecting"], r["dormant"]) for r in rows] == [
        ("2024-01-02", 0, 0, 0, 1), ("2024-01-03", 1, 0, 1, 0), ("2024-01-04", 0, 1, 0, 1)]
    rows = lifecycle(e, period="day", event="buy").records()   # default range: the data's first to last day
    assert [(r["period"], r["new"]) for r in rows] == [("2024-01-01", 0), ("2024-01-02", 0), ("2024-01-03", 0),
                                                       ("2024-01-04", 1)]
    assert rows[-1]["quick_ratio"] is None


def test_lifecycle_local_days(ws_of):
    rows = [("u1", "open", "2024-01-01 15:30"), ("u1", "open", "2024-01-01 16:30")]   # 23:30 and 00:30 in +8
    assert [r["returning"] for r in lifecycle(ws_of(rows, "Asia/Shanghai"), period="day").records()] == [0, 1]
    assert [r["new"] for r in lifecycle(ws_of(rows), period="day").records()] == [1]


def test_stickiness_month_and_range(ws_of):
    e = ws_of([("u1", "open", "2024-01-30"), ("u1", "open", "2024-01-31"), ("u1", "open", "2024-02-01"),
               ("u2", "open", "2024-02-01"), ("u2", "x", "2024-02-01 10:00")])
    r = stickiness(e, period="month")
    jan, feb = r.records()
    assert jan["days"] == 2 and jan["active_users"] == 1 and jan["days_active"][1] == 1
    assert feb["days"] == 1 and feb["active_users"] == 2 and feb["avg_daily_users"] == 2.0 and feb["stickiness"] == 1.0
    assert r.to_dict()["histogram"][:2] == [{"days_active": 1, "users": 2}, {"days_active": 2, "users": 1}]
    (only,) = stickiness(e, period="month", date_from="2024-01-31", date_to="2024-01-31").records()
    assert only["days"] == 1 and only["days_active"][0] == 1


def test_distribution_buckets(ws_of):
    rows = [("u1", "v", i) for i in range(12)] + [("u2", "v", 0), ("u3", "v", 0), ("u3", "v", 1)]
    r = distribution(ws_of(rows), event="v")
    users = {b["bucket"]: b["users"] for b in r.records()}
    assert users["1"] == 1 and users["2"] == 1 and users["11-20"] == 1 and sum(users.values()) == 3
    assert r.meta["mean"] == pytest.approx(15 / 3) and r.meta["median"] == 2 and r.meta["max"] == 12


def test_intervals_ties_first_only_and_window(ws_of):
    rows = [("u1", "A", 0), ("u1", "B", 0),            # same time: 0 s
            ("u1", "A", 100), ("u1", "A", 200), ("u1", "B", 300),
            ("u2", "A", 0), ("u2", "B", 5000)]
    e = ws_of(rows)
    r = intervals(e, first_event="A", then_event="B")
    assert r.meta["pairs"] == 4 and r.meta["median_seconds"] == 150.0   # 0, 200, 100, 5000
    r = intervals(e, first_event="A", then_event="B", first_only=True)
    assert r.meta["pairs"] == 2 and r.meta["mean_seconds"] == 2500.0
    r = intervals(e, first_event="A", then_event="B", window="1h")
    assert r.meta["pairs"] == 3 and r.frame["count"].sum() == 3


def test_paths_options(ws_of):
    rows = [("u1", "s", 0), ("u1", "b", 10), ("u1", "a", 10), ("u1", "a", 20), ("u1", "c", 5000),
            ("u2", "x", 0), ("u2", "s", 10), ("u2", "s", 20)]
    e = ws_of(rows)
    edges = lambda r: {(s, a, b, c) for s, a, b, c, _ in r.frame.itertuples(index=False)}  # noqa: E731
    # ties are alphabetical (a before b); repeats collapse; u2's repeated s is one event
    assert edges(paths(e, event="s", depth=3, min_share=0)) == {
        (1, "s", "a", 1), (2, "a", "b", 1), (3, "b", "a", 1)}
    assert edges(paths(e, event="s", depth=3, min_share=0, max_gap="1h")) == {
        (1, "s", "a", 1), (2, "a", "b", 1), (3, "b", "a", 1)}
    assert edges(paths(e, event="s", depth=4, min_share=0, max_gap="1h", include_end=True)) == {
        (1, "s", "a", 1), (2, "a", "b", 1), (3, "b", "a", 1), (4, "a", "(end)", 1), (1, "s", "(end)", 1)}
    assert edges(paths(e, event="s", depth=2, min_share=0, collapse_repeats=False)) == {
        (1, "s", "a", 1), (2, "a", "b", 1), (1, "s", "s", 1)}
    assert edges(paths(e, event="s", depth=1, min_share=0, direction="before")) == {(1, "x", "s", 1)}
    r = paths(e, event="s", depth=1, min_share=0, all_occurrences=True, collapse_repeats=False)
    assert r.meta["paths"] == 3
    r = paths(e, event="s", depth=1, min_share=0.6)
    assert edges(r) == {(1, "s", "(other)", 1)}
    assert r.next_events()["event"].tolist() == ["(other)"]
    assert paths(e, event="nope").frame.empty
