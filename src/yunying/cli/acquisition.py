"""Acquisition commands (拉新): channels, placements, budget, attribution."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..errors import YunyingError
from ..reports.columns import text_value
from ..reports.format import money
from ..reports.i18n import label, say
from .common import FormatOpt, WorkspaceOpt, _Lang, check_format, options_from, console, emit, open_target, print_rows
from .analytics import filters_of, segment_option, where_option

ATTR_HELP = "Attribution model: first (default), last (non-direct), linear, time_decay, position (40/20/40), markov."
FromOpt = typer.Option(None, "--from", help="First signup day (inclusive, workspace time zone).")
ToOpt = typer.Option(None, "--to", help="Last signup day (inclusive).")
AttrOpt = typer.Option("first", "--attribution", "-a", help=ATTR_HELP)
LookbackOpt = typer.Option(None, "--lookback-days", help="Touches at most this many days before signup count (30).")
HalfLifeOpt = typer.Option(None, "--half-life-days", help="Half-life of the time_decay model in days (7).")
MapOpt = typer.Option(None, "--map", help="Map a touch's channel key to the spend table's channel: utm_source=channel "
                                          "(e.g. --map baidu=search); repeatable.")
EngineOpt = typer.Option(None, "--engine", help="Override the workspace engine (duckdb|spark).")
# The options the acquisition commands share, declared once (see common.options_from).
ACQUISITION_OPTIONS = {
    "workspace": (Optional[Path], WorkspaceOpt), "attribution": (str, AttrOpt),
    "date_from": (Optional[str], FromOpt), "date_to": (Optional[str], ToOpt),
    "lookback": (Optional[int], LookbackOpt), "half_life": (Optional[float], HalfLifeOpt),
    "map_": (Optional[List[str]], MapOpt), "engine": (Optional[str], EngineOpt), "fmt": (str, FormatOpt),
}
acquisition_options = options_from(ACQUISITION_OPTIONS)

# The table view shows the key columns; --format json/csv has every column.
CHANNEL_COLUMNS = ["spend", "registrations", "cost_per_registration", "paying_users", "cost_per_paying_user",
                   "revenue", "roas", "payback_days", "verdict"]
PLACEMENT_COLUMNS = ["rank", "channel", "placement", "spend", "registrations", "paying_users",
                     "cost_per_paying_user", "cac_low", "cac_high", "verdict", "leak_stage"]
BUDGET_COLUMNS = ["channel", "current_daily_spend", "proposed_daily_spend", "expected_paying_users",
                  "expected_cost_per_paying_user", "marginal_cost_per_paying_user_now",
                  "marginal_cost_per_paying_user_proposed", "extrapolated"]


def _channel_map(items: Optional[List[str]]) -> dict[str, str]:
    out = {}
    for item in items or []:
        if "=" not in item:
            raise YunyingError(key="acquisition.map_expects_source_channel", item=item)
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _common(attribution, date_from, date_to, lookback, half_life, map_) -> dict:
    return dict(attribution=attribution, date_from=date_from, date_to=date_to, lookback_days=lookback,
                half_life_days=half_life, channel_map=_channel_map(map_) or None)


def _notes(data: dict) -> None:
    lang = _Lang.current()
    for w in data.get("warnings") or []:
        console.print(f"[yellow]{label('warning', lang)}{label('sep.colon', lang).rstrip()}[/] {text_value(w, lang)}",
                      highlight=False)


@acquisition_options
def channels_cmd(
    *, workspace,
    by: str = typer.Option("channel", "--by", help="channel, campaign or placement."),
    attribution, date_from, date_to,
    interval: Optional[str] = typer.Option(None, "--interval", "-i", help="Split by day, week or month of signup/spend."),
    lookback, half_life, map_, engine, fmt,
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
):
    """Spend, registrations, cost per registration, paying users, CAC, revenue, ROAS, payback per channel."""
    from ..analyses.acquisition import BY_COLUMNS, ChannelsSpec, channels
    from ..reports import acquisition as R

    check_format(fmt)
    spec = ChannelsSpec.build(by=by, interval=interval, filters=filters_of(where, segment),
                              **_common(attribution, date_from, date_to, lookback, half_life, map_))
    with open_target(workspace, engine=engine) as ws:
        res = channels(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return
    data = res.to_dict()
    keys = (["period"] if spec.interval else []) + BY_COLUMNS[spec.by]
    print_rows(data["rows"], f"{data['title']} — {data['currency']}", keys + CHANNEL_COLUMNS)
    t = data.get("totals") or {}
    if t:
        console.print(R.totals_line(t, data["currency"], _Lang.current()), highlight=False)
    _notes(data)


@acquisition_options
def placements_cmd(
    *, workspace,
    channel: Optional[str] = typer.Option(None, "--channel", help="Only this channel's placements."),
    attribution, date_from, date_to, lookback, half_life, map_,
    leak_threshold: Optional[float] = typer.Option(None, "--leak-threshold",
                                                   help="Flag a stage below this share of the channel median (0.67)."),
    engine, fmt,
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
):
    """The placement funnel: exposure → read → click → registration → purchase, leaks and CAC ranking."""
    from ..analyses.acquisition import PlacementsSpec, placements
    from ..reports import acquisition as R

    check_format(fmt)
    spec = PlacementsSpec.build(channel=channel, leak_threshold=leak_threshold, filters=filters_of(where, segment),
                                **_common(attribution, date_from, date_to, lookback, half_life, map_))
    with open_target(workspace, engine=engine) as ws:
        res = placements(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return
    data = res.to_dict()
    print_rows(data["rows"], f"{data['title']} — {data['currency']}", PLACEMENT_COLUMNS)
    for r in data["rows"]:
        if r.get("leak_stage"):
            console.print(R.leak_line(r, _Lang.current()), highlight=False)
    console.print(R.benchmark_line(data.get("benchmark_cac"), data["currency"], _Lang.current()), highlight=False)
    _notes(data)


@acquisition_options
def budget_cmd(
    *, workspace,
    total: Optional[float] = typer.Option(None, "--total", help="Budget to allocate over --days (default: the "
                                                                 "current spend rate of the modelled channels)."),
    days: int = typer.Option(30, "--days", help="Days the budget covers."),
    objective: str = typer.Option("paying_users", "--objective", help="paying_users or registrations."),
    curve: str = typer.Option("log", "--curve", help="Response curve: log or hill."),
    channel: Optional[List[str]] = typer.Option(None, "--channel", help="Only these channels (repeatable)."),
    max_scale: Optional[float] = typer.Option(None, "--max-scale", help="Cap a channel's daily spend at this multiple "
                                                                         "of its largest observed day (3)."),
    attribution,
    date_from: Optional[str] = typer.Option(None, "--from", help="First spend day used to fit the curves."),
    date_to: Optional[str] = typer.Option(None, "--to", help="Last spend day used to fit the curves."),
    lookback, half_life, map_,
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the uncertainty simulation."),
    engine, fmt,
    where: Optional[List[str]] = typer.Option(None, "--where", help="Count only the registrations / paying users "
                                              "whose events pass EXPR (repeatable; spend is never filtered; "
                                              "docs/users.md#where-each-filter-applies)."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Count only this segment's members (spend is "
                                          "never filtered)."),
):
    """Response curves per channel and where to put the next budget (a model estimate)."""
    from ..analyses.acquisition import BudgetSpec, budget
    from ..reports import acquisition as R

    check_format(fmt)
    spec = BudgetSpec.build(total=total, days=days, objective=objective, curve=curve, channels=channel or None,
                            max_scale=max_scale, seed=seed, filters=filters_of(where, segment),
                            **_common(attribution, date_from, date_to, lookback, half_life, map_))
    with open_target(workspace, engine=engine) as ws:
        res = budget(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return
    data = res.to_dict()
    cur = data["currency"]
    lang, s = _Lang.current(), data["summary"]
    print_rows(data["rows"], say("budget.title", lang, total=money(s["total"], cur, lang), days=s["days"]), BUDGET_COLUMNS)
    for line in R.budget_sentences(s, cur, lang):
        console.print(line, highlight=False)
    for r in data["rows"]:
        if r.get("note"):
            console.print(f"{label('note', lang)} {r['channel']}: {text_value(r['note'], lang)}", highlight=False)
    _notes(data)


@acquisition_options
def attribution_cmd(
    *, workspace,
    by: str = typer.Option("channel", "--by", help="channel, campaign or placement."),
    model: Optional[List[str]] = typer.Option(None, "--model", "-m", help="Models to compare (default: all)."),
    date_from, date_to, lookback, half_life, map_, engine, fmt,
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
):
    """Registrations and revenue credited to each channel under each attribution model, side by side."""
    from ..analyses.acquisition import BY_COLUMNS, AttributionSpec, attribution

    check_format(fmt)
    spec = AttributionSpec.build(by=by, models=model or None, date_from=date_from, date_to=date_to,
                                 lookback_days=lookback, half_life_days=half_life,
                                 channel_map=_channel_map(map_) or None, filters=filters_of(where, segment))
    with open_target(workspace, engine=engine) as ws:
        res = attribution(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return
    data = res.to_dict()
    keys = BY_COLUMNS[spec.by]
    print_rows(data["rows"], say("attr.title", _Lang.current(), by=label(f"col.{spec.by}", _Lang.current())),
               keys + [f"registrations_{m}" for m in data["models"]])


def register(app: typer.Typer) -> None:
    app.command("channels")(channels_cmd)
    app.command("placements")(placements_cmd)
    app.command("budget")(budget_cmd)
    app.command("attribution")(attribution_cmd)
