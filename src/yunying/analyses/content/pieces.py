"""The piece table of ``data.piece_table`` as numpy columns, on the DuckDB engine over its whole events table:
DuckDB queries read as Arrow buffers (analyses/arrow_numpy.py), no pandas (a third of a second at a CLI start:
issue 13). The same pieces, counts, sources and publish times as the pandas table, to the bit
(tests/content/test_pieces_oracle.py); other engines and filtered events keep ``data.piece_table``.

A table here is ``{column: values}``: numbers as numpy arrays (``int64`` or ``float64``, as the pandas table's
dtypes), text and times as Python lists (``None`` where missing), one row per piece in ``content_id`` order.
"""
from __future__ import annotations

import numpy as np

from ...errors import SpecError
from ..arrow_numpy import floats
from ..sql import Query
from .data import CATALOGUE_FIELDS, PLATFORM_COUNTS

EVENT_COUNTS = ("readers", "views", "sharers", "shares", "followers")
CONVERSION_COUNTS = ("signups", "purchases", "converters", "new_users")


def _tables(engine) -> dict[str, int]:
    """The content tables the workspace has (``content``, ``content_stats``), with their row counts: one probe,
    so that a workspace without a catalogue or an export runs no query for it."""
    q = Query(engine)
    names = [r[0] for r in q.run("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
                                 "AND table_name IN ('content', 'content_stats')")]
    if not names:
        return {}
    counts = Query(engine).run("SELECT " + ", ".join(f"(SELECT count(*) FROM {n})" for n in names))[0]
    return dict(zip(names, counts))


def platform_arrow(engine, spec, tables: dict):
    """``data.platform_totals`` in SQL (None when no export was imported; ``tables``: ``_tables(engine)``): per
    piece, the sums of its daily rows in the range, unless it has a totals row (kept when no range is given or it
    was published within the range: the largest value of each count over its platforms). A count no row has stays
    missing (as pandas' ``sum(min_count=1)``); sums are exact for whole counts, so DuckDB's ``fsum`` and pandas'
    compensated sum agree."""
    if not tables.get("content_stats"):
        return None
    q, counts = Query(engine), list(PLATFORM_COUNTS.values())
    daily = "SELECT content_id, " + ", ".join(f"fsum({c}) AS {c}" for c in counts) + ", NULL::DOUBLE AS read_through"
    daily += " FROM content_stats WHERE day IS NOT NULL"
    bounds = [(b, op) for b, op in ((spec.date_from, ">="), (spec.date_to, "<=")) if b is not None]
    daily += "".join(f" AND day {op} {q.value(b)}::DATE" for b, op in bounds)  # parameters in the text's order
    totals = "SELECT content_id, " + ", ".join(f"max({c}) AS {c}" for c in [*counts, "read_through"])
    totals += " FROM content_stats WHERE day IS NULL"
    totals += "".join(f" AND CAST(published_at AS DATE) {op} {q.value(b)}::DATE" for b, op in bounds)
    return q.arrow(f"WITH d AS ({daily} GROUP BY content_id), t AS ({totals} GROUP BY content_id) "
                   f"SELECT * FROM t UNION ALL SELECT * FROM d WHERE content_id NOT IN (SELECT content_id FROM t)")


def catalogue_arrow(engine, tables: dict):
    if not tables.get("content"):
        return None
    return Query(engine).arrow(f"SELECT content_id, {', '.join(CATALOGUE_FIELDS)} FROM content")


def _numbers(table, col: str, read) -> np.ndarray:
    """A number column of an Arrow table by ``arrow_numpy``'s ``read`` (an empty table has no chunk to read, and
    pyarrow would import pandas to combine none)."""
    return read(table.column(col)) if table.num_rows else np.zeros(0)


def _place(ids: list, pos: dict, n: int, values: np.ndarray, fill, dtype) -> np.ndarray:
    out = np.full(n, fill, dtype=dtype)
    if len(ids):
        out[np.fromiter((pos[i] for i in ids), dtype=np.int64, count=len(ids))] = values
    return out


def _objects(ids: list, pos: dict, n: int, values: list) -> list:
    """``values`` of ``ids`` placed by ``pos`` (an id without a row, a catalogue piece outside the range, is left
    out), None elsewhere."""
    out = [None] * n
    for i, v in zip(ids, values):
        if i in pos:
            out[pos[i]] = v
    return out


def _counts(engine, spec, with_conversions: bool):
    """The per-piece counts (an Arrow table) and the ids of the pieces conversions carry that it lacks: one query
    with the conversions; without them (``content timing``) the event counts and the conversions' piece ids, as
    ``data.piece_table(…, with_conversions=False)`` (those pieces are in the table, their conversions 0)."""
    from . import data_sql

    cfg = engine.workspace.config
    if with_conversions:
        return data_sql.piece_counts(engine, spec, cfg), []
    return data_sql.event_counts(engine, spec), data_sql.conversion_pieces(engine, spec, cfg).column(
        "content_id").to_pylist()


def piece_columns(engine, spec, with_conversions: bool = True) -> dict:
    """``data.piece_table(engine, spec, with_conversions)`` as columns (see the module's doc)."""
    counts, conv_ids = _counts(engine, spec, with_conversions)
    tables = _tables(engine)
    plat, cat = platform_arrow(engine, spec, tables), catalogue_arrow(engine, tables)
    count_ids = counts.column("content_id").to_pylist()
    plat_ids = plat.column("content_id").to_pylist() if plat is not None else []
    cat_ids = cat.column("content_id").to_pylist() if cat is not None else []
    every = {*count_ids, *conv_ids, *plat_ids}
    if spec.date_from is None and spec.date_to is None:
        every.update(cat_ids)
    ids = sorted(every)
    if not ids:
        raise SpecError(key="content.data.no_content_no_event", view_event=spec.view_event)
    n, pos = len(ids), {c: i for i, c in enumerate(ids)}
    t: dict = {"content_id": ids}
    for c in (*EVENT_COUNTS, *CONVERSION_COUNTS, "revenue"):  # missing (a piece the other half has): 0
        v = _place(count_ids, pos, n, _numbers(counts, c, floats), 0.0, np.float64) if c in counts.column_names \
            else np.zeros(n)
        v[np.isnan(v)] = 0.0
        t[c] = v if c == "revenue" else v.astype(np.int64)
    first_view = _objects(count_ids, pos, n, counts.column("first_view").to_pylist())
    _platform(t, plat, plat_ids, pos, n)
    cat_cols = {f: _objects(cat_ids, pos, n, cat.column(f).to_pylist()) if cat is not None else [None] * n
                for f in CATALOGUE_FIELDS}
    t.update(cat_cols)
    t["published_at"] = [p if p is not None else f for p, f in zip(cat_cols["published_at"], first_view)]
    return t


def _platform(t: dict, plat, plat_ids: list, pos: dict, n: int) -> None:
    """Platform counts over event counts, piece by piece and count by count; ``source`` and ``read_through``."""
    used = np.zeros(n, dtype=bool)
    for ours, theirs in PLATFORM_COUNTS.items():
        col = _place(plat_ids, pos, n, _numbers(plat, theirs, floats), np.nan, np.float64) if plat is not None \
            else None
        has = ~np.isnan(col) if col is not None else np.zeros(n, dtype=bool)
        if not has.any():
            continue
        t[ours] = t[ours].astype(np.float64) if ours in t else np.full(n, np.nan)
        t[ours][has] = col[has]
        used |= has
    views = t["views"]
    t["source"] = ["events" if not u else ("platform+events" if v > 0 else "platform") for u, v in zip(used, views)]
    t["read_through"] = (_place(plat_ids, pos, n, _numbers(plat, "read_through", floats), np.nan, np.float64)
                         if plat is not None else np.full(n, np.nan))
