"""An experiment from workspace events: exposure assigns, metrics are counted in windows after it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable

import numpy as np

from ...errors import SpecError, ValidationError
from ...stats import (ProportionStats, QuantileStats, RatioStats, RegressionAdjustedStats, SampleMeanStats,
                      messages as M)
from .core import _variant_order, analyze_stats
from .result import ExperimentResult
from .spec import ExperimentSpec, ValueSpec, WorkspaceExperimentSpec, _coerce_spec

def _naive_utc(value: date | datetime | None, tz: str) -> datetime | None:
    if value is None:
        return None
    from zoneinfo import ZoneInfo

    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    return value.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def analyze_workspace(engine: Any, spec: ExperimentSpec | dict, timezone: str | None = None,
                      **overrides) -> ExperimentResult:
    """Analyse an experiment recorded as events.

    ``engine.table("events")`` gives the events (``user_id``, ``event``,
    ``ts`` naive UTC, ``variant``, ``revenue``, JSON ``properties`` …) and
    ``engine.execute(expr)`` runs an ibis expression. Each user's first
    ``spec.exposure_event`` assigns the variant; users exposed to more than
    one variant are excluded and counted. Metric values are aggregated per
    user in ibis (so DuckDB and Spark both work); the statistics run here.
    ``timezone`` (default: the engine's workspace zone, else UTC) interprets
    ``spec.start``/``spec.end`` dates and reports the exposure period.
    """
    timezone = timezone or getattr(engine, "timezone", None) or "UTC"
    spec = _coerce_spec(spec, WorkspaceExperimentSpec, **overrides)
    messages: list[dict[str, Any]] = []
    excluded: dict[str, int] = {}
    if _plain(engine, spec):  # plain SQL: no Ibis (start-up time, issue 13)
        from . import workspace_sql as S

        use_pre = _check_workspace_spec(spec, timezone, S.columns(engine))
        assigned, srow = _assigned_users_sql(engine, spec, timezone, messages, excluded)
        values = _per_user_values_sql(engine, assigned, spec, use_pre)
        data_end = S.data_end(engine) if spec.exclude_incomplete_windows else None
    else:
        ev = engine.table("events")
        use_pre = _check_workspace_spec(spec, timezone, set(ev.columns))
        exposure_ev = metric_ev = ev
        if spec.filters:
            from ..filtering import apply, per_user

            metric_ev = apply(engine, ev, spec.filters)
            if per_user(spec.filters):  # the users analysed: their exposures and their metric events
                exposure_ev = metric_ev
        assigned, srow = _assigned_users(engine, exposure_ev, spec, timezone, messages, excluded)
        values = _per_user_values(engine, metric_ev, assigned, spec, use_pre)
        data_end = None
        if spec.exclude_incomplete_windows:
            data_end = _first_row(engine.execute(ev.aggregate(mx=ev.ts.max()))).get("mx")
            if data_end is not None and type(data_end) is not datetime:  # nanoseconds (pandas): to microseconds
                import pandas as pd

                data_end = pd.Timestamp(data_end).floor("us").to_pydatetime()
    by_variant = _variant_sums(engine, values, data_end)

    control, order = _variant_order(spec, list(by_variant))
    spec = spec if spec.control == control else spec.model_copy(update={"control": control})
    counts = {v: int((by_variant.get(v) or {}).get("__n") or 0) for v in order}
    unknown = {k: v for k, v in by_variant.items() if k not in order}
    if unknown:
        k = sum(int(r["__n"] or 0) for r in unknown.values())
        excluded[M.UNKNOWN_VARIANT] = k
        messages.append({"code": M.UNKNOWN_VARIANT, "count": k,
                         "message": f"{k} users in variants not listed in 'variants' were excluded"})
    metric_stats, metric_types, cov_names = {}, {}, {}
    for i, m in enumerate(values.metrics):
        stats, mtype = _metric_stats(engine, values, i, m, by_variant, order, data_end, spec.alpha)
        if "x" in values.colmap[m.name]:
            cov_names[m.name] = f"pre-period ({spec.cuped_pre_days:g} days)"
        if data_end is not None:
            dropped = sum(counts.values()) - sum(s.n for s in stats.values())
            if dropped > 0:
                messages.append({"code": M.INCOMPLETE_WINDOWS, "metric": m.name, "count": int(dropped),
                                 "message": f"{dropped} users whose window had not closed were left out of "
                                            f"{m.name!r}"})
        metric_stats[m.name] = stats
        metric_types[m.name] = mtype
    source = {"kind": "workspace", "exposure_event": spec.exposure_event, "timezone": timezone,
              "first_exposure": _local(srow.get("first"), timezone), "last_exposure": _local(srow.get("last"), timezone),
              "data_end": _local(data_end, timezone) if data_end is not None else None}
    return analyze_stats(spec, order, counts, metric_stats, metric_types, messages=messages,
                         excluded=excluded, source=source, cuped_covariates=cov_names)


def _plain(engine, spec) -> bool:
    from .. import sql

    return not spec.filters and sql.plain_duckdb(engine)


def _local(ts, timezone: str) -> str | None:
    """A naive UTC time (microseconds: DuckDB's and Arrow's) as an ISO time in the zone."""
    from zoneinfo import ZoneInfo

    if ts is None:
        return None
    return ts.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(timezone)).isoformat()


def _check_workspace_spec(spec: ExperimentSpec, timezone: str, cols: set[str]) -> bool:
    """Refuse what a workspace cannot answer, before any query; returns whether CUPED uses the pre-period."""
    if not spec.exposure_event:
        raise SpecError(key="experiment.workspace.workspace_experiment_needs_exposure")
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(timezone)
    except Exception:
        raise SpecError(key="experiment.workspace.unknown_timezone", timezone=timezone) from None
    for c in ("user_id", "event", "ts", "variant"):
        if c not in cols:
            raise SpecError(key="experiment.workspace.events_table_has_no", c=c)
    for m in [*spec.metrics, *spec.guardrails]:
        for vs in m.value_specs():
            if not vs.is_event_based:
                raise SpecError(key="experiment.workspace.metric_workspace_metrics_are", name=m.name)
    use_pre = (spec.covariate or "").lower() in ("pre", "pre-period", "pre_period")
    if spec.covariate and not use_pre:
        raise SpecError(key="experiment.workspace.workspace_only_covariate_pre", cuped_pre_days=spec.cuped_pre_days)
    return use_pre


def _assigned_users(engine: Any, ev: Any, spec: ExperimentSpec, timezone: str, messages: list,
                    excluded: dict) -> tuple[Any, dict]:
    """Users by their first exposure in the period, each with one variant (``user_id, first_ts, variant``)."""
    cols = set(ev.columns)
    expo = ev.filter(ev.event == spec.exposure_event, ev.variant.notnull())
    if spec.experiment is not None:
        expo = expo.filter(_prop(engine, expo, spec.experiment_property, cols).cast("string") == spec.experiment)
    start, end = _period(spec, timezone)
    users = expo.group_by(expo.user_id).aggregate(
        first_ts=expo.ts.min(), n_variants=expo.variant.nunique(), variant=expo.variant.min())
    # the analysis period selects users by their *first* exposure (earlier-exposed users stay out)
    if start is not None:
        users = users.filter(users.first_ts >= start)
    if end is not None:
        users = users.filter(users.first_ts < end)
    srow = _first_row(engine.execute(users.aggregate(
        multi=(users.n_variants > 1).cast("int64").sum(), first=users.first_ts.min(),
        last=users.first_ts.max(), total=users.user_id.count())))
    _multi(spec, srow, lambda: [r["user_id"] for r in engine.execute(users.filter(users.n_variants > 1).select(
        "user_id").order_by("user_id").limit(3)).to_pylist()], messages, excluded)
    return users.filter(users.n_variants == 1).select("user_id", "first_ts", "variant"), srow


def _period(spec, timezone: str) -> tuple[datetime | None, datetime | None]:
    """The analysis period in naive UTC: a first exposure at or after the start, before the end (an end date
    includes its whole day)."""
    start, end = _naive_utc(spec.start, timezone), _naive_utc(spec.end, timezone)
    if isinstance(spec.end, date) and not isinstance(spec.end, datetime) and end is not None:
        end = _naive_utc(datetime(spec.end.year, spec.end.month, spec.end.day), timezone)
        end = end + timedelta(days=1)
    return start, end


def _multi(spec, srow: dict, examples: Callable[[], list], messages: list, excluded: dict) -> None:
    """Users exposed to more than one variant are excluded and counted (all of them: an error naming some)."""
    n_multi = int(srow.get("multi") or 0)
    if n_multi and n_multi == int(srow.get("total") or 0):
        ex = ", ".join(repr(str(u)) for u in examples())
        raise ValidationError(key="experiment.workspace.all_exposed_users_more", n_multi=n_multi, exposure_event=spec.exposure_event, ex=ex)
    if n_multi:
        excluded[M.MULTIPLE_VARIANTS] = n_multi
        messages.append({"code": M.MULTIPLE_VARIANTS, "count": n_multi,
                         "message": f"{n_multi} users exposed to more than one variant were excluded"})


def _assigned_users_sql(engine, spec, timezone: str, messages: list, excluded: dict):
    """``_assigned_users`` in plain SQL: the users (``workspace_sql.Sel``, still with ``n_variants``) and the
    summary row."""
    from . import workspace_sql as S

    users = S.assigned_users(engine, spec, *_period(spec, timezone))
    srow = S.summary(engine, users)
    _multi(spec, srow, lambda: S.multi_examples(engine, users), messages, excluded)
    return users, srow


@dataclass
class _Values:
    """Per-user metric values (an ibis table) and, per metric, the names of its columns there:
    ``v`` the value (numerator), ``d`` a ratio's denominator, ``x`` the pre-period covariate."""

    table: Any
    colmap: dict[str, dict[str, str]]
    metrics: list
    window: Callable


def _seconds(days: float) -> Any:
    import ibis

    return ibis.interval(seconds=int(round(days * 86400)))


def _windows(spec: ExperimentSpec) -> Callable:
    def window(vs: ValueSpec) -> float | None:
        return vs.window_days if vs.window_days is not None else spec.window_days
    return window


def _per_user_values_sql(engine: Any, assigned: Any, spec: ExperimentSpec, use_pre: bool) -> _Values:
    from . import workspace_sql as S

    all_specs = [*spec.metrics, *spec.guardrails]
    cols = S.columns(engine)
    for m in all_specs:
        for vs in m.value_specs():
            if vs.kind == "sum" and vs.property not in cols and "properties" not in cols:
                raise SpecError(key="experiment.workspace.metric_property_neither_column", name=m.name, property=vs.property)
    table, colmap = S.per_user_values(engine, assigned, spec, use_pre, all_specs, _windows(spec))
    return _Values(table, colmap, all_specs, _windows(spec))


def _per_user_values(engine: Any, ev: Any, assigned: Any, spec: ExperimentSpec, use_pre: bool) -> _Values:
    cols = set(ev.columns)
    all_specs = [*spec.metrics, *spec.guardrails]
    window = _windows(spec)

    events_needed = sorted({vs.event for m in all_specs for vs in m.value_specs()})
    windows = [window(vs) for m in all_specs for vs in m.value_specs()]
    max_window = None if any(w is None for w in windows) else max(windows)
    me = ev.filter(ev.event.isin(events_needed))
    prop_cols: dict[str, Any] = {}
    for m in all_specs:
        for vs in m.value_specs():
            if vs.kind == "sum" and vs.property not in prop_cols:
                if vs.property in cols or "properties" in cols:
                    prop_cols[vs.property] = _prop(engine, me, vs.property, cols).try_cast("float64")
                else:
                    raise SpecError(key="experiment.workspace.metric_property_neither_column", name=m.name, property=vs.property)
    pnames = {p: f"__p{i}" for i, p in enumerate(prop_cols)}
    me = me.select(__uid=me.user_id, __ev=me.event, __ts=me.ts,
                   **{pnames[p]: expr for p, expr in prop_cols.items()})
    pre = _seconds(spec.cuped_pre_days)
    conds = [me.__uid == assigned.user_id, me.__ts >= (assigned.first_ts - pre if use_pre else assigned.first_ts)]
    if max_window is not None:
        conds.append(me.__ts < assigned.first_ts + _seconds(max_window))
    j = assigned.left_join(me, conds)

    def value_expr(vs: ValueSpec, before: bool):
        w = window(vs)
        if before:
            cond = (j.__ev == vs.event) & (j.__ts >= j.first_ts - pre) & (j.__ts < j.first_ts)
        else:
            cond = (j.__ev == vs.event) & (j.__ts >= j.first_ts)
            if w is not None:
                cond = cond & (j.__ts < j.first_ts + _seconds(w))
        cond = cond.fill_null(False)
        if vs.kind == "sum":
            return cond.ifelse(j[pnames[vs.property]].fill_null(0.0), 0.0).sum().fill_null(0.0).cast("float64")
        hit = cond.ifelse(1, 0)
        agg = hit.sum() if vs.kind == "count" else hit.max()
        return agg.fill_null(0).cast("float64")

    aggs: dict[str, Any] = {}
    colmap: dict[str, dict[str, str]] = {}
    for i, m in enumerate(all_specs):
        names = {}
        for k, vs in zip(("v", "d"), m.value_specs()):
            if vs.kind is None:
                vs = vs.model_copy(update={"kind": "conversion"})
            aggs[f"m{i}_{k}"] = value_expr(vs, False)
            names[k] = f"m{i}_{k}"
            if k == "v" and use_pre and m.type in ("auto", "mean", "proportion"):
                aggs[f"m{i}_x"] = value_expr(vs, True)
                names["x"] = f"m{i}_x"
        colmap[m.name] = names
    per_user = j.group_by([j.user_id, j.variant, j.first_ts]).aggregate(**aggs)
    return _Values(per_user, colmap, all_specs, window)


def _complete(values: _Values, m, data_end):
    """The condition 'the user's window for metric m closed before the end of the data' (None: keep all)."""
    if data_end is None:
        return None
    import ibis

    pu = values.table
    w = max((values.window(vs) or 0.0) for vs in m.value_specs())
    return pu.first_ts + _seconds(w) <= ibis.literal(data_end)


def _variant_sums(engine: Any, values: _Values, data_end) -> dict[str, dict]:
    """Per-variant sufficient statistics of every metric in one query."""
    from .workspace_sql import Sel, variant_sums

    if isinstance(values.table, Sel):
        return variant_sums(engine, values.table, values.colmap, values.metrics, values.window, data_end)
    import ibis

    pu = values.table
    sums: dict[str, Any] = {"__n": pu.user_id.count()}
    for i, m in enumerate(values.metrics):
        names = values.colmap[m.name]
        ok = _complete(values, m, data_end)

        def val(c):
            return pu[c] if ok is None else ok.ifelse(pu[c], ibis.null().cast("float64"))
        v = val(names["v"])
        sums.update({f"m{i}_n": v.count(), f"m{i}_s": v.sum(), f"m{i}_ss": (v * v).sum()})
        if "d" in names:
            d = val(names["d"])
            sums.update({f"m{i}_ds": d.sum(), f"m{i}_dss": (d * d).sum(), f"m{i}_vd": (v * d).sum()})
        if "x" in names:
            x = val(names["x"])
            sums.update({f"m{i}_xs": x.sum(), f"m{i}_xss": (x * x).sum(), f"m{i}_xv": (x * v).sum()})
    agg_tbl = engine.execute(pu.group_by(pu.variant).aggregate(**sums)).to_pylist()
    return {str(r["variant"]): r for r in agg_tbl}


def _metric_stats(engine: Any, values: _Values, i: int, m, by_variant: dict, order: list,
                  data_end, alpha: float) -> tuple[dict[str, Any], str]:
    """One metric's statistics object per variant, and the metric's type."""
    names = values.colmap[m.name]

    def g(r, key):
        return float((r or {}).get(key) or 0.0)

    stats: dict[str, Any] = {}
    if m.type == "ratio":
        for v in order:
            r = by_variant.get(v)
            stats[v] = RatioStats(int(g(r, f"m{i}_n")), g(r, f"m{i}_s"), g(r, f"m{i}_ss"),
                                  g(r, f"m{i}_ds"), g(r, f"m{i}_dss"), g(r, f"m{i}_vd"))
        return stats, "ratio"
    if m.type == "quantile":
        from .workspace_sql import Sel, quantile_values

        if isinstance(values.table, Sel):
            by = quantile_values(engine, values.table, names["v"], values.window(m) or 0.0, data_end)
            for v in order:
                stats[v] = QuantileStats.from_values(np.array(by.get(v, []), dtype=float), m.quantile, alpha)
            return stats, "quantile"
        import ibis

        pu, col = values.table, names["v"]
        q = pu.select(pu.variant, pu[col], pu.first_ts)
        if data_end is not None:
            q = q.filter(q.first_ts + _seconds(values.window(m) or 0.0) <= ibis.literal(data_end))
        vals = engine.execute(q.select("variant", col)).to_pandas()
        for v in order:
            x = vals.loc[vals["variant"].astype(str) == v, col].to_numpy(dtype=float)
            stats[v] = QuantileStats.from_values(x, m.quantile, alpha)
        return stats, "quantile"
    mtype = m.type if m.type != "auto" else ("proportion" if (m.kind or "conversion") == "conversion" else "mean")
    for v in order:
        r = by_variant.get(v)
        n = int(g(r, f"m{i}_n"))
        if "x" in names:
            stats[v] = RegressionAdjustedStats(n, g(r, f"m{i}_s"), g(r, f"m{i}_ss"), g(r, f"m{i}_xs"),
                                               g(r, f"m{i}_xss"), g(r, f"m{i}_xv"))
        elif mtype == "proportion":
            stats[v] = ProportionStats(n, g(r, f"m{i}_s"))
        else:
            stats[v] = SampleMeanStats(n, g(r, f"m{i}_s"), g(r, f"m{i}_ss"))
    return stats, mtype


def _prop(engine: Any, t: Any, name: str, cols: set[str]):
    """A column, or a key of the JSON ``properties`` (via the engine's helper when it has one)."""
    if name in cols and name != "properties":
        return t[name]
    if hasattr(engine, "prop"):
        return engine.prop(t, name)
    import ibis

    pj = t.properties.cast("json")[name]
    return ibis.coalesce(pj.str, pj.cast("string"))  # JSON strings unquoted, numbers as text


def experiment(engine: Any, spec: WorkspaceExperimentSpec | dict) -> ExperimentResult:
    """Registry entry point: :func:`analyze_workspace` in the engine's time zone."""
    return analyze_workspace(engine, _coerce_spec(spec, WorkspaceExperimentSpec))


def _first_row(table: Any) -> dict[str, Any]:
    if hasattr(table, "to_pylist"):
        rows = table.to_pylist()
        return rows[0] if rows else {}
    return {}
