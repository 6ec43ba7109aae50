"""The trends result as it was computed before plain columns (pandas frames, merges and group-bys), kept as
the oracle the pandas-free computation of yunying.analyses.trends is checked against; the raw series come
from the Ibis path (``_ibis_series``), itself checked against the SQL path."""
from __future__ import annotations

import numpy as np
import pandas as pd

from yunying.analyses.base import pct_change
from yunying.analyses.trends import (ADDITIVE, LETTERS, OTHER, NONE, PERCENTILES, ZERO_MEASURES, Series, SpecError, TrendsResult,
                                     TrendsSpec, _compile, _evaluate, _forward, _ibis_series, _meta, _range,
                                     _shift_date, period_range)


def _raw_series(engine, s, spec, date_from, date_to) -> pd.DataFrame:
    raw = _ibis_series(engine, s, spec, date_from, date_to)
    keys = ["date", "breakdown"] if spec.by else ["date"]
    if not raw and s.measure in PERCENTILES:
        return pd.DataFrame(columns=[*keys, "value"])
    df = pd.DataFrame([(*k, v) for k, v in raw.items()], columns=[*keys, "value"])
    # as an Arrow result of the aggregate gave them, empty or not
    return df.astype({"value": "int64" if s.measure in ("count", "users") else "float64"})


def choose_breakdown(frames: list[pd.DataFrame], spec: TrendsSpec) -> tuple[list, bool]:
    """The breakdown values shown, chosen once for all series: the top ``spec.top`` by the first series'
    total over the range, ties broken by the next series' totals, then by name. Returns the values and
    whether any value was left out (then additive series show the rest as ``(other)``)."""
    totals = pd.DataFrame({i: f.groupby("breakdown")["value"].sum() for i, f in enumerate(frames) if not f.empty})
    if totals.empty:
        return [], False
    totals = totals.reindex(columns=range(len(frames))).fillna(0.0)
    totals.index.name = "__name"
    ranked = totals.reset_index().sort_values([*range(len(frames)), "__name"],
                                              ascending=[False] * len(frames) + [True], kind="stable")
    names = list(ranked["__name"])
    return names[: spec.top], len(names) > spec.top


def _check_breakdown(spec: TrendsSpec, series: list[Series], frames: list[pd.DataFrame], first, last) -> None:
    """A breakdown by a property that none of a series' events has would put everything in "(none)": say so."""
    for s, f in zip(series, frames):
        if not f.empty and (f["breakdown"] == NONE).all():
            what = "event" if s.active else f"{s.event!r} event"
            when = f" between {first or 'the start'} and {last or 'the end'}" if first or last else ""
            raise SpecError(f"by: the property {spec.by!r} is not set on any {what}{when}, so every value "
                            f"would be {NONE!r}; break down by a property these events carry")


def _keep_groups(df: pd.DataFrame, s: Series, keep: list, rest: bool) -> pd.DataFrame:
    """Rows of the chosen values; for additive measures the other values summed as ``(other)``."""
    if rest and s.measure in ADDITIVE:
        df = df.copy()
        df.loc[~df["breakdown"].isin(keep), "breakdown"] = OTHER
        return df.groupby(["date", "breakdown"], as_index=False)["value"].sum()
    # distinct counts, averages and percentiles cannot be added: show only the chosen values
    return df[df["breakdown"].isin(keep)]


def _fill(df: pd.DataFrame, spec: TrendsSpec, first, last, groups) -> pd.DataFrame:
    """Every period of the range (and every chosen breakdown value) as a row; missing values stay NaN."""
    if not spec.fill_zeros or first is None or last is None:
        return df
    periods = period_range(first, last, spec.interval)
    if spec.by:
        full = pd.MultiIndex.from_product([periods, groups], names=["date", "breakdown"]).to_frame(index=False)
        df = full.merge(df, on=["date", "breakdown"], how="left")
    else:
        df = pd.DataFrame({"date": periods}).merge(df, on="date", how="left")
    return df


def _zeros(out: pd.DataFrame, series: list[Series], spec: TrendsSpec) -> pd.DataFrame:
    """A count, a number of users or a sum with no events is 0 (not n/a) — except a non-additive
    measure's ``(other)``, which is not computed."""
    for i, s in enumerate(series):
        if s.measure not in ZERO_MEASURES:
            continue
        for col in (LETTERS[i], f"{LETTERS[i]}_previous_value"):
            if col in out:
                blank = out[col].isna()
                if spec.by and s.measure not in ADDITIVE:
                    blank &= out["breakdown"] != OTHER
                out.loc[blank, col] = 0
                if s.measure != "sum" and out[col].notna().all():
                    out[col] = out[col].astype("int64")
    return out


def trends(engine, spec: TrendsSpec) -> TrendsResult:
    """Compute a trend series.

    >>> import yunying
    >>> ws = yunying.demo_workspace()                       # doctest: +SKIP
    >>> yunying.trends(ws.engine, active=True, measure="users", interval="week").to_pandas()  # doctest: +SKIP
    """
    series = spec.all_series
    engine.check_events([s.event for s in series if s.event])
    event_by = spec.by if spec.by and not spec.by.startswith(("user.", "segment:", "event.")) else None
    engine.check_properties([event_by] + [s.property for s in series])
    first, last, n_prev = _range(engine, series, spec)
    current = [_raw_series(engine, s, spec, first, last) for s in series]
    previous = [_raw_series(engine, s, spec, _shift_date(first, spec.interval, n_prev),
                            _shift_date(last, spec.interval, n_prev)) for s in series] if n_prev else None
    if spec.by:
        _check_breakdown(spec, series, current, first, last)
    keep, rest = choose_breakdown(current, spec) if spec.by else ([None], False)
    # the displayed range: from the spec, else the data of all series
    shown = (first or _min_date(current), last or _max_date(current))
    before = (_shift_date(first, spec.interval, n_prev), _shift_date(last, spec.interval, n_prev))
    keys = ["date", "breakdown"] if spec.by else ["date"]
    groups = keep + [OTHER] if rest and any(x.measure in ADDITIVE for x in series) else keep
    out = None
    for i, s in enumerate(series):
        df = _fill(_keep_groups(current[i], s, keep, rest) if spec.by else current[i], spec, *shown, groups)
        if previous is not None:
            prev = _keep_groups(previous[i], s, keep, rest) if spec.by else previous[i]
            prev = _fill(prev, spec, *before, groups).rename(
                columns={"date": "previous_date", "value": "previous_value"})
            prev["date"] = prev["previous_date"].map(lambda d: _forward(d, spec.interval, n_prev))
            df = df.merge(prev, on=keys, how="left")
        df = df.rename(columns={c: f"{LETTERS[i]}{'' if c == 'value' else '_' + c}" for c in ("value", "previous_value")
                                if c in df})
        if "previous_date" in df and out is not None:
            df = df.drop(columns=["previous_date"])
        out = df if out is None else out.merge(df, on=keys, how="outer")
    if out is None or out.empty:
        cols = keys + ["value"] + (["previous_date", "previous_value", "change"] if spec.compare else [])
        return TrendsResult(spec, pd.DataFrame(columns=cols), _meta(engine, spec, series))
    return _finish(engine, spec, series, _zeros(out, series, spec), keys, bool(n_prev))


def _finish(engine, spec: TrendsSpec, series: list[Series], out: pd.DataFrame, keys: list[str],
            compared: bool) -> TrendsResult:
    """The formula (or the one series) as ``value``, the change, integer columns, meta."""
    if spec.formula:
        tree = _compile(spec.formula, len(series))
        out["value"] = _evaluate(tree, {LETTERS[i]: out[LETTERS[i]].to_numpy(dtype=np.float64)
                                        for i in range(len(series))})
        if spec.compare and compared:
            out["previous_value"] = _evaluate(tree, {LETTERS[i]: out[f"{LETTERS[i]}_previous_value"].to_numpy(
                dtype=np.float64) for i in range(len(series))})
    else:
        out = out.rename(columns={"A": "value", "A_previous_value": "previous_value"})
    if spec.compare and "previous_value" in out:
        out["change"] = [pct_change(None if pd.isna(c) else c, None if pd.isna(p) else p)
                         for c, p in zip(out["value"], out["previous_value"])]
    out = out.sort_values(keys, kind="stable").reset_index(drop=True)
    int_measure = not spec.formula and series[0].measure in ("count", "users")
    if int_measure and out["value"].notna().all():
        out["value"] = out["value"].astype("int64")
        if "previous_value" in out and out["previous_value"].notna().all():
            out["previous_value"] = out["previous_value"].astype("int64")
    cols = keys + ["value"]
    if spec.compare:
        for c in ("previous_date", "previous_value", "change"):
            if c not in out:
                out[c] = None
        cols += ["previous_date", "previous_value", "change"]
    if spec.formula:
        cols += [LETTERS[i] for i in range(len(series))]
    meta = _meta(engine, spec, series)
    if spec.compare and not out.empty and not spec.formula and series[0].measure in ADDITIVE:
        cur_total = float(out["value"].sum())
        prev_total = float(pd.to_numeric(out["previous_value"], errors="coerce").sum())
        meta.update(total=cur_total, previous_total=prev_total, change=pct_change(cur_total, prev_total))
    return TrendsResult(spec, out[cols], meta)


def _min_date(frames):
    dates = [f["date"].min() for f in frames if not f.empty]
    return min(dates) if dates else None


def _max_date(frames):
    dates = [f["date"].max() for f in frames if not f.empty]
    return max(dates) if dates else None
