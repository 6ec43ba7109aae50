"""Filtered analyses at scale: a funnel filtered on a user property / a segment against the same funnel
unfiltered, and the size of a behavioural segment (issue 11's speed targets; numbers in README.md).

    python benchmarks/bench_filters.py --ws /tmp/yy-bench-filters/ws [--repeat 2]

``--ws``: a COPY of the 100M-event workspace made by ``bench_analytics.py --users 2500000`` (this script writes
to it: a ``city`` profile property for every user and a static segment, with plain SQL that leaves the events
and their sequence store untouched). Each run in this process, best of ``--repeat``.
"""
from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

import yunying
from yunying.analyses.funnel import FunnelSpec, funnel
from yunying.analyses.segments import evaluate
from yunying.storage import sequence_store as store

STEPS = ["signup", "activate", "view_content", "purchase"]
RULE = "did purchase at least 2 times in the last 30 days"


def best(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def prepare(ws) -> None:
    """A city for every user (a fifth in 上海) and a static segment of a third of the users, if not there yet."""
    con = ws.con
    if con.execute("SELECT count(city) FROM users").fetchall()[0][0] == 0:
        con.execute("UPDATE users SET city = CASE hash(user_id) % 5 WHEN 0 THEN '上海' WHEN 1 THEN '北京' "
                    "WHEN 2 THEN '广州' ELSE NULL END")
    if ws.segment("三分之一") is None:
        ids = [r[0] for r in con.execute("SELECT user_id FROM users WHERE hash(user_id) % 3 = 0").fetchall()]
        ws.save_segment("三分之一", kind="static", static_ids=ids)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ws", type=Path, required=True)
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()
    ws = yunying.Workspace.open(args.ws)
    prepare(ws)
    n = ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    print(f"{n:,} events; sequence store: {store.status(ws)}")
    rows = []
    base = None
    for label, filters in [("funnel, unfiltered", []),
                           ("funnel, user.city = '上海'", ["user.city = '上海'"]),
                           ("funnel, segment = '三分之一'", ["segment = '三分之一'"]),
                           ("funnel, user.city in ('上海', '北京') and segment = '三分之一'",
                            ["user.city in ('上海', '北京')", "segment = '三分之一'"]),
                           ("funnel, event.channel = 'kol' (every row tested)", ["event.channel = 'kol'"])]:
        spec = FunnelSpec.build(steps=STEPS, window="14d", filters=filters)
        secs, res = best(lambda: funnel(ws.engine, spec), args.repeat)
        base = base or secs
        rows.append((label, secs, res.frame["count"].tolist()[0], secs / base))
    last = ws.con.execute("SELECT max(ts) FROM events").fetchall()[0][0].date()
    secs, members = best(lambda: evaluate(ws.engine, RULE, ws.segment, last), args.repeat)
    rows.append((f"segment size: {RULE} (as of {last})", secs, len(members), None))
    print("| run | seconds | users | vs unfiltered |\n|---|---:|---:|---:|")
    for label, secs, users, ratio in rows:
        print(f"| {label} | {secs:.2f} | {users:,} | {'' if ratio is None else f'{ratio:.2f}×'} |")
    print(f"run at {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC")
    ws.close()


if __name__ == "__main__":
    main()
