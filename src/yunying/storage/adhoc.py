"""The narrow import behind ``--events FILE`` analyses: only the columns the analysis reads.

A funnel or a retention table on a file reads each event's user ids, name and time. A full import would also
type every other column, fold them into ``properties``, hash every row's whole content for de-duplication and
carry the wide rows through the insert — most of the work, for columns the answer never looks at. Here:

* the file's columns are mapped exactly as a full import maps them (``model/mapping.py``), then only the
  asked-for canonical columns (always ``user_id``, ``distinct_id``, ``event``, ``ts`` and ``event_uuid``) are
  read, typed and checked, with the same rules and the same error messages and row numbers;
* keys: of one file, identical rows without an ``event_uuid`` are separate events in a full import too, so no
  content hash is needed (``events_keys.key_one_part``); rows with an ``event_uuid`` de-duplicate on it;
* identity links and the final user of each event follow the same SQL as a full import; rows are appended
  unsorted (the workspace is marked unclustered), and the analysis's scan sorts the narrow rows it reads —
  cheaper than sorting every row on the way in.

The result for those columns is the events table a full import builds. It applies to one file (several files
could repeat each other's rows, which only their content keys can tell) in an empty workspace; otherwise, and
for 神策 files with profile records, the caller does a full import.

Funnels and retention without property columns (what ``--events FILE`` runs most) skip even that table:
:func:`load_events` builds a sequence store straight from the file (``adhoc_parquet.py``: one PyArrow read of
a Parquet file it can type exactly as an import; else ``adhoc_store.py``: two DuckDB reads of any file), and
the events and identities tables of the throwaway workspace become views that refuse to be read, so nothing
can see them empty by mistake (the identity links are resolved into the store's users).
"""
from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import duckdb

from ..model.ingest import detect_format, expand_paths, sensors_profiles, stage_file
from ..model.schema import EVENT_COLUMNS
from ..errors import Text
from .adhoc_memory import heap_reused

ALWAYS = ("user_id", "distinct_id", "event", "ts", "event_uuid")


def narrow_import(ws, files: list[str], mapping: dict[str, str] | None, columns: tuple[str, ...]):
    """Import ``files`` into the empty workspace ``ws`` keeping only ``columns``; None when this does not apply
    (several files, a non-empty workspace, 神策 profile records): then import in full."""
    if len(files) != 1 or ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0]:
        return None
    f = files[0]
    if detect_format(f, strict=False) == "json" and sensors_profiles(ws.con, f, ws.config.import_timezone, 0):
        return None
    keep = set(ALWAYS) | set(columns)
    unknown = keep - {c.name for c in EVENT_COLUMNS}
    if unknown:
        raise ValueError(Text("adhoc.event_columns", unknown=sorted(unknown)))
    explicit = {**ws.config.columns, **(mapping or {})}
    with ws._transaction("_yy_staged"):
        ws.con.execute("DROP TABLE IF EXISTS _yy_staged")
        staged = stage_file(
            ws.con, f, EVENT_COLUMNS, explicit_mapping=explicit, import_tz=ws.config.import_timezone,
            staged_table="_yy_staged", columns=keep,
            row_checks=[("user_id IS NULL AND distinct_id IS NULL",
                         "user_id/distinct_id: missing (each event needs a user id or a distinct_id)")])
        ws._check_user_column(f, staged.mapping)
        report = ws._store_staged_events(staged.rows, [f], one_part=True)
    return report  # not re-clustered: each analysis's scan sorts the few narrow columns it reads


def load_events(ws, path: str, columns: tuple[str, ...] | None) -> None:
    """Fill the empty in-memory workspace ``ws`` from the events file ``path`` for an analysis reading
    ``columns`` beyond users, names and times (None: any): a sequence store built from the file when no column
    is asked for and the file allows it, else the narrow or full import."""
    if columns == () and file_store(ws, path) is not None:
        return
    ws.import_events([path], columns=columns)


def file_store(ws, path: str, mapping: dict[str, str] | None = None):
    """Build ``ws``'s sequence store straight from one events file (``adhoc_store.py``) and make the events
    table unreadable; None (nothing changed) when that does not apply: several files, 神策 profile records, a
    bad row (the import then names it), a hash shared by two ids."""
    from . import adhoc_parquet, adhoc_store

    files = expand_paths([path])
    con = ws.con
    if len(files) != 1 or ws._spill is None or con.execute(
            "SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM identities)").fetchall()[0][0]:
        return None
    f = files[0]
    if detect_format(f, strict=False) == "json" and sensors_profiles(con, f, ws.config.import_timezone, 0):
        return None
    typed, mapped, fast = _typed_rows(con, f, ws.config.columns, ws.config.import_timezone)
    ws._check_user_column(f, mapped)
    with ws.lock:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
        folder = Path(ws._spill.path) / "file-store"
        try:
            st = None
            if fast is not None:
                # DuckDB's share beside the file's columns in memory (it only resolves identities here)
                con.execute(f"SET memory_limit = '{adhoc_parquet.DUCKDB_MEMORY}'")
                with _gc_paused():
                    st = adhoc_parquet.build(ws, fast)
            if st is None:
                # DuckDB's share while the store is built (the rest: the batches, a partition, the mapped store)
                con.execute(f"SET memory_limit = '{adhoc_store.DUCKDB_MEMORY}'")
                with heap_reused():
                    st = adhoc_store.build(ws, typed, folder)
        except duckdb.Error:
            st = None  # the import reads the file again and says what is wrong with it
        finally:
            con.execute(f"SET memory_limit = '{limit}'")
        if st is None:
            con.execute("DELETE FROM identities")
            return None
        ws.file_store = st
        for table, what in (("events", "events"), ("identities", "identity links")):
            con.execute(f"ALTER TABLE {table} RENAME TO _yy_{table}_unread")
            con.execute(f"CREATE VIEW {table} AS SELECT e.* FROM (SELECT * FROM range(1) WHERE error("
                        f"'the {what} of --events FILE were read into a sequence store for this analysis, not into "
                        f"a table') IS NULL) r, _yy_{table}_unread e")
    return st


@contextlib.contextmanager
def _gc_paused():
    """Python's cyclic garbage collector off while the store is built: the build makes no reference cycles,
    but its many small objects (batches, dictionaries, names) set off collections that walk every object the
    imports made (measured: 200+ collections, ≈ 10% of the reading's CPU at 10M events). On again after."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _typed_rows(con, f: str, explicit: dict[str, str], import_tz: str):
    """The file typed as an import types it (only the columns a store needs): ``adhoc_store.Typed`` (the
    scan, each column's typing SQL, the SQL of "this row has a problem an import refuses"), the mapping, and the
    plan of ``adhoc_parquet`` when PyArrow can read the file exactly so (else None)."""
    from ..model import readers
    from ..model.ingest import _q, _typed_select, describe_source
    from ..model.mapping import map_columns
    from .adhoc_store import Typed

    from .adhoc_parquet import plan

    plain, types = describe_source(con, f, None, EVENT_COLUMNS)
    mapping = map_columns(list(types), EVENT_COLUMNS, explicit, file=f)
    src, types, mapping = readers.lift_properties(con, f, plain, types, mapping, EVENT_COLUMNS, explicit)
    schema = tuple(c for c in EVENT_COLUMNS if c.name in ALWAYS)
    mapping = {k: v for k, v in mapping.items() if k in ALWAYS}
    types = {k: v for k, v in types.items() if k in mapping.values()}
    typed = _typed_select(schema, mapping, types, import_tz, None)
    exprs = {c.name: sel.rsplit(" AS ", 1)[0] for c, sel in zip(schema, typed[0])}
    users = [_q(mapping[c]) for c in ("user_id", "distinct_id") if c in mapping]
    fast = plan(f, src, plain, mapping, types, exprs, import_tz)
    return Typed(src, exprs, f"coalesce(({typed[1]}) <> '', false)", users), mapping, fast
