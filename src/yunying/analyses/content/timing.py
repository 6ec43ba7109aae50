"""When pieces are published (docs/content.md#timing): readers per piece and the follow rate by weekday, by hour
and by weekday × hour of publishing (workspace time zone), with bootstrap intervals over the pieces.

The publish time is the catalogue's (or the platform export's); without one, the piece's first view stands in
for it (said in the result's ``publish_time_source``).
"""
from __future__ import annotations

import datetime as dt
from typing import Literal

import numpy as np
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


def _local(published: list, tz: str) -> list[tuple[int, int]]:
    """(weekday, hour) of each publish time (naive UTC) in the time zone ``tz``."""
    if tz == "UTC":
        return [(p.weekday(), p.hour) for p in published]
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    local = [p.replace(tzinfo=dt.timezone.utc).astimezone(zone) for p in published]
    return [(p.weekday(), p.hour) for p in local]


def _key(weekday: int, hour: int, dimension: str):
    """A piece's group and the group's place in the table."""
    if dimension == "weekday":
        return WEEKDAYS[weekday], weekday
    if dimension == "hour":
        return hour, hour
    return f"{WEEKDAYS[weekday]} {hour:02d}:00", weekday * 24 + hour


def timing_table(published: list, readers, followers, dimension: str, level: float, tz: str, seed: int = 0):
    """The timing table of the pieces with a publish time (``published``: datetimes, naive UTC, None where
    unknown; ``readers``, ``followers``: their counts), as :class:`~yunying.analyses.table.Columns`. Groups are
    bootstrapped in the order of their keys (as ``DataFrame.groupby`` visits them), shown by weekday/hour."""
    from ..table import Columns

    rng = np.random.default_rng(seed)
    keep = [i for i, p in enumerate(published) if p is not None]
    readers = np.asarray(readers, dtype=float)[keep]
    followers = np.asarray(followers, dtype=float)[keep]
    keys = [_key(w, h, dimension) for w, h in _local([published[i] for i in keep], tz)]
    groups: dict = {}
    for pos, (g, order) in enumerate(keys):
        groups.setdefault(g, (order, []))[1].append(pos)
    rows = []
    for g in sorted(groups):
        order, idx = groups[g]
        n = readers[idx]
        k = np.minimum(followers[idx], n)
        lo, hi = _interval(n, level, rng)
        flo, fhi = _interval(n, level, rng, k)
        rows.append((order, {dimension: g, "pieces": len(idx), "readers_per_piece": float(n.mean()),
                             "readers_per_piece_lo": lo, "readers_per_piece_hi": hi,
                             "follow_rate": k.sum() / n.sum() if n.sum() else None, "follow_rate_lo": flo,
                             "follow_rate_hi": fhi}))
    rows = [r for _, r in sorted(rows, key=lambda x: x[0])]
    return Columns.from_rows(rows, list(rows[0]) if rows else [])


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
    """On the DuckDB engine over its whole events table without pandas (``pieces.piece_columns``: issue 13)."""
    from ..sql import plain_duckdb

    spec = spec or TimingSpec.build(**kwargs)
    if plain_duckdb(engine):
        from .pieces import _tables, piece_columns

        t = piece_columns(engine, spec, with_conversions=False)  # the table shows readers and follows only
        published, readers, followers = t["published_at"], t["readers"], t["followers"]
        has_cat = bool(_tables(engine).get("content"))
    else:
        preload("pandas")  # imported while the piece table's queries run
        df = piece_table(engine, spec, with_conversions=False)
        from ...storage import content as store

        published = [None if p is None or p != p else p.to_pydatetime() for p in df["published_at"].tolist()]
        readers, followers = df["readers"].to_numpy(float), df["followers"].to_numpy(float)
        has_cat = bool(len(store.catalogue(engine.workspace.con)))
    meta = {"pieces": sum(p is not None for p in published), "level": spec.level,
            "publish_time_source": "catalogue" if has_cat else "first view of each piece"}
    return TimingResult(spec, timing_table(published, readers, followers, spec.dimension, spec.level,
                                           engine.timezone), meta)
