"""The ahead-of-time kernels against Numba's JIT kernels on a large input (issue 13): CPU seconds per call, and
whether a call releases the GIL.

    YUNYING_CACHE=DIR python benchmarks/bench_kernels_aot.py [--users 400000]   # after `yunying kernels build`

Random user runs (≈ 20 rows a user on a 15-minute grid, so ties are common); each kernel runs alternately on
the build and on the JIT (warmed up first), best CPU time of 3. The GIL check: a Python loop counts on the main
thread while another thread runs a kernel 5 times; a kernel that holds the GIL lets it count only between calls.
"""
from __future__ import annotations

import argparse
import os
import threading
import time

import numpy as np

os.environ.setdefault("YUNYING_KERNELS", "manual")

from yunying.sequences.kernels import loader  # noqa: E402
from yunying.sequences.kernels.consts import I64_MAX, I64_MIN  # noqa: E402

BASE = 1_700_000_000_000_000
WEEK = 7 * 86_400_000_000


def cases(n_users: int) -> dict:
    rng = np.random.default_rng(0)
    lens = rng.integers(0, 40, n_users)
    starts = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    ts = BASE + rng.integers(0, 60 * 96, int(starts[-1])) * 900_000_000
    ts = ts[np.lexsort((ts, np.repeat(np.arange(n_users), lens)))].astype(np.int64)
    code = rng.integers(-1, 6, ts.size).astype(np.int8)
    sm, em, none = np.array([1, 2, 4, 0, 0, 0], np.int64), np.zeros(6, np.int64), np.zeros(0, np.int64)
    sc, mult = np.array([0, 1, 2, -1, -1, -1], np.int64), np.ones(3, np.int64)
    zone = (np.array([I64_MIN], np.int64), np.array([0], np.int64))
    mask = np.array([1, 0, 1, 1, 0, 0], np.bool_)
    return {"rows": ts.size,
            "funnel_kernel": (starts, ts, code, sm, em, 3, np.int64(WEEK), 0, False, I64_MIN, I64_MAX, I64_MAX, none,
                              none, sc, mult),
            "funnel_ordered_distinct": (starts, ts, code, sc, 3, np.int64(WEEK), I64_MIN, I64_MAX, I64_MAX),
            "lifecycle_kernel": (starts, ts, code, mask, False, *zone, 1, 2800, 2900)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--users", type=int, default=400_000)
    a = p.parse_args()
    cs = cases(a.users)
    print(f"{cs.pop('rows'):,} rows, {a.users:,} users; load {open('/proc/loadavg').read().split()[0]}")
    print("| kernel | ahead of time: CPU s | JIT: CPU s | ratio |\n|---|---:|---:|---:|")
    for name, args in cs.items():
        k = loader.KERNELS[name]
        fns = [f for s, f in k.aot_functions() if loader.matches(s, args)]
        if not fns:
            raise SystemExit("no build: run `yunying kernels build` with the same YUNYING_CACHE first")
        best = {"aot": [], "jit": []}
        k.jit()(*args)
        for _ in range(3):
            for lab, f in (("aot", fns[0]), ("jit", k.jit())):
                c = time.process_time()
                f(*args)
                best[lab].append(time.process_time() - c)
        print(f"| {name} | {min(best['aot']):.3f} | {min(best['jit']):.3f} | {min(best['aot']) / min(best['jit']):.2f} |")
    name, args = "funnel_kernel", cs["funnel_kernel"]
    for lab, f in (("aot", [f for s, f in loader.KERNELS[name].aot_functions() if loader.matches(s, args)][0]),
                   ("jit", loader.KERNELS[name].jit())):
        done = []
        th = threading.Thread(target=lambda: [f(*args) for _ in range(5)] and done.append(1))
        n = 0
        th.start()
        while not done:
            n += 1
        th.join()
        print(f"GIL check, {lab}: the main thread counted to {n:,} while another ran {name} 5 times")


if __name__ == "__main__":
    main()
