"""Named metrics (指標) and metric trees, declared once in ``yunying.toml`` and evaluated on any engine.

Definitions (口徑) and the metric language: docs/explain.md. In short:

* ``count(EVENT)`` = events, ``users(EVENT)`` = distinct users who did it (``any``: any event) in the range,
  ``sum(EVENT.PROP)`` = the sum of a numeric property; each may carry ``where FILTER`` (the filter
  language); metrics combine with ``+ - * /`` and numbers, and may name other metrics.
* A ratio whose denominator is 0 is ``None`` (n/a), never inf.
* Distinct users are distinct over the whole range (or period) asked for: the weekly value of
  ``users(any)`` is WAU, not the sum of DAU.
* Built in for every workspace (a ``[metrics]`` entry of the same name replaces one): ``revenue``,
  ``active_users``, ``buyers``, ``pay_rate`` (buyers / active users), ``arppu`` (revenue / buyers), and the
  tree ``revenue = active_users * pay_rate * arppu``. The purchase event and revenue property come from
  ``[events]``.

The Python API (``METRICS_API.md``): :func:`catalog`, :func:`evaluate`, :func:`series`, :func:`frame`.
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import SpecError, did_you_mean
from ..model import filters as F
from ..model import metrics as M
from . import filtering
from .base import Result, local_date_filter
from .trends import NONE, breakdown

if TYPE_CHECKING:
    import ibis
    import pandas as pd

Interval = Literal["day", "week", "month"]


@dataclass(frozen=True)
class Metric:
    """One metric of a workspace: its parsed definition and how it is shown."""

    name: str
    text: str
    expr: object
    label: str
    kind: str
    good: str = "up"
    builtin: bool = False

    def to_dict(self) -> dict:
        return {"name": self.name, "definition": self.text, "label": self.label, "kind": self.kind,
                "good": self.good, "builtin": self.builtin}


@dataclass
class Catalog:
    """The metrics and trees of a workspace (built-ins plus ``[metrics]`` / ``[metric_trees]``)."""

    metrics: dict[str, Metric]
    trees: dict[str, M.Tree] = field(default_factory=dict)
    tree_texts: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Metric:
        if name in self.metrics:
            return self.metrics[name]
        close = difflib.get_close_matches(name, list(self.metrics), n=3, cutoff=0.6)
        hint = did_you_mean(close, list(self.metrics))
        raise SpecError(key="metrics.unknown_metric_define_it", name=name, hint=hint,
                        details={"metric": name, "suggestions": close})

    def tree(self, name: str) -> M.Tree | None:
        self.get(name)
        return self.trees.get(name)

    def resolve(self, name: str, _path: tuple = ()) -> object:
        """The definition of ``name`` with every metric it names substituted (cycles are an error)."""
        if name in _path:
            raise SpecError(key="metrics.metric_refers_itself", name=name, value=' -> '.join((*_path, name)))
        return _substitute(self.get(name).expr, lambda ref: self.resolve(ref, (*_path, name)))


def _substitute(expr, fn):
    if isinstance(expr, M.Ref):
        return fn(expr.name)
    if isinstance(expr, M.BinOp):
        return M.BinOp(expr.op, _substitute(expr.left, fn), _substitute(expr.right, fn))
    if isinstance(expr, M.Neg):
        return M.Neg(_substitute(expr.item, fn))
    return expr


def builtin_definitions(events) -> dict[str, tuple[str, str]]:
    """The built-in metrics for the ``[events]`` settings: name -> (definition, label)."""
    purchase, rev = M.name_text(events.purchase), M.name_text(events.revenue)
    return {
        "revenue": (f"sum({purchase}.{rev})", "Revenue"),
        "active_users": ("users(any)", "Active users"),
        "buyers": (f"users({purchase})", "Buyers"),
        "pay_rate": ("buyers / active_users", "Pay rate"),
        "arppu": ("revenue / buyers", "ARPPU"),
    }


BUILTIN_TREES = {"revenue": "active_users * pay_rate * arppu"}


def catalog(source) -> Catalog:
    """The metric catalogue of a workspace, an engine or a :class:`~yunying.config.WorkspaceConfig`."""
    cfg = getattr(getattr(source, "workspace", source), "config", source)
    raw: dict[str, tuple] = {k: (text, label, None, "up", True)
                             for k, (text, label) in builtin_definitions(cfg.events).items()}
    for name, setting in cfg.metrics.items():
        if isinstance(setting, str):
            raw[name] = (setting, None, None, "up", False)
        else:
            raw[name] = (setting.expr, setting.label, setting.kind, setting.good, False)
    parsed = {name: M.parse_metric(name, text) for name, (text, *_rest) in raw.items()}
    for name, expr in parsed.items():
        for ref in M.references(expr):
            if ref not in parsed:
                close = difflib.get_close_matches(ref, list(parsed), n=1, cutoff=0.6)
                raise SpecError(key="metrics.uses_unknown_did_you_mean", name=name, ref=ref, close=close[0]) if close \
                    else SpecError(key="metrics.uses_unknown", name=name, ref=ref)
    kinds: dict[str, str] = {}
    metrics = {}
    for name, (text, label, kind, good, builtin) in raw.items():
        kind = kind or _infer_kind(parsed, name, cfg.events.revenue, kinds, ())
        metrics[name] = Metric(name, text, parsed[name], label or name, kind, good, builtin)
    cat = Catalog(metrics)
    for name in metrics:
        cat.resolve(name)  # cycles are found at load, not at first use
    texts = {**BUILTIN_TREES, **cfg.metric_trees}
    for name, text in texts.items():
        cat.get(name)
        tree = M.parse_tree(name, text)
        if isinstance(tree, M.ProductTree):
            for f in tree.factors:
                if f == name:
                    raise SpecError(key="metrics.tree_metric_cannot_its", name=name)
                cat.get(f)
        cat.trees[name], cat.tree_texts[name] = tree, text
    return cat


def _infer_kind(parsed: dict, name: str, revenue_prop: str, memo: dict, path: tuple) -> str:
    if name in memo:
        return memo[name]

    def kind(e) -> str:
        if isinstance(e, M.Aggregate):
            return "count" if e.func != "sum" else ("money" if e.prop == revenue_prop else "number")
        if isinstance(e, M.Ref):
            return "number" if e.name in path else _infer_kind(parsed, e.name, revenue_prop, memo, (*path, name))
        if isinstance(e, M.Number):
            return "number"
        if isinstance(e, M.Neg):
            return kind(e.item)
        a, b = kind(e.left), kind(e.right)
        if e.op == "/":
            if a == "money" and b != "money":
                return "money"
            return "rate" if _is_users(parsed, e.left) and _is_users(parsed, e.right) else "number"
        if "money" in (a, b):
            return "money"
        return "count" if a == b == "count" and e.op != "*" else "number"

    memo[name] = kind(parsed[name])
    return memo[name]


def _is_users(parsed: dict, e, depth: int = 0) -> bool:
    if isinstance(e, M.Ref) and depth < 20:
        return _is_users(parsed, parsed.get(e.name), depth + 1)
    return isinstance(e, M.Aggregate) and e.func == "users"


def leaves(expr) -> list[M.Aggregate]:
    """The distinct aggregates of a resolved definition, in order."""
    out, todo = {}, [expr]
    while todo:
        node = todo.pop()
        if isinstance(node, M.Aggregate):
            out.setdefault(node.key, node)
        elif isinstance(node, M.BinOp):
            todo += [node.right, node.left]
        elif isinstance(node, M.Neg):
            todo.append(node.item)
    return list(out.values())


def is_additive(expr) -> bool:
    """Whether the metric is a count or sum of events (adds up over any split of the events)."""
    return isinstance(expr, M.Aggregate) and expr.func in ("count", "sum")


def compute(expr, columns: dict[tuple, np.ndarray], n: int) -> np.ndarray:
    """Evaluate a resolved definition over arrays of its aggregates (by key); x / 0 is NaN."""
    if isinstance(expr, M.Aggregate):
        return columns[expr.key]
    if isinstance(expr, M.Number):
        return np.full(n, expr.value)
    if isinstance(expr, M.Neg):
        return -compute(expr.item, columns, n)
    a, b = compute(expr.left, columns, n), compute(expr.right, columns, n)
    if expr.op == "/":
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.true_divide(a, b)
        return np.where(b == 0, np.nan, out)
    return {"+": np.add, "-": np.subtract, "*": np.multiply}[expr.op](a, b)


# -- evaluation ------------------------------------------------------------------------------------------
def dimension(engine, t: ibis.Table, by: str) -> ibis.Table:
    """``t`` with ``__by``: one value per event, so the values split the events into parts (a partition).

    ``event.PROP`` / ``PROP`` and ``user.PROP`` as in trends (missing: ``(none)``); ``segment:A,B`` is the
    first listed segment the user belongs to, ``(none)`` for users in none of them."""
    if not by.startswith("segment:"):
        if not by.startswith(("user.", "segment")):
            engine.check_properties([by[len("event."):] if by.startswith("event.") else by])
        return breakdown(engine, t, by)
    import ibis

    names, m = filtering.listed_segments(engine, by)
    rank = ibis.cases(*[(m.segment == n, i) for i, n in enumerate(names)], else_=len(names))
    m = m.filter(m.segment.isin(names)).mutate(__rank=rank)
    first = m.group_by(__uid=m.user_id).aggregate(__r=m.__rank.min())
    label = ibis.cases(*[(first.__r == i, n) for i, n in enumerate(names)], else_=NONE)
    first = first.select("__uid", __seg=label)
    j = t.left_join(first, t.user_id == first.__uid)
    return j.select(*t.columns, __by=j.__seg.fill_null(NONE))


def _leaf_sql(engine, leaf: M.Aggregate, date_from, date_to, interval) -> pd.DataFrame:
    """A leaf without filters or split as plain DuckDB SQL (no Ibis import): what the Ibis expression of
    :func:`_leaf_frame` compiles to (tests/explain/test_metrics_sql_oracle.py checks both agree)."""
    from .sql import Query
    from .trends_sql import TRUNC

    q = Query(engine)  # parameters are added in the order of their ``?`` in the text
    keys = f"CAST(date_trunc('{TRUNC[interval]}', {q.local()}) AS DATE) AS __period, " if interval else ""
    agg = {"count": "count(*)", "users": "count(DISTINCT user_id)"}.get(leaf.func) \
        or f"sum(CAST({q.prop(leaf.prop)} AS DOUBLE))"
    sql = f"SELECT {keys}{agg} AS value FROM events"
    sql += q.where(None if leaf.event is None else [leaf.event], date_from, date_to)
    return q.arrow(sql + (" GROUP BY 1" if interval else "")).to_pandas()


def _leaf_frame(engine, leaf: M.Aggregate, date_from, date_to, interval, by: list[str], filters) -> pd.DataFrame:
    import pandas as pd

    from .sql import plain_duckdb

    if plain_duckdb(engine) and not filters and leaf.where is None and not by:
        df = _leaf_sql(engine, leaf, date_from, date_to, interval)
        if "__period" in df and not df.empty:
            df["__period"] = pd.to_datetime(df["__period"]).dt.date
        return df
    t = engine.events()
    if leaf.event is not None:
        t = t.filter(t.event == leaf.event)
    t = local_date_filter(engine, t, date_from, date_to)
    if filters:
        t = filtering.apply(engine, t, filters)
    if leaf.where is not None:
        t = filtering.apply(engine, t, [F.to_json(leaf.where)])
    keys = []
    if interval:
        t = t.mutate(__period=engine.period(t.ts, interval))
        keys.append("__period")
    for i, dim in enumerate(by):
        t = dimension(engine, t, dim).rename({f"__by{i}": "__by"})
        keys.append(f"__by{i}")
    if leaf.func == "count":
        agg = t.count()
    elif leaf.func == "users":
        agg = t.user_id.nunique()
    else:
        agg = engine.prop(t, leaf.prop).cast("float64").sum()
    q = t.group_by(keys).aggregate(value=agg) if keys else t.aggregate(value=agg)
    df = engine.execute(q).to_pandas()
    for k in keys[1 if interval else 0:]:  # plain Python strings: merges of empty Arrow-backed columns fail
        df[k] = df[k].astype(object)
    if "__period" in df and not df.empty:
        df["__period"] = pd.to_datetime(df["__period"]).dt.date
    return df


def frame(engine, metrics, date_from: dt.date | None = None, date_to: dt.date | None = None, *,
          interval: Interval | None = None, by=None, filters=None, cat: Catalog | None = None) -> pd.DataFrame:
    """Several metrics at once, sharing their aggregates: one row per period (``interval``; None: the
    whole range) and per value of each dimension of ``by`` (a name or a list, for a nested split), with a
    column per metric. Columns ``date`` (with an interval) and ``by0``, ``by1``… (with ``by``).

    Periods or parts without any event are absent (use :func:`series` for a filled daily series)."""
    import pandas as pd

    cat = cat or catalog(engine)
    names = [metrics] if isinstance(metrics, str) else list(metrics)
    by = [by] if isinstance(by, str) else list(by or [])
    filters = filtering.spec_filters(filters)
    resolved = {n: cat.resolve(n) for n in names}
    all_leaves = {leaf.key: leaf for e in resolved.values() for leaf in leaves(e)}
    engine.check_events([leaf.event for leaf in all_leaves.values() if leaf.event])
    engine.check_properties([leaf.prop for leaf in all_leaves.values() if leaf.prop])
    keys = (["__period"] if interval else []) + [f"__by{i}" for i in range(len(by))]
    out = None
    for key, leaf in all_leaves.items():
        df = _leaf_frame(engine, leaf, date_from, date_to, interval, by, filters).rename(columns={"value": key})
        out = df if out is None else (out.merge(df, on=keys, how="outer") if keys else pd.concat([out, df], axis=1))
    if out is None:  # a metric of numbers only
        out = pd.DataFrame({k: [] for k in keys}) if keys else pd.DataFrame(index=[0])
    out = out.reset_index(drop=True)
    n = len(out)
    cols = {k: out[k].to_numpy(dtype=np.float64, na_value=0.0) if k in out else np.zeros(n) for k in all_leaves}
    result = out[keys].copy() if keys else pd.DataFrame(index=range(n))
    for name, expr in resolved.items():
        result[name] = compute(expr, cols, n)
    result = result.rename(columns={"__period": "date", **{f"__by{i}": f"by{i}" for i in range(len(by))}})
    sort = [c for c in ("date", *[f"by{i}" for i in range(len(by))]) if c in result]
    return result.sort_values(sort, kind="stable").reset_index(drop=True) if sort else result


def evaluate(engine, metric: str, date_from: dt.date | None = None, date_to: dt.date | None = None, *,
             filters=None, cat: Catalog | None = None) -> float | None:
    """One metric over an inclusive range of local dates: a number, or None when it divides by 0."""
    v = float(frame(engine, metric, date_from, date_to, filters=filters, cat=cat)[metric].iloc[0])
    return None if np.isnan(v) else v


def series(engine, metric: str, date_from: dt.date | None = None, date_to: dt.date | None = None, *,
           interval: Interval = "day", filters=None, by: str | None = None, cat: Catalog | None = None) -> pd.DataFrame:
    """``date`` (period start), [``breakdown``], ``value`` for every period of the range (with both ends
    given, or the data's own range): periods without events read 0 for counts and sums, n/a for ratios."""
    import pandas as pd

    from ..sequences.calendar import period_range

    cat = cat or catalog(engine)
    df = frame(engine, metric, date_from, date_to, interval=interval, by=by, filters=filters, cat=cat)
    df = df.rename(columns={metric: "value", "by0": "breakdown"})
    first = date_from or (min(df["date"]) if len(df) else None)
    last = date_to or (max(df["date"]) if len(df) else None)
    if first is None or last is None:
        return df
    periods = pd.DataFrame({"date": period_range(first, last, interval)})
    if by:
        values = pd.DataFrame({"breakdown": sorted(df["breakdown"].unique())})
        periods = periods.merge(values, how="cross")
    keys = ["date", "breakdown"] if by else ["date"]
    out = periods.merge(df, on=keys, how="left")
    blank = out["value"].isna() & ~out.set_index(keys).index.isin(df.set_index(keys).index)
    if blank.any():  # a period without events: recompute the definition on zeros (0 for sums, n/a for ratios)
        zero = compute(cat.resolve(metric), _Zeros(), 1)[0]
        out.loc[blank, "value"] = zero
    return out


class _Zeros(dict):
    def __missing__(self, key):
        return np.zeros(1)


# -- the analysis ----------------------------------------------------------------------------------------
class MetricSpec(filtering.FilteredSpec):
    """A named metric per period (or over the whole range), optionally split by a dimension."""

    kind = "metric"
    metric: str
    interval: Literal["day", "week", "month", "total"] = "day"
    by: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


class MetricResult(Result):
    kind = "metric"

    def chart(self):
        import plotly.express as px

        title = self.meta.get("title")
        if "date" not in self.frame:
            return px.bar(self.frame, x="breakdown" if "breakdown" in self.frame else None, y="value", title=title)
        return px.line(self.frame, x="date", y="value", color="breakdown" if "breakdown" in self.frame else None,
                       title=title, markers=True)


def metric(engine, spec: MetricSpec | None = None, **kwargs) -> MetricResult:
    spec = spec or MetricSpec.build(**kwargs)
    cat = catalog(engine)
    m = cat.get(spec.metric)
    if spec.interval == "total":
        df = frame(engine, spec.metric, spec.date_from, spec.date_to, by=spec.by, filters=spec.filters, cat=cat)
        df = df.rename(columns={spec.metric: "value", "by0": "breakdown"})
    else:
        df = series(engine, spec.metric, spec.date_from, spec.date_to, interval=spec.interval, by=spec.by,
                    filters=spec.filters, cat=cat)
    df["value"] = df["value"].astype(float)
    title = f"{m.label} per {spec.interval}" if spec.interval != "total" else m.label
    meta = {"title": title + (f" by {spec.by}" if spec.by else ""), "metric": m.to_dict(),
            "interval": spec.interval, "timezone": engine.timezone}
    return MetricResult(spec, df.reset_index(drop=True), meta)


def list_metrics(engine_or_config) -> list[dict]:
    """Every metric of the workspace, with its definition, kind and tree (``yunying metrics``)."""
    cat = catalog(engine_or_config)
    return [{**m.to_dict(), "tree": cat.tree_texts.get(m.name)} for m in cat.metrics.values()]
