"""Customer value (客戶價值): P(alive), expected purchases, expected spend, CLV, churn risk, holdout validation.

Definitions (口徑) are in docs/customer-value.md. In short:

* A **transaction** is a local calendar day (workspace time zone) with at least one purchase event
  (``events.purchase`` in yunying.toml) by an identified user; its value is the sum of the revenue
  property (``events.revenue``) of that day's purchases.
* Per user, in the calibration period (first purchase .. ``calibration_end``, inclusive):
  ``frequency`` = transactions after the first, ``recency`` = days from the first transaction to the last,
  ``T`` = days from the first transaction to ``calibration_end``; recency and T in ``period`` units
  (day, or week = 7 days, fractional). ``monetary`` = mean value of the repeat transactions.
* ``as_of`` (default: the last purchase day) ends the data read. Without ``calibration_end`` the model is
  fitted on everything up to ``as_of`` and scores customers as of then. With it, the model is fitted on the
  calibration period, customers are scored as of ``calibration_end``, and ``holdout`` compares predicted
  with actual transactions in (calibration_end, as_of].
* ``filters`` (the filter language, docs/users.md#where-each-filter-applies) pick the customers *scored and
  listed*: those with at least one event up to ``as_of`` for which every filter holds (``segment = 'NAME'``: the
  members). The models are fitted, and the holdout checked, on every customer, so a small segment's scores
  rest on the whole base's behaviour.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from ..errors import ModelFitError, SpecError, Text, ValidationError
from . import filtering
from .arrow_numpy import floats, ints
from .base import Result
from .table import Columns

UNIT_DAYS = {"day": 1.0, "week": 7.0}
BUCKETS = ("0", "1", "2", "3", "4", "5", "6", "7+")


class CustomerValueSpec(filtering.FilteredSpec):
    """Customer-value model settings.

    >>> CustomerValueSpec(model="pareto", period="week", horizon_days=90).horizon_days
    90.0
    """

    kind = "customer_value"
    model: Literal["bgnbd", "pareto"] = "bgnbd"
    period: Literal["day", "week"] = "week"
    calibration_end: dt.date | None = None
    as_of: dt.date | None = None
    horizon_days: float = Field(90.0, gt=0, le=36600)
    discount_rate: float = Field(0.10, ge=0, lt=10, description="annual discount rate")
    margin: float = Field(1.0, gt=0, le=1e6, description="share of revenue kept (1 = revenue)")
    churn_high_below: float = Field(0.3, ge=0, le=1)
    churn_medium_below: float = Field(0.7, ge=0, le=1)
    purchase_event: str | None = None
    revenue_property: str | None = None
    # ``filters`` (FilteredSpec, docs/users.md#filter-language): only customers with an event (up to as_of) for
    # which every filter holds are scored / listed; ``segment = 'NAME'`` (cli --segment) keeps the segment's members

    @model_validator(mode="after")
    def _check(self):
        if self.calibration_end and self.as_of and self.calibration_end >= self.as_of:
            raise ValueError(Text("customer_value.calibration_end_must_before_2", calibration_end=self.calibration_end, as_of=self.as_of))
        if self.churn_high_below > self.churn_medium_below:
            raise ValueError(Text("customer_value.churn_high_below_must"))
        for name in ("calibration_end", "as_of"):
            d = getattr(self, name)
            if d is not None and not dt.date(1970, 1, 1) <= d <= dt.date(2100, 12, 31):
                raise ValueError(Text("customer_value.expected_date_between_1970", name=name, d=d))
        return self

    @property
    def unit_days(self) -> float:
        return UNIT_DAYS[self.period]


@dataclass
class Purchases:
    """Transactions (user-days) as arrays sorted by user then day; days are ordinals (days since 1970-01-01)."""

    user: np.ndarray      # object array of user ids, one per transaction
    day: np.ndarray       # int64
    value: np.ndarray     # float64, NaN where no purchase of the day had revenue
    has_revenue: bool


def read_purchases(engine, spec: CustomerValueSpec) -> Purchases:
    """One row per (user, local day) with a purchase, up to ``as_of``; identical on every engine."""
    cfg = engine.workspace.config
    event = spec.purchase_event or cfg.events.purchase
    missing = engine.check_events([event])
    if missing:
        raise SpecError(key="customer_value.no_events_this_data", event=event)
    tab = _purchase_days(engine, spec, event, spec.revenue_property or cfg.events.revenue)
    user = np.asarray(tab["user_id"].to_pylist(), dtype=object)
    day = _ordinals(tab["__day"])
    value = floats(tab["value"])
    order = np.lexsort((day, user.astype(str)))
    return Purchases(user[order], day[order], value[order], bool(np.isfinite(value).any()))


def _ordinals(col) -> np.ndarray:
    """Days since 1970-01-01 of an Arrow date column (read from its buffers when it is date32: no pandas)."""
    import pyarrow as pa

    if pa.types.is_date32(col.type) and col.null_count == 0:
        return ints(col)
    return np.asarray(col.to_numpy()).astype("datetime64[D]").astype(np.int64)


def _purchase_days(engine, spec: CustomerValueSpec, event: str, revenue: str):
    """user_id, __day (local), value (revenue sum), n per (user, day) with a purchase, as an Arrow table: plain
    SQL on the DuckDB engine over its whole events table (no Ibis import), Ibis otherwise (filters, Spark);
    tests/customer_value/test_clv_sql_oracle.py checks both give the same rows."""
    from .sql import Query, plain_duckdb

    if plain_duckdb(engine):
        q = Query(engine)
        sql = (f"SELECT user_id, CAST({q.local()} AS DATE) AS __day, sum(CAST({q.prop(revenue)} AS DOUBLE)) AS value, "
               f"count(*) AS n FROM events WHERE event = {q.value(event)} AND user_id IS NOT NULL")
        if spec.as_of is not None:
            sql += f" AND CAST({q.local()} AS DATE) <= {q.value(spec.as_of)}::DATE"
        return q.arrow(sql + " GROUP BY 1, 2")
    t = engine.events()
    t = t.filter((t.event == event) & t.user_id.notnull())
    t = t.mutate(__day=engine.local_ts(t.ts).date(), __rev=engine.prop(t, revenue).cast("float64"))
    if spec.as_of is not None:
        t = t.filter(t.__day <= spec.as_of)
    return engine.execute(t.group_by(["user_id", "__day"]).aggregate(value=t.__rev.sum(), n=t.count()))


@dataclass
class Customers:
    """Per-customer calibration summary (RFM) plus holdout transactions."""

    user_id: np.ndarray
    first: np.ndarray        # ordinal day of the first transaction
    frequency: np.ndarray
    recency: np.ndarray      # in period units
    T: np.ndarray            # in period units
    monetary: np.ndarray     # mean repeat value (NaN: none)
    spend_n: np.ndarray      # repeat transactions with a value
    holdout: np.ndarray      # transactions in (calibration_end, as_of]
    repeat_days: np.ndarray  # ordinal days of every repeat transaction up to as_of (for the tracking chart)


def summarise(p: Purchases, cal_end: int, unit_days: float) -> Customers:
    """frequency / recency / T / monetary per user with a first purchase on or before ``cal_end``."""
    starts = np.flatnonzero(np.r_[True, p.user[1:] != p.user[:-1]])
    first = p.day[starts]
    first_rep = np.repeat(first, np.diff(np.r_[starts, p.user.size]))
    keep_user = first <= cal_end
    in_cal = p.day <= cal_end
    repeat = p.day > first_rep
    group = np.cumsum(np.r_[True, p.user[1:] != p.user[:-1]]) - 1
    n_users = starts.size
    freq = np.bincount(group, weights=(in_cal & repeat), minlength=n_users)
    last = np.full(n_users, np.iinfo(np.int64).min)
    np.maximum.at(last, group[in_cal], p.day[in_cal])
    has_val = in_cal & repeat & np.isfinite(p.value)
    spend_n = np.bincount(group, weights=has_val, minlength=n_users)
    spend_sum = np.bincount(group[has_val], weights=p.value[has_val], minlength=n_users)
    holdout = np.bincount(group, weights=~in_cal, minlength=n_users)
    with np.errstate(invalid="ignore", divide="ignore"):
        monetary = np.where(spend_n > 0, spend_sum / np.maximum(spend_n, 1), np.nan)
    k = keep_user
    rep_mask = repeat & keep_user[group]
    return Customers(
        user_id=p.user[starts][k], first=first[k], frequency=freq[k],
        recency=np.where(freq[k] > 0, (last[k] - first[k]) / unit_days, 0.0),
        T=(cal_end - first[k]) / unit_days, monetary=monetary[k], spend_n=spend_n[k], holdout=holdout[k],
        repeat_days=p.day[rep_mask])


def _ordinal(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _date(ordinal: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=int(ordinal))


def resolve_dates(spec: CustomerValueSpec, p: Purchases) -> tuple[int, int, bool]:
    """(calibration end, as-of, has holdout) as ordinals, checked against the data's range."""
    if p.day.size == 0:
        raise SpecError(key="customer_value.no_purchases_before", as_of=spec.as_of) if spec.as_of \
            else SpecError(key="customer_value.no_purchases")
    lo, hi = int(p.day.min()), int(p.day.max())
    span = Text("customer_value.purchases_span", first=_date(lo), last=_date(hi))
    as_of = _ordinal(spec.as_of) if spec.as_of else hi
    if spec.calibration_end is None:
        return as_of, as_of, False
    cal = _ordinal(spec.calibration_end)
    if cal < lo:
        raise SpecError(key="customer_value.calibration_end_before_first", calibration_end=spec.calibration_end, span=span)
    if cal >= hi:
        raise SpecError(key="customer_value.calibration_end_leaves_no", calibration_end=spec.calibration_end, span=span)
    if cal >= as_of:
        raise SpecError(key="customer_value.calibration_end_must_before", calibration_end=spec.calibration_end, value=_date(as_of))
    return cal, as_of, True


def _bucket(freq: np.ndarray) -> np.ndarray:
    return np.where(freq >= 7, "7+", np.minimum(freq, 7).astype(int).astype(str))


def holdout_table(c: Customers, predicted: np.ndarray) -> dict:
    """Predicted vs actual holdout transactions, in total and per calibration-frequency bucket."""
    b = _bucket(c.frequency)
    rows = []
    for name in BUCKETS:
        m = b == name
        if m.any():
            rows.append({"frequency": name, "customers": int(m.sum()), "predicted": float(predicted[m].sum()),
                         "actual": int(c.holdout[m].sum()), "predicted_mean": float(predicted[m].mean()),
                         "actual_mean": float(c.holdout[m].mean())})
    return {"predicted": float(predicted.sum()), "actual": int(c.holdout.sum()), "buckets": rows}


def tracking(model, c: Customers, as_of: int, cal_end: int, unit_days: float) -> list[dict]:
    """Cumulative repeat transactions of the calibration customers, actual and expected, at the end of every
    period from the first purchase to ``as_of`` (the chart of Fader, Hardie & Lee 2005, figure 3)."""
    start = int(c.first.min())
    ends = np.arange(start + unit_days - 1, as_of + unit_days - 1, unit_days).astype(np.int64)
    ends = np.minimum(ends, as_of)
    firsts, counts = np.unique(c.first, return_counts=True)
    # a customer's repeat transactions by the end of day e: those on days in (first, e]
    actual = np.searchsorted(np.sort(c.repeat_days), ends, side="right")
    age = (ends[:, None] - firsts[None, :]) / unit_days  # time since first purchase, per first-purchase day
    with np.errstate(invalid="ignore"):
        e = np.where(age > 0, model.expected_purchases(np.maximum(age, 1e-12)), 0.0)
    expected = e @ counts
    return [{"date": _date(d).isoformat(), "period": i + 1, "actual": int(a), "expected": float(x),
             "holdout": bool(d > cal_end)} for i, (d, a, x) in enumerate(zip(ends, actual, expected))]


class CustomerValueResult(Result):
    """Per-user scores (``users``) plus the fitted models, and ``holdout`` / ``tracking`` with a calibration end."""

    kind = "customer_value"
    rows_key = "users"

    def chart(self):
        import plotly.graph_objects as go

        track = self.meta.get("tracking")
        if track:
            fig = go.Figure([go.Scatter(x=[r["date"] for r in track], y=[r[k] for r in track], name=k, mode="lines")
                             for k in ("actual", "expected")])
            cal = self.meta.get("calibration_end")
            if cal:
                fig.add_vline(x=cal, line_dash="dot")
            return fig.update_layout(title="cumulative repeat transactions: actual vs model")
        import plotly.express as px

        return px.histogram(self.frame, x="p_alive", nbins=20, title="P(alive) of customers")


def _fit_models(spec: CustomerValueSpec, c: Customers, has_revenue: bool):
    from ..stats.clv import MODELS, GammaGammaFitter

    model = MODELS[spec.model]().fit(c.frequency, c.recency, c.T)
    spend, note = None, None
    if not has_revenue:
        note = "no revenue on purchase events: expected spend and CLV are not available"
    else:
        ok = (c.spend_n > 0) & (c.monetary > 0)
        dropped = int(((c.spend_n > 0) & ~(c.monetary > 0)).sum())
        if ok.sum() < 2:
            note = "fewer than 2 repeat customers with positive spend: the spend model cannot be fitted"
        else:
            spend = GammaGammaFitter().fit(c.spend_n[ok], c.monetary[ok])
            if dropped:
                note = f"{dropped} repeat customer(s) with a mean repeat spend <= 0 (refunds?) left out of the spend model"
            if spend.params_["q"] <= 1:
                note = (f"the spend model has q = {spend.params_['q']:.3g} <= 1 (an infinite mean spend): expected "
                        "spend and CLV are not available")
    return model, spend, note


# the per-user table's columns and their dtypes (as a pandas frame of them would have them)
SCORE_DTYPES = {"user_id": "object", "frequency": "int64", "recency": "float64", "T": "float64",
                "monetary": "float64", "p_alive": "float64", "churn_risk": "object", "expected_purchases": "float64",
                "expected_order_value": "float64", "expected_spend": "float64", "clv": "float64",
                "value_at_risk": "float64"}


def score(spec: CustomerValueSpec, c: Customers, model, spend) -> dict[str, np.ndarray]:
    """The per-user table as numpy columns (SCORE_DTYPES): RFM, P(alive), expected purchases/spend in the horizon,
    CLV, value at risk, churn risk."""
    from ..stats.clv import ValueSettings, churn_risk, discounted_purchases

    vs = ValueSettings(discount_rate=spec.discount_rate, margin=spec.margin, high_below=spec.churn_high_below,
                       medium_below=spec.churn_medium_below)
    h = spec.horizon_days / spec.unit_days
    rft = (c.frequency, c.recency, c.T)
    with np.errstate(all="ignore"):
        p_alive = model.p_alive(*rft)
        exp_n = model.conditional_expected_purchases(h, *rft)
    bad = ~(np.isfinite(p_alive) & np.isfinite(exp_n))
    if bad.any():
        params = ", ".join(f"{k}={v:.4g}" for k, v in model.params_.items())
        raise ModelFitError(key="customer_value.model_fitted_customers_gives", name=model.name, size=c.user_id.size, bad=int(bad.sum()), params=params)
    table = {"user_id": c.user_id.astype(str), "frequency": c.frequency.astype(np.int64),
             "recency": c.recency, "T": c.T, "monetary": c.monetary, "p_alive": p_alive,
             "churn_risk": churn_risk(p_alive, vs), "expected_purchases": exp_n}
    if spend is not None and spend.params_["q"] > 1:
        aov = spend.expected_order_value(np.where(c.monetary > 0, c.spend_n, 0), np.nan_to_num(c.monetary))
        disc = discounted_purchases(model, h, *rft, unit_days=spec.unit_days, settings=vs)
        disc_alive = discounted_purchases(model, h, *rft, unit_days=spec.unit_days, settings=vs, if_alive=True)
        table["expected_order_value"] = aov
        table["expected_spend"] = exp_n * aov
        table["clv"] = vs.margin * aov * disc
        table["value_at_risk"] = (1 - p_alive) * vs.margin * aov * disc_alive
    else:
        for col in ("expected_order_value", "expected_spend", "clv"):
            table[col] = np.full(c.user_id.size, np.nan)
        table["value_at_risk"] = (1 - p_alive) * discounted_purchases(
            model, h, *rft, unit_days=spec.unit_days, settings=vs, if_alive=True)
    return {k: np.asarray(v) for k, v in table.items()}


def ranked(table: dict[str, np.ndarray], key: str, positive: bool = False) -> np.ndarray:
    """Row indices by ``key`` high to low (missing values last), then by user id (as pandas' ``sort_values`` on
    both keys); ``positive``: only rows whose ``key`` is above 0."""
    rows = np.flatnonzero(table[key] > 0) if positive else np.arange(table[key].size)
    return rows[np.lexsort((table["user_id"][rows], -table[key][rows]))]


def as_columns(table: dict[str, np.ndarray], rows=None) -> Columns:
    """numpy columns (``rows``: an index or mask, all rows when None) as the result's :class:`Columns`, with the
    dtypes a pandas frame of them has (no pandas import: records, JSON and CSV read the lists)."""
    pick = (lambda v: v) if rows is None else (lambda v: v[rows])
    return Columns({k: pick(v).tolist() for k, v in table.items()},
                   dtypes={k: SCORE_DTYPES.get(k, "float64") for k in table})


def customer_value(engine, spec: CustomerValueSpec | None = None, **kwargs) -> CustomerValueResult:
    """Fit the purchase (and spend) model on the workspace's purchases and score every customer.

    >>> import yunying
    >>> ws = yunying.open("my-workspace")                                            # doctest: +SKIP
    >>> yunying.analysis("customer_value", ws, {"calibration_end": "2026-05-31"}).meta["holdout"]  # doctest: +SKIP
    """
    spec = spec or CustomerValueSpec.build(**kwargs)
    keep = filtered_users(engine, spec) if spec.filters else None  # first: a misspelt filter fails before the fit
    purchases = read_purchases(engine, spec)
    cal_end, as_of, has_holdout = resolve_dates(spec, purchases)
    c = summarise(purchases, cal_end, spec.unit_days)
    model, spend, note = _fit_models(spec, c, purchases.has_revenue)
    table = score(spec, c, model, spend)
    rows = None
    if keep is not None:  # the models are fitted on every customer; the table keeps those the filters select
        rows = np.fromiter((u in keep for u in table["user_id"].tolist()), dtype=bool, count=table["user_id"].size)
    frame = as_columns(table, rows)
    cfg = engine.workspace.config
    meta = {"model": model.summary(), "log_likelihood": model.log_likelihood_,
            "spend": spend.summary() if spend is not None else None,
            "period": spec.period, "calibration_end": _date(cal_end).isoformat(), "as_of": _date(as_of).isoformat(),
            "horizon_days": spec.horizon_days, "discount_rate": spec.discount_rate, "margin": spec.margin,
            "churn_thresholds": {"high_below": spec.churn_high_below, "medium_below": spec.churn_medium_below},
            "customers": int(c.user_id.size), "repeat_customers": int((c.frequency > 0).sum()),
            "scored": int(len(frame)), "filters": spec.filters,
            "currency": cfg.currency, "purchase_event": spec.purchase_event or cfg.events.purchase,
            "timezone": engine.timezone}
    if note:
        meta["note"] = note
    if has_holdout:
        t_star = (as_of - cal_end) / spec.unit_days
        predicted = model.conditional_expected_purchases(t_star, c.frequency, c.recency, c.T)
        meta["holdout"] = {"start": _date(cal_end + 1).isoformat(), "end": _date(as_of).isoformat(),
                           **holdout_table(c, predicted)}
        meta["tracking"] = tracking(model, c, as_of, cal_end, spec.unit_days)
    res = CustomerValueResult(spec, frame, meta)
    res.model, res.spend, res.scores = model, spend, (table if rows is None else {k: v[rows] for k, v in table.items()})
    return res


class WinbackSpec(CustomerValueSpec):
    """A win-back (召回) list: the ``top`` customers by value at risk, with a seeded random holdout.

    >>> WinbackSpec(top=500, holdout=0.1).holdout
    0.1
    """

    kind = "winback"
    top: int = Field(1000, ge=1, le=10_000_000)
    holdout: float = Field(0.10, ge=0, le=0.9, description="share of the list kept out of the campaign")
    seed: int = Field(0, ge=0, le=2**63 - 1)


class WinbackResult(Result):
    kind = "winback"
    rows_key = "users"

    def chart(self):
        import plotly.express as px

        return px.bar(self.frame, x="user_id", y="value_at_risk", color="group", title="win-back list")


def holdout_flags(user_ids, share: float, seed: int) -> np.ndarray:
    """True for the ``round(share · n)`` users whose seeded hash is smallest: random, reproducible, and a
    user keeps their group when the list around them changes."""
    import hashlib

    n = len(user_ids)
    k = int(round(share * n))
    keys = [hashlib.blake2b(f"{seed}:{u}".encode(), digest_size=8).digest() for u in user_ids]
    order = sorted(range(n), key=lambda i: keys[i])
    flags = np.zeros(n, dtype=bool)
    flags[order[:k]] = True
    return flags


def filtered_users(engine, spec: CustomerValueSpec) -> set:
    """Ids of the users with at least one event up to ``as_of`` for which every filter holds."""
    t = engine.events()
    t = t.filter(t.user_id.notnull())
    if spec.as_of is not None:
        t = t.filter(engine.local_ts(t.ts).date() <= spec.as_of)
    t = filtering.apply(engine, t, spec.filters)
    return set(engine.execute(t.select("user_id").distinct())["user_id"].to_pylist())


def winback(engine, spec: WinbackSpec | None = None, **kwargs) -> WinbackResult:
    """Rank customers by value at risk = (1 − P(alive)) × CLV if alive; keep the ``top`` with value at risk > 0;
    flag a seeded ``holdout`` share of them (not to be contacted, so the campaign's lift can be measured)."""
    spec = spec or WinbackSpec.build(**kwargs)
    # the model is fitted on all customers; the list keeps those the filters select (customer_value does it)
    cv = customer_value(engine, CustomerValueSpec(**spec.model_dump(exclude={"top", "holdout", "seed"})))
    t = cv.scores
    order = ranked(t, "value_at_risk", positive=True)[:spec.top]
    cols = ["rank", "user_id", "group", "value_at_risk", "p_alive", "churn_risk", "clv", "expected_purchases",
            "frequency", "recency", "T", "monetary"]
    group = np.where(holdout_flags(t["user_id"][order].tolist(), spec.holdout, spec.seed), "holdout", "target")
    listed = {"rank": np.arange(1, order.size + 1, dtype=np.int64), "group": group.astype(object),
              **{k: t[k][order] for k in cols if k in t}}
    f = as_columns({k: listed[k] for k in cols})
    f.dtypes.update(rank="int64", group="object")
    meta = {k: cv.meta[k] for k in ("model", "spend", "period", "calibration_end", "as_of", "horizon_days",
                                    "discount_rate", "margin", "currency", "customers") if k in cv.meta}
    meta.update(value_basis="revenue" if cv.spend is not None else "purchases", seed=spec.seed,
                holdout_share=spec.holdout, filters=spec.filters, listed=int(order.size),
                holdout_users=int((group == "holdout").sum()))
    return WinbackResult(spec, f, meta)


def save_groups(ws, res: WinbackResult, *, holdout: str | None = None, target: str | None = None,
                replace: bool = False) -> dict:
    """Store the list's ``holdout`` and/or ``target`` customers as static segments (docs/users.md#segments), so
    a campaign review can compare them later. Both names are checked before anything is written. Returns
    ``{"holdout": {"name", "users"}, ...}`` for what was stored."""
    wanted = {g: n for g, n in (("holdout", holdout), ("target", target)) if n is not None}
    if len(set(wanted.values())) < len(wanted):
        raise SpecError(key="customer_value.save_holdout_save_list")
    for name in wanted.values():
        if not replace and ws.segment(name) is not None:
            raise SpecError(key="customer_value.segment_exists_already_choose", name=name)
    m = res.meta
    saved = {}
    for group, name in wanted.items():
        ids = [u for u, g in zip(res.table.data["user_id"], res.table.data["group"]) if g == group]
        desc = (f"win-back {group}: {len(ids)} of {m['listed']} listed (seed {m['seed']}, holdout share "
                f"{m['holdout_share']}, as of {m.get('as_of')}); spec {res.spec.to_json()}")
        ws.save_segment(name, kind="static", description=desc, static_ids=ids, replace=replace)
        saved[group] = {"name": name, "users": len(ws.segment_static_ids(name))}
    return saved
