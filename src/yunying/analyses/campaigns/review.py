"""The campaign review (復盤): target vs actual, incremental effect, full cost, ROI, and what happened afterwards.

Every number has a written definition in docs/campaigns.md#review (the ``key`` of each row of ``numbers``).
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np

from ...errors import SpecError
from ..base import Result, clean
from . import data
from ..preload import preload
from .lift import did_lift, holdout_lift, sc_lift

DAY = dt.timedelta(days=1)
AFTER_WEEKS = 4
Z95 = 1.959963984540054
# what each method's statistics import, loaded while its queries run (``review``)
LIFT_MODULES = {"holdout": ("yunying.analyses.experiment.core",), "did": ("yunying.stats.causal.did",),
                "sc": ("yunying.stats.causal.synth",)}


def _interval(value, low, high) -> dict:
    return {"value": value, "low": low, "high": high}


def _map(iv: dict, f) -> dict:
    """An interval through an increasing function."""
    g = lambda v: None if v is None else f(v)  # noqa: E731
    return _interval(g(iv["value"]), g(iv["low"]), g(iv["high"]))


def cost_per(cost: float, inc: dict) -> dict:
    """cost / incremental with its interval: decreasing in the increment, so the bounds swap; an increment
    interval reaching 0 or below leaves the upper bound unbounded (None), a negative estimate leaves no value."""
    v, lo, hi = inc["value"], inc["low"], inc["high"]
    val = cost / v if v is not None and v > 0 else None
    low = cost / hi if hi is not None and hi > 0 else None
    high = cost / lo if lo is not None and lo > 0 else None
    return {"value": val, "low": low, "high": high, "unbounded": lo is not None and lo <= 0}


def goals(engine, camp, end: dt.date) -> tuple[list[dict], dict]:
    daily = data.daily(engine, camp, camp.start, end, data.audience_filter(engine, camp, end),
                       [g.metric for g in camp.goals])
    out = []
    for g in camp.goals:
        actual = float(daily[g.metric].sum())
        out.append({"metric": g.metric, "target": g.target, "actual": actual, "attainment": actual / g.target})
    return out, daily


def costs(engine, camp, end: dt.date) -> dict:
    media = data.media_total(engine, camp, camp.start, end)
    coupons = data.coupons_total(engine, camp, camp.start, end)
    fees = data.fees_total(camp)
    planned = {k: float(sum(b.amount for b in camp.budget if b.kind == k)) for k in ("media", "coupons", "fees")}
    return {"media": media, "coupons": coupons, "fees": fees, "total": media + coupons + fees,
            "budget": planned, "budget_total": sum(planned.values())}


def economics(camp, lift: dict, cost: dict) -> dict:
    total = cost["total"]
    rev = lift["metrics"]["revenue"]["incremental"]
    pur = lift["metrics"]["purchases"]["incremental"]
    margin = _map(rev, lambda v: v * camp.margin)
    roi = _map(margin, lambda v: (v - total) / total) if total > 0 else _interval(None, None, None)
    return {"incremental_purchases": pur, "incremental_revenue": rev, "incremental_margin": margin,
            "net_return": _map(margin, lambda v: v - total), "roi": roi,
            "cost_per_incremental_purchase": cost_per(total, pur),
            "cost_per_incremental_revenue": cost_per(total, rev)}


def _wilson(k: float, n: int) -> tuple[float, float]:
    p = k / n
    den = 1 + Z95 ** 2 / n
    mid = (p + Z95 ** 2 / (2 * n)) / den
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95 ** 2 / (4 * n * n)) / den
    return mid - half, mid + half


def rate_diff(a: np.ndarray, b: np.ndarray) -> dict:
    """Share in a minus share in b, with Newcombe's 95 % interval (from the two Wilson score intervals; it
    behaves with small cohorts and shares near 0 or 1, where the Wald interval does not)."""
    if not a.size or not b.size:
        return _interval(None, None, None)
    pa_, pb = a.mean(), b.mean()
    la, ua = _wilson(a.sum(), a.size)
    lb, ub = _wilson(b.sum(), b.size)
    d = pa_ - pb
    return _interval(d, d - math.sqrt((pa_ - la) ** 2 + (ub - pb) ** 2), d + math.sqrt((ua - pa_) ** 2 + (pb - lb) ** 2))


def afterwards(engine, camp, last: dt.date | None) -> dict:
    """Retention (any event in week k after the end) and repeat purchase (a purchase in weeks 1..K) of the users
    the campaign acquired (first event ever in its days) or reactivated, vs the same cohorts of the equally long
    period just before it, followed over the same weeks after that period."""
    if last is None:
        return {"weeks": 0, "cohorts": []}
    weeks = min(AFTER_WEEKS, (last - camp.end).days // 7)
    if weeks < 1:
        return {"weeks": 0, "cohorts": [], "note": "less than a full week of data after the end"}
    aud = data.audience(engine, camp)
    b1 = camp.start - DAY
    b0 = camp.start - camp.days * DAY
    out = []
    kinds = ("acquired", "reactivated")
    acts = data.cohorts_activity(engine, aud, [c for k in kinds for c in ((k, camp.start, camp.end, camp.end),
                                                                            (k, b0, b1, b1))], weeks)
    for i, cohort in enumerate(kinds):
        camp_act, base_act = acts[2 * i], acts[2 * i + 1]
        row = {"cohort": cohort, "users": len(camp_act["user_id"]), "baseline_users": len(base_act["user_id"]),
               "weeks": []}
        for col in [f"active_w{w}" for w in range(1, weeks + 1)] + ["repeat"]:
            a, b = camp_act[col], base_act[col]
            row["weeks"].append({"measure": col, "campaign": a.mean() if a.size else None,
                                 "baseline": b.mean() if b.size else None, "difference": rate_diff(a, b)})
        out.append(row)
    return {"weeks": weeks, "baseline_period": {"start": b0, "end": b1}, "cohorts": out}


class CampaignReview(Result):
    kind = "campaign_review"
    rows_key = "numbers"

    def __init__(self, data_: dict):
        super().__init__(None, None, data_)
        self.data = data_

    def records(self) -> list[dict]:
        return [clean(r) for r in numbers(self.data)]

    def to_dict(self) -> dict:
        return {"kind": self.kind, **clean(self.data), "numbers": self.records()}

    def to_csv(self) -> str:
        import csv
        import io

        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["section", "key", "value", "low", "high"])
        w.writeheader()
        for r in self.records():
            w.writerow({k: r.get(k) for k in w.fieldnames})
        return buf.getvalue()


def numbers(d: dict) -> list[dict]:
    """Every number of the review as a row: section, key (its definition in docs/campaigns.md), value, interval."""
    rows = []
    add = lambda s, k, v, lo=None, hi=None: rows.append({"section": s, "key": k, "value": v, "low": lo,  # noqa
                                                         "high": hi})
    for g in d["goals"] or []:
        add("goals", f"target.{g['metric']}", g["target"])
        add("goals", f"actual.{g['metric']}", g["actual"])
        add("goals", f"attainment.{g['metric']}", g["attainment"])
    lift = d.get("lift")
    if lift:
        for m, v in lift["metrics"].items():
            lo, hi = (v["ci"] or (None, None))
            add("lift", f"effect_per_unit.{m}", v["per_unit"], lo, hi)
            if v.get("p_value") is not None:
                add("lift", f"p_value.{m}", v["p_value"])
    c = d["cost"]
    for k in ("media", "coupons", "fees", "total"):
        add("cost", f"cost.{k}", c[k], c[k], c[k])
    for k, iv in (d.get("economics") or {}).items():
        add("economics", k, iv["value"], iv["low"], iv["high"])
    for row in (d.get("afterwards") or {}).get("cohorts", []):
        for w in row["weeks"]:
            add("afterwards", f"{row['cohort']}.{w['measure']}.campaign", w["campaign"])
            add("afterwards", f"{row['cohort']}.{w['measure']}.baseline", w["baseline"])
            diff = w["difference"]
            add("afterwards", f"{row['cohort']}.{w['measure']}.difference", diff["value"], diff["low"], diff["high"])
    return rows


def lift_modules(camp, method: str = "auto") -> tuple[str, ...]:
    """The modules the lift of ``camp`` by ``method`` needs (SciPy's special functions among them), to import
    while the queries run (``preload``); "auto" guesses the holdout when the campaign has one."""
    return LIFT_MODULES.get("holdout" if method == "auto" and camp.holdout is not None else
                            "did" if method == "auto" else method, ())


def review(ws, camp, *, as_of: dt.date | None = None, method: str = "auto", pre_days: int = 28,
           donors_by: str = "channel", after: bool = True, last=..., with_goals: bool = True) -> CampaignReview:
    """Review campaign ``camp`` on workspace ``ws`` with data up to ``as_of`` (default: the last event day).
    ``method``: ``auto`` (the holdout when one is recorded, else difference-in-differences), ``holdout``, ``did``
    or ``sc`` (synthetic control over donor groups of comparison users split by ``donors_by``). ``after=False``
    leaves out the afterwards cohorts (the portfolio does not show them); ``last``: the last event day when the
    caller read it already (the portfolio, once for all its campaigns); ``with_goals=False`` leaves out the goals
    (``goals`` None: the portfolio's table does not show them)."""
    engine = ws.engine
    preload(*lift_modules(camp, method))
    as_of, end, last = data.as_of_window(engine, camp, as_of, last)
    goal_rows = goals(engine, camp, end)[0] if with_goals else None
    assigned = data.assignment(engine, camp) if camp.holdout is not None else None
    if method == "auto":
        method = "holdout" if assigned is not None else "did"
    if method == "holdout":
        if assigned is None:
            raise SpecError(key="campaigns.review.campaign_no_holdout_assignment", name=camp.name)
        lift = holdout_lift(engine, camp, assigned, end)
    elif method == "did":
        lift = did_lift(engine, camp, end, pre_days)
    elif method == "sc":
        lift = sc_lift(engine, camp, end, pre_days, donors_by)
    else:
        raise SpecError(key="campaigns.review.method_must_auto_holdout", method=method)
    cost = costs(engine, camp, end)
    out = {"campaign": camp.model_dump(mode="json"), "as_of": as_of, "window": {"start": camp.start, "end": end},
           "complete": as_of >= camp.end, "goals": goal_rows, "lift": lift, "cost": cost,
           "economics": economics(camp, lift, cost),
           "afterwards": afterwards(engine, camp, min(as_of, last) if last else None) if after else None}
    return CampaignReview(out)
