"""The worked examples in docs/customer-value.md: the Python examples run as doctests, the event-log example is
summarised and compared with the table the doc gives."""
from __future__ import annotations

import doctest
import io
import re

import numpy as np
import pandas as pd

import yunying
from util import ROOT
from yunying.analyses.customer_value import CustomerValueSpec, read_purchases, resolve_dates, summarise

DOC = ROOT / "docs" / "customer-value.md"


def block(kind: str, name: str) -> str:
    m = re.search(rf"<!-- {kind}: {name} -->\s*```csv\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert m, f"{kind} {name!r} not found in {DOC.name}"
    return m.group(1)


def test_python_examples():
    failed, attempted = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert attempted >= 8 and failed == 0


def test_rfm_example(tmp_path):
    p = tmp_path / "rfm.csv"
    p.write_text(block("example", "rfm"), encoding="utf-8")
    ws = yunying.from_events(str(p))
    spec = CustomerValueSpec(period="week", as_of="2024-02-04")
    purchases = read_purchases(ws.engine, spec)
    ws.close()
    c = summarise(purchases, resolve_dates(spec, purchases)[0], spec.unit_days)
    got = pd.DataFrame({"user_id": c.user_id.astype(str), "frequency": c.frequency.astype(int), "recency": c.recency,
                        "T": c.T, "monetary": c.monetary})
    want = pd.read_csv(io.StringIO(block("expected", "rfm")), dtype={"user_id": str})
    assert got["user_id"].tolist() == want["user_id"].tolist()
    for col in ("frequency", "recency", "T", "monetary"):
        np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float), rtol=1e-12, equal_nan=True)
