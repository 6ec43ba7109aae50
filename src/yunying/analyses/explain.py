"""Why a metric moved (指標分解): its change between two ranges split exactly by factor and by segment.

Definitions (口徑) and the maths: docs/explain.md. In short:

* **By factor** — the metric's tree ``revenue = active_users * pay_rate * arppu`` (or ``--factors``):
  additive LMDI-I contributions when every factor is positive in both ranges, Shapley values otherwise
  (zeros, negatives); ``a + b`` trees and ``sum over DIM`` trees split by each term's own change. The
  contributions add up to ``change = current − previous``.
* **By segment** — each value of a dimension (``event.PROP``, ``user.PROP``, ``segment:A,B``) gets a
  mix effect (its base moved: e.g. more active users in that channel) and a rate effect (its rate moved:
  revenue per active user there); mix + rate = the part's contribution, the parts add up to the change.
  A second dimension (``by=["channel", "platform"]``) splits each part again, the children adding up to
  their parent.
"""
from __future__ import annotations

import datetime as dt
import math
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import field_validator, model_validator

from ..errors import SpecError, Text
from ..model import metrics as M
from ..sequences.calendar import next_period, period_start
from ..stats import decompose as D
from . import filtering
from .base import Result, pct_change
from .metrics import Catalog, Metric, catalog, frame, is_additive

OTHER = "(other)"
REL_TOL = 1e-9


class ExplainSpec(filtering.FilteredSpec):
    """``metric`` over [date_from, date_to] against [vs_from, vs_to] (default: the range just before, of
    the same length), or the last complete ``period`` (week / month) against the one before."""

    kind = "explain"
    metric: str
    period: Literal["week", "month"] | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    vs_from: dt.date | None = None
    vs_to: dt.date | None = None
    by: list[str] = []
    factors: list[str] | None = None
    top: int = 10

    @field_validator("by", mode="before")
    @classmethod
    def _by(cls, v):
        if isinstance(v, str):
            v = [p.strip() for p in v.split(",") if p.strip()]
        return v or []

    @model_validator(mode="after")
    def _check(self):
        if self.period and (self.date_from or self.date_to or self.vs_from or self.vs_to):
            raise ValueError(Text("explain.give_either_period_date"))
        if not self.period and (self.date_from is None or self.date_to is None):
            raise ValueError(Text("explain.give_period_week_month"))
        if (self.vs_from is None) != (self.vs_to is None):
            raise ValueError(Text("explain.give_both_vs_from"))
        if self.vs_from and self.vs_to and self.vs_from > self.vs_to:
            raise ValueError(Text("explain.vs_from_after_vs"))
        if len(self.by) > 2:
            raise ValueError(Text("explain.by_at_most_two"))
        if self.factors is not None and len(self.factors) < 2:
            raise ValueError(Text("explain.factors_at_least_two"))
        if self.top < 1:
            raise ValueError(Text("explain.top_must_at_least"))
        return self


class ExplainResult(Result):
    kind = "explain"
    rows_key = "factors"

    def chart(self):
        """A waterfall: previous value, each factor's contribution, current value."""
        import plotly.graph_objects as go

        m = self.meta
        names = ["previous"] + [f["label"] for f in m["factors"]] + ["current"]
        values = [m["previous"]] + [f["contribution"] for f in m["factors"]] + [m["current"]]
        measure = ["absolute"] + ["relative"] * len(m["factors"]) + ["total"]
        fig = go.Figure(go.Waterfall(x=names, y=values, measure=measure))
        fig.update_layout(title=f"{m['label']}: {m['previous_range'][0]}…{m['previous_range'][1]} → "
                                f"{m['current_range'][0]}…{m['current_range'][1]}")
        return fig

    def to_dict(self) -> dict:
        out = {"kind": self.kind, "spec": self.spec.model_dump(mode="json") if self.spec else None}
        out.update(self.meta)
        from .base import clean

        return clean(out)


# -- ranges ----------------------------------------------------------------------------------------------
def _last_day(engine):
    """The local day of the latest event (plain SQL on DuckDB's whole events table: no Ibis import)."""
    from .sql import Query, plain_duckdb

    if plain_duckdb(engine):
        q = Query(engine)
        return q.run(f"SELECT CAST(max({q.local()}) AS DATE) FROM events")[0][0]
    t = engine.events()
    return engine.scalar(engine.local_ts(t.ts).max().date())


def ranges(engine, spec: ExplainSpec) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """(current range, previous range), inclusive local dates."""
    if spec.period:
        last = _last_day(engine)
        if last is None:
            raise SpecError(key="explain.explain_no_events_this")
        last = last.date() if isinstance(last, dt.datetime) else last
        start = period_start(last, spec.period)
        if next_period(start, spec.period) - dt.timedelta(days=1) != last:  # not complete yet
            start = period_start(start - dt.timedelta(days=1), spec.period)
        end = next_period(start, spec.period) - dt.timedelta(days=1)
        prev_start = period_start(start - dt.timedelta(days=1), spec.period)
        return (start, end), (prev_start, start - dt.timedelta(days=1))
    cur = (spec.date_from, spec.date_to)
    if spec.vs_from is not None:
        return cur, (spec.vs_from, spec.vs_to)
    n = (spec.date_to - spec.date_from).days + 1
    return cur, (spec.date_from - dt.timedelta(days=n), spec.date_from - dt.timedelta(days=1))


# -- by factor -------------------------------------------------------------------------------------------
def _close_enough(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def _fill_undefined(x0: np.ndarray, x1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A factor that is n/a (0 / 0) in one range takes its value of the other range, 0 when n/a in both."""
    a, b = np.where(np.isnan(x0), x1, x0), np.where(np.isnan(x1), x0, x1)
    return np.nan_to_num(a, nan=0.0), np.nan_to_num(b, nan=0.0)


def _by_factor(engine, spec, cat: Catalog, rng, tree) -> tuple[list[dict], str | None, float, float]:
    """The factor rows, the method, and the metric's current and previous values."""
    name = spec.metric
    if isinstance(tree, M.SumOverTree):
        return _by_sum_over(engine, spec, cat, rng, tree.dim)
    names = [name] + (list(tree.factors) if tree else [])
    cur = frame(engine, names, *rng[0], filters=spec.filters, cat=cat).iloc[0]
    prev = frame(engine, names, *rng[1], filters=spec.filters, cat=cat).iloc[0]
    y1, y0 = float(cur[name]), float(prev[name])
    if math.isnan(y1) or math.isnan(y0):
        which = "current" if math.isnan(y1) else "previous"
        raise SpecError(key="explain.explain_n_division_by", name=name, which=which)
    change = y1 - y0
    if not tree:
        return [_factor_row(cat.get(name), y1, y0, change)], None, y1, y0
    x1 = np.array([float(cur[f]) for f in tree.factors])
    x0 = np.array([float(prev[f]) for f in tree.factors])
    x0, x1 = _fill_undefined(x0, x1)
    combine = np.prod if tree.op == "*" else np.sum
    for label, xs, y in (("current", x1, y1), ("previous", x0, y0)):
        if not _close_enough(float(combine(xs)), y):
            sign = " × " if tree.op == "*" else " + "
            raise SpecError(key="explain.explain_tree_does_hold", name=name, value=sign.strip().join(tree.factors), label=label, value2=sign.join(f'{v:.6g}' for v in xs), value3=float(combine(xs)), y=y)
    if tree.op == "*":
        contrib, method = D.factors(x0, x1)
    else:
        contrib, method = x1 - x0, "sum"
    contrib = D.close(contrib, change)
    rows = [_factor_row(cat.get(f), a, b, c) for f, a, b, c in zip(tree.factors, x1, x0, contrib)]
    return rows, method, y1, y0


def _factor_row(m: Metric, current: float, previous: float, contribution: float) -> dict:
    return {"name": m.name, "label": m.label, "kind": m.kind, "current": current, "previous": previous,
            "change": current - previous, "change_pct": pct_change(current, previous),
            "contribution": float(contribution)}


def _by_sum_over(engine, spec, cat, rng, dim):
    name = spec.metric
    if not is_additive(cat.resolve(name)) and not _users_partition(cat.resolve(name), dim):
        raise SpecError(key="explain.explain_sum_over_needs", name=name, dim=dim)
    parts = _parts(engine, spec, cat, rng, [name], [dim])
    totals = [frame(engine, name, *r, filters=spec.filters, cat=cat)[name].iloc[0] for r in rng]
    y1, y0 = float(totals[0]), float(totals[1])
    _check_additive(name, parts, f"{name}_1", f"{name}_0", y1, y0, dim)
    contrib = D.close(parts[f"{name}_1"] - parts[f"{name}_0"], y1 - y0)
    m = cat.get(name)
    rows = [{**_factor_row(m, a, b, c), "name": f"{dim}={v}", "label": str(v)}
            for v, a, b, c in zip(parts["by0"], parts[f"{name}_1"], parts[f"{name}_0"], contrib)]
    return rows, "sum", y1, y0


def _users_partition(expr, dim: str) -> bool:
    return isinstance(expr, M.Aggregate) and expr.func == "users" and dim.startswith(("user.", "segment:"))


# -- by segment ------------------------------------------------------------------------------------------
def _segment_form(cat: Catalog, name: str, tree, dims: list[str]) -> tuple[Catalog, bool, str | None]:
    """A catalogue with ``__y`` (the additive numerator) and ``__b`` (the base), and whether the metric
    is the ratio Σ y / Σ b (else it is the sum Σ y, with b the base of the mix effect), and the base's
    metric name when it has one."""
    expr = cat.resolve(name)
    extra: dict[str, object] = {}
    base_name = None
    if is_additive(expr) or _users_partition(expr, dims[0]):
        base = None
        if isinstance(tree, M.ProductTree) and tree.op == "*":
            first = cat.resolve(tree.factors[0])
            if isinstance(first, M.Aggregate):
                base, base_name = first, tree.factors[0]
        if base is None:
            base = M.Aggregate("users", None)
            base_name = next((n for n in cat.metrics if cat.resolve(n) == base), None)
        extra = {"__y": expr, "__b": base}
        ratio = False
    elif isinstance(expr, M.BinOp) and expr.op == "/" and all(isinstance(s, M.Aggregate) for s in (expr.left, expr.right)):
        extra, ratio = {"__y": expr.left, "__b": expr.right}, True
        right = cat.get(name).expr.right
        base_name = right.name if isinstance(right, M.Ref) else None
    elif isinstance(expr, M.Aggregate) and expr.func == "users":
        raise SpecError(key="explain.explain_by_counts_distinct", dims=dims[0], name=name)
    else:
        raise SpecError(key="explain.explain_by_neither_count", name=name, text=cat.get(name).text)
    metrics = dict(cat.metrics)
    for key, e in extra.items():
        metrics[key] = Metric(key, M.to_text(e), e, key, "number")
    return Catalog(metrics, cat.trees, cat.tree_texts), ratio, base_name


def _parts(engine, spec, cat, rng, names, dims) -> pd.DataFrame:
    """Per part (by0, by1 …): each name in both ranges (``X_1`` current, ``X_0`` previous), 0 when absent."""
    keys = [f"by{i}" for i in range(len(dims))]
    cur = frame(engine, names, *rng[0], by=dims, filters=spec.filters, cat=cat)
    prev = frame(engine, names, *rng[1], by=dims, filters=spec.filters, cat=cat)
    df = cur.rename(columns={n: f"{n}_1" for n in names}).merge(
        prev.rename(columns={n: f"{n}_0" for n in names}), on=keys, how="outer")
    for n in names:
        for s in ("_1", "_0"):
            df[n + s] = df[n + s].astype(float).fillna(0.0)
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def _check_additive(name, df, col1, col0, total1, total0, dim) -> None:
    for col, total in ((col1, total1), (col0, total0)):
        s = math.fsum(df[col])
        if not _close_enough(s, total):
            raise SpecError(key="explain.explain_by_parts_add", dim=dim, name=name, s=s, total=total)


def _decompose_parts(df: pd.DataFrame, ratio: bool) -> pd.DataFrame:
    mix, rate = D.mix_rate(df["__b_0"], df["__b_1"], df["__y_0"], df["__y_1"], ratio=ratio)
    out = df.copy()
    out["mix"], out["rate"] = mix, rate
    out["contribution"] = mix + rate
    return out


def _rows(df: pd.DataFrame, key: str, dim: str, total: float, top: int, ratio: bool, children=None) -> list[dict]:
    """Ranked rows (largest |contribution| first), the tail beyond ``top`` summed as ``(other)``; the
    contributions closed on ``total``."""
    df = df.assign(__abs=df["contribution"].abs()).sort_values(["__abs", key], ascending=[False, True],
                                                               kind="stable")
    head, tail = df.iloc[:top], df.iloc[top:]
    rows = [{"value": r[key], "dimension": dim, **_numbers(r, ratio)} for r in head.to_dict("records")]
    if len(tail):
        sums = {c: float(tail[c].sum()) for c in ("__y_1", "__y_0", "__b_1", "__b_0", "mix", "rate", "contribution")}
        rows.append({"value": OTHER, "dimension": dim, "parts": int(len(tail)), **_numbers(sums, ratio)})
    contrib = D.close([r["contribution"] for r in rows], total)
    for r, c in zip(rows, contrib):
        r["contribution"] = float(c)
        r["rate"] = float(c) - r["mix"]  # mix + rate = contribution, to the last digit
        if children is not None and r["value"] != OTHER:
            r["children"] = children(r["value"], float(c))
    return rows


def _numbers(v: dict, ratio: bool) -> dict:
    cur = v["__y_1"] / v["__b_1"] if ratio and v["__b_1"] else (None if ratio else v["__y_1"])
    prev = v["__y_0"] / v["__b_0"] if ratio and v["__b_0"] else (None if ratio else v["__y_0"])
    return {"current": cur, "previous": prev, "base_current": v["__b_1"], "base_previous": v["__b_0"],
            "mix": float(v["mix"]), "rate": float(v["rate"]), "contribution": float(v["contribution"])}


def _by_segment(engine, spec, cat, rng, tree, change) -> tuple[list[dict], bool, str | None]:
    dims = spec.by
    seg_cat, ratio, base = _segment_form(cat, spec.metric, tree, dims)
    top = _parts(engine, spec, seg_cat, rng, ["__y", "__b"], dims[:1])
    y_tot = [float(frame(engine, ["__y", "__b"], *r, filters=spec.filters, cat=seg_cat).iloc[0][c])
             for r in rng for c in ("__y", "__b")]
    _check_additive(spec.metric, top, "__y_1", "__y_0", y_tot[0], y_tot[2], dims[0])
    if ratio:
        _check_additive(spec.metric, top, "__b_1", "__b_0", y_tot[1], y_tot[3], dims[0])
    top = _decompose_parts(top, ratio)
    sub = None
    if len(dims) == 2:
        # the same formula on the finer split (for a ratio: shares of the grand total), so the children of
        # a part add up to the part's contribution
        sub = _decompose_parts(_parts(engine, spec, seg_cat, rng, ["__y", "__b"], dims), ratio)
    drill = None if sub is None else (
        lambda value, parent_total: _rows(sub[sub["by0"] == value], "by1", dims[1], parent_total, spec.top, ratio))
    rows = _rows(top, "by0", dims[0], change, spec.top, ratio, drill)
    return rows, ratio, base


# -- the analysis ----------------------------------------------------------------------------------------
def explain(engine, spec: ExplainSpec | None = None, **kwargs) -> ExplainResult:
    spec = spec or ExplainSpec.build(**kwargs)
    cat = catalog(engine)
    m = cat.get(spec.metric)
    if spec.factors:
        for f in spec.factors:
            cat.get(f)
        tree = M.ProductTree("*", tuple(spec.factors))
        tree_text = " * ".join(spec.factors)
    else:
        tree, tree_text = cat.tree(spec.metric), cat.tree_texts.get(spec.metric)
    rng = ranges(engine, spec)
    factors, method, y1, y0 = _by_factor(engine, spec, cat, rng, tree)
    change = y1 - y0
    meta = {"metric": m.name, "label": m.label, "metric_kind": m.kind, "good": m.good,
            "tree": f"{m.name} = {tree_text}" if tree_text else None, "method": method,
            "current_range": [rng[0][0], rng[0][1]], "previous_range": [rng[1][0], rng[1][1]],
            "current": y1, "previous": y0, "change": change, "change_pct": pct_change(y1, y0),
            "factors": factors, "timezone": engine.timezone, "currency": engine.workspace.config.currency}
    if spec.filters:
        meta["filters"] = spec.filters
    if spec.by:
        segments, ratio, base = _by_segment(engine, spec, cat, rng, tree, change)
        meta.update(by=spec.by, segment_form="ratio" if ratio else "sum", base=base,
                    base_label=cat.get(base).label if base else None, segments=segments)
    rows = [{"part": "factor", **{k: v for k, v in f.items()}} for f in factors]
    for s in meta.get("segments", []):
        rows.append({"part": "segment", "level": 1, **{k: v for k, v in s.items() if k != "children"}})
        for c in s.get("children", []):
            rows.append({"part": "segment", "level": 2, "parent": s["value"], **c})
    return ExplainResult(spec, pd.DataFrame(rows), meta)
