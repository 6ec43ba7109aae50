"""`yunying demo`'s progress stages are said in the language asked for (issue 13): every text it shows while
it runs comes from the catalogue, in English, 简体 or 繁體 — none stays English in Chinese."""
from __future__ import annotations

import re

import pytest

from yunying.demo.run import run_demo


def stages(tmp_path, lang: str) -> list[tuple]:
    seen: list[tuple] = []
    run_demo(tmp_path / lang, users=300, seed=3, days=14, lang=lang,
             progress=lambda text, done=None, total=None: seen.append((text, done, total)))
    return seen


# Hand-written: what a reader of each language sees first, per chunk generated, and last.
FIRST = {"en": "generating data", "zh-Hans": "正在生成数据", "zh-Hant": "正在產生資料"}
CHUNK = {"en": "generating data ({done}/{total} chunks)", "zh-Hans": "正在生成数据（第 {done}/{total} 批）",
         "zh-Hant": "正在產生資料（第 {done}/{total} 批）"}
LAST = {"en": "writing the report", "zh-Hans": "正在生成报告", "zh-Hant": "正在產生報告"}


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_demo_stages_are_in_the_language_asked_for(tmp_path, lang):
    seen = stages(tmp_path, lang)
    texts = [t for t, _, _ in seen]
    assert texts[0] == FIRST[lang] and texts[-1] == LAST[lang]
    chunks = [(t, d, n) for t, d, n in seen if d is not None]
    assert chunks and [d for _, d, _ in chunks] == list(range(1, chunks[0][2] + 1))
    assert all(t == CHUNK[lang].format(done=d, total=n) for t, d, n in chunks)
    assert len(texts) >= 5  # generating, chunks, importing events, the rest of the data, the overview, the report
    if lang != "en":  # no English word left in any stage
        assert not [t for t in texts if re.search(r"[A-Za-z]", t)]
    else:
        assert all(t[:1].islower() and t.isascii() for t in texts)
