"""Evaluating alert rules (``[[alerts]]`` in yunying.toml) on complete periods (docs/alerts.md#rules).

A rule is checked on the **last complete period**: the day / ISO week / month that ended at least
``grace_minutes`` ago (workspace time zone) **and** whose data has arrived — the workspace holds an event at
or after the period's end. A period without later data is ``waiting`` and checked on a later run, so a
nightly import that has not come in yet never reads as a drop to zero.

Conditions:

(An import that added rows after the period's end counts as its data having arrived too.)

* ``threshold``: the period's value is above ``above`` or below ``below``;
* ``change``: against the period before, ``(value - previous) / previous`` ≤ ``-drop`` or ≥ ``rise``
  (``unit = "points"``: ``value - previous`` in points of a rate, 0.02 = 2 pp);
* ``anomaly``: the day's value against the robust seasonal baseline of ``stats/anomaly.py`` (same weekday over
  ``weeks`` weeks, holidays of the calendar left out; a holiday itself is ``excluded``, never an alert).

Metric values come from the metrics layer (``analyses/metrics.py``), with the rule's ``where`` filters and
``segment``.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np

from ..model import filters as F
from ..model.holidays import Calendar
from ..sequences.calendar import next_period, period_start
from ..stats import anomaly as A
from . import metrics as M

FIRED, OK, WAITING, NO_DATA, EXCLUDED, INSUFFICIENT = (
    "fired", "ok", "waiting", "no_data", "excluded", "insufficient_history")


@dataclass
class Check:
    """The outcome of one rule on one period. ``reference``: the threshold crossed, the previous period's
    value (change) or the expected value (anomaly)."""

    rule: str
    metric: str
    period: str
    start: dt.date
    end: dt.date  # last day, inclusive
    outcome: str
    value: float | None = None
    reference: float | None = None
    detail: dict = field(default_factory=dict)

    @property
    def fired(self) -> bool:
        return self.outcome == FIRED

    def to_dict(self) -> dict:
        return {"rule": self.rule, "metric": self.metric, "period": self.period, "period_start": self.start.isoformat(),
                "period_end": self.end.isoformat(), "outcome": self.outcome, "value": self.value,
                "reference": self.reference, "detail": self.detail}


def fingerprint(rule) -> str:
    """What makes two versions of a rule the same check (its channels and grace do not)."""
    text = rule.model_dump_json(exclude={"channels", "grace_minutes"})
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def rule_filters(rule) -> list[dict]:
    extra = [F.to_json(F.Condition(F.Field("segment"), "=", F.Value("string", rule.segment)))] if rule.segment else []
    return [*rule.where, *extra]


def last_complete_period(now: dt.datetime, tz: str, period: str, grace_minutes: int = 0) -> tuple[dt.date, dt.date]:
    """(first day, last day) of the latest period that ended ``grace_minutes`` before ``now`` (aware).

    >>> now = dt.datetime(2026, 3, 4, 0, 20, tzinfo=dt.timezone.utc)
    >>> last_complete_period(now, "UTC", "day", 30), last_complete_period(now, "UTC", "week")
    ((datetime.date(2026, 3, 2), datetime.date(2026, 3, 2)), (datetime.date(2026, 2, 23), datetime.date(2026, 3, 1)))
    """
    local = now.astimezone(ZoneInfo(tz)) - dt.timedelta(minutes=grace_minutes)
    current = period_start(local.date(), period)
    start = period_start(current - dt.timedelta(days=1), period)
    return start, current - dt.timedelta(days=1)


def period_end_utc(last_day: dt.date, tz: str) -> dt.datetime:
    """The instant a period ending on ``last_day`` (inclusive, local) ends, in UTC."""
    end_local = dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), ZoneInfo(tz))
    return end_local.astimezone(dt.timezone.utc)


def data_until(engine) -> dt.datetime | None:
    """How far the data reaches (UTC): the later of the latest event's time and the end of the latest import
    that added rows (a nightly file of yesterday's events has arrived once it is imported). None: no data."""
    last = engine.time_bounds()[1]
    out = None if last is None else dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(last))
    ws = engine.workspace
    with ws.lock:
        imported = ws.con.execute("SELECT max(imported_at) FROM imports WHERE rows_added > 0").fetchall()[0][0]
    if imported is not None:
        imported = imported.replace(tzinfo=dt.timezone.utc)  # stored in UTC (connections run in UTC)
        out = imported if out is None else max(out, imported)
    return out


def check_rule(engine, rule, *, now: dt.datetime, calendar: Calendar, cat=None, start: dt.date | None = None,
               latest: dt.datetime | None = None) -> Check:
    """Check ``rule`` on its last complete period at ``now`` (or on the period starting ``start``)."""
    tz = engine.timezone
    cat = cat or M.catalog(engine)
    cat.get(rule.metric)
    if start is None:
        start, end = last_complete_period(now, tz, rule.period, rule.grace_minutes)
    else:
        start = period_start(start, rule.period)
        end = next_period(start, rule.period) - dt.timedelta(days=1)
    check = Check(rule.name, rule.metric, rule.period, start, end, WAITING)
    latest = latest if latest is not None else data_until(engine)
    if latest is None or latest < period_end_utc(end, tz):
        check.detail["data_until"] = None if latest is None else latest.isoformat()
        return check
    how = {"threshold": _threshold, "change": _change, "anomaly": _anomaly}[rule.condition]
    return how(engine, rule, check, cat, calendar)


def _value(engine, rule, cat, first: dt.date, last: dt.date) -> float | None:
    return M.evaluate(engine, rule.metric, first, last, filters=rule_filters(rule), cat=cat)


def _threshold(engine, rule, check: Check, cat, calendar) -> Check:
    v = _value(engine, rule, cat, check.start, check.end)
    check.value = v
    if v is None:
        check.outcome = NO_DATA
        return check
    if rule.above is not None and v > rule.above:
        check.outcome, check.reference, check.detail["crossed"] = FIRED, rule.above, "above"
    elif rule.below is not None and v < rule.below:
        check.outcome, check.reference, check.detail["crossed"] = FIRED, rule.below, "below"
    else:
        check.outcome = OK
        check.reference = rule.above if rule.above is not None else rule.below
    return check


def _change(engine, rule, check: Check, cat, calendar) -> Check:
    prev_start = period_start(check.start - dt.timedelta(days=1), rule.period)
    v = _value(engine, rule, cat, check.start, check.end)
    p = _value(engine, rule, cat, prev_start, check.start - dt.timedelta(days=1))
    check.value, check.reference = v, p
    check.detail["previous_start"] = prev_start.isoformat()
    if v is None or p is None or (rule.unit == "relative" and p == 0):
        check.outcome = NO_DATA
        return check
    delta = (v - p) / p if rule.unit == "relative" else v - p
    check.detail.update(change=delta, unit=rule.unit)
    eps = 1e-9 * max(1.0, abs(delta))  # "falls by 10 % or more" holds at exactly 10 % despite rounding
    fell = rule.drop is not None and delta <= -rule.drop + eps
    rose = rule.rise is not None and delta >= rule.rise - eps
    check.outcome = FIRED if fell or rose else OK
    if fell or rose:
        check.detail["crossed"] = "drop" if fell else "rise"
    return check


def _anomaly(engine, rule, check: Check, cat, calendar) -> Check:
    day = check.start
    first = day - dt.timedelta(days=7 * 2 * rule.weeks)
    s = M.series(engine, rule.metric, first, day, interval="day", filters=rule_filters(rule), cat=cat)
    days = [d for d in s["date"]]
    values = np.array([np.nan if v is None else float(v) for v in s["value"]], dtype=float)
    names, notes = calendar.mask(days)
    exclude = np.array([n is not None for n in names])
    result = A.detect(values, exclude=exclude, weeks=rule.weeks, threshold=rule.sensitivity, direction=rule.direction)
    check.value = None if not np.isfinite(values[-1]) else float(values[-1])
    status = result.status[-1]
    if notes:
        check.detail["calendar_notes"] = notes
    if status == A.EXCLUDED:
        check.outcome, check.detail["holiday"] = EXCLUDED, names[-1]
        return check
    if status in (A.INSUFFICIENT, A.MISSING):
        check.outcome = INSUFFICIENT if status == A.INSUFFICIENT else NO_DATA
        return check
    check.reference = float(result.expected[-1])
    check.detail.update(score=float(result.score[-1]), lower=float(result.lower[-1]), upper=float(result.upper[-1]),
                        method="same-weekday median, pooled robust scale", weeks=rule.weeks)
    check.outcome = FIRED if status == A.ANOMALY else OK
    if check.fired:
        check.detail["crossed"] = "above" if result.direction[-1] > 0 else "below"
    return check
