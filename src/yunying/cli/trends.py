"""``yunying trends``: counts, unique users and property aggregates per period (事件分析) — one command,
with the two standard series ``--new-users [--by channel]`` and ``--revenue``."""
from __future__ import annotations

from typing import List, Optional

import typer

from ..errors import SpecError, Text
from .common import check_format, emit, load_spec, open_target, refuse, run_spec, shared_options

# What the two standard series take besides the range and the interval.
_STANDARD_NOT = ("event", "active", "measure", "prop", "formula", "compare", "top", "spec_file", "save")


@shared_options
def trends_cmd(
    ctx: typer.Context,
    event: Optional[List[str]] = typer.Option(None, "--event", "-e", help="Event to count (repeat for several series A, B, …)."),
    active: bool = typer.Option(False, "--active", help="Count any event (active users); with --event: one more series."),
    measure: Optional[List[str]] = typer.Option(None, "--measure", "-m",
                                                help="count, users, per_user, sum, avg, min, max, median, p50, p90, p95, p99 (one, or one per series)."),
    prop: Optional[List[str]] = typer.Option(None, "--property", "-p", help="Property for sum/avg/min/max/percentiles (one, or one per series)."),
    formula: Optional[str] = typer.Option(None, "--formula", help="Combine series by letter, e.g. A/B (purchases per active user)."),
    compare: bool = typer.Option(False, "--compare", help="Also the previous range of the same length (previous_value, change)."),
    interval: str = typer.Option("day", "--interval", "-i", help="day, week or month."),
    by: Optional[str] = typer.Option(None, "--by", help="Break down by an event property, user.PROP (the user's current "
                                     "profile) or segment:A,B (side by side)."),
    where: Optional[List[str]] = typer.Option(None, "--where", help="Only events where EXPR holds (repeatable; all must "
                                              "hold; docs/users.md#filter-language)."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Only events of the members of this segment."),
    top: int = typer.Option(20, "--top", help="Keep the top N breakdown values."),
    new_users_: bool = typer.Option(False, "--new-users", help="New users (first signup); --by channel = first-touch "
                                    "channel; other --by / --where read the first signup event."),
    revenue_: bool = typer.Option(False, "--revenue", help="Revenue, paying users and purchases of purchase events "
                                  "(--by / --where read the purchase events)."),
    metric_: Optional[str] = typer.Option(None, "--metric", help="A named metric of the workspace (yunying metrics), "
                                          "e.g. gmv or pay_rate, per --interval; with --by, --where, --segment."),
    *, date_from, date_to, spec_file, save, workspace, events, engine, fmt,
):
    """Counts, unique users, property sums/averages/percentiles per day/week/month (事件分析).

    Several --event options make series A, B, … to combine with --formula; --compare adds the
    previous period. Also the two standard series: --new-users [--by channel] and --revenue.
    """
    from ..analyses.trends import TrendsSpec, trends

    check_format(fmt)
    filters = list(where or []) + ([segment_filter(segment)] if segment else [])
    if metric_ is not None:
        from ..analyses.metrics import MetricSpec, metric

        if new_users_ or revenue_:
            raise SpecError(key="trends.give_only_one_metric")
        refuse(ctx, ("event", "active", "measure", "prop", "formula", "compare", "top", "spec_file"),
                Text("trends.with_metric_named_metric"))
        spec = MetricSpec.build(metric=metric_, interval=interval, by=by, date_from=date_from, date_to=date_to,
                                filters=filters or None)
        return run_spec(metric, spec, workspace, events, engine, fmt, save)
    if new_users_ or revenue_:
        return _standard_series(ctx, new_users_, revenue_, by, filters, interval, date_from, date_to,
                                workspace, events, engine, fmt)
    spec = load_spec(ctx, TrendsSpec, spec_file)
    if spec is None:
        if not by:
            refuse(ctx, ["top"], Text("analytics.without_by"))
        spec = TrendsSpec.from_cli(events=event, active=active, measures=measure, properties=prop, formula=formula,
                                   compare=compare or None, interval=interval, by=by, top=top,
                                   date_from=date_from, date_to=date_to, filters=filters or None)
    run_spec(trends, spec, workspace, events, engine, fmt, save)


def segment_filter(name: str) -> dict:
    """``--segment NAME`` as a filter tree (``segment = 'NAME'``), so a spec carries it as JSON."""
    from ..model import filters as F

    return F.to_json(F.Condition(F.Field("segment"), "=", F.Value("string", name)))


def _standard_series(ctx, new_users_: bool, revenue_: bool, by, filters, interval, date_from, date_to,
                     workspace, events, engine, fmt) -> None:
    """``--new-users`` or ``--revenue``: fixed series, so most trends options do not apply. ``--by channel`` on
    new users is the first-touch channel; any other ``--by`` and the filters read the first signup event
    (new users) or the purchase events (revenue), or the user (``user.PROP``, ``segment``)."""
    from ..analyses.table import Columns
    from ..analyses.users import new_users, revenue

    if new_users_ and revenue_:
        raise SpecError(key="trends.give_only_one_new")
    flag = "--new-users" if new_users_ else "--revenue"
    refuse(ctx, _STANDARD_NOT, Text("trends.with_fixed_series", flag=flag))
    with open_target(workspace, events, engine=engine) as ws:
        if new_users_:
            res = new_users(ws.engine, interval=interval, by_channel=by == "channel",
                            by=by if by not in (None, "channel") else None, date_from=date_from, date_to=date_to,
                            filters=filters or None)
            cols = {("value" if k == "new_users" else k): v for k, v in res.table.data.items()}
            if by == "channel":
                cols["breakdown"] = cols["channel"]
        else:
            res = revenue(ws.engine, interval=interval, by=by, date_from=date_from, date_to=date_to,
                          filters=filters or None)
            cols = dict(res.table.data)
            at = 1 + ("breakdown" in cols)
            cols = dict([*list(cols.items())[:at], ("value", cols["revenue"]), *list(cols.items())[at:]])
        res.frame = Columns(cols)
    emit(res, fmt)


def register(app: typer.Typer) -> None:
    app.command("trends")(trends_cmd)
