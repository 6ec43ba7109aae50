"""Checks an import reports but does not refuse (event names that differ only in case or separators), and the
stored list of event names they compare with (``event_names``: each name and its number of events, changed in
the same transaction as the events, so it never has to be rebuilt from a scan of every stored event)."""
from __future__ import annotations

import duckdb

from ..model import readers

# Two names are near-duplicates when they are equal once lower-cased without spaces, "_", "-" and ".":
# `Signup`, `signup`, `sign_up` and `Sign Up` are one name written four ways.
_KEY = "regexp_replace(lower({}), '[\\s_.\\-]+', '', 'g')"


def count_names(con: duckdb.DuckDBPyConnection, rows_sql: str, table: str) -> None:
    """The temp table ``table`` (event, n): the event names of ``rows_sql`` (a query with an ``event`` column)
    and how many rows have each."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT event, count(*) AS n FROM ({rows_sql}) "
                "WHERE event IS NOT NULL GROUP BY event")


def add_names(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Add the counts of ``table`` (from :func:`count_names`, of events just stored) to ``event_names``."""
    con.execute(f"UPDATE event_names SET events = events + t.n FROM {table} t WHERE event_names.event = t.event")
    con.execute(f"INSERT INTO event_names SELECT event, n FROM {table} t "
                "WHERE NOT EXISTS (SELECT 1 FROM event_names s WHERE s.event = t.event)")


def rebuild_names(con: duckdb.DuckDBPyConnection) -> None:
    """``event_names`` from a scan of the stored events (a workspace made before the list existed)."""
    con.execute("DELETE FROM event_names")
    con.execute("INSERT INTO event_names SELECT event, count(*) FROM events WHERE event IS NOT NULL GROUP BY event")


def near_duplicate_events(con: duckdb.DuckDBPyConnection, new: str, limit: int = 10) -> list[str]:
    """Report lines for the event names of ``new`` (a :func:`count_names` table of the rows read) that nearly
    equal another name read or one of ``event_names`` (the names stored before; read before ``new`` is added)."""
    key = _KEY.format("event")
    rows = con.execute(
        f"WITH keys AS (SELECT DISTINCT {key} AS k FROM {new}), "
        f"old AS (SELECT event, events AS n FROM event_names WHERE {key} IN (SELECT k FROM keys)), "
        f"names AS (SELECT event, sum(n) AS n, bool_or(src = 'new') AS in_file FROM "
        f"(SELECT event, n, 'new' AS src FROM {new} UNION ALL SELECT event, n, 'old' FROM old) GROUP BY event) "
        f"SELECT {key} AS k, list(event ORDER BY event), list(n ORDER BY event), list(in_file ORDER BY event) "
        f"FROM names GROUP BY k HAVING count(*) > 1 ORDER BY k LIMIT {limit}"
    ).fetchall()
    out = []
    for _, names, counts, in_file in rows:
        shown = ", ".join(f"{n!r} ({c:,} event{'' if c == 1 else 's'}{'' if f else ', stored before'})"
                          for n, c, f in zip(names, counts, in_file))
        out.append(f"event names that differ only in case or separators are different events: {shown}; "
                   f"if they are one event, give them one name in the files")
    return out


def describe_reads(report, files: list[str], extra: list[str] = ()) -> None:
    """How each file was read (``model/readers.py``) and the import's warnings, into its ``ImportReport``."""
    report.sources = readers.sources(files)
    report.messages[:0] = [*readers.notes(files), *extra]
