"""Product analytics commands: funnel, retention, lifecycle, stickiness, paths (trends: cli/trends.py).

Every command runs on a workspace (``--workspace DIR``, default the current folder) or straight
on an events file (``--events FILE``), on the configured engine or ``--engine duckdb|spark``,
and prints ``--format table|json|csv``. ``--spec FILE`` runs a saved spec (JSON, as printed
under ``spec`` in ``--format json`` output); ``--save-spec FILE`` writes the spec it ran.
Definitions: docs/definitions.md.
"""
from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import SpecError, Text
from ..reports.format import percent as format_percent
from ..reports.i18n import phrase


def period_label(text: str) -> str:
    """A retention column ("week 1", "day 7-13") in the table language."""
    from .common import _Lang

    return phrase(text, _Lang.current())
from .common import console, emit, load_spec, print_rows, refuse, run_spec, shared_options, store_first


def where_option():
    return typer.Option(None, "--where", help="Only events where EXPR holds (repeatable; all must hold; "
                        "docs/users.md#filter-language).")


def segment_option():
    return typer.Option(None, "--segment", help="Only the events of this segment's members.")


def filters_of(where, segment) -> list | None:
    from .trends import segment_filter

    out = list(where or []) + ([segment_filter(segment)] if segment else [])
    return out or None


def _split(text: Optional[str]) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _parse_exclusion(text: str, n_steps: int) -> dict:
    """EVENT or EVENT:FROM-TO (1-based steps)."""
    if ":" not in text:
        return {"event": text.strip()}
    event, rng = text.rsplit(":", 1)
    try:
        a, b = (int(x) for x in rng.split("-", 1))
    except ValueError:
        raise SpecError(key="analytics.exclude_expects_event_event", text=text) from None
    return {"event": event.strip(), "from_step": a, "to_step": b}


def _parse_attribution(text: Optional[str]) -> dict:
    if text is None:
        return {}
    t = text.strip().lower().replace("-", "_")
    if t in ("first", "first_touch"):
        return {"attribution": "first_touch"}
    if t in ("last", "last_touch"):
        return {"attribution": "last_touch"}
    if t.startswith("step"):
        num = t[4:].lstrip(":_ ")
        if num.isdigit():
            return {"attribution": "step", "attribution_step": int(num)}
    raise SpecError(key="analytics.attribution_must_first_last", text=text)


# ----------------------------------------------------------------------------- funnel


@shared_options
def funnel_cmd(
    ctx: typer.Context,
    steps: Optional[str] = typer.Option(None, "--steps", "-s", help="Comma-separated step events, e.g. signup,activate,purchase; a step may "
                                                                   "take a filter: purchase[event.revenue > 100]."),
    window: str = typer.Option("14d", "--window", help="Conversion window from step 1: 30m, 6h, 1d, 14d …"),
    order: str = typer.Option("ordered", "--order", help="ordered (default), strict or unordered."),
    by: Optional[str] = typer.Option(None, "--by", help="Break down by an event property, user.PROP (the user's current "
                                     "profile) or segment:A,B (side by side)."),
    attribution: Optional[str] = typer.Option(None, "--attribution", help="Breakdown value from: first (default), last or step:N."),
    top: int = typer.Option(10, "--top", help="Top N breakdown values; the rest are '(other)'."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Exclusion event, EVENT or EVENT:FROM-TO (repeatable)."),
    steps_in_range: bool = typer.Option(False, "--steps-in-range", help="Every step (not only step 1) must be inside --from/--to."),
    repeat: bool = typer.Option(False, "--repeat", help="Count attempts (every step-1 event) instead of users."),
    interval: Optional[str] = typer.Option(None, "--interval", help="Also conversion over time by entry day/week/month."),
    dropped_after: Optional[int] = typer.Option(None, "--dropped-after", help="Print the users who reached step K but not K+1."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Funnel (漏斗分析): users through steps A → B → C within a conversion window."""
    if not (by or spec_file or where or "[" in (steps or "")):  # what reads property columns reads DuckDB
        store_first(events)
    from ..analyses.funnel import FunnelSpec, funnel

    spec = load_spec(ctx, FunnelSpec, spec_file, allowed=("dropped_after",))
    if spec is None:
        if not by:
            refuse(ctx, ["attribution", "top"], Text("analytics.without_by"))
        if dropped_after is not None:
            refuse(ctx, ["interval"], Text("analytics.with_dropped_after_it"))
        if date_to is None:
            refuse(ctx, ["steps_in_range"], Text("analytics.without_later_steps_are"))
        from ..analyses.funnel_steps import split_steps

        names = split_steps(steps or "")  # a step may carry a filter: purchase[event.revenue > 100]
        if not names:
            raise SpecError(key="analytics.give_steps_b_c")
        spec = FunnelSpec.build(steps=names, window=window, order=order, by=by, top=top,
                                exclusions=[_parse_exclusion(e, len(names)) for e in exclude or []],
                                date_from=date_from, date_to=date_to, steps_in_range=steps_in_range or None,
                                repeat=repeat or None, interval=interval, filters=filters_of(where, segment),
                                **_parse_attribution(attribution))

    def dropped(res):
        users = res.dropped_after(dropped_after)
        if fmt == "csv":
            typer.echo(users.to_csv(index=False), nl=False)
        elif fmt == "json":
            emit({"kind": "funnel_dropped", "step": dropped_after, "step_name": spec.steps[dropped_after - 1],
                  "next_step": spec.steps[dropped_after], "count": len(users),
                  "users": users.to_dict(orient="records")}, "json")
        else:
            from ..reports.format import count
            from ..reports.i18n import say
            from .common import _Lang

            lang = _Lang.current()
            console.print(say("funnel.dropped_line", lang, n=count(len(users), lang), step=dropped_after,
                              name=spec.steps[dropped_after - 1], next=spec.steps[dropped_after]),
                          highlight=False, markup=False)
            print_rows([{k: v.strftime("%Y-%m-%d %H:%M:%S") if hasattr(v, "strftime") else str(v) for k, v in r.items()}
                        for r in users.head(50).to_dict(orient="records")])
            if len(users) > 50:
                console.print(say("funnel.dropped_more", lang, n=count(len(users) - 50, lang)),
                              highlight=False, markup=False)

    def table(res):
        if fmt != "table":
            emit(res, fmt)
            return
        from rich.markup import escape  # step names may carry a filter: purchase[event.revenue > 100]

        print_rows([{"name": f"{r['step']}. {escape(r['name'])}", "count": r["count"],
                     "conversion_from_start": r["conversion_from_start"],
                     "conversion_from_previous": r["conversion_from_previous"] if r["step"] > 1 else None,
                     "median_seconds_from_previous": r["median_seconds_from_previous"]}
                    for r in res.records()], escape(res.meta.get("title") or ""), analysis="funnel")
        for b in res.breakdown or []:
            print_rows([{"name": f"{s['step']}. {escape(s['name'])}", "count": s["count"],
                         "conversion_from_start": s["conversion_from_start"]} for s in b["steps"]],
                       escape(f"{spec.by} = {b['value']}"), analysis="funnel")
        over_time = res.over_time_rows()  # JSON-safe rows: no DataFrame built
        if over_time:
            print_rows([{k: (str(v) if k == "period" else v) for k, v in r.items()} for r in over_time],
                       "conversion by entry " + spec.interval, analysis="funnel")

    if dropped_after is not None and not 1 <= dropped_after < len(spec.steps):
        raise SpecError(key="analytics.dropped_after_needs_step", spec=len(spec.steps) - 1)
    run_spec(funnel, spec, workspace, events, engine, fmt, save,
         after=dropped if dropped_after is not None else table)


# ----------------------------------------------------------------------------- retention


@shared_options
def retention_cmd(
    ctx: typer.Context,
    start_event: Optional[str] = typer.Option(None, "--start-event", help="Event that puts a user in a cohort (default: any event)."),
    return_event: Optional[str] = typer.Option(None, "--return-event", help="Event that counts as coming back (default: any event)."),
    period: str = typer.Option("day", "--period", help="day, week or month."),
    periods: int = typer.Option(7, "--periods", help="Number of periods after the cohort period."),
    cohort: str = typer.Option("first-time", "--cohort", help="first-time (first-ever start event) or recurring."),
    on_or_after: bool = typer.Option(False, "--on-or-after", help="Count a return in period N or any later period (unbounded)."),
    brackets: Optional[str] = typer.Option(None, "--brackets", help="Custom period ranges, e.g. 1,2-7,8-30."),
    by: Optional[str] = typer.Option(None, "--by", help="Break down cohorts by a property of the start event, user.PROP "
                                     "(the user's current profile) or segment:A,B (side by side)."),
    top: int = typer.Option(10, "--top", help="Top N breakdown values; the rest are '(other)'."),
    value: Optional[str] = typer.Option(None, "--value", help="Also sum this property over return events (revenue, LTV)."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Cohort retention (留存分析): of the users who started in a period, how many came back."""
    if not (by or value or spec_file or where):
        store_first(events)
    from ..analyses.retention import RetentionSpec, retention

    spec = load_spec(ctx, RetentionSpec, spec_file)
    if spec is None:
        if not by:
            refuse(ctx, ["top"], Text("analytics.without_by"))
        if brackets:
            refuse(ctx, ["periods"], Text("analytics.with_brackets_brackets_are"))
        spec = RetentionSpec.build(
            start_event=start_event, return_event=return_event, period=period, periods=periods, cohort=cohort,
            mode="on_or_after" if on_or_after else None, brackets=brackets, by=by, top=top, value=value,
            date_from=date_from, date_to=date_to, filters=filters_of(where, segment))

    def table(res):
        if fmt != "table":
            emit(res, fmt)
            return
        if not spec.value:  # a cohort × period table as on the dashboard: week 0 to N, partial cells starred
            print_rows(res.records(), res.meta.get("title"), analysis="retention", spec=spec.model_dump(mode="json"))
            return
        rows = []
        for r in res.records():
            row = {"cohort": r["cohort"]}
            if spec.by:
                row[spec.by] = r.get("breakdown")
            row["size"] = r["size"]
            for lab, rate in zip(spec.labels[1:], r["rates"][1:]):
                row[period_label(lab)] = "" if rate is None else format_percent(rate)
            rows.append(row)
        print_rows(rows, res.meta.get("title"))

    run_spec(retention, spec, workspace, events, engine, fmt, save, after=table)


# ----------------------------------------------------------------------------- lifecycle


@shared_options
def lifecycle_cmd(
    ctx: typer.Context,
    event: Optional[str] = typer.Option(None, "--event", "-e", help="Activity event (default: any event)."),
    period: str = typer.Option("week", "--period", help="day, week or month."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Lifecycle: new, returning, resurrecting and dormant users per period."""
    from ..analyses.lifecycle import LifecycleSpec, lifecycle

    spec = load_spec(ctx, LifecycleSpec, spec_file) or LifecycleSpec.build(
        event=event, period=period, date_from=date_from, date_to=date_to, filters=filters_of(where, segment))
    run_spec(lifecycle, spec, workspace, events, engine, fmt, save)


# ----------------------------------------------------------------------------- stickiness & distributions


@shared_options
def stickiness_cmd(
    ctx: typer.Context,
    event: Optional[str] = typer.Option(None, "--event", "-e", help="Activity event (default: any event)."),
    period: str = typer.Option("week", "--period", help="week or month (days active per week/month, DAU/WAU or DAU/MAU)."),
    per_user: bool = typer.Option(False, "--per-user", help="Instead: histogram of events per user (分布分析)."),
    between: Optional[str] = typer.Option(None, "--between", help="Instead: time from event A to the next event B (间隔分析), as A,B."),
    window: Optional[str] = typer.Option(None, "--window", help="With --between: ignore intervals longer than this (e.g. 30d)."),
    first_only: bool = typer.Option(False, "--first-only", help="With --between: only each user's first A."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Stickiness: days active per week/month and DAU/MAU; --per-user: events per user; --between A,B: intervals."""
    if between and per_user:
        raise SpecError(key="analytics.give_only_one_per")
    if between:
        refuse(ctx, ["event", "period"], Text("analytics.with_between_intervals_run"))
    elif per_user:
        refuse(ctx, ["period", "window", "first_only"], Text("analytics.with_per_user"))
    else:
        refuse(ctx, ["window", "first_only"], Text("analytics.without_between"))
    if between:
        from ..analyses.intervals import IntervalsSpec, intervals

        pair = _split(between)
        if len(pair) != 2:
            raise SpecError(key="analytics.between_expects_two_events")
        spec = load_spec(ctx, IntervalsSpec, spec_file, allowed=("between",)) or IntervalsSpec.build(
            first_event=pair[0], then_event=pair[1], window=window, first_only=first_only or None,
            date_from=date_from, date_to=date_to, filters=filters_of(where, segment))
        return run_spec(intervals, spec, workspace, events, engine, fmt, save)
    if per_user:
        from ..analyses.distribution import DistributionSpec, distribution

        spec = load_spec(ctx, DistributionSpec, spec_file, allowed=("per_user",)) or DistributionSpec.build(
            event=event, date_from=date_from, date_to=date_to, filters=filters_of(where, segment))
        return run_spec(distribution, spec, workspace, events, engine, fmt, save)
    from ..analyses.stickiness import StickinessSpec, stickiness

    spec = load_spec(ctx, StickinessSpec, spec_file) or StickinessSpec.build(
        event=event, period=period, date_from=date_from, date_to=date_to, filters=filters_of(where, segment))

    def table(res):
        if fmt != "table":
            emit(res, fmt)
            return
        rows = [{k: v for k, v in r.items() if k != "days_active"} for r in res.records()]
        print_rows(rows, res.meta.get("title"), analysis="stickiness", spec=spec.model_dump(mode="json"))
        print_rows([{"days_active_n": r["days_active"], "users": r["users"]} for r in
                    res.to_dict()["histogram"]], f"stickiness.histogram_{spec.period}")

    run_spec(stickiness, spec, workspace, events, engine, fmt, save, after=table)


# ----------------------------------------------------------------------------- paths


@shared_options
def paths_cmd(
    ctx: typer.Context,
    event: Optional[str] = typer.Option(None, "--event", "-e", help="The event paths start from (or lead to)."),
    direction: str = typer.Option("after", "--direction", help="after (next events) or before (previous events)."),
    depth: int = typer.Option(3, "--depth", help="How many events away from the anchor."),
    min_share: float = typer.Option(0.01, "--min-share", help="Group events reached by fewer paths than this share as '(other)'."),
    no_collapse: bool = typer.Option(False, "--no-collapse", help="Keep repeats of the same event as separate steps."),
    max_gap: Optional[str] = typer.Option(None, "--max-gap", help="End a path at a pause longer than this (e.g. 30m)."),
    all_occurrences: bool = typer.Option(False, "--all-occurrences", help="A path from every occurrence, not only each user's first."),
    include_end: bool = typer.Option(False, "--include-end", help="Show paths that end as edges to '(end)'."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Paths (路径分析): the most common events after/before an event, as Sankey edges."""
    from ..analyses.paths import PathsSpec, paths

    spec = load_spec(ctx, PathsSpec, spec_file)
    if spec is None:
        if not event:
            raise SpecError(key="analytics.give_event_name_spec")
        spec = PathsSpec.build(event=event, direction=direction, depth=depth, min_share=min_share,
                               collapse_repeats=False if no_collapse else None, max_gap=max_gap,
                               all_occurrences=all_occurrences or None, include_end=include_end or None,
                               date_from=date_from, date_to=date_to, filters=filters_of(where, segment))
    run_spec(paths, spec, workspace, events, engine, fmt, save)


def register(app: typer.Typer) -> None:
    app.command("funnel")(funnel_cmd)
    app.command("retention")(retention_cmd)
    app.command("lifecycle")(lifecycle_cmd)
    app.command("stickiness")(stickiness_cmd)
    app.command("paths")(paths_cmd)
