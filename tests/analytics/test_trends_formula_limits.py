"""Formulas of any size are a clear spec error or a result, never a RecursionError/MemoryError
(issue 19, item 10: 20k-term formulas answered 500)."""
from __future__ import annotations

import re

import numpy as np
import pytest

from yunying.analyses.trends import MAX_FORMULA_CHARS, TrendsSpec, _compile, _evaluate
from yunying.errors import SpecError

SERIES = [{"event": "a"}, {"event": "b"}]


@pytest.mark.parametrize("formula", [
    "+".join(["A"] * 20_000),                 # 20k terms
    "(" * 5_000 + "A" + ")" * 5_000,          # deep parentheses
    "-" * 20_000 + "A",                       # deep unary minus
    "A/" * 10_000 + "B",
])
def test_huge_formulas_are_a_spec_error(formula):
    with pytest.raises(SpecError, match="formula: at most"):
        TrendsSpec.parse({"series": SERIES, "formula": formula})


def test_the_longest_allowed_formula_evaluates_without_recursion():
    # the deepest tree that fits the limit: a left-deep chain of additions and a right-deep unary chain
    n = (MAX_FORMULA_CHARS - 1) // 2
    chain = "+".join(["A"] * (n + 1))[:MAX_FORMULA_CHARS]
    TrendsSpec.parse({"series": SERIES, "formula": chain})
    tree = _compile(chain, 2)
    a = np.array([1.0, 2.0])
    assert _evaluate(tree, {"A": a, "B": a}).tolist() == [chain.count("A") * 1.0, chain.count("A") * 2.0]
    unary = "-" * (MAX_FORMULA_CHARS - 1) + "A"
    assert _evaluate(_compile(unary, 2), {"A": a, "B": a}).tolist() == [(-1.0) ** (MAX_FORMULA_CHARS - 1),
                                                                       2 * (-1.0) ** (MAX_FORMULA_CHARS - 1)]


def test_formula_arithmetic_still_follows_precedence():
    tree = _compile("(A + 2) * B - A / B", 2)
    out = _evaluate(tree, {"A": np.array([1.0, 4.0]), "B": np.array([2.0, 0.0])})
    assert out[0] == pytest.approx((1 + 2) * 2 - 1 / 2)
    assert np.isnan(out[1])                   # division by 0 is n/a, not inf


@pytest.mark.parametrize("formula,needle", [("A**B", "only + - * /"), ("C/A", "series are A, B"),
                                            ("A +", "cannot read formula"), ("A/" + "9" * 450, "too large"),
                                            ("A*1e999", "too large")])
def test_other_bad_formulas_keep_their_messages(formula, needle):
    with pytest.raises(SpecError, match=re.escape(needle)):
        TrendsSpec.parse({"series": SERIES, "formula": formula})
