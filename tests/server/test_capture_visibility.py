"""Issue 18 item 4: an event acknowledged by `yunying serve` is in the command line's answers at once (the command
asks the server for a snapshot instead of waiting for the next periodic one), and after a server died with events
still in the capture log a command says so and `yunying ingest` moves them in."""
from __future__ import annotations

import json
import time

from yyserver_helpers import ServerProcess, create_key, make_workspace, run_cli, wait_until


def _send(server: ServerProcess, key: str, tag: str, n: int) -> None:
    import http.client
    import urllib.parse

    u = urllib.parse.urlsplit(server.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    body = json.dumps({"api_key": key, "batch": [
        {"event": "tick", "distinct_id": f"{tag}-u{i}", "uuid": f"00000000-0000-4000-8000-{tag}{i:011d}"[:36],
         "timestamp": "2026-01-05T10:00:00Z"} for i in range(n)]})
    conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200, resp.read()
    resp.read()  # acknowledged: durably in the capture log


def _ticks(ws, *, expect_note: bool | None = None) -> int:
    out = run_cli("trends", "-w", str(ws), "-e", "tick", "-m", "count", "--from", "2026-01-05", "--to",
                  "2026-01-05", "-f", "json")
    assert out.returncode == 0, out.stderr
    if expect_note is not None:
        assert ("yunying ingest" in out.stderr) == expect_note, out.stderr
    data = json.loads(out.stdout)
    return int(sum(r["value"] or 0 for r in data["series"]))


def test_acknowledged_events_are_in_the_next_command(tmp_path):
    ws = make_workspace(tmp_path / "live")
    key = create_key(ws, "write")
    # No periodic snapshot during the test: what the command sees comes from its own request.
    with ServerProcess(ws, settings=("publish_interval=600",)) as server:
        _send(server, key, "1", 7)
        assert _ticks(ws, expect_note=False) == 7
        _send(server, key, "2", 5)
        t0 = time.monotonic()
        assert _ticks(ws, expect_note=False) == 12
        assert time.monotonic() - t0 < 60  # (a bound against hanging, not a speed target: see benchmarks/)
        # The query API answers from the server's working copy, which the ingester fills as requests commit.
        client = server.client(token=create_key(ws, "read"))
        wait_until(lambda: client.status()["ingested_seq"] >= client.status()["captured_seq"], 30,
                   what="the ingester")


def test_a_dead_servers_capture_log_is_reported_and_ingested(tmp_path):
    ws = make_workspace(tmp_path / "dead")
    key = create_key(ws, "write")
    server = ServerProcess(ws, settings=("publish_interval=600",)).start()
    _send(server, key, "3", 9)
    server.kill()  # SIGKILL: the 9 events are acknowledged, in the capture log, in no snapshot
    assert _ticks(ws, expect_note=True) == 0
    out = run_cli("ingest", "-w", str(ws))
    assert out.returncode == 0, out.stderr
    assert "ingested 9 captured event(s)" in out.stdout, out.stdout
    assert _ticks(ws, expect_note=False) == 9
    out = run_cli("ingest", "-w", str(ws))
    assert "nothing to ingest" in out.stdout, out.stdout
    assert not (ws / "capture" / "live").exists()
