"""Spark scale benchmark: a 4-step funnel and a weekly retention on a standalone cluster on loopback.

    PYTHONPATH=src:tests python benchmarks/bench_spark_cluster.py --events 10000000 --workers 1 2
    PYTHONPATH=src:tests python benchmarks/bench_spark_cluster.py --events-path EVENTS.parquet \
        --steps signup,activate,view_content,purchase --retention signup,purchase --no-per-user

Writes N synthetic events (Parquet; 20 events per user, 8 weeks; or reads ``--events-path``), starts a master
and W workers (1 core, ``--worker-memory`` each; tests/spark_cluster.py), reads the Parquet through
``[spark] events_path`` and times each analysis once, after a warm-up run of the same analysis on a 100k-event
sample in the same Spark session (fresh Python workers start and load the Numba kernels). Peak resident memory is sampled from /proc
every 0.2 s for the driver (this Python process + its JVM) and the executors (JVM + Python workers), summed per
role; CPU seconds (user + sys) of the whole process tree from /proc at the end of each run.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path


def write_events(path: Path, n: int, seed: int = 1) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    per_user = 20
    users = max(n // per_user, 1)
    writer = None
    step = 2_000_000
    t0 = np.datetime64("2026-03-02T00:00:00", "us").astype(np.int64)
    names = np.array(["visit", "signup", "cart", "buy"], dtype=object)
    for lo in range(0, n, step):
        m = min(step, n - lo)
        u = (np.arange(lo, lo + m) // per_user) % users
        tab = pa.table({
            "user_id": pa.array(np.char.add("u", u.astype(str)).astype(object), pa.string()),
            "event": pa.array(names[rng.choice(4, m, p=[0.55, 0.15, 0.18, 0.12])], pa.string()),
            "ts": pa.array(t0 + rng.integers(0, 56 * 86_400_000_000, m), pa.timestamp("us")),
            "properties": pa.nulls(m, pa.string()),
        })
        writer = writer or pq.ParquetWriter(path, tab.schema)
        writer.write_table(tab)
    writer.close()


def _rss_by_role() -> dict:
    """Resident MiB of this process tree, by role: driver (this process, its JVM), executor (JVM, Python)."""
    me = os.getpid()
    out = {"driver": 0.0, "executor": 0.0}
    parents = {}
    info = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
            cmd = Path(f"/proc/{d}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            rss = int(Path(f"/proc/{d}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except OSError:
            continue
        parents[int(d)] = int(stat[1])
        info[int(d)] = (cmd, rss)

    def under(pid, root):
        while pid and pid != 1:
            if pid == root:
                return True
            pid = parents.get(pid, 0)
        return False

    for pid, (cmd, rss) in info.items():
        if not under(pid, me):
            continue
        if pid == me or "SparkSubmit" in cmd:
            out["driver"] += rss
        elif "CoarseGrainedExecutorBackend" in cmd or "pyspark.daemon" in cmd or "pyspark/daemon" in cmd \
                or "pyspark.worker" in cmd:
            out["executor"] += rss
    return out


class PeakRSS:
    def __init__(self):
        self.peak = {"driver": 0.0, "executor": 0.0}
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for k, v in _rss_by_role().items():
                self.peak[k] = max(self.peak[k], v)
            time.sleep(0.2)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *a):
        self._stop.set()
        self._t.join()


def _cpu_seconds() -> float:
    """user + sys CPU seconds of this process tree so far (children waited for included)."""
    t = os.times()
    total = t.user + t.system + t.children_user + t.children_system
    me = os.getpid()
    tick = os.sysconf("SC_CLK_TCK")
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            f = Path(f"/proc/{d}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(d), int(f[1])
        while ppid not in (0, 1, me):  # a descendant of this process?
            try:
                ppid = int(Path(f"/proc/{ppid}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                ppid = 0
        if ppid == me:
            total += (int(f[11]) + int(f[12])) / tick
    return total


def run(events: int, workers: int, base: Path, worker_memory: str, path: str, steps: list[str],
        ret: list[str], per_user_too: bool) -> dict:
    import spark_cluster as sc
    import yunying
    from yunying.analyses.funnel import funnel
    from yunying.analyses.retention import retention
    from yunying.config import WorkspaceConfig
    from yunying.engines.spark import SparkEngine

    sc.WORKER_MEMORY = worker_memory
    cluster = sc.start_cluster(workers)
    try:
        cfg = WorkspaceConfig(name="bench", spark={
            "master": cluster["url"], "driver_memory": "1g", "events_path": path,
            "conf": {"spark.executor.memory": sc.EXECUTOR_MEMORY if worker_memory == "1g" else worker_memory,
                     "spark.executor.cores": "1", "spark.sql.shuffle.partitions": str(8 * workers)}})
        os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
        ws = yunying.Workspace.init(base / f"ws{workers}", cfg)
        spark = SparkEngine(ws)
        out = {"events": events, "workers": workers}
        # the funnel as before its partials were merged on the executors: one pickled row per entering
        # user collected on the driver (map_sequences); compared with the aggregates (reduce_rows)
        per_user = SparkEngine(ws)
        per_user.capabilities = per_user.capabilities - {"reduce_rows"}
        # warm-ups on a small sample (the same session: Python workers start and load the Numba kernels)
        warm_cfg = cfg.model_copy(update={"spark": cfg.spark.model_copy(update={"events_path": str(base / "warm.parquet")})})
        warm_ws = yunying.Workspace.init(base / f"warm{workers}", warm_cfg)
        warm_spark = SparkEngine(warm_ws)
        warm_per_user = SparkEngine(warm_ws)
        warm_per_user.capabilities = per_user.capabilities
        runs = [("funnel_4_steps", lambda e: funnel(e, steps=steps, window="7d"), spark, warm_spark)]
        if per_user_too:
            runs.append(("funnel_4_steps_per_user_partials", lambda e: funnel(e, steps=steps, window="7d"), per_user,
                         warm_per_user))
        runs.append(("retention_weekly", lambda e: retention(e, start_event=ret[0], return_event=ret[1], period="week",
                                                            periods=8), spark, warm_spark))
        with PeakRSS() as peak:
            for name, fn, engine, warm_engine in runs:
                fn(warm_engine)  # warm: Python workers start, Numba kernels load
                cpu, t = _cpu_seconds(), time.perf_counter()
                res = fn(engine)
                out[name + "_s"] = round(time.perf_counter() - t, 1)
                out[name + "_cpu_s"] = round(_cpu_seconds() - cpu, 1)
                out[name + "_check"] = res.to_dict()["steps"][0]["count"] if name.startswith("funnel") \
                    else int(res.frame["size"].sum())
                if name.startswith("funnel"):
                    out[name + "_bytes_to_driver"] = res._data.get("bytes_to_driver", getattr(per_user, "bytes_to_driver", None))
        out["peak_driver_mib"] = round(peak.peak["driver"])
        out["peak_executors_mib"] = round(peak.peak["executor"])
        spark.session.stop()
        import yunying.engines.spark as es
        es._SESSION = None
        ws.close()
        warm_ws.close()
        return out
    finally:
        sc.stop_cluster(cluster)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--events-path", help="existing events Parquet (instead of writing --events synthetic ones)")
    ap.add_argument("--steps", default="visit,signup,cart,buy")
    ap.add_argument("--retention", default="signup,buy", help="start,return events")
    ap.add_argument("--no-per-user", action="store_true", help="skip the funnel through per-user partials")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--worker-memory", default="1g")
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="yunying-bench-"))
    path = args.events_path
    if path is None:
        t = time.perf_counter()
        path = str(base / "events.parquet")
        write_events(Path(path), args.events)
        print(f"wrote {args.events:,} events in {time.perf_counter() - t:.1f}s", file=sys.stderr)
    else:
        import pyarrow.parquet as pq

        args.events = pq.ParquetFile(path).metadata.num_rows
    import pyarrow.parquet as pq

    first = pq.ParquetFile(path).read_row_group(0)
    pq.write_table(first.slice(0, 100_000), base / "warm.parquet")
    for w in args.workers:
        print(json.dumps(run(args.events, w, base, args.worker_memory, path, args.steps.split(","),
                             args.retention.split(","), not args.no_per_user)), flush=True)


if __name__ == "__main__":
    main()
