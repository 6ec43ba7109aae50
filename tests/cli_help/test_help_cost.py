"""A help screen in Chinese costs what the English one does (issue 13: `yunying --help --lang zh-Hans` took 0.34-0.37 s
against 0.28-0.30 s): ``--lang`` once made the CLI build the whole command tree (every command's options, ≈ 0.1 s)
only to see whether the command named keeps its own ``--lang``, before Typer built the tree again to run. Counted
here as the commands Typer builds — the same with and without ``--lang`` — never as seconds; and the choice it was
built for (a command with its own ``--lang`` keeps it, any other loses it) is unchanged."""
from __future__ import annotations

import pytest
import typer.main

from util import cli
from yunying.cli.common import _Lang, _take_lang


@pytest.fixture
def built(monkeypatch):
    """The commands Typer builds (get_command_from_info), as their functions' names, in order."""
    names: list[str] = []
    original = typer.main.get_command_from_info

    def counting(command_info, **kwargs):
        names.append(f"{command_info.callback.__module__}.{command_info.callback.__qualname__}")
        return original(command_info, **kwargs)

    monkeypatch.setattr(typer.main, "get_command_from_info", counting)
    monkeypatch.setattr(_Lang, "flag", None)
    return names


@pytest.mark.parametrize("line", [["--help"], ["funnel", "--help"], ["segments", "create", "--help"],
                                  ["rfm", "--help"], ["campaign", "plan", "--help"]])
@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_lang_builds_no_more_commands(capsys, monkeypatch, built, line, lang):
    """The root's help builds each command once, with or without --lang; a command's help builds that command's
    own tree (at most twice: once to see whether it keeps --lang), never the other commands'."""
    code, english, _ = cli(capsys, monkeypatch, *line)
    plain = list(built)
    assert code == 0 and len(plain) == len(set(plain))
    built.clear()
    code, out, _ = cli(capsys, monkeypatch, *line, "--lang", lang)
    assert code == 0 and set(built) == set(plain), (line, lang, sorted(set(built) - set(plain))[:5])
    assert len(built) == len(plain) if line == ["--help"] else len(built) <= 2 * len(plain)
    assert (out == english) == (lang == "en")                      # --lang en: the same screen as no --lang


def test_a_command_with_its_own_lang_keeps_it():
    try:
        assert _take_lang(["funnel", "--steps", "a,b", "--lang", "zh-Hans"]) == ["funnel", "--steps", "a,b"]
        assert _take_lang(["rfm", "--lang", "zh-Hant"]) == ["rfm", "--lang", "zh-Hant"]      # rfm's own --lang
        assert _take_lang(["campaign", "plan", "x", "--lang=en"]) == ["campaign", "plan", "x", "--lang=en"]
        assert _take_lang(["--debug", "rfm", "--lang", "en"]) == ["--debug", "rfm", "--lang", "en"]  # option first
        assert _take_lang(["segments", "list", "--lang", "zh-Hans"]) == ["segments", "list"]
        assert _take_lang(["--help", "--lang", "zh-Hans"]) == ["--help"] and _Lang.flag == "zh-Hans"
        assert _take_lang(["nosuch", "--lang", "en"]) == ["nosuch"]
    finally:
        _Lang.flag = None
