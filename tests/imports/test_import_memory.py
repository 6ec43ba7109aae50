"""An import keeps the whole process within the workspace's ``memory_limit``: DuckDB's limit is lowered by what
the import holds outside DuckDB, and by the repeat check's 8 bytes a row while that array exists; the
workspace's own limit is set again afterwards, also when the import fails."""
from __future__ import annotations

import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import ValidationError
from yunying.storage import event_import
from yunying.storage.connection import size_bytes

from import_helpers import write_csv

GB = 10**9


def _limit(ws) -> int:
    return size_bytes(ws.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0])


def test_sizes_as_duckdb_writes_them():
    assert size_bytes("4GB") == 4 * GB
    assert size_bytes("3.7 GiB") == int(3.7 * 2**30)
    assert size_bytes("512 MiB") == 512 * 2**20
    assert size_bytes("1000 bytes") == 1000
    with pytest.raises(ValueError):
        size_bytes("lots")


def test_limit_lowered_during_the_import_and_set_again(tmp_path, monkeypatch):
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w", memory_limit="2GB"))
    before = _limit(ws)
    seen = []
    real = event_import._hashes_twice

    def spy(con, first, n):
        seen.append((size_bytes(con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]), n))
        return real(con, first, n)

    monkeypatch.setattr(event_import, "_hashes_twice", spy)
    rows = [["user_id", "event", "time"]] + [[f"u{i}", "open", f"2026-06-01 00:00:{i:02d}"] for i in range(50)]
    ws.import_events(str(write_csv(tmp_path / "a.csv", rows)))
    (during, n), = seen
    assert n == 50
    # 2 GB less 768 MiB outside DuckDB, less 8 bytes a row (DuckDB shows the limit rounded to 0.1 of its unit)
    assert abs(during - (2 * GB - event_import.OUTSIDE_DUCKDB - 8 * 50)) < 0.06 * 2**30
    assert _limit(ws) == before
    bad = write_csv(tmp_path / "b.csv", [["user_id", "event", "time"], ["u1", "open", "never"]])
    with pytest.raises(ValidationError):
        ws.import_events(str(bad))
    assert _limit(ws) == before
