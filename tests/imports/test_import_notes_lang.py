"""An import's notes (how a file was read, what was kept or replaced) in the reader's language (issue 13): each is a
catalogue sentence (key + parameters) that reads as English in logs and JSON, said in 简体/繁體 by the CLI — also when
the report comes back from a server as JSON."""
from __future__ import annotations

import re

from import_helpers import workspace
from util import cli

from yunying.errors import Said, Text
from yunying.storage.connection import ImportReport

ROWS = [["customer_id", "date", "number_of_cds", "dollar_value"],
        ["00001", "19970101", "1", "11.77"], ["00002", "19970112", "1", "12.00"]]


def _whitespace(path):
    path.write_text("".join(" " + "  ".join(f"{v:>5}" for v in r) + "\r\n" for r in ROWS), encoding="gb18030")
    return path


def test_import_notes_are_said_in_the_readers_language(tmp_path, monkeypatch, capsys):
    ws = workspace(tmp_path, "w")
    ws.close()
    path = _whitespace(tmp_path / "cdnow.txt")
    for lang, words in (("zh-Hans", "各列以空格分隔（自动识别）"), ("zh-Hant", "各欄以空格分隔（自動識別）")):
        code, out, err = cli(capsys, monkeypatch, "import", "events", str(path), "-w", str(tmp_path / "w"),
                             "--event", "purchase", "--map", "revenue=dollar_value", "--lang", lang)
        assert code == 0, err
        notes = [line for line in out.splitlines() if path.name in line]
        assert any(words in n for n in notes), out
        assert not any(re.search(r"\b(separated|spaces|detected|every row)\b", n) for n in notes), notes


def test_notes_keep_their_key_through_json():
    rep = ImportReport("events", ["a.txt"], 2, 2, 0, messages=[
        Said("import.note.file", file="a.txt", note=Said("import.note.spaces_detected").text), "plain text"])
    assert rep.messages[0] == "a.txt: columns separated by spaces (detected)"  # English where text is read
    back = ImportReport(**rep.to_dict())  # what the CLI rebuilds from the server's answer
    said = back.said()
    assert isinstance(said[0], Text) and said[0].key == "import.note.file" and said[1] == "plain text"
    from yunying.reports.error_text import say_text

    assert say_text(said[0], "zh-Hans") == "a.txt：各列以空格分隔（自动识别）"
