"""Real data: the UCI Online Retail file (../shared/datasets, read in place), UK, April vs March 2011.

The dataset README quotes published figures (B. Karaman 2019, "Data Driven Growth with Python"): monthly
active customers 923 → 817 and "order count" (their name for the sum of Quantity) 279,843 → 257,666 (−8 %).
Here they must appear as factor values of ``yunying explain revenue``, and the factors of each tree must
multiply back to each month's revenue, which is recomputed independently with DuckDB on the file.
"""
from __future__ import annotations

import json
import subprocess
import sys

import duckdb
import pytest

from util import add_config, shared_file

MONTHS = {"previous": ("2011-03-01", "2011-03-31"), "current": ("2011-04-01", "2011-04-30")}
TOML = """
[metrics]
customers = "users(purchase where event.guest is not set)"
units = "sum(purchase.quantity)"
units_per_customer = "units / customers"
unit_price = "revenue / units"

[metric_trees]
revenue = "customers * units_per_customer * unit_price"
"""


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    src = shared_file("datasets/online_retail.parquet")
    tmp = tmp_path_factory.mktemp("retail")
    events = tmp / "uk_events.parquet"
    con = duckdb.connect()
    # one purchase event per invoice line; lines without a customer id are guests (their own distinct id)
    con.execute(f"""COPY (SELECT
        CASE WHEN CustomerID IS NULL THEN NULL ELSE CAST(CAST(CustomerID AS BIGINT) AS VARCHAR) END AS user_id,
        CASE WHEN CustomerID IS NULL THEN 'guest-' || InvoiceNo END AS distinct_id,
        CASE WHEN CustomerID IS NULL THEN TRUE END AS guest,
        'purchase' AS event, InvoiceDate AS timestamp, Quantity * UnitPrice AS revenue, Quantity AS quantity
        FROM read_parquet('{src}') WHERE Country = 'United Kingdom'
        AND InvoiceDate >= '2011-03-01' AND InvoiceDate < '2011-05-01') TO '{events}' (FORMAT parquet)""")
    truth = dict(con.execute(f"""SELECT substr(InvoiceDate, 1, 7), sum(Quantity * UnitPrice)
        FROM read_parquet('{src}') WHERE Country = 'United Kingdom' GROUP BY 1""").fetchall())
    import yunying

    yunying.Workspace.init(tmp / "ws").close()
    add_config(tmp / "ws", TOML)
    ws = yunying.open(tmp / "ws")
    ws.import_events([str(events)])
    ws.close()
    return tmp / "ws", truth


def _explain(ws, *extra):
    (a, b), (c, d) = MONTHS["current"], MONTHS["previous"]
    out = subprocess.run([sys.executable, "-m", "yunying", "explain", "revenue", "--from", a, "--to", b,
                          "--vs-from", c, "--vs-to", d, *extra, "-w", str(ws), "--format", "json"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_published_statements_appear_as_factors(retail):
    ws, truth = retail
    res = _explain(ws)
    f = {x["name"]: x for x in res["factors"]}
    assert (f["customers"]["previous"], f["customers"]["current"]) == (923, 817)   # −11.5 %
    assert f["customers"]["change_pct"] == pytest.approx(817 / 923 - 1)
    units = _explain(ws, "--factors", "units,unit_price")
    u = {x["name"]: x for x in units["factors"]}
    assert (u["units"]["previous"], u["units"]["current"]) == (279_843, 257_666)
    assert round(u["units"]["change_pct"] * 100) == -8                              # "order count −8 %"
    # the factors multiply back to each month's revenue (recomputed on the file)
    for r in (res, units):
        assert r["previous"] == pytest.approx(truth["2011-03"], rel=1e-12)
        assert r["current"] == pytest.approx(truth["2011-04"], rel=1e-12)
        for when in ("previous", "current"):
            prod = 1.0
            for x in r["factors"]:
                prod *= x[when]
            assert prod == pytest.approx(r[when], rel=1e-12)
        assert round(sum(x["contribution"] for x in r["factors"]), 2) == round(r["change"], 2)
        assert r["method"] == "lmdi"
    # fewer customers explain a drop: the customers factor has a negative contribution
    assert f["customers"]["contribution"] < 0 and res["change"] < 0
