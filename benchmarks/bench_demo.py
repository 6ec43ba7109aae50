"""`yunying demo` and the acquisition commands on its workspace (issue 13): two source trees side by side.

    python benchmarks/bench_demo.py --before OLD/src [--after NEW/src] --dir DIR [--rounds 2]   # `yunying demo`
    python benchmarks/bench_demo.py --before OLD/src --ws DEMO/workspace [--rounds 3]           # channels & co.

Whole processes under ``/usr/bin/time`` (``bench_startup.run``), the trees alternating (before, after, before …)
so both meet the same load. ``--dir``: each demo writes a fresh folder under DIR (removed afterwards); the
table adds the demo's own phases (``overview.json`` → ``timings.phases``: wall and CPU seconds) of the last
round of each tree, and the event files of the two trees must be the same bytes. ``--ws``: ``channels``,
``placements``, ``attribution`` and ``budget`` on the workspace, answers compared as in bench_startup.
Run it under ``flock /tmp/yunying-bench.lock`` on the shared machine.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench_startup as B  # noqa: E402

ACQUISITION = {"channels": ["channels"], "placements": ["placements"], "attribution": ["attribution"],
               "budget": ["budget"]}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def bench_demo(a) -> str:
    trees = {"before": Path(a.before), "after": Path(a.after)}
    res = {k: [] for k in trees}
    phases, files = {}, {}
    loads = [B._load()]
    for _ in range(a.rounds):
        for name, src in trees.items():
            d = Path(tempfile.mkdtemp(prefix=f"demo-{name}-", dir=a.dir))
            try:
                res[name].append(B.run(src, ["demo", "--dir", str(d), "--users", str(a.users), "-f", "json"]))
                phases[name] = json.loads((d / "overview.json").read_text())["timings"]["phases"]
                files[name] = {f.name: _md5(f) for f in sorted((d / "data").glob("*.parquet"))}
            finally:
                shutil.rmtree(d, ignore_errors=True)
    loads.append(B._load())
    if files["before"] != files["after"]:
        raise SystemExit(f"the two trees generate different event files: {files}")
    out = [B.table([("demo", res, "–".join(loads))]), "", "| phase (last round) | before: wall, CPU s | "
           "after: wall, CPU s |", "|---|---:|---:|"]
    for p in dict.fromkeys([*phases["before"], *phases["after"]]):
        b, f = phases["before"].get(p), phases["after"].get(p)
        out.append(f"| {p} | {'—' if b is None else f'{b[0]:.2f}, {b[1]:.2f}'} | "
                   f"{'—' if f is None else f'{f[0]:.2f}, {f[1]:.2f}'} |")
    walls = {k: [r["wall"] for r in v] for k, v in res.items()}
    out.append(f"\nall walls: before {walls['before']}, after {walls['after']}; "
               f"median after {statistics.median(walls['after']):.1f} s")
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--before", required=True, help="the src/ folder of the tree to compare with")
    p.add_argument("--after", default=str(B.AFTER))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--dir", help="time `yunying demo`, writing its folders under DIR")
    p.add_argument("--users", type=int, default=50_000)
    p.add_argument("--ws", help="time the acquisition commands on this workspace (the demo's)")
    p.add_argument("--tasks", default=",".join(ACQUISITION))
    a = p.parse_args()
    if bool(a.dir) == bool(a.ws):
        p.error("give --dir DIR (the demo) or --ws WORKSPACE (the acquisition commands)")
    if a.dir:
        print(bench_demo(a))
        return
    B.TASKS.update(ACQUISITION)
    a.tasks = [t.strip() for t in a.tasks.split(",") if t.strip()]
    print(B.table(B.bench_tasks(a)))


if __name__ == "__main__":
    main()
