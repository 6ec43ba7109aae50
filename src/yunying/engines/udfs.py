"""Ibis builtin functions both engines provide under the same name (DuckDB gets macros at connect time), so one
Ibis expression compiles to valid SQL on each. A module of its own so that importing the engines does not import
Ibis (≈ 0.5 s): analyses that never build an Ibis expression (funnels and retention on the sequence store) never
pay for it."""
from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt


@ibis.udf.scalar.builtin
def from_utc_timestamp(ts: dt.timestamp, tz: str) -> dt.timestamp:  # pragma: no cover - builtin
    """UTC timestamp -> wall-clock time in ``tz``."""


@ibis.udf.scalar.builtin
def get_json_object(json: str, path: str) -> str:  # pragma: no cover - builtin
    """Extract a JSON value as text."""


@ibis.udf.scalar.builtin(name="json_extract_string")
def json_pointer_text(j: str, path: str) -> str:  # pragma: no cover - builtin
    """A JSON value as text; ``path`` is a JSON Pointer (any key can be written as one)."""
