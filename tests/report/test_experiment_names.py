"""`yunying experiment` titles a metric it named itself in words (``purchase_conversion_14d`` → "purchase conversion
within 14 days"), read from the experiment's spec: nothing carried from one command to the next in a process,
the user's own names (a table's column) as they are, a saved JSON result printed later in words too."""
from __future__ import annotations

import io
import json

from rich.console import Console

from test_untranslated import cli

WORDS = "purchase conversion within 14 days"


def _events(tmp_path):
    lines = ["user_id,event,timestamp,variant"]
    for i in range(200):
        v = "treatment" if i % 2 else "control"
        lines.append(f"u{i},$exposure,2026-01-0{1 + i % 5}T10:00:00Z,{v}")
        if i % (3 if v == "treatment" else 5) == 0:
            lines.append(f"u{i},purchase,2026-01-0{2 + i % 5}T10:00:00Z,")
    (tmp_path / "events.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "events.csv"


def _table(tmp_path):
    lines = ["user,variant,purchase_conversion_14d"] + [
        f"u{i},{'treatment' if i % 2 else 'control'},{int(i % 3 == 0)}" for i in range(200)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return tmp_path / "t.csv"


def test_a_name_the_command_gave_is_said_in_words_and_nothing_leaks(tmp_path):
    ws_args = ["experiment", "--events", str(_events(tmp_path)), "--exposure-event", "$exposure",
               "--control", "control", "--conversion", "purchase:14d"]
    out = cli([*ws_args, "--html", str(tmp_path / "e.html")], "en")
    assert WORDS in out and "purchase_conversion_14d" not in out
    assert WORDS in (tmp_path / "e.html").read_text(encoding="utf-8")
    # next, in the same process: a table whose column the user called purchase_conversion_14d — their name
    out = cli(["experiment", "--table", str(_table(tmp_path)), "--unit", "user", "--metric",
               "purchase_conversion_14d"], "en")
    assert "purchase_conversion_14d" in out and WORDS not in out
    # a JSON result saved by one command and printed by another: the words come from the spec it carries
    from yunying.cli.experiment import print_experiment

    data = json.loads(cli([*ws_args, "--format", "json"], "en"))
    buf = io.StringIO()
    print_experiment(data, Console(file=buf, width=300))
    assert WORDS in buf.getvalue()


def test_a_name_the_user_gave_stays_theirs(tmp_path):
    out = cli(["experiment", "--events", str(_events(tmp_path)), "--exposure-event", "$exposure", "--control",
               "control", "--conversion", "buy=purchase:14d"], "en")
    assert "buy" in out and WORDS not in out
