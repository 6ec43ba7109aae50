"""A workspace: a folder with ``yunying.toml`` and an embedded DuckDB database.

Imports are transactional (all files of one import land, or none) and
idempotent (events de-duplicate on ``event_uuid``, else on a hash of their
content; spend rows replace the rows with the same date/channel/campaign/
placement). Events are kept clustered by ``user_id`` then ``ts`` so sequence
analyses (funnels, paths, sessions) read them in order without a global sort.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import duckdb

from .config import CONFIG_FILE, DATABASE_FILE, WorkspaceConfig
from .errors import ConfigError, InputFileError, WorkspaceNotFound, YunyingError
from .model.ingest import expand_paths, stage_file
from .model.schema import ALL_DDL, EVENT_COLUMNS, IDENTITY_COLUMNS, SPEND_COLUMNS

# Below this many events the table is simply rewritten in (user_id, ts) order
# after each import; above it, new rows are appended as they come, the sequence
# store (a narrow sort) serves the sequence analyses, and `optimize` re-clusters.
RECLUSTER_LIMIT = 30_000_000

log = logging.getLogger("yunying")

_CONTENT_COLS = [c.name for c in EVENT_COLUMNS if c.name not in ("user_id",)]


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
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def connect_duckdb(path: str | Path | None, read_only: bool = False,
                   config: WorkspaceConfig | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the settings yunying relies on."""
    try:
        con = duckdb.connect(str(path) if path else ":memory:", read_only=read_only)
    except duckdb.IOException as exc:
        raise WorkspaceNotFound(f"cannot open database {path}: {str(exc).splitlines()[0]}") from None
    if config is not None:
        try:
            con.execute(f"SET memory_limit = '{config.memory_limit}'")
            if config.threads:
                con.execute(f"SET threads = {int(config.threads)}")
        except duckdb.Error as exc:
            raise ConfigError(f"memory_limit/threads: {str(exc).splitlines()[0]}") from None
    return configure_connection(con)


def configure_connection(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """Per-connection settings analyses rely on (a cursor is a new connection and needs them too)."""
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    # Same names as Spark's functions, so analyses call one builtin on every engine.
    con.execute("CREATE OR REPLACE TEMP MACRO from_utc_timestamp(ts, tz) AS timezone(tz, timezone('UTC', ts))")
    con.execute("CREATE OR REPLACE TEMP MACRO get_json_object(j, p) AS json_extract_string(j, p)")
    return con


def loop_breakers(links: dict) -> list:
    """``links``: {id: (next id, age key)} of a graph where each id has at most one link. Returns, for each
    loop, the id whose link has the greatest age key (the newest), so that dropping those links leaves
    chains only."""
    state: dict = {}  # id -> walk number that visited it
    drop = []
    for walk, start in enumerate(links):
        node, path = start, []
        while node in links and node not in state:
            state[node] = walk
            path.append(node)
            node = links[node][0]
        if node in links and state.get(node) == walk:  # came back into this walk: a loop from node on
            loop = path[path.index(node):]
            drop.append(max(loop, key=lambda x: links[x][1]))
    return drop


class Workspace:
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
        db = None if memory or self.path is None else self.path / DATABASE_FILE
        self.con = connect_duckdb(db, read_only=read_only, config=config)
        self._lock = threading.RLock()
        self._engine = None
        if not read_only:
            for ddl in ALL_DDL:
                self.con.execute(ddl)

    # -- lifecycle ----------------------------------------------------------
    @classmethod
    def init(cls, path: str | Path, config: WorkspaceConfig | None = None, *, exist_ok: bool = False) -> "Workspace":
        path = Path(path)
        cfg_file = path / CONFIG_FILE
        if cfg_file.exists() and not exist_ok:
            raise ConfigError(f"{path} is already a yunying workspace ({CONFIG_FILE} exists)")
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
                f"{path.resolve()} is not a yunying workspace (no {CONFIG_FILE}); run `yunying init {path}` "
                f"or pass --workspace DIR"
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
        ws.con = configure_connection(con)
        ws._lock = threading.RLock()
        ws._engine = None
        return ws

    @classmethod
    def in_memory(cls, config: WorkspaceConfig | None = None) -> "Workspace":
        """A throwaway workspace (used for ``--events FILE`` analyses)."""
        return cls(None, config or WorkspaceConfig(name="memory"), memory=True)

    def close(self) -> None:
        from .storage.sequence_store import forget

        forget(self)
        if self._engine is not None and self._engine is not self:
            self._engine.close()
        self._engine = None
        self.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def lock(self) -> threading.RLock:
        """The lock every use of the connection holds (it is shared between threads); re-entrant."""
        return self._lock

    # -- engines --------------------------------------------------------------
    @property
    def engine(self):
        """The query engine configured in ``yunying.toml`` (DuckDB unless set to spark)."""
        if self._engine is None:
            from .engines import make_engine

            self._engine = make_engine(self)
        return self._engine

    def use_engine(self, name: str):
        """Switch engines for this session (``duckdb`` or ``spark``)."""
        from .engines import make_engine

        if self._engine is not None:
            self._engine.close()
        self._engine = make_engine(self, name)
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
            raise YunyingError("workspace was opened read-only")

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

    # -- imports ------------------------------------------------------------------
    def import_events(self, files: list[str] | str, *, mapping: dict[str, str] | None = None,
                      progress: Callable[[str], None] | None = None) -> ImportReport:
        """Import event files (CSV, Parquet, JSON Lines; globs; gzip) in one transaction.

        ``progress(stage)`` is told each stage as it starts: ``reading FILE`` per file, then storing, sorting
        and building the sequence store."""
        self._check_writable()
        t0 = time.perf_counter()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        explicit = {**self.config.columns, **(mapping or {})}
        with self._transaction("_yy_staged") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            rows_read = 0
            for file_no, f in enumerate(files):
                if progress:
                    progress(f"reading {Path(f).name}")
                staged = stage_file(
                    con, f, EVENT_COLUMNS, explicit_mapping=explicit,
                    import_tz=self.config.import_timezone, staged_table="_yy_staged",
                    row_checks=[("user_id IS NULL AND distinct_id IS NULL",
                                 "user_id/distinct_id: missing (each event needs a user id or a distinct_id)")],
                    file_no=file_no,
                )
                if "user_id" not in staged.mapping and "distinct_id" not in staged.mapping:
                    raise InputFileError(
                        f"{f}: no user id column (expected one of user_id, distinct_id, userid, uid, "
                        f"anonymous_id…; or set the mapping with --map user_id=COLUMN)"
                    )
                rows_read += staged.rows
            if progress:
                progress(f"storing {rows_read:,} event{'' if rows_read == 1 else 's'} (de-duplicating, resolving identities)")
            report = self._merge_staged_events(rows_read, files)
        self._maybe_recluster(report, progress)
        report.seconds = time.perf_counter() - t0
        return report

    def _merge_staged_events(self, rows_read: int, files: list[str]) -> ImportReport:
        con = self.con
        identities_added = self._insert_row_links()
        before = con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        source, identical, repeats = self._key_staged_events(before)
        cols = ", ".join(c.name for c in EVENT_COLUMNS)
        # user_id as sent wins (its final user when it is itself an alias); else the user the anonymous id was
        # merged into; else the anonymous id.
        select_cols = ", ".join(
            "coalesce(a.user_id, k.user_id, i.user_id, k.distinct_id) AS user_id" if c.name == "user_id"
            else "coalesce(k.distinct_id, k.user_id) AS distinct_id" if c.name == "distinct_id"
            else f"k.{c.name}"
            for c in EVENT_COLUMNS
        )
        not_seen = "WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.event_key = k.event_key) " if before else ""
        # The de-duplicating window is costly on wide rows: only pay for it when the batch repeats itself.
        dedup = "QUALIFY row_number() OVER (PARTITION BY k.event_key ORDER BY k.ts) = 1 " if repeats else ""
        # Sorting wide rows is most of an import's cost (≈ 1 µs a row on 2 cores): a batch too large to be
        # re-clustered anyway goes in as it is, and the sequence store (a sort of three narrow columns,
        # ≈ 10x cheaper) gives the sequence analyses their per-user order.
        ordered = rows_read <= RECLUSTER_LIMIT
        con.execute(
            f"INSERT INTO events ({cols}, event_key) SELECT {select_cols}, k.event_key FROM {source} k "
            "LEFT JOIN identities i ON i.distinct_id = k.distinct_id "
            "LEFT JOIN identities a ON a.distinct_id = k.user_id "
            f"{not_seen}{dedup}"
            + ("ORDER BY 1, k.ts" if ordered else "")
        )
        con.execute("DROP TABLE IF EXISTS _yy_keys")
        added = con.execute("SELECT count(*) FROM events").fetchall()[0][0] - before
        reassigned = self._apply_identities() if identities_added else 0
        if added:
            self.renew_events_version()
        if (before or not ordered) and added or reassigned:
            self._set_meta("clustered", "false")
        con.execute("INSERT INTO imports (id, kind, source, rows_read, rows_added) VALUES "
                    "((SELECT coalesce(max(id), 0) + 1 FROM imports), 'events', ?, ?, ?)",
                    [", ".join(files)[:2000], rows_read, added])
        report = ImportReport("events", files, rows_read, added, rows_read - added, identities_added, reassigned,
                              identical_rows=identical)
        if identical:
            report.messages.append(
                f"{identical:,} row(s) identical to an earlier row of the same file (no event id) were kept as "
                f"separate events; re-importing them adds nothing")
        return report

    def _insert_row_links(self) -> int:
        """New identity links: staged rows that carry both an anonymous id and a different user id."""
        con = self.con
        before_ids = con.execute("SELECT count(*) FROM identities").fetchall()[0][0]
        con.execute(
            "INSERT INTO identities (distinct_id, user_id) "
            "SELECT distinct_id, arg_min(user_id, ts) FROM _yy_staged "
            "WHERE distinct_id IS NOT NULL AND user_id IS NOT NULL AND distinct_id <> user_id "
            "AND distinct_id NOT IN (SELECT distinct_id FROM identities) GROUP BY distinct_id"
        )
        return con.execute("SELECT count(*) FROM identities").fetchall()[0][0] - before_ids

    def _key_staged_events(self, stored: int) -> tuple[str, int, int]:
        """The event key of each staged row: its ``event_uuid``, else its content plus its occurrence number
        among identical rows of its file (part) — the k-th copy of a row is the same event on every re-import.
        Returns the SQL source of the keyed rows, how many identical rows (not yet stored) it keeps, and
        whether the batch repeats a key (so the insert must de-duplicate)."""
        con = self.con
        content = " || chr(31) || ".join(
            f"coalesce(CAST({c} AS VARCHAR), '')" for c in ["user_id", *_CONTENT_COLS] if c != "event_uuid"
        )
        key = f"md5_number(CASE WHEN event_uuid IS NOT NULL THEN 'u' || event_uuid ELSE 'h' || {content} END)"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT rowid AS r, __file AS part, "
                    f"event_uuid IS NULL AS by_content, {key} AS event_key FROM _yy_staged")
        identical = con.execute("SELECT count(*) - count(DISTINCT (part, event_key)) FROM _yy_keys "
                                "WHERE by_content").fetchall()[0][0]
        source = f"(SELECT *, {key} AS event_key FROM _yy_staged)"
        if identical:
            # A row occurring once keeps its content key (the key earlier versions stored); the k-th copy
            # (k > 1) gets the content key with its number.
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _yy_keys AS SELECT r, CASE WHEN occ = 1 THEN event_key "
                "ELSE md5_number(CAST(event_key AS VARCHAR) || '#' || occ) END AS event_key, occ > 1 AS extra "
                "FROM (SELECT r, event_key, CASE WHEN by_content THEN row_number() OVER "
                "(PARTITION BY part, event_key ORDER BY r) ELSE 1 END AS occ FROM _yy_keys)")
            new = " AND NOT EXISTS (SELECT 1 FROM events e WHERE e.event_key = x.event_key)" if stored else ""
            identical = con.execute("SELECT count(DISTINCT event_key) FROM _yy_keys x WHERE extra" + new
                                    ).fetchall()[0][0]
            source = "(SELECT s.*, x.event_key FROM _yy_staged s JOIN _yy_keys x ON s.rowid = x.r)"
        repeats = con.execute("SELECT count(*) - count(DISTINCT event_key) FROM _yy_keys").fetchall()[0][0]
        return source, identical, repeats

    def _apply_identities(self) -> int:
        """Resolve the links to their final users, then point every event whose user is an alias at its final
        user (the user it was sent with, or the one its anonymous id was merged into). Returns events moved."""
        con = self.con
        self._break_identity_cycles()
        # Follow alias chains (a -> b, b -> c) so every id ends at its final user: pointer jumping halves the
        # remaining length of every chain per pass, so it ends after about log2(longest chain) passes.
        for _ in range(64):
            changed = con.execute(
                "UPDATE identities SET user_id = j.user_id FROM identities j "
                "WHERE identities.user_id = j.distinct_id AND identities.user_id <> j.user_id"
            ).fetchall()[0][0]
            if not changed:
                break
        con.execute("DELETE FROM identities WHERE distinct_id = user_id")  # a self-link carries no information
        moved = con.execute(
            "UPDATE events SET user_id = i.user_id FROM identities i WHERE events.user_id = i.distinct_id"
        ).fetchall()[0][0]
        if moved:
            self.renew_events_version()
        return moved

    def _break_identity_cycles(self) -> None:
        """A link that closes a loop (a -> b, b -> a; or longer) adds nothing: its ids are already one person.
        Of each loop the newest link is dropped (ties: the greatest distinct_id), so the loop ends at one id."""
        edges = self.con.execute(
            "SELECT distinct_id, user_id, created_at FROM identities "
            "WHERE user_id IN (SELECT distinct_id FROM identities)").fetchall()
        drop = loop_breakers({d: (u, (c, d)) for d, u, c in edges})
        if drop:
            self.con.executemany("DELETE FROM identities WHERE distinct_id = ?", [(d,) for d in drop])

    def identify(self, pairs: list[tuple[str, str]]) -> int:
        """Merge anonymous ids into users: ``[(distinct_id, user_id), …]``. Returns events reassigned."""
        self._check_writable()
        with self._transaction() as con:
            con.executemany(
                "INSERT INTO identities (distinct_id, user_id) SELECT ?, ? "
                "WHERE NOT EXISTS (SELECT 1 FROM identities WHERE distinct_id = ?)",
                [(d, u, d) for d, u in pairs if d and u and d != u],
            )
            n = self._apply_identities()
            if n:
                self._set_meta("clustered", "false")
        self._maybe_recluster()
        return n

    def import_identities(self, files: list[str] | str) -> ImportReport:
        self._check_writable()
        files = expand_paths([files] if isinstance(files, (str, Path)) else list(files))
        with self._transaction("_yy_staged") as con:
            con.execute("DROP TABLE IF EXISTS _yy_staged")
            rows = 0
            for file_no, f in enumerate(files):
                rows += stage_file(con, f, IDENTITY_COLUMNS, explicit_mapping=None, import_tz="UTC",
                                   staged_table="_yy_staged", extras_to=None, file_no=file_no).rows
            before = con.execute("SELECT count(*) FROM identities").fetchall()[0][0]
            con.execute("INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, any_value(user_id) "
                        "FROM _yy_staged WHERE distinct_id <> user_id AND distinct_id NOT IN "
                        "(SELECT distinct_id FROM identities) GROUP BY distinct_id")
            added = con.execute("SELECT count(*) FROM identities").fetchall()[0][0] - before
            moved = self._apply_identities()
            if moved:
                self._set_meta("clustered", "false")
        rep = ImportReport("identities", files, rows, added, rows - added, added, moved)
        self._maybe_recluster(rep)
        return rep

    def import_spend(self, files: list[str] | str, *, mapping: dict[str, str] | None = None) -> ImportReport:
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
                    staged_table="_yy_staged", extras_to=None,
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
                    f"{', '.join(files)}: {n} different rows for date {d}, channel {ch!r}, campaign {ca!r}, "
                    f"placement {pl!r}; each (date, channel, campaign, placement) must appear once "
                    f"(add a placement column to tell them apart)")
            con.execute("UPDATE _yy_dedup SET currency = coalesce(currency, ?)", [self.config.currency])
            replaced = con.execute(
                "DELETE FROM spend USING _yy_dedup d WHERE spend.date = d.date AND spend.channel = d.channel "
                "AND coalesce(spend.campaign, '') = coalesce(d.campaign, '') "
                "AND coalesce(spend.placement, '') = coalesce(d.placement, '')").fetchall()[0][0]
            con.execute("INSERT INTO spend SELECT * FROM _yy_dedup ORDER BY date, channel, campaign, placement")
            added = con.execute("SELECT count(*) FROM _yy_dedup").fetchall()[0][0]
            con.execute("INSERT INTO imports (id, kind, source, rows_read, rows_added) VALUES "
                        "((SELECT coalesce(max(id), 0) + 1 FROM imports), 'spend', ?, ?, ?)",
                        [", ".join(files)[:2000], rows, added - replaced])
        rep = ImportReport("spend", files, rows, added - replaced, rows - (added - replaced))
        rep.seconds = time.perf_counter() - t0
        if replaced:
            rep.messages.append(f"{replaced} stored row(s) replaced by rows with the same key")
        return rep

    # -- layout ------------------------------------------------------------------------
    def _maybe_recluster(self, report: ImportReport | None = None, progress: Callable | None = None) -> None:
        if self.clustered:
            self.refresh_sequence_store(progress=progress)
            return
        n = self.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
        if n <= RECLUSTER_LIMIT:
            self.optimize(progress)
            return
        # Too many to re-sort after every import: the sequence store keeps the analyses fast.
        self.refresh_sequence_store(progress=progress)
        if report is not None:
            report.messages.append("events are not clustered by user (too many to re-sort after each import): "
                                   "funnels, retention and paths read the sequence store; breakdowns by a "
                                   "property sort as they read; `yunying optimize` clusters them")

    def optimize(self, progress: Callable[[str], None] | None = None) -> None:
        """Rewrite events in (user_id, ts) order, then build the sequence store."""
        self._check_writable()
        if progress:
            progress("sorting events by user and time")
        with self._transaction() as con:
            con.execute("CREATE OR REPLACE TABLE events AS SELECT * FROM events ORDER BY user_id, ts")
            self._set_meta("clustered", "true")
            self.renew_events_version()
        self.con.execute("CHECKPOINT")
        self.refresh_sequence_store(progress=progress)

    def refresh_sequence_store(self, force: bool = False,
                               progress: Callable[[str], None] | None = None) -> bool:
        """Build the sequence store (``.sequences/`` beside the database; see ``storage/sequence_store.py``) if it
        is missing or stale, from ``store.MIN_ROWS`` events on unless ``force``. Returns whether it was built."""
        from .storage import sequence_store as store

        if self.path is None or self.read_only or not self.sequence_store:
            return False
        if not force and store.fingerprint(self)[1] < store.MIN_ROWS:
            return False
        if store.open_store(self) is not None:
            return False
        if progress:
            progress("building the sequence store")
        try:
            store.build_store(self)
        except store.StoreUnavailable:
            return False
        except Exception as exc:  # noqa: BLE001 - a cache: the data is committed, analyses read DuckDB meanwhile
            log.warning("could not build the sequence store in %s: %s", self.path, exc)
            return False
        return True
