"""Import throughput: events/s from Parquet into a fresh workspace, at ~10M events.

    python benchmarks/bench_import.py [--users 245000] [--out benchmarks/data]

Side by side in one run, each in its own process (so peak memory is its own):
  1. baseline: DuckDB `CREATE TABLE AS SELECT * FROM read_parquet(...)` (load only, no checks)
  2. yunying import (validate every row, type, de-duplicate, resolve identities, cluster by user/time)
  3. re-import of the same files (idempotency check: adds nothing)
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _child(mode: str, files: list[str], ws_dir: str) -> None:
    t0 = time.perf_counter()
    if mode == "baseline":
        import duckdb

        db = Path(ws_dir) / "baseline.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db))
        lst = "[" + ", ".join(f"'{f}'" for f in files) + "]"
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet({lst})")
        n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        con.close()
        added = n
    else:
        from yunying.storage.workspace import Workspace

        ws = Workspace.init(ws_dir, exist_ok=True)
        rep = ws.import_events(files)
        n, added = rep.rows_read, rep.rows_added
        ws.close()
    secs = time.perf_counter() - t0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"mode": mode, "rows": n, "added": added, "seconds": secs, "peak_rss_mb": rss_mb}))


def run(mode, files, ws_dir):
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--ws", ws_dir, *files],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=245_000)
    ap.add_argument("--out", default=str(HERE / "data"))
    ap.add_argument("--child")
    ap.add_argument("--ws")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.files, a.ws)
        return
    from yunying.demo import generate

    out = Path(a.out) / f"import-{a.users}"
    if not (out / "truth.json").exists():
        t = time.perf_counter()
        truth = generate(out, users=a.users, days=90, seed=1)
        print(f"generated {truth['totals']['events']:,} events in {time.perf_counter() - t:.1f}s")
    truth = json.loads((out / "truth.json").read_text())
    files = [str(f) for f in sorted(out.rglob("*.parquet"))]
    size_mb = sum(os.path.getsize(f) for f in files) / 2**20
    ws_dir = str(Path(a.out) / "import-ws")
    shutil.rmtree(ws_dir, ignore_errors=True)
    base = run("baseline", files, str(Path(a.out) / "import-baseline"))
    shutil.rmtree(Path(a.out) / "import-baseline", ignore_errors=True)
    first = run("yunying", files, ws_dir)
    again = run("yunying", files, ws_dir)
    assert again["added"] == 0, "re-import added rows"
    rows = [
        ("DuckDB load only (baseline)", base),
        ("yunying import (validated, deduplicated, clustered)", first),
        ("yunying re-import of the same files (adds 0)", again),
    ]
    print(f"\n{truth['totals']['events']:,} events, {len(files)} Parquet file(s), {size_mb:,.0f} MiB; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    print("| run | seconds | events/s | peak RSS (MiB) | vs baseline |")
    print("|---|---:|---:|---:|---:|")
    for label, r in rows:
        print(f"| {label} | {r['seconds']:.1f} | {r['rows'] / r['seconds']:,.0f} | {r['peak_rss_mb']:,.0f} | "
              f"{r['seconds'] / base['seconds']:.2f}× |")


if __name__ == "__main__":
    main()
