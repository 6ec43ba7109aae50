"""Capture throughput: batched PostHog-format requests to `yunying serve` on loopback.

Starts `yunying serve` on a fresh workspace (capture log with synchronous=FULL: every
acknowledged event is fsync'ed), sends batches from several keep-alive connections for
``--seconds``, then waits until every event is in the events table and checks the count.

    .venv/bin/python benchmarks/bench_capture.py --seconds 60          # the README numbers
    .venv/bin/python benchmarks/bench_capture.py --seconds 10 --json   # a quick run

The load generator runs on the same machine (it shares the CPU with the server).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

EVENTS = ["app_open", "view_content", "share", "purchase", "signup"]


def start_server(ws: Path, extra: list[str]) -> tuple[subprocess.Popen, dict]:
    cmd = [sys.executable, "-c", "from yunying.cli import main; main()", "serve", "--workspace", str(ws),
           "--port", "0", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    info_path = ws / "server.json"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        if info_path.exists():
            try:
                return proc, json.loads(info_path.read_text())
            except ValueError:
                pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start within 60 s")


class Sender(threading.Thread):
    def __init__(self, host: str, port: int, key: str, batch: int, stop_at: float, tag: str):
        super().__init__(daemon=True)
        self.host, self.port, self.key, self.batch, self.stop_at, self.tag = host, port, key, batch, stop_at, tag
        self.events = 0
        self.errors = 0
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, int]] = []

    def body(self, n: int) -> bytes:
        t = self.tag
        parts = []
        for i in range(self.batch):
            k = n * self.batch + i
            parts.append(
                '{"event":"%s","distinct_id":"u%d","uuid":"%s-%d","timestamp":"2026-06-%02dT%02d:%02d:00Z",'
                '"properties":{"$utm_source":"s%d","content_id":"c%d","price":%d,"$lib":"bench"}}'
                % (EVENTS[k % 5], k % 50_000, t, k, 1 + k % 28, k % 24, k % 60, k % 7, k % 200, k % 100))
        return ('{"api_key":"%s","batch":[%s]}' % (self.key, ",".join(parts))).encode()

    def run(self) -> None:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        n = 0
        while time.monotonic() < self.stop_at:
            body = self.body(n)
            t0 = time.monotonic()
            try:
                conn.request("POST", "/batch/", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            t1 = time.monotonic()
            if ok:
                self.events += self.batch
                self.latencies.append(t1 - t0)
                self.timeline.append((t1, self.batch))
                n += 1
            else:
                self.errors += 1
        conn.close()


def status(host: str, port: int, token: str) -> dict:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/api/status", headers={"Authorization": f"Bearer {token}"})
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--batch", type=int, default=500, help="events per request")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--keep", action="store_true", help="keep the workspace")
    ap.add_argument("--json", action="store_true", help="print the result as JSON only")
    ap.add_argument("--setting", action="append", default=[], help="server --setting NAME=VALUE")
    args = ap.parse_args()

    from yunying.server.keys import KeyStore
    from yunying.storage.workspace import Workspace

    tmp = Path(tempfile.mkdtemp(prefix="yy-bench-"))
    ws_dir = tmp / "bench"
    Workspace.init(ws_dir).close()
    store = KeyStore(ws_dir / "capture" / "capture.sqlite3", "bench")
    _, key = store.create("write", "benchmark")
    store.close()
    extra = [a for s in args.setting for a in ("--setting", s)]
    proc, info = start_server(ws_dir, extra)
    host, port, token = "127.0.0.1", info["port"], info["admin_token"]
    try:
        t_start = time.monotonic()
        stop_at = t_start + args.seconds
        senders = [Sender(host, port, key, args.batch, stop_at, f"c{i}") for i in range(args.connections)]
        for s in senders:
            s.start()
        for s in senders:
            s.join()
        elapsed = time.monotonic() - t_start
        sent = sum(s.events for s in senders)
        errors = sum(s.errors for s in senders)
        lat = sorted(x for s in senders for x in s.latencies)
        # Per-10-second windows: is the rate sustained?
        windows = {}
        for s in senders:
            for t, n in s.timeline:
                w = int((t - t_start) // 10)
                windows[w] = windows.get(w, 0) + n
        full = [windows.get(w, 0) / 10 for w in range(int(args.seconds // 10))]
        t_drain = time.monotonic()
        while True:
            st = status(host, port, token)
            if st["ingested_seq"] >= st["captured_seq"]:
                break
            time.sleep(0.2)
        drain = time.monotonic() - t_drain
        st = status(host, port, token)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=120)
    import duckdb

    con = duckdb.connect(str(ws_dir / "yunying.duckdb"), read_only=True)
    stored = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    con.close()
    result = {
        "seconds": round(elapsed, 1), "batch": args.batch, "connections": args.connections,
        "events_acknowledged": sent, "events_per_s": round(sent / elapsed), "errors": errors,
        "min_10s_window_events_per_s": round(min(full)) if full else None,
        "latency_p50_ms": round(lat[len(lat) // 2] * 1000, 1) if lat else None,
        "latency_p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 1) if lat else None,
        "ingest_lag_after_load_s": round(drain, 1), "events_in_table": stored,
        "all_stored": stored == sent, "events_ingested": st["events_ingested"],
        "cpu_count": os.cpu_count(), "python": platform.python_version(),
    }
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
        return
    for k, v in result.items():
        print(f"{k:32} {v}")


if __name__ == "__main__":
    main()
