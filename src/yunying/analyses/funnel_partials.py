"""Funnels on engines that aggregate on their workers (``reduce_rows``: Spark): mergeable partial results.

Each chunk of whole users becomes one small row per counted attempt, without user ids: its breakdown value,
entry period, level, the user's furthest level (repeat mode) and, per step k >= 2, the µs from the previous
step and from step 1 (split into whole seconds and leftover µs, so exact sums never overflow). The engine
groups and aggregates these rows on its executors - counts per (breakdown, period, level), exact sums, exact
medians (counts per value, kept on the executors), the time-to-convert histogram - and only those aggregates
reach the driver: its memory is bounded by the size of the result (steps × breakdown values × periods),
not by the users. The per-user lists (``FunnelResult.attempts``, ``dropped_after``) are fetched only when
asked, by a second pass through ``engine.map_sequences``.

The figures are those of :func:`yunying.analyses.funnel.funnel` on the same attempts, bit for bit (the same
exact mean, numpy's median of the middle values), which the DuckDB = Spark parity tests check.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..sequences.calendar import local_period_ordinals, ordinal_to_date
from .base import ratio

US = 1_000_000
OTHER = "(other)"  # a breakdown's values beyond its top
NONE = "(none)"    # no value


class AttemptRows:
    """The kernel run on the workers: a chunk's counted attempts as Arrow rows of :attr:`schema`."""

    def __init__(self, plan, edges: list[int]):
        self.plan, self.n, self.edges, self.none = plan, plan.n_steps, edges, NONE
        fields = [("attr", pa.string()), ("period", pa.int64()), ("level", pa.int64()), ("ttc", pa.int64())]
        fields += [(f"u{k}", pa.int64()) for k in range(1, self.n + 1)]
        for k in range(2, self.n + 1):
            fields += [(f"{w}{k}", pa.int64()) for w in ("dp", "dps", "dpr", "ds", "dss", "dsr")]
        self.schema = pa.schema(fields)

    def __call__(self, ch) -> pa.RecordBatch:
        p = self.plan(ch)
        if p.level is None:
            return pa.RecordBatch.from_pylist([], schema=self.schema)
        spec, n = self.plan.spec, self.n
        level, ts = p.level.astype(np.int64), p.ts
        cols = {"attr": (pa.array(p.attr).fill_null(self.none) if p.attr is not None
                         else pa.nulls(level.size, pa.string())),
                "period": (local_period_ordinals(ts[:, 0].copy(), self.plan.tz, spec.interval) if spec.interval
                           else np.zeros(level.size, np.int64)),
                "level": level, "ttc": self._ttc(level, ts)}
        first, umax = self._users(p, level)
        for k in range(1, n + 1):
            cols[f"u{k}"] = (first & (umax >= k)).astype(np.int64)
        for k in range(2, n + 1):
            reached = level >= k
            for w, d in (("p", ts[:, k - 1] - ts[:, k - 2]), ("s", ts[:, k - 1] - ts[:, 0])):
                d = np.where(reached, d, 0)
                secs = d // US
                for name, v in ((f"d{w}{k}", d), (f"d{w}s{k}", secs), (f"d{w}r{k}", d - secs * US)):
                    cols[name] = pa.array(v, mask=~reached)
        return pa.RecordBatch.from_arrays([pa.array(cols[f.name], f.type) for f in self.schema], schema=self.schema)

    def _users(self, p, level) -> tuple[np.ndarray, np.ndarray]:
        """(the first attempt of each user, that user's furthest level): distinct users per step in repeat mode."""
        if p.user is None:
            return np.ones(level.size, bool), level
        user = p.user.astype(np.int64)
        _, inverse = np.unique(user, return_inverse=True)
        umax = np.zeros(inverse.max() + 1 if inverse.size else 0, np.int64)
        np.maximum.at(umax, inverse, level)
        first = np.zeros(level.size, bool)
        first[np.unique(inverse, return_index=True)[1]] = True
        return first, umax[inverse]

    def _ttc(self, level, ts) -> np.ndarray:
        """Bucket of the default time-to-convert histogram (step 1 -> last step), -1 when not converted."""
        n, edges = self.n, self.edges
        secs = (ts[:, n - 1] - ts[:, 0]) / 1e6
        out = np.full(level.size, -1, np.int64)
        lo = 0
        for i, hi in enumerate(edges):
            inside = (secs >= lo) & ((secs < hi) if i < len(edges) - 1 else (secs <= hi))
            out[(level >= n) & inside & (out < 0)] = i
            lo = hi
        return out


def funnel_on_workers(engine, spec, plan, edges, query):
    """(step table, breakdown, over time, time-to-convert counts, bytes to the driver) from aggregates."""
    rows = AttemptRows(plan, edges)
    n = plan.n_steps
    with engine.reduce_rows(rows, query, rows.schema) as agg:
        per = agg.aggregate(["attr", "period", "level"], {"count": ("count", "*")}).to_pandas()
        stats = agg.aggregate([], _time_aggs(n, ("p", "s")) | {f"u{k}": ("sum", f"u{k}") for k in range(1, n + 1)})
        ttc = agg.aggregate(["ttc"], {"count": ("count", "*")}).to_pandas()
        breakdown = None
        if spec.by:
            entered = per.groupby("attr")["count"].sum()
            order = sorted(entered.index, key=lambda v: (-int(entered[v]), str(v)))
            keep = order[: spec.top] + ([OTHER] if len(order) > spec.top else [])
            by = agg.aggregate(["attr"], _time_aggs(n, ("s",)), relabel=("attr", order[: spec.top], OTHER))
            breakdown = _breakdown(per, by.to_pandas().set_index("attr"), keep, spec, order[: spec.top])
        sent = agg.bytes_to_driver
    st = stats.to_pylist()[0]
    users = [int(st[f"u{k}"] or 0) for k in range(1, n + 1)] if spec.repeat else None
    table = step_table(_levels(per["level"], per["count"], n), st, spec.step_labels, users)
    counts = [int(ttc.loc[ttc["ttc"] == i, "count"].sum()) for i in range(len(edges))]
    return table, breakdown, _over_time(per, spec, n) if spec.interval else None, counts, sent


def _time_aggs(n: int, which) -> dict:
    out = {}
    for k in range(2, n + 1):
        for w in which:
            out |= {f"m{w}{k}": ("count", f"d{w}{k}"), f"med{w}{k}": ("median", f"d{w}{k}"),
                    f"s{w}{k}": ("sum", f"d{w}s{k}"), f"r{w}{k}": ("sum", f"d{w}r{k}")}
    return out


def _levels(level, count, n: int) -> np.ndarray:
    per_level = np.zeros(n + 1, np.int64)
    np.add.at(per_level, np.minimum(level.to_numpy(np.int64), n), count.to_numpy(np.int64))
    return per_level


def _mean(secs, rem, m) -> float:
    """The exact mean of :func:`yunying.sequences.kernels.funnel._exact_mean_seconds` from its two sums."""
    secs, rem = int(secs or 0), int(rem or 0)
    carry = rem // US
    return (float(secs + carry) + (rem - carry * US) / 1e6) / m


def step_table(per_level: np.ndarray, st: dict, names: list[str], users: list[int] | None = None) -> list[dict]:
    """The funnel's step rows from counts per level and the time aggregates ``st`` (see :func:`_time_aggs`)."""
    n = len(names)
    counts = [int(per_level[k + 1:].sum()) for k in range(n)]
    rows = []
    for k in range(n):
        row = {"step": k + 1, "name": names[k], "count": counts[k],
               "conversion_from_start": ratio(counts[k], counts[0]),
               "conversion_from_previous": ratio(counts[k], counts[k - 1]) if k else ratio(counts[0], counts[0]),
               "drop_off": counts[k - 1] - counts[k] if k else 0}
        if users is not None:
            row["users"] = users[k]
        for w, label in (("p", "previous"), ("s", "start")):
            m = int(st.get(f"m{w}{k + 1}") or 0)
            row[f"avg_seconds_from_{label}"] = _mean(st[f"s{w}{k + 1}"], st[f"r{w}{k + 1}"], m) if m else None
            row[f"median_seconds_from_{label}"] = float(st[f"med{w}{k + 1}"]) / 1e6 if m else None
        rows.append({key: row[key] for key in ("step", "name", "count", "conversion_from_start",
                                               "conversion_from_previous", "drop_off")
                     + (("users",) if users is not None else ())
                     + ("avg_seconds_from_previous", "median_seconds_from_previous", "avg_seconds_from_start",
                        "median_seconds_from_start")})
    return rows


def _breakdown(per: pd.DataFrame, by: pd.DataFrame, keep: list, spec, top: list) -> list[dict]:
    n = len(spec.steps)
    label = per["attr"].where(per["attr"].isin(top), OTHER)
    out = []
    for v in keep:
        sel = per[label == v]
        st = {k: by.loc[v, k] for k in by.columns} if v in by.index else {}
        rows = step_table(_levels(sel["level"], sel["count"], n), st, spec.step_labels)
        out.append({"value": v, "steps": [{k: r[k] for k in ("step", "name", "count", "conversion_from_start",
                                                              "conversion_from_previous", "median_seconds_from_start")}
                                          for r in rows],
                    "conversion": rows[-1]["conversion_from_start"]})
    return out


def _over_time(per: pd.DataFrame, spec, n: int) -> pd.DataFrame:
    cols = ["period", "entered"] + [f"step_{k + 1}" for k in range(1, n)] + ["conversion"]
    rows = []
    for o, g in per.groupby("period", sort=True):
        lv, c = g["level"].to_numpy(), g["count"].to_numpy()
        row = {"period": ordinal_to_date(int(o), spec.interval), "entered": int(c.sum())}
        for k in range(1, n):
            row[f"step_{k + 1}"] = int(c[lv >= k + 1].sum())
        row["conversion"] = ratio(row[f"step_{n}"], row["entered"])
        rows.append(row)
    return pd.DataFrame(rows, columns=cols)
