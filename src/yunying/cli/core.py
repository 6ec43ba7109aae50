"""Core commands: init, import, info, optimize, trends, demo."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .common import (EventsOpt, FormatOpt, WorkspaceOpt, check_format, console, emit, err_console,
                     open_target, parse_mapping, print_rows)

import_app = typer.Typer(help="Import events, spend or identity files into a workspace.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _print_report(rep, fmt: str = "table") -> None:
    if fmt == "json":
        emit(rep.to_dict(), "json")
        return
    console.print(
        f"{rep.kind}: {rep.rows_read:,} rows read from {len(rep.files)} file(s), {rep.rows_added:,} added, "
        f"{rep.duplicates:,} already present" + (f", {rep.identities_added:,} identities merged" if rep.identities_added else "")
        + (f" ({rep.seconds:.1f}s)" if rep.seconds else "")
    )
    for m in rep.messages:
        console.print(f"note: {m}")


def _via_server(workspace: Optional[Path], kind: str, files: List[str], mapping: dict | None, fmt: str) -> bool:
    """When `yunying serve` owns the workspace, import through it (all files in one transaction)."""
    from ..server.client import ServerClient, running_server
    from ..storage.workspace import ImportReport
    from ..model.ingest import expand_paths

    info = running_server(workspace or Path("."))
    if not info:
        return False
    client = ServerClient(info)
    paths = expand_paths(files)
    err_console.print(f"workspace is served by yunying serve (pid {info.get('pid')}): importing through it, "
                      f"all files in one transaction")
    data = client.import_files(kind, paths, mapping)["report"]
    _print_report(ImportReport(**data), fmt)
    return True


@import_app.command("events")
def import_events(
    files: List[str] = typer.Argument(..., help="CSV, Parquet or JSON Lines files (globs and .gz allowed)."),
    workspace: Optional[Path] = WorkspaceOpt,
    map_: Optional[List[str]] = typer.Option(None, "--map", help="Column mapping NAME=COLUMN, e.g. user_id=member_no."),
    fmt: str = typer.Option("table", "--format", "-f"),
):
    """Import event files. All or nothing; re-importing the same events changes nothing."""
    from ..storage.workspace import Workspace

    if _via_server(workspace, "events", files, parse_mapping(map_), fmt):
        return
    with Workspace.open(workspace or Path(".")) as ws, _progress() as prog:
        task = prog.add_task("importing events", total=len(files))
        rep = ws.import_events(files, mapping=parse_mapping(map_),
                               progress=lambda stage: prog.update(task, description=stage,
                                                                  advance=stage.startswith("reading ")))
        prog.update(task, completed=len(files))
    _print_report(rep, fmt)


@import_app.command("spend")
def import_spend(
    files: List[str] = typer.Argument(..., help="Spend files: date, channel, campaign, placement, cost, …"),
    workspace: Optional[Path] = WorkspaceOpt,
    map_: Optional[List[str]] = typer.Option(None, "--map", help="Column mapping NAME=COLUMN."),
    fmt: str = typer.Option("table", "--format", "-f"),
):
    """Import ad/channel spend. A row replaces the stored row with the same date/channel/campaign/placement."""
    from ..storage.workspace import Workspace

    if _via_server(workspace, "spend", files, parse_mapping(map_), fmt):
        return
    with Workspace.open(workspace or Path(".")) as ws:
        rep = ws.import_spend(files, mapping=parse_mapping(map_))
    _print_report(rep, fmt)


@import_app.command("identities")
def import_identities(
    files: List[str] = typer.Argument(..., help="Files with distinct_id and user_id columns."),
    workspace: Optional[Path] = WorkspaceOpt,
    fmt: str = typer.Option("table", "--format", "-f"),
):
    """Merge anonymous ids into users (identify/alias)."""
    from ..storage.workspace import Workspace

    if _via_server(workspace, "identities", files, None, fmt):
        return
    with Workspace.open(workspace or Path(".")) as ws:
        rep = ws.import_identities(files)
    _print_report(rep, fmt)


def init(
    directory: Path = typer.Argument(Path("."), help="Folder to create the workspace in."),
    timezone: str = typer.Option("UTC", "--timezone", help="Time zone for day boundaries, e.g. Asia/Shanghai."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (embedded) or spark."),
    import_timezone: Optional[str] = typer.Option(
        None, "--import-timezone", help="Zone of imported timestamps that have no offset (default: --timezone)."),
):
    """Create a workspace: yunying.toml plus an embedded DuckDB database."""
    from ..config import WorkspaceConfig
    from ..errors import ConfigError
    from ..storage.workspace import Workspace
    from pydantic import ValidationError

    try:
        # Files from a team in one zone usually carry local times without an offset: read them in that zone too.
        cfg = WorkspaceConfig(name=directory.resolve().name or "yunying", timezone=timezone, engine=engine,
                              import_timezone=import_timezone or timezone)
    except ValidationError as exc:
        raise ConfigError(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    Workspace.init(directory, cfg).close()
    console.print(f"Created workspace in {directory} (yunying.toml, yunying.duckdb). "
                  f"Next: yunying import events FILE --workspace {directory}")


def info(workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """What a workspace holds."""
    from ..analyses.store import status

    with open_target(workspace) as ws:
        data = {"workspace": str(ws.path), "engine": ws.config.engine, "timezone": ws.config.timezone,
                **ws.counts(), "clustered": ws.clustered, "sequence_store": status(ws)}
    rows = [{"setting": k, "value": v} for k, v in data.items()]
    if check_format(fmt) == "table":
        print_rows(rows, "workspace (times in UTC)")
    else:
        emit(data if fmt == "json" else {"rows": rows}, fmt)


def optimize(workspace: Optional[Path] = WorkspaceOpt):
    """Re-cluster events by user and time (after many incremental imports)."""
    from ..errors import YunyingError
    from ..server.client import running_server
    from ..storage.workspace import Workspace

    info = running_server(workspace or Path("."))
    if info:
        raise YunyingError(f"the workspace is served by yunying serve (pid {info.get('pid')}); the server keeps "
                           f"events clustered itself — stop it to run optimize by hand")
    from ..analyses import store

    with Workspace.open(workspace or Path(".")) as ws, _progress() as prog:
        task = prog.add_task("sorting events", total=None)
        ws.optimize(lambda stage: prog.update(task, description=stage))
        state, rows = store.status(ws), store.fingerprint(ws)[1]
    note = ("sequence store rebuilt" if state == "fresh" else
            f"no sequence store below {store.MIN_ROWS:,} events: analyses read the database directly"
            if rows < store.MIN_ROWS else "the sequence store could not be built: analyses read the database "
            "directly (events without a user, time or event name?)")
    console.print(f"events re-clustered by (user_id, ts); {note}")


def trends_cmd(
    workspace: Optional[Path] = WorkspaceOpt,
    events: Optional[Path] = EventsOpt,
    event: Optional[str] = typer.Option(None, "--event", "-e", help="Event to count."),
    active: bool = typer.Option(False, "--active", help="Count any event (active users)."),
    measure: str = typer.Option("count", "--measure", "-m", help="count, users, per_user, sum, avg, min, max, median."),
    prop: Optional[str] = typer.Option(None, "--property", "-p", help="Property for sum/avg/min/max/median."),
    interval: str = typer.Option("day", "--interval", "-i", help="day, week or month."),
    by: Optional[str] = typer.Option(None, "--by", help="Break down by a property."),
    top: int = typer.Option(20, "--top", help="Keep the top N breakdown values."),
    date_from: Optional[str] = typer.Option(None, "--from", help="First day (inclusive, workspace time zone)."),
    date_to: Optional[str] = typer.Option(None, "--to", help="Last day (inclusive)."),
    new_users_: bool = typer.Option(False, "--new-users", help="New users (first signup); --by channel = first-touch channel."),
    revenue_: bool = typer.Option(False, "--revenue", help="Revenue, paying users and purchases of purchase events."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Override the workspace engine (duckdb|spark)."),
    fmt: str = FormatOpt,
):
    """Counts, unique users or property aggregates per day/week/month (事件分析).

    Also the two standard series: --new-users [--by channel] and --revenue.
    """
    from ..analyses.trends import TrendsSpec, trends

    check_format(fmt)
    if new_users_ or revenue_:
        from ..analyses.users import new_users, revenue
        from ..errors import SpecError

        if new_users_ and revenue_:
            raise SpecError("give only one of --new-users and --revenue")
        if new_users_ and by not in (None, "channel"):
            raise SpecError("--new-users can only be broken down --by channel (first-touch channel)")
        with open_target(workspace, events, engine=engine) as ws:
            if new_users_:
                res = new_users(ws.engine, interval=interval, by_channel=by == "channel",
                                date_from=date_from, date_to=date_to)
                res.frame = res.frame.rename(columns={"new_users": "value"})
                if by:
                    res.frame["breakdown"] = res.frame["channel"]
            else:
                res = revenue(ws.engine, interval=interval, date_from=date_from, date_to=date_to)
                res.frame.insert(1, "value", res.frame["revenue"])
        emit(res, fmt)
        return
    spec = TrendsSpec.build(event=event, active=active or None, measure=measure, property=prop, interval=interval,
                            by=by, top=top, date_from=date_from, date_to=date_to)
    with open_target(workspace, events, engine=engine) as ws:
        res = trends(ws.engine, spec)
    emit(res, fmt)


def overview_cmd(
    workspace: Optional[Path] = WorkspaceOpt,
    events: Optional[Path] = EventsOpt,
    week: Optional[str] = typer.Option(None, "--week", help="Monday of the reference week (default: last complete week)."),
    activation_hours: int = typer.Option(24, "--activation-hours", help="Activation window after signup."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write the overview as an HTML page."),
    xlsx_out: Optional[Path] = typer.Option(None, "--xlsx", help="Also write the overview as an Excel workbook."),
    engine: Optional[str] = typer.Option(None, "--engine", help="Override the workspace engine (duckdb|spark)."),
    fmt: str = FormatOpt,
):
    """拉新 / 促活 / 留存 / revenue headline figures, week over week."""
    from ..analyses.overview import OverviewSpec, overview
    from ..reports.overview import print_overview, write_overview_html, write_overview_xlsx

    check_format(fmt)
    spec = OverviewSpec.build(week=week, activation_hours=activation_hours)
    with open_target(workspace, events, engine=engine) as ws:
        res = overview(ws.engine, spec)
        if html_out:
            write_overview_html(ws.engine, res, html_out)
        if xlsx_out:
            write_overview_xlsx(res, xlsx_out)
    if fmt == "table":
        print_overview(res.to_dict(), console)
    else:
        emit(res, fmt)


def demo(
    directory: Path = typer.Option(Path("yunying-demo"), "--dir", help="Folder for the data and workspace."),
    users: int = typer.Option(50_000, "--users", help="Number of users to generate."),
    seed: int = typer.Option(7, "--seed", help="Random seed."),
    days: int = typer.Option(90, "--days", help="Days of data."),
    fmt: str = FormatOpt,
):
    """Generate a realistic app dataset, import it, and print an operations overview (overview.html)."""
    from ..demo.run import run_demo

    check_format(fmt)
    with _progress() as prog:
        task = prog.add_task("generating data", total=None)

        def step(desc, done=None, total=None):
            prog.update(task, description=desc, completed=done, total=total)

        overview = run_demo(directory, users=users, seed=seed, days=days, progress=step)
    if fmt == "json":
        emit(overview, "json")
        return
    from ..reports.overview import print_overview

    print_overview(overview, console)
    console.print(f"\nData, workspace and report in {directory}/ — open {directory}/overview.html")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(import_app, name="import")
    app.command("info")(info)
    app.command("optimize")(optimize)
    app.command("trends")(trends_cmd)
    app.command("overview")(overview_cmd)
    app.command("demo")(demo)
