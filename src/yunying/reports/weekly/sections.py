"""The report's sections, one builder each: ``builder(ctx) -> Section | None`` (None: nothing to show).

:data:`SECTIONS` is the order of the report; a new section is one function added to it (campaigns and content
plug in the same way). A builder that fails does not stop the report: its section says it is unavailable
and why (``build_sections``).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from ...analyses import metrics as M
from ...sequences.calendar import next_period, period_start
from ..columns import cell_tone
from ..explain import metric_label
from ..i18n import label
from ..view_periods import before_data
from .model import Chart, Column, Period, Section, Series, Table

TREND_PERIODS = 8


@dataclass
class Context:
    engine: object
    period: Period
    lang: str
    currency: str
    catalog: object
    workspace_path: object = None
    explain_by: list | None = None
    data_last_day: dt.date | None = None
    data_first_day: dt.date | None = None

    def L(self, key: str) -> str:  # noqa: N802 - a label
        return label(key, self.lang)


def change_of(cur, prev, kind: str):
    """(change, kind of the change): percentage points for rates, relative otherwise (None when undefined)."""
    if cur is None or prev is None:
        return None, "change"
    if kind == "rate":
        return cur - prev, "points"
    return ((cur - prev) / abs(prev) if prev else None), "change"


def tone(change, good: str) -> str | None:
    """green (good) or red (bad) by whether up is good for the metric; a neutral metric (spend) neither."""
    return cell_tone(change, good) or None


def _values(ctx: Context, names, first, last) -> dict:
    row = M.frame(ctx.engine, names, first, last, cat=ctx.catalog)
    out = {}
    for n in names:
        v = float(row[n].iloc[0]) if len(row) else None
        out[n] = None if v is None or v != v else v
    return out


def headline(ctx: Context) -> Section:
    p, cat = ctx.period, ctx.catalog
    names = list(cat.metrics)
    cur = _values(ctx, names, p.start, p.end)
    prev = _values(ctx, names, p.prev_start, p.prev_end)
    rows = []
    for n in names:
        m = cat.get(n)
        ch, ch_kind = change_of(cur[n], prev[n], m.kind)
        rows.append({"metric": metric_label(n, m.label, ctx.lang), "current": cur[n], "previous": prev[n],
                     "change": ch, "_change_kind": ch_kind, "_kind": m.kind, "_tone": tone(ch, m.good), "_name": n})
    table = Table([Column("metric", ctx.L("report.col.metric")), Column("current", ctx.L("report.col.current"), "metric"),
                   Column("previous", ctx.L("report.col.previous"), "metric"),
                   Column("change", ctx.L("report.col.change"), "metric_change")], rows, tone_key="_tone")
    sec = Section("headline", ctx.L("report.section.headline"), tables=[table])
    if not p.complete:
        sec.paragraphs.append(ctx.L("report.incomplete_compare").format(days=p.days, first=p.prev_start, last=p.prev_end))
    sec.charts.append(trend_chart(ctx, names[0]))
    return sec


def trend_chart(ctx: Context, name: str) -> Chart:
    """The metric over the last periods up to the report's; a period not over is drawn apart, never as a drop."""
    p = ctx.period
    first = p.start
    for _ in range(TREND_PERIODS - 1):
        first = period_start(first - dt.timedelta(days=1), p.kind)
    s = M.series(ctx.engine, name, first, p.end, interval=p.kind, cat=ctx.catalog)
    cats = [str(d) for d in s["date"]]
    none = [i for i, c in enumerate(cats) if before_data(dt.date.fromisoformat(c[:10]), p.kind, ctx.data_first_day)]
    values = [None if v != v or i in none else float(v) for i, v in enumerate(s["value"])]
    m = ctx.catalog.get(name)
    title = ctx.L(f"report.trend.{p.kind}").format(metric=metric_label(name, m.label, ctx.lang))
    return Chart("column", title, cats, [Series(metric_label(name, m.label, ctx.lang), values)], m.kind,
                 incomplete=None if p.complete else len(cats) - 1, no_data=none)


def what_moved(ctx: Context) -> Section | None:
    """``explain`` of the first headline metric: its sentences, the factors and (with --explain-by) segments."""
    from ...analyses.explain import explain
    from ..explain import sentences

    p = ctx.period
    sec = Section("what_moved", ctx.L("report.section.what_moved"))
    first = next(iter(ctx.catalog.metrics))
    d = explain(ctx.engine, metric=first, date_from=p.start, date_to=p.end, vs_from=p.prev_start,
                vs_to=p.prev_end, by=ctx.explain_by or []).to_dict()
    sec.paragraphs += sentences(d, ctx.lang)
    kind, base = d["metric_kind"], d["previous"]
    share = (lambda c: c / abs(base) if base else None)  # noqa: E731 - points of the previous value
    rows = []
    for f in d.get("factors") or []:
        ch, ch_kind = change_of(f["current"], f["previous"], f["kind"])
        rows.append({"factor": metric_label(f["name"], f.get("label"), ctx.lang), "previous": f["previous"],
                     "current": f["current"], "change": ch, "contribution": f["contribution"],
                     "points": share(f["contribution"]), "_kind": f["kind"], "_change_kind": ch_kind,
                     "_tone": tone(f["contribution"], d.get("good", "up"))})
    contribution_kind = "points" if kind == "rate" else kind
    if rows:
        sec.tables.append(Table([
            Column("factor", ctx.L("report.col.factor")), Column("previous", ctx.L("report.col.previous"), "metric"),
            Column("current", ctx.L("report.col.current"), "metric"),
            Column("change", ctx.L("report.col.change"), "metric_change"),
            Column("contribution", ctx.L("report.col.contribution"), contribution_kind),
            Column("points", ctx.L("report.col.points"), "points")], rows, tone_key="_tone"))
    segs = []
    for s in d.get("segments") or []:
        for item, indent in [(s, "")] + [(c, "  └ ") for c in s.get("children", [])]:
            segs.append({"segment": indent + str(item["value"]), "mix": item["mix"], "rate": item["rate"],
                         "contribution": item["contribution"], "points": share(item["contribution"]),
                         "_tone": tone(item["contribution"], d.get("good", "up"))})
    if segs:
        sec.tables.append(Table([
            Column("segment", ctx.L("report.col.segment")), Column("mix", ctx.L("report.col.mix"), contribution_kind),
            Column("rate", ctx.L("report.col.rate_effect"), contribution_kind),
            Column("contribution", ctx.L("report.col.contribution"), contribution_kind),
            Column("points", ctx.L("report.col.points"), "points")], segs, tone_key="_tone"))
    return sec


def acquisition(ctx: Context) -> Section | None:
    """The channel table of ``yunying channels`` (analyses/acquisition) for the period, against the previous one."""
    from ...analyses.acquisition import channels

    p = ctx.period
    if ctx.engine.workspace.config.events.signup not in ctx.engine.known_events():
        return None
    cur = {r["channel"]: r for r in channels(ctx.engine, date_from=p.start, date_to=p.end).to_dict()["rows"]}
    prev = {r["channel"]: r for r in channels(ctx.engine, date_from=p.prev_start, date_to=p.prev_end).to_dict()["rows"]}
    if not cur and not prev:
        return None
    rows = []
    for ch in sorted(set(cur) | set(prev), key=lambda c: (-(cur.get(c) or {}).get("registrations", 0), str(c))):
        c, v = cur.get(ch) or {}, prev.get(ch) or {}
        n, m = float(c.get("registrations") or 0), float(v.get("registrations") or 0)
        rows.append({"channel": ch, "new_users": n, "previous": m, "change": (n - m) / m if m else None,
                     "spend": c.get("spend"), "cpr": c.get("cost_per_registration"),
                     "activation": c.get("activation_rate"), "revenue": c.get("revenue"), "roas": c.get("roas"),
                     "_tone": tone((n - m) if m else None, "up")})
    cols = [Column("channel", ctx.L("report.col.channel")), Column("new_users", ctx.L("report.col.new_users"), "count"),
            Column("previous", ctx.L("report.col.previous"), "count"), Column("change", ctx.L("report.col.change"), "change"),
            Column("spend", ctx.L("report.col.spend"), "money"), Column("cpr", ctx.L("report.col.cpr"), "money"),
            Column("activation", ctx.L("report.col.activation"), "rate"),
            Column("revenue", ctx.L("report.col.revenue"), "money"), Column("roas", ctx.L("report.col.roas"), "number")]  # a ratio, as `yunying channels`
    chart = Chart("bar", ctx.L("report.chart.new_users"), [str(r["channel"]) for r in rows],
                  [Series(ctx.L("report.col.current"), [r["new_users"] for r in rows]),
                   Series(ctx.L("report.col.previous"), [r["previous"] for r in rows])], "count")
    n, m = sum(r["new_users"] for r in rows), sum(r["previous"] for r in rows)
    spend = sum(r["spend"] or 0 for r in rows)
    total = {"channel": ctx.L("report.total"), "new_users": n, "previous": m, "change": (n - m) / m if m else None,
             "spend": spend or None, "cpr": spend / n if spend and n else None,
             "revenue": sum(r["revenue"] or 0 for r in rows), "_tone": tone((n - m) if m else None, "up")}
    return Section("acquisition", ctx.L("report.section.acquisition"), [ctx.L("report.acquisition_note")],
                   [Table(cols, rows + [total], tone_key="_tone")], [chart])


def funnel(ctx: Context) -> Section | None:
    from ...analyses.funnel import funnel as run_funnel

    ev = ctx.engine.workspace.config.events
    steps = [s for s in (ev.signup, ev.activation, ev.purchase) if s in ctx.engine.known_events()]
    if len(steps) < 2:
        return None
    p = ctx.period
    # later steps within the same period: both periods are cut at their end alike (the last one is not a drop
    # because its users had less time to convert)
    run = lambda a, b: run_funnel(ctx.engine, steps=steps, date_from=a, date_to=b, window="31d",  # noqa: E731
                                  steps_in_range=True).to_dict()["steps"]
    cur, prev = run(p.start, p.end), run(p.prev_start, p.prev_end)
    rows = []
    for a, b in zip(cur, prev):
        ch = a["conversion_from_start"] - b["conversion_from_start"]
        rows.append({"step": f"{a['step']}. {a['name']}", "users": a["count"], "conversion": a["conversion_from_start"],
                     "previous": b["conversion_from_start"], "change": ch, "_tone": tone(ch, "up")})
    cols = [Column("step", ctx.L("report.col.step")), Column("users", ctx.L("report.col.users"), "count"),
            Column("conversion", ctx.L("report.col.conversion"), "rate"),
            Column("previous", ctx.L("report.col.previous"), "rate"), Column("change", ctx.L("report.col.change"), "points")]
    chart = Chart("bar", ctx.L("report.chart.funnel"), [r["step"] for r in rows],
                  [Series(ctx.L("report.col.current"), [r["conversion"] for r in rows]),
                   Series(ctx.L("report.col.previous"), [r["previous"] for r in rows])], "rate")
    return Section("funnel", ctx.L("report.section.funnel"), [ctx.L("report.funnel_note")],
                   [Table(cols, rows, tone_key="_tone")], [chart])


def retention(ctx: Context) -> Section | None:
    from ...analyses.retention import retention as run_retention

    ev = ctx.engine.workspace.config.events
    if ev.signup not in ctx.engine.known_events():
        return None
    p = ctx.period
    first = p.start - dt.timedelta(weeks=7)
    first = first - dt.timedelta(days=first.weekday())
    res = run_retention(ctx.engine, start_event=ev.signup, period="week", periods=4, date_from=first,
                        date_to=p.end).to_dict()
    rows = []
    for c in res["cohorts"]:
        row = {"cohort": c["cohort"], "size": c["size"]}
        for i in range(1, 5):
            rate = c["rates"][i] if i < len(c["rates"]) and i < c.get("observed_periods", 0) else None
            row[f"w{i}"] = rate
        rows.append(row)
    if not rows:
        return None
    cols = [Column("cohort", ctx.L("report.col.cohort"), "date"), Column("size", ctx.L("report.col.size"), "count")]
    cols += [Column(f"w{i}", ctx.L("report.col.week_n").format(n=i), "rate") for i in range(1, 5)]
    chart = Chart("line", ctx.L("report.chart.retention"), [r["cohort"] for r in rows],
                  [Series(ctx.L("report.col.week_n").format(n=1), [r["w1"] for r in rows])], "rate")
    return Section("retention", ctx.L("report.section.retention"), [ctx.L("report.retention_note")],
                   [Table(cols, rows)], [chart])


# An experiment row's colour is the experiment's own verdict: with several variants that is the adjusted p-value's
# (Holm by default), so a variant at p = 0.03 of three is not green when the experiment page says inconclusive.
VERDICT_TONE = {"win": "good", "loss": "bad"}


def experiments(ctx: Context) -> Section | None:
    from ...analyses.experiment import analyze_workspace

    ws = ctx.engine.workspace
    cfg = ws.config
    p = ctx.period
    with ws.lock:
        found = ws.con.execute(
            "SELECT json_extract_string(properties, '$.experiment') AS x, list(DISTINCT variant ORDER BY variant) "
            "FROM events WHERE event = ? AND variant IS NOT NULL "
            "AND CAST(from_utc_timestamp(ts, ?) AS DATE) BETWEEN ? AND ? GROUP BY 1 ORDER BY 1",
            [cfg.events.exposure, ctx.engine.timezone, p.start - dt.timedelta(days=28), p.end]).fetchall()
    rows = []
    for name, variants in found:
        if len(variants) < 2:
            continue
        control = "control" if "control" in variants else variants[0]
        spec = {"exposure_event": cfg.events.exposure, "control": control,
                "variants": list(variants),
                "metrics": [{"name": "purchase_14d", "kind": "conversion", "event": cfg.events.purchase,
                             "window_days": 14}]}
        if name is not None:
            spec["experiment"] = name
        d = analyze_workspace(ctx.engine, spec).to_dict()
        for m in d["metrics"][:1]:
            base = next((v for v in m["variants"] if v["is_control"]), None)
            for v in m["variants"]:
                if v["is_control"]:
                    continue
                rows.append({"experiment": name or "-", "variant": v["variant"], "users": v["n"],
                             "control_rate": base and base["mean"], "variant_rate": v["mean"],
                             "lift": v.get("effect_rel"),
                             "p_value": v.get("p_value_adjusted") if v.get("p_value_adjusted") is not None
                             else v.get("p_value"),
                             "_tone": VERDICT_TONE.get(v.get("verdict"))})
    if not rows:
        return None
    cols = [Column("experiment", ctx.L("report.col.experiment")), Column("variant", ctx.L("report.col.variant")),
            Column("users", ctx.L("report.col.users"), "count"),
            Column("control_rate", ctx.L("report.col.control_rate"), "rate"),
            Column("variant_rate", ctx.L("report.col.variant_rate"), "rate"),
            Column("lift", ctx.L("report.col.lift"), "change"), Column("p_value", ctx.L("report.col.p_value"), "pvalue")]
    return Section("experiments", ctx.L("report.section.experiments"), [ctx.L("report.experiments_note")],
                   [Table(cols, rows, tone_key="_tone")])


def alerts(ctx: Context) -> Section | None:
    from ...storage.alerts import history
    from ..alerts.messages import value_text

    if ctx.workspace_path is None:
        return None
    p = ctx.period
    rows = [r for r in history(ctx.workspace_path, since=p.start, limit=500) if r["period_start"] <= p.full_end.isoformat()]
    sec = Section("alerts", ctx.L("report.section.alerts"))
    if not rows:
        sec.note = ctx.L("report.no_alerts")
        return sec
    table_rows = [{"rule": r["rule"], "period_start": r["period_start"], "metric": r["detail"].get("label") or r["metric"],
                   "value": value_text(r["value"], r["detail"].get("kind", "number"), r["detail"].get("currency", "")),
                   "fired_at": r["fired_at"]} for r in rows]
    sec.tables.append(Table([Column("rule", ctx.L("alerts.col.rule")), Column("period_start", ctx.L("alerts.col.period_start"), "date"),
                             Column("metric", ctx.L("alerts.metric")), Column("value", ctx.L("alerts.value")),
                             Column("fired_at", ctx.L("alerts.col.fired_at"))], table_rows))
    return sec


def campaigns(ctx: Context) -> Section | None:
    """The campaigns running in the period or ended in the four weeks before it, or starting in the next two
    (the portfolio's rows, docs/campaigns.md#portfolio), with each reviewed one's summary in words."""
    from types import SimpleNamespace

    from ...analyses.campaigns.portfolio import portfolio
    from ..campaigns import summary

    if ctx.workspace_path is None:
        return None
    p = ctx.period
    ws = SimpleNamespace(engine=ctx.engine, path=ctx.workspace_path, config=ctx.engine.workspace.config)
    reviews: dict = {}
    rows = [r for r in portfolio(ws, reviews) if r["start"] <= p.full_end + dt.timedelta(days=14)
            and r["end"] >= p.start - dt.timedelta(days=28)]
    if not rows:
        return None
    L = ctx.L
    table = [{"campaign": r["campaign"], "start": r["start"].isoformat(), "end": r["end"].isoformat(),
              "status": L("camp_" + r["status"]), "method": L("camp_method_" + r["method"]) if r.get("method") else "",
              "evidence": L("camp_evidence_" + r["evidence"]) if r.get("evidence") else "", "cost": r.get("cost"),
              "incremental_purchases": r.get("incremental_purchases"),
              "cost_per_incremental_purchase": r.get("cost_per_incremental_purchase"), "roi": r.get("roi")}
             for r in rows]
    cols = [Column("campaign", L("camp_campaign")), Column("start", L("camp_start"), "date"),
            Column("end", L("camp_end"), "date"), Column("status", L("camp_status")),
            Column("method", L("camp_method")), Column("evidence", L("camp_evidence")),
            Column("cost", L("camp_total_cost"), "money"),
            Column("incremental_purchases", L("camp_incremental_purchases"), "count"),
            Column("cost_per_incremental_purchase", L("camp_cost_per_incremental_purchase"), "money"),
            Column("roi", L("camp_roi"), "rate")]
    paragraphs = [f"{r['campaign']}: " + " ".join(summary(reviews[r["campaign"]], ctx.lang, ctx.currency))
                  for r in rows if r["campaign"] in reviews]
    return Section("campaigns", L("report.section.campaigns"), paragraphs, [Table(cols, table)])


def content(ctx: Context) -> Section | None:
    """Content read in the period (reports/content.py, docs/content.md): the most-read pieces with their shrunk
    follow rate, and the flags with their evidence; None when the workspace has no content."""
    from ...analyses.content import ContentSpec, FlagsSpec
    from ...analyses.content.data import piece_table
    from ...analyses.content.flags import flags_from
    from ...analyses.content.funnel import content_from
    from ...errors import SpecError

    p, L = ctx.period, ctx.L
    spec = ContentSpec(date_from=p.start, date_to=p.end)
    try:
        base = piece_table(ctx.engine, spec)
    except SpecError:  # no content in this workspace: no section
        return None
    pieces = content_from(base, spec).records()[:10]
    found = flags_from(base, FlagsSpec(date_from=p.start, date_to=p.end)).to_dict()["flags"]
    sec = Section("content", L("report.section.content"))
    if not pieces:
        sec.note = L("content.no_data")
        return sec
    keys = [("content_id", "text"), ("title", "text"), ("readers", "count"), ("followers", "count"),
            ("follow_rate", "rate"), ("follow_rate_shrunk", "rate"), ("share_rate_shrunk", "rate"),
            ("converters", "count")]
    sec.tables.append(Table([Column(k, L(f"col.content.{k}"), kind) for k, kind in keys],
                            [{k: r.get(k) for k, _ in keys} for r in pieces], title=L("content.pieces_title")))
    if found:
        fl = [{"flag": L(f"value.{f['flag']}"), "content_id": f["content_id"], "title": f.get("title"),
               "metric": L(f"content.{f['metric']}"), "reads": f["reads"], "shrunk_rate": f["shrunk_rate"],
               "interval_lo": f["interval"][0], "interval_hi": f["interval"][1], "baseline": f["baseline"]}
              for f in found]
        kinds = {"reads": "count", "shrunk_rate": "rate", "interval_lo": "rate", "interval_hi": "rate",
                 "baseline": "rate"}
        sec.tables.append(Table([Column(k, L(f"col.content.{k}"), kinds.get(k, "text")) for k in fl[0]], fl,
                                title=L("content.flags_title")))
    return sec


#: The report, in order. Add a section by appending (or inserting) one builder.
SECTIONS: list[Callable[[Context], Section | None]] = [
    headline, what_moved, acquisition, funnel, retention, experiments, campaigns, content, alerts,
]


def build_sections(ctx: Context, builders=None) -> list[Section]:
    out = []
    for builder in builders or SECTIONS:
        try:
            sec = builder(ctx)
        except Exception as exc:  # noqa: BLE001 - one section's failure must not lose the report
            msg = getattr(exc, "message", None) or f"{type(exc).__name__}: {exc}"
            sec = Section(builder.__name__, ctx.L(f"report.section.{builder.__name__}"),
                          note=ctx.L("report.section_failed").format(reason=msg))
        if sec is not None:
            out.append(sec)
    return out
