"""A workspace: a folder with ``yunying.toml`` and an embedded DuckDB database.

Imports are transactional (all files of one import land, or none) and
idempotent (events de-duplicate on ``event_uuid``, else on a hash of their
content and occurrence number in their file — ``events_keys.py``; spend rows
replace the rows with the same date/channel/campaign/placement). Capture comes
in through :meth:`Workspace.ingest_events`, by the same rules; the event-writing
methods live in ``event_import.py``. Identity merges live in ``identities.py``.
Up to ``RECLUSTER_LIMIT`` events are kept clustered by ``user_id`` then ``ts``;
the sequence store gives the sequence analyses (funnels, paths, sessions) their
per-user order at any size (built by ``optimize``, or after an import by the first
analysis that reads it).
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
import weakref
import zoneinfo
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa

from . import event_import, events_keys, identities, import_checks, segments, users
from ..config import CONFIG_FILE, DATABASE_FILE, WorkspaceConfig
from ..errors import ConfigError, InputFileError, Said, WorkspaceNotFound, YunyingError
from ..model.ingest import expand_paths, stage_file
from ..model.readers import ReadOptions
from ..model.schema import ALL_DDL, EVENTS_DDL, IDENTITY_COLUMNS, SPEND_COLUMNS, USER_FILE_COLUMNS
from .connection import ImportReport, configure_connection, connect_duckdb, events_ddl_for
from .tempfiles import SpillDir


# Below this many events the table is simply rewritten in (user_id, ts) order
# after each import; above it, new rows are appended as they come, the sequence
# store (a narrow sort) serves the sequence analyses, and `optimize` re-clusters.
RECLUSTER_LIMIT = 30_000_000
# From this many events an import leaves the sequence store to the first analysis that reads it (the store is
# a cache: building it costs about 0.4x the import's CPU at 100M events).
LAZY_STORE_FROM = 30_000_000

log = logging.getLogger("yunying")


_engine_factory: Callable | None = None
_open_workspaces: "weakref.WeakSet[Workspace]" = weakref.WeakSet()


def interrupt_all() -> None:
    """Stop the statements running on every open workspace's connection (Ctrl-C / SIGTERM while DuckDB works:
    the statement fails with an interrupt, the caller unwinds and closes, removing its temporary files)."""
    for ws in list(_open_workspaces):
        try:
            if ws._con is not None:
                ws._con.interrupt()
        except Exception:  # noqa: BLE001 - closed meanwhile
            pass


def register_engine_factory(factory: Callable) -> None:
    """``factory(workspace, name or None) -> Engine``: registered by ``yunying.engines`` (and lazily by the
    ``yunying`` package), so storage never imports the engines above it."""
    global _engine_factory
    _engine_factory = factory


def _make_engine(workspace: "Workspace", name: str | None):
    if _engine_factory is None:
        raise YunyingError(key="workspace.no_query_engine_registered")
    return _engine_factory(workspace, name)


class Workspace(event_import.EventImports):
    """An opened workspace. Use :func:`yunying.open` or :meth:`Workspace.init`.

    >>> import yunying, tempfile
    >>> ws = yunying.Workspace.init(tempfile.mkdtemp())
    >>> ws.config.timezone
    'UTC'
    """

    sequence_store = True  # build the sequence store (a capture server's working copy does not)

    def __init__(self, path: str | Path | None, config: WorkspaceConfig, *, read_only: bool = False,
                 memory: bool = False):
        self.path = Path(path) if path else None
        self.config = config
        self.read_only = read_only
        #: the database file this workspace opens (None in memory or over a connection given to it)
        self.db_file = None if memory or self.path is None else self.path / DATABASE_FILE
        self._lock = threading.RLock()
        self._engine = None
        self._con = self._spill = None
        self._closed = False
        self._on_connect: list[str] = []
        if not (read_only and self.db_file.exists() if self.db_file is not None else False):
            self._connect()
        # else connected on first use: an analysis the sequence store answers needs no connection (store_stamp.py)
        _open_workspaces.add(self)
        if not read_only:
            for ddl in ALL_DDL:
                self.con.execute(events_ddl_for(self.con) if ddl == EVENTS_DDL else ddl)
            if self.meta("users_seen") is None:  # a workspace made before the users table: first/last seen
                with self._transaction():
                    users.backfill(self.con)
                    self._set_meta("users_seen", "1")
            if self.meta("event_names") is None:  # a workspace made before the event-name list
                with self._transaction():
                    import_checks.rebuild_names(self.con)
                    self._set_meta("event_names", "1")

    # -- lifecycle ----------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path, config: WorkspaceConfig | None = None, *, exist_ok: bool = False) -> "Workspace":
        path = Path(path)
        cfg_file = path / CONFIG_FILE
        if cfg_file.exists() and not exist_ok:
            raise ConfigError(key="workspace.already_yunying_workspace_exists", path=path, CONFIG_FILE=CONFIG_FILE)
        path.mkdir(parents=True, exist_ok=True)
        config = config or WorkspaceConfig(name=path.resolve().name or "yunying")
        if not cfg_file.exists():
            config.save(cfg_file)
        else:
            config = WorkspaceConfig.load(cfg_file)
        return cls(path, config)

    @classmethod
    def open(cls, path: str | Path = ".", *, read_only: bool = False) -> "Workspace":
        path = Path(path)
        cfg_file = path / CONFIG_FILE
        if not cfg_file.exists():
            raise WorkspaceNotFound(
                key="workspace.yunying_workspace_no_run", path=path.resolve(), CONFIG_FILE=CONFIG_FILE, path2=path
            )
        return cls(path, WorkspaceConfig.load(cfg_file), read_only=read_only)

    @classmethod
    def over_connection(cls, con: duckdb.DuckDBPyConnection, config: WorkspaceConfig,
                        path: str | Path | None = None) -> "Workspace":
        """A read-only Workspace over an existing connection (e.g. a server's cursor): no DDL, no new file."""
        ws = cls.__new__(cls)
        ws.path = Path(path) if path else None
        ws.config = config
        ws.read_only = True
        ws.db_file = None
        ws._con = configure_connection(con)
        ws._spill = None
        ws._closed = False
        ws._on_connect = []
        ws._lock = threading.RLock()
        ws._engine = None
        return ws

    @classmethod
    def in_memory(cls, config: WorkspaceConfig | None = None) -> "Workspace":
        """A throwaway workspace (used for ``--events FILE`` analyses)."""
        return cls(None, config or WorkspaceConfig(name="memory"), memory=True)

    def close(self) -> None:
        from .sequence_store import forget

        forget(self)
        if self._engine is not None and self._engine is not self:
            self._engine.close()
        self._engine = None
        _open_workspaces.discard(self)
        self._closed = True
        if self._con is not None:
            self._con.close()
        if self._spill is not None:
            self._spill.remove()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _connect(self) -> None:
        spill = SpillDir(None if self.db_file is None else self.path)
        try:
            con = connect_duckdb(self.db_file, read_only=self.read_only, config=self.config, spill=spill.path)
            for sql in self._on_connect:
                con.execute(sql)
        except BaseException:
            spill.remove()
            raise
        self._spill, self._con = spill, con

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection (a read-only workspace connects on first use)."""
        if self._con is None:
            with self._lock:
                if self._closed:
                    raise duckdb.ConnectionException("Connection already closed!")
                if self._con is None:
                    self._connect()
        return self._con

    @con.setter
    def con(self, value: duckdb.DuckDBPyConnection) -> None:
        self._con = value

    def on_connect(self, sql: str) -> None:
        """Run a setting statement on the connection: now when connected, else when it connects."""
        with self._lock:
            if self._con is not None:
                self._con.execute(sql)
            else:
                self._on_connect.append(sql)

    @property
    def lock(self) -> threading.RLock:
        """The lock every use of the connection holds (it is shared between threads); re-entrant."""
        return self._lock

    # -- engines --------------------------------------------------------------
    @property
    def engine(self):
        """The query engine configured in ``yunying.toml`` (DuckDB unless set to spark)."""
        if self._engine is None:
            self._engine = _make_engine(self, None)
        return self._engine

    def use_engine(self, name: str):
        """Switch engines for this session (``duckdb`` or ``spark``)."""
        if self._engine is not None:
            self._engine.close()
        self._engine = _make_engine(self, name)
        return self._engine

    # -- facts ------------------------------------------------------------------
    def meta(self, key: str, default: str | None = None) -> str | None:
        rows = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else default

    def _set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def renew_events_version(self) -> str:
        """Mark the events as changed: a new ``events_version`` token (what the sequence store is keyed on)."""
        token = uuid.uuid4().hex
        self._set_meta("events_version", token)
        return token

    @property
    def clustered(self) -> bool:
        return self.meta("clustered", "true") == "true"

    def data_span(self) -> tuple[dt.datetime, dt.datetime] | None:
        """The local times (naive, in the workspace's time zone) of its first and last events, in one query; None
        without events, or when the events are not in a table (``--events FILE`` read into a sequence store). A
        period ending after the last is not over (reports/figures.py#incomplete), one ending before the first has
        no data (reports/view_periods.py#mark_before_data): the CLI's tables and the dashboard mark them. A server
        reads it on its own cursor (``Workspace.over_connection``)."""
        try:
            lo, hi = self.con.execute("SELECT min(ts), max(ts) FROM events").fetchall()[0]
        except duckdb.Error:  # the events table made unreadable by adhoc.file_store: no mark, nothing else changes
            return None
        if hi is None:
            return None
        zone = zoneinfo.ZoneInfo(self.config.timezone or "UTC")
        return tuple(ts.replace(tzinfo=dt.timezone.utc).astimezone(zone).replace(tzinfo=None) for ts in (lo, hi))

    def counts(self) -> dict:
        one = lambda q: self.con.execute(q).fetchall()[0][0]  # noqa: E731
        return {
            "events": one("SELECT count(*) FROM events"),
            "users": one("SELECT count(DISTINCT user_id) FROM events"),
            "spend_rows": one("SELECT count(*) FROM spend"),
            "identities": one("SELECT count(*) FROM identities"),
            "first_event": str(one("SELECT min(ts) FROM events")),
            "last_event": str(one("SELECT max(ts) FROM events")),
        }

    def _check_writable(self):
        if self.read_only:
            raise YunyingError(key="workspace.workspace_was_opened_read")

    @contextmanager
    def _transaction(self, *temp_tables: str):
        """One write: under the lock, BEGIN … COMMIT, ROLLBACK on any error (a failed import changes
        nothing); the named temp tables are dropped either way."""
        con = self.con
        with self._lock:
            con.execute("BEGIN TRANSACTION")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            finally:
                for table in temp_tables:
                    con.execute(f"DROP TABLE IF EXISTS {table}")

    # -- imports (events: ``event_import.EventImports``) ------------------------------
    def _log_import(self, kind: str, source: str, rows_read: int, added: int, daily: bool = False) -> None:
        """A row of the ``imports`` table; ``daily``: added to today's row of the same source if there is one
        (capture ingests many small batches)."""
        con = self.con
        if daily:
            today = con.execute(
                "SELECT max(id) FROM imports WHERE kind = ? AND source = ? "
                "AND CAST(imported_at AS DATE) = CAST(current_localtimestamp() AS DATE)", [kind, source]
            ).fetchall()[0][0]
            if today is not None:
                con.execute("UPDATE imports SET rows_read = rows_read + ?, rows_added = rows_added + ? WHERE id = ?",
                            [rows_read, added, today])
                return
        con.execute("INSERT INTO imports (id, kind, source, rows_read, rows_added) VALUES "
                    "((SELECT coalesce(max(id), 0) + 1 FROM imports), ?, ?, ?, ?)",
                    [kind, source[:2000], rows_read, added])

    def _apply_identities(self, events: str = "true") -> int:
        """Resolve identity links and move the events of merged ids (of the events meeting the SQL condition
        ``events``; see ``storage/identities.py``)."""
        moved = identities.resolve(self.con, events)
        users.merge_aliases(self.con)
        if moved:
            self.renew_events_version()
            self._set_meta("clustered", "false")
        return moved

    def identify(self, pairs: list[tuple[str, str]]) -> int:
        """Merge anonymous ids into users: ``[(distinct_id, user_id), …]``. Returns events reassigned."""
        self._check_writable()
        with self._transaction() as con:
            n = self._apply_identities() if identities.insert_links(con, pairs) else 0
        self._maybe_recluster()
        return n

    def import_identities(self, files: list[str] | str, *, read: ReadOptions | None = None) -> ImportReport:
        self._check_writable()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        with self._transaction("_yy_staged") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            rows = 0
            for file_no, f in enumerate(files):
                rows += stage_file(con, f, IDENTITY_COLUMNS, explicit_mapping=None, import_tz="UTC",
                                   staged_table="_yy_staged", extras_to=None, file_no=file_no, read=read).rows
            added = identities.insert_staged_links(con, "_yy_staged")
            moved = self._apply_identities() if added else 0
        rep = ImportReport("identities", files, rows, added, rows - added, added, moved)
        import_checks.describe_reads(rep, files)
        self._maybe_recluster(rep)
        return rep

    def _apply_profiles(self, updates: pa.Table) -> int:
        updates = updates.select(users.UPDATE_SCHEMA.names).cast(users.UPDATE_SCHEMA)
        updates = updates.append_column("ord", pa.array(range(updates.num_rows), pa.int64()))
        self.con.register("_yy_profile_batch", updates)
        try:
            return users.apply_updates(self.con, "_yy_profile_batch")
        finally:
            self.con.unregister("_yy_profile_batch")

    def set_profiles(self, updates: pa.Table, *, source: str = "api") -> ImportReport:
        """Apply profile updates (``storage.users.UPDATE_SCHEMA``: id, key, JSON value, set_at, once) in one
        transaction — the public way in for profile properties (``$set`` / ``$set_once`` / identify traits)."""
        self._check_writable()
        with self._transaction() as con:
            changed = self._apply_profiles(updates)
            self._log_import("users", source, updates.num_rows, changed, daily=True)
        return ImportReport("users", [source], updates.num_rows, changed, updates.num_rows - changed)

    def import_users(self, files: list[str] | str, *, once: bool = False,
                     mapping: dict[str, str] | None = None, read: ReadOptions | None = None) -> ImportReport:
        """Import user profile files (a user id column and property columns) in one transaction. Each non-empty
        cell sets that property (``once``: only where the user has no value yet); re-importing changes nothing.
        ``rows_added`` counts the property values that changed."""
        import datetime as _dt

        self._check_writable()
        t0 = time.perf_counter()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        with self._transaction("_yy_staged", "_yy_profile_rows") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            rows = 0
            for file_no, f in enumerate(files):
                rows += stage_file(con, f, USER_FILE_COLUMNS, explicit_mapping=mapping, import_tz="UTC",
                                   staged_table="_yy_staged", file_no=file_no, read=read,
                                   row_checks=[("user_id IS NULL", "user_id: missing (each row needs a user id)")]).rows
            now = _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None)
            con.execute("CREATE TEMP TABLE _yy_profile_rows AS " + users.stage_file_updates("_yy_staged", once, now))
            changed = users.apply_updates(con, "_yy_profile_rows")
            self._log_import("users", ", ".join(files), rows, changed)
        rep = ImportReport("users", files, rows, changed, 0)
        import_checks.describe_reads(rep, files)
        rep.seconds = time.perf_counter() - t0
        return rep

    # -- segments (definitions and members; evaluation is analyses/segments.py) -------------------------
    def segment(self, name: str) -> dict | None:
        return segments.get(self.con, name)

    def segments(self) -> list[dict]:
        return segments.all_(self.con)

    def save_segment(self, name: str, *, kind: str, rule: str | None = None, description: str | None = None,
                     static_ids=None, members=None, replace: bool = False) -> None:
        """Store a segment in one transaction: its definition, a static segment's ids, and its members as
        evaluated (``segment_members``)."""
        self._check_writable()
        if not name or not name.strip() or len(name) > 200:
            raise YunyingError(key="workspace.segment_name_expected_1")
        with self._transaction():
            segments.save(self.con, name, kind, rule, description, replace=replace)
            if static_ids is not None:
                segments.set_static(self.con, name, static_ids)
                if members is None:
                    members = segments.static_ids(self.con, name)
            if members is not None:
                segments.set_members(self.con, name, members)

    def set_segment_members(self, name: str, members) -> None:
        self._check_writable()
        with self._transaction():
            segments.set_members(self.con, name, members)

    def read_user_ids(self, files: list[str] | str) -> list[str]:
        """The user ids of id-list files (a user id column; other columns ignored), checked like an import."""
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        with self._transaction("_yy_staged") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            for file_no, f in enumerate(files):
                stage_file(con, f, USER_FILE_COLUMNS[:1], explicit_mapping=None, import_tz="UTC",
                           staged_table="_yy_staged", extras_to=None, file_no=file_no,
                           row_checks=[("user_id IS NULL", "user_id: missing (each row needs a user id)")])
            return [r[0] for r in con.execute("SELECT DISTINCT user_id FROM _yy_staged").fetchall()]

    def segment_static_ids(self, name: str) -> list[str]:
        return segments.static_ids(self.con, name)

    def delete_segment(self, name: str) -> bool:
        self._check_writable()
        with self._transaction():
            return segments.delete(self.con, name)

    def import_spend(self, files: list[str] | str, *, mapping: dict[str, str] | None = None,
                     read: ReadOptions | None = None) -> ImportReport:
        """Import spend files. A row replaces the stored row with the same date, channel, campaign and placement."""
        self._check_writable()
        t0 = time.perf_counter()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        explicit = {**self.config.columns, **(mapping or {})}
        with self._transaction("_yy_staged", "_yy_dedup") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            rows = 0
            for file_no, f in enumerate(files):
                rows += stage_file(
                    con, f, SPEND_COLUMNS, file_no=file_no, explicit_mapping=explicit, import_tz="UTC",
                    staged_table="_yy_staged", extras_to=None, read=read,
                    row_checks=[("cost < 0", "cost: expected a non-negative amount"),
                                ("impressions < 0 OR reads < 0 OR clicks < 0",
                                 "impressions/reads/clicks: expected non-negative counts")],
                ).rows
            con.execute("CREATE OR REPLACE TEMP TABLE _yy_dedup AS SELECT DISTINCT * EXCLUDE (__file, __problem) FROM _yy_staged")
            clash = con.execute(
                "SELECT date, channel, campaign, placement, count(*) FROM _yy_dedup GROUP BY ALL "
                "HAVING count(*) > 1 LIMIT 3").fetchall()
            if clash:
                d, ch, ca, pl, n = clash[0]
                raise InputFileError(
                    key="workspace.different_rows_date_channel", files=', '.join(files), n=n, d=d, ch=ch, ca=ca, pl=pl)
            con.execute("UPDATE _yy_dedup SET currency = coalesce(currency, ?)", [self.config.currency])
            replaced = con.execute(
                "DELETE FROM spend USING _yy_dedup d WHERE spend.date = d.date AND spend.channel = d.channel "
                "AND coalesce(spend.campaign, '') = coalesce(d.campaign, '') "
                "AND coalesce(spend.placement, '') = coalesce(d.placement, '')").fetchall()[0][0]
            con.execute("INSERT INTO spend SELECT * FROM _yy_dedup ORDER BY date, channel, campaign, placement")
            added = con.execute("SELECT count(*) FROM _yy_dedup").fetchall()[0][0]
            self._log_import("spend", ", ".join(files), rows, added - replaced)
        rep = ImportReport("spend", files, rows, added - replaced, rows - (added - replaced))
        import_checks.describe_reads(rep, files)
        rep.seconds = time.perf_counter() - t0
        if replaced:
            rep.messages.append(Said("import.note.spend_replaced", n=f"{replaced:,}"))
        if rows > added:
            rep.messages.append(Said("import.note.spend_identical", n=f"{rows - added:,}"))
        return rep

    # -- layout ------------------------------------------------------------------------
    @staticmethod
    def _recluster_limit() -> int:
        return RECLUSTER_LIMIT

    def _maybe_recluster(self, report: ImportReport | None = None, progress: Callable | None = None) -> None:
        """After a write: re-sort a small workspace's events; build its sequence store at once below
        ``LAZY_STORE_FROM`` events (the first analysis answers at full speed), and from there on only ask for it
        (``sequence_store.want``): the first analysis that reads it builds it, so a large import ends sooner."""
        from . import sequence_store as store

        n = self.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        lazy = n >= LAZY_STORE_FROM
        if self.clustered or n > RECLUSTER_LIMIT:
            store.want(self) if lazy else self.refresh_sequence_store(progress=progress)
        else:
            self.optimize(progress, build_store=not lazy)
            if lazy:
                store.want(self)
        if report is not None and not self.clustered and n > RECLUSTER_LIMIT:
            # Too many to re-sort after every import: the sequence store keeps the analyses fast.
            report.messages.append(Said("import.note.not_clustered"))
        if report is not None and lazy and store.wanted(self):
            report.messages.append(Said("import.note.store_lazy"))

    def optimize(self, progress: Callable[[str], None] | None = None, *, build_store: bool = True) -> None:
        """Rewrite events in (user_id, ts) order, then build the sequence store (``build_store``; an import
        leaves it to the first analysis)."""
        self._check_writable()
        if progress:
            progress(Said("optimize.stage.sorting"))
        with self._transaction() as con:
            events_keys.rewrite_sorted(con)  # keeps the table's definition (a CREATE … AS would drop it)
            self._set_meta("clustered", "true")
            self.renew_events_version()
        self.con.execute("CHECKPOINT")
        if build_store:
            self.refresh_sequence_store(progress=progress)

    def refresh_sequence_store(self, force: bool = False,
                               progress: Callable[[str], None] | None = None) -> bool:
        """Build the sequence store (``.sequences/`` beside the database; see ``storage/sequence_store.py``) if it
        is missing or stale, from ``store.MIN_ROWS`` events on unless ``force``. Returns whether it was built."""
        from . import sequence_store as store

        if self.path is None or self.read_only or not self.sequence_store:
            return False
        if not force and store.fingerprint(self)[1] < store.MIN_ROWS:
            return False
        if store.open_store(self) is not None:
            return False
        if progress:
            progress(Said("optimize.stage.store"))
        try:
            store.build_store(self)
        except store.StoreUnavailable:
            return False
        except Exception as exc:  # noqa: BLE001 - a cache: the data is committed, analyses read DuckDB meanwhile
            log.warning("could not build the sequence store in %s: %s", self.path, exc)
            return False
        return True

