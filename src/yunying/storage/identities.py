"""Identity merges in a workspace's database: links ``distinct_id -> user_id`` (the first link of an id
wins), resolved to the end of their chains, and the events of merged ids pointed at their final user.
Functions over an open connection inside the caller's transaction (``Workspace`` holds the lock)."""
from __future__ import annotations

import duckdb
import pyarrow as pa

from ..model.checked_scan import LINK_USER


def count(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("SELECT count(*) FROM identities").fetchall()[0][0]


def insert_links(con: duckdb.DuckDBPyConnection, pairs: list[tuple[str, str]]) -> int:
    """New links ``(distinct_id, user_id)``; the first link of an id wins (in ``pairs``, then stored ones).
    Returns how many were added."""
    pairs = [(d, u) for d, u in pairs if d and u and d != u]
    if not pairs:
        return 0
    before = count(con)
    table = pa.table({"distinct_id": [d for d, _ in pairs], "user_id": [u for _, u in pairs],
                      "ord": list(range(len(pairs)))})
    con.register("_yy_links", table)
    try:
        con.execute("INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, arg_min(user_id, ord) "
                    "FROM _yy_links WHERE distinct_id NOT IN (SELECT distinct_id FROM identities) "
                    "GROUP BY distinct_id")
    finally:
        con.unregister("_yy_links")
    return count(con) - before


def insert_row_links(con: duckdb.DuckDBPyConnection, staged: str) -> int:
    """Links carried by staged event rows that have both an anonymous id and a different user id (the
    earliest row of an id wins; equal times: the smallest user id, ``checked_scan.LINK_USER``)."""
    before = count(con)
    con.execute(
        "INSERT INTO identities (distinct_id, user_id) "
        f"SELECT distinct_id, {LINK_USER} FROM {staged} "
        "WHERE distinct_id IS NOT NULL AND user_id IS NOT NULL AND distinct_id <> user_id AND ts IS NOT NULL "
        "AND distinct_id NOT IN (SELECT distinct_id FROM identities) GROUP BY distinct_id"
    )
    return count(con) - before


def insert_staged_links(con: duckdb.DuckDBPyConnection, staged: str) -> int:
    """Links from a staged identities file (``distinct_id, user_id`` columns); the first row of an id wins."""
    before = count(con)
    con.execute("INSERT INTO identities (distinct_id, user_id) SELECT distinct_id, arg_min(user_id, rowid) "
                f"FROM {staged} WHERE distinct_id <> user_id AND distinct_id NOT IN "
                "(SELECT distinct_id FROM identities) GROUP BY distinct_id")
    return count(con) - before


def resolve(con: duckdb.DuckDBPyConnection, events: str = "true") -> int:
    """Resolve the links to their final users, then point every event (of those meeting the SQL condition
    ``events``) whose user is an alias at its final user (the user it was sent with, or the one its anonymous
    id was merged into). Returns events moved."""
    break_loops(con)
    # Follow alias chains (a -> b, b -> c) so every id ends at its final user: pointer jumping halves the
    # remaining length of every chain per pass, so it ends after about log2(longest chain) passes.
    for _ in range(64):
        changed = con.execute(
            "UPDATE identities SET user_id = j.user_id FROM identities j "
            "WHERE identities.user_id = j.distinct_id AND identities.user_id <> j.user_id"
        ).fetchall()[0][0]
        if not changed:
            break
    con.execute("DELETE FROM identities WHERE distinct_id = user_id")  # a self-link carries no information
    return move_events(con, events)


def move_events(con: duckdb.DuckDBPyConnection, events: str = "true") -> int:
    """Point the events (meeting the SQL condition ``events``) whose user is an alias at its final user, by
    resolved links. Returns events moved."""
    return con.execute(
        f"UPDATE events SET user_id = i.user_id FROM identities i WHERE events.user_id = i.distinct_id AND ({events})"
    ).fetchall()[0][0]


def break_loops(con: duckdb.DuckDBPyConnection) -> None:
    """A link that closes a loop (a -> b, b -> a; or longer) adds nothing: its ids are already one person.
    Of each loop the newest link is dropped (ties: the greatest distinct_id), so the loop ends at one id."""
    edges = con.execute(
        "SELECT distinct_id, user_id, created_at FROM identities "
        "WHERE user_id IN (SELECT distinct_id FROM identities)").fetchall()
    drop = loop_breakers({d: (u, (c, d)) for d, u, c in edges})
    if drop:
        con.executemany("DELETE FROM identities WHERE distinct_id = ?", [(d,) for d in drop])


def loop_breakers(links: dict) -> list:
    """``links``: {id: (next id, age key)} of a graph where each id has at most one link. Returns, for each
    loop, the id whose link has the greatest age key (the newest), so that dropping those links leaves
    chains only."""
    state: dict = {}  # id -> walk number that visited it
    drop = []
    for walk, start in enumerate(links):
        node, path = start, []
        while node in links and node not in state:
            state[node] = walk
            path.append(node)
            node = links[node][0]
        if node in links and state.get(node) == walk:  # came back into this walk: a loop from node on
            loop = path[path.index(node):]
            drop.append(max(loop, key=lambda x: links[x][1]))
    return drop
