"""Content catalogue files and platform statistics exports (docs/content.md#imports).

A file is read as text cells (.csv in UTF-8 or GB18030; .xlsx with openpyxl, the first sheet unless one is
named), its header row found (platform exports often start with a title line), its column names recognised in
English, 简体 and 繁體, and each cell checked: a bad number or date is an error naming the file, the row (as
the spreadsheet numbers it) and the column. Columns yunying does not know are kept, as a JSON object per row.
"""
from __future__ import annotations

import csv
import datetime as _dt
import json
import re
from pathlib import Path

from ..errors import InputFileError

# canonical field -> names recognised (compared after lower-casing and removing spaces, _ and -)
CATALOGUE_FIELDS: dict[str, tuple[str, ...]] = {
    "content_id": ("content_id", "id", "contentid", "article_id", "item_id", "video_id", "note_id", "內容id",
                   "内容id", "文章id", "作品id", "筆記id", "笔记id", "視頻id", "视频id"),
    "title": ("title", "標題", "标题", "作品名稱", "作品名称", "文章標題", "文章标题", "筆記標題", "笔记标题", "視頻標題", "视频标题"),
    "platform": ("platform", "平台", "渠道"),
    "account": ("account", "帳號", "账号", "公眾號", "公众号", "賬號"),
    "author": ("author", "作者", "編輯", "编辑"),
    "topic": ("topic", "選題", "选题", "主題", "主题", "分類", "分类", "欄目", "栏目"),
    "tags": ("tags", "tag", "標籤", "标签", "話題", "话题"),
    "format": ("format", "形式", "內容類型", "内容类型", "體裁", "体裁", "type"),
    "published_at": ("published_at", "publish_time", "published", "發表時間", "发表时间", "發佈時間", "发布时间",
                     "發布時間", "群發時間", "群发时间", "publishedat"),
    "length": ("length", "字數", "字数", "時長", "时长", "duration", "words", "時長秒", "时长秒"),
}
STATS_FIELDS: dict[str, tuple[str, ...]] = {
    "content_id": CATALOGUE_FIELDS["content_id"],
    "title": CATALOGUE_FIELDS["title"],
    "published_at": CATALOGUE_FIELDS["published_at"],
    "platform": CATALOGUE_FIELDS["platform"],
    "date": ("date", "day", "日期", "統計日期", "统计日期", "數據日期", "数据日期"),
    "delivered": ("delivered", "送達人數", "送达人数", "送達", "送达"),
    "impressions": ("impressions", "曝光量", "曝光", "展現量", "展现量", "推薦量", "推荐量", "曝光次數", "曝光次数"),
    "reads": ("reads", "readers", "閱讀人數", "阅读人数", "觀看人數", "观看人数", "播放人數", "播放人数"),
    "views": ("views", "plays", "閱讀次數", "阅读次数", "閱讀量", "阅读量", "播放量", "播放次數", "播放次数",
              "瀏覽量", "浏览量", "觀看次數", "观看次数"),
    "read_through": ("read_through", "completion_rate", "完讀率", "完读率", "完播率", "讀完率", "读完率"),
    "shares": ("shares", "分享人數", "分享人数", "分享", "分享次數", "分享次数", "轉發", "转发", "轉發數", "转发数"),
    "follows": ("follows", "new_followers", "閱讀後關注人數", "阅读后关注人数", "新增關注", "新增关注", "新增粉絲",
                "新增粉丝", "漲粉", "涨粉", "關注", "关注"),
    "likes": ("likes", "點讚", "点赞", "讚", "赞", "在看", "贊同", "赞同", "點讚數", "点赞数"),
    "comments": ("comments", "評論", "评论", "留言", "評論數", "评论数"),
    "favourites": ("favourites", "favorites", "saves", "收藏", "收藏數", "收藏数"),
}
STATS_COUNTS = ("delivered", "impressions", "reads", "views", "shares", "follows", "likes", "comments", "favourites")
PLATFORMS = ("wechat", "douyin", "xiaohongshu", "zhihu", "weibo")
# Headers that give a platform's export away (checked in this order).
_PLATFORM_HINTS = (("wechat", ("送達人數", "送达人数", "閱讀後關注人數", "阅读后关注人数", "在看")),
                   ("douyin", ("完播率", "播放量")),
                   ("xiaohongshu", ("筆記id", "笔记id", "筆記標題", "笔记标题")),
                   ("zhihu", ("贊同", "赞同")),
                   ("weibo", ("轉發", "转发", "轉發數", "转发数")))


def _norm(name: str) -> str:
    return re.sub(r"[\s_\-()（）:：]+", "", str(name)).lower()


def _read_xlsx(path: str, sheet: str | None) -> list[list[str]]:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a bad file
        raise InputFileError(key="content_files.cannot_read_as_xlsx", path=path, exc=exc) from None
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise InputFileError(key="content_files.no_sheet_sheets", path=path, sheet=sheet, wb=', '.join(wb.sheetnames))
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        rows = []
        for row in ws.iter_rows(values_only=True):
            rows.append(["" if v is None else (v.isoformat(sep=" ") if isinstance(v, _dt.datetime) else
                                               v.isoformat() if isinstance(v, _dt.date) else str(v)) for v in row])
        return rows
    finally:
        wb.close()


def _read_csv(path: str) -> list[list[str]]:
    raw = Path(path).read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise InputFileError(key="content_files.utf_8_gb18030_text", path=path)
    head = text.split("\n", 1)[0]
    delim = max((",", "\t", ";"), key=head.count)
    return [row for row in csv.reader(text.splitlines(), delimiter=delim)]


def read_rows(path: str, fields: dict[str, tuple[str, ...]], sheet: str | None = None):
    """``(header, rows, first_row_number, mapping)``: the header row is the first of the first 10 rows in which
    at least two names are recognised; ``mapping`` is canonical field -> column index."""
    lower = path.lower()
    if lower.endswith(".xlsx"):
        rows = _read_xlsx(path, sheet)
    elif lower.endswith((".csv", ".tsv", ".txt")):
        if sheet is not None:
            raise InputFileError(key="content_files.sheet_applies_xlsx_files", path=path)
        rows = _read_csv(path)
    else:
        raise InputFileError(key="content_files.unknown_file_type_expected", path=path)
    known = {_norm(a): f for f, aliases in fields.items() for a in aliases}
    for h, header in enumerate(rows[:10]):
        mapping: dict[str, int] = {}
        for j, name in enumerate(header):
            f = known.get(_norm(name))
            if f is not None and f not in mapping:
                mapping[f] = j
        if len(mapping) >= 2:
            return [str(c).strip() for c in header], rows[h + 1:], h + 2, mapping
    raise InputFileError(key="content_files.no_header_row_found", path=path, fields=', '.join(list(fields)[:5]))


def _number(text: str, path: str, row: int, col: str, percent: bool = False) -> float | None:
    t = str(text).strip().replace(",", "").replace("，", "")
    if t in ("", "-", "--", "—", "/", "n/a", "N/A"):
        return None
    scale = 1.0
    if t.endswith("%"):
        t, scale = t[:-1], 0.01
    elif t.endswith(("w", "W", "萬", "万")):
        t, scale = t[:-1], 10_000.0
    try:
        v = float(t) * scale
    except ValueError:
        raise InputFileError(key="content_files.row_column_expected_number", path=path, row=row, col=col, text=text) from None
    if v < 0:
        raise InputFileError(key="content_files.row_column_expected_non", path=path, row=row, col=col, text=text)
    if percent and scale == 1.0 and v > 1:
        v /= 100.0  # a rate written as 45 (per cent) rather than 0.45 or 45%
    return v


def _when(text: str, path: str, row: int, col: str, date_only: bool = False):
    t = str(text).strip().replace("/", "-").replace("年", "-").replace("月", "-").replace("日", "")
    if not t:
        return None
    try:
        v = _dt.datetime.fromisoformat(t.replace("T", " "))
    except ValueError:
        raise InputFileError(key="content_files.row_column_expected_date", path=path, row=row, col=col, text=text) from None
    if date_only:
        return v.date()
    return v.astimezone(_dt.timezone.utc) if v.tzinfo is not None else v  # naive: the caller's import zone


def _records(path: str, fields, sheet, convert) -> tuple[list[dict], dict]:
    header, rows, first, mapping = read_rows(path, fields, sheet)
    out = []
    for r, row in enumerate(rows):
        if not any(str(c).strip() for c in row):
            continue
        num = first + r
        rec: dict = {}
        extra = {}
        for j, name in enumerate(header):
            cell = row[j] if j < len(row) else ""
            f = next((k for k, v in mapping.items() if v == j), None)
            if f is None:
                if name and str(cell).strip():
                    extra[name] = str(cell).strip()
                continue
            rec[f] = convert(f, cell, path, num, name)
        rec["properties"] = json.dumps(extra, ensure_ascii=False) if extra else None
        rec["_row"] = num
        out.append(rec)
    return out, mapping


def _catalogue_cell(f, cell, path, row, name):
    if f == "published_at":
        return _when(cell, path, row, name)
    if f == "length":
        return _number(cell, path, row, name)
    return str(cell).strip() or None


def read_catalogue(path: str, sheet: str | None = None) -> list[dict]:
    """The pieces of a catalogue file: one dict per row with the fields of ``CATALOGUE_FIELDS``."""
    recs, mapping = _records(path, CATALOGUE_FIELDS, sheet, _catalogue_cell)
    if "content_id" not in mapping and "title" not in mapping:
        raise InputFileError(key="content_files.no_content_id_title", path=path)
    for r in recs:
        if not r.get("content_id"):
            if not r.get("title"):
                raise InputFileError(key="content_files.row_no_content_id", path=path, _row=r['_row'])
            r["content_id"] = r["title"]
    return recs


def _stats_cell(f, cell, path, row, name):
    if f == "date":
        return _when(cell, path, row, name, date_only=True)
    if f == "published_at":
        return _when(cell, path, row, name)
    if f == "read_through":
        return _number(cell, path, row, name, percent=True)
    if f in STATS_COUNTS:
        return _number(cell, path, row, name)
    return str(cell).strip() or None


def detect_platform(path: str, header: list[str]) -> str | None:
    names = {_norm(h) for h in header}
    for platform, hints in _PLATFORM_HINTS:
        if any(_norm(h) in names for h in hints):
            return platform
    return None


def read_stats(path: str, platform: str | None = None, sheet: str | None = None) -> tuple[list[dict], str | None]:
    """The rows of a platform export (per piece, or per piece and day) and the platform (given, or recognised
    from the headers; None when the file has a platform column)."""
    if platform is not None and platform not in PLATFORMS:
        raise InputFileError(key="content_files.platform_expected_one", PLATFORMS=', '.join(PLATFORMS), platform=platform)
    header, _, _, mapping = read_rows(path, STATS_FIELDS, sheet)
    if not any(f in mapping for f in STATS_COUNTS):
        raise InputFileError(key="content_files.no_statistics_column_expected", path=path)
    if "content_id" not in mapping and "title" not in mapping:
        raise InputFileError(key="content_files.no_content_id_title_2", path=path)
    if platform is None and "platform" not in mapping:
        platform = detect_platform(path, header)
        if platform is None:
            raise InputFileError(key="content_files.cannot_tell_which_platform", path=path, PLATFORMS='|'.join(PLATFORMS))
    recs, _ = _records(path, STATS_FIELDS, sheet, _stats_cell)
    for r in recs:
        if not r.get("content_id") and not r.get("title"):
            raise InputFileError(key="content_files.row_no_content_id", path=path, _row=r['_row'])
        p = r.get("platform") or platform
        if p not in PLATFORMS:
            raise InputFileError(key="content_files.row_platform_one", path=path, _row=r['_row'], p=p, PLATFORMS=', '.join(PLATFORMS))
        r["platform"] = p
    return recs, platform
