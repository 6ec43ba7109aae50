"""Funnels on hand-worked event logs: one small log per option, counts worked out by hand."""
from __future__ import annotations

import datetime as dt

import pytest

from yunying.analyses.funnel import FunnelSpec, funnel
from yunying.model.durations import parse_duration
from yunying.errors import SpecError

from analytics_helpers import counts, make_ws

M, H, D = 60, 3600, 86400


def run(rows, tz="UTC", **spec):
    ws = make_ws(rows, tz=tz)
    try:
        return funnel(ws.engine, FunnelSpec(**spec))
    finally:
        ws.close()


def test_window_edge_is_inclusive_and_order_matters():
    rows = [
        ("u1", "A", 0), ("u1", "B", 10 * M), ("u1", "C", D),          # C exactly one window after A: counts
        ("u2", "A", 0), ("u2", "C", H), ("u2", "B", 2 * H),            # C before B: stops at B
        ("u3", "B", 0), ("u3", "A", M),                                # B before A: entry only
        ("u4", "A", 0), ("u4", "B", D + 1),                            # one second late
    ]
    r = run(rows, steps=["A", "B", "C"], window="1d")
    assert counts(r) == [4, 2, 1]
    assert r.frame["conversion_from_start"].tolist() == [1.0, 0.5, 0.25]
    assert r.frame["conversion_from_previous"].tolist() == [1.0, 0.5, 0.5]
    assert r.meta["conversion"] == 0.25


def test_each_step1_starts_an_attempt_and_the_best_one_counts():
    rows = [
        ("u1", "A", 0), ("u1", "A", 2 * D), ("u1", "B", 2 * D + H), ("u1", "C", 2 * D + 2 * H),
        ("u2", "A", 0), ("u2", "A", 10 * M), ("u2", "B", 20 * M),  # latest start before the conversion
    ]
    r = run(rows, steps=["A", "B", "C"], window="1d")
    assert counts(r) == [2, 2, 1]
    a = r.attempts.set_index("user_id")
    assert (a.loc["u1", "step_3_at"] - a.loc["u1", "step_1_at"]).total_seconds() == 2 * H
    assert (a.loc["u2", "step_2_at"] - a.loc["u2", "step_1_at"]).total_seconds() == 10 * M
    # time to convert: u1 1h (A->B), u2 10m
    step2 = r.frame.iloc[1]
    assert step2["avg_seconds_from_previous"] == (H + 10 * M) / 2
    assert step2["median_seconds_from_start"] == (H + 10 * M) / 2
    assert r.frame.iloc[2]["avg_seconds_from_start"] == 2 * H


def test_level1_users_keep_their_first_entry():
    r = run([("u1", "A", 0), ("u1", "A", D)], steps=["A", "B"], window="1h")
    assert r.dropped_after(1)["entered_at"].tolist() == [dt.datetime(2024, 1, 1)]


def test_ties_are_taken_in_step_order():
    rows = [
        ("u1", "C", 0), ("u1", "B", 0), ("u1", "A", 0),                # all at once: A, B, C
        ("u2", "A", 0), ("u2", "C", 5), ("u2", "B", 5),                # B and C tie after A
        ("u3", "B", 0), ("u3", "A", 0), ("u3", "C", -1),               # C before the tie
    ]
    r = run(rows, steps=["A", "B", "C"], window="1h")
    assert counts(r) == [3, 3, 2]


def test_same_event_twice_needs_two_events():
    rows = [("u1", "view", 0), ("u1", "buy", 10),
            ("u2", "view", 0), ("u2", "view", 0), ("u2", "buy", 10)]
    r = run(rows, steps=["view", "view", "buy"], window="1h")
    assert counts(r) == [2, 1, 1]


def test_strict_order_any_other_event_breaks_the_attempt():
    rows = [
        ("u1", "A", 0), ("u1", "X", 1), ("u1", "B", 2),                # X in between
        ("u2", "A", 0), ("u2", "B", 1), ("u2", "X", 2), ("u2", "C", 3),
        ("u3", "A", 0), ("u3", "A", 1), ("u3", "B", 2), ("u3", "C", 3),  # the second A starts a clean attempt
        ("u4", "A", 0), ("u4", "X", 5), ("u4", "B", 5),                # ties have no order: B may come first
        ("u5", "A", 0), ("u5", "B", 5), ("u5", "X", 5), ("u5", "C", 6),  # ...but then X is next, not C
    ]
    strict = run(rows, steps=["A", "B", "C"], window="1h", order="strict")
    assert counts(strict) == [5, 4, 1]
    ordered = run(rows, steps=["A", "B", "C"], window="1h")
    assert counts(ordered) == [5, 5, 3]


def test_unordered_counts_distinct_steps_inside_the_window():
    rows = [
        ("u1", "C", 0), ("u1", "A", H), ("u1", "B", 2 * H),            # all three, any order
        ("u2", "B", 0), ("u2", "C", 2 * D),                            # too far apart
        ("u3", "A", 0), ("u3", "A", H),                                # the same step twice is one step
    ]
    r = run(rows, steps=["A", "B", "C"], window="1d", order="unordered")
    assert counts(r) == [3, 1, 1]


def test_exclusions_void_attempts():
    rows = [
        ("u1", "A", 0), ("u1", "E", 1), ("u1", "B", 2), ("u1", "C", 3),          # E between 1 and 2: void
        ("u2", "A", 0), ("u2", "B", 1), ("u2", "E", 2), ("u2", "C", 3),          # E after step 2: fine
        ("u3", "A", 0), ("u3", "E", 1), ("u3", "A", 2), ("u3", "B", 3),          # second attempt is clean
        ("u4", "A", 0), ("u4", "E", 2 * D),                                      # E after the window
        ("u5", "A", 0), ("u5", "E", H),                                          # E inside the window, no B: void
    ]
    r = run(rows, steps=["A", "B", "C"], window="1d", exclusions=[{"event": "E", "from_step": 1, "to_step": 2}])
    assert counts(r) == [3, 2, 1]
    assert sorted(r.attempts["user_id"]) == ["u2", "u3", "u4"]
    # default range: the whole funnel
    r = run(rows, steps=["A", "B", "C"], window="1d", exclusions=[{"event": "E"}])
    assert sorted(r.attempts["user_id"]) == ["u3", "u4"]


def test_date_range_applies_to_entry_only_by_default():
    rows = [
        ("u1", "A", "2024-01-01 23:00"), ("u1", "B", "2024-01-02 01:00"),       # entered before the range
        ("u2", "A", "2024-01-02 23:00"), ("u2", "B", "2024-01-03 01:00"),       # converts after the range
    ]
    spec = dict(steps=["A", "B"], window="2d", date_from="2024-01-02", date_to="2024-01-02")
    assert counts(run(rows, **spec)) == [1, 1]
    assert counts(run(rows, steps_in_range=True, **spec)) == [1, 0]


def test_day_boundaries_follow_the_workspace_time_zone():
    rows = [
        ("u1", "A", "2024-01-01 16:30"), ("u1", "B", "2024-01-01 17:00"),       # 00:30 on Jan 2 in Shanghai
        ("u2", "A", "2024-01-01 15:59"), ("u2", "B", "2024-01-01 16:10"),       # 23:59 on Jan 1 in Shanghai
    ]
    spec = dict(steps=["A", "B"], window="1d", date_from="2024-01-02", date_to="2024-01-02")
    assert sorted(run(rows, tz="Asia/Shanghai", **spec).attempts["user_id"]) == ["u1"]
    assert sorted(run(rows, tz="UTC", **spec).attempts["user_id"]) == []
    r = run(rows, tz="Asia/Shanghai", steps=["A", "B"], window="1d", interval="day")
    assert [(str(p), e, c) for p, e, c in r.over_time[["period", "entered", "step_2"]].itertuples(index=False)] == \
        [("2024-01-01", 1, 1), ("2024-01-02", 1, 1)]


def test_identity_merges_count_one_person():
    rows = [
        (None, "ad_click", 0, {"distinct_id": "anon1"}),
        ("u1", "signup", 10, {"distinct_id": "anon1"}),
        ("u1", "purchase", 20),
    ]
    r = run(rows, steps=["ad_click", "signup", "purchase"], window="1h")
    assert counts(r) == [1, 1, 1]


def test_breakdown_attribution():
    rows = [
        ("u1", "A", 0, {"channel": "x"}), ("u1", "B", 1, {"channel": "y"}),
        ("u2", "A", 0, {"channel": "x"}),
        ("u3", "A", 0, {"channel": "z"}), ("u3", "B", 1, {"channel": "z"}),
    ]

    def by(**kw):
        r = run(rows, steps=["A", "B"], window="1h", by="channel", **kw)
        return {b["value"]: [s["count"] for s in b["steps"]] for b in r.breakdown}

    assert by() == {"x": [2, 1], "z": [1, 1]}
    assert by(attribution="last_touch") == {"x": [1, 0], "y": [1, 1], "z": [1, 1]}
    assert by(attribution="step", attribution_step=2) == {"(none)": [1, 0], "y": [1, 1], "z": [1, 1]}
    assert by(top=1) == {"x": [2, 1], "(other)": [1, 1]}


def test_breakdown_on_json_property():
    rows = [("u1", "A", 0, {"plan": "pro"}), ("u1", "B", 1), ("u2", "A", 0, {"plan": "free"})]
    r = run(rows, steps=["A", "B"], window="1h", by="plan")
    assert {b["value"]: b["conversion"] for b in r.breakdown} == {"free": 0.0, "pro": 1.0}


def test_repeat_counts_attempts():
    rows = [
        ("u1", "A", 0), ("u1", "A", 1), ("u1", "A", 2), ("u1", "B", 3),          # 3 attempts, the first converts
        ("u2", "A", 0), ("u2", "B", 1), ("u2", "A", 2), ("u2", "B", 3),          # 2 attempts, both convert
    ]
    r = run(rows, steps=["A", "B"], window="1h", repeat=True)
    assert counts(r) == [5, 3]
    assert r.frame["users"].tolist() == [2, 2]
    assert r.meta["counting"] == "attempts"
    assert counts(run(rows, steps=["A", "B"], window="1h")) == [2, 2]


def test_dropped_after_lists_users_for_reengagement():
    rows = [("u1", "A", 0), ("u1", "B", 1), ("u2", "A", 0), ("u3", "A", 0), ("u3", "B", 1), ("u3", "C", 2)]
    r = run(rows, steps=["A", "B", "C"], window="1h")
    assert r.dropped_after(1)["user_id"].tolist() == ["u2"]
    assert r.dropped_after(2)["user_id"].tolist() == ["u1"]
    with pytest.raises(SpecError):
        r.dropped_after(3)


def test_time_to_convert_distribution():
    rows = [("u1", "A", 0), ("u1", "B", 30), ("u2", "A", 0), ("u2", "B", 2 * H), ("u3", "A", 0)]
    r = run(rows, steps=["A", "B"], window="1d")
    ttc = r.time_to_convert()
    assert ttc["count"].sum() == 2
    assert ttc.loc[ttc["from_seconds"] == 0, "count"].item() == 1
    assert ttc.loc[ttc["from_seconds"] == H, "count"].item() == 1
    d = r.to_dict()
    assert d["steps"][1]["count"] == 2 and d["time_to_convert"][0]["count"] == 1


def test_spec_validation_and_round_trip():
    spec = FunnelSpec(steps=["a", "b"], window="30m", exclusions=[{"event": "x"}])
    assert FunnelSpec.parse(spec.to_json().replace('"kind": "funnel", ', "")) == spec
    assert parse_duration("30m") == 1800 and parse_duration("14d") == 14 * D and parse_duration("2w") == 14 * D
    for bad in (dict(steps=["a"]), dict(steps=["a", "b"], window="soon"),
                dict(steps=["a", "b"], exclusions=[{"event": "a"}]),
                dict(steps=["a", "b"], attribution="step"),
                dict(steps=["a", "b"], order="unordered", repeat=True)):
        with pytest.raises(SpecError):
            FunnelSpec.parse(bad)


def test_empty_workspace_gives_zero_counts():
    r = run([("u1", "Z", 0)], steps=["A", "B"], window="1d")
    assert counts(r) == [0, 0]
    assert r.frame["conversion_from_start"].tolist() == [None, None]
    assert r.dropped_after(1).empty
