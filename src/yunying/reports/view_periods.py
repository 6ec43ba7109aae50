"""Incomplete periods in the tables people read (issue 13: "the last, partial week drawn as a drop").

* :func:`mark_incomplete` — the rows of a period the data end inside say so in their period cell
  (``2026-07-13 (incomplete)``, ``2026-07-13（未完整）``): trends, new users, revenue, lifecycle, stickiness …
* :func:`mark_after_data` — the rows of periods that start after the last event say so (``（无数据）``): a range
  past the data reads "no data", never "the last period is incomplete" over a row of zeros;
* :func:`mark_before_data` — the same for periods that end before the first event (a range starting before the
  data): their zeros are no data, not a real zero; the period holding the first event has data and is not marked;
* :func:`chart_no_data` — in the chart, those periods (and those after the data) have no point or bar and a
  light band reads "no data";
* :func:`retention_table` — retention as operators read it (神策, PostHog): a row per cohort, a column per
  period (``week 0``, ``week 1`` …) with the rate, the counts behind the column chooser; a period that has not
  ended yet is marked ``*`` in the table and the heatmap (its rate will still rise), one not started is empty.

Whether a period is complete: :func:`yunying.reports.figures.incomplete` (the data's last event, local time).
"""
from __future__ import annotations

import datetime as dt

from .columns import people_table
from .figures import _values, incomplete, period_end
from .format import percent
from .i18n import label, phrase

PERIOD_KEYS = ("date", "period", "week", "cohort")
PARTIAL = "*"


def _day(v) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(v)[:10]) if v is not None else None
    except ValueError:
        return None


def _period_days(table: dict) -> tuple[str | None, list[dt.date | None]]:
    """The table's period column and each row's period start."""
    keys = {c["key"] for c in table.get("columns") or []}
    key = next((k for k in PERIOD_KEYS if k in keys), None)
    return key, [_day(r.get(key)) for r in table.get("rows") or []] if key else []


def last_day(data_end) -> dt.date | None:
    """The last day with data: a period starting after it has no data at all (it is not "incomplete")."""
    return data_end.date() if isinstance(data_end, dt.datetime) else data_end


def mark_incomplete(table: dict, interval: str | None, data_end, lang: str) -> bool:
    """Mark the rows of the last period with data when the data end inside it; True when it did."""
    if interval not in ("day", "week", "month") or data_end is None:
        return False
    key, days = _period_days(table)
    with_data = [d for d in days if d and d <= last_day(data_end)]
    if not with_data:
        return False
    last = max(with_data)
    if not incomplete(last, interval, data_end):
        return False
    mark = f'{label("sep.open", lang)}{label("incomplete_row", lang)}{label("sep.close", lang)}'
    for d, texts in zip(days, table["texts"]):
        if d == last:
            texts[key] = f"{texts[key]}{mark}"
    return True


def _mark_no_data(table: dict, lang: str, outside) -> list[dt.date]:
    """Mark the rows whose period start ``outside(start)`` holds ``（无数据）``; the starts marked."""
    key, days = _period_days(table)
    marked = [d for d in days if d and outside(d)]
    if marked:
        mark = f'{label("sep.open", lang)}{label("no_data_row", lang)}{label("sep.close", lang)}'
        for d, texts in zip(days, table["texts"]):
            if d in marked:
                texts[key] = f"{texts[key]}{mark}"
    return marked


def mark_after_data(table: dict, interval: str | None, data_end, lang: str) -> dt.date | None:
    """Mark the rows of periods that start after the last event (``2027-01-04（无数据）``): their zeros are no
    data, not a fall. The first such period's start, or None."""
    if interval not in ("day", "week", "month") or data_end is None:
        return None
    after = _mark_no_data(table, lang, lambda d: d > last_day(data_end))
    return min(after) if after else None


def before_data(start: dt.date, interval: str, data_start) -> bool:
    """Whether the period starting on ``start`` ends before the first event (the local time or day ``data_start``):
    it has no data. The period holding the first event has data.

    >>> before_data(dt.date(2026, 5, 25), "week", dt.datetime(2026, 6, 1, 0, 30))  # ended Sunday 31 May
    True
    >>> before_data(dt.date(2026, 5, 25), "week", dt.datetime(2026, 5, 31, 23, 59))  # holds the first event
    False
    """
    return data_start is not None and period_end(start, interval) <= _day(data_start)


def mark_before_data(table: dict, interval: str | None, data_start, lang: str) -> bool:
    """Mark the rows of periods that end before the first event (``2026-05-25（无数据）``): their zeros are no
    data, not a real zero. The period holding the first event has data: it is not marked. True when it marked."""
    if interval not in ("day", "week", "month") or data_start is None:
        return False
    return bool(_mark_no_data(table, lang, lambda d: before_data(d, interval, data_start)))


def chart_no_data(figure: dict, interval: str | None, data_start, data_end, lang: str) -> bool:
    """A chart's periods before the first event or starting after the last one: no point or bar (a gap, not a 0
    that reads as a rise or a fall) and a light band labelled "无数据" / "no data" over each run of them; True
    when there were any."""
    if interval not in ("day", "week", "month"):
        return False
    end = last_day(data_end)
    sides = [(lambda d: before_data(d, interval, data_start)) if data_start is not None else None,
             (lambda d: d > end) if end is not None else None]
    return any([_gap_and_band(figure, interval, empty, lang) for empty in sides if empty is not None])


def _gap_and_band(figure: dict, interval: str, empty, lang: str) -> bool:
    gone: set[dt.date] = set()
    bars = False
    for trace in figure.get("data") or []:
        xs, ys = trace.get("x"), _values(trace.get("y"))
        days = [_day(x) for x in xs] if isinstance(xs, list) and isinstance(ys, list) else []
        if trace.get("type") not in (None, "scatter", "bar") or not days or not all(days):
            continue
        none = {i for i, d in enumerate(days) if empty(d)}
        if none:
            trace["y"] = [None if i in none else y for i, y in enumerate(ys)]
            gone |= {days[i] for i in none}
            bars = bars or trace.get("type") == "bar"
    if not gone:
        return False
    lo, hi = min(gone), period_end(max(gone), interval)
    x0, x1 = dt.datetime.combine(lo, dt.time()), dt.datetime.combine(hi, dt.time())
    if bars:  # a bar stands centred on its date: the band covers the whole bars
        x0 -= (dt.datetime.combine(period_end(lo, interval), dt.time()) - x0) / 2
        x1 -= (x1 - dt.datetime.combine(max(gone), dt.time())) / 2
    layout = figure.setdefault("layout", {})
    layout.setdefault("shapes", []).append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0.isoformat(),
                                            "x1": x1.isoformat(), "y0": 0, "y1": 1, "fillcolor": "#999",
                                            "opacity": 0.08, "line": {"width": 0}, "name": "no_data"})
    layout.setdefault("annotations", []).append({"x": lo.isoformat(), "xref": "x", "y": 1, "yref": "paper",
                                                 "text": label("no_data_row", lang), "showarrow": False,
                                                 "xanchor": "left", "yanchor": "bottom", "name": "no_data",
                                                 "font": {"size": 11, "color": "#666"}})
    return True


def _start(cohort: dt.date, offset: int, period: str) -> dt.date:
    if period == "day":
        return cohort + dt.timedelta(days=offset)
    if period == "week":
        return cohort + dt.timedelta(weeks=offset)
    month = cohort.month - 1 + offset
    return dt.date(cohort.year + month // 12, month % 12 + 1, 1)


def partial_cells(rows: list[dict], columns: list[tuple[int, int]], period: str, data_end) -> list[set[int]]:
    """Per cohort row, the period columns that have started but not ended by the end of the data."""
    out = []
    for r in rows:
        cohort, rates = _day(r.get("cohort")), r.get("rates") or []
        out.append({j for j, ((_, b), rate) in enumerate(zip(columns, rates))
                    if cohort and rate is not None and b < 1 << 40 and incomplete(_start(cohort, b, period), period,
                                                                                  data_end)})
    return out


def retention_table(rows: list[dict], spec: dict, lang: str, data_end) -> tuple[dict, list[set[int]]]:
    """A row per cohort (and breakdown), a rate column per period; the partial cells of each row."""
    from ..analyses import registry

    parsed = registry.get("retention").spec_class.parse({k: v for k, v in spec.items() if v is not None})
    columns, names = parsed.columns, [phrase(n, lang) for n in parsed.labels]
    names = [n[:1].upper() + n[1:] for n in names] if lang == "en" else names  # a header: "Week 0", as "Cohort"
    partial = partial_cells(rows, columns, parsed.period, data_end)
    flat = []
    for r in rows:
        row = {"cohort": r.get("cohort")}
        if r.get("breakdown") is not None and spec.get("by"):
            row["breakdown"] = r["breakdown"]
        row["size"] = r.get("size")
        row.update({f"rate_{j}": v for j, v in enumerate(r.get("rates") or [])})
        row.update({f"retained_{j}": (v if (r.get("rates") or [None] * (j + 1))[j] is not None else None)
                    for j, v in enumerate(r.get("retained") or [])})
        flat.append(row)
    table = people_table(flat, lang, analysis="retention")
    retained = label("col.retained", lang)
    for c in table["columns"]:
        kind, _, j = c["key"].rpartition("_")
        if kind in ("rate", "retained") and j.isdigit():
            c["label"] = names[int(j)] if kind == "rate" else f"{names[int(j)]} · {retained}"
            c["kind"], c["hidden"] = ("percent", False) if kind == "rate" else ("count", True)
    for texts, raw, cells in zip(table["texts"], table["rows"], partial):
        for j in cells:
            texts[f"rate_{j}"] = percent(raw.get(f"rate_{j}"), lang=lang) + PARTIAL
    return table, partial


def mark_heatmap(figure: dict, partial: list[set[int]]) -> None:
    """The heatmap's cells of periods not yet ended carry the same ``*`` as the table."""
    for trace in figure.get("data") or []:
        if trace.get("type") == "heatmap" and isinstance(trace.get("text"), list):
            for row, cells in zip(trace["text"], partial):
                for j in cells:
                    if j < len(row) and row[j]:
                        row[j] = f"{row[j]}{PARTIAL}"
