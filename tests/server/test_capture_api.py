"""Capture over HTTP (in-process): bad input → 4xx JSON naming the problem, batch semantics, dedup,
identity merges, gzip, CORS and key isolation between projects."""
from __future__ import annotations

import gzip
import json
import time
import uuid

import pytest

from yyserver_helpers import wait_until


def caught_up(api, name: str):
    project = api.server.projects[name]
    wait_until(lambda: project.ingester.watermark >= project.log.last_seq, 20, what="ingest")
    return project


def query(api, name: str, sql: str, params=()):
    """Read the project's working database through a query cursor (what the query API uses)."""
    project = caught_up(api, name)
    cur = project.live.ws.con.cursor()
    try:
        return cur.execute(sql, list(params)).fetchall()
    finally:
        cur.close()


def post(api, path, body, *, key="alpha", headers=None, raw=False):
    headers = dict(headers or {})
    if key and not raw:
        secret = api.keys[key]["write"]
        if isinstance(body, dict) and path.startswith("/v1/"):
            body = {**body, "writeKey": secret}
        elif isinstance(body, dict):
            body = {**body, "api_key": secret}
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return api.client.post(path, content=data, headers={"Content-Type": "application/json", **headers})


def assert_error_shape(resp, status: int, code: str | None = None, names: str | None = None):
    assert resp.status_code == status, resp.text
    data = resp.json()
    assert data["ok"] is False and data["status"] == status and isinstance(data["error"], str)
    if code:
        assert data["code"] == code, data
    if names:
        assert names in data["error"], data["error"]
    return data


def uid() -> str:
    return str(uuid.uuid4())


BAD_INPUTS = [
    # (id, path, raw body, headers, status, code, text the error must contain)
    ("malformed-json", "/batch/", b'{"api_key": "K", "batch": [', {}, 400, "invalid_payload", "not valid JSON"),
    ("not-utf8", "/capture/", b'\xff\xfe\x00{', {}, 400, "invalid_payload", "not UTF-8"),
    ("nan", "/capture/", b'{"api_key": "K", "event": "e", "distinct_id": "u", "properties": {"x": NaN}}', {},
     400, "invalid_payload", "NaN is not valid JSON"),
    ("empty-body", "/batch/", b"", {}, 400, "invalid_payload", "empty request body"),
    ("batch-not-list", "/batch/", b'{"api_key": "K", "batch": {"event": "e"}}', {}, 400, "invalid_payload",
     "batch: expected a list"),
    ("segment-not-object", "/v1/batch", b'[1, 2]', {"Authorization": "Bearer K"}, 400, "invalid_payload",
     "expected a JSON object"),
    ("missing-event", "/capture/", b'{"api_key": "K", "distinct_id": "u"}', {}, 400, "invalid_events",
     "event: missing"),
    ("missing-id", "/capture/", b'{"api_key": "K", "event": "e"}', {}, 400, "invalid_events",
     "distinct_id: missing"),
    ("wrong-type", "/capture/", b'{"api_key": "K", "event": ["e"], "distinct_id": "u"}', {}, 400,
     "invalid_events", "event: expected a string"),
    ("future", "/capture/", b'{"api_key": "K", "event": "e", "distinct_id": "u", "timestamp": "2099-01-01T00:00:00Z"}',
     {}, 400, "invalid_events", "ahead of the server clock"),
    ("segment-missing-ids", "/v1/track", b'{"writeKey": "K", "event": "e"}', {}, 400, "invalid_events",
     "userId/anonymousId: missing"),
    ("too-large", "/batch/", b'{"api_key": "K", "batch": [], "pad": "' + b"x" * 300_000 + b'"}', {}, 413,
     "payload_too_large", "max_body_bytes"),
    ("gzip-bomb", "/batch/", gzip.compress(b'{"api_key": "K", "pad": "' + b"x" * 400_000 + b'"}'),
     {"Content-Encoding": "gzip"}, 413, "payload_too_large", "after decompression"),
    ("bad-gzip", "/batch/", b"\x1f\x8b\x08\x00garbage", {"Content-Encoding": "gzip"}, 400, "invalid_payload",
     "not valid gzip"),
    ("brotli", "/batch/", b"{}", {"Content-Encoding": "br"}, 415, "unsupported_encoding", "Content-Encoding 'br'"),
    ("too-many-events", "/batch/", json.dumps({"api_key": "K", "batch": [{"event": "e", "distinct_id": "u"}] * 51})
     .encode(), {}, 413, "payload_too_large", "max_batch_events"),
    ("unknown-key", "/capture/", b'{"api_key": "yyw_nope_nope", "event": "e", "distinct_id": "u"}', {}, 401,
     "invalid_api_key", "unknown or revoked API key"),
    ("no-key", "/capture/", b'{"event": "e", "distinct_id": "u"}', {}, 401, "missing_api_key", "no API key"),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
def test_bad_input_is_a_4xx_json_error_naming_the_problem(api, case):
    _, path, body, headers, status, code, text = case
    key = api.keys["alpha"]["write"]
    body = body.replace(b'"K"', json.dumps(key).encode())
    headers = {k: v.replace("Bearer K", f"Bearer {key}") for k, v in headers.items()}
    before = api.server.projects["alpha"].log.last_seq
    resp = api.client.post(path, content=body, headers={"Content-Type": "application/json", **headers})
    assert_error_shape(resp, status, code, text)
    if code != "invalid_events":  # a request refused as a whole stores nothing
        assert api.server.projects["alpha"].log.last_seq == before


def test_read_token_cannot_capture_and_write_key_cannot_query(api):
    resp = api.client.post("/capture/", json={"api_key": api.keys["alpha"]["read"], "event": "e", "distinct_id": "u"})
    assert_error_shape(resp, 403, "wrong_key_kind", "read token")
    resp = api.client.get("/api/status", headers={"Authorization": f"Bearer {api.keys['alpha']['write']}"})
    assert_error_shape(resp, 403, "wrong_key_kind", "write key")
    assert_error_shape(api.client.get("/api/status"), 401, "missing_api_key")


def test_batches_are_per_event(api):
    good1, good2 = uid(), uid()
    resp = post(api, "/batch/", {"batch": [
        {"event": "a", "distinct_id": "p1", "uuid": good1},
        {"event": "b", "distinct_id": "p1", "timestamp": "not a time"},
        {"event": "c", "distinct_id": "p1", "uuid": good2},
    ]})
    data = assert_error_shape(resp, 400, "invalid_events", "batch[1]: timestamp")
    assert data["details"]["accepted"] == 2
    assert [r["index"] for r in data["details"]["rejected"]] == [1]
    stored = query(api, "alpha", "SELECT event FROM events WHERE event_uuid IN (?, ?) ORDER BY event", (good1, good2))
    assert stored == [("a",), ("c",)]


def test_same_event_twice_is_stored_once(api):
    e1, m1 = uid(), uid()
    event = {"event": "dup", "distinct_id": "d1", "uuid": e1, "timestamp": "2026-03-01T00:00:00Z"}
    for _ in range(2):
        assert post(api, "/capture/", event).status_code == 200
    assert post(api, "/batch/", {"batch": [event, event]}).status_code == 200
    msg = {"type": "track", "event": "dup", "userId": "d2", "messageId": m1, "timestamp": "2026-03-01T00:00:00Z"}
    for _ in range(2):
        assert post(api, "/v1/batch", {"batch": [msg]}).status_code == 200
    assert query(api, "alpha", "SELECT count(*) FROM events WHERE event_uuid IN (?, ?)", (e1, m1)) == [(2,)]


def test_gzip_bodies_are_accepted(api):
    e = uid()
    body = gzip.compress(json.dumps({"api_key": api.keys["alpha"]["write"],
                                     "batch": [{"event": "gz", "distinct_id": "g", "uuid": e}]}).encode())
    resp = api.client.post("/batch/", content=body, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.json() == {"ok": True, "status": 1, "accepted": 1}
    body = gzip.compress(json.dumps({"writeKey": api.keys["alpha"]["write"],
                                     "batch": [{"type": "track", "event": "gz2", "userId": "g", "messageId": e + "s"}]
                                     }).encode())
    resp = api.client.post("/v1/batch", content=body, headers={"Content-Encoding": "gzip"})
    assert resp.status_code == 200 and resp.json()["success"] is True
    assert query(api, "alpha", "SELECT count(*) FROM events WHERE event IN ('gz', 'gz2')") == [(2,)]


def test_posthog_js_form_post_and_query_token(api):
    payload = json.dumps([{"event": "js", "properties": {"distinct_id": "w1", "token": api.keys["alpha"]["write"]}}])
    import base64

    body = "data=" + base64.b64encode(payload.encode()).decode()
    resp = api.client.post("/e/", content=body.encode(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status_code == 200, resp.text
    assert query(api, "alpha", "SELECT distinct_id, properties FROM events WHERE event = 'js'") == [("w1", None)]


def test_identify_and_alias_merge_anonymous_ids_into_users(api):
    ts = "2026-04-01T00:00:00Z"
    assert post(api, "/batch/", {"batch": [
        {"event": "view", "distinct_id": "anon-A", "timestamp": ts, "uuid": uid()},
        {"event": "view", "distinct_id": "anon-B", "timestamp": ts, "uuid": uid()},
        {"event": "$identify", "distinct_id": "user-A", "properties": {"$anon_distinct_id": "anon-A"}},
    ]}).status_code == 200
    assert post(api, "/v1/alias", {"previousId": "anon-B", "userId": "user-B"}).status_code == 200
    assert post(api, "/v1/batch", {"batch": [
        {"type": "track", "event": "view", "anonymousId": "anon-C", "timestamp": ts, "messageId": uid()},
        {"type": "identify", "anonymousId": "anon-C", "userId": "user-C"},
    ]}).status_code == 200
    got = dict(query(api, "alpha", "SELECT distinct_id, user_id FROM events WHERE distinct_id LIKE 'anon-%'"))
    assert got == {"anon-A": "user-A", "anon-B": "user-B", "anon-C": "user-C"}
    # A later event of the anonymous id goes to the user at once.
    assert post(api, "/capture/", {"event": "later", "distinct_id": "anon-A", "timestamp": ts}).status_code == 200
    assert query(api, "alpha", "SELECT user_id FROM events WHERE event = 'later'") == [("user-A",)]


def test_typed_columns_and_time_zone(api):
    e = uid()
    assert post(api, "/capture/", {"event": "purchase", "distinct_id": "tz", "uuid": e,
                                   "timestamp": "2026-05-01T08:00:00",  # alpha's import zone: Asia/Shanghai
                                   "properties": {"$utm_source": "baidu", "revenue": 9.9, "color": "red"}}
                ).status_code == 200
    row = query(api, "alpha", "SELECT ts, utm_source, revenue, properties FROM events WHERE event_uuid = ?", (e,))
    assert str(row[0][0]) == "2026-05-01 00:00:00" and row[0][1:] == ("baidu", 9.9, '{"color":"red"}')


def test_cors_preflight_on_capture_paths_only(api):
    resp = api.client.options("/batch/", headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"})
    assert resp.status_code == 204 and resp.headers["access-control-allow-origin"] == "*"
    resp = post(api, "/capture/", {"event": "c", "distinct_id": "c"})
    assert resp.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-origin" not in api.client.get("/api/health").headers


def test_a_key_of_one_project_neither_reads_nor_writes_another(api):
    e = uid()
    resp = post(api, "/capture/", {"event": "beta-only", "distinct_id": "b", "uuid": e}, key="beta")
    assert resp.status_code == 200
    assert query(api, "beta", "SELECT count(*) FROM events WHERE event_uuid = ?", (e,)) == [(1,)]
    assert query(api, "alpha", "SELECT count(*) FROM events WHERE event_uuid = ?", (e,)) == [(0,)]
    # alpha's read token sees alpha; asking for beta does not switch projects
    for name in ("alpha", "beta"):
        headers = {"Authorization": f"Bearer {api.keys[name]['read']}", "X-Yunying-Project": "alpha"}
        assert api.client.get("/api/status", headers=headers).json()["project"] == name
    body = {"event": "beta-only", "interval": "day"}
    a = api.client.post("/api/query/trends", json=body, headers={"Authorization": f"Bearer {api.keys['alpha']['read']}"})
    b = api.client.post("/api/query/trends", json=body, headers={"Authorization": f"Bearer {api.keys['beta']['read']}"})
    assert sum(r["value"] for r in a.json()["series"]) == 0
    assert sum(r["value"] for r in b.json()["series"]) == 1


def test_revoked_key_stops_working(api):
    project = api.server.projects["beta"]
    info, secret = project.keys.create("write", "temporary")
    assert api.client.post("/capture/", json={"api_key": secret, "event": "e", "distinct_id": "u"}).status_code == 200
    project.keys.revoke(info.id)
    time.sleep(1.1)  # a running server honours revocations within the key cache time (1 s)
    resp = api.client.post("/capture/", json={"api_key": secret, "event": "e", "distinct_id": "u"})
    assert_error_shape(resp, 401, "invalid_api_key")


def test_unknown_paths_and_methods_are_json_errors(api):
    assert_error_shape(api.client.get("/nope"), 404, "not_found", "no such endpoint")
    assert_error_shape(api.client.get("/batch/"), 405, "method_not_allowed")


def test_published_snapshot_is_readable_by_other_processes(api):
    """While the server owns the workspace, yunying.duckdb is a read-only snapshot other processes can open,
    and a writer is refused at once. (Another process: POSIX locks do not conflict within one.)"""
    import subprocess
    import sys

    e = uid()
    assert post(api, "/capture/", {"event": "snap", "distinct_id": "s", "uuid": e}).status_code == 200
    project = caught_up(api, "alpha")
    wait_until(lambda: project.live.published_seq >= project.ingester.watermark, 20, what="a published snapshot")
    code = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(con.execute('SELECT count(*) FROM events WHERE event_uuid = ?', [sys.argv[2]]).fetchall()[0][0])\n"
        "con.close()\n"
        "try:\n    duckdb.connect(sys.argv[1])\nexcept duckdb.IOException as exc:\n    print('refused', 'lock' in str(exc))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(api.alpha / "yunying.duckdb"), e], capture_output=True,
                         text=True, timeout=60)
    assert out.stdout.split() == ["1", "refused", "True"], out.stdout + out.stderr
