"""What the CLI says besides tables follows the reader's language (issue 13): a campaign's holdout, the file an
export wrote, the captured events an answer leaves out. Before, these sentences were English in every language."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from yunying.server.freshness import Freshness

ROOT = Path(__file__).resolve().parents[2]
EVENTS = """user_id,event,ts
a,signup,2026-03-01 10:00:00
b,signup,2026-03-01 11:00:00
c,signup,2026-03-02 09:00:00
d,signup,2026-03-02 12:00:00
a,purchase,2026-03-03 10:00:00
"""


def _cli(*args):
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run([sys.executable, "-m", "yunying", *args], capture_output=True, text=True, env=env)


@pytest.mark.parametrize("lang, recorded, wrote, english", [
    ("zh-Hans", "已记录对照组：目标组", "已写入", "holdout recorded"),
    ("zh-Hant", "已記錄對照組：目標組", "已寫入", "holdout recorded"),
    ("en", "holdout recorded:", "wrote ", "已记录")])
def test_campaign_create_and_assign_speak_the_workspace_language(tmp_path, lang, recorded, wrote, english):
    w = tmp_path / "ws"
    (tmp_path / "e.csv").write_text(EVENTS, encoding="utf-8")
    assert _cli("init", str(w), "--lang", lang).returncode == 0
    assert _cli("import", "events", str(tmp_path / "e.csv"), "-w", str(w)).returncode == 0
    r = _cli("campaign", "create", "spring", "-w", str(w), "--start", "2026-03-02", "--end", "2026-03-04",
             "--goal", "purchases=1", "--holdout", "50%", "--seed", "3")
    assert r.returncode == 0, r.stderr
    assert recorded in r.stdout and english not in r.stdout, r.stdout
    # 4 audience users: target + holdout = 4, all newly assigned, the counts written as counts
    assert ("4" in r.stdout.split(recorded, 1)[1]) and wrote in r.stdout
    out = tmp_path / "groups.csv"
    r = _cli("campaign", "assign", "spring", "-w", str(w), "--export", str(out))
    assert r.returncode == 0, r.stderr
    assert wrote in r.stdout and str(out.name) in r.stdout.replace("\n", "")
    assert len(out.read_text().splitlines()) == 1 + 4


@pytest.mark.parametrize("lang, running, stopped", [
    ("en", "1,234 captured event(s) are not in the snapshot yet (the server did not publish within 10 s)",
     "run `yunying ingest` to add them"),
    ("zh-Hans", "1,234 个已采集事件尚未进入快照（服务在 10 秒内没有发布）", "运行 `yunying ingest` 把它们加入"),
    ("zh-Hant", "1,234 個已採集事件尚未進入快照（服務在 10 秒內沒有發布）", "執行 `yunying ingest` 把它們加入")])
def test_the_note_on_captured_events_left_out_is_in_the_reader_language(lang, running, stopped):
    assert Freshness(pending_events=1234, server_running=True, waited=10.0).note(lang).startswith(running)
    assert stopped in Freshness(pending_events=1234, server_running=False).note(lang)
    assert Freshness(pending_events=0, server_running=False).note(lang) is None


@pytest.mark.parametrize("lang, created, title, kind, revoked", [
    ("zh-Hans", "已为项目 ws 创建写入密钥", "API 密钥", "写入", "已撤销项目 ws 的写入密钥"),
    ("en", "Created write key", "API keys", "write", "revoked write key")])
def test_keys_speak_the_workspace_language(tmp_path, lang, created, title, kind, revoked):
    w = tmp_path / "ws"
    assert _cli("init", str(w), "--lang", lang).returncode == 0
    r = _cli("keys", "create", "-w", str(w), "--label", "ios app")
    assert r.returncode == 0, r.stderr
    first, secret = r.stdout.strip().splitlines()
    assert first.startswith(created) and secret.startswith("yyw_")  # the key alone on the last line
    key_id = secret.split("_")[1]
    r = _cli("keys", "list", "-w", str(w))
    assert title in r.stdout and kind in r.stdout and "revoked_at" not in r.stdout and key_id in r.stdout
    r = _cli("keys", "revoke", key_id, "-w", str(w))
    assert r.stdout.startswith(revoked) and key_id in r.stdout


def test_serve_says_where_it_listens_in_the_workspace_language(tmp_path):
    w = tmp_path / "ws"
    assert _cli("init", str(w), "--lang", "zh-Hant").returncode == 0
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin"}
    p = subprocess.Popen([sys.executable, "-m", "yunying", "serve", "-w", str(w), "--port", "0"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        lines = []
        for line in p.stdout:
            lines.append(line)
            if "Ctrl+C" in line:
                break
    finally:
        p.terminate()
        p.wait(timeout=30)
    text = "".join(lines)
    assert "yunying 正在 http://127.0.0.1:" in text and "提供 1 個專案（ws）" in text, text
    assert "專案 ws：寫入金鑰（採集）yyw_" in text and "按 Ctrl+C 停止。" in text
    assert "project" not in text and "Press" not in text


FUNNEL_EVENTS = """user_id,event,ts
a,signup,2026-03-01 10:00:00.250000
a,purchase,2026-03-01 11:00:00
b,signup,2026-03-01 11:00:00.500000
c,signup,2026-03-02 09:00:00
"""


@pytest.mark.parametrize("lang, line, entered", [
    ("zh-Hans", "2 位用户到达第 1 步（signup）但没有到达 purchase", "进入漏斗时间"),
    ("en", "2 users reached step 1 (signup) but not purchase", "Entered at")])
def test_funnel_dropped_users_in_the_reader_language(tmp_path, lang, line, entered):
    w = tmp_path / "ws"
    (tmp_path / "e.csv").write_text(FUNNEL_EVENTS, encoding="utf-8")
    assert _cli("init", str(w), "--lang", lang).returncode == 0
    assert _cli("import", "events", str(tmp_path / "e.csv"), "-w", str(w)).returncode == 0
    r = _cli("funnel", "-w", str(w), "--steps", "signup,purchase", "--dropped-after", "1")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(line), r.stdout
    # who dropped: b and c, never a; headers from the catalogue, times to the second
    assert entered in r.stdout and "entered_at" not in r.stdout and "last_step_at" not in r.stdout
    assert "│ b " in r.stdout and "│ c " in r.stdout and "│ a " not in r.stdout
    assert "2026-03-01 11:00:00 " in r.stdout and ".500000" not in r.stdout


def test_a_failed_guardrail_is_said_in_the_reader_language(tmp_path):
    rng = np.random.default_rng(7)
    n = 3000
    arm = np.repeat(["a", "b"], n)
    crash = np.concatenate([rng.random(n) < 0.05, rng.random(n) < 0.15]).astype(int)  # b crashes 3x as often
    pd.DataFrame({"id": np.arange(2 * n), "arm": arm, "y": rng.normal(10, 2, 2 * n), "crash": crash}).to_csv(
        tmp_path / "t.csv", index=False)
    args = ["experiment", "--table", str(tmp_path / "t.csv"), "--unit", "id", "--variant", "arm", "--control", "a",
            "--metric", "y", "--guardrail", "crash", "--lower-is-better", "crash"]
    zh = _cli(*args, "--lang", "zh-Hans")
    en = _cli(*args)
    assert zh.returncode == 0 and en.returncode == 0, zh.stderr + en.stderr
    assert "护栏指标 crash 显著变差" in zh.stdout and "got significantly worse" not in zh.stdout, zh.stdout
    assert "guardrail crash got significantly worse" in en.stdout
