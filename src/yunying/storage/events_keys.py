"""Event keys and the insert of staged events (de-duplication), over a connection inside the caller's
transaction.

An event with an ``event_uuid`` is the same event as any other with that ``event_uuid``: it de-duplicates on
the id itself (compared in full, never through a hash), and its ``event_key`` is 0 (earlier versions stored
``md5('u' || event_uuid)`` there; no rule reads it). An event without one is keyed by its content (user ids,
event, time, every property) plus its occurrence number among the identical rows of its file (capture:
request): a row occurring once keeps its content key (the key earlier versions stored), so old workspaces stay
idempotent; the k-th copy (k > 1) gets the content key with its number. Two rows are the same event when
``(event_uuid, event_key)`` are equal (:data:`IDENTITY`). See docs/data-model.md ("Idempotent").

:data:`PREFILTER` is a 64-bit hash of that identity, used only to find candidate repeats cheaply; every
candidate is then compared in full, so a hash collision can never merge two distinct events.
"""
from __future__ import annotations

import duckdb

from ..model.schema import EVENT_COLUMNS
from .connection import events_ddl_for

_CONTENT = " || chr(31) || ".join(
    f"coalesce(CAST({c.name} AS VARCHAR), '')" for c in EVENT_COLUMNS if c.name != "event_uuid")
KEY_SQL = f"CASE WHEN event_uuid IS NULL THEN md5_number('h' || {_CONTENT}) ELSE CAST(0 AS UHUGEINT) END"
# what makes two stored rows the same event (a struct: DISTINCT and window partitions treat NULL as a value)
IDENTITY = "(event_uuid, event_key)"
# a 64-bit hash of IDENTITY (candidates only: every equal hash is compared in full)
PREFILTER = "CASE WHEN event_uuid IS NULL THEN CAST(event_key >> 64 AS UBIGINT) ELSE hash(event_uuid) END"
_COLS = ", ".join(c.name for c in EVENT_COLUMNS)
# user_id as sent wins (its final user when it is itself an alias); else the user the anonymous id was
# merged into; else the anonymous id.
_SELECT = ", ".join(
    "coalesce(a.user_id, k.user_id, i.user_id, k.distinct_id) AS user_id" if c.name == "user_id"
    else "coalesce(k.distinct_id, k.user_id) AS distinct_id" if c.name == "distinct_id"
    else f"k.{c.name}"
    for c in EVENT_COLUMNS
)


def not_stored(alias: str, stored: str = "true") -> str:
    """FROM-clause joins keeping only the rows of ``alias`` (with ``event_uuid`` and ``event_key``) that are not
    the same event as a stored event meeting the SQL condition ``stored``: neither its id nor (no id) its key
    is stored for an event without id. Two anti joins on plain columns, which DuckDB builds on the smaller
    side (a capture batch against 100M stored events reads the stored keys, never hashes them all)."""
    return (f"ANTI JOIN (SELECT event_uuid FROM events WHERE ({stored}) AND event_uuid IS NOT NULL) _yy_su "
            f"ON _yy_su.event_uuid = {alias}.event_uuid "
            f"ANTI JOIN (SELECT event_key FROM events WHERE ({stored}) AND event_uuid IS NULL) _yy_sk "
            f"ON _yy_sk.event_key = CASE WHEN {alias}.event_uuid IS NULL THEN {alias}.event_key END")


def key_staged(con: duckdb.DuckDBPyConnection, staged: str, stored: int) -> tuple[str, int, int]:
    """Key the rows of ``staged`` (which has a ``__file`` part number). Returns the SQL source of the keyed
    rows, how many identical rows it keeps that are not stored yet, and how many rows repeat a key of the
    batch (then the insert must de-duplicate). ``stored``: events already in the table."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT rowid AS r, __file AS part, event_uuid, "
                f"event_uuid IS NULL AS by_content, {KEY_SQL} AS event_key FROM {staged}")
    identical = con.execute("SELECT count(*) - count(DISTINCT (part, event_key)) FROM _yy_keys "
                            "WHERE by_content").fetchall()[0][0]
    source = f"(SELECT *, {KEY_SQL} AS event_key FROM {staged})"
    if identical:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT r, event_uuid, CASE WHEN occ = 1 THEN event_key "
            "ELSE md5_number(CAST(event_key AS VARCHAR) || '#' || occ) END AS event_key, occ > 1 AS extra "
            "FROM (SELECT r, event_uuid, event_key, CASE WHEN by_content THEN row_number() OVER "
            "(PARTITION BY part, event_key ORDER BY r) ELSE 1 END AS occ FROM _yy_keys)")
        new = f" {not_stored('x')}" if stored else ""
        identical = con.execute(f"SELECT count(DISTINCT x.event_key) FROM _yy_keys x{new} WHERE extra"
                                ).fetchall()[0][0]
        source = f"(SELECT s.*, x.event_key FROM {staged} s JOIN _yy_keys x ON s.rowid = x.r)"
    repeats = con.execute(f"SELECT count(*) - count(DISTINCT {IDENTITY}) FROM _yy_keys").fetchall()[0][0]
    return source, identical, repeats


def insert_keyed(con: duckdb.DuckDBPyConnection, source: str, *, dedup: bool, check_stored: bool,
                 ordered: bool) -> None:
    """Insert the keyed rows not stored yet (one per key when ``dedup``), users resolved through identities;
    in (user_id, ts) order when ``ordered``."""
    not_seen = f"{not_stored('k')} " if check_stored else ""
    # The de-duplicating window is costly on wide rows: only pay for it when the batch repeats itself.
    qualify = ("QUALIFY row_number() OVER (PARTITION BY k.event_uuid, k.event_key ORDER BY k.ts) = 1 "
               if dedup else "")
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
    one. Rows with an ``event_uuid`` keep the key a full import gives them (0). The staged table may hold a subset of
    the events columns (``stage_file(columns=…)``); the others are NULL in the source. Returns the SQL source
    and how many rows repeat a key (then the insert de-duplicates)."""
    have = {r[0] for r in con.execute(f"DESCRIBE {staged}").fetchall()}
    nulls = ", ".join(f"CAST(NULL AS {c.sql_type}) AS {c.name}" for c in EVENT_COLUMNS if c.name not in have)
    if "event_uuid" in have:
        key = "CASE WHEN event_uuid IS NOT NULL THEN CAST(0 AS UHUGEINT) ELSE CAST(rowid AS UHUGEINT) END"
        repeats = con.execute(f"SELECT count(event_uuid) - count(DISTINCT event_uuid) FROM {staged}").fetchall()[0][0]
    else:
        key, repeats = "CAST(rowid AS UHUGEINT)", 0
    return f"(SELECT *{', ' + nulls if nulls else ''}, {key} AS event_key FROM {staged})", repeats


def rewrite_sorted(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite ``events`` in ``(user_id, ts)`` order, keeping its definition (constraints included)."""
    con.execute("ALTER TABLE events RENAME TO _yy_unsorted")
    con.execute(events_ddl_for(con))
    con.execute(f"INSERT INTO events ({_COLS}, event_key) SELECT {_COLS}, event_key FROM _yy_unsorted "
                "ORDER BY user_id, ts")
    con.execute("DROP TABLE _yy_unsorted")
