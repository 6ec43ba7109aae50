"""Fuzzing the HTTP API: never a 5xx, always the documented contract (issue #19, "done when").

* schemathesis generates requests, bodies included, from /openapi.json (in-process, ASGI) and checks
  every operation: no server error, only documented status codes and content types, responses that match
  their schemas (errors: ``{ok, error, code, status}``);
* hypothesis throws raw bodies at capture (random bytes, gzip, form posts, JSON of any shape, events
  with hostile values, lone surrogates) and random specs at the query endpoints.

Requests carry a valid key (capture: a write key; everything else: a read token) so generation reaches
past auth. Each test stands alone: a 5xx fails the test that met it, with the server's one-line log of
where it came from.
"""
from __future__ import annotations

import atexit
import gzip
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                status_code_conformance)

from yyserver_helpers import create_key, make_workspace, wait_until

from yunying.server.app import create_app
from yunying.server.capture import CAPTURE_PATHS
from yunying.server.settings import ServerSettings

# Built at import: schemathesis reads the schema when the module loads (a workspace costs little).
_ROOT = Path(tempfile.mkdtemp(prefix="yy-fuzz-"))
atexit.register(shutil.rmtree, _ROOT, True)
_WS = make_workspace(_ROOT / "fuzz", timezone="Asia/Shanghai")
KEYS = {"write": create_key(_WS, "write"), "read": create_key(_WS, "read")}
SETTINGS = ServerSettings(query_timeout=2.0, publish_interval=1.0, max_body_bytes=1_000_000)
APP = create_app([_WS], SETTINGS)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
ANALYSES = r"^/api/(query|chart)/"
CONTRACT = [status_code_conformance, content_type_conformance, response_schema_conformance]


class ServerLog(logging.Handler):
    """The server's error lines (one per 500: the request, the exception and where it was raised)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


LOG = ServerLog()
logging.getLogger("yunying.server").addHandler(LOG)


def no_server_error(response, what: str) -> None:
    if response.status_code >= 500:
        raise AssertionError(f"{response.status_code} on {what}: {response.text[:300]}\n"
                             f"server log: {LOG.lines[-1:] or '-'}")
    if response.status_code >= 400:
        data = response.json()
        assert data["ok"] is False and data["status"] == response.status_code and data["code"], data


def _call(case):
    kind = "write" if not case.path.startswith("/api/") or case.path.startswith("/api/import/") else "read"
    response = case.call(headers={"Authorization": f"Bearer {KEYS[kind]}"})
    no_server_error(response, f"{case.method} {case.path}\n{case.as_curl_command()}")
    case.validate_response(response, checks=[not_a_server_error, *CONTRACT])


@schema.exclude(path_regex=ANALYSES).parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_capture_saved_and_meta_endpoints_keep_their_contract(case):
    _call(case)


@schema.include(path_regex=r"^/api/query/").parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_query_endpoints_keep_their_contract(case):
    """Each query runs a whole analysis, so fewer examples; /api/chart/* shares this code path."""
    _call(case)


# -- raw bodies (hypothesis) ---------------------------------------------------------------------------
SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2 ** 70, max_value=2 ** 70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30)
           | st.sampled_from(["", " ", "2026-05-01T12:00:00Z", "20260601", "1e400", "1e300", "-1", "9" * 30,
                              "2026-13-45", "1,299.50", "NaN", "\u0000", "🙂", "用户"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
EVENT_KEYS = ["event", "distinct_id", "timestamp", "offset", "uuid", "properties", "$set", "type", "userId",
              "anonymousId", "messageId", "previousId", "context", "name", "category", "sent_at", "api_key"]
PROPERTY_KEYS = ["revenue", "amount", "$utm_source", "utm_medium", "channel", "variant", "group", "content_id",
                 "$time", "distinct_id", "$anon_distinct_id", "alias", "token", "$current_url", "x"]
TIMES = st.one_of(st.sampled_from(["2026-05-01T12:00:00Z", "2026-05-01 12:00:00", "20260601", "1970-01-01",
                                   "2099-12-31T23:59:59+14:00", "9999-12-31", "0001-01-01", "1710-01-01",
                                   "2026-02-30", "now", ""]),
                  st.integers(min_value=-2 ** 63, max_value=2 ** 64), st.floats(), st.text(max_size=25))
NAMES = st.sampled_from(["signup", "purchase", "$pageview", "$identify", "$create_alias", "$merge_dangerously",
                         "track", "identify", "page", "screen", "group", "alias"]) | st.text(max_size=20)
VALUES = {"event": NAMES, "type": NAMES, "timestamp": TIMES, "offset": TIMES, "sent_at": TIMES,
          "distinct_id": st.text(max_size=10) | JSON, "userId": st.text(max_size=10) | JSON,
          "anonymousId": st.text(max_size=10) | JSON, "previousId": st.text(max_size=10)}
PROPERTIES = st.dictionaries(st.sampled_from(PROPERTY_KEYS) | st.text(max_size=8),
                             JSON | TIMES | st.just(1e308) | st.just(-0.0), max_size=6)
EVENT = st.fixed_dictionaries({}, optional={
    k: (PROPERTIES if k in ("properties", "context", "$set") else VALUES.get(k, JSON)) for k in EVENT_KEYS})
EVENTS = st.lists(EVENT, max_size=5)


SHAPED = st.one_of(  # "KEY" is replaced by the write key of the workspace under test
    EVENTS.map(lambda b: {"api_key": "KEY", "batch": b}),
    EVENTS.map(lambda b: {"writeKey": "KEY", "batch": b}),
    EVENT.map(lambda e: {**e, "api_key": "KEY"}),
    JSON,
)
TRANSFORMS = {
    "plain": lambda b: b,
    "gzip": gzip.compress,
    "form": lambda b: b"data=" + b,
    "lone surrogate": lambda b: b.replace(b"e", b"\\ud800", 1),
    "cut short": lambda b: b[: len(b) // 2],
}
REQUEST = st.tuples(st.sampled_from(sorted(CAPTURE_PATHS)), SHAPED | st.binary(max_size=200),
                    st.sampled_from(sorted(TRANSFORMS)), st.sampled_from([None, "gzip", "br"]),
                    st.sampled_from(["", "compression=gzip-js"]), st.booleans())


@pytest.fixture(scope="module")
def raw():
    """A second app (its own workspace and keys) for the hypothesis tests, lifespan started."""
    from fastapi.testclient import TestClient

    ws = make_workspace(_ROOT / "raw", timezone="America/New_York")
    keys = {"write": create_key(ws, "write"), "read": create_key(ws, "read")}
    app = create_app([ws], SETTINGS)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.yy_keys = keys
        test_client.yy_project = app.state.server.projects["raw"]
        yield test_client


def send(raw, path, value, transform, encoding, query, key_in_header) -> int:
    key = raw.yy_keys["write"]
    body = value if isinstance(value, bytes) else TRANSFORMS[transform](
        json.dumps(value).replace('"KEY"', json.dumps(key)).encode())
    headers = {"Content-Type": "application/json"}
    if key_in_header:
        headers["Authorization"] = f"Bearer {key}"
    if encoding:
        headers["Content-Encoding"] = encoding
    response = raw.post(f"{path}?{query}" if query else path, content=body, headers=headers)
    no_server_error(response, f"POST {path} ({transform}, {encoding}) {body[:300]!r}")
    return response.json().get("accepted", 0) if response.status_code == 200 else 0


@given(requests=st.lists(REQUEST, min_size=1, max_size=25))
@settings(max_examples=int(os.environ.get("YY_FUZZ_EXAMPLES", 12)), deadline=None,
          suppress_health_check=list(HealthCheck))
def test_capture_never_answers_a_server_error(raw, requests):
    """No 5xx, and every accepted event can be ingested (no batch set aside in capture_failed)."""
    project = raw.yy_project
    for request in requests:
        send(raw, *request)
    caught_up = lambda: project.ingester.watermark >= project.log.last_seq  # noqa: E731
    wait_until(caught_up, 60, what="ingest")
    assert project.ingester.failed_batches == 0, f"{project.log.failures()} batch(es) could not be ingested"


def test_the_capture_fuzzer_reaches_storage(raw):
    """The generated requests are not all refused at the door: a plain valid batch is among them."""
    batch = [{"event": "fuzz", "distinct_id": "u1", "properties": {"revenue": "1,299.50", "$utm_source": "x"}}]
    assert send(raw, "/batch/", {"api_key": "KEY", "batch": batch}, "gzip", "gzip", "", False) == 1


DATES = st.sampled_from(["2026-05-01", "2026-05-31", "1970-01-01", "2099-12-31", "9999-12-31", "0001-01-01",
                         "2026-02-30", "-7d", "today", ""]) | st.text(max_size=12)
FIELD_VALUES = {
    "event": NAMES, "start_event": NAMES, "return_event": NAMES, "property": st.sampled_from(PROPERTY_KEYS),
    "steps": st.lists(NAMES | JSON, max_size=6), "exclusions": st.lists(NAMES, max_size=3),
    "interval": st.sampled_from(["hour", "day", "week", "month", "quarter", "year", "x"]),
    "period": st.sampled_from(["day", "week", "month", "x"]), "measure": st.sampled_from(
        ["events", "users", "sum", "avg", "x"]), "by": st.sampled_from(PROPERTY_KEYS) | JSON,
    "date_from": DATES, "date_to": DATES, "start": DATES, "end": DATES, "window": st.sampled_from(
        ["7d", "1h", "0d", "100000d", "-1d", "x"]) | JSON,
    "formula": st.sampled_from(["A/B", "A*100", "A/0", "(A", "A" + "+A" * 300]) | st.text(max_size=20),
    "top": st.integers(min_value=-5, max_value=10 ** 12), "periods": st.integers(min_value=-5, max_value=10 ** 9),
    "depth": st.integers(min_value=-5, max_value=10 ** 9),
}
SPEC_FIELDS = sorted(set(FIELD_VALUES) | {"active", "series", "compare", "order", "value", "metrics", "variant",
                                         "total", "days", "lookback_days"})
SPEC = st.dictionaries(st.sampled_from(SPEC_FIELDS), JSON, max_size=5).flatmap(
    lambda d: st.fixed_dictionaries({k: FIELD_VALUES.get(k, st.just(v)) for k, v in d.items()}))
KINDS = ["trends", "funnel", "retention", "lifecycle", "stickiness", "paths", "overview", "new_users", "revenue"]


@given(kind=st.sampled_from(KINDS), spec=SPEC, chart=st.booleans())
@settings(max_examples=int(os.environ.get("YY_FUZZ_EXAMPLES", 60)), deadline=None, suppress_health_check=list(HealthCheck))
def test_query_never_answers_a_server_error(raw, kind, spec, chart):
    response = raw.post(f"/api/{'chart' if chart else 'query'}/{kind}", content=json.dumps(spec).encode(),
                        headers={"Content-Type": "application/json",
                                 "Authorization": f"Bearer {raw.yy_keys['read']}"})
    no_server_error(response, f"POST /api/{kind} {json.dumps(spec)[:300]}")

