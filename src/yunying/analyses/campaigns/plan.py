"""The campaign plan (docs/campaigns.md#plan): the schedule's checks and each goal's target trajectory.

Checks, each a problem with a code, the task and a sentence:

* ``cycle``: tasks that depend on each other in a circle (no order can run them);
* ``after_campaign``: a task that ends after the campaign's end (the review task is exempt: a task whose
  every dependency ends on or after the campaign's end is follow-up work);
* ``before_dependency``: a task that starts on or before the end of a task it depends on.

Target trajectory: the cumulative target on each campaign day. ``linear``: target × k / n on day k of n.
``like FROM..TO``: the cumulative shape of the same metric over a comparable past period (its running share of
its total), stretched to the campaign's n days by linear interpolation of the share at position k / n.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ...errors import SpecError
from . import data

DAY = dt.timedelta(days=1)


def check_tasks(camp) -> list[dict]:
    tasks = {t.name: t for t in camp.tasks}
    problems = []
    for t in camp.tasks:
        for dep in t.depends_on:
            d = tasks[dep]
            if t.start <= d.end:
                problems.append({"code": "before_dependency", "task": t.name, "other": dep,
                                 "message": f"{t.name!r} starts {t.start}, before {dep!r} (which it depends on) "
                                            f"ends {d.end}"})
        follow_up = bool(t.depends_on) and all(tasks[x].end >= camp.end for x in t.depends_on)
        if t.end > camp.end and not follow_up:
            problems.append({"code": "after_campaign", "task": t.name,
                             "message": f"{t.name!r} ends {t.end}, after the campaign ends {camp.end}"})
    for cyc in _cycles(camp):
        problems.append({"code": "cycle", "task": cyc[0], "tasks": cyc,
                         "message": "tasks depend on each other in a circle: " + " → ".join(cyc + [cyc[0]])})
    return problems


def _cycles(camp) -> list[list[str]]:
    """The dependency cycles (each once, from its smallest name), by depth-first search."""
    deps = {t.name: list(t.depends_on) for t in camp.tasks}
    found, seen = [], set()
    state: dict[str, int] = {}

    def visit(n, path):
        state[n] = 1
        path.append(n)
        for d in deps[n]:
            if state.get(d) == 1:
                cyc = path[path.index(d):]
                i = cyc.index(min(cyc))
                key = tuple(cyc[i:] + cyc[:i])
                if key not in seen:
                    seen.add(key)
                    found.append(list(key))
            elif state.get(d) is None:
                visit(d, path)
        path.pop()
        state[n] = 2

    for n in deps:
        if state.get(n) is None:
            visit(n, [])
    return found


def parse_period(text: str) -> tuple[dt.date, dt.date]:
    try:
        a, b = (s.strip() for s in text.split(".."))
        out = dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    except ValueError:
        raise SpecError(key="campaigns.plan.like_expected_from_dates", text=text) from None
    if out[1] < out[0]:
        raise SpecError(key="campaigns.plan.like_before_from", text=text)
    return out


def shape(values: np.ndarray, n: int) -> np.ndarray:
    """Cumulative share on each of n days following the running share of ``values``, stretched to n days."""
    v = np.clip(np.asarray(values, dtype=float), 0, None)
    if v.sum() <= 0:
        raise SpecError(key="campaigns.plan.like_comparable_period_has")
    cum = np.concatenate([[0.0], np.cumsum(v) / v.sum()])
    x = np.linspace(0, 1, len(v) + 1)
    return np.interp(np.arange(1, n + 1) / n, x, cum)


def trajectory(engine, camp, like: tuple[dt.date, dt.date] | None = None) -> dict:
    """``date`` (the campaign's days) and, per goal, the cumulative target ``target_<metric>`` on each (an array)."""
    n = camp.days
    days = [camp.start + k * DAY for k in range(n)]
    out = {"date": days}
    past = data.daily(engine, camp, like[0], like[1], data.audience(engine, camp),
                      [g.metric for g in camp.goals]) if like else None
    for g in camp.goals:
        share = np.arange(1, n + 1) / n if past is None else shape(past[g.metric], n)
        out[f"target_{g.metric}"] = g.target * share
    return out


def gantt_rows(camp) -> list[dict]:
    rows = [{"task": t.name, "owner": t.owner, "start": t.start, "end": t.end, "days": (t.end - t.start).days + 1,
             "depends_on": list(t.depends_on)} for t in camp.tasks]
    return sorted(rows, key=lambda r: (r["start"], r["end"], r["task"]))


def plan(ws, camp, *, like: tuple[dt.date, dt.date] | None = None) -> dict:
    return {"campaign": camp.model_dump(mode="json"), "tasks": gantt_rows(camp), "problems": check_tasks(camp),
            "trajectory_method": "like" if like else "linear",
            "like": {"start": like[0], "end": like[1]} if like else None,
            "trajectory": _records(trajectory(ws.engine, camp, like))}


def _records(cols: dict) -> list[dict]:
    """Columns (``date``, then arrays) as one dict per day."""
    return [{k: (v[i] if k == "date" else float(v[i])) for k, v in cols.items()} for i in range(len(cols["date"]))]
