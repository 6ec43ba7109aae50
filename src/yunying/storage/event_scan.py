"""Scans of the events table in (user_id, ts) order, as Arrow record batches: what the sequence store is
built from and what the DuckDB engine streams to the kernels when there is no fresh store.

With clustered storage DuckDB's ``preserve_insertion_order`` returns a filtered scan in (user_id, ts)
order without a sort; otherwise the query sorts.
"""
from __future__ import annotations

import datetime as dt

from ..errors import SpecError

BATCH_ROWS = 1 << 20
STREAM_BUFFER = "256MB"


def check_prop_name(name: str) -> str:
    """A property name safe to put in a JSON path (letters, digits, _, $ and -), else a SpecError."""
    if not name or not name.replace("_", "").replace("$", "").replace("-", "").isalnum():
        raise SpecError(key="event_scan.property_name_may_contain", name=name)
    return name


def as_datetime(us: int | None) -> dt.datetime | None:
    if us is None:
        return None
    return dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=int(us))


def scan_batches(ws, names, all_events, props, ts_lo, ts_hi, key="user_id", *, batch_rows: int = BATCH_ROWS,
                 prefetch: bool = True, stream_buffer: str = STREAM_BUFFER):
    """Arrow record batches of :func:`scan_query`, streamed (bounded memory); ``prefetch``: read ahead on a
    helper thread while the caller works on earlier batches."""
    q, params = scan_query(ws, names, all_events, props, ts_lo, ts_hi, key)
    con = ws.con
    with ws.lock:
        # DuckDB draws a progress bar on the terminal for long scans; not inside an analysis.
        bar, buf = con.execute("SELECT current_setting('enable_progress_bar'), "
                               "current_setting('streaming_buffer_size')").fetchone()
        con.execute("SET enable_progress_bar = false")
        # let DuckDB scan ahead while the kernels work on earlier batches
        con.execute(f"SET streaming_buffer_size = '{stream_buffer}'")
        reader = None
        try:
            reader = con.sql(q, params=params).to_arrow_reader(batch_rows)
            yield from prefetched(reader) if prefetch else reader
        finally:
            if reader is not None:
                reader.close()  # stopped early: let go of DuckDB's open result before the next statement
            con.execute(f"SET enable_progress_bar = {'true' if bar else 'false'}")
            con.execute(f"SET streaming_buffer_size = '{buf}'")


def scan_query(ws, names, all_events, props, ts_lo, ts_hi, key="user_id"):
    """SQL and parameters of a scan of the events in (user_id, ts) order: ``key`` user_id (the ids), hash
    (64-bit hashes of them) or ids (the ids and their hashes only); ``props``: (name, numeric) pairs."""
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
        params.append(as_datetime(ts_lo))
    if ts_hi is not None:
        where.append("ts <= ?")
        params.append(as_datetime(ts_hi))
    q = f"SELECT {', '.join(cols)} FROM events" + (f" WHERE {' AND '.join(where)}" if where else "")
    if not ws.clustered:
        q += " ORDER BY user_id, ts"
    return q, params


def prefetched(reader, depth: int = 8):
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
