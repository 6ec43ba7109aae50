"""Issue #19 item 13: after a crash the server takes (and durably acknowledges) new events while it is
still replaying the capture log, so an SDK retrying across the restart is not turned away."""
from __future__ import annotations

import json
import urllib.request

import duckdb

from yyserver_helpers import ServerProcess, create_key, make_workspace, wait_until

# Small ingest transactions make the replay of the log long enough to watch.
SETTINGS = ("publish_interval=600", "ingest_batch_events=300")


def post(url: str, key: str, events: list[dict]) -> dict:
    body = json.dumps({"api_key": key, "batch": events}).encode()
    req = urllib.request.Request(url + "/batch/", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.loads(resp.read())


def test_capture_is_acknowledged_while_the_log_is_replayed(tmp_path):
    ws = make_workspace(tmp_path / "restart")
    key = create_key(ws, "write")
    before = []
    with ServerProcess(ws, settings=SETTINGS) as server:
        for b in range(15):
            batch = [{"event": "tick", "distinct_id": f"u{i % 13}", "uuid": f"b{b}-{i}"} for i in range(2000)]
            assert post(server.url, key, batch)["accepted"] == 2000
            before += [e["uuid"] for e in batch]
        captured = server.client().status()["captured_seq"]
        server.kill()  # nothing published: all 30,000 events come back from the log

    with ServerProcess(ws, settings=SETTINGS) as again:
        # The first request after the restart is acknowledged (durably logged) before the replay ends.
        after = [{"event": "tock", "distinct_id": "late", "uuid": f"after-{i}"} for i in range(5)]
        assert post(again.url, key, after)["accepted"] == 5
        status = again.client().status()
        assert status["captured_seq"] > captured
        assert status["ingested_seq"] < captured, "the server only took requests once the replay was over"
        client = again.client()
        wait_until(lambda: client.status()["ingested_seq"] >= client.status()["captured_seq"], 120,
                   what="the replay")
    con = duckdb.connect(str(ws / "yunying.duckdb"), read_only=True)
    try:
        ids = [r[0] for r in con.execute("SELECT event_uuid FROM events").fetchall()]
    finally:
        con.close()
    assert len(ids) == len(set(ids)) == len(before) + len(after)
    assert set(ids) == set(before) | {e["uuid"] for e in after}
