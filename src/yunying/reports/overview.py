"""The operations overview as a terminal summary and a self-contained HTML page."""
from __future__ import annotations

import html
from pathlib import Path

from rich.table import Table

from .format import change as fmt_change, count, money, number, percent

SECTION_TITLES = {
    "acquisition": "拉新 Acquisition",
    "activation": "促活 Activation",
    "retention": "留存 Retention",
    "revenue": "營收 Revenue",
}


def fmt_value(v, kind: str, currency: str = "") -> str:
    """A headline figure by its kind: a rate, money, a float or a count."""
    if kind == "rate":
        return percent(v)
    if kind == "money":
        return money(v, currency)
    if kind == "float":
        return number(v, 1)
    return count(v)


def print_overview(data: dict, console) -> None:
    cur = data.get("currency", "")
    console.print(f"[bold]Operations overview[/] — week {data.get('week')} to {data.get('week_end')} "
                  f"vs the week before ({data.get('timezone')})")
    table = Table(show_lines=False)
    for col, just in (("", "left"), ("metric", "left"), ("this week", "right"), ("last week", "right"),
                      ("change", "right")):
        table.add_column(col, justify=just)
    last = None
    for m in data.get("metrics", []):
        sec = SECTION_TITLES.get(m["section"], m["section"]) if m["section"] != last else ""
        last = m["section"]
        table.add_row(sec, f"{m['label']} {m['label_zh']}", fmt_value(m["current"], m["kind"], cur),
                      fmt_value(m["previous"], m["kind"], cur), fmt_change(m["change"]))
    console.print(table)
    chans = data.get("channels") or []
    if chans:
        t2 = Table(title="New users by first-touch channel (this week)")
        for col in ("channel", "new users", "change", "spend", "cost / registration"):
            t2.add_column(col, justify="left" if col == "channel" else "right")
        for c in sorted(chans, key=lambda c: -c["new_users"]):
            t2.add_row(c["channel"], f"{c['new_users']:,}", fmt_change(c["change"]),
                       fmt_value(c["spend"], "money", cur), fmt_value(c["cost_per_registration"], "money", cur))
        console.print(t2)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_overview_html(engine, result, path: Path, extra_sections: list[str] | None = None) -> Path:
    """A single HTML file (plotly.js inlined once, so it works offline)."""
    from ..analyses.trends import trends
    from ..analyses.users import new_users, revenue

    data = result.to_dict()
    cur = data.get("currency", "")
    cards = []
    for m in data["metrics"]:
        change = m["change"]
        cls = "up" if (change or 0) > 0 else "down" if (change or 0) < 0 else ""
        cards.append(
            f'<div class="card" data-metric="{m["key"]}"><div class="sec">{html.escape(SECTION_TITLES[m["section"]])}</div>'
            f'<div class="label">{html.escape(m["label"])}<br><span class="zh">{html.escape(m["label_zh"])}</span></div>'
            f'<div class="value">{html.escape(fmt_value(m["current"], m["kind"], cur))}</div>'
            f'<div class="change {cls}">{html.escape(fmt_change(change))} '
            f'<span class="prev">vs {html.escape(fmt_value(m["previous"], m["kind"], cur))}</span></div></div>'
        )
    figs = [
        trends(engine, active=True, measure="users", interval="day").chart().update_layout(title="Daily active users 日活"),
        new_users(engine, interval="week", by_channel=True).chart().update_layout(
            title="New users per week by first-touch channel 新增用戶(首次觸點渠道)"),
        revenue(engine, interval="week").chart().update_layout(title="Revenue per week 收入"),
    ]
    charts = "\n".join(f.to_html(full_html=False, include_plotlyjs=False) for f in figs)
    rows = "".join(
        f"<tr><td>{html.escape(c['channel'])}</td><td>{c['new_users']:,}</td><td>{html.escape(fmt_change(c['change']))}</td>"
        f"<td>{html.escape(fmt_value(c['spend'], 'money', cur))}</td>"
        f"<td>{html.escape(fmt_value(c['cost_per_registration'], 'money', cur))}</td></tr>"
        for c in sorted(data.get("channels", []), key=lambda c: -c["new_users"])
    )
    page = f"""<!doctype html>
<html lang="zh-Hant"><head><meta charset="utf-8"><title>yunying overview</title>
<script>{_plotly_js()}</script>
<style>
body{{font-family:system-ui,"PingFang SC","Noto Sans CJK SC",sans-serif;margin:24px;color:#222}}
.cards{{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:12px}}
.card{{border:1px solid #ddd;border-radius:8px;padding:12px}} .sec{{font-size:12px;color:#888}}
.value{{font-size:26px;font-weight:600;margin:6px 0}} .zh{{color:#666}} .up{{color:#0a7}} .down{{color:#c33}}
.prev{{color:#888;font-size:12px}} table{{border-collapse:collapse}} td,th{{border-bottom:1px solid #eee;padding:4px 10px;text-align:right}}
td:first-child,th:first-child{{text-align:left}}
</style></head><body>
<h1>Operations overview 運營概覽</h1>
<p>Week {data['week']} – {data['week_end']} compared with the week from {data['previous_week']}
(time zone {html.escape(str(data['timezone']))}; definitions in docs/overview.md).</p>
<div class="cards">{''.join(cards)}</div>
<h2>New users by first-touch channel 渠道拉新</h2>
<table><tr><th>channel</th><th>new users</th><th>change</th><th>spend</th><th>cost / registration</th></tr>{rows}</table>
{charts}
{''.join(extra_sections or [])}
</body></html>"""
    path = Path(path)
    path.write_text(page, encoding="utf-8")
    return path


def write_overview_xlsx(result, path: Path) -> Path:
    """The overview as an Excel workbook: a metrics sheet and a channels sheet."""
    import pandas as pd

    data = result.to_dict()
    metrics = pd.DataFrame(data["metrics"])[["section", "label", "label_zh", "current", "previous", "change"]]
    channels = pd.DataFrame(data.get("channels") or [])
    path = Path(path)
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        metrics.to_excel(xw, sheet_name="overview", index=False, startrow=2)
        sheet = xw.sheets["overview"]
        sheet.write(0, 0, f"Operations overview: week {data['week']} to {data['week_end']} vs previous week "
                          f"({data['timezone']}, {data['currency']})")
        pct = xw.book.add_format({"num_format": "0.0%"})
        sheet.set_column(1, 2, 36)
        sheet.set_column(3, 4, 14)
        sheet.set_column(5, 5, 10, pct)
        if not channels.empty:
            channels.to_excel(xw, sheet_name="channels", index=False)
    return path
