"""Core commands: init, import, info, optimize, overview, demo."""
from __future__ import annotations

import re
from pathlib import Path
from typing import List, Optional

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from .common import (FormatOpt, WorkspaceOpt, check_format, console, emit, err_console, open_target, parse_mapping,
                     print_rows, shared_options, _Lang)
from .analytics import filters_of, segment_option, where_option
from ..errors import Said, Text, YunyingError
from ..reports.error_text import say_text
from ..reports.format import count, human_duration
from ..reports.i18n import label, phrase, say

import_app = typer.Typer(help="Import events, spend, identity or user profile files into a workspace.",
                         no_args_is_help=True)


def _progress() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                    console=err_console, transient=True)


def _stage(stage, lang: str) -> str:
    """A progress stage in the reader's language (storage tells it as a catalogue sentence; English otherwise)."""
    text = getattr(stage, "text", None)
    return say_text(text, lang) if isinstance(text, Text) else str(stage)


def _print_report(rep, fmt: str = "table") -> None:
    if fmt == "json":
        emit(rep.to_dict(), "json")
        return
    lang = _Lang.current()
    took = f"{label('sep.open', lang)}{human_duration(rep.seconds, lang)}{label('sep.close', lang)}" if rep.seconds else ""
    if rep.kind == "users":
        console.print(say("import.users_done", lang, read=f"{rep.rows_read:,}", files=len(rep.files),
                          changed=f"{rep.rows_added:,}") + took, highlight=False)
    else:
        kind = label(f"import.kind.{rep.kind.replace('-', '_')}", lang)
        console.print(say("import.done", lang, kind=kind, read=f"{rep.rows_read:,}", files=len(rep.files),
                          added=f"{rep.rows_added:,}", present=f"{rep.duplicates:,}")
                      + (", " + say("import.identities_merged", lang, n=f"{rep.identities_added:,}")
                         if rep.identities_added else "") + took, highlight=False)
    for m in rep.said():  # a catalogue sentence in the reader's language; an older server's text by phrases
        text = say_text(m, lang) if isinstance(m, Text) else _import_note(m, lang)
        console.print(f"{label('note', lang)}{label('sep.colon', lang)}{text}", highlight=False, markup=False)


_NEAR = re.compile(r"event names that differ only in case or separators are different events: (.*); "
                   r"if they are one event, give them one name in the files")
_NEAR_NAME = re.compile(r"('(?:[^'\\]|\\.)*'|\"[^\"]*\") \(([\d,]+) events?(, stored before)?\)")


def _import_note(message: str, lang: str) -> str:
    """An import's note in ``lang``: the near-duplicate event names warning rebuilt from its parts, others by phrase."""
    near = _NEAR.fullmatch(message)
    if not near or lang == "en":
        return phrase(message, lang)
    names = [f"{n}（{say('import.n_events', lang, n=c)}{'，' + label('import.stored_before', lang) if before else ''}）"
             for n, c, before in _NEAR_NAME.findall(near.group(1))]
    return say("import.near_duplicates", lang, names="、".join(names))


def _via_server(workspace: Optional[Path], kind: str, files: List[str], mapping: dict | None, fmt: str,
                once: bool = False, read=None) -> bool:
    """When `yunying serve` owns the workspace, import through it (all files in one transaction)."""
    from ..server.client import ServerClient, running_server
    from ..storage.workspace import ImportReport
    from ..model.ingest import expand_paths

    info = running_server(workspace or Path("."))
    if not info:
        return False
    client = ServerClient(info)
    paths = expand_paths(files)
    from ..reports.i18n import say

    err_console.print(say("cli.import_via_server", _Lang.current(), pid=info.get("pid")), highlight=False)
    data = client.import_files(kind, paths, mapping, once=once, read=read)["report"]
    _print_report(ImportReport(**data), fmt)
    return True


ImportFormatOpt = typer.Option("table", "--format", "-f")
SheetOpt = typer.Option(None, "--sheet", help="Excel files: the sheet to read, by name or number (default: the first).")
EncodingOpt = typer.Option(None, "--encoding", help="Text files: their encoding, e.g. gbk, gb18030, big5 "
                                                    "(default: UTF-8, else GB18030 — detected).")
DelimiterOpt = typer.Option(None, "--delimiter", help="Text files: the column delimiter — , tab ; | or whitespace "
                                                      "(default: detected).")
FILES_HELP = "CSV/TSV/text, Parquet, JSON Lines or Excel .xlsx files (globs and .gz allowed)."


def _read_options(sheet=None, encoding=None, delimiter=None, event=None):
    from ..model.readers import ReadOptions

    if sheet is None and encoding is None and delimiter is None and event is None:
        return None
    return ReadOptions(sheet=sheet, encoding=encoding, delimiter=delimiter, event=event)


def _files_read(stage) -> int:
    """How many files a progress stage of an import starts reading (the bar's advance)."""
    text = getattr(stage, "text", None)
    if text is None:
        return 0
    return {"import.stage.reading": 1, "import.stage.reading_files": int(text.params.get("n", 0))}.get(text.key, 0)


def _files_total(files: List[str]) -> int:
    """The bar's total: the files the import reads (a glob or folder as the files it stands for; a pattern that
    matches nothing counts 1, and the import names it)."""
    from ..model.ingest import expand_paths

    total = 0
    for pattern in files:
        try:
            total += len(expand_paths([pattern]))
        except YunyingError:
            total += 1
    return total


def _import(kind: str, files: List[str], workspace: Optional[Path], mapping: dict | None, fmt: str,
            once: bool = False, read=None) -> None:
    """Import through a running server when there is one, else into the workspace (all or nothing)."""
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)
    from ..storage.imports import import_files

    if _Lang.workspace is None:  # the report in the workspace's language when no --lang says otherwise
        from .help_i18n import _workspace_lang

        _Lang.workspace = _workspace_lang(["-w", str(workspace or Path("."))])
    if _via_server(workspace, kind, files, mapping, fmt, once, read):
        return
    with Workspace.open(workspace or Path(".")) as ws:
        if kind != "events":
            rep = import_files(ws, kind, files, mapping=mapping, once=once, read=read)
        else:  # a bar: file by file, then storing, sorting and the sequence store
            lang = _Lang.current()
            with _progress() as prog:
                total = _files_total(files)
                task = prog.add_task(label("import.stage.importing", lang), total=total)
                rep = import_files(ws, kind, files, mapping=mapping, read=read,
                                   progress=lambda stage: prog.update(
                                       task, description=_stage(stage, lang), advance=_files_read(stage)))
                prog.update(task, completed=total)
    _print_report(rep, fmt)


@import_app.command("events")
def import_events(
    files: List[str] = typer.Argument(..., help=FILES_HELP),
    workspace: Optional[Path] = WorkspaceOpt,
    map_: Optional[List[str]] = typer.Option(None, "--map", help="Column mapping NAME=COLUMN, e.g. user_id=member_no."),
    event: Optional[str] = typer.Option(None, "--event", help="The event of every row, for files without an event "
                                                              "column (an order table: --event purchase)."),
    sheet: Optional[str] = SheetOpt, encoding: Optional[str] = EncodingOpt, delimiter: Optional[str] = DelimiterOpt,
    fmt: str = ImportFormatOpt,
):
    """Import event files. All or nothing; re-importing the same events changes nothing."""
    _import("events", files, workspace, parse_mapping(map_), fmt, read=_read_options(sheet, encoding, delimiter, event))


@import_app.command("spend")
def import_spend(
    files: List[str] = typer.Argument(..., help="Spend files (CSV, Excel .xlsx …): date, channel, campaign, placement, "
                                                "cost, …"),
    workspace: Optional[Path] = WorkspaceOpt,
    map_: Optional[List[str]] = typer.Option(None, "--map", help="Column mapping NAME=COLUMN."),
    sheet: Optional[str] = SheetOpt, encoding: Optional[str] = EncodingOpt, delimiter: Optional[str] = DelimiterOpt,
    fmt: str = ImportFormatOpt,
):
    """Import ad/channel spend. A row replaces the stored row with the same date/channel/campaign/placement."""
    _import("spend", files, workspace, parse_mapping(map_), fmt, read=_read_options(sheet, encoding, delimiter))


@import_app.command("identities")
def import_identities(
    files: List[str] = typer.Argument(..., help="Files with distinct_id and user_id columns."),
    workspace: Optional[Path] = WorkspaceOpt,
    sheet: Optional[str] = SheetOpt, encoding: Optional[str] = EncodingOpt, delimiter: Optional[str] = DelimiterOpt,
    fmt: str = ImportFormatOpt,
):
    """Merge anonymous ids into users (identify/alias)."""
    _import("identities", files, workspace, None, fmt, read=_read_options(sheet, encoding, delimiter))


@import_app.command("users")
def import_users(
    files: List[str] = typer.Argument(..., help="CSV, Parquet, JSON Lines or Excel .xlsx files: a user id column and "
                                                "property columns."),
    workspace: Optional[Path] = WorkspaceOpt,
    map_: Optional[List[str]] = typer.Option(None, "--map", help="Column mapping, e.g. user_id=member_no."),
    once: bool = typer.Option(False, "--once", help="Set once: only fill properties a user does not have yet."),
    sheet: Optional[str] = SheetOpt, encoding: Optional[str] = EncodingOpt, delimiter: Optional[str] = DelimiterOpt,
    fmt: str = ImportFormatOpt,
):
    """Import user profile properties (current values). All or nothing; re-importing changes nothing."""
    _import("users", files, workspace, parse_mapping(map_), fmt, once, _read_options(sheet, encoding, delimiter))


def init(
    directory: Path = typer.Argument(Path("."), help="Folder to create the workspace in."),
    timezone: str = typer.Option("UTC", "--timezone", help="Time zone for day boundaries, e.g. Asia/Shanghai."),
    engine: str = typer.Option("duckdb", "--engine", help="duckdb (embedded) or spark."),
    import_timezone: Optional[str] = typer.Option(
        None, "--import-timezone", help="Zone of imported timestamps that have no offset (default: --timezone)."),
    currency: str = typer.Option("CNY", "--currency", help="Currency of revenue and spend (e.g. CNY, USD, TWD)."),
    lang: str = typer.Option("en", "--lang", help="Language of tables and reports: en, zh-Hans or zh-Hant."),
):
    """Create a workspace: yunying.toml plus an embedded DuckDB database."""
    from ..config import WorkspaceConfig
    from ..errors import ConfigError, problems
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)
    from pydantic import ValidationError

    try:
        # Files from a team in one zone usually carry local times without an offset: read them in that zone too.
        cfg = WorkspaceConfig(name=directory.resolve().name or "yunying", timezone=timezone, engine=engine,
                              import_timezone=import_timezone or timezone, currency=currency.strip().upper(),
                              lang=lang)
    except ValidationError as exc:
        raise ConfigError(problems(exc.errors(), limit=1)[0]) from None
    Workspace.init(directory, cfg).close()
    console.print(say("init.created", cfg.lang, directory=directory), highlight=False)


@shared_options
def info(*, workspace, fmt):
    """What a workspace holds."""
    from ..storage.sequence_store import status

    with open_target(workspace) as ws:
        data = {"workspace": str(ws.path), "engine": ws.config.engine, "timezone": ws.config.timezone,
                **ws.counts(), "clustered": ws.clustered, "sequence_store": status(ws)}
    rows = [{"setting": k, "value": v} for k, v in data.items()]
    if check_format(fmt) == "table":
        lang = _Lang.current()
        shown = {"sequence_store": lambda v: label(f"info.store.{v}", lang), "clustered": lambda v: v,
                 "workspace": lambda v: v, "first_event": _to_second, "last_event": _to_second}
        for k, v in data.items():  # counts as counts (9, not 9.00: the column mixes words and numbers)
            if isinstance(v, int) and not isinstance(v, bool):
                shown.setdefault(k, lambda v: count(v, lang))
        print_rows([{"setting": label(f"info.{k}", lang), "value": shown.get(k, lambda v: v)(v)} for k, v in data.items()],
                   label("info.title", lang), analysis="info")
    else:
        emit(data if fmt == "json" else {"rows": rows}, fmt)


def _to_second(v):
    """A time to the second (2026-06-01 00:01:24, not 00:01:24.164835)."""
    return re.sub(r"(\d\d:\d\d:\d\d)\.\d+", r"\1", v) if isinstance(v, str) else v


def optimize(workspace: Optional[Path] = WorkspaceOpt):
    """Re-cluster events by user and time (after many incremental imports)."""
    from ..errors import YunyingError
    from ..server.client import running_server
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    info = running_server(workspace or Path("."))
    if info:
        raise YunyingError(key="core.workspace_served_by_yunying", info=info.get('pid'))
    from ..storage import sequence_store as store
    from .help_i18n import _workspace_lang

    if _Lang.workspace is None:  # the bar and the note in the workspace's language when no --lang says otherwise
        _Lang.workspace = _workspace_lang(["-w", str(workspace or Path("."))])
    with Workspace.open(workspace or Path(".")) as ws, _progress() as prog:
        lang = _Lang.current()
        task = prog.add_task(_stage(Said("optimize.stage.sorting"), lang), total=None)
        ws.optimize(lambda stage: prog.update(task, description=_stage(stage, lang)))
        state, rows = store.status(ws), store.fingerprint(ws)[1]
    lang = _Lang.current()
    note = (label("optimize.rebuilt", lang) if state == "fresh" else
            say("optimize.small", lang, rows=f"{store.MIN_ROWS:,}") if rows < store.MIN_ROWS else
            label("optimize.failed", lang))
    console.print(say("optimize.done", lang, note=note), highlight=False)


@shared_options
def overview_cmd(
    week: Optional[str] = typer.Option(None, "--week", help="Monday of the reference week (default: last complete week)."),
    activation_hours: int = typer.Option(24, "--activation-hours", help="Activation window after signup."),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write the overview as an HTML page."),
    xlsx_out: Optional[Path] = typer.Option(None, "--xlsx", help="Also write the overview as an Excel workbook."),
    where: Optional[List[str]] = where_option(),
    segment: Optional[str] = segment_option(),
    *, workspace, events, engine, fmt,
):
    """拉新 / 促活 / 留存 / revenue headline figures, week over week."""
    from ..analyses.overview import OverviewSpec, overview
    from ..reports.overview import print_overview, write_overview_html, write_overview_xlsx

    check_format(fmt)
    spec = OverviewSpec.build(week=week, activation_hours=activation_hours, filters=filters_of(where, segment))
    with open_target(workspace, events, engine=engine) as ws:
        res = overview(ws.engine, spec)
        lang = _Lang.current()
        if html_out:
            write_overview_html(ws.engine, res, html_out, lang=lang)
        if xlsx_out:
            write_overview_xlsx(res, xlsx_out, lang=lang)
    if fmt == "table":
        print_overview(res.to_dict(), console, lang)
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
    lang = _Lang.current()
    with _progress() as prog:
        task = prog.add_task("", total=None)  # run_demo names each stage in ``lang`` (its first one at once)

        def step(desc, done=None, total=None):
            prog.update(task, description=desc, completed=done, total=total)

        overview = run_demo(directory, users=users, seed=seed, days=days, progress=step, lang=lang)
    if fmt == "json":
        emit(overview, "json")
        return
    from ..reports.overview import print_overview

    print_overview(overview, console, lang)
    console.print("\n" + say("demo.done", lang, directory=directory), highlight=False)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(import_app, name="import")
    app.command("info")(info)
    app.command("optimize")(optimize)
    app.command("overview")(overview_cmd)
    app.command("demo")(demo)
