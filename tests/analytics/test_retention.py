"""Retention: hand-worked logs for every option, and a pandas brute-force reference on random logs."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from yunying.analyses.retention import RetentionSpec, retention
from yunying.errors import SpecError

from analytics_helpers import make_ws


def run(rows, tz="UTC", **spec):
    ws = make_ws(rows, tz=tz)
    try:
        return retention(ws.engine, RetentionSpec(**spec))
    finally:
        ws.close()


def table(r):
    return {(str(c["cohort"]), c.get("breakdown")): (c["size"], c["retained"]) for c in r.to_dict()["cohorts"]}


LOG = [
    ("u1", "signup", "2024-01-01 09:00"), ("u1", "open", "2024-01-02 09:00"), ("u1", "open", "2024-01-04 09:00"),
    ("u2", "signup", "2024-01-01 10:00"), ("u2", "open", "2024-01-03 10:00"),
    ("u3", "signup", "2024-01-02 10:00"), ("u3", "signup", "2024-01-03 10:00"), ("u3", "open", "2024-01-03 11:00"),
]


def test_first_time_daily():
    r = run(LOG, start_event="signup", return_event="open", period="day", periods=3)
    assert table(r) == {("2024-01-01", None): (2, [2, 1, 1, 1]), ("2024-01-02", None): (1, [1, 1, 0, 0])}
    c2 = r.to_dict()["cohorts"][1]
    assert c2["observed_periods"] == 3 and c2["rates"] == [1.0, 1.0, 0.0, None]  # Jan 5 is after the data


def test_recurring_cohorts():
    r = run(LOG, start_event="signup", return_event="open", period="day", periods=3, cohort="recurring")
    assert table(r) == {("2024-01-01", None): (2, [2, 1, 1, 1]), ("2024-01-02", None): (1, [1, 1, 0, 0]),
                        ("2024-01-03", None): (1, [1, 0, 0, 0])}


def test_on_or_after():
    r = run(LOG, start_event="signup", return_event="open", period="day", periods=3, mode="on_or_after")
    assert table(r)[("2024-01-01", None)] == (2, [2, 2, 2, 1])


def test_weeks_start_on_monday_and_months_on_the_first():
    rows = [("u1", "s", "2024-01-07 12:00"), ("u1", "r", "2024-01-08 01:00"),     # Sunday -> Monday: week 1
            ("u2", "s", "2024-01-31 12:00"), ("u2", "r", "2024-02-01 01:00")]     # Jan 31 -> Feb 1: month 1
    w = run(rows, start_event="s", return_event="r", period="week", periods=2)
    assert table(w)[("2024-01-01", None)] == (1, [1, 1, 0])
    assert table(w)[("2024-01-29", None)] == (1, [1, 0, 0])
    m = run(rows, start_event="s", return_event="r", period="month", periods=1)
    assert table(m) == {("2024-01-01", None): (2, [2, 1])}


def test_periods_follow_the_workspace_time_zone():
    rows = [("u1", "s", "2024-01-01 16:30"),    # Jan 2, 00:30 in Shanghai
            ("u1", "r", "2024-01-02 15:00")]    # Jan 2, 23:00 in Shanghai: the same day there
    assert table(run(rows, tz="Asia/Shanghai", start_event="s", return_event="r", periods=1)) == \
        {("2024-01-02", None): (1, [1, 0])}
    assert table(run(rows, start_event="s", return_event="r", periods=1)) == {("2024-01-01", None): (1, [1, 1])}


def test_custom_brackets():
    rows = [("u1", "s", "2024-01-01"), ("u1", "r", "2024-01-05"),
            ("u2", "s", "2024-01-01"), ("u2", "r", "2024-01-02"), ("u2", "r", "2024-01-20")]
    r = run(rows, start_event="s", return_event="r", brackets="1,2-7,8-30")
    assert table(r) == {("2024-01-01", None): (2, [2, 1, 1, 1])}
    assert r.meta["labels"] == ["day 0", "day 1", "day 2-7", "day 8-30"]


def test_breakdown_uses_the_cohort_entry_event():
    rows = [("u1", "s", "2024-01-01", {"channel": "feed"}), ("u1", "s", "2024-01-02", {"channel": "search"}),
            ("u1", "r", "2024-01-02"), ("u2", "s", "2024-01-01", {"channel": "search"}),
            ("u3", "s", "2024-01-01")]
    r = run(rows, start_event="s", return_event="r", periods=1, by="channel")
    assert table(r) == {("2024-01-01", "feed"): (1, [1, 1]), ("2024-01-01", "search"): (1, [1, 0]),
                        ("2024-01-01", "(none)"): (1, [1, 0])}
    r = run(rows, start_event="s", return_event="r", periods=1, by="channel", top=1)
    assert table(r) == {("2024-01-01", "(none)"): (1, [1, 0]), ("2024-01-01", "(other)"): (2, [2, 1])}


def test_property_sum_and_ltv():
    rows = [("u1", "signup", "2024-01-01 10:00"), ("u1", "purchase", "2024-01-01 11:00", {"revenue": 10}),
            ("u1", "purchase", "2024-01-02 11:00", {"revenue": 5}),
            ("u2", "purchase", "2024-01-01 08:00", {"revenue": 7}),   # before u2's signup: not in period 0
            ("u2", "signup", "2024-01-01 09:00"), ("u2", "purchase", "2024-01-03 09:00", {"revenue": 1})]
    r = run(rows, start_event="signup", return_event="purchase", periods=2, value="revenue")
    c = r.to_dict()["cohorts"][0]
    assert c["size"] == 2 and c["retained"] == [2, 1, 1]
    assert c["value"] == [10.0, 5.0, 1.0]
    assert c["value_per_user"] == [5.0, 2.5, 0.5]
    assert c["cumulative_value_per_user"] == [5.0, 7.5, 8.0]


def test_date_range_selects_cohorts_but_first_time_means_ever():
    rows = [("u1", "s", "2024-01-01"), ("u1", "s", "2024-01-03"), ("u1", "r", "2024-01-04"),
            ("u2", "s", "2024-01-03"), ("u2", "r", "2024-01-04")]
    r = run(rows, start_event="s", return_event="r", periods=1, date_from="2024-01-02", date_to="2024-01-03")
    assert table(r) == {("2024-01-03", None): (1, [1, 1])}      # u1's first signup is before the range
    r = run(rows, start_event="s", return_event="r", periods=1, date_from="2024-01-02", cohort="recurring")
    assert table(r) == {("2024-01-03", None): (2, [2, 2])}


def test_identity_merge_and_any_event():
    rows = [(None, "landing", "2024-01-01", {"distinct_id": "anon"}),
            ("u1", "signup", "2024-01-01 01:00", {"distinct_id": "anon"}),
            ("u1", "open", "2024-01-02")]
    r = run(rows, periods=1)   # start and return: any event
    assert table(r) == {("2024-01-01", None): (1, [1, 1])}


def test_spec_validation():
    assert RetentionSpec(cohort="first-time", mode="on-or-after").cohort == "first_time"
    for bad in (dict(periods=0), dict(brackets="0-3"), dict(brackets="5-2"), dict(period="year")):
        with pytest.raises(SpecError):
            RetentionSpec.parse(bad)
    spec = RetentionSpec(start_event="a", brackets="1,2-7")
    assert RetentionSpec.parse(spec.model_dump_json()) == spec


# ----------------------------------------------------------------------------- brute force

def reference(df: pd.DataFrame, tz: str, start: str, ret: str, period: str, n: int, cohort: str, mode: str):
    local = df["ts"].dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    day = local.dt.normalize()
    if period == "day":
        o = (day - pd.Timestamp("1970-01-01")).dt.days
    elif period == "week":
        o = ((day - pd.Timestamp("1970-01-01")).dt.days + 3) // 7
    else:
        o = local.dt.year * 12 + local.dt.month - 1
    df = df.assign(o=o.to_numpy())
    starts = df[df.event == start]
    rets = df[df.event == ret]
    if cohort == "first_time":
        first = starts.sort_values("ts").groupby("user_id").head(1)
        entries = first[["user_id", "o"]]
    else:
        entries = starts[["user_id", "o"]].drop_duplicates()
    ret_sets = rets.groupby("user_id")["o"].agg(set).to_dict()
    out = {}
    for c, g in entries.groupby("o"):
        counts = [len(g)]
        for i in range(1, n + 1):
            k = 0
            for u in g["user_id"]:
                s = ret_sets.get(u, set())
                k += any(x >= c + i for x in s) if mode == "on_or_after" else (c + i) in s
            counts.append(k)
        out[c] = (len(g), counts)
    return out


@pytest.fixture(scope="module")
def random_ws():
    rng = np.random.default_rng(5)
    rows = []
    base = dt.datetime(2024, 2, 20)  # spans the US daylight-saving switch of March 10
    for u in range(300):
        for _ in range(int(rng.integers(1, 15))):
            t = base + dt.timedelta(seconds=int(rng.integers(0, 60 * 86400)))
            rows.append((f"u{u}", str(rng.choice(["s", "r", "x"], p=[0.3, 0.5, 0.2])), t))
    df = pd.DataFrame(rows, columns=["user_id", "event", "ts"])
    ws = make_ws(rows, tz="America/New_York")
    yield ws, df
    ws.close()


@pytest.mark.parametrize("period,n", [("day", 10), ("week", 4), ("month", 2)])
@pytest.mark.parametrize("cohort", ["first_time", "recurring"])
@pytest.mark.parametrize("mode", ["on", "on_or_after"])
def test_matches_brute_force(random_ws, period, n, cohort, mode):
    from yunying.sequences.calendar import date_to_ordinal

    ws, df = random_ws
    r = retention(ws.engine, RetentionSpec(start_event="s", return_event="r", period=period, periods=n,
                                           cohort=cohort, mode=mode))
    got = {date_to_ordinal(dt.date.fromisoformat(c["cohort"]), period): (c["size"], c["retained"])
           for c in r.records()}
    assert got == reference(df, "America/New_York", "s", "r", period, n, cohort, mode)
