"""Server settings: one declared list that drives ``yunying serve --setting NAME=VALUE`` and the docs.

Every setting has a default that suits one machine serving a few workspaces.
``docs/server.md`` documents each one (a test checks that none is missing).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..errors import ConfigError


def _setting(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ServerSettings:
    max_body_bytes: int = _setting(
        20 * 1024 * 1024, "Largest capture request body, in bytes, both as sent and after gzip decompression.")
    max_batch_events: int = _setting(10_000, "Most events (messages) in one capture request.")
    max_event_bytes: int = _setting(
        1024 * 1024, "Largest event, in bytes, measured as the JSON of its stored properties.")
    max_future_seconds: int = _setting(
        86_400, "Events timestamped more than this many seconds ahead of the server clock are rejected.")
    max_request_bytes: int = _setting(
        1024 * 1024, "Largest body of a query API or saved-analysis request, in bytes.")
    read_timeout: float = _setting(
        30.0, "Seconds a client may pause while sending a request body (then 408), or take to send its headers.")
    capture_workers: int = _setting(
        2, "Threads that decompress, parse and check capture requests (off the event loop).")
    max_pending_events: int = _setting(
        1_000_000, "Accepted events waiting for the capture log commit; beyond this capture answers 503.")
    query_timeout: float = _setting(30.0, "Time limit of one query API call, in seconds.")
    query_workers: int = _setting(2, "Queries run at the same time (per server); more wait their turn.")
    ingest_batch_events: int = _setting(
        200_000, "Most events moved from the capture log into the events table in one transaction.")
    publish_interval: float = _setting(
        5.0, "Seconds between read snapshots published for the command line (while events arrive).")
    recluster_idle: float = _setting(
        10.0, "Seconds without new events after which the server re-clusters events by (user_id, ts).")
    log_retention_hours: float = _setting(
        24.0, "Capture log batches are kept this long after they are in a published snapshot.")
    land_parquet: float = _setting(
        0.0, "Seconds between landings of the committed events as date-partitioned Parquet in "
             "<workspace>/.spark/events, for Spark (0: off).")

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls)]

    @classmethod
    def describe(cls) -> list[dict]:
        """(name, default, help) of every setting, for the CLI help and the docs."""
        return [{"name": f.name, "default": f.default, "help": f.metadata["help"]} for f in dataclasses.fields(cls)]

    @classmethod
    def from_pairs(cls, pairs: list[str] | None) -> "ServerSettings":
        """Parse ``NAME=VALUE`` strings (``--setting``) into settings."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        values = {}
        for pair in pairs or []:
            if "=" not in pair:
                raise ConfigError(key="settings.setting_expects_name_value", pair=pair)
            name, raw = (s.strip() for s in pair.split("=", 1))
            if name not in fields:
                raise ConfigError(key="settings.unknown_server_setting_known", name=name, fields=', '.join(fields))
            kind = type(fields[name].default)
            try:
                value = kind(float(raw)) if kind is int else kind(raw)
            except ValueError:
                raise ConfigError(key="settings.setting_expected", name=name, __name__=kind.__name__, raw=raw) from None
            if value <= 0:
                raise ConfigError(key="settings.setting_must_positive", name=name, raw=raw)
            values[name] = value
        return cls(**values)
