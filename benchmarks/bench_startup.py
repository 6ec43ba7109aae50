"""Time to first answer on a workspace (issue 13 start-up): whole CLI processes, two source trees alternately.

    python benchmarks/bench_startup.py --ws WORKSPACE --before OLD/src [--after NEW/src] [--rounds 5] [--tasks …]
    python benchmarks/bench_startup.py --demo-dir DIR --before OLD/src [--demo-users 50000]  # `yunying demo`

Every run is its own process under ``/usr/bin/time`` (wall, user and system CPU seconds, peak RSS), as a user
runs it. The two trees run alternately (before, after, before, after …) so that both meet the same load; the
table shows the median of the rounds and the machine's load average. On a shared machine the CPU seconds
(user + sys) are the comparable figure: wall seconds move with the load of other processes. The JSON output of
the two trees is compared for every task (the same answer, or the benchmark stops).

Before timing, each tree runs every task once untimed, so Numba's kernel cache (kept next to each tree's
sources) is warm, as it is for a user after the first run.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
AFTER = HERE.parent / "src"

TASKS = {
    "help": ["--help"],
    "funnel": ["funnel", "--steps", "signup,activate,view_content,purchase", "--window", "14d"],
    "retention": ["retention"],
    "retention_week": ["retention", "--start-event", "signup", "--return-event", "app_open", "--period", "week"],
    "trends": ["trends", "--active", "--measure", "users", "--interval", "week"],
    "trends_sum": ["trends", "--event", "purchase", "--measure", "sum", "--property", "revenue", "--interval",
                   "month"],
    "lifecycle": ["lifecycle"],
    "stickiness": ["stickiness"],
    "overview": ["overview"],
    "trends_by": ["trends", "--event", "signup", "--by", "channel", "--interval", "week", "--compare"],
    "new_users": ["trends", "--new-users", "--by", "channel", "--interval", "week"],
    "revenue": ["trends", "--revenue", "--interval", "week"],
    "rfm": ["rfm"],
    "paths": ["paths", "--event", "signup"],
}


def _load() -> str:
    return open("/proc/loadavg").read().split()[0]


def run(src: Path, args: list[str], timeout: float = 600) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src))
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", sys.executable, "-m", "yunying", *args],
                       capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{args[:3]} on {src} failed ({p.returncode}): {p.stderr[-2000:]}")
    wall, user, sys_, rss = re.findall(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)[-1]
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss) / 1024, "stdout": p.stdout}


def _args(task: str, ws: str) -> list[str]:
    a = TASKS[task]
    return a if task == "help" else [*a, "-w", ws, "-f", "json"]


def _answer(out: str):
    """The JSON answer (DuckDB may draw a progress bar before it), floats to 9 significant digits: DuckDB's
    parallel sums differ in the last bits from run to run."""
    i = min((k for k in (out.find("{"), out.find("[")) if k >= 0), default=0)

    def rounded(v):
        if isinstance(v, float):
            return float(f"{v:.9g}")
        if isinstance(v, dict):
            return {k: rounded(x) for k, x in v.items()}
        if isinstance(v, list):
            return [rounded(x) for x in v]
        return v

    return rounded(json.loads(out[i:]))


def bench_tasks(a) -> list[tuple]:
    trees = {"before": Path(a.before), "after": Path(a.after)}
    for src in trees.values():  # warm Numba's cache of each tree (kept beside its sources)
        for t in a.tasks:
            run(src, _args(t, a.ws))
    rows = []
    for t in a.tasks:
        res = {"before": [], "after": []}
        loads = [_load()]
        for _ in range(a.rounds):
            for name, src in trees.items():
                res[name].append(run(src, _args(t, a.ws)))
        loads.append(_load())
        if t != "help" and _answer(res["before"][0]["stdout"]) != _answer(res["after"][0]["stdout"]):
            raise SystemExit(f"{t}: the two trees give different answers")
        rows.append((t, res, "–".join(loads)))
        print(table(rows[-1:]).splitlines()[-1], flush=True)  # as it comes: the full table is printed at the end
    return rows


def bench_demo(a) -> list[tuple]:
    trees = {"before": Path(a.before), "after": Path(a.after)}
    res = {"before": [], "after": []}
    loads = [_load()]
    for _ in range(a.rounds):
        for name, src in trees.items():
            d = Path(tempfile.mkdtemp(prefix=f"demo-{name}-", dir=a.demo_dir))
            try:
                res[name].append(run(src, ["demo", "--dir", str(d / "demo"), "--users", str(a.demo_users),
                                           "--no-open"]))
            finally:
                shutil.rmtree(d, ignore_errors=True)
    loads.append(_load())
    return [("demo", res, "–".join(loads))]


def table(rows) -> str:
    out = ["| task | before: wall s, CPU s (median) | after: wall s, CPU s (median) | CPU after/before | load |",
           "|---|---:|---:|---:|---|"]
    for t, res, load in rows:
        med = {k: (statistics.median(r["wall"] for r in v), statistics.median(r["cpu"] for r in v),
                   max(r["rss"] for r in v)) for k, v in res.items()}
        b, f = med["before"], med["after"]
        out.append(f"| {t} | {b[0]:.2f}, {b[1]:.2f} ({b[2]:.0f} MiB) | {f[0]:.2f}, {f[1]:.2f} ({f[2]:.0f} MiB) "
                   f"| {f[1] / b[1]:.2f} | {load} |")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ws", help="a workspace (e.g. the one `yunying demo` made)")
    p.add_argument("--before", required=True, help="the src/ folder of the tree to compare with")
    p.add_argument("--after", default=str(AFTER))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--tasks", default=",".join(TASKS), help=f"comma-separated, of {', '.join(TASKS)}")
    p.add_argument("--demo-dir", help="time `yunying demo` instead, making its workspaces under this folder")
    p.add_argument("--demo-users", type=int, default=50_000)
    a = p.parse_args()
    a.tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    unknown = sorted(set(a.tasks) - set(TASKS))
    if unknown:
        p.error(f"unknown task(s) {unknown}")
    if not a.demo_dir and not a.ws:
        p.error("give --ws WORKSPACE or --demo-dir DIR")
    rows = bench_demo(a) if a.demo_dir else bench_tasks(a)
    print(table(rows))


if __name__ == "__main__":
    main()
