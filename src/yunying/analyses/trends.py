"""Trends (事件分析): counts, unique users and property aggregates per day/week/month.

Definitions (口徑) are in docs/definitions.md#trends. In short:

* ``count`` = events, ``users`` = distinct users who did the event in the period (with
  ``active=True`` — any event — that is DAU / WAU / MAU), ``per_user`` = count / users,
  ``sum``/``avg``/``min``/``max`` of a numeric property over the events,
  ``median``/``p50``/``p90``/``p95``/``p99`` its exact percentiles (linear interpolation
  between the two nearest values, computed in NumPy so every engine gives the same number).
* Periods are calendar day / ISO week (Monday) / month in the workspace time zone.
* Several series (``series``) can be combined with a ``formula`` over their letters
  (``A/B``: purchases per active user); a period where the formula divides by 0 is ``None``.
* ``compare=True`` adds the same series over the previous range of equal length
  (``previous_value`` and ``change`` = value / previous − 1).
"""
from __future__ import annotations

import ast
import builtins
import datetime as dt
import math
import operator
from typing import Literal

import ibis
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, field_validator, model_validator

from ..errors import SpecError
from . import filtering
from .base import Result, Spec, local_date_filter, pct_change
from .profiles import DERIVED, derived_users
from .properties import prop
from ..sequences.calendar import period_range

Measure = Literal["count", "users", "sum", "avg", "min", "max", "median", "per_user", "p50", "p90", "p95", "p99"]
PERCENTILES = {"median": 0.5, "p50": 0.5, "p90": 0.9, "p95": 0.95, "p99": 0.99}
NEEDS_PROPERTY = ("sum", "avg", "min", "max", *PERCENTILES)
ADDITIVE = ("count", "sum")
ZERO_MEASURES = ("count", "users", "sum")  # no events: 0
OTHER = "(other)"
NONE = "(none)"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _check_property(measure: str, prop: str | None) -> None:
    if measure in NEEDS_PROPERTY and not prop:
        raise ValueError(f"measure {measure!r} needs property=NAME")
    if prop and measure not in NEEDS_PROPERTY:  # it would be silently ignored
        raise ValueError(f"measure {measure!r} takes no property (got property={prop!r}); "
                         f"aggregate a property with {', '.join(NEEDS_PROPERTY)}")


class Series(BaseModel):
    """One series of a multi-series trend: an event (or any event) and a measure."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    event: str | None = None
    active: bool = False
    measure: Measure = "count"
    property: str | None = None

    @model_validator(mode="after")
    def _check(self):
        if (self.event is None) == (not self.active):
            raise ValueError("give exactly one of event=NAME or active=True")
        _check_property(self.measure, self.property)
        return self

    @builtins.property
    def label(self) -> str:
        what = "active users" if self.active else self.event
        return f"{self.measure} of {what}" + (f" {self.property}" if self.property else "")


class TrendsSpec(Spec):
    """One time series (optionally broken down by a property), or several combined by a formula.

    ``event`` counts one event; ``active=True`` counts any event (active users).
    ``date_from``/``date_to`` are inclusive local dates in the workspace zone.

    >>> TrendsSpec(series=[{"event": "purchase"}, {"active": True, "measure": "users"}], formula="A/B").formula
    'A/B'
    """

    kind = "trends"
    event: str | None = None
    active: bool = False
    measure: Measure = "count"
    property: str | None = None
    series: list[Series] | None = None
    formula: str | None = None
    compare: bool = False
    interval: Literal["day", "week", "month"] = "day"
    by: str | None = None
    top: int = 20
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    fill_zeros: bool = True
    filters: list[dict] = []  # the filter language (docs/users.md): only events for which every filter holds

    @field_validator("filters", mode="before")
    @classmethod
    def _filters(cls, v):
        return filtering.spec_filters(v)

    @model_validator(mode="after")
    def _check(self):
        if self.series:
            if self.event is not None or self.active:
                raise ValueError("give either event/active or series, not both")
            if len(self.series) > len(LETTERS):
                raise ValueError("at most 26 series")
        else:
            if (self.event is None) == (not self.active):
                raise ValueError("give exactly one of event=NAME or active=True")
            _check_property(self.measure, self.property)
        if self.formula is not None:
            _compile(self.formula, len(self.all_series))
        elif self.series and len(self.series) > 1:
            raise ValueError("several series need a formula (e.g. A/B) to combine them")
        if self.top < 1:
            raise ValueError("top must be at least 1")
        return self

    @builtins.property
    def all_series(self) -> list[Series]:
        if self.series:
            return list(self.series)
        return [Series(event=self.event, active=self.active, measure=self.measure, property=self.property)]

    @classmethod
    def from_cli(cls, *, events: list[str] | None, active: bool, measures: list[str] | None,
                 properties: list[str] | None, formula: str | None = None, **rest) -> "TrendsSpec":
        """Build a spec from repeated ``--event/--measure/--property`` options (one per series, in order;
        one ``--measure``/``--property`` applies to every series). ``--active`` adds an any-event series."""
        events = list(events or [])
        specs = [{"event": e} for e in events] + ([{"active": True}] if active else [])
        measures = list(measures or [])
        properties = list(properties or [])
        if len(specs) <= 1 and formula is None:
            for name, values in (("--measure", measures), ("--property", properties)):
                if len(values) > 1:  # the others would be silently ignored
                    raise SpecError(f"give one {name} per series: {len(values)} for {len(specs) or 1} series")
            one = specs[0] if specs else {}
            return cls.build(event=one.get("event"), active=one.get("active"),
                             measure=measures[0] if measures else None,
                             property=properties[0] if properties else None, **rest)
        for name, values in (("--measure", measures), ("--property", properties)):
            if len(values) > 1 and len(values) != len(specs):
                raise SpecError(f"give one {name} for all series or one per series ({len(specs)})")
        for i, s in enumerate(specs):
            if measures:
                s["measure"] = measures[i] if len(measures) > 1 else measures[0]
            if len(properties) > 1:
                s["property"] = properties[i]
        if len(properties) == 1:  # one --property: for the series whose measure takes one
            takers = [s for s in specs if s.get("measure") in NEEDS_PROPERTY] or specs
            for s in takers:
                s["property"] = properties[0]
        return cls.build(series=specs, formula=formula, **rest)


_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_UNARY = (ast.USub, ast.UAdd)
# A formula combines at most 26 series: 500 characters is plenty, and keeps parsing cheap and bounded
# (a 20k-term formula once exhausted the parser's recursion and memory).
MAX_FORMULA_CHARS = 500


def _compile(formula: str, n: int):
    """Validate a formula over series letters: + - * / parentheses, numbers, letters A.. (n of them)."""
    text = formula.strip()
    if len(text) > MAX_FORMULA_CHARS:
        raise ValueError(f"formula: at most {MAX_FORMULA_CHARS} characters (got {len(text):,}); "
                         f"combine at most {len(LETTERS)} series A-Z")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise ValueError(f"cannot read formula {formula!r} (use letters of series, numbers, + - * / and "
                         f"parentheses)") from None
    for node in ast.walk(tree):  # iterative: no recursion however deep the tree
        if isinstance(node, (ast.Expression, ast.Load, *_UNARY)) or type(node) in _OPS:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            if not _finite(node.value):
                raise ValueError(f"formula: the number {str(node.value)[:20]}… is too large")
            continue
        if isinstance(node, ast.Name) and len(node.id) == 1 and node.id in LETTERS[:n]:
            continue
        if isinstance(node, ast.Name):
            raise ValueError(f"formula uses {node.id!r}, but the series are {', '.join(LETTERS[:n])}")
        raise ValueError(f"formula {formula!r}: only + - * / and parentheses are allowed")
    return tree


def _finite(value) -> bool:
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def _divide(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.true_divide(a, b)
    return np.where(np.asarray(b) == 0, np.nan, out)  # division by 0 is n/a, not inf


def _evaluate(tree, columns: dict[str, np.ndarray]) -> np.ndarray:
    """Evaluate a compiled formula with an explicit stack (post-order), so depth costs no recursion."""
    todo, values = [(tree.body, False)], []
    while todo:
        node, ready = todo.pop()
        if isinstance(node, (ast.BinOp, ast.UnaryOp)) and not ready:
            todo.append((node, True))
            todo.extend([(node.right, False), (node.left, False)] if isinstance(node, ast.BinOp)
                        else [(node.operand, False)])
        elif isinstance(node, ast.BinOp):
            b, a = values.pop(), values.pop()
            values.append(_divide(a, b) if isinstance(node.op, ast.Div) else _OPS[type(node.op)](a, b))
        elif isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                values.append(-values.pop())
        elif isinstance(node, ast.Constant):
            values.append(float(node.value))
        else:
            values.append(columns[node.id])
    return np.asarray(values[0], dtype=np.float64)


class TrendsResult(Result):
    kind = "trends"
    rows_key = "series"

    def records(self):
        recs = super().records()
        by = self.spec.by if self.spec else None
        if by:
            for r in recs:
                if by not in ("date", "value"):
                    r[by] = r["breakdown"]
        return recs

    def chart(self):
        import plotly.express as px

        title = self.meta.get("title", "Trends")
        if "breakdown" in self.frame:
            fig = px.line(self.frame, x="date", y="value", color="breakdown", title=title, markers=True)
        else:
            fig = px.line(self.frame, x="date", y="value", title=title, markers=True)
        if "previous_value" in self.frame and "breakdown" not in self.frame:
            fig.add_scatter(x=self.frame["date"], y=self.frame["previous_value"], name="previous period",
                            line={"dash": "dot"})
        return fig


def _measure_expr(engine, t: ibis.Table, s: Series):
    if s.measure == "count":
        return t.count()
    if s.measure == "users":
        return t.user_id.nunique()
    if s.measure == "per_user":
        return t.count().cast("float64") / t.user_id.nunique().cast("float64")
    val = engine.prop(t, s.property).cast("float64")
    return {"sum": val.sum, "avg": val.mean, "min": val.min, "max": val.max}[s.measure]()


def _raw_series(engine, s: Series, spec: TrendsSpec, date_from, date_to) -> pd.DataFrame:
    """date, [breakdown], value — periods with data only."""
    t = engine.events()
    if not s.active:
        t = t.filter(t.event == s.event)
    t = local_date_filter(engine, t, date_from, date_to)
    if spec.filters:
        t = filtering.apply(engine, t, spec.filters)
    t = t.mutate(__period=engine.period(t.ts, spec.interval))
    keys = ["__period"]
    if spec.by:
        t = breakdown(engine, t, spec.by)
        keys.append("__by")
    if s.measure in PERCENTILES:
        # exact percentiles, identical on every engine: pull the values, interpolate in NumPy
        t = t.mutate(__v=engine.prop(t, s.property).cast("float64"))
        raw = engine.execute(t.filter(t.__v.notnull()).select(*keys, "__v")).to_pandas()
        q = PERCENTILES[s.measure]
        if raw.empty:
            df = pd.DataFrame(columns=[*keys, "value"])
        else:
            df = (raw.groupby(keys, sort=False)["__v"]
                  .agg(lambda v: float(np.quantile(np.sort(v.to_numpy()), q))).reset_index(name="value"))
    else:
        agg = t.group_by(keys).aggregate(value=_measure_expr(engine, t, s))
        df = engine.execute(agg).to_pandas()
    df = df.rename(columns={"__period": "date", "__by": "breakdown"})
    if not df.empty:
        df["date"] = pd.to_datetime(df["date"]).dt.date
    return df


def breakdown(engine, t: ibis.Table, by: str) -> ibis.Table:
    """``t`` with ``__by``: an event property (``NAME`` or ``event.NAME``), the user's current profile property
    (``user.NAME``, derived ``user.$…`` included) or, for ``segment:A,B``, each listed segment the user is a
    member of (an event of a user in two listed segments counts in both; users in none are left out)."""
    if by.startswith("segment:"):
        names, m = filtering.listed_segments(engine, by)
        m = m.filter(m.segment.isin(names)).select(__uid=m.user_id, __by=m.segment)
        return t.join(m, t.user_id == m.__uid).select(*t.columns, "__by")
    if by.startswith("user."):
        name = by[len("user."):]
        if name in DERIVED:
            u = derived_users(engine)
            col = u[DERIVED[name]]
        else:
            u = filtering._side_table(engine, "users", "by user.PROP")
            filtering.check_properties(engine, u, [name], "user")
            col = prop(engine, u, name)
        u = u.select(__uid=u.user_id, __by=col.cast("string"))
        j = t.left_join(u, t.user_id == u.__uid)
        return j.select(*t.columns, __by=j.__by.fill_null(NONE))
    name = by[len("event."):] if by.startswith("event.") else by
    return t.mutate(__by=prop(engine, t, name).cast("string").fill_null(NONE))


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


def _shift_date(d: dt.date | None, interval: str, n: int) -> dt.date | None:
    """``d`` moved back by ``n`` periods: n days, 7n days, or n calendar months (day clamped)."""
    if d is None:
        return None
    if interval == "day":
        return d - dt.timedelta(days=n)
    if interval == "week":
        return d - dt.timedelta(days=7 * n)
    m = d.year * 12 + d.month - 1 - n
    y, mo = m // 12, m % 12 + 1
    import calendar

    return dt.date(y, mo, min(d.day, calendar.monthrange(y, mo)[1]))


def trends(engine, spec: TrendsSpec | None = None, **kwargs) -> TrendsResult:
    """Compute a trend series.

    >>> import yunying
    >>> ws = yunying.demo_workspace()                       # doctest: +SKIP
    >>> yunying.trends(ws.engine, active=True, measure="users", interval="week").to_pandas()  # doctest: +SKIP
    """
    spec = spec or TrendsSpec.build(**kwargs)
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


def _range(engine, series: list[Series], spec: TrendsSpec):
    """The range to compute (``None`` ends: the data's) and, with ``compare``, its length in periods."""
    first, last = spec.date_from, spec.date_to
    if not spec.compare:
        return first, last, 0
    if first is None or last is None:
        raw_first, raw_last = _data_range(engine, series, spec)
        first = first or raw_first
        last = last or raw_last
    if first is None or last is None:
        return first, last, 0
    return first, last, len(period_range(first, last, spec.interval))


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


def _forward(d, interval: str, n: int):
    """The period start ``n`` periods after ``d`` (a period start)."""
    if d is None or (isinstance(d, float) and np.isnan(d)):
        return None
    if interval == "day":
        return d + dt.timedelta(days=n)
    if interval == "week":
        return d + dt.timedelta(days=7 * n)
    months = d.year * 12 + d.month - 1 + n
    return d.replace(year=months // 12, month=months % 12 + 1, day=1)


def _min_date(frames):
    dates = [f["date"].min() for f in frames if not f.empty]
    return min(dates) if dates else None


def _max_date(frames):
    dates = [f["date"].max() for f in frames if not f.empty]
    return max(dates) if dates else None


def _data_range(engine, series: list[Series], spec: TrendsSpec):
    t = engine.events()
    if not any(s.active for s in series):
        t = t.filter(t.event.isin([s.event for s in series]))
    day = engine.local_ts(t.ts).date()
    row = engine.execute(t.aggregate(lo=day.min(), hi=day.max())).to_pylist()[0]
    conv = lambda v: None if v is None else (v.date() if isinstance(v, dt.datetime) else v)  # noqa: E731
    return conv(row["lo"]), conv(row["hi"])


def _meta(engine, spec: TrendsSpec, series: list[Series]) -> dict:
    if spec.formula:
        label = spec.formula + " where " + ", ".join(f"{LETTERS[i]} = {s.label}" for i, s in enumerate(series))
        title = f"{spec.formula} per {spec.interval}"
    else:
        s = series[0]
        label = "active users" if s.active else s.event
        title = f"{s.measure} of {label} per {spec.interval}"
    if spec.by:
        title += f" by {spec.by}"
    meta = {"title": title, "interval": spec.interval, "timezone": engine.timezone}
    if spec.formula:
        meta["series"] = {LETTERS[i]: s.label for i, s in enumerate(series)}
        meta["formula"] = spec.formula
    return meta
