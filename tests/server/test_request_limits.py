"""Issue #19 items 8 and 10: the token is checked before a body is read, every body is limited, and
bad Unicode is a 400 (never a 500); an internal error is logged once, briefly."""
from __future__ import annotations

import json
import logging

import pytest

from asgi_probe import request

MB = 1024 * 1024


def big_chunks(total: int, chunk: int = 64 * 1024):
    """A JSON object of about ``total`` bytes, in chunks."""
    head, tail = b'{"event": "x", "pad": "', b'"}'
    pad = total - len(head) - len(tail)
    body = head + b"a" * pad + tail
    return [body[i:i + chunk] for i in range(0, len(body), chunk)]


@pytest.mark.parametrize("path", ["/api/query/trends", "/api/chart/trends", "/api/saved/analyses",
                                  "/api/saved/dashboards"])
def test_no_token_is_refused_before_the_body_is_read(api, path):
    chunks = big_chunks(20 * MB)
    probe = request(api.app, "POST", path, {"content-type": "application/json",
                                            "content-length": str(sum(map(len, chunks)))}, chunks)
    assert probe.status == 401, probe.body[:300]
    assert probe.json()["code"] == "missing_api_key"
    assert probe.bytes_read == 0


def test_a_bad_token_is_refused_before_the_body_is_read(api):
    chunks = big_chunks(5 * MB)
    probe = request(api.app, "PUT", "/api/saved/analyses/abc", {"content-type": "application/json",
                                                                "authorization": "Bearer yyr_nope_nope"}, chunks)
    assert probe.status == 401 and probe.json()["code"] == "invalid_api_key"
    assert probe.bytes_read == 0


@pytest.mark.parametrize("declared", [True, False])
def test_api_bodies_are_limited(api, declared):
    limit = api.server.settings.max_request_bytes
    chunks = big_chunks(limit + 10 * MB)
    headers = {"content-type": "application/json", "authorization": f"Bearer {api.keys['alpha']['read']}"}
    if declared:
        headers["content-length"] = str(sum(map(len, chunks)))
    probe = request(api.app, "POST", "/api/query/trends", headers, chunks)
    assert probe.status == 413, probe.body[:300]
    data = probe.json()
    assert data["ok"] is False and data["code"] == "payload_too_large" and data["status"] == 413
    assert "max_request_bytes" in data["error"]
    # Declared too large: nothing read; streamed: no more than the limit and one chunk.
    assert probe.bytes_read <= (0 if declared else limit + 64 * 1024)


def test_a_body_under_the_limit_still_works(api):
    token = api.keys["alpha"]["read"]
    r = api.client.post("/api/query/trends", json={"event": "x"}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text


# -- item 10: Unicode ---------------------------------------------------------------------------------------
LONE = [b'"\\ud800"', b'"\\udfff"', b'"a\\uDC00b"', b'"\\ud83d\\u0041"']


@pytest.mark.parametrize("lone", LONE)
def test_lone_surrogate_in_the_capture_key_is_a_400(api, lone):
    r = api.client.post("/batch/", content=b'{"api_key": ' + lone + b', "batch": [{"event": "e", '
                                                                     b'"distinct_id": "u"}]}',
                        headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_payload" and "surrogate" in r.json()["error"]


@pytest.mark.parametrize("lone", LONE)
def test_lone_surrogate_in_an_event_is_a_400(api, lone):
    key = api.keys["alpha"]["write"]
    body = b'{"api_key": "' + key.encode() + b'", "batch": [{"event": ' + lone + b', "distinct_id": "u"}]}'
    r = api.client.post("/batch/", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert "surrogate" in r.json()["error"]


def test_a_valid_surrogate_pair_is_fine(api):
    key = api.keys["alpha"]["write"]
    body = b'{"api_key": "' + key.encode() + b'", "batch": [{"event": "smile \\ud83d\\ude00", "distinct_id": "u"}]}'
    r = api.client.post("/batch/", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("path,body", [
    ("/api/query/trends", b'{"event": "\\ud800"}'),
    ("/api/saved/analyses", b'{"name": "\\udc00", "kind": "trends", "spec": {}}'),
    ("/api/saved/dashboards", b'{"name": "x\\ud800", "items": []}'),
])
def test_lone_surrogate_in_an_api_body_is_a_400(api, path, body):
    token = api.keys["alpha"]["read"]
    r = api.client.post(path, content=body, headers={"Content-Type": "application/json",
                                                     "Authorization": f"Bearer {token}"})
    assert r.status_code == 400, r.text
    assert "surrogate" in r.json()["error"]


@pytest.mark.parametrize("path", ["/batch/", "/api/query/trends"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_a_body_that_is_not_utf8_is_a_400(api, path, encoding):
    if path == "/batch/":
        data, token = {"api_key": api.keys["alpha"]["write"], "batch": [{"event": "e", "distinct_id": "u"}]}, None
    else:
        data, token = {"event": "x"}, api.keys["alpha"]["read"]
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = api.client.post(path, content=json.dumps(data).encode(encoding), headers=headers)
    assert r.status_code == 400, r.text
    assert "UTF-8" in r.json()["error"]


def test_an_internal_error_is_logged_once_and_briefly(api, monkeypatch, caplog):
    project = api.server.projects["alpha"]

    def broken():
        raise RuntimeError("boom " * 4000)

    monkeypatch.setattr(project, "status", broken)
    headers = {"authorization": f"Bearer {api.keys['alpha']['read']}"}
    with caplog.at_level(logging.INFO):
        probe = request(api.app, "GET", "/api/status", headers)  # would raise if the error escaped the app
    assert probe.status == 500
    assert probe.json()["code"] == "internal_error"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, [r.getMessage()[:100] for r in errors]
    text = caplog.text
    assert "RuntimeError" in text and "GET /api/status" in text
    assert len(text) < 1500, f"{len(text)} bytes logged for one error"
