"""Retention values at the instant of the entry event (issue #19): period 0 sums the return events at or
after the member's entry event, and a return event at the same instant counts whatever order the engine
returns the two in (docs/definitions.md#retention, "Property sum")."""
from __future__ import annotations

import pytest

from yunying.analyses.retention import RetentionSpec, retention

from analytics_helpers import make_ws


@pytest.mark.parametrize("period", ["day", "month"])
def test_a_return_at_the_entry_instant_counts_in_period_0(period):
    at, later = "2024-03-15 04:30", "2024-03-15 05:00"  # 00:30 and 01:00 in New York (EDT)
    rows = [
        # a: the purchase sorts before the signup (alphabetically, and first in the file)
        ("a", "purchase", at, {"revenue": 10.0}), ("a", "signup", at),
        # b: the signup first in the file
        ("b", "signup", at), ("b", "purchase", at, {"revenue": 5.0}),
        # c: a purchase before the signup does not count; one at the same instant and one later do
        ("c", "purchase", "2024-03-15 04:00", {"revenue": 100.0}), ("c", "signup", at),
        ("c", "purchase", at, {"revenue": 1.0}), ("c", "purchase", later, {"revenue": 2.0}),
    ]
    ws = make_ws(rows, tz="America/New_York")
    try:
        r = retention(ws.engine, RetentionSpec(start_event="signup", return_event="purchase", period=period,
                                               periods=1, value="revenue"))
        (cohort,) = r.to_dict()["cohorts"]
        assert cohort["size"] == 3
        assert cohort["value"][0] == pytest.approx(10.0 + 5.0 + 1.0 + 2.0)
        assert cohort["retained"][0] == 3
    finally:
        ws.close()
