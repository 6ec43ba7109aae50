"""User profiles in a workspace's database (docs/users.md#user-profiles).

``user_props`` holds each user's *current* value of each profile property (JSON text) and when it was set;
``users`` holds one row per user: the typed profile columns (``model.schema.USER_PROPERTIES``), the other
properties as a JSON object, and the first / last event time. Rules:

* an update ``(id, key, value, set_at, once)`` goes to the final user of ``id`` (identity resolution);
* a *set* replaces the stored value unless the stored one was set later (the newest write wins; within one
  batch, the last of equal times); a *set once* only fills a property the user does not have yet;
* a JSON ``null`` value is ignored;
* when an id is merged into a user, the user's values win; the merged id's values fill the properties the
  user does not have, and its first / last seen fold into the user's.

Functions over an open connection inside the caller's transaction (``Workspace`` holds the lock).
"""
from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa

from ..model.schema import USER_PROPERTIES

TYPED = tuple(c.name for c in USER_PROPERTIES)

UPDATE_SCHEMA = pa.schema([
    ("id", pa.string()), ("key", pa.string()), ("value", pa.string()),
    ("set_at", pa.timestamp("us")), ("once", pa.bool_()),
])


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def apply_updates(con: duckdb.DuckDBPyConnection, staged: str) -> int:
    """Apply the profile updates of table ``staged`` (columns of ``UPDATE_SCHEMA`` plus ``ord``, their order).
    Returns how many property values changed."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _yy_pu AS SELECT coalesce(i.user_id, s.id) AS user_id, s.key, s.value, "
        f"s.set_at, coalesce(s.once, false) AS once, s.ord FROM {staged} s "
        "LEFT JOIN identities i ON i.distinct_id = s.id "
        "WHERE s.id IS NOT NULL AND s.key IS NOT NULL AND s.value IS NOT NULL AND s.value <> 'null'")
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _yy_pset AS SELECT user_id, key, value, set_at FROM _yy_pu WHERE NOT once "
        "QUALIFY row_number() OVER (PARTITION BY user_id, key ORDER BY set_at DESC, ord DESC) = 1")
    changed = con.execute(
        "SELECT count(*) FROM _yy_pset s WHERE NOT EXISTS (SELECT 1 FROM user_props p WHERE p.user_id = s.user_id "
        "AND p.key = s.key AND (p.value = s.value OR p.set_at > s.set_at))").fetchall()[0][0]
    con.execute("DELETE FROM user_props p USING _yy_pset s WHERE p.user_id = s.user_id AND p.key = s.key "
                "AND p.set_at <= s.set_at")
    con.execute("INSERT INTO user_props SELECT * FROM _yy_pset s WHERE NOT EXISTS (SELECT 1 FROM user_props p "
                "WHERE p.user_id = s.user_id AND p.key = s.key)")
    before = con.execute("SELECT count(*) FROM user_props").fetchall()[0][0]
    con.execute(
        "INSERT INTO user_props SELECT user_id, key, value, set_at FROM _yy_pu u WHERE once AND NOT EXISTS "
        "(SELECT 1 FROM user_props p WHERE p.user_id = u.user_id AND p.key = u.key) "
        "QUALIFY row_number() OVER (PARTITION BY user_id, key ORDER BY set_at, ord) = 1")
    changed += con.execute("SELECT count(*) FROM user_props").fetchall()[0][0] - before
    con.execute("CREATE OR REPLACE TEMP TABLE _yy_touched AS SELECT DISTINCT user_id FROM _yy_pu")
    refresh(con)
    con.execute("DROP TABLE _yy_pu")
    con.execute("DROP TABLE _yy_pset")
    return changed


def refresh(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the ``users`` rows of the ids in temp table ``_yy_touched`` from ``user_props`` (first / last
    seen kept); drops ``_yy_touched``."""
    typed = ", ".join(f"max(CASE WHEN p.key = {_lit(c)} THEN json_extract_string(p.value, '$') END) AS {_q(c)}"
                      for c in TYPED)
    rest = ", ".join(_lit(c) for c in TYPED)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE _yy_urow AS SELECT t.user_id, {typed}, any_value(j.properties) AS properties, "
        "any_value(u.first_seen) AS first_seen, any_value(u.last_seen) AS last_seen "
        "FROM _yy_touched t LEFT JOIN user_props p ON p.user_id = t.user_id "
        "LEFT JOIN users u ON u.user_id = t.user_id "
        "LEFT JOIN (SELECT user_id, CAST(json_group_object(key, CAST(value AS JSON)) AS VARCHAR) AS properties "
        f"FROM user_props WHERE key NOT IN ({rest}) AND user_id IN (SELECT user_id FROM _yy_touched) "
        "GROUP BY user_id) j ON j.user_id = t.user_id GROUP BY t.user_id")
    con.execute("DELETE FROM users WHERE user_id IN (SELECT user_id FROM _yy_touched)")
    cols = ", ".join(["user_id", *(_q(c) for c in TYPED), "properties", "first_seen", "last_seen"])
    con.execute(f"INSERT INTO users ({cols}) SELECT {cols} FROM _yy_urow r WHERE first_seen IS NOT NULL "
                "OR EXISTS (SELECT 1 FROM user_props p WHERE p.user_id = r.user_id)")
    con.execute("DROP TABLE _yy_urow")
    con.execute("DROP TABLE _yy_touched")


def note_seen(con: duckdb.DuckDBPyConnection, rows_sql: str, one_per_user: bool = False) -> None:
    """Fold ``rows_sql`` (``user_id, first_seen, last_seen``) into the users' first / last seen. ``one_per_user``:
    the rows are one per user already (grouped by ``user_id``): not grouped again (at 100M events, 3.75M users,
    four paired runs: 8.4–9.8 CPU s against 10.5–11.0 grouped again)."""
    rows = (f"SELECT user_id, first_seen AS f, last_seen AS l FROM ({rows_sql}) WHERE user_id IS NOT NULL"
            if one_per_user else f"SELECT user_id, min(first_seen) AS f, max(last_seen) AS l FROM ({rows_sql}) "
                                 "WHERE user_id IS NOT NULL GROUP BY user_id")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _yy_seen AS {rows}")
    con.execute("UPDATE users SET first_seen = least(coalesce(first_seen, s.f), s.f), "
                "last_seen = greatest(coalesce(last_seen, s.l), s.l) FROM _yy_seen s WHERE users.user_id = s.user_id")
    con.execute("INSERT INTO users (user_id, first_seen, last_seen) SELECT user_id, f, l FROM _yy_seen s "
                "WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = s.user_id)")
    con.execute("DROP TABLE _yy_seen")


def note_staged_events(con: duckdb.DuckDBPyConnection, staged: str) -> None:
    """First / last seen of the users of staged event rows (after they were stored and identities resolved:
    each row's final user, by the rule ``events_keys`` applies)."""
    note_seen(con, (
        "SELECT coalesce(a.user_id, e.uid) AS user_id, min(e.ts) AS first_seen, max(e.ts) AS last_seen FROM "
        f"(SELECT coalesce(s.user_id, l.user_id, s.distinct_id) AS uid, s.ts FROM {staged} s "
        "LEFT JOIN identities l ON l.distinct_id = s.distinct_id) e "
        "LEFT JOIN identities a ON a.distinct_id = e.uid GROUP BY ALL"))


def merge_aliases(con: duckdb.DuckDBPyConnection) -> None:
    """After identity resolution: fold the profile and first / last seen of every merged id into its user."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _yy_touched AS SELECT DISTINCT i.user_id FROM identities i "
        "WHERE i.distinct_id IN (SELECT user_id FROM users UNION ALL SELECT user_id FROM user_props)")
    if not con.execute("SELECT count(*) FROM _yy_touched").fetchall()[0][0]:
        con.execute("DROP TABLE _yy_touched")
        return
    con.execute(
        "INSERT INTO user_props SELECT i.user_id, p.key, p.value, p.set_at FROM user_props p "
        "JOIN identities i ON p.user_id = i.distinct_id WHERE NOT EXISTS (SELECT 1 FROM user_props q "
        "WHERE q.user_id = i.user_id AND q.key = p.key) "
        "QUALIFY row_number() OVER (PARTITION BY i.user_id, p.key ORDER BY p.set_at DESC, p.user_id DESC) = 1")
    con.execute("DELETE FROM user_props WHERE user_id IN (SELECT distinct_id FROM identities)")
    note_seen(con, "SELECT i.user_id, u.first_seen, u.last_seen FROM users u "
                   "JOIN identities i ON u.user_id = i.distinct_id WHERE u.first_seen IS NOT NULL")
    con.execute("DELETE FROM users WHERE user_id IN (SELECT distinct_id FROM identities)")
    refresh(con)


def backfill(con: duckdb.DuckDBPyConnection) -> None:
    """First / last seen of every user from the stored events (a workspace made before the users table)."""
    note_seen(con, "SELECT user_id, min(ts) AS first_seen, max(ts) AS last_seen FROM events GROUP BY user_id")


def stage_file_updates(staged: str, once: bool, set_at: dt.datetime) -> str:
    """SQL of the updates carried by a staged users file (``USER_FILE_COLUMNS``): one per non-empty cell,
    set at the current time, in file order."""
    parts = [f"SELECT user_id AS id, {_lit(c)} AS key, CAST(to_json({_q(c)}) AS VARCHAR) AS value, rowid AS ord "
             f"FROM {staged} WHERE {_q(c)} IS NOT NULL" for c in TYPED]
    parts.append(f"SELECT s.user_id AS id, j.key, CAST(j.value AS VARCHAR) AS value, s.rowid AS ord FROM {staged} s, "
                 "json_each(s.properties) j WHERE s.properties IS NOT NULL")
    stamp = set_at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return (f"SELECT id, key, value, TIMESTAMP '{stamp}' AS set_at, {str(bool(once)).lower()} "
            f"AS once, ord FROM ({' UNION ALL '.join(parts)})")
