"""An Excel copy of the demo's spend (``data/spend.xlsx``), as an ad platform exports it: Chinese headers,
Excel dates, numbers as numbers — so `yunying import spend data/spend.xlsx` can be tried on the demo."""
from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

# spend.csv column -> the header an ad platform's Chinese export uses (model/aliases.py recognises them)
HEADERS = {"date": "日期", "channel": "渠道", "campaign": "计划", "placement": "广告位", "cost": "消耗",
           "currency": "币种", "impressions": "展示", "reads": "阅读", "clicks": "点击"}


def write_spend_xlsx(csv_path: Path, xlsx_path: Path) -> Path:
    import xlsxwriter

    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    wb = xlsxwriter.Workbook(str(xlsx_path))
    ws = wb.add_worksheet("消耗")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    columns = [c for c in HEADERS if rows and c in rows[0]]
    ws.write_row(0, 0, [HEADERS[c] for c in columns])
    for r, row in enumerate(rows, start=1):
        for c, name in enumerate(columns):
            value = row[name]
            if name == "date":
                ws.write_datetime(r, c, dt.datetime.fromisoformat(value), date_fmt)
            elif value == "":
                continue
            elif name in ("cost", "impressions", "reads", "clicks"):
                ws.write_number(r, c, float(value) if name == "cost" else int(value))
            else:
                ws.write_string(r, c, value)
    wb.close()
    return xlsx_path
