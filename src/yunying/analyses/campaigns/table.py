"""Per-unit table mode of the campaign review: one row per contacted or held-back customer.

E-mail / SMS / push tools export one row per unit with its group (sent,
held out, variant B …) and outcome columns. :func:`review_table` compares
each group with the control using the experiment statistics of
``yunying experiment`` (Welch t / pooled two-proportion z, delta-method
relative lift; :func:`yunying.analyses.experiment.analyze_table`) and adds
the campaign arithmetic (docs/campaigns.md, "Per-unit table mode")::

    incremental_total    = lift_abs x n                        (per metric, with its interval)
    cost                 = n x cost_per_contact
    incremental_revenue  = lift_abs(revenue) x n [x margin]
    roi                  = (incremental_revenue - cost) / cost
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ...errors import InputFileError, SpecError, ValidationError
from ...stats.effects import finite_or_none
from ..experiment import analyze_table, parse_split, read_table
from ..experiment.table import _TRUE, _FALSE, _unit_examples, _variant_strings, _where

__all__ = ["review_table", "TABLE_REVIEW_KIND"]

TABLE_REVIEW_KIND = "campaign_table_review"


def _require_columns(df: pd.DataFrame, label: str, wanted: list[tuple[str, str]]) -> None:
    for col, option in wanted:
        if col not in df.columns:
            raise InputFileError(key="campaigns.table.column_not_found", label=label, col=col, option=option,
                                 columns=", ".join(map(str, df.columns)), details={"file": label, "column": col})


def _check_numeric(df: pd.DataFrame, col: str, label: str, option: str) -> None:
    """A metric column must be numbers (or true/false) on every row; errors name the rows."""
    s = df[col]
    details = {"file": label, "column": col}
    missing = s.isna().to_numpy()
    if missing.any():
        raise ValidationError(key="campaigns.table.column_empty_on_every", label=label, option=option, col=col, value=_where(np.flatnonzero(missing), label), details=details)
    if s.dtype == bool or str(s.dtype) == "boolean" or pd.api.types.is_numeric_dtype(s):
        return
    low = s.astype(str).str.strip().str.lower()
    if low.isin(_TRUE | _FALSE).all():
        return
    bad = pd.to_numeric(s, errors="coerce").isna().to_numpy()
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = ", ".join(repr(x) for x in s[bad].astype(str).unique()[:3])
        raise ValidationError(key="campaigns.table.column_numeric_on_values", label=label, option=option, col=col, value=_where(rows, label), examples=examples, details={**details, "rows": [
                                  int(r) + 1 for r in rows[:20]]})


def _check_units_groups(df: pd.DataFrame, label: str, unit: str, group: str, control: str) -> pd.Series:
    """Groups as strings; every row has a group and a unit id, each unit once; the control group exists."""
    groups = _variant_strings(df[group])
    empty = groups.isna().to_numpy()
    if empty.any():
        raise ValidationError(key="campaigns.table.group_column_empty_on", label=label, group=group, value=_where(np.flatnonzero(empty), label), details={"file": label, "column": group})
    units = df[unit].astype("string")
    empty = units.isna().to_numpy()
    if empty.any():
        raise ValidationError(key="campaigns.table.unit_column_empty_on", label=label, unit=unit, value=_where(np.flatnonzero(empty), label), details={"file": label, "column": unit})
    dup = units.duplicated(keep=False).to_numpy()
    if dup.any():
        ids = list(pd.unique(units[dup]))
        raise ValidationError(key="campaigns.table.unit_column_unique_units", label=label, unit=unit, n_ids=len(ids), value=_unit_examples(units, ids, label),
                              details={"file": label, "column": unit})
    seen = sorted(set(groups.astype(str)))
    if str(control) not in seen:
        raise ValidationError(key="campaigns.table.control_value_does_occur", label=label, control=control, group=group, seen=', '.join(seen), details={"file": label, "column": group})
    if len(seen) < 2:
        raise ValidationError(key="campaigns.table.group_column_has_only", label=label, group=group, control=control, details={"file": label, "column": group})
    return groups


def _experiment(df: pd.DataFrame, label: str, unit: str, group: str, control: str, columns: list[str],
                alpha: float, split: list[float] | None = None) -> dict[str, Any]:
    spec = {"unit": unit, "variant": group, "control": str(control), "alpha": alpha, "split": split,
            "metrics": [{"name": c, "column": c} for c in columns]}
    res = analyze_table(df, spec).to_dict()
    res.setdefault("source", {})["table"] = label
    return res


def _times(ci: Any, k: float) -> list[float | None] | None:
    if not ci:
        return None
    return [None if b is None else b * k for b in ci]


def _metric_entry(m: dict[str, Any], v: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"metric": m["metric"], "type": m["type"], "mean": v["mean"]}
    if v["is_control"]:
        return out
    out["ci_level"] = m.get("ci_level")  # the level the Holm-adjusted verdict used (docs/experiments.md)
    n = v["n"]
    lift = v.get("effect_abs")
    out.update(lift_abs=lift, ci_abs=v.get("ci_abs"), lift_rel=v.get("effect_rel"), ci_rel=v.get("ci_rel"),
               p_value=v.get("p_value"), p_value_adjusted=v.get("p_value_adjusted"),
               incremental_total=None if lift is None else lift * n, ci_total=_times(v.get("ci_abs"), n),
               verdict=v.get("verdict"))
    if v.get("message"):
        out["message"] = v["message"]
    return out


def _money(revenue_row: dict[str, Any] | None, n: int, cost_per_contact: float | None,
           margin: float | None) -> dict[str, Any]:
    """cost, incremental revenue (× margin) and ROI with intervals for one non-control group."""
    cost = None if cost_per_contact is None else n * cost_per_contact
    k = n * (1.0 if margin is None else margin)
    lift = None if revenue_row is None else revenue_row.get("effect_abs")
    inc = None if lift is None else lift * k
    inc_ci = None if revenue_row is None else _times(revenue_row.get("ci_abs"), k)
    roi: dict[str, Any] = {"value": None, "ci": None}
    if inc is not None and cost:
        roi["value"] = (inc - cost) / cost
        if inc_ci:
            roi["ci"] = [None if b is None else (b - cost) / cost for b in inc_ci]
    out = {"cost": finite_or_none(cost), "incremental_revenue": finite_or_none(inc),
           "incremental_revenue_ci": finite_or_none(inc_ci) if inc_ci else None,
           "roi": {"value": finite_or_none(roi["value"]), "ci": finite_or_none(roi["ci"]) if roi["ci"] else None}}
    if revenue_row is not None:
        out["revenue"] = {"mean": revenue_row.get("mean"), "lift_abs": lift, "ci_abs": revenue_row.get("ci_abs"),
                          "ci_level": revenue_row.get("ci_level"), "p_value": revenue_row.get("p_value")}
    return out


def review_table(frame_or_path: Any, *, unit: str, group: str, control: Any, metrics: Sequence[str],
                 revenue: str | None = None, cost_per_contact: float | None = None, margin: float | None = None,
                 alpha: float = 0.05, split: Any = None) -> dict[str, Any]:
    """Review a campaign from a per-unit table (CSV/Parquet/JSONL path or a DataFrame).

    Returns a JSON-ready dict: ``groups`` (control first), each with ``group``,
    ``n``, ``is_control``, ``metrics`` and, for non-control groups, ``cost``,
    ``incremental_revenue`` (+ ``incremental_revenue_ci``) and ``roi``
    (``{"value", "ci"}``). ``split`` (e.g. ``"10/45/45"``, control first then the other
    groups in sorted order) adds the sample-ratio check ``srm`` of ``yunying experiment``.
    Bad input raises an error naming file, column and rows.
    """
    metrics = [m for m in dict.fromkeys(str(m).strip() for m in metrics) if m]
    if not metrics:
        raise SpecError(key="campaigns.table.give_at_least_one")
    if not 0 < alpha < 1:
        raise SpecError(key="campaigns.table.alpha_must_between_0", alpha=alpha)
    if cost_per_contact is not None and not (np.isfinite(cost_per_contact) and cost_per_contact >= 0):
        raise SpecError(key="campaigns.table.cost_per_contact_must", cost_per_contact=cost_per_contact)
    if margin is not None and not (np.isfinite(margin) and 0 < margin <= 1):
        raise SpecError(key="campaigns.table.margin_share_revenue_kept", margin=margin)
    if margin is not None and revenue is None:
        raise SpecError(key="campaigns.table.margin_applies_revenue_give")
    df, label = read_table(frame_or_path)
    wanted = [(unit, "--unit"), (group, "--group")] + [(m, "--metric") for m in metrics]
    if revenue is not None:
        wanted.append((revenue, "--revenue"))
    _require_columns(df, label, wanted)
    for col, option in wanted[2:]:
        _check_numeric(df, col, label, option.lstrip("-"))
    _check_units_groups(df, label, unit, group, str(control))
    shares = parse_split(split)
    res = _experiment(df, label, unit, group, str(control), metrics, alpha, shares)
    rev_rows: dict[str, dict[str, Any]] = {}
    if revenue is not None:
        rev = res if revenue in metrics else _experiment(df, label, unit, group, str(control), [revenue], alpha)
        rev_rows = {v["variant"]: {**v, "ci_level": m.get("ci_level")} for m in rev["metrics"] if m["metric"] == revenue
                    for v in m["variants"]}
    by_metric = {m["metric"]: m for m in res["metrics"]}
    out_groups = []
    for name in [v["variant"] for v in res["variants"]]:
        rows = [(by_metric[m], next(v for v in by_metric[m]["variants"] if v["variant"] == name)) for m in metrics]
        n = int(rows[0][1]["n"])
        g: dict[str, Any] = {"group": name, "n": n, "is_control": name == str(control),
                             "metrics": [_metric_entry(m, v) for m, v in rows]}
        if not g["is_control"]:
            g.update(_money(rev_rows.get(name) if revenue is not None else None, n, cost_per_contact, margin))
        out_groups.append(g)
    out = {
        "kind": TABLE_REVIEW_KIND,
        "source": {"table": label, "rows": int(len(df))},
        "unit": unit, "group_column": group, "control": str(control), "metrics": metrics, "revenue": revenue,
        "cost_per_contact": cost_per_contact, "margin": margin, "alpha": alpha, "ci_level": res["ci_level"],
        "ci_correction": next((m["ci_correction"] for m in res["metrics"] if m.get("ci_correction")), None),
        "method": "frequentist", "correction": "holm",
        "groups": out_groups,
        "messages": [m for m in res.get("messages", []) if shares or m.get("code") not in (
            "srm_mismatch", "srm_caution")],
    }
    if shares:   # without a planned split an equal split would be assumed: a holdout of 10 % is no mismatch
        out["srm"] = res["srm"]
    return out
