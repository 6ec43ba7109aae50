"""HTML of an experiment result: SRM banner, results table, forest chart (plotly.js not included)."""
from __future__ import annotations

import html
import math
from typing import Any

import numpy as np


def experiment_html(result, lang: str = "en") -> str:
    """An HTML ``<section>`` for an :class:`~yunying.analyses.experiment.ExperimentResult`, in ``lang``
    (table headers from the label catalogue, numbers through the one formatter, chart texts translated)."""
    from .columns import people_table
    from .figures import translate
    from .i18n import label

    esc = html.escape
    d = result.to_dict()
    srm = d["srm"]
    parts = ['<section class="yunying-experiment">', f"<h2>{esc(label('experiment', lang))}</h2>"]
    cls = {"mismatch": "srm-mismatch", "caution": "srm-caution"}.get(srm["status"], "srm-ok")
    style = {"srm-mismatch": "background:#fde0dd;border:2px solid #d73027;",
             "srm-caution": "background:#fff3cd;border:2px solid #e6a700;",
             "srm-ok": "background:#eef7ee;border:1px solid #1a9850;"}[cls]
    chi2 = "n/a" if srm["chi2"] is None else f"{srm['chi2']:.4f}"
    p = "n/a" if srm["p_value"] is None else f"{srm['p_value']:.4g}"
    head = {"srm-mismatch": "⚠ SAMPLE RATIO MISMATCH", "srm-caution": "⚠ Possible sample ratio mismatch",
            "srm-ok": "Sample ratio check passed"}[cls]
    parts.append(f'<div class="yunying-srm {cls}" role="{"alert" if cls != "srm-ok" else "status"}" '
                 f'style="{style}padding:8px;margin:8px 0;"><strong>{esc(head)}</strong> — '
                 f"chi-square {chi2}, p = {p}. {esc(srm['message'] or '')}</div>")
    df = result.to_pandas()
    cols = ["metric", "variant", "n", "mean", "effect_abs", "ci_abs_low", "ci_abs_high", "effect_rel",
            "ci_rel_low", "ci_rel_high"]
    cols += ["chance_to_win", "risk"] if result.method == "bayesian" else ["p_value", "p_value_adjusted"]
    cols += ["verdict", "message"]
    rows = [{c: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for c, v in row.items() if c in cols} for row in df.to_dict(orient="records")]
    table = people_table(rows, lang, analysis="experiment")
    shown = [c for c in table["columns"] if c["key"] in cols]
    parts.append('<table class="yunying-table"><thead><tr>'
                 + "".join(f'<th data-col="{esc(c["key"])}">{esc(c["label"])}</th>' for c in shown)
                 + "</tr></thead><tbody>")
    for texts in table["texts"]:
        parts.append("<tr>" + "".join(f"<td>{esc(texts[c['key']])}</td>" for c in shown) + "</tr>")
    parts.append("</tbody></table>")
    fig = result.chart()
    parts.append(type(fig)(translate(fig.to_plotly_json(), lang, "experiment")).to_html(full_html=False,
                                                                                        include_plotlyjs=False))
    if result.messages:
        parts.append('<ul class="yunying-messages">' + "".join(
            f"<li><code>{esc(str(m.get('code')))}</code> {esc(str(m.get('message')))}</li>"
            for m in result.messages) + "</ul>")
    parts.append("</section>")
    return "\n".join(parts)


def _fmt(x: Any) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return ""
    if isinstance(x, (float, np.floating)):
        return f"{x:.4g}"
    return str(x)
