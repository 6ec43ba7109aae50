"""A campaign's incremental effect (docs/campaigns.md#incremental-effect).

* With a recorded holdout: the experiment engine on one row per assigned audience user (group target/holdout,
  outcome in the campaign's days, the same outcome over the 28 days (or the campaign's length if longer) before it as the CUPED covariate);
  SRM check first. Evidence ``strong`` (randomized), ``weak`` when the SRM check fails.
* Without one: difference-in-differences of the audience against the other users seen before the start — for an
  audience "did EVENT with PROPERTY = VALUE", the users who did EVENT with another value (users × days panel, the
  ``pre_days`` before the start and the campaign's days) with the parallel-trends check
  (``stats.causal.did_panel``); evidence as that function labels it.

The effect per user (or per user-day) is turned into a campaign total: ``incremental = effect × units``.
"""
from __future__ import annotations

import datetime as dt

import numpy as np

from ...errors import SpecError, Text
from . import data

OUTCOMES = ("purchases", "revenue")
DAY = dt.timedelta(days=1)


def covariate_days(camp) -> int:
    """Days before the start whose outcome is the CUPED covariate: the campaign's length, at least 28."""
    return max(28, camp.days)


def _total(effect, ci, units: float) -> dict:
    lo, hi = (ci or (None, None))
    f = lambda v: None if v is None else float(v) * units  # noqa: E731
    return {"value": f(effect), "low": f(lo), "high": f(hi)}


def holdout_rows(engine, camp, assigned, end: dt.date) -> dict:
    """One row per assigned user: ``user_id``, ``grp``, the outcomes in the campaign's days and, as
    ``pre_<outcome>``, over the covariate days before it (0 without any)."""
    pre0 = camp.start - covariate_days(camp) * DAY
    if (S := data._sql(engine)) is not None:
        return S.holdout_rows(engine, assigned, camp.start, end, pre0, camp.start - DAY)
    cur = data.per_user(engine, camp, camp.start, end, assigned)
    pre = data.per_user(engine, camp, pre0, camp.start - DAY, assigned)
    out = {"user_id": cur["user_id"], "grp": cur["grp"], **{m: cur[m] for m in OUTCOMES}}
    for m in OUTCOMES:
        before = dict(zip(pre["user_id"], pre[m]))
        out[f"pre_{m}"] = np.array([before.get(u, 0.0) for u in cur["user_id"]], dtype=float)
    return out


def holdout_spec(camp) -> dict:
    """The experiment (``analyze_table``'s spec) a holdout campaign is: target vs holdout, CUPED on the pre-period."""
    share = camp.holdout.share
    return {"unit": "user_id", "variant": "grp", "control": "holdout", "variants": ["holdout", "target"],
            "split": [share, 1 - share], "correction": "none",
            "metrics": [{"name": m, "column": m, "type": "mean", "covariate": f"pre_{m}"} for m in OUTCOMES]}


def _experiment(rows: dict, spec: dict):
    """``analyze_table`` on the holdout rows, without a DataFrame: the same statistics objects from the same
    arrays (every user has a group of the spec, once, and every value: nothing is excluded or filled in)."""
    from ...stats import RegressionAdjustedStats
    from ..experiment.core import _variant_order, analyze_stats
    from ..experiment.spec import _coerce_spec

    spec = _coerce_spec(spec)
    grp = np.array(rows["grp"], dtype=object)
    control, order = _variant_order(spec, list(dict.fromkeys(rows["grp"])))
    idx = {v: np.flatnonzero(grp == v) for v in order}
    stats = {m: {v: RegressionAdjustedStats.from_values(rows[m][idx[v]], rows[f"pre_{m}"][idx[v]]) for v in order}
             for m in OUTCOMES}
    return analyze_stats(spec, order, {v: len(idx[v]) for v in order}, stats, {m: "mean" for m in OUTCOMES},
                         source={"kind": "table", "rows": len(grp)}, cuped_covariates={m: f"pre_{m}" for m in OUTCOMES})


def holdout_lift(engine, camp, assigned, end: dt.date) -> dict:
    """The experiment engine on the assigned users: SRM, CUPED on the pre-period outcome, per-user effects."""
    rows = holdout_rows(engine, camp, assigned, end)
    res = _experiment(rows, holdout_spec(camp))
    n_t = int(np.count_nonzero(np.asarray(rows["grp"], dtype=object) == "target"))
    srm = res.srm.to_dict()
    metrics = {}
    for m in res.metrics:
        v = next(x for x in m.variants if not x.is_control)
        e = v.effect
        metrics[m.metric] = {
            "per_unit": e.effect_abs if e else None, "ci": list(e.ci_abs) if e and e.ci_abs else None,
            "relative": e.effect_rel if e else None, "p_value": e.p_value if e else None,
            "variance_reduction": e.variance_reduction if e else None,
            "incremental": _total(e.effect_abs if e else None, e.ci_abs if e else None, n_t),
        }
    evidence = "weak" if srm.get("status") == "mismatch" else "strong"
    return {"method": "holdout", "evidence": evidence, "units": "users", "groups": dict(res.counts),
            "treated_units": n_t, "srm": srm, "cuped": True, "covariate_days": covariate_days(camp),
            "metrics": metrics, "alpha": res.spec.alpha}


def _days(camp, end: dt.date, pre_days: int) -> tuple[dt.date, np.ndarray]:
    """The panel's first day and, per day up to ``end``, whether it is a campaign day (post)."""
    first = camp.start - pre_days * DAY
    return first, np.array([first + k * DAY >= camp.start for k in range((end - first).days + 1)])


def _check_groups(camp, n_treated: int, n_control: int) -> None:
    if not n_treated + n_control:
        raise SpecError(key="campaigns.lift.campaign_no_users_seen", name=camp.name)
    if not n_treated or not n_control:
        raise SpecError(key="campaigns.lift.campaign_without_holdout_review", name=camp.name, treated=Text('campaigns.lift.all' if not n_control else 'campaigns.lift.none'))


def _dense(p: dict, n_users: int, n_days: int) -> dict:
    """Per outcome, the users x days array of the cells ``p`` (0 where no cell)."""
    out = {}
    for m in OUTCOMES:
        panel = np.zeros((n_users, n_days))
        panel[p["i"], p["j"]] = p[m]
        out[m] = panel
    return out


def _panel(engine, camp, end: dt.date, pre_days: int) -> dict:
    """The users x days panels of purchases and revenue (the ``pre_days`` before the start and the campaign's
    days) of the audience and the comparison group: users seen before the start outside the audience — for an
    audience "did EVENT with PROPERTY = VALUE", only those who did EVENT (with another value)."""
    first, post = _days(camp, end, pre_days)
    p = data.panel(engine, camp, end, first)
    users, treated = list(p["user_id"]), p["treated"]
    _check_groups(camp, int(treated.sum()), int((~treated).sum()))
    return {"users": users, "treated": treated, "post": post, "panels": _dense(p, len(users), post.size)}


def did_lift(engine, camp, end: dt.date, pre_days: int) -> dict:
    """Difference-in-differences of the audience against the comparison group, on users × days: the panel of the
    users with a purchase in its days, the others (all zeros) counted (``did_panel``'s ``zero_units``)."""
    from ...stats.causal.did import did_panel

    first, post = _days(camp, end, pre_days)
    p = data.panel_cells(engine, camp, end, first)
    n_t, n_c = p["n_treated"], p["n_control"]
    _check_groups(camp, n_t, n_c)
    treated = np.asarray(p["treated"], dtype=bool)
    panels = _dense(p, treated.size, post.size)
    zero = (n_t - int(treated.sum()), n_c - int((~treated).sum()))
    metrics, checks = {}, {}
    n_post = int(post.sum())
    for m in OUTCOMES:
        r = did_panel(panels[m], treated, post, zero_units=zero)
        units = float(n_t) * n_post
        metrics[m] = {"per_unit": r.estimate, "ci": [r.ci[0], r.ci[1]], "relative": r.relative_effect,
                      "p_value": r.p_value, "incremental": _total(r.estimate, r.ci, units)}
        checks[m] = r.to_dict()
    return {"method": "did", "evidence": checks["purchases"].get("evidence"), "units": "user-days",
            "groups": {"audience": n_t, "comparison": n_c},
            "treated_units": n_t, "pre_days": pre_days, "post_days": n_post,
            "metrics": metrics, "did": checks}


def sc_lift(engine, camp, end: dt.date, pre_days: int, donors_by: str = "channel") -> dict:
    """Synthetic control: the audience's daily mean per user against a weighted mix of donor groups — the
    comparison users split by ``donors_by`` (the value on each user's earliest event carrying it, e.g. the
    acquisition channel); placebo-based interval and p-value (``stats.causal.synthetic_control``)."""
    from ...stats.causal import synthetic_control

    pn = _panel(engine, camp, end, pre_days)
    groups = data.first_values(engine, donors_by)
    treated, post = pn["treated"], pn["post"]
    labels = np.array([groups.get(u) or "(none)" for u in pn["users"]], dtype=object)
    names = sorted({labels[i] for i in np.flatnonzero(~treated)})
    if len(names) < 2:
        raise SpecError(key="campaigns.lift.campaign_synthetic_control_needs", name=camp.name, n_names=len(names), donors_by=donors_by)
    metrics, checks = {}, {}
    n_post, n_t = int(post.sum()), int(treated.sum())
    for m in OUTCOMES:
        panel = pn["panels"][m]
        donors = np.stack([panel[(~treated) & (labels == g)].mean(axis=0) for g in names])
        r = synthetic_control(panel[treated].mean(axis=0), donors, ~post, donor_names=names)
        metrics[m] = {"per_unit": r.effect, "ci": list(r.ci), "relative": r.effect_rel, "p_value": r.p_value,
                      "incremental": _total(r.effect, r.ci if r.ci[0] is not None else None, n_t * n_post)}
        checks[m] = r.to_dict()
    return {"method": "sc", "evidence": checks["purchases"].get("evidence"), "units": "user-days",
            "groups": {"audience": n_t, "comparison": int((~treated).sum()), "donor_groups": len(names)},
            "treated_units": n_t, "pre_days": pre_days, "post_days": n_post, "donors_by": donors_by,
            "metrics": metrics, "sc": checks}
