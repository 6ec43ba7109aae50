"""Per-user event sequences for the Numba kernels, read from any engine in chunks of whole users.

``read_sequences(engine, names, ...)`` yields :class:`Chunk` objects: the events
of complete users, ordered by (user_id, ts), with integer event codes (the index
of the event in ``names``; -1 for other events), timestamps in microseconds (UTC)
and optional per-row property columns (Arrow, text).

On DuckDB with clustered storage the rows stream straight out of a filtered
scan as Arrow record batches (no sort, bounded memory); elsewhere the portable
path asks the engine for ``sorted_events``-style output through Ibis. Both feed
the same kernels.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import SpecError
from .kernels import fixed_width_runs, key_runs, string_run_starts

BATCH_ROWS = 1 << 20
PREFETCH = True
STREAM_BUFFER = "256MB"
KERNEL_THREADS = 0  # threads for map_chunks; 0: one per core
USE_STORE = True  # read the sequence store when it is fresh (see store.py); tests turn it off to compare


@dataclass
class Chunk:
    """Rows of whole users. ``starts[u]``..``starts[u+1]`` are user ``u``'s rows."""

    ids: pa.Array          # user id of every row
    starts: np.ndarray
    ts: np.ndarray
    code: np.ndarray
    columns: dict[str, pa.Array] = field(default_factory=dict)
    fixed: np.ndarray | None = None  # the ids as a numpy bytes view when they all have one width
    keyed: bool = False  # ``ids`` are 64-bit hashes of the user ids (``read_sequences(ids=False)``)
    index: np.ndarray | None = None  # read from the sequence store: each run's user index in it (ids None)
    store: object = None

    @property
    def n_users(self) -> int:
        return self.starts.size - 1

    @property
    def n_rows(self) -> int:
        return int(self.ts.size)

    @property
    def user_ids(self) -> pa.Array:
        """One id per user run."""
        if self.index is not None:
            return self.store.user_ids(self.index)
        return self.ids.take(pa.array(self.starts[:-1]))

    def ids_of(self, users: np.ndarray):
        """Ids of the given user indices: a numpy bytes array (fixed-width ids) or an Arrow array;
        :func:`ids_to_arrow` turns a list of them into one Arrow string array."""
        if self.index is not None:
            return self.store.user_ids(self.index[users])
        rows = self.starts[users]
        if self.fixed is not None:
            return self.fixed[rows]
        return self.ids.take(pa.array(rows))


def ids_to_arrow(parts: list) -> pa.ChunkedArray:
    out = []
    for p in parts:
        if isinstance(p, np.ndarray):
            p = pa.array(p, pa.binary(p.dtype.itemsize)).cast(pa.string())
        out.append(p.cast(pa.string()) if p.type != pa.string() else p)
    return pa.chunked_array(out, pa.string())


def check_prop_name(name: str) -> str:
    if not name or not name.replace("_", "").replace("$", "").replace("-", "").isalnum():
        raise SpecError(f"property name {name!r} may contain only letters, digits, _, $ and -")
    return name


def _as_datetime(us: int | None) -> dt.datetime | None:
    if us is None:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(us))


def read_sequences(engine, names: list[str], *, all_events: bool = False, props: tuple[str, ...] = (),
                   numeric: tuple[str, ...] = (), ts_lo: int | None = None, ts_hi: int | None = None,
                   ids: bool = True) -> Iterable[Chunk]:
    """Chunks of complete user runs with ``ts_lo <= ts <= ts_hi`` (microseconds, UTC; None = unbounded).

    ``props`` come back as text, ``numeric`` ones as float64 (null where not a number);
    both are in ``chunk.columns`` by name.

    ``ids=False`` lets the DuckDB path hand out 64-bit hashes of the user ids instead of the ids
    (``chunk.keyed``; much cheaper to export; runs are split where the hash changes). Users are
    numbered in scan order across chunks; :func:`event_row_ids` fetches the ids of chosen users later.
    """
    names = list(dict.fromkeys(names))
    cols = tuple((check_prop_name(p), False) for p in props) + tuple((check_prop_name(p), True) for p in numeric)
    if _fast_duckdb(engine) and not cols and USE_STORE:
        from .store import open_store

        st = open_store(engine.workspace)
        if st is not None:  # the events laid out for the kernels, fresh: no export out of DuckDB
            return st.scan(names, all_events, ts_lo, ts_hi)
    return _stream(engine, names, all_events, cols, ts_lo, ts_hi, ids)


def _stream(engine, names, all_events, cols, ts_lo, ts_hi, ids) -> Iterator[Chunk]:
    if _fast_duckdb(engine):
        batches = _duckdb_batches(engine, names, all_events, cols, ts_lo, ts_hi, key="user_id" if ids else "hash")
    else:
        batches = _ibis_batches(engine, names, all_events, cols, ts_lo, ts_hi)
    yield from _runs(batches, cols)


def map_chunks(fn, chunks, workers: int | None = None):
    """``(chunk, fn(chunk))`` for each chunk, in order, with ``fn`` (a Numba kernel call: they release the
    GIL) running on a pool of ``workers`` threads (default: the machine's cores) while the chunks are read.
    Chunks from the sequence store are also cut out on the pool (``chunks.tasks()``), not one at a time."""
    workers = workers or KERNEL_THREADS or os.cpu_count() or 1
    if workers <= 1:
        try:
            for ch in chunks:
                yield ch, fn(ch)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return
    tasks = chunks.tasks() if hasattr(chunks, "tasks") else None
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    def both(task):
        ch = task()
        return ch, (fn(ch) if ch is not None else None)

    with ThreadPoolExecutor(workers, thread_name_prefix="yunying-kernel") as pool:
        pending: deque = deque()
        try:
            if tasks is not None:
                submitted = (pool.submit(both, t) for t in tasks)
            else:
                submitted = (pool.submit(lambda c: (c, fn(c)), ch) for ch in chunks)
            for fut in submitted:
                pending.append(fut)
                while pending and (len(pending) > 2 * workers or pending[0].done()):
                    ch, out = pending.popleft().result()
                    if ch is not None:
                        yield ch, out
            while pending:
                ch, out = pending.popleft().result()
                if ch is not None:
                    yield ch, out
        finally:
            for fut in pending:
                fut.cancel()
            if hasattr(chunks, "close"):  # a DuckDB stream: stop its reader and free the connection now
                chunks.close()


def event_row_ids(engine, events: list[str], *, ts_lo: int | None = None, ts_hi: int | None = None):
    """A function ``(ordinals, keys) -> ids``: the user ids of rows of the given ``events`` (in
    ``ts_lo``..``ts_hi``), picked by their ordinal among those rows in scan order - the order
    ``read_sequences`` streams them in. ``keys`` are the rows' hashed ids from ``read_sequences(ids=False)``;
    they are checked, so a table changed in between raises instead of mislabelling users. The function may
    run after the workspace was closed (the CLI closes it before printing): it then reads the file again."""
    q, params = _duckdb_query(engine, list(dict.fromkeys(events)), False, (), ts_lo, ts_hi, key="ids")
    ws0 = engine.workspace

    def fetch(ordinals: np.ndarray, keys: np.ndarray) -> pa.Array:
        import duckdb

        try:
            with ws0._lock:
                tab = ws0.con.sql(q, params=params).to_arrow_table()
        except duckdb.ConnectionException:
            from ..storage.workspace import Workspace

            if getattr(ws0, "path", None) is None:
                raise
            with Workspace.open(ws0.path, read_only=True) as ws:
                tab = ws.con.sql(q, params=params).to_arrow_table()
        take = pa.array(np.asarray(ordinals, np.int64))
        if len(take) and (int(ordinals.max()) >= tab.num_rows or not np.array_equal(
                tab.column(1).take(take).to_numpy(), np.asarray(keys, np.uint64))):
            raise RuntimeError("the events changed since the analysis read them; run it again")
        return tab.column(0).take(take).combine_chunks()

    return fetch


def _fast_duckdb(engine) -> bool:
    return getattr(engine, "name", None) == "duckdb" and hasattr(engine, "con")


# ----------------------------------------------------------------------------- DuckDB fast path

def _duckdb_batches(engine, names, all_events, props, ts_lo, ts_hi, key="user_id"):
    q, params = _duckdb_query(engine, names, all_events, props, ts_lo, ts_hi, key)
    con = engine.con
    with engine.workspace._lock:
        # DuckDB draws a progress bar on the terminal for long scans; not inside an analysis.
        bar, buf = con.execute("SELECT current_setting('enable_progress_bar'), "
                               "current_setting('streaming_buffer_size')").fetchone()
        con.execute("SET enable_progress_bar = false")
        # let DuckDB scan ahead while the kernels work on earlier batches
        con.execute(f"SET streaming_buffer_size = '{STREAM_BUFFER}'")
        reader = None
        try:
            reader = con.sql(q, params=params).to_arrow_reader(BATCH_ROWS)
            yield from _prefetch(reader) if PREFETCH else reader
        finally:
            if reader is not None:
                reader.close()  # stopped early: let go of DuckDB's open result before the next statement
            con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")
            con.execute(f"SET streaming_buffer_size = '{buf}'")


def _duckdb_query(engine, names, all_events, props, ts_lo, ts_hi, key="user_id"):
    from ..model.schema import EVENT_COLUMNS

    typed = {c.name for c in EVENT_COLUMNS} - {"properties"}
    params: list = []
    if names and key != "ids":
        # the event's position in the list of names (0 when absent) - 1: cheaper than a CASE
        case = "coalesce(list_position(?::VARCHAR[], event), 0) - 1"
        params.append(list(names))
    else:
        case = "-1"
    code_type = "TINYINT" if len(names) < 127 else "INTEGER"
    if key == "ids":
        cols = ["user_id", "hash(user_id) AS k"]
    else:
        # TIMESTAMP is int64 µs: read it as is. hash(user_id): 8 bytes a row instead of the string
        cols = ["hash(user_id) AS k" if key == "hash" else "user_id", "ts AS t", f"({case})::{code_type} AS c"]
    for i, (p, num) in enumerate(props):
        expr = p if p in typed else f"json_extract_string(properties, '$.{p}')"
        expr = f"TRY_CAST({expr} AS DOUBLE)" if num else f"CAST({expr} AS VARCHAR)"
        cols.append(f"{expr} AS p{i}")
    where = []
    if not all_events:
        if not names:
            where.append("FALSE")
        else:
            where.append("event IN (" + ", ".join("?" for _ in names) + ")")
            params.extend(names)
    if ts_lo is not None:
        where.append("ts >= ?")
        params.append(_as_datetime(ts_lo))
    if ts_hi is not None:
        where.append("ts <= ?")
        params.append(_as_datetime(ts_hi))
    q = f"SELECT {', '.join(cols)} FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
    ws = engine.workspace
    if not ws.clustered:
        q += " ORDER BY user_id, ts"
    return q, params


def _prefetch(reader, depth: int = 8):
    """Read batches on a helper thread, so DuckDB scans the next batches while a kernel runs on this one
    (DuckDB and the Numba kernels both release the GIL)."""
    import queue
    import threading

    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    done = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce():
        try:
            for b in reader:
                if not put(b):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put(exc)
            return
        put(done)

    th = threading.Thread(target=produce, name="yunying-read", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                break
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        th.join()


# ----------------------------------------------------------------------------- portable path (Ibis)

def _ibis_batches(engine, names, all_events, props, ts_lo, ts_hi):
    import ibis

    t = engine.events()
    if not all_events:
        t = t.filter(t.event.isin(names) if names else ibis.literal(False))
    if ts_lo is not None:
        t = t.filter(t.ts >= ibis.literal(_as_datetime(ts_lo), type="timestamp"))
    if ts_hi is not None:
        t = t.filter(t.ts <= ibis.literal(_as_datetime(ts_hi), type="timestamp"))
    cols = {"user_id": t.user_id, "ts": t.ts, "event": t.event}
    for i, (p, num) in enumerate(props):
        cols[f"p{i}"] = engine.prop(t, p).try_cast("float64") if num else engine.prop(t, p).cast("string")
    table = engine.execute(t.select(**cols).order_by(["user_id", "ts"]))
    ts = table.column("ts")
    if pa.types.is_timestamp(ts.type):
        ts = pc.cast(ts, pa.timestamp("us", tz=ts.type.tz))
    ts = pc.cast(ts, pa.int64())
    codes = pc.index_in(table.column("event"), value_set=pa.array(names, pa.string())) if names else \
        pa.chunked_array([pa.nulls(table.num_rows, pa.int32())])
    codes = pc.fill_null(codes, -1).cast(pa.int32())
    arrays = [table.column("user_id"), ts, codes] + [table.column(f"p{i}") for i in range(len(props))]
    out = pa.table(arrays, names=["user_id", "t", "c"] + [f"p{i}" for i in range(len(props))])
    for b in out.to_batches(max_chunksize=BATCH_ROWS):
        yield b


# ----------------------------------------------------------------------------- runs

def _string_runs(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Run starts of equal adjacent ids, and (for fixed-width ids) a zero-copy numpy bytes view of them."""
    if pa.types.is_integer(arr.type):  # hashed ids
        return key_runs(arr.to_numpy(zero_copy_only=False)), None
    if pa.types.is_string_view(arr.type) or pa.types.is_dictionary(arr.type) or not (
            pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.large_string())
    if arr.null_count:
        arr = pc.fill_null(arr, "")
    n = len(arr)
    if n == 0:
        return np.zeros(1, np.int64), None
    bufs = arr.buffers()
    otype = np.int32 if pa.types.is_string(arr.type) else np.int64
    offsets = np.frombuffer(bufs[1], dtype=otype)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
    first, total = int(offsets[0]), int(offsets[-1] - offsets[0])
    width = total // n
    if width and width % 8 == 0 and total == width * n and (data.ctypes.data + first) % 8 == 0:
        # fixed-width ids (common: 'u0000001', UUIDs padded to 40…): compare 8 bytes at a time
        block = data[first: first + total]
        out = fixed_width_runs(offsets, block.view(np.uint64), width // 8)
        if out.size:
            return out, block.view(f"S{width}")
    return string_run_starts(offsets, data, np.int64(0)), None


def _concat(parts: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(parts) == 1:
        return parts[0]
    return pa.Table.from_batches(parts).combine_chunks().to_batches()[0]


def _chunk(batch: pa.RecordBatch, starts: np.ndarray, props, fixed=None) -> Chunk:
    ts = batch.column(1)
    if pa.types.is_timestamp(ts.type):
        if ts.type.unit != "us":
            ts = pc.cast(ts, pa.timestamp("us", tz=ts.type.tz))
        ts = ts.cast(pa.int64())  # zero-copy reinterpretation (µs since the epoch, UTC)
    ts = ts.to_numpy(zero_copy_only=False)
    code = batch.column(2).to_numpy(zero_copy_only=False)
    cols = {p: batch.column(3 + i) for i, (p, _) in enumerate(props)}
    ids = batch.column(0)
    return Chunk(ids, starts, ts, code, cols, fixed, pa.types.is_integer(ids.type))


def _runs(batches, props) -> Iterator[Chunk]:
    """Chunks of complete users from ordered record batches, without copying them.

    Each batch yields its complete users in place; the user cut by the batch's end is carried
    (a small copy) to the next batch, and handed on as its own chunk once complete.
    """
    carry: list[pa.RecordBatch] = []
    for batch in batches:
        n = batch.num_rows
        if n == 0:
            continue
        starts, fixed = _string_runs(batch.column(0))
        body = 0
        if carry:
            if batch.column(0)[0].as_py() == carry[-1].column(0)[-1].as_py():
                body = int(starts[1])
                carry.append(batch.slice(0, body))
                if body == n:
                    continue
                starts = starts[1:]
            merged = _concat(carry)
            carry = []
            yield _chunk(merged, np.array([0, merged.num_rows], np.int64), props)
        last = int(starts[-2])
        if last > body:
            yield _chunk(batch.slice(body, last - body), starts[:-1] - body, props,
                         fixed[body:last] if fixed is not None else None)
        carry = [batch.slice(last)]
    if carry:
        merged = _concat(carry)
        yield _chunk(merged, np.array([0, merged.num_rows], np.int64), props)


# ----------------------------------------------------------------------------- shared helpers

def data_bounds(engine, names: list[str] | None) -> tuple[int | None, int | None]:
    """(min ts, max ts) in microseconds UTC of the named events (None: all events); (None, None) if none."""
    t = engine.events()
    if names is not None:
        if not names:
            return None, None
        t = t.filter(t.event.isin(list(names)))
    row = engine.execute(t.aggregate(lo=t.ts.min(), hi=t.ts.max())).to_pylist()[0]
    if row["lo"] is None:
        return None, None
    return _us(row["lo"]), _us(row["hi"])


def _us(v) -> int:
    if hasattr(v, "to_pydatetime"):
        v = v.to_pydatetime()
    if v.tzinfo is not None:
        v = v.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return int((v - dt.datetime(1970, 1, 1)) / dt.timedelta(microseconds=1))


def local_date(us: int, tz: str) -> dt.date:
    """The local calendar date of a UTC instant (microseconds) in ``tz``."""
    from zoneinfo import ZoneInfo

    d = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(microseconds=int(us))
    return d.astimezone(ZoneInfo(tz)).date()
