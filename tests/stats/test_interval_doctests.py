"""The documented examples of the interval modules run (issue 13: intervals that agree with their verdicts)."""
from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["yunying.stats.agreeing", "yunying.stats.multiple", "yunying.reports.exp_intervals",
                                  "yunying.analyses.experiment.result"])
def test_documented_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
