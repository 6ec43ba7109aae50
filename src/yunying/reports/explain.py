"""``yunying explain`` for people: plain sentences and tables in en / zh-Hans / zh-Hant.

Every number goes through :mod:`yunying.reports.format`: a rate's change is in percentage points
(``+1.2 pp``), any other change in percent (``▼ -8.6%``); a contribution is shown in the metric's unit and
as percentage points of the previous value ("−5.1 pp of the change": the metric's percent change is the sum
of these points).
"""
from __future__ import annotations

import re

from . import format as fmt
from .i18n import label

TOP_SENTENCES = 3


def metric_label(name: str, given: str | None, lang: str) -> str:
    """A built-in metric's translated label, else the label of yunying.toml (else its name)."""
    key = f"explain_metric_{name}"
    text = label(key, lang)
    return text if text != key else (given or name)


def amount(v, kind: str, currency: str = "", lang: str = "en") -> str:
    """A change or contribution in the metric's unit: percentage points for a rate."""
    if kind == "rate":
        return fmt.points(v, lang=lang)
    return value(v, "number" if kind == "count" else kind, currency, lang)


def value(v, kind: str, currency: str = "", lang: str = "en") -> str:
    """A metric value in its unit."""
    if kind == "money":
        return fmt.money(v, currency, lang)
    if kind == "rate":
        return fmt.percent(v, lang=lang)
    if kind == "count" and v is not None and float(v).is_integer():
        return fmt.count(v, lang)
    return fmt.number(v, 2, lang)


def change(row: dict, lang: str = "en") -> str:
    """A change in percentage points for rates, in percent otherwise."""
    if row.get("kind") == "rate":
        return fmt.points(row["change"], lang=lang)
    return fmt.change(row.get("change_pct"), lang)


def points(contribution, previous, lang: str = "en") -> str:
    """A contribution as percentage points of the previous value."""
    if previous in (None, 0):
        return fmt.missing(lang)
    return fmt.points(contribution / abs(previous), lang=lang)


def tree_text(tree: str, d: dict, lang: str) -> str:
    """The factor tree with each metric named as people read it, in every language: ``收入 = 活跃用户 × 付费率 ×
    客单价(ARPPU)``, ``Revenue = Active users × Pay rate × ARPPU`` (never ``active_users * pay_rate``)."""
    names = {d.get("metric"): d.get("label"), **{f["name"]: f.get("label") for f in d.get("factors") or []}}
    out = re.sub(r"[A-Za-z_][A-Za-z0-9_]*", lambda m: metric_label(m.group(0), names.get(m.group(0)), lang)
                 if m.group(0) in names else m.group(0), tree)
    return out.replace(" * ", " × ")


def _range(r, lang) -> str:
    return label("explain_range", lang).format(first=r[0], last=r[1])


def _dimension(dim: str) -> str:
    return dim.split(".", 1)[1] if dim.startswith(("event.", "user.")) else dim


def _part_value(v, lang: str) -> str:
    return {"(other)": label("explain_other", lang), "(none)": label("explain_none", lang)}.get(v, str(v))


def _why(seg: dict, d: dict, lang: str) -> str:
    ratio = d.get("segment_form") == "ratio"
    mix_side = abs(seg["mix"]) >= abs(seg["rate"])
    up = (seg["mix"] if mix_side else seg["rate"]) > 0
    if mix_side:
        key = ("explain_mix_more" if up else "explain_mix_fewer") + ("_ratio" if ratio else "_sum")
    else:
        key = ("explain_rate_up" if up else "explain_rate_down") + ("_ratio" if ratio else "_sum")
    base = metric_label(d["base"], d.get("base_label"), lang) if d.get("base") else label("explain_base_one", lang)
    return label(key, lang).format(base=base.lower() if lang == "en" else base,
                                   metric=_metric(d, lang).lower() if lang == "en" else _metric(d, lang),
                                   base_one=label("explain_base_one", lang))


def _metric(d: dict, lang: str) -> str:
    return metric_label(d["metric"], d.get("label"), lang)


def sentences(d: dict, lang: str = "en") -> list[str]:
    """A few sentences: the headline, the factors, the largest segments."""
    name = _metric(d, lang)
    cur, vs = _range(d["current_range"], lang), _range(d["previous_range"], lang)
    kind, ccy = d.get("metric_kind", "number"), d.get("currency", "")
    if d["change"] == 0:
        return [label("explain_no_change", lang).format(metric=name, current=value(d["current"], kind, ccy, lang),
                                                        range=cur, vs_range=vs)]
    head = {"kind": kind, "change": d["change"], "change_pct": d.get("change_pct")}
    out = [label("explain_headline", lang).format(metric=name, change=change(head, lang), previous=value(d["previous"], kind, ccy, lang),
                                                  current=value(d["current"], kind, ccy, lang), range=cur, vs_range=vs)]
    factors = d.get("factors") or []
    if d.get("method") and len(factors) > 1:
        ranked = sorted(factors, key=lambda f: -abs(f["contribution"]))
        parts = [label("explain_factor_part", lang).format(
            factor=metric_label(f["name"], f.get("label"), lang), change=change(f, lang),
            points=points(f["contribution"], d["previous"], lang)) for f in ranked]
        method = label(f"explain_method_{d['method']}", lang)
        tree = tree_text(d.get("tree") or "", d, lang)
        out.append(label("explain_factors_intro", lang).format(tree=tree, method=method)
                   + label("explain_join", lang).join(parts) + label("explain_end", lang))
    segments = [s for s in d.get("segments") or [] if s["value"] != "(other)"][:TOP_SENTENCES]
    if segments:
        dim = _dimension(segments[0]["dimension"])
        rel = (lambda c: fmt.change(c / abs(d["previous"]), lang) if d["previous"] else fmt.missing(lang))  # noqa: E731
        parts = [label("explain_segment_part", lang).format(
            dimension=dim, value=_part_value(s["value"], lang),
            points=amount(s["contribution"], "rate", lang=lang) if kind == "rate" else points(s["contribution"], d["previous"], lang),
            amount=rel(s["contribution"]) if kind == "rate" else amount(s["contribution"], kind, ccy, lang),
            why=_why(s, d, lang)) for s in segments]
        out.append(label("explain_segments_intro", lang).format(dimension=dim)
                   + label("explain_join", lang).join(parts) + label("explain_end", lang))
    return out


def factor_rows(d: dict, lang: str) -> list[dict]:
    """The factor table with translated headers and formatted numbers."""
    ccy = d.get("currency", "")
    col = lambda k: label(f"explain_col_{k}", lang)  # noqa: E731
    return [{col("factor"): metric_label(f["name"], f.get("label"), lang) if "=" not in f["name"] else f["label"],
             col("previous"): value(f["previous"], f["kind"], ccy, lang), col("current"): value(f["current"], f["kind"], ccy, lang),
             col("change"): change(f, lang),
             col("contribution"): amount(f["contribution"], d["metric_kind"], ccy, lang),
             col("points"): points(f["contribution"], d["previous"], lang)} for f in d.get("factors") or []]


def segment_rows(d: dict, lang: str) -> list[dict]:
    """The segment table (children indented under their parent)."""
    ccy, kind = d.get("currency", ""), d["metric_kind"]
    part_kind = "number" if kind == "count" else kind
    col = lambda k: label(f"explain_col_{k}", lang)  # noqa: E731
    rows = []
    for s in d.get("segments") or []:
        for item, indent in [(s, "")] + [(c, "  └ ") for c in s.get("children", [])]:
            rows.append({col("segment"): indent + _part_value(item["value"], lang),
                         col("previous"): value(item["previous"], part_kind, ccy, lang),
                         col("current"): value(item["current"], part_kind, ccy, lang),
                         col("base_previous"): fmt.number(item["base_previous"], lang=lang),
                         col("base_current"): fmt.number(item["base_current"]),
                         col("mix"): amount(item["mix"], kind, ccy, lang), col("rate"): amount(item["rate"], kind, ccy, lang),
                         col("contribution"): amount(item["contribution"], kind, ccy, lang),
                         col("points"): points(item["contribution"], d["previous"], lang)})
    return rows
