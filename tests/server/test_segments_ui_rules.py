"""Segment rules as JSON trees and canonical text (model/segments.py), what the query API and the dashboard's
segment builder send: every rule round-trips, text -> tree -> JSON -> tree -> text -> tree, unchanged."""
from __future__ import annotations

import json

import pytest

from yunying.errors import SpecError
from yunying.model import segments as R

RULES = [
    "did purchase",
    "did purchase at least 2 times in the last 30 days and user.city = '上海'",
    "did not do 'app open' between 2026-06-01 and 2026-06-30",
    "first did signup in the last 7 days or in segment 'vip \"list\"'",
    "did purchase where (event.revenue > 100 and event.sku in ('a', 'b')) exactly 3 times",
    "did purchase at most 0 times in the last 14 days",
    "not (did where in the last 3 days or user.plan is set) and user.name matches '^O\\'B'",
    "did 'did' where (event.'a.b' contains ';DROP') and not in segment segment",
    "(user.age >= 18 or user.age < 3) and segment != 'x'",
]


@pytest.mark.parametrize("text", RULES)
def test_rule_round_trips(text):
    tree = R.parse(text)
    data = json.loads(json.dumps(R.to_json(tree), ensure_ascii=False))
    assert R.from_json(data) == tree
    assert R.parse(R.to_text(tree)) == tree
    assert R.to_json(R.parse(R.to_text(R.from_json(data)))) == data


def test_json_shape_is_the_documented_one():
    data = R.to_json(R.parse(RULES[1]))
    assert data == {"and": [
        {"behaviour": {"kind": "did", "event": "purchase", "count": {"op": ">=", "n": 2}, "window": {"last": 30}}},
        {"field": {"scope": "user", "name": "city"}, "op": "=", "value": {"type": "string", "value": "上海"}}]}


@pytest.mark.parametrize("bad, words", [
    ({"behaviour": {"kind": "did", "event": "x", "window": {"last": 0}}}, "last N days"),
    ({"behaviour": {"kind": "did not", "event": "x", "count": {"op": ">=", "n": 2}}}, "only for did"),
    ({"behaviour": {"kind": "did", "event": "x", "window": {"between": ["2026-07-02", "2026-07-01"]}}}, "before"),
    ({"field": {"scope": "event", "name": "city"}, "op": "=", "value": {"type": "string", "value": "a"}}, "inside"),
    ({"and": [{"in_segment": "a"}]}, "2 or more"),
    ({"behaviour": {"kind": "did", "event": ""}}, "event name"),
])
def test_bad_json_is_refused_with_a_reason(bad, words):
    with pytest.raises(SpecError, match=words):
        R.from_json(bad)
