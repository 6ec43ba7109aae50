"""Issue #19 item 12: SIGTERM cleans up server.json, /?token= checks the token, security headers, the
API docs work offline, and a client that stops sending is answered and let go."""
from __future__ import annotations

import re
import socket
import time
import urllib.parse

import pytest

from yyserver_helpers import ServerProcess, create_key, make_workspace


def test_sigterm_removes_server_json(tmp_path):
    ws = make_workspace(tmp_path / "term")
    server = ServerProcess(ws).start()
    info = ws / "server.json"
    assert info.exists() and server.info["admin_token"]
    server.stop()  # SIGTERM
    assert not info.exists(), "server.json (with the admin token) left behind after SIGTERM"
    assert not (ws / "capture" / "live").exists()  # and the database was put back


def test_token_in_the_address_is_checked_before_it_becomes_a_cookie(api):
    r = api.client.get("/?token=yyr_not_a_token", follow_redirects=False)
    assert "yy_token" not in r.headers.get("set-cookie", "")
    assert r.status_code == 401 and 'id="login-error"' in r.text
    write_key = api.keys["alpha"]["write"]
    r = api.client.get(f"/trends?token={write_key}", follow_redirects=False)
    assert r.status_code == 401 and "yy_token" not in r.headers.get("set-cookie", "")
    good = api.keys["alpha"]["read"]
    r = api.client.get(f"/trends?token={good}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/trends"
    assert "yy_token=" in r.headers["set-cookie"] and "httponly" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize("path", ["/", "/login", "/api/docs", "/api/health", "/openapi.json", "/static/app.js"])
def test_security_headers(api, path):
    r = api.client.get(path, follow_redirects=False)
    csp = r.headers.get("content-security-policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-eval" not in csp
    assert r.headers.get("x-frame-options") == "DENY"
    assert r.headers.get("x-content-type-options") == "nosniff"


def test_api_docs_load_nothing_from_another_site(api):
    r = api.client.get("/api/docs")
    assert r.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs, r.text
    for ref in refs:
        assert ref.startswith("/"), f"{ref} is not served by this server"
        asset = api.client.get(ref)
        assert asset.status_code == 200, ref
        assert len(asset.content) > 100, ref
    assert "<script>" not in r.text  # no inline script: the CSP forbids it
    init = [ref for ref in refs if ref.endswith(".js") and "init" in ref]
    assert init and "/openapi.json" in api.client.get(init[0]).text


def test_a_client_that_stops_sending_is_answered_408_and_let_go(tmp_path):
    ws = make_workspace(tmp_path / "slow")
    key = create_key(ws, "write")
    with ServerProcess(ws, settings=("read_timeout=1",)) as server:
        parsed = urllib.parse.urlsplit(server.url)
        for path in ("/batch/", "/api/query/trends", f"/api/import/events?filename=a.csv"):
            sock = socket.create_connection((parsed.hostname, parsed.port), timeout=20)
            token = key if not path.startswith("/api/query") else server.info["admin_token"]
            sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                         f"Authorization: Bearer {token}\r\nContent-Length: 1000\r\n\r\n{{\"batch\": [".encode())
            t0 = time.monotonic()
            answer = b""
            while True:  # the server answers, then closes the connection
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
            took = time.monotonic() - t0
            sock.close()
            assert answer.startswith(b"HTTP/1.1 408"), (path, answer[:200])
            assert b'"code":"request_timeout"' in answer
            assert took < 10, f"{path}: held {took:.1f} s"


def test_a_client_that_stops_sending_headers_is_let_go(tmp_path):
    ws = make_workspace(tmp_path / "slowloris")
    with ServerProcess(ws, settings=("read_timeout=1",)) as server:
        parsed = urllib.parse.urlsplit(server.url)
        first = socket.create_connection((parsed.hostname, parsed.port), timeout=20)
        # A whole request, then the start of a second one on the same connection that never ends.
        first.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        assert first.recv(65536).startswith(b"HTTP/1.1 200")
        half = socket.create_connection((parsed.hostname, parsed.port), timeout=20)
        t0 = time.monotonic()
        half.sendall(b"POST /batch/ HTTP/1.1\r\nHost: x\r\n")  # headers never end
        first.sendall(b"GET /api/health HTTP/1.1\r\nHo")
        for sock in (half, first):
            while sock.recv(65536):  # until the server closes it
                pass
            sock.close()
        took = time.monotonic() - t0
        assert took < 8, f"held {took:.1f} s"
