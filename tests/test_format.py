"""The one number formatter (reports/format.py): its documented examples, and percent vs percentage points."""
from __future__ import annotations

import doctest
import math

import pytest

from yunying.model import durations
from yunying.reports import format as fmt


@pytest.mark.parametrize("module", [fmt, durations])
def test_documented_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_percent_and_percentage_points_differ():
    before, after = 0.10, 0.112
    assert fmt.points(after - before) == "+1.2 pp"            # a difference of two rates
    assert fmt.change(after / before - 1) == "▲ +12.0%"       # a relative change
    assert fmt.percent(after) == "11.2%"                      # a rate


@pytest.mark.parametrize("f", [fmt.percent, fmt.change, fmt.points, fmt.money, fmt.count, fmt.number, fmt.cell])
def test_missing_is_na(f):
    assert f(None) == "n/a"
    if f is not fmt.cell:
        assert f(math.nan) == "n/a" and f(math.inf) == "n/a"


def test_table_cells_as_before():
    # the rules the CLI tables used (cli/common._fmt_cell) before they moved here
    assert [fmt.cell(v) for v in (0.5, 0.00012345, 999.999, 1000.0, -2.5, 7, "x", (0.5, 2))] == \
        ["0.5", "0.0001234", "1,000.00", "1,000.00", "-2.50", "7", "x", "[0.5, 2]"]
