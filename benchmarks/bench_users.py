"""RFM and repurchase speed against the plain DuckDB SQL that computes the same per-user aggregates.

    python benchmarks/bench_users.py [--buyers 1000000] [--purchases-per-buyer 3] [--dir /tmp/yy-bench-users]

Builds (once, kept in --dir) a workspace of random purchases over one year, then times each run in this
process: the baseline SQL aggregate alone (what any tool must at least do), ``rfm`` (quantile and mean8:
aggregate + scores + classes), ``rfm(...).to_dict()`` (the JSON-able result), and ``repurchase`` by month
and week. Prints a Markdown table with wall and CPU seconds (this process, all threads) and the ratio to the
baseline.

``--before COMMIT`` also times ``analyses/rfm.py`` as it was at that commit, alternating with today's, in
the same process, and checks that both give the same rows (every column, in order) and the same summary.
"""
from __future__ import annotations

import argparse
import importlib.util
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import yunying
from yunying.analyses.repurchase import repurchase
from yunying.analyses.rfm import rfm
from yunying.config import WorkspaceConfig


def build(directory: Path, buyers: int, per_buyer: int) -> Path:
    ws_dir = directory / f"ws-{buyers}-{per_buyer}"
    if (ws_dir / "yunying.toml").exists():
        return ws_dir
    shutil.rmtree(ws_dir, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    n = buyers * per_buyer
    users = rng.integers(0, buyers, n)
    ts = np.datetime64("2024-01-01") + rng.integers(0, 365 * 86400, n).astype("timedelta64[s]")
    path = directory / f"purchases-{buyers}-{per_buyer}.parquet"
    pq.write_table(pa.table({
        "user_id": pa.array(np.char.add("u", users.astype(str))), "event": pa.array(np.full(n, "purchase")),
        "ts": pa.array(ts.astype("datetime64[us]")), "event_uuid": pa.array(np.char.add("e", np.arange(n).astype(str))),
        "revenue": pa.array(np.round(rng.gamma(2, 50, n), 2)),
    }), path)
    ws = yunying.Workspace.init(ws_dir, WorkspaceConfig(name="bench-users"))
    ws.import_events([str(path)])
    ws.close()
    return ws_dir


def timed(fn):
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - t, time.process_time() - c, out


def rfm_at(commit: str):
    """``yunying.analyses.rfm`` as it was at ``commit`` (a module of the package, so its imports resolve)."""
    root = Path(__file__).resolve().parent.parent
    src = subprocess.run(["git", "show", f"{commit}:src/yunying/analyses/rfm.py"], cwd=root, check=True,
                         capture_output=True, text=True).stdout
    spec = importlib.util.spec_from_loader("yunying.analyses._rfm_before", loader=None)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "yunying.analyses"
    sys.modules[spec.name] = mod
    exec(compile(src, f"rfm.py@{commit}", "exec"), mod.__dict__)
    return mod.rfm


def differences(a, b) -> list[str]:
    """What differs between two RFM results, user by user: every column, the row order, the class summary, the
    thresholds. DuckDB adds a user's revenues in an order that depends on its threads, so two runs of the *same*
    code may differ in the last bit of a sum: revenue is compared to 1e-9 relative, and a different row order or
    M score is reported with how many rows it concerns (only users whose revenue ties another's can move)."""
    fa, fb = a.frame.reset_index(drop=True), b.frame.reset_index(drop=True)
    if list(fa.columns) != list(fb.columns) or len(fa) != len(fb):
        return [f"shape {list(fa.columns)} x {len(fa)} vs {list(fb.columns)} x {len(fb)}"]
    ids_a, ids_b = fa["user_id"].astype(object).to_numpy(), fb["user_id"].astype(object).to_numpy()
    out = [f"row order: {int((ids_a != ids_b).sum()):,} rows at other positions"] if (ids_a != ids_b).any() else []
    fb = fb.set_index(fb["user_id"].astype(object)).loc[ids_a].reset_index(drop=True)  # b's rows in a's order
    for c in fa.columns:
        if c == "monetary":
            x, y = fa[c].to_numpy(), fb[c].to_numpy()
            off = np.abs(x - y) > 1e-9 * np.maximum(np.abs(x), 1.0)
        else:
            off = (fa[c].astype(object) != fb[c].astype(object)).to_numpy()
        if off.any():
            out.append(f"{c}: {int(off.sum()):,} users")
    sa, sb = a.meta["segments"], b.meta["segments"]
    if [(x["segment"], x["users"]) for x in sa] != [(x["segment"], x["users"]) for x in sb]:
        out.append("users per class")
    if any(abs(x["revenue"] - y["revenue"]) > 1e-9 * max(abs(x["revenue"]), 1.0) for x, y in zip(sa, sb)):
        out.append("revenue per class")
    ta, tb = a.meta["thresholds"], b.meta["thresholds"]
    out += [f"threshold {k}: {ta[k]!r} vs {tb[k]!r}" for k in ta if abs(ta[k] - tb[k]) > 1e-12 * abs(ta[k])]
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--buyers", type=int, default=1_000_000)
    ap.add_argument("--purchases-per-buyer", type=int, default=3)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/yy-bench-users"))
    ap.add_argument("--only", default="", help="comma-separated name prefixes of the runs to time (default: all), "
                    "e.g. 'DuckDB,rfm'")
    ap.add_argument("--before", default=None, help="also time rfm as it was at this git commit, and compare")
    args = ap.parse_args()
    ws = yunying.Workspace.open(build(args.dir, args.buyers, args.purchases_per_buyer), read_only=True)
    eng = ws.engine
    eng.known_events()  # the engine's cached list of event names (every analysis checks its events): not timed
    sql = ("SELECT user_id, max(ts::DATE) AS last_day, count(*) AS frequency, sum(revenue) AS monetary "
           "FROM events WHERE event = 'purchase' GROUP BY user_id")
    runs = [
        ("DuckDB SQL per-user aggregate (baseline)", lambda: ws.con.sql(sql).to_arrow_table().num_rows),
        ("rfm quantile", lambda: len(rfm(eng).frame)),
        ("rfm mean8", lambda: len(rfm(eng, model="mean8").frame)),
        ("rfm quantile + to_dict()", lambda: len(rfm(eng).to_dict()["users"])),
        ("repurchase by month", lambda: len(repurchase(eng).frame)),
        ("repurchase by week", lambda: len(repurchase(eng, period="week").frame)),
    ]
    only = [p.strip() for p in args.only.split(",") if p.strip()]
    runs = [(name, fn) for name, fn in runs if not only or any(name.startswith(p) for p in only)]
    checks = []
    if args.before:
        old = rfm_at(args.before)
        kept: dict = {}

        def pair(model):  # before, then after, alternating; the results are kept to compare
            return [(f"rfm {model} (before, {args.before[:7]})",
                     lambda: len(kept.setdefault(("before", model), old(eng, model=model)).frame)),
                    (f"rfm {model} (after)", lambda: len(kept.setdefault(("after", model), rfm(eng, model=model)).frame))]

        runs = runs[:1] + pair("quantile") + pair("mean8") + [r for r in runs[1:] if r[0] not in
                                                                ("rfm quantile", "rfm mean8")]
        checks = [(model, kept) for model in ("quantile", "mean8")]
    rows = [(name, *timed(fn)) for name, fn in runs]
    base = rows[0][1]
    print(f"{args.buyers:,} buyers, {args.buyers * args.purchases_per_buyer:,} purchases\n")
    print("| run | wall seconds | CPU seconds | rows | wall vs baseline |\n|---|---:|---:|---:|---:|")
    for name, secs, cpu, n in rows:
        print(f"| {name} | {secs:.2f} | {cpu:.2f} | {n:,} | {secs / base:.2f}× |")
    if checks:  # the engine's own noise: the baseline aggregate twice, revenue sums compared user by user
        one, two = (ws.con.sql(sql + " ORDER BY user_id").to_arrow_table() for _ in range(2))
        x, y = one["monetary"].to_numpy(), two["monetary"].to_numpy()
        print(f"\nbaseline aggregate run twice: {int((x != y).sum()):,} of {len(x):,} revenue sums differ "
              f"(largest difference {float(np.max(np.abs(x - y))):.3g})")
    for model, kept in checks:
        if ("before", model) in kept and ("after", model) in kept:
            diff = differences(kept[("before", model)], kept[("after", model)])
            print(f"\nrfm {model}, before vs after: {'identical' if not diff else 'DIFFERENT: ' + '; '.join(diff)}")
    ws.close()


if __name__ == "__main__":
    main()
