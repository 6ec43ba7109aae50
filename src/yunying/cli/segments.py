"""``yunying segments create|list|show|size|export|snapshot|import|delete`` (用户分群). Rules and their
definitions: docs/users.md#segments."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import YunyingError
from ..reports.i18n import label, say
from .common import FormatOpt, WorkspaceOpt, _Lang, check_format, console, emit, parse_day, print_rows

segments_app = typer.Typer(help="Segments (用户分群): users picked by profile and behaviour rules, or id lists.",
                           no_args_is_help=True)
AsOfOpt = typer.Option(None, "--as-of", help="Evaluate as of this day (YYYY-MM-DD, workspace time zone; default today).")


def _open(workspace: Optional[Path], read_only: bool):
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    return Workspace.open(workspace or Path("."), read_only=read_only)


def _out(data: dict, fmt: str) -> None:
    check_format(fmt)
    if fmt == "table":
        print_rows([data])
    else:
        emit(data, fmt)


@segments_app.command("create")
def create(name: str = typer.Argument(..., help="Segment name (any text)."),
           rule: str = typer.Argument(..., help="e.g. \"did purchase at least 2 times in the last 30 days and "
                                                "user.city = '上海'\""),
           description: Optional[str] = typer.Option(None, "--description"),
           replace: bool = typer.Option(False, "--replace", help="Replace a segment of the same name."),
           workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """Create a dynamic segment (evaluated as of any day); its members as of today are stored for filters."""
    from ..analyses import segments as S

    with _open(workspace, False) as ws:
        out = S.create_dynamic(ws, name, rule, description=description, replace=replace)
    _out(out, fmt)


@segments_app.command("list")
def list_(workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """All segments: kind, rule, members at their last evaluation."""
    with _open(workspace, True) as ws:
        rows = ws.segments()
    emit({"segments": rows}, fmt)


@segments_app.command("show")
def show(name: str, as_of: Optional[str] = AsOfOpt, workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """A segment's definition and its size as of a day."""
    from ..analyses import segments as S

    with _open(workspace, True) as ws:
        seg = S.describe(ws, name, parse_day(as_of, "--as-of"))
    if fmt == "table":
        seg.pop("tree")  # the rule's text says the same
    _out(seg, fmt)


@segments_app.command("size")
def size(name: str, as_of: Optional[str] = AsOfOpt,
         over: Optional[str] = typer.Option(None, "--over", help="day, week or month: the size at the end of each."),
         date_from: Optional[str] = typer.Option(None, "--from", help="With --over: first day (default: 12 periods back)."),
         date_to: Optional[str] = typer.Option(None, "--to", help="With --over: last day (default: --as-of or today)."),
         workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """How many users a segment has as of a day, or at the end of each period (--over week)."""
    from ..analyses import segments as S

    check_format(fmt)
    with _open(workspace, True) as ws:
        end = parse_day(date_to, "--to") or parse_day(as_of, "--as-of") or S.today_in(ws.engine)
        if over:
            rows = S.sizes_between(ws, name, over, parse_day(date_from, "--from"), end)
            emit({"segment": name, "over": over, "sizes": rows}, fmt)
            return
        n = len(S.members_of(ws, name, end))
    _out({"segment": name, "as_of": end.isoformat(), "users": n}, fmt)


@segments_app.command("export")
def export(name: str, out_format: str = typer.Option("csv", "--format", "-f", help="csv or xlsx."),
           properties: Optional[str] = typer.Option(None, "--properties", help="Profile properties to add, e.g. city,plan."),
           output: Optional[Path] = typer.Option(None, "--output", "-o", help="File to write (xlsx needs one; csv: stdout)."),
           as_of: Optional[str] = AsOfOpt, workspace: Optional[Path] = WorkspaceOpt):
    """The segment's users (one row each) with their profile properties."""
    from ..analyses import segments as S

    if out_format not in ("csv", "xlsx"):
        raise YunyingError(key="segments.format_must_csv_xlsx", out_format=out_format)
    if out_format == "xlsx" and output is None:
        raise YunyingError(key="segments.format_xlsx_needs_output")
    props = [p.strip() for p in (properties or "").split(",") if p.strip()]
    with _open(workspace, True) as ws:
        rows = S.export_rows(ws, S.members_of(ws, name, parse_day(as_of, "--as-of")), props)
    if output is None:  # data for a pipe, as --format csv everywhere: the raw column name
        sys.stdout.write(S.export_bytes(rows, props, out_format).decode("utf-8"))
        return
    lang = _Lang.current()  # a file for people: the id column headed in their language (re-imports as ids)
    data = S.export_bytes(rows, props, out_format, id_header=label("col.user_id", lang), title=name)
    output.write_bytes(data)
    console.print(say("seg.exported", lang, n=f"{len(rows):,}", path=str(output)), highlight=False)


@segments_app.command("snapshot")
def snapshot(name: str, into: Optional[str] = typer.Option(None, "--name", help="Name of the frozen copy "
                                                                                 "(default: NAME@AS-OF)."),
             as_of: Optional[str] = AsOfOpt, workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """Freeze a segment's members as of a day into a static segment."""
    from ..analyses import segments as S

    with _open(workspace, False) as ws:
        day = parse_day(as_of, "--as-of") or S.today_in(ws.engine)
        ids = S.members_of(ws, name, day)
        target = into or f"{name}@{day.isoformat()}"
        about = say("seg.snapshot_of", _Lang.current(), name=name, day=day.isoformat())  # in the user's language
        ws.save_segment(target, kind="static", description=about, static_ids=ids)
    _out({"name": target, "kind": "static", "users": len(ids)}, fmt)


@segments_app.command("import")
def import_(name: str, files: List[str] = typer.Argument(..., help="Files with a user id column (CSV, Parquet, JSON Lines)."),
            replace: bool = typer.Option(False, "--replace"), workspace: Optional[Path] = WorkspaceOpt,
            fmt: str = FormatOpt):
    """A static segment from uploaded id lists (anonymous ids count as the users they were merged into)."""
    with _open(workspace, False) as ws:
        ids = ws.read_user_ids(files)
        ws.save_segment(name, kind="static", description="imported id list", static_ids=ids, replace=replace)
        n = len(ws.segment_static_ids(name))
    _out({"name": name, "kind": "static", "users": n}, fmt)


@segments_app.command("refresh")
def refresh(names: Optional[List[str]] = typer.Argument(None, help="Segments to refresh (default: every dynamic one)."),
            workspace: Optional[Path] = WorkspaceOpt, fmt: str = FormatOpt):
    """Re-evaluate dynamic segments as of today and store their members (what --segment and segment filters read)."""
    from ..analyses import segments as S

    out = []
    with _open(workspace, False) as ws:
        todo = names or [s["name"] for s in ws.segments() if s["kind"] == "dynamic"]
        for name in todo:
            ids = S.members_of(ws, name)
            ws.set_segment_members(name, ids)
            out.append({"name": name, "users": len(ids)})
    emit({"segments": out}, fmt)


@segments_app.command("delete")
def delete(name: str, workspace: Optional[Path] = WorkspaceOpt):
    """Delete a segment (refused while another segment's rule refers to it)."""
    from ..analyses import segments as S

    with _open(workspace, False) as ws:
        S.delete(ws, name)
    console.print(say("seg.deleted", _Lang.current(), name=name), highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(segments_app, name="segments")
