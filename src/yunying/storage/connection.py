"""What every workspace connection shares: the DuckDB connection with yunying's settings, and the report of an
import (files read, rows added, warnings, seconds per phase)."""
from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from ..config import WorkspaceConfig
from ..errors import ConfigError, Said, Text, WorkspaceNotFound, restored, stored
from ..model.schema import events_ddl


@dataclass
class ImportReport:
    kind: str
    files: list[str]
    rows_read: int
    rows_added: int
    duplicates: int
    identities_added: int = 0
    events_reassigned: int = 0
    identical_rows: int = 0  # rows identical to an earlier row of their file, kept as separate events
    seconds: float = 0.0
    messages: list[str] = field(default_factory=list)  # English; a catalogue note is a Said (its .text)
    sources: list[dict] = field(default_factory=list)  # how each file was read: format, encoding, delimiter, sheet
    phases: dict[str, list[float]] = field(default_factory=dict)  # event files: [seconds, CPU seconds] a phase
    notes: list = field(default_factory=list)  # from JSON (to_dict): per message, its key and parameters or None

    def to_dict(self) -> dict:
        """Plain data; ``notes`` keeps each message's catalogue key and parameters (JSON text, ``errors.stored``),
        so a report sent by the server is said in the reader's language by the CLI."""
        out = dict(self.__dict__)
        out["messages"] = [str(m) for m in self.messages]
        out["notes"] = [stored(m.text) if isinstance(m, Said) else None for m in self.messages]
        return out

    def said(self) -> list:
        """Each message as a catalogue :class:`~yunying.errors.Text` when it is one, else its text."""
        notes = self.notes or []
        return [m.text if isinstance(m, Said) else (restored(notes[i]) if i < len(notes) and notes[i] else m)
                for i, m in enumerate(self.messages)]


def connect_duckdb(path: str | Path | None, read_only: bool = False,
                   config: WorkspaceConfig | None = None, spill: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the settings yunying relies on; ``spill``: the folder DuckDB spills into
    (``storage/tempfiles.py``; without it DuckDB picks ``.tmp`` in the current directory for in-memory work)."""
    options = {"temp_directory": str(spill)} if spill is not None else {}
    try:
        con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only, config=options)
    except duckdb.IOException as exc:
        raise WorkspaceNotFound(key="connection.cannot_open_database", path=path, exc=str(exc).splitlines()[0]) from None
    if config is not None:
        try:
            con.execute(f"SET memory_limit = '{config.memory_limit}'")
            if config.threads:
                con.execute(f"SET threads = {int(config.threads)}")
        except duckdb.Error as exc:
            raise ConfigError(key="connection.memory_limit_threads", exc=str(exc).splitlines()[0]) from None
    return configure_connection(con)


def events_ddl_for(con: duckdb.DuckDBPyConnection) -> str:
    """The ``events`` definition for ``con``'s database (``model.schema.events_ddl``): the event id compressed
    with ZSTD where the database's storage version is 1.2 or later (a database file made by DuckDB 2, or
    attached with such a ``STORAGE_VERSION``); DuckDB's default compression for an older storage version, which
    refuses ZSTD, and for an in-memory database (which reports no storage version)."""
    return events_ddl(uuid_zstd=_storage_version(con) >= (1, 2))


def _storage_version(con: duckdb.DuckDBPyConnection) -> tuple[int, ...]:
    """The storage version of ``con``'s current database (``tags['storage_version']``, e.g. ``v2.0.0+``);
    ``()`` where DuckDB reports none (in memory, or a DuckDB without the tag)."""
    try:
        tag = con.execute("SELECT tags['storage_version'] FROM duckdb_databases() "
                          "WHERE database_name = current_database()").fetchall()
    except duckdb.Error:
        return ()
    found = re.match(r"v(\d+)\.(\d+)", str(tag[0][0])) if tag and tag[0][0] else None
    return (int(found.group(1)), int(found.group(2))) if found else ()


def configure_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Per-connection settings analyses rely on (a cursor is a new connection and needs them too)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    # Same names as Spark's functions, so analyses call one builtin on every engine.
    con.execute("CREATE OR REPLACE TEMP MACRO from_utc_timestamp(ts, tz) AS timezone(tz, timezone('UTC', ts))")
    con.execute("CREATE OR REPLACE TEMP MACRO get_json_object(j, p) AS json_extract_string(j, p)")
    return con


_UNITS = {"": 1, "B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
          "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}


def size_bytes(text: str) -> int:
    """Bytes of a DuckDB size setting as DuckDB shows or takes it (``3.7 GiB``, ``4GB``, ``512 MiB``)."""
    m = re.fullmatch(r"\s*([0-9.]+)\s*([A-Za-z]*)\s*", text)
    if not m or m.group(2).upper() not in _UNITS:
        raise ValueError(Text("connection.size", text=text))
    return int(float(m.group(1)) * _UNITS[m.group(2).upper()])


@contextmanager
def memory_reserved(con: duckdb.DuckDBPyConnection, limit: int, reserve: int, floor: int = 512 * 2**20):
    """Within the block, DuckDB's ``memory_limit`` is ``limit`` bytes (the workspace's setting, or an outer
    block's) less ``reserve`` (not below ``floor``): room for what the process holds outside DuckDB (NumPy
    arrays, Python), so the whole process stays within ``limit``. Yields the lowered limit (for a nested block);
    ``limit`` is set again afterwards."""
    lowered = max(limit - reserve, floor)
    con.execute(f"SET memory_limit = '{lowered} bytes'")
    try:
        yield lowered
    finally:
        con.execute(f"SET memory_limit = '{limit} bytes'")
