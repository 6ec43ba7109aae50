"""Event keys and the insert of staged events (de-duplication), over a connection inside the caller's
transaction.

An event's key is its ``event_uuid`` when it has one, else its content (user ids, event, time, every
property) plus its occurrence number among the identical rows of its file (capture: request). A row
occurring once keeps its content key (the key earlier versions stored), so old workspaces stay idempotent;
the k-th copy (k > 1) gets the content key with its number. See docs/data-model.md ("Idempotent").
"""
from __future__ import annotations

import duckdb

from ..model.schema import EVENT_COLUMNS, EVENTS_DDL

_CONTENT = " || chr(31) || ".join(
    f"coalesce(CAST({c.name} AS VARCHAR), '')" for c in EVENT_COLUMNS if c.name != "event_uuid")
KEY_SQL = f"md5_number(CASE WHEN event_uuid IS NOT NULL THEN 'u' || event_uuid ELSE 'h' || {_CONTENT} END)"
_COLS = ", ".join(c.name for c in EVENT_COLUMNS)
# user_id as sent wins (its final user when it is itself an alias); else the user the anonymous id was
# merged into; else the anonymous id.
_SELECT = ", ".join(
    "coalesce(a.user_id, k.user_id, i.user_id, k.distinct_id) AS user_id" if c.name == "user_id"
    else "coalesce(k.distinct_id, k.user_id) AS distinct_id" if c.name == "distinct_id"
    else f"k.{c.name}"
    for c in EVENT_COLUMNS
)


def key_staged(con: duckdb.DuckDBPyConnection, staged: str, stored: int) -> tuple[str, int, int]:
    """Key the rows of ``staged`` (which has a ``__file`` part number). Returns the SQL source of the keyed
    rows, how many identical rows it keeps that are not stored yet, and how many rows repeat a key of the
    batch (then the insert must de-duplicate). ``stored``: events already in the table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT rowid AS r, __file AS part, "
                f"event_uuid IS NULL AS by_content, {KEY_SQL} AS event_key FROM {staged}")
    identical = con.execute("SELECT count(*) - count(DISTINCT (part, event_key)) FROM _yy_keys "
                            "WHERE by_content").fetchall()[0][0]
    source = f"(SELECT *, {KEY_SQL} AS event_key FROM {staged})"
    if identical:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT r, CASE WHEN occ = 1 THEN event_key "
            "ELSE md5_number(CAST(event_key AS VARCHAR) || '#' || occ) END AS event_key, occ > 1 AS extra "
            "FROM (SELECT r, event_key, CASE WHEN by_content THEN row_number() OVER "
            "(PARTITION BY part, event_key ORDER BY r) ELSE 1 END AS occ FROM _yy_keys)")
        new = " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_key = x.event_key)" if stored else ""
        identical = con.execute("SELECT count(DISTINCT event_key) FROM _yy_keys x WHERE extra" + new
                                ).fetchall()[0][0]
        source = f"(SELECT s.*, x.event_key FROM {staged} s JOIN _yy_keys x ON s.rowid = x.r)"
    repeats = con.execute("SELECT count(*) - count(DISTINCT event_key) FROM _yy_keys").fetchall()[0][0]
    return source, identical, repeats


def insert_keyed(con: duckdb.DuckDBPyConnection, source: str, *, dedup: bool, check_stored: bool,
                 ordered: bool) -> None:
    """Insert the keyed rows not stored yet (one per key when ``dedup``), users resolved through identities;
    in (user_id, ts) order when ``ordered``."""
    not_seen = "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_key = k.event_key) " if check_stored else ""
    # The de-duplicating window is costly on wide rows: only pay for it when the batch repeats itself.
    qualify = "QUALIFY row_number() OVER (PARTITION BY k.event_key ORDER BY k.ts) = 1 " if dedup else ""
    try:
        con.execute(
            f"INSERT INTO events ({_COLS}, event_key) SELECT {_SELECT}, k.event_key FROM {source} k "
            "LEFT JOIN identities i ON i.distinct_id = k.distinct_id "
            "LEFT JOIN identities a ON a.distinct_id = k.user_id "
            f"{not_seen}{qualify}"
            + ("ORDER BY 1, k.ts" if ordered else "")
        )
    finally:
        con.execute("DROP TABLE IF EXISTS _yy_keys")


def key_one_part(con: duckdb.DuckDBPyConnection, staged: str) -> tuple[str, int]:
    """Keys for staged rows of ONE part (one file) going into an empty table, without hashing their content.

    Of one part, identical rows without an ``event_uuid`` are separate events (each gets its occurrence number,
    :func:`key_staged`), so no two of them can share a key: any distinct number will do, and the row number is
    one. Rows with an ``event_uuid`` keep the key a full import gives them. The staged table may hold a subset of
    the events columns (``stage_file(columns=…)``); the others are NULL in the source. Returns the SQL source
    and how many rows repeat a key (then the insert de-duplicates)."""
    have = {r[0] for r in con.execute(f"DESCRIBE {staged}").fetchall()}
    nulls = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in EVENT_COLUMNS if c.name not in have)
    if "event_uuid" in have:
        key = "CASE WHEN event_uuid IS NOT NULL THEN md5_number('u' || event_uuid) ELSE CAST(rowid AS UHUGEINT) END"
        repeats = con.execute(f"SELECT count(event_uuid) - count(DISTINCT event_uuid) FROM {staged}").fetchall()[0][0]
    else:
        key, repeats = "CAST(rowid AS UHUGEINT)", 0
    return f"(SELECT *{', ' + nulls if nulls else ''}, {key} AS event_key FROM {staged})", repeats


def rewrite_sorted(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite ``events`` in ``(user_id, ts)`` order, keeping its definition (constraints included)."""
    con.execute("ALTER TABLE events RENAME TO _yy_unsorted")
    con.execute(EVENTS_DDL)
    con.execute(f"INSERT INTO events ({_COLS}, event_key) SELECT {_COLS}, event_key FROM _yy_unsorted "
                "ORDER BY user_id, ts")
    con.execute("DROP TABLE _yy_unsorted")
