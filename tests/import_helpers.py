"""Helpers of the import-format tests (tests/test_import_*.py): workspaces and their tables, compared."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import yunying
from yunying.config import WorkspaceConfig


def workspace(root: Path, name: str, tz: str = "Asia/Shanghai"):
    return yunying.Workspace.init(root / name, WorkspaceConfig(name=name, timezone=tz, import_timezone=tz))


def table(ws, name: str) -> list[tuple]:
    """Every row of a workspace table, in a fixed order (all columns: keys included)."""
    cols = [r[0] for r in ws.con.execute(f"DESCRIBE {name}").fetchall()]
    order = ", ".join(f'"{c}"' for c in cols)
    return ws.con.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()


def users_table(ws) -> list[tuple]:
    return ws.con.execute("SELECT user_id, name, email, phone, gender, city, province, country, properties "
                          "FROM users ORDER BY user_id").fetchall()


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, delimiter=delimiter, lineterminator="\n")
        for row in rows:
            w.writerow(["" if v is None else v.isoformat(sep=" ") if isinstance(v, dt.datetime)
                        else v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list]], blank_rows_after: dict[str, list[int]] | None = None) -> Path:
    """An .xlsx workbook (xlsxwriter): dates and date-times as Excel dates, numbers as numbers. ``blank_rows_after``:
    per sheet, data-row indexes after which an empty sheet row is left."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ts_fmt = wb.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for name, rows in sheets.items():
        ws = wb.add_worksheet(name)
        r = 0
        for i, row in enumerate(rows):
            for c, v in enumerate(row):
                if isinstance(v, dt.datetime):
                    ws.write_datetime(r, c, v, ts_fmt)
                elif isinstance(v, dt.date):
                    ws.write_datetime(r, c, dt.datetime.combine(v, dt.time()), date_fmt)
                elif v is not None:
                    ws.write(r, c, v)
            r += 1
            if i - 1 in (blank_rows_after or {}).get(name, []):
                r += 1
    wb.close()
    return path
