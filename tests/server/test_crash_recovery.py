"""kill -9 the server while events stream in; after a restart every acknowledged event is stored, once."""
from __future__ import annotations

import http.client
import json
import threading
import urllib.parse

import duckdb

from yyserver_helpers import ServerProcess, create_key, make_workspace, wait_until


class Stream(threading.Thread):
    """Sends batches until the server goes away; remembers which events were acknowledged."""

    def __init__(self, url: str, key: str, name: str, batch: int = 40):
        super().__init__(daemon=True)
        parsed = urllib.parse.urlsplit(url)
        self.host, self.port, self.key, self.name, self.batch = parsed.hostname, parsed.port, key, name, batch
        self.acked: list[str] = []
        self.sent = 0
        self.stop = threading.Event()

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        n = 0
        while not self.stop.is_set():
            ids = [f"{self.name}-{n}-{i}" for i in range(self.batch)]
            body = json.dumps({"api_key": self.key, "batch": [
                {"event": "tick", "distinct_id": f"{self.name}-u{i % 7}", "uuid": e, "properties": {"i": i}}
                for i, e in enumerate(ids)]})
            self.sent += len(ids)
            try:
                conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
            except (OSError, http.client.HTTPException):
                return  # the server is gone: whatever was not answered 2xx was not acknowledged
            if resp.status == 200:
                self.acked += ids
            n += 1


def stored_ids(ws) -> list[str]:
    con = duckdb.connect(str(ws / "yunying.duckdb"), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT event_uuid FROM events").fetchall()]
    finally:
        con.close()


def test_kill_9_loses_no_acknowledged_event(tmp_path):
    ws = make_workspace(tmp_path / "crashy")
    key = create_key(ws, "write")
    # No snapshot is published before the kill: everything must come back from the capture log.
    server = ServerProcess(ws, settings=("publish_interval=600",)).start()
    streams = [Stream(server.url, key, f"s{i}") for i in range(3)]
    for s in streams:
        s.start()
    wait_until(lambda: sum(len(s.acked) for s in streams) > 3000, 60, what="events to flow")
    server.kill()  # SIGKILL, mid-stream
    for s in streams:
        s.join(timeout=30)
    acked = [e for s in streams for e in s.acked]
    assert len(acked) > 3000
    assert not set(acked) & set(stored_ids(ws)), "the snapshot should predate the stream"

    # Restart: the capture log replays what the database had not taken in yet; then a graceful stop.
    with ServerProcess(ws) as again:
        client = again.client()
        # The log is replayed in the background while the server already takes requests.
        wait_until(lambda: client.status()["ingested_seq"] >= client.status()["captured_seq"], 60,
                   what="the capture log replay")
        # The server takes new events after the crash, too.
        after = Stream(again.url, key, "after", batch=5)
        after.start()
        wait_until(lambda: len(after.acked) >= 50, 30, what="events after the restart")
        after.stop.set()
        after.join(timeout=30)
    ids = stored_ids(ws)
    assert len(ids) == len(set(ids)), "an event was stored twice"
    missing = set(acked) - set(ids)
    assert not missing, f"{len(missing)} acknowledged events lost, e.g. {sorted(missing)[:3]}"
    assert set(after.acked) <= set(ids)
    assert not (ws / "capture" / "live").exists()  # a graceful stop puts the database back in place


def test_a_second_server_on_the_same_workspace_is_refused(tmp_path):
    from yyserver_helpers import run_cli

    ws = make_workspace(tmp_path / "single")
    with ServerProcess(ws) as server:
        out = run_cli("serve", "--workspace", str(ws), "--port", "0", timeout=120)
        assert out.returncode == 1
        assert "already serves" in out.stderr and str(server.pid) in out.stderr
        assert server.client().status()["project"] == "single"
