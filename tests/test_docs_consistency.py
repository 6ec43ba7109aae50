"""Docs stay true: every CLI command is in the README, every setting in docs/data-model.md."""
from __future__ import annotations

import typer

from util import ROOT


def _commands():
    from yunying.cli import app

    click_app = typer.main.get_command(app)
    return sorted(click_app.commands)


def test_every_command_is_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [c for c in _commands() if f"`yunying {c}" not in readme and f"`{c}`" not in readme
               and f", `{c}" not in readme and f"`{c}," not in readme and f" {c}`" not in readme]
    assert not missing, f"commands missing from README's command table: {missing}"


def test_every_setting_is_documented():
    from yunying.config import EventSettings, SparkSettings, WorkspaceConfig

    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for model in (WorkspaceConfig, EventSettings, SparkSettings):
        for name in model.model_fields:
            if name in ("events", "spark", "columns", "metrics", "metric_trees", "holidays", "channels", "alerts"):
                assert f"[{name}]" in doc, name
            else:
                assert f"{name} =" in doc or f"# {name} =" in doc, f"setting {name!r} is not in docs/data-model.md"


def test_every_recognised_column_name_is_documented():
    from yunying.model.schema import EVENT_COLUMNS, SPEND_COLUMNS

    doc = (ROOT / "docs" / "data-model.md").read_text(encoding="utf-8")
    for col in (*EVENT_COLUMNS, *SPEND_COLUMNS):
        assert f"`{col.name}`" in doc, col.name
