"""`yunying campaign …` (活动运营, issue 15): create, assign, plan, pacing, review (复盘), list.

``campaign review NAME`` reviews a workspace campaign; ``campaign review --table FILE …`` is the per-unit table
mode (campaigns run in an e-mail / SMS / push tool that exports one row per contacted or held-back customer).
Definitions: docs/campaigns.md.
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
from ..reports.format import count
from ..reports.i18n import say
from .common import WorkspaceOpt, _Lang, check_format, console, parse_day
from .customers import _share  # "10%" or 0.1, the --holdout of winback

campaign_app = typer.Typer(name="campaign", help="Campaigns (活动运营): create, plan, pacing, review (复盘), list.",
                           no_args_is_help=True)
LangOpt = typer.Option(None, "--lang", help="Language of tables and reports: en, zh-Hans or zh-Hant (default: the "
                                           "workspace's language setting, else en).")
FmtOpt = typer.Option("table", "--format", "-f", help="table, json or csv.")
AsOfOpt = typer.Option(None, "--as-of", help="Last day of data to use (default: the last event day).")
LikeOpt = typer.Option(None, "--like", help="Shape the target trajectory like a past period FROM..TO "
                       "(default: linear).")
HtmlOpt = typer.Option(None, "--html", help="Also write an HTML report to this file.")
XlsxOpt = typer.Option(None, "--xlsx", help="Also write an Excel workbook to this file.")


def _pairs(items, flag: str) -> list[tuple[str, str]]:
    out = []
    for item in items or []:
        if "=" not in item:
            raise SpecError(key="campaign.expects_key_value", flag=flag, item=item)
        k, v = item.split("=", 1)
        out.append((k.strip(), v.strip()))
    return out


def _number(v: str, flag: str) -> float:
    try:
        return float(v)
    except ValueError:
        raise SpecError(key="campaign.expected_number", flag=flag, v=v) from None


def _budget(items) -> list[dict]:
    out = []
    for kind, rest in _pairs(items, "--budget"):
        amount, _, extra = rest.partition(":")
        line = {"kind": kind, "amount": _number(amount, f"--budget {kind}")}
        if kind == "coupons":
            line["property"] = extra or "coupon"
        elif kind == "media" and extra:
            line["spend_campaign"] = extra
        out.append(line)
    return out


def _tasks(items) -> list[dict]:
    out = []
    for item in items or []:
        parts = [p.strip() for p in item.split("|")]
        if len(parts) not in (4, 5):
            raise SpecError(key="campaign.task_expects_name_owner", item=item)
        out.append({"name": parts[0], "owner": parts[1] or None, "start": parts[2], "end": parts[3],
                    "depends_on": [d.strip() for d in parts[4].split(",") if d.strip()] if len(parts) == 5 else []})
    return out


@campaign_app.command("create")
def create_cmd(
    name: str = typer.Argument(..., help="Campaign name (letters, digits, _ . -)."),
    start: str = typer.Option(..., "--start", help="First day (YYYY-MM-DD)."),
    end: str = typer.Option(..., "--end", help="Last day (YYYY-MM-DD)."),
    goal: List[str] = typer.Option(..., "--goal", help="METRIC=TARGET (repeatable); metrics: purchases, revenue, "
                                   "purchasers, new_users, reactivated_users."),
    segment: Optional[str] = typer.Option(None, "--segment", help="Audience: the members of this segment."),
    event: Optional[str] = typer.Option(None, "--event", help="Audience: users who did this event (the exposure)."),
    where: Optional[str] = typer.Option(None, "--where", help="With --event: PROPERTY=VALUE the event carries."),
    holdout: Optional[str] = typer.Option(None, "--holdout", help="Share held back at random, e.g. 10%."),
    seed: int = typer.Option(0, "--seed", help="Seed of the holdout draw."),
    budget: Optional[List[str]] = typer.Option(None, "--budget", help="KIND=AMOUNT (repeatable): media=3000[:SPEND_"
                                               "CAMPAIGN], coupons=12000[:PROPERTY], fees=2000."),
    margin: float = typer.Option(1.0, "--margin", help="Share of revenue kept as margin (0-1)."),
    task: Optional[List[str]] = typer.Option(None, "--task", help="NAME|OWNER|START|END[|DEP,DEP] (repeatable)."),
    description: Optional[str] = typer.Option(None, "--description", help="A sentence about the campaign."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite an existing definition of this name."),
    workspace: Optional[Path] = WorkspaceOpt,
):
    """Create a campaign: writes campaigns/NAME.toml; with --holdout, records each audience user's group."""
    from ..analyses.campaigns import assign_holdout
    from ..storage import campaigns as store
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    if where is not None and event is None:
        raise SpecError(key="campaign.where_applies_event")
    prop = dict(_pairs([where], "--where")) if where else {}
    audience = ({"segment": segment} if segment else {"event": event, **({"property": next(iter(prop)),
                 "value": next(iter(prop.values()))} if prop else {})} if event else {"all_users": True})
    data = {"name": name, "start": start, "end": end, "margin": margin, "description": description,
            "goals": [{"metric": k, "target": _number(v, f"--goal {k}")} for k, v in _pairs(goal, "--goal")],
            "audience": audience, "budget": _budget(budget), "tasks": _tasks(task)}
    if holdout is not None:
        data["holdout"] = {"share": _share(holdout), "seed": seed}
    camp = store.parse({k: v for k, v in data.items() if v is not None}, "campaign create")
    with Workspace.open(workspace or Path(".")) as ws:
        path = store.save(ws.path, camp, replace=replace)
        _Lang.follow(ws)
        lang = _Lang.current()
        console.print(say("cli.wrote_file", lang, path=path), highlight=False)
        if camp.holdout is not None:
            n = assign_holdout(ws, camp)
            console.print(say("cli.holdout_recorded", lang, target=count(n["target"], lang),
                              holdout=count(n["holdout"], lang), added=count(n["added"], lang)), highlight=False)


@campaign_app.command("assign")
def assign_cmd(name: str = typer.Argument(...), workspace: Optional[Path] = WorkspaceOpt,
               export: Optional[Path] = typer.Option(None, "--export", help="Also write every recorded user's group "
                                                     "to this CSV file (user_id,group), e.g. to keep the holdout "
                                                     "out of the campaign tool's send list.")):
    """Record the holdout group of every audience user not recorded yet (users keep their group)."""
    from ..analyses.campaigns import assign_holdout, load
    from ..storage import campaigns as store
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    with Workspace.open(workspace or Path(".")) as ws:
        _Lang.follow(ws)
        n = assign_holdout(ws, load(ws, name))
        rows = store.assignment_rows(ws.con, name) if export else []

    console.print(say("camp.assigned", _Lang.current(), added=f"{n['added']:,}", target=f"{n['target']:,}",
                      holdout=f"{n['holdout']:,}"), highlight=False)
    if export:
        with open(export, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["user_id", "group"])
            w.writerows(rows)
        console.print(say("cli.wrote_rows", _Lang.current(), n=count(len(rows), _Lang.current()), path=export),
                      highlight=False)


def _print(blocks: list[tuple[str, list[str], list[list[str]]]]) -> None:
    from rich.table import Table

    for title, head, rows in blocks:
        t = Table(title=title, title_justify="left")
        for i, h in enumerate(head):
            t.add_column(h, justify="left" if i == 0 else "right")
        for r in rows:
            t.add_row(*[str(c) for c in r])
        console.print(t)


def _json(data) -> None:
    from ..analyses.base import clean

    sys.stdout.write(json.dumps(clean(data), ensure_ascii=False, indent=2, allow_nan=False) + "\n")


def _csv(head: list[str], rows: list[list]) -> None:
    import csv

    w = csv.writer(sys.stdout, lineterminator="\n")
    w.writerow(head)
    w.writerows(rows)


def _open(workspace):
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)

    ws = Workspace.open(workspace or Path("."), read_only=True)
    _Lang.follow(ws)
    return ws


def _lang(lang: Optional[str]) -> str:
    """``--lang``, else the workspace's language setting (once a workspace is open), else English."""
    from ..reports.i18n import normalize_lang

    return normalize_lang(lang) if lang else _Lang.current()


@campaign_app.command("plan")
def plan_cmd(name: str = typer.Argument(...), like: Optional[str] = LikeOpt, html: Optional[Path] = HtmlOpt,
             xlsx: Optional[Path] = XlsxOpt, lang: Optional[str] = LangOpt, fmt: str = FmtOpt,
             workspace: Optional[Path] = WorkspaceOpt):
    """The plan: a Gantt chart of the tasks, schedule checks, and each goal's target trajectory."""
    from ..analyses.campaigns import load
    from ..analyses.campaigns.plan import parse_period, plan
    from ..reports import campaigns as R
    from ..reports.i18n import label, normalize_lang

    check_format(fmt)
    with _open(workspace) as ws:
        lang = _lang(lang)
        pl = plan(ws, load(ws, name), like=parse_period(like) if like else None)
    if html:
        R.write_html(html, name, [R.plan_section(pl, lang)], lang)
    if xlsx:
        R.write_xlsx(xlsx, lang, plan=pl)
    if fmt == "json":
        return _json(pl)
    head, rows = R.task_rows(pl, lang)
    if fmt == "csv":
        return _csv(head, rows)
    _print([(label("camp_gantt", lang), head, rows)])
    for p in R.problem_rows(pl, lang) or [label("camp_no_problems", lang)]:
        console.print(p)


@campaign_app.command("pacing")
def pacing_cmd(name: str = typer.Argument(...), as_of: Optional[str] = AsOfOpt, like: Optional[str] = LikeOpt,
               html: Optional[Path] = HtmlOpt, xlsx: Optional[Path] = XlsxOpt, lang: Optional[str] = LangOpt,
               fmt: str = FmtOpt, workspace: Optional[Path] = WorkspaceOpt):
    """Pacing: actual vs target per goal, projection with an interval, at-risk flag, spend vs budget."""
    from ..analyses.campaigns import load
    from ..analyses.campaigns.pacing import pacing
    from ..analyses.campaigns.plan import parse_period
    from ..reports import campaigns as R
    from ..reports.i18n import label, normalize_lang

    check_format(fmt)
    with _open(workspace) as ws:
        lang = _lang(lang)
        cur = ws.config.currency
        p = pacing(ws, load(ws, name), as_of=parse_day(as_of, "--as-of"), like=parse_period(like) if like else None)
    if html:
        R.write_html(html, name, [R.pacing_section(p, lang, cur)], lang)
    if xlsx:
        R.write_xlsx(xlsx, lang, pacing=p, currency=cur)
    if fmt == "json":
        return _json(p)
    if fmt == "csv":
        keys = ["metric", "target", "expected_so_far", "actual", "projected", "low", "high", "status"]
        return _csv(keys, [[g[k] for k in keys] for g in p["goals"]])
    head, rows = R.pacing_rows(p, lang, cur)
    _print([(f"{label('camp_pacing', lang)} {name} ({p['as_of']})", head, rows),
            (label("camp_spend_vs_budget", lang), *R.budget_rows(p, lang, cur))])


def _split_list(items: Optional[List[str]]) -> list[str]:
    return [p.strip() for item in items or [] for p in item.split(",") if p.strip()]


def _print_table_review(data: dict, lang: str) -> None:
    from rich.table import Table

    from ..reports import format as F
    from ..reports.campaign_table import metric_rows, money_rows
    from ..reports.i18n import label, normalize_lang

    lang = _lang(lang)
    if "srm" in data:
        srm = data["srm"]
        style = "bold red" if srm["status"] == "mismatch" else ("yellow" if srm["warning"] else "green")
        counts = ", ".join(f"{k} {v:,}" for k, v in srm["observed"].items())
        console.print(f"[{style}]{label('ct_srm', lang)}{label('sep.colon', lang).rstrip()} p = {F.cell(srm['p_value'])} ({counts})"
                      f"{' — ' + srm['message'] if srm['message'] else ''}[/{style}]")
    headers, rows = metric_rows(data, lang)
    t = Table(title=f"{label('ct_title', lang)}{label('sep.colon', lang)}{data['source']['table']}", title_justify="left")
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
    from ..reports.exp_intervals import level_percent

    level = level_percent(data["ci_level"], lang)
    console.print(f"[dim]{label('ct_level', lang).format(level=level)}[/dim]")
    if data.get("ci_correction"):  # the level Holm's verdicts used (docs/experiments.md)
        console.print(f"[dim]{label('exp.campaign_adjusted', lang).format(level=level)}[/dim]")
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


def review_workspace(name: str, *, as_of, method: str, html, xlsx, lang: str, fmt: str, workspace,
                     donors_by: str = "channel") -> None:
    """``campaign review NAME``: the review of a workspace campaign (the per-unit table mode is ``--table``)."""
    from ..analyses.campaigns import load
    from ..analyses.campaigns.review import review
    from ..reports import campaigns as R
    from ..reports.i18n import label, normalize_lang

    check_format(fmt)
    from ..analyses.campaigns.plan import plan

    with _open(workspace) as ws:
        lang = _lang(lang)
        cur = ws.config.currency
        camp = load(ws, name)
        res = review(ws, camp, as_of=parse_day(as_of, "--as-of"), method=method, donors_by=donors_by)
        pl = plan(ws, camp) if html or xlsx else None
    d = res.data
    if html:
        R.write_html(html, name, [R.review_section(d, lang, cur), R.plan_section(pl, lang)], lang)
    if xlsx:
        R.write_xlsx(xlsx, lang, review=d, plan=pl, currency=cur)
    if fmt == "json":
        return _json({**res.to_dict(), "summary": R.summary(d, lang, cur), "lang": lang})
    if fmt == "csv":
        sys.stdout.write(res.to_csv())
        return
    console.print(f"[bold]{label('camp_review', lang)}{label('sep.colon', lang)}{name}[/bold] ({d['window']['start']} – {d['window']['end']})")
    for s in R.summary(d, lang, cur):
        console.print(s, highlight=False, markup=False)
    console.print(R.check_line(d, lang), highlight=False, markup=False)
    _print([(label("camp_goals_vs_target", lang), *R.goal_rows(d, lang, cur)),
            (f"{label('camp_incremental_effect', lang)} — {label('camp_method_' + d['lift']['method'], lang)}{label('sep.clause', lang)}"
             f"{label('camp_evidence', lang)}{label('sep.colon', lang)}{label('camp_evidence_' + d['lift']['evidence'], lang)}",
             *R.lift_rows(d, lang, cur)),
            (label("camp_total_cost", lang), *R.cost_rows(d, lang, cur)),
            (label("camp_economics", lang), *R.econ_rows(d, lang, cur)),
            (label("camp_afterwards", lang), *R.after_rows(d, lang))])


@campaign_app.command("review")
def review_cmd(
    name: Optional[str] = typer.Argument(None, help="A campaign of the workspace (or use --table)."),
    as_of: Optional[str] = AsOfOpt,
    method: str = typer.Option("auto", "--method", help="NAME: auto (the holdout when recorded, else "
                               "difference-in-differences), holdout, did or sc (synthetic control)."),
    donors_by: str = typer.Option("channel", "--donors-by", help="NAME with --method sc: split the comparison "
                                  "users into donor groups by this property (their earliest value)."),
    html: Optional[Path] = HtmlOpt, xlsx: Optional[Path] = XlsxOpt, workspace: Optional[Path] = WorkspaceOpt,
    table: Optional[Path] = typer.Option(None, "--table", help="Per-unit table (CSV, Parquet or JSON Lines): one row per contacted or held-back unit."),
    unit: Optional[str] = typer.Option(None, "--unit", help="Table: the unit id column (each unit once)."),
    group: Optional[str] = typer.Option(None, "--group", help="Table: the group column (sent, holdout, …)."),
    control: Optional[str] = typer.Option(None, "--control", help="Table: the control group's value (the holdout)."),
    metric: Optional[List[str]] = typer.Option(None, "--metric", "-m", help="Table: outcome columns, comma-separated (0/1 columns are conversions)."),
    revenue: Optional[str] = typer.Option(None, "--revenue", help="Table: the revenue column; gives incremental revenue and ROI."),
    cost_per_contact: Optional[float] = typer.Option(None, "--cost-per-contact", help="Cost of one contact (cost = units x this)."),
    margin: Optional[float] = typer.Option(None, "--margin", help="Share of revenue kept as margin (0-1): incremental revenue is multiplied by it."),
    split: Optional[str] = typer.Option(None, "--split", help="Table: planned shares, control first then the other groups sorted, e.g. 10/90: adds the sample-ratio check."),
    alpha: float = typer.Option(0.05, "--alpha", help="Table: significance level; intervals are 1 - alpha, at the level of the Holm-adjusted verdicts with several comparisons."),
    lang: Optional[str] = LangOpt, fmt: str = FmtOpt,
):
    """Review (复盘) of campaign NAME, or of a per-unit export with --table.

    NAME: target vs actual, incremental effect with interval, full cost, ROI, afterwards and a summary.
    --table: lift per group vs the control, cost and ROI from one row per contacted or held-back customer."""
    check_format(fmt)
    table_flags = {"--unit": unit, "--group": group, "--control": control, "--metric": metric, "--revenue": revenue,
                   "--cost-per-contact": cost_per_contact, "--margin": margin, "--split": split}
    if table is None:
        if name is None:
            raise SpecError(key="campaign.give_table_file_campaign")
        used = [k for k, v in table_flags.items() if v is not None] + (["--alpha"] if alpha != 0.05 else [])
        if used:
            raise SpecError(key="campaign.with_table_workspace_campaign", used=', '.join(used), used2='only applies' if len(used) == 1 else 'only apply', name=name)
        return review_workspace(name, as_of=as_of, method=method, html=html, xlsx=xlsx, lang=lang, fmt=fmt,
                                workspace=workspace, donors_by=donors_by)
    if name is not None:
        raise SpecError(key="campaign.give_either_table_file")
    used = [f for f, v in (("--as-of", as_of), ("--html", html), ("--xlsx", xlsx), ("--workspace", workspace))
            if v is not None] + (["--method"] if method != "auto" else []) + (
        ["--donors-by"] if donors_by != "channel" else [])
    if used:
        raise SpecError(key="campaign.workspace_campaign_name_table", used=', '.join(used), used2='only applies' if len(used) == 1 else 'only apply')
    missing = [flag for flag, v in (("--unit", unit), ("--group", group), ("--control", control)) if v is None]
    metrics = _split_list(metric)
    if not metrics:
        missing.append("--metric")
    if missing:
        raise SpecError(key="campaign.table_needs_e_g", missing=', '.join(missing))
    from ..analyses.campaigns.table import review_table

    data = review_table(table, unit=unit, group=group, control=control, metrics=metrics, revenue=revenue,
                        cost_per_contact=cost_per_contact, margin=margin, alpha=alpha, split=split)
    _emit_table_review(data, fmt, _lang(lang))


@campaign_app.command("list")
def list_cmd(lang: Optional[str] = LangOpt, fmt: str = FmtOpt, workspace: Optional[Path] = WorkspaceOpt):
    """Every campaign with its cost per incremental purchase over time (are campaigns getting cheaper?)."""
    from ..analyses.campaigns.portfolio import portfolio
    from ..reports import campaigns as R
    from ..reports.i18n import label, normalize_lang

    check_format(fmt)
    with _open(workspace) as ws:
        lang = _lang(lang)
        rows = portfolio(ws)
        cur = ws.config.currency
    if fmt == "json":
        return _json({"campaigns": rows})
    if fmt == "csv":
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return _csv(keys, [[r.get(k) for k in keys] for r in rows])
    head, body = R.portfolio_rows(rows, lang, cur)
    if not rows:
        console.print(label("camp_none", lang))
        return
    _print([(label("camp_portfolio", lang), head, body)])


def register(app: typer.Typer) -> None:
    app.add_typer(campaign_app, name="campaign")
