"""Threshold and change rules on the two weeks of docs/report.md#worked-example (revenue 2,000 → 2,430, pay
rate 20 % → 30 %, every purchase CNY 100 in week A and CNY 90 in week B), checked by hand."""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))
from report_helpers import WEEK_A, WEEK_B, shop  # noqa: E402

import yunying  # noqa: E402
from yunying.analyses.alerts import check_rule  # noqa: E402
from yunying.config import AlertRule  # noqa: E402
from yunying.model.holidays import Calendar  # noqa: E402

NOW = dt.datetime(2026, 3, 16, 6, tzinfo=dt.timezone.utc)  # Monday morning after week B


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    ws = yunying.open(shop(tmp_path_factory.mktemp("rules")), read_only=True)
    yield ws.engine
    ws.close()


def check(engine, **rule):
    return check_rule(engine, AlertRule(name="r", **rule), now=NOW, calendar=Calendar())


@pytest.mark.parametrize("rule, outcome, value, reference", [
    (dict(metric="revenue", period="week", condition="change", rise=0.2), "fired", 2430.0, 2000.0),   # +21.5 % ≥ 20 %
    (dict(metric="revenue", period="week", condition="change", rise=0.25), "ok", 2430.0, 2000.0),
    (dict(metric="revenue", period="week", condition="change", drop=0.1), "ok", 2430.0, 2000.0),
    (dict(metric="pay_rate", period="week", condition="change", rise=0.1, unit="points"), "fired", 0.3, 0.2),
    (dict(metric="arppu", period="week", condition="change", drop=0.1), "fired", 90.0, 100.0),     # −10 % exactly
    (dict(metric="buyers", period="week", condition="threshold", above=26), "fired", 27.0, 26.0),
    (dict(metric="buyers", period="week", condition="threshold", above=27), "ok", 27.0, 27.0),      # not above 27
    # a filter: purchases over CNY 95 were all in week A → the week B value is 0, a fall of 100 %
    (dict(metric="revenue", period="week", condition="change", drop=0.5, where=["event.revenue > 95"]), "fired", 0.0, 2000.0),
])
def test_rule_outcomes_by_hand(engine, rule, outcome, value, reference):
    c = check(engine, **rule)
    assert (c.start, c.end) == (WEEK_B, WEEK_B + dt.timedelta(days=6))
    assert c.outcome == outcome
    assert c.value == pytest.approx(value) and c.reference == pytest.approx(reference)


def test_a_day_without_later_data_waits(engine):
    # Sunday 15 March is the last day with data: the day after has no data and waits
    c = check_rule(engine, AlertRule(name="d", metric="buyers", condition="threshold", below=1),
                   now=dt.datetime(2026, 3, 17, 6, tzinfo=dt.timezone.utc), calendar=Calendar(),
                   latest=dt.datetime(2026, 3, 15, 11, tzinfo=dt.timezone.utc))
    assert (c.start, c.outcome) == (dt.date(2026, 3, 16), "waiting")


def test_previous_period_of_a_month(engine):
    c = check_rule(engine, AlertRule(name="m", metric="revenue", period="month", condition="change", drop=0.5),
                   now=NOW, calendar=Calendar(), start=WEEK_A, latest=dt.datetime(2026, 3, 15, 11, tzinfo=dt.timezone.utc))
    assert (c.start, c.end, c.outcome) == (dt.date(2026, 3, 1), dt.date(2026, 3, 31), "waiting")  # not over in the data
    c = check_rule(engine, AlertRule(name="m", metric="revenue", period="month", condition="change", drop=0.5),
                   now=NOW, calendar=Calendar(), start=dt.date(2026, 2, 1),
                   latest=dt.datetime(2026, 3, 15, 11, tzinfo=dt.timezone.utc))
    # February had no purchases: a change from 0 is undefined, never an alert
    assert (c.detail["previous_start"], c.outcome, c.value) == ("2026-01-01", "no_data", 0.0)


def test_segment_rule(tmp_path):
    path = shop(tmp_path)
    ws = yunying.Workspace.open(path)
    ws.save_segment("vip", kind="static", static_ids=[f"{WEEK_B}-u{i}" for i in range(10)] + [f"{WEEK_A}-u{i}" for i in range(40)])
    ws.close()
    with yunying.open(path, read_only=True) as w:
        c = check_rule(w.engine, AlertRule(name="s", metric="buyers", period="week", condition="change", drop=0.4,
                                           segment="vip"), now=NOW, calendar=Calendar())
    # week A: the segment holds users 0–39, of whom 0–19 bought (20); week B: users 0–9, all buyers (10): −50 %
    assert (c.value, c.reference, c.outcome) == (10.0, 20.0, "fired")


def test_complete_periods_follow_the_workspace_time_zone():
    from yunying.analyses.alerts import last_complete_period, period_end_utc

    # 16:10 UTC on 2 March is 00:10 on 3 March in Shanghai: 2 March is over there, not in UTC
    now = dt.datetime(2026, 3, 2, 16, 10, tzinfo=dt.timezone.utc)
    assert last_complete_period(now, "Asia/Shanghai", "day") == (dt.date(2026, 3, 2), dt.date(2026, 3, 2))
    assert last_complete_period(now, "UTC", "day") == (dt.date(2026, 3, 1), dt.date(2026, 3, 1))
    assert last_complete_period(now, "Asia/Shanghai", "day", grace_minutes=30)[0] == dt.date(2026, 3, 1)
    assert last_complete_period(now, "Asia/Shanghai", "month") == (dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    assert period_end_utc(dt.date(2026, 3, 2), "Asia/Shanghai") == dt.datetime(2026, 3, 2, 16, tzinfo=dt.timezone.utc)
