"""The language of a help screen: --lang, else YUNYING_LANG, else the workspace's ``lang`` (-w DIR or the current
folder), else the system locale (LC_ALL, LC_MESSAGES, LANG), else English; English help does not read help.json."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from util import cli
from yunying.cli.common import _Lang
from yunying.cli.help_i18n import help_language

LOCALE_VARS = ("LC_ALL", "LC_MESSAGES", "LANG", "YUNYING_LANG")


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No language said anywhere: no locale, no YUNYING_LANG, no --lang, a folder without a workspace."""
    for var in LOCALE_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(_Lang, "flag", None)
    return monkeypatch


def workspace(folder: Path, lang: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "yunying.toml").write_text(f"[workspace]\nname = \"w\"\nlang = \"{lang}\"\n", encoding="utf-8")
    return folder


@pytest.mark.parametrize("env, expected", [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh-Hans"), ({"LANG": "zh_SG.UTF-8"}, "zh-Hans"), ({"LANG": "zh_TW.UTF-8"}, "zh-Hant"),
    ({"LANG": "zh_HK.Big5-HKSCS"}, "zh-Hant"), ({"LANG": "zh_MO"}, "zh-Hant"), ({"LANG": "zh_TW.UTF-8@stroke"}, "zh-Hant"),
    ({"LANG": "C.UTF-8"}, "en"), ({"LANG": "POSIX"}, "en"), ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LANG": "zh_CN.UTF-8", "LC_ALL": "en_US.UTF-8"}, "en"),            # LC_ALL first, as POSIX reads them
    ({"LANG": "en_US.UTF-8", "LC_MESSAGES": "zh_TW.UTF-8"}, "zh-Hant"),  # then LC_MESSAGES
    ({"LANG": "zh_CN.UTF-8", "YUNYING_LANG": "zh-Hant"}, "zh-Hant"),     # YUNYING_LANG before the locale
    ({"LANG": "zh_TW.UTF-8", "YUNYING_LANG": "en"}, "en"),
])
def test_environment(bare, env, expected):
    for var, value in env.items():
        bare.setenv(var, value)
    assert help_language([]) == expected


def test_workspace_setting_and_lang_flag(bare, tmp_path):
    bare.setenv("LANG", "zh_CN.UTF-8")
    workspace(tmp_path, "zh-Hant")
    assert help_language([]) == "zh-Hant"                                   # the current folder's workspace
    other = workspace(tmp_path / "other", "en")
    assert help_language(["funnel", "-w", str(other)]) == "en"              # the workspace the line names
    assert help_language(["funnel", f"--workspace={other}"]) == "en"
    bare.setenv("YUNYING_LANG", "zh-Hans")
    assert help_language(["funnel", "-w", str(other)]) == "zh-Hans"         # YUNYING_LANG before the workspace
    bare.setattr(_Lang, "flag", "zh-Hant")
    assert help_language([]) == "zh-Hant"                                   # --lang before everything


def test_broken_workspace_settings_do_not_break_help(bare, tmp_path):
    (tmp_path / "yunying.toml").write_text("lang = [unclosed", encoding="utf-8")
    bare.setenv("LANG", "zh_TW.UTF-8")
    assert help_language([]) == "zh-Hant"


def test_through_the_command_line(bare, capsys, tmp_path):
    code, out, _ = cli(capsys, bare, "funnel", "--help", "--lang", "zh-Hant")
    assert code == 0 and "漏斗分析：用戶在轉換期間內依序經過步驟" in out and "選項" in out
    code, out, _ = cli(capsys, bare, "--lang", "zh-Hans", "segments", "--help")
    assert code == 0 and "用户分群" in out and "命令" in out
    code, out, _ = cli(capsys, bare, "init", str(tmp_path / "ws"), "--lang", "zh-Hant")
    assert code == 0
    bare.setattr(_Lang, "flag", None)
    code, out, _ = cli(capsys, bare, "retention", "-w", str(tmp_path / "ws"), "--help")
    assert code == 0 and "留存分析：在某個期間開始的用戶中" in out
    code, out, _ = cli(capsys, bare, "retention", "--help")
    assert code == 0 and "Cohort retention" in out and "Usage:" in out


def run(code: str, **env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in LOCALE_VARS}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**base, **env},
                         cwd=Path(__file__).parent, timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


HELP = ("import sys; sys.argv = ['yunying', '--help']\nfrom yunying.cli import main\ntry:\n    main()\n"
        "except SystemExit:\n    pass\nfrom yunying.reports.i18n import on_demand\nprint('CATALOGUE', on_demand.cache_info().currsize)")


def test_locale_in_a_fresh_process_and_english_reads_no_help_catalogue():
    out = run(HELP, LANG="zh_TW.UTF-8")
    assert "用法：yunying" in out and "指令" in out and "CATALOGUE 1" in out
    out = run(HELP, LANG="en_US.UTF-8")
    assert "Usage: yunying" in out and "CATALOGUE 0" in out
