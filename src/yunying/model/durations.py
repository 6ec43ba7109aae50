"""The one duration parser (and its exact label): ``30m``, ``6h``, ``1d``, ``14d``, ``2w``, ``90s``.

Units: ``s``/``sec``/``secs``/``second(s)``, ``m``/``min``/``mins``/``minute(s)``, ``h``/``hour(s)``,
``d``/``day(s)``, ``w``/``week(s)``; a bare number is in the caller's default unit (seconds for
analysis windows and gaps, days for experiment metric windows).
"""
from __future__ import annotations

import re
from ..errors import Text

SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DAYS = {"h": 1 / 24, "d": 1.0, "w": 7.0}
_ALIASES = {
    **dict.fromkeys(("s", "sec", "secs", "second", "seconds"), "s"),
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "m"),
    **dict.fromkeys(("h", "hour", "hours"), "h"),
    **dict.fromkeys(("d", "day", "days"), "d"),
    **dict.fromkeys(("w", "week", "weeks"), "w"),
}
_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$")


def split_duration(text, default_unit: str = "s") -> tuple[float, str] | None:
    """``'14d'`` → ``(14.0, 'd')``; a bare number is in ``default_unit``; None if ``text`` is no duration."""
    m = _TEXT.match(str(text).lower())
    if not m:
        return None
    unit = _ALIASES.get(m.group(2) or default_unit)
    return None if unit is None else (float(m.group(1)), unit)


def parse_duration(text: str | int | float) -> int:
    """Whole seconds: '30m' → 1800, '1d' → 86400, '14d', '2w', '90s', '6h'; a bare number is seconds.

    >>> parse_duration("30m"), parse_duration("2 weeks"), parse_duration(90)
    (1800, 1209600, 90)
    """
    if isinstance(text, (int, float)):
        secs = float(text)
    else:
        parts = split_duration(text)
        if parts is None:
            raise ValueError(Text("durations.cannot_read_duration_use", text=text))
        secs = parts[0] * SECONDS[parts[1]]
    if secs <= 0:
        raise ValueError(Text("durations.conversion_window_must_positive"))
    return int(round(secs))


def window_days(text: str) -> float | None:
    """A metric window in days — ``7``, ``7d``, ``12h``, ``2w`` (hours, days or weeks; a bare number is
    days) — or None when ``text`` is not one.

    >>> window_days("12h"), window_days("2w"), window_days("purchase")
    (0.5, 14.0, None)
    """
    parts = split_duration(text, default_unit="d")
    if parts is None or parts[1] not in _DAYS:
        return None
    return parts[0] * _DAYS[parts[1]]


def format_duration(seconds: float) -> str:
    """The exact label of a whole number of seconds in its largest whole unit: 1209600 → '14d', 90 → '90s'."""
    s = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{s // size}{unit}"
    return f"{s}s"
