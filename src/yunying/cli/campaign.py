"""`yunying campaign …` (活動運營, issue 15).

``campaign review --table FILE …``: the per-unit table mode (campaigns run in an e-mail / SMS / push tool
that exports one row per contacted or held-back customer). Definitions: docs/campaigns.md.
"""
from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import List, Optional

import typer

from ..errors import SpecError
from .common import check_format, console

campaign_app = typer.Typer(name="campaign", help="Campaigns (活動運營): review (復盤).", no_args_is_help=True)


def _split_list(items: Optional[List[str]]) -> list[str]:
    return [p.strip() for item in items or [] for p in item.split(",") if p.strip()]


def _print_table_review(data: dict, lang: str) -> None:
    from rich.table import Table

    from ..reports import format as F
    from ..reports.campaign_table import metric_rows, money_rows
    from ..reports.i18n import label, normalize_lang

    lang = normalize_lang(lang)
    if "srm" in data:
        srm = data["srm"]
        style = "bold red" if srm["status"] == "mismatch" else ("yellow" if srm["warning"] else "green")
        counts = ", ".join(f"{k} {v:,}" for k, v in srm["observed"].items())
        console.print(f"[{style}]{label('ct_srm', lang)}: p = {F.cell(srm['p_value'])} ({counts})"
                      f"{' — ' + srm['message'] if srm['message'] else ''}[/{style}]")
    headers, rows = metric_rows(data, lang)
    t = Table(title=f"{label('ct_title', lang)}: {data['source']['table']}", title_justify="left")
    for i, h in enumerate(headers):
        t.add_column(h, justify="left" if i in (0, 2) else "right")
    for r in rows:
        t.add_row(*r)
    console.print(t)
    money = money_rows(data, lang)
    if money:
        mt = Table(title=label("ct_money_title", lang), title_justify="left")
        for i, h in enumerate(money[0]):
            mt.add_column(h, justify="left" if i == 0 else "right")
        for r in money[1]:
            mt.add_row(*r)
        console.print(mt)
    level = f"{100 * data['ci_level']:g}%"
    console.print(f"[dim]{label('ct_level', lang).format(level=level)}[/dim]")
    if data.get("margin") is not None:
        console.print(f"[dim]{label('ct_margin_note', lang).format(margin=data['margin'])}[/dim]")
    for m in data.get("messages", []):
        if m.get("code") not in ("srm_mismatch", "srm_caution"):
            console.print(f"[dim]{label('ct_note', lang)}[/dim] {m.get('message')}")


def _emit_table_review(data: dict, fmt: str, lang: str) -> None:
    if fmt == "json":
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, allow_nan=False) + "\n")
    elif fmt == "csv":
        from ..reports.campaign_table import csv_rows

        rows = csv_rows(data)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0].keys()))
        w.writeheader()
        w.writerows(rows)
        sys.stdout.write(buf.getvalue())
    else:
        _print_table_review(data, lang)


@campaign_app.command("review")
def review_cmd(
    name: Optional[str] = typer.Argument(None, help="A campaign of the workspace (not yet: use --table)."),
    table: Optional[Path] = typer.Option(None, "--table", help="Per-unit table (CSV, Parquet or JSON Lines): one row per contacted or held-back unit."),
    unit: Optional[str] = typer.Option(None, "--unit", help="Table: the unit id column (each unit once)."),
    group: Optional[str] = typer.Option(None, "--group", help="Table: the group column (sent, holdout, …)."),
    control: Optional[str] = typer.Option(None, "--control", help="Table: the control group's value (the holdout)."),
    metric: Optional[List[str]] = typer.Option(None, "--metric", "-m", help="Table: outcome columns, comma-separated (0/1 columns are conversions)."),
    revenue: Optional[str] = typer.Option(None, "--revenue", help="Table: the revenue column; gives incremental revenue and ROI."),
    cost_per_contact: Optional[float] = typer.Option(None, "--cost-per-contact", help="Cost of one contact (cost = units x this)."),
    margin: Optional[float] = typer.Option(None, "--margin", help="Share of revenue kept as margin (0-1): incremental revenue is multiplied by it."),
    split: Optional[str] = typer.Option(None, "--split", help="Planned shares, control first then the other groups sorted, e.g. 10/90: adds the sample-ratio check."),
    alpha: float = typer.Option(0.05, "--alpha", help="Significance level; intervals are 1 - alpha."),
    lang: str = typer.Option("en", "--lang", help="Language of the table: en, zh-Hans or zh-Hant."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, json or csv."),
):
    """Review (復盤) a campaign: lift per group vs the control with intervals, cost, incremental revenue and ROI."""
    check_format(fmt)
    if table is None:
        raise SpecError("give --table FILE or a campaign NAME"
                        + (f" (campaign {name!r}: reviewing workspace campaigns is not available yet; use --table)"
                           if name else ""))
    if name is not None:
        raise SpecError("give either --table FILE or a campaign NAME, not both")
    missing = [flag for flag, v in (("--unit", unit), ("--group", group), ("--control", control)) if v is None]
    metrics = _split_list(metric)
    if not metrics:
        missing.append("--metric")
    if missing:
        raise SpecError(f"--table needs {', '.join(missing)} (e.g. --unit user_id --group group --control holdout "
                        "--metric purchased,revenue)")
    from ..analyses.campaigns.table import review_table

    data = review_table(table, unit=unit, group=group, control=control, metrics=metrics, revenue=revenue,
                        cost_per_contact=cost_per_contact, margin=margin, alpha=alpha, split=split)
    _emit_table_review(data, fmt, lang)


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
