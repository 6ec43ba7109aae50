"""``--help`` in the user's language: just before Typer renders a help screen, the texts of the command being
shown (its description, its options' and arguments' help, type names, its sub-commands' one-liners) and
Typer's own words (Usage, Options, Commands, [default: …]) are replaced from the label catalogue,
``reports/labels/help.json`` — the cli/<command>.py modules keep their English texts and need no change.

Keys: ``help.<command path>`` for a command (``help.yunying`` the root, ``help.segments.create``), and
``help.<command path>.<parameter name>`` for an option or argument, else ``help.*.<parameter name>`` for an
option that many commands share with the same text. A translation is used only while its English equals the
code's text (tests/cli_help checks that every one does, so the two cannot drift); a parameter without help in
the code takes all three texts, English included, from the catalogue.

The language of a help screen: ``--lang``, else the ``YUNYING_LANG`` environment variable, else the ``lang``
setting of the workspace (``-w DIR`` on the line, or ``yunying.toml`` in the current folder), else the system
locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: zh_TW/zh_HK/zh_MO → 繁體, other zh → 简体), else English.
English help reads nothing more: help.json is read (once, ``reports.i18n.on_demand``) only for a screen in
Chinese, or for the few parameters whose help the code does not give.
"""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path

from typer.core import TyperArgument, TyperCommand, TyperGroup

# Typer's own words in typer.rich_utils (module-level strings it reads while rendering) -> catalogue keys
RICH_WORDS = {"OPTIONS_PANEL_TITLE": "help.ui.options", "ARGUMENTS_PANEL_TITLE": "help.ui.arguments",
              "COMMANDS_PANEL_TITLE": "help.ui.commands", "DEFAULT_STRING": "help.ui.default",
              "REQUIRED_LONG_STRING": "help.ui.required", "DEPRECATED_STRING": "help.ui.deprecated",
              "ENVVAR_STRING": "help.ui.envvar"}


def _tag_lang(tag: str | None) -> str | None:
    """A language tag or locale name (zh_CN.UTF-8, zh-Hant, en) → one of LANGS; None when it says nothing."""
    if not tag or not tag.strip() or tag.strip().upper() in ("C", "POSIX") or tag.startswith("C."):
        return None
    if not tag.strip().lower().startswith("zh"):
        return "en"  # English help without reading the catalogue
    from ..reports.i18n import normalize_lang

    return normalize_lang(tag.split(".")[0].split("@")[0])


def _workspace_lang(argv: list[str]) -> str | None:
    """The ``lang`` of the workspace the command line names (``-w``/``--workspace``), else of the current folder."""
    folder = "."
    for i, a in enumerate(argv):
        if a in ("-w", "--workspace") and i + 1 < len(argv):
            folder = argv[i + 1]
        elif a.startswith("--workspace="):
            folder = a.split("=", 1)[1]
    toml = Path(folder) / "yunying.toml"
    if not toml.is_file():
        return None
    try:
        import tomllib

        data = tomllib.loads(toml.read_text(encoding="utf-8"))
        section = data.get("workspace")
        lang = data.get("lang") or (section.get("lang") if isinstance(section, dict) else None)  # as config.py reads it
    except (OSError, ValueError):
        return None  # a broken settings file is reported by the command, not by its help
    return lang if isinstance(lang, str) else None


def help_language(argv: list[str] | None = None) -> str:
    """The language of a help screen (the order is in the module's docstring)."""
    from .common import _Lang

    argv = sys.argv[1:] if argv is None else argv
    locale = next((os.environ[v] for v in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(v)), None)
    for choice in (_Lang.flag, os.environ.get("YUNYING_LANG"), _workspace_lang(argv), locale):
        lang = _tag_lang(choice)
        if lang:
            return lang
    return "en"


def key_for(path: tuple[str, ...], param=None) -> list[str]:
    """The catalogue keys that may hold a command's (or one of its parameters') help, most specific first."""
    if param is None:
        return ["help." + ".".join(path)]
    return [f"help.{'.'.join(path)}.{param.name}", f"help.*.{param.name}"]


def lookup(keys: list[str], english: str | None, lang: str) -> str | None:
    """The text in ``lang`` of the first key whose English is ``english`` (any key when the code has no text);
    None when the catalogue has none, so the code's English stays. English with a text reads no catalogue."""
    if lang == "en" and english:
        return english
    from ..reports.i18n import LANGS, on_demand

    catalogue = on_demand("help.json")
    for key in keys:
        values = catalogue.get(key)
        if values and (not english or values[0] == english):
            return values[LANGS.index(lang)] or values[0]
    return None


def _path(ctx) -> tuple[str, ...]:
    names = []
    while ctx is not None:
        names.append(ctx.info_name or ctx.command.name or "")
        ctx = ctx.parent
    names.reverse()
    return ("yunying", *names[1:]) if len(names) == 1 else tuple(names[1:])


class _Swap:
    """Attributes set for one help screen and put back afterwards (the click tree is reused by tests)."""

    def __init__(self):
        self.saved: list = []

    def set(self, obj, name: str, value) -> None:
        if value is None:
            return
        self.saved.append((obj, name, name in vars(obj), getattr(obj, name)))  # own attribute, or the class's
        setattr(obj, name, value)

    def undo(self) -> None:
        for obj, name, own, old in reversed(self.saved):
            if own:
                setattr(obj, name, old)
            else:
                delattr(obj, name)


def _translate_params(swap: _Swap, command, ctx, path, lang: str, text) -> None:
    for param in command.get_params(ctx):
        swap.set(param, "help", text(key_for(path, param), getattr(param, "help", None)))
        if lang == "en":
            continue
        if isinstance(param, TyperArgument):
            swap.set(param, "metavar", lookup([f"help.arg.{param.name}"], None, lang))
        shown = param.display_type_rich(ctx)
        inner = shown[1:-1] if shown and shown.startswith("<") else None
        word = lookup([f"help.type.{inner}"], inner, lang) if inner else None
        if word:
            swap.set(param, "display_type_rich", lambda ctx, word=word: f"<{word}>")


def _folding(make):
    """Typer's help text maker with Chinese lines broken anywhere (Rich breaks lines only at spaces and would
    cut a long run of Chinese characters with an ellipsis)."""
    def make_text(**kwargs):
        text = make(**kwargs)
        if hasattr(text, "overflow"):
            text.overflow = "fold"
        return text

    return make_text


def _usage(command, ctx, prefix: str) -> str:
    formatter = ctx.make_formatter()
    formatter.write_usage(ctx.command_path, " ".join(command.collect_usage_pieces(ctx)), prefix=prefix)
    return formatter.getvalue().rstrip("\n")


@contextmanager
def translated(command, ctx, lang: str):
    """The help texts of ``command`` (shown with ``ctx``) in ``lang`` while the block runs."""
    from rich.markup import escape
    from typer import rich_utils

    swap, path = _Swap(), _path(ctx)
    markup = getattr(command, "rich_markup_mode", None) == "rich"

    def text(keys, english):  # Typer reads help as Rich markup: a text's own [brackets] must stay visible
        found = lookup(keys, english, lang)
        return escape(found) if found and markup else found

    def ui(key, english):
        return lookup([key], english, lang) or english

    try:
        swap.set(command, "help", text(key_for(path), command.help))
        _translate_params(swap, command, ctx, path, lang, text)
        for name, sub in (getattr(command, "commands", None) or {}).items():
            one = text(key_for((*path, name) if path != ("yunying",) else (name,)), sub.help)
            swap.set(sub, "help", one)
            swap.set(sub, "short_help", one if sub.short_help else None)
        if lang != "en":
            swap.set(rich_utils, "_make_rich_text", _folding(rich_utils._make_rich_text))
            for attr, key in RICH_WORDS.items():
                swap.set(rich_utils, attr, ui(key, getattr(rich_utils, attr)))
            swap.set(command, "options_metavar", ui("help.ui.options_metavar", command.options_metavar))
            if isinstance(command, TyperGroup):
                swap.set(command, "subcommand_metavar", ui("help.ui.subcommand_metavar", command.subcommand_metavar))
            prefix = ui("help.ui.usage", "Usage: ")
            swap.set(command, "get_usage", lambda ctx: _usage(command, ctx, prefix))
        yield
    finally:
        swap.undo()


def register(app) -> None:
    """Listed in cli/__init__.py's COMMAND_MODULES like a command group, but adds no command: it installs the hook."""
    install()


def install() -> None:
    """Wrap Typer's help rendering (commands and groups) so that every help screen goes through ``translated``."""
    for cls in (TyperCommand, TyperGroup):
        original = cls.format_help
        if getattr(original, "_yunying_help", False):
            continue

        def format_help(self, ctx, formatter, _original=original):
            with translated(self, ctx, help_language()):
                return _original(self, ctx, formatter)

        format_help._yunying_help = True
        cls.format_help = format_help
