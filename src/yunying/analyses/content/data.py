"""Per-piece counts from events, the catalogue and platform statistics (docs/content.md#definitions).

From events (any engine): ``readers`` (distinct users with ``view_content`` of the piece), ``views`` (events),
``sharers`` / ``shares``, ``followers``; conversions in the product: a signup or purchase carrying the piece's
``content_id`` belongs to it; one without a content id belongs to the piece the same user viewed last within
``window_hours`` before it (last-view attribution). ``converters`` are the piece's readers with a conversion
attributed to it; ``new_users`` the signups carrying its id (shared links, referrals).

Platform statistics win over events for the counts the platform reports (reads, shares, follows …), piece by
piece and count by count; events fill in what the export lacks, and conversions always come from events.
"""
from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is loaded where a frame is built (start-up: issue 13)
    import pandas as pd

from ...errors import SpecError
from ..base import local_date_filter
from ..preload import preload  # noqa: F401  (flags, funnel and timing import it from here)

# count -> the platform-statistics column that replaces it when present
PLATFORM_COUNTS = {"readers": "reads", "views": "views", "sharers": "shares", "followers": "follows",
                   "likes": "likes", "comments": "comments", "favourites": "favourites",
                   "delivered": "delivered", "impressions": "impressions"}
CATALOGUE_FIELDS = ("title", "platform", "account", "author", "topic", "tags", "format", "published_at")


# the longest last-view window (ten years): a longer one means nothing for attribution, and its microseconds would
# overflow the 64-bit integers the window is compared in
MAX_WINDOW_HOURS = 24 * 366 * 10


def _events(engine, spec):
    t = engine.events()
    return local_date_filter(engine, t, spec.date_from, spec.date_to)


def event_counts(engine, spec, fetched=None) -> pd.DataFrame:
    """Counts per ``content_id`` from the events of the range (``fetched``: the DuckDB query's Arrow table, already
    run by ``piece_table``)."""
    from ..sql import plain_duckdb

    if plain_duckdb(engine):
        from .data_sql import event_counts as sql_counts

        df = (sql_counts(engine, spec) if fetched is None else fetched).to_pandas()
    else:
        df = _ibis_counts(engine, spec)
    for c in ("readers", "views", "sharers", "shares", "followers"):
        df[c] = df[c].fillna(0).astype("int64")
    return df


def _ibis_counts(engine, spec) -> pd.DataFrame:
    t = _events(engine, spec)
    names = [spec.view_event, spec.share_event, spec.follow_event]
    t = t.filter(t.event.isin(names) & t.content_id.notnull())
    ev, uid = t.event, t.user_id
    agg = t.group_by("content_id").aggregate(
        readers=uid.nunique(where=ev == spec.view_event), views=(ev == spec.view_event).sum(),
        sharers=uid.nunique(where=ev == spec.share_event), shares=(ev == spec.share_event).sum(),
        followers=uid.nunique(where=ev == spec.follow_event), first_view=t.ts.min(where=ev == spec.view_event))
    return engine.execute(agg).to_pandas()


def conversions(engine, spec, cfg, fetched=None) -> pd.DataFrame:
    """Per piece: ``signups``, ``purchases``, ``revenue``, ``converters`` (readers with a conversion attributed to
    the piece) and ``new_users`` (signups carrying its id). ``fetched``: as in ``event_counts``."""
    import pandas as pd

    from ..sql import plain_duckdb

    cols = ["content_id", "signups", "purchases", "revenue", "converters", "new_users"]
    if plain_duckdb(engine):  # one query (tests/content/test_content_sql_oracle.py: the same as below)
        from .data_sql import conversions as sql_conversions

        return (sql_conversions(engine, spec, cfg) if fetched is None else fetched).to_pandas()
    c, v = _conversion_frames(engine, spec, cfg)
    if c.empty:
        return pd.DataFrame(columns=cols)
    direct = c[c.content_id.notnull()].copy()
    rest = c[c.content_id.isnull() & c.user_id.notnull()].drop(columns="content_id")
    if len(rest) and len(v):
        # views of several pieces at the same instant: the largest piece id is the last (not the row order)
        views = v.rename(columns={"content_id": "_piece"}).sort_values(["ts", "_piece"], kind="stable")
        rest = pd.merge_asof(rest.sort_values("ts", kind="stable"), views,
                             on="ts", by="user_id", direction="backward",
                             tolerance=pd.Timedelta(hours=spec.window_hours))
        rest = rest[rest._piece.notnull()].rename(columns={"_piece": "content_id"})
        c = pd.concat([direct, rest], ignore_index=True)
    else:
        c = direct
    if c.empty:
        return pd.DataFrame(columns=cols)
    pairs = v[["content_id", "user_id"]].drop_duplicates().assign(_reader=True)
    c = c.merge(pairs, on=["content_id", "user_id"], how="left")
    c["_reader"] = c["_reader"].fillna(False).astype(bool)
    c["_signup"] = (c.event == cfg.events.signup).astype("int64")
    c["_purchase"] = (c.event == cfg.events.purchase).astype("int64")
    c["_revenue"] = c["__rev"].where(c.event == cfg.events.purchase).fillna(0.0)
    g = c.groupby("content_id")
    out = pd.DataFrame({"signups": g._signup.sum(), "purchases": g._purchase.sum(), "revenue": g._revenue.sum(),
                        "converters": c[c._reader].groupby("content_id").user_id.nunique()}).fillna(
        {"converters": 0}).reset_index()
    nu = direct[direct.event == cfg.events.signup].groupby("content_id").user_id.nunique().rename("new_users")
    return out.merge(nu.reset_index(), on="content_id", how="left").fillna({"new_users": 0})


def _conversion_frames(engine, spec, cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The range's signups and purchases (user_id, event, ts, content_id, __rev) and the views of a piece by their
    users (user_id, ts, content_id): only those views matter (attribution, whether a converter read the piece).
    Plain SQL on the DuckDB engine over its whole events table, Ibis otherwise."""
    from ..sql import plain_duckdb

    if plain_duckdb(engine):
        from .data_sql import conversion_events, converters_views

        c = conversion_events(engine, spec, cfg).to_pandas()
        return c, (converters_views(engine, spec, cfg).to_pandas() if len(c) else None)
    t = _events(engine, spec)
    conv = [cfg.events.signup, cfg.events.purchase]
    rev = engine.prop(t, cfg.events.revenue).cast("float64")
    c = engine.execute(t.filter(t.event.isin(conv)).select(
        "user_id", "event", "ts", "content_id", __rev=rev)).to_pandas()
    if c.empty:
        return c, None
    buyers = t.filter(t.event.isin(conv) & t.user_id.notnull()).select("user_id").distinct()
    views = t.filter((t.event == spec.view_event) & t.content_id.notnull())
    v = engine.execute(views.filter(views.user_id.isin(buyers.user_id)).select("user_id", "ts", "content_id")
                       ).to_pandas()
    return c, v


def platform_totals(stats: pd.DataFrame, spec, catalogue: pd.DataFrame) -> pd.DataFrame:
    """Per piece, the platform's counts in the range: daily rows of the range, else the piece's totals row
    (used when no range is given, or when the piece was published within it)."""
    import pandas as pd

    if stats.empty:
        return pd.DataFrame(columns=["content_id", *PLATFORM_COUNTS.values(), "read_through"])
    s = stats.copy()
    daily = s[s.day.notnull()]
    if spec.date_from is not None:
        daily = daily[pd.to_datetime(daily.day).dt.date >= spec.date_from]
    if spec.date_to is not None:
        daily = daily[pd.to_datetime(daily.day).dt.date <= spec.date_to]
    totals = s[s.day.isnull()]
    if spec.date_from is not None or spec.date_to is not None:
        pub = pd.to_datetime(totals.published_at).dt.date
        ok = pub.notnull()
        if spec.date_from is not None:
            ok &= pub >= spec.date_from
        if spec.date_to is not None:
            ok &= pub <= spec.date_to
        totals = totals[ok]
    counts = list(PLATFORM_COUNTS.values())
    d = daily.groupby("content_id")[counts].sum(min_count=1).reset_index()
    d["read_through"] = np.nan
    tt = totals.groupby("content_id")[[*counts, "read_through"]].max().reset_index()
    both = pd.concat([tt, d[~d.content_id.isin(tt.content_id)]], ignore_index=True)
    return both


def conversion_pieces(engine, spec, cfg, fetched=None) -> pd.DataFrame:
    """The pieces ``conversions`` has rows for, without attributing anything: those a signup or purchase of the
    range carries (a piece credited by last view was viewed in the range, so it has event counts already)."""
    from ..sql import plain_duckdb

    if not plain_duckdb(engine):
        return conversions(engine, spec, cfg)[["content_id"]]
    from .data_sql import conversion_pieces as sql_pieces

    return (sql_pieces(engine, spec, cfg) if fetched is None else fetched).to_pandas()


def _fetched(engine, spec, cfg, with_conversions: bool):
    """The DuckDB queries of the piece table as Arrow tables, run before pandas is needed (``None`` on other
    engines)."""
    from ..sql import plain_duckdb

    if not plain_duckdb(engine):
        return None, None
    from . import data_sql

    conv = data_sql.conversions if with_conversions else data_sql.conversion_pieces
    return data_sql.event_counts(engine, spec), conv(engine, spec, cfg)


def piece_table(engine, spec, with_conversions: bool = True) -> pd.DataFrame:
    """One row per piece with events, catalogue and platform counts merged (``source`` says which were used).
    ``with_conversions=False``: the same pieces, without their conversion counts (``content timing`` shows none).
    ``content`` (per piece) and ``content flags`` on the DuckDB engine over its whole events table build the same
    table without pandas (``pieces.piece_columns``); this frame serves the reports, the other engines and filters."""
    cfg = engine.workspace.config
    ev_t, conv_t = _fetched(engine, spec, cfg, with_conversions)
    import pandas as pd  # after the queries: data.preload imports it meanwhile

    from ...storage import content as store

    ev = event_counts(engine, spec, ev_t)
    conv = (conversions if with_conversions else conversion_pieces)(engine, spec, cfg, conv_t)
    cat = store.catalogue(engine.workspace.con)
    plat = platform_totals(store.stats(engine.workspace.con), spec, cat)
    ids = pd.Index(ev.content_id).union(pd.Index(plat.content_id)).union(pd.Index(conv.content_id))
    if spec.date_from is None and spec.date_to is None:
        ids = ids.union(pd.Index(cat.content_id))
    df = pd.DataFrame({"content_id": ids.astype(str)})
    df = df.merge(ev, on="content_id", how="left").merge(conv, on="content_id", how="left")
    for c in ("readers", "views", "sharers", "shares", "followers", "signups", "purchases", "converters",
              "new_users"):
        df[c] = df[c].fillna(0).astype("int64") if c in df else 0
    df["revenue"] = df["revenue"].fillna(0.0) if "revenue" in df else 0.0
    df = df.merge(plat.add_prefix("p_").rename(columns={"p_content_id": "content_id"}), on="content_id", how="left")
    df["source"] = "events"
    used_platform = np.zeros(len(df), dtype=bool)
    for ours, theirs in PLATFORM_COUNTS.items():
        col = df.get("p_" + theirs)
        if col is None:
            continue
        has = col.notnull().to_numpy()
        if not has.any():
            continue
        df[ours] = df[ours].astype(float) if ours in df else np.nan
        df.loc[has, ours] = col[has].astype(float)
        used_platform |= has
    df.loc[used_platform, "source"] = np.where(df.loc[used_platform, "views"] > 0, "platform+events", "platform")
    df["read_through"] = df.get("p_read_through")
    df = df.drop(columns=[c for c in df.columns if c.startswith("p_")])
    cat_cols = cat[["content_id", *CATALOGUE_FIELDS]] if len(cat) else pd.DataFrame(columns=["content_id", *CATALOGUE_FIELDS])
    df = df.merge(cat_cols, on="content_id", how="left")
    df["published_at"] = pd.to_datetime(df["published_at"]).fillna(pd.to_datetime(df.get("first_view")))
    if df.empty:
        raise SpecError(key="content.data.no_content_no_event", view_event=spec.view_event)
    return df.sort_values("content_id").reset_index(drop=True)


def group_key(df: pd.DataFrame, by: str) -> pd.Series:
    """The baseline group of each piece (account, topic, platform …; ``(all)`` where unknown)."""
    import pandas as pd

    if by == "all" or by not in df or df[by].isna().all():
        return pd.Series("(all)", index=df.index)
    return df[by].fillna("(none)").astype(str)


def as_date(value) -> dt.date | None:
    return value if value is None or isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
