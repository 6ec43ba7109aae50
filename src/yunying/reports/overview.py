"""The operations overview as a terminal summary and a self-contained HTML page."""
from __future__ import annotations

import html
import math
from pathlib import Path

from rich.table import Table

from .format import change as fmt_change, money
from .columns import cell_tone, column_kind
from .i18n import MESSAGES, label
from .view import SECTION_LABEL, overview_notes, overview_parts


def section_title(section: str, lang: str) -> str:
    return label(SECTION_LABEL.get(section, section), lang)


def print_overview(data: dict, console, lang: str = "en") -> None:
    """The overview in a terminal, in ``lang``: labels from the catalogue, rate changes in pp."""
    cur = data.get("currency", "")
    console.print(f"[bold]{label('overview', lang)}[/] — {label('week_of', lang)} {data.get('week')} – "
                  f"{data.get('week_end')} · {label('vs_previous', lang)} {data.get('previous_week') or ''}"
                  f"{label('sep.open', lang)}{data.get('timezone')}{label('sep.close', lang)}")
    table = Table(show_lines=False)
    for col, just in (("", "left"), ("col.metric_label", "left"), ("col.current", "right"),
                      ("col.previous", "right"), ("col.overview.change", "right")):
        table.add_column(label(col, lang) if col else "", justify=just)  # the first: the section, beside each group
    kpis, _ = overview_parts(data, lang, cur)
    last = None
    for k in kpis:
        sec = section_title(k["section"], lang) if k["section"] != last else ""
        last = k["section"]
        style = {"good": "green", "bad": "red"}.get(k["tone"], "")
        table.add_row(sec, k["label"], k["value"], k["previous"], f"[{style}]{k['change']}[/]" if style else k["change"])
    console.print(table)
    chans = data.get("channels") or []
    if chans:
        t2 = Table(title=label("phrase.overview_channels", lang))
        for col in ("col.channel", "col.new_users", "col.change", "col.spend", "col.cost_per_registration"):
            t2.add_column(label(col, lang), justify="left" if col == "col.channel" else "right")
        for c in sorted(chans, key=lambda c: -c["new_users"]):
            style = {"good": "green", "bad": "red"}.get(cell_tone(c["change"], "up"), "")
            change = fmt_change(c["change"], lang)
            t2.add_row(c["channel"], f"{c['new_users']:,}", f"[{style}]{change}[/]" if style else change,
                       money(c["spend"], cur, lang), money(c["cost_per_registration"], cur, lang))
        console.print(t2)
    for note in overview_notes(data, lang, None):
        console.print(note)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_overview_html(engine, result, path: Path, extra_sections: list[str] | None = None,
                        lang: str = "en") -> Path:
    """A single HTML file in ``lang`` (plotly.js inlined once, so it works offline)."""
    from ..analyses.trends import trends
    from ..analyses.users import new_users, revenue
    from .figures import translate

    data = result.to_dict()
    cur = data.get("currency", "")
    kpis, _ = overview_parts(data, lang, cur)
    e = html.escape
    cards = "".join(
        f'<div class="card" data-metric="{k["key"]}"><div class="sec">{e(section_title(k["section"], lang))}</div>'
        f'<div class="label">{e(k["label"])}</div><div class="value">{e(k["value"])}</div>'
        f'<div class="change {k["tone"]}">{e(k["change"])} <span class="prev">{e(label("vs_previous", lang))} '
        f'{e(k["previous"])}</span></div></div>' for k in kpis)
    figs = [
        (trends(engine, active=True, measure="users", interval="day").chart(), "phrase.daily_active_users"),
        (new_users(engine, interval="week", by_channel=True).chart(), "phrase.overview_channels_weekly"),
        (revenue(engine, interval="week").chart(), "phrase.revenue_weekly"),
    ]
    charts = []
    for fig, title in figs:
        fig = fig.update_layout(title=label(title, lang))
        charts.append(type(fig)(translate(fig.to_plotly_json(), lang)).to_html(full_html=False,
                                                                                include_plotlyjs=False))
    head = "".join(f"<th>{e(label(c, lang))}</th>" for c in ("col.channel", "col.new_users", "col.change",
                                                                "col.spend", "col.cost_per_registration"))
    rows = "".join(
        f"<tr><td>{e(c['channel'])}</td><td>{c['new_users']:,}</td>"
        f"<td class=\"{cell_tone(c['change'], 'up')}\">{e(fmt_change(c['change'], lang))}</td>"
        f"<td>{e(money(c['spend'], cur, lang))}</td>"
        f"<td>{e(money(c['cost_per_registration'], cur, lang))}</td></tr>"
        for c in sorted(data.get("channels", []), key=lambda c: -c["new_users"]))
    notes = "".join(f'<p class="note">{e(n)}</p>' for n in overview_notes(data, lang, None))
    page = f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{e(label("overview", lang))} · yunying</title>
<script>{_plotly_js()}</script>
<style>
body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}}
.card{{border:1px solid #ddd;border-radius:8px;padding:12px}} .sec{{font-size:12px;color:#888}}
.value{{font-size:26px;font-weight:600;margin:6px 0}} .good{{color:#0a7}} .bad{{color:#c33}}
.prev{{color:#888;font-size:12px}} table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #eee;padding:4px 10px;text-align:right}}
td:first-child,th:first-child{{text-align:left}} .note{{background:#fff8c5;padding:6px 10px}}
</style></head><body>
<h1>{e(label("overview", lang))}</h1>
<p>{e(label("week_of", lang))} {data['week']} – {data['week_end']} · {e(label("vs_previous", lang))} {data['previous_week']}
({e(str(data['timezone']))}; docs/overview.md)</p>
{notes}
<div class="cards">{cards}</div>
<h2>{e(label("phrase.overview_channels", lang))}</h2>
<table><tr>{head}</tr>{rows}</table>
{''.join(charts)}
{''.join(extra_sections or [])}
</body></html>"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def write_overview_xlsx(result, path: Path, lang: str = "en") -> Path:
    """The overview as an Excel workbook in ``lang``: a metrics sheet and a channels sheet."""
    import pandas as pd

    from .weekly.html import BAD, GOOD

    data = result.to_dict()
    kpis, _ = overview_parts(data, lang, data.get("currency", ""))
    metrics = pd.DataFrame([{label("col.section", lang): section_title(k["section"], lang),
                             label("col.metric_label", lang): k["label"],
                             label("col.current", lang): m["current"], label("col.previous", lang): m["previous"],
                             label("col.overview.change", lang): k["change"]}
                            for k, m in zip(kpis, data["metrics"])])
    channels = pd.DataFrame(data.get("channels") or [])
    path = Path(path)
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        sheet_name = label("overview", lang)
        metrics.to_excel(xw, sheet_name=sheet_name, index=False, startrow=2)
        sheet = xw.sheets[sheet_name]
        sheet.write(0, 0, f"{label('overview', lang)}{label('sep.colon', lang)}{label('week_of', lang)} {data['week']} – {data['week_end']} "
                          f"({data['timezone']}, {data['currency']})")
        sheet.set_column(0, 1, 30)
        sheet.set_column(2, 4, 16)
        tones = {t: xw.book.add_format({"font_color": colour, "bold": True}) for t, colour in (("good", GOOD), ("bad", BAD))}
        nums = {kind: xw.book.add_format({"num_format": f}) for kind, f in XLSX_FORMATS.items()}
        for i, (k, m) in enumerate(zip(kpis, data["metrics"])):  # numbers as numbers, in their kind's format
            for j, v in ((2, m["current"]), (3, m["previous"])):
                if isinstance(v, (int, float)) and math.isfinite(v):
                    sheet.write_number(3 + i, j, v, nums.get(m.get("kind"), nums["float"]))
            if k["tone"]:  # the change in the colour of its metric's direction
                sheet.write_string(3 + i, 4, k["change"], tones[k["tone"]])
        if not channels.empty:
            change = list(channels.columns).index("change") if "change" in channels.columns else None
            raw, raw_names, raw_frame = [c.get("change") for c in data["channels"]], list(channels.columns), channels
            channels = channels.rename(columns={c: label(f"col.{c}", lang) if f"col.{c}" in MESSAGES else c
                                                for c in channels.columns})
            channels.to_excel(xw, sheet_name=label("channels", lang), index=False)
            sheet = xw.sheets[label("channels", lang)]
            for j, name in enumerate(raw_names):
                kind = {"money": "money", "count": "count"}.get(column_kind(name, list(raw_frame[name])))
                sheet.set_column(j, j, 14, nums[kind] if kind else None)
            for i, v in enumerate(raw if change is not None else []):
                if isinstance(v, (int, float)) and math.isfinite(v):
                    fmt = {"num_format": XLSX_FORMATS["rate"]} | ({"font_color": GOOD if cell_tone(v, "up") == "good"
                                                                     else BAD, "bold": True} if cell_tone(v, "up") else {})
                    sheet.write_number(1 + i, change, v, xw.book.add_format(fmt))
    return path


# Excel number formats of the overview's kinds (the numbers stay numbers: sums and charts work).
XLSX_FORMATS = {"rate": "0.0%", "money": "#,##0.00", "count": "#,##0", "float": "#,##0.0", "seconds": "#,##0"}
