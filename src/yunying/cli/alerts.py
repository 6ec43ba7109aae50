"""``yunying alerts run | test RULE | history``: rules of ``[[alerts]]`` in yunying.toml (docs/alerts.md).

Exit codes of ``alerts run``: 0 when everything went through (or another run was already going — it says so
on stderr), 3 when a rule could not be checked or a delivery failed (the run still did everything else).
"""
from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import SpecError
from .common import (FormatOpt, WorkspaceOpt, check_format, console, emit, err_console, open_target, parse_day,
                     print_rows)

alerts_app = typer.Typer(help="Alerts (告警): rules in yunying.toml checked on complete periods, sent to "
                              "webhooks, 企业微信 / 钉钉 / 飞书 robots, Slack and e-mail.", no_args_is_help=True)
NowOpt = typer.Option(None, "--now", help="Run as if the clock read this time (ISO 8601, e.g. 2026-03-02T08:00+08:00; "
                                          "default: now). For catching up and for tests.")
LangOpt = typer.Option("en", "--lang", help="Language of tables and messages: en, zh-Hans or zh-Hant.")
FAILED_EXIT = 3


def _now(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SpecError(key="alerts.now_expected_iso_8601", text=text) from None
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _workspace(workspace: Optional[Path]):
    return open_target(workspace, None, read_only=True)


def _L(lang: str):
    from ..reports.i18n import label, normalize_lang

    lang = normalize_lang(lang)
    return lambda key: label(key, lang)


def _say(value, lang: str) -> str:
    """A message of the alert state (a catalogue sentence, an error, or plain text of an older row) in ``lang``."""
    from ..errors import Text
    from ..reports.error_text import say_error, say_text
    from ..reports.i18n import normalize_lang

    lang = normalize_lang(lang)
    if isinstance(value, Text):
        return say_text(value, lang)
    if isinstance(value, BaseException):
        return say_error(value, lang)
    return "" if value is None else str(value)


def _said(key: str, lang: str, **params) -> str:
    from ..errors import Text

    return _say(Text(key, **params), lang)


@alerts_app.command("run")
def run_cmd(
    rule: Optional[List[str]] = typer.Option(None, "--rule", help="Only these rules (repeatable; default: all)."),
    now: Optional[str] = NowOpt,
    lang: str = LangOpt,
    workspace: Optional[Path] = WorkspaceOpt,
    fmt: str = FormatOpt,
):
    """Check every rule on its last complete period and send what fired (safe from cron every few minutes)."""
    from ..reports.alerts.run import run_alerts

    from ..config import CONFIG_FILE
    from ..errors import WorkspaceNotFound

    check_format(fmt)
    try:
        target = _workspace(workspace)
        ws = target.__enter__()
        try:
            ws.con  # a read-only workspace connects on first use: connect now, so a busy database is seen here
        except BaseException:
            target.__exit__(None, None, None)
            raise
    except WorkspaceNotFound as exc:
        if not ((workspace or Path(".")) / CONFIG_FILE).exists() or "cannot open database" not in exc.message:
            raise
        # another process is writing the database (an import): nothing is lost, the next run checks
        err_console.print(_said("alerts.cli.busy", lang, detail=exc), highlight=False, markup=False)
        return
    try:
        if not ws.config.alerts:
            err_console.print(_L(lang)("alerts.no_rules"), highlight=False, markup=False)
            return
        report = run_alerts(ws, now=_now(now), rules=rule)
    finally:
        target.__exit__(None, None, None)
    if report.skipped:
        err_console.print(_say(report.skipped, lang), highlight=False, markup=False)
        return
    if fmt == "json":
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        L = _L(lang)
        rows = [{L("alerts.col.rule"): c["rule"], L("alerts.period"): L(f"alerts.period.{c['period']}"),
                 L("alerts.col.period_start"): c["period_start"],
                 L("alerts.col.outcome"): L(f"alerts.outcome.{c['outcome']}")} for c in report.checks]
        if fmt == "csv":
            emit({"rows": report.checks}, "csv")
        else:
            print_rows(rows)
            for d in report.deliveries:
                status = L("alerts.col.sent") if d["status"] == "sent" else L("alerts.col.failed")
                console.print(f"{d['rule']} → {d['channel']}: {status}" + (
                    f"{L('sep.open')}{_say(d['error'], lang)}{L('sep.close')}" if d["error"] else ""),
                    highlight=False, markup=False)
    for e in report.errors:
        err_console.print(_said("alerts.cli.error", lang, error=e), highlight=False, markup=False)
    for d in report.deliveries:
        if d["status"] != "sent":
            err_console.print(_said("alerts.cli.delivery_failed", lang, rule=d["rule"], channel=d["channel"],
                                    attempts=d["attempts"], error=d["error"]), highlight=False, markup=False)
    if report.failed:
        sys.exit(FAILED_EXIT)  # (typer.Exit is swallowed outside standalone mode)


@alerts_app.command("test")
def test_cmd(
    rule: str = typer.Argument(..., help="Name of the rule."),
    start: Optional[str] = typer.Option(None, "--period-start", help="Check the period starting this day instead "
                                        "of the last complete one (YYYY-MM-DD)."),
    send: bool = typer.Option(False, "--send", help="Also send the message, marked as a test, to the rule's channels."),
    now: Optional[str] = NowOpt,
    lang: str = LangOpt,
    workspace: Optional[Path] = WorkspaceOpt,
    fmt: str = FormatOpt,
):
    """Dry run of one rule: its check and the message it would send; nothing is recorded (--send: delivered)."""
    from ..reports.alerts.run import test_rule
    from ..reports.i18n import normalize_lang

    check_format(fmt)
    day = parse_day(start, "--period-start")
    with _workspace(workspace) as ws:
        out = test_rule(ws, rule, now=_now(now), start=day, send=send, lang=normalize_lang(lang))
    if fmt == "json":
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    elif fmt == "csv":
        emit({"rows": [out["check"]]}, "csv")
    else:
        L = _L(lang)
        c = out["check"]
        console.print(f"{c['rule']}: {c['period_start']} – {c['period_end']}: {L('alerts.outcome.' + c['outcome'])}",
                      highlight=False, markup=False)
        if out["message"]:
            console.print(out["message"], highlight=False, markup=False)
        for d in out["deliveries"]:
            status = L("alerts.col.sent") if d["status"] == "sent" else L("alerts.col.failed")
            console.print(f"→ {d['channel']}: {status}" + (
                f"{L('sep.open')}{_say(d['error'], lang)}{L('sep.close')}" if d["error"] else ""),
                highlight=False, markup=False)
    if any(d["status"] != "sent" for d in out["deliveries"]):
        sys.exit(FAILED_EXIT)  # (typer.Exit is swallowed outside standalone mode)


@alerts_app.command("history")
def history_cmd(
    rule: Optional[str] = typer.Option(None, "--rule", help="Only this rule."),
    since: Optional[str] = typer.Option(None, "--since", help="Only periods starting on or after this day."),
    limit: int = typer.Option(100, "--limit", help="At most this many alerts, newest first."),
    lang: str = LangOpt,
    workspace: Optional[Path] = WorkspaceOpt,
    fmt: str = FormatOpt,
):
    """Alerts that fired, newest first, with how each delivery went."""
    from ..reports.alerts.messages import value_text
    from ..storage.alerts import history

    check_format(fmt)
    day = parse_day(since or None, "--since")
    root = workspace or Path(".")
    with _workspace(workspace):  # a workspace, or a clear error
        pass
    rows = history(root, rule=rule, since=day, limit=limit)
    if fmt == "json":  # the API: messages in English, as every error's "message"
        sys.stdout.write(json.dumps({"alerts": rows}, ensure_ascii=False, indent=2, default=str) + "\n")
        return
    if fmt == "csv":
        emit({"rows": [{k: v for k, v in r.items() if k not in ("detail", "deliveries")} for r in rows]}, "csv")
        return
    L = _L(lang)
    print_rows([{L("alerts.col.rule"): r["rule"], L("alerts.period"): L(f"alerts.period.{r['period']}"),
                 L("alerts.col.period_start"): r["period_start"],
                 L("alerts.value"): value_text(r["value"], r["detail"].get("kind", "number"),
                                                r["detail"].get("currency", "")),
                 L("alerts.col.fired_at"): r["fired_at"],
                 L("alerts.col.deliveries"): L("sep.list").join(
                     f"{d['channel']}: " + L("alerts.col.sent" if d["status"] == "sent" else "alerts.col.failed")
                     + (f"{L('sep.open')}{_say(d['last_error'], lang)}{L('sep.close')}" if d["last_error"] else "")
                     for d in r["deliveries"])}
                for r in rows])


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
