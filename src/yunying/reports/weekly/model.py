"""What a report is made of, independent of the format it is written to (HTML, Excel, PDF, e-mail).

A :class:`Report` is a list of :class:`Section` s; a section has paragraphs, tables and at most a few charts.
Values stay raw (fractions, money as numbers); each column says its ``kind`` so every writer formats it the
same way: ``text``, ``date``, ``count``, ``money``, ``rate`` (a share of 1), ``number``, ``change`` (relative,
a fraction), ``points`` (a difference of two rates, a fraction: 0.012 = +1.2 pp).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"


@dataclass
class Table:
    columns: list[Column]
    rows: list[dict]
    title: str | None = None
    # per row: "good" | "bad" | None — the colour of its change cell (up is good or bad by metric)
    tone_key: str | None = None


@dataclass
class Series:
    name: str
    values: list[float | None]


@dataclass
class Chart:
    kind: str                 # column | line | bar
    title: str
    categories: list[str]
    series: list[Series]
    value_kind: str = "number"
    # index of a category whose period is not over: drawn apart ("to date"), never as a drop
    incomplete: int | None = None
    # indices of categories whose periods end before the first event: no value, labelled "no data" (not a zero)
    no_data: list[int] = field(default_factory=list)


@dataclass
class Section:
    key: str
    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Chart] = field(default_factory=list)
    note: str | None = None   # e.g. why a section is empty


@dataclass
class Period:
    kind: str                 # week | month
    start: dt.date
    end: dt.date              # inclusive: the last day shown (the data's last day when incomplete)
    prev_start: dt.date
    prev_end: dt.date
    complete: bool
    full_end: dt.date         # the period's own last day

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass
class Report:
    title: str
    lang: str
    period: Period
    workspace: str
    timezone: str
    currency: str
    generated_at: str
    sections: list[Section]
    notes: list[str] = field(default_factory=list)
