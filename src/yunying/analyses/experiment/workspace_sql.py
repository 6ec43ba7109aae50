"""The workspace experiment's queries on DuckDB as plain SQL (no Ibis import at start-up, issue 13): the
expressions of :mod:`yunying.analyses.experiment.workspace` written out — the first exposure of each user, their
metric values in windows after it, per-variant sums — every value a parameter. Filters and other engines keep the
Ibis expressions; tests/stats/test_experiment_sql_oracle.py checks both give the same results."""
from __future__ import annotations

import datetime as dt

from ..sql import Query


class Sel:
    """SQL text and its parameters (a table to select from)."""

    def __init__(self, sql: str, params: list):
        self.sql, self.params = sql, list(params)

    def paste(self, q: Query) -> str:
        q.params.extend(self.params)
        return self.sql


def _seconds(days: float) -> str:
    """``_seconds`` of the Ibis path: whole seconds (an integer written into the text, not a user's value)."""
    return f"INTERVAL {int(round(days * 86400))} SECOND"


def columns(engine) -> set[str]:
    return set(Query(engine).columns)


def assigned_users(engine, spec, start: dt.datetime | None, end: dt.datetime | None) -> Sel:
    """(user_id, first_ts, n_variants, variant) per exposed user, selected by the first exposure's time."""
    q = Query(engine)
    sql = f"SELECT user_id, ts, variant FROM events WHERE event = {q.value(spec.exposure_event)} AND variant IS NOT NULL"
    if spec.experiment is not None:
        sql += f" AND CAST({q.prop(spec.experiment_property)} AS VARCHAR) = {q.value(spec.experiment)}"
    users = (f"SELECT user_id, min(ts) AS first_ts, count(DISTINCT variant) AS n_variants, min(variant) AS variant "
             f"FROM ({sql}) GROUP BY user_id")
    conds = ([f"first_ts >= {q.value(start)}"] if start is not None else []) + (
        [f"first_ts < {q.value(end)}"] if end is not None else [])
    return Sel(f"SELECT * FROM ({users})" + (" WHERE " + " AND ".join(conds) if conds else ""), q.params)


def summary(engine, users: Sel) -> dict:
    q = Query(engine)
    row = q.run(f"SELECT sum(CAST(n_variants > 1 AS BIGINT)), min(first_ts), max(first_ts), count(user_id) "
                f"FROM ({users.paste(q)})")[0]
    return dict(zip(("multi", "first", "last", "total"), row))


def multi_examples(engine, users: Sel) -> list:
    q = Query(engine)
    return [r[0] for r in q.run(f"SELECT user_id FROM ({users.paste(q)}) WHERE n_variants > 1 ORDER BY user_id LIMIT 3")]


def per_user_values(engine, users: Sel, spec, use_pre: bool, all_specs: list, window) -> tuple[Sel, dict]:
    """The per-user table (user_id, variant, first_ts and one column per metric value) and, per metric, the
    names of its columns (``v`` value, ``d`` a ratio's denominator, ``x`` the pre-period covariate). Pieces are
    built in the order they are read, so their parameters line up."""
    windows = [window(vs) for m in all_specs for vs in m.value_specs()]
    max_window = None if any(w is None for w in windows) else max(windows)
    q = Query(engine)
    pre = _seconds(spec.cuped_pre_days)

    def value(vs, before: bool) -> str:
        w = window(vs)
        cond = f"m.__ev = {q.value(vs.event)} AND "
        if before:
            cond += f"m.__ts >= a.first_ts - {pre} AND m.__ts < a.first_ts"
        else:
            cond += "m.__ts >= a.first_ts" + (f" AND m.__ts < a.first_ts + {_seconds(w)}" if w is not None else "")
        cond = f"coalesce({cond}, false)"
        if vs.kind == "sum":
            return (f"CAST(coalesce(sum(CASE WHEN {cond} THEN coalesce(m.{pnames[vs.property]}, 0.0) ELSE 0.0 END), "
                    "0.0) AS DOUBLE)")
        agg = "sum" if vs.kind == "count" else "max"
        return f"CAST(coalesce({agg}(CASE WHEN {cond} THEN 1 ELSE 0 END), 0) AS DOUBLE)"

    props = list(dict.fromkeys(vs.property for m in all_specs for vs in m.value_specs() if vs.kind == "sum"))
    pnames = {p: f"__p{i}" for i, p in enumerate(props)}
    aggs, colmap = [], {}
    for i, m in enumerate(all_specs):
        cols = {}
        for k, vs in zip(("v", "d"), m.value_specs()):
            if vs.kind is None:
                vs = vs.model_copy(update={"kind": "conversion"})
            aggs.append(f"{value(vs, False)} AS m{i}_{k}")
            cols[k] = f"m{i}_{k}"
            if k == "v" and use_pre and m.type in ("auto", "mean", "proportion"):
                aggs.append(f"{value(vs, True)} AS m{i}_x")
                cols["x"] = f"m{i}_x"
        colmap[m.name] = cols
    a = users.paste(q)
    pcols = "".join(f", TRY_CAST({q.prop(p)} AS DOUBLE) AS {pnames[p]}" for p in props)
    names = sorted({vs.event for m in all_specs for vs in m.value_specs()})
    me = f"SELECT user_id AS __uid, event AS __ev, ts AS __ts{pcols} FROM events WHERE event IN ({q.values(names)})"
    on = f"m.__uid = a.user_id AND m.__ts >= {'a.first_ts - ' + pre if use_pre else 'a.first_ts'}"
    if max_window is not None:
        on += f" AND m.__ts < a.first_ts + {_seconds(max_window)}"
    sql = (f"SELECT a.user_id, a.variant, a.first_ts, {', '.join(aggs)} FROM (SELECT user_id, first_ts, variant FROM "
           f"({a}) WHERE n_variants = 1) AS a LEFT JOIN ({me}) AS m ON {on} GROUP BY a.user_id, a.variant, a.first_ts")
    return Sel(sql, q.params), colmap


def _closed(q: Query, values: Sel, colmap: dict, metrics: list, window, data_end) -> str:
    """The per-user table with each metric's columns NULL where the user's window had not closed by ``data_end``
    (the whole table when None)."""
    if data_end is None:
        return values.paste(q)
    cols = []
    for m in metrics:
        w = max((window(vs) or 0.0) for vs in m.value_specs())
        for c in colmap[m.name].values():
            cols.append(f"CASE WHEN first_ts + {_seconds(w)} <= {q.value(data_end)} THEN {c} ELSE NULL END AS {c}")
    return f"SELECT user_id, variant, first_ts, {', '.join(cols)} FROM ({values.paste(q)})"


def variant_sums(engine, values: Sel, colmap: dict, metrics: list, window, data_end) -> dict[str, dict]:
    """Per variant: ``__n`` and each metric's sums (``_variant_sums`` of the Ibis path), by variant name."""
    sums = ["count(user_id) AS __n"]
    for i, m in enumerate(metrics):
        names = colmap[m.name]
        v = names["v"]
        sums += [f"count({v}) AS m{i}_n", f"sum({v}) AS m{i}_s", f"sum({v} * {v}) AS m{i}_ss"]
        if "d" in names:
            d = names["d"]
            sums += [f"sum({d}) AS m{i}_ds", f"sum({d} * {d}) AS m{i}_dss", f"sum({v} * {d}) AS m{i}_vd"]
        if "x" in names:
            x = names["x"]
            sums += [f"sum({x}) AS m{i}_xs", f"sum({x} * {x}) AS m{i}_xss", f"sum({x} * {v}) AS m{i}_xv"]
    q = Query(engine)
    rows = q.arrow(f"SELECT variant, {', '.join(sums)} FROM ({_closed(q, values, colmap, metrics, window, data_end)}) "
                   "GROUP BY variant").to_pylist()
    return {str(r["variant"]): r for r in rows}


def quantile_values(engine, values: Sel, col: str, w: float, data_end) -> dict[str, list]:
    """The values of one column per variant (only users whose window closed, with ``data_end``)."""
    q = Query(engine)
    sql = f"SELECT variant, {col} FROM ({values.paste(q)})"
    if data_end is not None:
        sql += f" WHERE first_ts + {_seconds(w)} <= {q.value(data_end)}"
    out: dict[str, list] = {}
    for v, x in q.run(sql):
        out.setdefault(str(v), []).append(x)
    return out


def data_end(engine):
    return Query(engine).run("SELECT max(ts) FROM events")[0][0]
