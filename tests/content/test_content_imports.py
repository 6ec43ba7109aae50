"""Catalogue and platform-statistics imports: names in English / 简体 / 繁體, .csv and .xlsx, unknown columns kept,
idempotent, all-or-nothing, clear errors; platform numbers win over events (docs/content.md#imports)."""
from __future__ import annotations

import json

import pytest
from openpyxl import Workbook

from yunying.analyses.content import content
from yunying.errors import InputFileError
from yunying.storage import content as store


def _csv(path, text):
    path.write_text(text, encoding="utf-8")
    return str(path)


def _xlsx(path, rows, title=None):
    wb = Workbook()
    sh = wb.active
    if title:
        sh.append([title])
    for r in rows:
        sh.append(r)
    wb.save(path)
    return str(path)


def test_catalogue_three_languages_idempotent(ws, tmp_path):
    en = _csv(tmp_path / "en.csv", "content_id,title,platform,account,author,topic,format,published_at,length,editor_note\n"
                                   "a1,Hello,wechat,wx,lin,review,article,2026-06-01 08:00,1200,keep me\n")
    hans = _csv(tmp_path / "hans.csv", "内容ID,标题,平台,账号,作者,选题,发布时间,字数\n"
                                       "a2,你好,douyin,dy,chen,教程,2026/06/02 12:30,30\n")
    hant = _xlsx(tmp_path / "hant.xlsx", [["內容ID", "標題", "平台", "帳號", "作者", "選題", "發表時間", "自訂欄"],
                                          ["a3", "您好", "weibo", "wb", "wang", "熱點", "2026-06-03 21:00", "x"]])
    rep = store.import_catalogue(ws, [en, hans, hant])
    assert rep.rows_read == 3 and rep.rows_added == 3
    again = store.import_catalogue(ws, [en, hans, hant])
    assert again.rows_added == 0 and again.duplicates == 3
    cat = store.catalogue(ws.con).set_index("content_id")
    assert list(cat.index) == ["a1", "a2", "a3"]
    assert cat.loc["a2", "topic"] == "教程" and str(cat.loc["a2", "published_at"]) == "2026-06-02 12:30:00"
    assert cat.loc["a3", "account"] == "wb" and cat.loc["a1", "length"] == 1200
    assert json.loads(cat.loc["a1", "properties"]) == {"editor_note": "keep me"}      # unknown columns kept
    assert json.loads(cat.loc["a3", "properties"]) == {"自訂欄": "x"}
    # an update fills what it gives and keeps the rest
    upd = _csv(tmp_path / "upd.csv", "content_id,topic\na1,tutorial\n")
    assert store.import_catalogue(ws, [upd]).rows_added == 1
    cat = store.catalogue(ws.con).set_index("content_id")
    assert cat.loc["a1", "topic"] == "tutorial" and cat.loc["a1", "title"] == "Hello"


def test_failed_import_changes_nothing(ws, tmp_path):
    good = _csv(tmp_path / "good.csv", "content_id,title,length\nb1,One,10\n")
    bad = _csv(tmp_path / "bad.csv", "content_id,title,length\nb2,Two,20\nb3,Three,long\n")
    with pytest.raises(InputFileError, match=r"bad\.csv: row 3, column 'length': expected a number, got 'long'"):
        store.import_catalogue(ws, [good, bad])
    assert store.catalogue(ws.con).empty
    stats = _csv(tmp_path / "s.csv", "標題,閱讀人數,分享人數\nOne,100,5\nTwo,abc,1\n")
    with pytest.raises(InputFileError, match=r"row 3, column '閱讀人數'"):
        store.import_stats(ws, [stats], platform="wechat")
    assert store.stats(ws.con).empty


def test_platform_exports_recognised_and_kept(ws, tmp_path):
    # an official-account article export (繁體, a title line above the header) and a short-video export (简体, xlsx)
    wx = _csv(tmp_path / "wx.csv", "公眾號文章數據\n標題,發表時間,送達人數,閱讀人數,閱讀次數,分享人數,閱讀後關注人數,完讀率,備註\n"
                                   "早安,2026-06-01 08:00,1000,\"1,200\",1500,30,12,45%,好\n")
    dy = _xlsx(tmp_path / "dy.xlsx", [["作品ID", "日期", "播放量", "完播率", "点赞", "评论", "分享", "新增粉丝", "平均播放时长"],
                                      ["v1", "2026-06-01", 5000, "31.5%", 200, 12, 40, 25, "7.2s"],
                                      ["v1", "2026-06-02", 3000, "28%", 100, 5, 20, 10, "6.8s"]])
    store.import_stats(ws, [wx])                 # the platform recognised from 送達人數
    store.import_stats(ws, [dy])                 # from 完播率 / 播放量
    s = store.stats(ws.con)
    wx_row = s[s.platform == "wechat"].iloc[0]
    assert (wx_row.content_id, wx_row.delivered, wx_row.reads, wx_row.views, wx_row.shares, wx_row.follows) == \
        ("早安", 1000, 1200, 1500, 30, 12)
    assert wx_row.read_through == pytest.approx(0.45) and json.loads(wx_row.properties) == {"備註": "好"}
    dy_rows = s[s.platform == "douyin"].sort_values("day")
    assert list(dy_rows.views) == [5000, 3000] and list(dy_rows.follows) == [25, 10]
    assert dy_rows.read_through.tolist() == pytest.approx([0.315, 0.28])
    assert json.loads(dy_rows.iloc[0].properties) == {"平均播放时长": "7.2s"}
    # idempotent; a corrected row replaces the stored one
    assert store.import_stats(ws, [dy]).rows_added == 0
    fix = _csv(tmp_path / "fix.csv", "作品ID,日期,播放量\nv1,2026-06-02,3100\n")
    assert store.import_stats(ws, [fix], platform="douyin").rows_added == 1
    assert store.stats(ws.con).query("day.notnull()").views.sum() == 8100


def test_unknown_platform_needs_the_option(ws, tmp_path):
    f = _csv(tmp_path / "x.csv", "title,reads,shares\nA,10,1\n")
    with pytest.raises(InputFileError, match="give --platform"):
        store.import_stats(ws, [f])
    with pytest.raises(InputFileError, match="expected one of"):
        store.import_stats(ws, [f], platform="tiktok")
    store.import_stats(ws, [f], platform="zhihu")
    assert store.stats(ws.con).platform.tolist() == ["zhihu"]


def test_platform_counts_win_over_events(ws, tmp_path):
    ev = _csv(tmp_path / "e.csv", "user_id,event,timestamp,content_id\n" + "".join(
        f"u{i},view_content,2026-06-01 10:00:00,p1\n" for i in range(10)) + "u1,follow,2026-06-01 10:05:00,p1\n"
        + "".join(f"u{i},view_content,2026-06-01 11:00:00,p2\n" for i in range(4)))
    ws.import_events([ev])
    store.import_catalogue(ws, [_csv(tmp_path / "c.csv", "content_id,title,platform\np1,One,wechat\np2,Two,wechat\n")])
    store.import_stats(ws, [_csv(tmp_path / "s.csv", "標題,閱讀人數,閱讀後關注人數\nOne,400,8\n")], platform="wechat")
    df = content(ws.engine).frame.set_index("content_id")
    assert (df.loc["p1", "readers"], df.loc["p1", "followers"], df.loc["p1", "source"]) == (400, 8, "platform+events")
    assert (df.loc["p2", "readers"], df.loc["p2", "followers"], df.loc["p2", "source"]) == (4, 0, "events")
    assert df.loc["p1", "follow_rate"] == pytest.approx(8 / 400)


def test_publish_times_in_the_import_zone(tmp_path):
    import yunying
    from yunying.config import WorkspaceConfig

    ws = yunying.Workspace.init(tmp_path / "sh", WorkspaceConfig(name="sh", timezone="Asia/Shanghai",
                                                                  import_timezone="Asia/Shanghai"))
    try:
        f = _csv(tmp_path / "c.csv", "content_id,published_at\nlocal,2026-06-01 08:00\noffset,2026-06-01T08:00:00+08:00\n"
                                     "utc,2026-06-01T00:00:00Z\n")
        store.import_catalogue(ws, [f])
        times = {r.content_id: str(r.published_at) for r in store.catalogue(ws.con).itertuples()}
        assert times == {"local": "2026-06-01 00:00:00", "offset": "2026-06-01 00:00:00", "utc": "2026-06-01 00:00:00"}
    finally:
        ws.close()
