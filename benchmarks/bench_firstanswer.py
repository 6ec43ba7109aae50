"""Time to first answer (issue 18, issue 13 start-up): whole processes, as a user runs them, side by side.

    python benchmarks/bench_firstanswer.py --parquet EVENTS.parquet [--ws WORKSPACE] [--tasks …] [--rounds 2]

Every run is its own process, timed from start to exit (``/usr/bin/time``: wall seconds, peak RSS); for the
``--events`` runs the peak size of the spill folder (``TMPDIR``) is sampled every 0.2 s. Each task prints one
JSON line; the results are checked against each other (funnel step counts, retention cohorts) before a table is
printed. ``uptime``'s load average is printed next to every number: on a shared machine it moves the seconds.

Tasks
-----
* ``help``            — ``yunying --help``
* ``funnel_file``     — ``yunying funnel --events FILE`` (4 steps, 14 days)
* ``funnel_ch_file``  — ClickHouse ``windowFunnel`` on the same Parquet file (chdb, whole process)
* ``retention_file``  — ``yunying retention --events FILE`` (weekly, signup → app_open, 12 weeks)
* ``retention_ch_file`` — ClickHouse SQL of the same definition on the file (chdb, whole process)
* ``retention_duck_file`` — DuckDB SQL of the same definition on the file (whole process)
* ``funnel_ws``       — ``yunying funnel -w WORKSPACE`` (whole process, sequence store)
* ``funnel_ws_before`` — the same from the source tree ``--before`` (before and after a change in one run)
* ``funnel_ch_mt``    — ClickHouse ``windowFunnel`` on a MergeTree table ordered by (user_id, ts) (chdb
                        session in ``--ch-dir``, loaded once from the Parquet file; the load is not timed)

yunying runs as installed: its sources are compiled to ``.pyc`` once before the first run (as ``pip install``
does; with ``PYTHONDONTWRITEBYTECODE`` set every process would compile them again), and its kernels are built
ahead of time (``yunying kernels build``, as the first commands of an installation do in the background). ``--cold``: before each
``funnel_ws`` / ``funnel_ch_mt`` run its data (the workspace folder, the chdb folder) is dropped from the
operating system's page cache (``posix_fadvise(DONTNEED)``, no root needed), so the run reads it from disk;
programs and libraries stay cached.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
STEPS = ["signup", "activate", "view_content", "purchase"]
WINDOW_DAYS = 14
RET_START, RET_RETURN, RET_WEEKS = "signup", "app_open", 12
TS = "ts"  # the Parquet file's time column (--ts-col)


def _load() -> str:
    return open("/proc/loadavg").read().split()[0]


def tree_bytes(path: Path) -> int:
    """Bytes on disk under ``path`` (allocated blocks; files that vanish while walking count 0)."""
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_blocks * 512
            except OSError:
                pass
    return total


def _du_mib(path: Path) -> float:
    return tree_bytes(path) / 2**20


def timed(cmd: list[str], env: dict | None = None, watch: Path | None = None, timeout: float = 3600) -> dict:
    """Run ``cmd`` under /usr/bin/time; wall seconds, peak RSS (MiB), peak size of ``watch`` (MiB), stdout."""
    peak = [0.0]
    done = threading.Event()

    def sample():
        while not done.wait(0.2):
            peak[0] = max(peak[0], _du_mib(watch))

    load = _load()
    th = threading.Thread(target=sample, daemon=True) if watch else None
    if th:
        th.start()
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-f", "TIME %e %M %U %S", *cmd], capture_output=True, text=True, env=env,
                       timeout=timeout)
    wall = time.perf_counter() - t0
    done.set()
    if th:
        th.join()
    m = re.search(r"TIME ([\d.]+) (\d+) ([\d.]+) ([\d.]+)", p.stderr)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd[:4]} failed ({p.returncode}): {p.stderr[-2000:]}")
    return {"seconds": round(wall, 2), "cpu_s": round(float(m.group(3)) + float(m.group(4)), 2) if m else None,
            "peak_rss_mib": round(int(m.group(2)) / 1024) if m else None,
            "peak_temp_mib": round(peak[0]) if watch else None, "load": load, "load_after": _load(), "stdout": p.stdout}


def _env(tmp: Path | None = None, src: Path | None = None) -> dict:
    env = dict(os.environ, PYTHONPATH=str(src or SRC))
    env.pop("TMPDIR", None)
    if tmp is not None:
        env["TMPDIR"] = str(tmp)
    return env


YY = [sys.executable, "-m", "yunying"]


def task_help(a):
    r = timed([*YY, "--help"], _env())
    r.pop("stdout")
    return r, None


def _json(out: str) -> dict:
    """The JSON result (DuckDB may draw a progress bar on stdout before it)."""
    return json.loads(out[out.index("{\n"):])


def _funnel_counts(out: str) -> list[int]:
    return [s["count"] for s in _json(out)["steps"]]


def _retention_table(out: str) -> dict:
    rows = _json(out)["cohorts"]
    return {str(r["cohort"])[:10]: r["retained"] for r in rows}


def _file_run(a, args, parse):
    tmp = Path(tempfile.mkdtemp(prefix="bench-spill-", dir=a.tmp))
    try:
        r = timed([*YY, *args, "--events", a.parquet, "-f", "json"], _env(tmp), watch=tmp)
        left = list(tmp.rglob("*"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    r["left_behind"] = len(left)
    return r, parse(r.pop("stdout"))


def task_funnel_file(a):
    return _file_run(a, ["funnel", "--steps", ",".join(STEPS), "--window", f"{WINDOW_DAYS}d"], _funnel_counts)


def task_retention_file(a):
    return _file_run(a, ["retention", "--start-event", RET_START, "--return-event", RET_RETURN, "--period", "week",
                         "--periods", str(RET_WEEKS)], _retention_table)


def evict(path: Path) -> None:
    """Drop the files under ``path`` from the page cache (pages mapped by a running process stay)."""
    for root, _, files in os.walk(path):
        for f in files:
            try:
                fd = os.open(os.path.join(root, f), os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def task_funnel_ws(a, src: Path | None = None):
    if a.cold:
        evict(Path(a.ws))
    r = timed([*YY, "funnel", "-w", a.ws, "--steps", ",".join(STEPS), "--window", f"{WINDOW_DAYS}d", "-f", "json"],
              _env(src=src))
    return r, _funnel_counts(r.pop("stdout"))


def task_funnel_ws_before(a):
    """``funnel_ws`` run from the sources of ``--before`` (the code before a change), alternating in one run."""
    return task_funnel_ws(a, Path(a.before))


def _funnel_sql(source: str, threads: int) -> str:
    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    window = WINDOW_DAYS * 86400 * 1_000_000
    return (f"SELECT level, count() AS n FROM (SELECT user_id, windowFunnel({window})("
            f"toUInt64(toUnixTimestamp64Micro({TS})), {conds}) AS level FROM {source} "
            f"WHERE event IN ({', '.join(repr(s) for s in STEPS)}) GROUP BY user_id) GROUP BY level "
            f"SETTINGS max_threads = {threads}")


def _levels(out: str) -> list[int]:
    levels = {int(x): int(n) for x, n in (line.split(",") for line in out.strip().splitlines())}
    return [sum(n for lv, n in levels.items() if lv >= k) for k in range(1, len(STEPS) + 1)]


def _ch_process(code: str) -> dict:
    return timed([sys.executable, "-c", code], _env())


def task_funnel_ch_file(a):
    q = _funnel_sql(f"file('{a.parquet}', Parquet)", a.threads)
    r = _ch_process(f"import chdb, sys; sys.stdout.write(chdb.query({q!r}, 'CSV').bytes().decode())")
    return r, _levels(r.pop("stdout"))


def retention_ch_sql(source: str, threads: int) -> str:
    """ClickHouse SQL of ``yunying retention --period week`` (start ``RET_START``, return ``RET_RETURN``): per
    cohort (the Monday of each user's first start event) its size (week 0) and the users with a return event in
    each later week up to ``RET_WEEKS``; rows ``cohort, week, users`` (tests/perf/test_bench_oracles.py checks it
    against yunying on a small file)."""
    return f"""
    WITH s AS (SELECT user_id, min(toMonday({TS})) AS c FROM {source} WHERE event = '{RET_START}' GROUP BY user_id),
    r AS (SELECT DISTINCT user_id, toMonday({TS}) AS w FROM {source} WHERE event = '{RET_RETURN}')
    SELECT toString(c), 0, count() FROM s GROUP BY c
    UNION ALL
    SELECT toString(s.c), intDiv(dateDiff('day', s.c, r.w), 7) AS k, count()
    FROM s INNER JOIN r ON s.user_id = r.user_id
    WHERE r.w > s.c AND k <= {RET_WEEKS} GROUP BY s.c, k
    SETTINGS max_threads = {threads}
    """


def retention_table(csv: str) -> dict:
    """``{cohort date: [users in week 0 .. RET_WEEKS]}`` of the rows ``cohort, week, users``."""
    table: dict = {}
    for line in csv.strip().splitlines():
        c, k, n = line.replace('"', "").split(",")
        table.setdefault(c[:10], [0] * (RET_WEEKS + 1))[int(k)] = int(n)
    return table


def task_retention_ch_file(a):
    q = retention_ch_sql(f"file('{a.parquet}', Parquet)", a.threads)
    r = _ch_process(f"import chdb, sys; sys.stdout.write(chdb.query({q!r}, 'CSV').bytes().decode())")
    return r, retention_table(r.pop("stdout"))


def task_retention_duck_file(a):
    f = f"read_parquet('{a.parquet}')"
    q = f"""
    WITH s AS (SELECT user_id, min(date_trunc('week', {TS})) AS c FROM {f} WHERE event = '{RET_START}' GROUP BY user_id),
    r AS (SELECT DISTINCT user_id, date_trunc('week', {TS}) AS w FROM {f} WHERE event = '{RET_RETURN}')
    SELECT CAST(CAST(c AS DATE) AS VARCHAR), 0, count(*) FROM s GROUP BY c
    UNION ALL
    SELECT CAST(CAST(s.c AS DATE) AS VARCHAR), (CAST(r.w AS DATE) - CAST(s.c AS DATE)) // 7 AS k, count(*)
    FROM s JOIN r ON s.user_id = r.user_id WHERE r.w > s.c AND k <= {RET_WEEKS} GROUP BY ALL
    """
    code = (f"import duckdb, sys; c = duckdb.connect(config={{'threads': {a.threads}}}); "
            f"sys.stdout.write(''.join(f'{{x}},{{k}},{{n}}\\n' for x, k, n in c.execute({q!r}).fetchall()))")
    r = _ch_process(code)
    return r, retention_table(r.pop("stdout"))


def _ch_mergetree(a) -> str:
    """A chdb session folder holding ``events`` as a MergeTree table ordered by (user_id, ts), loaded once."""
    d = Path(a.ch_dir)
    if not (d / "loaded").exists():
        from chdb import session

        s = session.Session(str(d))
        s.query("CREATE TABLE IF NOT EXISTS events (user_id String, event LowCardinality(String), "
                "ts DateTime64(6)) ENGINE = MergeTree ORDER BY (user_id, ts)")
        s.query(f"INSERT INTO events SELECT user_id, event, ts FROM file('{a.parquet}', Parquet) "
                f"SETTINGS max_threads = {a.threads}, max_insert_threads = {a.threads}")
        s.query("OPTIMIZE TABLE events FINAL")
        s.close()
        (d / "loaded").write_text("1")
    return str(d)


def task_funnel_ch_mt(a):
    d = _ch_mergetree(a)
    if a.cold:
        evict(Path(d))
    q = _funnel_sql("events", a.threads)
    code = (f"import sys; from chdb import session; s = session.Session({d!r}); "
            f"sys.stdout.write(s.query({q!r}, 'CSV').bytes().decode())")
    r = _ch_process(code)
    return r, _levels(r.pop("stdout"))


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parquet")
    ap.add_argument("--ws")
    ap.add_argument("--ch-dir", default="/work/benchdata/chdb-mergetree")
    ap.add_argument("--tmp", default=tempfile.gettempdir())
    ap.add_argument("--tasks", default="help,funnel_file,funnel_ch_file,retention_file,retention_ch_file")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--ts-col", default="ts")
    ap.add_argument("--src", help="run yunying from this source tree (e.g. the code before a change)")
    ap.add_argument("--before", help="source tree of the task funnel_ws_before (the code before a change)")
    ap.add_argument("--cold", action="store_true", help="read the data of funnel_ws / funnel_ch_mt from disk")
    a = ap.parse_args()
    global TS
    TS = a.ts_col
    if a.src:
        global SRC
        SRC = Path(a.src).resolve()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(SRC)], check=True, capture_output=True)
    for task, src in (("funnel_ws", SRC), ("funnel_ws_before", a.before)):
        if task in a.tasks.split(","):
            # sources compiled and kernels built ahead of time, as after the first commands of an installation
            # (not timed; without it the first runs would load Numba's JIT and start a build in the background)
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(src)], check=True, capture_output=True)
            subprocess.run([*YY, "kernels", "build"], check=True, capture_output=True, env=_env(src=Path(src)))
    results: dict[str, list] = {}
    answers: dict[str, object] = {}
    for rnd in range(a.rounds):
        for t in a.tasks.split(","):
            r, ans = TASKS[t](a)
            r.update(task=t, round=rnd + 1, src=str(a.before if t == "funnel_ws_before" else SRC))
            print(json.dumps(r), flush=True)
            results.setdefault(t, []).append(r)
            if ans is not None:
                answers[t] = ans
    for a_, b_ in (("funnel_file", "funnel_ch_file"), ("funnel_ws", "funnel_ch_file"), ("funnel_ch_mt", "funnel_file"),
                   ("funnel_ws", "funnel_ch_mt"), ("funnel_ws_before", "funnel_ch_mt"),
                   ("retention_file", "retention_ch_file"), ("retention_duck_file", "retention_ch_file")):
        if a_ in answers and b_ in answers:
            same = answers[a_] == answers[b_]
            print(f"{a_} == {b_}: {same}" + ("" if same else f"  {answers[a_]} vs {answers[b_]}"))
    for ours, ref in (("funnel_file", "funnel_ch_file"), ("retention_file", "retention_ch_file"),
                      ("retention_file", "retention_duck_file"), ("funnel_ws", "funnel_ch_mt"),
                      ("funnel_ws_before", "funnel_ch_mt"), ("funnel_ws", "funnel_ws_before")):
        if ours in results and ref in results:
            best = {t: min(results[t], key=lambda r: r["seconds"]) for t in (ours, ref)}
            print(f"{ours} / {ref}: wall {best[ours]['seconds'] / best[ref]['seconds']:.2f}x, "
                  f"CPU {best[ours]['cpu_s'] / max(best[ref]['cpu_s'], 0.01):.2f}x")


if __name__ == "__main__":
    main()
