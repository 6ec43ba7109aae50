"""A property that no event has is an error naming the close spellings, not a silent "(none)" or 0."""
from __future__ import annotations

import pytest

from yunying.analyses.funnel import funnel
from yunying.analyses.retention import retention
from yunying.analyses.trends import trends
from yunying.errors import SpecError

from analytics_helpers import make_ws


@pytest.fixture(scope="module")
def ws():
    rows = [("u1", "signup", 0, {"channel": "ads", "plan": "pro"}),
            ("u1", "purchase", 60, {"revenue": 9.5, "coupon_code": "X1"}),
            ("u2", "signup", 10, {"channel": "seo"}),
            ("u2", "purchase", 70, {"revenue": 3, "coupon_code": None})]
    w = make_ws(rows)
    yield w
    w.close()


def test_typed_and_json_properties_pass(ws):
    assert funnel(ws.engine, steps=["signup", "purchase"], window="1d", by="channel").breakdown
    by_plan = funnel(ws.engine, steps=["signup", "purchase"], window="1d", by="plan").breakdown
    assert sorted(b["value"] for b in by_plan) == ["(none)", "pro"]
    by_coupon = trends(ws.engine, event="purchase", measure="count", by="coupon_code").to_pandas()
    assert sorted(by_coupon["breakdown"]) == ["(none)", "X1"]


@pytest.mark.parametrize("call,wrong,right", [
    (lambda e: funnel(e, steps=["signup", "purchase"], window="1d", by="chanel"), "chanel", "channel"),
    (lambda e: funnel(e, steps=["signup", "purchase"], window="1d", by="plann"), "plann", "plan"),
    (lambda e: retention(e, start_event="signup", return_event="purchase", value="revenu"), "revenu", "revenue"),
    (lambda e: trends(e, event="purchase", measure="sum", property="coupon"), "coupon", "coupon_code"),
])
def test_a_misspelt_property_is_an_error_with_the_right_spelling(ws, call, wrong, right):
    with pytest.raises(SpecError, match=rf"property '{wrong}' .*did you mean .*'{right}'"):
        call(ws.engine)


def test_a_property_nothing_resembles_lists_the_known_ones(ws):
    with pytest.raises(SpecError, match=r"property 'zzz' .*known: .*channel.*plan"):
        trends(ws.engine, event="signup", measure="count", by="zzz")


def test_a_property_that_is_always_null_is_not_a_typo():
    # not "did you mean": the property is named, but no signup carries it, so a breakdown would put every
    # signup in "(none)" — that is said, as an error (issue 19, item 5)
    w = make_ws([("u1", "signup", 0, {"plan": None, "channel": "ads"}), ("u2", "signup", 5, {"plan": None})])
    with pytest.raises(SpecError, match=r"property 'plan' is not set on any 'signup' event") as exc:
        trends(w.engine, event="signup", measure="count", by="plan")
    assert "did you mean" not in str(exc.value)
    w.close()


@pytest.mark.parametrize("kind", ["trends", "funnel", "retention", "lifecycle", "stickiness"])
def test_dates_outside_the_stored_range_are_refused(kind):
    from yunying.analyses import registry

    base = {"trends": {"event": "signup"}, "funnel": {"steps": ["signup", "purchase"]}}.get(kind, {})
    with pytest.raises(SpecError, match="date_from: expected a date between 1970-01-01 and 2100-12-31"):
        registry.get(kind).spec_class.parse({**base, "date_from": "0001-01-01"})
    assert registry.get(kind).spec_class.parse({**base, "date_from": "1970-01-01", "date_to": "2100-12-31"})


def test_previous_period_dates_step_by_whole_periods():
    """_forward (n periods ahead, used by --compare) against stepping one period at a time."""
    import datetime as dt

    from yunying.sequences.calendar import next_period
    from yunying.analyses.trends import _forward

    for interval, start in [("day", dt.date(2024, 2, 27)), ("week", dt.date(2024, 12, 30)),
                            ("month", dt.date(2023, 11, 1)), ("month", dt.date(2024, 1, 1))]:
        d = start
        for n in range(30):
            assert _forward(start, interval, n) == d
            d = next_period(d, interval)
