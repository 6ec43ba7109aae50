"""``yunying report``: the weekly / monthly operations report (周报 / 月报) — docs/report.md."""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Optional

import typer

from ..errors import SpecError
from .common import FormatOpt, WorkspaceOpt, _Lang, check_format, console, open_target, parse_day, print_rows


def report_cmd(
    period: str = typer.Option("week", "--period", help="week (the last complete ISO week) or month."),
    start: Optional[str] = typer.Option(None, "--start", help="Report the period containing this day instead "
                                        "(YYYY-MM-DD); a period not over is marked incomplete."),
    lang: Optional[str] = typer.Option(None, "--lang", help="Language: en, zh-Hans or zh-Hant."),
    html: Optional[Path] = typer.Option(None, "--html", help="Write the report as an HTML page."),
    xlsx: Optional[Path] = typer.Option(None, "--xlsx", help="Write an Excel workbook (a sheet per section)."),
    pdf: Optional[Path] = typer.Option(None, "--pdf", help="Write an A4 PDF (headless Chromium)."),
    email: Optional[str] = typer.Option(None, "--email", help="E-mail it to these addresses (comma-separated), "
                                        "through the SMTP channel of yunying.toml."),
    channel: Optional[str] = typer.Option(None, "--channel", help="With --email: the email channel to use."),
    explain_by: Optional[str] = typer.Option(None, "--explain-by", help="\"What moved\" also by this dimension "
                                             "(event.PROP or user.PROP; DIM,DIM2 for a drill-down)."),
    workspace: Optional[Path] = WorkspaceOpt,
    fmt: str = FormatOpt,
):
    """Weekly / monthly report: headline KPIs, what moved, acquisition, funnel, retention, experiments, alerts."""
    from ..reports.i18n import label, normalize_lang
    from ..reports.weekly import build_report, email_channel, send, to_dict
    from ..reports.weekly.html import cell_kind, cell_text, render

    check_format(fmt)
    day = parse_day(start, "--start")
    if channel is not None and email is None:
        raise SpecError(key="report.channel_only_applies_with")
    by = [p.strip() for p in explain_by.split(",") if p.strip()] if explain_by else None
    with open_target(workspace, None, read_only=True) as ws:
        lang = normalize_lang(lang) if lang else _Lang.current()  # else the workspace's language setting
        mail = email_channel(ws.config, channel) if email else None
        report = build_report(ws, period=period, lang=lang, start=day, explain_by=by)
    page = render(report)
    if html:
        html.write_text(page, encoding="utf-8")
    if xlsx:
        from ..reports.weekly.xlsx import write

        write(report, xlsx)
    if pdf:
        from ..reports.weekly.pdf import html_to_pdf

        html_to_pdf(page, pdf)
    if mail is not None:
        to = [a.strip() for a in email.split(",") if a.strip()]
        files = _attachments(report, page, pdf, xlsx)
        send(report, mail, to, page, files)
        console.print(label("report.email.sent", lang).format(to=", ".join(to)), highlight=False, markup=False)
    if fmt == "json":
        sys.stdout.write(json.dumps(to_dict(report), ensure_ascii=False, indent=2, default=str) + "\n")
        return
    head = next((s for s in report.sections if s.key == "headline"), None)
    if head and fmt == "table":
        console.print(report.title, highlight=False, markup=False)
        for n in report.notes:
            console.print(n, highlight=False, markup=False)
        t = head.tables[0]
        print_rows([{c.label: cell_text(r.get(c.key), cell_kind(c, r), report.currency, lang) for c in t.columns}
                    for r in t.rows], f"{report.period.start} – {report.period.end}")
    elif head:
        from .common import emit

        emit({"rows": [{k: v for k, v in r.items() if not k.startswith("_")} for r in head.tables[0].rows]}, "csv")


def _attachments(report, page: str, pdf: Optional[Path], xlsx: Optional[Path]) -> list:
    """The PDF and workbook (written for the e-mail when not asked for as files)."""
    from ..reports.weekly.pdf import html_to_pdf
    from ..reports.weekly.xlsx import write

    stem = f"yunying-{report.period.kind}-{report.period.start}"
    with tempfile.TemporaryDirectory() as tmp:
        pdf_path = pdf or html_to_pdf(page, Path(tmp) / f"{stem}.pdf")
        xlsx_path = xlsx or write(report, Path(tmp) / f"{stem}.xlsx")
        return [(f"{stem}.pdf", Path(pdf_path).read_bytes(), "application/pdf"),
                (f"{stem}.xlsx", Path(xlsx_path).read_bytes(),
                 "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]


def register(app: typer.Typer) -> None:
    app.command("report")(report_cmd)
