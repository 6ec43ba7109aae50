"""The import's repeat check (``event_import.check_repeats``): the hashes occurring twice among the new rows,
found by NumPy's sort for small batches and by the ``--events`` store's radix kernel on all cores from
``KERNEL_FROM`` rows on. Both against NumPy's counts (0 included: a hash like any other here, though the kernel
passes over it), and whole imports through the kernel against imports through the sort."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.storage import event_import


def _want(h: np.ndarray) -> np.ndarray:
    values, counts = np.unique(h, return_counts=True)
    return values[counts > 1]


@pytest.mark.parametrize("zeros", [0, 1, 2, 5])
@pytest.mark.parametrize("kernel_from", [0, 1 << 40])
def test_repeated_values_against_numpy_counts(monkeypatch, zeros, kernel_from):
    monkeypatch.setattr(event_import, "KERNEL_FROM", kernel_from)
    rng = np.random.default_rng(zeros)
    h = np.concatenate([rng.integers(1, 2**64 - 1, 50_000, dtype=np.uint64, endpoint=True),
                        # a few hundred values each sent several times, some in the same top bytes
                        rng.integers(1, 400, 20_000).astype(np.uint64) << np.uint64(52),
                        np.full(3, 2**64 - 1, np.uint64), np.zeros(zeros, np.uint64)])
    rng.shuffle(h)
    want = _want(h)
    got = np.sort(event_import.repeated_values(h.copy()))
    assert np.array_equal(got, want)
    assert (0 in got) == (zeros > 1)


def test_nothing_repeated(monkeypatch):
    monkeypatch.setattr(event_import, "KERNEL_FROM", 0)
    h = np.arange(1, 10_001, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    assert event_import.repeated_values(h).size == 0


def _import(tmp_path, name: str, kernel_from: int, monkeypatch) -> tuple:
    monkeypatch.setattr(event_import, "KERNEL_FROM", kernel_from)
    ws = yunying.Workspace.init(tmp_path / name)
    rows = [{"user_id": f"u{i % 40}", "event": "open", "ts": f"2026-06-{1 + i % 20:02d} 10:00:{i % 60:02d}",
             "event_uuid": f"e{i}"} for i in range(3_000)]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / f"{name}-a.parquet")
    # the second file sends 7 events of the first again (a repeat within the batch) and 5 identical rows
    # without an id: the staged rules take the batch, one row per event
    again = rows[100:107] + [{"user_id": "u1", "event": "buy", "ts": "2026-06-03 09:00:00", "event_uuid": None}] * 5
    pq.write_table(pa.Table.from_pylist(again + [dict(r, event_uuid=f"n{i}") for i, r in enumerate(rows[:500])]),
                   tmp_path / f"{name}-b.parquet")
    first = ws.import_events(str(tmp_path / f"{name}-a.parquet"))
    second = ws.import_events([str(tmp_path / f"{name}-a.parquet"), str(tmp_path / f"{name}-b.parquet")])
    events = sorted(ws.con.execute("SELECT user_id, event, ts, event_uuid FROM events").fetchall(), key=repr)
    ws.close()
    return ((first.rows_read, first.rows_added), (second.rows_read, second.rows_added, second.identical_rows),
            events)


def test_an_import_through_the_kernel_equals_one_through_the_sort(tmp_path, monkeypatch):
    staged = []
    real = event_import.EventImports._import_staged

    def spy(self, *a, **k):
        staged.append(True)
        return real(self, *a, **k)

    monkeypatch.setattr(event_import.EventImports, "_import_staged", spy)
    by_kernel = _import(tmp_path, "k", 0, monkeypatch)
    assert len(staged) == 1  # the second import repeats keys: found by the kernel
    by_sort = _import(tmp_path, "s", 1 << 40, monkeypatch)
    assert len(staged) == 2
    assert by_kernel == by_sort
    (read1, added1), (read2, added2, identical), events = by_kernel
    assert (read1, added1) == (3_000, 3_000)
    # 3,000 again + 7 again + 5 identical rows (one event kept: they repeat within one file, so the staged
    # rules keep each as its own occurrence) + 500 new
    assert read2 == 3_000 + 7 + 5 + 500
    assert added2 == 5 + 500
    assert identical == 4
    assert len(events) == 3_000 + 5 + 500
