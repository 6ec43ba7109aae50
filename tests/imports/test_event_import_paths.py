"""The one-scan import (``storage/event_import.py``) against the staged import it replaced (the second
implementation: ``events_keys.key_staged`` + ``insert_keyed``), on generated files with anonymous ids, identity
links, event ids sent twice across files and imports, and rows without an id; and the stored event-name list
against a count of the stored events after imports, failed imports, re-imports, capture and merges."""
from __future__ import annotations

import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.errors import ValidationError
from yunying.model.schema import EVENT_COLUMNS
from yunying.storage import event_import

from import_helpers import write_csv


def _files(tmp_path, seed: int, n_files: int = 3, rows: int = 400) -> list[list[str]]:
    """Two imports of Parquet files: the second re-sends some event ids of the first, some with a user id now
    (an identity link), and adds new rows; ids and anonymous ids overlap across files. Each import gives a few
    anonymous ids several user ids at their earliest time (the first moment of June), within a file and across
    files: the tie rule (``checked_scan.LINK_USER``) decides their links."""
    rng = random.Random(seed)
    imports, sent = [], []
    for imp in range(2):
        names = []
        tied = rng.sample(range(30 * imp, 30 * imp + 30), 4)
        for f in range(n_files):
            recs = [{"distinct_id": f"d{d}", "user_id": f"u{rng.randrange(30)}", "event": "login",
                     "ts": "2026-06-01 00:00:00", "event_uuid": f"t{imp}-{f}-{d}-{k}", "revenue": None}
                    for d in tied for k in range(rng.randrange(1, 3))]
            sent += recs
            for i in range(rows):
                if imp and sent and rng.random() < 0.3:
                    r = dict(rng.choice(sent))
                    if r["user_id"] is None and rng.random() < 0.5:
                        r["user_id"] = f"u{rng.randrange(30)}"
                else:
                    anon = rng.random() < 0.4  # anonymous ids d30-d59 are linked only by the second import
                    r = {"distinct_id": f"d{rng.randrange(30, 60)}" if anon else
                         f"d{rng.randrange(30)}" if rng.random() < 0.3 else None,
                         "user_id": None if anon else f"u{rng.randrange(30)}",
                         "event": rng.choice(["open", "view", "Buy", "buy"]),
                         "ts": f"2026-06-{rng.randrange(1, 28):02d} {rng.randrange(24):02d}:00:00",
                         "event_uuid": f"e{imp}-{f}-{i}" if rng.random() < 0.8 else None,
                         "revenue": rng.choice([None, 9.5, 20.0])}
                    if r["event_uuid"] is None:  # content-keyed: distinct content within a file
                        r["ts"] = r["ts"][:-5] + f"{i // 60:02d}:{i % 60:02d}"
                    if r["distinct_id"] is None and r["user_id"] is None:
                        r["user_id"] = "u0"
                    sent.append(r)
                if r["event_uuid"] is None and imp:
                    continue  # a content-keyed row sent again in another file would repeat within the batch
                recs.append(r)
            # one event id sent twice within the same import would repeat a key: kept out here
            seen, uniq = set(), []
            for r in recs:
                k = r["event_uuid"] or id(r)
                if k not in seen:
                    seen.add(k)
                    uniq.append(r)
            path = tmp_path / f"s{seed}-i{imp}-f{f}.parquet"
            pq.write_table(pa.Table.from_pylist(uniq), path)
            names.append(str(path))
        imports.append(names)
    # across files of one import an event id may repeat: drop those from later files
    for names in imports:
        seen = set()
        for p in names:
            t = pq.read_table(p).to_pylist()
            keep = [r for r in t if r["event_uuid"] is None or r["event_uuid"] not in seen]
            seen |= {r["event_uuid"] for r in keep if r["event_uuid"]}
            pq.write_table(pa.Table.from_pylist(keep), p)
    return imports


def _tie_picks(imports: list[list[str]]) -> list[tuple[str, str]]:
    """Of each anonymous id whose earliest linking rows (in its first import that links it) carry more than one
    user id: the id and the smallest of those user ids (the rule, worked out here in Python)."""
    picks, linked = [], set()
    for names in imports:
        rows = [r for p in names for r in pq.read_table(p).to_pylist()
                if r["distinct_id"] and r["user_id"] and r["distinct_id"] != r["user_id"]]
        first = {}
        for r in rows:
            first[r["distinct_id"]] = min(first.get(r["distinct_id"], r["ts"]), r["ts"])
        for d, t in first.items():
            users = {r["user_id"] for r in rows if r["distinct_id"] == d and r["ts"] == t}
            if d not in linked and len(users) > 1:
                picks.append((d, min(users)))
        linked |= set(first)
    return picks


def _state(ws) -> dict:
    q = lambda sql: sorted(ws.con.execute(sql).fetchall(), key=repr)  # noqa: E731
    return {"events": q("SELECT * FROM events"),
            "identities": q("SELECT distinct_id, user_id FROM identities"),
            "users": q("SELECT user_id, first_seen, last_seen FROM users"),
            "names": q("SELECT event, events FROM event_names")}


def _report(rep) -> tuple:
    return rep.rows_read, rep.rows_added, rep.duplicates, rep.identities_added, rep.events_reassigned


def _always_staged(*_args):
    raise event_import.Repeats()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_one_scan_import_equals_the_staged_import(tmp_path, monkeypatch, seed):
    """Four ways in, one result: links first (Parquet: the rows written with their final users), links after
    (the rows written as sent, then moved: every other format), the staged rules, and links first followed by
    the staged rules (a batch that repeats a key after its links were stored)."""
    imports = _files(tmp_path, seed)
    results = {}
    first = event_import.links_first
    for path in ("links_first", "links_after", "staged", "links_first_staged"):
        monkeypatch.setattr(event_import, "links_first", first if "links_first" in path else lambda *_a: None)
        if "staged" in path:
            monkeypatch.setattr(event_import, "check_repeats", _always_staged)
        ws = yunying.Workspace.init(tmp_path / path, WorkspaceConfig(name=path))
        full = [ws.import_events(files) for files in [*imports, imports[0]]]  # last: a re-import, adds nothing
        took_staged = ["staged import (the batch repeats keys)" in rep.phases for rep in full]
        assert took_staged == ["staged" in path] * 3
        reps = [_report(rep) for rep in full]
        results[path] = (reps, _state(ws))
        ws.close()
    assert results["links_first"] == results["links_after"] == results["staged"] == results["links_first_staged"]
    reps, state = results["links_first"]
    assert reps[2][1] == 0 and reps[1][3] > 0  # the second import carried identity links
    picks = _tie_picks(imports)
    assert len(picks) >= 4 and all(dict(state["identities"])[d] == u for d, u in picks)  # ties, decided by the rule
    assert reps[1][4] > 0  # ... which moved events stored by the first


def test_event_name_list_follows_the_events(tmp_path):
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    counted = "SELECT event, count(*) FROM events GROUP BY event ORDER BY event"
    stored = "SELECT event, events FROM event_names ORDER BY event"
    a = write_csv(tmp_path / "a.csv", [["user_id", "event", "time"], ["u1", "Signup", "2026-06-01"],
                                       ["u2", "signup", "2026-06-01"], ["u2", "open", "2026-06-02"]])
    ws.import_events(str(a))
    assert ws.con.execute(stored).fetchall() == [("Signup", 1), ("open", 1), ("signup", 1)]
    ws.import_events(str(a))  # re-import adds nothing
    assert ws.con.execute(stored).fetchall() == ws.con.execute(counted).fetchall()
    good = write_csv(tmp_path / "b.csv", [["user_id", "event", "time"], ["u3", "open", "2026-06-03"]])
    bad = write_csv(tmp_path / "c.csv", [["user_id", "event", "time"], ["u3", "open", "2026-06-03"],
                                         ["u3", "buy", "not a time"]])
    with pytest.raises(ValidationError, match=r"c\.csv: 1 of 2 row\(s\) are invalid"):
        ws.import_events([str(good), str(bad)])
    assert ws.con.execute(stored).fetchall() == [("Signup", 1), ("open", 1), ("signup", 1)]
    dup = write_csv(tmp_path / "d.csv", [["user_id", "event", "time"], ["u4", "open", "2026-06-04"],
                                         ["u4", "open", "2026-06-04"]])  # identical rows: the staged path
    ws.import_events(str(dup))
    captured = {c.name: pa.nulls(1, pa.float64() if c.sql_type == "DOUBLE" else pa.string()) for c in EVENT_COLUMNS}
    captured.update(user_id=pa.array(["u5"]), distinct_id=pa.array(["u5"]), event=pa.array(["pay"]),
                    ts=pa.array([1780300800000000], pa.timestamp("us")))
    ws.ingest_events(pa.table(captured))  # capture's way in
    ws.identify([("u4", "u1")])
    assert ws.con.execute(stored).fetchall() == ws.con.execute(counted).fetchall()
    assert dict(ws.con.execute(stored).fetchall())["open"] == 3
    # a workspace made before the list: rebuilt from the events when opened
    ws.con.execute("DELETE FROM event_names")
    ws.con.execute("DELETE FROM meta WHERE key = 'event_names'")
    path = ws.path
    ws.close()
    ws = yunying.Workspace.open(path)
    assert ws.con.execute(stored).fetchall() == ws.con.execute(counted).fetchall()
    rep = ws.import_events(str(write_csv(tmp_path / "e.csv", [["user_id", "event", "time"],
                                                              ["u9", "SignUp", "2026-06-05"]])))
    warn = [m for m in rep.messages if "differ only in case" in m]
    assert len(warn) == 1 and "'SignUp' (1 event)" in warn[0] and "'signup' (1 event, stored before)" in warn[0]


def test_a_bad_parquet_row_is_named_and_nothing_is_imported(tmp_path):
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    good = tmp_path / "good.parquet"
    pq.write_table(pa.table({"user_id": ["u1", "u2"], "event": ["open", "open"],
                             "ts": ["2026-06-01 00:00:00", "2026-06-01 01:00:00"]}), good)
    bad = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"user_id": ["u1", None, "u3", "u4"], "event": ["open", "open", None, "buy"],
                             "ts": ["2026-06-01 00:00:00", "2026-06-01 01:00:00", "2026-06-02", "yesterday"],
                             "properties": ['{"a": 1}', '{"b": 2}', "[1, 2]", None]}), bad)
    with pytest.raises(ValidationError) as err:
        ws.import_events([str(good), str(bad)])
    text = str(err.value)
    assert "bad.parquet: 3 of 4 row(s) are invalid" in text
    assert "row 2: user_id/distinct_id: missing" in text
    assert "row 3: properties" in text and "event: missing" in text
    assert "row 4: ts (column \"ts\")" in text
    assert ws.counts()["events"] == 0 and ws.con.execute("SELECT count(*) FROM event_names").fetchall() == [(0,)]
    assert ws.con.execute("SELECT count(*) FROM users").fetchall() == [(0,)]


def test_phases_are_reported(tmp_path):
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    rep = ws.import_events(str(write_csv(tmp_path / "a.csv", [["user_id", "event", "time"], ["u1", "open", "2026-06-01"]])))
    assert {"read, validate, key, write", "identities", "commit", "sequence store"} <= set(rep.phases)
    assert all(w >= 0 and c >= 0 for w, c in rep.phases.values())
    assert sum(w for w, _ in rep.phases.values()) <= rep.seconds + 0.01


def test_trimmed_is_trim_on_every_code_point():
    """``model.ingest.trimmed`` (the cheap guard before ``trim``) against DuckDB's own ``trim``, for every code
    point at either end of a value (beside ASCII and beside non-ASCII text), and for empty and space-only values."""
    import duckdb

    from yunying.model.ingest import trimmed

    con = duckdb.connect()
    codes = "(SELECT range AS c FROM range(1, 55296) UNION ALL SELECT range FROM range(57344, 1114112))"
    values = (f"SELECT chr(c::INT) || 'a' AS x FROM {codes} UNION ALL SELECT 'a' || chr(c::INT) FROM {codes} "
              f"UNION ALL SELECT 'a中' || chr(c::INT) FROM {codes} UNION ALL SELECT chr(c::INT) || '中a' FROM {codes} "
              "UNION ALL SELECT * FROM (VALUES (''), (' '), ('\u3000'), ('  x  '), ('a\u3000b'), ('\t a'), (NULL)) v(x)")
    differ = con.execute(f"SELECT count(*) FROM ({values}) WHERE NULLIF(trim(x), '') IS DISTINCT FROM "
                         f"{trimmed('x')}").fetchall()[0][0]
    assert differ == 0
    assert con.execute(f"SELECT {trimmed('x')} FROM (VALUES ('\u3000中文 ')) v(x)").fetchall() == [("中文",)]


def test_timestamp_fast_paths_equal_icu_conversion():
    """The stored time of a TIMESTAMPTZ column (rebuilt from its UTC microseconds) and of a naive TIMESTAMP
    column read in UTC (taken as it is) equal DuckDB's ICU conversion ``timezone('UTC', …)`` for every value:
    around daylight-saving changes, before 1970, far future, ±infinity and NULL, whatever the session's zone."""
    import duckdb

    from yunying.model.ingest import _timestamp_expr

    con = duckdb.connect()
    con.execute("SET TimeZone = 'America/New_York'")
    instants = ("SELECT TIMESTAMPTZ '2026-03-08 06:59:59.999999+00' + to_microseconds(range * 7919) AS x "
                "FROM range(0, 200000) UNION ALL SELECT * FROM (VALUES (TIMESTAMPTZ '1969-12-31 23:59:59+00'), "
                "(TIMESTAMPTZ '1900-01-01 00:00:00+08'), (TIMESTAMPTZ '2099-12-31 23:59:59.999999+14'), "
                "(TIMESTAMPTZ '5000-01-01 00:00:00+00'), ('infinity'::TIMESTAMPTZ), ('-infinity'::TIMESTAMPTZ), "
                "(NULL)) v(x)")
    fast = _timestamp_expr("x", "TIMESTAMP WITH TIME ZONE", "x", False, "'Asia/Shanghai'")
    assert "timezone" not in fast.split("coalesce(")[1].split(",")[0]  # the fast path is taken first
    differ = con.execute(f"SELECT count(*) FROM ({instants}) WHERE {fast} IS DISTINCT FROM timezone('UTC', x)")
    assert differ.fetchall()[0][0] == 0
    naive = f"SELECT CAST(timezone('UTC', x) AS TIMESTAMP) AS x FROM ({instants})"
    utc = _timestamp_expr("x", "TIMESTAMP", "x", False, "'UTC'")
    assert utc == "CAST(x AS TIMESTAMP)"
    differ = con.execute(f"SELECT count(*) FROM ({naive}) WHERE {utc} IS DISTINCT FROM "
                         "timezone('UTC', timezone('UTC', CAST(x AS TIMESTAMP)))")
    assert differ.fetchall()[0][0] == 0
    # any other zone still converts (Shanghai is UTC+8 in June)
    shanghai = _timestamp_expr("x", "TIMESTAMP", "x", False, "'Asia/Shanghai'")
    assert con.execute(f"SELECT {shanghai} FROM (VALUES (TIMESTAMP '2026-06-01 08:00:00')) v(x)").fetchall()[0][0] \
        .isoformat() == "2026-06-01T00:00:00"
