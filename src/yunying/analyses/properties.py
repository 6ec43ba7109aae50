"""A property of a table as an engine expression: a typed column, else the key of its ``properties`` JSON —
any characters in the name, looked up as data (never pasted into SQL)."""
from __future__ import annotations

import re

import ibis
import ibis.expr.datatypes as dtypes

from ..errors import SpecError

_SIMPLE_NAME = re.compile(r"[A-Za-z0-9_$]+")


@ibis.udf.scalar.builtin(name="json_extract_string")
def _duck_json_text(j: str, path: str) -> str:  # pragma: no cover - builtin
    """DuckDB: a JSON value as text; ``path`` is a JSON Pointer (any key can be written as one)."""


@ibis.udf.scalar.builtin(name="from_json")
def _spark_json_map(j: str, schema: str) -> dtypes.Map(dtypes.string, dtypes.string):  # pragma: no cover
    """Spark: a JSON object as a map of key -> value text (any key can be looked up as data)."""


def json_text(engine, t: ibis.Table, name: str) -> ibis.Value:
    """The text under key ``name`` of ``properties`` — ``name`` may hold any characters."""
    if _SIMPLE_NAME.fullmatch(name):
        return engine.prop(t, name)
    if engine.name == "duckdb":
        return _duck_json_text(t.properties, "/" + name.replace("~", "~0").replace("/", "~1"))
    if engine.name == "spark":
        return _spark_json_map(t.properties, "map<string,string>")[name]
    raise SpecError(f"property {name!r}: names with characters other than letters, digits, _ and $ are not "
                    f"supported on the {engine.name} engine")


def prop(engine, t: ibis.Table, name: str) -> ibis.Value:
    if name in t.columns and name != "properties":
        return t[name]
    if "properties" not in t.columns:
        raise SpecError(f"property {name!r} is not a column of this table")
    return json_text(engine, t, name)
