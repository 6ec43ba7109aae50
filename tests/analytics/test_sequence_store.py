"""The sequence store (storage/sequence_store.py): analyses that read it give exactly what they give reading
DuckDB, and a store that no longer matches the events is never read."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.analyses import registry
from yunying.engines import duckdb as duck_engine
from yunying.engines.duckdb import DuckDBEngine
from yunying.storage import sequence_store as store
from yunying.storage import workspace
from yunying.config import WorkspaceConfig

from analytics_helpers import T0, events_table


@pytest.fixture
def spy(monkeypatch):
    """Counts reads of the store and of DuckDB's event export."""
    calls = {"store": 0, "duckdb": 0}
    real_scan, real_batches = store.SequenceStore.scan, duck_engine.scan_batches

    def scan(self, *a, **k):
        calls["store"] += 1
        return real_scan(self, *a, **k)

    def batches(*a, **k):
        calls["duckdb"] += 1
        return real_batches(*a, **k)

    monkeypatch.setattr(store.SequenceStore, "scan", scan)
    monkeypatch.setattr(duck_engine, "scan_batches", batches)
    return calls


def run_both(monkeypatch, spy, fn):
    """fn() reading the store, then reading DuckDB; both results as canonical JSON."""
    before = dict(spy)
    a = fn()
    used = spy["store"] > before["store"]
    monkeypatch.setattr(DuckDBEngine, "use_store", False)
    try:
        b = fn()
    finally:
        monkeypatch.setattr(DuckDBEngine, "use_store", True)
    dump = lambda r: json.dumps(r.to_dict(), sort_keys=True, default=str)  # noqa: E731
    return dump(a), dump(b), used, a, b


def disk_ws(tmp_path, rows_or_files, tz="UTC", name="ws"):
    ws = yunying.Workspace.init(tmp_path / name, WorkspaceConfig(name="t", timezone=tz))
    if isinstance(rows_or_files, list) and rows_or_files and isinstance(rows_or_files[0], tuple):
        f = tmp_path / f"{name}.parquet"
        pq.write_table(events_table(rows_or_files), f)
        rows_or_files = [str(f)]
    ws.import_events(rows_or_files)
    return ws


# ----------------------------------------------------------------------------- same results

@pytest.fixture(scope="module")
def demo_ws(tmp_path_factory):
    from yunying.demo import generate

    base = tmp_path_factory.mktemp("store")
    out = generate(base / "data", users=300, days=35, seed=5)
    ws = yunying.Workspace.init(base / "ws", WorkspaceConfig(name="store", timezone="Asia/Shanghai"))
    ws.import_events(out["files"])
    assert store.status(ws) == "none"  # a small workspace gets no store by itself
    assert ws.refresh_sequence_store(force=True)
    assert store.status(ws) == "fresh"
    yield ws
    ws.close()


CASES = [
    ("funnel", dict(steps=["signup", "activate", "view_content", "purchase"], window="7d")),
    ("funnel", dict(steps=["app_open", "view_content", "share"], window="30m", order="strict")),
    ("funnel", dict(steps=["view_content", "share", "follow"], window="1d", order="unordered")),
    ("funnel", dict(steps=["signup", "purchase"], window="14d", interval="week", exclusions=[{"event": "$exposure"}])),
    ("funnel", dict(steps=["view_content", "view_content", "purchase"], window="2d")),
    ("funnel", dict(steps=["view_content", "purchase"], window="1d", repeat=True, date_from="2026-06-05",
                    date_to="2026-06-20", steps_in_range=True)),
    ("retention", dict(start_event="signup", return_event="app_open", period="week", periods=3)),
    ("retention", dict(period="day", periods=7, cohort="recurring", mode="on_or_after")),
    ("retention", dict(start_event="signup", return_event="purchase", period="day", brackets="1,2-7,8-30")),
    ("lifecycle", dict(period="week")),
    ("lifecycle", dict(period="day", event="purchase", date_from="2026-06-10")),
    ("stickiness", dict(period="week")),
    ("intervals", dict(first_event="purchase", then_event="purchase")),
    ("paths", dict(event="signup", depth=3)),
    ("paths", dict(event="purchase", direction="before", max_gap="30m")),
]


@pytest.mark.parametrize("kind,spec", CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(CASES)])
def test_store_gives_the_same_results_as_duckdb(demo_ws, monkeypatch, spy, kind, spec):
    analysis = registry.get(kind)
    a, b, used, ra, rb = run_both(monkeypatch, spy, lambda: analysis.run(demo_ws.engine, spec))
    assert used, "the analysis did not read the store"
    assert a == b
    if kind == "funnel":
        assert int(ra.frame["count"].iloc[0]) > 0
        # the users behind the counts (read from the store's users file) are the same users
        key = ["user_id", "step_1_at"]
        assert ra.attempts.sort_values(key).reset_index(drop=True).equals(
            rb.attempts.sort_values(key).reset_index(drop=True))
        if len(spec["steps"]) > 1:
            da, db = ra.dropped_after(1), rb.dropped_after(1)
            assert len(da) > 0 and sorted(da["user_id"]) == sorted(db["user_id"])


def test_breakdowns_read_duckdb(demo_ws, monkeypatch, spy):
    """Property columns are not in the store: a breakdown reads DuckDB (and still agrees)."""
    spec = dict(steps=["signup", "purchase"], window="14d", by="channel")
    a, b, used, *_ = run_both(monkeypatch, spy, lambda: registry.get("funnel").run(demo_ws.engine, spec))
    assert not used and a == b


def test_ties_and_time_range_on_a_random_log(tmp_path, monkeypatch, spy):
    """Many timestamp ties (whole minutes), every funnel mode, date ranges cutting through the data."""
    rng = np.random.default_rng(7)
    rows = []
    for u in range(150):
        for _ in range(rng.integers(1, 30)):
            rows.append((f"user-{u:03d}", str(rng.choice(list("ABCDE"))),
                         T0 + dt.timedelta(minutes=int(rng.integers(0, 4 * 24 * 60 // 10)) * 10)))
    ws = disk_ws(tmp_path, rows, tz="Asia/Shanghai")
    assert ws.refresh_sequence_store(force=True)
    st = store.open_store(ws)
    assert st.n_rows == len(rows) and st.n_users == 150
    cases = [("funnel", dict(steps=["A", "B", "C"], window="1d", order=o)) for o in ("ordered", "strict", "unordered")]
    cases += [
        ("funnel", dict(steps=["A", "B", "A", "C"], window="2d", date_from="2024-01-02", date_to="2024-01-03")),
        ("funnel", dict(steps=["A", "B", "C"], window="1d", date_from="2024-01-02", date_to="2024-01-03")),
        ("funnel", dict(steps=["B", "A", "C"], window="12h", date_from="2024-01-02", date_to="2024-01-03",
                        steps_in_range=True)),
        ("funnel", dict(steps=["A", "C"], window="6h", exclusions=[{"event": "E"}], repeat=True)),
        ("retention", dict(start_event="A", return_event="B", period="day", periods=3)),
        ("paths", dict(event="A", depth=2)),
        ("intervals", dict(first_event="A", then_event="D")),
        ("lifecycle", dict(period="day", event="C")),
    ]
    for kind, spec in cases:
        a, b, used, *_ = run_both(monkeypatch, spy, lambda: registry.get(kind).run(ws.engine, spec))
        assert used and a == b, (kind, spec)
    ws.close()


def test_funnel_attempts_read_in_place_name_the_same_users(tmp_path, monkeypatch, spy):
    """The one-pass funnel reads the store in place (no rows cut out): the same attempts - user ids, levels,
    step times - as reading DuckDB, and the ids (read from the store only when asked for) stay readable after
    the store has been rebuilt."""
    rng = np.random.default_rng(11)
    rows = [(f"user-{u:03d}", str(rng.choice(list("ABCX"))), T0 + dt.timedelta(minutes=int(rng.integers(0, 600)) * 5))
            for u in range(120) for _ in range(rng.integers(1, 25))]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True)
    spec = dict(steps=["A", "B", "C"], window="3h", date_from="2024-01-01", date_to="2024-01-02")
    run = lambda: registry.get("funnel").run(ws.engine, spec)  # noqa: E731
    monkeypatch.setattr(DuckDBEngine, "use_store", False)
    want = run().attempts
    monkeypatch.setattr(DuckDBEngine, "use_store", True)
    before = spy["store"]
    got = run()  # its ids are read from the store when asked for, below
    assert spy["store"] > before and len(want) > 0
    f = tmp_path / "more.parquet"  # users that sort first: every user's index in a new store moves
    pq.write_table(events_table([(f"user-{u:03d}!", "A", T0) for u in range(-1, 5)]), f)
    ws.import_events([str(f)])
    store.build_store(ws)  # replaced on disk before the ids were read
    assert got.attempts.equals(want)
    ws.close()


# ----------------------------------------------------------------------------- never stale

def test_a_store_is_never_read_after_the_events_change(tmp_path, monkeypatch, spy):
    rows = [(f"u{i}", "A", T0 + dt.timedelta(hours=i)) for i in range(20)]
    rows += [(f"u{i}", "B", T0 + dt.timedelta(hours=i, minutes=5)) for i in range(0, 20, 2)]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True) and store.status(ws) == "fresh"
    funnel = registry.get("funnel")
    spec = dict(steps=["A", "B"], window="1h")
    assert funnel.run(ws.engine, spec).frame["count"].tolist() == [20, 10]

    # 1. a new import: new token, so the old store is stale (small workspace: not rebuilt by itself)
    f = tmp_path / "more.parquet"
    pq.write_table(events_table([(f"u{i}", "B", T0 + dt.timedelta(hours=i, minutes=9)) for i in range(1, 20, 2)]), f)
    ws.import_events([str(f)])
    assert store.status(ws) == "stale"
    n = spy["store"]
    assert funnel.run(ws.engine, spec).frame["count"].tolist() == [20, 20]
    assert spy["store"] == n

    # 2. rebuilt, then an identity merge moves events to another user
    assert ws.refresh_sequence_store(force=True) and store.status(ws) == "fresh"
    ws.identify([("u1", "u0")])
    assert store.status(ws) == "stale"
    assert funnel.run(ws.engine, spec).frame["count"].tolist() == [19, 19]

    # 3. rebuilt, then rows deleted behind yunying's back (plain SQL): the row count gives it away
    assert ws.refresh_sequence_store(force=True)
    ws.con.execute("DELETE FROM events WHERE user_id = 'u2'")
    assert store.status(ws) == "stale"
    assert funnel.run(ws.engine, spec).frame["count"].tolist() == [18, 18]
    ws.close()



@pytest.fixture
def lazy_store(monkeypatch):
    """Imports of any size leave the store to the first analysis (as those from LAZY_STORE_FROM events do)."""
    monkeypatch.setattr(workspace, "LAZY_STORE_FROM", 0)


def test_small_imports_build_the_store_at_once(tmp_path, monkeypatch):
    """Below LAZY_STORE_FROM events an import builds the store itself: the first analysis answers at full speed."""
    monkeypatch.setattr(store, "MIN_ROWS", 30)
    rows = [(f"u{i % 7}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(29)]
    ws = disk_ws(tmp_path, rows)
    f = tmp_path / "more.parquet"
    pq.write_table(events_table([("u9", "A", T0)]), f)
    stages = []
    ws.import_events([str(f)], progress=stages.append)
    assert stages[-1] == "building the sequence store"
    assert store.status(ws) == "fresh" and store.open_store(ws).n_rows == 30
    ws.close()

def test_imports_ask_for_the_store_and_the_first_analysis_builds_it(tmp_path, monkeypatch, spy, lazy_store):
    """From MIN_ROWS events on an import leaves the store pending (its command does not pay the build); the
    first analysis that reads it builds it - in a read-only process too - and gets what DuckDB gives; the
    store it builds is byte for byte the one an eager build writes. ``optimize`` builds it itself."""
    monkeypatch.setattr(store, "MIN_ROWS", 30)
    rows = [(f"u{i % 7}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(29)]
    ws = disk_ws(tmp_path, rows)
    assert store.status(ws) == "none"  # 29 events
    f = tmp_path / "more.parquet"
    pq.write_table(events_table([("u9", "A", T0)]), f)
    stages = []
    ws.import_events([str(f)], progress=stages.append)  # 30: clustered again, store asked for, not built
    assert stages == ["reading more.parquet", "storing 1 event (de-duplicating, resolving identities)",
                      "sorting events by user and time"]
    assert store.status(ws) == "pending" and not (tmp_path / "ws" / store.STORE_DIR).exists()
    ws.close()
    spec = dict(steps=["A", "B"], window="1h")
    with yunying.Workspace.open(tmp_path / "ws", read_only=True) as ro:  # a reader builds it
        n = spy["store"]
        lazy, eager, used, _, _ = run_both(monkeypatch, spy, lambda: registry.get("funnel").run(ro.engine, spec))
        assert used and spy["store"] == n + 1 and lazy == eager
        assert store.status(ro) == "fresh" and store.open_store(ro).n_rows == 30
    lazy_files = {p.name: p.read_bytes() for p in (tmp_path / "ws" / store.STORE_DIR).iterdir()}
    ws = yunying.Workspace.open(tmp_path / "ws")
    assert ws.refresh_sequence_store(force=True) is False  # fresh: nothing to do
    store.build_store(ws)  # the eager build of the same events
    eager_files = {p.name: p.read_bytes() for p in (tmp_path / "ws" / store.STORE_DIR).iterdir()}
    assert eager_files.keys() == lazy_files.keys()
    for name in eager_files.keys() - {"meta.json"}:
        assert eager_files[name] == lazy_files[name], name
    strip = lambda b: {k: v for k, v in json.loads(b).items() if k != "id"}  # noqa: E731 - the build's own id
    assert strip(eager_files["meta.json"]) == strip(lazy_files["meta.json"])
    ws.optimize()  # rewrites the table (a new token) and rebuilds at once
    assert store.status(ws) == "fresh"
    ws.con.execute("UPDATE events SET event = 'B' WHERE user_id = 'u9'")  # not an import: not asked for
    ws.renew_events_version()
    assert store.status(ws) == "stale"
    assert registry.get("funnel").run(ws.engine, spec).frame["count"].iloc[0] == 7  # u0..u6 (u9 has no A now)
    assert store.status(ws) == "stale"  # read from DuckDB, no build
    ws.close()


def test_two_processes_build_a_pending_store_once(tmp_path, monkeypatch, lazy_store):
    """Readers that find the store pending at the same time: one builds, the other waits for it and opens it."""
    import subprocess
    import sys
    import textwrap

    monkeypatch.setattr(store, "MIN_ROWS", 10)
    rows = [(f"u{i % 5}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(40)]
    disk_ws(tmp_path, rows).close()
    code = textwrap.dedent(f"""
        import yunying
        from yunying.storage import sequence_store as store
        from yunying.analyses import registry
        store.MIN_ROWS = 10
        built = []
        real = store._build_unlocked
        store._build_unlocked = lambda ws: built.append(1) or real(ws)
        with yunying.Workspace.open({str(tmp_path / "ws")!r}, read_only=True) as ws:
            r = registry.get("funnel").run(ws.engine, dict(steps=["A", "B"], window="1h"))
            print(len(built), r.frame["count"].tolist(), store.status(ws))
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outs = sorted(p.communicate()[0].strip().splitlines()[-1] for p in procs)
    assert outs == ["0 [5, 5] fresh", "1 [5, 5] fresh"], outs


def test_a_damaged_store_is_ignored(tmp_path, monkeypatch, spy):
    rows = [(f"u{i // 2}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(40)]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True)
    store._cache.clear()
    (tmp_path / "ws" / store.STORE_DIR / "ts.bin").write_bytes(b"\0" * 8)  # cut short
    assert store.open_store(ws) is None
    n = spy["store"]
    assert registry.get("funnel").run(ws.engine, dict(steps=["A", "B"], window="1h")).frame["count"].tolist() == [20, 20]
    assert spy["store"] == n
    assert ws.refresh_sequence_store(force=True) and store.status(ws) == "fresh"  # rebuilt in place
    ws.close()


def test_rows_without_user_time_or_event_get_no_store(tmp_path):
    ws = disk_ws(tmp_path, [("u1", "A", T0), ("u2", "A", T0)])
    ws.con.execute("INSERT INTO events (user_id, event, ts, event_key) VALUES (NULL, 'A', '2024-01-01', 1)")
    assert not ws.refresh_sequence_store(force=True) and store.status(ws) == "none"
    with pytest.raises(store.StoreUnavailable, match="1 event"):
        store.build_store(ws)
    ws.close()


def test_large_imports_skip_the_wide_sort_and_the_store_orders_them(tmp_path, monkeypatch, spy, lazy_store):
    """Above RECLUSTER_LIMIT an import goes in unsorted (not clustered); the store is built by sorting
    (user_id, ts, event) and the analyses agree with DuckDB's own sorted read, ties included."""
    from yunying.storage import workspace

    monkeypatch.setattr(workspace, "RECLUSTER_LIMIT", 100)
    monkeypatch.setattr(store, "MIN_ROWS", 100)
    rng = np.random.default_rng(11)
    rows = [(f"user-{int(rng.integers(0, 60)):02d}", str(rng.choice(list("ABCD"))),
             T0 + dt.timedelta(minutes=int(rng.integers(0, 2000)) * 5)) for _ in range(900)]
    rng.shuffle(rows)
    ws = disk_ws(tmp_path, rows, tz="Asia/Shanghai")
    assert not ws.clustered and store.status(ws) == "pending"  # the first analysis below builds it
    physical = ws.con.execute("SELECT user_id FROM events").fetchall()
    assert physical != sorted(physical)  # really stored unsorted
    for kind, spec in [("funnel", dict(steps=["A", "B", "C"], window="1d")),
                       ("funnel", dict(steps=["A", "B"], window="2h", order="strict")),
                       ("retention", dict(start_event="A", return_event="D", period="day", periods=4)),
                       ("paths", dict(event="B", depth=3)),
                       ("lifecycle", dict(period="day")),
                       ("stickiness", dict(period="week"))]:
        a, b, used, *_ = run_both(monkeypatch, spy, lambda: registry.get(kind).run(ws.engine, spec))
        assert used and a == b, (kind, spec)
    ws.close()


@pytest.mark.parametrize("keep_all,masked", [(False, False), (True, False), (False, True)])
def test_select_rows_against_numpy(keep_all, masked):
    """The store's row filter against a numpy mask: time bounds inclusive, codes remapped, empty users dropped,
    with a user mask only the rows of the users it keeps."""
    rng = np.random.default_rng(3)
    sizes = rng.integers(0, 12, 500)
    starts = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    n = int(starts[-1])
    ts = np.sort(rng.integers(0, 1000, n)).astype(np.int64)
    code = rng.integers(0, 6, n).astype(np.int16)
    lut = np.array([-1, 0, -1, 1, 2, -1], np.int32)
    lo, hi = np.int64(200), np.int64(700)
    out = (np.empty(n, np.int64), np.empty(n, np.int8), np.empty(501, np.int64), np.empty(500, np.int64))
    user_mask = rng.random(500) < 0.5 if masked else np.zeros(0, np.bool_)
    from yunying.sequences.kernels.store_rows import select_rows

    rows, users = select_rows(starts, ts, code, lut, keep_all, lo, hi, np.int64(0), np.int64(500), *out,
                              user_mask)
    keep = (ts >= lo) & (ts <= hi) & ((lut[code] >= 0) | keep_all)
    if masked:
        keep &= np.repeat(user_mask, sizes)
    assert rows == keep.sum()
    assert np.array_equal(out[0][:rows], ts[keep]) and np.array_equal(out[1][:rows], lut[code][keep])
    owner = np.repeat(np.arange(500), sizes)[keep]
    kept_users = np.unique(owner)
    assert users == kept_users.size and np.array_equal(out[3][:users], kept_users)
    assert np.array_equal(np.diff(out[2][: users + 1]), np.bincount(owner)[kept_users])


def test_raw_sql_that_writes_marks_the_store_stale(tmp_path):
    rows = [(f"u{i // 2}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(40)]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True)
    ws.engine.sql("SELECT count(*) FROM events")
    assert store.status(ws) == "fresh"
    ws.engine.sql("UPDATE events SET event = 'C' WHERE user_id IN ('u1', 'u2') AND event = 'B'")  # same row count
    assert store.status(ws) == "stale"
    assert registry.get("funnel").run(ws.engine, dict(steps=["A", "B"], window="1h")).frame["count"].tolist() == [20, 18]
    ws.close()


@pytest.mark.parametrize("meta", ['{"format": 1, "rows": null}', '[1, 2]', '{"format": 1}', "not json"])
def test_a_damaged_meta_file_is_ignored(tmp_path, meta):
    rows = [(f"u{i // 2}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(40)]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True)
    good = json.loads((tmp_path / "ws" / store.STORE_DIR / "meta.json").read_text())
    if meta == '{"format": 1}':  # right fingerprint, no event names
        meta = json.dumps({k: v for k, v in good.items() if k != "events"})
    store._cache.clear()
    (tmp_path / "ws" / store.STORE_DIR / "meta.json").write_text(meta)
    assert store.open_store(ws) is None
    assert registry.get("funnel").run(ws.engine, dict(steps=["A", "B"], window="1h")).frame["count"].tolist() == [20, 20]
    ws.close()


def test_a_failed_build_fails_neither_the_import_nor_the_analysis(tmp_path, monkeypatch, lazy_store):
    monkeypatch.setattr(store, "MIN_ROWS", 1)

    def no_space(ws):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store, "_build_unlocked", no_space)
    ws = disk_ws(tmp_path, [("u1", "A", T0), ("u1", "B", T0 + dt.timedelta(minutes=1))])
    assert ws.counts()["events"] == 2 and store.status(ws) == "pending"
    assert registry.get("funnel").run(ws.engine, dict(steps=["A", "B"], window="1h")).frame["count"].tolist() == [1, 1]
    assert store.status(ws) == "pending"  # read from DuckDB; the next analysis tries again
    ws.close()


def test_leftovers_of_a_killed_build_are_removed(tmp_path):
    ws = disk_ws(tmp_path, [("u1", "A", T0), ("u1", "B", T0 + dt.timedelta(minutes=1))])
    dead = [tmp_path / "ws" / f"{store.STORE_DIR}.tmp-999999-abcd", tmp_path / "ws" / f"{store.STORE_DIR}.old-999999-ef"]
    for d in dead:
        d.mkdir()
        (d / "ts.bin").write_bytes(b"x" * 100)
    assert ws.refresh_sequence_store(force=True)
    assert sorted(p.name for p in (tmp_path / "ws").iterdir() if p.name.startswith(".seq")) == [
        store.STORE_DIR, f"{store.STORE_DIR}.lock"]
    ws.close()


@pytest.mark.parametrize("use_store", [True, False])
def test_an_error_in_a_kernel_leaves_no_reader_running(tmp_path, monkeypatch, use_store):
    """The stream out of DuckDB is closed when the consumer stops early (the connection is free again)."""
    import threading

    from yunying.analyses import funnel as funnel_mod

    rows = [(f"u{i // 2}", "AB"[i % 2], T0 + dt.timedelta(minutes=i)) for i in range(400)]
    ws = disk_ws(tmp_path, rows)
    assert ws.refresh_sequence_store(force=True)
    monkeypatch.setattr(DuckDBEngine, "use_store", use_store)
    monkeypatch.setattr(DuckDBEngine, "batch_rows", 16)  # record batches and store blocks alike

    def boom(*a, **k):
        raise ZeroDivisionError("kernel failed")

    monkeypatch.setattr(funnel_mod, "funnel_ordered_distinct", boom)
    monkeypatch.setattr(funnel_mod, "funnel_ordered_into", boom)  # the one-pass kernel on the store in place
    with pytest.raises(ZeroDivisionError):
        funnel_mod.funnel(ws.engine, steps=["A", "B"], window="1h")
    for th in threading.enumerate():
        if th.name.startswith("yunying-"):
            th.join(timeout=5)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("yunying-") and t.is_alive()]
    got = []
    other = threading.Thread(target=lambda: got.append(ws._lock.acquire(timeout=5) and ws._lock.release() is None))
    other.start()
    other.join()
    assert got == [True]
    ws.close()


def test_read_ahead_covers_every_row_and_tolerates_a_vanished_store(tmp_path, monkeypatch):
    """The read-ahead asks for every byte of each file, a few rows at a time in reading order, and a store
    folder removed meanwhile (a rebuild) is no error."""
    asked = []
    monkeypatch.setattr(store.os, "posix_fadvise", lambda fd, off, n, advice: asked.append((fd, off, n)))
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"x" * 80)   # 10 rows of 8 bytes
    b.write_bytes(b"y" * 20)   # 10 rows of 2 bytes
    store._will_need([(a, 8), (b, 2)], rows=3)
    fa, fb = asked[0][0], asked[1][0]  # in turn: a rows 0-2, b rows 0-2, a rows 3-5 ...
    assert [x[0] for x in asked] == [fa, fb] * 4
    assert [x[1:] for x in asked if x[0] == fa] == [(0, 24), (24, 24), (48, 24), (72, 24)]  # 80 bytes covered
    assert [x[1:] for x in asked if x[0] == fb] == [(0, 6), (6, 6), (12, 6), (18, 6)]  # 20 bytes covered
    asked.clear()
    store._will_need([(tmp_path / "gone.bin", 8), (a, 8)])
    assert asked == []
