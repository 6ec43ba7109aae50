"""The one duration parser (model/durations.py), against hand-worked values and the forms the three
parsers it replaced accepted (funnel windows, path gaps, interval windows, experiment metric windows)."""
from __future__ import annotations

import pytest

from yunying.model.durations import format_duration, parse_duration, window_days


@pytest.mark.parametrize("text,seconds", [("30m", 1800), ("14d", 14 * 86400), ("2w", 14 * 86400), ("90s", 90),
                                          ("6h", 21600), (" 1.5 hours ", 5400), ("3 days", 3 * 86400), (45, 45),
                                          ("10", 10), ("2 mins", 120), ("1 week", 7 * 86400)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text,needle", [("soon", "cannot read duration"), ("5y", "cannot read duration"),
                                         ("0m", "must be positive"), (-3, "must be positive")])
def test_bad_durations(text, needle):
    with pytest.raises(ValueError, match=needle):
        parse_duration(text)


@pytest.mark.parametrize("text,days", [("7", 7.0), ("7d", 7.0), ("12h", 0.5), ("2w", 14.0), ("1.5d", 1.5),
                                       ("purchase", None), ("30m", None), ("90s", None)])
def test_window_days(text, days):
    assert window_days(text) == days


@pytest.mark.parametrize("seconds,label", [(86400 * 14, "14d"), (90, "90s"), (3600, "1h"), (5400, "90m"), (0, "0s")])
def test_format_duration_round_trips(seconds, label):
    assert format_duration(seconds) == label
    if seconds:
        assert parse_duration(label) == seconds
