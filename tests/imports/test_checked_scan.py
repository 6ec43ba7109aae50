"""``model/checked_scan.py`` (checks stated over the typed values, each value typed once) against the checks
stated over the file's own columns (``TypedSource.bad_sql``, the second implementation, which also names the
rows in errors): on messy files both refuse the same rows and keep the same typed rows."""
from __future__ import annotations

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from yunying.model.checked_scan import checked_rows
from yunying.model.ingest import typed_source
from yunying.model.schema import EVENT_COLUMNS
from yunying.storage.event_import import ROW_CHECKS

from import_helpers import write_csv

ROW_CHECK = " OR ".join(f"({c})" for c, _ in ROW_CHECKS)


def _csv(tmp_path):
    return write_csv(tmp_path / "m.csv", [
        ["user_id", "distinct_id", "event", "time", "amount", "properties", "colour", "utm_source"],
        ["u1", "", "open", "2026-06-01 10:00:00", "1,200.5", '{"a": 1}', "red", " baidu "],
        ["", "", "open", "2026-06-01", "", "", "", ""],                     # no user
        ["u2", "d2", "  ", "2026-06-01", "", "", "", ""],                   # event blank: missing
        ["u3", "", "buy", "yesterday", "", "", "", ""],                     # time not understood
        ["u4", "", "buy", "", "", "", "", ""],                              # time missing
        ["u5", "", "buy", "1850-01-01", "", "", "", ""],                    # time out of range
        ["u6", "", "buy", "1780300800", "abc", "", "", ""],                 # amount not a number
        ["u7", "", "buy", "20260601", "NaN", "", "", ""],                   # NaN is no amount
        ["u8", "", "buy", "2026-06-01T10:00:00+08:00", "3", "[1, 2]", "", ""],  # array: not an object
        ["u9", "", "buy", "2026-06-01", "3", "{bad", "blue", ""],           # not JSON
        ["\u3000u10 ", "", " view\u00a0", "2026-06-02", " 4 ", " {} ", "", "x"],
        ["u11", "", "view", "2026-06-02", "", '"text"', "", ""],            # JSON, not an object
    ])


def _parquet(tmp_path):
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({
        "distinct_id": ["a", None, "c", "d", "e", "f"],
        "user_id": [None, None, "u3", "u4", None, "u6"],
        "event": ["open", "open", None, "x", "y", ""],
        "timestamp": pa.array([1780300800000000, 1780300800000000, 1780300800000000, None,
                               -5000000000000000, 1780300800000000], pa.timestamp("us", tz="UTC")),
        "revenue": [1.5, None, float("nan"), float("inf"), 2.0, 3.0],
        "properties": ['{"k": 1}', None, "{}", "[]", "nope", '{"z": null}'],
        "other": [1, 2, 3, None, 5, 6],
    }), path)
    return path


@pytest.mark.parametrize("make", [_csv, _parquet])
def test_checks_over_typed_values_equal_checks_over_the_file(tmp_path, make):
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    typed = typed_source(con, str(make(tmp_path)), EVENT_COLUMNS, explicit_mapping={"revenue": "amount"}
                         if make is _csv else None, import_tz="Asia/Shanghai", checked=True)
    names = ", ".join(c.name for c in typed.schema)
    # as the import ran before: rows refused by bad_sql, then typed, then the row checks (in steps, so that no
    # value of a refused row is typed)
    con.execute(f"CREATE TABLE ok AS SELECT * FROM {typed.src} WHERE NOT coalesce({typed.bad_sql}, false)")
    old = con.execute(f"SELECT * FROM (SELECT {', '.join(typed.select)} FROM ok) WHERE NOT ({ROW_CHECK})").fetchall()
    total = con.execute(f"SELECT count(*) FROM {typed.src}").fetchall()[0][0]
    new = con.execute(checked_rows(typed, "Asia/Shanghai", "false", [c for c, _ in ROW_CHECKS])).fetchall()
    assert sorted(new, key=repr) == sorted(old, key=repr)
    assert 0 < len(new) < total - 3  # the files keep some rows and refuse several
    with pytest.raises(duckdb.Error, match="refused here"):
        con.execute(checked_rows(typed, "Asia/Shanghai", "error('refused here')", [c for c, _ in ROW_CHECKS]))
    assert names.startswith("user_id, distinct_id, event, ts")


def test_malformed_json_is_named_with_its_row(tmp_path):
    """Text starting with "{" that is not JSON: refused with its row (json_type used to raise on it, and the
    error named no row)."""
    import yunying
    from yunying.config import WorkspaceConfig
    from yunying.errors import ValidationError

    f = write_csv(tmp_path / "a.csv", [["user_id", "event", "time", "properties"], ["u1", "open", "2026-06-01", "{}"],
                                       ["u2", "open", "2026-06-01", "{bad"]])
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    with pytest.raises(ValidationError, match=r"1 of 2 row\(s\) are invalid[\s\S]*row 2 \(line 3\): properties"):
        ws.import_events(str(f))
    assert ws.counts()["events"] == 0
