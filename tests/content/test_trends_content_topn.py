"""Regression (issue 16): `trends -e view_content -e follow --by content_id --formula B/A --top N` chooses the
top values once, across series, and a piece with readers but no follows shows 0, never n/a."""
from __future__ import annotations

import json
import subprocess
import sys

from yunying.demo.generator import generate


def _trends(args):
    r = subprocess.run([sys.executable, "-m", "yunying", "trends", *args, "--format", "json"], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_piece_with_readers_and_no_follows_is_zero(tmp_path):
    # "big" has the most views and no follow; "small" has few views and all the follows: per-series top-1 would
    # pick big for A and small for B, and B/A of big would be n/a
    rows = ["user_id,event,timestamp,content_id"]
    rows += [f"u{i},view_content,2026-06-01 10:{i % 60:02d}:00,big" for i in range(50)]
    rows += [f"u{i},view_content,2026-06-01 11:{i % 60:02d}:00,small" for i in range(5)]
    rows += [f"u{i},follow,2026-06-01 12:{i % 60:02d}:00,small" for i in range(4)]
    f = tmp_path / "e.csv"
    f.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out = _trends(["-e", "view_content", "-e", "follow", "--by", "content_id", "--formula", "B/A", "--top", "1",
                   "--interval", "month", "--events", str(f)])
    by = {r["content_id"]: r for r in out["series"]}
    assert by["big"]["A"] == 50 and by["big"]["B"] == 0 and by["big"]["value"] == 0
    assert "small" not in by and by["(other)"]["A"] == 5 and by["(other)"]["B"] == 4


def test_demo_top_pieces_never_na(tmp_path):
    generate(tmp_path, users=3000, days=30, seed=5)
    out = _trends(["-e", "view_content", "-e", "follow", "--by", "content_id", "--formula", "B/A", "--top", "5",
                   "--interval", "month", "--events", str(tmp_path / "events.parquet")])
    pieces = {r["content_id"] for r in out["series"] if r["content_id"] != "(other)"}
    assert len(pieces) == 5
    for r in out["series"]:
        if r["A"]:
            assert r["value"] is not None and r["value"] == r["B"] / r["A"], r
