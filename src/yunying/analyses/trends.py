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

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, model_validator

from ..errors import SpecError, Text
from . import filtering, trends_sql
from .base import Result, local_date_filter, pct_change
from .properties import prop
from .table import Columns
from ..sequences.calendar import period_range

if TYPE_CHECKING:  # pragma: no cover - Ibis loads only on the portable path (filters, Spark): start-up time
    import ibis

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
        raise ValueError(Text("trends.measure_needs_property_name", measure=measure))
    if prop and measure not in NEEDS_PROPERTY:  # it would be silently ignored
        raise ValueError(Text("trends.measure_takes_no_property", measure=measure, prop=prop, NEEDS_PROPERTY=', '.join(NEEDS_PROPERTY)))


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
            raise ValueError(Text("trends.give_exactly_one_event"))
        _check_property(self.measure, self.property)
        return self

    @builtins.property
    def label(self) -> str:
        what = "active users" if self.active else self.event
        return f"{self.measure} of {what}" + (f" {self.property}" if self.property else "")


class TrendsSpec(filtering.FilteredSpec):
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
    # filters (FilteredSpec): the filter language (docs/users.md): only events for which every filter holds

    @model_validator(mode="after")
    def _check(self):
        if self.series:
            if self.event is not None or self.active:
                raise ValueError(Text("trends.give_either_event_active"))
            if len(self.series) > len(LETTERS):
                raise ValueError(Text("trends.at_most_26_series"))
        else:
            if (self.event is None) == (not self.active):
                raise ValueError(Text("trends.give_exactly_one_event"))
            _check_property(self.measure, self.property)
        if self.formula is not None:
            _compile(self.formula, len(self.all_series))
        elif self.series and len(self.series) > 1:
            raise ValueError(Text("trends.several_series_need_formula"))
        if self.top < 1:
            raise ValueError(Text("explain.top_must_at_least"))
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
                    raise SpecError(key="trends.give_one_per_series", name=name, n_values=len(values), specs=len(specs) or 1)
            one = specs[0] if specs else {}
            return cls.build(event=one.get("event"), active=one.get("active"),
                             measure=measures[0] if measures else None,
                             property=properties[0] if properties else None, **rest)
        for name, values in (("--measure", measures), ("--property", properties)):
            if len(values) > 1 and len(values) != len(specs):
                raise SpecError(key="trends.give_one_all_series", name=name, n_specs=len(specs))
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
        raise ValueError(Text("trends.formula_at_most_characters", MAX_FORMULA_CHARS=MAX_FORMULA_CHARS, n_text=len(text), n_LETTERS=len(LETTERS)))
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, RecursionError, MemoryError):
        raise ValueError(Text("trends.cannot_read_formula_use", formula=formula)) from None
    for node in ast.walk(tree):  # iterative: no recursion however deep the tree
        if isinstance(node, (ast.Expression, ast.Load, *_UNARY)) or type(node) in _OPS:
            continue
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            continue
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, _UNARY):
            continue
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            if not _finite(node.value):
                raise ValueError(Text("trends.formula_number_too_large", node=str(node.value)[:20]))
            continue
        if isinstance(node, ast.Name) and len(node.id) == 1 and node.id in LETTERS[:n]:
            continue
        if isinstance(node, ast.Name):
            raise ValueError(Text("trends.formula_uses_but_series", id=node.id, value=', '.join(LETTERS[:n])))
        raise ValueError(Text("trends.formula_only_parentheses_are", formula=formula))
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


# A series' raw values: ``(period,)`` or ``(period, breakdown)`` -> value, the periods with data only.
Raw = dict


def _raw_series(engine, s: Series, spec: TrendsSpec, date_from, date_to) -> Raw:
    """Plain SQL on DuckDB (no Ibis import: start-up time), else Ibis expressions (any engine, any filter)."""
    if trends_sql.applies(engine, spec):
        return trends_sql.raw_series(engine, s, spec, date_from, date_to, PERCENTILES, NONE)
    return _ibis_series(engine, s, spec, date_from, date_to)


def _ibis_series(engine, s: Series, spec: TrendsSpec, date_from, date_to) -> Raw:
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
        raw = engine.execute(t.filter(t.__v.notnull()).select(*keys, "__v"))
        out = trends_sql.quantiles(zip(*(raw.column(c).to_pylist() for c in [*keys, "__v"])), len(keys),
                                   PERCENTILES[s.measure])
    else:
        raw = engine.execute(t.group_by(keys).aggregate(value=_measure_expr(engine, t, s)))
        out = {tuple(r[:-1]): r[-1] for r in zip(*(raw.column(c).to_pylist() for c in [*keys, "value"]))}
    return {(k[0].date() if isinstance(k[0], dt.datetime) else k[0], *k[1:]): v for k, v in out.items()}


def breakdown(engine, t: ibis.Table, by: str) -> ibis.Table:
    """``t`` with ``__by``: an event property (``NAME`` or ``event.NAME``), the user's current profile property
    (``user.NAME``, derived ``user.$…`` included) or, for ``segment:A,B``, each listed segment the user is a
    member of (an event of a user in two listed segments counts in both; users in none are left out)."""
    if by.startswith("segment:"):
        names, m = filtering.listed_segments(engine, by)
        m = m.filter(m.segment.isin(names)).select(__uid=m.user_id, __by=m.segment)
        return t.join(m, t.user_id == m.__uid).select(*t.columns, "__by")
    if by.startswith("user."):
        u, col = filtering.user_property(engine, by[len("user."):])
        u = u.select(__uid=u.user_id, __by=col.cast("string"))
        j = t.left_join(u, t.user_id == u.__uid)
        return j.select(*t.columns, __by=j.__by.fill_null(NONE))
    name = by[len("event."):] if by.startswith("event.") else by
    return t.mutate(__by=prop(engine, t, name).cast("string").fill_null(NONE))


def _na(v) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _sum(values: list, ints: bool):
    """A group's sum as pandas gives it: integers exactly; floats skipping missing values (none: 0.0), with
    pandas' compensated (Kahan) summation in row order."""
    if ints:
        return sum(values)
    total = comp = 0.0
    for v in values:
        if _na(v):
            continue
        y = v - comp
        t = total + y
        comp = t - total - y
        if comp != comp:  # an infinite value: no compensation
            comp = 0.0
        total = t
    return total


def _all_ints(raw: Raw) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in raw.values())


def choose_breakdown(raws: list[Raw], spec: TrendsSpec) -> tuple[list, bool]:
    """The breakdown values shown, chosen once for all series: the top ``spec.top`` by the first series'
    total over the range, ties broken by the next series' totals, then by name. Returns the values and
    whether any value was left out (then additive series show the rest as ``(other)``)."""
    groups: dict[str, list[list]] = {}
    for i, raw in enumerate(raws):
        for (_, b), v in raw.items():
            groups.setdefault(b, [[] for _ in raws])[i].append(v)
    ints = [_all_ints(raw) for raw in raws]
    totals = {b: [_sum(vals, ints[i]) if raws[i] else 0 for i, vals in enumerate(per)] for b, per in groups.items()}
    names = sorted(totals, key=lambda b: (*(-x for x in totals[b]), b))
    return names[: spec.top], len(names) > spec.top


def _check_breakdown(spec: TrendsSpec, series: list[Series], raws: list[Raw], first, last) -> None:
    """A breakdown by a property that none of a series' events has would put everything in "(none)": say so."""
    for s, raw in zip(series, raws):
        if raw and all(k[1] == NONE for k in raw):
            what = Text("words.event") if s.active else Text("words.named_event", event=s.event)
            when = Text("trends.between", first=first or Text("words.start"), last=last or Text("words.end")) \
                if first or last else ""
            raise SpecError(key="trends.by_property_set_on", by=spec.by, what=what, when=when, NONE=NONE)


def _keep_groups(raw: Raw, s: Series, keep: list, rest: bool) -> Raw:
    """Values of the chosen breakdown values; for additive measures the other values summed as ``(other)``."""
    kept = set(keep)
    if rest and s.measure in ADDITIVE:
        groups: dict[tuple, list] = {}
        for (d, b), v in raw.items():
            groups.setdefault((d, b if b in kept else OTHER), []).append(v)
        ints = _all_ints(raw)
        return {k: _sum(groups[k], ints) for k in sorted(groups)}
    # distinct counts, averages and percentiles cannot be added: show only the chosen values
    return {k: v for k, v in raw.items() if k[1] in kept}


def _fill(raw: Raw, spec: TrendsSpec, first, last, groups) -> Raw:
    """Every period of the range (and every chosen breakdown value); missing values are None."""
    if not spec.fill_zeros or first is None or last is None:
        return raw
    periods = period_range(first, last, spec.interval)
    keys = [(p, g) for p in periods for g in groups] if spec.by else [(p,) for p in periods]
    return {k: raw.get(k) for k in keys}


def _zeros(rows: dict[tuple, dict], series: list[Series], spec: TrendsSpec, compared: bool) -> None:
    """A count, a number of users or a sum with no events (or no row for that series) is 0 (not n/a) —
    except a non-additive measure's ``(other)``, which is not computed."""
    for i, s in enumerate(series):
        if s.measure not in ZERO_MEASURES:
            continue
        for col in (LETTERS[i], f"{LETTERS[i]}_previous_value") if compared else (LETTERS[i],):
            for key, row in rows.items():
                if _na(row.get(col)) and not (spec.by and s.measure not in ADDITIVE and key[1] == OTHER):
                    row[col] = 0 if s.measure != "sum" else 0.0


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
    dates = [k[0] for raw in current for k in raw]
    shown = (first or (min(dates) if dates else None), last or (max(dates) if dates else None))
    before = (_shift_date(first, spec.interval, n_prev), _shift_date(last, spec.interval, n_prev))
    keys = ["date", "breakdown"] if spec.by else ["date"]
    groups = keep + [OTHER] if rest and any(x.measure in ADDITIVE for x in series) else keep
    rows: dict[tuple, dict] = {}
    for i, s in enumerate(series):
        cur = _fill(_keep_groups(current[i], s, keep, rest) if spec.by else current[i], spec, *shown, groups)
        back = None
        if previous is not None:
            prev = _fill(_keep_groups(previous[i], s, keep, rest) if spec.by else previous[i], spec, *before, groups)
            back = {(_forward(k[0], spec.interval, n_prev), *k[1:]): (k[0], v) for k, v in prev.items()}
        for k, v in cur.items():
            row = rows.setdefault(k, {})
            row[LETTERS[i]] = v
            if back is not None:
                was, pv = back.get(k, (math.nan, None))
                row[f"{LETTERS[i]}_previous_value"] = pv
                if i == 0:
                    row["previous_date"] = was
    if not rows:
        cols = keys + ["value"] + (["previous_date", "previous_value", "change"] if spec.compare else [])
        return TrendsResult(spec, Columns.from_rows([], cols), _meta(engine, spec, series))
    _zeros(rows, series, spec, previous is not None)
    return _finish(engine, spec, series, rows, keys, bool(n_prev))


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


def _column(rows: list[dict], name: str) -> list:
    return [r.get(name) for r in rows]


def _floats(values: list) -> np.ndarray:
    return np.array([math.nan if _na(v) else v for v in values], dtype=np.float64)


def _total(values: list) -> float:
    """A column's sum as pandas gives it (missing values skipped): integers exactly, floats as NumPy adds them."""
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return float(sum(values))
    return float(np.nan_to_num(_floats(values), nan=0.0).sum())


def _finish(engine, spec: TrendsSpec, series: list[Series], rows: dict[tuple, dict], keys: list[str],
            compared: bool) -> TrendsResult:
    """The formula (or the one series) as ``value``, the change, meta; rows in order of their keys."""
    order = sorted(rows)
    table = [dict(zip(keys, k), **rows[k]) for k in order]
    data = {k: _column(table, k) for k in keys}
    n = len(series)
    if spec.formula:
        tree = _compile(spec.formula, n)
        data["value"] = _evaluate(tree, {LETTERS[i]: _floats(_column(table, LETTERS[i])) for i in range(n)}).tolist()
        if spec.compare and compared:
            data["previous_value"] = _evaluate(tree, {LETTERS[i]: _floats(_column(table, f"{LETTERS[i]}_previous_value"))
                                                      for i in range(n)}).tolist()
    else:
        data["value"] = _column(table, "A")
        if compared:
            data["previous_value"] = _column(table, "A_previous_value")
    if spec.compare:  # a row with no previous period (or only another series'): NaN, as a pandas merge leaves it
        data["previous_date"] = [r.get("previous_date", math.nan) for r in table] if compared else [None] * len(table)
        if "previous_value" in data:
            data["change"] = [pct_change(None if _na(c) else c, None if _na(p) else p)
                              for c, p in zip(data["value"], data["previous_value"])]
        for c in ("previous_value", "change"):
            data.setdefault(c, [None] * len(table))
    cols = keys + ["value"] + (["previous_date", "previous_value", "change"] if spec.compare else [])
    if spec.formula:
        for i in range(n):
            data[LETTERS[i]] = _column(table, LETTERS[i])
        cols += [LETTERS[i] for i in range(n)]
    meta = _meta(engine, spec, series)
    if spec.compare and not spec.formula and series[0].measure in ADDITIVE:
        cur_total, prev_total = _total(data["value"]), _total(data["previous_value"])
        meta.update(total=cur_total, previous_total=prev_total, change=pct_change(cur_total, prev_total))
    # the dtypes pandas gave: counts of users and events integers (floats where one is missing), others floats
    dtypes = {LETTERS[i]: "float64" for i, x in enumerate(series) if x.measure not in ("count", "users")}
    if spec.formula or series[0].measure not in ("count", "users"):
        dtypes.update(value="float64", previous_value="float64")
    if compared:
        dtypes["previous_date"] = "object"
    return TrendsResult(spec, Columns({c: data[c] for c in cols}, dtypes=dtypes), meta)


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


def _data_range(engine, series: list[Series], spec: TrendsSpec):
    if trends_sql.applies(engine, spec):
        return trends_sql.data_range(engine, series)
    t = engine.events()
    if not any(s.active for s in series):
        t = t.filter(t.event.isin([s.event for s in series]))
    day = engine.local_ts(t.ts).date()
    row = engine.execute(t.aggregate(lo=day.min(), hi=day.max())).to_pylist()[0]
    conv = lambda v: None if v is None else (v.date() if isinstance(v, dt.datetime) else v)  # noqa: E731
    return conv(row["lo"]), conv(row["hi"])


# A chart's title by measure, as an operator reads it ("Total revenue: purchase per week", not "sum of purchase");
# reports/labels/ux.json has each as a phrase in 简体 and 繁體.
TITLES = {"count": "Number of events: {event}", "users": "Unique users: {event}",
          "per_user": "Events per user: {event}", "sum": "Total {prop}: {event}", "avg": "Average {prop}: {event}",
          "min": "Lowest {prop}: {event}", "max": "Highest {prop}: {event}", "median": "Median {prop}: {event}",
          "p50": "Median {prop}: {event}", "p90": "90th percentile of {prop}: {event}",
          "p95": "95th percentile of {prop}: {event}", "p99": "99th percentile of {prop}: {event}"}


def _meta(engine, spec: TrendsSpec, series: list[Series]) -> dict:
    if spec.formula:
        label = spec.formula + " where " + ", ".join(f"{LETTERS[i]} = {s.label}" for i, s in enumerate(series))
        title = f"{spec.formula} per {spec.interval}"
    else:
        s = series[0]
        # "active users per day", not "users of active users per day"; others as an operator says them
        title = f"active users per {spec.interval}" if s.active and s.measure == "users" else \
            TITLES[s.measure].format(event="$any" if s.active else s.event, prop=s.property) + f" per {spec.interval}"
    if spec.by:
        title += f" by {spec.by}"
    meta = {"title": title, "interval": spec.interval, "timezone": engine.timezone}
    if spec.formula:
        meta["series"] = {LETTERS[i]: s.label for i, s in enumerate(series)}
        meta["formula"] = spec.formula
    return meta
