"""Runs of Parquet files alike (``event_import._runs``): consecutive plain Parquet files with the same columns,
types and mapping are scanned by one statement (one ``read_parquet([…])``, one build of the join on the
identity links). The same import file by file is the second implementation: equal tables, reports and errors."""
from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import InputFileError, ValidationError
from yunying.storage import event_import

SCHEMA = pa.schema([("distinct_id", pa.string()), ("user_id", pa.string()), ("event", pa.string()),
                    ("ts", pa.string()), ("event_uuid", pa.string()), ("revenue", pa.float64())])


def _write(path, rows, schema=SCHEMA) -> str:
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return str(path)


def _files(tmp_path) -> list[str]:
    """Four files alike and one with another column type (revenue as text): anonymous ids linked in a later
    file than their first rows, an id linked in two files (the earliest row wins), events without an id."""
    out = []
    for f in range(4):
        rows = []
        for i in range(300):
            anon = f"d{(i * 7 + f) % 50}"
            user = None if (i + f) % 3 else f"u{(i * 7 + f) % 50 // 2}"
            rows.append({"distinct_id": anon, "user_id": user, "event": ["open", "view", "buy"][i % 3],
                         "ts": f"2026-06-{1 + (i + 5 * f) % 27:02d} {i % 24:02d}:{f:02d}:00",
                         "event_uuid": None if i % 10 == 0 else f"e{f}-{i}", "revenue": 9.5 if i % 3 == 2 else None})
        out.append(_write(tmp_path / f"part-{f}.parquet", rows))
    text = pa.schema([*list(SCHEMA)[:5], ("revenue", pa.string())])
    out.append(_write(tmp_path / "other.parquet", [{"distinct_id": "d1", "user_id": "u9", "event": "buy",
                                                    "ts": "2026-05-30 08:00:00", "event_uuid": "x1",
                                                    "revenue": "12.5"}], text))
    return out


def _state(ws) -> dict:
    q = lambda sql: sorted(ws.con.execute(sql).fetchall(), key=repr)  # noqa: E731
    return {"events": q("SELECT * FROM events"), "identities": q("SELECT distinct_id, user_id FROM identities"),
            "users": q("SELECT user_id, first_seen, last_seen FROM users"),
            "names": q("SELECT event, events FROM event_names")}


def _one_by_one(monkeypatch):
    real = event_import._runs
    monkeypatch.setattr(event_import, "_runs", lambda *a: [[x] for run in real(*a) for x in run])


def test_runs_cut_where_files_differ(tmp_path):
    files = _files(tmp_path)
    empty = _write(tmp_path / "empty.parquet", [])
    csv = tmp_path / "c.csv"
    csv.write_text("user_id,event,time\nu1,open,2026-06-01\n", encoding="utf-8")
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    order = files[:2] + [empty] + files[2:4] + [str(csv)] + files[4:] + files[:1]
    runs = event_import._runs(ws, order, {}, None)
    assert [[f for _, f, _ in run] for run in runs] == [files[:2], [empty], files[2:4], [str(csv)], files[4:],
                                                       files[:1]]
    assert [[n for n, _, _ in run] for run in runs] == [[0, 1], [2], [3, 4], [5], [6], [7]]


@pytest.mark.parametrize("links_first", [True, False])
def test_a_run_imports_what_the_files_one_by_one_import(tmp_path, monkeypatch, links_first):
    files = _files(tmp_path)
    if not links_first:
        monkeypatch.setattr(event_import, "links_first", lambda *a, **k: None)
    seen = []
    real = event_import._append_run
    monkeypatch.setattr(event_import, "_append_run", lambda ws, typeds, resolved: (
        seen.append((len(typeds), resolved)), real(ws, typeds, resolved))[1])
    said = []
    ws = yunying.Workspace.init(tmp_path / "runs", WorkspaceConfig(name="w"))
    first = ws.import_events(files[:1])
    second = ws.import_events(files, progress=said.append)
    assert seen == [(5 - 1, links_first)]  # the four files alike, in one statement; the fifth by its own
    assert [s.text.key for s in said if s.text.key.startswith("import.stage.reading")] == [
        "import.stage.reading_files", "import.stage.reading"]
    assert str(said[0]) == "reading 4 files (part-0.parquet … part-3.parquet)"
    runs = _state(ws)

    _one_by_one(monkeypatch)
    ws2 = yunying.Workspace.init(tmp_path / "each", WorkspaceConfig(name="w"))
    first2 = ws2.import_events(files[:1])
    second2 = ws2.import_events(files)
    assert len(seen) == 1  # no run this time
    assert _state(ws2) == runs
    for a, b in ((first, first2), (second, second2)):
        assert (a.rows_read, a.rows_added, a.duplicates, a.identities_added, a.events_reassigned) == (
            b.rows_read, b.rows_added, b.duplicates, b.identities_added, b.events_reassigned)
    assert second.rows_read == 4 * 300 + 1 and second.duplicates == 300
    assert runs["identities"] and len(runs["events"]) == 4 * 300 + 1


def test_a_bad_row_in_a_run_is_named_in_its_file_and_nothing_is_imported(tmp_path):
    files = _files(tmp_path)[:4]
    rows = pq.read_table(files[2]).to_pylist()
    rows[41]["ts"] = "yesterday"
    rows[99]["event"] = None
    _write(files[2], rows)
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    with pytest.raises(ValidationError) as err:
        ws.import_events(files)
    text = str(err.value)
    assert "part-2.parquet: 2 of 300 row(s) are invalid" in text
    assert "row 42: ts" in text and "row 100: event: missing" in text
    assert "part-0" not in text and "part-1" not in text
    assert ws.counts()["events"] == 0
    assert ws.con.execute("SELECT count(*) FROM identities").fetchall() == [(0,)]
    assert ws.import_events(files[:2]).rows_added == 600  # no transaction left aborted


def test_an_unreadable_file_in_a_run_is_named(tmp_path):
    files = _files(tmp_path)[:3]
    data = bytearray(open(files[1], "rb").read())
    mid = len(data) // 2  # a data page broken, the footer intact: the file describes, then fails to read
    data[mid - 200:mid + 200] = b"\x07" * 400
    open(files[1], "wb").write(bytes(data))
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    with pytest.raises((InputFileError, ValidationError)) as err:
        ws.import_events(files)
    assert "part-1.parquet" in str(err.value)
    assert ws.counts()["events"] == 0


def test_an_empty_file_between_files_alike_is_named(tmp_path):
    files = _files(tmp_path)[:3]
    empty = _write(tmp_path / "empty.parquet", [])
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    with pytest.raises(InputFileError, match="empty.parquet"):
        ws.import_events([files[0], empty, files[1], files[2]])
    assert ws.counts()["events"] == 0


def test_the_cli_bar_advances_by_the_files_a_stage_reads():
    from yunying.cli.core import _files_read
    from yunying.errors import Said

    assert _files_read(Said("import.stage.reading", file="a.parquet")) == 1
    assert _files_read(Said("import.stage.reading_files", n=26, first="a", last="z")) == 26
    assert _files_read(Said("import.stage.storing_one")) == 0
    assert _files_read("plain text") == 0


def test_the_cli_bar_counts_the_files_a_glob_or_folder_stands_for(tmp_path):
    from yunying.cli.core import _files_total

    for i in range(3):
        (tmp_path / f"e{i}.csv").write_text("user_id,event,ts\nu,open,2026-06-01\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "x.csv").write_text("user_id,event,ts\nu,open,2026-06-01\n")
    assert _files_total([str(tmp_path / "e*.csv")]) == 3  # a quoted glob: the files it matches
    assert _files_total([str(tmp_path / "sub"), str(tmp_path / "e0.csv")]) == 2
    assert _files_total([str(tmp_path / "none-*.csv")]) == 1  # matches nothing: the import names it
