"""The content-operations (內容運營) section of the reports: the most-read pieces with their shrunk rates, the
flags with their evidence, topics compared (docs/content.md).

``content_section(engine, lang="en") -> (html_fragment, summary)``; labels from reports/labels/content.json,
numbers through reports/format.py.
"""
from __future__ import annotations

import html

from ..analyses.base import clean
from .format import count, percent
from .i18n import label, normalize_lang


def _table(rows: list[dict], cols: list[tuple[str, str]], lang: str) -> str:
    """``cols``: (key, kind) with kind text | count | rate | interval (a key's ``_lo``/``_hi``)."""
    e = html.escape
    head = "".join(f"<th>{e(label('content.' + ('title_col' if k == 'title' else k), lang))}"
                   f"{e(' ' + label('content.interval', lang)) if kind == 'interval' else ''}</th>" for k, kind in cols)
    body = []
    for r in rows:
        cells = []
        for k, kind in cols:
            if kind == "count":
                cells.append(f'<td class="num">{e(count(r.get(k), lang))}</td>')
            elif kind == "rate":
                cells.append(f'<td class="num">{e(percent(r.get(k), lang=lang))}</td>')
            elif kind == "interval":
                lo, hi = r.get(k + "_lo"), r.get(k + "_hi")
                cells.append(f'<td class="num">{e(percent(lo, lang=lang))} – {e(percent(hi, lang=lang))}</td>')
            elif kind == "flag":
                cells.append(f"<td>{e(label('content.' + str(r.get(k)), lang))}</td>")
            else:
                cells.append(f"<td>{e('' if r.get(k) is None else str(r.get(k)))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="numbers"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def content_section(engine, *, lang: str = "en", top: int = 15) -> tuple[str, dict]:
    """HTML section (top pieces, flags, topics) and its summary; a note instead when there is no content."""
    from ..analyses.content import ContentSpec, FlagsSpec
    from ..analyses.content.data import piece_table
    from ..analyses.content.flags import flags_from
    from ..analyses.content.funnel import content_from
    from ..errors import YunyingError

    lang = normalize_lang(lang)
    e = html.escape
    title = e(label("content.title", lang))
    try:
        base = piece_table(engine, ContentSpec())
        pieces = content_from(base, ContentSpec())
        found = flags_from(base, FlagsSpec())
    except YunyingError:
        return (f'<section id="content"><h2>{title}</h2><p>{e(label("content.no_data", lang))}</p></section>',
                {"pieces": 0})
    rows = pieces.records()[:top]
    by = "topic" if pieces.frame["topic"].notna().any() else None
    parts = [f'<section id="content"><h2>{title}</h2>',
             f"<h3>{e(label('content.pieces_title', lang))}</h3>",
             _table(rows, [("content_id", "text"), ("title", "text"), ("account", "text"),
                           ("readers", "count"), ("followers", "count"), ("follow_rate", "rate"),
                           ("follow_rate_shrunk", "rate"), ("follow_rate", "interval"), ("share_rate_shrunk", "rate"),
                           ("converters", "count")], lang)]
    fl = [{**f, "rate_lo": f["interval"][0], "rate_hi": f["interval"][1]} for f in found.to_dict()["flags"]]
    parts.append(f"<h3>{e(label('content.flags_title', lang))}</h3>")
    parts.append(_table(fl, [("flag", "flag"), ("content_id", "text"), ("title", "text"), ("reads", "count"),
                             ("rate", "rate"), ("shrunk_rate", "rate"), ("rate", "interval"), ("baseline", "rate")],
                        lang) if fl else "<p>–</p>")
    if by:
        topics = content_from(base, ContentSpec(by=by)).records()
        parts.append(f"<h3>{e(label('content.topic', lang))}</h3>")
        parts.append(_table(topics, [("topic", "text"), ("pieces", "count"), ("readers", "count"),
                                     ("follow_rate", "rate"), ("follow_rate", "interval"), ("share_rate", "rate"),
                                     ("share_rate", "interval")], lang))
    parts.append("</section>")
    summary = {"pieces": len(pieces.frame), "flags": found.meta["counts"], "top": clean(rows[:5])}
    return "".join(parts), summary


# ----------------------------------------------------------------------------- dashboard tables (people_table)

CONTENT_KINDS = ("content", "content_flags", "content_timing", "content_forecast", "referrals")
# The user's own names and ids: shown as they are (an empty one as –), never as numbers.
OWN = ("content_id", "title", "platform", "account", "author", "topic", "format")
FLAG_COLUMNS = ("flag", "content_id", "title", "baseline_group", "reads", "metric", "rate", "shrunk_rate",
                "interval_lo", "interval_hi", "baseline")


def content_rows(kind: str, rows: list[dict]) -> list[dict]:
    """The rows a content page table shows: a flag's interval as its two ends, its evidence in plain columns."""
    if kind != "content_flags":
        return rows
    out = []
    for f in rows:
        lo, hi = f.get("interval") or (None, None)
        out.append({k: f.get(k) for k in FLAG_COLUMNS} | {"interval_lo": lo, "interval_hi": hi})
    return out


def content_people_table(kind: str, rows: list[dict], lang: str, currency: str = "") -> dict:
    """A content page table for people (reports/columns.py), labels ``col.content.*``: own names as data, rates
    of a flag by kind, the metric and the source of counts in words, publishing times to the minute."""
    from .columns import people_table

    table = people_table(content_rows(kind, rows), lang, analysis="content", currency=currency)
    kinds = {c["key"]: c for c in table["columns"]}
    for key in OWN:
        if key in kinds:
            kinds[key]["kind"] = "data"
    shares = [k for k in ("baseline", "interval_lo", "interval_hi", "read_through") if k in kinds]
    for key in shares:
        kinds[key]["kind"] = "percent"
    for raw, texts in zip(table["rows"], table["texts"]):
        for key in OWN:
            if key in kinds:
                texts[key] = "–" if raw.get(key) in (None, "") else str(raw[key])
        for key in shares:
            texts[key] = percent(raw.get(key), lang=lang)  # the empty marker of the language (—), never n/a
        if isinstance(raw.get("metric"), str):
            texts["metric"] = label(f"content.{raw['metric']}", lang)
        if isinstance(raw.get("source"), str):
            texts["source"] = label(f"content.source_{raw['source']}", lang)
        if isinstance(raw.get("published_at"), str):
            texts["published_at"] = raw["published_at"][:16].replace("T", " ")
    return table
