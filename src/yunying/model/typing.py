"""The typing rules for incoming data — one set, applied by file imports (as SQL, ``model/ingest.py``) and by
capture (in Python, ``server/normalize.py``), so both read a value the same way (docs/data-model.md).

* **Timestamps** are stored as UTC and must fall in the years 1970-2099 (``TS_MIN <= ts < TS_END``).
  Accepted: ISO 8601 with an offset; without one (in ``import_timezone``); an 8-digit whole number or
  text ``YYYYMMDD`` (``19970101``, ``"20260601"``: midnight of that date in ``import_timezone`` — never
  epoch seconds; an 8-digit value that is not such a date is an error); other numbers are epoch seconds,
  or epoch milliseconds from ``EPOCH_MS_FROM`` on.
* **Dates** (spend): ``2026-06-01``, ``20260601``, ``2026/06/01``; in 1970-01-01 … 2099-12-31.
* **Numbers** must be finite: NaN and ±infinity (``1e400``) are errors, never amounts.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from zoneinfo import ZoneInfo
from ..errors import Text

TS_MIN = _dt.datetime(1970, 1, 1)  # stored timestamps (UTC, naive): TS_MIN <= ts < TS_END
TS_END = _dt.datetime(2100, 1, 1)
DATE_MIN, DATE_MAX = TS_MIN.date(), _dt.date(2099, 12, 31)
YEARS = f"{TS_MIN.year}-{TS_END.year - 1}"
EPOCH_MS_FROM = 1e11  # |n| >= 1e11: epoch milliseconds (as Sensors Analytics sends); below: seconds
YYYYMMDD_FROM, YYYYMMDD_TO = 10_000_000, 100_000_000  # an 8-digit number is a date YYYYMMDD

_UTC = _dt.timezone.utc
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_UTC)
_US = _dt.timedelta(microseconds=1)
MIN_US, END_US = 0, (TS_END.replace(tzinfo=_UTC) - _EPOCH) // _US
_EIGHT_DIGITS = re.compile(r"[0-9]{8}")

EXPECT_TIMESTAMP = ("an ISO 8601 timestamp such as 2026-06-01T08:30:00+08:00, a date such as 20260601, or "
                    f"epoch seconds/milliseconds, in the years {YEARS}")
EXPECT_DATE = f"a date such as 2026-06-01 or 20260601, in the years {YEARS}"
EXPECT_NUMBER = "a number"


class TypingError(ValueError):
    """A value does not have the expected type; the message says what was expected (no field name)."""


# -- Python (capture) ---------------------------------------------------------------------------------------
def finite_number(value) -> float:
    """A JSON number or numeric text (``"1,299.50"``) as a finite float; ``None`` for empty text."""
    if isinstance(value, bool):
        raise TypingError(Text("typing.expected", EXPECT_NUMBER=Text("expect.number"), value=value))
    number: float | None = None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond the float range
            number = None
    elif isinstance(value, str):
        text = value.strip().replace(",", "")
        if not text:
            return None
        try:
            number = float(text)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        what = Text("expect.finite_number" if number is not None or isinstance(value, (int, float)) else "expect.number")
        raise TypingError(Text("typing.expected_2", what=what, value=str(value)[:60]))
    return number


def timestamp_us(value, tz: ZoneInfo) -> int:
    """Microseconds since 1970-01-01 UTC of a capture timestamp (text or JSON number), checked against the
    years 1970-2099."""
    if isinstance(value, str):
        text = value.strip()
        if _EIGHT_DIGITS.fullmatch(text):
            us = _yyyymmdd_us(int(text), tz, value)
        else:
            us = _text_us(text, tz, value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        us = _number_us(value, tz)
    else:
        raise TypingError(Text("typing.expected_3", EXPECT_TIMESTAMP=Text("expect.timestamp")))
    return checked_us(us, value)


def checked_us(us: int, value) -> int:
    if not MIN_US <= us < END_US:
        raise TypingError(Text("typing.outside_years", value=str(value)[:60], YEARS=YEARS))
    return us


def _text_us(text: str, tz: ZoneInfo, value) -> int:
    try:
        parsed = _dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            raise TypingError(Text("typing.expected_4", EXPECT_TIMESTAMP=Text("expect.timestamp"), value=value[:60])) from None
        return _number_us(number, tz)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    try:
        return (parsed - _EPOCH) // _US
    except OverflowError:
        return -1


def _number_us(number, tz: ZoneInfo) -> int:
    try:
        if not math.isfinite(number):
            return -1
    except OverflowError:  # an integer beyond the float range
        return -1
    if YYYYMMDD_FROM <= abs(number) < YYYYMMDD_TO:
        if number < 0 or number != int(number):
            raise TypingError(Text("typing.has_8_digits_but", number=number))
        return _yyyymmdd_us(int(number), tz, number)
    return epoch_us(number)


def _yyyymmdd_us(n: int, tz: ZoneInfo, value) -> int:
    try:
        day = _dt.datetime(n // 10_000, n // 100 % 100, n % 100, tzinfo=tz)
    except ValueError:
        raise TypingError(Text("typing.has_8_digits_but_2", value=str(value)[:60])) from None
    return (day - _EPOCH) // _US


def epoch_us(number: float) -> int:
    """Epoch seconds, or milliseconds when the number is that large; -1 (out of range) when not finite."""
    if not math.isfinite(number):
        return -1
    if abs(number) >= EPOCH_MS_FROM:
        return int(round(number * 1000))
    return int(round(number * 1_000_000))


def iso_us(us: int) -> str:
    return (_EPOCH + _dt.timedelta(microseconds=us)).isoformat().replace("+00:00", "Z")


# -- SQL (file imports) ---------------------------------------------------------------------------------------
def sql_in_range(ts: str) -> str:
    """SQL: a stored (UTC) timestamp inside the allowed years."""
    return f"({ts} >= TIMESTAMP '{TS_MIN}' AND {ts} < TIMESTAMP '{TS_END}')"


def sql_number_ts(num: str, tz: str) -> str:
    """SQL: the timestamp a number stands for (an 8-digit whole number is YYYYMMDD in zone ``tz``, a SQL
    literal; else epoch seconds, milliseconds from EPOCH_MS_FROM); NULL when it stands for none."""
    ymd = f"try_strptime(CAST(TRY_CAST({num} AS BIGINT) AS VARCHAR), '%Y%m%d')"
    return (f"CASE WHEN {num} IS NULL OR NOT isfinite({num}) THEN NULL "
            f"WHEN abs({num}) >= {YYYYMMDD_FROM} AND abs({num}) < {YYYYMMDD_TO} THEN CASE WHEN {num} > 0 AND "
            f"{num} = round({num}) THEN timezone('UTC', timezone({tz}, {ymd})) END "
            f"WHEN abs({num}) >= {EPOCH_MS_FROM:.0f} THEN make_timestamp(TRY_CAST({num} * 1000 AS BIGINT)) "
            f"ELSE make_timestamp(TRY_CAST({num} * 1000000 AS BIGINT)) END")


def sql_text_ts(raw: str, tz: str) -> str:
    """SQL: the timestamp an ISO 8601 text stands for (with an offset, or naive in zone ``tz``)."""
    has_offset = f"regexp_matches({raw}, '(Z|[+-][0-9]{{2}}(:?[0-9]{{2}})?)$')"
    return (f"CASE WHEN {has_offset} THEN timezone('UTC', TRY_CAST({raw} AS TIMESTAMPTZ)) "
            f"ELSE timezone('UTC', timezone({tz}, TRY_CAST({raw} AS TIMESTAMP))) END")


def sql_text_date(txt: str) -> str:
    """SQL: the date a text stands for (2026-06-01, 20260601, 2026/06/01); NULL when none."""
    return (f"COALESCE(TRY_CAST({txt} AS DATE), TRY_CAST(try_strptime({txt}, '%Y%m%d') AS DATE), "
            f"TRY_CAST(try_strptime({txt}, '%Y/%m/%d') AS DATE))")


def sql_date_in_range(d: str) -> str:
    return f"({d} >= DATE '{DATE_MIN}' AND {d} <= DATE '{DATE_MAX}')"


def sql_finite(num: str, target: str) -> str:
    """SQL: a DOUBLE as ``target`` when finite (NaN and ±inf are not amounts); NULL otherwise."""
    return f"CASE WHEN isfinite({num}) THEN TRY_CAST({num} AS {target}) END"
