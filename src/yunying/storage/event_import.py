"""``Workspace.import_events``: event files into the ``events`` table in one transaction, each row read once.

Every file is scanned once, straight into ``events``: each column typed (``model/ingest.py``), each row
checked as it passes (a bad row stops the insert; the error then names the file, the rows and the problems,
from a second scan of that file only), its de-duplication key computed (``events_keys.KEY_SQL``) and the
row stored with its user as sent. What a staged import did to a staging table is then done to the new rows
in place, reading only the columns it needs:

* repeats: the new rows' keys are checked for repeats (the high 64 bits of each key, sorted in memory). A
  batch that repeats a key — identical rows without an event id, or an event id sent twice — is taken out
  again and imported by the staged rules (``events_keys.key_staged``: occurrence numbers, one row per key);
* stored events: new rows whose key is already stored are removed (re-importing adds nothing);
* identity links carried by the rows (an anonymous id beside a user id), then every event of a merged id
  pointed at its final user (``storage/identities.py``); users' first / last seen; the event-name list;
* a batch small enough to keep the table clustered is rewritten in ``(user_id, ts)`` order.

Nothing is staged, so the only temporary files are DuckDB's own spills. ``ImportReport.phases`` records the
seconds of each phase.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np

from . import events_keys, identities, import_checks, users
from .connection import ImportReport, configure_connection
from ..errors import InputFileError
from ..model.ingest import TypedSource, invalid_rows, read_error, sensors_profiles, typed_source
from ..model.readers import ReadOptions
from ..model.schema import EVENT_COLUMNS

ROW_CHECKS = [("user_id IS NULL AND distinct_id IS NULL",
               "user_id/distinct_id: missing (each event needs a user id or a distinct_id)")]
_MARK = "yunying: row refused"
_COLS = ", ".join(c.name for c in EVENT_COLUMNS)
# stored as sent: the user id (else the anonymous id) and the anonymous id (else the user id); identity
# resolution then moves the events of merged ids, as it moves stored events when a link arrives later
_AS_SENT = ", ".join("coalesce(user_id, distinct_id)" if c.name == "user_id"
                     else "coalesce(distinct_id, user_id)" if c.name == "distinct_id" else c.name
                     for c in EVENT_COLUMNS)


class Repeats(Exception):
    """The batch repeats a key: the caller imports it by the staged rules."""


class Phases:
    """Wall and CPU seconds (all threads of the process) per phase of an import: ``ImportReport.phases``,
    ``{phase: [seconds, cpu seconds]}``."""

    def __init__(self):
        self.seconds: dict[str, list[float]] = {}
        self._t = (time.perf_counter(), time.process_time())

    def lap(self, phase: str) -> None:
        now = (time.perf_counter(), time.process_time())
        wall, cpu = self.seconds.get(phase, [0.0, 0.0])
        self.seconds[phase] = [round(wall + now[0] - self._t[0], 3), round(cpu + now[1] - self._t[1], 3)]
        self._t = now


def append_files(ws, files: list[str], explicit: dict[str, str], read: ReadOptions | None,
                 progress: Callable[[str], None] | None, phases: Phases) -> int:
    """Scan each file once into ``events`` (typed, checked, keyed, users as sent). Returns rows read."""
    rows = 0
    for file_no, f in enumerate(files):
        if progress:
            progress(f"reading {Path(f).name}")
        rows += _append_file(ws, f, file_no, explicit, read)
    phases.lap("read, validate, key, write")
    return rows


def _append_file(ws, f: str, file_no: int, explicit: dict[str, str], read: ReadOptions | None) -> int:
    con = ws.con
    profiles = sensors_profiles(con, f, ws.config.import_timezone, file_no, read)
    skip = None
    if profiles:
        skip, updates = profiles
        con.execute("CREATE TEMP TABLE IF NOT EXISTS _yy_profile_rows (id VARCHAR, key VARCHAR, "
                    "value VARCHAR, set_at TIMESTAMP, once BOOLEAN, ord BIGINT)")
        con.execute(f"INSERT INTO _yy_profile_rows {updates}")
    typed = typed_source(con, f, EVENT_COLUMNS, explicit_mapping=explicit, import_tz=ws.config.import_timezone,
                         read=read, checked=True)
    refuse = f"error('{_MARK}')"
    keep = f"CASE WHEN {typed.bad_sql} THEN {refuse} ELSE true END"
    if skip:
        keep = f"CASE WHEN coalesce(({skip}), false) THEN false ELSE {keep} END"
    row_check = " OR ".join(f"({cond})" for cond, _ in ROW_CHECKS)
    try:
        n = con.execute(
            f"INSERT INTO events ({_COLS}, event_key) SELECT {_AS_SENT}, {events_keys.KEY_SQL} FROM "
            f"(SELECT {', '.join(typed.select)} FROM {typed.src} WHERE {keep}) "
            f"WHERE CASE WHEN {row_check} THEN {refuse} ELSE true END").fetchall()[0][0]
    except duckdb.Error as exc:
        raise _refused(ws, typed, skip, exc) from None
    if n == 0 and not skip:
        raise InputFileError(f"{f}: file has no data rows")
    ws._check_user_column(f, typed.mapping)
    return n


def _refused(ws, typed: TypedSource, skip: str | None, exc: duckdb.Error) -> Exception:
    """The error to raise for a failed insert: the bad rows named (read on a second connection, as this one's
    transaction is aborted), else the reader's error."""
    cur = configure_connection(ws.con.cursor())
    try:
        return invalid_rows(cur, typed, ROW_CHECKS, skip) or read_error(typed.path, exc)
    except duckdb.Error:  # the file itself cannot be read to the end
        return read_error(typed.path, exc)
    finally:
        cur.close()


def check_repeats(con: duckdb.DuckDBPyConnection, first: int, n: int) -> None:
    """Raise :class:`Repeats` when two of the new rows (``rowid >= first``) share a key: the high 64 bits of
    the ``n`` keys are sorted in memory (8 bytes a row); only equal high halves are compared in full."""
    if n < 2:
        return
    high = np.empty(n, np.uint64)
    at = 0
    reader = con.sql(f"SELECT CAST(event_key >> 64 AS UBIGINT) AS h FROM events WHERE rowid >= {first}"
                     ).to_arrow_reader(1 << 20)
    for batch in reader:
        part = batch.column(0).to_numpy()
        high[at:at + len(part)] = part
        at += len(part)
    assert at == n, (at, n)
    high.sort()
    if np.any(high[1:] == high[:-1]) and con.execute(
            f"SELECT count(*) - count(DISTINCT event_key) FROM events WHERE rowid >= {first}").fetchall()[0][0]:
        raise Repeats()


def drop_stored(con: duckdb.DuckDBPyConnection, first: int) -> int:
    """Remove the new rows whose key is already stored. Returns how many."""
    return con.execute(f"DELETE FROM events WHERE rowid >= {first} AND event_key IN "
                       f"(SELECT event_key FROM events WHERE rowid < {first})").fetchall()[0][0]


def resolve_users(ws, first: int) -> tuple[int, int]:
    """Links carried by the new rows (an anonymous id beside a different user id; the earliest row of an id
    wins), then each event's final user. Returns (links added, stored events moved to another user)."""
    con = ws.con
    before = identities.count(con)
    con.execute(
        "INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, arg_min(user_id, ts) FROM events "
        f"WHERE rowid >= {first} AND distinct_id <> user_id "
        "AND distinct_id NOT IN (SELECT distinct_id FROM identities) GROUP BY distinct_id")
    links = identities.count(con) - before
    moved = ws._apply_identities(f"events.rowid < {first}") if links else 0
    if identities.count(con):
        identities.move_events(con, f"events.rowid >= {first}")
    return links, moved


def store_appended(ws, first: int, rows_read: int, files: list[str], ordered: bool, phases: Phases):
    """Everything after :func:`append_files` for the new rows (``rowid >= first``): warnings, repeats, stored
    duplicates, identities, users' first / last seen, event names, order, bookkeeping. Returns the
    ``ImportReport``; raises :class:`Repeats` (nothing else changed yet) when the batch repeats a key."""
    con = ws.con
    new_rows = f"SELECT event FROM events WHERE rowid >= {first}"
    import_checks.count_names(con, new_rows, "_yy_read_names")
    near = import_checks.near_duplicate_events(con, "_yy_read_names")
    phases.lap("event names")
    check_repeats(con, first, rows_read)
    phases.lap("de-duplication: repeats in the batch")
    # every row read counts for links and first / last seen, as in a staged import (an event sent again may
    # carry an identity link the stored copy did not)
    links, moved = resolve_users(ws, first)
    phases.lap("identities")
    users.note_seen(con, "SELECT user_id, min(ts) AS first_seen, max(ts) AS last_seen FROM events "
                         f"WHERE rowid >= {first} GROUP BY user_id")
    phases.lap("users' first/last seen")
    dropped = drop_stored(con, first) if first else 0
    phases.lap("de-duplication: stored events")
    if dropped:
        import_checks.count_names(con, new_rows, "_yy_read_names")
    import_checks.add_names(con, "_yy_read_names")
    phases.lap("event names")
    added = rows_read - dropped
    if ordered and added:
        events_keys.rewrite_sorted(con)
        phases.lap("sort by user and time")
    if added:
        ws.renew_events_version()
    if (first or not ordered) and added:
        ws._set_meta("clustered", "false")
    ws._log_import("events", ", ".join(files), rows_read, added)
    report = ImportReport("events", files, rows_read, added, rows_read - added, links, moved)
    import_checks.describe_reads(report, files, near)
    return report
