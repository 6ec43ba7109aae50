"""Product analytics benchmark: funnels and retention against DuckDB, ClickHouse (chdb) and pandas.

    python benchmarks/bench_analytics.py --users 250000      # ≈ 10M events
    python benchmarks/bench_analytics.py --users 2500000     # ≈ 100M events

Data: the demo generator (``yunying.demo.generate``, 90 days, ~40 events per user). The
workspace is bulk-loaded with the same layout ``import events`` produces (identities resolved,
events clustered by user and time), without de-duplication, because importing 100M events
through the validating importer is not what is measured here. The workspace's events are
exported once to one Parquet file that ClickHouse and pandas read ("the same file").

Every measurement runs in its own child process (peak RSS is that process's maximum resident
set). Each timed operation is run once to warm up (OS page cache, Numba's compiled-code
cache) and then ``--repeat`` times; the best time is reported. Results of every tool are
checked against ours before any time is printed.

Tasks
-----
* ``read_count``    — DuckDB reads the funnel's columns and counts distinct users (the baseline)
* ``read_count_parquet`` — the same query on the Parquet file
* ``funnel``        — yunying: 4-step ordered funnel, 14-day window
* ``funnel_ch``     — ClickHouse ``windowFunnel`` on the Parquet file
* ``funnel_pandas`` — pandas (merge_asof per step, every step-1 event an attempt)
* ``retention``     — yunying: weekly first-time cohorts (signup → app_open, 12 weeks)
* ``retention_sql`` — a hand-written DuckDB SQL query of the same definition
* ``retention_ch``  — ClickHouse SQL of the same definition on the Parquet file
* ``retention_pandas`` — pandas
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
STEPS = ["signup", "activate", "view_content", "purchase"]
WINDOW_DAYS = 14
RET_START, RET_RETURN, RET_WEEKS = "signup", "app_open", 12


# ----------------------------------------------------------------------------- data

def prepare(users: int, data_dir: Path, threads: int) -> dict:
    import duckdb

    import yunying
    from yunying.demo import generate

    d = data_dir / f"analytics-{users}"
    gen_dir = d / "generated"
    if not (gen_dir / "truth.json").exists():
        t = time.perf_counter()
        generate(gen_dir, users=users, days=90, seed=11)
        print(f"generated in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    files = sorted(str(p) for p in (gen_dir / "events").glob("*.parquet")) or [str(gen_dir / "events.parquet")]
    ws_dir = d / "ws"
    parquet = d / "events.parquet"
    if not (ws_dir / "ready").exists():
        t = time.perf_counter()
        ws = yunying.Workspace.init(ws_dir, exist_ok=True)
        con = ws.con
        con.execute(f"SET threads = {threads}")
        con.execute("SET memory_limit = '4GB'")
        con.execute("SET preserve_insertion_order = true")
        src = "read_parquet([" + ", ".join(f"'{f}'" for f in files) + "])"
        con.execute("DELETE FROM events")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _ids AS SELECT distinct_id, arg_min(user_id, timestamp) AS user_id "
            f"FROM {src} WHERE distinct_id IS NOT NULL AND user_id IS NOT NULL AND distinct_id <> user_id "
            "GROUP BY distinct_id")
        con.execute("DELETE FROM identities")
        con.execute("INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, user_id FROM _ids")
        # The generator writes whole users per file (their anonymous ids too), so sorting each
        # file by (user_id, ts) and appending keeps every user's events contiguous and in time order.
        for f in files:
            con.execute(
                "INSERT INTO events SELECT coalesce(e.user_id, i.user_id, e.distinct_id) AS user_id, "
                "coalesce(e.distinct_id, e.user_id), e.event, e.timestamp::TIMESTAMP, e.event_uuid, e.utm_source, "
                "e.utm_medium, e.utm_campaign, e.channel, e.revenue, e.content_id, e.variant, e.properties, "
                f"hash(e.event_uuid)::UHUGEINT FROM read_parquet('{f}') e LEFT JOIN _ids i USING (distinct_id) "
                "ORDER BY 1, 4")
        con.execute("INSERT OR REPLACE INTO meta VALUES ('clustered', 'true')")
        con.execute("CHECKPOINT")
        # users must not span files: every user's rows contiguous
        split = con.execute("SELECT count(*) FROM (SELECT max(rowid) - min(rowid) + 1 AS span, count(*) AS n "
                            "FROM events GROUP BY user_id) WHERE span <> n").fetchone()[0]
        assert split == 0, f"{split} users are not contiguous"
        con.execute(f"COPY (SELECT * EXCLUDE (event_key) FROM events) TO '{parquet}' "
                    "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 1000000)")
        ws.close()
        (ws_dir / "ready").write_text("ok")
        print(f"workspace and parquet in {time.perf_counter() - t:.0f}s", file=sys.stderr)
    # The sequence store (what `optimize` and imports build): timed here, once, when it is missing or stale.
    ws = yunying.Workspace.open(ws_dir)
    ws.con.execute(f"SET threads = {threads}")
    t = time.perf_counter()
    if ws.refresh_sequence_store(force=True):
        store = {"seconds": round(time.perf_counter() - t, 2),
                 "mib": round(sum(p.stat().st_size for p in (ws_dir / ".sequences").iterdir()) / 2**20)}
        (d / "store.json").write_text(json.dumps(store))
        print(f"sequence store built in {store['seconds']}s, {store['mib']} MiB", file=sys.stderr)
    ws.close()
    store = json.loads((d / "store.json").read_text()) if (d / "store.json").exists() else {}
    con = duckdb.connect(str(ws_dir / "yunying.duckdb"), read_only=True)
    events, n_users = con.execute("SELECT count(*), count(DISTINCT user_id) FROM events").fetchone()
    con.close()
    return {"dir": str(d), "ws": str(ws_dir), "parquet": str(parquet), "events": events, "users": n_users,
            "parquet_mib": round(parquet.stat().st_size / 2**20), "store": store}


# ----------------------------------------------------------------------------- tasks (run in a child)

def _timed(fn, repeat: int):
    fn()  # warm-up
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _duck(ws_dir, threads):
    import yunying

    ws = yunying.Workspace.open(ws_dir, read_only=True)
    ws.con.execute(f"SET threads = {threads}")
    ws.con.execute("SET enable_progress_bar = false")
    return ws


def task_read_count(info, repeat, threads):
    ws = _duck(info["ws"], threads)
    q = ("SELECT count(DISTINCT user_id), count(ts) FROM events WHERE event IN ("
         + ", ".join(f"'{s}'" for s in STEPS) + ")")
    secs, out = _timed(lambda: ws.con.sql(q).fetchall()[0], repeat)
    return secs, {"users": out[0], "rows": out[1]}


def task_read_count_parquet(info, repeat, threads):
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {threads}")
    q = (f"SELECT count(DISTINCT user_id), count(ts) FROM read_parquet('{info['parquet']}') WHERE event IN ("
         + ", ".join(f"'{s}'" for s in STEPS) + ")")
    secs, out = _timed(lambda: con.sql(q).fetchall()[0], repeat)
    return secs, {"users": out[0], "rows": out[1]}


def task_read_count_all(info, repeat, threads):
    ws = _duck(info["ws"], threads)
    secs, out = _timed(lambda: ws.con.sql("SELECT count(DISTINCT user_id), count(ts), count(event) FROM events")
                       .fetchall()[0], repeat)
    return secs, {"users": out[0]}


def task_funnel(info, repeat, threads):
    from yunying.analyses.funnel import FunnelSpec, funnel

    ws = _duck(info["ws"], threads)
    spec = FunnelSpec(steps=STEPS, window=f"{WINDOW_DAYS}d")
    secs, res = _timed(lambda: funnel(ws.engine, spec), repeat)
    return secs, {"counts": res.frame["count"].tolist()}


def task_funnel_duckdb(info, repeat, threads):
    """yunying's funnel without the sequence store (rows exported from DuckDB as Arrow batches)."""
    from yunying.engines.duckdb import DuckDBEngine

    DuckDBEngine.use_store = False
    return task_funnel(info, repeat, threads)


def task_retention_duckdb(info, repeat, threads):
    from yunying.engines.duckdb import DuckDBEngine

    DuckDBEngine.use_store = False
    return task_retention(info, repeat, threads)


def task_funnel_ch(info, repeat, threads):
    import chdb

    conds = ", ".join(f"event = '{s}'" for s in STEPS)
    window = WINDOW_DAYS * 86400 * 1_000_000
    q = (f"SELECT level, count() AS n FROM (SELECT user_id, windowFunnel({window})("
         f"toUInt64(toUnixTimestamp64Micro(ts)), {conds}) AS level FROM file('{info['parquet']}', Parquet) "
         f"WHERE event IN ({', '.join(repr(s) for s in STEPS)}) GROUP BY user_id) GROUP BY level "
         f"SETTINGS max_threads = {threads}")
    secs, out = _timed(lambda: chdb.query(q, "CSV").bytes().decode(), repeat)
    levels = {int(a): int(b) for a, b in (line.split(",") for line in out.strip().splitlines())}
    counts = [sum(n for lv, n in levels.items() if lv >= k) for k in range(1, len(STEPS) + 1)]
    return secs, {"counts": counts}


def task_funnel_pandas(info, repeat, threads):
    import pandas as pd
    import pyarrow.parquet as pq

    def run():
        df = pq.read_table(info["parquet"], columns=["user_id", "event", "ts"],
                           filters=[("event", "in", STEPS)]).to_pandas()
        df["t"] = df["ts"].astype("int64")
        window = WINDOW_DAYS * 86400 * 10**9 // (10**3 if df["ts"].dtype == "datetime64[us]" else 1)
        att = df[df.event == STEPS[0]][["user_id", "t"]].rename(columns={"t": "t0"})
        att["last"] = att["t0"]
        att["level"] = 1
        att = att.reset_index(drop=True)
        for k in range(1, len(STEPS)):
            nxt = df[df.event == STEPS[k]][["user_id", "t"]].sort_values("t")
            cur = att[att.level == k].copy()
            # the next step is another event, so "at or after the previous step's time" (ties allowed, as ours)
            cur["q"] = cur["last"]
            m = pd.merge_asof(cur.sort_values("q"), nxt, left_on="q", right_on="t", by="user_id",
                              direction="forward")
            ok = m["t"].notna() & (m["t"] - m["t0"] <= window)
            m = m[ok]
            key = att.set_index(["user_id", "t0"]).index
            upd = pd.Series(m["t"].to_numpy(), index=pd.MultiIndex.from_arrays([m["user_id"], m["t0"]]))
            hit = key.isin(upd.index)
            att.loc[hit, "level"] = k + 1
            att.loc[hit, "last"] = upd.reindex(key[hit]).to_numpy()
        best = att.groupby("user_id")["level"].max()
        return [int((best >= k).sum()) for k in range(1, len(STEPS) + 1)]

    secs, counts = _timed(run, repeat)
    return secs, {"counts": counts}


def task_retention(info, repeat, threads):
    from yunying.analyses.retention import RetentionSpec, retention

    ws = _duck(info["ws"], threads)
    spec = RetentionSpec(start_event=RET_START, return_event=RET_RETURN, period="week", periods=RET_WEEKS)
    secs, res = _timed(lambda: retention(ws.engine, spec), repeat)
    table = {str(r["cohort"]): r["retained"] for r in res.records()}
    return secs, {"table": table}


RET_SQL = f"""
WITH s AS (SELECT user_id, min(date_trunc('week', ts))::DATE AS c FROM events WHERE event = '{RET_START}' GROUP BY 1),
r AS (SELECT DISTINCT user_id, date_trunc('week', ts)::DATE AS w FROM events WHERE event = '{RET_RETURN}')
SELECT s.c AS cohort, 0 AS k, count(*) AS n FROM s GROUP BY 1
UNION ALL
SELECT s.c, (r.w - s.c) // 7 AS k, count(*) FROM s JOIN r USING (user_id)
WHERE r.w > s.c AND (r.w - s.c) // 7 <= {RET_WEEKS} GROUP BY 1, 2
"""


def _ret_table(rows):
    out = {}
    for c, k, n in rows:
        out.setdefault(str(c)[:10], [0] * (RET_WEEKS + 1))[int(k)] = int(n)
    return out


def task_retention_sql(info, repeat, threads):
    ws = _duck(info["ws"], threads)
    secs, rows = _timed(lambda: ws.con.sql(RET_SQL).fetchall(), repeat)
    return secs, {"table": _ret_table(rows)}


def task_retention_ch(info, repeat, threads):
    import chdb

    f = f"file('{info['parquet']}', Parquet)"
    q = f"""
    WITH s AS (SELECT user_id, min(toMonday(ts)) AS c FROM {f} WHERE event = '{RET_START}' GROUP BY user_id),
    r AS (SELECT DISTINCT user_id, toMonday(ts) AS w FROM {f} WHERE event = '{RET_RETURN}')
    SELECT toString(c), 0, count() FROM s GROUP BY c
    UNION ALL
    SELECT toString(s.c), intDiv(dateDiff('day', s.c, r.w), 7) AS k, count()
    FROM s INNER JOIN r ON s.user_id = r.user_id
    WHERE r.w > s.c AND k <= {RET_WEEKS} GROUP BY s.c, k
    SETTINGS max_threads = {threads}
    """
    secs, out = _timed(lambda: chdb.query(q, "CSV").bytes().decode(), repeat)
    rows = [line.replace('"', "").split(",") for line in out.strip().splitlines()]
    return secs, {"table": _ret_table(rows)}


def task_retention_pandas(info, repeat, threads):
    import pandas as pd
    import pyarrow.parquet as pq

    def run():
        df = pq.read_table(info["parquet"], columns=["user_id", "event", "ts"],
                           filters=[("event", "in", [RET_START, RET_RETURN])]).to_pandas()
        day = df["ts"].dt.normalize()
        df["w"] = (day - pd.to_timedelta(day.dt.weekday, unit="D"))
        s = df[df.event == RET_START].groupby("user_id")["w"].min().rename("c")
        r = df[df.event == RET_RETURN][["user_id", "w"]].drop_duplicates()
        j = r.join(s, on="user_id", how="inner")
        j["k"] = (j["w"] - j["c"]).dt.days // 7
        j = j[(j.k > 0) & (j.k <= RET_WEEKS)]
        rows = [(c, 0, n) for c, n in s.value_counts().items()]
        rows += [(c, k, n) for (c, k), n in j.groupby(["c", "k"]).size().items()]
        return rows

    secs, rows = _timed(run, repeat)
    return secs, {"table": _ret_table(rows)}


TASKS = {name[5:]: fn for name, fn in globals().items() if name.startswith("task_")}


# ----------------------------------------------------------------------------- driver

def child(task: str, info: dict, repeat: int, threads: int) -> None:
    secs, out = TASKS[task](info, repeat, threads)
    print(json.dumps({"task": task, "seconds": secs, "out": out}))


def run_child(task, info, repeat, threads, timeout):
    cmd = [sys.executable, __file__, "--child", task, "--info", json.dumps(info), "--repeat", str(repeat),
           "--threads", str(threads)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return {"task": task, "error": f"timed out after {timeout}s"}
    if proc.returncode != 0:
        return {"task": task, "error": err.strip().splitlines()[-1] if err.strip() else f"exit {proc.returncode}"}
    res = json.loads(out.strip().splitlines()[-1])
    res["peak_rss_mib"] = _peak_rss_mib(err)
    return res


def _peak_rss_mib(stderr: str):
    for line in stderr.splitlines()[::-1]:
        if line.startswith("PEAK_RSS_KIB "):
            return round(int(line.split()[1]) / 1024)
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--users", type=int, default=250_000)
    ap.add_argument("--data-dir", type=Path, default=HERE / "data")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--timeout", type=int, default=1800)
    ap.add_argument("--json", type=Path, help="Also write the results here.")
    ap.add_argument("--prepare-only", action="store_true", help="Only generate and load the data.")
    ap.add_argument("--child")
    ap.add_argument("--info")
    args = ap.parse_args()
    if args.child:
        import atexit
        import resource

        def peak_kib() -> int:
            # VmHWM: this process's own high-water mark (ru_maxrss would carry the parent's over exec)
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

        atexit.register(lambda: print(f"PEAK_RSS_KIB {peak_kib()}", file=sys.stderr))
        child(args.child, json.loads(args.info), args.repeat, args.threads)
        return
    info = prepare(args.users, args.data_dir, args.threads)
    print(f"data: {info['events']:,} events, {info['users']:,} users, parquet {info['parquet_mib']} MiB",
          file=sys.stderr)
    if args.prepare_only:
        return
    results = {}
    for task in args.tasks.split(","):
        r = run_child(task, info, args.repeat, args.threads, args.timeout)
        results[task] = r
        print(json.dumps(r)[:300], file=sys.stderr)
    check(results)
    report(info, results)
    if args.json:
        args.json.write_text(json.dumps({"info": info, "results": results}, indent=1))


def check(results):
    f = results.get("funnel", {}).get("out", {}).get("counts")
    for other in ("funnel_duckdb", "funnel_ch", "funnel_pandas"):
        o = results.get(other, {}).get("out", {}).get("counts")
        if f and o and o != f:
            print(f"WARNING: {other} counts {o} != ours {f}", file=sys.stderr)
            results[other]["mismatch"] = True
    t = results.get("retention", {}).get("out", {}).get("table")
    for other in ("retention_duckdb", "retention_sql", "retention_ch", "retention_pandas"):
        o = results.get(other, {}).get("out", {}).get("table")
        if t and o and o != t:
            print(f"WARNING: {other} table differs from ours", file=sys.stderr)
            results[other]["mismatch"] = True


def report(info, results):
    def row(name, key, base):
        r = results.get(key)
        if not r:
            return None
        if "error" in r:
            return f"| {name} | {r['error']} | | | |"
        b = results.get(base, {}).get("seconds")
        ratio = f"{r['seconds'] / b:.2f}×" if b else ""
        flag = " (result differs!)" if r.get("mismatch") else ""
        return f"| {name}{flag} | {r['seconds']:.2f} | {r.get('peak_rss_mib') or ''} | {ratio} |"

    print(f"\n{info['events']:,} events, {info['users']:,} users\n")
    if info.get("store"):
        print(f"sequence store: built in {info['store']['seconds']} s, {info['store']['mib']} MiB on disk\n")
    print("| run | seconds | peak RSS (MiB) | vs baseline |\n|---|---:|---:|---:|")
    for name, key, base in [
        ("DuckDB: read the funnel's columns, count distinct users (baseline)", "read_count", "read_count"),
        ("DuckDB: read all events, count distinct users", "read_count_all", "read_count"),
        ("DuckDB on the Parquet file: read the funnel's columns, count distinct users", "read_count_parquet",
         "read_count"),
        ("**yunying funnel** (4 steps, ordered, 14 d)", "funnel", "read_count"),
        ("yunying funnel without the sequence store (export from DuckDB)", "funnel_duckdb", "read_count"),
        ("ClickHouse windowFunnel (chdb, Parquet)", "funnel_ch", "read_count"),
        ("pandas (merge_asof per step)", "funnel_pandas", "read_count"),
        ("DuckDB hand-written SQL, weekly retention (baseline)", "retention_sql", "retention_sql"),
        ("**yunying retention** (weekly, first-time, 12 weeks)", "retention", "retention_sql"),
        ("yunying retention without the sequence store", "retention_duckdb", "retention_sql"),
        ("ClickHouse SQL (chdb, Parquet)", "retention_ch", "retention_sql"),
        ("pandas", "retention_pandas", "retention_sql"),
    ]:
        line = row(name, key, base)
        if line:
            print(line)
    sec = lambda k: results.get(k, {}).get("seconds")  # noqa: E731
    print("\nTargets:")
    for label, a, b in [("funnel / DuckDB read-and-count (workspace), target <= 1.5", "funnel", "read_count"),
                        ("funnel / DuckDB read-and-count (Parquet), target <= 1.5", "funnel", "read_count_parquet"),
                        ("ClickHouse windowFunnel / funnel, target >= 3", "funnel_ch", "funnel"),
                        ("retention / hand-written DuckDB SQL, target <= 1", "retention", "retention_sql"),
                        ("ClickHouse retention / retention, target >= 3", "retention_ch", "retention")]:
        if sec(a) and sec(b):
            print(f"- {label}: {sec(a) / sec(b):.2f}")
    for k in ("funnel", "retention"):
        if results.get(k, {}).get("peak_rss_mib"):
            print(f"- peak RSS of {k}: {results[k]['peak_rss_mib']} MiB (target < 4096)")


if __name__ == "__main__":
    main()
