"""Whether the sequence store is current, answered from the files' metadata alone.

The sequence store (``sequence_store.py``) is read only while it matches the events in the database: its
``events_version`` token and row count are the database's. Asking DuckDB means importing it, opening the
database and querying it before every analysis. A *stamp* beside the store (``fresh.json`` in the store's
folder) records, after DuckDB said the store matches, the identity of the database's files as they were
then - for the database file and its write-ahead log (``<database>.wal``): device, inode, size, modification
and change time, or that the file did not exist. A database's files are its whole committed state, so while
none of them changed DuckDB would give the same answer: a process that finds them as the stamp says reads the
store without asking it.

Why a stale store is never read:

* every commit writes the log (or, checkpointed, the database file; a checkpoint removes the log), which
  changes its size or its change time; a database replaced by another file has another inode or change time;
* a file's change time (ctime) is set by the operating system to the current time on every write and cannot
  be set by a program (``touch`` sets the modification time only); a stamp records only files whose change and
  modification times are at least ``SETTLE_NS`` older than the moment DuckDB was asked, so any later write
  gives a different time even where the file system's clock ticks coarsely (2 s on FAT);
* the stamp is written only when the files were the same before and after DuckDB was asked (nothing was
  committed meanwhile), it names the store's build id and lives in the store's folder (a rebuilt store, moved
  into place as a new folder, has none);
* a process that crashes between a commit and anything else leaves the stamp of the files before the commit
  (which no longer match) or none; a stamp that cannot be read or written, or anything odd: DuckDB is asked.

Standard library only.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

STORE_DIR = ".sequences"   # the store's folder in the workspace (``sequence_store.py``)
STAMP = "fresh.json"
SETTLE_NS = 2_000_000_000   # files changed more recently than this are not stamped (coarse file system clocks)


def identity(db_file: Path) -> list | None:
    """What the stamp records of the database file and its write-ahead log: ``[device, inode, size, mtime_ns,
    ctime_ns]`` each, or None for a file that does not exist; None when a file cannot be examined."""
    out = []
    for f in (db_file, db_file.with_name(db_file.name + ".wal")):
        try:
            s = os.stat(f)
        except FileNotFoundError:
            out.append(None)
            continue
        except OSError:
            return None
        out.append([s.st_dev, s.st_ino, s.st_size, s.st_mtime_ns, s.st_ctime_ns])
    return out if out[0] is not None else None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def vouched(store_dir: Path, db_file: Path | None = None) -> dict | None:
    """The store's ``meta.json`` when its stamp says the store matches the database ``db_file`` (by default the
    file the stamp names beside the store) as its files are now; else None (no stamp, another build, another
    database, a file changed: ask DuckDB)."""
    stamp, meta = _read_json(store_dir / STAMP), _read_json(store_dir / "meta.json")
    if not isinstance(stamp, dict) or not isinstance(meta, dict) or not meta.get("id"):
        return None
    if [stamp.get(k) for k in ("id", "version", "rows")] != [meta.get(k) for k in ("id", "version", "rows")]:
        return None
    if db_file is None:
        name = stamp.get("db")
        if not isinstance(name, str) or not name or os.sep in name or name.startswith("."):
            return None
        db_file = store_dir.parent / name
    now = identity(db_file)  # the same device and inode: the same file, whatever path it was reached by
    return meta if now is not None and stamp.get("files") == now else None


def write(store_dir: Path, meta: dict, before: list | None, db_file: Path) -> bool:
    """Stamp the store as matching the database (DuckDB has just said so; ``before``: :func:`identity` taken
    before it was asked). Not when a file changed meanwhile or too recently; failures are ignored (a read-only
    folder: DuckDB is asked each time). Returns whether a stamp was written."""
    if before is None or identity(db_file) != before or not meta.get("id"):
        return False
    settled = time.time_ns() - SETTLE_NS
    if any(f is not None and max(f[3], f[4]) > settled for f in before):
        return False
    stamp = {k: meta.get(k) for k in ("id", "version", "rows")}
    stamp.update(db=db_file.name, files=before)
    tmp = store_dir / f".{STAMP}.{os.getpid()}-{threading.get_ident()}"
    try:
        tmp.write_text(json.dumps(stamp))
        if _read_json(store_dir / "meta.json") != meta:  # the folder was replaced meanwhile: not this build's
            tmp.unlink()
            return False
        os.replace(tmp, store_dir / STAMP)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass
        return False
    return True
