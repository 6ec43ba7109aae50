"""RFM (最近一次消費 Recency, 消費頻率 Frequency, 消費金額 Monetary) scores and the 8 customer classes.

Definitions (口徑, docs/users.md#rfm), over purchase events (``events.purchase`` in yunying.toml) up to and
including the as-of day (default: the day of the latest purchase), local dates in the workspace zone:

* ``recency_days``: whole days from the local date of the user's last purchase to the as-of date;
* ``frequency``: orders — purchase events, or distinct values of ``order_property`` (a purchase without
  one counts as an order of its own);
* ``monetary``: the sum of the revenue property (``events.revenue``) over those purchases.

Only users with at least one purchase are scored. ``model="quantile"`` scores each of R, F, M from 1 to
``bins``: ``score = 1 + floor(bins × w / n)`` where ``n`` is the number of buyers and ``w`` the number of
buyers strictly *worse* on that measure (longer since their last purchase for R, fewer orders for F, less
revenue for M). Equal values always get equal scores whatever the order of the data; the most recent,
most frequent, biggest spenders get the highest score. A user is *high* on a measure when their score is
above the mean score of all buyers. ``model="mean8"`` compares the raw values with their means instead
(high R = fewer days than the mean recency; high F/M = above the mean) and scores 1 (high) or 0 (low).
The high/low pattern on (R, F, M) names the class, e.g. high-high-high = 重要價值客戶.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import numpy as np
import pyarrow as pa
from pydantic import field_validator

from ..errors import SpecError, Text
from . import filtering
from .base import Result, ratio
from .sql import Query, plain_duckdb

if TYPE_CHECKING:
    import pandas as pd

LANGS = ("en", "zh-Hans", "zh-Hant")
# key -> (R high, F high, M high), English, 简体, 繁體
SEGMENTS: dict[str, tuple[tuple[bool, bool, bool], str, str, str]] = {
    "important_value": ((True, True, True), "Important value", "重要价值客户", "重要價值客戶"),
    "important_development": ((True, False, True), "Important development", "重要发展客户", "重要發展客戶"),
    "important_retention": ((False, True, True), "Important retention", "重要保持客户", "重要保持客戶"),
    "important_winback": ((False, False, True), "Important win-back", "重要挽留客户", "重要挽留客戶"),
    "general_value": ((True, True, False), "General value", "一般价值客户", "一般價值客戶"),
    "general_development": ((True, False, False), "General development", "一般发展客户", "一般發展客戶"),
    "general_retention": ((False, True, False), "General retention", "一般保持客户", "一般保持客戶"),
    "general_winback": ((False, False, False), "General win-back", "一般挽留客户", "一般挽留客戶"),
}
_BY_PATTERN = {pattern: key for key, (pattern, *_labels) in SEGMENTS.items()}


def segment_label(key: str, lang: str = "en") -> str:
    return SEGMENTS[key][1 + LANGS.index(lang)]


class RfmSpec(filtering.FilteredSpec):
    """RFM over buyers as of a day.

    >>> RfmSpec.build(model="mean8", as_of="2024-03-31").bins
    5
    """

    kind = "rfm"
    as_of: dt.date | None = None
    order_property: str | None = None
    model: Literal["quantile", "mean8"] = "quantile"
    bins: int = 5
    lang: Literal["en", "zh-Hans", "zh-Hant"] = "en"

    @field_validator("bins")
    @classmethod
    def _bins(cls, v: int) -> int:
        if not 2 <= v <= 10:
            raise ValueError(Text("rfm.bins_must_between_2"))
        return v


class RfmResult(Result):
    kind = "rfm"
    rows_key = "users"

    def records(self) -> list[dict]:
        # Plain Python values column by column: a million buyers in seconds (every value is already
        # JSON-safe: ids, whole numbers, finite sums, class names).
        cols = list(self.frame.columns)
        return [dict(zip(cols, row)) for row in zip(*(self.frame[c].tolist() for c in cols))]

    def to_dict(self) -> dict:
        out = super().to_dict()
        out["segments"] = self.meta.get("segments", [])
        return out

    def chart(self):
        import pandas as pd  # loaded when RFM runs (start-up time)

        import plotly.express as px

        seg = pd.DataFrame(self.meta.get("segments", []))
        if seg.empty:
            return px.bar(title=self.meta.get("title"))
        return px.bar(seg, x="name", y="users", title=self.meta.get("title"), hover_data=["share", "revenue_share"])


def purchase_events(engine, filters, as_of: dt.date | None = None):
    """Purchase events (after the filters, up to the as-of local day) with ``__day`` (local date) and
    ``__rev`` (revenue as a number, missing = 0)."""
    cfg = engine.workspace.config
    t = engine.events()
    t = t.filter(t.event == cfg.events.purchase)
    pred = filtering.predicate(engine, filters, today=as_of) if filters else None  # -30d: before the as-of day
    if pred is not None:
        t = t.filter(pred(t))
    t = t.mutate(__day=engine.local_ts(t.ts).date(),
                 __rev=engine.prop(t, cfg.events.revenue).cast("float64").fill_null(0.0))
    if as_of is not None:
        t = t.filter(t.__day <= as_of)
    return t


def order_count(engine, t, order_property: str | None):
    """Orders of a group of purchase events: events, or distinct order ids (+ events without one)."""
    if not order_property:
        return t.count()
    o = filtering.prop(engine, t, order_property).cast("string")
    return o.nunique() + o.isnull().cast("int64").sum().fill_null(0)


def quantile_scores(values: np.ndarray, bins: int) -> np.ndarray:
    """``1 + floor(bins × (number of values strictly below) / n)``: ties share a score, higher is better."""
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = (values.min(), values.max())
    if np.all(values == np.floor(values)) and hi - lo < 4 * n + 1024:  # whole numbers (R days, F): count, no sort
        idx = (values - lo).astype(np.int64)
        counts = np.bincount(idx)
        return 1 + (bins * (np.cumsum(counts) - counts)[idx]) // n
    order = np.argsort(values, kind="stable")
    ranked = values[order]
    # position of the first of each run of equal values = how many values are strictly below
    new_run = np.empty(n, dtype=bool)
    new_run[0] = True
    new_run[1:] = ranked[1:] != ranked[:-1]
    first = np.maximum.accumulate(np.where(new_run, np.arange(n), 0))
    below = np.empty(n, dtype=np.int64)
    below[order] = first
    return 1 + (bins * below) // n


_EPOCH = dt.date(1970, 1, 1)


def _per_user(engine, spec: RfmSpec) -> tuple[pd.DataFrame, dt.date | None]:
    """One SQL aggregate per buyer (last local day, orders, revenue), returned in the order of the result: by
    revenue, highest first, equal revenue by user id. Arrow columns go straight into NumPy / Arrow-backed
    pandas columns: no Python object per buyer."""
    import pandas as pd  # loaded when RFM runs (start-up time)

    cfg = engine.workspace.config
    engine.check_events([cfg.events.purchase])
    table = _buyers_sql(engine, spec) if plain_duckdb(engine) and not (spec.filters or spec.order_property) \
        else _buyers_ibis(engine, spec)
    if not table.num_rows:
        return pd.DataFrame(columns=["user_id", "recency_days", "frequency", "monetary"]), spec.as_of
    last = table["last_day"].cast(pa.date32()).cast(pa.int32()).to_numpy().astype(np.int64)  # days since 1970-01-01
    as_of = spec.as_of or _EPOCH + dt.timedelta(days=int(last.max()))
    df = pd.DataFrame({
        "user_id": table["user_id"].to_pandas(),  # Arrow-backed strings
        "recency_days": (as_of - _EPOCH).days - last,
        "frequency": table["frequency"].to_numpy().astype(np.int64),
        "monetary": table["monetary"].to_numpy().astype(np.float64),
    })
    return df, as_of


def _buyers_ibis(engine, spec: RfmSpec):
    """Per buyer: user_id, frequency, monetary, last_day (local), by revenue then user id - through Ibis."""
    import ibis  # loaded on first use (start-up time)

    if spec.order_property:
        filtering.check_properties(engine, engine.events(), [spec.order_property])
    t = purchase_events(engine, spec.filters, spec.as_of)
    # the latest local time, then its date (= the latest local date): one date cast per buyer, not per purchase
    agg = t.group_by("user_id").aggregate(last_ts=engine.local_ts(t.ts).max(),
                                          frequency=order_count(engine, t, spec.order_property),
                                          monetary=t.__rev.sum())
    agg = agg.select("user_id", "frequency", "monetary", last_day=agg.last_ts.date())
    return engine.execute(agg.order_by([ibis.desc("monetary"), "user_id"]))


def _buyers_sql(engine, spec: RfmSpec):
    """The same as plain SQL on DuckDB (no filters, orders = purchase events): no Ibis import."""
    cfg = engine.workspace.config
    q = Query(engine)
    sql = (f"SELECT user_id, count(*) AS frequency, sum(coalesce(CAST({q.prop(cfg.events.revenue)} AS DOUBLE), 0.0)) "
           f"AS monetary, CAST(max({q.local()}) AS DATE) AS last_day FROM events WHERE event = {q.value(cfg.events.purchase)}")
    if spec.as_of is not None:
        sql += f" AND CAST({q.local()} AS DATE) <= {q.value(spec.as_of)}::DATE"
    return q.arrow(sql + " GROUP BY user_id ORDER BY monetary DESC, user_id ASC")


def scores_of_sorted(desc: np.ndarray, bins: int) -> np.ndarray:
    """:func:`quantile_scores` of values already sorted from highest to lowest, in O(n) without a sort: the
    values strictly below an element are those after its run of equal values."""
    n = len(desc)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.flatnonzero(np.r_[desc[1:] != desc[:-1], True]) + 1  # exclusive end of each run of equal values
    run = np.cumsum(np.r_[True, desc[1:] != desc[:-1]]) - 1
    return 1 + (bins * (n - ends[run])) // n


def _m_scores(m: np.ndarray, bins: int) -> np.ndarray:
    """Monetary scores: the rows come sorted by revenue (highest first) from the engine; checked, not assumed."""
    if len(m) < 2 or bool(np.all(m[:-1] >= m[1:])):
        return scores_of_sorted(m, bins)
    return quantile_scores(m, bins)  # e.g. NaN revenue: not orderable, so score by value


def _score(df: pd.DataFrame, spec: RfmSpec) -> tuple[dict, np.ndarray]:
    """Scores and classes (categorical columns: one code per buyer); returns the thresholds and the class codes."""
    import pandas as pd  # loaded when RFM runs (start-up time)

    r, f, m = (df["recency_days"].to_numpy(np.float64), df["frequency"].to_numpy(np.float64),
               df["monetary"].to_numpy(np.float64))
    if spec.model == "quantile":
        df["r_score"] = quantile_scores(-r, spec.bins)   # fewer days since the last purchase = better
        df["f_score"] = quantile_scores(f, spec.bins)
        df["m_score"] = _m_scores(m, spec.bins)
        means = {k: float(df[f"{k}_score"].mean()) for k in "rfm"}
        high = [df["r_score"].to_numpy() > means["r"], df["f_score"].to_numpy() > means["f"],
                df["m_score"].to_numpy() > means["m"]]
        thresholds = {"r_score_mean": means["r"], "f_score_mean": means["f"], "m_score_mean": means["m"]}
    else:
        means = {"recency_days": float(r.mean()), "frequency": float(f.mean()), "monetary": float(m.mean())}
        high = [r < means["recency_days"], f > means["frequency"], m > means["monetary"]]
        for k, h in zip("rfm", high):
            df[f"{k}_score"] = h.astype("int64")
        thresholds = {f"{k}_mean": v for k, v in means.items()}
    code = (4 * np.asarray(high[0], np.int64) + 2 * np.asarray(high[1], np.int64) + np.asarray(high[2], np.int64))
    keys = [_BY_PATTERN[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)]  # code -> class
    df["segment"] = pd.Categorical.from_codes(code, categories=keys)
    df["segment_name"] = pd.Categorical.from_codes(code, categories=[segment_label(k, spec.lang) for k in keys])
    return thresholds, code


def _summary(df: pd.DataFrame, lang: str, code: np.ndarray | None = None) -> list[dict]:
    n, total = len(df), float(df["monetary"].sum()) if len(df) else 0.0
    keys = [_BY_PATTERN[(bool(c & 4), bool(c & 2), bool(c & 1))] for c in range(8)]
    counts = dict(zip(keys, np.bincount(code, minlength=8).tolist())) if n else {}
    revenue = df["monetary"].groupby(code).sum().rename(index=dict(enumerate(keys))) if n else {}
    out = []
    for key in SEGMENTS:
        users = int(counts.get(key, 0)) if n else 0
        rev = float(revenue.get(key, 0.0)) if n else 0.0
        out.append({"segment": key, "name": segment_label(key, lang),
                    "labels": dict(zip(LANGS, SEGMENTS[key][1:])), "users": users, "share": ratio(users, n),
                    "revenue": rev, "revenue_share": ratio(rev, total)})
    return out


COLUMNS = ["user_id", "recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "segment",
           "segment_name"]


def rfm(engine, spec: RfmSpec | None = None, **kwargs) -> RfmResult:
    """RFM scores and classes of every buyer (see the module docstring for the definitions)."""
    import pandas as pd  # loaded when RFM runs (start-up time)

    spec = spec or RfmSpec.build(**kwargs)
    df, as_of = _per_user(engine, spec)
    meta = {"title": f"RFM ({spec.model}) as of {as_of}", "as_of": as_of, "model": spec.model,
            "bins": spec.bins if spec.model == "quantile" else 2, "lang": spec.lang,
            "currency": engine.workspace.config.currency, "purchase_event": engine.workspace.config.events.purchase}
    if df.empty:
        meta.update(buyers=0, thresholds={}, segments=_summary(pd.DataFrame(columns=COLUMNS), spec.lang))
        return RfmResult(spec, pd.DataFrame(columns=COLUMNS), meta)
    if (df["recency_days"] < 0).any():
        raise SpecError(key="rfm.rfm_purchase_lies_after")  # cannot happen: purchases are cut at as_of
    meta["thresholds"], code = _score(df, spec)  # rows: by revenue, highest first, then by user id (the engine's order)
    meta.update(buyers=len(df), segments=_summary(df, spec.lang, code))
    return RfmResult(spec, df[COLUMNS], meta)
