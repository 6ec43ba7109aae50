"""The report as an Excel workbook (xlsxwriter): a sheet per section with its tables, native Excel charts,
number formats (percent, money with the currency, thousands, percentage points), frozen headers and column
widths. Values stay numbers (a rate is 0.125 shown as 12.5%), so the workbook can be recomputed."""
from __future__ import annotations

import re
from pathlib import Path

from ..format import PVALUE_FORMAT
from ..i18n import label
from .html import GOOD, BAD, GREY, PALETTE, cell_kind
from .model import Chart, Report, Section, Table

FORMATS = {
    "count": "#,##0", "number": "#,##0.00", "rate": "0.0%", "change": "+0.0%;-0.0%;0.0%",
    "points": '+0.0" pp";-0.0" pp";0.0" pp"', "pvalue": PVALUE_FORMAT, "date": "@", "text": "@",
}
FORMATS["points_change"] = FORMATS["points"]


def _sheet_name(title: str, used: set) -> str:
    name = re.sub(r"[\[\]:*?/\\]", " ", title)[:31] or "sheet"
    base, k = name, 2
    while name.lower() in used:
        name = f"{base[:28]} {k}"
        k += 1
    used.add(name.lower())
    return name


class _Formats:
    def __init__(self, wb, currency: str):
        self.wb, self.cache = wb, {}
        self.money = f'"{currency} "#,##0.00' if currency else "#,##0.00"
        self.header = wb.add_format({"bold": True, "bg_color": "#F0F3F8", "bottom": 1, "text_wrap": True, "valign": "top"})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.wrap = wb.add_format({"text_wrap": True, "valign": "top"})

    def get(self, kind: str, tone: str | None = None):
        key = (kind, tone)
        if key not in self.cache:
            spec = {"num_format": self.money if kind == "money" else FORMATS.get(kind, "General")}
            if tone:
                spec.update(font_color=GOOD if tone == "good" else BAD, bold=True)
            self.cache[key] = self.wb.add_format(spec)
        return self.cache[key]


def _value(v, kind: str):
    if v is None:
        return None
    if kind in ("points", "points_change"):
        return v * 100.0  # shown with the " pp" format
    return v


def _write_table(ws, t: Table, row: int, fm: _Formats, widths: dict) -> tuple[int, int]:
    for j, c in enumerate(t.columns):
        ws.write(row, j, c.label, fm.header)
        widths[j] = max(widths.get(j, 8), min(40, len(c.label) * (2 if not c.label.isascii() else 1) + 2))
    first = row + 1
    for i, r in enumerate(t.rows):
        for j, c in enumerate(t.columns):
            kind = cell_kind(c, r)
            v = _value(r.get(c.key), kind)
            tone = r.get(t.tone_key) if t.tone_key and kind in ("change", "points", "points_change") else None
            if v is None:
                ws.write_blank(first + i, j, None, fm.get(kind))
            elif isinstance(v, (int, float)) and kind not in ("text", "date"):
                ws.write_number(first + i, j, v, fm.get(kind, tone))
            else:
                ws.write_string(first + i, j, str(v))
            text = str(v) if v is not None else ""
            widths[j] = max(widths.get(j, 8), min(60, len(text) * (2 if not text.isascii() else 1) + 4))
    return first, first + len(t.rows) - 1


def _chart(wb, sheet: str, ch: Chart, lang: str, cat_col: int, val_cols: list[int], first: int, last: int, fm):
    chart = wb.add_chart({"type": ch.kind})
    for k, (s, col) in enumerate(zip(ch.series, val_cols)):
        chart.add_series({"name": s.name, "categories": [sheet, first, cat_col, last, cat_col],
                          "values": [sheet, first, col, last, col], "fill": {"color": PALETTE[k % 4]},
                          "line": {"color": PALETTE[k % 4], "width": 2.25},
                          "marker": {"type": "circle"} if ch.kind == "line" else {"type": "none"},
                          **({"overlap": 100} if ch.incomplete is not None and ch.kind != "line" else {})})
    if ch.incomplete is not None:  # the period not over: its own hatched series, never part of the trend
        col = val_cols[-1] + 1
        chart.add_series({"name": label("report.to_date", lang), "categories": [sheet, first, cat_col, last, cat_col],
                          "values": [sheet, first, col, last, col],
                          "pattern": {"pattern": "wide_upward_diagonal", "fg_color": GREY, "bg_color": "#EEEEEE"}})
    num = fm.money if ch.value_kind == "money" else FORMATS.get(ch.value_kind, "General")
    chart.set_title({"name": ch.title, "name_font": {"size": 12}})
    chart.set_y_axis({"num_format": num, "major_gridlines": {"visible": True, "line": {"color": "#DDDDDD"}}})
    chart.set_legend({"position": "bottom"} if len(ch.series) > 1 or ch.incomplete is not None else {"none": True})
    chart.set_size({"width": 640, "height": 300})
    return chart


def _chart_data(ws, ch: Chart, lang: str, row: int, fm) -> tuple[int, int, list[int]]:
    """The chart's numbers as a small table under the section's tables (Excel charts point at cells)."""
    ws.write(row, 0, "", fm.header)
    for k, s in enumerate(ch.series):
        ws.write(row, 1 + k, s.name, fm.header)
    if ch.incomplete is not None:
        ws.write(row, 1 + len(ch.series), label("report.to_date", lang), fm.header)
    none = f'{label("sep.open", lang)}{label("no_data_row", lang)}{label("sep.close", lang)}'
    for i, c in enumerate(ch.categories):
        ws.write_string(row + 1 + i, 0, f"{c}{none}" if i in ch.no_data else c)  # before the data: no data
        for k, s in enumerate(ch.series):
            v = s.values[i]
            target = 1 + k if i != ch.incomplete else 1 + len(ch.series)
            if v is not None:
                ws.write_number(row + 1 + i, target, v, fm.get(ch.value_kind))
    return row + 1, row + len(ch.categories), [1 + k for k in range(len(ch.series))]


def _section_sheet(wb, report: Report, s: Section, fm: _Formats, used: set) -> None:
    name = _sheet_name(s.title, used)
    ws = wb.add_worksheet(name)
    widths: dict[int, int] = {}
    ws.write(0, 0, s.title, fm.title)
    row = 1
    for ptext in s.paragraphs + ([s.note] if s.note else []):
        ws.merge_range(row, 0, row, 7, ptext, fm.wrap)
        ws.set_row(row, 15 * max(1, len(ptext) // 90 + 1))
        row += 1
    header_row = None
    for t in s.tables:
        row += 1
        header_row = row if header_row is None else header_row
        _, last = _write_table(ws, t, row, fm, widths)
        row = last + 2
    if header_row is not None:
        ws.freeze_panes(header_row + 1, 1)
    chart_row = row + 1
    for ch in s.charts:
        first, last, cols = _chart_data(ws, ch, report.lang, chart_row, fm)
        for j in range(len(cols) + 2):
            widths[j] = max(widths.get(j, 8), 12)
        chart = _chart(wb, name, ch, report.lang, 0, cols, first, last, fm)
        ws.insert_chart(chart_row, len(cols) + 2, chart)
        chart_row += max(17, len(ch.categories) + 3)
    for j, w in widths.items():
        ws.set_column(j, j, w)


def write(report: Report, path: str | Path) -> Path:
    import xlsxwriter

    path = Path(path)
    wb = xlsxwriter.Workbook(str(path))
    fm = _Formats(wb, report.currency)
    used: set = set()
    about = wb.add_worksheet(_sheet_name(label("report.sheet.about", report.lang), used))
    about.write(0, 0, report.title, fm.title)
    p = report.period
    meta = label("report.meta", report.lang).format(first=p.start, last=p.end, prev_first=p.prev_start,
                                                     prev_last=p.prev_end, tz=report.timezone,
                                                     generated=report.generated_at)
    for i, text in enumerate([meta, *report.notes]):
        about.write(2 + i, 0, text, fm.wrap)
    about.set_column(0, 0, 120)
    for s in report.sections:
        _section_sheet(wb, report, s, fm, used)
    wb.close()
    return path
