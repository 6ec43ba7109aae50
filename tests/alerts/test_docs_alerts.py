"""docs/alerts.md stays true: the worked anomaly example, the stated false-alarm rates, the sample message."""
from __future__ import annotations

import re

from test_anomaly import worked_series
from test_channels import ALERT

from util import ROOT
from yunying.reports.alerts.messages import render
from yunying.stats import anomaly as A

DOC = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")


def test_worked_example_numbers():
    r = A.detect(worked_series(), weeks=4, min_history=4)
    scale = (r.upper[-1] - r.expected[-1]) / 3.5
    assert f"**{r.expected[-1]:.1f}**" in DOC
    assert f"**{scale:.4f}**" in DOC
    assert f"**{r.score[-1]:.3f}**".replace("-", "−") in DOC
    assert f"{r.lower[-1]:.2f} … {r.upper[-1]:.2f}" in DOC
    z98 = A.detect(worked_series(98.0), weeks=4, min_history=4).score[-1]
    assert f"z = {z98:.2f}".replace("-", "−") in DOC


def test_stated_false_alarm_rates_are_the_tested_ones():
    # tests/alerts/test_anomaly.py measures the rate and bounds it around what this table states
    assert re.search(r"\| normal, σ = 5 % of the level \| 0\.27 %", DOC)
    assert re.search(r"\| Poisson counts \(mean 100–130\) \| 0\.28 %", DOC)
    assert "sensitivity = 3.5" in DOC and "default 3.5" in DOC


def test_sample_message_is_what_is_sent():
    block = DOC.split("Messages (")[1].split("```text\n")[1].split("```")[0]
    msg = render(ALERT, "en")
    assert block.rstrip("\n") == msg["title"] + "\n" + msg["text"]
