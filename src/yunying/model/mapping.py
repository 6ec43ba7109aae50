"""Recognise which column of a user's file is which canonical field."""
from __future__ import annotations

import re

from ..errors import InputFileError
from .schema import Column


def norm_name(name: str) -> str:
    """A column or property name as matched: lower case, only letters, digits and ``$`` (capture uses it too)."""
    return re.sub(r"[^a-z0-9$]", "", name.strip().lower())


def map_columns(
    source_columns: list[str],
    schema: tuple[Column, ...],
    explicit: dict[str, str] | None = None,
    *,
    file: str = "input",
) -> dict[str, str]:
    """Return {canonical name: source column} for the columns found.

    Explicit mappings win; then exact canonical names; then known aliases
    (case, spaces, dashes and underscores ignored). Required columns that are
    not found raise :class:`InputFileError` naming the file and the columns seen.
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
                f"{file}: column mapping says {canon} = {src!r}, but the file has no column {src!r} "
                f"(columns: {', '.join(source_columns)})"
            )
        result[canon] = src
        used.add(src)
    by_norm: dict[str, str] = {}
    for col in source_columns:
        by_norm.setdefault(norm_name(col), col)
    for col in schema:  # exact names first, so an alias never steals another field's own column
        if col.name not in result and norm_name(col.name) in by_norm and by_norm[norm_name(col.name)] not in used:
            result[col.name] = by_norm[norm_name(col.name)]
            used.add(result[col.name])
    for col in schema:
        if col.name in result:
            continue
        for alias in col.aliases:
            src = by_norm.get(norm_name(alias))
            if src is not None and src not in used:
                result[col.name] = src
                used.add(src)
                break
    missing = [c.name for c in schema if c.required and c.name not in result]
    if missing:
        hints = {c.name: c.aliases[:4] for c in schema if c.name in missing}
        hint = "; ".join(f"{m} (or {', '.join(a)})" for m, a in hints.items())
        raise InputFileError(
            f"{file}: missing required column(s): {hint}. Columns found: {', '.join(source_columns) or '(none)'}. "
            f"Set the mapping in yunying.toml [columns] or with --map NAME=COLUMN."
        )
    return result
