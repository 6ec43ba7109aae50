"""The one number formatter for people: terminal tables, HTML pages and summaries.

JSON and CSV keep raw values (shares as fractions of 1, seconds, money as numbers); only what a
person reads goes through here. ``None`` (and NaN/inf) is the catalogue's empty marker (``na``): ``n/a`` in
English, ``—`` in 简体/繁體 (every function takes ``lang``).

* ``percent`` — a share of 1 (a rate, a conversion): 0.125 → ``12.5%``;
* ``change`` — a relative change (value / previous − 1), with an arrow: ``▲ +12.5%``;
* ``points`` — a difference of two rates, in percentage points: 0.012 → ``+1.2 pp``
  (not a percent: 10% → 11.2% is +1.2 pp, a change of +12%);
* ``money``, ``count``, ``number``, ``duration`` and ``cell`` (any table cell);
* ``days`` — a number of whole days (payback, time since the first purchase): 49.0 → ``49 d`` / ``49 天``;
* ``pvalue`` — a p-value: scientific below 0.001, never ``0``;
* ``human_duration`` — a time in the largest units a person reads (``20 h 45 min``, ``20 小时 45 分钟``);
* ``value`` — one value by its kind (the kinds of ``reports/columns.py``), in a language.
"""
from __future__ import annotations

import math

NA = "n/a"
# The same rule in Excel (a number format with a condition): 0.043 → 0.043, 4.8e-05 → 4.8E-05, never 0.000.
PVALUE_FORMAT = "[<0.001]0.0E+00;0.000"


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and not math.isfinite(v))


def percent(v, digits: int = 1, lang: str = "en") -> str:
    """A share of 1 in percent; a share too small to show but not zero reads ``<0.1%`` (1 user of 2,326), not 0.0%.

    >>> percent(0.125), percent(None), percent(1), percent(1 / 2326), percent(0.0), percent(-0.0001)
    ('12.5%', 'n/a', '100.0%', '<0.1%', '0.0%', '>-0.1%')
    """
    if _missing(v):
        return missing(lang)
    least = 0.5 * 10 ** -digits  # the smallest share that rounds to a visible digit
    if 0 < abs(v) * 100 < least:
        return f"<{2 * least:.{digits}f}%" if v > 0 else f">-{2 * least:.{digits}f}%"
    return f"{v * 100:.{digits}f}%"


def change(v, lang: str = "en") -> str:
    """
    >>> change(0.125), change(-0.5), change(0.0)
    ('▲ +12.5%', '▼ -50.0%', '= +0.0%')
    """
    if _missing(v):
        return missing(lang)
    arrow = "▲" if v > 0 else "▼" if v < 0 else "="
    return f"{arrow} {v * 100:+.1f}%"


def points(v, digits: int = 1, lang: str = "en") -> str:
    """
    >>> points(0.012), points(-0.5)
    ('+1.2 pp', '-50.0 pp')
    """
    return missing(lang) if _missing(v) else f"{v * 100:+.{digits}f} pp"


def points_change(v, digits: int = 1, lang: str = "en") -> str:
    """A rate's change in percentage points, with the arrow of every other change.

    >>> points_change(0.012), points_change(-0.5), points_change(0.0)
    ('▲ +1.2 pp', '▼ -50.0 pp', '= +0.0 pp')
    """
    if _missing(v):
        return missing(lang)
    return f'{"▲" if v > 0 else "▼" if v < 0 else "="} {points(v, digits, lang)}'


def money(v, currency: str = "", lang: str = "en") -> str:
    """
    >>> money(1234.5, "CNY"), money(3)
    ('CNY 1,234.50', '3.00')
    """
    return missing(lang) if _missing(v) else f"{currency} {v:,.2f}".strip()


def count(v, lang: str = "en") -> str:
    """
    >>> count(1234567.0), count(15.6)
    ('1,234,567', '16')
    """
    return missing(lang) if _missing(v) else f"{round(v):,}"


def number(v, digits: int = 0, lang: str = "en") -> str:
    """
    >>> number(1234.567, 1)
    '1,234.6'
    """
    return missing(lang) if _missing(v) else f"{v:,.{digits}f}"


def duration(seconds) -> str:
    """A time for people, in its largest unit with one decimal (blank when there is none).

    >>> duration(1234), duration(90000), duration(42), duration(None)
    ('20.6m', '1.0d', '42s', '')
    """
    if _missing(seconds):
        return ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def cell(v) -> str:
    """Any table cell: counts with thousands separators, small floats to 4 significant digits.

    >>> cell(None), cell(True), cell(1234), cell(0.123456), cell(12.5), cell(12345.678), cell([1, None])
    ('n/a', 'yes', '1,234', '0.1235', '12.50', '12,345.68', '[1, n/a]')
    """
    if v is None:
        return NA
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.2f}"
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(cell(x) for x in v) + "]"
    return str(v)


def pvalue(p, lang: str = "en") -> str:
    """A p-value for people: three decimals, scientific below 0.001, and never ``0``.

    >>> pvalue(0.0432), pvalue(4.8e-5), pvalue(0.0), pvalue(1.0), pvalue(None)
    ('0.043', '4.8e-05', '< 1e-300', '1.000', 'n/a')
    """
    if _missing(p):
        return missing(lang)
    if p <= 0:
        return "< 1e-300"
    return f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


_UNITS = {"en": (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)),
          "zh-Hans": (("天", 86400), ("小时", 3600), ("分钟", 60), ("秒", 1)),
          "zh-Hant": (("天", 86400), ("小時", 3600), ("分鐘", 60), ("秒", 1))}
_UNDER_A_SECOND = {"en": "under 1 s", "zh-Hans": "不到 1 秒", "zh-Hant": "不到 1 秒"}


def human_duration(seconds, lang: str = "en") -> str:
    """A time in its two largest units, rounded to the smaller one (never 74,700.84 s).

    >>> human_duration(74700.84), human_duration(42), human_duration(90061), human_duration(0)
    ('20 h 45 min', '42 s', '1 d 1 h', '0 s')
    >>> human_duration(74700.84, "zh-Hans"), human_duration(None)
    ('20 小时 45 分钟', 'n/a')

    A time that took something but less than a second (a short import) is "under 1 s", never "0 s":

    >>> human_duration(0.4), human_duration(0.2, "zh-Hans"), human_duration(0.9), human_duration(1.2)
    ('under 1 s', '不到 1 秒', 'under 1 s', '1 s')
    """
    if _missing(seconds):
        return missing(lang)
    if 0 < abs(seconds) < 1:
        return _UNDER_A_SECOND.get(lang, _UNDER_A_SECOND["en"])
    units = _UNITS.get(lang, _UNITS["en"])
    sign, left = ("-" if seconds < 0 else ""), abs(seconds)
    for i, (unit, size) in enumerate(units):
        if left >= size or size == 1:
            if size == 1:
                return f"{sign}{round(left)} {unit}"
            small, small_size = units[i + 1]
            big, rest = divmod(round(left / small_size), size // small_size)
            return f"{sign}{big} {unit}" + (f" {rest} {small}" if rest else "")
    return NA  # pragma: no cover


def days(v, lang: str = "en") -> str:
    """A number of days, whole, in the reader's unit (a payback, a time since the first purchase).

    >>> days(49.0), days(1234.4, "zh-Hant"), days(None)
    ('49 d', '1,234 天', 'n/a')
    """
    if _missing(v):
        return missing(lang)
    return f"{round(v):,} {_UNITS.get(lang, _UNITS['en'])[0][0]}"


def missing(lang: str = "en") -> str:
    """The empty marker in ``lang`` (``n/a``, ``—``), from the label catalogue.

    >>> missing("en"), missing("zh-Hans")
    ('n/a', '—')
    """
    from .i18n import empty

    return empty(lang)


def value(v, kind: str, *, lang: str = "en", currency: str = "", yes: str = "yes", no: str = "no") -> str:
    """One value for people by its kind: count, percent, points, change, money, duration, pvalue, number,
    text (and lists of them, e.g. retention rates).

    >>> value(11072.0, "count"), value(0.3581, "percent"), value(-0.0123, "points"), value(4.8e-5, "pvalue")
    ('11,072', '35.8%', '-1.2 pp', '4.8e-05')
    >>> value([3587, 1210], "count"), value(2211.4, "money", currency="CNY"), value(74700.84, "duration")
    ('3,587, 1,210', 'CNY 2,211.40', '20 h 45 min')
    >>> value(None, "percent"), value(float("nan"), "money", lang="zh-Hant")
    ('n/a', '—')
    >>> value(49.0, "days"), value(11.97, "days", lang="zh-Hans"), value(0.4, "days")
    ('49 d', '12 天', '0 d')
    """
    if isinstance(v, (list, tuple)):
        return ", ".join(value(x, kind, lang=lang, currency=currency, yes=yes, no=no) for x in v)
    if _missing(v):
        return missing(lang)
    if isinstance(v, str) and kind not in ("text", "data", "date"):
        return v
    if isinstance(v, bool):
        return yes if v else no
    if not isinstance(v, (int, float)):
        return str(v)
    fn = {"count": count, "percent": percent, "points": points, "change": change, "pvalue": pvalue,
          "signed": lambda x: f"{x * 100:+.1f}%",
          "money": lambda x: money(x, currency), "duration": lambda x: human_duration(x, lang),
          "days": lambda x: days(x, lang)}.get(kind)
    if fn is not None:
        return fn(v)
    if kind == "number" or isinstance(v, float):
        return number(v, 0 if abs(v) >= 100 else 2)
    return cell(v)
