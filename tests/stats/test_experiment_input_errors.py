"""Bad experiment input gets an error that names the real problem (issue #19 item 7 and item 10):
a unit column that is not unique, a table left empty by the exclusion rules, dates out of range."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from yunying.analyses.experiment import ExperimentSpec, WorkspaceExperimentSpec, analyze_table, analyze_workspace
from yunying.errors import SpecError, ValidationError, YunyingError

from test_experiment_workspace import FakeEngine

SPEC = {"unit": "user", "variant": "arm", "control": "a", "metrics": ["y"]}


def test_unit_column_not_unique_names_column_examples_and_rows(tmp_path):
    # every id of the "unit" column appears in both arms: the column is not a unit id
    path = tmp_path / "t.csv"
    pd.DataFrame({"user": ["u1", "u1", "u2", "u2"], "arm": ["a", "b", "a", "b"],
                  "y": [1, 0, 0, 1]}).to_csv(path, index=False)
    with pytest.raises(ValidationError) as e:
        analyze_table(path, SPEC)
    msg = e.value.message
    assert "no units with a variant" not in msg and "no control" not in msg
    assert str(path) in msg and "'user'" in msg and "not unique" in msg
    assert "'u1'" in msg and "rows 1, 2" in msg and "lines 2, 3" in msg
    assert e.value.details["column"] == "user"
    # the same without a control given: not "no control given (variants seen: none)"
    with pytest.raises(ValidationError, match="not unique"):
        analyze_table(path, {k: v for k, v in SPEC.items() if k != "control"})


def test_duplicate_rows_in_one_variant_name_rows():
    df = pd.DataFrame({"user": [7, 8, 7], "arm": ["a", "b", "a"], "y": [1.0, 2.0, 3.0]})
    with pytest.raises(ValidationError) as e:
        analyze_table(df, SPEC)
    msg = e.value.message
    assert "'user'" in msg and "'7'" in msg and "rows 1, 3" in msg and "one row per unit" in msg


def test_units_excluded_for_two_variants_are_shown_with_rows():
    df = pd.DataFrame({"user": [1, 1, 2, 3], "arm": ["a", "b", "a", "b"], "y": [1.0, 2.0, 3.0, 4.0]})
    d = analyze_table(df, SPEC).to_dict()
    msg = [m for m in d["messages"] if m["code"] == "multiple_variants"][0]["message"]
    assert "'1'" in msg and "rows 1, 2" in msg


def test_empty_variant_column_is_named():
    df = pd.DataFrame({"user": [1, 2], "arm": [None, None], "y": [1.0, 2.0]})
    with pytest.raises(ValidationError, match=r"variant column 'arm' is empty on all 2 rows"):
        analyze_table(df, SPEC)


def test_no_listed_variant_in_the_data_is_named():
    df = pd.DataFrame({"user": [1, 2], "arm": ["x", "y"], "y": [1.0, 2.0]})
    with pytest.raises(ValidationError, match=r"none of the 2 units is in a listed variant \(a, b\).*x, y"):
        analyze_table(df, {**SPEC, "variants": ["a", "b"]})


def test_workspace_all_users_in_two_variants_is_named():
    t = pd.Timestamp("2026-03-01")
    ev = pd.DataFrame({"user_id": ["u1", "u1", "u2", "u2"], "event": ["$exposure"] * 4,
                       "ts": [t, t + pd.Timedelta(hours=1), t, t + pd.Timedelta(hours=2)],
                       "variant": ["control", "b", "control", "b"], "revenue": [None] * 4,
                       "properties": [json.dumps({})] * 4})
    with pytest.raises(ValidationError) as e:
        analyze_workspace(FakeEngine(ev), {"control": "control",
                                        "metrics": [{"name": "buy", "kind": "conversion", "event": "buy"}]})
    assert "all 2 exposed users" in e.value.message and "more than one variant" in e.value.message
    assert "'u1'" in e.value.message


@pytest.mark.parametrize("cls", [ExperimentSpec, WorkspaceExperimentSpec])
@pytest.mark.parametrize("field,value", [("end", "9999-12-31"), ("start", "1900-01-01"),
                                         ("end", "9999-12-31T23:00:00"), ("start", "2101-01-01")])
def test_start_end_outside_the_date_limit_are_spec_errors(cls, field, value):
    with pytest.raises(SpecError, match=r"between 1970-01-01 and 2100-12-31"):
        cls.parse({"metrics": ["y"], field: value})


def test_start_after_end_is_a_spec_error():
    with pytest.raises(SpecError, match="start is after end"):
        ExperimentSpec.parse({"metrics": ["y"], "start": "2026-03-02", "end": "2026-03-01"})


def test_workspace_end_at_the_limit_runs(tmp_path):
    # the last allowed day is accepted (and 'end' is inclusive: one day is added internally)
    t = pd.Timestamp("2026-03-01")
    ev = pd.DataFrame({"user_id": ["u1", "u2"], "event": ["$exposure"] * 2, "ts": [t, t],
                       "variant": ["control", "b"], "revenue": [None] * 2, "properties": ["{}"] * 2})
    res = analyze_workspace(FakeEngine(ev), {"control": "control", "end": "2100-12-31",
                                          "metrics": [{"name": "buy", "kind": "conversion", "event": "buy"}]})
    assert res.counts == {"control": 1, "b": 1}
    assert issubclass(SpecError, YunyingError)
