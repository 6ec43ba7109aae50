"""The worked examples of docs/content.md: Python examples as doctests, the event-log examples run through the
analyses and compared with the tables the doc gives."""
from __future__ import annotations

import doctest
import io
import re

import pandas as pd
import pytest
from scipy import stats

import yunying
from util import ROOT
from yunying.analyses.content import content
from yunying.analyses.content.referrals import referrals

DOC = ROOT / "docs" / "content.md"


def block(kind: str, name: str) -> str:
    m = re.search(rf"<!-- {kind}: {name} -->\s*```csv\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert m, f"{kind} {name!r} not found in {DOC.name}"
    return m.group(1)


def test_python_examples():
    failed, attempted = doctest.testfile(str(DOC), module_relative=False)
    assert attempted >= 6 and failed == 0


def test_flag_example_interval_in_words():
    lo, hi = stats.beta.ppf([0.05, 0.95], 22, 5078)
    text = DOC.read_text(encoding="utf-8")
    assert f"{lo * 100:.2f} %–{hi * 100:.2f} %" in text


def _ws(tmp_path, name):
    p = tmp_path / f"{name}.csv"
    p.write_text(block("example", name), encoding="utf-8")
    return yunying.from_events(str(p))


def test_attribution_example(tmp_path):
    ws = _ws(tmp_path, "attribution")
    got = content(ws.engine).frame.set_index("content_id")
    ws.close()
    want = pd.read_csv(io.StringIO(block("expected", "attribution"))).set_index("content_id")
    for c in want.index:
        for col in want.columns:
            assert got.loc[c, col] == pytest.approx(want.loc[c, col]), (c, col)


def test_referrals_example(tmp_path):
    ws = _ws(tmp_path, "referrals")
    res = referrals(ws.engine)
    ws.close()
    assert res.meta["k_factor"] == 0.5 and res.meta["generations"] == {0: 3, 1: 2, 2: 1}
    got = res.frame.set_index("content_id")
    want = pd.read_csv(io.StringIO(block("expected", "referrals"))).set_index("content_id")
    for c in want.index:
        for col in want.columns:
            assert got.loc[c, col] == pytest.approx(want.loc[c, col]), (c, col)
