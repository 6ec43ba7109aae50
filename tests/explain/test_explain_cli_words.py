"""``yunying explain`` says what is missing with the options the user types (--period, --from/--to, --vs-from …),
not the spec's field names (period, date_from) — in the three languages; the spec (Python API, query API,
--spec files) keeps its field names (issue 13, the final walk)."""
from __future__ import annotations

import pytest

from util import cli
from yunying.analyses.explain import ExplainSpec
from yunying.errors import SpecError

FIELDS = ("date_from", "date_to", "vs_from", "vs_to")
CASES = [  # (options, what the English says, 简体, 繁體)
    ([], "give --period week or month, or both --from and --to", "或同时给出 --from 和 --to", "或同時提供 --from 與 --to"),
    (["--from", "2026-06-01"], "or both --from and --to", "--period week 或 month", "--period week 或 month"),
    (["--period", "week", "--to", "2026-06-01"], "give either --period or --from/--to", "--period 与 --from/--to",
     "--period 與 --from/--to"),
    (["--from", "2026-06-01", "--to", "2026-06-07", "--vs-from", "2026-05-01"], "both --vs-from and --vs-to",
     "--vs-from 和 --vs-to 要么都给", "--vs-from 與 --vs-to 須同時提供"),
    (["--from", "2026-06-01", "--to", "2026-06-07", "--vs-from", "2026-05-08", "--vs-to", "2026-05-01"],
     "--vs-from is after --vs-to", "--vs-from 晚于 --vs-to", "--vs-from 晚於 --vs-to"),
    (["--from", "2026-13-01", "--to", "2026-06-07"], "--from: ", "--from：", "--from："),
    (["--period", "month", "--by", "a,b,c"], "--by: at most two", "--by：最多两个", "--by：最多兩個"),
    (["--period", "month", "--top", "0"], "--top must be at least 1", "--top 至少为 1", "--top 至少為 1"),
]


@pytest.mark.parametrize("options, en, hans, hant", CASES)
def test_explain_names_the_options_typed(tmp_path, capsys, monkeypatch, options, en, hans, hant):
    for lang, words in (("en", en), ("zh-Hans", hans), ("zh-Hant", hant)):
        code, out, err = cli(capsys, monkeypatch, "explain", "revenue", *options, "--lang", lang,
                             "-w", str(tmp_path / "none"))
        said = " ".join(err.split())  # the console wraps long lines
        assert code != 0 and words in said and "Traceback" not in said, (lang, said)
        assert not any(f in said for f in FIELDS) and "ExplainSpec" not in said, (lang, said)
        assert ("period（" not in said) and ("give period" not in said), said


def test_the_spec_keeps_its_field_names_for_api_users():
    with pytest.raises(SpecError, match="give period \\(week or month\\) or both date_from and date_to"):
        ExplainSpec.build(metric="revenue")
