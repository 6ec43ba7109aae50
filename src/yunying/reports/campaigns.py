"""Campaign reports: the written summary (zh-Hans, zh-Hant, en), HTML (Gantt via plotly's timeline, pacing chart,
review tables) and Excel (a Gantt sheet drawn with cell formatting, plus pacing and review sheets).

Numbers go through ``reports.format``; labels come from ``reports/labels/campaigns.json``.
"""
from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from . import format as F
from .i18n import MESSAGES, label

METRIC_MONEY = {"revenue"}
ECON_MONEY = {"incremental_revenue", "incremental_margin", "net_return", "cost_per_incremental_purchase"}


def _L(lang):
    return lambda key, **kw: label(key, lang).format(**kw) if kw else label(key, lang)


def metric_value(metric: str, v, currency: str = "", lang: str = "en") -> str:
    return (F.money(v, currency, lang) if metric in METRIC_MONEY
            else F.number(v, 0 if v is None or abs(v) >= 100 or float(v).is_integer() else 1, lang=lang))  # 59, not 59.0


def _econ(key: str, v, currency: str, lang: str = "en") -> str:
    if key == "roi":
        return F.percent(v, lang=lang)
    if key in ECON_MONEY:
        return F.money(v, currency, lang)
    if key == "incremental_purchases":  # an estimated number of purchases: whole, as the summary says (324)
        return F.count(v, lang=lang)
    return F.number(v, 2 if key == "cost_per_incremental_revenue" else 1, lang=lang)


# ----------------------------------------------------------------------------- summary

def summary(r: dict, lang: str = "en", currency: str = "") -> list[str]:
    """The review in a few sentences: goals met or missed, the increment and how sure it is, cost, ROI, and how
    the acquired users stayed."""
    t = _L(lang)
    out = [] if r["complete"] else [t("camp_sum_incomplete")]
    for g in r["goals"]:
        key = "camp_sum_goal_met" if g["attainment"] >= 1 else "camp_sum_goal_missed"
        out.append(t(key, metric=t(f"camp_metric_{g['metric']}"), actual=metric_value(g["metric"], g["actual"], currency, lang),
                     target=metric_value(g["metric"], g["target"], currency, lang), attainment=F.percent(g["attainment"], lang=lang)))
    lift = r["lift"]
    inc = lift["metrics"]["purchases"]["incremental"]
    key = "camp_sum_lift_pos" if (inc["low"] or 0) > 0 else "camp_sum_lift_unclear"
    out.append(t(key, inc=F.number(inc["value"], 0, lang=lang), low=F.number(inc["low"], 0, lang=lang), high=F.number(inc["high"], 0, lang=lang),
                 method=t(f"camp_method_{lift['method']}"), evidence=t(f"camp_evidence_{lift['evidence']}")))
    if lift["method"] == "holdout" and lift["srm"]["status"] == "mismatch":
        out.append(t("camp_sum_srm_fail"))
    if lift["method"] == "did" and lift.get("evidence") == "weak":
        out.append(t("camp_sum_pretrend_fail"))
    e, c = r["economics"], r["cost"]
    cpi = e["cost_per_incremental_purchase"]
    out.append(t("camp_sum_cost", cost=F.money(c["total"], currency, lang), coupons=F.money(c["coupons"], currency, lang),
                 cpi=F.money(cpi["value"], currency, lang), low=F.money(cpi["low"], currency, lang),
                 high=t("camp_unbounded") if cpi.get("unbounded") else F.money(cpi["high"], currency, lang)))
    roi = e["roi"]
    if roi["value"] is not None:
        out.append(t("camp_sum_roi_pos" if roi["value"] >= 0 else "camp_sum_roi_neg",
                     margin=F.percent(r["campaign"]["margin"], 0, lang=lang), roi=F.percent(roi["value"], lang=lang),
                     low=F.percent(roi["low"], lang=lang), high=F.percent(roi["high"], lang=lang)))
    acq = next((c for c in (r.get("afterwards") or {}).get("cohorts", []) if c["cohort"] == "acquired"), None)
    if acq and acq["users"] and acq["baseline_users"]:
        last = [w for w in acq["weeks"] if w["measure"].startswith("active_w")][-1]
        out.append(t("camp_sum_after", a=F.percent(last["campaign"], lang=lang), b=F.percent(last["baseline"], lang=lang),
                     diff=F.points(last["difference"]["value"], lang=lang)))
    return out


# ----------------------------------------------------------------------------- tables (shared by HTML and Excel)

def goal_rows(r: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_metric"), t("camp_target"), t("camp_actual"), t("camp_attainment")]
    return head, [[t(f"camp_metric_{g['metric']}"), metric_value(g["metric"], g["target"], currency, lang),
                   metric_value(g["metric"], g["actual"], currency, lang), F.percent(g["attainment"], lang=lang)] for g in r["goals"]]


def lift_rows(r: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_metric"), t("camp_effect_per_unit"), t("camp_low"), t("camp_high"), t("camp_p_value"),
            t("camp_incremental_effect"), t("camp_low"), t("camp_high")]
    rows = []
    for m, v in r["lift"]["metrics"].items():
        ci = v["ci"] or [None, None]
        inc = v["incremental"]
        money = m in METRIC_MONEY  # revenue per user is money (CNY 0.47); purchases per user a small number
        fmt = (lambda x: F.money(x, currency, lang)) if money else (lambda x: F.count(x, lang=lang))
        unit = (lambda x: F.money(x, currency, lang)) if money else (lambda x: F.number(x, 4, lang=lang))
        rows.append([t(f"camp_metric_{m}"), unit(v["per_unit"]), unit(ci[0]), unit(ci[1]),
                     F.pvalue(v["p_value"], lang), fmt(inc["value"]), fmt(inc["low"]), fmt(inc["high"])])
    return head, rows


def cost_rows(r: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    c = r["cost"]
    head = [t("camp_kind"), t("camp_actual"), t("camp_budget")]
    rows = [[t(f"camp_{k}"), F.money(c[k], currency, lang), F.money(c["budget"][k], currency, lang)]
            for k in ("media", "coupons", "fees")]
    rows.append([t("camp_total_cost"), F.money(c["total"], currency, lang), F.money(c["budget_total"], currency, lang)])
    return head, rows


def econ_rows(r: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_metric"), t("camp_value"), t("camp_low"), t("camp_high")]
    rows = []
    for k, iv in r["economics"].items():
        high = t("camp_unbounded") if iv.get("unbounded") else _econ(k, iv["high"], currency, lang)
        rows.append([t(f"camp_{k}"), _econ(k, iv["value"], currency, lang), _econ(k, iv["low"], currency, lang), high])
    return head, rows


def after_rows(r: dict, lang: str) -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_cohort"), t("camp_measure"), t("camp_campaign_cohort"), t("camp_baseline_cohort"),
            t("camp_difference"), t("camp_low"), t("camp_high")]
    rows = []
    for c in (r.get("afterwards") or {}).get("cohorts", []):
        for w in c["weeks"]:
            m = w["measure"]
            name = t("camp_repeat") if m == "repeat" else t("camp_week_n", n=m.removeprefix("active_w"))
            d = w["difference"]
            sizes = f"{F.count(c['users'], lang)} / {F.count(c['baseline_users'], lang)}"
            rows.append([f"{t('camp_cohort_' + c['cohort'])}{t('sep.open')}{sizes}{t('sep.close')}",
                         name, F.percent(w["campaign"], lang=lang), F.percent(w["baseline"], lang=lang), F.points(d["value"], lang=lang),
                         F.points(d["low"], lang=lang), F.points(d["high"], lang=lang)])
    return head, rows


def pacing_rows(p: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_metric"), t("camp_target"), t("camp_expected_so_far"), t("camp_actual"), t("camp_projected"),
            t("camp_low"), t("camp_high"), t("camp_status")]
    return head, [[t(f"camp_metric_{g['metric']}"), *(metric_value(g["metric"], g[k], currency, lang) for k in
                   ("target", "expected_so_far", "actual", "projected", "low", "high")), t(f"camp_{g['status']}")]
                  for g in p["goals"]]


def budget_rows(p: dict, lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_kind"), t("camp_actual"), t("camp_expected_so_far"), t("camp_budget")]
    return head, [[t(f"camp_{b['kind']}"), F.money(b["actual"], currency, lang), F.money(b["expected_so_far"], currency, lang),
                   F.money(b["budget"], currency, lang)] for b in p["budget"]]


def task_rows(pl: dict, lang: str) -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_task"), t("camp_owner"), t("camp_start"), t("camp_end"), t("camp_days"), t("camp_depends_on")]
    return head, [[x["task"], x["owner"] or "", str(x["start"]), str(x["end"]), F.count(x["days"], lang),
                   ", ".join(x["depends_on"])] for x in pl["tasks"]]


def portfolio_rows(rows: list[dict], lang: str, currency: str = "") -> tuple[list[str], list[list[str]]]:
    t = _L(lang)
    head = [t("camp_campaign"), t("camp_start"), t("camp_end"), t("camp_status"), t("camp_method"),
            t("camp_evidence"), t("camp_total_cost"), t("camp_incremental_purchases"), t("camp_low"), t("camp_high"),
            t("camp_cost_per_incremental_purchase"), t("camp_low"), t("camp_high"), t("camp_roi"),
            t("camp_change_from_previous")]
    out = []
    for r in rows:
        m = lambda k: F.money(r.get(k), currency, lang)  # noqa: E731
        out.append([r["campaign"], str(r["start"]), str(r["end"]), t("camp_" + r["status"]),
                    t("camp_method_" + r["method"]) if r.get("method") else "",
                    t("camp_evidence_" + r["evidence"]) if r.get("evidence") else "", m("cost"),
                    F.number(r.get("incremental_purchases"), 0, lang=lang), F.number(r.get("incremental_purchases_low"), 0, lang=lang),
                    F.number(r.get("incremental_purchases_high"), 0, lang=lang), m("cost_per_incremental_purchase"),
                    m("cost_per_incremental_purchase_low"), m("cost_per_incremental_purchase_high"),
                    F.percent(r.get("roi"), lang=lang), F.change(r.get("change_from_previous"), lang)])
    return head, out


def problem_rows(pl: dict, lang: str) -> list[str]:
    t = _L(lang)
    return [f"{t('camp_problem_' + p['code'])}: {p['message']}" for p in pl["problems"]]


# ----------------------------------------------------------------------------- HTML

def _table(head, rows, cls="yunying-table") -> str:
    e = html.escape
    return (f'<table class="{cls}"><thead><tr>' + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>" for row in rows)
            + "</tbody></table>")


def gantt_figure(pl: dict, lang: str):
    import pandas as pd
    import plotly.express as px

    t = _L(lang)
    camp = pl["campaign"]
    df = pd.DataFrame([{"task": x["task"], "owner": x["owner"] or "", "start": pd.Timestamp(x["start"]),
                        "finish": pd.Timestamp(x["end"]) + pd.Timedelta(days=1)} for x in pl["tasks"]])
    if df.empty:
        df = pd.DataFrame([{"task": camp["name"], "owner": "", "start": pd.Timestamp(camp["start"]),
                            "finish": pd.Timestamp(camp["end"]) + pd.Timedelta(days=1)}])
    fig = px.timeline(df, x_start="start", x_end="finish", y="task", color="owner",
                      labels={"task": t("camp_task"), "owner": t("camp_owner")})
    fig.update_yaxes(autorange="reversed")
    fig.add_vrect(x0=pd.Timestamp(camp["start"]), x1=pd.Timestamp(camp["end"]) + pd.Timedelta(days=1),
                  fillcolor="#1a9850", opacity=0.08, line_width=0)
    fig.update_layout(title=t("camp_gantt"), height=160 + 32 * len(df), margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def pacing_figure(p: dict, metric: str, lang: str):
    import plotly.graph_objects as go

    t = _L(lang)
    g = next(x for x in p["goals"] if x["metric"] == metric)
    days = [d["date"] for d in g["days"]]
    fig = go.Figure()
    fig.add_scatter(x=days, y=[d["cumulative"] for d in g["days"]], name=t("camp_actual"), mode="lines+markers")
    fig.add_scatter(x=days, y=[d["target"] for d in g["days"]], name=t("camp_trajectory"), line={"dash": "dash"})
    fig.add_hline(y=g["target"], line_dash="dot", annotation_text=t("camp_target"))
    fig.update_layout(title=t(f"camp_metric_{metric}"), height=320, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return _grouped(fig, lang)


def _grouped(fig, lang: str):
    """Chinese readers count 120,000, not 120k (reports/figures.py, the dashboard's charts)."""
    from .figures import GROUPED_TICKS

    return fig.update_yaxes(tickformat=GROUPED_TICKS) if lang.startswith("zh") else fig


def portfolio_figure(rows: list[dict], lang: str, currency: str = ""):
    """Cost per incremental purchase of each reviewed campaign at its start date, with its 95 % interval (an
    unbounded upper end drawn up to the chart's top)."""
    import plotly.graph_objects as go

    t = _L(lang)
    done = [r for r in rows if r.get("cost_per_incremental_purchase") is not None]
    fig = go.Figure()
    if done:
        top = max((r.get("cost_per_incremental_purchase_high") or r["cost_per_incremental_purchase"]) for r in done)
        y = [r["cost_per_incremental_purchase"] for r in done]
        hi = [(r.get("cost_per_incremental_purchase_high") or top * 1.2) - v for r, v in zip(done, y)]
        lo = [v - (r.get("cost_per_incremental_purchase_low") or 0.0) for r, v in zip(done, y)]
        fig.add_scatter(x=[str(r["start"]) for r in done], y=y, text=[r["campaign"] for r in done],
                        mode="markers+lines+text", textposition="top center",
                        error_y={"type": "data", "array": hi, "arrayminus": lo, "symmetric": False},
                        name=t("camp_cost_per_incremental_purchase"))
    fig.update_xaxes(type="category")  # one tick per campaign start, never hours of one day
    fig.update_layout(title=t("camp_portfolio"), height=340, margin={"l": 10, "r": 10, "t": 40, "b": 10},
                      yaxis_title=f"{t('camp_cost_per_incremental_purchase')} {currency}".strip())
    return _grouped(fig, lang)


def _dates(fig):
    """Dates on the x axes as 2026-06-01 in every language (plotly's own ticks name months in English)."""
    fig.update_xaxes(tickformat="%Y-%m-%d")
    return fig


def _fig(fig) -> str:
    fig = _dates(fig)
    return fig.to_html(full_html=False, include_plotlyjs=False)


def plan_section(pl: dict, lang: str, fig=_fig, tab=None) -> str:
    tab = tab or _table
    t = _L(lang)
    probs = problem_rows(pl, lang)
    checks = ("<ul class=\"camp-problems\">" + "".join(f"<li>{html.escape(p)}</li>" for p in probs) + "</ul>"
              if probs else f"<p>{html.escape(t('camp_no_problems'))}</p>")
    traj = pl["trajectory"]
    metrics = [k.removeprefix("target_") for k in (traj[0] if traj else {}) if k.startswith("target_")]
    head = [t("camp_date")] + [t(f"camp_metric_{m}") for m in metrics]
    rows = [[str(r["date"])] + [metric_value(m, r[f"target_{m}"], lang=lang) for m in metrics] for r in traj]
    return (f"<section class=\"camp-plan\"><h2>{html.escape(t('camp_plan'))}</h2>" + fig(gantt_figure(pl, lang))
            + tab(*task_rows(pl, lang)) + f"<h3>{html.escape(t('camp_checks'))}</h3>" + checks
            + f"<h3>{html.escape(t('camp_trajectory'))}</h3>" + tab(head, rows) + "</section>")


def pacing_section(p: dict, lang: str, currency: str = "", fig=_fig, tab=None) -> str:
    tab = tab or _table
    t = _L(lang)
    figs = "".join(fig(pacing_figure(p, g["metric"], lang)) for g in p["goals"])
    return (f"<section class=\"camp-pacing\"><h2>{html.escape(t('camp_pacing'))} ({html.escape(str(p['as_of']))})</h2>"
            + tab(*pacing_rows(p, lang, currency)) + figs + f"<h3>{html.escape(t('camp_spend_vs_budget'))}</h3>"
            + tab(*budget_rows(p, lang, currency)) + "</section>")


def check_line(r: dict, lang: str) -> str:
    """The check behind the incremental effect: the SRM test (holdout), the parallel-trends test and the
    pre-period gap series (difference-in-differences), or the donor weights and pre-period fit (synthetic control)."""
    t = _L(lang)
    c = t("sep.colon")
    lift = r["lift"]
    if lift["method"] == "holdout":
        s = lift["srm"]
        counts = t("sep.list").join(f"{t('camp_group_' + k) if 'camp_group_' + k in MESSAGES else k} {F.count(v, lang)}"
                                    for k, v in s["observed"].items())
        return (f"{t('camp_srm')}{c}{t('camp_srm_' + s['status'])}{t('sep.list')}p = {F.pvalue(s['p_value'], lang)}"
                f"{t('sep.open')}{counts}{t('sep.close')}")
    if lift["method"] == "did":
        did = lift["did"]["purchases"]
        pt, k = did["pre_trend"], did["n_pre"]
        gap = lambda xs: t("sep.list").join(F.number(g, 4, lang=lang) for g in xs)  # noqa: E731
        return (f"{t('camp_parallel_trends')}{c}p = {F.pvalue(pt.get('p_value'), lang)}{t('sep.clause')}{t('camp_gap_series')} — "
                f"{t('camp_before')}{c}{gap(pt['gap'][:k])}{t('sep.clause')}{t('camp_during')}{c}{gap(pt['gap'][k:])}")
    sc = lift["sc"]["purchases"]
    weights = t("sep.list").join(f"{n} {F.percent(w, lang=lang)}" for n, w in zip(sc["donor_names"], sc["weights"]))
    return (f"{t('camp_sc_fit')}{c}{weights}{t('sep.clause')}RMSPE {F.number(sc['pre_rmspe'], 4, lang=lang)}{t('sep.list')}"
            f"p = {F.pvalue(sc['p_value'], lang)}")


def gap_figure(r: dict, lang: str):
    """Difference-in-differences: the daily gap (audience − comparison) before and during the campaign — flat
    before the start is the parallel-trends evidence."""
    import pandas as pd
    import plotly.graph_objects as go

    t = _L(lang)
    did = r["lift"]["did"]["purchases"]
    gap, k = did["pre_trend"]["gap"], did["n_pre"]
    first = pd.Timestamp(r["window"]["start"]) - pd.Timedelta(days=k)
    days = [first + pd.Timedelta(days=i) for i in range(len(gap))]
    fig = go.Figure()
    fig.add_scatter(x=days[:k], y=gap[:k], name=t("camp_before"), mode="lines+markers")
    fig.add_scatter(x=days[k:], y=gap[k:], name=t("camp_during"), mode="lines+markers")
    fig.add_hline(y=0, line_dash="dot")
    fig.update_layout(title=f"{t('camp_parallel_trends')}: {t('camp_gap_series')}", height=300,
                      margin={"l": 10, "r": 10, "t": 40, "b": 10})
    return fig


def review_section(r: dict, lang: str, currency: str = "", fig=_fig, tab=None) -> str:
    tab = tab or _table
    t = _L(lang)
    e = html.escape
    lift = r["lift"]
    check = f"<p class=\"camp-check\">{e(check_line(r, lang))}</p>"
    if lift["method"] == "did":
        check += fig(gap_figure(r, lang))
    return (f"<section class=\"camp-review\"><h2>{e(t('camp_review'))}</h2><h3>{e(t('camp_summary'))}</h3>"
            + "".join(f"<p class=\"camp-summary\">{e(s)}</p>" for s in summary(r, lang, currency))
            + f"<h3>{e(t('camp_goals_vs_target'))}</h3>" + tab(*goal_rows(r, lang, currency))
            + f"<h3>{e(t('camp_incremental_effect'))}</h3><p>{e(t('camp_method'))}{e(t('sep.colon'))}"
            + f"{e(t('camp_method_' + lift['method']))}{e(t('sep.clause'))}{e(t('camp_evidence'))}{e(t('sep.colon'))}"
            + f"<strong class=\"camp-evidence\">{e(t('camp_evidence_' + lift['evidence']))}</strong></p>" + check
            + tab(*lift_rows(r, lang, currency)) + f"<h3>{e(t('camp_total_cost'))}</h3>"
            + tab(*cost_rows(r, lang, currency)) + f"<h3>{e(t('camp_economics'))}</h3>"
            + tab(*econ_rows(r, lang, currency)) + f"<h3>{e(t('camp_afterwards'))}</h3>"
            + tab(*after_rows(r, lang)) + "</section>")


def write_html(path: str | Path, name: str, sections: list[str], lang: str) -> Path:
    from .overview import _plotly_js  # plotly.js inlined once, so the file works offline

    title = f"{label('camp_campaign', lang)} {name}"
    page = (f"<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<script>{_plotly_js()}</script><style>body{{font-family:sans-serif;margin:2em}}"
            "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px}"
            "</style></head><body>" + f"<h1>{html.escape(title)}</h1>" + "".join(sections) + "</body></html>")
    Path(path).write_text(page, encoding="utf-8")
    return Path(path)


def data_table(head: list[str], rows: list[list[str]]) -> str:
    """A table as data for the dashboard's shared table (``renderTable`` in static/app.js: column chooser, CSV and
    Excel export): the shown headers, the cells as written here (the first column names the row)."""
    import json

    def kind(j: int) -> str:
        if j == 0:
            return "data"
        cells = [str(r[j]) for r in rows if str(r[j]) not in ("", "n/a")]
        return "number" if cells and all(re.match(r"^[-+▲▼=]?\s*[-+]?(CNY |[A-Z]{3} )?[\d.,]+\s*(%|pp)?$", c)
                                         for c in cells) else "text"

    cols = [{"key": f"c{j}", "label": h, "kind": kind(j), "hidden": False} for j, h in enumerate(head)]
    body = [{f"c{j}": str(v) for j, v in enumerate(r)} for r in rows]
    table = {"columns": cols, "rows": body, "texts": body}
    return f'<div class="yy-table" data-table="{html.escape(json.dumps(table, ensure_ascii=False), quote=True)}"></div>'


def data_figure(fig) -> str:
    """A chart as data for a page that may not run inline scripts (the dashboard's CSP): a ``div`` whose
    ``data-figure`` holds the plotly JSON (drawn by the page's script)."""
    return f'<div class="chart yy-fig" data-figure="{html.escape(_dates(fig).to_json(), quote=True)}"></div>'


def overview_section(ws, langs=("en", "zh-Hant")) -> str:
    """The overview page's campaigns section: the portfolio table and each reviewed campaign's summary."""
    from ..analyses.campaigns.portfolio import portfolio

    e = html.escape
    cur = ws.config.currency
    reviews: dict = {}
    rows = portfolio(ws, reviews)
    title = " ".join(dict.fromkeys(label("camp_campaigns", lang) for lang in langs))
    if not rows:
        return f"<section class=\"camp-overview\"><h2>{e(title)}</h2><p>{e(label('camp_none', langs[0]))}</p></section>"
    parts = [f"<section class=\"camp-overview\"><h2>{e(title)}</h2>", _table(*portfolio_rows(rows, langs[0], cur)),
             _fig(portfolio_figure(rows, langs[0], cur))]
    for name, r in reviews.items():
        parts.append(f"<h3>{e(name)}</h3>")
        for lang in langs:
            parts.append(f"<p lang=\"{lang}\">" + e(" ".join(summary(r, lang, cur))) + "</p>")
    parts.append("</section>")
    return "".join(parts)


# ----------------------------------------------------------------------------- Excel

def _sheet(wb, name: str, blocks: list[tuple[str, list[str], list[list[str]]]]):
    ws = wb.add_worksheet(name[:31])
    bold = wb.add_format({"bold": True})
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    row = 0
    for title, cols, rows in blocks:
        ws.write(row, 0, title, bold)
        row += 1
        if cols:
            ws.write_row(row, 0, cols, head)
            row += 1
        for r in rows:
            ws.write_row(row, 0, r)
            row += 1
        row += 1
    ws.set_column(0, 0, 34)
    ws.set_column(1, 8, 16)
    return ws


def gantt_sheet(wb, pl: dict, lang: str) -> None:
    """A Gantt chart in cells: one row per task, one column per day, the task's days filled (bar-like), the
    campaign's days shaded in the header."""
    t = _L(lang)
    ws = wb.add_worksheet(t("camp_gantt")[:31].replace("(", "").replace(")", ""))
    head = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    bar = wb.add_format({"bg_color": "#4472C4"})
    day_h = wb.add_format({"rotation": 90, "font_size": 8, "align": "center"})
    live_h = wb.add_format({"rotation": 90, "font_size": 8, "align": "center", "bg_color": "#C6EFCE"})
    camp = pl["campaign"]
    c0, c1 = dt.date.fromisoformat(str(camp["start"])), dt.date.fromisoformat(str(camp["end"]))
    tasks = pl["tasks"]
    first = min([x["start"] for x in tasks] + [c0])
    last = max([x["end"] for x in tasks] + [c1])
    days = [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    cols, rows = task_rows(pl, lang)
    ws.write_row(0, 0, cols, head)
    fixed = len(cols)
    for j, d in enumerate(days):
        ws.write(0, fixed + j, d.strftime("%m-%d"), live_h if c0 <= d <= c1 else day_h)
    for i, (x, r) in enumerate(zip(tasks, rows), start=1):
        ws.write_row(i, 0, r)
        for j, d in enumerate(days):
            ws.write_blank(i, fixed + j, None, bar if x["start"] <= d <= x["end"] else None)
    ws.set_column(0, 0, 22)
    ws.set_column(1, fixed - 1, 11)
    ws.set_column(fixed, fixed + len(days) - 1, 2.6)
    ws.freeze_panes(1, fixed)
    probs = problem_rows(pl, lang) or [t("camp_no_problems")]
    for k, text in enumerate(probs, start=len(tasks) + 2):
        ws.write(k, 0, text)


def write_xlsx(path: str | Path, lang: str, *, plan: dict | None = None, pacing: dict | None = None,
               review: dict | None = None, currency: str = "") -> Path:
    import xlsxwriter

    t = _L(lang)
    wb = xlsxwriter.Workbook(str(path))
    try:
        if pacing is not None:
            _sheet(wb, t("camp_pacing"), [(t("camp_pacing"), *pacing_rows(pacing, lang, currency)),
                                          (t("camp_spend_vs_budget"), *budget_rows(pacing, lang, currency))])
        if review is not None:
            _sheet(wb, t("camp_review"), [
                (t("camp_summary"), [], [[s] for s in summary(review, lang, currency)]),
                (t("camp_goals_vs_target"), *goal_rows(review, lang, currency)),
                (t("camp_incremental_effect"), *lift_rows(review, lang, currency)),
                (t("camp_method"), [], [[t("camp_method_" + review["lift"]["method"])],
                                        [f"{t('camp_evidence')}: {t('camp_evidence_' + review['lift']['evidence'])}"],
                                        [check_line(review, lang)]]),
                (t("camp_total_cost"), *cost_rows(review, lang, currency)),
                (t("camp_economics"), *econ_rows(review, lang, currency)),
                (t("camp_afterwards"), *after_rows(review, lang))])
        if plan is not None:
            gantt_sheet(wb, plan, lang)
    finally:
        wb.close()
    return Path(path)
