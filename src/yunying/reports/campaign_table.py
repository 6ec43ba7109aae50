"""People-facing rows of the campaign review's per-unit table mode (terminal table) and its CSV rows.

The numbers come from :func:`yunying.analyses.campaigns.table.review_table`; this module only lays
them out, with labels from ``reports/labels/causal.json`` and the one formatter.
"""
from __future__ import annotations

from typing import Any

from . import format as F
from .i18n import label


def _ci(ci, fmt) -> str:
    if not ci:
        return F.NA
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]"


def _lift_formatter(metric_type: str):
    return F.points if metric_type == "proportion" else (lambda v: F.NA if v is None else f"{v:+,.4g}")


def metric_rows(data: dict[str, Any], lang: str = "en") -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the per-metric table: one row per group and metric, control first."""
    keys = ["ct_group", "ct_units", "ct_metric", "ct_mean", "ct_lift_abs", "ct_interval", "ct_lift_rel",
            "ct_p_value", "ct_incremental", "ct_interval"]
    rows = []
    for g in data["groups"]:
        name = g["group"] + (f" ({label('ct_control', lang)})" if g["is_control"] else "")
        for m in g["metrics"]:
            mean = F.percent(m["mean"]) if m["type"] == "proportion" else F.cell(m["mean"])
            if g["is_control"]:
                rows.append([name, F.count(g["n"]), m["metric"], mean] + [""] * 6)
                continue
            lift = _lift_formatter(m["type"])
            total = (lambda v: F.number(v, 1))
            rows.append([name, F.count(g["n"]), m["metric"], mean, lift(m["lift_abs"]), _ci(m["ci_abs"], lift),
                         F.change(m["lift_rel"]), F.cell(m["p_value"]), total(m["incremental_total"]),
                         _ci(m["ci_total"], total)])
    return [label(k, lang) for k in keys], rows


def money_rows(data: dict[str, Any], lang: str = "en") -> tuple[list[str], list[list[str]]] | None:
    """(headers, rows) of cost, incremental revenue and ROI per non-control group; None when not asked for."""
    if data.get("revenue") is None and data.get("cost_per_contact") is None:
        return None
    inc_key = "ct_incremental_margin" if data.get("margin") is not None else "ct_incremental_revenue"
    keys = ["ct_group", "ct_units", "ct_cost", inc_key, "ct_interval", "ct_roi", "ct_interval"]
    rows = []
    for g in data["groups"]:
        if g["is_control"]:
            continue
        rows.append([g["group"], F.count(g["n"]), F.money(g.get("cost")), F.money(g.get("incremental_revenue")),
                     _ci(g.get("incremental_revenue_ci"), F.money), F.percent(g["roi"]["value"]),
                     _ci(g["roi"]["ci"], F.percent)])
    return [label(k, lang) for k in keys], rows


def csv_rows(data: dict[str, Any]) -> list[dict[str, Any]]:
    """One raw row per (group, metric) for CSV, with the group's cost, incremental revenue and ROI."""
    out = []
    for g in data["groups"]:
        for m in g["metrics"]:
            ci, ct = m.get("ci_abs") or [None, None], m.get("ci_total") or [None, None]
            ir = g.get("incremental_revenue_ci") or [None, None]
            roi = g.get("roi") or {}
            rci = roi.get("ci") or [None, None]
            out.append({
                "group": g["group"], "n": g["n"], "is_control": g["is_control"], "metric": m["metric"],
                "type": m["type"], "mean": m["mean"], "lift_abs": m.get("lift_abs"), "ci_abs_low": ci[0],
                "ci_abs_high": ci[1], "lift_rel": m.get("lift_rel"), "p_value": m.get("p_value"),
                "p_value_adjusted": m.get("p_value_adjusted"), "incremental_total": m.get("incremental_total"),
                "ci_total_low": ct[0], "ci_total_high": ct[1], "cost": g.get("cost"),
                "incremental_revenue": g.get("incremental_revenue"), "incremental_revenue_ci_low": ir[0],
                "incremental_revenue_ci_high": ir[1], "roi": roi.get("value"), "roi_ci_low": rci[0],
                "roi_ci_high": rci[1],
            })
    return out
