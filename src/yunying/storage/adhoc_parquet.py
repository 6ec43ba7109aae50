"""``--events FILE.parquet``: the sequence store in ONE read of the file, with PyArrow, typing distinct values only.

``adhoc_store.py`` reads any file twice with DuckDB and types every row with the import's SQL. A Parquet file
with string ids and names and a timestamp column needs far less: its string columns come dictionary-encoded
(each row group stores each distinct value once), so the import's typing SQL runs on the dictionaries — tens of
thousands of values per million rows — and each row only carries small integers:

* **ids**: each row's user id position (its ``user_id`` when the typed value is not NULL, else its
  ``distinct_id``) in the batch's typed dictionaries, made global at the end by one dictionary encoding of all
  typed dictionaries; rows with both ids whose typed values differ give the identity links (their user id,
  anonymous id and time), resolved by the import's SQL (``identities.py``) — as ``adhoc_store.build``;
* **names**: the typed dictionary of the batch mapped to codes; **times**: the column's integers in µs (UTC:
  a column with a time zone, or naive times imported as UTC);
* **event_uuid**: a 64-bit hash of each value (Numba over the Arrow buffers); when hashes repeat, only the uuid
  column is read again, and of each repeated uuid (compared as text) the earliest row is kept.

Rows go to one scan-order file in the spill folder, then — once users are numbered — to ``adhoc_store``'s
user partitions, ordered and written as the store. Anything this reader does not type exactly as an import
(a naive time with another import time zone, non-string ids, a uuid with edge spaces, a row an import refuses)
makes :func:`build` return None and the caller falls back to ``adhoc_store.build``, which decides.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit

from . import identities
from .adhoc_store import ROW, FileStore, _Partitions, _repeated, _scatter, _SHIFT, _write_store
from .event_scan import prefetched

BATCH_ROWS = 1 << 20
CHUNK_ROWS = 1 << 20  # records re-partitioned at a time
_END_US = 4_102_444_800_000_000  # 2100-01-01 (model/typing.TS_END) in µs since 1970
_UNIT = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": -1_000}  # negative: divide


@dataclass
class Plan:
    """The source columns (``None``: absent), the SQL typing each string column's values (over a column of the
    source's name), and the time column's unit factor."""
    path: str
    cols: dict[str, str | None]
    exprs: dict[str, str]
    unit: int


def plan(path: str, src: str, plain_src: str, mapping: dict[str, str], types: dict[str, str], exprs: dict[str, str],
         import_tz: str) -> Plan | None:
    """The plan for reading ``path`` with PyArrow, or None when only ``adhoc_store`` reads it exactly."""
    if not src.startswith("read_parquet(") or src != plain_src or "ts" not in mapping or "event" not in mapping:
        return None
    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return None
    cols = {c: mapping.get(c) for c in ("user_id", "distinct_id", "event", "ts", "event_uuid")}
    for c, s in cols.items():
        if s is None:
            continue
        if s not in schema.names or schema.get_field_index(s) < 0:
            return None
        t = schema.field(s).type
        if c == "ts":
            if not pa.types.is_timestamp(t) or not types[s].upper().startswith("TIMESTAMP"):
                return None
            aware = types[s].upper() == "TIMESTAMP WITH TIME ZONE"
            if aware != (t.tz is not None) or (not aware and import_tz != "UTC"):
                return None
        elif not (pa.types.is_string(t) or pa.types.is_large_string(t)) or types[s].upper() != "VARCHAR":
            return None
    if cols["user_id"] is None and cols["distinct_id"] is None:
        return None
    return Plan(path, cols, exprs, _UNIT[schema.field(cols["ts"]).type.unit])


# ----------------------------------------------------------------------------- the scan

class _Scan:
    """What one read of the file gathers: rows (in scan order) in a file, each row's id position in the
    concatenated typed id dictionaries, identity-link candidates, uuid hashes scattered by their top bits."""

    def __init__(self, con, p: Plan, parts: _Partitions, names: dict[str, int]):
        self.con, self.p, self.parts, self.names = con, p, parts, names
        self.rows = open(parts.folder / "scan", "wb")
        self.n = 0
        self.ids = Interner()  # every typed user id / anonymous id -> its number, in order of first sight
        self.used = np.zeros(1 << 16, np.bool_)  # the ids some row's user is
        self.links: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def typed(self, col: str, values: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """The values of a dictionary typed by the import's rule for canonical column ``col`` (a string:
        ``ingest.trimmed``), and a mask of those it makes NULL. Values without an edge space are kept as they
        are (NULL when empty); only a dictionary holding another goes through the import's SQL."""
        off, data = _buffers(values)
        valid = values.is_valid().to_numpy(zero_copy_only=False) if values.null_count else np.ones(len(values), bool)
        if not _edges(off, data, valid):
            return values, ~(valid & (np.diff(off) > 0))
        src = self.p.cols[col]
        self.con.register("_yy_dict", pa.table({src: values, "__i": np.arange(len(values))}))
        try:
            out = self.con.sql(f"SELECT {self.p.exprs[col]} FROM _yy_dict ORDER BY __i").to_arrow_table(
            ).column(0).combine_chunks()
        finally:
            self.con.unregister("_yy_dict")
        return out, out.is_null().to_numpy(zero_copy_only=False)

    def dictionary(self, b: pa.RecordBatch, col: str):
        """(row indices with -1 for NULL, typed dictionary, its NULL mask with one more entry for -1) of a string
        column; None if absent."""
        s = self.p.cols[col]
        if s is None:
            return None
        a = b.column(s)
        if not pa.types.is_dictionary(a.type):
            a = pc.dictionary_encode(a)
        idx = a.indices.fill_null(-1).to_numpy() if a.null_count else a.indices.to_numpy()
        typed, null = self.typed(col, a.dictionary)
        return idx, typed, np.append(null, True)

    def add(self, b: pa.RecordBatch) -> bool:
        """Take a batch; False when a row is one this reader does not decide (the caller falls back)."""
        n = b.num_rows
        ts = b.column(self.p.cols["ts"])
        ev = self.dictionary(b, "event")
        if ts.null_count or ev[2][ev[0]].any():
            return False
        t = ts.cast(pa.int64()).to_numpy()
        if self.p.unit != 1:
            t = t * self.p.unit if self.p.unit > 0 else t // -self.p.unit
        if n and (t.min() < 0 or t.max() >= _END_US):
            return False
        lut = np.array([self.names.setdefault(e, len(self.names)) if e is not None else 0
                        for e in ev[1].to_pylist()] or [0], np.int32)
        k = self._users(b, t)
        if k is None or not self._uuids(b):
            return False
        rec = np.empty(n, ROW)
        rec["k"], rec["t"], rec["c"] = k, t, lut[ev[0]]
        self.rows.write(memoryview(rec).cast("B"))
        self.n += n
        return True

    def _users(self, b: pa.RecordBatch, t: np.ndarray) -> np.ndarray | None:
        """Each row's id position (offset into the concatenated dictionaries); link candidates noted."""
        u, d = self.dictionary(b, "user_id"), self.dictionary(b, "distinct_id")
        none = np.full(b.num_rows, -1, np.int32)
        gu, gd = (np.full(1, -1, np.int64) if x is None else np.append(self.ids.intern(x[1], ~x[2][:-1]), -1)
                  for x in (u, d))
        if self.used.size < self.ids.n:
            self.used = np.concatenate([self.used, np.zeros(max(self.ids.n, 2 * self.used.size) - self.used.size,
                                                            np.bool_)])
        k = np.empty(b.num_rows, np.int64)
        links = np.empty(b.num_rows, np.int64)
        m = _user_ids(none if u is None else u[0], none if d is None else d[0], gu, gd, k, self.used, links)
        if m < 0:
            return None
        if m:
            links = links[:m]
            self.links.append((gu[u[0][links]], gd[d[0][links]], t[links]))
        return k

    def _uuids(self, b: pa.RecordBatch) -> bool:
        s = self.p.cols["event_uuid"]
        if s is None:
            return True
        h, ok = uuid_hashes(b.column(s))
        if h is None:
            return False
        h = h[ok]
        _scatter(h, (h >> _SHIFT).astype(np.intp), self.parts.uuids)
        return True


@njit(cache=True, nogil=True)
def _user_ids(ui, di, gu, gd, k, used, links):
    """Each row's user id number: its user id's (``gu[ui]``, -1 when the typed value is NULL) if any, else its
    anonymous id's; ``used`` marks them; ``links`` gets the rows carrying both ids with different values.
    Returns how many links, or -1 when a row has neither id. Indices -1 (NULL) read the last entry (-1)."""
    m = 0
    for i in range(ui.size):
        a = gu[ui[i]]
        b = gd[di[i]]
        if a >= 0:
            k[i] = a
            if b >= 0 and b != a:
                links[m] = i
                m += 1
        elif b >= 0:
            k[i] = b
        else:
            return -1
        used[k[i]] = True
    return m


class Interner:
    """Distinct strings numbered in order of first sight: a hash table (Numba) over the bytes of the strings
    seen, kept once each — a few bytes per distinct id, however many rows repeat it."""

    def __init__(self):
        self.n = 0
        self.hashes = np.zeros(1 << 16, np.uint64)
        self.off = np.zeros((1 << 16) + 1, np.int64)
        self.data = np.zeros(1 << 20, np.uint8)
        self.table = np.full(1 << 17, -1, np.int64)

    def intern(self, strings: pa.Array, take: np.ndarray) -> np.ndarray:
        """The number of each string (-1 where ``take`` is False), new ones added."""
        off, data = _buffers(strings)
        n, size = self.n + len(strings), int(self.off[self.n]) + int(off[-1] - off[0])
        if n >= self.hashes.size:
            cap = max(n, 2 * self.hashes.size)
            self.hashes = np.concatenate([self.hashes, np.zeros(cap - self.hashes.size, np.uint64)])
            self.off = np.concatenate([self.off, np.zeros(cap + 1 - self.off.size, np.int64)])
        if size > self.data.size:
            self.data = np.concatenate([self.data, np.zeros(max(size, 2 * self.data.size) - self.data.size, np.uint8)])
        if 2 * n > self.table.size:
            size = self.table.size
            while 2 * n > size:
                size *= 2
            self.table = np.full(size, -1, np.int64)
            _rehash(self.table, self.hashes, self.n)
        out = np.empty(len(strings), np.int64)
        self.n = _intern(off, data, take, self.table, self.hashes, self.off, self.data, self.n, out)
        return out

    def strings(self) -> pa.Array:
        return pa.LargeStringArray.from_buffers(self.n, pa.py_buffer(self.off[:self.n + 1].copy()),
                                                pa.py_buffer(self.data[:int(self.off[self.n])].copy()))


@njit(cache=True, nogil=True)
def _rehash(table, hashes, n):
    mask = table.size - 1
    for g in range(n):
        s = np.int64(hashes[g] & np.uint64(mask))
        while table[s] >= 0:
            s = (s + 1) & mask
        table[s] = g


@njit(cache=True, nogil=True)
def _intern(off, data, take, table, hashes, aoff, adata, n, out):
    mask = table.size - 1
    for i in range(off.size - 1):
        if not take[i]:
            out[i] = -1
            continue
        a, e = off[i], off[i + 1]
        h = _hash_one(data, a, e)
        s = np.int64(h & np.uint64(mask))
        while True:
            g = table[s]
            if g < 0:
                table[s] = n
                hashes[n] = h
                p = aoff[n]
                adata[p:p + e - a] = data[a:e]
                aoff[n + 1] = p + e - a
                out[i] = n
                n += 1
                break
            if hashes[g] == h and aoff[g + 1] - aoff[g] == e - a:
                p = aoff[g]
                same = True
                for j in range(e - a):
                    if adata[p + j] != data[a + j]:
                        same = False
                        break
                if same:
                    out[i] = g
                    break
            s = (s + 1) & mask
    return n


def _buffers(a: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """The offsets (one more than values) and bytes of a string array, without copying."""
    bufs = a.buffers()
    wide = pa.types.is_large_string(a.type)
    off = np.frombuffer(bufs[1], np.int64 if wide else np.int32)[a.offset:a.offset + len(a) + 1]
    data = np.frombuffer(bufs[2], np.uint8) if bufs[2] is not None and len(bufs[2]) else np.zeros(1, np.uint8)
    return off, data


def uuid_hashes(a: pa.Array):
    """(64-bit hash of each value, mask of the values that are not NULL or empty) of a string column; (None, None)
    when a value has an edge character ``trim`` could remove (the import's typing would change it)."""
    off, data = _buffers(a)
    valid = a.is_valid().to_numpy(zero_copy_only=False) if a.null_count else np.ones(len(a), np.bool_)
    h = np.empty(len(a), np.uint64)
    if _hash_strings(off, data, valid, h):
        return None, None
    return h, valid & (np.diff(off) > 0)


@njit(cache=True, nogil=True)
def _edges(off, data, valid):
    """Whether a valid string starts or ends with a space or a byte above 127 (``ingest.trimmed``'s test)."""
    for i in range(off.size - 1):
        a, e = off[i], off[i + 1]
        if valid[i] and e > a and (data[a] == 32 or data[a] > 127 or data[e - 1] == 32 or data[e - 1] > 127):
            return True
    return False


@njit(cache=True, nogil=True)
def _hash_strings(off, data, valid, out):
    """Hash each valid string (8 bytes a step, murmur's finaliser); True when one starts or ends with a space
    or a byte above 127 (``ingest.trimmed``'s test)."""
    for i in range(off.size - 1):
        a, e = off[i], off[i + 1]
        if not valid[i] or e == a:
            out[i] = 0
            continue
        if data[a] == 32 or data[a] > 127 or data[e - 1] == 32 or data[e - 1] > 127:
            return True
        h = _hash_one(data, a, e)
        out[i] = h
    return False


@njit(cache=True, nogil=True, inline="always")
def _hash_one(data, a, e):
    """A 64-bit hash of ``data[a:e]`` (8 bytes a step, murmur's finaliser)."""
    k = np.uint64(0x9E3779B97F4A7C15)
    h = np.uint64(e - a) * k
    p = a
    while p + 8 <= e:
        w = (np.uint64(data[p]) | np.uint64(data[p + 1]) << np.uint64(8) | np.uint64(data[p + 2]) << np.uint64(16)
             | np.uint64(data[p + 3]) << np.uint64(24) | np.uint64(data[p + 4]) << np.uint64(32)
             | np.uint64(data[p + 5]) << np.uint64(40) | np.uint64(data[p + 6]) << np.uint64(48)
             | np.uint64(data[p + 7]) << np.uint64(56))
        h = (h ^ w) * k
        h ^= h >> np.uint64(31)
        p += 8
    if p < e:
        w = np.uint64(0)
        for j in range(e - p):
            w |= np.uint64(data[p + j]) << np.uint64(8 * j)
        h = (h ^ w) * k
        h ^= h >> np.uint64(31)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    return h


# ----------------------------------------------------------------------------- after the scan

def build(ws, p: Plan, folder: Path) -> FileStore | None:
    """The store of the file, or None (nothing left behind) when a row needs ``adhoc_store.build``'s reading."""
    con = ws.con
    names: dict[str, int] = {}
    parts = _Partitions(folder, 1)
    scan = _Scan(con, p, parts, names)
    try:
        cols = [c for c in p.cols.values() if c is not None]
        # pre_buffer=False: a pre-buffering reader keeps every column chunk it read until it goes
        pf = pq.ParquetFile(p.path, pre_buffer=False, read_dictionary=[
            p.cols[c] for c in ("user_id", "distinct_id", "event") if p.cols[c] is not None])
        groups = [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)]
        size = min(max(groups, default=BATCH_ROWS), 4 * BATCH_ROWS)  # a row group a batch: one dictionary each
        batches = prefetched(pf.iter_batches(size, columns=cols, use_threads=True), depth=2)
        try:
            ok = all(scan.add(b) for b in batches)
        finally:
            batches.close()
            del batches, pf  # with the reader's buffers
        scan.rows.close()
        if not ok or not scan.n:
            return None
        users, n_of = _number_users(con, scan)
        drops = _duplicates(p, parts, names)
        parts.close()
        parts.n_users = max(len(users), 1)
        parts.rows = [open(folder / f"r{q:03d}", "wb") for q in range(len(parts.rows))]
        _repartition(folder / "scan", scan.n, n_of, drops, parts)
        parts.close()
        st = _write_store(parts, names, np.empty(0, ROW), users, folder)
        st.reader = "pyarrow"
        return st
    finally:
        scan.rows.close()
        parts.close()
        parts.remove()
        (folder / "scan").unlink(missing_ok=True)
        con.execute("DROP TABLE IF EXISTS _yy_base")


def _number_users(con, scan: _Scan) -> tuple[pa.Array, np.ndarray]:
    """Identity links resolved by the import's SQL; the final users in id order and, for each id number, its
    final user's number (-1: an id no row's user is)."""
    uniq = scan.ids.strings()
    if scan.links:
        gu, gd, lt = (np.concatenate(x) for x in zip(*scan.links))
        pairs = pa.table({"user_id": uniq.take(pa.array(gu)), "distinct_id": uniq.take(pa.array(gd)),
                          "ts": pa.array(lt, pa.timestamp("us"))})
        con.register("_yy_pairs", pairs)
        try:
            identities.insert_row_links(con, "_yy_pairs")
        finally:
            con.unregister("_yy_pairs")
    identities.resolve(con)  # the events table is empty: only the links are resolved
    used = np.flatnonzero(scan.used[:len(uniq)])
    con.register("_yy_ids", pa.table({"id": uniq.take(pa.array(used)), "g": used}))
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE _yy_base AS SELECT b.g, coalesce(i.user_id, b.id) AS f "
                    "FROM _yy_ids b LEFT JOIN identities i ON i.distinct_id = b.id")
    finally:
        con.unregister("_yy_ids")
    num = con.sql("SELECT g, CAST(dense_rank() OVER (ORDER BY f) - 1 AS BIGINT) AS n FROM _yy_base").to_arrow_table()
    users = con.sql("SELECT DISTINCT f FROM _yy_base ORDER BY f").to_arrow_table().column(0).combine_chunks()
    n_of = np.full(len(uniq), -1, np.int64)
    n_of[num.column("g").to_numpy()] = num.column("n").to_numpy()
    return users, n_of


def _duplicates(p: Plan, parts: _Partitions, names: dict[str, int]) -> np.ndarray:
    """Scan-order numbers of the rows to drop as repeats of an earlier event with the same ``event_uuid``
    (sorted). Rows whose hash repeats are read again by their uuid column only; the uuids decide."""
    if p.cols["event_uuid"] is None:
        return np.empty(0, np.int64)
    parts.close()
    dup = np.concatenate([_repeated(np.fromfile(parts.folder / f"u{q:03d}", np.uint64))
                          for q in range(len(parts.uuids))])
    if not dup.size:
        return np.empty(0, np.int64)
    dup.sort()
    rows, uuids, start = [], [], 0
    for b in pq.ParquetFile(p.path, pre_buffer=False).iter_batches(BATCH_ROWS, columns=[p.cols["event_uuid"]]):
        a = b.column(0)
        h, ok = uuid_hashes(a)
        hit = np.flatnonzero(ok & (dup[np.minimum(np.searchsorted(dup, h), dup.size - 1)] == h))
        rows.append(start + hit)
        uuids.append(a.take(pa.array(hit)).cast(pa.large_string()))
        start += len(a)
    rows = np.concatenate(rows)
    u = pc.dictionary_encode(pa.concat_arrays(uuids)).indices.to_numpy()
    rec = np.memmap(parts.folder / "scan", ROW, mode="r")[rows]
    rank = np.zeros(max(len(names), 1), np.int64)
    for i, name in enumerate(sorted(names)):
        rank[names[name]] = i
    order = np.lexsort((rank[rec["c"]], rec["t"], u))  # of each uuid: its earliest row first (ties: by name)
    u, rows = u[order], rows[order]
    return np.sort(rows[np.concatenate([[False], u[1:] == u[:-1]])])


def _repartition(path: Path, n: int, n_of: np.ndarray, drops: np.ndarray, parts: _Partitions) -> None:
    """The scan-order rows, each given its final user's number, scattered into the user partitions."""
    with open(path, "rb") as f:
        for start in range(0, n, CHUNK_ROWS):
            rec = np.fromfile(f, ROW, count=min(CHUNK_ROWS, n - start))
            rec["k"] = n_of[rec["k"]]
            lo, hi = np.searchsorted(drops, [start, start + len(rec)])
            if hi > lo:
                keep = np.ones(len(rec), np.bool_)
                keep[drops[lo:hi] - start] = False
                rec = rec[keep]
            _scatter(rec, parts.part(rec["k"]), parts.rows)
