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
"""
from __future__ import annotations

from ..model.ingest import detect_format, sensors_profiles, stage_file
from ..model.schema import EVENT_COLUMNS

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
        raise ValueError(f"not event columns: {sorted(unknown)}")
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
