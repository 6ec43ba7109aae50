"""Checks an import reports but does not refuse: event names that differ only in case or separators."""
from __future__ import annotations

import duckdb

from ..model import readers

# Two names are near-duplicates when they are equal once lower-cased without spaces, "_", "-" and ".":
# `Signup`, `signup`, `sign_up` and `Sign Up` are one name written four ways.
_KEY = "regexp_replace(lower({}), '[\\s_.\\-]+', '', 'g')"


def near_duplicate_events(con: duckdb.DuckDBPyConnection, staged: str, limit: int = 10) -> list[str]:
    """Report lines for event names of ``staged`` rows that nearly equal another name of the same import or
    of the events already stored (read before the staged rows are inserted, or after: both count once)."""
    key = _KEY.format("event")
    rows = con.execute(
        f"WITH new AS (SELECT event, count(*) AS n FROM {staged} WHERE event IS NOT NULL GROUP BY event), "
        f"keys AS (SELECT DISTINCT {key} AS k FROM new), "
        # one aggregation of the stored names, then the (few) names compared: no text function per stored row
        f"stored AS (SELECT event, count(*) AS n FROM events WHERE event IS NOT NULL GROUP BY event), "
        f"old AS (SELECT event, n FROM stored WHERE {key} IN (SELECT k FROM keys)), "
        f"names AS (SELECT event, sum(n) AS n, bool_or(src = 'new') AS in_file FROM "
        f"(SELECT event, n, 'new' AS src FROM new UNION ALL SELECT event, n, 'old' FROM old) GROUP BY event) "
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
