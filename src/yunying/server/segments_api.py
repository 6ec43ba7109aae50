"""Segments (用戶分群) through the query API: list, show, create or replace, delete, size (as of a day, or at
the end of each week / month), the live size of an unsaved rule (the dashboard's builder) and the export of
the members with chosen profile properties as CSV or Excel. Read-token auth like the rest of ``/api``.

A segment's name is any text, ``/`` included, so its sub-resources live under their own paths
(``/api/segment-size/{name}``, ``/api/segment-export/{name}``): ``GET /api/segments/a/size`` is the segment
named ``a/size``, never the size of ``a``. A name that no segment has is a 404.

Everything here calls ``analyses/segments.py``, as ``yunying segments …`` does: a rule is the same text the
CLI takes, or its JSON tree (``model/segments.py``: ``to_json``). Reads run on the query workers; writes take
the project's write lock, like an import, and are published at once.
"""
import asyncio
import datetime as dt
from typing import Any, Literal, Optional
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Query
from fastapi.responses import Response
from pydantic import BaseModel, Field

from ..analyses import segments as S
from ..errors import SpecError
from .api import ERRORS, read_project
from ..reports.i18n import label
from .errors import NotFound
from .project import Project

router = APIRouter(prefix="/api/segments", tags=["segments"], responses=ERRORS)
parts = APIRouter(prefix="/api", tags=["segments"], responses=ERRORS)  # a segment's size and export
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class SegmentIn(BaseModel):
    """A dynamic segment takes ``rule`` (text, or its JSON tree); a static one ``user_ids``."""

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["dynamic", "static"] = "dynamic"
    rule: Any = Field(None, description="Rule text as `yunying segments create` takes it, or its JSON tree.")
    user_ids: Optional[list[str]] = Field(None, max_length=5_000_000, description="static: the member ids")
    description: Optional[str] = Field(None, max_length=2000)
    replace: bool = Field(False, description="Replace a segment of the same name.")


class RuleIn(BaseModel):
    rule: Any = Field(..., description="Rule text or JSON tree.")
    as_of: Optional[dt.date] = None


def _ws(reader, name: str | None = None):
    """The reader's workspace; with ``name``, only when a segment of that name exists (else a 404)."""
    ws = reader.workspace
    ws._engine = reader.engine  # the reader's engine (DuckDB on its cursor, or Spark)
    if name is not None:
        _known(ws, name)
    return ws


def _known(ws, name: str) -> None:
    if ws.segment(name) is not None:
        return
    base, _, part = name.rpartition("/")
    hint = (f"; the {part} of segment {base!r} is GET /api/segment-{part}/{base}"
            if part in ("size", "export") and base and ws.segment(base) is not None else "")
    raise NotFound(key="segments_api.segment_does_exist_get", name=name, hint=hint,
                   details={"segment": name})


async def _write(project: Project, fn):
    """``fn(workspace)`` on the served workspace under the write lock, then published (as an import is)."""
    def run():
        ws = project.live.ws
        with project.rw.write(), ws.lock:
            out = fn(ws)
            project.live.publish(durable=True)
        return out

    return await asyncio.get_running_loop().run_in_executor(None, run)


def _save(ws, payload: SegmentIn) -> dict:
    if payload.kind == "dynamic":
        if payload.rule in (None, "") or payload.user_ids is not None:
            raise SpecError(key="segments_api.dynamic_segment_takes_rule")
        return S.create_dynamic(ws, payload.name, payload.rule, description=payload.description,
                                replace=payload.replace)
    if payload.user_ids is None or payload.rule is not None:
        raise SpecError(key="segments_api.static_segment_takes_user")
    ws.save_segment(payload.name, kind="static", description=payload.description, static_ids=payload.user_ids,
                    replace=payload.replace)
    return {"name": payload.name, "kind": "static", "users": len(ws.segment_static_ids(payload.name))}


@router.get("", summary="All segments, with their members at the last evaluation")
async def list_segments(project: Project = Depends(read_project)):
    rows = await project.queries.run(lambda r: r.workspace.segments())
    return {"ok": True, "segments": rows}


@router.post("", status_code=201, summary="Create (or, with replace, replace) a segment")
async def create_segment(payload: SegmentIn, project: Project = Depends(read_project)):
    return {"ok": True, "segment": await _write(project, lambda ws: _save(ws, payload))}


@router.put("/{name:path}", summary="Replace a segment")
async def replace_segment(name: str, payload: SegmentIn, project: Project = Depends(read_project)):
    if payload.name != name:
        raise SpecError(key="segments_api.name_body_one_address", name=payload.name, name2=name)
    payload = payload.model_copy(update={"replace": True})
    return {"ok": True, "segment": await _write(project, lambda ws: _save(ws, payload))}


@router.post("/preview", summary="How many users an unsaved rule selects (the builder's live size)")
async def preview(payload: RuleIn, project: Project = Depends(read_project)):
    def run(reader):
        ws = _ws(reader)
        day = payload.as_of or S.today_in(ws.engine)
        return {"users": S.size_of_rule(ws.engine, payload.rule, ws.segment, day), "as_of": day.isoformat(),
                "rule": S.rule_text(payload.rule)}

    return {"ok": True, **await project.queries.run(run)}


@parts.get("/segment-size/{name:path}", summary="Size as of a day, or at the end of each day / week / month")
async def size(name: str, as_of: Optional[dt.date] = None,
               over: Optional[Literal["day", "week", "month"]] = Query(None, description="as `segments size --over`"),
               date_from: Optional[dt.date] = Query(None, alias="from"), date_to: Optional[dt.date] = Query(None, alias="to"),
               project: Project = Depends(read_project)):
    def run(reader):
        ws = _ws(reader, name)
        end = date_to or as_of or S.today_in(ws.engine)
        if over:
            return {"segment": name, "over": over, "sizes": S.sizes_between(ws, name, over, date_from, end)}
        return {"segment": name, "as_of": end.isoformat(), "users": len(S.members_of(ws, name, end))}

    return {"ok": True, **await project.queries.run(run)}


@parts.get("/segment-export/{name:path}", summary="The members with profile properties, as CSV or Excel",
            response_class=Response, responses={200: {"content": {"text/csv": {}, XLSX: {}}}})
async def export(name: str, format: Literal["csv", "xlsx"] = "csv",
                 properties: str = Query("", description="Profile properties, comma-separated (e.g. city,plan)"),
                 as_of: Optional[dt.date] = None,
                 lang: Literal["en", "zh-Hans", "zh-Hant"] = Query("en", description="Language of the id column's header"),
                 project: Project = Depends(read_project)):
    props = [p.strip() for p in properties.split(",") if p.strip()]

    def run(reader):
        ws = _ws(reader, name)
        return S.export_bytes(S.export_rows(ws, S.members_of(ws, name, as_of), props), props, format,
                              id_header=label("col.user_id", lang), title=name)

    data = await project.queries.run(run)
    filename = f"{name}.{format}"
    ascii_name = "".join(c if c.isascii() and (c.isalnum() or c in "._-@") else "_" for c in filename)
    return Response(data, media_type=XLSX if format == "xlsx" else "text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; "
                                                    f"filename*=UTF-8''{quote(filename)}"})


@router.get("/{name:path}", summary="A segment: kind, rule text and tree, size as of a day")
async def show(name: str, as_of: Optional[dt.date] = None, project: Project = Depends(read_project)):
    segment = await project.queries.run(lambda r: S.describe(_ws(r, name), name, as_of))
    return {"ok": True, "segment": segment}


@router.delete("/{name:path}", summary="Delete a segment (refused while another segment's rule refers to it)")
async def delete(name: str, project: Project = Depends(read_project)):
    def run(ws):
        _known(ws, name)
        S.delete(ws, name)

    await _write(project, run)
    return {"ok": True}


def register(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(parts)
