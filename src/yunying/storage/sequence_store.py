"""The sequence store: the events table laid out for the sequence kernels, next to the database.

Funnels, retention, lifecycle, stickiness, intervals and paths all walk each user's events in time
order. DuckDB keeps the events clustered by (user_id, ts), but every analysis still has to export
the rows it needs out of DuckDB (user key, time, event) before a kernel can look at them, and on a
small machine that export costs more than the kernel. The store keeps those columns once more, as
plain arrays the kernels read in place (memory-mapped, so only the pages touched are read and the
operating system shares them between processes):

=================  ==========================================================================
``ts.bin``         int64, microseconds since the epoch (UTC), one per event
``code.bin``       int16 (int32 past 32,767 event names): index into ``meta.json``'s ``events``
``starts.bin``     int64, ``n_users + 1``: user ``u``'s events are rows ``starts[u]:starts[u+1]``
``users.arrow``    Arrow IPC file, one string column ``user_id``: user ``u``'s id
``meta.json``      format, the fingerprint it was built from, counts, the event names
=================  ==========================================================================

Rows are in exactly the order a scan of the clustered table returns them, so an analysis reading the
store sees the same rows in the same order (ties in time included) as one reading DuckDB. Events that
are not clustered (more than the workspace re-sorts after each import) are sorted by (user_id, ts) for
the store: a sort of three narrow columns, far cheaper than re-sorting the table's whole rows.

It is a cache, never the source of truth. It is used only while its fingerprint - the workspace's
``events_version`` token (renewed by every change to the events) and the row count - matches the
database it is asked for (DuckDB is not asked while the stamp DuckDB's last answer left beside the store
still matches the database's files: ``store_stamp.py``); otherwise analyses read DuckDB as before. ``Workspace.optimize()`` builds
it. An import (from ``MIN_ROWS`` events on) does not: it only marks the store as wanted for the events it
leaves (:func:`want`: the meta entry ``sequence_store_for`` = that ``events_version``), and the first
analysis that would read it builds it (:func:`open_or_build`), so the import's command ends without the
build's sort. Events changed by anything else (capture, plain SQL) are not marked: analyses read DuckDB
until the next import or ``optimize``, as before.
Analyses that need property columns (breakdowns, sums of a property) read DuckDB. The DuckDB engine
decides which (``engines/duckdb.py``); this module only keeps the store.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa

from ..sequences.chunks import Chunk, runs
from . import store_stamp
from .event_scan import prefetched, scan_batches
from .store_stamp import STORE_DIR
FORMAT = 1
MIN_ROWS = 1_000_000   # below this, DuckDB's own export is fast enough not to keep a copy
BLOCK_ROWS = 1 << 20   # rows per chunk handed to a kernel (default of ``scan``)

WANTED = "sequence_store_for"  # meta key: the events_version an import asked a store for
log = logging.getLogger("yunying")

_cache: dict[str, "SequenceStore"] = {}
_cache_lock = threading.Lock()


class StoreUnavailable(RuntimeError):
    """The events cannot be laid out as a store (rows without a user, time or event)."""


def fingerprint(ws) -> tuple[str, int]:
    """What identifies the contents of the events table: (events_version token, row count)."""
    with ws.lock:
        token = ws.meta("events_version", "")
        rows = ws.con.execute("SELECT count(*) FROM events").fetchall()[0][0]
    return token, int(rows)


def store_path(ws) -> Path | None:
    return Path(ws.path) / STORE_DIR if getattr(ws, "path", None) is not None else None


class SequenceStore:
    """An opened store (memory-mapped; cheap to keep)."""

    def __init__(self, path: Path, meta: dict):
        self.path = path
        self.meta = meta
        self.events: list[str] = meta["events"]
        self.n_rows, self.n_users = int(meta["rows"]), int(meta["users"])
        code_type = np.dtype(meta["code_dtype"])
        self.ts = _map(path / "ts.bin", np.int64, self.n_rows)
        self.code = _map(path / "code.bin", code_type, self.n_rows)
        self.starts = _map(path / "starts.bin", np.int64, self.n_users + 1)
        # mapped now so the ids stay readable if the store is replaced later; read when first asked for (an
        # analysis that names no user - most - never reads them)
        self._users_file = pa.memory_map(str(path / "users.arrow"))
        self._ids: pa.ChunkedArray | None = None
        self._reading_ahead = False

    @property
    def _users(self) -> pa.ChunkedArray:
        """The ids of the store's users, zero-copy over the memory map (kept in the file's batches: joining
        them would copy every id, ~1 s for 100M events' 3.7M users)."""
        if self._ids is None:
            self._ids = pa.ipc.open_file(self._users_file).read_all().column(0)
        return self._ids

    @property
    def key(self) -> tuple[str, int]:
        return self.meta["version"], self.n_rows

    def user_ids(self, index: np.ndarray) -> pa.Array:
        """The ids of the given users (indices into the store), as an Arrow string array."""
        return self._users.take(pa.array(np.asarray(index, np.int64))).combine_chunks()

    def scan(self, names: list[str], all_events: bool, ts_lo: int | None, ts_hi: int | None,
             prefetch: bool = True, block_rows: int = BLOCK_ROWS, users: np.ndarray | None = None) -> "StoreScan":
        """The rows a scan of the events table would give (:mod:`.event_scan`), as
        :class:`~yunying.sequences.chunks.Chunk` s: codes are positions in ``names`` (-1 for other events,
        kept only with ``all_events``), users with no row left are dropped, ``chunk.index`` holds each run's
        user index in the store. ``users``: a boolean mask over the store's users, only those kept."""
        self.read_ahead()
        return StoreScan(self, names, all_events, ts_lo, ts_hi, prefetch, block_rows, users)

    def read_ahead(self) -> None:
        """Have the operating system read the files a scan reads into memory now, in large sequential requests
        on a helper thread, while the process gets its kernels ready (once per opened store). Where they are
        in memory already this costs next to nothing; where not (the first analysis after a reboot or much other
        reading), the kernels would otherwise fault the pages in one small read at a time."""
        if self._reading_ahead or not hasattr(os, "posix_fadvise"):
            return
        self._reading_ahead = True
        files = [(self.path / "starts.bin", 8), (self.path / "code.bin", self.code.itemsize),
                 (self.path / "ts.bin", 8)]
        threading.Thread(target=_will_need, args=(files,), name="yunying-readahead", daemon=True).start()


class StoreScan:
    """An iterable of chunks from the store; ``tasks(kernel)`` gives one callable per block instead, so that
    ``map_chunks`` can cut the blocks out and run the kernel on them on several threads."""

    def __init__(self, st: SequenceStore, names, all_events, ts_lo, ts_hi, prefetch: bool = True,
                 block_rows: int = BLOCK_ROWS, users: np.ndarray | None = None):
        self.prefetch, self.block_rows = prefetch, block_rows
        self.keep = np.zeros(0, np.bool_) if users is None else np.ascontiguousarray(users, np.bool_)
        position = {n: i for i, n in enumerate(names)}
        self.st = st
        self.lut = np.array([position.get(e, -1) for e in st.events] or [-1], np.int32)
        self.all_events = bool(all_events)
        self.code_type = np.int8 if len(names) < 127 else np.int32
        self.lo = np.int64(ts_lo if ts_lo is not None else np.iinfo(np.int64).min)
        self.hi = np.int64(ts_hi if ts_hi is not None else np.iinfo(np.int64).max)

    def blocks(self) -> list["StoreBlock"]:
        """The scan's users in blocks of about ``block_rows`` rows (none when no named event is in the store)."""
        if not self.all_events and not (self.lut >= 0).any():
            return []
        st = self.st
        cuts = np.searchsorted(st.starts, np.arange(0, st.n_rows, self.block_rows), side="left")
        cuts = np.concatenate([[0], np.minimum(cuts, st.n_users), [st.n_users]])  # non-decreasing
        cuts = cuts[np.concatenate([[True], cuts[1:] != cuts[:-1]])]  # (np.unique would import numpy.ma: 20-40 ms)
        return [StoreBlock(self, int(u0), int(u1)) for u0, u1 in zip(cuts[:-1], cuts[1:])]

    def tasks(self, kernel) -> list:
        """One callable per block returning ``(chunk, kernel(chunk))``, or None when the block keeps no row. A
        kernel with an ``on_store`` method reads the store in place instead - ``(block, kernel.on_store(block))``,
        no rows cut out: it applies the block's selection (:class:`StoreBlock`) itself."""
        direct = getattr(kernel, "on_store", None)
        if direct is not None:
            return [lambda b=b: (b, direct(b)) for b in self.blocks()]

        def cut_and_run(b):
            ch = b.chunk()
            return None if ch is None else (ch, kernel(ch))
        return [lambda b=b: cut_and_run(b) for b in self.blocks()]

    def __iter__(self) -> Iterator:
        chunks = (ch for ch in (b.chunk() for b in self.blocks()) if ch is not None)
        return iter(prefetched(chunks) if self.prefetch else chunks)


class StoreBlock:
    """Users ``u0``..``u1`` of a store scan. The scan keeps the rows of those users with ``lo <= ts <= hi`` and a
    named event (``lut[code] >= 0``: its position in the scan's names; any event with ``all_events``), and only
    the users of a non-empty ``keep`` mask. ``chunk()`` cuts them out; a kernel may instead read ``starts``,
    ``ts`` and ``code`` (the store's whole memory-mapped arrays; rows ``starts[u]:starts[u + 1]``) in place."""

    __slots__ = ("scan", "u0", "u1")

    def __init__(self, scan: StoreScan, u0: int, u1: int):
        self.scan, self.u0, self.u1 = scan, u0, u1

    store = property(lambda self: self.scan.st)
    starts = property(lambda self: self.scan.st.starts)
    ts = property(lambda self: self.scan.st.ts)
    code = property(lambda self: self.scan.st.code)
    lut = property(lambda self: self.scan.lut)
    lo = property(lambda self: self.scan.lo)
    hi = property(lambda self: self.scan.hi)
    keep = property(lambda self: self.scan.keep)
    all_events = property(lambda self: self.scan.all_events)

    def chunk(self) -> Chunk | None:
        """The block's rows cut out as a :class:`~yunying.sequences.chunks.Chunk` (None when none is kept)."""
        from ..sequences.kernels.loader import select_rows

        sc, st, u0, u1 = self.scan, self.scan.st, self.u0, self.u1
        cap = int(st.starts[u1] - st.starts[u0])
        out_ts = np.empty(cap, np.int64)
        out_code = np.empty(cap, sc.code_type)
        out_starts = np.empty(u1 - u0 + 1, np.int64)
        out_users = np.empty(u1 - u0, np.int64)
        rows, users = select_rows(st.starts, st.ts, st.code, sc.lut, sc.all_events, sc.lo, sc.hi,
                                  np.int64(u0), np.int64(u1), out_ts, out_code, out_starts, out_users, sc.keep)
        if not users:
            return None
        ch = Chunk(None, out_starts[: users + 1], out_ts[:rows], out_code[:rows])
        ch.index = out_users[:users]
        ch.store = st
        return ch


def _will_need(files: list[tuple[Path, int]], rows: int = 1 << 20) -> None:
    """``posix_fadvise(WILLNEED)`` over the files (path, bytes per row), ``rows`` rows of each at a time in turn,
    in the order the kernels read them (Linux reads ahead only a few MB per call)."""
    fds = []
    try:
        for f, width in files:
            fds.append((os.open(f, os.O_RDONLY), width, os.stat(f).st_size))
        for off in range(0, max(size // width for _, width, size in fds) + 1, rows):
            for fd, width, size in fds:
                if off * width < size:
                    os.posix_fadvise(fd, off * width, rows * width, os.POSIX_FADV_WILLNEED)
    except OSError:  # gone (a rebuilt store) or not supported here: the kernels read it as they go
        pass
    finally:
        for fd, _, _ in fds:
            os.close(fd)


def _map(path: Path, dtype, n: int) -> np.ndarray:
    if n == 0:
        return np.zeros(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r", shape=(n,))


# ----------------------------------------------------------------------------- open / build

def open_store(ws) -> SequenceStore | None:
    """The workspace's store if it exists and matches the events table now; else None. An ``--events FILE``
    workspace's store built from the file (``adhoc_store.py``) is its only copy of the events."""
    built = getattr(ws, "file_store", None)
    if built is not None:
        return built
    path = store_path(ws)
    if path is None or not (path / "meta.json").exists():
        return None
    db = getattr(ws, "db_file", None)  # the database file the workspace opened (None: a connection given to it)
    meta = store_stamp.vouched(path, db) if db is not None else None
    if meta is not None:  # the stamp vouches for it: DuckDB is not asked (store_stamp.py)
        st = _open_build(path, lambda m: m["id"] == meta["id"], meta)
        if st is not None:
            return st
    before = store_stamp.identity(db) if db is not None else None
    key = fingerprint(ws)
    if not key[0]:
        return None
    st = _open_build(path, lambda m: (m.get("version"), int(m.get("rows", -1))) == key)
    if st is not None and before is not None:
        store_stamp.write(path, st.meta, before, db)
    return st


def _open_build(path: Path, matches, meta: dict | None = None) -> SequenceStore | None:
    """The store in ``path`` if its meta.json ``matches`` (the one given, else read now): this process's open
    copy, else mapped now."""
    with _cache_lock:
        st = _cache.get(str(path))
        if st is not None and matches(st.meta):  # same contents (its mapped files stay readable if replaced)
            return st
        _cache.pop(str(path), None)  # let go of a replaced store's files
        try:
            meta = meta or _read_meta(path)
            if meta.get("format") != FORMAT or not matches(meta):
                return None
            st = SequenceStore(path, meta)
            # A rebuild may have swapped the folder between reading meta.json and mapping the files:
            # only keep what was mapped if meta.json still names the same build.
            if _read_meta(path).get("id") != meta.get("id"):
                return None
        except Exception:  # noqa: BLE001 - damaged, cut short or half replaced: not usable, DuckDB will do
            return None
        _cache[str(path)] = st
        return st


def forget(ws) -> None:
    """Drop this process's mapping of the workspace's store (on close: its files may be replaced later)."""
    path = store_path(ws)
    if path is not None:
        with _cache_lock:
            _cache.pop(str(path), None)


def status(ws) -> str:
    """``fresh`` (analyses read it), ``pending`` (an import asked for it: the first analysis that reads it
    builds it), ``stale`` (the events changed since it was built; analyses read DuckDB until ``optimize`` or
    the next import rebuilds it) or ``none``."""
    path = store_path(ws)
    if path is not None and (path / "meta.json").exists() and open_store(ws) is not None:
        return "fresh"
    if wanted(ws):
        return "pending"
    return "none" if path is None or not (path / "meta.json").exists() else "stale"


def want(ws) -> None:
    """Ask for a store of the events as they are now (an import's last step, from ``MIN_ROWS`` events on): the
    first analysis that reads the store builds it (:func:`open_or_build`)."""
    token, rows = fingerprint(ws)
    if token and rows >= MIN_ROWS and getattr(ws, "sequence_store", False):
        with ws.lock:
            ws.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [WANTED, token])


def wanted(ws) -> bool:
    """Whether an import asked for a store of the events as they are now (and none is fresh yet)."""
    if getattr(ws, "file_store", None) is not None or store_path(ws) is None or not getattr(ws, "sequence_store", False):
        return False
    with ws.lock:
        rows = ws.con.execute("SELECT key, value FROM meta WHERE key IN (?, 'events_version')", [WANTED]).fetchall()
    values = dict(rows)
    return bool(values.get(WANTED)) and values.get(WANTED) == values.get("events_version")


def open_or_build(ws) -> SequenceStore | None:
    """:func:`open_store`, and where an import asked for a store of these events (:func:`want`) and none is
    fresh, build it first (once: a file lock makes a second process wait for the first one's build, then open
    it). A read-only workspace builds it too (the store is a file beside the database, not in it). A failed
    build is logged and the analysis reads DuckDB."""
    st = open_store(ws)
    if st is not None or not wanted(ws):
        return st
    try:
        with _build_lock(store_path(ws)):
            st = open_store(ws)  # another process built it while this one waited
            if st is None and wanted(ws):
                _build_unlocked(ws)
                st = open_store(ws)
    except StoreUnavailable:
        return None
    except Exception as exc:  # noqa: BLE001 - a cache: analyses read DuckDB meanwhile
        log.warning("could not build the sequence store in %s: %s", ws.path, exc)
        return None
    return st


def _read_meta(path: Path) -> dict:
    return json.loads((path / "meta.json").read_text())


class _build_lock:
    """An exclusive lock on ``.sequences.lock`` beside the store for the length of a build (readers of a
    workspace may build it too, several processes at once): the second waits, then finds it built."""

    def __init__(self, path: Path):
        self.file = path.with_name(f"{STORE_DIR}.lock")
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX: builds in one process at a time by convention
            return self
        self.fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            os.close(self.fd)  # closing releases the lock
            self.fd = None


def build_store(ws) -> Path:
    """Write the store for the workspace's events and return its folder (under the build lock). Clustered
    events stream out in storage order; others are sorted by (user_id, ts) on the way - three narrow columns,
    not whole rows.

    Written to a temporary folder and moved into place, so a reader sees the old store or the new one,
    never half of one (and an old store is stale by then anyway)."""
    with _build_lock(store_path(ws)):
        return _build_unlocked(ws)


# what a build holds outside DuckDB (batches read ahead, the chunk being written, Python): DuckDB's memory limit
# is lowered by this much while it sorts, so the whole process stays within the workspace's limit
OUTSIDE_DUCKDB = 768 * 2**20


def _build_unlocked(ws) -> Path:
    from .connection import memory_reserved, size_bytes

    with ws.lock:
        try:  # the workspace's setting as written (DuckDB shows it rounded)
            limit = size_bytes(ws.config.memory_limit)
        except (AttributeError, ValueError):
            limit = size_bytes(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])
        with memory_reserved(ws.con, limit, OUTSIDE_DUCKDB):
            return _write_store(ws)


def _write_store(ws) -> Path:
    path = store_path(ws)
    token, rows = fingerprint(ws)
    if not token:
        token = ws.renew_events_version()
    with ws.lock:
        events = [r[0] for r in ws.con.execute("SELECT DISTINCT event FROM events ORDER BY 1").fetchall()]
        blank = ws.con.execute("SELECT count(*) FROM events WHERE user_id IS NULL OR ts IS NULL OR event IS NULL"
                               ).fetchall()[0][0]
    if blank:  # only rows written around the importer can be like that; DuckDB's path handles them
        raise StoreUnavailable(f"{blank} event(s) have no user_id, ts or event")
    code_type = np.int16 if len(events) < 32_767 else np.int32
    _remove_leftovers(path)
    tmp = path.with_name(f"{STORE_DIR}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    tmp.mkdir(parents=True)
    try:
        n_rows = n_users = 0
        schema = pa.schema([("user_id", pa.string())])
        with open(tmp / "ts.bin", "wb") as fts, open(tmp / "code.bin", "wb") as fcode, \
                open(tmp / "starts.bin", "wb") as fstarts, pa.OSFile(str(tmp / "users.arrow"), "wb") as fusers, \
                pa.ipc.new_file(fusers, schema) as users:
            for ch in runs(scan_batches(ws, events, True, (), None, None)):
                fts.write(np.ascontiguousarray(ch.ts, np.int64).tobytes())
                fcode.write(np.asarray(ch.code).astype(code_type).tobytes())
                fstarts.write((ch.starts[:-1] + n_rows).astype(np.int64).tobytes())
                users.write_batch(pa.record_batch([ch.user_ids.cast(pa.string())], schema=schema))
                n_rows += ch.n_rows
                n_users += ch.n_users
            fstarts.write(np.array([n_rows], np.int64).tobytes())
        if n_rows != rows or fingerprint(ws) != (token, rows):
            raise RuntimeError("the events changed while the sequence store was being built")
        (tmp / "meta.json").write_text(json.dumps({
            "format": FORMAT, "id": uuid.uuid4().hex, "version": token, "rows": n_rows, "users": n_users,
            "code_dtype": np.dtype(code_type).name, "events": events}, ensure_ascii=False))
        old = None
        if path.exists():
            old = path.with_name(f"{STORE_DIR}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
            path.rename(old)
        tmp.rename(path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    with _cache_lock:
        _cache.pop(str(path), None)
    return path


def _remove_leftovers(path: Path) -> None:
    """Folders a killed build left behind (``.tmp-PID-…``, ``.old-PID-…``). Only one process builds a
    store at a time (the build lock), so those of other processes are dead."""
    mine = f"-{os.getpid()}-"
    for p in path.parent.glob(f"{STORE_DIR}.*-*-*"):
        if (p.name.startswith(f"{STORE_DIR}.tmp-") or p.name.startswith(f"{STORE_DIR}.old-")) and mine not in p.name:
            shutil.rmtree(p, ignore_errors=True)

