"""When pieces are published (docs/content.md#timing): readers per piece and the follow rate by weekday, by hour
and by weekday × hour of publishing (workspace time zone), with bootstrap intervals over the pieces.

The publish time is the catalogue's (or the platform export's); without one, the piece's first view stands in
for it (said in the result's ``publish_time_source``).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import Field

from ..base import Result, Spec
from .data import MAX_WINDOW_HOURS, piece_table, preload

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
BOOTSTRAP = 400


class TimingSpec(Spec):
    kind = "content_timing"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    level: float = Field(0.9, gt=0.5, lt=1)
    dimension: Literal["weekday", "hour", "weekday_hour"] = "weekday"
    window_hours: float = Field(24.0, ge=0, le=MAX_WINDOW_HOURS)
    view_event: str = "view_content"
    share_event: str = "share"
    follow_event: str = "follow"


def _interval(values: np.ndarray, level: float, rng, k: np.ndarray | None = None) -> tuple[float, float]:
    """Percentile bootstrap over pieces: of the mean of ``values``, or of sum(k)/sum(values) when ``k`` is given."""
    if len(values) < 2:
        return (np.nan, np.nan)
    d = rng.integers(0, len(values), (BOOTSTRAP, len(values)))
    if k is None:
        stat = values[d].mean(axis=1)
    else:
        n = values[d].sum(axis=1)
        stat = np.where(n > 0, k[d].sum(axis=1) / np.where(n > 0, n, 1), np.nan)
    tail = (1 - level) / 2 * 100
    return tuple(np.nanpercentile(stat, [tail, 100 - tail]))


def timing_table(df: pd.DataFrame, dimension: str, level: float, tz: str, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    when = pd.to_datetime(df["published_at"])
    if tz != "UTC":
        when = when.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)
    wd, hr = when.dt.weekday, when.dt.hour
    key = {"weekday": wd.map(lambda w: WEEKDAYS[int(w)] if pd.notna(w) else None),
           "hour": hr, "weekday_hour": wd.map(lambda w: WEEKDAYS[int(w)] if pd.notna(w) else None)
           + " " + hr.map(lambda h: f"{int(h):02d}:00" if pd.notna(h) else "")}[dimension]
    order = {"weekday": wd, "hour": hr, "weekday_hour": wd * 24 + hr}[dimension]
    rows = []
    for g, idx in df.groupby(key).indices.items():
        n = df["readers"].to_numpy(float)[idx]
        k = np.minimum(df["followers"].to_numpy(float)[idx], n)
        lo, hi = _interval(n, level, rng)
        flo, fhi = _interval(n, level, rng, k)
        rows.append({dimension: g, "_order": float(order.iloc[idx[0]]), "pieces": len(idx),
                     "readers_per_piece": float(n.mean()), "readers_per_piece_lo": lo, "readers_per_piece_hi": hi,
                     "follow_rate": k.sum() / n.sum() if n.sum() else None, "follow_rate_lo": flo,
                     "follow_rate_hi": fhi})
    out = pd.DataFrame(rows)
    return out.sort_values("_order").drop(columns="_order").reset_index(drop=True) if len(out) else out


class TimingResult(Result):
    kind = "content_timing"

    def chart(self):
        """Follow rate by publishing time, with its interval (the dashboard's /analysis/content_timing)."""
        import plotly.graph_objects as go

        f, x = self.frame, self.frame.columns[0]
        err = {"type": "data", "symmetric": False, "array": (f["follow_rate_hi"] - f["follow_rate"]).tolist(),
               "arrayminus": (f["follow_rate"] - f["follow_rate_lo"]).tolist()}
        fig = go.Figure(go.Bar(x=[str(v) for v in f[x]], y=f["follow_rate"].tolist(), error_y=err,
                               name="follow_rate"))
        return fig.update_layout(xaxis_title=x, yaxis_title="follow_rate", yaxis_tickformat=".1%")


def timing(engine, spec: TimingSpec | None = None, **kwargs) -> TimingResult:
    spec = spec or TimingSpec.build(**kwargs)
    preload("pandas")  # imported while the piece table's queries run
    df = piece_table(engine, spec, with_conversions=False)  # the table shows readers and follows only
    df = df[df["published_at"].notnull()]
    from ...storage import content as store

    has_cat = bool(len(store.catalogue(engine.workspace.con)))
    meta = {"pieces": int(len(df)), "level": spec.level,
            "publish_time_source": "catalogue" if has_cat else "first view of each piece"}
    return TimingResult(spec, timing_table(df, spec.dimension, spec.level, engine.timezone), meta)
