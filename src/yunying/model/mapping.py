"""Recognise which column of a user's file is which canonical field."""
from __future__ import annotations

import re
import unicodedata

from ..errors import InputFileError, Text
from .schema import Column

_DROP = re.compile(r"[^\w$]|_")


def norm_name(name: str) -> str:
    """A column or property name as matched: full-width forms folded (NFKC), lower case, only letters (any
    script: ``用户ID`` stays ``用户id``), digits and ``$`` (capture uses it too)."""
    return _DROP.sub("", unicodedata.normalize("NFKC", name).strip().lower())


def property_rules(columns: tuple[Column, ...], explicit: dict[str, str] | None = None) -> dict[str, tuple[str, int]]:
    """The rule lifting properties into typed columns, for capture and for files' nested ``properties``:
    normalised property name -> (column, priority); a lower priority wins (0 an explicit ``[columns]``
    mapping, 1 the column's own name, 2 one of its names, 3 a fallback name)."""
    rules: dict[str, tuple[str, int]] = {}
    for col in columns:
        for prio, names in ((3, col.fallbacks), (2, col.aliases), (1, (col.name,))):
            for name in names:
                rules[norm_name(name)] = (col.name, prio)
    names = {c.name for c in columns}
    for canon, source in (explicit or {}).items():
        if canon in names:
            rules[norm_name(source)] = (canon, 0)
    return rules


def map_columns(
    source_columns: list[str],
    schema: tuple[Column, ...],
    explicit: dict[str, str] | None = None,
    *,
    file: str = "input",
) -> dict[str, str]:
    """Return {canonical name: source column} for the columns found.

    Explicit mappings win; then exact canonical names; then known names (``model/aliases.py``; case,
    spaces, dashes, underscores and full-width forms ignored); then fallback names. Two columns matching
    one canonical column at the same level raise :class:`InputFileError` naming both; required columns
    that are not found raise it naming the file and the columns seen.
    """
    explicit = explicit or {}
    known = {c.name for c in schema}
    result: dict[str, str] = {}
    used: set[str] = set()
    for canon, src in explicit.items():
        if canon not in known:
            continue
        if src not in source_columns:
            raise InputFileError(
                key="mapping.column_mapping_says_but", file=file, canon=canon, src=src, source_columns=', '.join(source_columns)
            )
        result[canon] = src
        used.add(src)
    by_norm: dict[str, list[str]] = {}
    for col in source_columns:
        by_norm.setdefault(norm_name(col), []).append(col)
    # exact names first, so an alias never steals another field's own column; then names, then fallbacks
    for level in (lambda c: (c.name,), lambda c: c.aliases, lambda c: c.fallbacks):
        for col in schema:
            if col.name in result:
                continue
            found = [src for name in level(col) for src in by_norm.get(norm_name(name), ()) if src not in used]
            found = list(dict.fromkeys(found))
            if len(found) > 1:
                raise InputFileError(
                    key="mapping.columns_could_both_say", file=file, found=found[0], found2=found[1], name=col.name)
            if found:
                result[col.name] = found[0]
                used.add(found[0])
    missing = [c.name for c in schema if c.required and c.name not in result]
    if missing:
        # each column with a few of its other names, said in the reader's language ("event（或 event_name, …）")
        hint = [Text("mapping.column_or_names", name=c.name, names=", ".join(c.aliases[:4])) if c.aliases[:4]
                else c.name for c in schema if c.name in missing]
        raise InputFileError(key="mapping.missing_required_column_s", file=file, hint=hint,
                             source_columns=", ".join(source_columns) or Text("mapping.no_columns"))
    return result
