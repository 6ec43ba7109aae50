"""What the dashboard pages draw: ``POST /api/view/{kind}?lang=`` and the Excel export of any table.

``/api/view/{kind}`` runs the analysis like ``/api/chart/{kind}`` and returns, beside the raw result,
the result as people read it (``reports/view.py``): a table with labels, kinds and formatted texts,
the chart in the page's language, notes (no data before or after the data, incomplete period) and, for the overview, its cards.
``POST /api/export.xlsx`` turns any table a page shows (its columns, raw rows and, optionally, the shown
texts and good/bad tones) into an Excel file with the shown headers, number formats by column kind and
the page's colours (``reports/xlsx.py``). Both are for the dashboard (not in the OpenAPI document); the
query API stays the stable interface.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import zoneinfo

from fastapi import APIRouter, Body, Depends, FastAPI, Query, Request
from fastapi.responses import Response

from ..analyses import registry
from ..errors import ModelFitError, SpecError
from ..reports.columns import tones_of
from ..reports.i18n import LANGS, label
from ..reports.view import people_view
from ..reports.xlsx import table_bytes
from .api import read_project
from .errors import NotFound
from .project import Project
from .query import analysis_json

router = APIRouter(include_in_schema=False)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def days_without_events(reader, first: dt.date, last: dt.date) -> list[dt.date]:
    """The local days from ``first`` to ``last`` on which the workspace has no event at all."""
    tz = zoneinfo.ZoneInfo(reader.workspace.config.timezone or "UTC")
    lo = dt.datetime.combine(first, dt.time(), tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
    hi = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.timezone.utc).replace(tzinfo=None)
    hours = reader.cursor.execute("SELECT DISTINCT date_trunc('hour', ts) FROM events WHERE ts >= ? AND ts < ?",
                                  [lo, hi]).fetchall()
    seen = {h.replace(tzinfo=dt.timezone.utc).astimezone(tz).date() for (h,) in hours}
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)
            if first + dt.timedelta(days=i) not in seen]


def view_runner(kind: str, spec, lang: str, notes: tuple[str, ...] = ()):
    analysis = registry.get(kind)
    inner = analysis_json(analysis, spec, chart=True)

    def run(reader) -> str:
        data = json.loads(inner(reader))
        currency = reader.workspace.config.currency
        empty = None
        result = data.get("result") or {}
        if kind == "overview" and result.get("previous_week") and result.get("week_end"):
            empty = days_without_events(reader, dt.date.fromisoformat(result["previous_week"]),
                                        dt.date.fromisoformat(result["week_end"]))
        first, last = reader.workspace.data_span() or (None, None)
        data["view"] = people_view(kind, data, spec.model_dump(mode="json"), lang=lang, currency=currency,
                                   data_start=first, data_end=last, empty_days=empty)
        data["view"]["notes"][:0] = list(notes)
        return json.dumps(data, ensure_ascii=False, allow_nan=False)

    return run


@router.post("/api/view/{kind}")
async def view(kind: str, request: Request, spec: dict = Body(default_factory=dict), lang: str = Query("en"),
               project: Project = Depends(read_project)):
    if kind not in request.app.state.kinds:
        raise NotFound(key="api.analysis_available_this_build", kind=kind)
    if lang not in LANGS:
        raise SpecError(key="view.lang_must_one", LANGS=', '.join(LANGS), lang=lang)
    spec_class = registry.get(kind).spec_class
    if "lang" in spec_class.model_fields:  # e.g. RFM class names: the page's language decides
        spec = {**spec, "lang": lang}
    parsed = spec_class.parse(spec)
    try:
        text = await project.queries.run(view_runner(kind, parsed, lang), None)
    except ModelFitError:
        # BG/NBD (the default) cannot be pinned down on short or small data (the demo's six weeks): the page
        # opens with Pareto/NBD and says so, instead of an error; Pareto/NBD failing too is the error.
        if getattr(parsed, "model", None) != "bgnbd":
            raise
        parsed = spec_class.parse({**spec, "model": "pareto"})
        text = await project.queries.run(view_runner(kind, parsed, lang, (label("model_fallback", lang),)), None)
    return Response(text, media_type="application/json")


@router.post("/api/export.xlsx")
async def export_xlsx(payload: dict = Body(...), project: Project = Depends(read_project)):
    columns, rows = payload.get("columns"), payload.get("rows")
    if not isinstance(columns, list) or not all(isinstance(c, dict) and isinstance(c.get("key"), str)
                                                for c in columns):
        raise SpecError(key="view.columns_expected_list")
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows) or len(rows) > 200_000:
        raise SpecError(key="view.rows_expected_list_objects")
    for part in ("texts", "tones", "kinds"):  # what the page shows: texts of yunying's words, good/bad colours
        given = payload.get(part)
        if given is not None and not (isinstance(given, list) and len(given) == len(rows)
                                      and all(isinstance(x, dict) for x in given)):
            raise SpecError(key="view.expected_list_objects_one", part=part, n_rows=len(rows))
    table = {"columns": columns, "rows": rows, "texts": payload.get("texts"), "kinds": payload.get("kinds"),
             "tones": payload.get("tones") if payload.get("tones") is not None else tones_of(rows, columns)}
    name = re.sub(r"[^\w.-]+", "-", str(payload.get("name") or "table"))[:80] or "table"
    return Response(table_bytes(str(payload.get("title") or name), table), media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


def register(app: FastAPI) -> None:
    app.include_router(router)
