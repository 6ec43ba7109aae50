"""Tables for people: which columns show, under which label, formatted how — for every surface.

An analysis result's rows keep raw values (fractions of 1, seconds, money as numbers, snake_case keys):
that is the API, JSON and CSV. What a person reads goes through :func:`people_table`, which gives
each column

* a **label** from the one catalogue (``col.<analysis>.<name>``, else ``col.<name>``, else ``<name>``:
  e.g. the funnel's ``count`` is users, so ``col.funnel.count`` says so),
* a **kind** for :func:`yunying.reports.format.value` (count, percent, points, money, duration,
  pvalue, number, date, data, text),
* whether **up is good** (``good``: ``up``, ``down``, ``neutral`` or ``None``) — lower cost per registration is
  green, a change in spend neither; change and difference cells get a ``tones`` entry, ``good`` or ``bad``, by
  that direction (a row's own ``good_direction`` — up, down, neutral — or ``higher_is_better`` wins: the
  overview's rows are metrics, each with its direction; an experiment row whose verdict is inconclusive gets no
  colour),
* whether it is shown by default (``hidden``: model internals wait behind the column chooser) —
  internal bookkeeping columns (``label_zh``, ``section`` …) are dropped entirely.

Text cells of kind ``text`` are translated through ``value.<text>`` when the catalogue knows them;
``data`` cells (event names, channels, user ids …) are the user's own values and stay as they are.
"""
from __future__ import annotations

import re

from .format import _missing, number, value as format_value
from .i18n import MESSAGES, label, phrase

# Never shown to people: bookkeeping the page uses otherwise (translated labels, grouping, kinds).
DROPPED = {"key", "section", "kind", "label_zh", "messages", "is_control", "higher_is_better", "good_direction"}
# Shown only when ticked in the column chooser (model internals, standard errors, raw bounds).
HIDDEN = {"curve_a", "curve_a_se", "curve_h", "curve_h_se", "se_abs", "se_rel", "statistic", "fit_days",
          "observed_days", "observed_periods", "leak_channel_median", "leak_vs_channel_median", "spend_days",
          "first_day", "last_day", "median_seconds_from_start", "avg_seconds_from_start", "cuped",
          "current_plan_expected_registrations", "marginal_cost_per_paying_user_proposed", "min_events",
          "max_events", "stddev", "p_value_adjusted", "r_score", "f_score", "m_score", "segment", "modelled",
          "extrapolated", "role", "step", "days"}
# The user's own values: event names, channels, ids, dates — shown as they are.
DATA = {"channel", "campaign", "placement", "variant", "user_id", "name", "source", "target", "metric",
        "event", "breakdown", "label", "date", "period", "cohort", "week", "bucket", "rule", "definition", "tree",
        "description", "created_at"}
LOWER_IS_BETTER = re.compile(r"(^|_)(cost|cac|cpc|cpm|drop_off|churn|payback|value_at_risk)(_|$)")

_RULES: tuple[tuple[str, str], ...] = (
    (r"p_value", "pvalue"),
    (r"_(share|rate)$", "percent"),  # revenue_share, repeat_rate: a share of 1, even of money
    (r"seconds", "duration"),
    (r"(^|_)(spend|revenue|cost|cac|cpc|cpm|arppu|ltv|clv|monetary|value_at_risk|aov|order_value)(_|$)", "money"),
    (r"(^|_)(rate|rates|share|ctr|conversion|stickiness|roas|p_alive|chance_to_win|quick_ratio)(_|$)", "percent"),
    (r"(^|_)ci_rel(_|$)", "signed"),
    (r"(^|_)(effect_rel|change)(_|$)", "change"),
    (r"(^|_)(conversion_from_start|conversion_from_previous)$", "percent"),
)
RATIO = {"drop_off": "count", "quick_ratio": "number", "roas": "number", "ltv_cac": "number", "frequency": "count",
         "recency_days": "count", "payback_days": "days", "mean": "number", "effect_abs": "number",
         "ci_abs": "number", "se_abs": "number", "statistic": "number", "k_factor": "number",
         "new_users_per_share": "number", "new_users_per_inviter": "number", "generation": "count",
         "expected_registrations": "count", "expected_paying_users": "count", "expected_paying_users_low": "count",
         "expected_paying_users_high": "count"}
# Changes that are a plan, neither good nor bad (a proposed budget shift): never green or red.
NO_DIRECTION = {"budget.change"}
# A column's kind in one analysis only: a piece's reader forecast at 1, 3, … 168 hours (whole, not 1.00 beside 120).
ANALYSIS_KINDS = {"content.hours": "count"}


def column_kind(name: str, values: list) -> str:
    """The kind of a column, from its name and values (see the module doc)."""
    base = name.rsplit(".", 1)[-1]
    if base in DATA:
        return "data"
    if base in RATIO:
        return RATIO[base]
    for pattern, kind in _RULES:
        if re.search(pattern, base):
            return kind
    present = [v for v in values if v is not None]
    flat = [x for v in present for x in (v if isinstance(v, (list, tuple)) else [v]) if x is not None]
    if flat and all(isinstance(x, str) for x in flat):
        return "text"
    if flat and all(isinstance(x, bool) for x in flat):
        return "text"
    if flat and all(isinstance(x, int) or (isinstance(x, float) and x.is_integer()) for x in flat):
        return "count"
    return "number"


def good_direction(name: str, kind: str) -> str | None:
    base = name.rsplit(".", 1)[-1]
    if LOWER_IS_BETTER.search(base):
        return "down"
    if kind in ("count", "percent", "money", "change", "points"):
        return "up"
    return None


TONED_KINDS = ("change", "points")
UNDECIDED = {"inconclusive", "not_computed"}
TONED = re.compile(r"(^|_)(change|diff|delta|difference)(_|$)")


def cell_tone(v, good: str | None) -> str:
    """``good`` or ``bad`` for a change by whether up is good (``""`` for no change, no value, no direction, and
    for a ``neutral`` metric such as spend, whose rise is neither good nor bad).

    >>> cell_tone(-0.36, "down"), cell_tone(-0.36, "up"), cell_tone(0.0, "up"), cell_tone(None, "up")
    ('good', 'bad', '', '')
    >>> cell_tone(0.5, "neutral"), cell_tone(-0.5, "neutral")
    ('', '')
    """
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not v or v != v or good not in ("up", "down"):
        return ""
    return "good" if (v > 0) == (good == "up") else "bad"


def tones_of(rows: list[dict], columns: list[dict]) -> list[dict]:
    """Per row, ``{column key: "good"|"bad"}`` for its change cells (see the module doc); a column without
    ``kind`` or ``good`` (one sent to the Excel export by hand) gets them from its name."""
    columns = [{**c, "kind": c.get("kind") or column_kind(c["key"], [r.get(c["key"]) for r in rows])}
               for c in columns]
    columns = [c if "good" in c else {**c, "good": good_direction(c["key"], c["kind"])} for c in columns]
    toned = [c for c in columns if c["kind"] in TONED_KINDS or TONED.search(c["key"].rsplit(".", 1)[-1])]
    out = []
    for r in rows:
        own = r.get("good_direction")
        own = own if own in ("up", "down", "neutral") else (
            ("up" if r["higher_is_better"] else "down") if isinstance(r.get("higher_is_better"), bool) else None)
        tones = {}
        if r.get("verdict") in UNDECIDED:  # an experiment's effect within the noise is neither good nor bad
            out.append(tones)
            continue
        for c in toned:
            good = own or c["good"] or ("up" if c["kind"] in TONED_KINDS else None)
            tone = cell_tone(r.get(c["key"]), good)
            if tone:
                tones[c["key"]] = tone
        out.append(tones)
    return out


def column_label(name: str, lang: str, analysis: str | None = None) -> str:
    """The label of a column: ``col.<analysis>.<name>``, ``col.<name>``, a nested ``a.b`` as "A · B", else
    the plain key of the catalogue; a name nobody translated comes back as it is (tests catch that)."""
    for key in ((f"col.{analysis}.{name}" if analysis else None), f"col.{name}", name):
        if key and key in MESSAGES:
            return label(key, lang)
    if "." in name:
        return " · ".join(column_label(part, lang, analysis) for part in name.split("."))
    return name


def text_value(v: str, lang: str) -> str:
    """A text cell: ``value.<v>`` from the catalogue when there is one, else its catalogue phrases."""
    key = f"value.{v}"
    return label(key, lang) if key in MESSAGES else phrase(v, lang)


def people_table(rows: list[dict], lang: str, *, analysis: str | None = None, currency: str = "") -> dict:
    """Columns (key, label, kind, good, hidden), rows with a ``text`` per cell and, for change cells, a ``tone``
    (``good``/``bad``: the colour), for any surface.

    ``rows`` are flat dicts (nested ones flattened to ``a.b`` by the caller). The raw values stay in
    ``rows`` (exports and tests compare them); ``texts`` are what people read.
    """
    names: list[str] = []
    for r in rows:
        names.extend(k for k in r if k not in names and k.rsplit(".", 1)[-1] not in DROPPED)
    columns = []
    yes, no = label("yes", lang), label("no", lang)
    for name in names:
        values = [r.get(name) for r in rows]
        kind = ANALYSIS_KINDS.get(f"{analysis}.{name}") or column_kind(name, values)
        good = "none" if f"{analysis}.{name}" in NO_DIRECTION else good_direction(name, kind)
        columns.append({"key": name, "label": column_label(name, lang, analysis), "kind": kind,
                        "good": good, "hidden": name.rsplit(".", 1)[-1] in HIDDEN,
                        **({"currency": currency} if kind == "money" and currency else {})})  # Excel: "CNY "#,##0.00
    digits = {c["key"]: number_digits([r.get(c["key"]) for r in rows]) for c in columns if c["kind"] == "number"}
    texts = []
    for r in rows:
        out = {}
        for c in columns:
            v = r.get(c["key"])
            if c["key"] in digits and isinstance(v, (int, float)) and not isinstance(v, bool) and not _missing(v):
                out[c["key"]] = number(v, digits[c["key"]])  # one number of decimals down the column
            elif c["kind"] == "text" and isinstance(v, str):
                out[c["key"]] = text_value(v, lang)
            elif c["kind"] == "text" and isinstance(v, (list, tuple)):
                out[c["key"]] = ", ".join(text_value(str(x), lang) for x in v)
            elif c["kind"] == "data" and isinstance(v, str) and (v.startswith("$") or v == "(other)"):
                out[c["key"]] = text_value(v, lang)  # $any, $pageview, (other): yunying's own names
            else:
                out[c["key"]] = format_value(v, c["kind"], lang=lang, currency=currency, yes=yes, no=no)
        texts.append(out)
    return {"columns": columns, "rows": [{c["key"]: r.get(c["key"]) for c in columns} for r in rows],
            "texts": texts, "tones": tones_of(rows, columns)}


def number_digits(values: list) -> int:
    """Decimals for a column of plain numbers: none when every value is ≥ 100 (1,204), else 2 for all of them
    (129.40 beside 19.92, never 129 beside 19.92) — format.value's rule for one value, taken down the column.

    >>> number_digits([129.4, 19.92]), number_digits([913.2, 1204.0]), number_digits([3.0, None])
    (2, 0, 2)
    """
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool) and not _missing(v)]
    return 0 if all(abs(v) >= 100 for v in nums) else 2


PERIOD_DAYS = {"day": 1.0, "week": 7.0}


def customer_periods(table: dict, period: str | None, lang: str) -> dict:
    """Customer value and win-back: a customer's ``recency`` (first to last purchase) and ``T`` (first purchase to
    the end of the data) are in the model's period units (1.71 weeks); people read them in days (12 d, 12 天), and
    the table's values (what an export writes under that header) become days too.

    >>> t = customer_periods(people_table([{"user_id": "u1", "recency": 12 / 7, "T": 40 / 7}], "zh-Hans",
    ...                                   analysis="customer_value"), "week", "zh-Hans")
    >>> t["texts"][0]["recency"], t["texts"][0]["T"], round(t["rows"][0]["T"], 9)
    ('12 天', '40 天', 40.0)
    """
    unit = PERIOD_DAYS.get(period or "week", 7.0)
    for c in table["columns"]:
        if c["key"] not in ("recency", "T"):
            continue
        c["kind"] = "days"
        for row, texts in zip(table["rows"], table["texts"]):
            v = row.get(c["key"])
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                row[c["key"]] = v * unit
            texts[c["key"]] = format_value(row[c["key"]], "days", lang=lang)
    return table


def flatten(rows: list[dict]) -> list[dict]:
    """Nested objects become ``a.b`` columns; one nested list of rows (e.g. variants) becomes a row each."""
    out = []
    for row in rows:
        base, nested = {}, None
        for k, v in row.items():
            if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
                nested = nested if nested is not None else v
            elif isinstance(v, dict):
                base.update({f"{k}.{k2}": v2 for k2, v2 in v.items()})
            else:
                base[k] = v
        out.extend([{**base, **n} for n in nested] if nested else [base])
    return out
