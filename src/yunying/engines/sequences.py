"""The sequence side of the engine contract: what an analysis asks for (:class:`SequenceQuery`), and how
a kernel runs over the chunks an engine reads (:func:`map_chunks`).

An analysis hands the engine a kernel - a function of one :class:`~yunying.sequences.chunks.Chunk` that
returns a partial result (counts, sums, per-user rows) - and merges the partial results it gets back: they
are computed per chunk of whole users, so adding or concatenating them gives the result over all users,
whatever the engine's chunking. ``Engine.map_sequences`` is that call.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Callable

import pyarrow as pa

from ..storage.event_scan import BATCH_ROWS, as_datetime, check_prop_name


@dataclass(frozen=True)
class EventFilter:
    """A filter the analysis hands the engine (compiled from the filter language by the analyses layer):
    ``rows(t)`` is an Ibis boolean over an events table ``t`` - the events kept. ``per_user``: it depends on
    the user only (``user.PROP`` / ``segment`` conditions), so ``rows`` also works on any table with a
    ``user_id`` column, and an engine may select whole users instead of testing every row. ``per_event``: it
    reads the event's own columns only (no other table)."""

    rows: Callable
    per_user: bool = False
    per_event: bool = False
    text: str = ""


@dataclass(frozen=True)
class SequenceQuery:
    """What a sequence analysis needs: the events named (codes are positions in ``names``; -1 for others,
    kept only with ``all_events``), property columns (``props`` as text, ``numeric`` as float64, in
    ``chunk.columns``), the time range ``ts_lo <= ts <= ts_hi`` (µs UTC; None unbounded).

    ``hashed_ids``: the analysis can work with 64-bit hashes of the user ids (``chunk.keyed``) and fetch
    the ids it needs later (``Engine.row_ids``). ``in_order``: partial results are merged in reading
    order with state shared between chunks (one chunk at a time). ``where``: only the events an
    :class:`EventFilter` keeps (every engine applies it before the kernels see a row). ``flags``: filters
    evaluated on every row instead, each a float64 column ``#flagI`` (1 where it holds, else 0) after the
    property columns (a funnel's per-step filters)."""

    names: tuple[str, ...]
    all_events: bool = False
    props: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    ts_lo: int | None = None
    ts_hi: int | None = None
    hashed_ids: bool = False
    in_order: bool = False
    where: EventFilter | None = None
    flags: tuple[EventFilter, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "names", tuple(dict.fromkeys(self.names)))
        for p in self.props + self.numeric:
            check_prop_name(p)

    @property
    def columns(self) -> tuple[tuple[str, bool], ...]:
        """(name, numeric) of every property column asked for."""
        return (tuple((p, False) for p in self.props) + tuple((p, True) for p in self.numeric)
                + tuple((f"#flag{i}", True) for i in range(len(self.flags))))


def map_chunks(fn, chunks, workers: int = 0):
    """``(chunk, fn(chunk))`` for each chunk, in order, with ``fn`` (a Numba kernel call: they release the
    GIL) running on a pool of ``workers`` threads (default: the machine's cores) while the chunks are read.
    Chunks from the sequence store are cut out on the pool too, one task per block (``chunks.tasks(fn)``);
    a kernel that reads the store in place (``fn.on_store``) gets the blocks uncut, and the pair yielded
    is ``(block, fn.on_store(block))``."""
    workers = workers or os.cpu_count() or 1
    tasks = chunks.tasks(fn) if hasattr(chunks, "tasks") else None
    if workers <= 1:
        if tasks is not None and getattr(fn, "on_store", None) is not None:  # nothing to read ahead: the kernel reads the store
            yield from (r for r in (t() for t in tasks) if r is not None)
            return
        try:
            for ch in chunks:
                yield ch, fn(ch)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        return
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="yunying-kernel") as pool:
        pending: deque = deque()
        try:
            if tasks is not None:
                submitted = (pool.submit(t) for t in tasks)
            else:
                submitted = (pool.submit(lambda c: (c, fn(c)), ch) for ch in chunks)
            for fut in submitted:
                pending.append(fut)
                while pending and (len(pending) > 2 * workers or pending[0].done()):
                    r = pending.popleft().result()
                    if r is not None:
                        yield r
            while pending:
                r = pending.popleft().result()
                if r is not None:
                    yield r
        finally:
            for fut in pending:
                fut.cancel()
            if hasattr(chunks, "close"):  # a DuckDB stream: stop its reader and free the connection now
                chunks.close()


def sequence_expr(engine, names, all_events, props, ts_lo, ts_hi, where: EventFilter | None = None, flags=()):
    """The events a sequence query reads, through Ibis (unordered): ``user_id, ts, event, p0..``, those that
    ``where`` keeps; a ``#flagI`` column is ``flags[I]`` evaluated on the row (1.0 or 0.0)."""
    import ibis

    t = engine.events()
    if not all_events:
        t = t.filter(t.event.isin(names) if names else ibis.literal(False))
    if ts_lo is not None:
        t = t.filter(t.ts >= ibis.literal(as_datetime(ts_lo), type="timestamp"))
    if ts_hi is not None:
        t = t.filter(t.ts <= ibis.literal(as_datetime(ts_hi), type="timestamp"))
    if where is not None:
        t = t.filter(where.rows(t))
    cols = {"user_id": t.user_id, "ts": t.ts, "event": t.event}
    for i, (p, num) in enumerate(props):
        if p.startswith("#flag"):
            cols[f"p{i}"] = flags[int(p[5:])].rows(t).fill_null(False).ifelse(1.0, 0.0)
            continue
        cols[f"p{i}"] = engine.prop(t, p).try_cast("float64") if num else engine.prop(t, p).cast("string")
    return t.select(**cols)


def kernel_table(table, names, n_props: int) -> pa.Table:
    """``user_id, ts, event, p0..`` rows -> the kernels' layout ``user_id, t`` (µs UTC), ``c`` (the event's
    position in ``names``, -1 for others), ``p0..``."""
    import pyarrow.compute as pc  # loaded on first use (start-up time)

    ts = table.column("ts")
    if pa.types.is_timestamp(ts.type):
        ts = pc.cast(ts, pa.timestamp("us", tz=ts.type.tz))
    ts = pc.cast(ts, pa.int64())
    codes = pc.index_in(table.column("event"), value_set=pa.array(names, pa.string())) if names else \
        pa.nulls(table.num_rows, pa.int32())
    codes = pc.fill_null(codes, -1).cast(pa.int32())
    arrays = [table.column("user_id"), ts, codes] + [table.column(f"p{i}") for i in range(n_props)]
    return pa.table(arrays, names=["user_id", "t", "c"] + [f"p{i}" for i in range(n_props)])


def ibis_batches(engine, names, all_events, props, ts_lo, ts_hi, batch_rows: int = BATCH_ROWS,
                 where: EventFilter | None = None, flags=()):
    """The portable scan: the events through Ibis, sorted by (user_id, ts), as record batches."""
    expr = sequence_expr(engine, names, all_events, props, ts_lo, ts_hi, where, flags)
    table = engine.execute(expr.order_by(["user_id", "ts"]))
    yield from kernel_table(table, names, len(props)).to_batches(max_chunksize=batch_rows)


def time_bounds(engine, names: list[str] | None) -> tuple[int | None, int | None]:
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
