"""Excel ``.xlsx`` sheets as typed columns (openpyxl), written to a Parquet copy DuckDB scans.

The header is the first non-empty row; each column keeps its Excel type when all its cells share one
(dates and date-times → TIMESTAMP, whole numbers → BIGINT, other numbers → DOUBLE, TRUE/FALSE → BOOLEAN),
else its cells become text (numbers without a spurious ``.0``, dates in ISO 8601). Empty rows are skipped;
the sheet row of every data row is kept for error messages.
"""
from __future__ import annotations

import datetime as dt
import zipfile

from ..errors import InputFileError, Said

_INT64 = 2 ** 63


def _pick(wb, path: str, sheet: str | None):
    sheets = wb.worksheets
    if not sheets:
        raise InputFileError(key="sheets.workbook_has_no_worksheet", path=path)
    names = [s.title for s in sheets]
    if sheet is None:
        visible = [s for s in sheets if getattr(s, "sheet_state", "visible") == "visible"] or sheets
        return visible[0], len(sheets)
    if sheet in names:
        return sheets[names.index(sheet)], len(sheets)
    if sheet.strip().isdigit() and 1 <= int(sheet) <= len(sheets):
        return sheets[int(sheet) - 1], len(sheets)
    raise InputFileError(key="sheets.no_sheet_sheets_sheet", path=path, sheet=sheet, value=', '.join(repr(n) for n in names))


def _text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < _INT64:
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    return str(value)


def _column(values: list):
    """An Arrow array: one Excel type for the whole column, else text."""
    import pyarrow as pa

    kinds = {type(v) for v in values if v is not None}
    if kinds and kinds <= {dt.datetime}:
        return pa.array(values, pa.timestamp("us"))
    if kinds and kinds <= {dt.date}:
        return pa.array(values, pa.date32())
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds and kinds <= {int, float}:
        if all(v is None or (float(v).is_integer() and abs(v) < _INT64) for v in values):
            return pa.array([None if v is None else int(v) for v in values], pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    return pa.array([None if v is None or (isinstance(v, str) and not v.strip()) else _text(v) for v in values],
                    pa.string())


def _header(row: tuple, path: str, sheet_row: int) -> list[str]:
    names, seen = [], set()
    for i, value in enumerate(row, start=1):
        name = _text(value).strip() if value is not None else ""
        name = name or f"column{i}"
        base, n = name, 1
        while name in seen:
            name, n = f"{base}_{n}", n + 1
        seen.add(name)
        names.append(name)
    return names


def read_sheet(path: str, sheet: str | None, out: str) -> tuple[str, int, list[int] | None, str]:
    """Write the sheet to the Parquet file ``out``; return its name, the header's sheet row, the sheet row of
    each data row (None when they follow the header without gaps) and a note for the import report."""
    import openpyxl
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise InputFileError(key="sheets.cannot_read_as_excel", path=path, exc=exc) from None
    try:
        ws, count = _pick(wb, path, sheet)
        header, header_row, columns, rows = None, 0, [], []
        for sheet_row, row in enumerate(ws.iter_rows(values_only=True), start=1):
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in row):
                continue
            if header is None:
                width = max(i for i, v in enumerate(row, start=1) if v is not None and str(v).strip())
                header, header_row = _header(row[:width], path, sheet_row), sheet_row
                columns = [[] for _ in header]
                continue
            extra = [v for v in row[len(header):] if v is not None and str(v).strip()]
            if extra:
                raise InputFileError(key="sheets.sheet_row_has_value", path=path, title=ws.title, sheet_row=sheet_row, n_header=len(header), value=_text(extra[0]))
            for i, col in enumerate(columns):
                col.append(row[i] if i < len(row) else None)
            rows.append(sheet_row)
        title = ws.title
    finally:
        wb.close()
    if header is None:
        raise InputFileError(key="sheets.sheet_empty_expected_header", path=path, title=title)
    table = pa.Table.from_arrays([_column(c) for c in columns], names=header)
    pq.write_table(table, out)
    contiguous = not rows or rows[-1] - rows[0] == len(rows) - 1 and rows[0] == header_row + 1
    note = Said("import.note.sheet_of", title=title, count=count) if sheet is None and count > 1 else \
        Said("import.note.sheet", title=title)
    return title, header_row, None if contiguous else rows, note
