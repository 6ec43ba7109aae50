"""Capture lands in Parquet for Spark (``land_parquet`` setting): the committed events, date-partitioned.

Every ``land_parquet`` seconds while events arrive (and once when the server stops), the ingester's
committed events are brought into ``<workspace>/.spark/events`` by the workspace's incremental export
(storage/parquet_export.py): Hive-style ``event_date=YYYY-MM-DD/`` folders, only new or changed dates
written. The events are those of the events table - acknowledged, committed, de-duplicated and with
identity merges applied - so a Spark deployment reading the folder (``[spark] events_path``) sees what
DuckDB sees. The folder is the one the Spark engine itself reads by default.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ..storage.parquet_export import ExportReport, export_events

log = logging.getLogger("yunying.server")


def landing_folder(root: Path) -> Path:
    return Path(root) / ".spark" / "events"


class Lander:
    def __init__(self, ws, root: Path, every: float):
        self.ws, self.folder, self.every = ws, landing_folder(root), every
        self.last = 0.0
        self.landed_seq = None
        self.last_report: ExportReport | None = None

    def maybe_land(self, seq, force: bool = False) -> None:
        """Land when there is something new (``seq``: the ingested watermark) and the interval has passed."""
        if seq == self.landed_seq or (not force and time.monotonic() - self.last < self.every):
            return
        with self.ws.lock:  # the connection is shared with ingest and imports
            self.last_report = export_events(self.ws.con, self.folder)
        self.last, self.landed_seq = time.monotonic(), seq
        if self.last_report.written:
            log.info("landed %d date(s) of events in %s", len(self.last_report.written), self.folder)
