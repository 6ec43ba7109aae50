"""Time to first answer on a workspace (issue 13 start-up): whole CLI processes, two source trees alternately.

    flock /tmp/yunying-bench.lock python benchmarks/bench_startup.py --ws WORKSPACE --before OLD/src \
        [--after NEW/src] [--rounds 5] [--tasks …] [--kernels-cache DIR] [--jit-too] [--before-aot]
    python benchmarks/bench_startup.py --demo-dir DIR --before OLD/src [--demo-users 50000]  # `yunying demo`

Every run is its own process under ``/usr/bin/time`` (wall, user and system CPU seconds, peak RSS), as a user
runs it. The trees run alternately (before, after, before, after …) so that both meet the same load; the
table shows the median of the rounds and the machine's load average (``uptime`` is printed before and after).
On a shared machine the CPU seconds (user + sys) are the comparable figure: wall seconds move with the load of
other processes. The output of the trees is compared for every task (the same answer, or the benchmark stops):
tasks run with ``-f json`` (the answer parsed) unless they name their format (``budget_table``, ``clv_table``:
the text as it is).

Before timing, each tree runs every task once untimed, so Numba's kernel cache (kept next to each tree's
sources) is warm, as it is for a user after the first run. ``--kernels-cache DIR``: the after tree keeps its
ahead-of-time kernels there (``YUNYING_CACHE``) and builds them first (``yunying kernels build``, timed and
printed); ``--jit-too`` adds a third column, the after tree with ``YUNYING_KERNELS=jit`` (no build used).
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
    "help_zh_hans": ["--help", "--lang", "zh-Hans"],   # a help screen in Chinese (help.json read, texts swapped)
    "help_zh_hant": ["--help", "--lang", "zh-Hant"],
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
    "repurchase": ["repurchase"],
    "metrics": ["metrics"],
    "metric_revenue": ["metrics", "revenue", "--interval", "week"],
    "explain": ["explain", "revenue", "--period", "week"],
    "clv": ["clv"],
    "clv_table": ["clv", "-f", "table"],        # the table output (the others: -f json, the whole answer)
    "winback": ["winback", "--top", "20"],
    "channels": ["channels"],
    "budget": ["budget"],
    "budget_table": ["budget", "-f", "table"],
    "attribution": ["attribution"],
    "placements": ["placements"],
    "experiment": ["experiment", "--exposure-event", "$exposure", "--control", "control",
                   "--conversion", "purchase_14d=purchase:14d"],
    "referrals": ["referrals"],
    "content": ["content"],
    "content_flags": ["content", "flags"],
    "content_timing": ["content", "timing"],
    "campaign_list": ["campaign", "list"],
    "campaign_plan": ["campaign", "plan", "summer_sale"],
    "campaign_pacing": ["campaign", "pacing", "summer_sale"],
    "campaign_review": ["campaign", "review", "summer_sale"],
    "segments_list": ["segments", "list"],
    "alerts_history": ["alerts", "history"],
    "report": ["report"],
}


def _load() -> str:
    return open("/proc/loadavg").read().split()[0]


def run(src: Path, args: list[str], timeout: float = 600, env: dict | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src), **(env or {}))
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed package has its bytecode: compiling each start is not
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %U %S %M", sys.executable, "-m", "yunying", *args],
                       capture_output=True, text=True, env=env, timeout=timeout)
    if p.returncode != 0:
        raise RuntimeError(f"{args[:3]} on {src} failed ({p.returncode}): {p.stderr[-2000:]}")
    wall, user, sys_, rss = re.findall(r"TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)", p.stderr)[-1]
    return {"wall": float(wall), "cpu": float(user) + float(sys_), "rss": int(rss) / 1024, "stdout": p.stdout}


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _args(task: str, ws: str) -> list[str]:
    a = TASKS[task]
    return a if task.startswith("help") else [*a, "-w", ws] + ([] if "-f" in a else ["-f", "json"])


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


def configs(a) -> dict:
    """name: (src, extra environment) of every column. The before tree never sees the kernel cache, unless
    ``--before-aot`` (its kernels the same sources as the after tree's: the built ones fit both)."""
    out = {"before": (Path(a.before), {} if a.before_aot else {"YUNYING_KERNELS": "jit"})}
    if a.kernels_cache:
        out["after"] = (Path(a.after), {"YUNYING_CACHE": a.kernels_cache, "YUNYING_KERNELS": "manual"})
        if a.jit_too:
            out["after, JIT"] = (Path(a.after), {"YUNYING_KERNELS": "jit"})
    else:
        out["after"] = (Path(a.after), {})
    return out


def bench_tasks(a) -> list[tuple]:
    trees = configs(a)
    if a.kernels_cache:
        src, env = trees["after"]
        b = run(src, ["kernels", "build"], env=env)
        print(f"yunying kernels build (after tree): {b['wall']:.1f} s wall, {b['cpu']:.1f} s CPU", flush=True)
    for src, env in trees.values():  # warm Numba's cache of each tree (kept beside its sources)
        for t in a.tasks:
            run(src, _args(t, a.ws), env=env)
    rows = []
    for t in a.tasks:
        res = {name: [] for name in trees}
        loads = [_load()]
        for _ in range(a.rounds):
            for name, (src, env) in trees.items():
                res[name].append(run(src, _args(t, a.ws), env=env))
        loads.append(_load())
        answers = ({name: _answer(r[0]["stdout"]) if "-f" not in TASKS[t] else r[0]["stdout"]
                    for name, r in res.items()} if not t.startswith("help") else {})   # a table's text as it is
        if t not in a.unchecked and len({json.dumps(v, sort_keys=True) for v in answers.values()}) > 1:
            raise SystemExit(f"{t}: the trees give different answers")
        rows.append((t, res, "–".join(loads)))
        print(table(rows[-1:]).splitlines()[-1], flush=True)  # as it comes: the full table is printed at the end
    return rows


def bench_demo(a) -> list[tuple]:
    trees = configs(a)
    res = {name: [] for name in trees}
    loads = [_load()]
    for _ in range(a.rounds):
        for name, (src, env) in trees.items():
            d = Path(tempfile.mkdtemp(prefix=f"demo-{name.replace(', ', '-')}-", dir=a.demo_dir))
            try:
                res[name].append(run(src, ["demo", "--dir", str(d / "demo"), "--users", str(a.demo_users)],
                                     env=env))
            finally:
                shutil.rmtree(d, ignore_errors=True)
    loads.append(_load())
    return [("demo", res, "–".join(loads))]


def table(rows) -> str:
    names = list(rows[0][1])
    out = ["| task | " + " | ".join(f"{n}: wall s, CPU s (median; peak RSS)" for n in names)
           + " | CPU " + ", ".join(f"{n}/before" for n in names[1:]) + " | load |",
           "|---|" + "---:|" * len(names) + "---:|---|"]
    for t, res, load in rows:
        med = {k: (statistics.median(r["wall"] for r in v), statistics.median(r["cpu"] for r in v),
                   max(r["rss"] for r in v)) for k, v in res.items()}
        cells = " | ".join(f"{w:.2f}, {c:.2f} ({m:.0f} MiB)" for w, c, m in med.values())
        ratios = ", ".join(f"{med[n][1] / med['before'][1]:.2f}" for n in names[1:])
        out.append(f"| {t} | {cells} | {ratios} | {load} |")
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
    p.add_argument("--kernels-cache", help="the after tree's ahead-of-time kernel cache (built first)")
    p.add_argument("--unchecked", default="",
                   help="tasks whose answers are not compared (an answer that varies from run to run in one tree)")
    p.add_argument("--before-aot", action="store_true",
                   help="the before tree also uses the installed ahead-of-time kernels (same kernel sources)")
    p.add_argument("--jit-too", action="store_true", help="also the after tree on the JIT kernels")
    a = p.parse_args()
    a.tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    a.unchecked = {t.strip() for t in a.unchecked.split(",") if t.strip()}
    unknown = sorted(set(a.tasks) - set(TASKS))
    if unknown:
        p.error(f"unknown task(s) {unknown}")
    if not a.demo_dir and not a.ws:
        p.error("give --ws WORKSPACE or --demo-dir DIR")
    print(_uptime(), flush=True)
    rows = bench_demo(a) if a.demo_dir else bench_tasks(a)
    print(table(rows))
    print(_uptime())


if __name__ == "__main__":
    main()
