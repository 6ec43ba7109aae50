"""analyses/json_text.result_json writes the text json.dumps(result.to_dict(), ensure_ascii=False, indent=2)
writes (the oracle here), from the columns; where it does not apply it says so (None) and emit uses json.dumps."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from yunying.analyses.base import Result
from yunying.analyses.json_text import result_json
from yunying.analyses.table import Columns


class _Res(Result):
    kind = "test"
    rows_key = "users"


def _dumps(res) -> str:
    return json.dumps(res.to_dict(), ensure_ascii=False, indent=2, allow_nan=False)


TABLES = {
    "mixed": Columns({
        "user_id": ["u1", "用户\"2\"", "a\\b\n\tc\x01", "100%", "e\u2028f"],
        "n": [1, 2, 3, -4, 10**20],
        "x": [0.1, math.nan, math.inf, -math.inf, 1e-300],
        "flag": [True, False, None, True, False],
        "some": [1, None, 2.5, None, 3],          # inferred as pandas would: floats, missing null
        "100% done": ["a", None, "b", None, "c"],
        "ints_then_missing": [1, 2, None, 4, 5],
    }),
    "float_dtype": Columns({"a": [None, 1, 2.0], "b": ["x", "y", "z"]}, dtypes={"a": "float64"}),
    "empty_rows": Columns({"a": [], "b": []}),
    "no_columns": Columns({}),
    "one_row": Columns({"only": [0.30000000000000004]}),
}


@pytest.mark.parametrize("name", TABLES)
@pytest.mark.parametrize("meta", [{}, {"title": "标题", "n": 3, "nested": {"rows": [1, {"a": None}], "nan": math.nan}}])
def test_same_text_as_json_dumps(name, meta):
    res = _Res(None, TABLES[name], meta)
    text = result_json(res)
    assert text is not None
    assert text == _dumps(res)


def test_not_applicable_cases():
    cell_list = _Res(None, Columns({"a": [[1, 2], [3]]}))
    assert result_json(cell_list) is None                                 # a list in a cell
    assert result_json(_Res(None, Columns({"a": [1]}), {"users": 1})) is None   # the rows' key in the metadata
    assert result_json(_Res(None, pd.DataFrame({"a": [1]}))) is None      # a pandas table

    class Own(_Res):
        def to_dict(self):
            return {"mine": True}

    assert result_json(Own(None, Columns({"a": [1]}))) is None
    assert result_json({"a": 1}) is None
