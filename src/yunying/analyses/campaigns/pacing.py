"""Pacing while a campaign runs (docs/campaigns.md#pacing).

For each goal, on the days elapsed (start … as-of): the actual cumulative value against the target trajectory,
and a projection to the end: ``projected = actual so far + m × Σ w_d`` over the remaining days, where ``w_d`` is
the trajectory's expected share of day d (1/n for a linear one) scaled so the elapsed days' mean is 1 and ``m``
the mean of ``actual_d / w_d`` over the elapsed days. Its 95 % interval: ``± q × s × sqrt(W + W² / k)`` with
``s`` the standard deviation of ``actual_d / w_d``, ``k`` elapsed days, ``W = Σ w_d`` (day-to-day noise of the
remaining days plus the uncertainty of ``m``) and ``q`` the 97.5 % quantile of Student's t with k − 1 degrees of
freedom; with one elapsed day, ``s = sqrt(m)`` (Poisson) and ``q = 1.96``. Status: ``on_track`` when projected ≥ target, ``at_risk`` when projected < target ≤ the interval's
upper end, ``off_track`` when even the upper end falls short ("at risk" flag = at_risk or off_track).
Spend vs budget: each budget kind's actual so far (media from the spend table, coupons redeemed, fees as
defined) against its planned amount and against the share of the campaign elapsed.
"""
from __future__ import annotations

import datetime as dt
import math

import numpy as np
from scipy.special import stdtrit  # = scipy.stats.t.ppf(q, k), without importing scipy.stats

from . import data
from .plan import trajectory
from .review import Z95

DAY = dt.timedelta(days=1)


def project(daily: np.ndarray, weights: np.ndarray, k: int) -> dict:
    """Projection of the total over len(weights) days from the first k days of ``daily``."""
    w = np.asarray(weights, dtype=float)
    w = w / w[:k].mean()
    y = np.asarray(daily[:k], dtype=float)
    so_far = float(y.sum())
    r = y / w[:k]
    m = float(r.mean())
    W = float(w[k:].sum())
    if k > 1:
        s, q = float(r.std(ddof=1)), float(stdtrit(k - 1, 0.975))
    else:
        s, q = math.sqrt(max(m, 0.0)), Z95
    half = q * s * math.sqrt(W + W * W / k) if W > 0 else 0.0
    point = so_far + m * W
    return {"actual": so_far, "projected": point, "low": max(so_far, point - half), "high": point + half}


def status(target: float, proj: dict) -> str:
    if proj["projected"] >= target:
        return "on_track"
    return "at_risk" if proj["high"] >= target else "off_track"


def pacing(ws, camp, *, as_of: dt.date | None = None, like=None) -> dict:
    engine = ws.engine
    as_of, end, _ = data.as_of_window(engine, camp, as_of)
    k = (end - camp.start).days + 1
    traj = trajectory(engine, camp, like)
    daily = data.daily(engine, camp, camp.start, end, data.audience_filter(engine, camp, end),
                       [g.metric for g in camp.goals])
    goals = []
    for g in camp.goals:
        cum = traj[f"target_{g.metric}"]
        w = np.diff(np.concatenate([[0.0], cum]))
        y = daily[g.metric]
        proj = project(y, w, k)
        goals.append({"metric": g.metric, "target": g.target, "expected_so_far": float(cum[k - 1]),
                      **proj, "status": status(g.target, proj),
                      "days": [{"date": d, "actual": float(a), "cumulative": float(c), "target": float(t)}
                               for d, a, c, t in zip(traj["date"][:k], y, np.cumsum(y), cum[:k])]})
    spend = {"media": data.media_total(engine, camp, camp.start, end),
             "coupons": data.coupons_total(engine, camp, camp.start, end), "fees": data.fees_total(camp)}
    budget = [{"kind": kind, "actual": spend[kind],
               "budget": float(sum(b.amount for b in camp.budget if b.kind == kind)),
               "expected_so_far": float(sum(b.amount for b in camp.budget if b.kind == kind)) * (
                   1.0 if kind == "fees" else k / camp.days)}
              for kind in ("media", "coupons", "fees") if any(b.kind == kind for b in camp.budget)]
    return {"campaign": camp.name, "as_of": as_of, "elapsed_days": k, "days": camp.days,
            "complete": as_of >= camp.end, "goals": goals, "budget": budget,
            "at_risk": any(g["status"] != "on_track" for g in goals)}
