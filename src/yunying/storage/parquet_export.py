"""The workspace's events as date-partitioned Parquet, exported incrementally (what the Spark engine reads).

Layout (Hive-style, read by Spark, pyarrow.dataset, DuckDB, Polars …)::

    DIR/event_date=2026-06-01/part-<uuid>.parquet
    DIR/event_date=2026-06-02/part-<uuid>.parquet
    DIR/_yunying_manifest.json      (ignored by readers: its name starts with "_")

``event_date`` is the UTC date of ``ts``. Each file holds the columns of the ``events`` table except the
internal ``event_key``, sorted by (user_id, ts).

Incremental: the manifest keeps a fingerprint of every exported date (row count and sums of hashes of
the event keys and user ids). An export computes the fingerprints of the stored events (one scan of two
narrow columns) and writes only the dates that are new or changed - an import of new days writes those
days' folders and nothing else; a date that received events, or whose events moved to another user by an
identity merge, is written again whole; a date with no events left is removed. Files of unchanged dates
are not touched. A failed export leaves the manifest as it was, so the next export redoes what is missing.
"""
from __future__ import annotations

import json
import os
import shutil
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST = "_yunying_manifest.json"
PARTITION = "event_date"
_LOCK = threading.Lock()  # one export at a time in this process (capture landing, Spark engines of queries)


@dataclass
class ExportReport:
    written: list[str] = field(default_factory=list)   # dates (ISO) written (new or changed)
    removed: list[str] = field(default_factory=list)   # dates whose folder was removed (no events left)
    unchanged: int = 0                                 # dates left as they were
    files: list[str] = field(default_factory=list)     # files written, relative to the export folder


def fingerprints(con) -> dict[str, str]:
    """``{date: fingerprint}`` of the stored events, per UTC date of ``ts``."""
    rows = con.execute(
        # an event with an id has key 0 (``events_keys``): its id stands in; rows stored with a key before keep
        # their fingerprint
        "SELECT CAST(CAST(ts AS DATE) AS VARCHAR), count(*)::VARCHAR || ':' || "
        "sum(CASE WHEN event_key = 0 THEN hash(event_uuid) ELSE hash(event_key) END)::VARCHAR "
        "|| ':' || sum(hash(user_id))::VARCHAR FROM events GROUP BY 1"
    ).fetchall()
    return dict(rows)


def export_events(con, folder: Path | str) -> ExportReport:
    """Bring ``folder`` up to date with the ``events`` table of ``con`` (see the module doc)."""
    with _LOCK:
        return _export(con, Path(folder))


def _export(con, folder: Path) -> ExportReport:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    manifest_path = folder / MANIFEST
    old = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    new = fingerprints(con)
    report = ExportReport()
    changed = sorted(d for d, fp in new.items() if old.get(d) != fp or not (folder / f"{PARTITION}={d}").is_dir())
    report.removed = sorted(d for d in old if d not in new)
    report.unchanged = len(new) - len(changed)
    if changed:
        staging = folder / f"_staging-{uuid.uuid4().hex}"
        try:
            dates = ", ".join(f"DATE '{d}'" for d in changed)
            con.execute(
                f"COPY (SELECT * EXCLUDE (event_key), CAST(ts AS DATE) AS {PARTITION} FROM events "
                f"WHERE CAST(ts AS DATE) IN ({dates}) ORDER BY {PARTITION}, user_id, ts) "
                f"TO '{staging}' (FORMAT parquet, PARTITION_BY ({PARTITION}), FILENAME_PATTERN 'part-{{uuid}}')"
            )
            for d in changed:
                src, dst = staging / f"{PARTITION}={d}", folder / f"{PARTITION}={d}"
                if dst.exists():
                    shutil.rmtree(dst)
                os.replace(src, dst)
                report.files += sorted(f"{dst.name}/{p.name}" for p in dst.iterdir())
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for d in report.removed:
        shutil.rmtree(folder / f"{PARTITION}={d}", ignore_errors=True)
    report.written = changed
    if changed or report.removed or old != new:
        tmp = folder / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(new, sort_keys=True))
        os.replace(tmp, manifest_path)
    return report


#: the workspace's other tables a Spark engine reads, as single Parquet files (``name: SELECT``)
TABLES = {
    "spend": "SELECT * FROM spend",
    "identities": "SELECT distinct_id, user_id FROM identities",
    "users": "SELECT * FROM users",                      # profiles (docs/users.md): user.PROP filters, --by
    "segment_members": "SELECT * FROM segment_members",  # segments' members: segment filters, --by segment:
    "segment_static": "SELECT * FROM segment_static",    # static segments' ids: "in segment S" in a rule
}
TABLES_STAMP = "tables.json"


def export_tables(con, base: Path, names) -> dict[str, str]:
    """Single-file Parquet copies ``base/NAME.parquet`` of the tables ``names`` (keys of :data:`TABLES`) that the
    database has, each rewritten only when its fingerprint (row count, sum of row hashes) changed since the
    last export; returns ``{name: path}`` of those exported. Tables the database lacks are left out."""
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    have = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    stamp = base / TABLES_STAMP
    try:
        old = json.loads(stamp.read_text())
    except (OSError, ValueError):
        old = {}
    new, out = dict(old), {}
    for name in names:
        if name not in have:
            continue
        select, path = TABLES[name], base / f"{name}.parquet"
        fingerprint = list(con.execute(f"SELECT count(*), coalesce(sum(hash(q)), 0)::VARCHAR FROM ({select}) q")
                           .fetchall()[0])
        if old.get(name) != fingerprint or not path.exists():
            tmp = base / f".{name}.{uuid.uuid4().hex}.parquet"
            con.execute(f"COPY ({select}) TO '{str(tmp).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")
            os.replace(tmp, path)
        new[name] = fingerprint
        out[name] = str(path)
    stamp.write_text(json.dumps(new))
    return out
