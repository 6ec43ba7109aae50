"""A table for people as an Excel sheet: the one writer behind the dashboard's **Export Excel** and the CLI's
``--xlsx`` lists (``winback --xlsx``).

A table is what :func:`yunying.reports.columns.people_table` gives (``columns`` with ``key``, ``label`` and
``kind``; raw ``rows``; optional ``texts`` and ``tones``). In the sheet

* the header row holds the shown labels (never a snake_case key when the column has a label);
* numbers stay numbers (sums and charts work) in the number format of their kind (rates as ``0.0%``, money
  with two decimals in the column's ``currency`` — ``"CNY "#,##0.00`` — counts with thousands separators);
* text cells of kind ``text`` (yunying's own words: ``holdout``, ``high`` …) are written as people read them
  (``texts``), the user's own values (kind ``data``) as they are; text is never read as a formula;
* a change cell is green or red by whether up is good for that metric (``tones``: the colours of the page);
* ``kinds`` (optional, per row ``{key: kind}``) overrides a cell's kind: the overview's rate rows change in
  percentage points (written as points, ``-9.0 pp``) where the other rows change relatively (``+12.0%``).
"""
from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

from .format import PVALUE_FORMAT
from .weekly.html import BAD, GOOD

NUM_FORMATS = {"count": "#,##0", "days": "#,##0", "percent": "0.0%", "change": "+0.0%;-0.0%;0.0%", "signed": "+0.0%;-0.0%;0.0%",
               "points": '+0.0" pp";-0.0" pp";0.0" pp"', "money": "#,##0.00", "number": "#,##0.00", "pvalue": PVALUE_FORMAT}
TONE_COLOURS = {"good": GOOD, "bad": BAD}


def sheet_name(title: str) -> str:
    """A valid Excel sheet name: no ``[]:*?/\\``, at most 31 characters."""
    return re.sub(r"[\[\]:*?/\\]", " ", title or "table")[:31].strip() or "table"


class _Formats:
    def __init__(self, book):
        self.book, self.cache = book, {}
        self.head = book.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})

    def get(self, kind: str | None, tone: str | None = None, currency: str = ""):
        spec = {}
        if kind in NUM_FORMATS:
            spec["num_format"] = NUM_FORMATS[kind]
        if kind == "money" and currency:  # money in the workspace currency, as the page shows it
            spec["num_format"] = f'"{currency} "#,##0.00'
        if tone in TONE_COLOURS:
            spec.update(font_color=TONE_COLOURS[tone], bold=True)
        if not spec:
            return None
        key = tuple(sorted(spec.items()))
        if key not in self.cache:
            self.cache[key] = self.book.add_format(spec)
        return self.cache[key]


def write_sheet(book, title: str, table: dict, formats: _Formats | None = None) -> None:
    """Add one sheet named ``title`` holding ``table`` (see the module doc) to an xlsxwriter workbook."""
    formats = formats or _Formats(book)
    columns, rows = table["columns"], table["rows"]
    texts, tones, kinds = table.get("texts") or [], table.get("tones") or [], table.get("kinds") or []
    sheet = book.add_worksheet(sheet_name(title))
    for j, col in enumerate(columns):
        head = str(col.get("label") or col["key"])
        sheet.write_string(0, j, head, formats.head)
        sheet.set_column(j, j, max(10, min(40, len(head) * 1.6)), formats.get(col.get("kind"), None, _currency(col)))
    for i, row in enumerate(rows):
        shown = texts[i] if i < len(texts) and isinstance(texts[i], dict) else {}
        tone = tones[i] if i < len(tones) and isinstance(tones[i], dict) else {}
        own = kinds[i] if i < len(kinds) and isinstance(kinds[i], dict) else {}
        for j, col in enumerate(columns):
            key, kind = col["key"], own.get(col["key"]) or col.get("kind")
            fmt = formats.get(kind, tone.get(key), _currency(col)) if tone.get(key) or key in own else None
            _write(sheet, i + 1, j, row.get(key), kind, shown.get(key), fmt)
    sheet.freeze_panes(1, 0)


def _currency(col: dict) -> str:
    """A money column's currency code (CNY, USD: letters only, so it cannot break the number format)."""
    code = str(col.get("currency") or "")
    return code if code.isalpha() and len(code) <= 5 else ""


def _write(sheet, i: int, j: int, v, kind: str | None, text: str | None, fmt) -> None:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return
    if isinstance(v, (int, float)) and not isinstance(v, bool) and kind not in ("text", "data"):
        v = v * 100 if kind == "points" else v  # a difference of rates in points: 0.09 → 9.0 pp
        sheet.write_number(i, j, v, fmt) if fmt else sheet.write_number(i, j, v)
        return
    if text is not None and (kind == "text" or isinstance(v, (bool, list, dict))):
        v = text  # yunying's own words as people read them (holdout → 对照组, True → 是)
    elif isinstance(v, (list, dict)):
        v = json.dumps(v, ensure_ascii=False)
    sheet.write_string(i, j, str(v), fmt) if fmt else sheet.write_string(i, j, str(v))


def write_tables(target, sheets: list[tuple[str, dict]]) -> None:
    """A workbook at ``target`` (a path or a binary file object) with one sheet per ``(title, table)``."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(target) if isinstance(target, (str, Path)) else target,
                               {"in_memory": True, "strings_to_numbers": False, "strings_to_formulas": False,
                                "strings_to_urls": False})
    formats = _Formats(book)
    for title, table in sheets:
        write_sheet(book, title, table, formats)
    book.close()


def table_bytes(title: str, table: dict) -> bytes:
    """One table as the bytes of a one-sheet workbook (the dashboard's Export Excel)."""
    buf = io.BytesIO()
    write_tables(buf, [(title, table)])
    return buf.getvalue()


def result_workbook(target, rows: list[dict], settings: dict, lang: str, *, analysis: str, title: str,
                    currency: str = "") -> None:
    """An analysis result as a workbook for people in ``lang``: its rows (sheet ``title``) under the catalogue's
    headers, and a settings sheet: each setting's name from the catalogue and its value in words."""
    from .columns import people_table
    from .i18n import label

    listing = people_table(rows, lang, analysis=analysis, currency=currency)
    table = {"columns": [{"key": "setting", "label": label("col.setting", lang), "kind": "data"},
                         {"key": "value", "label": label("col.value", lang), "kind": None}],
             "rows": settings_rows(settings, lang, analysis)}
    write_tables(target, [(title, listing), (label("sheet.settings", lang), table)])


def settings_rows(settings: dict, lang: str, analysis: str) -> list[dict]:
    """``{"setting", "value"}`` rows for people: names from the catalogue, yunying's words translated, filters as
    their text, a fitted model as its name then one row per parameter (``模型 · r``); empty settings left out."""
    from ..model import filters as F
    from .columns import column_label, text_value
    from .i18n import MESSAGES, label

    def said(v):
        if isinstance(v, bool):
            return label("yes" if v else "no", lang)
        if isinstance(v, str):
            return label(v, lang) if f"value.{v}" not in MESSAGES and v in MESSAGES else text_value(v, lang)
        return v if isinstance(v, (int, float)) else json.dumps(v, ensure_ascii=False, default=str)

    out = []
    for key, v in settings.items():
        if v is None or v == [] or v == {}:
            continue
        name = column_label(key, lang, analysis)
        if key == "filters" and isinstance(v, list):
            out.append({"setting": name, "value": " AND ".join(F.to_text(F.from_json(t)) for t in v)})
        elif isinstance(v, dict) and "name" in v:  # a fitted model: its name, then its parameters
            out.append({"setting": name, "value": said(v["name"])})
            out += [{"setting": f"{name} · {text_value(p, lang)}", "value": x["value"]} for p, x in v.items()
                    if isinstance(x, dict) and isinstance(x.get("value"), (int, float))]
        else:
            out.append({"setting": name, "value": said(v)})
    return out
