"""The budget's arithmetic without pandas: each channel's days, its fitted response curve, the allocation and its
uncertainty (docs/acquisition.md#budget). Both paths call it: the pandas one (:mod:`.budget_pd`, filters and Spark)
and the DuckDB one (:mod:`.lean_budget`), each with its own per-channel days."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from ...errors import SpecError
from ..base import ratio
from ..table import Columns
from .response import allocate, fit_curve
from .rows import BudgetResult
from .specs import BudgetSpec
from .weights import MODEL_LABELS


@dataclass
class Days:
    """One channel's calendar days from its first to its last spend day (sorted): spend, credited registrations
    and paying users by the credited touch's local date."""
    date: list
    spend: np.ndarray
    registrations: np.ndarray
    paying_users: np.ndarray

    def __len__(self) -> int:
        return len(self.date)

    def where(self, mask) -> "Days":
        mask = np.broadcast_to(np.asarray(mask, dtype=bool), (len(self.date),))
        return Days([d for d, m in zip(self.date, mask) if m], self.spend[mask], self.registrations[mask],
                    self.paying_users[mask])


def budget_result(data, spec: BudgetSpec, days: dict, as_of_day) -> BudgetResult:
    """The budget table from each spent-on channel's :class:`Days` (``data``: its currency and warnings)."""
    settle_cut = as_of_day - dt.timedelta(days=spec.settle_days) if as_of_day is not None else None
    chans = sorted(days)
    if spec.channels:
        unknown = set(spec.channels) - set(chans)
        if unknown:
            raise SpecError(key="acquisition.budget.no_spend_channel_s", unknown=', '.join(sorted(unknown)), chans=', '.join(chans) or 'none')
        chans = [c for c in chans if c in spec.channels]
    rng = np.random.default_rng(spec.seed)
    fits, info, values, caps = _fit_channels(days, chans, spec, settle_cut)
    modelled = list(fits)
    current_total = sum(info[c]["current_daily_spend"] for c in modelled)
    daily_total = (spec.total / spec.days) if spec.total is not None else current_total
    alloc = allocate(fits, values, daily_total, caps) if modelled and daily_total > 0 else {c: 0.0 for c in modelled}
    unallocated = max(0.0, daily_total - sum(alloc.values()))
    k = daily_total / current_total if current_total > 0 else None

    # point estimates and parametric-bootstrap draws
    B = spec.draws
    pay_draws = {}
    theta_draws = {}
    for c in modelled:
        theta_draws[c] = fits[c].draws(B, rng)
        if spec.objective == "paying_users":
            regs, pays = info[c]["registrations_fitted"], info[c]["paying_users_fitted"]
            pay_draws[c] = rng.beta(pays + 0.5, max(regs - pays, 0) + 0.5, B)
        else:
            pay_draws[c] = np.ones(B)
    tot = {"prop_val_b": np.zeros(B), "cur_val_b": np.zeros(B), "prop_regs": 0.0, "cur_regs": 0.0,
           "prop_val": 0.0, "cur_val": 0.0}
    rows = []
    for c in chans:
        rec = info[c]
        row = {"channel": c, "modelled": c in fits, "fit_days": rec["fit_days"],
               "paying_rate": rec["paying_rate"], "current_daily_spend": rec["current_daily_spend"],
               "typical_day_spend": rec["typical_day_spend"], "max_day_spend": rec["max_day_spend"]}
        if c in fits:
            row.update(_proposal_row(fits[c], rec, values[c], alloc[c], k, theta_draws[c], pay_draws[c], spec, tot))
        else:
            row.update({"proposed_daily_spend": None, "proposed_spend": None, "note": rec.get("note")})
        rows.append(row)
    cols = list(dict.fromkeys(c for r in rows for c in r))   # as pandas orders a list of dicts' keys
    out = Columns.from_rows(rows, cols)
    summary = _summary(spec, tot, daily_total, unallocated, current_total, k, sum(alloc.values()) * spec.days,
                       bool(modelled))
    curves = {c: _curve(fits[c], info[c], alloc[c]) for c in modelled}
    return BudgetResult(spec, out, _meta(data, spec, summary, curves, daily_total * spec.days))




def _channel_info(ch, g: Days, spec: BudgetSpec, settle_cut, last_spend_day) -> tuple[dict, Days]:
    """A channel's days: the fitted ones (with spend, settled), its recent pattern and summary figures."""
    settled = np.array([d <= settle_cut for d in g.date], dtype=bool) if settle_cut is not None else True
    fitg = g.where((g.spend > 0) & settled)
    recent = g.where(np.array([d > last_spend_day - dt.timedelta(days=spec.recent_days) for d in g.date], dtype=bool))
    # recent window: calendar days (zero-spend days count), ending at the last spend day of any channel
    n_recent = spec.recent_days
    regs_all = float(fitg.registrations.sum())
    pay_all = float(fitg.paying_users.sum())
    rec = {
        "channel": ch, "fit_days": int(len(fitg)), "spend_fitted": float(fitg.spend.sum()),
        "registrations_fitted": regs_all, "paying_users_fitted": pay_all, "paying_rate": ratio(pay_all, regs_all),
        "current_daily_spend": float(recent.spend.sum()) / n_recent,
        "typical_day_spend": float(recent.spend[recent.spend > 0].mean()) if (recent.spend > 0).any() else None,
        "max_day_spend": float(g.spend.max()),
        "recent_spend_days": [float(v) for v in recent.spend] + [0.0] * max(0, n_recent - len(recent)),
        "points": [[float(a), float(b)] for a, b in zip(fitg.spend, fitg.registrations)],
    }
    return rec, fitg


def _fit_channels(days: dict, chans: list, spec: BudgetSpec, settle_cut):
    """Fit each channel's curve; returns (fits, info, values per registration, daily caps)."""
    fits, info, values, caps = {}, {}, {}, {}
    last_spend_day = max((d for g in days.values() for d in g.date), default=None)
    n_recent = spec.recent_days
    for ch in chans:
        rec, fitg = _channel_info(ch, days[ch], spec, settle_cut, last_spend_day)
        info[ch] = rec
        if len(fitg) < spec.min_days or rec["registrations_fitted"] <= 0:
            rec["note"] = f"not modelled: {len(fitg)} day(s) with spend and conversions (need {spec.min_days})"
            continue
        try:
            fit = fit_curve(fitg.spend, fitg.registrations, spec.curve)
        except ValueError as exc:
            rec["note"] = f"not modelled: {exc}"
            continue
        fits[ch] = fit
        values[ch] = (rec["paying_rate"] or 0.0) if spec.objective == "paying_users" else 1.0
        caps[ch] = spec.max_scale * rec["max_day_spend"]
        active = sum(1 for v in rec["recent_spend_days"] if v > 0)
        if active < 0.5 * n_recent:
            rec["note"] = (f"bought in single-day slots ({active} of the last {n_recent} days): the proposal's daily "
                           f"amount means spreading spend over more days (more, smaller slots)")
        if fit.linear_like:
            rec["note"] = "no diminishing returns visible in the observed spend range: the curve is close to linear"
    return fits, info, values, caps


def _proposal_row(f, rec: dict, v: float, x: float, k, td: np.ndarray, pv: np.ndarray, spec: BudgetSpec,
                  tot: dict) -> dict:
    """A modelled channel's proposal, expected outcome and its draws (added into ``tot``)."""
    B = spec.draws

    def outcome(daily_spend_list, ltheta=None):
        arr = np.asarray(daily_spend_list, dtype=float)
        return float(np.mean(f.mu(arr, ltheta))) * spec.days

    row = {}
    p, se = f.params, f.se
    for name in f.curve.params:
        row[f"curve_{name}"] = p[name]
        row[f"curve_{name}_se"] = se[name]
    scaled = [s * k for s in rec["recent_spend_days"]] if k is not None else None
    e_regs = outcome([x])
    e_cur_regs = outcome(scaled) if scaled is not None else None
    s_now = rec["typical_day_spend"] or rec["current_daily_spend"]
    slope_now = float(f.slope(s_now)) if s_now else None
    slope_prop = float(f.slope(x))
    # every draw at once: the parameters as columns (B,) against the spend (…, B) — elementwise the same numbers as
    # one draw at a time (tests/acquisition/test_response_curves.py)
    mu_prop = np.asarray(f.mu(x, td.T), dtype=float) * spec.days
    mu_cur = (np.mean(f.mu(np.asarray(scaled, dtype=float)[None, :], td.T[:, :, None]), axis=1) * spec.days
              if scaled is not None else np.zeros(B))
    pv = pv if spec.objective == "paying_users" else np.ones(B)
    tot["prop_val_b"] += mu_prop * pv
    tot["cur_val_b"] += mu_cur * pv
    tot["prop_regs"] += e_regs
    tot["prop_val"] += e_regs * v
    if e_cur_regs is not None:
        tot["cur_regs"] += e_cur_regs
        tot["cur_val"] += e_cur_regs * v
    q = np.quantile(mu_prop * pv, [0.05, 0.95])
    rate = rec["paying_rate"]
    row.update({
        "proposed_daily_spend": x,
        "proposed_spend": x * spec.days,
        "change": ratio(x - rec["current_daily_spend"], rec["current_daily_spend"]),
        "current_plan_spend": rec["current_daily_spend"] * (k or 0) * spec.days,
        "expected_registrations": e_regs,
        "expected_paying_users": e_regs * (rate or 0.0),
        "expected_paying_users_low": float(q[0]) if spec.objective == "paying_users" else None,
        "expected_paying_users_high": float(q[1]) if spec.objective == "paying_users" else None,
        "current_plan_expected_registrations": e_cur_regs,
        "expected_cost_per_registration": ratio(x * spec.days, e_regs),
        "expected_cost_per_paying_user": ratio(x * spec.days, e_regs * (rate or 0.0)),
        "marginal_cost_per_registration_now": ratio(1.0, slope_now) if slope_now else None,
        "marginal_cost_per_paying_user_now": ratio(1.0, slope_now * rate) if slope_now and rate else None,
        "marginal_cost_per_paying_user_proposed": ratio(1.0, slope_prop * rate) if rate else None,
        "extrapolated": bool(x > rec["max_day_spend"] * 1.0001),
        "note": rec.get("note"),
    })
    return row


def _summary(spec: BudgetSpec, tot: dict, daily_total: float, unallocated: float, current_total: float, k,
             alloc_spend: float, any_modelled: bool) -> dict:
    B = spec.draws
    total_spend = daily_total * spec.days
    prop_val, cur_val = tot["prop_val"], tot["cur_val"]
    prop_val_b, cur_val_b = tot["prop_val_b"], tot["cur_val_b"]

    def q(a):
        return [float(v) for v in np.quantile(a, [0.05, 0.95])] if B and any_modelled else [None, None]

    return {
        "total": total_spend, "days": spec.days, "daily_total": daily_total,
        "unallocated": unallocated * spec.days,
        "objective": spec.objective,
        "current_plan": {"spend": current_total * (k or 0) * spec.days if k is not None else None,
                         "expected_registrations": tot["cur_regs"] if k is not None else None,
                         "expected_value": cur_val if k is not None else None,
                         "expected_value_interval": q(cur_val_b) if k is not None else [None, None],
                         "expected_cost_per_unit": ratio(total_spend, cur_val) if k is not None else None},
        "proposed_plan": {"spend": alloc_spend, "expected_registrations": tot["prop_regs"],
                          "expected_value": prop_val, "expected_value_interval": q(prop_val_b),
                          "expected_cost_per_unit": ratio(alloc_spend, prop_val),
                          "expected_cost_per_unit_interval":
                              sorted([ratio(alloc_spend, v) for v in q(prop_val_b)], key=lambda z: z or 0)
                              if any_modelled else [None, None]},
        "improvement": {"value": (prop_val - cur_val) if k is not None else None,
                        "interval": q(prop_val_b - cur_val_b) if k is not None else [None, None],
                        "probability_better": float(np.mean(prop_val_b > cur_val_b)) if k is not None and B else None},
    }


def _curve(f, rec: dict, proposed: float) -> dict:
    """A fitted curve on a grid with its observed points (for charts)."""
    top = max(rec["max_day_spend"], proposed) * 1.2
    grid = np.linspace(0, top, 60)
    return {"params": f.params, "se": f.se, "dispersion": f.dispersion, "n_days": f.n,
            "grid": grid.tolist(), "fitted": [float(v) for v in f.mu(grid)],
            "points": rec["points"], "recent_spend": rec["recent_spend_days"],
            "current_day_spend": rec["typical_day_spend"], "proposed_day_spend": proposed}


def _meta(data, spec: BudgetSpec, summary: dict, curves: dict, total_spend: float) -> dict:
    obj = "paying users" if spec.objective == "paying_users" else "registrations"
    meta = {
        "title": f"Where to put the next budget: {spec.total if spec.total is not None else total_spend:,.0f} "
                 f"over {spec.days} days (model estimate)",
        "label": "model estimate",
        "currency": data.currency, "attribution": spec.attribution,
        "attribution_label": MODEL_LABELS[spec.attribution],
        "curve": spec.curve, "objective": spec.objective,
        "period": {"from": spec.date_from, "to": spec.date_to},
        "summary": summary, "curves": curves, "warnings": data.warnings,
        "notes": [
            "MODEL ESTIMATE: response curves fitted to past daily spend and the registrations credited to "
            "that day's touches; they assume the future responds like the past",
            f"objective: maximise expected {obj}; current plan = the last {spec.recent_days} days' spend "
            f"pattern scaled to the same total",
            "intervals: 5%-95% of a parametric bootstrap of the curve parameters (and the paying rate)",
            f"a channel's daily spend is capped at {spec.max_scale:g}x its largest observed day; "
            f"'extrapolated' marks proposals beyond the observed range",
        ],
        "filters": spec.filters,
    }
    if spec.filters:
        meta["notes"].append(
            f"filtered: the curves count only the {obj} the filters keep, against each channel's whole spend (spend "
            f"belongs to no user): the proposal maximises those {obj}, and every cost per unit is whole spend per "
            f"kept user")
    return meta
