"""Text files people have: GBK/GB18030 CSV (Excel on Chinese Windows), UTF-8 with a BOM, UTF-16, and
whitespace-separated text (CDNOW_master.txt) — each checked against the same data as a plain UTF-8 CSV."""
from __future__ import annotations

import gzip

import pandas as pd
import pytest

from yunying.errors import InputFileError, ValidationError
from yunying.model import readers
from yunying.model.readers import ReadOptions

from import_helpers import table, workspace, write_csv
from util import shared_file

ROWS = [["用户ID", "事件", "时间", "金额", "渠道", "备注"],
        ["用戶甲", "注册", "2026-06-01 08:00:00", "", "百度", "繁體：資料"],
        ["用戶甲", "购买", "2026-06-01 09:30:00", "1,200.50", "", "𠀀 (GB18030 4-byte)"],
        ["u2", "注册", "2026-06-02 10:00:00", "", "微信", "引号\"内"]]


@pytest.fixture
def plain(tmp_path):
    ws = workspace(tmp_path, "plain")
    ws.import_events(str(write_csv(tmp_path / "utf8.csv", ROWS)))
    assert len(table(ws, "events")) == 3
    return ws


def test_gb18030_is_detected_and_equals_utf8(tmp_path, plain):
    path = write_csv(tmp_path / "excel.csv", ROWS, encoding="gb18030")
    ws = workspace(tmp_path, "w")
    rep = ws.import_events(str(path))
    assert table(ws, "events") == table(plain, "events")
    assert rep.sources[0]["encoding"] == "gb18030"
    assert any("GB18030/GBK (detected" in m for m in rep.messages)


def test_gbk_named_gzipped_and_semicolons(tmp_path, plain):
    rows = [r[:-1] for r in ROWS]  # GBK has no 𠀀
    raw = (tmp_path / "x.csv")
    write_csv(raw, rows, encoding="gbk", delimiter=";")
    gz = tmp_path / "gbk.csv.gz"
    gz.write_bytes(gzip.compress(raw.read_bytes()))
    ws, ref = workspace(tmp_path, "w"), workspace(tmp_path, "ref")
    rep = ws.import_events(str(gz), read=ReadOptions(encoding="gbk"))
    ref.import_events(str(write_csv(tmp_path / "ref.csv", rows)))
    assert table(ws, "events") == table(ref, "events")
    assert rep.sources[0] == {"file": str(gz), "format": "csv", "encoding": "gbk", "delimiter": ";"}
    assert any("text encoding GBK (--encoding)" in m for m in rep.messages)


def test_bom_and_utf16(tmp_path, plain):
    bom = tmp_path / "bom.csv"
    bom.write_bytes(b"\xef\xbb\xbf" + (tmp_path / "utf8.csv").read_bytes())
    u16 = write_csv(tmp_path / "u16.txt", ROWS, encoding="utf-16", delimiter="\t")  # Excel "Unicode text"
    for path in (bom, u16):
        ws = workspace(tmp_path, path.stem)
        ws.import_events(str(path))
        assert table(ws, "events") == table(plain, "events"), path


def test_a_bad_byte_after_detection_names_the_line_and_changes_nothing(tmp_path):
    ws = workspace(tmp_path, "w")
    good = write_csv(tmp_path / "good.csv", [r[:-1] for r in ROWS], encoding="gbk")
    bad = tmp_path / "bad.csv"
    bad.write_bytes("用户ID,事件,时间\nu1,注册,2026-06-01\n".encode("gbk") + b"u2,\x81\x20,2026-06-02\n")
    with pytest.raises(InputFileError) as err:
        ws.import_events([str(good), str(bad)], read=ReadOptions(encoding="gbk"))
    assert "bad.csv: line 3: not valid GBK text" in str(err.value)
    assert ws.counts()["events"] == 0
    # detected as UTF-8 from its start, GBK further on: the error names the line and --encoding
    late = tmp_path / "late.csv"
    late.write_bytes(b"user_id,event,time\n" + b"u1,open,2026-06-01\n" * (readers.SNIFF_BYTES // 19 + 10)
                     + "u2,注册,2026-06-02\n".encode("gbk"))
    with pytest.raises(InputFileError) as err:
        ws.import_events(str(late))
    line = readers.SNIFF_BYTES // 19 + 12
    assert f"late.csv: line {line}: not valid UTF-8 text" in str(err.value) and "--encoding" in str(err.value)
    assert ws.counts()["events"] == 0
    with pytest.raises(InputFileError, match="--encoding klingon: unknown encoding"):
        ReadOptions(encoding="klingon")


CDNOW = [["customer_id", "date", "number_of_cds", "dollar_value"],
         ["00001", "19970101", "1", "11.77"], ["00002", "19970112", "1", "12.00"], ["00002", "19970112", "5", "77.00"]]


def _whitespace_text(rows) -> str:
    return "".join(" " + "  ".join(f"{v:>5}" for v in r) + "\r\n" for r in rows)


def test_whitespace_text_is_columns_and_equals_csv(tmp_path):
    txt = tmp_path / "cdnow.txt"
    txt.write_text(_whitespace_text(CDNOW))
    ws, ref = workspace(tmp_path, "w"), workspace(tmp_path, "ref")
    rep = ws.import_events(str(txt), read=ReadOptions(event="purchase"), mapping={"revenue": "dollar_value"})
    ref.import_events(str(write_csv(tmp_path / "cdnow.csv", CDNOW)), read=ReadOptions(event="purchase"),
                      mapping={"revenue": "dollar_value"})
    assert table(ws, "events") == table(ref, "events") and len(table(ws, "events")) == 3
    assert rep.sources[0]["delimiter"] == "whitespace" and any("separated by spaces" in m for m in rep.messages)
    # the same text named .csv is one column unless --delimiter says otherwise
    named = tmp_path / "cdnow.csv.dat.csv"
    named.write_text(_whitespace_text(CDNOW))
    with pytest.raises(InputFileError, match="missing required column"):
        workspace(tmp_path, "x").import_events(str(named), read=ReadOptions(event="purchase"))
    other = workspace(tmp_path, "y")
    other.import_events(str(named), read=ReadOptions(event="purchase", delimiter="whitespace"),
                        mapping={"revenue": "dollar_value"})
    assert table(other, "events") == table(ref, "events")


def test_whitespace_ragged_line_is_an_error_naming_the_line(tmp_path):
    txt = tmp_path / "bad.txt"
    txt.write_text(_whitespace_text(CDNOW) + " 00003 19970101 1\n")
    ws = workspace(tmp_path, "w")
    with pytest.raises((InputFileError, ValidationError)) as err:
        ws.import_events(str(txt), read=ReadOptions(event="purchase"))
    assert "bad.txt: line 5 has 3 field(s) but the header has 4 (whitespace-separated)" in str(err.value)
    assert ws.counts()["events"] == 0


def test_cdnow_master_reads_as_columns(tmp_path):
    """The published CDNOW master file (whitespace, CRLF): every line is a purchase, as pandas reads it."""
    src = shared_file("datasets/CDNOW_master.txt")
    ref = pd.read_csv(src, sep=r"\s+", dtype={"customer_id": str, "date": str})
    ws = workspace(tmp_path, "w", tz="UTC")
    rep = ws.import_events(str(src), read=ReadOptions(event="purchase"), mapping={"revenue": "dollar_value"})
    assert rep.rows_read == len(ref)
    got = ws.con.execute("SELECT count(DISTINCT user_id), round(sum(revenue), 2) FROM events").fetchall()[0]
    assert got == (ref.customer_id.nunique(), round(ref.dollar_value.sum(), 2))


def test_many_files_are_all_reported_and_copies_are_bounded_and_removed(tmp_path):
    import glob
    import os
    import tempfile

    paths = [write_csv(tmp_path / f"day{i:02d}.csv", [ROWS[0][:3], [f"u{i}", "注册", f"2026-06-{i + 1:02d}"]],
                       encoding="gbk") for i in range(12)]
    ws = workspace(tmp_path, "w")
    rep = ws.import_events([str(p) for p in paths])
    assert rep.rows_added == 12
    assert [s["file"] for s in rep.sources] == [str(p) for p in paths]
    assert {s["encoding"] for s in rep.sources} == {"gb18030"}
    mine = os.path.join(tempfile.gettempdir(), f"yunying-read-{os.getpid()}-*")
    assert 0 < len(glob.glob(mine)) <= 8  # UTF-8 copies of the last files, no more
    readers.release_all()
    assert glob.glob(mine) == []


def test_whitespace_text_splits_on_spaces_and_tabs_only(tmp_path):
    txt = tmp_path / "users.txt"
    txt.write_text("用户ID   城市  备注\nu1   上海　浦东 \"quoted\"\nu2\t台北\t-\n", encoding="utf-8")
    ws = workspace(tmp_path, "w")
    ws.import_users(str(txt))
    got = ws.con.execute("SELECT user_id, city, properties FROM users ORDER BY 1").fetchall()
    assert got == [("u1", "上海　浦东", '{"备注":"\\"quoted\\""}'), ("u2", "台北", '{"备注":"-"}')]
