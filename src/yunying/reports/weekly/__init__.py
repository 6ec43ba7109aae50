"""The weekly / monthly operations report (周報 / 月報): ``yunying report`` (docs/report.md).

``build_report`` gathers the sections (``sections.SECTIONS``) for a period; ``html.render``,
``xlsx.write`` and ``pdf.write`` turn it into a page, a workbook and an A4 PDF; ``send`` e-mails it through
an SMTP channel of yunying.toml.

The period: the last complete ISO week (or month) of the data by default, or the one starting ``start``.
A period the data does not cover to its end is **incomplete**: it is marked, its comparison is with the
same number of days of the previous period (like for like), and trend charts draw it apart ("to date"),
never as a drop. Trend periods that end before the first event have no value and read "no data", with a note
saying when the data start (as the CLI's tables and the dashboard, reports/view_periods.py#before_data).
"""
from __future__ import annotations

import datetime as dt

from ...analyses import metrics as M
from ...errors import SpecError
from ...sequences.calendar import next_period, period_start
from ..i18n import label, normalize_lang
from .model import Period, Report
from .sections import SECTIONS, Context, build_sections


def data_last_day(engine) -> dt.date:
    from ...analyses.explain import _last_day  # plain SQL on DuckDB (no Ibis import)

    last = _last_day(engine)
    if last is None:
        raise SpecError(key="weekly.report_no_events_this")
    return last.date() if isinstance(last, dt.datetime) else last


def data_first_day(engine) -> dt.date | None:
    """The local day of the earliest event (plain SQL on DuckDB, as :func:`data_last_day`)."""
    from ...analyses.sql import Query, plain_duckdb

    if plain_duckdb(engine):
        q = Query(engine)
        first = q.run(f"SELECT CAST(min({q.local()}) AS DATE) FROM events")[0][0]
    else:
        t = engine.events()
        first = engine.scalar(engine.local_ts(t.ts).min().date())
    return first.date() if isinstance(first, dt.datetime) else first


def choose_period(kind: str, last_day: dt.date, start: dt.date | None = None) -> Period:
    """The report's period: the one starting ``start``, else the last complete one up to ``last_day``.

    >>> p = choose_period("week", dt.date(2026, 3, 25), dt.date(2026, 3, 23))
    >>> p.complete, p.end, p.prev_start, p.prev_end
    (False, datetime.date(2026, 3, 25), datetime.date(2026, 3, 16), datetime.date(2026, 3, 18))
    >>> choose_period("month", dt.date(2026, 3, 25)).start
    datetime.date(2026, 2, 1)
    """
    if kind not in ("week", "month"):
        raise SpecError(key="weekly.period_must_week_month", kind=kind)
    if start is None:
        s = period_start(last_day, kind)
        if next_period(s, kind) - dt.timedelta(days=1) != last_day:  # the data's last period is not over
            s = period_start(s - dt.timedelta(days=1), kind)
    else:
        s = period_start(start, kind)
        if s > last_day:
            raise SpecError(key="weekly.report_starting_has_no", kind=kind, s=s, last_day=last_day)
    full_end = next_period(s, kind) - dt.timedelta(days=1)
    end = min(full_end, last_day)
    prev_start = period_start(s - dt.timedelta(days=1), kind)
    prev_full_end = s - dt.timedelta(days=1)
    prev_end = prev_full_end if end == full_end else min(prev_full_end, prev_start + (end - s))
    return Period(kind, s, end, prev_start, prev_end, end == full_end, full_end)


def build_report(ws, *, period: str = "week", lang: str = "en", start: dt.date | None = None,
                 explain_by: list[str] | None = None, sections=None) -> "Report":
    engine = ws.engine
    lang = normalize_lang(lang)
    last = data_last_day(engine)
    p = choose_period(period, last, start)
    cfg = ws.config
    first = data_first_day(engine)
    ctx = Context(engine, p, lang, cfg.currency, M.catalog(engine), workspace_path=ws.path, explain_by=explain_by,
                  data_last_day=last, data_first_day=first)
    title = label(f"report.title.{period}", lang).format(name=cfg.name)
    notes = []
    if not p.complete:
        notes.append(label("report.incomplete", lang).format(last=p.end, days=p.days))
    if first is not None and first > p.end:  # data shorter than a period: the last complete one is before them
        notes.append(label("report.before_data", lang).format(first=first))
    built = build_sections(ctx, sections)
    if any(ch.no_data for sec in built for ch in sec.charts):  # a trend reaching back before the data: no data there
        notes.append(label("no_data_before", lang).format(date=first) + label("sep.period", lang))
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return Report(title, lang, p, cfg.name, engine.timezone, cfg.currency, now, built, notes)


__all__ = ["SECTIONS", "build_report", "choose_period"]


def to_dict(report: Report) -> dict:
    """The report as JSON-able data (raw values; what ``--format json`` prints)."""
    import dataclasses

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items() if not str(k).startswith("_")}
        if isinstance(v, list):
            return [clean(x) for x in v]
        if isinstance(v, (dt.date, dt.datetime)):
            return v.isoformat()
        if isinstance(v, float) and v != v:
            return None
        return v

    return clean(dataclasses.asdict(report))


def email_channel(cfg, name: str | None):
    """The SMTP channel to send with: ``name``, else the only ``type = "email"`` channel of yunying.toml."""
    mails = {k: c for k, c in cfg.channels.items() if c.type == "email"}
    if name is not None:
        if name not in mails:
            raise SpecError(key="weekly.channel_no_email_channel", name=name, mails=sorted(mails) or 'none')
        return mails[name]
    if len(mails) != 1:
        raise SpecError(key="weekly.email_needs_smtp_channel") if not mails else \
            SpecError(key="weekly.several_email_channels", mails=", ".join(sorted(mails)))
    return next(iter(mails.values()))


def send(report: Report, channel, to: list[str], page_html: str, attachments) -> None:
    """E-mail the report: the HTML page as the body (a plain-text headline as the alternative), files attached."""
    from ..alerts.channels import DeliveryError, send_email

    head = next((s for s in report.sections if s.key == "headline"), None)
    lines = [report.title, ""]
    if head and head.tables:
        from .html import cell_kind, cell_text

        t = head.tables[0]
        for r in t.rows:
            lines.append(" · ".join(cell_text(r.get(c.key), cell_kind(c, r), report.currency, report.lang)
                                    for c in t.columns))
    lines += [""] + report.notes
    for attempt in range(channel.retries):
        try:
            send_email(channel, report.title, "\n".join(lines), page_html, to=to, attachments=attachments)
            return
        except DeliveryError as exc:
            error = str(exc)
    raise SpecError(key="weekly.report_could_e_mailed", retries=channel.retries, error=error)
