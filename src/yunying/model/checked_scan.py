"""A file's rows typed and checked in one scan, each value typed once: the SQL an import inserts from.

``ingest.TypedSource.bad_sql`` states the checks over the file's own columns, so a scan that both checks and
types a row computes most typed values twice (the trimmed text, the timestamp in UTC …). Here the typed values
are computed once, in an inner projection that also passes on the source columns a check needs; the checks
are then stated over the typed values:

* a typed value that is NULL while its source value is present (not blank) was not understood (a number, a
  time, a date that does not parse);
* a typed time or date outside the allowed years, a JSON value that is not an object;
* a required column whose typed value is NULL (missing or not understood: either way refused).

The conditions flag exactly the rows ``bad_sql`` flags (``tests/imports/test_checked_scan.py`` compares them
on messy files). A flagged row stops the scan with ``error()``; the caller then names the rows from
``bad_sql`` / ``problem_sql`` (the error path). Columns folded into ``properties`` are packed after the
checks, so a ``properties`` value that is not an object is refused, not merged.
"""
from __future__ import annotations

from . import typing
from .ingest import TypedSource, _q, _typed_expr, not_an_object, trimmed

# An anonymous id's identity link: the user id of its earliest row with a different user id; of rows at the
# same earliest time, the smallest user id (byte order, as DuckDB compares strings). A total order on
# (time, user id), so the pick is the minimum of a set: taken in parts and again over the parts' picks it
# equals one pick over all rows (``link_rows`` hands over the rows themselves, picked once by
# ``identities.insert_row_links``), and every path
# (staged, one-scan, ``--events``: ``adhoc_kernels.earliest_links``) picks the same user. Columns
# ``user_id``, ``ts``; rows without a time carry no link (they are refused anyway).
LINK_USER = "arg_min(user_id, (ts, user_id))"


def _check(kind: str, name: str, present: str, required: bool) -> str | None:
    """The bad-row condition of one typed column ``name`` (``present``: SQL, its source value is not blank)."""
    post = {"date": f"NOT {typing.sql_date_in_range(name)}", "timestamp": f"NOT {typing.sql_in_range(name)}",
            "json": not_an_object(name)}.get(kind)
    unread = None if kind in ("string", "json") else f"({name} IS NULL AND {present})"
    if required:
        unread = f"{name} IS NULL"
    parts = [p for p in (unread, post and f"({name} IS NOT NULL AND {post})") if p]
    return " OR ".join(parts) or None


def checked_rows(typed: TypedSource, import_tz: str, refuse: str, row_checks: list[str],
                 skip: str | None = None, extras_to: str = "properties") -> str:
    """SQL of ``typed``'s rows (canonical columns, typed) where every flagged row calls ``refuse`` (an SQL
    expression raising an error); ``row_checks``: more conditions over the typed columns; ``skip``: SQL over the
    source columns of rows left out (not events)."""
    inner, outer, checks, passed = [], [], [], {}

    def source(col: str) -> str:
        if col not in passed:
            passed[col] = f'"__s{len(passed)}"'
            inner.append(f"{_q(col)} AS {passed[col]}")
        return passed[col]

    for col in typed.schema:
        src = typed.mapping.get(col.name)
        if src is None:
            inner.append(f"CAST(NULL AS {col.sql_type}) AS {col.name}")
        else:
            expr, _ = _typed_expr(col, src, typed.types[src], import_tz, checked=True)
            inner.append(f"CAST({expr} AS {col.sql_type}) AS {col.name}")
        outer.append(col.name)
        if src is None and not col.required:
            continue
        t = typed.types.get(src, "").upper()
        present = "false"
        if src is not None and col.kind not in ("string", "json"):
            alias = source(src)
            present = (f"{trimmed(alias)} IS NOT NULL" if t.startswith("VARCHAR") or t == "JSON"
                       else f"{alias} IS NOT NULL")
        cond = _check(col.kind, col.name, present, col.required)
        if cond:
            checks.append(f"({cond})")
    extras = [c for c in typed.types if c not in typed.mapping.values()]
    if extras_to and extras:
        pack = ", ".join(f"{_q(c)} := {source(c)}" for c in extras)
        # json_merge_patch drops keys whose value is null: absent and null mean the same.
        outer[outer.index(extras_to)] = (f"CAST(json_merge_patch(COALESCE({extras_to}, '{{}}'), "
                                         f"to_json(struct_pack({pack}))) AS VARCHAR) AS {extras_to}")
    bad = " OR ".join(checks + [f"({c})" for c in row_checks]) or "false"
    where = f" WHERE NOT coalesce(({skip}), false)" if skip else ""
    return (f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} FROM {typed.src}{where}) "
            f"WHERE CASE WHEN {bad} THEN {refuse} ELSE true END")


def link_rows(typed: TypedSource, import_tz: str) -> str | None:
    """SQL of the rows of a file that may carry an identity link: ``distinct_id, user_id, ts`` of each row whose
    anonymous id and user id are both present and differ as sent, typed as :func:`checked_rows` types them
    (typed, the two may be equal or missing, the time missing: ``identities.insert_row_links`` keeps the
    others); None when the file lacks either id column. The caller picks each id's link over all files'
    rows at once (:data:`LINK_USER`, ``identities.insert_row_links``): not grouped per file, which cost DuckDB a
    hash aggregate per file for no smaller result than the one pick. Only the rows whose two source values are both present and
    differ are typed (equal source values type to equal ids, a missing one to NULL: neither can be a link),
    so a file whose rows mostly carry one id costs little more than reading the three columns. Rows
    ``checked_rows`` would refuse are not refused here: the caller imports the file through ``checked_rows``
    afterwards, which refuses them."""
    cols = {c.name: c for c in typed.schema}
    srcs = {name: typed.mapping.get(name) for name in ("distinct_id", "user_id", "ts")}
    if None in srcs.values():
        return None
    typed_cols = ", ".join(
        f"CAST({_typed_expr(cols[name], src, typed.types[src], import_tz, checked=True)[0]} AS "
        f"{cols[name].sql_type}) AS {name}" for name, src in srcs.items())
    d, u = _q(srcs["distinct_id"]), _q(srcs["user_id"])
    differ = f" AND {d} <> {u}" if typed.types[srcs["distinct_id"]] == typed.types[srcs["user_id"]] else ""
    # (no condition on the typed values here: DuckDB would push it below the typing and type every row first;
    # insert_row_links keeps only typed ids that differ and a time)
    return f"SELECT {typed_cols} FROM {typed.src} WHERE {d} IS NOT NULL AND {u} IS NOT NULL{differ}"
