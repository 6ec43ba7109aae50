"""A property of a table as an engine expression: a typed column, else the key of its ``properties`` JSON —
any characters in the name, looked up as data (never pasted into SQL; see ``Engine.json_text``)."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - Ibis loads on first use (start-up time)
    import ibis


from ..errors import SpecError


def json_text(engine, t: ibis.Table, name: str) -> ibis.Value:
    """The text under key ``name`` of ``properties`` — ``name`` may hold any characters."""
    return engine.json_text(t, name)


def prop(engine, t: ibis.Table, name: str) -> ibis.Value:
    if name in t.columns and name != "properties":
        return t[name]
    if "properties" not in t.columns:
        raise SpecError(key="properties.property_column_this_table", name=name)
    return json_text(engine, t, name)
