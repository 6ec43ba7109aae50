"""model/holidays.py: the built-in lunar dates against the `holidays` package (an independent table), the
fixed spans, and the user's extensions in yunying.toml."""
from __future__ import annotations

import datetime as dt

import holidays as oracle
import pytest

from yunying.config import WorkspaceConfig
from yunying.errors import ConfigError
from yunying.model import holidays as H

YEARS = range(2010, 2031)


def _oracle_days(name_part: str) -> dict[int, dt.date]:
    cn = oracle.China(years=YEARS)
    out: dict[int, dt.date] = {}
    for day, name in sorted(cn.items()):
        if name_part in name and "observed" not in name:
            out.setdefault(day.year, day)  # the first day of the festival
    return out


@pytest.mark.parametrize("ours, theirs", [
    ("spring_festival", "Spring Festival"), ("qingming", "Tomb-Sweeping"), ("dragon_boat", "Dragon Boat"),
    ("mid_autumn", "Mid-Autumn"),
])
def test_lunar_dates_match_the_holidays_package(ours, theirs):
    expected = _oracle_days(theirs)
    for year in YEARS:
        span = next(h for h in H.builtin(year)[0] if h.name == ours)
        day_one = span.first + dt.timedelta(days=1) if ours == "spring_festival" else span.first  # 除夕 → 初一
        assert day_one == expected[year], (ours, year)


def test_fixed_spans_and_spring_festival_window():
    spans = {h.name: h for h in H.builtin(2026)[0]}
    assert (spans["double11"].first, spans["double11"].last) == (dt.date(2026, 11, 11),) * 2
    assert spans["618"].days() == [dt.date(2026, 6, d) for d in (16, 17, 18)]
    assert len(spans["national_day"].days()) == 7
    # 2026: 初一 is 17 February; the span is 除夕 (16th) to 初六 (22nd)
    assert (spans["spring_festival"].first, spans["spring_festival"].last) == (dt.date(2026, 2, 16), dt.date(2026, 2, 22))


def test_years_outside_the_table_are_reported():
    spans, missing = H.builtin(2035)
    assert "spring_festival" in missing and {h.name for h in spans} >= {"double11", "618"}
    _, notes = H.Calendar().spans(dt.date(2035, 1, 1), dt.date(2035, 12, 31))
    assert notes and "2035" in notes[0] and "holidays.extra" in notes[0]


def test_toml_extends_and_ignores(tmp_path):
    cfg = tmp_path / "yunying.toml"
    cfg.write_text('[holidays]\nignore = ["double12"]\n[[holidays.extra]]\nname = "店慶"\nfrom = 2026-08-08\n'
                   'to = 2026-08-10\n', encoding="utf-8")
    cal = H.Calendar.from_config(WorkspaceConfig.load(cfg).holidays)
    names, _ = cal.mask([dt.date(2026, 8, 7) + dt.timedelta(days=i) for i in range(5)])
    assert names == [None, "店慶", "店慶", "店慶", None]
    assert cal.name_of(dt.date(2026, 12, 12)) is None and cal.name_of(dt.date(2026, 11, 11)) == "double11"
    cfg.write_text('[holidays]\nignore = ["christmas"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="christmas"):
        H.Calendar.from_config(WorkspaceConfig.load(cfg).holidays)
    cfg.write_text('[holidays]\nbuiltin = false\n', encoding="utf-8")
    assert H.Calendar.from_config(WorkspaceConfig.load(cfg).holidays).name_of(dt.date(2026, 11, 11)) is None
