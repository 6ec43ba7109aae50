"""The worked examples in docs/definitions.md: event logs read from the doc, numbers checked here."""
from __future__ import annotations

import csv
import io
import re

import pytest

from util import ROOT

from analytics_helpers import make_ws

DOC = ROOT / "docs" / "definitions.md"


def example(name: str):
    text = DOC.read_text(encoding="utf-8")
    m = re.search(rf"<!-- example: {name} -->\s*```csv\n(.*?)```", text, re.S)
    assert m, f"example {name!r} not found in docs/definitions.md"
    rows = list(csv.DictReader(io.StringIO(m.group(1))))
    return [(r["user_id"], r["event"], r["ts"]) for r in rows]


@pytest.fixture
def ws_of():
    opened = []

    def make(name):
        ws = make_ws(example(name))
        opened.append(ws)
        return ws.engine

    yield make
    for ws in opened:
        ws.close()


def test_funnel_example(ws_of):
    from yunying.analyses.funnel import funnel

    e = ws_of("funnel")
    steps = ["signup", "activate", "purchase"]
    ordered = funnel(e, steps=steps, window="1d")
    assert ordered.frame["count"].tolist() == [3, 3, 1]
    assert funnel(e, steps=steps, window="1d", order="strict").frame["count"].tolist() == [3, 2, 1]
    assert funnel(e, steps=steps, window="1d", order="unordered").frame["count"].tolist() == [4, 3, 2]
    ranged = funnel(e, steps=steps, window="1d", date_from="2024-01-03", date_to="2024-01-03")
    assert ranged.frame["count"].tolist() == [1, 1, 0]
    act = ordered.frame.iloc[1]
    assert act["median_seconds_from_previous"] == 1800 and act["avg_seconds_from_previous"] == 3100
    assert ordered.dropped_after(2)["user_id"].tolist() == ["u2", "u3"]


def test_retention_example(ws_of):
    from yunying.analyses.retention import retention

    e = ws_of("retention")
    base = dict(start_event="signup", return_event="open", period="day", periods=3)
    rows = {str(r["cohort"]): r for r in retention(e, **base).records()}
    assert (rows["2024-01-01"]["size"], rows["2024-01-01"]["retained"]) == (2, [2, 1, 1, 1])
    assert rows["2024-01-02"]["retained"] == [1, 1, 0, 0]
    assert rows["2024-01-02"]["rates"][3] is None and rows["2024-01-02"]["observed_periods"] == 3
    rec = {str(r["cohort"]): r["retained"] for r in retention(e, cohort="recurring", **base).records()}
    assert rec["2024-01-03"] == [1, 0, 0, 0]
    after = {str(r["cohort"]): r["retained"] for r in retention(e, mode="on_or_after", **base).records()}
    assert after["2024-01-01"] == [2, 2, 2, 1]


def test_lifecycle_example(ws_of):
    from yunying.analyses.lifecycle import lifecycle

    r = lifecycle(ws_of("lifecycle"), period="week")
    got = [(str(p), n, ret, res, d) for p, n, ret, res, d in
           r.frame[["period", "new", "returning", "resurrecting", "dormant"]].itertuples(index=False)]
    assert got == [("2024-01-01", 2, 0, 0, 0), ("2024-01-08", 1, 1, 0, 1), ("2024-01-15", 0, 0, 1, 2)]


def test_stickiness_example(ws_of):
    from yunying.analyses.stickiness import stickiness

    r = stickiness(ws_of("stickiness"), period="week").records()[0]
    assert r["active_users"] == 2 and r["days_active"] == [1, 0, 1, 0, 0, 0, 0] and r["days"] == 3
    assert r["avg_daily_users"] == pytest.approx(4 / 3) and r["stickiness"] == pytest.approx(2 / 3)


def test_intervals_example(ws_of):
    from yunying.analyses.intervals import intervals

    r = intervals(ws_of("intervals"), first_event="purchase", then_event="purchase")
    assert r.meta["pairs"] == 2 and r.meta["median_seconds"] == 88200


def test_paths_example(ws_of):
    from yunying.analyses.paths import paths

    r = paths(ws_of("paths"), event="signup", depth=2, min_share=0)
    assert {(s, a, b, c) for s, a, b, c, _ in r.frame.itertuples(index=False)} == {
        (1, "signup", "view", 2), (2, "view", "buy", 1), (2, "view", "share", 1)}
    assert r.meta["paths"] == 3 and r.frame.iloc[0]["share"] == pytest.approx(2 / 3)


def test_trends_example(ws_of):
    from yunying.analyses.trends import TrendsSpec, trends

    e = ws_of("trends")
    dau = trends(e, active=True, measure="users", interval="day")
    assert dau.frame["value"].tolist() == [2, 1]
    assert trends(e, active=True, measure="count", interval="day").frame["value"].tolist() == [3, 1]
    ratio = trends(e, TrendsSpec.from_cli(events=["buy"], active=True, measures=["count", "users"],
                                          properties=None, formula="A/B", interval="day"))
    assert ratio.frame["value"].tolist() == [0.5, 0.0]
    assert trends(e, active=True, measure="users", interval="week").frame["value"].tolist() == [2]
