"""Shared CLI plumbing: the app, output formats, workspace resolution, error handling."""
from __future__ import annotations

import csv
import importlib
import importlib.util
import inspect
import io
import json
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ..errors import Text, YunyingError

app = typer.Typer(
    name="yunying",
    help="yunying (运营): operations analytics on your own event and spend data — "
    "acquisition, activation, retention, experiments, campaigns.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Piped output (files, CI logs) is not limited to 80 columns: wide tables stay readable.
console = Console(width=None if sys.stdout.isatty() else 200)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

FORMAT_HELP = "Output format: table (for people), json or csv."
WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="Workspace folder (default: current folder).")
EventsOpt = typer.Option(None, "--events", help="Analyse an events file directly (columns auto-mapped) instead of a workspace.")
FormatOpt = typer.Option("table", "--format", "-f", help=FORMAT_HELP)
EngineOpt = typer.Option(None, "--engine", help="Override the workspace engine (duckdb|spark).")
FromOpt = typer.Option(None, "--from", help="First day (inclusive, workspace time zone).")
ToOpt = typer.Option(None, "--to", help="Last day (inclusive).")
SpecOpt = typer.Option(None, "--spec", help="Run a saved spec: a JSON file (or inline JSON); it cannot be combined with other analysis options.")
SaveOpt = typer.Option(None, "--save-spec", help="Write the spec that ran to this JSON file (to share or re-run).")
# Where and how an analysis runs, not what it computes: these combine with --spec.
TARGET_PARAMS = ("workspace", "events", "engine", "fmt", "spec_file", "save")
# The options the analysis commands share, declared once: parameter name -> (type, option).
SHARED_OPTIONS = {
    "date_from": (Optional[str], FromOpt), "date_to": (Optional[str], ToOpt),
    "spec_file": (Optional[str], SpecOpt), "save": (Optional[Path], SaveOpt),
    "workspace": (Optional[Path], WorkspaceOpt), "events": (Optional[Path], EventsOpt),
    "engine": (Optional[str], EngineOpt), "fmt": (str, FormatOpt),
}


def options_from(table: dict):
    """A decorator giving a command's bare keyword-only parameters named in ``table`` (name -> (type,
    option)) their one declaration — flag, default and help text — so no command repeats the list."""
    def decorate(fn):
        sig = inspect.signature(fn)
        params = []
        for p in sig.parameters.values():
            if p.name in table and p.default is p.empty:
                kind, option = table[p.name]
                p = p.replace(default=option, annotation=kind)
                fn.__annotations__[p.name] = kind
            params.append(p)
        fn.__signature__ = sig.replace(parameters=params)
        return fn
    return decorate


#: ``*, workspace, fmt`` … in a command's signature get the shared declarations of ``SHARED_OPTIONS``.
shared_options = options_from(SHARED_OPTIONS)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show full tracebacks on errors.")):
    """``--debug`` is read by ``run_app`` (before Typer parses anything); declared here for --help."""


def _take_lang(argv: list[str]) -> list[str]:
    """``--lang X`` anywhere on the line sets the table language; a command with its own ``--lang``
    (e.g. ``rfm``, whose class names it translates) keeps it as well. To see which, only the named command's click
    tree is built (the whole tree, every command's options, costs ≈ 0.03–0.1 CPU s, and Typer builds its own to
    run the line: a help screen with ``--lang`` cost that much more than without, issue 13)."""
    for i, a in enumerate(argv):
        if a == "--lang" and i + 1 < len(argv):
            _Lang.flag, rest = argv[i + 1], argv[:i] + argv[i + 2:]
            break
        if a.startswith("--lang="):
            _Lang.flag, rest = a.split("=", 1)[1], argv[:i] + argv[i + 1:]
            break
    else:
        return argv
    from ..reports.i18n import LANGS

    if _Lang.flag not in LANGS and not _Lang.flag.lower().startswith(("en", "zh")):
        raise YunyingError(key="common.lang_must_en_zh", flag=_Lang.flag)
    names = {_name_of(e) for e in (*app.registered_commands, *app.registered_groups)}
    if not any(token in names for token in rest):
        return rest  # no command named: the root's (it has no --lang of its own), no tree to build
    with _only_command(rest):  # the named command's tree only (see above)
        command = typer.main.get_command(app)
    for token in rest:
        if token in (getattr(command, "commands", None) or {}):
            command = command.commands[token]
    own = any("--lang" in p.opts for p in getattr(command, "params", []))
    return argv if own else rest


_SIGNALS_WATCHED = False
_RECEIVED: list[int] = []  # signals the wake-up pipe reported (SIGINT, SIGTERM), in order


def _exit_if_signalled() -> None:
    """After a failed statement: if Ctrl-C or `kill` interrupted it, exit as the signal asks (130 / 143), not as
    an error — the interrupted statement's own exception (DuckDB's "Query interrupted") can reach the error
    handler before Python has run the signal's handler."""
    import signal

    if signal.SIGTERM in _RECEIVED:
        sys.exit(143)
    if signal.SIGINT in _RECEIVED:
        err_console.print(_word("errors.interrupted"))
        sys.exit(130)


def _handle_interrupts() -> None:
    """Ctrl-C (SIGINT) and `kill` (SIGTERM) stop the command even while DuckDB runs a long statement. The main
    thread is then inside DuckDB and runs no Python signal handler until the statement ends; but the signal's
    number is written at once to the wake-up pipe, so a helper thread interrupts the open connections. The
    statement fails, the handler raises (KeyboardInterrupt, or SystemExit(143) for SIGTERM) and the command
    unwinds: its workspace closes and removes its temporary files."""
    import os
    import signal
    import threading

    global _SIGNALS_WATCHED
    if _SIGNALS_WATCHED or threading.current_thread() is not threading.main_thread():
        return  # once per process (tests call run_app many times), and only where signals can be handled
    _SIGNALS_WATCHED = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    r, w = os.pipe()
    os.set_blocking(w, False)
    signal.set_wakeup_fd(w, warn_on_full_buffer=False)  # (`serve`'s event loop takes it over: uvicorn stops itself)

    def watch():
        while got := os.read(r, 64):
            _RECEIVED.extend(got)  # the signals' numbers, one byte each
            workspace = sys.modules.get("yunying.storage.workspace")
            if workspace is not None:
                workspace.interrupt_all()

    threading.Thread(target=watch, name="signal-watch", daemon=True).start()  # process-wide, not a reader


def _error_word() -> str:
    """"Error:" in the language asked for."""
    from ..reports.i18n import label

    lang = _Lang.current()
    return label("error", lang) + label("sep.colon", lang).rstrip()


def _word(key: str) -> str:
    from ..reports.i18n import label

    return label(key, _Lang.current())


def _show_usage_error(exc) -> None:
    """A usage error (an unknown option, a missing or bad value) in the language asked for: click's own English in
    English; else the usage line as it is (its syntax), the hint and the problem from the catalogue."""
    lang = _Lang.current()
    if lang == "en":
        exc.show()
        return
    from ..reports.error_text import say_text

    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        err_console.print(ctx.get_usage(), highlight=False, markup=False)
        command = f"{ctx.command_path} {ctx.help_option_names[0]}" if ctx.help_option_names else ctx.command_path
        err_console.print(say_text(Text("usage.try_help", command=command), lang) + "\n", highlight=False, markup=False)
    try:
        said = say_text(_usage_text(exc), lang)
    except Exception:  # noqa: BLE001 - a click version that words its errors otherwise: its own English
        said = exc.format_message()
    err_console.print(f"[bold red]{_error_word()}[/] ", end="")
    err_console.print(said, highlight=False, markup=False, soft_wrap=True)


def _usage_text(exc) -> Text:
    """What a click usage error says, as a catalogue sentence (click's English message when it is none we know)."""
    import re

    from ..errors import problem

    kind, param = type(exc).__name__, getattr(exc, "param", None)
    name = "/".join(f"'{o}'" for o in param.opts) if param is not None and param.opts else str(getattr(exc, "param_hint", None) or "")
    if kind == "NoSuchOption":
        if exc.possibilities:
            return Text("usage.no_such_option_maybe", name=exc.option_name, names=", ".join(sorted(exc.possibilities)))
        return Text("usage.no_such_option", name=exc.option_name)
    if kind == "MissingParameter":
        return Text("usage.missing", name=name or "")
    if kind == "BadParameter":
        cause = exc.__cause__  # Typer checks values with pydantic: say what it expected
        said = problem(cause.errors()[0]) if hasattr(cause, "errors") and cause.errors() else exc.message
        return Text("usage.bad_value", name=name or "", problem=said)
    text = exc.format_message()
    for key, pattern in (("usage.no_such_command", r"No such command '(?P<name>[^']+)'\."),
                         ("usage.no_such_command_maybe", r"No such command '(?P<name>[^']+)'\. Did you mean (?P<close>.+)\?"),
                         ("usage.extra_arguments", r"Got unexpected extra argument(?:s|\(s\))? \((?P<name>.*)\)"),
                         ("usage.needs_value", r"Option '(?P<name>.+)' requires an argument\.")):
        m = re.fullmatch(pattern, text)
        if m:
            return Text(key, **m.groupdict())
    return Text("pydantic.other", msg=text)


def _say_error(exc: BaseException) -> str:
    """The error's message in the language asked for (``--lang``, else the workspace's; reports/error_text.py)."""
    from ..reports.error_text import say_error

    return say_error(exc, _Lang.current())


def _name_of(entry) -> str:
    """The name of a top-level command (CommandInfo) or group (TyperInfo), read from its declaration (no click
    tree built)."""
    from typer.main import get_command_name

    if hasattr(entry, "typer_instance"):
        return entry.name or entry.typer_instance.info.name
    return entry.name or get_command_name(entry.callback.__name__)


@contextmanager
def _only_command(argv: list[str]):
    """Typer builds the whole command tree (every command's options) before it parses the line: ≈ 0.05 s of each
    start. A line that begins with a top-level command's name gets the tree of that command only (its own help,
    options and errors are the same); any other line (no command, an option first, a name that is none) the
    whole tree, for the list of commands and "did you mean"."""
    name = argv[0] if argv else ""
    commands, groups = app.registered_commands, app.registered_groups
    own = [c for c in commands if _name_of(c) == name]
    own_groups = [g for g in groups if _name_of(g) == name]
    if len(own) + len(own_groups) != 1:
        yield
        return
    app.registered_commands, app.registered_groups = own, own_groups
    try:
        yield
    finally:
        app.registered_commands, app.registered_groups = commands, groups


def run_app() -> None:
    debug = "--debug" in sys.argv
    _handle_interrupts()
    _Lang.flag = _Lang.workspace = None  # each run starts from no language (tests run many in one process)
    try:
        sys.argv[1:] = _take_lang(sys.argv[1:])
        with _only_command(sys.argv[1:]):
            code = app(standalone_mode=False)
        if isinstance(code, int) and code == 130:  # Typer turns Ctrl-C into a returned exit code
            err_console.print(_word("errors.interrupted"))
        if isinstance(code, int) and code:
            sys.exit(code)
    except YunyingError as exc:
        if debug:
            raise
        _exit_if_signalled()
        err_console.print(f"[bold red]{_error_word()}[/] ", end="")
        err_console.print(_say_error(exc), highlight=False, markup=False, soft_wrap=True)
        sys.exit(1)
    except typer.Abort:
        err_console.print(_word("errors.aborted"))
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print(_word("errors.interrupted"))
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the CLI never shows a traceback without --debug
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # usage errors (Typer's vendored click)
            _show_usage_error(exc)
            sys.exit(exc.exit_code)
        if debug:
            raise
        _exit_if_signalled()
        err_console.print(f"[bold red]{_error_word()}[/] ", end="")
        err_console.print(f"{type(exc).__name__}: {_say_error(exc)}\n{_word('errors.run_with_debug')}",
                          highlight=False, markup=False)
        sys.exit(1)


def given(ctx: typer.Context, names=None) -> list[str]:
    """The flags the user set on the command line among the parameters ``names`` (all when None)."""
    out = []
    for p in ctx.command.params:
        if names is not None and p.name not in names:
            continue
        source = ctx.get_parameter_source(p.name)
        if source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT", "PROMPT"):
            out.append(max(p.opts, key=len) if p.opts else p.name)
    return out


def refuse(ctx: typer.Context, names, reason: str) -> None:
    """An option that cannot apply is an error, never silently ignored."""
    flags = given(ctx, names)
    if flags:
        from ..errors import SpecError

        raise SpecError(key="common.apply", flags=', '.join(flags), flags2='does' if len(flags) == 1 else 'do', reason=reason)


def load_spec(ctx: typer.Context, cls, spec: Optional[str], allowed=()):
    """The spec from ``--spec FILE|JSON`` (a saved spec or a saved result), or None without ``--spec``.
    A saved spec runs as it is: analysis options next to it are an error."""
    if spec is None:
        return None
    from ..errors import SpecError

    analysis = [p.name for p in ctx.command.params if p.name not in (*TARGET_PARAMS, *allowed)]
    refuse(ctx, analysis, Text("common.with_spec_saved_spec"))
    p = Path(spec)
    text = p.read_text(encoding="utf-8") if p.exists() else spec
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(key="common.spec_json_file_json", msg=exc.msg) from None
    if isinstance(data, dict) and "spec" in data and isinstance(data["spec"], dict):
        data = data["spec"]  # a saved result
    if isinstance(data, dict):
        kind = data.pop("kind", cls.kind)
        if kind != cls.kind:
            raise SpecError(key="common.spec_holds_spec", kind=kind, kind2=cls.kind)
    return cls.parse(data)


def in_options(exc, ctx: typer.Context, reworded: dict[str, str], key: str, fields: dict[str, str] | None = None):
    """A spec error from a command's options (not a --spec file) naming the options the user typed: the
    sentences of the spec's own rules by their option-worded twins (``reworded``: a rule's key to its twin's), a
    field's problem by the field's option (``--from: expected a valid date``), taken from the command's own
    parameters (``fields``: a spec field to the parameter that sets it under another name). Said under ``key``;
    any other error comes back as it is."""
    from ..errors import SpecError

    text = exc.text
    if text is None or text.key != "spec.invalid":
        return exc
    options = {p.name: p.opts[0] for p in ctx.command.params if p.opts and p.opts[0].startswith("--")}
    for field, param in (fields or {}).items():
        options[field] = options[param]
    said = []
    for problem in text.params.get("problems") or []:
        if isinstance(problem, Text) and problem.key in reworded:
            problem = Text(reworded[problem.key], **problem.params)
        elif isinstance(problem, Text) and problem.key == "spec.field_problem":
            field = str(problem.params.get("field", ""))
            problem = Text("spec.field_problem", **{**problem.params, "field": options.get(field.split(".")[0], field)})
        said.append(problem)
    return SpecError(key=key, problems=said)


def run_spec(fn, spec, workspace, events, engine, fmt, save: Optional[Path], after=None):
    """Run ``fn(engine, spec)`` on the target, save the spec if asked, print (or hand to ``after``)."""
    check_format(fmt)
    if save is not None:
        save.write_text(spec.to_json() + "\n", encoding="utf-8")
    with open_target(workspace, events, engine=engine, columns=event_columns(spec)) as ws:
        res = fn(ws.engine, spec)
        _Lang.data_span = ws.data_span() if fmt == "table" and _periodic(spec) else None
    if after is not None:
        after(res)
        return
    emit(res, fmt)


def _periodic(spec) -> bool:
    """Whether a result has a row per day, week or month (its last one may not be over yet)."""
    return any(isinstance(getattr(spec, f, None), str) for f in ("interval", "period"))


def check_format(fmt: str) -> str:
    if fmt not in ("table", "json", "csv"):
        raise YunyingError(key="common.format_must_table_json", fmt=fmt)
    return fmt


def _fresh_snapshot(path: Path) -> None:
    """A served workspace: wait for the snapshot holding every event the server acknowledged; say what is
    missing (a stopped server's capture log) rather than silently showing fewer events."""
    if not (path / "capture").is_dir():
        return
    from ..server.freshness import check

    from ..reports.i18n import label

    lang = _Lang.current()
    note = check(path).note(lang)
    if note:
        err_console.print(f"[yellow]{label('cli.note', lang)}[/] {note}", highlight=False)


# Analyses that read only each event's user, name and time, unless their spec names a property.
_SEQUENCE_KINDS = frozenset({"funnel", "retention"})
_PROPERTY_FIELDS = ("by", "value", "property", "filters", "where", "segment")


def event_columns(spec) -> tuple[str, ...] | None:
    """The event columns an analysis of ``spec`` reads beyond user ids, name and time (``()``), or None when it
    may read any (then ``--events FILE`` is imported in full)."""
    if getattr(spec, "kind", None) not in _SEQUENCE_KINDS:
        return None
    if any(getattr(spec, f, None) for f in _PROPERTY_FIELDS):
        return None
    return ()


def store_first(events: Optional[Path]) -> None:
    """A sequence analysis of a workspace that reads the sequence store: DuckDB is imported on first use (a
    store whose stamp vouches for it answers without it: ``storage/store_stamp.py``)."""
    if events is None:
        _defer_import("duckdb")


class _Deferred(ModuleType):
    """Stands for a module until one of its attributes is used, then imports it (once, under a lock; every
    attribute is the real module's from then on). ``import name`` statements get it without importing: they
    read only ``__spec__``."""

    def __init__(self, name: str, spec):
        super().__init__(name)
        self.__spec__ = spec
        self._yy_lock = threading.Lock()

    def __getattr__(self, attr: str):
        name = self.__name__
        with self._yy_lock:
            if sys.modules.get(name) is self:
                del sys.modules[name]
                try:
                    importlib.import_module(name)
                except BaseException:
                    sys.modules[name] = self
                    raise
        return getattr(sys.modules[name], attr)


def _defer_import(name: str) -> None:
    """Import module ``name`` when first used (DuckDB: ≈ 0.07 s of a funnel whose sequence store is vouched for,
    which never opens the database)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is not None:
        sys.modules[name] = _Deferred(name, spec)


@contextmanager
def open_target(workspace: Optional[Path], events: Optional[Path] = None, *, read_only: bool = True,
                engine: Optional[str] = None, columns: tuple[str, ...] | None = None):
    """Yield a workspace: the given folder, or an in-memory one built from an events file (only ``columns`` of
    it, besides user ids, event names and times, when not None: ``storage/adhoc.py``)."""
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    if events is not None and workspace is not None:
        raise YunyingError(key="common.give_either_workspace_dir")
    if events is not None:
        ws = Workspace.in_memory()
        if not sys.stdout.isatty():  # DuckDB's progress bar writes to stdout: piped JSON/CSV must stay clean
            ws.con.execute("SET enable_progress_bar = false")
        from ..storage.adhoc import load_events

        load_events(ws, str(events), columns)
    else:
        _fresh_snapshot(workspace or Path("."))
        ws = Workspace.open(workspace or Path("."), read_only=read_only)
        if not sys.stdout.isatty():
            ws.on_connect("SET enable_progress_bar = false")
    _Lang.follow(ws)
    _Lang.data_span = None  # set by run_spec for the per-period table of this command only
    try:
        if engine:
            ws.use_engine(engine)
        yield ws
    finally:
        ws.close()


class _Lang:
    """The language of tables for people: ``--lang`` on the command line, else the workspace's ``lang``
    setting (yunying.toml), else English. JSON and CSV keep raw keys and values in every language. ``data_span``:
    the local times of the first and last events of the workspace a per-period table shows (periods before the
    first have no data, its last period may be partial)."""
    flag: str | None = None
    workspace: str | None = None
    currency: str | None = None
    data_span: tuple | None = None

    @classmethod
    def follow(cls, ws) -> None:
        """Take the language and currency settings of the workspace just opened (or a server's project)."""
        cls.follow_config(ws.config)

    @classmethod
    def follow_config(cls, config) -> None:
        """Take the language and currency settings of a workspace's configuration (yunying.toml)."""
        cls.workspace, cls.currency = getattr(config, "lang", None), config.currency

    @classmethod
    def current(cls) -> str:
        from ..reports.i18n import normalize_lang

        return normalize_lang(cls.flag or cls.workspace or "en")


def print_rows(rows: list[dict], title: str | None = None, columns: list[str] | None = None,
               analysis: str | None = None, spec: dict | None = None) -> None:
    """A table for people: labels from the catalogue, values through the one formatter (reports/columns.py).
    With the analysis' ``spec``, the table as the dashboard shows it (reports/view.py#people_view): the last,
    partial period marked, a week's stickiness as DAU/WAU, time buckets in the reader's units — and its notes."""
    from ..reports.columns import people_table

    lang = _Lang.current()
    if not rows:
        print_table(None, title)
        return
    if spec is not None and analysis and columns is None:
        from ..reports.view import people_view

        first, last = _Lang.data_span or (None, None)
        view = people_view(analysis, {"result": {"rows": rows}, "rows_key": "rows"}, spec, lang=lang,
                           currency=_Lang.currency or "", data_start=first, data_end=last)
        print_table(view["table"], title)
        for note in view["notes"]:
            console.print(note, highlight=False)
        return
    explicit = columns is not None
    columns = columns or list(rows[0].keys())
    view = people_table([{c: r.get(c) for c in columns} for r in rows], lang, analysis=analysis,
                        currency=_Lang.currency or "")
    print_table(view, title, every_column=explicit)


def print_table(view: dict | None, title: str | None = None, every_column: bool = False,
                lang: str | None = None) -> None:
    """Print a table for people (``people_table``'s columns and texts) in the terminal: numbers right-aligned,
    the user's names and words left; columns hidden by default left out unless ``every_column``."""
    from ..reports.i18n import MESSAGES, label, phrase

    lang = lang or _Lang.current()
    title = (label(title, lang) if title in MESSAGES else phrase(title, lang)) if title else title  # a key or a text
    if not view or not view["rows"]:
        console.print(f"{title + label('sep.colon', lang) if title else ''}{label('no_data', lang)}")
        return
    table = Table(title=title, show_lines=False)
    shown = [c for c in view["columns"] if every_column or not c["hidden"]]
    for c in shown:
        table.add_column(c["label"], justify="left" if c["kind"] in ("data", "text", "date") else "right")
    for texts in view["texts"]:
        table.add_row(*(texts[c["key"]] for c in shown))
    console.print(table)


def emit(result, fmt: str, *, rows_key: str | None = None, title: str | None = None) -> None:
    """Print a result (an object with ``to_dict()``, or a dict) as table, json or csv."""
    check_format(fmt)
    if fmt == "json":
        from ..analyses.json_text import result_json

        text = result_json(result)   # the same text, written from the columns (a long list: json.dumps is slow)
        if text is not None:
            sys.stdout.write(text + "\n")
            return
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if fmt == "json":
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
        return
    key = rows_key or getattr(result, "rows_key", None) or next(
        (k for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], dict)), None)
    rows = data.get(key, []) if key else []
    if fmt == "csv":
        if hasattr(result, "to_csv"):
            sys.stdout.write(result.to_csv())
            return
        buf = io.StringIO()
        if rows:
            w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
            w.writeheader()
            for r in rows:
                w.writerow({k: (json.dumps(v) if isinstance(v, (list, dict)) else v) for k, v in r.items()})
        sys.stdout.write(buf.getvalue())
        return
    kind = getattr(result, "kind", None)
    spec = data.get("spec") if kind in VIEW_KINDS and isinstance(data.get("spec"), dict) else None
    print_rows(rows, title or data.get("title"), analysis=kind, spec=spec)


# Results printed as the dashboard shows them (people_view); the others have tables of their own making.
VIEW_KINDS = {"trends", "metric", "lifecycle", "stickiness", "intervals", "distribution", "paths", "winback",
              "repurchase", "new_users", "revenue"}


def parse_day(text: Optional[str], flag: str):
    """The day an option gives (YYYY-MM-DD), None when it is not given; else an error naming the option."""
    import datetime as dt

    from ..errors import SpecError

    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise SpecError(key="common.expected_date_yyyy_mm", flag=flag, text=text) from None


def parse_mapping(items: list[str] | None) -> dict[str, str]:
    from ..model.schema import EVENT_COLUMNS, IDENTITY_COLUMNS, SPEND_COLUMNS, USER_FILE_COLUMNS

    known = sorted({c.name for c in (*EVENT_COLUMNS, *SPEND_COLUMNS, *IDENTITY_COLUMNS, *USER_FILE_COLUMNS)})
    out = {}
    for item in items or []:
        if "=" not in item:
            raise YunyingError(key="common.map_expects_name_column", item=item)
        k, v = item.split("=", 1)
        if k.strip() not in known:
            raise YunyingError(key="common.map_field_yunying_knows", item=item, k=k.strip(), known=', '.join(known))
        out[k.strip()] = v.strip()
    return out
