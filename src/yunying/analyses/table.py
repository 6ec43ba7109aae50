"""A small column table: what a result holds when pandas would only be a container.

Importing pandas costs a third of a second at every CLI start; an analysis whose rows are a few hundred
Python values builds a :class:`Columns` instead, and the result turns it into a pandas DataFrame only when
someone asks for one (``Result.frame``, ``to_pandas``, charts). Records and CSV read the columns directly and
give what the same data in a DataFrame gives (tests/analytics/test_result_table.py checks that against pandas):
a column of integers with a missing value is a float column, as pandas infers it.
"""
from __future__ import annotations

import csv
import io
import math
from typing import Any, Iterable
from ..errors import Text


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) or (
        type(v).__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind in "iu")


def _is_float(v) -> bool:
    return isinstance(v, float) or (type(v).__module__ == "numpy" and hasattr(v, "dtype") and v.dtype.kind == "f")


def _missing(v) -> bool:
    return v is None or (_is_float(v) and math.isnan(v))


def _inferred(values: list) -> list:
    """The values as a pandas column would hold them: numbers with a missing one, or integers mixed with
    floats, are floats (missing: NaN); integers stay integers; anything else as it is."""
    kinds = set()
    for v in values:
        if v is None:
            kinds.add("none")
        elif _is_int(v):
            kinds.add("int")
        elif _is_float(v):
            kinds.add("float")
        else:
            return [v.item() if hasattr(v, "item") and type(v).__module__ == "numpy" else v for v in values]
    if kinds <= {"int"}:
        return [int(v) for v in values]
    if "int" in kinds or "float" in kinds:
        return [math.nan if v is None else float(v) for v in values]
    return list(values)


def _as_float(values: list) -> list:
    return [math.nan if v is None else float(v) for v in values]


class Columns:
    """Named columns of equal length (Python lists), in order. ``object_dtype``: kept as they are (a pandas
    frame built with ``dtype=object``), no numeric inference. ``dtypes``: a column's dtype where inference from
    its values would not give the one meant: ``float64`` (numbers, missing ones NaN, even when all are
    missing) or ``object`` (as they are)."""

    def __init__(self, data: dict[str, list], *, object_dtype: bool = False, dtypes: dict[str, str] | None = None):
        self.data = {k: list(v) for k, v in data.items()}
        lengths = {len(v) for v in self.data.values()}
        if len(lengths) > 1:
            raise ValueError(Text("table.columns_different_lengths", lengths=sorted(lengths)))
        self.object_dtype = object_dtype
        self.dtypes = dict(dtypes or {})

    @classmethod
    def from_rows(cls, rows: Iterable[dict], columns: list[str], *, object_dtype: bool = False) -> "Columns":
        rows = list(rows)
        return cls({c: [r.get(c) for r in rows] for c in columns}, object_dtype=object_dtype)

    @property
    def columns(self) -> list[str]:
        return list(self.data)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()), []))

    def _values(self) -> dict[str, list]:
        if self.object_dtype:
            return self.data
        kinds = {"float64": _as_float, "object": list}
        return {k: kinds.get(self.dtypes.get(k), _inferred)(v) for k, v in self.data.items()}

    def rows(self) -> list[dict[str, Any]]:
        """One dict per row, values as a DataFrame of the same data gives them (``to_dict(orient="records")``)."""
        values = self._values()
        names = list(values)
        return [dict(zip(names, row)) for row in zip(*values.values())] if names else []

    def to_csv(self) -> str:
        """As ``DataFrame.to_csv(index=False)``: missing values empty, floats as Python writes them."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        for r in self.rows():
            w.writerow(["" if _missing(v) else v for v in r.values()])
        return buf.getvalue()

    def to_pandas(self):
        import pandas as pd

        if self.object_dtype:
            return pd.DataFrame(self.data, columns=self.columns, dtype=object)
        return pd.DataFrame({k: pd.Series(v, dtype=self.dtypes.get(k) or (None if v else object))
                             for k, v in self._values().items()}, columns=self.columns)
