"""A file without a required column: the error names each missing column with a few of its other names, in the
reader's language — "event（或 event_name, …）" in Chinese, not an English "(or …)" inside a Chinese sentence, and
"（无）" when the file has no column at all (issue 13, the final walk)."""
from __future__ import annotations

import pytest

from util import cli, write
from yunying.errors import InputFileError
from yunying.model import EVENT_COLUMNS, map_columns
from yunying.reports.error_text import say_error

HINTS = {"en": ("event (or event_name, ", "ts (or timestamp, ", "; ts", "(none)"),
         "zh-Hans": ("event（或 event_name, ", "ts（或 timestamp, ", "）；ts", "找到的列：（无）"),
         "zh-Hant": ("event（或 event_name, ", "ts（或 timestamp, ", "）；ts", "找到的欄位：（無）")}


def missing(columns: list[str]) -> InputFileError:
    with pytest.raises(InputFileError) as err:
        map_columns(columns, EVENT_COLUMNS, file="orders.csv")
    return err.value


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_missing_columns_and_their_other_names_in_the_readers_language(lang):
    event, ts, between, none = HINTS[lang]
    said = say_error(missing(["user_id", "when"]), lang)
    assert said.startswith("orders.csv") and event in said and ts in said and between in said, said
    assert "user_id, when" in said and none not in said  # the columns the file has, as they are
    if lang != "en":
        assert "(or " not in said and "(none)" not in said
    assert none in say_error(missing([]), lang)


def test_the_english_message_is_unchanged_for_logs_and_the_api():
    assert str(missing(["user_id", "when"])).startswith(
        "orders.csv: missing required column(s): event (or event_name, event_type, 事件, 事件名); ts (or timestamp, ")


def test_the_cli_says_it_in_the_workspaces_language(tmp_path, capsys, monkeypatch):
    code, _, _ = cli(capsys, monkeypatch, "init", str(tmp_path / "ws"), "--lang", "zh-Hans")
    assert code == 0
    orders = write(tmp_path / "orders.csv", "用户ID,时刻\nu1,2026-06-01 10:00:00\n")
    code, _, err = cli(capsys, monkeypatch, "import", "events", str(orders), "-w", str(tmp_path / "ws"))
    assert code != 0 and "event（或 event_name, " in err and "(or " not in err and "Traceback" not in err, err
