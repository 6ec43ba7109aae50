"""``--events FILE`` funnels and retention: a sequence store built straight from the file, never a table of rows.

A funnel or a retention table reads each event's user, name and time, in per-user time order. The workspace
gets that order from a sort of its rows; here the file is read twice by DuckDB, typed and checked exactly as
an import types and checks it (``model/ingest.py``), and only narrow numbers leave it:

1. **pass 1** (an aggregate): each distinct (user_id, distinct_id) pair with its first time, and the number of
   bad rows. Identity links and their resolution run through the import's own SQL (``identities.py``) on
   these pairs - one row per pair instead of per event gives the same links (the earliest row of an id wins)
   - so each event's final user is ``R(coalesce(user_id, distinct_id))``, ``R`` the resolved links.
2. **pass 2** (streamed): per event the 64-bit hash of its final user, its time (µs), its name and the hash of
   its ``event_uuid``. Rows are scattered by the top bits of the user hash into ``PARTS`` partition files in
   this process's spill folder (``tempfiles.py``); the uuid hashes likewise by their own top bits.
3. Duplicate ``event_uuid`` s: each uuid partition is checked with a hash set. When some repeat, their rows
   are read again and, as an import does, the earliest of each uuid is kept.
4. Each user partition (about ``1/PARTS`` of the rows) is grouped by user with a hash table, each user's rows
   ordered by (time, event) and appended to the store files (``sequence_store.py``'s format), which the
   analysis then maps like a workspace's store.

Memory stays bounded by a partition and DuckDB's batches; the files live in the spill folder and go with it.
Exactness: the answer equals a full import's (``tests/perf/test_adhoc_events.py``). 64-bit hashes stand for
user ids and event ids only after checking that no two distinct ids of the file share one (else the caller
imports the file instead); rows with a problem also send the caller to the import, which names them.
"""
from __future__ import annotations

import json
import uuid
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from numba import njit

from . import identities
from .event_scan import prefetched
from .sequence_store import FORMAT, SequenceStore

PART_BITS = 8
PARTS = 1 << PART_BITS
BATCH_ROWS = 1 << 20
ROW = np.dtype([("k", "<u8"), ("t", "<i8"), ("c", "<i4")])
_SHIFT = np.uint64(64 - PART_BITS)


class FileStore(SequenceStore):
    """A store built from one file (not a workspace's cache: it is the only copy of the events read), with the
    first and last time of each event name."""

    def __init__(self, path: Path, meta: dict, bounds: dict[str, tuple[int, int]]):
        super().__init__(path, meta)
        self.bounds = bounds

    def time_bounds(self, names: list[str] | None = None) -> tuple[int | None, int | None]:
        got = [self.bounds[n] for n in (self.bounds if names is None else names) if n in self.bounds]
        if not got:
            return None, None
        return min(lo for lo, _ in got), max(hi for _, hi in got)


# ----------------------------------------------------------------------------- the passes

def build(ws, rows_sql: str, folder: Path) -> FileStore | None:
    """The store of the typed rows ``rows_sql`` (columns user_id, distinct_id, event, ts, event_uuid and
    ``__bad``), or None when a row is bad, the file is empty or two ids share a hash (the caller imports)."""
    con = ws.con
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_pairs AS SELECT user_id, distinct_id, min(ts) AS ts, "
                f"count(*) AS n, count(*) FILTER (WHERE __bad OR (user_id IS NULL AND distinct_id IS NULL)) AS bad "
                f"FROM ({rows_sql}) GROUP BY ALL")
    n, bad = con.execute("SELECT coalesce(sum(n), 0), coalesce(sum(bad), 0) FROM _yy_pairs").fetchall()[0]
    if not n or bad:
        return None
    identities.insert_row_links(con, "_yy_pairs")
    identities.resolve(con)  # the events table is empty: only the links are resolved
    linked = con.execute("SELECT count(*) FROM identities").fetchall()[0][0]
    ids, distinct_hashes = con.execute(
        "WITH ids AS (SELECT DISTINCT coalesce(user_id, distinct_id) AS id FROM _yy_pairs "
        "UNION SELECT distinct_id FROM identities) SELECT count(*), count(DISTINCT hash(id)) FROM ids").fetchall()[0]
    if ids != distinct_hashes:
        return None
    users = con.sql(
        "SELECT DISTINCT hash(f) AS k, f AS id FROM (SELECT coalesce(i.user_id, b.id) AS f FROM "
        "(SELECT DISTINCT coalesce(user_id, distinct_id) AS id FROM _yy_pairs) b "
        "LEFT JOIN identities i ON i.distinct_id = b.id) ORDER BY k").to_arrow_table()
    con.execute("DROP TABLE _yy_pairs")
    narrow = (f"SELECT {'coalesce(a.f, hash(r.b))' if linked else 'hash(r.b)'} AS k, epoch_us(r.ts) AS t, "
              f"r.event AS e, CASE WHEN r.event_uuid IS NOT NULL THEN hash(r.event_uuid) END AS h "
              f"FROM (SELECT coalesce(user_id, distinct_id) AS b, ts, event, event_uuid FROM ({rows_sql})) r"
              + (" LEFT JOIN (SELECT hash(distinct_id) AS a, hash(user_id) AS f FROM identities) a ON a.a = hash(r.b)"
                 if linked else ""))
    parts = _Partitions(folder)
    names: dict[str, int] = {}
    try:
        reader = con.sql(narrow).to_arrow_reader(BATCH_ROWS)
        for batch in prefetched(reader):
            parts.add(batch, names)
        parts.close()
        drops = _duplicates(con, rows_sql, narrow, parts, names)
        if drops is None:
            return None
        return _write_store(parts, names, drops, users, folder)
    finally:
        parts.close()
        parts.remove()


class _Partitions:
    """Rows scattered into partition files by the top bits of the user hash; uuid hashes by their own."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.rows = [open(folder / f"r{p:03d}", "wb") for p in range(PARTS)]
        self.uuids = [open(folder / f"u{p:03d}", "wb") for p in range(PARTS)]

    def add(self, batch: pa.RecordBatch, names: dict[str, int]) -> None:
        k = batch.column(0).to_numpy()
        rec = np.empty(len(k), ROW)
        rec["k"], rec["t"] = k, batch.column(1).to_numpy()
        enc = pc.dictionary_encode(batch.column(2))
        lut = np.array([names.setdefault(e, len(names)) for e in enc.dictionary.to_pylist()] or [0], np.int32)
        rec["c"] = lut[enc.indices.to_numpy()]
        _scatter(rec, (k >> _SHIFT).astype(np.intp), self.rows)
        h = batch.column(3)
        if h.null_count:
            h = h.drop_null()
        h = h.to_numpy()
        _scatter(h, (h >> _SHIFT).astype(np.intp), self.uuids)

    def close(self) -> None:
        for f in self.rows + self.uuids:
            f.close()

    def remove(self) -> None:
        for p in range(PARTS):
            for name in (f"r{p:03d}", f"u{p:03d}"):
                (self.folder / name).unlink(missing_ok=True)


def _scatter(values: np.ndarray, part: np.ndarray, files: list) -> None:
    order = np.argsort(part, kind="stable")
    values = values[order]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(part, minlength=PARTS))])
    for p in np.flatnonzero(np.diff(bounds)):
        files[p].write(values[bounds[p]:bounds[p + 1]].tobytes())


def _duplicates(con, rows_sql: str, narrow: str, parts: _Partitions, names: dict[str, int]):
    """Rows to drop as repeats of an earlier event with the same ``event_uuid`` (an import keeps each uuid's
    earliest row): ``(k, t, c)`` records, empty when no uuid repeats; None when two uuids share a hash."""
    dup = [_repeated(np.fromfile(parts.folder / f"u{p:03d}", np.uint64)) for p in range(PARTS)]
    dup = np.concatenate(dup)
    if not dup.size:
        return np.empty(0, ROW)
    con.register("_yy_dup", pa.table({"h": dup}))
    try:
        clash = con.execute(
            f"SELECT count(*) FROM (SELECT hash(event_uuid) AS h FROM ({rows_sql}) WHERE event_uuid IS NOT NULL "
            "AND hash(event_uuid) IN (SELECT h FROM _yy_dup) GROUP BY 1 HAVING count(DISTINCT event_uuid) > 1)"
        ).fetchall()[0][0]
        if clash:
            return None
        rows = con.sql(f"SELECT k, t, e, h FROM ({narrow}) WHERE h IN (SELECT h FROM _yy_dup)").to_arrow_table()
    finally:
        con.unregister("_yy_dup")
    rec = np.empty(rows.num_rows, ROW)
    rec["k"], rec["t"] = rows.column("k").to_numpy(), rows.column("t").to_numpy()
    rec["c"] = [names[e] for e in rows.column("e").to_pylist()]
    h = rows.column("h").to_numpy()
    order = np.lexsort((rec["c"], rec["t"], h))  # of each uuid: its earliest row first (ties: by name)
    h, rec = h[order], rec[order]
    later = np.concatenate([[False], h[1:] == h[:-1]])
    return rec[later]


# ----------------------------------------------------------------------------- per-partition order

def _write_store(parts: _Partitions, names: dict[str, int], drops: np.ndarray, users: pa.Table,
                 folder: Path) -> FileStore:
    events = sorted(names)
    remap = np.zeros(max(len(names), 1), np.int32)
    for name, code in names.items():
        remap[code] = events.index(name)
    code_type = np.int16 if len(events) < 32_767 else np.int32
    user_keys = users.column("k").to_numpy()
    user_ids = users.column("id").combine_chunks()
    lo = np.full(len(events), np.iinfo(np.int64).max, np.int64)
    hi = np.full(len(events), np.iinfo(np.int64).min, np.int64)
    drop_part = (drops["k"] >> _SHIFT).astype(np.intp)
    store = folder / "store"
    store.mkdir()
    n_rows = n_users = 0
    schema = pa.schema([("user_id", pa.string())])
    with open(store / "ts.bin", "wb") as fts, open(store / "code.bin", "wb") as fcode, \
            open(store / "starts.bin", "wb") as fstarts, pa.OSFile(str(store / "users.arrow"), "wb") as fusers, \
            pa.ipc.new_file(fusers, schema) as out_users:
        for p in range(PARTS):
            rec = np.fromfile(parts.folder / f"r{p:03d}", ROW)
            (parts.folder / f"r{p:03d}").unlink()
            if not rec.size:
                continue
            mine = drops[drop_part == p]
            if mine.size:
                rec = rec[~_dropped(*(np.ascontiguousarray(rec[f]) for f in "ktc"),
                                    *(np.ascontiguousarray(mine[f]) for f in "ktc"))]
            k, t, c = np.ascontiguousarray(rec["k"]), np.ascontiguousarray(rec["t"]), remap[rec["c"]]
            starts, order, ukeys = group_users(k, t, c, _table_size(k.size))
            ts, code = t[order], c[order]
            event_bounds(ts, code, lo, hi)
            fts.write(ts.tobytes())
            fcode.write(code.astype(code_type).tobytes())
            fstarts.write((starts[:-1] + n_rows).tobytes())
            where = np.searchsorted(user_keys, ukeys)
            out_users.write_batch(pa.record_batch([user_ids.take(pa.array(where))], schema=schema))
            n_rows += ts.size
            n_users += ukeys.size
        fstarts.write(np.array([n_rows], np.int64).tobytes())
    meta = {"format": FORMAT, "id": uuid.uuid4().hex, "version": "file", "rows": n_rows, "users": n_users,
            "code_dtype": np.dtype(code_type).name, "events": events}
    (store / "meta.json").write_text(json.dumps(meta, ensure_ascii=False))
    bounds = {e: (int(lo[i]), int(hi[i])) for i, e in enumerate(events) if lo[i] <= hi[i]}
    return FileStore(store, meta, bounds)


def _table_size(n: int) -> int:
    return 1 << max(4, int(2 * n).bit_length())


@njit(cache=True, nogil=True)
def _repeated(h):
    """The values occurring more than once in ``h`` (each once), with an open-addressing hash set."""
    n = h.size
    size = 16
    while size < 2 * n:
        size *= 2
    mask = np.uint64(size - 1)
    used = np.zeros(size, np.bool_)
    keys = np.zeros(size, np.uint64)
    seen = np.zeros(size, np.int8)
    out = np.empty(n, np.uint64)
    m = 0
    for i in range(n):
        s = np.int64(h[i] & mask)
        while used[s] and keys[s] != h[i]:
            s = (s + 1) & (size - 1)
        if not used[s]:
            used[s] = True
            keys[s] = h[i]
        elif seen[s] == 0:
            seen[s] = 1
            out[m] = h[i]
            m += 1
    return out[:m]


@njit(cache=True, nogil=True)
def group_users(k, t, c, size):
    """Rows grouped by user key (users in order of first appearance), each user's rows by (time, code).
    Returns (starts, order of the rows, each user's key)."""
    n = k.size
    mask = np.uint64(size - 1)
    slot_user = np.full(size, -1, np.int64)
    slot_key = np.zeros(size, np.uint64)
    user = np.empty(n, np.int64)
    ukeys = np.empty(n, np.uint64)
    nu = 0
    for i in range(n):
        s = np.int64(k[i] & mask)
        while slot_user[s] >= 0 and slot_key[s] != k[i]:
            s = (s + 1) & (size - 1)
        if slot_user[s] < 0:
            slot_user[s] = nu
            slot_key[s] = k[i]
            ukeys[nu] = k[i]
            nu += 1
        user[i] = slot_user[s]
    starts = np.zeros(nu + 1, np.int64)
    for i in range(n):
        starts[user[i] + 1] += 1
    for u in range(nu):
        starts[u + 1] += starts[u]
    pos = starts[:-1].copy()
    order = np.empty(n, np.int64)
    for i in range(n):
        order[pos[user[i]]] = i
        pos[user[i]] += 1
    for u in range(nu):
        _order_user(order, starts[u], starts[u + 1], t, c)
    return starts, order, ukeys[:nu]


@njit(cache=True, nogil=True)
def _order_user(order, a, b, t, c):
    """Sort ``order[a:b]`` by (t, c): insertion sort for short runs (rows mostly come in time order), two stable
    merge sorts for long ones."""
    if b - a <= 48:
        for i in range(a + 1, b):
            r = order[i]
            j = i - 1
            while j >= a and (t[order[j]] > t[r] or (t[order[j]] == t[r] and c[order[j]] > c[r])):
                order[j + 1] = order[j]
                j -= 1
            order[j + 1] = r
        return
    seg = order[a:b].copy()
    by_code = seg[np.argsort(c[seg], kind="mergesort")]
    order[a:b] = by_code[np.argsort(t[by_code], kind="mergesort")]


@njit(cache=True, nogil=True)
def event_bounds(ts, code, lo, hi):
    for i in range(ts.size):
        e = code[i]
        if ts[i] < lo[e]:
            lo[e] = ts[i]
        if ts[i] > hi[e]:
            hi[e] = ts[i]


@njit(cache=True, nogil=True)
def _dropped(k, t, c, dk, dt, dc):
    """A mask of rows to drop: for each (dk, dt, dc) record one row with those values (records may repeat)."""
    order = np.argsort(dt)
    taken = np.zeros(dk.size, np.bool_)
    out = np.zeros(k.size, np.bool_)
    sorted_t = dt[order]
    for i in range(k.size):
        j = np.searchsorted(sorted_t, t[i])
        while j < sorted_t.size and sorted_t[j] == t[i]:
            d = order[j]
            if not taken[d] and dk[d] == k[i] and dc[d] == c[i]:
                taken[d] = True
                out[i] = True
                break
            j += 1
    return out

