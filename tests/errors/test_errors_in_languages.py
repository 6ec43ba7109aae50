"""Errors a user reaches from the CLI and the server, said in English, 简体 and 繁體 — each still naming the file,
row, field and what was expected (docs/server.md#errors)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/util.py
from util import cli, write  # noqa: E402

from yunying.cli.common import _Lang  # noqa: E402

EVENTS = "user_id,event,time\nu1,signup,2026-06-01T10:00:00\nu1,purchase,2026-06-02T10:00:00\n"
BAD = "user_id,event,time,amount\nu1,signup,2026-06-01T10:00:00,1\nu2,signup,notatime,2\n"


@pytest.fixture
def yy(capsys, monkeypatch):
    def run(*args):
        _Lang.flag = "zh-Hant"  # a language left by an earlier run in this process must not carry over
        return cli(capsys, monkeypatch, *args)
    return run


@pytest.fixture
def wsdir(tmp_path, yy):
    d = tmp_path / "w"
    assert yy("init", str(d))[0] == 0
    assert yy("import", "events", str(write(tmp_path / "e.csv", EVENTS)), "-w", str(d))[0] == 0
    return d


# (lang, the words "Error:" and the sentence's own words) for each case, checked with the user's names in them
BAD_ROW = {
    "en": ["Error:", "bad.csv: 1 of 2 row(s) are invalid; nothing was imported.",
           'row 2 (line 3): ts (column "time"): expected an ISO 8601 timestamp', 'got "notatime"'],
    "zh-Hans": ["错误：", "bad.csv：2 行中有 1 行无效；没有导入任何数据。",
                "第 2 行（文件第 3 行）：ts（列“time”）：应为ISO 8601 时间", "实际为“notatime”"],
    "zh-Hant": ["錯誤：", "bad.csv：2 列中有 1 列無效；沒有匯入任何資料。",
                "第 2 列（檔案第 3 行）：ts（欄位「time」）：應為ISO 8601 時間", "實際為「notatime」"],
}


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_a_bad_row_names_file_row_column_and_expected(tmp_path, wsdir, yy, lang):
    code, _, err = yy("import", "events", str(write(tmp_path / "bad.csv", BAD)), "-w", str(wsdir), "--lang", lang)
    assert code == 1 and "Traceback" not in err
    for words in BAD_ROW[lang]:
        assert words in err, (words, err)


UNKNOWN_EVENT = {"en": "event 'purchas' does not occur in this data; did you mean 'purchase'?",
                 "zh-Hans": "事件 'purchas' 没有出现在数据中；你是想用 'purchase' 吗？",
                 "zh-Hant": "事件 'purchas' 未出現在資料中；您是指 'purchase' 嗎？"}
# name: (the command line after the workspace, the sentence in each language); the user's names kept as typed
CASES = {
    "unknown event": (["funnel", "--steps", "signup,purchas"], UNKNOWN_EVENT),
    "bad spec field": (["trends", "--spec", json.dumps({"event": "signup", "interval": "year"})], {
        "en": "invalid TrendsSpec: interval: Input should be one of 'day', 'week', 'month' (got 'year')",
        "zh-Hans": "事件分析配置无效：interval：应为以下之一：'day', 'week', 'month'（收到 'year'）",
        "zh-Hant": "事件分析設定無效：interval：應為下列之一：'day', 'week', 'month'（收到 'year'）"}),
    "bad date": (["report", "--start", "2026-02-30"], {
        "en": "--start: expected a date YYYY-MM-DD (got '2026-02-30')",
        "zh-Hans": "--start：应为 YYYY-MM-DD 格式的日期（收到 '2026-02-30'）",
        "zh-Hant": "--start：應為 YYYY-MM-DD 格式的日期（收到 '2026-02-30'）"}),
    "missing workspace": (["funnel", "--steps", "a,b"], {
        "en": "is not a yunying workspace (no yunying.toml); run `yunying init nowhere` or pass --workspace DIR",
        "zh-Hans": "不是 yunying 工作区（没有 yunying.toml）；请运行 `yunying init nowhere` 或传入 --workspace DIR",
        "zh-Hant": "不是 yunying 工作區（沒有 yunying.toml）；請執行 `yunying init nowhere` 或傳入 --workspace DIR"}),
}


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
@pytest.mark.parametrize("case", list(CASES))
def test_errors_in_each_language(tmp_path, wsdir, yy, monkeypatch, case, lang):
    args, said = CASES[case]
    monkeypatch.chdir(tmp_path)
    where = "nowhere" if case == "missing workspace" else str(wsdir)
    code, _, err = yy(args[0], "-w", where, *args[1:], "--lang", lang)
    assert code == 1 and "Traceback" not in err and said[lang] in " ".join(err.split()), err
    assert err.startswith({"en": "Error:", "zh-Hans": "错误：", "zh-Hant": "錯誤："}[lang]), err


@pytest.mark.parametrize("lang, said", [
    ("en", "No such option: --stepz (Possible options: --spec, --steps, --top)"),
    ("zh-Hans", "没有这个选项：--stepz（可能是：--spec, --steps, --top）"),
    ("zh-Hant", "沒有這個選項：--stepz（可能是：--spec, --steps, --top）"),
])
def test_a_usage_error(wsdir, yy, lang, said):
    code, _, err = yy("funnel", "-w", str(wsdir), "--stepz", "a", "--lang", lang)
    assert code == 2 and said in err and "Usage:" in err, err


def test_the_workspace_language_is_used_without_lang(tmp_path, yy):
    d = tmp_path / "tw"
    assert yy("init", str(d), "--lang", "zh-Hant")[0] == 0
    assert yy("import", "events", str(write(tmp_path / "e.csv", EVENTS)), "-w", str(d))[0] == 0
    code, _, err = yy("funnel", "-w", str(d), "--steps", "signup,purchas")
    assert code == 1 and "錯誤：" in err and UNKNOWN_EVENT["zh-Hant"] in err, err


def test_debug_keeps_the_traceback(wsdir, capsys, monkeypatch):
    from yunying.errors import SpecError

    monkeypatch.setattr("sys.argv", ["yunying", "--debug", "funnel", "-w", str(wsdir), "--steps", "signup,purchas"])
    from yunying.cli.common import run_app

    with pytest.raises(SpecError, match="does not occur"):  # raised on, for the traceback
        run_app()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from fastapi.testclient import TestClient

    from yunying.config import WorkspaceConfig
    from yunying.server.app import create_app
    from yunying.server.keys import KeyStore
    from yunying.server.layout import WorkspacePaths
    from yunying.storage.workspace import Workspace

    ws = tmp_path_factory.mktemp("errs") / "shop"
    Workspace.init(ws, WorkspaceConfig(name="shop")).close()
    paths = WorkspacePaths(ws.resolve())
    store = KeyStore(paths.capture_db, paths.root.name)
    token = store.create("read")[1]
    store.close()
    with TestClient(create_app([ws]), raise_server_exceptions=False) as client:
        yield client, token


@pytest.mark.parametrize("accept, lang, auth, words", [
    (None, "en", "no read token: send Authorization: Bearer TOKEN",
     "interval: Input should be one of 'day', 'week', 'month' (got 'year')"),
    ("zh-CN,zh;q=0.9", "zh-Hans", "没有读取令牌：请发送 Authorization: Bearer TOKEN",
     "interval：应为以下之一：'day', 'week', 'month'（收到 'year'）"),
    ("zh-TW,en;q=0.5", "zh-Hant", "沒有讀取權杖：請傳送 Authorization: Bearer TOKEN",
     "interval：應為下列之一：'day', 'week', 'month'（收到 'year'）"),
])
def test_the_server_answers_in_the_language_asked(server, accept, lang, auth, words):
    client, token = server
    headers = {"Accept-Language": accept} if accept else {}
    resp = client.post("/api/query/trends", json={"event": "x"}, headers=headers)  # no token: refused first
    assert resp.status_code == 401 and auth in resp.json()["error"], resp.json()
    assert resp.json()["lang"] == lang and resp.json()["key"] == "auth.no_read_token_send"
    resp = client.post("/api/query/trends", json={"event": "signup", "interval": "year"},
                       headers={**headers, "Authorization": f"Bearer {token}"})
    assert resp.status_code == 400 and words in resp.json()["error"] and resp.json()["lang"] == lang, resp.json()
    # ?lang= (the dashboard's choice) wins over the browser's Accept-Language
    resp = client.post("/api/query/trends?lang=en", json={"event": "signup", "interval": "year"},
                       headers={**headers, "Authorization": f"Bearer {token}"})
    assert "interval: Input should be one of" in resp.json()["error"] and resp.json()["lang"] == "en"
