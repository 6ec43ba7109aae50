"""Segments in a workspace's database (docs/users.md#segments): ``segments`` (name, kind dynamic|static, rule
text, description), ``segment_static`` (the ids of static segments) and ``segment_members`` (each segment's
members as of its last evaluation, what ``segment`` filters read). Functions over an open connection inside
the caller's transaction; values are always bound parameters or registered tables."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from ..errors import SpecError


def get(con: duckdb.DuckDBPyConnection, name: str) -> dict | None:
    rows = con.execute("SELECT name, kind, rule, description, created_at FROM segments WHERE name = ?",
                       [name]).fetchall()
    if not rows:
        return None
    n, kind, rule, desc, created = rows[0]
    return {"name": n, "kind": kind, "rule": rule, "description": desc, "created_at": str(created)}


def all_(con: duckdb.DuckDBPyConnection) -> list[dict]:
    rows = con.execute("SELECT s.name, s.kind, s.rule, s.description, s.created_at, "
                       "(SELECT count(*) FROM segment_members m WHERE m.segment = s.name) FROM segments s "
                       "ORDER BY s.name").fetchall()
    return [{"name": n, "kind": k, "rule": r, "description": d, "created_at": str(c), "members": m}
            for n, k, r, d, c, m in rows]


def save(con: duckdb.DuckDBPyConnection, name: str, kind: str, rule: str | None, description: str | None,
         replace: bool = False) -> None:
    if get(con, name) is not None:
        if not replace:
            raise SpecError(key="segments.segment_exists_already_delete", name=name)
        delete(con, name)
    con.execute("INSERT INTO segments (name, kind, rule, description) VALUES (?, ?, ?, ?)",
                [name, kind, rule, description])


def delete(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = get(con, name) is not None
    for table, col in (("segments", "name"), ("segment_static", "segment"), ("segment_members", "segment")):
        con.execute(f"DELETE FROM {table} WHERE {col} = ?", [name])
    return found


def _ids(user_ids) -> pa.Table:
    return pa.table({"user_id": pa.array(list(user_ids), pa.string())})


def set_static(con: duckdb.DuckDBPyConnection, name: str, user_ids) -> int:
    """A static segment's ids, each resolved to its final user (identity merges). Returns the member count."""
    con.register("_yy_seg_ids", _ids(user_ids))
    try:
        con.execute("DELETE FROM segment_static WHERE segment = ?", [name])
        con.execute("INSERT INTO segment_static SELECT DISTINCT ?, coalesce(i.user_id, s.user_id) FROM _yy_seg_ids s "
                    "LEFT JOIN identities i ON i.distinct_id = s.user_id WHERE s.user_id IS NOT NULL", [name])
    finally:
        con.unregister("_yy_seg_ids")
    return con.execute("SELECT count(*) FROM segment_static WHERE segment = ?", [name]).fetchall()[0][0]


def static_ids(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    return [r[0] for r in con.execute("SELECT user_id FROM segment_static WHERE segment = ? ORDER BY user_id",
                                      [name]).fetchall()]


def set_members(con: duckdb.DuckDBPyConnection, name: str, user_ids) -> None:
    con.register("_yy_seg_ids", _ids(user_ids))
    try:
        con.execute("DELETE FROM segment_members WHERE segment = ?", [name])
        con.execute("INSERT INTO segment_members SELECT DISTINCT ?, user_id FROM _yy_seg_ids WHERE user_id IS NOT NULL",
                    [name])
    finally:
        con.unregister("_yy_seg_ids")
