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


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str          # DuckDB storage type
    kind: str              # string | float | int | timestamp | date | json
    required: bool = False
    description: str = ""
    aliases: tuple[str, ...] = ()


# Properties that get their own typed column (everything else stays in ``properties``).
TYPED_PROPERTIES: tuple[Column, ...] = (
    Column("utm_source", "VARCHAR", "string", description="Traffic source (UTM).", aliases=("$utm_source", "source")),
    Column("utm_medium", "VARCHAR", "string", description="Traffic medium (UTM).", aliases=("$utm_medium", "medium")),
    Column("utm_campaign", "VARCHAR", "string", description="Campaign (UTM).", aliases=("$utm_campaign", "campaign")),
    Column("channel", "VARCHAR", "string", description="Acquisition channel.", aliases=("$channel", "acquisition_channel")),
    Column("revenue", "DOUBLE", "float", description="Revenue of the event (purchase amount).", aliases=("$revenue", "amount")),
    Column("content_id", "VARCHAR", "string", description="Content piece the event concerns.", aliases=("content", "article_id", "item_id")),
    Column("variant", "VARCHAR", "string", description="Experiment variant shown.", aliases=("$variant", "experiment_variant", "group")),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    Column("user_id", "VARCHAR", "string", description="Resolved person id (after identity merges).",
           aliases=("userid", "uid", "user", "customer_id", "member_id", "account_id", "login_id")),
    Column("distinct_id", "VARCHAR", "string", description="Id the event was sent with (anonymous or user id).",
           aliases=("anonymous_id", "anon_id", "device_id", "$distinct_id", "anonymousid")),
    Column("event", "VARCHAR", "string", required=True, description="Event name.",
           aliases=("event_name", "event_type", "action", "name", "type")),
    Column("ts", "TIMESTAMP", "timestamp", required=True, description="When it happened (stored as UTC).",
           aliases=("timestamp", "time", "event_time", "datetime", "created_at", "occurred_at", "event_timestamp", "$time")),
    Column("event_uuid", "VARCHAR", "string", description="Unique event id, used for de-duplication.",
           aliases=("uuid", "event_id", "message_id", "messageid", "$insert_id", "insert_id")),
    *TYPED_PROPERTIES,
    Column("properties", "VARCHAR", "json", description="All other properties, as a JSON object.",
           aliases=("props", "$properties", "attributes")),
)

SPEND_COLUMNS: tuple[Column, ...] = (
    Column("date", "DATE", "date", required=True, description="Day the money was spent.", aliases=("day", "dt", "spend_date")),
    Column("channel", "VARCHAR", "string", required=True, description="Channel (matches events' channel / utm_source).",
           aliases=("source", "utm_source", "media")),
    Column("campaign", "VARCHAR", "string", description="Campaign name.", aliases=("utm_campaign", "campaign_name")),
    Column("placement", "VARCHAR", "string", description="Placement: a keyword, a feed slot, an official account's article, a KOL video.",
           aliases=("utm_content", "ad", "ad_id", "slot", "account")),
    Column("cost", "DOUBLE", "float", required=True, description="Money spent.", aliases=("spend", "amount", "cost_cny")),
    Column("currency", "VARCHAR", "string", description="ISO currency code (default: workspace currency).", aliases=("ccy",)),
    Column("impressions", "BIGINT", "int", description="Exposures.", aliases=("impr", "exposures", "views_total")),
    Column("reads", "BIGINT", "int", description="Reads / views of the content.", aliases=("views", "read", "plays")),
    Column("clicks", "BIGINT", "int", description="Clicks to the landing page.", aliases=("click",)),
)

IDENTITY_COLUMNS: tuple[Column, ...] = (
    Column("distinct_id", "VARCHAR", "string", required=True, aliases=("anonymous_id", "anon_id", "alias", "previous_id")),
    Column("user_id", "VARCHAR", "string", required=True, aliases=("userid", "uid", "user")),
)

# Profile properties that get their own column in ``users`` (all text; everything else stays in ``properties``).
USER_PROPERTIES: tuple[Column, ...] = (
    Column("name", "VARCHAR", "string", description="Display name.", aliases=("$name", "nickname", "username")),
    Column("email", "VARCHAR", "string", description="E-mail address.", aliases=("$email", "mail")),
    Column("phone", "VARCHAR", "string", description="Phone number.", aliases=("$phone", "mobile", "tel")),
    Column("gender", "VARCHAR", "string", description="Gender.", aliases=("sex", "$gender")),
    Column("city", "VARCHAR", "string", description="City.", aliases=("$city", "$geoip_city_name")),
    Column("province", "VARCHAR", "string", description="Province / state.", aliases=("$province", "state", "region")),
    Column("country", "VARCHAR", "string", description="Country.", aliases=("$country", "$geoip_country_name")),
)

# Columns of a ``yunying import users`` file: a user id and properties.
USER_FILE_COLUMNS: tuple[Column, ...] = (
    Column("user_id", "VARCHAR", "string", required=True, description="User id (or an anonymous id, merged).",
           aliases=("userid", "uid", "user", "customer_id", "member_id", "account_id", "distinct_id", "id")),
    *USER_PROPERTIES,
    Column("properties", "VARCHAR", "json", description="All other properties, as a JSON object.",
           aliases=("props", "$properties", "attributes")),
)

EVENTS_DDL = (
    "CREATE TABLE IF NOT EXISTS events ("
    + ", ".join(f"{c.name} {c.sql_type}" for c in EVENT_COLUMNS)
    + ", event_key UHUGEINT NOT NULL)"
)
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
ALL_DDL = (EVENTS_DDL, SPEND_DDL, IDENTITIES_DDL, META_DDL, IMPORTS_DDL, USER_PROPS_DDL, USERS_DDL, SEGMENTS_DDL,
           SEGMENT_STATIC_DDL, SEGMENT_MEMBERS_DDL)
