"""The engine contract for sequence analyses (engines/base.py): capabilities are checked before any work,
and partial results merged from any chunking give the same answer."""
from __future__ import annotations

import pytest

from yunying.analyses.funnel import FunnelSpec, funnel
from yunying.analyses.lifecycle import lifecycle
from yunying.analyses.retention import retention
from yunying.engines.duckdb import DuckDBEngine
from yunying.engines.sequences import SequenceQuery
from yunying.errors import UnsupportedOperation

from analytics_helpers import make_ws

ROWS = [(f"u{i}", e, f"2024-01-0{1 + i % 5} 1{i % 10}:00") for i in range(40) for e in ("A", "B", "C")]


class NoSequences(DuckDBEngine):
    capabilities = DuckDBEngine.capabilities - {"sequences", "row_ids"}


@pytest.fixture(scope="module")
def ws():
    w = make_ws(ROWS)
    yield w
    w.close()


def test_an_engine_without_the_capability_refuses_before_reading(ws, monkeypatch):
    engine = NoSequences(ws)
    read = []
    monkeypatch.setattr(NoSequences, "sequences", lambda self, q: read.append(q) or [])
    for fn, kw in ((funnel, {"steps": ["A", "B"]}), (retention, {"period": "day"}), (lifecycle, {})):
        with pytest.raises(UnsupportedOperation, match="does not support sequences"):
            fn(engine, **kw)
    with pytest.raises(UnsupportedOperation, match="row_ids"):
        engine.row_ids(["A"])
    assert read == []


def test_partial_results_merge_the_same_for_any_chunking(ws):
    spec = FunnelSpec(steps=["A", "B", "C"], window="1h")
    whole = funnel(DuckDBEngine(ws), spec).to_dict()
    tiny = DuckDBEngine(ws, prefetch=False)
    tiny.batch_rows, tiny.kernel_threads = 4, 1
    assert len(list(tiny.sequences(SequenceQuery(("A",))))) > 5
    assert funnel(tiny, spec).to_dict() == whole
    threads = DuckDBEngine(ws)
    threads.batch_rows, threads.kernel_threads = 7, 3
    assert funnel(threads, spec).to_dict() == whole
