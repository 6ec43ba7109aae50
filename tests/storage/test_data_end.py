"""Workspace.data_span: the one (first event, last event), in the workspace's time zone and in one query, that marks
the periods before the data and a partial last period in the CLI's tables (cli/common.py#run_spec) and on the dashboard (server/view.py) — hand-worked local times."""
from __future__ import annotations

import datetime as dt

import pytest

import yunying
from yunying.config import WorkspaceConfig
from yunying.storage.adhoc import load_events
from yunying.storage.workspace import Workspace
from util import csv_workspace, write

LINES = ["user_id,event,timestamp", "u1,signup,2026-03-01T15:30:00Z", "u2,signup,2026-03-01T16:10:00Z",
         "u1,purchase,2026-02-27T23:59:00Z"]


@pytest.mark.parametrize("zone, first, local", [
    # the first event, 2026-02-27 23:59 UTC, is read in the file's third line (not the file's first)
    ("Asia/Shanghai", dt.datetime(2026, 2, 28, 7, 59), dt.datetime(2026, 3, 2, 0, 10)),  # + 8 h: the next day there
    ("America/New_York", dt.datetime(2026, 2, 27, 18, 59), dt.datetime(2026, 3, 1, 11, 10)),  # EST (DST from 8 March)
    ("UTC", dt.datetime(2026, 2, 27, 23, 59), dt.datetime(2026, 3, 1, 16, 10)),
])
def test_first_and_last_events_in_the_workspace_zone(tmp_path, zone, first, local):
    with csv_workspace(tmp_path, LINES, timezone=zone) as ws:
        assert ws.data_span() == (first, local)
        # the server reads it on its own cursor (server/query.py#Reader): the same times
        reader = Workspace.over_connection(ws.con.cursor(), ws.config, ws.path)
        assert reader.data_span() == (first, local)


def test_no_events_no_end(tmp_path):
    with yunying.Workspace.init(tmp_path / "ws", config=WorkspaceConfig(name="t", timezone="Asia/Shanghai")) as ws:
        assert ws.data_span() is None


def test_events_file_in_a_sequence_store_has_no_end(tmp_path):
    """`--events FILE` read straight into a sequence store leaves no readable events table: no mark, no error."""
    f = write(tmp_path / "e.csv", "\n".join(LINES) + "\n")
    ws = Workspace.in_memory()
    try:
        load_events(ws, str(f), ())
        assert ws.file_store is not None  # the store path (storage/adhoc.py#file_store), not an import
        assert ws.data_span() is None
    finally:
        ws.close()
