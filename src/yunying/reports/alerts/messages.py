"""The text of an alert, in en / zh-Hans / zh-Hant, for every channel: a title, plain text, Markdown (the
robots) and the generic webhook's JSON payload. Numbers go through ``reports/format.py``."""
from __future__ import annotations

import html as _html

from .. import format as fmt
from ..i18n import label as L


def value_text(v, kind: str, currency: str = "") -> str:
    """A metric value as people read it, by the metric's kind (money, rate, count, number)."""
    if kind == "money":
        return fmt.money(v, currency)
    if kind == "rate":
        return fmt.percent(v)
    if kind == "count":  # an expected count (a median, a bound) may have decimals
        return fmt.count(v) if v is None or float(v).is_integer() else fmt.number(v, 1)
    return fmt.number(v, 2)


def _why(alert: dict, lang: str) -> str:
    d = alert["detail"]
    kind, cur = d.get("kind", "number"), d.get("currency", "")
    crossed = d.get("crossed")
    if d.get("condition") == "anomaly":
        return L(f"alerts.anomaly.{crossed}", lang).format(
            expected=value_text(alert["reference"], kind, cur), lower=value_text(d.get("lower"), kind, cur),
            upper=value_text(d.get("upper"), kind, cur))
    if d.get("condition") == "change":
        points = d.get("unit") == "points"
        change = fmt.points(d.get("change")) if points else fmt.change(d.get("change"))
        limit = (fmt.points if points else fmt.percent)(d.get("limit"))
        return L(f"alerts.crossed.{crossed}", lang).format(change=change, limit=limit.lstrip("+"))
    return L(f"alerts.crossed.{crossed}", lang).format(threshold=value_text(alert["reference"], kind, cur))


def lines(alert: dict, lang: str) -> list[tuple[str, str]]:
    """(label, text) pairs of an alert (a fired row: rule, period, period_start, value, reference, detail)."""
    d = alert["detail"]
    kind, cur = d.get("kind", "number"), d.get("currency", "")
    period = f"{alert['period_start']}" + (f" – {d['period_end']}" if alert["period"] != "day" and d.get("period_end")
                                           else "")
    out = [(L("alerts.metric", lang), d.get("label") or alert["metric"]),
           (L("alerts.period", lang), f"{period} ({L('alerts.period.' + alert['period'], lang)})"),
           (L("alerts.value", lang), value_text(alert["value"], kind, cur))]
    if d.get("condition") == "change":
        out.append((L("alerts.previous", lang), value_text(alert["reference"], kind, cur)))
    out.append((L("alerts.why", lang), _why(alert, lang)))
    if d.get("where"):
        out.append((L("alerts.filter", lang), "; ".join(d["where"])))
    if d.get("segment"):
        out.append((L("alerts.segment", lang), d["segment"]))
    return out


def render(alert: dict, lang: str = "en", *, note: str | None = None) -> dict:
    """title, text, markdown, html and the generic JSON ``payload`` of one alert."""
    title = "[yunying] " + L("alerts.title", lang).format(rule=alert["rule"])
    pairs = lines(alert, lang)
    sep = "：" if lang != "en" else ": "
    text = "\n".join(f"{k}{sep}{v}" for k, v in pairs) + (f"\n{note}" if note else "")
    markdown = "\n\n".join(f"**{k}**{sep}{v}" for k, v in pairs) + (f"\n\n> {note}" if note else "")
    rows = "".join(f"<tr><th align='left'>{_html.escape(k)}</th><td>{_html.escape(v)}</td></tr>" for k, v in pairs)
    html = f"<h3>{_html.escape(title)}</h3><table>{rows}</table>" + (f"<p>{_html.escape(note)}</p>" if note else "")
    payload = {"source": "yunying", "rule": alert["rule"], "metric": alert["metric"], "period": alert["period"],
               "period_start": alert["period_start"], "value": alert["value"], "reference": alert["reference"],
               "condition": alert["detail"].get("condition"), "detail": alert["detail"], "title": title,
               "text": text, "test": note is not None}
    return {"title": title, "text": text, "markdown": markdown, "html": html, "payload": payload}
