"""The query API: every analysis of the registry as ``POST /api/query/{kind}``, plus saved
analyses and dashboards, the workspace's event names, status and imports.

Requests carry a read token (``Authorization: Bearer TOKEN``; the dashboard uses a
cookie). A query body is the analysis spec, the same JSON the Python API takes
(``TrendsSpec.parse(body)``); the answer is ``result.to_dict()``, the same JSON
``yunying trends --format json`` prints.
"""
# No `from __future__ import annotations` here: FastAPI reads the per-kind body types from
# the endpoint signatures built in `_query_endpoint`.
import asyncio
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Optional

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request, Security
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer
from pydantic import BaseModel, Field

from .. import __version__
from ..analyses import registry
from ..errors import SpecError
from ..model.readers import ReadOptions
from ..storage.imports import KINDS
from .errors import NotFound, PayloadTooLarge
from .project import Project
from .query import analysis_json, workspace_schema
from .saved import SavedStore

log = logging.getLogger("yunying.server")
_bearer = HTTPBearer(auto_error=False, description="A read token (`yunying keys create --kind read`).")
MAX_IMPORT_BYTES = 4 * 1024 ** 3


class Error(BaseModel):
    """The one error shape of every endpoint."""

    ok: bool = False
    error: str  # in the language asked for (?lang=, the dashboard's cookie, Accept-Language)
    code: str
    status: int
    details: Optional[dict] = None
    lang: Optional[str] = None  # en, zh-Hans or zh-Hant: the language of ``error``
    key: Optional[str] = None  # the message's key in the catalogue (reports/labels/errors.json)
    error_en: Optional[str] = None  # the English sentence, when ``error`` is in another language


ERRORS = {status: {"model": Error} for status in (400, 401, 403, 404, 408, 413, 500)}


def read_project(request: Request, _token=Security(_bearer)) -> Project:
    return request.app.state.server.reader(request)


class SavedAnalysisIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: str = Field(min_length=1, max_length=64)
    spec: dict = Field(default_factory=dict)


class DashboardIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    items: list[str] = Field(default_factory=list, max_length=100)


def _saved(project: Project) -> SavedStore:
    return SavedStore(project.paths.saved)


def checked_analysis(payload: SavedAnalysisIn) -> dict:
    """A saved analysis must name an available kind with a spec that kind accepts."""
    analysis = registry.get(payload.kind)
    spec = analysis.spec_class.parse(payload.spec)
    return {"name": payload.name.strip(), "kind": payload.kind, "spec": spec.model_dump(mode="json",
                                                                                        exclude_defaults=True)}


def _query_endpoint(kind: str, spec_class: type, chart: bool):
    analysis = registry.get(kind)

    async def endpoint(
        spec: spec_class = Body(..., description=f"{spec_class.__name__}: the spec the Python API takes."),
        timeout: Optional[float] = Query(None, gt=0, le=86400, description="Seconds; at most query_timeout."),
        project: Project = Depends(read_project),
    ):
        text = await project.queries.run(analysis_json(analysis, spec, chart=chart), timeout)
        return Response(text, media_type="application/json")

    what = "result and Plotly figure" if chart else "result"
    endpoint.__name__ = f"{'chart' if chart else 'query'}_{kind}"
    endpoint.__doc__ = f"Run the {kind} analysis; returns its {what} (`{spec_class.__name__}`)."
    return endpoint


def available_kinds() -> list[str]:
    """The analyses that load; one that fails to import is left out (and logged), not fatal."""
    try:
        return registry.available()
    except Exception:  # noqa: BLE001 - a module being written may not import yet
        kinds = []
        for kind in getattr(registry, "_TABLE", {}):
            try:
                registry.get(kind)
            except Exception as exc:  # noqa: BLE001
                log.warning("analysis %r left out: %s", kind, exc)
                continue
            kinds.append(kind)
        return kinds


meta = APIRouter(responses=ERRORS)
saved = APIRouter(prefix="/api/saved", tags=["saved"], responses=ERRORS)
imports = APIRouter(tags=["import"], responses={**ERRORS, 413: {"model": Error}})


def register(app: FastAPI) -> None:
    kinds = app.state.kinds = available_kinds()
    for kind in kinds:
        spec_class = registry.get(kind).spec_class
        for chart, prefix in ((False, "/api/query"), (True, "/api/chart")):
            app.add_api_route(f"{prefix}/{kind}", _query_endpoint(kind, spec_class, chart), methods=["POST"],
                              tags=["query"], responses={**ERRORS, 200: {"content": {"application/json": {
                                  "schema": {"type": "object"}}}}}, response_class=Response)
    # After the per-kind routes: any other kind is a 404 that says why.
    app.add_api_route("/api/query/{kind}", unknown_kind, methods=["POST"], include_in_schema=False)
    app.add_api_route("/api/chart/{kind}", unknown_kind, methods=["POST"], include_in_schema=False)
    app.include_router(meta)
    app.include_router(saved)
    app.include_router(imports)


async def unknown_kind(kind: str, project: Project = Depends(read_project)):
    try:
        registry.get(kind)
    except SpecError as exc:  # unknown, or not in this build: the message names the known kinds
        raise NotFound(exc.text or exc.message) from None
    except Exception:  # noqa: BLE001 - its module does not import
        raise NotFound(key="api.analysis_available_this_build", kind=kind) from None
    raise NotFound(key="api.analysis_was_added_after", kind=kind)


@meta.get("/api/health", tags=["meta"], summary="Liveness (no token needed)")
async def health():
    return {"ok": True, "version": __version__}


@meta.get("/api/analyses", tags=["query"], summary="Analyses this server can run")
async def analyses(request: Request, project: Project = Depends(read_project)):
    out = []
    for kind in request.app.state.kinds:
        spec_class = registry.get(kind).spec_class
        out.append({"kind": kind, "spec": spec_class.__name__, "schema": spec_class.model_json_schema()})
    return {"ok": True, "project": project.name, "analyses": out}


@meta.get("/api/schema", tags=["query"], summary="Event names and property names")
async def schema(project: Project = Depends(read_project)):
    data = await project.queries.run(workspace_schema)
    return {"ok": True, "project": project.name, **data}


@meta.get("/api/status", tags=["meta"], summary="Capture, ingest and snapshot progress")
async def status(project: Project = Depends(read_project)):
    return {"ok": True, **project.status()}


# -- saved analyses and dashboards --------------------------------------------------------------
@saved.get("/analyses")
async def list_analyses(project: Project = Depends(read_project)):
    return {"ok": True, "analyses": _saved(project).list("analyses")}


@saved.post("/analyses", status_code=201)
async def create_analysis(payload: SavedAnalysisIn, project: Project = Depends(read_project)):
    return {"ok": True, "analysis": _saved(project).put("analyses", checked_analysis(payload))}


@saved.get("/analyses/{item_id}")
async def get_analysis(item_id: str, project: Project = Depends(read_project)):
    return {"ok": True, "analysis": _saved(project).get("analyses", item_id)}


@saved.put("/analyses/{item_id}")
async def update_analysis(item_id: str, payload: SavedAnalysisIn, project: Project = Depends(read_project)):
    return {"ok": True, "analysis": _saved(project).put("analyses", checked_analysis(payload), item_id)}


@saved.delete("/analyses/{item_id}")
async def delete_analysis(item_id: str, project: Project = Depends(read_project)):
    _saved(project).delete("analyses", item_id)
    return {"ok": True}


def checked_dashboard(project: Project, payload: DashboardIn) -> dict:
    store = _saved(project)
    for item in payload.items:
        store.get("analyses", item)  # NotFound names a missing analysis
    return {"name": payload.name.strip(), "items": payload.items}


@saved.get("/dashboards")
async def list_dashboards(project: Project = Depends(read_project)):
    return {"ok": True, "dashboards": _saved(project).list("dashboards")}


@saved.post("/dashboards", status_code=201)
async def create_dashboard(payload: DashboardIn, project: Project = Depends(read_project)):
    return {"ok": True, "dashboard": _saved(project).put("dashboards", checked_dashboard(project, payload))}


@saved.get("/dashboards/{item_id}")
async def get_dashboard(item_id: str, project: Project = Depends(read_project)):
    return {"ok": True, "dashboard": _saved(project).get("dashboards", item_id)}


@saved.put("/dashboards/{item_id}")
async def update_dashboard(item_id: str, payload: DashboardIn, project: Project = Depends(read_project)):
    data = checked_dashboard(project, payload)
    return {"ok": True, "dashboard": _saved(project).put("dashboards", data, item_id)}


@saved.delete("/dashboards/{item_id}")
async def delete_dashboard(item_id: str, project: Project = Depends(read_project)):
    _saved(project).delete("dashboards", item_id)
    return {"ok": True}


# -- imports while the server owns the database ------------------------------------------------------
@imports.post("/api/import/{kind}", summary="Import files (events, spend, identities or users) into a served workspace")
async def import_file(request: Request, kind: str,
                      filename: list[str] = Query(..., min_length=1,
                                                  description="The file's name or path as the user gave it (its "
                                                              "extension tells the format); repeat it for several "
                                                              "files, with `size`."),
                      size: list[int] = Query([], description="Bytes of each file when the body holds several, "
                                                              "concatenated in `filename` order"),
                      map: list[str] = Query([], description="Column mapping NAME=COLUMN (events, spend, users)"),
                      once: bool = Query(False, description="users: set-once (only fill properties a user lacks)"),
                      sheet: Optional[str] = Query(None, description="Excel files: the sheet's name or number (default: "
                                                                  "the first)"),
                      encoding: Optional[str] = Query(None, description="Text files: their encoding (default: UTF-8, "
                                                                     "else GB18030, detected)"),
                      delimiter: Optional[str] = Query(None, description="Text files: the delimiter, or `whitespace` "
                                                                      "(default: detected)"),
                      event: Optional[str] = Query(None, description="events: the event name of every row, for files "
                                                                  "without an event column")):
    """All files in one transaction: a bad file imports none of them."""
    if kind not in KINDS:
        raise NotFound(key="api.cannot_import_events_spend", kind=kind)
    project = request.app.state.server.importer(request)  # the key before a byte of the file is read
    mapping = {}
    for item in map:
        if "=" not in item:
            raise SpecError(key="api.map_expects_name_column", item=item)
        name, column = item.split("=", 1)
        mapping[name.strip()] = column.strip()
    tmps = await receive_uploads(request, project, filename, size)
    try:
        loop = asyncio.get_running_loop()
        read = ReadOptions(sheet=sheet, encoding=encoding, delimiter=delimiter, event=event)
        report = await loop.run_in_executor(None, project.import_files, kind, tmps, mapping or None, filename,
                                            once, read)
    finally:
        for tmp in tmps:
            Path(tmp).unlink(missing_ok=True)
    return JSONResponse({"ok": True, "project": project.name, "report": report.to_dict()})


async def receive_uploads(request: Request, project: Project, names: list[str], sizes: list[int]) -> list[str]:
    """The body as one upload per name: the whole body for one name, else ``sizes`` bytes each."""
    if len(names) > 1000:
        raise SpecError(key="api.filename_files_one_import", n_names=len(names))
    if any(len(n) > 4096 or not Path(n).name or "\x00" in n for n in names):
        raise SpecError(key="api.filename_expected_file_name")
    if len(names) > 1 or sizes:
        if len(sizes) != len(names) or any(n < 0 for n in sizes):
            raise SpecError(key="api.size_expected_one_byte", n_names=len(names), n_sizes=len(sizes))
    upload_dir = project.paths.capture / "uploads"
    upload_dir.mkdir(parents=True, exist_ok=True)
    tmps, total, outs = [], 0, []
    try:
        for name in names:
            safe = re.sub(r"[^A-Za-z0-9._-]", "_", Path(name).name)[-100:]  # keeps the extension (the format)
            fd, tmp = tempfile.mkstemp(dir=upload_dir, suffix="-" + safe)
            tmps.append(tmp)
            outs.append(os.fdopen(fd, "wb"))
        limits = sizes or [None]
        part, left = 0, limits[0]
        async for chunk in request.stream():
            total += len(chunk)
            if total > MAX_IMPORT_BYTES:
                raise PayloadTooLarge(key="api.import_over_bytes_copy", MAX_IMPORT_BYTES=MAX_IMPORT_BYTES)
            while chunk:
                if left is not None and left == 0:
                    part += 1
                    if part >= len(outs):
                        raise SpecError(key="api.body_longer_than_sizes", sizes=sum(sizes))
                    left = limits[part]
                    continue
                take = len(chunk) if left is None else min(left, len(chunk))
                outs[part].write(chunk[:take])
                chunk = chunk[take:]
                if left is not None:
                    left -= take
        if sizes and total != sum(sizes):
            raise SpecError(key="api.body_bytes_but_sizes", total=total, sizes=sum(sizes))
    except BaseException:
        for out in outs:
            out.close()
        for tmp in tmps:
            Path(tmp).unlink(missing_ok=True)
        raise
    for out in outs:
        out.close()
    return tmps
