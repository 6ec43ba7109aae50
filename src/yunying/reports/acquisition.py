"""The acquisition (拉新) section of the overview page and the dashboard.

``acquisition_section(engine) -> (html_fragment, summary)``: an HTML section with Plotly charts
(no plotly.js inside: the page that embeds it loads plotly once) and a JSON-able summary.
"""
from __future__ import annotations

import html

from ..analyses.base import clean
from .columns import text_value
from .format import money as _money, number as _num, percent as _pct
from .i18n import empty, label, say


def _fig_html(fig, lang: str = "en", height: int = 430) -> str:
    from .figures import translate

    if fig.layout.height is None:
        fig.update_layout(height=height)
    fig = type(fig)(translate(fig.to_plotly_json(), lang))
    return fig.to_html(full_html=False, include_plotlyjs=False)


def acquisition_section(engine, *, budget_total: float | None = None, attribution: str = "first",
                        lang: str = "en") -> tuple[str, dict]:
    """HTML section (channels table, CPR/CAC chart, weekly cost, placement ranking and leaks,
    response curves with a budget proposal, attribution models compared) and its summary, in ``lang``
    (headings, table headers, chart texts and verdicts from the label catalogue)."""
    from ..analyses.acquisition import (AcquisitionSpec, AttributionSpec, BudgetSpec, ChannelsSpec, PlacementsSpec,
                                        attribution_from, budget_from, channels_from, load, placements_from)
    from ..errors import YunyingError

    base = AcquisitionSpec(attribution=attribution)
    data = load(engine, base, all_signups=True, nonconverting=True)
    tz = engine.timezone
    if data.signups.empty:
        return (f'<section id="acquisition"><h2>{html.escape(label("acquisition", lang))}</h2>'
                f'<p>{html.escape(label("acq.no_signups", lang))}</p></section>',
                {"registrations": 0})
    common = base.model_dump()
    ch = channels_from(data, ChannelsSpec.parse({**common, "by": "channel"}), tz)
    weekly = channels_from(data, ChannelsSpec.parse({**common, "by": "channel", "interval": "week"}), tz)
    pl = placements_from(data, PlacementsSpec.parse(common), tz)
    budget_error = None
    try:
        bu = budget_from(data, BudgetSpec.parse({**common, "total": budget_total}), tz)
    except (YunyingError, ValueError) as exc:  # pragma: no cover - defensive
        bu = None
        budget_error = str(exc)
    att = attribution_from(data, AttributionSpec.parse({**common, "models": ["first", "last", "linear", "markov"]}))

    cd = ch.to_dict()
    cur = cd["currency"]
    rows = cd["rows"]
    paid_rows = [r for r in rows if r["spend"] > 0]
    parts = _channel_parts(ch, weekly, cd, lang)
    pd_ = pl.to_dict()
    leaks = [r for r in pd_["rows"] if r.get("leak_stage")]
    parts += _placement_parts(pl, pd_, leaks, cur, lang)
    bsum = None
    if bu is not None and bu.meta.get("curves"):
        bsum, budget_parts = _budget_parts(bu, cur, lang)
        parts += budget_parts
    elif bu is None:
        parts.append(f"<p>{html.escape(say('acq.budget_unavailable', lang, error=budget_error))}</p>")
    # attribution comparison
    if len(att.frame):
        parts.append(_fig_html(att.chart().update_layout(title=label("acq.attribution_chart", lang)), lang))
    parts.append("</section>")

    best = min((r for r in paid_rows if r.get("cost_per_paying_user") is not None),
               key=lambda r: r["cost_per_paying_user"], default=None)
    summary = clean({
        "currency": cur,
        "attribution": cd["attribution"],
        "totals": cd["totals"],
        "channels": [{k: r.get(k) for k in ("channel", "spend", "registrations", "cost_per_registration",
                                            "paying_users", "cost_per_paying_user", "revenue", "roas",
                                            "payback_days", "verdict")} for r in rows],
        "best_channel_by_cac": best["channel"] if best else None,
        "leaks": [{k: r[k] for k in ("channel", "placement", "leak_stage", "leak_vs_channel_median")} for r in leaks],
        "too_early": [f"{r['channel']}/{r['placement']}" for r in pd_["rows"] if r["verdict"] == "too early to tell"],
        "budget": bsum,
    })
    return "\n".join(parts), summary


def _channel_parts(ch, weekly, cd: dict, lang: str = "en") -> list[str]:
    """The heading, the channel table, CPR/CAC by paid channel and the weekly cost per registration."""
    from ..analyses.acquisition import AcquisitionResult

    cur = cd["currency"]
    rows = cd["rows"]
    parts = [f'<section id="acquisition"><h2>{html.escape(label("acq.heading", lang))}</h2>',
             "<p>" + html.escape(say("acq.intro", lang, model=label(cd["attribution"], lang), days=cd["lookback_days"],
                                     revenue_to=cd["period"]["revenue_to"], currency=cur, na=empty(lang))) + "</p>"]
    head = [html.escape(label(f"col.{k}", lang)) for k in (
        "channel", "spend", "registrations", "cost_per_registration", "paying_users", "cost_per_paying_user",
        "revenue", "roas", "payback_days", "ltv_cac", "verdict")]
    head[5] += " (95%)"
    body = []
    for r in rows:
        ci = "" if r.get("cac_low") is None else f" ({_num(r['cac_low'])}–{_num(r['cac_high'])})" \
            if r.get("cac_high") is not None else f" ({_num(r['cac_low'])}–∞)"
        cells = (r["channel"], _money(r["spend"], lang=lang), _num(r["registrations"], lang=lang),
                 _money(r["cost_per_registration"], lang=lang), _num(r["paying_users"], lang=lang),
                 _money(r["cost_per_paying_user"], lang=lang) + ci, _money(r["revenue"], lang=lang),
                 _num(r["roas"], 2, lang), _num(r["payback_days"], lang=lang), _num(r["ltv_cac"], 2, lang),
                 text_value(r["verdict"], lang) if r.get("verdict") else "")
        body.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    parts.append('<table class="acq-channels"><tr>' + "".join(f"<th>{h}</th>" for h in head) + "</tr>"
                 + "".join(body) + "</table>")
    if any(r["spend"] > 0 for r in rows):
        paid_only = AcquisitionResult(ch.spec, ch.frame[ch.frame["spend"] > 0], ch.meta)
        parts.append(_fig_html(paid_only.chart().update_layout(
            title=f'{label("acq.cost_chart", lang)} ({cur})'), lang))
    wk = weekly.frame
    if len(wk) and (wk["spend"] > 0).any():
        import plotly.express as px

        w = wk[wk["spend"] > 0]
        parts.append(_fig_html(px.line(w, x="period", y="cost_per_registration", color="channel", markers=True,
                                       title=f'{label("acq.weekly_cost_chart", lang)} ({cur})'), lang))
    return parts


def _placement_parts(pl, pd_: dict, leaks: list, cur: str, lang: str = "en") -> list[str]:
    """Placements ranked by cost per paying user with intervals, and the funnel leaks."""
    parts = []
    if pd_["rows"]:
        parts.append(f'<h3>{html.escape(label("acq.placements_heading", lang))}</h3>')
        parts.append(_fig_html(pl.chart().update_layout(title=label("acq.placements_chart", lang)), lang))
        early = [r for r in pd_["rows"] if r["verdict"] == "too early to tell"]
        parts.append(f"<p>{html.escape(benchmark_line(pd_.get('benchmark_cac'), cur, lang))} "
                     f"{html.escape(say('acq.too_early', lang, early=len(early), total=len(pd_['rows'])))}</p>")
    if leaks:
        items = "".join(
            f"<li><b>{html.escape(r['channel'])} / {html.escape(r['placement'])}</b>: "
            f"{html.escape(text_value(r['leak_stage'], lang))} {_pct(r['leak_vs_channel_median'], lang=lang)} "
            f"({html.escape(label('col.leak_vs_channel_median', lang))}) — {html.escape(text_value(r['leak_note'], lang))}</li>"
            for r in leaks)
        parts.append(f'<h3>{html.escape(label("acq.leaks_heading", lang))}</h3><ul>{items}</ul>')
    return parts


def _budget_parts(bu, cur: str, lang: str = "en") -> tuple[dict, list[str]]:
    """The budget summary and its HTML: curves, current vs proposed mix, per-channel proposal (model estimate)."""
    bd = bu.to_dict()
    s = bd["summary"]
    parts = [f'<h3>{html.escape(label("acq.budget_heading", lang))} — <i>{html.escape(label("acq.model_estimate", lang))}</i></h3>',
             _fig_html(bu.chart(), lang)]
    props = "".join(
        f"<tr><td>{html.escape(r['channel'])}</td><td>{_money(r.get('current_daily_spend'), lang=lang)}</td>"
        f"<td>{_money(r.get('proposed_daily_spend'), lang=lang)}</td>"
        f"<td>{_money(r.get('marginal_cost_per_paying_user_now'), lang=lang)}</td>"
        f"<td>{_money(r.get('marginal_cost_per_paying_user_proposed'), lang=lang)}</td>"
        f"<td>{label('yes', lang) if r.get('extrapolated') else ''}</td></tr>" for r in bd["rows"] if r.get("modelled"))
    parts.append("<p>" + " ".join(html.escape(x) for x in budget_sentences(s, cur, lang)) + "</p>")
    head = "".join(f"<th>{html.escape(label(f'col.{k}', lang))}</th>" for k in (
        "channel", "current_daily_spend", "proposed_daily_spend", "marginal_cost_per_paying_user_now",
        "marginal_cost_per_paying_user_proposed", "extrapolated"))
    parts.append(f"<table><tr>{head}</tr>{props}</table>")
    return s, parts


def totals_line(t: dict, cur: str, lang: str) -> str:
    """The channels table's totals as one sentence in ``lang``."""
    return say("acq.totals", lang, spend=_money(t.get("spend"), cur, lang), registrations=_num(t.get("registrations"), lang=lang),
               paying=_num(t.get("paying_users"), lang=lang), revenue=_money(t.get("revenue"), cur, lang),
               cpr=_money(t.get("paid_cost_per_registration"), cur, lang),
               cpp=_money(t.get("paid_cost_per_paying_user"), cur, lang))


def leak_line(r: dict, lang: str) -> str:
    """One placement's funnel leak: the stage, its share of the channel median and what it usually means."""
    return say("acq.leak", lang, channel=r["channel"], placement=r["placement"], stage=text_value(r["leak_stage"], lang),
               share=_pct(r.get("leak_vs_channel_median"), 0, lang), note=text_value(r.get("leak_note") or "", lang))


def benchmark_line(cac, cur: str, lang: str) -> str:
    return say("acq.benchmark", lang, cac=_money(cac, cur, lang))


def budget_sentences(s: dict, cur: str, lang: str) -> list[str]:
    """The budget proposal in sentences (model estimate): the budget, the current and the proposed mix with their
    90% intervals, and the change with the probability that the proposal is better."""
    unit = label(f"budget.unit.{'paying_users' if s['objective'] == 'paying_users' else 'registrations'}", lang)
    cp, pp, imp = s["current_plan"], s["proposed_plan"], s["improvement"]

    def mix(key: str, plan: dict) -> str:
        lo, hi = plan["expected_value_interval"]
        return say(key, lang, value=_num(plan["expected_value"], lang=lang), unit=unit, lo=_num(lo, lang=lang),
                   hi=_num(hi, lang=lang), cost=_money(plan.get("expected_cost_per_unit"), cur, lang))

    lines = [say("budget.header", lang, total=_money(s["total"], cur, lang), days=s["days"])]
    if cp.get("expected_value") is not None:
        lines.append(mix("budget.current", cp))
    lines.append(mix("budget.proposed", pp))
    if imp.get("value") is not None:
        lo, hi = imp["interval"]
        lines.append(say("budget.change", lang, value=f"{imp['value']:+,.0f}", unit=unit, lo=_num(lo, lang=lang),
                         hi=_num(hi, lang=lang), prob=_pct(imp.get("probability_better"), 0, lang)))
    return lines
