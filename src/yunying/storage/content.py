"""Content catalogue and platform statistics in a workspace (docs/content.md#imports).

``content``: one row per piece (``content_id``): title, platform, account, author, topic, tags, format,
publish time, length, other columns as JSON. ``content_stats``: one row per (platform, piece, day) — ``day`` is
NULL for an export of totals per piece — with the counts the platform reports.

Rules, as for events and spend: an import is one transaction (all files land, or none); re-importing changes
nothing; a row replaces the stored row with the same key (a catalogue row: its ``content_id``, its non-empty
cells overwriting the stored ones; a statistics row: its platform, piece and day).
"""
from __future__ import annotations

import time

import pandas as pd

from ..errors import InputFileError, Text
from ..model.content_files import CATALOGUE_FIELDS, STATS_COUNTS, read_catalogue, read_stats
from ..model.ingest import expand_paths

CONTENT_COLUMNS = (("content_id", "VARCHAR NOT NULL"), ("title", "VARCHAR"), ("platform", "VARCHAR"),
                   ("account", "VARCHAR"), ("author", "VARCHAR"), ("topic", "VARCHAR"), ("tags", "VARCHAR"),
                   ("format", "VARCHAR"), ("published_at", "TIMESTAMP"), ("length", "DOUBLE"),
                   ("properties", "VARCHAR"))
STATS_COLUMNS = (("platform", "VARCHAR NOT NULL"), ("content_id", "VARCHAR NOT NULL"), ("day", "DATE"),
                 ("title", "VARCHAR"), ("published_at", "TIMESTAMP"),
                 *((c, "DOUBLE") for c in STATS_COUNTS), ("read_through", "DOUBLE"), ("properties", "VARCHAR"))
DDL = (f"CREATE TABLE IF NOT EXISTS content ({', '.join(f'{n} {t}' for n, t in CONTENT_COLUMNS)})",
       f"CREATE TABLE IF NOT EXISTS content_stats ({', '.join(f'{n} {t}' for n, t in STATS_COLUMNS)})")


def ensure(con) -> None:
    for ddl in DDL:
        con.execute(ddl)


def _exists(con, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ? "
                            "AND table_schema = 'main'", [table]).fetchall()[0][0])


def catalogue(con) -> pd.DataFrame:
    """The stored catalogue (empty, with its columns, when nothing was imported)."""
    if not _exists(con, "content"):
        return pd.DataFrame(columns=[c for c, _ in CONTENT_COLUMNS])
    return con.execute("SELECT * FROM content ORDER BY content_id").fetchdf()


def stats(con) -> pd.DataFrame:
    if not _exists(con, "content_stats"):
        return pd.DataFrame(columns=[c for c, _ in STATS_COLUMNS])
    return con.execute("SELECT * FROM content_stats ORDER BY platform, content_id, day").fetchdf()


def _to_utc(records: list[dict], tz: str) -> None:
    """Publish times without an offset are in the workspace's import time zone; stored as naive UTC, like events."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    for r in records:
        v = r.get("published_at")
        if v is not None:
            r["published_at"] = (v if v.tzinfo else v.replace(tzinfo=zone)).astimezone(dt.timezone.utc).replace(
                tzinfo=None)


def _frame(records: list[dict], columns) -> pd.DataFrame:
    df = pd.DataFrame.from_records(records)
    for c, _ in columns:
        if c not in df.columns:
            df[c] = None
    return df[[c for c, _ in columns]].astype(object).where(pd.notna(df[[c for c, _ in columns]]), None)


def _upsert(ws, kind: str, table: str, columns, df: pd.DataFrame, files: list[str], rows_read: int, t0: float,
            same: str, keep_stored: bool = False):
    """Stage ``df`` and replace the stored rows with the same key (``same``: SQL over stored ``o`` and new ``n``)
    in one transaction; ``keep_stored``: a new row's empty cells keep the stored values (key: the first column)."""
    from .workspace import ImportReport

    cols = [c for c, _ in columns]
    with ws._transaction("_yy_upsert") as con:
        ensure(con)
        con.register("_yy_upsert_df", df)
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE _yy_upsert AS SELECT "
                        + ", ".join(f"CAST({c} AS {t.split()[0]}) AS {c}" for c, t in columns) + " FROM _yy_upsert_df")
        finally:
            con.unregister("_yy_upsert_df")
        if keep_stored:
            merged = ", ".join([f"n.{cols[0]}"] + [f"coalesce(n.{c}, o.{c}) AS {c}" for c in cols[1:]])
            con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_upsert AS SELECT {merged} FROM _yy_upsert n "
                        f"LEFT JOIN {table} o ON {same}")
        changed = con.execute(
            f"SELECT count(*) FROM _yy_upsert n WHERE NOT EXISTS (SELECT 1 FROM {table} o WHERE {same} AND "
            + " AND ".join(f"o.{c} IS NOT DISTINCT FROM n.{c}" for c in cols) + ")").fetchall()[0][0]
        con.execute(f"DELETE FROM {table} o WHERE EXISTS (SELECT 1 FROM _yy_upsert n WHERE {same})")
        con.execute(f"INSERT INTO {table} SELECT {', '.join(cols)} FROM _yy_upsert")
        ws._log_import(kind, ", ".join(files), rows_read, changed)
    rep = ImportReport(kind, files, rows_read, changed, rows_read - changed)
    rep.seconds = time.perf_counter() - t0
    return rep


def import_catalogue(ws, files, sheet: str | None = None):
    """Upsert catalogue files into ``content`` in one transaction (a stored piece keeps the values a new row
    leaves empty)."""
    ws._check_writable()
    t0 = time.perf_counter()
    files = expand_paths([files] if isinstance(files, str) else list(files))
    records, seen = [], {}
    for f in files:
        for r in read_catalogue(f, sheet):
            body = {k: v for k, v in r.items() if k != "_row"}
            if r["content_id"] in seen and seen[r["content_id"]] != body:
                raise InputFileError(key="content.row_content_id_appears", f=f, _row=r['_row'], content_id=r['content_id'])
            seen[r["content_id"]] = body
            records.append(r)
    bodies = list(seen.values())
    _to_utc(bodies, ws.config.import_timezone)
    df = _frame(bodies, CONTENT_COLUMNS)
    return _upsert(ws, "content", "content", CONTENT_COLUMNS, df, files, len(records), t0,
                   "o.content_id = n.content_id", keep_stored=True)


def import_stats(ws, files, platform: str | None = None, sheet: str | None = None):
    """Platform statistics exports into ``content_stats`` in one transaction; pieces without an id column are
    matched to the catalogue by title (and platform), else keyed by their title."""
    ws._check_writable()
    t0 = time.perf_counter()
    files = expand_paths([files] if isinstance(files, str) else list(files))
    records = []
    for f in files:
        recs, _ = read_stats(f, platform, sheet)
        for r in recs:
            r["day"] = r.pop("date", None)
            r["_file"] = f
        records.extend(recs)
    _to_utc(records, ws.config.import_timezone)
    titles = {}
    for row in catalogue(ws.con).itertuples():
        if row.title:
            titles.setdefault((row.platform, row.title), row.content_id)
            titles.setdefault((None, row.title), row.content_id)
    keys = {}
    for r in records:
        if not r.get("content_id"):
            r["content_id"] = titles.get((r["platform"], r["title"])) or titles.get((None, r["title"])) or r["title"]
        key = (r["platform"], r["content_id"], r["day"])
        body = {k: v for k, v in r.items() if not k.startswith("_")}
        if key in keys and keys[key] != body:
            raise InputFileError(key="content.row_piece_appears_twice", _file=r['_file'], _row=r['_row'], content_id=r['content_id'], r=Text('content.on_day', day=r['day']) if r['day'] else '', platform=r['platform'])
        keys[key] = body
    return _upsert(ws, "content_stats", "content_stats", STATS_COLUMNS, _frame(list(keys.values()), STATS_COLUMNS),
                   files, len(records), t0,
                   "o.platform = n.platform AND o.content_id = n.content_id AND o.day IS NOT DISTINCT FROM n.day")


__all__ = ["ensure", "catalogue", "stats", "import_catalogue", "import_stats", "CATALOGUE_FIELDS"]
