"""The tie rule of identity links (``model/checked_scan.py: LINK_USER``, docs/data-model.md): an anonymous id's
link is the user id of its earliest row with a different user id; of several such rows at that same earliest
time, the smallest user id (byte order). Every way in picks the same user.

Hand-worked example (file A, then file B; every time in June 2026):

* ``d5``: A has ``u7`` then ``u3`` at 2 June 10:00, B has ``u12`` at the same time. Smallest of the three
  strings: ``"u12"`` (``"1" < "3" < "7"``: byte order, not number order), the one in the other file, so
  ``d5 -> u12``;
* ``d6``: A has ``u9`` then ``u10`` at 2 June 10:00 (a tie within one file) and ``u0`` at 3 June: later,
  so it loses although it is the smallest: ``d6 -> u10``;
* ``d7``: A has ``u5`` at 2 June 10:00 and ``u2`` at 11:00, B has ``u4`` at 10:00: ``d7 -> u4`` (a tie
  across files; ``u2`` is later).

The first-row rule (``u7``, ``u9``, ``u5``) and a rule by number (``u3`` for ``d5``) would both differ. Each
anonymous id also opens the app on 1 June without a user id: that event goes to the chosen user.
"""
from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.model.schema import EVENT_COLUMNS
from yunying.storage import event_import
from yunying.storage.adhoc import load_events

from import_helpers import write_csv

T = dt.datetime
A = [("d5", None, "open", T(2026, 6, 1, 9)), ("d5", "u7", "login", T(2026, 6, 2, 10)),
     ("d5", "u3", "login", T(2026, 6, 2, 10)), ("d6", "u9", "login", T(2026, 6, 2, 10)),
     ("d6", "u10", "login", T(2026, 6, 2, 10)), ("d6", "u0", "login", T(2026, 6, 3, 10)),
     ("d6", None, "open", T(2026, 6, 1, 9)), ("d7", "u5", "login", T(2026, 6, 2, 10)),
     ("d7", "u2", "login", T(2026, 6, 2, 11)), ("d7", None, "open", T(2026, 6, 1, 9))]
B = [("d5", "u12", "login", T(2026, 6, 2, 10)), ("d7", "u4", "login", T(2026, 6, 2, 10))]
LINKS = [("d5", "u12"), ("d6", "u10"), ("d7", "u4")]
OPENS = ["u10", "u12", "u4"]  # the users of the three anonymous opens


def _table(rows) -> pa.Table:
    cols = list(zip(*rows))
    return pa.table({"distinct_id": pa.array(cols[0]), "user_id": pa.array(cols[1], pa.string()),
                     "event": pa.array(cols[2]), "ts": pa.array(cols[3], pa.timestamp("us"))})


def _parquet(path, rows, row_group_size=None) -> str:
    pq.write_table(_table(rows), path, row_group_size=row_group_size)
    return str(path)


def _csv(path, rows) -> str:
    return str(write_csv(path, [["distinct_id", "user_id", "event", "ts"], *map(list, rows)]))


def _check_workspace(ws) -> None:
    assert ws.con.execute("SELECT distinct_id, user_id FROM identities ORDER BY 1").fetchall() == LINKS
    assert ws.con.execute("SELECT user_id FROM events WHERE event = 'open' ORDER BY 1").fetchall() == [
        (u,) for u in OPENS]
    assert ws.con.execute("SELECT user_id, count(*) FROM events WHERE event = 'login' GROUP BY 1 ORDER BY 1"
                          ).fetchall() == [(u, 1) for u in sorted(["u0", "u10", "u12", "u2", "u3", "u4", "u5", "u7",
                                                                   "u9"])]


@pytest.mark.parametrize("way", ["links_first", "links_after_csv", "staged", "staged_csv"])
def test_each_import_path_picks_the_rule_s_user(tmp_path, monkeypatch, way):
    """The one-scan import with links read first (Parquet: the linking rows of every file, one pick over them all), links
    after the rows (CSV), and the staged rules, for both formats."""
    calls = []
    real = event_import.links_first
    monkeypatch.setattr(event_import, "links_first", lambda *a: calls.append(r := real(*a)) or r)
    if way.startswith("staged"):
        monkeypatch.setattr(event_import, "check_repeats", lambda *_a: (_ for _ in ()).throw(event_import.Repeats()))
    files = ([_csv(tmp_path / "a.csv", A), _csv(tmp_path / "b.csv", B)] if way.endswith("csv") else
             [_parquet(tmp_path / "a.parquet", A), _parquet(tmp_path / "b.parquet", B)])
    ws = yunying.Workspace.init(tmp_path / "w", WorkspaceConfig(name="w"))
    rep = ws.import_events(files)
    assert rep.identities_added == 3
    assert ("staged import (the batch repeats keys)" in rep.phases) == way.startswith("staged")
    assert calls == ([None] if way.endswith("csv") else [(3, 0)])  # Parquet: three links first, nothing to move
    _check_workspace(ws)
    ws.close()


def test_capture_ingest_picks_the_rule_s_user():
    """Captured events in one batch (``Workspace.ingest_events``: the staged rules on a typed batch)."""
    given = _table(A + B)
    cols = {c.name: given[c.name] if c.name in given.column_names else
            pa.nulls(given.num_rows, pa.float64() if c.sql_type == "DOUBLE" else pa.string()) for c in EVENT_COLUMNS}
    ws = yunying.Workspace.in_memory()
    ws.ingest_events(pa.table(cols))
    _check_workspace(ws)
    ws.close()


@pytest.mark.parametrize("kind", ["parquet", "csv", "narrow"])
def test_events_file_picks_the_rule_s_user(tmp_path, kind):
    """``--events FILE`` (A then B in one file): the Parquet reader's kernel (``adhoc_kernels.earliest_links``,
    rows in row groups of 3 so the tied rows are in different batches), the SQL reader (CSV: links from each
    pair's first time), and the narrow import of an analysis that reads more columns (the staged rules)."""
    path = (_parquet(tmp_path / "ab.parquet", A + B, row_group_size=3) if kind != "csv" else
            _csv(tmp_path / "ab.csv", A + B))
    ws = yunying.Workspace.in_memory()
    load_events(ws, path, ("revenue",) if kind == "narrow" else ())
    if kind == "narrow":
        assert getattr(ws, "file_store", None) is None
        _check_workspace(ws)
    else:
        st = ws.file_store
        assert st.reader == ("pyarrow" if kind == "parquet" else "duckdb")
        users = st._users.to_pylist()
        opens = sorted(users[i] for i in range(len(users)) for c in st.code[st.starts[i]:st.starts[i + 1]]
                       if st.events[c] == "open")
        assert opens == OPENS
    ws.close()
