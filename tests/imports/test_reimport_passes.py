"""De-duplication against stored events in passes (``event_import.drop_stored``): the 64-bit hash space cut
into ranges, each one join small enough for DuckDB's memory, so a re-import of everything stored does not
spill. The expected counts come from the files (distinct ids and distinct rows counted in Python)."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.storage import event_import


def _write(path, rows: list[dict]) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema(
        [("user_id", pa.string()), ("event", pa.string()), ("ts", pa.string()), ("event_uuid", pa.string())])), path)
    return str(path)


def _rows(prefix: str, n: int, with_id: bool, second: int = 0) -> list[dict]:
    return [{"user_id": f"u{i % 13}", "event": "view", "ts": f"2026-06-01 {i // 3600:02d}:{i // 60 % 60:02d}:{i % 60:02d}",
             "event_uuid": f"{prefix}{i}" if with_id else None} for i in range(second, second + n)]


def _events(ws) -> list[tuple]:
    return ws.con.execute("SELECT user_id, event, ts, event_uuid, event_key FROM events ORDER BY ALL").fetchall()


@pytest.mark.parametrize("passes", [1, 7])
def test_reimports_add_only_new_events_in_any_number_of_passes(tmp_path, monkeypatch, passes):
    seen = []
    real = event_import._drop_stored_range
    monkeypatch.setattr(event_import, "_drop_stored_range",
                        lambda con, first, part, n: seen.append((part, n)) or real(con, first, part, n))
    if passes > 1:  # as if the rows needed `passes` ranges
        monkeypatch.setattr(event_import, "drop_stored", lambda con, first, n, limit: sum(
            event_import._drop_stored_range(con, first, p, passes) for p in range(passes)))
    a = _rows("e", 900, True) + _rows("", 300, False, second=5000)  # ids, and content-keyed rows
    b = _rows("e", 400, True, second=700) + _rows("", 200, False, second=5200)  # half of it stored already
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    assert ws.import_events(_write(tmp_path / "a.parquet", a)).rows_added == 1200
    before = _events(ws)
    again = ws.import_events(str(tmp_path / "a.parquet"))
    assert (again.rows_read, again.rows_added, again.duplicates) == (1200, 0, 1200)
    assert _events(ws) == before
    more = ws.import_events(_write(tmp_path / "b.parquet", b))
    new_ids = {r["event_uuid"] for r in b if r["event_uuid"]} - {r["event_uuid"] for r in a}
    new_rows = {tuple(r.items()) for r in b if not r["event_uuid"]} - {tuple(r.items()) for r in a}
    assert more.rows_added == len(new_ids) + len(new_rows) == 200 + 100
    assert ws.con.execute("SELECT count(*), count(DISTINCT event_uuid) FROM events").fetchall()[0] == (1500, 1100)
    assert {p for p, n in seen} == set(range(passes)) and {n for p, n in seen} == {passes}
    ws.close()


def test_the_passes_keep_each_join_under_half_the_memory_limit():
    """The plan itself: enough equal ranges that the rows of one (of the smaller side) fit in half of DuckDB's
    memory limit, and one pass when they fit anyway."""
    calls = []

    class Con:  # records the passes, changes nothing
        pass

    real = event_import._drop_stored_range
    try:
        event_import._drop_stored_range = lambda con, first, part, n: calls.append((part, n)) or 0
        limit = 2 * 2**30
        for stored, new in [(100_000_000, 100_000_000), (100_000_000, 1_000), (5_000_000, 100_000_000), (1, 1)]:
            calls.clear()
            event_import.drop_stored(Con(), stored, new, limit)
            passes = calls[0][1]
            assert [p for p, _ in calls] == list(range(passes))
            side = min(stored, new)
            assert side / passes * event_import.STORED_ROW_BYTES <= limit / 2
            assert passes == 1 or side / (passes - 1) * event_import.STORED_ROW_BYTES > limit / 2  # no more than needed
    finally:
        event_import._drop_stored_range = real


def test_the_insert_keeps_no_setting_after_an_import_good_or_refused(tmp_path):
    """The insert drops ``preserve_insertion_order`` for itself only: analyses on the same connection read the
    clustered table in order afterwards, also after a refused (rolled back) import."""
    from yunying.errors import YunyingError

    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    setting = lambda: ws.con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]  # noqa: E731
    assert ws.import_events(_write(tmp_path / "a.parquet", _rows("e", 50, True))).rows_added == 50
    assert setting() is True
    bad = _rows("f", 20, True)
    bad[7]["ts"] = "not a time"
    with pytest.raises(YunyingError, match="row"):
        ws.import_events(_write(tmp_path / "bad.parquet", bad))
    assert setting() is True and ws.counts()["events"] == 50
    ws.close()
