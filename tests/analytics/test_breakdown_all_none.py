"""Issue 19 item 5 (siblings in funnels and retention): a breakdown by a property that none of the counted
events carries would put everything in "(none)" — an error naming the property, not a silent table."""
from __future__ import annotations

import datetime as dt

import pytest

from yunying.analyses.funnel import funnel
from yunying.analyses.retention import retention
from yunying.errors import SpecError

from analytics_helpers import T0, make_ws

ROWS = [  # (user, event, minute, properties): only 'view' events carry a channel
    ("u1", "signup", 0, {}), ("u1", "view", 5, {"channel": "kol"}), ("u1", "buy", 10, {}),
    ("u2", "signup", 0, {}), ("u2", "view", 1440 * 8, {"channel": "feed"}),
]


@pytest.fixture
def ws():
    w = make_ws([(u, e, T0 + dt.timedelta(minutes=m), p) for u, e, m, p in ROWS])
    yield w
    w.close()


def test_funnel_by_a_property_the_first_steps_lack_is_an_error(ws):
    with pytest.raises(SpecError, match=r"'channel' is not set on any first step event"):
        funnel(ws.engine, steps=["signup", "buy"], window="1d", by="channel")


def test_funnel_by_a_property_some_attributed_events_have_is_fine(ws):
    r = funnel(ws.engine, steps=["view", "buy"], window="1d", by="channel")
    assert {b["value"] for b in r.breakdown} == {"kol", "feed"}


def test_retention_by_a_property_the_start_events_lack_is_an_error(ws):
    with pytest.raises(SpecError, match=r"'channel' is not set on any 'signup' event"):
        retention(ws.engine, start_event="signup", return_event="view", period="week", periods=2, by="channel")


def test_retention_by_a_property_the_start_events_have_is_fine(ws):
    r = retention(ws.engine, start_event="view", return_event="view", period="week", periods=2, by="channel")
    assert set(r.frame["breakdown"]) == {"kol", "feed"}
