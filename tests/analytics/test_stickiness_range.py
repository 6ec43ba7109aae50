"""Stickiness over a date range that starts before the data (issue #19): the ``daily`` series covers the
days that are counted - inside both the range and the data - the same days ``avg_daily_users`` averages
(docs/definitions.md#stickiness)."""
from __future__ import annotations

import datetime as dt

import pytest

from yunying.analyses.stickiness import StickinessSpec, stickiness

from analytics_helpers import make_ws

D = dt.date


def test_monthly_new_york_range_starting_mid_month_before_the_data():
    rows = [
        ("a", "open", "2024-01-15 03:00"),  # 22:00 on Jan 14 in New York: the data's first local day
        ("a", "open", "2024-01-20 15:00"),
        ("b", "open", "2024-01-20 16:00"),
        ("b", "open", "2024-02-05 12:00"),  # the data's last day
    ]
    ws = make_ws(rows, tz="America/New_York")
    try:
        r = stickiness(ws.engine, StickinessSpec(period="month", date_from=D(2024, 1, 10), date_to=D(2024, 2, 20)))
        daily = r.daily
        assert daily["date"].tolist() == [D(2024, 1, 14) + dt.timedelta(days=i) for i in range(23)]
        assert dict(zip(daily["date"], daily["users"]))[D(2024, 1, 14)] == 1
        assert dict(zip(daily["date"], daily["users"]))[D(2024, 1, 20)] == 2
        assert int(daily["users"].sum()) == 4
        jan, feb = r.to_dict()["periods"]
        assert (jan["days"], feb["days"]) == (18, 5)  # Jan 14-31, Feb 1-5
        for row, month in ((jan, 1), (feb, 2)):
            users = [u for d, u in zip(daily["date"], daily["users"]) if d.month == month]
            assert len(users) == row["days"]
            assert row["avg_daily_users"] == pytest.approx(sum(users) / len(users))
        assert (jan["active_users"], feb["active_users"]) == (2, 1)
    finally:
        ws.close()


def test_a_range_without_data_has_no_daily_rows():
    ws = make_ws([("a", "open", "2024-01-15 12:00")], tz="America/New_York")
    try:
        r = stickiness(ws.engine, StickinessSpec(period="week", date_from=D(2024, 3, 1), date_to=D(2024, 3, 10)))
        assert r.daily.empty
        assert all(p["days"] == 0 and p["active_users"] == 0 for p in r.to_dict()["periods"])
    finally:
        ws.close()
