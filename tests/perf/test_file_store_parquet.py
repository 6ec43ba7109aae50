"""Issue 18 item 1: a Parquet ``--events`` file is read once with PyArrow (storage/adhoc_parquet.py), typing only
the dictionaries of its string columns. Its store equals a full import's events (sequences, funnels, retention)
on edge cases and random files; what that reader cannot type exactly as an import goes to adhoc_store's SQL
reading, and the result is still the import's."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yunying.storage import adhoc_parquet

from test_file_store import _pair, _same, _sequences, same_error

T = dt.datetime
# the CSV edge cases of test_file_store.py as typed Parquet columns: repeated uuids within and across users,
# identical rows without a uuid, ids with spaces, an identity chain, a loop, an anonymous id before its user
EDGE = [
    (None, "anon-1", "view", T(2024, 1, 1, 9), None),
    ("u1", "anon-1", "signup", T(2024, 1, 1, 10), None),
    ("u1", None, "view", T(2024, 1, 1, 10), None),
    ("u1", None, "view", T(2024, 1, 1, 10), None),
    ("u2", None, "purchase", T(2024, 1, 2, 10), "e-1"),
    ("u2", None, "purchase", T(2024, 1, 2, 10, 0, 1), "e-1"),
    ("u2", "", "view", T(2024, 1, 2, 9), "e-2"),
    ("u6", None, "signup", T(2024, 1, 2, 8), "e-2"),
    (" u3 ", None, "  signup ", T(2024, 1, 3, 2), ""),
    ("u3", None, "purchase", T(2024, 1, 3, 2), None),
    (None, "anon-9", "view", T(2024, 1, 4), None),
    ("a", "b", "signup", T(2024, 1, 5, 10), None),
    ("b", "a", "purchase", T(2024, 1, 5, 11), None),
    ("u4", "anon-2", "signup", T(2024, 1, 6, 10), None),
    ("u5", "u4", "purchase", T(2024, 1, 7, 10), None),
    (None, "anon-2", "view", T(2024, 1, 6, 9), None),
]
STEPS, RET = ["signup", "view", "purchase"], ("signup", "purchase")


def _write(path, rows, ts_type=pa.timestamp("us"), names=("user_id", "anonymous_id", "event", "timestamp", "uuid"),
           row_group_size=None):
    cols = list(zip(*rows))
    types = [pa.string(), pa.string(), pa.string(), ts_type, pa.string()]
    table = pa.table({n: pa.array(c, t) for n, c, t in zip(names, cols, types) if n is not None})
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_edge_cases_equal_a_full_import(tmp_path):
    full, built = _pair(_write(tmp_path / "edge.parquet", EDGE, row_group_size=5))
    assert built.file_store.reader == "pyarrow"
    _same(full, built, STEPS, RET)
    seq = _sequences(built)
    assert [e for u, _, e in seq if u == "u6"] == ["signup"] and sum(1 for u, _, e in seq if u == "u2") == 1
    assert sum(1 for u, _, e in seq if u == "u1") == 4 and ("u3", 1704247200000000, "signup") in seq
    with pytest.raises(Exception, match="sequence store"):
        built.con.execute("SELECT count(*) FROM events").fetchall()
    with pytest.raises(Exception, match="identity links of --events FILE"):
        built.con.execute("SELECT count(*) FROM identities").fetchall()
    full.close(), built.close()


@pytest.mark.parametrize("unit", ["s", "ms", "ns"])
def test_time_units_and_zones(tmp_path, unit):
    """Seconds, milliseconds and nanoseconds; a column with a time zone is read by PyArrow whatever the import
    zone (its instants are UTC), a naive one only when imports are in UTC; else the SQL reading types it (as
    DuckDB's TIMESTAMPTZ_NS, which an import reads as a local time)."""
    rows = [r[:3] + (r[3].replace(microsecond=0),) + r[4:] for r in EDGE]
    naive = _write(tmp_path / "naive.parquet", rows, pa.timestamp(unit))
    aware = _write(tmp_path / "aware.parquet", [r[:3] + (r[3].replace(tzinfo=dt.timezone.utc),) + r[4:] for r in rows],
                   pa.timestamp(unit, "Asia/Shanghai"))
    for path, tz, reader in ((naive, "UTC", "pyarrow"), (naive, "Asia/Shanghai", "duckdb"),
                             (aware, "Asia/Shanghai", "pyarrow" if unit != "ns" else "duckdb")):
        full, built = _pair(path, tz)
        assert built.file_store.reader == reader
        _same(full, built, STEPS, RET)
        full.close(), built.close()


def test_uuid_with_edge_space_goes_to_the_sql_reading(tmp_path):
    rows = EDGE[:6] + [("u7", None, "view", T(2024, 1, 2, 11), " e-1")]
    full, built = _pair(_write(tmp_path / "space.parquet", rows))
    assert built.file_store.reader == "duckdb"
    _same(full, built, STEPS, RET)
    assert sum(1 for u, _, _ in _sequences(built) if u in ("u2", "u7")) == 1  # " e-1" is e-1: one event kept
    full.close(), built.close()


def _random_rows(seed, n=5000):
    rng = np.random.default_rng(seed)
    names = ["signup", "view", "cart", "purchase", "app_open"]
    rows = []
    for i in range(n):
        has_user = rng.random() < 0.7
        u = f"u{rng.integers(0, 300)}" if has_user else None
        d = f"d{rng.integers(0, 400)}" if (not has_user or rng.random() < 0.1) else None
        if has_user and rng.random() < 0.02:
            d = f"u{rng.integers(0, 300)}"  # a user id sent as another's anonymous id: chains and loops
        t = T(2024, 1, 1) + dt.timedelta(seconds=int(rng.integers(0, 40 * 86400)) // 600 * 600)  # ties
        e = f"e{rng.integers(0, n)}" if rng.random() < 0.5 else None  # repeats, some for other users
        rows.append((u, d, names[rng.integers(0, 5)], t, e))
    return rows


@pytest.mark.parametrize("seed", [1, 2])
def test_random_files_equal_a_full_import(tmp_path, seed):
    full, built = _pair(_write(tmp_path / "r.parquet", _random_rows(seed), row_group_size=700))
    assert built.file_store.reader == "pyarrow" and built.file_store.n_users > 100
    _same(full, built, ["signup", "view", "cart", "purchase"], ("signup", "app_open"))
    full.close(), built.close()


@pytest.mark.parametrize("repeats", [True, False])
def test_file_ordered_by_user_equals_a_full_import(tmp_path, monkeypatch, repeats):
    """Rows ordered by user id (as exports often are, and the 100M benchmark file): without repeated uuids the rows
    are grouped by user already, so they are not moved; the store still equals a full import's."""
    from yunying.storage import adhoc_kernels

    moved = []
    scatter = adhoc_kernels.scatter_users
    monkeypatch.setattr(adhoc_kernels, "scatter_users", lambda *a: moved.append(1) or scatter(*a))
    rows = [r for r in _random_rows(6) if r[0] is not None and r[1] is None]  # no links: each id its own user
    if not repeats:
        rows = [(u, d, e, t, f"x{i}") for i, (u, d, e, t, _) in enumerate(rows)]
    rows.sort(key=lambda r: r[0].encode())
    full, built = _pair(_write(tmp_path / "sorted.parquet", rows, row_group_size=700))
    assert built.file_store.reader == "pyarrow" and built.file_store.n_users > 100
    assert bool(moved) == repeats
    _same(full, built, ["signup", "view", "cart", "purchase"], ("signup", "app_open"))
    full.close(), built.close()


def test_uuid_hash_clash_drops_nothing(tmp_path, monkeypatch):
    """Rows whose uuid hashes repeat are read again and decided by their uuids: distinct uuids sharing a hash
    stay (simulated: every hash reported as repeated)."""
    monkeypatch.setattr(adhoc_parquet, "repeated_hashes", lambda h, runs=None: np.unique(h))
    full, built = _pair(_write(tmp_path / "r.parquet", _random_rows(3, 2000), row_group_size=300))
    assert built.file_store.reader == "pyarrow"
    _same(full, built, ["signup", "view", "cart", "purchase"], ("signup", "app_open"))
    full.close(), built.close()


def test_without_anonymous_ids_or_uuids(tmp_path):
    rows = [r for r in EDGE if r[0] is not None]
    path = _write(tmp_path / "few.parquet", rows, names=("user_id", None, "event", "ts", None))
    full, built = _pair(path)
    assert built.file_store.reader == "pyarrow"
    _same(full, built, STEPS, RET)
    full.close(), built.close()


@pytest.mark.parametrize("bad", [(None, None, "view", T(2024, 1, 1), None), ("u1", None, " ", T(2024, 1, 1), None),
                                 ("u1", None, "view", T(1969, 12, 31), None), ("u1", None, "view", None, None)])
def test_bad_rows_get_the_import_error(tmp_path, bad):
    assert "row 4" in same_error(_write(tmp_path / "bad.parquet", EDGE[:3] + [bad]))


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_times_from_2100_on_get_the_import_error(tmp_path, unit):
    """The first instant of 2100 is refused with the import's error naming the row, in every unit (the check is
    made on the raw value, so no product overflows); its previous second is read by PyArrow and equals an import."""
    late = ("u1", None, "view", T(2100, 1, 1), None)
    assert "row 4" in same_error(_write(tmp_path / f"late-{unit}.parquet", EDGE[:3] + [late], pa.timestamp(unit)))
    rows = [r[:3] + (r[3].replace(microsecond=0),) + r[4:] for r in EDGE[:3]] + [
        ("u1", None, "view", T(2099, 12, 31, 23, 59, 59), None)]
    full, built = _pair(_write(tmp_path / f"last-{unit}.parquet", rows, pa.timestamp(unit)))
    assert built.file_store.reader == "pyarrow"
    _same(full, built, STEPS, RET)
    full.close(), built.close()


def test_interner_numbers_strings_in_order_of_first_sight():
    """Against a dict, across batches that make its table, offsets and bytes grow (200k distinct ids)."""
    rng = np.random.default_rng(5)
    interner, truth = adhoc_parquet.Interner(), {}
    for _ in range(6):
        values = [f"id-{x}" * int(x % 3 + 1) for x in rng.integers(0, 200_000, 60_000)] + ["", "é"]
        take = np.array([v != "" for v in values])
        got = interner.intern(pa.array(values), take)
        want = [truth.setdefault(v, len(truth)) if v else -1 for v in values]
        assert got.tolist() == want
    assert interner.n == len(truth) > 100_000
    assert interner.strings().to_pylist() == list(truth)


def test_repeated_hashes_against_numpy():
    """The in-place radix + hash-set search of repeated uuid hashes: the values numpy counts more than once
    (0, a row without a uuid, never), whatever their top bits — including one value repeated past the size at
    which a part is sorted instead of hashed."""
    from yunying.storage import adhoc_kernels

    rng = np.random.default_rng(7)
    cases = [rng.integers(1, 2**64 - 1, 50_000, dtype=np.uint64, endpoint=True),
             rng.integers(0, 5_000, 50_000).astype(np.uint64) << np.uint64(40),  # few top bits, many repeats
             np.concatenate([np.full(adhoc_kernels._SORT_ABOVE + 5, 2**63 + 3, np.uint64),
                             rng.integers(0, 2**63, 1000, dtype=np.uint64), np.zeros(9, np.uint64)]),
             np.zeros(10, np.uint64), np.array([5], np.uint64)]
    for h in cases:
        values, counts = np.unique(h, return_counts=True)
        want = np.sort(values[(counts > 1) & (values != 0)])
        got = h.copy()
        m = adhoc_kernels.repeated(got)
        assert np.array_equal(np.sort(got[:m]), want)


def test_repeated_hashes_on_threads_against_numpy(monkeypatch):
    """The same search split over threads (runs partitioned at once, then disjoint top bytes): the values numpy
    counts more than once, repeats across runs included, with 1 to 3 threads."""
    rng = np.random.default_rng(11)
    h = np.concatenate([rng.integers(1, 2**64 - 1, 60_000, dtype=np.uint64, endpoint=True),
                        rng.integers(0, 3_000, 60_000).astype(np.uint64) << np.uint64(50), np.zeros(7, np.uint64)])
    rng.shuffle(h)
    values, counts = np.unique(h, return_counts=True)
    want = values[(counts > 1) & (values != 0)]
    for threads in (1, 2, 3):
        monkeypatch.setattr(adhoc_parquet, "THREADS", threads)
        got = adhoc_parquet.repeated_hashes(h.copy())
        assert np.array_equal(np.sort(got), want)
        # runs partitioned beforehand (as the scan does, one per row group; sizes 0 to 40k)
        from yunying.storage import adhoc_kernels

        cuts = [0, 0, 5, 40_005, 40_005, 70_000, h.size]
        runs, got = np.zeros((len(cuts) - 1, 257), np.int64), h.copy()
        for j in range(len(cuts) - 1):
            adhoc_kernels.partition_top(got, cuts[j], cuts[j + 1], runs[j])
        assert np.array_equal(np.sort(adhoc_parquet.repeated_hashes(got, runs)), want)


def test_partition_by_top_byte_into_another_array():
    """partition_top_into (a copy, as the scan sorts a row group's hashes into the file's array): each part holds
    exactly the values with that top byte, parts in byte order at the given offset, the same bounds as
    partition_top in place."""
    from yunying.storage import adhoc_kernels

    rng = np.random.default_rng(13)
    src = np.concatenate([rng.integers(0, 2**64 - 1, 5_000, dtype=np.uint64, endpoint=True),
                          np.full(300, 7 << 56, np.uint64), np.zeros(5, np.uint64)])
    dst = np.full(src.size + 40, 99, np.uint64)
    into, inplace = np.zeros(257, np.int64), np.zeros(257, np.int64)
    adhoc_kernels.partition_top_into(src, dst, 17, into)
    copy = src.copy()
    adhoc_kernels.partition_top(copy, 0, copy.size, inplace)
    assert np.array_equal(into - 17, inplace) and into[0] == 17 and into[256] == 17 + src.size
    assert (dst[:17] == 99).all() and (dst[17 + src.size:] == 99).all()
    for b in range(256):
        part = dst[into[b]:into[b + 1]]
        assert ((part >> np.uint64(56)) == b).all()
        assert np.array_equal(np.sort(part), np.sort(src[(src >> np.uint64(56)) == b]))


def test_earliest_link_of_each_anonymous_id_against_pandas_and_the_import_sql():
    """Of each anonymous id, the user id of its earliest row, of rows at that time the smallest user id by string
    (``checked_scan.LINK_USER``), against pandas and against ``identities.insert_row_links`` (DuckDB) on random
    link rows with many equal times; user ids are strings whose byte order differs from their numbers."""
    import pandas as pd

    import yunying
    from yunying.storage import adhoc_kernels, identities

    rng = np.random.default_rng(5)
    n = 20_000
    names = [f"{rng.integers(0, 10**6):06d}{'é' if i % 7 == 0 else ''}-{i}" for i in range(6_000)]
    interner = adhoc_parquet.Interner()
    assert interner.intern(pa.array(names), np.ones(len(names), bool)).tolist() == list(range(len(names)))
    gd, gu = rng.integers(0, 3_000, n), rng.integers(3_000, 6_000, n)
    lt = rng.integers(0, 8, n).astype(np.int64) * 7  # about 7 rows an id: most earliest times are shared
    d, u, t = adhoc_kernels.earliest_links(gd, gu, lt, 6_000, interner.off, interner.data)
    df = pd.DataFrame({"d": gd, "u": gu, "t": lt, "name": [names[x] for x in gu]})
    want = df.sort_values(["d", "t", "name"]).groupby("d").head(1)
    assert d.tolist() == want["d"].tolist() and u.tolist() == want["u"].tolist() and t.tolist() == want["t"].tolist()
    ties = df.merge(want[["d", "t"]], on=["d", "t"]).groupby("d")["u"].nunique()
    assert (ties > 1).sum() > 500  # the tie rule decided many links
    ws = yunying.Workspace.in_memory()
    ws.con.register("_p", pa.table({"distinct_id": [names[x] for x in gd], "user_id": df["name"].tolist(),
                                    "ts": pa.array(lt, pa.timestamp("us"))}))
    identities.insert_row_links(ws.con, "_p")
    assert sorted(ws.con.execute("SELECT distinct_id, user_id FROM identities").fetchall()) == sorted(
        (names[a], names[b]) for a, b in zip(d, u))
    ws.close()


def test_a_user_whose_only_event_repeats_another_users_uuid(tmp_path):
    """u8's one event carries u2's uuid with a later time: dropped, so u8 has no events and is no user of the
    store, as in a full import; read by three threads in any order of the row groups."""
    rows = EDGE + [("u8", None, "view", T(2024, 1, 9), "e-1"), ("u9", "anon-7", "signup", T(2024, 1, 8), "e-9"),
                   (None, "anon-7", "view", T(2024, 1, 8, 1), "e-9")]
    path = _write(tmp_path / "gone.parquet", rows, row_group_size=3)
    old = adhoc_parquet.THREADS
    adhoc_parquet.THREADS = 3
    try:
        full, built = _pair(path)
    finally:
        adhoc_parquet.THREADS = old
    assert built.file_store.reader == "pyarrow"
    _same(full, built, STEPS, RET)
    users = {u for u, _, _ in _sequences(built)}
    assert "u8" not in users and "u9" in users and "anon-7" not in users
    full.close(), built.close()


@pytest.mark.parametrize("codec", ["zstd", "snappy", "none", "gzip"])
@pytest.mark.parametrize("version", ["1.0", "2.0"])
def test_uuid_hashes_from_pages_equal_pyarrows(tmp_path, codec, version):
    """adhoc_pages hashes PLAIN pages (v1 and v2, several pages a chunk, required and optional columns) as
    uuid_hashes does PyArrow's strings; what it does not read (gzip, dictionary pages, NULLs) it leaves to PyArrow
    (None), and an edge space is refused (False) as uuid_hashes refuses it."""
    from yunying.storage import adhoc_pages

    rng = np.random.default_rng(11)
    values = [f"{rng.integers(0, 10**12):x}-ü-{i}" * int(i % 3) for i in range(3000)]  # empty ones too
    cases = {"required": pa.array(values), "optional": pa.array(values),
             "nulls": pa.array([None if i % 7 == 0 else v for i, v in enumerate(values)]),
             "space": pa.array(values[:2000] + ["x "] + values[2001:])}
    for name, arr in cases.items():
        field = pa.field("u", pa.string(), nullable=name != "required")
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.table([arr], schema=pa.schema([field])), path, compression=codec, use_dictionary=False,
                       data_page_version=version, data_page_size=4096, row_group_size=1200)
        pf = pq.ParquetFile(path)
        col = adhoc_parquet._column(pf, "u")
        for i in range(pf.num_row_groups):
            rg = pf.metadata.row_group(i)
            out = np.zeros(rg.num_rows, np.uint64)
            got = adhoc_pages.chunk_hashes(str(path), rg, *col, out)
            want, _ = adhoc_parquet.uuid_hashes(pf.read_row_group(i).column(0).combine_chunks())
            if codec == "gzip" or name == "nulls":
                assert got is None
            elif want is None:
                assert got is False and name == "space"
            else:
                assert got is True and np.array_equal(out, want)
    path = tmp_path / "dict.parquet"
    pq.write_table(pa.table({"u": values}), path)
    pf = pq.ParquetFile(path)
    assert adhoc_pages.chunk_hashes(str(path), pf.metadata.row_group(0), 0, 1, np.zeros(3000, np.uint64)) is None


def test_plain_uuid_pages_equal_a_full_import(tmp_path):
    """A file whose uuids are PLAIN pages (read by adhoc_pages) equals a full import, repeats included."""
    rows = _random_rows(4, 3000)
    cols = list(zip(*rows))
    table = pa.table({"user_id": pa.array(cols[0], pa.string()), "anonymous_id": pa.array(cols[1], pa.string()),
                      "event": pa.array(cols[2]), "timestamp": pa.array(cols[3], pa.timestamp("us")),
                      "uuid": pa.array([e or f"x{i}" for i, e in enumerate(cols[4])], pa.string())})
    path = tmp_path / "plain.parquet"
    pq.write_table(table, path, use_dictionary=["user_id", "anonymous_id", "event"], row_group_size=500,
                   compression="zstd")
    full, built = _pair(path)
    assert built.file_store.reader == "pyarrow"
    _same(full, built, ["signup", "view", "cart", "purchase"], ("signup", "app_open"))
    full.close(), built.close()


def test_a_damaged_uuid_page_is_left_to_pyarrow(tmp_path):
    """A page that does not decompress (its ZSTD frame's magic number broken): adhoc_pages answers None (PyArrow
    then reads the chunk and decides)."""
    from yunying.storage import adhoc_pages

    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"u": [f"id-{i}" for i in range(2000)]}), path, use_dictionary=False, compression="zstd")
    pf = pq.ParquetFile(path)
    rg = pf.metadata.row_group(0)
    col = rg.column(0)
    raw = bytearray(path.read_bytes())
    magic = raw.index(b"\x28\xb5\x2f\xfd", col.data_page_offset)  # the page's ZSTD frame
    raw[magic:magic + 4] = b"\xff" * 4
    path.write_bytes(bytes(raw))
    assert adhoc_pages.chunk_hashes(str(path), rg, 0, 1, np.zeros(2000, np.uint64)) is None


def _reference_hash(b: bytes) -> int:
    """adhoc_hash.hash_one written out in Python integers (words assembled byte by byte, little-endian)."""
    m, k = 2**64 - 1, 0x9E3779B97F4A7C15
    h = (len(b) * k) & m
    for p in range(0, len(b), 8):
        w = int.from_bytes(b[p:p + 8], "little")
        h = ((h ^ w) * k) & m
        h ^= h >> 31
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & m
    return h ^ (h >> 33)


def test_hash_of_a_byte_range_against_python():
    """hash_one (one unaligned 8-byte load a step) equals the byte-by-byte definition at every offset and length
    0-41, up to the array's last byte."""
    from numba import njit

    from yunying.storage.adhoc_hash import hash_one

    @njit
    def all_ranges(data, n):
        out = np.empty((data.size, n), np.uint64)
        for a in range(data.size):
            for m in range(n):
                out[a, m] = hash_one(data, a, a + m) if a + m <= data.size else np.uint64(0)
        return out

    data = np.random.default_rng(3).integers(0, 256, 61).astype(np.uint8)
    got = all_ranges(data, 42)
    raw = data.tobytes()
    for a in range(data.size):
        for m in range(42):
            if a + m <= data.size:
                assert int(got[a, m]) == _reference_hash(raw[a:a + m]), (a, m)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_links_resolved_on_numbers_as_the_import_sql_resolves_them(seed):
    """adhoc_kernels.resolve_links against identities.insert_row_links + resolve (DuckDB) on random links with
    loops of 1-4 ids, chains into loops and long chains; ids are strings whose byte order differs from their
    numbers (the loop's greatest distinct_id loses its link)."""
    import yunying
    from yunying.storage import adhoc_kernels, identities

    rng = np.random.default_rng(seed)
    n = 3000
    names = [f"{rng.integers(0, 10**6):06d}-{'é' if i % 5 == 0 else ''}{i}" for i in range(n)]
    perm = rng.permutation(n)
    nxt = np.full(n, -1, np.int64)
    i = 0
    while i < n - 5:  # loops of 1 (self: never a link), 2, 3, 4 ids, then chains hanging off them
        size = int(rng.integers(2, 5))
        ring = perm[i:i + size]
        nxt[ring] = np.roll(ring, -1)
        i += size
        tail = perm[i:i + int(rng.integers(0, 6))]
        for a, b in zip(tail, [ring[0], *tail[:-1]]):
            nxt[a] = b
        i += tail.size
    chain = perm[-200:]
    nxt[chain[:-1]] = chain[1:]
    d = np.flatnonzero(nxt >= 0)
    interner = adhoc_parquet.Interner()
    assert interner.intern(pa.array(names), np.ones(n, bool)).tolist() == list(range(n))
    got = adhoc_kernels.resolve_links(nxt.copy(), interner.off, interner.data)
    ws = yunying.Workspace.in_memory()
    ws.con.register("_p", pa.table({"distinct_id": [names[x] for x in d], "user_id": [names[x] for x in nxt[d]],
                                    "ts": pa.array(np.arange(d.size) * 1000, pa.timestamp("us"))}))
    identities.insert_row_links(ws.con, "_p")
    identities.resolve(ws.con)
    want = dict(ws.con.execute("SELECT distinct_id, user_id FROM identities").fetchall())
    assert [names[x] for x in got] == [want.get(names[x], names[x]) for x in range(n)]
    assert sum(got[x] != x for x in range(n)) > n // 2
    ws.close()


def test_uuid_pages_without_libzstd_equal_with_it(tmp_path, monkeypatch):
    """Where the system has no libzstd, PyArrow's codec decompresses the pages: the same hashes, and buffers
    reused across row groups of different sizes give the same hashes as fresh ones."""
    from yunying.storage import adhoc_pages

    assert adhoc_pages._ZSTD is not None  # this machine has libzstd: the default path is the one tested above
    values = [f"{i:x}-{'x' * (i % 50)}" for i in range(5000)]
    path = tmp_path / "z.parquet"
    pq.write_table(pa.table({"u": values}), path, use_dictionary=False, compression="zstd", row_group_size=1700,
                   data_page_size=2048)
    pf = pq.ParquetFile(path)
    col = adhoc_parquet._column(pf, "u")
    got = {}
    for zstd in (adhoc_pages._ZSTD, None):
        monkeypatch.setattr(adhoc_pages, "_ZSTD", zstd)
        bufs = adhoc_pages.Buffers()
        for i in reversed(range(pf.num_row_groups)):  # the smaller last group first: buffers grow, then shrink
            rg = pf.metadata.row_group(i)
            out = np.zeros(rg.num_rows, np.uint64)
            assert adhoc_pages.chunk_hashes(str(path), rg, *col, out, bufs) is True
            got[zstd is None, i] = out
    for i in range(pf.num_row_groups):
        want, _ = adhoc_parquet.uuid_hashes(pf.read_row_group(i).column(0).combine_chunks())
        assert np.array_equal(got[False, i], want) and np.array_equal(got[True, i], want)
