"""An analysis result as people see it on any page: a labelled, formatted table, a translated chart, notes.

``people_view(kind, data, spec, lang=…, currency=…, data_start=…, data_end=…)`` takes what the query API returns
(``{"result", "rows_key", "figure"}``) and gives ``{"table", "figure", "notes", "kpis"?, "extra"?}``;
the dashboard renders it as it is (server/static/app.js), the CLI and reports use the same pieces
(:mod:`yunying.reports.columns`, :mod:`yunying.reports.figures`, :mod:`yunying.reports.format`).
"""
from __future__ import annotations

import datetime as dt
import re

from . import figures
from .columns import cell_tone, customer_periods, flatten, people_table
from .content import CONTENT_KINDS, content_people_table
from .view_periods import (chart_no_data, mark_after_data, mark_before_data, mark_heatmap, mark_incomplete,
                           retention_table)
from .format import human_duration, money, number, percent, points, points_change, count, change as fmt_change, value as format_value
from .i18n import MESSAGES, label

SECTIONS = ("acquisition", "activation", "retention", "revenue")
SECTION_LABEL = {"acquisition": "acquisition", "activation": "activation", "retention": "retention_section",
                 "revenue": "revenue_section"}
PREVIOUS_COLOUR, CURRENT_COLOUR = "#9aa4b1", "#0b6bcb"
LOWER_IS_BETTER_METRICS = {"cost_per_registration", "cac", "cost_per_paying_user"}


def metric_good(row: dict) -> str:
    """Whether a rise of an overview metric is good: its own ``good`` (up, down, neutral — spend is neutral),
    else down for a cost, else up."""
    good = row.get("good")
    if good in ("up", "down", "neutral"):
        return good
    return "down" if row.get("key") in LOWER_IS_BETTER_METRICS else "up"


def rows_of(result: dict, rows_key: str | None) -> list[dict]:
    if rows_key and isinstance(result.get(rows_key), list):
        return result[rows_key]
    for k, v in result.items():
        if k != "spec" and isinstance(v, list) and v and isinstance(v[0], dict):
            return v
    return []


def kpi_value(v, kind: str, currency: str, lang: str) -> str:
    if kind == "rate":
        return percent(v, lang=lang)
    if kind == "money":
        return money(v, currency, lang=lang)
    if kind == "float":
        return number(v, 1, lang=lang)
    if kind == "seconds":
        return human_duration(v, lang)
    return count(v, lang=lang)


def kpi_change(row: dict, lang: str = "en") -> tuple[str, float | None]:
    """A rate changes in percentage points (current − previous), anything else relatively."""
    if row.get("kind") == "rate":
        cur, prev = row.get("current"), row.get("previous")
        diff = cur - prev if cur is not None and prev is not None else None
        return points_change(diff, lang=lang), diff
    return fmt_change(row.get("change"), lang=lang), row.get("change")


def overview_parts(result: dict, lang: str, currency: str) -> tuple[list[dict], list[dict]]:
    """The overview's KPI cards and its table rows (labels from the catalogue, changes by kind)."""
    kpis, rows = [], []
    for r in result.get("metrics") or []:
        text, delta = kpi_change(r, lang)
        good = metric_good(r)
        tone = cell_tone(delta, good)
        name = label(r["key"], lang)
        kpis.append({"key": r["key"], "section": r.get("section"), "label": name, "current": r.get("current"),
                     "value": kpi_value(r.get("current"), r.get("kind"), currency, lang),
                     "previous": kpi_value(r.get("previous"), r.get("kind"), currency, lang),
                     "change": text, "direction": "up" if (delta or 0) > 0 else "down" if (delta or 0) < 0 else "",
                     "tone": tone})
        # the change as shown: a rate's in points (current − previous), anything else relative
        rows.append({"metric_label": name, "current": r.get("current"), "previous": r.get("previous"),
                     "change": delta, "good_direction": good,
                     "_kind": "points" if r.get("kind") == "rate" else None,
                     "_texts": {"current": kpis[-1]["value"], "previous": kpis[-1]["previous"], "change": text}})
    return kpis, rows


def until_clause(data_end, lang: str) -> str:
    """"；数据截至 2026-08-29 23:59" (empty without data)."""
    return f'{label("sep.clause", lang)}{label("data_until", lang)} {figures.until_text(data_end)}' if data_end else ""


def overview_notes(result: dict, lang: str, data_end: dt.date | None,
                   empty_days: list[dt.date] | None = None) -> list[str]:
    """A note when the compared weeks lack data: the whole week, or days without a single event (the
    weeks are then not comparable — e.g. one stray event moved "last complete week" past the data)."""
    metrics = result.get("metrics") or []
    counts = [m.get("current") for m in metrics if m.get("kind") == "count"]
    until, end = until_clause(data_end, lang), label("sep.period", lang)
    if counts and all(not c for c in counts):
        return [f'{label("no_data_in_week", lang)} {result.get("week")} – {result.get("week_end")}{until}{end}']
    if empty_days:
        days = label("sep.list", lang).join(d.isoformat() for d in empty_days[:14])
        head = label("days_without_events", lang)
        return [f'{head}{"" if head.endswith("：") else " "}{days}{until}{end}']
    return []


def customer_extra(result: dict, lang: str, currency: str) -> dict:
    """The customer-value page's model-fit and churn-tier tables."""
    fit = []
    for m in (result.get("model"), result.get("spend")):
        if not m:
            continue
        for k, v in m.items():
            if isinstance(v, dict) and "value" in v:
                fit.append({"model": m.get("name"), "parameter": k, "value": v["value"], "se": v.get("se")})
    tiers: dict = {}
    for u in result.get("users") or []:
        tiers[u.get("churn_risk")] = tiers.get(u.get("churn_risk"), 0) + 1
    tier_rows = [{"churn_risk": k, "customers": tiers[k]} for k in ("high", "medium", "low") if k in tiers]
    return {"fit": people_table(fit, lang, analysis="fit", currency=currency),
            "tiers": people_table(tier_rows, lang, analysis="tiers", currency=currency)}


def trends_value_label(spec: dict, lang: str) -> str:
    """What a trends series measures, in the reader's words: its formula, or its measure (of its property)."""
    if spec.get("formula"):
        return spec["formula"]
    series = spec.get("series") or [spec]
    s = series[0] if isinstance(series[0], dict) else {}
    measure = s.get("measure") or "count"
    name = label(measure, lang) if measure in MESSAGES else measure.upper()  # p90 → P90
    prop = s.get("property")
    if prop and measure not in ("count", "users", "per_user"):
        return f'{name}{label("sep.open", lang)}{prop}{label("sep.close", lang)}'
    return name


def people_view(kind: str, data: dict, spec: dict, *, lang: str, currency: str = "",
                data_end: dt.date | dt.datetime | None = None, empty_days: list[dt.date] | None = None,
                data_start: dt.date | dt.datetime | None = None) -> dict:
    """The result as people read it. ``data_start`` / ``data_end``: the local times of the first and last events
    (``Workspace.data_span``): rows of periods outside them say "no data", the last partial period is marked."""
    result = data.get("result") or {}
    out: dict = {"notes": []}
    if kind == "overview":
        kpis, rows = overview_parts(result, lang, currency)
        table = people_table([{k: v for k, v in r.items() if k not in ("_texts", "_kind")} for r in rows], lang,
                             analysis=kind, currency=currency)
        for texts, r in zip(table["texts"], rows):
            texts.update(r["_texts"])
        table["kinds"] = [{"change": r["_kind"]} if r["_kind"] else {} for r in rows]  # rates change in points
        out.update(kpis=kpis, week=result.get("week"), week_end=result.get("week_end"),
                   previous_week=result.get("previous_week"))
        out["notes"] += overview_notes(result, lang, data_end, empty_days)
    elif kind in CONTENT_KINDS:
        table = content_people_table(kind, rows_of(result, data.get("rows_key")), lang, currency)
        if not table["rows"]:
            out["notes"].append(label("no_data_period", lang))
    elif kind == "retention" and not spec.get("value"):  # a column per period, partial cells marked *
        table, partial = retention_table(rows_of(result, data.get("rows_key")), spec, lang, data_end)
        if not table["rows"]:
            out["notes"].append(label("no_data_period", lang))
        if any(partial):
            out["notes"].append(label("partial_cells_note", lang))
    else:
        table = people_table(flatten(rows_of(result, data.get("rows_key"))), lang, analysis=kind,
                             currency=currency)
        if not table["rows"]:
            out["notes"].append(label("no_data_period", lang))
    if kind == "experiment":
        from .exp_intervals import interval_cells

        proportion_cells(table, lang)
        interval_cells(table, result, lang)
    if kind == "explain":
        explain_cells(table, rows_of(result, data.get("rows_key")), result, lang, currency)
    buckets = duration_buckets(table, lang) if kind == "intervals" else {}
    if kind in ("customer_value", "winback"):  # recency and customer age in days, not model periods
        customer_periods(table, spec.get("period"), lang)
    if kind == "customer_value":
        out["extra"] = customer_extra(result, lang, currency)
    interval = spec.get("interval") or (spec.get("period") if kind in ("lifecycle", "stickiness",
                                                                       "repurchase", "retention") else None)
    marked = kind != "retention" and mark_incomplete(table, interval, data_end, lang)
    if kind != "retention" and mark_before_data(table, interval, data_start, lang):  # zeros before the data
        out["notes"].append(f'{label("no_data_before", lang).format(date=str(data_start)[:10])}'
                            f'{label("sep.period", lang)}')
    after = kind != "retention" and mark_after_data(table, interval, data_end, lang)
    if after:  # a range past the data: its zeros are no data, not a fall
        out["notes"].append(f'{label("no_data_after", lang).format(date=after.isoformat())}'
                            f'{until_clause(data_end, lang)}{label("sep.period", lang)}')
    figure = data.get("figure") or {}
    if figure.get("error"):  # a result without a chart: say so in words, never a Python error
        figure = {"error": label("no_chart", lang)}
    elif figure:
        if kind in CONTENT_KINDS:
            rate_axes(figure)
        figures.percent_axes(figure)
        own = result.get("spec") if isinstance(result.get("spec"), dict) else {}  # the defaults the analysis used
        axis_words(figure, kind, interval or own.get("interval") or own.get("period"))
        if kind == "retention" and not spec.get("value"):
            mark_heatmap(figure, partial)
        words = buckets or (CATEGORY_WORDS(kind, lang) if kind in ("explain", "content_timing") else {})
        for trace in figure.get("data") or [] if words else []:  # categories as the table words them
            if isinstance(trace.get("x"), list):
                trace["x"] = [words.get(x, x) for x in trace["x"]]
        figures.translate(figure, lang, "content" if kind in CONTENT_KINDS else kind)
        figures.period_rules(figure, interval=interval, data_end=data_end, lang=lang)
        if kind != "retention":  # periods before or after the data: a gap and a band, not zeros
            chart_no_data(figure, interval, data_start, data_end, lang)
        marked = marked or any(s.get("name") == "incomplete" for s in figure.get("layout", {}).get("shapes") or [])
        if kind == "budget":
            budget_lines(figure, result, lang, currency)
        if kind == "overview":  # the bars are named by the metrics' English labels: use the catalogue's
            names = {m.get("label"): label(m["key"], lang) for m in result.get("metrics") or []}
            bars = [t for t in figure.get("data") or [] if t.get("type") == "bar"]
            for trace, colour in zip(bars, (PREVIOUS_COLOUR, CURRENT_COLOUR) if len(bars) == 2 else ()):
                trace.setdefault("marker", {})["color"] = colour  # last week grey, this week blue: red reads as bad
            for trace in figure.get("data") or []:
                if isinstance(trace.get("x"), list):
                    trace["x"] = [names.get(x, x) for x in trace["x"]]
    shaded = any(s.get("name") == "incomplete" for s in (figure.get("layout") or {}).get("shapes") or [])
    if marked:  # the words say where the mark is: the chart's shading, or only the table's row
        note = "incomplete_note" if shaded else "incomplete_note_table"
        note += "_with_data" if after else ""  # periods after the data follow it: "the last period with data"
        out["notes"].append(f'{label(note, lang)} {figures.until_text(data_end)}{label("sep.period", lang)}')
    if kind == "trends":  # the value column says what it counts (事件次数, 去重用户数, 求和（revenue）), not "Value"
        for c in table["columns"]:
            if c["key"] == "value":
                c["label"] = trends_value_label(spec, lang)
    if kind == "stickiness" and spec.get("period") == "week":  # a week's stickiness is DAU/WAU
        for c in table["columns"]:
            if c["key"] == "stickiness":
                c["label"] = label("col.stickiness.stickiness_week", lang)
    out.update(table=table, figure=figure)
    return out


PERIOD_AXES = {"date", "day", "period", "week", "month", "period_start", "week_start"}


def axis_words(figure: dict, kind: str, interval: str | None) -> None:
    """Axis titles that say what is counted or drawn: a weekly x axis is the week (周), a monthly one the month,
    not "date"; the customer-value histogram counts customers, not "count". Before :func:`figures.translate`."""
    layout = figure.setdefault("layout", {})
    word = {"week": "axis_week", "month": "axis_month"}.get(interval or "")
    for key, axis in layout.items():
        if not (key.startswith("xaxis") and isinstance(axis, dict) and word):
            continue
        title = axis.get("title")
        if (title.get("text") if isinstance(title, dict) else title) in PERIOD_AXES:
            axis["title"] = {**(title if isinstance(title, dict) else {}), "text": word}
    y = layout.get("yaxis")
    if kind == "customer_value" and isinstance(y, dict) and isinstance(y.get("title"), dict) \
            and y["title"].get("text") == "count":
        y["title"]["text"] = "customers"


def CATEGORY_WORDS(kind: str, lang: str) -> dict:  # noqa: N802 - a table of words, built per language
    """Chart categories that are yunying's words: explain's two periods, content timing's weekdays."""
    if kind == "explain":
        return {k: label(f"col.explain.{k}", lang) for k in ("current", "previous")}
    return {k[6:]: label(k, lang) for k in ("value.Mon", "value.Tue", "value.Wed", "value.Thu", "value.Fri",
                                            "value.Sat", "value.Sun")}


def duration_buckets(table: dict, lang: str) -> dict:
    """Time-between-events buckets in the reader's words and units ("1 分钟–5 分钟", "≥ 30 天", not "1m–5m");
    returns {raw label: shown label} for the chart."""
    out = {}
    for raw, texts in zip(table["rows"], table["texts"]):
        lo, hi, name = raw.get("from_seconds"), raw.get("to_seconds"), raw.get("label")
        if lo is None or not isinstance(name, str):
            continue
        text = (f"{human_duration(lo, lang)}–{human_duration(hi, lang)}" if hi is not None
                else f"≥ {human_duration(lo, lang)}")
        texts["label"] = out[name] = text
    return out


UNIT_KINDS = {"count": "count", "rate": "percent", "money": "money"}


def _signed(v, kind: str, lang: str, currency: str) -> str:
    """A difference in a metric's own unit: +98 users, +0.6 pp, +CNY 2,635.34 (never a relative % of 98)."""
    if kind == "rate":
        return format_value(v, "points", lang=lang)
    if not isinstance(v, (int, float)) or v != v:
        return format_value(None, "number", lang=lang)
    text = format_value(abs(v), UNIT_KINDS.get(kind, "number"), lang=lang, currency=currency)
    return ("+" if v > 0 else "-" if v < 0 else "") + text


def explain_cells(table: dict, raw_rows: list[dict], result: dict, lang: str, currency: str) -> None:
    """What moved: each factor in its own unit (users, %, money), its change as a difference in that unit, its
    contribution in the metric's unit, and its name in the reader's language."""
    whole = result.get("metric_kind") or "number"
    for c in table["columns"]:
        if c["key"] == "label":
            c["hidden"] = True
        if c["key"] in ("change", "contribution"):
            c["kind"] = "number"
    for raw, texts in zip(raw_rows, table["texts"]):
        kind = raw.get("kind") or "number"
        for key in ("current", "previous"):
            texts[key] = format_value(raw.get(key), UNIT_KINDS.get(kind, "number"), lang=lang, currency=currency)
        texts["change"] = _signed(raw.get("change"), kind, lang, currency)
        if "contribution" in raw:
            texts["contribution"] = _signed(raw.get("contribution"), whole, lang, currency)
        key = f"metric.{raw.get('name')}"
        texts["name"] = label(key, lang) if key in MESSAGES else (raw.get("label") or raw.get("name"))


def proportion_cells(table: dict, lang: str) -> None:
    """An experiment's conversion metric (a proportion): its mean in %, its effect and interval in pp
    (8.0% → 12.0%: +4.0 pp), not 0.08 and 0.04. Every interval reads low – high, and a bound that is not 0 never
    reads as 0 (−0.05 pp, not −0.0 pp: whether an interval excludes 0 is the verdict)."""
    kinds = table.setdefault("kinds", [{} for _ in table["rows"]])
    for raw, texts, own in zip(table["rows"], table["texts"], kinds):
        prop = raw.get("type") == "proportion"
        for key, kind in (("ci_rel", "signed"), ("ci_abs", "points" if prop else "number")):
            if isinstance(raw.get(key), list):
                texts[key] = " – ".join(_bound(x, kind, lang) for x in raw[key])
        if not prop:
            continue
        for key, kind in (("mean", "percent"), ("effect_abs", "points")):
            if key in raw:
                texts[key] = format_value(raw[key], kind, lang=lang)
                own[key] = kind
        if isinstance(raw.get("risk"), (int, float)):  # a Bayesian expected loss: a rate's, in points too
            texts["risk"] = _bound(raw["risk"], "points", lang)
            own["risk"] = "points"
        if "ci_abs" in raw:
            own["ci_abs"] = "points"


def _bound(x, kind: str, lang: str) -> str:
    """An interval's bound; one that rounds to 0 gets the digits that show its sign (at most three)."""
    text = format_value(x, kind, lang=lang)
    if not (isinstance(x, (int, float)) and x and kind in ("points", "signed")):
        return text
    for digits in (2, 3):
        if re.search(r"[1-9]", text):
            break
        text = points(x, digits, lang) if kind == "points" else ("+" if x > 0 else "") + percent(x, digits, lang)
    return text


def rate_axes(figure: dict) -> None:
    """An axis showing a rate (``follow_rate_shrunk`` …) ticks in percent (4.0%, not 0.04)."""
    for key, axis in (figure.get("layout") or {}).items():
        title = axis.get("title") if isinstance(axis, dict) and key[1:].startswith("axis") else None
        text = title.get("text") if isinstance(title, dict) else title
        if isinstance(text, str) and re.search(r"(^|_)rate(_|$)", text):
            axis["tickformat"] = ".1%"


def budget_lines(figure: dict, result: dict, lang: str, currency: str) -> None:
    """Name the budget chart's lines with the table's words and numbers (typical spend day, proposed)."""
    notes = figure.setdefault("layout", {}).setdefault("annotations", [])
    rows = {r.get("channel"): r for r in result.get("rows") or []}
    for i, ch in enumerate((result.get("response") or {}).get("curves") or result.get("curves") or {}, start=1):
        r = rows.get(ch) or {}
        if r.get("typical_day_spend") is None:
            continue
        axis = "x" if i == 1 else f"x{i}"
        notes.append({"x": r["typical_day_spend"], "xref": axis, "y": 0.02, "yref": "paper", "showarrow": False,
                      "xanchor": "left", "font": {"size": 10, "color": "#555"}, "name": "typical_day",
                      "text": f'{label("col.typical_day_spend", lang)} {money(r["typical_day_spend"], currency, lang)}'})
