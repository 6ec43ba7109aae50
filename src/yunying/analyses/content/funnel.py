"""Per-piece funnel with empirical-Bayes rates, and the same counts by topic, account, platform or author
(docs/content.md#funnel).

Rates per reader: ``follow_rate`` = followers / readers, ``share_rate`` = sharers / readers,
``conversion_rate`` = converters / readers. Each is shrunk towards its baseline group's prior (a beta fitted on
the group's pieces, ``stats/shrinkage.py``) and given an equal-tailed credible interval (``level``), so a piece
with 30 reads is not ranked above one with 30,000. Grouped rows (``by`` topic …) pool their pieces' counts; their
interval is a percentile bootstrap over the group's pieces (so it widens with piece-to-piece variation).
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import Field

if TYPE_CHECKING:  # pandas is loaded where a frame is built (start-up: issue 13)
    import pandas as pd

from ...stats.shrinkage import fit_beta_prior, posterior
from ..base import Result, Spec
from .data import MAX_WINDOW_HOURS, group_key, piece_table, preload

RATES = {"follow_rate": "followers", "share_rate": "sharers", "conversion_rate": "converters"}
BOOTSTRAP = 400
# what a piece table and its fits import, loaded while the piece table's queries run (data.preload)
# the priors' fit and intervals: SciPy's compiled L-BFGS-B and special functions (stats/lbfgsb.py, stats/ufuncs.py),
# not the scipy.optimize and scipy.special packages
SCIPY_MODULES = ("yunying.stats.ufuncs",)
FIT_MODULES = ("pandas", *SCIPY_MODULES)


class ContentSpec(Spec):
    """Which pieces, how rates are shrunk, how conversions are attributed."""

    kind = "content"
    by: Literal["piece", "topic", "tag", "account", "platform", "author", "format", "topic_platform"] = "piece"
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    baseline: Literal["account", "topic", "platform", "author", "all"] = "account"
    level: float = 0.9
    method: Literal["mle", "mom"] = "mle"
    window_hours: float = Field(24.0, ge=0, le=MAX_WINDOW_HOURS)
    view_event: str = "view_content"
    share_event: str = "share"
    follow_event: str = "follow"


def group_positions(keys) -> dict:
    """The positions of each key, keys in sorted order (``DataFrame.groupby(keys).indices`` without pandas)."""
    arr = np.asarray(keys, dtype=object)
    return {g: np.flatnonzero(arr == g) for g in sorted(set(arr.tolist()))}


def group_values(t: dict, by: str) -> list[str]:
    """``data.group_key`` on a column table (``pieces.piece_columns``): ``(all)`` when ``by`` is "all" or unknown
    for every piece, else the value, ``(none)`` where missing."""
    vals = t.get(by) if by != "all" else None
    if vals is None or all(v is None for v in vals):
        return ["(all)"] * len(t["content_id"])
    return ["(none)" if v is None else str(v) for v in vals]


def _filled(a) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    return np.where(np.isnan(a), 0.0, a)


def shrink_arrays(readers, counts: dict, keys, spec) -> tuple[dict, dict]:
    """Raw and shrunk rates with intervals of each piece, by baseline group (``keys``): ``{column: array}`` in
    the frame's order (rate, ``_shrunk``, ``_lo``, ``_hi``, ``_baseline`` for each of ``RATES``) and the fitted
    priors ``{group: {rate: prior dict}}``. ``counts``: ``{count column: values}``; missing values count 0."""
    priors: dict = {}
    n_all = _filled(readers)
    groups = group_positions(keys)
    out = {}
    for rate, count in RATES.items():
        k_all = np.minimum(_filled(counts[count]), n_all)
        cols = {col: np.full(len(n_all), np.nan) for col in ("raw", "mean", "lo", "hi", "_baseline")}
        for g, idx in groups.items():
            k, n = k_all[idx], n_all[idx]
            if not (n > 0).any():
                continue
            prior = fit_beta_prior(k, n, spec.method)
            post = posterior(k, n, prior, spec.level)
            for col in ("raw", "mean", "lo", "hi"):
                cols[col][idx] = post[col]
            cols["_baseline"][idx] = prior.mean
            priors.setdefault(g, {})[rate] = prior.to_dict()
        for col, name in (("raw", ""), ("mean", "_shrunk"), ("lo", "_lo"), ("hi", "_hi"), ("_baseline", "_baseline")):
            out[rate + name] = cols[col]
    return out, priors


def shrink(df: pd.DataFrame, spec) -> tuple[pd.DataFrame, dict]:
    """Add raw and shrunk rates with intervals to each piece, by baseline group. Returns the frame and the
    fitted priors ``{group: {rate: prior dict}}``."""
    df = df.copy()
    df["baseline_group"] = group_key(df, spec.baseline)
    cols, priors = shrink_arrays(df["readers"].to_numpy(float), {c: df[c].to_numpy(float) for c in RATES.values()},
                                 df["baseline_group"].tolist(), spec)
    for name, values in cols.items():
        df[name] = values
    return df, priors


def shrink_columns(t: dict, spec) -> dict:
    """``shrink`` on a column table (``pieces.piece_columns``), in place; returns the priors."""
    t["baseline_group"] = group_values(t, spec.baseline)
    cols, priors = shrink_arrays(t["readers"], {c: t[c] for c in RATES.values()}, t["baseline_group"], spec)
    t.update(cols)
    return priors


def _bootstrap(k: np.ndarray, n: np.ndarray, level: float, rng) -> tuple[float, float]:
    if n.sum() <= 0 or len(n) < 2:
        return (np.nan, np.nan)
    draws = rng.integers(0, len(n), (BOOTSTRAP, len(n)))
    ks, ns = k[draws].sum(axis=1), n[draws].sum(axis=1)
    r = np.where(ns > 0, ks / np.where(ns > 0, ns, 1), np.nan)
    tail = (1 - level) / 2 * 100
    return tuple(np.nanpercentile(r, [tail, 100 - tail]))


def grouped(df: pd.DataFrame, by: str, level: float, seed: int = 0) -> pd.DataFrame:
    """Counts and pooled rates per value of ``by``, with bootstrap intervals over pieces."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    if by == "tag":  # a piece counts under each of its tags (split on , ; 、 ，)
        tags = df["tags"].fillna("").astype(str).str.split(r"\s*[,;、，]\s*") if "tags" in df else None
        df = df.assign(tag=tags).explode("tag").reset_index(drop=True) if tags is not None else df
        df = df[df["tag"].fillna("") != ""] if "tag" in df else df
    if by == "topic_platform":  # the same topic on each platform
        df = df.assign(topic_platform=group_key(df, "topic") + " · " + group_key(df, "platform"))
    key = group_key(df, by)
    rows = []
    for g, part in df.groupby(key):
        n = part["readers"].fillna(0).to_numpy(float)
        row = {by: g, "pieces": len(part), "readers": int(n.sum()), "views": int(part["views"].fillna(0).sum()),
               "followers": int(part["followers"].fillna(0).sum()), "sharers": int(part["sharers"].fillna(0).sum()),
               "converters": int(part["converters"].sum()), "signups": int(part["signups"].sum()),
               "purchases": int(part["purchases"].sum()), "revenue": float(part["revenue"].sum())}
        for rate, count in RATES.items():
            k = np.minimum(part[count].fillna(0).to_numpy(float), n)
            row[rate] = k.sum() / n.sum() if n.sum() > 0 else None
            row[rate + "_lo"], row[rate + "_hi"] = _bootstrap(k, n, level, rng)
        rows.append(row)
    return pd.DataFrame(rows).sort_values("readers", ascending=False).reset_index(drop=True)


PIECE_COLUMNS = ["content_id", "title", "platform", "account", "author", "topic", "format", "published_at", "source",
                 "delivered", "impressions", "readers", "views", "read_through", "sharers", "shares", "followers",
                 "likes", "comments", "favourites", "converters", "signups", "purchases", "revenue", "new_users",
                 "baseline_group"]
PIECE_OUTPUT = [*PIECE_COLUMNS, *(c for r in RATES for c in (r, r + "_shrunk", r + "_lo", r + "_hi", r + "_baseline"))]


class ContentResult(Result):
    kind = "content"

    def chart(self):
        import plotly.express as px

        col = "follow_rate_shrunk" if "follow_rate_shrunk" in self.frame else "follow_rate"
        x = "content_id" if "content_id" in self.frame else self.frame.columns[0]
        # the rows come most-read first (readers, descending): the chart shows the first 30
        title = "Follow rate of the 30 most-read pieces" if x == "content_id" else f"Follow rate by {x}"
        return px.bar(self.frame.head(30), x=x, y=col, title=title)

    def to_csv(self) -> str:
        self.frame  # written by pandas (its formats of times), whichever way the table was built
        return super().to_csv()


def content(engine, spec: ContentSpec | None = None, **kwargs) -> ContentResult:
    """The content funnel: per piece (with shrunk rates) or grouped. Per piece on the DuckDB engine over its whole
    events table, without pandas (``pieces.piece_columns``: issue 13)."""
    from ..sql import plain_duckdb

    spec = spec or ContentSpec.build(**kwargs)
    if spec.by == "piece" and plain_duckdb(engine):
        from .pieces import piece_columns

        preload(*SCIPY_MODULES)
        return content_from_columns(piece_columns(engine, spec), spec)
    preload(*FIT_MODULES)
    return content_from(piece_table(engine, spec), spec)


def _meta(n: int, spec, priors: dict) -> dict:
    return {"pieces": n, "baseline": spec.baseline, "level": spec.level,
            "attribution": f"explicit content_id, else last view within {spec.window_hours:g} h", "priors": priors}


def content_from(base: pd.DataFrame, spec: ContentSpec) -> ContentResult:
    """The funnel from a ``piece_table`` (so a report computes the pieces once)."""
    df, priors = shrink(base, spec)
    meta = _meta(int(len(df)), spec, priors)
    if spec.by != "piece":
        return ContentResult(spec, grouped(df, spec.by, spec.level), meta)
    cols = [c for c in PIECE_OUTPUT if c in df]
    out = df[cols].sort_values(["readers", "content_id"], ascending=[False, True]).reset_index(drop=True)
    return ContentResult(spec, out, meta)


def content_from_columns(t: dict, spec: ContentSpec) -> ContentResult:
    """``content_from`` (per piece) on a column table (``pieces.piece_columns``, rows in ``content_id`` order):
    the same rows, a :class:`~yunying.analyses.table.Columns` with the frame's dtypes."""
    from ..table import Columns

    priors = shrink_columns(t, spec)
    n = len(t["content_id"])
    order = np.lexsort((np.arange(n), -np.asarray(t["readers"])))  # readers down, then content_id
    data, dtypes = {}, {"published_at": "datetime64[ns]"}
    for c in (c for c in PIECE_OUTPUT if c in t):
        v = t[c]
        if isinstance(v, np.ndarray):
            if v.dtype.kind == "f":
                dtypes[c] = "float64"
            data[c] = v[order].tolist()
        else:
            data[c] = [v[i] for i in order]
    return ContentResult(spec, Columns(data, dtypes=dtypes), _meta(n, spec, priors))
