"""A result as JSON text written from its columns (issue 13, start-up): the text
``json.dumps(result.to_dict(), ensure_ascii=False, indent=2)`` gives, without a dict per row.

With ``indent`` the json module encodes in Python, value by value (a customer-value list of tens of thousands
of customers took a third of a second, and making a cleaned dict per row another tenth). Here each column is
turned into JSON text at once (``repr`` of its floats, the json module's own string escaping) and every row is
one ``%`` of a template that holds the keys and the indentation. Results whose table holds anything else than
text, numbers, booleans and missing values, or whose class changes ``to_dict`` / ``records``, are left to
``json.dumps`` (:func:`result_json` returns None). tests/analytics/test_json_text.py compares the two texts.
"""
from __future__ import annotations

import json
from json.encoder import encode_basestring

from .base import Result, clean
from .table import Columns

_INDENT = "  "


_NOT_FINITE = frozenset({"nan", "inf", "-inf"})


def _floats(values: list) -> list[str]:
    """``float.__repr__`` of each (what json writes), missing and infinite ones null (``clean`` makes them None)."""
    out = list(map(float.__repr__, values))
    return out if _NOT_FINITE.isdisjoint(out) else ["null" if v in _NOT_FINITE else v for v in out]


def _column(values: list) -> list[str] | None:
    """The JSON text of each value, None when a value is not text, a number, a boolean or missing."""
    kinds = set(map(type, values))
    if kinds <= {float}:
        return _floats(values)
    if kinds <= {int}:
        return list(map(int.__repr__, values))
    if kinds <= {str}:
        return list(map(encode_basestring, values))
    if not kinds <= {str, int, float, bool, type(None)}:
        return None
    return ["null" if v is None else "true" if v is True else "false" if v is False else
            encode_basestring(v) if isinstance(v, str) else int.__repr__(v) if isinstance(v, int) else
            _floats([v])[0] for v in values]


def rows_json(table: Columns, depth: int) -> str | None:
    """The rows of ``table`` as the indented JSON list ``json.dumps`` writes at nesting ``depth`` (the list's
    own key at ``depth - 1``), or None (values it does not handle)."""
    values = table._values()
    if not values or not len(table):
        return "[]"
    texts = [_column(v) for v in values.values()]
    if any(t is None for t in texts):
        return None
    row_pad, key_pad = _INDENT * (depth + 1), _INDENT * (depth + 2)
    template = (row_pad + "{\n" + ",\n".join(key_pad + encode_basestring(k).replace("%", "%%") + ": %s"
                                             for k in values) + "\n" + row_pad + "}")
    return "[\n" + ",\n".join(template % row for row in zip(*texts)) + "\n" + _INDENT * depth + "]"


def result_json(result) -> str | None:
    """``json.dumps(result.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)`` for a :class:`Result`
    whose table is :class:`Columns`; None where this writer does not apply."""
    cls = type(result)
    if not (isinstance(result, Result) and cls.to_dict is Result.to_dict and cls.records is Result.records
            and isinstance(result._frame, Columns)):
        return None
    head = {"kind": result.kind}
    if result.spec is not None:
        head["spec"] = result.spec.model_dump(mode="json")
    head.update(clean(result.meta))
    if result.rows_key in head:
        return None
    rows = rows_json(result._frame, 1)
    if rows is None:
        return None
    text = json.dumps(head, ensure_ascii=False, indent=2, allow_nan=False)
    return text[:-2] + ",\n" + _INDENT + encode_basestring(result.rows_key) + ": " + rows + "\n}"
