"""Funnels on engines that aggregate on their workers (``reduce_rows``: Spark): mergeable partial results.

Each chunk of whole users becomes a few rows of mergeable partials, without user ids (:class:`PartialRows`):
counts of attempts per (breakdown value, entry period, level); per step k >= 2 the count and exact integer
sums (whole seconds and leftover µs, so they never overflow) of the µs from the previous step and from step 1;
the time-to-convert histogram; distinct users per step (repeat mode); for the exact medians, a log-linear
histogram of those µs (:func:`bucket_of`: 16 sub-buckets per power of two) and the counts per distinct value.
The engine caches these rows on its executors and merges them by key there. One job brings the small
aggregates to the driver (sums per key: O(steps × breakdown values × periods) plus the histograms); the
driver finds the bucket holding each median's middle value(s), and a second job brings the counts per
distinct value of those buckets only (:func:`exact_medians`; a bucket with more than :data:`VALUES_LIMIT`
values is first cut into finer bins, one more job each time). Its memory is bounded by the size of the result,
not by the users. The per-user lists (``FunnelResult.attempts``, ``dropped_after``) are fetched only when
asked, by a second pass through ``engine.map_sequences``.

The figures are those of :func:`yunying.analyses.funnel.funnel` on the same attempts, bit for bit (the same
exact mean, numba's median of the middle values), which the DuckDB = Spark parity tests check.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from ..errors import EngineError
from ..sequences.calendar import local_period_ordinals, ordinal_to_date
from .base import ratio

if TYPE_CHECKING:
    import pandas as pd

US = 1_000_000
OTHER = "(other)"  # a breakdown's values beyond its top
NONE = "(none)"    # no value

#: kinds of partial rows (column ``kind``)
LEVELS, TIMES, TTC, USERS, HIST, VALUES = range(6)
SMALL = (LEVELS, TIMES, TTC, USERS, HIST)
#: significant bits kept by the medians' histogram buckets (16 buckets per power of two, each ≤ 1/16 of its
#: values wide): at most 16 × 64 rows per median, whatever the number of users
SUB_BITS = 4
#: a median's bucket with at most this many values is read value by value; a larger one is cut into
#: :data:`BINS` equal bins first (one more job)
VALUES_LIMIT = 4_096
BINS = 4_096
WAYS = ("p", "s")  # from the previous step, from step 1


def bucket_of(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key, shift) of the log-linear bucket of each non-negative integer: ``[key << shift, (key + 1) << shift)``
    holds it, with ``shift`` chosen so that ``key`` keeps :data:`SUB_BITS` + 1 significant bits."""
    bits = np.frexp(np.maximum(v, 1).astype(np.float64))[1].astype(np.int64)  # bit length, up to rounding
    bits = np.minimum(bits, 62)
    bits = np.where(v >= (np.int64(1) << bits), bits + 1, bits)
    bits = np.where((bits > 1) & (v < (np.int64(1) << np.maximum(bits - 1, 0))), bits - 1, bits)
    shift = np.maximum(bits - 1 - SUB_BITS, 0)
    return v >> shift, shift


class PartialRows:
    """The kernel run on the workers: a chunk's counted attempts as mergeable partial rows of :attr:`schema`
    (``kind``, key columns ``attr, i1, i2, i3, v``, summed columns ``n, s, r``)."""

    schema = pa.schema([("kind", pa.int64()), ("attr", pa.string())]
                       + [(c, pa.int64()) for c in ("i1", "i2", "i3", "v", "n", "s", "r")])

    def __init__(self, plan, edges: list[int]):
        self.plan, self.n, self.edges = plan, plan.n_steps, edges

    def __call__(self, ch) -> pa.RecordBatch:
        p = self.plan(ch)
        if p.level is None:
            return pa.RecordBatch.from_pylist([], schema=self.schema)
        spec, n = self.plan.spec, self.n
        level, ts = p.level.astype(np.int64), p.ts
        attr = (pa.array(p.attr).fill_null(NONE).to_numpy(zero_copy_only=False) if p.attr is not None
                else np.full(level.size, None, object))
        period = (local_period_ordinals(ts[:, 0].copy(), self.plan.tz, spec.interval) if spec.interval
                  else np.zeros(level.size, np.int64))
        parts = [_grouped(LEVELS, {"attr": attr, "i1": period, "i2": level}, {"n": np.ones(level.size, np.int64)})]
        ttc = self._ttc(level, ts)
        hit = ttc >= 0
        parts.append(_grouped(TTC, {"i1": ttc[hit]}, {"n": np.ones(int(hit.sum()), np.int64)}))
        if spec.repeat:
            first, umax = self._users(p, level)
            parts.append(_grouped(USERS, {"i2": np.arange(1, n + 1, dtype=np.int64)},
                                  {"n": np.array([(first & (umax >= k)).sum() for k in range(1, n + 1)], np.int64)}))
        for k in range(2, n + 1):
            reached = level >= k
            a = attr[reached]
            for w, d in enumerate((ts[reached, k - 1] - ts[reached, k - 2], ts[reached, k - 1] - ts[reached, 0])):
                if d.size and d.min() < 0:
                    raise EngineError(key="funnel_partials.funnel_partials_step_before")
                secs = d // US
                keyed = a if (w == 1 and spec.by) else np.full(d.size, None, object)
                ones = np.ones(d.size, np.int64)
                parts.append(_grouped(TIMES, {"attr": keyed, "i1": w, "i2": k}, {"n": ones, "s": secs, "r": d - secs * US}))
                key, shift = bucket_of(d)
                parts.append(_grouped(HIST, {"attr": keyed, "i1": w, "i2": k, "i3": key, "v": shift}, {"n": ones}))
                parts.append(_grouped(VALUES, {"attr": keyed, "i1": w, "i2": k, "v": d}, {"n": ones}))
        cols = {}
        for f in self.schema:
            arrays = [x[f.name] for x in parts]
            cols[f.name] = (pa.array(np.concatenate(arrays), pa.string()) if f.name == "attr"
                            else np.concatenate(arrays).astype(np.int64))
        return pa.RecordBatch.from_arrays([pa.array(cols[f.name], f.type) for f in self.schema], schema=self.schema)

    def _users(self, p, level) -> tuple[np.ndarray, np.ndarray]:
        """(the first attempt of each user, that user's furthest level): distinct users per step in repeat mode."""
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


def _grouped(kind: int, keys: dict, sums: dict) -> dict:
    """Columns of :attr:`PartialRows.schema`: ``kind``, the ``sums`` per distinct ``keys`` (a scalar key is the
    same for every row), 0 (None for ``attr``) in the columns not given. Integers stay int64 throughout."""
    import pandas as pd  # the Spark path only: not loaded at start-up

    size = len(next(iter(sums.values())))
    df = pd.DataFrame({k: (np.full(size, v, dtype=object if v is None or isinstance(v, str) else np.int64)
                           if v is None or np.isscalar(v) else v) for k, v in {**keys, **sums}.items()})
    if size:
        df = df.groupby(list(keys), sort=False, dropna=False).sum().reset_index()
    rows = len(df)
    out = {"kind": np.full(rows, kind, np.int64)}
    for name in PartialRows.schema.names[1:]:
        if name == "attr":
            out[name] = (df["attr"].astype(object).where(df["attr"].notna(), None).to_numpy()
                         if "attr" in df else np.full(rows, None, object))
        else:
            out[name] = df[name].to_numpy(np.int64) if name in df else np.zeros(rows, np.int64)
    return out


def funnel_on_workers(engine, spec, plan, edges, query):
    """(step table, breakdown, over time, time-to-convert counts, bytes to the driver) from the partials: one
    Spark job for the small aggregates, one (rarely more) for the values around the medians."""
    rows = PartialRows(plan, edges)
    n = plan.n_steps
    with engine.reduce_rows(rows, query, rows.schema) as agg:
        small = agg.sums(["kind", "attr", "i1", "i2", "i3", "v"], ["n", "s", "r"], only=("kind", SMALL)).to_pandas()
        per = small[small["kind"] == LEVELS].rename(columns={"i1": "period", "i2": "level", "n": "count"})
        times = small[small["kind"] == TIMES]
        hist = small[small["kind"] == HIST]
        top = None
        if spec.by:
            entered = per.groupby("attr")["count"].sum()
            order = sorted(entered.index, key=lambda v: (-int(entered[v]), str(v)))
            top = order[: spec.top]
            labels = top + ([OTHER] if len(order) > spec.top else [])
        targets = [(None, w, k) for w in (0, 1) for k in range(2, n + 1)]
        if spec.by:
            targets += [(label, 1, k) for label in labels for k in range(2, n + 1)]
        medians = exact_medians(agg, hist, targets, top)
        sent = agg.bytes_to_driver
    table = step_table(_levels(per["level"], per["count"], n), _stats(times, medians, None, top, n),
                       spec.step_labels, _users(small, n) if spec.repeat else None)
    breakdown = None
    if spec.by:
        breakdown = _breakdown(per, {v: _stats(times, medians, v, top, n) for v in labels}, labels, spec, top)
    ttc = small[small["kind"] == TTC]
    counts = [int(ttc.loc[ttc["i1"] == i, "n"].sum()) for i in range(len(edges))]
    return table, breakdown, _over_time(per, spec, n) if spec.interval else None, counts, sent


def _users(small: pd.DataFrame, n: int) -> list[int]:
    u = small[small["kind"] == USERS]
    return [int(u.loc[u["i2"] == k, "n"].sum()) for k in range(1, n + 1)]


def _select(frame: pd.DataFrame, label, top) -> pd.Series:
    """Rows of ``frame`` (partials keyed by ``attr``) in a group: all (None), a top value, or the others."""
    import pandas as pd  # the Spark path only: not loaded at start-up

    if label is None:
        return pd.Series(True, index=frame.index)
    if label == OTHER:
        return frame["attr"].notna() & ~frame["attr"].isin(top)
    return frame["attr"] == label


def _stats(times: pd.DataFrame, medians: dict, label, top, n: int) -> dict:
    """The time aggregates of a group as :func:`step_table` reads them (``m``/``s``/``r``/``med`` + way + step)."""
    st = {}
    g = times[_select(times, label, top)]
    for k in range(2, n + 1):
        for w, way in enumerate(WAYS):
            x = g[(g["i1"] == w) & (g["i2"] == k)]
            st |= {f"m{way}{k}": int(x["n"].sum()), f"s{way}{k}": int(x["s"].sum()), f"r{way}{k}": int(x["r"].sum()),
                   f"med{way}{k}": medians.get((label, w, k))}
    return st


def exact_medians(agg, hist: pd.DataFrame, targets: list[tuple], top) -> dict:
    """``{(label, way, step): median µs}`` (numba's: the middle value, or the mean of the middle two) from the
    histograms ``hist`` and the values of the buckets holding each middle rank, read by ``agg.binned``: each
    rank's bucket narrowed to one bin of its finer bins per pass while it holds more than :data:`VALUES_LIMIT`
    values, then read value by value."""
    import pandas as pd  # the Spark path only: not loaded at start-up

    pending, found, ranks_of = {}, {}, {}
    for i, (label, w, k) in enumerate(targets):
        h = hist[(hist["i1"] == w) & (hist["i2"] == k)]
        h = h[_select(h, label, top)]
        if not len(h):
            continue
        key, shift = h["i3"].to_numpy(np.int64), h["v"].to_numpy(np.int64)
        b = pd.DataFrame({"lo": key << shift, "hi": (key + 1) << shift, "n": h["n"].to_numpy(np.int64)})
        b = b.groupby(["lo", "hi"]).sum().reset_index()  # sorted by lo: the buckets do not overlap
        m = int(b["n"].sum())
        where, exclude = {"kind": [VALUES], "i1": [w], "i2": [k]}, {}
        if label == OTHER:  # any breakdown value but the top ones
            exclude = {"attr": list(top)}
        elif label is not None:
            where["attr"] = [label]
        ranks_of[i] = ((m - 1) // 2, m // 2)  # 0-based ranks of the middle value(s)
        for r in set(ranks_of[i]):
            pending[(i, r)] = {"where": where, "exclude": exclude,
                               **_narrow(b["lo"].to_numpy(), b["hi"].to_numpy(), b["n"].to_numpy(), 0, r)}
    while pending:
        asks = {}  # the two middle ranks often share a bin: one ask each
        for t in pending.values():
            t["width"] = 1 if t["count"] <= VALUES_LIMIT else -(-(t["hi"] - t["lo"]) // BINS)
            ask = {c: t[c] for c in ("where", "exclude", "lo", "hi", "width")}
            t["id"] = asks.setdefault(repr(ask), {"id": len(asks), **ask})["id"]
        got = agg.binned(list(asks.values()), "v", "n").to_pandas()
        for key in list(pending):
            t = pending[key]
            g = got[got["target"] == t["id"]].sort_values("bin")
            bins, counts = g["bin"].to_numpy(np.int64), g["n"].to_numpy(np.int64)
            los = t["lo"] + bins * t["width"]
            cut = _narrow(los, np.minimum(los + t["width"], t["hi"]), counts, t["base"], key[1])
            if t["width"] == 1:
                found[key] = cut["lo"]
                del pending[key]
            else:
                t.update(cut)
    out = {}
    for i, (r0, r1) in ranks_of.items():
        a, b = found[(i, r0)], found[(i, r1)]
        out[targets[i]] = float(a) if r0 == r1 else float(np.int64(a) + np.int64(b)) / 2
    return out


def _narrow(lo, hi, counts, base: int, rank: int) -> dict:
    """The bin (of sorted bins ``[lo, hi)`` with ``counts``, ``base`` values before the first) holding the value
    of 0-based ``rank``: its bounds, the values before it, its values."""
    cum = base + np.cumsum(counts)
    at = int(np.searchsorted(cum, rank, side="right"))
    before = int(cum[at - 1]) if at else base
    return {"lo": int(lo[at]), "hi": int(hi[at]), "base": before, "count": int(cum[at] - before)}


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
    """The funnel's step rows from counts per level and the time aggregates ``st`` (see :func:`_stats`)."""
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


def _breakdown(per: pd.DataFrame, stats: dict, keep: list, spec, top: list) -> list[dict]:
    n = len(spec.steps)
    label = per["attr"].where(per["attr"].isin(top), OTHER)
    out = []
    for v in keep:
        sel = per[label == v]
        rows = step_table(_levels(sel["level"], sel["count"], n), stats[v], spec.step_labels)
        out.append({"value": v, "steps": [{k: r[k] for k in ("step", "name", "count", "conversion_from_start",
                                                              "conversion_from_previous", "median_seconds_from_start")}
                                          for r in rows],
                    "conversion": rows[-1]["conversion_from_start"]})
    return out


def _over_time(per: pd.DataFrame, spec, n: int) -> pd.DataFrame:
    import pandas as pd  # the Spark path only: not loaded at start-up

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
