"""DuckDB / Spark parity: the same customer-value spec gives the same result on both engines (CDNOW sample in
a workspace in Asia/Shanghai, so local-day boundaries matter; Spark in local mode)."""
from __future__ import annotations

import math

import pytest

import yunying
from cv_helpers import AS_OF, CAL_END, cdnow_events_csv
from yunying.analyses.customer_value import CustomerValueSpec, WinbackSpec, customer_value, winback
from yunying.config import WorkspaceConfig

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    from yunying.engines.spark import SparkEngine

    base = tmp_path_factory.mktemp("cv_spark")
    ws = yunying.Workspace.init(base / "ws", WorkspaceConfig(name="cv", timezone="Asia/Shanghai"))
    ws.import_events([str(cdnow_events_csv(base / "cdnow.csv"))])
    yield ws.engine, SparkEngine(ws)  # selected Spark tests fail when Spark or Java is missing
    ws.close()


def same(a, b, path="$"):
    if isinstance(a, dict):
        assert set(a) == set(b), path
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12), (path, a, b)  # sums may differ in the last bit
    else:
        assert a == b, (path, a, b)


@pytest.mark.parametrize("spec", [
    dict(calibration_end=CAL_END, as_of=AS_OF, period="week"),
    dict(model="pareto", period="day", as_of="1997-12-31", horizon_days=30),
])
def test_customer_value_parity(engines, spec):
    duck, spark = engines
    s = CustomerValueSpec.parse(spec)
    a, b = customer_value(duck, s).to_dict(), customer_value(spark, s).to_dict()
    same(a, b)
    assert len(a["users"]) > 2000


def test_winback_parity(engines):
    duck, spark = engines
    s = WinbackSpec(top=200, holdout=0.1, seed=3)
    a, b = winback(duck, s).to_dict(), winback(spark, s).to_dict()
    same(a, b)
    assert sum(u["group"] == "holdout" for u in a["users"]) == 20
