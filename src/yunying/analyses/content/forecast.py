"""Early forecast of a piece's readers at 7 days from its first hours (docs/content.md#forecast).

Growth curves: for each piece, ``R(h)`` = distinct readers whose first view came within ``h`` hours of publishing.
For the account's past pieces (published at least ``horizon_hours`` before the data end, with readers by ``h``),
the multiplier ``m = R(horizon) / R(h)``. The forecast for a piece seen for ``h`` hours is ``R(h) × median(m)``,
its interval ``R(h) × [quantiles of m]`` (an empirical prediction interval). Validation: each past piece in turn
is forecast from the others' multipliers (leave one out); ``coverage`` is the share whose actual readers at the
horizon fell inside their interval.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from pydantic import Field

from ...errors import SpecError
from ..base import Result, Spec
from .data import MAX_WINDOW_HOURS, group_key, piece_table


class ForecastSpec(Spec):
    kind = "content_forecast"
    content_id: str
    hours: float | None = Field(None, gt=0, description="Forecast from the first HOURS (default: all seen so far).")
    horizon_hours: float = Field(168.0, gt=0)
    level: float = Field(0.8, gt=0.5, lt=1)
    baseline: str = "account"
    min_history: int = Field(5, ge=2)
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    window_hours: float = Field(24.0, ge=0, le=MAX_WINDOW_HOURS)
    view_event: str = "view_content"
    share_event: str = "share"
    follow_event: str = "follow"


def first_reads(engine, spec) -> pd.DataFrame:
    """``content_id, first``: each reader's first view of each piece."""
    t = engine.events()
    t = t.filter((t.event == spec.view_event) & t.content_id.notnull())
    agg = t.group_by(["content_id", "user_id"]).aggregate(first=t.ts.min())
    return engine.execute(agg.select("content_id", "first")).to_pandas()


def curves(reads: pd.DataFrame, published: pd.Series, points: list[float]) -> pd.DataFrame:
    """Readers by ``h`` hours after publishing, one column per point, one row per piece."""
    r = reads.merge(published.rename("published").reset_index(), on="content_id")
    age = (pd.to_datetime(r["first"]).dt.tz_localize(None) - pd.to_datetime(r["published"])).dt.total_seconds() / 3600
    out = pd.DataFrame(index=published.index)
    for h in points:
        out[h] = r[age <= h].groupby("content_id").size().reindex(published.index).fillna(0)
    return out


def _interval(mult: np.ndarray, level: float) -> tuple[float, float, float]:
    tail = (1 - level) / 2
    return float(np.median(mult)), float(np.quantile(mult, tail)), float(np.quantile(mult, 1 - tail))


def loo_coverage(early: np.ndarray, late: np.ndarray, level: float) -> tuple[float, int]:
    """Leave-one-out coverage of the prediction interval on past pieces."""
    ok = early > 0
    early, late = early[ok], late[ok]
    mult = late / early
    hits = 0
    for i in range(len(mult)):
        _, lo, hi = _interval(np.delete(mult, i), level)
        hits += lo * early[i] <= late[i] <= hi * early[i]
    return (hits / len(mult) if len(mult) else float("nan")), int(len(mult))


class ForecastResult(Result):
    kind = "content_forecast"
    rows_key = "curve"

    def chart(self):
        """Readers so far by hours after publishing (the curve the forecast starts from)."""
        import plotly.graph_objects as go

        f = self.frame
        fig = go.Figure(go.Scatter(x=f["hours"].tolist(), y=f["readers"].tolist(), mode="lines+markers",
                                   name="readers"))
        return fig.update_layout(xaxis_title="hours", yaxis_title="readers")


def forecast(engine, spec: ForecastSpec | None = None, **kwargs) -> ForecastResult:
    spec = spec or ForecastSpec.build(**kwargs)
    pieces = piece_table(engine, spec)
    if spec.content_id not in set(pieces.content_id):
        raise SpecError(key="content.forecast.content_no_such_piece", content_id=spec.content_id)
    pieces = pieces[pieces.published_at.notnull()].set_index("content_id")
    group = group_key(pieces, spec.baseline)
    target = pieces.loc[spec.content_id]
    reads = first_reads(engine, spec)
    end = pd.to_datetime(reads["first"]).dt.tz_localize(None).max()
    seen = (end - pd.to_datetime(target.published_at)).total_seconds() / 3600
    h = float(min(spec.hours or seen, seen))
    if h <= 0:
        raise SpecError(key="content.forecast.content_published_after_last", content_id=spec.content_id)
    same = group[group == group[spec.content_id]].index
    past = [c for c in same if c != spec.content_id and
            (end - pd.to_datetime(pieces.published_at[c])).total_seconds() / 3600 >= spec.horizon_hours]
    cur = curves(reads, pieces.published_at, sorted({h, spec.horizon_hours, *(p for p in (1, 3, 6, 12, 24, 48, 72,
                                                                                         120, 168) if p <= seen)}))
    early, late = cur.loc[past, h].to_numpy(float), cur.loc[past, spec.horizon_hours].to_numpy(float)
    mult = late[early > 0] / early[early > 0]
    if len(mult) < spec.min_history:
        raise SpecError(key="content.forecast.content_only_earlier_piece", content_id=spec.content_id, n_mult=len(mult), value=group[spec.content_id], horizon_hours=spec.horizon_hours, min_history=spec.min_history)
    med, lo, hi = _interval(mult, spec.level)
    now = float(cur.loc[spec.content_id, h])
    cov, n_val = loo_coverage(early, late, spec.level)
    meta = {"content_id": spec.content_id, "group": group[spec.content_id], "hours_seen": h,
            "readers_so_far": now, "forecast": now * med, "interval": [now * lo, now * hi], "level": spec.level,
            "horizon_hours": spec.horizon_hours, "history_pieces": int(len(mult)),
            "validation": {"coverage": cov, "pieces": n_val, "level": spec.level}}
    if seen >= spec.horizon_hours:
        meta["actual"] = float(cur.loc[spec.content_id, spec.horizon_hours])
    curve = pd.DataFrame({"hours": [float(c) for c in cur.columns if c <= seen],
                          "readers": [float(cur.loc[spec.content_id, c]) for c in cur.columns if c <= seen]})
    return ForecastResult(spec, curve, meta)
