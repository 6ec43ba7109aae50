"""Content operations (内容运营): `content`, `content flags|timing|forecast`, `referrals`, and the imports
`import content` (catalogue) and `import content-stats` (platform exports). Definitions: docs/content.md."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import (EngineOpt, EventsOpt, FormatOpt, FromOpt, ToOpt, WorkspaceOpt, _Lang, check_format, console,
                     emit, open_target, options_from, print_table, refuse)
from ..errors import Text

content_app = typer.Typer(help="Content operations (内容运营): which pieces, topics and times work, and which reach "
                               "the wrong audience. Definitions: docs/content.md.", invoke_without_command=True)

LangOpt = typer.Option(None, "--lang", help="Language of table headers: en, zh-Hans or zh-Hant.")
BaselineOpt = typer.Option("account", "--baseline", help="Group whose pieces a piece's rates are shrunk towards and "
                           "compared with: account, topic, platform, author or all.")
LevelOpt = typer.Option(0.9, "--level", help="Credible level of the intervals (0.9 = 90 %).")
WindowOpt = typer.Option(24.0, "--window-hours", help="A signup/purchase without a content id is attributed to the "
                         "piece its user viewed last within this many hours before it.")
# The options the content commands share, declared once (see common.options_from); a command lists only those
# that apply to it.
content_options = options_from({
    "workspace": (Optional[Path], WorkspaceOpt), "events": (Optional[Path], EventsOpt),
    "engine": (Optional[str], EngineOpt), "fmt": (str, FormatOpt), "date_from": (Optional[str], FromOpt),
    "date_to": (Optional[str], ToOpt), "lang": (Optional[str], LangOpt), "baseline": (str, BaselineOpt),
    "level": (float, LevelOpt), "window_hours": (float, WindowOpt),
})


def _lang(lang: str | None) -> str:
    """The table language: --lang, else the workspace's setting, else English."""
    from ..reports.i18n import normalize_lang

    return normalize_lang(lang) if lang else _Lang.current()


def _label(key: str, lang: str | None) -> str:
    """A title of the content tables (``content.<key>``) in the table language."""
    from ..reports.i18n import label

    return label("content." + key, _lang(lang))


def _colon(lang: str | None) -> str:
    from ..reports.i18n import label

    return label("sep.colon", _lang(lang))


def table(rows: list[dict], columns: list[str], title: str, lang: str | None, kind: str = "content") -> None:
    """Rows for people through the shared table builder (reports/content.py: labels ``col.content.*``, rates in %,
    counts whole, the user's names as they are) and the shared terminal printer (cli/common.py)."""
    from ..reports.content import content_people_table

    view = content_people_table(kind, [{c: r.get(c) for c in columns} for r in rows], _lang(lang),
                                _Lang.currency or "")
    print_table(view, title, every_column=True, lang=_lang(lang))


def _fit_imports() -> None:
    """SciPy (the priors' fits and intervals) imported on a thread from the command's start, while the workspace
    opens and the piece table's queries run (issue 13: its import is a third of the command's time)."""
    from ..analyses.content.data import preload
    from ..analyses.content.funnel import SCIPY_MODULES

    preload(*SCIPY_MODULES)


def _spec_dates(date_from, date_to) -> dict:
    return {"date_from": date_from, "date_to": date_to}


def _run(fn, spec, workspace, events, engine, fmt):
    """Compute on the target; JSON/CSV are printed here (returns None), a table is left to the caller."""
    with open_target(workspace, events, engine=engine) as ws:
        res = fn(ws.engine, spec)
    if fmt != "table":
        emit(res, fmt)
        return None
    return res


@content_app.callback()
@content_options
def content_cmd(
    ctx: typer.Context,
    *,
    by: str = typer.Option("piece", "--by", help="piece, topic, tag, account, platform, author, format, or "
                           "topic_platform (the same topic on each platform)."),
    top: int = typer.Option(30, "--top", help="Rows shown in the table (JSON/CSV have all)."),
    workspace, events, engine, fmt, date_from, date_to, lang, baseline, level, window_hours,
):
    """Per-piece funnel: readers → follows / shares → conversions, rates shrunk towards the account's baseline."""
    if ctx.invoked_subcommand is not None:
        refuse(ctx, None, Text("content.before_subcommand_put_them", invoked_subcommand=ctx.invoked_subcommand))
        return
    _fit_imports()
    from ..analyses.content import ContentSpec, content

    check_format(fmt)
    spec = ContentSpec.build(by=by, baseline=baseline, level=level, window_hours=window_hours,
                             **_spec_dates(date_from, date_to))
    res = _run(content, spec, workspace, events, engine, fmt)
    if res is None:
        return
    rows = res.records()[:top]
    if by == "piece":
        cols = ["content_id", "title", "account", "readers", "followers", "follow_rate", "follow_rate_shrunk",
                "follow_rate_lo", "follow_rate_hi", "share_rate_shrunk", "converters", "source"]
    else:
        cols = [by, "pieces", "readers", "follow_rate", "follow_rate_lo", "follow_rate_hi", "share_rate",
                "share_rate_lo", "share_rate_hi", "conversion_rate"]
    table(rows, [c for c in cols if rows and c in rows[0]],
          f"{_label('pieces_title', lang)}{_colon(lang)}{len(res):,}", lang)


@content_app.command("flags")
@content_options
def flags_cmd(
    *,
    margin: float = typer.Option(0.5, "--margin", help="How far from the baseline a rate must credibly be "
                                 "(0.5: below half / above 1.5 times)."),
    top_share: float = typer.Option(0.2, "--top-share", help="Wrong audience: reads in this top share of the group."),
    workspace, events, engine, fmt, date_from, date_to, lang, baseline, level, window_hours,
):
    """Pieces to act on: wrong_audience, under_distributed (push again), shares_without_follows — with evidence."""
    _fit_imports()
    from ..analyses.content import FlagsSpec, flags

    check_format(fmt)
    spec = FlagsSpec.build(baseline=baseline, level=level, window_hours=window_hours, margin=margin,
                           top_share=top_share, **_spec_dates(date_from, date_to))
    res = _run(flags, spec, workspace, events, engine, fmt)
    if res is None:
        return
    rows = res.to_dict()["flags"]
    table(rows, ["flag", "content_id", "title", "baseline_group", "reads", "metric", "rate", "shrunk_rate", "interval",
                 "baseline"], f"{_label('flags_title', lang)}{_colon(lang)}{len(rows)}", lang, kind="content_flags")


@content_app.command("timing")
@content_options
def timing_cmd(
    *,
    by: str = typer.Option("weekday", "--by", help="weekday, hour or weekday_hour (of publishing)."),
    workspace, events, engine, fmt, date_from, date_to, lang, level,
):
    """Readers per piece and follow rate by weekday / hour of publishing, with intervals."""
    from ..analyses.content.timing import TimingSpec, timing

    check_format(fmt)
    spec = TimingSpec.build(dimension=by, level=level, **_spec_dates(date_from, date_to))
    res = _run(timing, spec, workspace, events, engine, fmt)
    if res is None:
        return
    rows = res.records()
    table(rows, list(rows[0]) if rows else [], _label("timing_title", lang), lang, kind="content_timing")
    source = "catalogue" if res.meta["publish_time_source"] == "catalogue" else "first_view"
    console.print(f"({_label('publish_time_' + source, lang)})")


@content_app.command("forecast")
@content_options
def forecast_cmd(
    content_id: str = typer.Argument(..., help="The piece's content id."),
    *,
    hours: Optional[float] = typer.Option(None, "--hours", help="Forecast from the first HOURS after publishing "
                                          "(default: all seen so far)."),
    horizon: float = typer.Option(168.0, "--horizon-hours", help="Forecast readers at this many hours (168 = 7 days)."),
    interval: float = typer.Option(0.8, "--interval", help="Level of the prediction interval."),
    workspace, events, engine, fmt, date_from, date_to, lang, baseline,
):
    """Readers at 7 days from a piece's first hours, from the account's own growth curves (coverage reported)."""
    from ..analyses.content.forecast import ForecastSpec, forecast

    check_format(fmt)
    spec = ForecastSpec.build(content_id=content_id, hours=hours, horizon_hours=horizon, level=interval,
                              baseline=baseline, **_spec_dates(date_from, date_to))
    res = _run(forecast, spec, workspace, events, engine, fmt)
    if res is None:
        return
    m = res.meta
    table(res.records(), ["hours", "readers"], f"{_label('forecast_title', lang)}{_colon(lang)}{content_id}", lang)
    row = {"readers": m["readers_so_far"], "hours": m["hours_seen"], "forecast": m["forecast"],
           "forecast_lo": m["interval"][0], "forecast_hi": m["interval"][1], "coverage": m["validation"]["coverage"]}
    if "actual" in m:
        row["actual"] = m["actual"]
    table([row], list(row), f"{m['group']}{_colon(lang)}{_label('pieces', lang)} {m['history_pieces']}", lang)


def referrals_cmd(
    *,
    by: str = typer.Option("piece", "--by", help="piece or campaign."),
    inviter_property: Optional[str] = typer.Option(None, "--inviter-property", help="Signup property naming the "
                                                   "inviter (default: inviter, referrer, inviter_id …)."),
    workspace: Optional[Path] = WorkspaceOpt, events: Optional[Path] = EventsOpt, engine: Optional[str] = EngineOpt,
    fmt: str = FormatOpt, date_from: Optional[str] = FromOpt, date_to: Optional[str] = ToOpt, lang: Optional[str] = LangOpt,
):
    """Sharing (分享裂变): K-factor, share-tree generations, new users per share, per piece or campaign."""
    from ..analyses.content.referrals import ReferralSpec, referrals

    check_format(fmt)
    spec = ReferralSpec.build(by=by, inviter_property=inviter_property, **_spec_dates(date_from, date_to))
    res = _run(referrals, spec, workspace, events, engine, fmt)
    if res is None:
        return
    m = res.meta
    table([{"signups_total": m["signups"], "referred_signups": m["referred_signups"], "inviters": m["inviters"],
            "k_factor": m["k_factor"], "new_users_per_inviter": m["new_users_per_inviter"]}],
          ["signups_total", "referred_signups", "inviters", "k_factor", "new_users_per_inviter"],
          _label("referrals_title", lang), lang)
    table([{"generation": g, "signups_total": n} for g, n in m["generations"].items()], ["generation", "signups_total"],
          _label("generation", lang), lang)
    rows = res.records()[:30]
    table(rows, list(rows[0]) if rows else [], _label("content_id" if by == "piece" else "campaign", lang), lang)


def _import(kind: str, files: List[str], workspace: Optional[Path], fmt: str, **kw) -> None:
    from ..storage import content as store
    from .. import Workspace  # the package registers the engines (yunying/__init__.py)
    from .core import _print_report

    ws = Workspace.open(workspace or Path("."))
    try:
        rep = (store.import_catalogue if kind == "content" else store.import_stats)(ws, files, **kw)
    finally:
        ws.close()
    _print_report(rep, fmt)


def import_content(
    files: List[str] = typer.Argument(..., help="Catalogue files (.csv or .xlsx): one row per piece."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet of an .xlsx file (default: the first)."),
    workspace: Optional[Path] = WorkspaceOpt, fmt: str = typer.Option("table", "--format", "-f"),
):
    """Import the content catalogue: id, title, platform, account, author, topic, format, publish time, length.
    Columns in English, 简体 or 繁體; others kept. All or nothing; re-importing changes nothing."""
    _import("content", files, workspace, fmt, sheet=sheet)


def import_content_stats(
    files: List[str] = typer.Argument(..., help="Platform exports (.csv or .xlsx), per piece or per piece and day."),
    platform: Optional[str] = typer.Option(None, "--platform", help="wechat, douyin, xiaohongshu, zhihu or weibo "
                                           "(default: recognised from the headers or a platform column)."),
    sheet: Optional[str] = typer.Option(None, "--sheet", help="Sheet of an .xlsx file (default: the first)."),
    workspace: Optional[Path] = WorkspaceOpt, fmt: str = typer.Option("table", "--format", "-f"),
):
    """Import platform statistics exports (阅读人数, 分享人数, 新增关注, 播放量, 完播率 …). A row replaces the stored
    row of the same platform, piece and day. All or nothing; re-importing changes nothing."""
    _import("content_stats", files, workspace, fmt, platform=platform, sheet=sheet)


def register(app: typer.Typer) -> None:
    from .core import import_app

    app.add_typer(content_app, name="content")
    app.command("referrals")(referrals_cmd)
    import_app.command("content")(import_content)
    import_app.command("content-stats")(import_content_stats)
