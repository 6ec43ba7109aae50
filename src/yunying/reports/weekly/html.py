"""The report as one self-contained HTML page (inline CSS and SVG charts, no scripts), laid out for A4 print:
what ``--html`` writes, what the PDF is printed from and what the e-mail carries."""
from __future__ import annotations

import html as _h

from .. import format as fmt
from ..i18n import label
from .model import Chart, Column, Report, Table

GOOD, BAD, GREY, INK = "#1a7f37", "#c62828", "#9e9e9e", "#2f5597"
PALETTE = ("#2f5597", "#9db4de", "#e09f3e", "#7a9e7e")


def cell_kind(col: Column, row: dict) -> str:
    """The kind of one cell: a metric column takes its row's kind (money, count, rate …)."""
    if col.kind == "metric":
        return row.get("_kind", "number")
    if col.kind == "metric_change":  # a rate's change reads in points with the arrow of every other change
        kind = row.get("_change_kind", "change")
        return "points_change" if kind == "points" else kind
    return col.kind


def cell_text(v, kind: str, currency: str, lang: str = "en") -> str:
    if v is None:
        return fmt.missing(lang) if kind not in ("text", "date") else ""
    if isinstance(v, float) and abs(v) < 5e-7 and kind != "pvalue":
        v = 0.0  # no "-0.00" from a sum that closes on zero (a p-value of 1.9e-09 is not zero)
    if kind == "money":
        return fmt.money(v, currency)
    if kind == "count":
        return fmt.count(v)  # whole: an estimated 324.17 incremental purchases read 324
    if kind == "rate":
        return fmt.percent(v)
    if kind == "change":
        return fmt.change(v)
    if kind == "points":
        return fmt.points(v)
    if kind == "points_change":
        return fmt.points_change(v)
    if kind == "pvalue":  # the one rule: scientific below 0.001 (1.9e-09), as the dashboard and Excel
        return fmt.pvalue(v, lang)
    if kind == "number":
        return fmt.number(v, 2)
    return str(v)


def _table(t: Table, currency: str, lang: str = "en") -> str:
    head = "".join(f"<th>{_h.escape(c.label)}</th>" for c in t.columns)
    body = []
    for r in t.rows:
        cells = []
        for c in t.columns:
            kind = cell_kind(c, r)
            cls = "num" if kind not in ("text", "date") else ""
            if kind in ("change", "points", "points_change") and t.tone_key and r.get(t.tone_key):
                cls += " " + r[t.tone_key]
            cells.append(f"<td class='{cls.strip()}'>{_h.escape(cell_text(r.get(c.key), kind, currency, lang))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    title = f"<h3>{_h.escape(t.title)}</h3>" if t.title else ""
    return f"{title}<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _short(v: float, kind: str, lang: str = "en") -> str:
    """An axis tick: 120k in English, 120,000 in Chinese (k and M are not how 简体/繁體 readers count).

    >>> _short(120000, "money"), _short(120000, "money", "zh-Hans"), _short(0.25, "rate"), _short(2500, "count")
    ('120k', '120,000', '25%', '2,500')
    """
    if kind == "rate":
        return f"{v * 100:.3g}%"
    a = abs(v)
    if lang != "en" or a < 1e4:
        return f"{v:,.0f}"
    return f"{v / 1e6:.3g}M" if a >= 1e6 else f"{v / 1e3:.3g}k"


def nice_top(v: float) -> float:
    """The axis maximum: the smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 or 10 × 10^k) at or above ``v``.

    >>> nice_top(9742), nice_top(0.753), nice_top(110)
    (10000.0, 0.8, 120.0)
    """
    import math

    if v <= 0:
        return 1.0
    base = 10 ** math.floor(math.log10(v))
    return next(float(round(m * base, 12)) for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * base >= v * (1 - 1e-12))


def svg_chart(ch: Chart, lang: str, width: int = 680, height: int = 230) -> str:
    """A column, bar or line chart as inline SVG. The incomplete category is hatched and labelled, not a drop."""
    vals = [v for s in ch.series for v in s.values if v is not None]
    top = nice_top(max(vals + [0.0]))
    left, right, y0, y1 = 56, 12, 28, height - 40
    n, k = max(len(ch.categories), 1), max(len(ch.series), 1)
    step = (width - left - right) / n
    y = lambda v: y1 - (y1 - y0) * (v / top)  # noqa: E731
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
           f"role='img'><title>{_h.escape(ch.title)}</title>",
           "<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
           f"<rect width='6' height='6' fill='#eee'/><line x1='0' y1='0' x2='0' y2='6' stroke='{GREY}' stroke-width='3'/>"
           "</pattern></defs>",
           f"<text x='{left}' y='16' font-size='13' font-weight='600' fill='#222'>{_h.escape(ch.title)}</text>"]
    for frac in (0, 0.25, 0.5, 0.75, 1):
        yy = y(top * frac)
        out.append(f"<line x1='{left}' x2='{width - right}' y1='{yy:.1f}' y2='{yy:.1f}' stroke='#ddd'/>"
                   f"<text x='{left - 6}' y='{yy + 4:.1f}' font-size='10' text-anchor='end' fill='#666'>"
                   f"{_short(top * frac, ch.value_kind, lang)}</text>")
    if ch.kind == "line":
        for si, s in enumerate(ch.series):
            pts = [(left + step * (i + 0.5), y(v)) for i, v in enumerate(s.values) if v is not None and i != ch.incomplete]
            if pts:
                out.append(f"<polyline fill='none' stroke='{PALETTE[si % 4]}' stroke-width='2' points='"
                           + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + "'/>")
                out += [f"<circle cx='{a:.1f}' cy='{b:.1f}' r='3' fill='{PALETTE[si % 4]}'/>" for a, b in pts]
    else:
        bw = step * 0.8 / k
        for si, s in enumerate(ch.series):
            for i, v in enumerate(s.values):
                if v is None:
                    continue
                x = left + step * i + step * 0.1 + bw * si
                fill = "url(#hatch)" if i == ch.incomplete else PALETTE[si % 4]
                out.append(f"<rect x='{x:.1f}' y='{y(v):.1f}' width='{bw:.1f}' height='{y1 - y(v):.1f}' fill='{fill}'/>")
    for i, c in enumerate(ch.categories):
        x = left + step * (i + 0.5)
        text = c[5:] if len(c) == 10 and c[4] == "-" else c  # dates: MM-DD
        out.append(f"<text x='{x:.1f}' y='{y1 + 14}' font-size='10' text-anchor='middle' fill='#444'>{_h.escape(text)}</text>")
        under = "report.to_date" if i == ch.incomplete else "no_data_row" if i in ch.no_data else None
        if under:  # a period not over ("to date"), or one before the data ("no data", not a zero)
            out.append(f"<text x='{x:.1f}' y='{y1 + 27}' font-size='10' text-anchor='middle' fill='{GREY}'>"
                       f"{_h.escape(label(under, lang))}</text>")
    if len(ch.series) > 1:
        lx = width - right - 150
        for si, s in enumerate(ch.series):
            out.append(f"<rect x='{lx + 75 * si}' y='6' width='10' height='10' fill='{PALETTE[si % 4]}'/>"
                       f"<text x='{lx + 75 * si + 14}' y='15' font-size='10' fill='#444'>{_h.escape(s.name)}</text>")
    out.append("</svg>")
    return "".join(out)


CSS = f"""
@page {{ size: A4; margin: 14mm 12mm; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif;
  color: #222; font-size: 11.5px; max-width: 186mm; margin: 0 auto; }}
h1 {{ font-size: 20px; margin: 0 0 4px; }} h2 {{ font-size: 15px; margin: 18px 0 6px; border-bottom: 2px solid {INK};
  padding-bottom: 3px; break-after: avoid; }}
.meta {{ color: #666; margin-bottom: 8px; }} .notice {{ background: #fff4e5; border-left: 4px solid #e09f3e;
  padding: 6px 10px; margin: 8px 0; }}
section {{ break-inside: auto; }} table {{ border-collapse: collapse; width: 100%; margin: 6px 0 10px; break-inside: auto; }}
tr {{ break-inside: avoid; }} th {{ background: #f0f3f8; text-align: left; font-weight: 600; }}
th, td {{ border-bottom: 1px solid #e4e4e4; padding: 3px 6px; }} td.num {{ text-align: right; white-space: nowrap; }}
td.good {{ color: {GOOD}; font-weight: 600; }} td.bad {{ color: {BAD}; font-weight: 600; }}
.chart {{ break-inside: avoid; margin: 6px 0; }} .note {{ color: #666; font-style: italic; }}
"""


def render(report: Report) -> str:
    p, lang = report.period, report.lang
    L = lambda k: label(k, lang)  # noqa: E731
    meta = L("report.meta").format(first=p.start, last=p.end, prev_first=p.prev_start, prev_last=p.prev_end,
                                   tz=report.timezone, generated=report.generated_at)
    parts = [f"<h1>{_h.escape(report.title)}</h1><div class='meta'>{_h.escape(meta)}</div>"]
    parts += [f"<div class='notice'>{_h.escape(n)}</div>" for n in report.notes]
    for s in report.sections:
        body = [f"<h2>{_h.escape(s.title)}</h2>"]
        body += [f"<p>{_h.escape(t)}</p>" for t in s.paragraphs]
        body += [_table(t, report.currency, lang) for t in s.tables]
        body += [f"<div class='chart'>{svg_chart(c, lang)}</div>" for c in s.charts]
        if s.note:
            body.append(f"<p class='note'>{_h.escape(s.note)}</p>")
        parts.append(f"<section id='{_h.escape(s.key)}'>{''.join(body)}</section>")
    lang_attr = {"en": "en", "zh-Hans": "zh-Hans", "zh-Hant": "zh-Hant"}[lang]
    return (f"<!doctype html><html lang='{lang_attr}'><head><meta charset='utf-8'><title>{_h.escape(report.title)}"
            f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
