"""Ingest, the HTTP side: reading a request body within its limits, decompressing it with a cap and
decoding it as strict UTF-8 JSON, and finding the write key.

Reading (:func:`read_body`) happens on the event loop, a chunk at a time, and stops at the limit.
Decoding (:func:`decode_body`) is CPU work — gunzip, JSON, the Unicode check — and runs in a capture
worker thread, so one large request never holds up the others, ``/api/health`` or the queries.
"""
from __future__ import annotations

import json
import re
import urllib.parse
import zlib
from base64 import b64decode
from typing import AsyncIterator

from starlette.requests import ClientDisconnect, Request

from .auth import bearer_token
from .errors import InvalidPayload, PayloadTooLarge, UnsupportedEncoding
from ..errors import Text

GUNZIP_SLICE = 64 * 1024  # compressed bytes fed to the inflater at a time
# Python's json turns a lone surrogate escape ("\\ud800", half of a UTF-16 pair) into a str that UTF-8
# cannot encode. Any surrogate escape starts so; only then are the parsed strings checked.
_SURROGATE_ESCAPE = ("\\ud", "\\uD")
_SURROGATE = re.compile("[\ud800-\udfff]")


async def read_body(chunks: AsyncIterator[bytes], limit: int, declared: str | None, setting: str) -> bytes:
    """The body as sent, refused (413) as soon as it is known to pass ``limit`` bytes."""
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise PayloadTooLarge(key="ingest.request_body_bytes_limit", declared=int(declared), limit=limit, setting=setting)
    body = bytearray()
    try:
        async for chunk in chunks:
            if len(body) + len(chunk) > limit:
                raise PayloadTooLarge(key="ingest.request_body_over_limit_2", limit=limit, setting=setting)
            body += chunk
    except ClientDisconnect:
        raise InvalidPayload(key="ingest.client_went_away_before") from None
    return bytes(body)


def compression_of(request: Request) -> str:
    """``gzip`` or ``""`` from the headers and query; 415 for anything else (checked before reading)."""
    encoding = request.headers.get("content-encoding", "").strip().lower()
    compression = (request.query_params.get("compression") or "").strip().lower()
    if encoding not in ("", "identity", "gzip", "x-gzip"):
        raise UnsupportedEncoding(key="ingest.content_encoding_supported_send", encoding=encoding)
    if compression not in ("", "none", "gzip", "gzip-js"):
        raise UnsupportedEncoding(key="ingest.compression_supported_send_gzip", compression=compression)
    return "gzip" if encoding in ("gzip", "x-gzip") or compression in ("gzip", "gzip-js") else ""


def decode_body(body: bytes, compression: str, limit: int):
    """The JSON value of a capture body (gunzipped when declared or when it starts like gzip)."""
    if compression == "gzip" or body[:2] == b"\x1f\x8b":
        body = gunzip(body, limit)
    return parse_json(body)


def gunzip(body: bytes, limit: int) -> bytes:
    """Inflate (concatenated) gzip members a slice at a time, stopping as soon as ``limit`` is passed."""
    out = bytearray()
    view = memoryview(body)
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    pos = 0
    while True:
        data = inflater.unconsumed_tail or view[pos:pos + GUNZIP_SLICE]
        if not inflater.unconsumed_tail:
            pos += len(data)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise InvalidPayload(key="ingest.body_valid_gzip", exc=exc) from None
        if len(out) > limit:
            raise PayloadTooLarge(key="ingest.request_body_over_limit", limit=limit)
        if inflater.eof:
            rest = inflater.unused_data + bytes(view[pos:])
            if not rest:
                return bytes(out)
            view, pos = memoryview(rest), 0  # the next gzip member
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif pos >= len(view) and not inflater.unconsumed_tail:
            raise InvalidPayload(key="ingest.body_valid_gzip_it")


def _reject_constant(name: str):
    raise ValueError(Text("ingest.valid_json", name=name))


def parse_json(body: bytes):
    """Strict JSON: UTF-8 only (no UTF-16/32, no BOM), no NaN/Infinity, no lone surrogates."""
    if body[:5] == b"data=":  # posthog-js form posts: data=<JSON or base64 JSON>
        values = urllib.parse.parse_qs(body.decode("latin-1")).get("data") or [""]
        raw = values[0]
        body = raw.encode("utf-8") if raw.lstrip()[:1] in ("{", "[") else _b64(raw)
    text = utf8_text(body)
    if not text.strip():
        raise InvalidPayload(key="ingest.empty_request_body_expected")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InvalidPayload(key="ingest.body_valid_json_nested") from None
    except ValueError as exc:  # JSONDecodeError
        raise InvalidPayload(key="ingest.body_valid_json", exc=exc) from None
    if any(escape in text for escape in _SURROGATE_ESCAPE):
        check_unicode(data)
    return data


def utf8_text(body: bytes) -> str:
    if b"\x00" in body:  # never in JSON text; UTF-16 and UTF-32 are full of them
        raise InvalidPayload(key="ingest.body_utf_8_it")
    try:
        return body.decode("utf-8-sig")  # a UTF-8 byte order mark is ignored
    except UnicodeDecodeError as exc:
        raise InvalidPayload(key="ingest.body_utf_8_byte", start=exc.start, reason=exc.reason) from None


def check_unicode(data) -> None:
    """Refuse a lone surrogate (``"\\ud800"``) anywhere in a parsed JSON value, keys included."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            found = _SURROGATE.search(value)
            if found:
                raise InvalidPayload(key="ingest.body_valid_unicode_escape", found=ord(found.group()))


def _b64(text: str) -> bytes:
    try:
        return b64decode(text + "=" * (-len(text) % 4), validate=False)
    except ValueError:
        raise InvalidPayload(key="ingest.data_neither_json_nor") from None


def key_from_request(request: Request) -> str | None:
    """The write key sent outside the body (header, HTTP Basic user, ``?api_key=`` / ``?token=``)."""
    return bearer_token(request) or request.query_params.get("api_key") or request.query_params.get("token")


def key_from_body(data) -> str | None:
    """The write key wherever an SDK puts it in the body."""
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


def check_api_body(body: bytes) -> None:
    """A query or saved-analysis body: UTF-8 and free of lone surrogates (the JSON itself is FastAPI's)."""
    text = utf8_text(body)
    if any(escape in text for escape in _SURROGATE_ESCAPE):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return  # not JSON: FastAPI says so
        check_unicode(data)
