"""The documented examples in the alerts and report modules run."""
from __future__ import annotations

import doctest

import pytest

from yunying.analyses import alerts
from yunying.model import holidays
from yunying.reports import view_periods, weekly
from yunying.reports.weekly import html
from yunying.stats import anomaly


@pytest.mark.parametrize("module", [anomaly, holidays, alerts, weekly, html, view_periods])
def test_documented_examples(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0
