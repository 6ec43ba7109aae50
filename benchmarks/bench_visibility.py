"""Captured events in the command line's answers (issue 18 item 4): seconds from the server's 200 to the first
``yunying trends`` answer that counts the event, with the server's default settings.

    python benchmarks/bench_visibility.py [--src OTHER/src] [--rounds 5]

A fresh workspace; ``yunying serve`` in a subprocess; each round sends 10 new events in one PostHog ``/batch/``
request, then runs ``yunying trends -e tick -m count -f json`` in a loop until the count includes them. The time
includes the command's own start-up; the load average is printed with each number.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", default=str(HERE.parent / "src"))
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(Path(a.src).resolve()))
    cli = [sys.executable, "-m", "yunying"]
    ws = Path(tempfile.mkdtemp(prefix="bench-vis-")) / "ws"
    subprocess.run([*cli, "init", str(ws)], env=env, check=True, capture_output=True)
    key = subprocess.run([*cli, "keys", "create", "-w", str(ws)], env=env, check=True, capture_output=True,
                         text=True).stdout.strip().splitlines()[-1]
    server = subprocess.Popen([*cli, "serve", "-w", str(ws), "--port", "0"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        while not (ws / "server.json").exists():
            time.sleep(0.1)
        time.sleep(0.5)
        url = urllib.parse.urlsplit(json.loads((ws / "server.json").read_text())["url"])
        total = 0
        for rnd in range(a.rounds):
            batch = [{"event": "tick", "distinct_id": f"u{rnd}-{i}", "uuid": f"{rnd:08d}-0000-4000-8000-{i:012d}",
                      "timestamp": "2026-01-05T10:00:00Z"} for i in range(10)]
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            conn.request("POST", "/batch/", json.dumps({"api_key": key, "batch": batch}),
                         {"Content-Type": "application/json"})
            assert conn.getresponse().status == 200
            total += 10
            load = open("/proc/loadavg").read().split()[0]
            t0 = time.perf_counter()
            tries = 0
            while True:
                tries += 1
                out = subprocess.run([*cli, "trends", "-w", str(ws), "-e", "tick", "-m", "count", "--from",
                                      "2026-01-05", "--to", "2026-01-05", "-f", "json"], env=env,
                                     capture_output=True, text=True)
                seen = sum(r["value"] or 0 for r in json.loads(out.stdout)["series"]) if out.returncode == 0 else -1
                if seen == total:
                    break
            print(json.dumps({"round": rnd + 1, "seconds_to_visible": round(time.perf_counter() - t0, 2),
                              "commands_run": tries, "load": load, "src": a.src}), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=60)


if __name__ == "__main__":
    main()
