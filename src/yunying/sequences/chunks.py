"""Chunks: the events of whole users, laid out for the kernels, and how runs of users are found.

A :class:`Chunk` holds complete user runs - rows ordered by (user, time) with ``starts`` marking where
each user begins - as NumPy arrays (``ts`` µs UTC, ``code`` event codes) plus optional Arrow property
columns. :func:`runs` cuts ordered Arrow record batches into chunks without copying them. Pure compute:
where the batches come from is the engine's business.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pyarrow as pa


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


# ----------------------------------------------------------------------------- user runs

def _string_runs(arr: pa.Array) -> tuple[np.ndarray, np.ndarray | None]:
    """Run starts of equal adjacent ids, and (for fixed-width ids) a zero-copy numpy bytes view of them."""
    from .kernels.loader import fixed_width_runs, key_runs, string_run_starts

    if pa.types.is_integer(arr.type):  # hashed ids
        return key_runs(arr.to_numpy(zero_copy_only=False)), None
    if pa.types.is_string_view(arr.type) or pa.types.is_dictionary(arr.type) or not (
            pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    if arr.null_count:
        import pyarrow.compute as pc  # loaded on first use (start-up time)

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
            ts = ts.cast(pa.timestamp("us", tz=ts.type.tz))
        ts = ts.cast(pa.int64())  # zero-copy reinterpretation (µs since the epoch, UTC)
    ts = ts.to_numpy(zero_copy_only=False)
    code = batch.column(2).to_numpy(zero_copy_only=False)
    cols = {p: batch.column(3 + i) for i, (p, _) in enumerate(props)}
    ids = batch.column(0)
    return Chunk(ids, starts, ts, code, cols, fixed, pa.types.is_integer(ids.type))


def runs(batches, props=()) -> Iterator[Chunk]:
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
