"""Shared by the customer-value tests: the CDNOW 1/10 sample as purchase events in a workspace."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from util import shared_file

CAL_END, AS_OF = "1997-09-30", "1998-06-30"


def cdnow_transactions() -> pd.DataFrame:
    """customer_id, sample id, date (YYYYMMDD), number_of_cds, dollar_value — one row per order line."""
    return pd.read_csv(shared_file("datasets/CDNOW_sample.txt"), sep=r"\s+", header=None,
                       names=["customer", "sid", "date", "cds", "value"], dtype={"customer": str, "sid": str, "date": str})


def cdnow_events_csv(path: Path) -> Path:
    """The sample as purchase events. Dates are converted to ISO here (YYYYMMDD may be read as epoch seconds
    until issue 19 lands), and every row gets its own event id: 19 order lines are identical in every field,
    and they are real purchases."""
    d = cdnow_transactions()
    ev = pd.DataFrame({"user_id": d["sid"], "event": "purchase",
                       "timestamp": pd.to_datetime(d["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                       "revenue": d["value"], "event_uuid": [f"cdnow-{i}" for i in range(len(d))]})
    ev.to_csv(path, index=False)
    return path
