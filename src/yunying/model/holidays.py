"""The holiday calendar anomaly baselines leave out (docs/alerts.md#holidays).

Built in (Chinese mainland and its e-commerce festivals), each a span of days:

=================  ====================================================  ==============
name               days                                                  years
=================  ====================================================  ==============
``new_year``       元旦: 1 January                                        any
``spring_festival`` 春節: 除夕 (the day before the lunar new year) to 初六   2010–2030
``qingming``       清明: the day of the solar term                          2010–2030
``labour_day``     勞動節: 1–5 May                                          any
``dragon_boat``    端午: 5th day of the 5th lunar month                      2010–2030
``618``            618 sales festival: 16–18 June (the peak days)            any
``mid_autumn``     中秋: 15th day of the 8th lunar month                     2010–2030
``national_day``   國慶: 1–7 October                                        any
``double11``       雙11: 11 November                                         any
``double12``       雙12: 12 December                                         any
=================  ====================================================  ==============

Lunar dates are a table (checked against the ``holidays`` package in the tests); a year outside it is
reported, never guessed. Users add their own spans (a store anniversary, a promotion) and can leave out
built-in ones in ``yunying.toml``::

    [holidays]
    ignore = ["qingming"]
    [[holidays.extra]]
    name = "店慶"
    from = "2026-08-08"
    to = "2026-08-10"
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

# The lunar holidays by year (month-day): lunar new year's day (初一), the day of 清明, 端午 and 中秋, and each
# holiday's span around its day (days before, days after): 春節 runs from 除夕 to 初六.
_LUNAR_SPANS = {"spring_festival": (1, 5), "qingming": (0, 0), "dragon_boat": (0, 0), "mid_autumn": (0, 0)}
_LUNAR_TABLE = """
year  初一   清明   端午   中秋
2010  02-14  04-05  06-16  09-22
2011  02-03  04-05  06-06  09-12
2012  01-23  04-04  06-23  09-30
2013  02-10  04-04  06-12  09-19
2014  01-31  04-05  06-02  09-08
2015  02-19  04-05  06-20  09-27
2016  02-08  04-04  06-09  09-15
2017  01-28  04-04  05-30  10-04
2018  02-16  04-05  06-18  09-24
2019  02-05  04-05  06-07  09-13
2020  01-25  04-04  06-25  10-01
2021  02-12  04-04  06-14  09-21
2022  02-01  04-05  06-03  09-10
2023  01-22  04-05  06-22  09-29
2024  02-10  04-04  06-10  09-17
2025  01-29  04-04  05-31  10-06
2026  02-17  04-05  06-19  09-25
2027  02-06  04-05  06-09  09-15
2028  01-26  04-04  05-28  10-03
2029  02-13  04-04  06-16  09-22
2030  02-03  04-05  06-05  09-12
"""
_LUNAR = {int(year): dict(zip(_LUNAR_SPANS, days))
          for year, *days in (line.split() for line in _LUNAR_TABLE.strip().splitlines()[1:])}
LUNAR_YEARS = range(min(_LUNAR), max(_LUNAR) + 1)

# name -> (month, first day, last day) for the fixed-date spans
_FIXED = {
    "new_year": (1, 1, 1), "labour_day": (5, 1, 5), "618": (6, 16, 18), "national_day": (10, 1, 7),
    "double11": (11, 11, 11), "double12": (12, 12, 12),
}
BUILTIN = ("new_year", "spring_festival", "qingming", "labour_day", "dragon_boat", "618", "mid_autumn",
           "national_day", "double11", "double12")


@dataclass(frozen=True)
class Holiday:
    name: str
    first: dt.date
    last: dt.date

    def days(self) -> list[dt.date]:
        return [self.first + dt.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _day(year: int, md: str) -> dt.date:
    return dt.date.fromisoformat(f"{year}-{md}")


def builtin(year: int) -> tuple[list[Holiday], list[str]]:
    """The built-in spans of ``year`` and the names it has no dates for (lunar ones outside the table)."""
    out = [Holiday(name, dt.date(year, m, a), dt.date(year, m, b)) for name, (m, a, b) in _FIXED.items()]
    for name, md in _LUNAR.get(year, {}).items():
        day, (before, after) = _day(year, md), _LUNAR_SPANS[name]
        out.append(Holiday(name, day - dt.timedelta(days=before), day + dt.timedelta(days=after)))
    missing = [] if year in _LUNAR else list(_LUNAR_SPANS)
    return sorted(out, key=lambda h: h.first), missing


class Calendar:
    """The holidays of a workspace: the built-in ones (less ``ignore``) plus ``extra`` spans.

    >>> cal = Calendar()
    >>> cal.name_of(dt.date(2026, 2, 16)), cal.name_of(dt.date(2026, 11, 11)), cal.name_of(dt.date(2026, 3, 3))
    ('spring_festival', 'double11', None)
    """

    def __init__(self, *, use_builtin: bool = True, ignore=(), extra=()):
        unknown = sorted(set(ignore) - set(BUILTIN))
        if unknown:
            from ..errors import ConfigError

            raise ConfigError(key="holidays.holidays_ignore_unknown_built", unknown=unknown, BUILTIN=', '.join(BUILTIN))
        self.use_builtin = use_builtin
        self.ignore = frozenset(ignore)
        self.extra = tuple(extra)  # Holiday spans

    @classmethod
    def from_config(cls, settings) -> "Calendar":
        """From the ``[holidays]`` settings of ``yunying.toml`` (``config.HolidaySettings``)."""
        extra = [Holiday(h.name, h.from_, h.to or h.from_) for h in settings.extra]
        return cls(use_builtin=settings.builtin, ignore=settings.ignore, extra=extra)

    def spans(self, first: dt.date, last: dt.date) -> tuple[list[Holiday], list[str]]:
        """The spans overlapping ``first``…``last`` and notes on years whose lunar dates are not known."""
        found, notes = [], []
        if self.use_builtin:
            for year in range(first.year, last.year + 1):
                spans, missing = builtin(year)
                found += [h for h in spans if h.name not in self.ignore]
                missing = [m for m in missing if m not in self.ignore]
                if missing:
                    notes.append(f"{year}: no built-in dates for {', '.join(missing)} (known for "
                                 f"{LUNAR_YEARS.start}–{LUNAR_YEARS.stop - 1}); add them under [[holidays.extra]]")
        found += list(self.extra)
        return [h for h in found if h.last >= first and h.first <= last], notes

    def name_of(self, day: dt.date) -> str | None:
        spans, _ = self.spans(day, day)
        return spans[0].name if spans else None

    def mask(self, days: list[dt.date]) -> tuple[list[str | None], list[str]]:
        """For consecutive ``days``: each day's holiday name (None on ordinary days), and notes."""
        if not days:
            return [], []
        spans, notes = self.spans(min(days), max(days))
        names: dict[dt.date, str] = {}
        for h in spans:
            for d in h.days():
                names.setdefault(d, h.name)
        return [names.get(d) for d in days], notes
