"""An option that cannot apply is an error, never silently ignored (issue 19, item 5 and its siblings)."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import yunying
from yunying.cli import app
from yunying.errors import SpecError

from analytics_helpers import make_ws

runner = CliRunner()

ROWS = [
    ("u1", "signup", "2024-01-01 09:00", {"channel": "feed"}), ("u1", "purchase", "2024-01-02 10:00", {"revenue": 30}),
    ("u2", "signup", "2024-01-01 12:00", {"channel": "search"}), ("u2", "app_open", "2024-01-02 12:00"),
]


@pytest.fixture(scope="module")
def wsdir(tmp_path_factory):
    import pyarrow.parquet as pq

    from analytics_helpers import events_table

    d = tmp_path_factory.mktemp("conflicts")
    pq.write_table(events_table(ROWS), d / "events.parquet")
    ws = yunying.Workspace.init(d / "ws")
    ws.import_events([str(d / "events.parquet")])
    ws.close()
    return d / "ws"


def refused(wsdir, *args, needle):
    r = runner.invoke(app, [*args, "--workspace", str(wsdir)])
    assert isinstance(r.exception, SpecError), (args, r.output, r.exception)
    assert needle in str(r.exception), str(r.exception)


@pytest.mark.parametrize("args,needle", [
    (["trends", "--revenue", "--by", "channel"], "user.$first_channel"),  # the reported case: purchases carry no channel
    (["trends", "--revenue", "--event", "signup"], "--event"),
    (["trends", "--new-users", "--measure", "users"], "--measure"),
    (["trends", "--new-users", "--by", "channel", "--top", "3"], "--top"),
    (["trends", "--revenue", "--save-spec", "x.json"], "--save-spec"),
    (["trends", "--event", "signup", "--top", "3"], "--top"),                    # --top needs --by
    (["trends", "--event", "signup", "--property", "revenue"], "property"),       # count takes no property
    (["funnel", "--steps", "signup,purchase", "--attribution", "last"], "--attribution"),
    (["funnel", "--steps", "signup,purchase", "--top", "3"], "--top"),
    (["retention", "--top", "3"], "--top"),
    (["stickiness", "--per-user", "--period", "month"], "--period"),
    (["stickiness", "--per-user", "--window", "3d"], "--window"),
    (["stickiness", "--between", "signup,purchase", "--event", "signup"], "--event"),
    (["stickiness", "--between", "signup,purchase", "--period", "month"], "--period"),
    (["stickiness", "--first-only"], "--first-only"),
    (["stickiness", "--window", "3d"], "--window"),
    (["trends", "--event", "signup", "--measure", "count", "--measure", "users"], "--measure"),  # one series
    (["trends", "--event", "purchase", "--measure", "sum", "--property", "revenue", "--property", "x"], "--property"),
    (["funnel", "--steps", "signup,purchase", "--dropped-after", "1", "--interval", "week"], "--interval"),
    (["funnel", "--steps", "signup,purchase", "--steps-in-range"], "--steps-in-range"),      # no --from/--to
    (["retention", "--brackets", "1,2-7", "--periods", "30"], "--periods"),                    # brackets set them
])
def test_an_option_that_cannot_apply_is_an_error(wsdir, args, needle):
    refused(wsdir, *args, needle=needle)


def test_spec_file_with_other_analysis_options_is_an_error(wsdir, tmp_path):
    spec = tmp_path / "t.json"
    r = runner.invoke(app, ["trends", "--workspace", str(wsdir), "--event", "signup", "--save-spec", str(spec),
                            "--format", "json"])
    assert r.exit_code == 0, r.output
    refused(wsdir, "trends", "--spec", str(spec), "--interval", "week", needle="--interval")
    refused(wsdir, "funnel", "--spec", str(spec), "--window", "1d", needle="--window")
    r = runner.invoke(app, ["trends", "--workspace", str(wsdir), "--spec", str(spec), "--format", "json"])
    assert r.exit_code == 0 and json.loads(r.stdout)["series"][0]["value"] == 2


def test_a_breakdown_property_missing_on_the_events_is_an_error(wsdir):
    # channel is set on signups only: purchases by channel would all be "(none)"
    refused(wsdir, "trends", "--event", "purchase", "--by", "channel", needle="'purchase'")
    with pytest.raises(SpecError, match=r"channel.*not set on any 'purchase' event"):
        ws = yunying.open(wsdir, read_only=True)
        try:
            yunying.trends(ws, event="purchase", by="channel")
        finally:
            ws.close()


def test_a_breakdown_present_on_some_events_keeps_none(wsdir):
    r = runner.invoke(app, ["trends", "--workspace", str(wsdir), "--active", "--by", "channel", "--format", "json"])
    assert r.exit_code == 0, r.output
    values = {s["breakdown"] for s in json.loads(r.stdout)["series"]}
    assert values == {"feed", "search", "(none)"}


def test_the_options_that_apply_still_work(wsdir):
    for args in (["trends", "--new-users", "--by", "channel"], ["trends", "--revenue", "--interval", "week"],
                 ["trends", "--event", "signup", "--by", "channel", "--top", "1"],
                 ["trends", "--event", "purchase", "--measure", "sum", "--property", "revenue"],
                 ["funnel", "--steps", "signup,purchase", "--by", "channel", "--attribution", "last", "--top", "1"],
                 ["stickiness", "--between", "signup,purchase", "--window", "3d", "--first-only"],
                 ["stickiness", "--per-user", "--event", "signup"],
                 ["funnel", "--steps", "signup,purchase", "--steps-in-range", "--to", "2024-01-05"],
                 ["retention", "--brackets", "1,2-7"]):
        r = runner.invoke(app, [*args, "--workspace", str(wsdir), "--format", "json"])
        assert r.exit_code == 0, (args, r.output, r.exception)
