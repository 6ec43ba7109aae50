"""HTML of an experiment result: SRM banner, results table, forest chart (plotly.js not included)."""
from __future__ import annotations

import html



def experiment_html(result, lang: str = "en", names: dict | None = None) -> str:
    """An HTML ``<section>`` for an :class:`~yunying.analyses.experiment.ExperimentResult`, in ``lang``
    (table headers from the label catalogue, numbers through the one formatter, chart texts translated);
    ``names``: metric name -> what people read (a metric the CLI named, in words)."""
    from .figures import translate
    from .i18n import label

    esc = html.escape
    d = result.to_dict()
    srm = d["srm"]
    parts = ['<section class="yunying-experiment">', "<style>.yunying-table td.good{color:#1a7f37;font-weight:600}"
             ".yunying-table td.bad{color:#c62828;font-weight:600}</style>", f"<h2>{esc(label('experiment', lang))}</h2>"]
    head, detail = srm_lines(srm, lang)
    cls = {"mismatch": "srm-mismatch", "caution": "srm-caution"}.get(srm["status"], "srm-ok")
    style = {"srm-mismatch": "background:#fde0dd;border:2px solid #d73027;",
             "srm-caution": "background:#fff3cd;border:2px solid #e6a700;",
             "srm-ok": "background:#eef7ee;border:1px solid #1a9850;"}[cls]
    parts.append(f'<div class="yunying-srm {cls}" role="{"alert" if cls != "srm-ok" else "status"}" '
                 f'style="{style}padding:8px;margin:8px 0;"><strong>{esc(head)}</strong> — {esc(detail)}</div>')
    from .exp_intervals import interval_note
    from .view import people_view

    table = people_view("experiment", {"result": d, "rows_key": "metrics"}, {}, lang=lang)["table"]
    cols = ["metric", "variant", "n", "mean", "effect_abs", "ci_abs", "effect_rel", "ci_rel", "ci_level"]
    cols += ["chance_to_win", "risk"] if result.method == "bayesian" else ["p_value", "p_value_adjusted"]
    cols += ["verdict", "message"]
    by_key = {c["key"]: c for c in table["columns"]}
    shown = [by_key[c] for c in cols if c in by_key and not (c == "ci_level" and by_key[c]["hidden"])]
    parts.append('<table class="yunying-table"><thead><tr>'
                 + "".join(f'<th data-col="{esc(c["key"])}">{esc(c["label"])}</th>' for c in shown)
                 + "</tr></thead><tbody>")
    for raw, texts, tones in zip(table["rows"], table["texts"], table["tones"]):
        if raw.get("message"):
            texts["message"] = stat_text(raw["message"], lang)
        texts["metric"] = (names or {}).get(raw.get("metric"), texts.get("metric"))
        parts.append("<tr>" + "".join(f'<td class="{tones.get(c["key"], "")}">{esc(texts[c["key"]])}</td>'
                                      for c in shown) + "</tr>")
    parts.append("</tbody></table>")
    parts.append(f'<p class="yunying-note">{esc(interval_note(d, lang))}</p>')
    fig = result.chart()
    parts.append(type(fig)(translate(fig.to_plotly_json(), lang, "experiment")).to_html(full_html=False,
                                                                                        include_plotlyjs=False))
    if result.messages:
        parts.append('<ul class="yunying-messages">' + "".join(
            f"<li><code>{esc(str(m.get('code')))}</code> {esc(stat_text(m.get('message'), lang, m.get('code')))}</li>"
            for m in result.messages) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def srm_lines(srm: dict, lang: str) -> tuple[str, str]:
    """The sample-ratio banner's heading and its detail (statistics, counts, what it means), in ``lang``."""
    from .format import missing, pvalue
    from .i18n import label, say

    status = srm["status"] if srm["status"] in ("mismatch", "caution", "not_testable") else "passed"
    message = stat_text(srm.get("message"), lang) if status != "passed" else ""
    if status == "not_testable":
        return label("srm.not_testable", lang), message or ""
    stats = say("srm.stats", lang, chi2=missing(lang) if srm.get("chi2") is None else f"{srm['chi2']:.4f}",
                p=pvalue(srm.get("p_value"), lang))
    if status == "mismatch" and srm.get("threshold") is not None:
        stats += label("sep.open", lang) + say("srm.threshold", lang, threshold=format(srm["threshold"], "g")) \
            + label("sep.close", lang)
    counts = label("sep.list", lang).join(f"{k} {v:,}" for k, v in (srm.get("observed") or {}).items())
    return label(f"srm.{status}", lang), label("sep.clause", lang).join(x for x in (stats, counts, message) if x)


def stat_text(message, lang: str, code: str | None = None) -> str:
    """A statistics message (stats/messages.py) in ``lang``: each description it holds replaced by the catalogue's
    ``stat.<code>``; anything else (a user's metric name) kept."""
    from ..stats.messages import DESCRIPTIONS
    from .i18n import MESSAGES, label

    if not isinstance(message, str) or lang == "en":
        return message
    if code and f"stat.{code}" in MESSAGES and message == DESCRIPTIONS.get(code):
        return label(f"stat.{code}", lang)
    for c, text in DESCRIPTIONS.items():
        if text in message:
            message = message.replace(text, label(f"stat.{c}", lang))
    return message.replace(MESSAGES["stat.units_in_unplanned_arm"][0], label("stat.units_in_unplanned_arm", lang))
