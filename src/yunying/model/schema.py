"""Canonical tables of a workspace.

``events``: one row per event, clustered by ``user_id`` then ``ts``.
``spend``: one row per (date, channel, campaign, placement).
``identities``: anonymous ``distinct_id`` -> ``user_id`` merges.
``user_props`` / ``users``: profile properties (current values) and one row per user.

Timestamps are stored as naive ``TIMESTAMP`` values in UTC; day boundaries
are applied at query time in the workspace time zone.
"""
from __future__ import annotations

from dataclasses import dataclass

from .aliases import ALIASES


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str          # DuckDB storage type
    kind: str              # string | float | int | timestamp | date | json
    required: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()    # other names it has in files (model/aliases.py)
    fallbacks: tuple[str, ...] = ()  # weaker names, used when no column has one of ``aliases``


def _names(table: str, column: str) -> dict:
    strong, weak = ALIASES[table][column]
    return {"aliases": strong, "fallbacks": weak}


# Properties that get their own typed column (everything else stays in ``properties``).
TYPED_PROPERTIES: tuple[Column, ...] = (
    Column("utm_source", "VARCHAR", "string", description="Traffic source (UTM).", **_names("events", "utm_source")),
    Column("utm_medium", "VARCHAR", "string", description="Traffic medium (UTM).", **_names("events", "utm_medium")),
    Column("utm_campaign", "VARCHAR", "string", description="Campaign (UTM).", **_names("events", "utm_campaign")),
    Column("channel", "VARCHAR", "string", description="Acquisition channel.", **_names("events", "channel")),
    Column("revenue", "DOUBLE", "float", description="Revenue of the event (purchase amount).", **_names("events", "revenue")),
    Column("content_id", "VARCHAR", "string", description="Content piece the event concerns.", **_names("events", "content_id")),
    Column("variant", "VARCHAR", "string", description="Experiment variant shown.", **_names("events", "variant")),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("user_id", "VARCHAR", "string", description="Resolved person id (after identity merges).",
           **_names("events", "user_id")),
    Column("distinct_id", "VARCHAR", "string", description="Id the event was sent with (anonymous or user id).",
           **_names("events", "distinct_id")),
    Column("event", "VARCHAR", "string", required=True, description="Event name.",
           **_names("events", "event")),
    Column("ts", "TIMESTAMP", "timestamp", required=True, description="When it happened (stored as UTC).",
           **_names("events", "ts")),
    Column("event_uuid", "VARCHAR", "string", description="Unique event id, used for de-duplication.",
           **_names("events", "event_uuid")),
    *TYPED_PROPERTIES,
    Column("properties", "VARCHAR", "json", description="All other properties, as a JSON object.",
           **_names("events", "properties")),
)

SPEND_COLUMNS: tuple[Column, ...] = (
    Column("date", "DATE", "date", required=True, description="Day the money was spent.", **_names("spend", "date")),
    Column("channel", "VARCHAR", "string", required=True, description="Channel (matches events' channel / utm_source).",
           **_names("spend", "channel")),
    Column("campaign", "VARCHAR", "string", description="Campaign name.", **_names("spend", "campaign")),
    Column("placement", "VARCHAR", "string", description="Placement: a keyword, a feed slot, an official account's article, a KOL video.",
           **_names("spend", "placement")),
    Column("cost", "DOUBLE", "float", required=True, description="Money spent.", **_names("spend", "cost")),
    Column("currency", "VARCHAR", "string", description="ISO currency code (default: workspace currency).", **_names("spend", "currency")),
    Column("impressions", "BIGINT", "int", description="Exposures.", **_names("spend", "impressions")),
    Column("reads", "BIGINT", "int", description="Reads / views of the content.", **_names("spend", "reads")),
    Column("clicks", "BIGINT", "int", description="Clicks to the landing page.", **_names("spend", "clicks")),
)

IDENTITY_COLUMNS: tuple[Column, ...] = (
    Column("distinct_id", "VARCHAR", "string", required=True, **_names("identities", "distinct_id")),
    Column("user_id", "VARCHAR", "string", required=True, **_names("identities", "user_id")),
)

# Profile properties that get their own column in ``users`` (all text; everything else stays in ``properties``).
USER_PROPERTIES: tuple[Column, ...] = (
    Column("name", "VARCHAR", "string", description="Display name.", **_names("users", "name")),
    Column("email", "VARCHAR", "string", description="E-mail address.", **_names("users", "email")),
    Column("phone", "VARCHAR", "string", description="Phone number.", **_names("users", "phone")),
    Column("gender", "VARCHAR", "string", description="Gender.", **_names("users", "gender")),
    Column("city", "VARCHAR", "string", description="City.", **_names("users", "city")),
    Column("province", "VARCHAR", "string", description="Province / state.", **_names("users", "province")),
    Column("country", "VARCHAR", "string", description="Country.", **_names("users", "country")),
)

# Columns of a ``yunying import users`` file: a user id and properties.
USER_FILE_COLUMNS: tuple[Column, ...] = (
    Column("user_id", "VARCHAR", "string", required=True, description="User id (or an anonymous id, merged).",
           **_names("users", "user_id")),
    *USER_PROPERTIES,
    Column("properties", "VARCHAR", "json", description="All other properties, as a JSON object.",
           **_names("users", "properties")),
)


def events_ddl(uuid_zstd: bool = False) -> str:
    """The ``events`` table's definition. ``uuid_zstd``: ``event_uuid`` stored with DuckDB's ZSTD compression
    (a database whose storage version allows it, DuckDB 1.2 on: ``storage.connection.events_ddl_for``). Event ids
    are unique random text, which DuckDB's default string compression (DICT_FSST: a dictionary tried, then a
    symbol table trained, segment by segment) compresses at a high price: loading 2 of the 100M benchmark's files,
    eight alternating runs, 13.45 CPU s by default against 11.75 with ZSTD for the id (and 8.95 uncompressed), the
    file 315 MiB against 336 (493 uncompressed). Every other column keeps DuckDB's choice."""
    uuid = " USING COMPRESSION zstd" if uuid_zstd else ""
    return ("CREATE TABLE IF NOT EXISTS events ("
            + ", ".join(f"{c.name} {c.sql_type}{uuid if c.name == 'event_uuid' else ''}" for c in EVENT_COLUMNS)
            + ", event_key UHUGEINT NOT NULL)")


# the definition any DuckDB storage version takes
EVENTS_DDL = events_ddl()
SPEND_DDL = (
    "CREATE TABLE IF NOT EXISTS spend ("
    + ", ".join(f"{c.name} {c.sql_type}" for c in SPEND_COLUMNS)
    + ")"
)
IDENTITIES_DDL = (
    "CREATE TABLE IF NOT EXISTS identities (distinct_id VARCHAR PRIMARY KEY, user_id VARCHAR NOT NULL, "
    "created_at TIMESTAMP DEFAULT current_localtimestamp())"
)
META_DDL = "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR)"
IMPORTS_DDL = (
    "CREATE TABLE IF NOT EXISTS imports (id INTEGER, kind VARCHAR, source VARCHAR, rows_read BIGINT, "
    "rows_added BIGINT, imported_at TIMESTAMP DEFAULT current_localtimestamp())"
)
# ``user_props``: each user's current value of each profile property (JSON text), and when it was set.
USER_PROPS_DDL = ("CREATE TABLE IF NOT EXISTS user_props (user_id VARCHAR NOT NULL, key VARCHAR NOT NULL, "
                  "value VARCHAR NOT NULL, set_at TIMESTAMP NOT NULL)")
# ``users``: one row per user — typed profile columns, the other properties as JSON, first/last event.
USERS_DDL = (
    "CREATE TABLE IF NOT EXISTS users (user_id VARCHAR NOT NULL, "
    + ", ".join(f"{c.name} {c.sql_type}" for c in USER_PROPERTIES)
    + ", properties VARCHAR, first_seen TIMESTAMP, last_seen TIMESTAMP)"
)
# Segments: definitions (dynamic: a rule; static: a stored id list), static lists, materialised members.
SEGMENTS_DDL = ("CREATE TABLE IF NOT EXISTS segments (name VARCHAR NOT NULL, kind VARCHAR NOT NULL, rule VARCHAR, "
                "description VARCHAR, created_at TIMESTAMP DEFAULT current_localtimestamp())")
SEGMENT_STATIC_DDL = "CREATE TABLE IF NOT EXISTS segment_static (segment VARCHAR NOT NULL, user_id VARCHAR NOT NULL)"
SEGMENT_MEMBERS_DDL = "CREATE TABLE IF NOT EXISTS segment_members (segment VARCHAR NOT NULL, user_id VARCHAR NOT NULL)"
# ``event_names``: each event name stored and its number of events, kept in the transactions that add events
# (an import compares its names with these instead of scanning every stored event).
EVENT_NAMES_DDL = "CREATE TABLE IF NOT EXISTS event_names (event VARCHAR NOT NULL, events BIGINT NOT NULL)"
ALL_DDL = (EVENTS_DDL, SPEND_DDL, IDENTITIES_DDL, META_DDL, IMPORTS_DDL, USER_PROPS_DDL, USERS_DDL, SEGMENTS_DDL,
           SEGMENT_STATIC_DDL, SEGMENT_MEMBERS_DDL, EVENT_NAMES_DDL)
