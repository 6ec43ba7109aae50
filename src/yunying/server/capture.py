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

import json
import urllib.parse
import zlib
from base64 import b64decode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.requests import ClientDisconnect

from .errors import InvalidEvents, InvalidPayload, PayloadTooLarge, UnsupportedEncoding
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


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, size-checked as sent and after gzip decompression."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body is {int(declared):,} bytes; the limit is {limit:,} (max_body_bytes)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"request body is over the limit of {limit:,} bytes (max_body_bytes)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InvalidPayload("the client went away before the whole body arrived; nothing was stored") from None
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    compression = (request.query_params.get("compression") or "").lower()
    if encoding in ("gzip", "x-gzip") or compression in ("gzip", "gzip-js") or body[:2] == b"\x1f\x8b":
        return gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported; send gzip or plain JSON")
    if compression not in ("", "none"):
        raise UnsupportedEncoding(f"compression={compression!r} is not supported; send gzip or plain JSON")
    return body


def gunzip(body: bytes, limit: int) -> bytes:
    out = bytearray()
    data = body
    while data:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise InvalidPayload(f"body is not valid gzip ({exc})") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise PayloadTooLarge(f"request body is over the limit of {limit:,} bytes after decompression "
                                  f"(max_body_bytes)")
        if not inflater.eof:
            raise InvalidPayload("body is not valid gzip (it ends before the compressed data does)")
        data = inflater.unused_data  # concatenated gzip members
    return bytes(out)


def parse_json(body: bytes):
    if body[:5] == b"data=":  # posthog-js form posts: data=<JSON or base64 JSON>
        values = urllib.parse.parse_qs(body.decode("latin-1")).get("data") or [""]
        raw = values[0]
        body = raw.encode("utf-8") if raw.lstrip()[:1] in ("{", "[") else _b64(raw)
    if not body.strip():
        raise InvalidPayload("empty request body (expected JSON)")
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidPayload("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise InvalidPayload(f"body is not valid JSON: {exc}") from None


def _b64(text: str) -> bytes:
    try:
        return b64decode(text + "=" * (-len(text) % 4), validate=False)
    except ValueError:
        raise InvalidPayload("data= is neither JSON nor base64-encoded JSON") from None


def find_key(request: Request, data) -> str | None:
    """The write key, wherever the SDK put it."""
    from .app import bearer_token

    key = bearer_token(request) or request.query_params.get("api_key") or request.query_params.get("token")
    if key:
        return key
    first = None
    if isinstance(data, dict):
        for name in ("api_key", "token", "writeKey"):
            if isinstance(data.get(name), str):
                return data[name]
        batch = data.get("batch")
        first = batch[0] if isinstance(batch, list) and batch else None
    elif isinstance(data, list) and data:
        first = data[0]
    if isinstance(first, dict):
        props = first.get("properties")
        for value in (first.get("api_key"), first.get("writeKey"),
                      props.get("token") if isinstance(props, dict) else None):
            if isinstance(value, str):
                return value
    return None


def respond(batch: Normalized, ok_body: dict) -> JSONResponse:
    if batch.rejected:
        first = batch.rejected[0]["error"]
        more = f" (and {len(batch.rejected) - 1} more)" if len(batch.rejected) > 1 else ""
        raise InvalidEvents(
            f"{len(batch.rejected)} of {batch.received} event(s) rejected: {first}{more}; "
            f"the other {batch.accepted} were stored",
            details={"accepted": batch.accepted, "rejected": batch.rejected[:MAX_REJECTED_LISTED]})
    return JSONResponse({"ok": True, **ok_body, "accepted": batch.accepted})


async def posthog_capture(request: Request):
    server = request.app.state.server
    data = parse_json(await read_body(request, server.settings.max_body_bytes))
    key = find_key(request, data)
    project = server.writer(key)
    batch = project.normalizer.posthog(data, now_us(), key)
    await project.store(batch, "posthog")
    return respond(batch, {"status": 1})


def segment_endpoint(default_type: str | None):
    async def segment_capture(request: Request):
        server = request.app.state.server
        data = parse_json(await read_body(request, server.settings.max_body_bytes))
        key = find_key(request, data)
        project = server.writer(key)
        batch = project.normalizer.segment(data, default_type, now_us(), key)
        await project.store(batch, "segment")
        return respond(batch, {"success": True})

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
