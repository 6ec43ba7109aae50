"""Import throughput: `yunying import events` from Parquet against DuckDB's own load of the same files.

    python benchmarks/bench_import.py [--users 245000] [--out benchmarks/data]      # ~10M demo events
    flock /tmp/yunying-bench.lock python benchmarks/bench_import.py \\
        --files '/work/benchdata/100m/analytics-2500000/generated/events/*.parquet' --out /work/benchdata/imp

Side by side in one run, each in its own process (so CPU seconds and peak memory are its own), alternating
``--rounds`` times:
  1. baseline: DuckDB `CREATE TABLE AS SELECT * FROM read_parquet(...)` (load only, no checks)
  2. yunying import (validate every row, type, de-duplicate, resolve identities, event-name list, sequence
     store), with the seconds of each phase (``ImportReport.phases``)
  3. with ``--reimport``: the same files again into the same workspace (idempotency: adds nothing)
  4. with ``--before SRC``: the same import by another checkout's sources (``SRC``: its ``src`` folder, e.g.
     ``git archive COMMIT src | tar -x -C /tmp/before``), so before and after are measured in one run
  5. after the (last) import: the first analysis, ``yunying funnel -w`` (4 steps) as a whole process, twice: an
     import no longer builds the sequence store, the first analysis that reads it does, so the first run pays
     the build and the second shows the analysis alone (their difference is what moved out of the import);
     ``--no-analyses`` leaves them out
For each: wall seconds, CPU seconds (user + sys of the process), peak RSS, and the peak disk used by
temporary files (DuckDB's spill folder, sampled every 0.2 s) and by the whole output folder. The load
average is printed before and after. Ratios: against the fastest baseline of the run, and against the
baseline of the import's own round (paired: a round's runs follow each other, so they share the machine's
state); the paired ratios' median and range close the table. ``--settle S``: before each run the disk is
synced and the machine left idle S seconds (the previous run's writes and deleted folder out of the way).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_firstanswer import tree_bytes  # the same on-disk size walk (this folder is on sys.path when run)

HERE = Path(__file__).resolve().parent


def _child(mode: str, files: list[str], ws_dir: str) -> None:
    t0 = time.perf_counter()
    phases: dict = {}
    if mode == "baseline":
        import duckdb

        db = Path(ws_dir) / "baseline.duckdb"
        db.parent.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(db), config={"temp_directory": str(Path(ws_dir) / ".tmp")})
        lst = "[" + ", ".join(f"'{f}'" for f in files) + "]"
        con.execute(f"CREATE TABLE events AS SELECT * FROM read_parquet({lst})")
        n = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        con.close()
        added = n
    else:
        from yunying.storage.workspace import Workspace

        ws = Workspace.init(ws_dir, exist_ok=True)
        rep = ws.import_events(files)
        n, added, phases = rep.rows_read, rep.rows_added, rep.phases
        ws.close()
    secs = time.perf_counter() - t0
    use = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"mode": mode, "rows": n, "added": added, "seconds": secs, "cpu": use.ru_utime + use.ru_stime,
                      "peak_rss_mb": use.ru_maxrss / 1024, "phases": phases}))


class DiskPeak:
    """Peak bytes under ``out`` and under its temporary folders while a child runs (sampled)."""

    def __init__(self, out: Path):
        self.out, self.peak_all, self.peak_tmp = out, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_all = max(self.peak_all, tree_bytes(self.out))
            tmp = sum(tree_bytes(p) for p in (self.out / ".yunying-tmp", self.out / ".tmp") if p.exists())
            self.peak_tmp = max(self.peak_tmp, tmp)
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run(mode: str, files: list[str], out: Path, src: str | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=src) if src else None
    with DiskPeak(out) as disk:
        proc = subprocess.run([sys.executable, __file__, "--child", mode, "--ws", str(out), *files],
                              capture_output=True, text=True, env=env)
    if proc.returncode:
        sys.exit(f"{mode} failed:\n{proc.stderr[-3000:]}")
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res.update(peak_tmp_mb=disk.peak_tmp / 2**20, peak_disk_mb=disk.peak_all / 2**20,
               final_disk_mb=tree_bytes(out) / 2**20)
    print(json.dumps(res), flush=True)
    return res


FUNNEL = ["signup", "activate", "view_content", "purchase"]  # bench_firstanswer.py's funnel (100M data's names)


def first_analyses(ws: Path, src: str | None = None) -> list[dict]:
    """``yunying funnel -w WS`` twice as whole processes: seconds, CPU seconds (user + sys of the child), and the
    step counts (the two must agree: the first builds the store it reads, the second reads it)."""
    env = dict(os.environ, PYTHONPATH=src) if src else None
    out = []
    for label in ("first analysis (builds the sequence store)", "second analysis (store fresh)"):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "yunying", "funnel", "-w", str(ws), "--steps", ",".join(FUNNEL),
                               "--window", "14d", "-f", "json"], capture_output=True, text=True, env=env)
        secs = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if proc.returncode:
            sys.exit(f"funnel failed:\n{proc.stderr[-3000:]}")
        steps = json.loads(proc.stdout[proc.stdout.index("{"):])["steps"]  # after any progress bar
        res = {"label": label, "seconds": secs, "peak_rss_mb": after.ru_maxrss / 1024,
               "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
               "counts": [st["count"] for st in steps]}
        print(json.dumps(res), flush=True)
        out.append(res)
    assert out[0]["counts"] == out[1]["counts"], "the first and second analysis disagree"
    return out


def _demo_files(out: Path, users: int) -> list[str]:
    from yunying.demo import generate

    data = out / f"import-{users}"
    if not (data / "truth.json").exists():
        t = time.perf_counter()
        truth = generate(data, users=users, days=90, seed=1)
        print(f"generated {truth['totals']['events']:,} events in {time.perf_counter() - t:.1f}s")
    return [str(f) for f in sorted(data.rglob("*.parquet"))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=245_000)
    ap.add_argument("--out", default=str(HERE / "data"))
    ap.add_argument("--files", help="glob of Parquet files to import instead of the generated demo data")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--reimport", action="store_true")
    ap.add_argument("--before", help="the src folder of an earlier checkout: its import is measured too")
    ap.add_argument("--no-analyses", action="store_true", help="skip the two funnel runs after the import")
    ap.add_argument("--settle", type=float, default=0.0, help="seconds idle (after a sync) before each run")
    ap.add_argument("--child")
    ap.add_argument("--ws")
    ap.add_argument("files_", nargs="*")
    a = ap.parse_args()
    if a.child:
        _child(a.child, a.files_, a.ws)
        return
    out = Path(a.out)
    files = sorted(glob.glob(a.files)) if a.files else _demo_files(out, a.users)
    size_mb = sum(os.path.getsize(f) for f in files) / 2**20
    print(f"load before: {os.getloadavg()}", flush=True)
    rows, analyses = [], []
    for r in range(a.rounds):
        for mode in ("baseline", "yunying") + (("before",) if a.before else ()):
            target = out / f"import-{mode}"
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            if a.settle:
                os.sync()
                time.sleep(a.settle)
            res = run("yunying" if mode == "before" else mode, files, target, a.before if mode == "before" else None)
            label = {"baseline": "DuckDB CTAS (baseline)", "yunying": "yunying import",
                     "before": "yunying import, before (--before)"}[mode]
            res["round"] = r
            rows.append((f"{label} #{r + 1}", res))
            if mode == "yunying" and r == a.rounds - 1 and not a.no_analyses:
                analyses = first_analyses(target)
            if mode == "yunying" and a.reimport and r == a.rounds - 1:
                again = run("yunying", files, target)
                assert again["added"] == 0, "re-import added rows"
                again["round"] = r
                rows.append(("yunying re-import of the same files (adds 0)", again))
            if mode != "yunying" or not a.reimport or r < a.rounds - 1:
                shutil.rmtree(target, ignore_errors=True)
    print(f"load after: {os.getloadavg()}")
    base = [res for label, res in rows if label.startswith("DuckDB")]
    base_s = min(b["seconds"] for b in base)
    base_cpu = min(b["cpu"] for b in base)
    print(f"\n{rows[0][1]['rows']:,} events, {len(files)} Parquet file(s), {size_mb:,.0f} MiB; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}\n")
    own = {res["round"]: res for label, res in rows if label.startswith("DuckDB")}
    print("| run | seconds | CPU s | events/s | peak RSS (MiB) | peak temp (MiB) | folder after (MiB) | "
          "vs fastest baseline (s / CPU) | vs its round's baseline (s / CPU) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    paired: dict[str, list] = {}
    for label, r in rows:
        mine = own[r["round"]]
        ratio = (r["seconds"] / mine["seconds"], r["cpu"] / mine["cpu"])
        if not label.startswith("DuckDB"):
            paired.setdefault(label.rsplit(" #", 1)[0], []).append(ratio)
        print(f"| {label} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['rows'] / r['seconds']:,.0f} | "
              f"{r['peak_rss_mb']:,.0f} | {r['peak_tmp_mb']:,.0f} | {r['final_disk_mb']:,.0f} | "
              f"{r['seconds'] / base_s:.2f}× / {r['cpu'] / base_cpu:.2f}× | {ratio[0]:.2f}× / {ratio[1]:.2f}× |")
    for label, ratios in paired.items():
        for i, what in enumerate(("seconds", "CPU seconds")):
            vals = sorted(x[i] for x in ratios)
            print(f"\n{label} against its round's baseline, {what}: median {statistics.median(vals):.2f}×, "
                  f"{vals[0]:.2f}–{vals[-1]:.2f}× over {len(vals)} round(s)", end="")
    print()
    print("\n| after the import | seconds | CPU s | peak RSS of any child so far (MiB) | funnel counts |")
    print("|---|---:|---:|---:|---|")
    for r in analyses:
        print(f"| {r['label']} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['peak_rss_mb']:,.0f} | {r['counts']} |")
    for label, r in rows:
        if r["phases"]:
            print(f"\n{label} (phase: seconds / CPU seconds): "
                  + ", ".join(f"{k} {w:.1f} / {c:.1f}" for k, (w, c) in r["phases"].items()))


if __name__ == "__main__":
    main()
