"""The campaign commands speak the workspace's language when no --lang is given (like every other command)."""
from __future__ import annotations

from tests.util import cli


def test_campaign_list_follows_the_workspace_language_and_lang_overrides(tmp_path, capsys, monkeypatch):
    from yunying.reports.i18n import label

    ws = tmp_path / "ws"
    assert cli(capsys, monkeypatch, "init", str(ws), "--lang", "zh-Hans")[0] == 0
    code, out, err = cli(capsys, monkeypatch, "campaign", "list", "-w", str(ws))
    assert code == 0, err
    assert label("camp_none", "zh-Hans") in out.replace("\n", "")
    code, out, err = cli(capsys, monkeypatch, "campaign", "list", "-w", str(ws), "--lang", "zh-Hant")
    assert code == 0, err
    assert label("camp_none", "zh-Hant") in out.replace("\n", "")
    code, out, err = cli(capsys, monkeypatch, "campaign", "list", "-w", str(ws), "--lang", "en")
    assert label("camp_none", "en") in out.replace("\n", "")
