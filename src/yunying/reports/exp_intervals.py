"""An experiment interval's level in words, beside the interval on every surface (CLI, HTML, dashboard, Excel):
the levels the analysis used (docs/experiments.md#verdicts-and-intervals-結論與區間一致)."""
from __future__ import annotations


def level_percent(level: float, lang: str = "en") -> str:
    """An interval's level in percent with the digits it needs (90%, 97.5%, 98.33%), through the one formatter.

    >>> level_percent(0.9), level_percent(0.975), level_percent(1 - 0.05 / 3)
    ('90%', '97.5%', '98.33%')
    """
    from .format import percent

    digits = next(d for d in (0, 1, 2) if abs(round(100 * level, d) - 100 * level) < 1e-9 or d == 2)
    return percent(level, digits, lang)


def interval_name(level: float | None, kind: str, correction: str | None, lang: str = "en") -> str:
    """What an interval is, with its level: ``90% credible interval``, ``97.5% 置信区间，Holm 校正``.

    >>> interval_name(0.9, "credible", None), interval_name(0.975, "confidence", "holm", "zh-Hans")
    ('90% credible interval', '97.5% 置信区间，Holm 校正')
    """
    from .i18n import label, say

    if level is None:
        return label(f"exp.interval.{kind}", lang)
    text = say(f"exp.level.{kind}", lang, level=level_percent(level, lang))
    if correction:
        text = say("exp.level_adjusted", lang, interval=text, correction=label(f"exp.correction.{correction}", lang))
    return text


def interval_note(data: dict, lang: str = "en") -> str:
    """The footnote under an experiment's tables: the intervals' levels and why they agree with the verdicts."""
    from .i18n import label, say

    kind = data.get("ci_kind") or "confidence"
    metrics = data.get("metrics") or []
    goal = next((m for m in metrics if m.get("role") == "goal"), {})
    correction = goal.get("ci_correction")
    intervals = interval_name(data.get("ci_level"), kind, correction, lang)
    guard = next((m for m in metrics if m.get("role") == "guardrail" and m.get("ci_level") != data.get("ci_level")), None)
    if guard:
        intervals += label("sep.clause", lang) + say("exp.guardrail_level", lang,
                                                     interval=interval_name(guard["ci_level"], kind, None, lang))
    if data.get("method") == "bayesian":
        why = say("exp.why.credible", lang, threshold=level_percent(1 - data["alpha"], lang))
    elif correction:
        why = say("exp.why.adjusted", lang)
    else:
        level = level_percent(data["ci_level"], lang) if data.get("ci_level") is not None else ""
        return say("exp.footer", lang, level=level, kind=label("exp.interval." + kind, lang))
    return say("exp.footer_why", lang, intervals=intervals, why=why)


def interval_cells(table: dict, result: dict, lang: str) -> None:
    """Each interval named with its level (docs/experiments.md#verdicts-and-intervals): when every row shares one,
    the interval columns' headers say it ("90% credible interval (absolute)") and the per-row ``ci_level`` column
    waits in the column chooser; otherwise each row's ``ci_level`` cell names its own (goal metrics and guardrails
    differ under a correction). ``ci_correction`` is folded into those words."""
    from .i18n import say

    kind = result.get("ci_kind") or "confidence"
    names = []
    for raw, texts in zip(table["rows"], table["texts"]):
        level = raw.get("ci_level") if raw.get("effect_abs") is not None or raw.get("ci_abs") else None
        texts["ci_level"] = "" if level is None else interval_name(level, kind, raw.get("ci_correction"), lang)
        if texts["ci_level"]:
            names.append(texts["ci_level"])
    cols = [c for c in table["columns"] if c["key"] != "ci_correction"]
    level_col = [c for c in cols if c["key"] == "ci_level"]
    cols = [c for c in cols if c["key"] != "ci_level"]
    after = max((i for i, c in enumerate(cols) if c["key"] in ("ci_abs", "ci_rel")), default=len(cols) - 1)
    table["columns"] = cols[:after + 1] + level_col + cols[after + 1:]  # the level beside the intervals
    one = names[0] if names and len(set(names)) == 1 else None
    for c in table["columns"]:
        if c["key"] == "ci_level":
            c.update(kind="text", hidden=one is not None)
        elif c["key"] in ("ci_abs", "ci_rel") and one is not None:
            c["label"] = say("col.interval_abs" if c["key"] == "ci_abs" else "col.interval_rel", lang, interval=one)
