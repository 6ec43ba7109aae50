"""Capture endpoints compatible with PostHog (``/capture/``, ``/batch/``, ``/i/v0/e/``) and Segment's
HTTP tracking API (``/v1/track`` … ``/v1/batch``), so their SDKs send to yunying unchanged.

Batch semantics are per event: a request that cannot be read as a whole (not
JSON, wrong shape, too large, bad key) stores nothing; otherwise every valid
event of it is stored and each invalid one is rejected, and the answer is 400
listing the rejected ones (``details.rejected``) when there are any. A 2xx
answer (and a 400 with ``details.accepted``) comes only after the accepted
events are committed to the capture log on disk.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import Future

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from .errors import InvalidEvents
from .ingest import compression_of, decode_body, key_from_body, key_from_request, read_body
from .normalize import Normalized, now_us

POSTHOG_PATHS = ["/capture", "/batch", "/i/v0/e", "/e", "/track"]
SEGMENT_PATHS = {"/v1/track": "track", "/v1/identify": "identify", "/v1/page": "page", "/v1/screen": "screen",
                 "/v1/group": "group", "/v1/alias": "alias", "/v1/batch": None, "/v1/import": None}
CAPTURE_PATHS = {p for base in POSTHOG_PATHS for p in (base, base + "/")} | set(SEGMENT_PATHS)
MAX_REJECTED_LISTED = 100

_EVENT_SCHEMA = {
    "type": "object",
    "properties": {
        "event": {"type": "string", "description": "Event name."},
        "distinct_id": {"type": "string", "description": "Id of the person (anonymous or known)."},
        "properties": {"type": "object", "description": "Event properties; $utm_source, revenue … become columns."},
        "timestamp": {"type": "string", "description": "ISO 8601; default: now."},
        "uuid": {"type": "string", "description": "Event id, used for de-duplication."},
        "api_key": {"type": "string", "description": "The project's write key."},
    },
}
POSTHOG_BODY = {"oneOf": [
    {"type": "object", "properties": {"api_key": {"type": "string"}, "batch": {"type": "array",
                                                                               "items": _EVENT_SCHEMA}}},
    _EVENT_SCHEMA,
    {"type": "array", "items": _EVENT_SCHEMA},
]}
_MESSAGE_SCHEMA = {
    "type": "object",
    "properties": {
        "type": {"type": "string", "enum": ["track", "identify", "page", "screen", "group", "alias"]},
        "event": {"type": "string"}, "userId": {"type": "string"}, "anonymousId": {"type": "string"},
        "previousId": {"type": "string"}, "messageId": {"type": "string"}, "timestamp": {"type": "string"},
        "properties": {"type": "object"}, "traits": {"type": "object"}, "context": {"type": "object"},
    },
}
SEGMENT_BATCH_BODY = {"type": "object", "properties": {"batch": {"type": "array", "items": _MESSAGE_SCHEMA},
                                                       "writeKey": {"type": "string"}}}
_ERROR = {"description": "JSON error {ok: false, error, code, status, details}",
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
CAPTURE_RESPONSES = {
    "200": {"description": "Stored (committed to the capture log)",
            "content": {"application/json": {"schema": {"type": "object"}}}},
    "400": _ERROR, "401": _ERROR, "403": _ERROR, "413": _ERROR, "415": _ERROR, "500": _ERROR, "503": _ERROR,
}


def respond(batch: Normalized, ok_body: dict) -> JSONResponse:
    if batch.rejected:
        first = batch.rejected[0]["error"]
        more = f" (and {len(batch.rejected) - 1} more)" if len(batch.rejected) > 1 else ""
        raise InvalidEvents(
            key="capture.event_s_rejected_other", n_rejected=len(batch.rejected), received=batch.received, first=first, more=more, accepted=batch.accepted,
            details={"accepted": batch.accepted, "rejected": batch.rejected[:MAX_REJECTED_LISTED]})
    return JSONResponse({"ok": True, **ok_body, "accepted": batch.accepted})


async def capture(request: Request, source: str, default_type: str | None = None) -> Normalized:
    """Read, decode, check and log one capture request; returns once its events are durable.

    A key sent outside the body is checked before the body is read; decompressing, parsing and
    checking the events run in a capture worker thread, never on the event loop.
    """
    server = request.app.state.server
    compression = compression_of(request)
    key = key_from_request(request)
    project = server.writer(key) if key else None
    body = await read_body(request.stream(), server.settings.max_body_bytes, request.headers.get("content-length"),
                           "max_body_bytes")
    loop = asyncio.get_running_loop()
    batch, stored = await loop.run_in_executor(server.capture_pool, prepare, server, project, key, body,
                                               compression, source, default_type)
    if stored is not None:
        await asyncio.wrap_future(stored)
    return batch


def prepare(server, project, key: str | None, body: bytes, compression: str, source: str,
            default_type: str | None) -> tuple[Normalized, Future | None]:
    """(In a capture worker.) The typed events of a body, queued for the capture log."""
    data = decode_body(body, compression, server.settings.max_body_bytes)
    if project is None:
        key = key_from_body(data)
        project = server.writer(key)
    if source == "posthog":
        batch = project.normalizer.posthog(data, now_us(), key)
    else:
        batch = project.normalizer.segment(data, default_type, now_us(), key)
    table = batch.arrow()
    if table is None and not batch.merges and not batch.profiles:
        return batch, None
    return batch, project.log.append(source, table, batch.merges, batch.profiles)


async def posthog_capture(request: Request):
    return respond(await capture(request, "posthog"), {"status": 1})


def segment_endpoint(default_type: str | None):
    async def segment_capture(request: Request):
        return respond(await capture(request, "segment", default_type), {"success": True})

    return segment_capture


def register(app: FastAPI) -> None:
    for base in POSTHOG_PATHS:
        for path in (base + "/", base):
            app.add_api_route(
                path, posthog_capture, methods=["POST"], tags=["capture"], include_in_schema=path != base,
                summary=f"PostHog-compatible capture ({base}/)", response_model=None,
                openapi_extra={"requestBody": {"content": {"application/json": {"schema": POSTHOG_BODY}}},
                               "responses": CAPTURE_RESPONSES},
            )
    for path, kind in SEGMENT_PATHS.items():
        body = SEGMENT_BATCH_BODY if kind is None else _MESSAGE_SCHEMA
        app.add_api_route(
            path, segment_endpoint(kind), methods=["POST"], tags=["capture"], response_model=None,
            summary=f"Segment-compatible {kind or 'batch'}", name=f"segment_{path.rsplit('/', 1)[1]}",
            openapi_extra={"requestBody": {"content": {"application/json": {"schema": body}}},
                           "responses": CAPTURE_RESPONSES},
        )
