"""A result held as plain columns (analyses/table.py) reads exactly as the same data in a pandas DataFrame:
records (JSON), CSV and the DataFrame itself, on random columns of every kind the analyses produce."""
from __future__ import annotations

import datetime as dt
import json
import random

import numpy as np
import pandas as pd

from yunying.analyses.base import Result
from yunying.analyses.table import Columns


def _column(rng: random.Random, kind: str, n: int) -> list:
    def maybe(v):
        return None if rng.random() < 0.2 else v
    if kind == "int":
        return [rng.randint(-5, 10**6) for _ in range(n)]
    if kind == "int_missing":
        return [maybe(rng.randint(0, 50)) for _ in range(n)]
    if kind == "float":
        return [maybe(rng.choice([rng.random() * 10**rng.randint(-8, 20), 3.0, -0.0, 1 / 3])) for _ in range(n)]
    if kind == "mixed_num":
        return [maybe(rng.choice([rng.randint(0, 9), rng.random()])) for _ in range(n)]
    if kind == "numpy":
        return [rng.choice([np.int64(rng.randint(0, 9)), np.float64(rng.random())]) for _ in range(n)]
    if kind == "text":
        return [maybe(rng.choice(["a", "b,c", 'q"uote', "中文", "", "line\nbreak"])) for _ in range(n)]
    if kind == "date":
        return [maybe(dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 400))) for _ in range(n)]
    if kind == "list":
        return [[rng.randint(0, 3) for _ in range(rng.randint(0, 3))] for _ in range(n)]
    return [maybe(rng.random() < 0.5) for _ in range(n)]  # bools with missing values


KINDS = ["int", "int_missing", "float", "mixed_num", "numpy", "text", "date", "list", "bool"]


def test_columns_read_as_the_dataframe_of_the_same_rows():
    rng = random.Random(7)
    for trial in range(60):
        n = rng.choice([0, 1, 2, 5, 30])
        kinds = rng.sample(KINDS, rng.randint(1, len(KINDS)))
        data = {f"c{i}_{k}": _column(rng, k, n) for i, k in enumerate(kinds)}
        rows = [{k: v[i] for k, v in data.items()} for i in range(n)]
        for object_dtype in (False, True):
            frame = pd.DataFrame(rows, columns=list(data), dtype=object if object_dtype else None)
            light = Result(None, Columns(data, object_dtype=object_dtype))
            heavy = Result(None, frame)
            assert json.dumps(light.records()) == json.dumps(heavy.records()), (trial, kinds)
            assert light.to_csv() == heavy.to_csv(), (trial, kinds)
            assert light.columns == heavy.columns == list(data)
            assert len(light) == len(heavy) == n
            pd.testing.assert_frame_equal(light.to_pandas(), frame)


def test_columns_from_rows_and_hand_worked_csv():
    cols = Columns.from_rows([{"day": dt.date(2024, 1, 1), "users": 3, "rate": None},
                              {"day": dt.date(2024, 1, 2), "users": None, "rate": 0.5}], ["day", "users", "rate"])
    res = Result(None, cols)
    assert res.to_csv() == "day,users,rate\n2024-01-01,3.0,\n2024-01-02,,0.5\n"
    assert res.records() == [{"day": "2024-01-01", "users": 3.0, "rate": None},
                             {"day": "2024-01-02", "users": None, "rate": 0.5}]
    assert isinstance(res.frame, pd.DataFrame) and res.frame["users"].dtype == np.float64
