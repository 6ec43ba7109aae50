"""``Workspace.import_events``: event files into the ``events`` table in one transaction, each row read once.

Parquet files first give up their identity links (:func:`links_first`: three columns read, only the rows with
two different ids typed), which are stored and resolved, so each row is written with its final user. Every
file is then scanned once, straight into ``events`` (consecutive Parquet files with the same columns by one
statement, :func:`_runs`): each column typed once and each row checked over its typed values as it passes
(``model/checked_scan.py``; a bad row stops the insert; the error then names the file, the rows and the
problems, from a second scan of that file only), its de-duplication key computed (``events_keys.KEY_SQL``) and
the row stored with its final user (links first) or its user as sent. What a staged import did to a staging table is then done to the new rows
in place, reading only the columns it needs:

* repeats: the new rows are checked for repeats (a 64-bit hash of each event id or content key; the hashes
  occurring twice found in memory, by NumPy's sort or, for large batches, the ``--events`` store's radix
  kernel on all cores; rows with equal hashes compared in full). A batch that repeats an event — identical rows without an
  event id, or an event id sent twice — is taken out again and imported by the staged rules
  (``events_keys.key_staged``: occurrence numbers, one row per event);
* stored events: new rows whose event id (else content key) is already stored are removed (re-importing adds
  nothing), by a join on a 64-bit hash first, in passes over ranges of the hash small enough not to spill
  (:func:`drop_stored`);
* (files other than Parquet) identity links carried by the rows (an anonymous id beside a user id), then every
  event of a merged id pointed at its final user (``storage/identities.py``; an ``UPDATE`` of the moved rows,
  which DuckDB pays again at commit: why Parquet files take their links first); users' first / last seen;
  the event-name list;
* a batch small enough to keep the table clustered is rewritten in ``(user_id, ts)`` order.

Nothing is staged, so the only temporary files are DuckDB's own spills. ``ImportReport.phases`` records the
seconds of each phase. The sequence store is left to the first analysis that reads it (``sequence_store.want``).
"""
from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Callable

import duckdb
import numpy as np
import pyarrow as pa

from . import events_keys, identities, import_checks, users
from .connection import ImportReport, configure_connection, memory_reserved, size_bytes
from ..errors import InputFileError, Said, YunyingError
from ..model.checked_scan import LINK_USER, checked_rows, link_rows
from ..model.ingest import (TypedSource, _lit, detect_format, expand_paths, invalid_rows, read_error, sensors_profiles,
                            stage_file, typed_source)
from ..model.readers import ReadOptions, events_mapping
from ..model.schema import EVENT_COLUMNS

ROW_CHECKS = [("user_id IS NULL AND distinct_id IS NULL",
               "user_id/distinct_id: missing (each event needs a user id or a distinct_id)")]
_MARK = "yunying: row refused"
_COLS = ", ".join(c.name for c in EVENT_COLUMNS)
# stored as sent: the user id (else the anonymous id) and the anonymous id (else the user id); identity
# resolution then moves the events of merged ids, as it moves stored events when a link arrives later
_AS_SENT = ", ".join("coalesce(user_id, distinct_id) AS user_id" if c.name == "user_id"
                     else "coalesce(distinct_id, user_id) AS distinct_id" if c.name == "distinct_id" else c.name
                     for c in EVENT_COLUMNS)
# the same rows with each user pointed at its final user by the (resolved) links, as
# ``identities.move_events`` points stored events: what the insert writes when the links came first
_RESOLVED = ", ".join("coalesce(_yy_i.user_id, r.user_id)" if c.name == "user_id" else f"r.{c.name}"
                      for c in EVENT_COLUMNS)


# what an import holds outside DuckDB (Python, Arrow batches, the sequence store's chunks in flight): DuckDB's
# memory limit is lowered by this much during an import, so the whole process stays within the workspace's limit
OUTSIDE_DUCKDB = 768 * 2**20


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
                 progress: Callable[[str], None] | None, phases: Phases, resolved: bool = False) -> int:
    """Scan the files into ``events`` (typed, checked, keyed; users as sent, or with ``resolved`` each pointed
    at its final user by the stored links): a run of Parquet files alike (:func:`_runs`) by one statement,
    any other file by its own. Returns rows read."""
    rows = 0
    for run in _runs(ws, files, explicit, read):
        if len(run) == 1:
            file_no, f, typed = run[0]
            if progress:
                progress(Said("import.stage.reading", file=Path(f).name))
            rows += _append_file(ws, f, file_no, explicit, read, resolved, typed)
        else:
            if progress:
                progress(Said("import.stage.reading_files", n=len(run), first=Path(run[0][1]).name,
                              last=Path(run[-1][1]).name))
            rows += _append_run(ws, [typed for _, _, typed in run], resolved)
    phases.lap("read, validate, key, write")
    return rows


def _runs(ws, files: list[str], explicit: dict[str, str], read: ReadOptions | None) -> list[list[tuple]]:
    """The files in order, cut into runs ``[(file_no, path, TypedSource | None)]`` that one statement scans:
    consecutive plain Parquet files (no read options) with the same columns, types and mapping, none of them
    empty. One scan of a run reads its files in parallel like ``read_parquet([…])`` does for DuckDB's own
    load, and the insert's join on the identity links (``resolved``) builds its hash table once, not once a
    file (at 100M events in 26 files and 2.5M links: 22.7 CPU s, against the few a single build costs). Any
    other file, or one that cannot be described here (it is then imported alone, which names its problem in
    its turn), is a run of its own."""
    items, keys = [], []
    cur = configure_connection(ws.con.cursor())  # its own connection: an error here leaves the transaction be
    try:
        for file_no, f in enumerate(files):
            typed = key = None
            if read is None and detect_format(f, strict=False) == "parquet":
                try:
                    typed = typed_source(cur, f, EVENT_COLUMNS, explicit_mapping=explicit,
                                         import_tz=ws.config.import_timezone, checked=True)
                    empty = not cur.execute(f"SELECT sum(num_rows) FROM parquet_file_metadata({_lit(f)})"
                                            ).fetchall()[0][0]
                except (duckdb.Error, YunyingError):
                    typed, empty = None, True
                key = None if empty else _alike(typed)
            items.append((file_no, f, typed))
            keys.append(key)
    finally:
        cur.close()
    return _cut(items, keys)


def _alike(typed: TypedSource) -> tuple | None:
    """What files scanned by one statement share (columns, types, mapping); None for a file that is not a plain
    Parquet scan (its source SQL is more than ``read_parquet`` of its path)."""
    if typed.src != f"read_parquet({_lit(typed.path)})":
        return None
    return tuple(typed.types.items()), tuple(typed.mapping.items())


def _cut(items: list, keys: list) -> list[list]:
    """``items`` in order, cut into runs of consecutive items with the same key (an item keyed None: alone)."""
    runs: list[list] = []
    for i, (item, key) in enumerate(zip(items, keys)):
        if i and key is not None and key == keys[i - 1]:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs


def _one_scan(typeds: list[TypedSource]) -> TypedSource:
    """The scan of a run of files alike: one ``read_parquet`` of them all (a single file: its own scan)."""
    if len(typeds) == 1:
        return typeds[0]
    return dataclasses.replace(typeds[0], src="read_parquet([" + ", ".join(_lit(t.path) for t in typeds) + "])")


def links_first(ws, first: int, files: list[str], explicit: dict[str, str], read: ReadOptions | None,
                phases: Phases) -> tuple[int, int] | None:
    """Before the rows are written: the identity links the files' rows carry (``checked_scan.link_rows``: the
    rows with two different ids, of every file; of an anonymous id the earliest such row wins, ties by the
    smallest user id, as in :func:`resolve_users`, one pick over all files' rows), added and
    resolved, stored events moved. The insert then writes each row with its final user, instead of
    rewriting the moved rows afterwards (an ``UPDATE`` of the new rows, which DuckDB pays again at commit by
    rewriting every row group it touched). Only for Parquet files (three columns read: cheap); returns None
    (nothing done) for other files, or when a file cannot be read this way (the import then names the
    problem); else (links added, stored events moved)."""
    if read is not None or any(detect_format(f, strict=False) != "parquet" for f in files):
        return None
    cur = configure_connection(ws.con.cursor())  # its own connection: an error here leaves the transaction be
    try:
        parts = []
        for f in files:  # file by file (one statement for files alike, as the rows take, was no faster at 100M)
            typed = typed_source(cur, f, EVENT_COLUMNS, explicit_mapping=explicit, import_tz=ws.config.import_timezone,
                                 columns={"distinct_id", "user_id", "ts"}, checked=True)
            sql = link_rows(typed, ws.config.import_timezone)
            if sql:
                parts.append(cur.sql(sql).to_arrow_table())
    except (duckdb.Error, YunyingError):
        return None
    finally:
        cur.close()
    links = 0
    if parts:
        ws.con.register("_yy_file_links", pa.concat_tables(parts))
        try:
            links = identities.insert_row_links(ws.con, "_yy_file_links")
        finally:
            ws.con.unregister("_yy_file_links")
    moved = ws._apply_identities(f"events.rowid < {first}") if links else 0
    phases.lap("identities")
    return links, moved


def _append_file(ws, f: str, file_no: int, explicit: dict[str, str], read: ReadOptions | None,
                 resolved: bool = False, typed: TypedSource | None = None) -> int:
    """One file by its own statement; ``typed``: its scan as :func:`_runs` described it (None: described here)."""
    con = ws.con
    profiles = sensors_profiles(con, f, ws.config.import_timezone, file_no, read)
    skip = None
    if profiles:
        skip, updates = profiles
        con.execute("CREATE TEMP TABLE IF NOT EXISTS _yy_profile_rows (id VARCHAR, key VARCHAR, "
                    "value VARCHAR, set_at TIMESTAMP, once BOOLEAN, ord BIGINT)")
        con.execute(f"INSERT INTO _yy_profile_rows {updates}")
    if typed is None:
        typed = typed_source(con, f, EVENT_COLUMNS, explicit_mapping=explicit, import_tz=ws.config.import_timezone,
                             read=read, checked=True)
    try:
        n = _insert(ws, typed, skip, resolved)
    except duckdb.Error as exc:
        raise _refused(ws, typed, skip, exc) from None
    if n == 0 and not skip:
        raise InputFileError(key="event_import.file_has_no_data", f=f)
    ws._check_user_column(f, typed.mapping)
    return n


def _append_run(ws, typeds: list[TypedSource], resolved: bool) -> int:
    """A run of Parquet files alike (:func:`_runs`) by one statement; a refused row is named in the first
    file (in order) that holds one."""
    try:
        n = _insert(ws, _one_scan(typeds), None, resolved)
    except duckdb.Error as exc:
        raise _run_refused(ws, typeds, exc) from None
    for t in typeds:
        ws._check_user_column(t.path, t.mapping)
    return n


def _insert(ws, typed: TypedSource, skip: str | None, resolved: bool) -> int:
    """``INSERT INTO events`` the typed, checked and keyed rows of ``typed``'s scan; returns rows written."""
    con = ws.con
    rows = checked_rows(typed, ws.config.import_timezone, f"error('{_MARK}')", [c for c, _ in ROW_CHECKS], skip)
    # The order of the new rows is no rule's business (they are re-sorted, or the table is marked unclustered;
    # the repeat checks compare keys): without keeping it DuckDB writes each thread's rows as they come (about
    # 7% less CPU for the insert). Only this statement: profile rows (above) keep their file order. (After a
    # failed insert the transaction is aborted and takes no SET: ``import_events`` sets it back after the
    # rollback.)
    con.execute("SET preserve_insertion_order = false")
    keyed = f"SELECT {_AS_SENT}, {events_keys.KEY_SQL} AS event_key FROM ({rows})"
    if resolved:
        keyed = (f"SELECT {_RESOLVED}, r.event_key FROM ({keyed}) r "
                 "LEFT JOIN identities _yy_i ON _yy_i.distinct_id = r.user_id")
    n = con.execute(f"INSERT INTO events ({_COLS}, event_key) {keyed}").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
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


def _run_refused(ws, typeds: list[TypedSource], exc: duckdb.Error) -> Exception:
    """:func:`_refused` for a run: the bad rows of its first file (in order) that has any; else the reader's
    error, for the file DuckDB's message names (else the first)."""
    cur = configure_connection(ws.con.cursor())
    try:
        for typed in typeds:
            try:
                bad = invalid_rows(cur, typed, ROW_CHECKS)
            except duckdb.Error as unread:  # this file cannot be read to the end
                return read_error(typed.path, unread)
            if bad is not None:
                return bad
    finally:
        cur.close()
    named = next((t.path for t in typeds if t.path in str(exc)), typeds[0].path)
    return read_error(named, exc)


def check_repeats(con: duckdb.DuckDBPyConnection, first: int, n: int, limit: int) -> None:
    """Raise :class:`Repeats` when two of the new rows (``rowid >= first``) are the same event (equal
    ``events_keys.IDENTITY``). The repeated values of a 64-bit hash of each (``events_keys.PREFILTER``) are found
    in memory (:func:`repeated_values`; 8 bytes a row, taken off DuckDB's memory limit ``limit`` meanwhile); only the rows whose hash occurs twice are then
    compared in full, so a collision costs a comparison, never an event."""
    if n < 2:
        return
    with memory_reserved(con, limit, 8 * n):
        twice = _hashes_twice(con, first, n)
    if not len(twice):
        return
    con.register("_yy_twice", pa.table({"h": twice}))
    try:
        repeats = con.execute(
            f"SELECT count(*) - count(DISTINCT {events_keys.IDENTITY}) FROM events WHERE rowid >= {first} "
            f"AND ({events_keys.PREFILTER}) IN (SELECT h FROM _yy_twice)").fetchall()[0][0]
    finally:
        con.unregister("_yy_twice")
    if repeats:
        raise Repeats()


# from this many new rows the repeated hashes are found by the ``--events`` store's radix kernel on all cores
# (``adhoc_parquet.repeated_hashes``: at 100M rows ≈ 2 CPU s against ≈ 8 for NumPy's sort on one core); below
# it NumPy's sort costs well under a second and the import loads no Numba kernel
KERNEL_FROM = 16 * 2**20


def _hashes_twice(con: duckdb.DuckDBPyConnection, first: int, n: int) -> np.ndarray:
    """The ``events_keys.PREFILTER`` hashes occurring more than once among the new rows (each once)."""
    hashes = np.empty(n, np.uint64)
    at = 0
    reader = con.sql(f"SELECT {events_keys.PREFILTER} AS h FROM events WHERE rowid >= {first}").to_arrow_reader(1 << 20)
    for batch in reader:
        part = batch.column(0).to_numpy()
        hashes[at:at + len(part)] = part
        at += len(part)
    assert at == n, (at, n)
    return repeated_values(hashes)


def repeated_values(hashes: np.ndarray) -> np.ndarray:
    """The values occurring more than once in ``hashes`` (each once, in no set order; ``hashes`` is reordered)."""
    if hashes.size < KERNEL_FROM:
        hashes.sort()
        return np.unique(hashes[1:][hashes[1:] == hashes[:-1]])
    from .adhoc_parquet import repeated_hashes

    zeros = hashes.size - np.count_nonzero(hashes)  # the kernel passes over 0 (its "no uuid"): a value like any other here
    twice = repeated_hashes(hashes)
    return np.concatenate([twice, np.zeros(1, np.uint64)]) if zeros > 1 else twice


# what one stored row costs in the hash table of a pass of :func:`drop_stored` (its hash, id, key, DuckDB's entry
# and the id's text): the rows of a pass are kept under half of DuckDB's memory limit, so the join never spills
STORED_ROW_BYTES = 128


def drop_stored(con: duckdb.DuckDBPyConnection, first: int, n: int, limit: int) -> int:
    """Remove the new rows (``rowid >= first``, ``n`` of them) that are events already stored: equal
    ``events_keys.PREFILTER`` hashes first, then the ids (else the keys) compared in full. Returns how many.

    A join of every new row against every stored one would keep the smaller side in a hash table: at 100M
    events several GB of ids, which DuckDB spills (10 GB for a re-import of 100M events). So the 64-bit hash
    space is cut into equal ranges (the hashes are uniform), each small enough for half of DuckDB's memory
    limit ``limit``, and each range is one pass of a join of the rows whose hash falls in it: nothing spills,
    at the price of reading the two sides' ids once a pass."""
    stored = first
    side = min(stored, n)
    passes = max(1, -(-side * STORED_ROW_BYTES // max(limit // 2, 1)))
    return sum(_drop_stored_range(con, first, part, passes) for part in range(passes))


def _drop_stored_range(con: duckdb.DuckDBPyConnection, first: int, part: int, passes: int) -> int:
    """One pass of :func:`drop_stored`: the rows whose hash is in range ``part`` of ``passes`` equal ranges."""
    h = f"({events_keys.PREFILTER})"
    in_range = "true"
    if passes > 1:
        width = 2**64 // passes
        lo, hi = part * width, (2**64 - 1 if part == passes - 1 else (part + 1) * width - 1)
        in_range = f"{h} BETWEEN {lo}::UBIGINT AND {hi}::UBIGINT"
    side = f"SELECT {{}}{h} AS h, event_uuid, event_key FROM events WHERE rowid {{}} {first} AND {in_range}"
    return con.execute(
        f"DELETE FROM events WHERE rowid IN (SELECT n.r FROM ({side.format('rowid AS r, ', '>=')}) n "
        f"SEMI JOIN ({side.format('', '<')}) s ON n.h = s.h "
        # the same event: the same id (compared in full), or both without id and the same key
        "AND ((n.event_uuid IS NOT NULL AND n.event_uuid = s.event_uuid) "
        "OR (n.event_uuid IS NULL AND s.event_uuid IS NULL AND n.event_key = s.event_key)))"
    ).fetchall()[0][0]


def resolve_users(ws, first: int) -> tuple[int, int]:
    """Links carried by the new rows (an anonymous id beside a different user id; the earliest row of an id
    wins, equal times: the smallest user id), then each event's final user. Returns (links added, stored events
    moved to another user)."""
    con = ws.con
    before = identities.count(con)
    con.execute(
        f"INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, {LINK_USER} FROM events "
        f"WHERE rowid >= {first} AND distinct_id <> user_id "
        "AND distinct_id NOT IN (SELECT distinct_id FROM identities) GROUP BY distinct_id")
    links = identities.count(con) - before
    moved = ws._apply_identities(f"events.rowid < {first}") if links else 0
    if identities.count(con):
        identities.move_events(con, f"events.rowid >= {first}")
    return links, moved


def store_appended(ws, first: int, rows_read: int, files: list[str], ordered: bool, phases: Phases, limit: int,
                   linked: tuple[int, int] | None = None):
    """Everything after :func:`append_files` for the new rows (``rowid >= first``): warnings, repeats, stored
    duplicates, identities, users' first / last seen, event names, order, bookkeeping. Returns the
    ``ImportReport``; raises :class:`Repeats` (nothing else changed yet) when the batch repeats a key. ``limit``:
    DuckDB's memory limit now (bytes). ``linked``: what :func:`links_first` did (the rows were written with their
    final users), else None (links and moves are done here)."""
    con = ws.con
    new_rows = f"SELECT event FROM events WHERE rowid >= {first}"
    import_checks.count_names(con, new_rows, "_yy_read_names")
    near = import_checks.near_duplicate_events(con, "_yy_read_names")
    phases.lap("event names")
    check_repeats(con, first, rows_read, limit)
    phases.lap("de-duplication: repeats in the batch")
    # every row read counts for links and first / last seen, as in a staged import (an event sent again may
    # carry an identity link the stored copy did not)
    if linked is None:
        links, moved = resolve_users(ws, first)
        phases.lap("identities")
    else:
        links, moved = linked
    users.note_seen(con, "SELECT user_id, min(ts) AS first_seen, max(ts) AS last_seen FROM events "
                         f"WHERE rowid >= {first} GROUP BY user_id", one_per_user=True)
    phases.lap("users' first/last seen")
    dropped = drop_stored(con, first, rows_read, limit) if first else 0
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


def _limit_bytes(ws) -> int:
    """The workspace's DuckDB memory limit in bytes (as set in ``yunying.toml``, else as DuckDB reports it)."""
    try:
        return size_bytes(ws.config.memory_limit)
    except ValueError:
        return size_bytes(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


class EventImports:
    """The event-writing methods of ``Workspace`` (file imports, capture's batches, the staged rules)."""

    def import_events(self, files: list[str] | str, *, mapping: dict[str, str] | None = None,
                      progress: Callable[[str], None] | None = None, read: ReadOptions | None = None,
                      columns: tuple[str, ...] | None = None) -> ImportReport:
        """Import event files (CSV, Parquet, JSON Lines, Excel; globs; gzip) in one transaction.

        ``progress(stage)`` is told each stage as it starts: ``reading FILE`` per file, then storing and sorting.
        The sequence store is not built here: the import asks for it and the first analysis that reads it
        builds it (``sequence_store.want`` / ``open_or_build``). ``read``: sheet, encoding, delimiter, a constant event
        (``model/readers.py``). ``columns`` (an empty in-memory workspace, one file: what ``--events FILE``
        analyses use): read, check and keep only these canonical columns, see
        :func:`~yunying.storage.adhoc.narrow_import`."""
        self._check_writable()
        t0 = time.perf_counter()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        if columns is not None and read is None:
            from .adhoc import narrow_import

            report = narrow_import(self, files, mapping, columns)
            if report is not None:
                report.seconds = time.perf_counter() - t0
                return report
        explicit = events_mapping(self.config.columns, mapping, read)
        phases = Phases()
        with memory_reserved(self.con, _limit_bytes(self), OUTSIDE_DUCKDB) as limit:
            try:
                report = self._append_and_store(files, explicit, read, progress, phases, limit)
            finally:  # the insert's own setting, also after a failed (rolled back) insert
                self.con.execute("SET preserve_insertion_order = true")
            phases.lap("commit")
            self._maybe_recluster(report, progress)
            phases.lap("sequence store")
        report.phases = phases.seconds
        report.seconds = time.perf_counter() - t0
        return report

    def _append_and_store(self, files: list[str], explicit: dict[str, str], read: ReadOptions | None,
                          progress: Callable[[str], None] | None, phases: Phases, limit: int) -> ImportReport:
        """The import's transaction: the files appended, then :func:`store_appended` (or the staged rules)."""
        with self._transaction("_yy_staged", "_yy_profile_rows", "_yy_read_names") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            con.execute("DROP TABLE IF EXISTS _yy_profile_rows")
            first = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
            linked = links_first(self, first, files, explicit, read, phases)
            resolved = linked is not None and identities.count(con) > 0
            rows_read = append_files(self, files, explicit, read, progress, phases, resolved)
            if progress:
                progress(Said("import.stage.storing_one") if rows_read == 1
                         else Said("import.stage.storing", rows=f"{rows_read:,}"))
            ordered = first == 0 and rows_read <= self._recluster_limit()
            try:
                report = store_appended(self, first, rows_read, files, ordered, phases, limit, linked)
            except Repeats:  # rows repeating a key: out again, imported by the staged rules
                con.execute(f"DELETE FROM events WHERE rowid >= {first}")
                con.execute("DROP TABLE IF EXISTS _yy_profile_rows")
                report = self._import_staged(files, explicit, read)
                if linked:  # the links came first: the staged rules found them stored
                    report.identities_added += linked[0]
                    report.events_reassigned += linked[1]
                phases.lap("staged import (the batch repeats keys)")
            if con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = '_yy_profile_rows'").fetchall()[0][0]:
                records = con.execute("SELECT count(DISTINCT ord) FROM _yy_profile_rows").fetchall()[0][0]
                changed = users.apply_updates(con, "_yy_profile_rows")
                report.messages.append(Said("import.note.profile_records", records=f"{records:,}",
                                            changed=f"{changed:,}"))
        return report

    def _import_staged(self, files: list[str], explicit: dict[str, str], read: ReadOptions | None) -> ImportReport:
        """Stage the files, then store them (``events_keys.key_staged``): the path of batches that repeat keys."""
        con = self.con
        rows_read = 0
        for file_no, f in enumerate(files):
            rows_read += self._stage_event_file(f, file_no, explicit, read)
        import_checks.count_names(con, "SELECT event FROM _yy_staged", "_yy_read_names")
        near = import_checks.near_duplicate_events(con, "_yy_read_names")
        report = self._store_staged_events(rows_read, files)
        import_checks.describe_reads(report, files, near)
        return report

    def _stage_event_file(self, f: str, file_no: int, explicit: dict[str, str], read: ReadOptions | None) -> int:
        profiles = sensors_profiles(self.con, f, self.config.import_timezone, file_no, read)
        if profiles:
            skip, updates = profiles
            self.con.execute("CREATE TEMP TABLE IF NOT EXISTS _yy_profile_rows (id VARCHAR, key VARCHAR, "
                             "value VARCHAR, set_at TIMESTAMP, once BOOLEAN, ord BIGINT)")
            self.con.execute(f"INSERT INTO _yy_profile_rows {updates}")
        staged = stage_file(
            self.con, f, EVENT_COLUMNS, explicit_mapping=explicit,
            import_tz=self.config.import_timezone, staged_table="_yy_staged",
            row_checks=[("user_id IS NULL AND distinct_id IS NULL",
                         "user_id/distinct_id: missing (each event needs a user id or a distinct_id)")],
            file_no=file_no, skip=profiles[0] if profiles else None, read=read,
        )
        self._check_user_column(f, staged.mapping)
        return staged.rows

    @staticmethod
    def _check_user_column(f: str, mapping: dict[str, str]) -> None:
        if "user_id" not in mapping and "distinct_id" not in mapping:
            raise InputFileError(
                key="event_import.no_user_id_column", f=f
            )

    def ingest_events(self, events: pa.Table | None = None, *, merges: list[tuple[str, str]] = (),
                      source: str = "capture", meta: dict[str, str] | None = None,
                      profiles: pa.Table | None = None) -> ImportReport:
        """Store a batch of typed events and identity merges in one transaction, by the rules of file imports
        (identity links, de-duplication, identity resolution) — capture's way in.

        ``events`` has the columns of the ``events`` table (typed by ``model/typing.py``, as capture's
        normaliser does), and optionally ``__file``, an int numbering the batch's parts (requests): the k-th
        identical event of a part is the same event when the part comes again. ``merges`` are links
        ``(distinct_id, user_id)``; ``profiles`` are profile updates (``storage.users.UPDATE_SCHEMA``: id, key,
        JSON value, set_at, once), applied after the events and merges; ``meta`` entries are written in the same
        transaction (e.g. a watermark).
        The ``imports`` table gets one row per day for ``source``. The caller re-clusters when it likes."""
        self._check_writable()
        rows = events.num_rows if events is not None else 0
        with self._transaction("_yy_staged") as con:
            links = identities.insert_links(con, list(merges)) if merges else 0
            report = ImportReport("events", [source], 0, 0, 0)
            if rows:
                if "__file" not in events.column_names:
                    events = events.append_column("__file", pa.array([0] * rows, pa.int32()))
                con.register("_yy_batch", events)
                try:
                    con.execute("CREATE OR REPLACE TEMP TABLE _yy_staged AS SELECT * FROM _yy_batch")
                finally:
                    con.unregister("_yy_batch")
                report = self._store_staged_events(rows, [source], daily=True)
            if links:
                report.identities_added += links
                report.events_reassigned += self._apply_identities()
            if profiles is not None and profiles.num_rows:
                self._apply_profiles(profiles)
            for key, value in (meta or {}).items():
                self._set_meta(key, value)
        return report

    def _store_staged_events(self, rows_read: int, files: list[str], daily: bool = False,
                             one_part: bool = False) -> ImportReport:
        """Insert ``_yy_staged`` into ``events``: identity links of its rows, keys (de-duplication), final
        users; then the bookkeeping (events version, layout, ``imports``). ``one_part``: the rows are of one file
        and the table is empty (``events_keys.key_one_part``: no content hashing; users' first/last seen are not
        noted — a throwaway workspace for one analysis)."""
        con = self.con
        links = identities.insert_row_links(con, "_yy_staged")
        before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        if one_part:
            assert before == 0, "one_part keys are only unique in an empty table"
            (source, repeats), identical = events_keys.key_one_part(con, "_yy_staged"), 0
        else:
            source, identical, repeats = events_keys.key_staged(con, "_yy_staged", stored=before)
        # Sorting wide rows is most of an import's cost (≈ 1 µs a row on 2 cores): a batch too large to be
        # re-clustered anyway goes in as it is, and the sequence store (a sort of three narrow columns,
        # ≈ 10x cheaper) gives the sequence analyses their per-user order.
        # (one_part: a throwaway workspace for one analysis, whose scan sorts just the narrow rows it reads)
        ordered = rows_read <= self._recluster_limit() and not one_part
        events_keys.insert_keyed(con, source, dedup=bool(repeats), check_stored=bool(before), ordered=ordered)
        added = con.execute("SELECT count(*) FROM events").fetchall()[0][0] - before
        if added:
            import_checks.count_names(con, f"SELECT event FROM events WHERE rowid >= {before}", "_yy_new_names")
            import_checks.add_names(con, "_yy_new_names")
            con.execute("DROP TABLE _yy_new_names")
        reassigned = self._apply_identities() if links else 0
        if not one_part:
            users.note_staged_events(con, "_yy_staged")
        if added:
            self.renew_events_version()
        if (before or not ordered) and added:
            self._set_meta("clustered", "false")
        self._log_import("events", ", ".join(files), rows_read, added, daily)
        report = ImportReport("events", files, rows_read, added, rows_read - added, links, reassigned,
                              identical_rows=identical)
        if identical:
            report.messages.append(Said("import.note.identical_kept", n=f"{identical:,}"))
        return report
