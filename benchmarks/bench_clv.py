"""Customer-value benchmark: fit and score a million customers.

Wall-clock and CPU time (all threads of this process) are both printed: the project machine has 2 cores
shared by several sessions, so wall time varies with their load while CPU time varies much less.

    python benchmarks/bench_clv.py --customers 1000000 [--model bgnbd|pareto] [--events]

Data: customers drawn from BG/NBD (r 0.5, α 6, a 0.8, b 2.5; T uniform on 26–39 weeks; recency in whole
days, as yunying computes it from events) with Gamma-Gamma spend (p 6, q 4, v 15). Timed, each once after a
warm-up on 20,000 customers: the purchase-model fit, the spend-model fit, and scoring every customer
(P(alive), expected purchases in 90 days, CLV with three discounted 30-day steps, value at risk: what
``yunying clv`` computes). ``--events`` also times the whole ``customer_value`` analysis on a DuckDB
workspace holding the customers' transactions as purchase events (reading the user-days, summarising,
fitting, scoring). Fitted parameters are checked against the truth before any time is printed.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

TRUE = dict(r=0.5, alpha=6.0, a=0.8, b=2.5)
SPEND = dict(p=6.0, q=4.0, v=15.0)


def draw(n: int, seed: int = 1):
    rng = np.random.default_rng(seed)
    T = np.floor(rng.uniform(26, 39, n) * 7) / 7
    lam = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], n)
    p = rng.beta(TRUE["a"], TRUE["b"], n)
    N = rng.poisson(lam * T)
    x = np.minimum(N, rng.geometric(p))
    tx = np.where(x > 0, np.floor(T * 7 * rng.beta(np.maximum(x, 1), np.maximum(N - x + 1, 1))) / 7, 0.0)
    tx = np.where((x > 0) & (tx == 0), 1 / 7, tx)
    nu = rng.gamma(SPEND["q"], 1 / SPEND["v"], n)
    m = np.where(x > 0, rng.gamma(SPEND["p"] * np.maximum(x, 1), 1 / (nu * np.maximum(x, 1))), np.nan)
    return x.astype(float), tx, T, np.round(m, 2)


def fit_and_score(model_name: str, x, tx, T, m) -> dict:
    from yunying.stats.clv import MODELS, GammaGammaFitter, ValueSettings, churn_risk, discounted_purchases

    times = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    model = MODELS[model_name]().fit(x, tx, T)
    times["fit_purchases"] = time.perf_counter() - t0
    rep = (x > 0) & (m > 0)
    t0 = time.perf_counter()
    spend = GammaGammaFitter().fit(x[rep], m[rep])
    times["fit_spend"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    s = ValueSettings()
    h = 90 / 7
    p_alive = model.p_alive(x, tx, T)
    churn_risk(p_alive, s)
    model.conditional_expected_purchases(h, x, tx, T)
    aov = spend.expected_order_value(np.where(rep, x, 0), np.nan_to_num(m))
    clv = aov * discounted_purchases(model, h, x, tx, T, unit_days=7, settings=s)
    var = (1 - p_alive) * aov * discounted_purchases(model, h, x, tx, T, unit_days=7, settings=s, if_alive=True)
    times["score"] = time.perf_counter() - t0
    cpu = time.process_time() - cpu0
    assert np.isfinite(clv).all() and np.isfinite(var).all()
    return {"model": model, "spend": spend, "times": times, "cpu": cpu}


def events_run(x, tx, T, m, tmp: str) -> float:
    """The whole analysis from purchase events in a DuckDB workspace (one row per transaction)."""
    import datetime as dt

    import pyarrow as pa
    import pyarrow.parquet as pq

    import yunying
    from yunying.analyses.customer_value import CustomerValueSpec, customer_value

    n = x.size
    end = dt.date(2024, 12, 31)
    first = (np.datetime64(end) - np.round(T * 7).astype("timedelta64[D]"))
    # first transaction, x - 1 evenly spaced repeat days before the last one at first + recency (approximate
    # spacing: the timing inside (first, last) does not change frequency, recency or T)
    k = x.astype(np.int64)
    users = np.repeat(np.arange(n), k + 1)
    idx = np.arange(users.size) - np.repeat(np.cumsum(k + 1) - (k + 1), k + 1)
    span = np.round(tx * 7).astype(np.int64)
    offs = np.where(k[users] > 0, np.floor(span[users] * idx / np.maximum(k[users], 1)), 0).astype(np.int64)
    offs = np.where((idx > 0) & (offs <= 0), 1, offs)
    days = first[users] + offs.astype("timedelta64[D]")
    val = np.where(idx == 0, 20.0, np.nan_to_num(m[users], nan=20.0))
    tab = pa.table({"user_id": pa.array([f"c{u}" for u in users]), "event": pa.array(["purchase"] * users.size),
                    "timestamp": pa.array(days.astype("datetime64[s]")), "revenue": val,
                    "event_uuid": pa.array([f"e{i}" for i in range(users.size)])})
    path = f"{tmp}/purchases.parquet"
    pq.write_table(tab, path)
    ws = yunying.Workspace.init(f"{tmp}/ws")
    ws.import_events([path])
    t0, cpu0 = time.perf_counter(), time.process_time()
    res = customer_value(ws.engine, CustomerValueSpec(period="week", as_of=end))
    took = time.perf_counter() - t0
    print(f"  (this process's CPU time: {time.process_time() - cpu0:.2f}s, all threads, DuckDB's included)")
    assert len(res.frame) == n, (len(res.frame), n)
    ws.close()
    return took


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--model", default="bgnbd", choices=["bgnbd", "pareto"])
    ap.add_argument("--events", action="store_true", help="also time the analysis from purchase events")
    args = ap.parse_args()
    fit_and_score(args.model, *draw(20_000, seed=2))  # warm-up (imports, SciPy)
    x, tx, T, m = draw(args.customers)
    out = fit_and_score(args.model, x, tx, T, m)
    if args.model == "bgnbd":
        for k, v in TRUE.items():
            assert abs(out["model"].params_[k] - v) < 5 * out["model"].standard_errors_[k] + 0.02 * v, (k, out["model"])
    for k, v in SPEND.items():
        assert abs(out["spend"].params_[k] - v) < 0.05 * v, (k, out["spend"])
    t = out["times"]
    total = sum(t.values())
    print(f"{args.customers:,} customers ({int((x > 0).sum()):,} repeat), model {args.model}")
    print(f"  {out['model']}\n  {out['spend']}")
    print(f"  fit purchases {t['fit_purchases']:.2f}s  fit spend {t['fit_spend']:.2f}s  score {t['score']:.2f}s  "
          f"total {total:.2f}s wall, {out['cpu']:.2f}s CPU")
    if args.events:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            print(f"  from events (read, summarise, fit, score): {events_run(x, tx, T, m, tmp):.2f}s")


if __name__ == "__main__":
    main()
