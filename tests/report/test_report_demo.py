"""The report's sections on the demo's data, cross-checked against other analyses of the same workspace."""
from __future__ import annotations

import pytest

import yunying
from yunying.analyses.users import new_users
from yunying.reports.weekly import build_report


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory):
    from yunying.demo.run import run_demo

    d = tmp_path_factory.mktemp("demo")
    run_demo(d, users=1500, seed=5, days=42)
    with yunying.open(d / "workspace", read_only=True) as ws:
        rep = build_report(ws, period="week")
        p = rep.period
        signups = new_users(ws.engine, interval="week", date_from=p.start, date_to=p.end).to_pandas()["new_users"].sum()
        before = new_users(ws.engine, interval="week", date_from=p.prev_start,
                           date_to=p.prev_end).to_pandas()["new_users"].sum()
    return rep, int(signups), int(before)


def section(rep, key):
    return next(s for s in rep.sections if s.key == key)


def test_every_section_is_there_and_none_failed(demo_report):
    rep, _, _ = demo_report
    assert [s.key for s in rep.sections] == ["headline", "what_moved", "acquisition", "funnel", "retention",
                                             "experiments", "alerts"]
    assert all(s.note is None for s in rep.sections if s.key != "alerts")


def test_acquisition_funnel_and_retention_agree_with_new_users(demo_report):
    rep, signups, before = demo_report
    acq = section(rep, "acquisition").tables[0].rows
    total = acq[-1]
    assert total["new_users"] == signups and total["previous"] == before
    assert sum(r["new_users"] for r in acq[:-1]) == signups
    funnel = section(rep, "funnel").tables[0].rows
    assert funnel[0]["users"] == signups and funnel[0]["conversion"] == 1.0
    assert all(b["users"] <= a["users"] for a, b in zip(funnel, funnel[1:]))
    cohorts = {r["cohort"]: r["size"] for r in section(rep, "retention").tables[0].rows}
    assert cohorts[str(rep.period.start)] == signups


def test_experiment_row(demo_report):
    rep, _, _ = demo_report
    (row,) = section(rep, "experiments").tables[0].rows
    assert row["variant"] == "treatment" and 0 < row["control_rate"] < 1 and 0 <= row["p_value"] <= 1
