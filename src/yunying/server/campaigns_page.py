"""The dashboard's campaigns page (issue 15): ``/campaigns`` lists every campaign (the portfolio), and
``/campaigns/NAME`` shows its plan (Gantt chart, schedule checks), pacing and review — the same analyses and
report sections as ``yunying campaign``, rendered on the server. Charts (``data-figure``) and tables (``data-table``, the shared table with export) travel as data and are
drawn by ``static/app.js``, since the pages' Content-Security-Policy allows no inline script."""
from __future__ import annotations

import datetime as dt
import html
from types import SimpleNamespace

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse

from ..errors import SpecError, YunyingError
from ..reports.error_text import say_error
from ..reports.i18n import messages
from .dashboard import _lang, project_or_login, render

router = APIRouter(include_in_schema=False)


def _ws(project, reader):
    """What the campaign analyses need: the reader's engine, the workspace folder (definitions) and config."""
    return SimpleNamespace(engine=reader.engine, path=project.paths.root, config=project.config)


def _portfolio_body(rows: list[dict], lang: str, currency: str) -> str:
    from ..reports import campaigns as R

    t = messages(lang)
    e = html.escape
    if not rows:
        return f"<h1>{e(t['camp_campaigns'])}</h1><p class=\"notice\" id=\"no-campaigns\">{e(t['camp_none'])}</p>"
    head, body = R.portfolio_rows(rows, lang, currency)
    links = "".join(f'<li><a href="/campaigns/{e(r["campaign"])}">{e(r["campaign"])}</a></li>' for r in rows)
    return (f"<h1>{e(t['camp_campaigns'])}</h1><section class=\"panel\" id=\"portfolio\"><h2>"
            f"{e(t['camp_portfolio'])}</h2>{R.data_table(head, body)}<ul class=\"list\" id=\"campaign-links\">{links}"
            f"</ul>{R.data_figure(R.portfolio_figure(rows, lang, currency))}</section>")


def _campaign_body(name: str, parts: dict, lang: str, currency: str) -> str:
    from ..reports import campaigns as R

    t = messages(lang)
    e = html.escape
    out = [f"<h1>{e(t['camp_campaign'])} {e(name)}</h1>",
           f'<p><a href="/campaigns">{e(t["camp_campaigns"])}</a></p>',
           f'<section class="panel" id="plan">{R.plan_section(parts["plan"], lang, fig=R.data_figure, tab=R.data_table)}</section>']
    for key in ("pacing", "review"):
        v = parts.get(key)
        if isinstance(v, BaseException):    # not available yet (e.g. before the start): say why
            out.append(f'<section class="panel" id="{key}"><h2>{e(t["camp_" + key])}</h2>'
                       f'<p class="notice">{e(say_error(v, lang))}</p></section>')
        elif key == "pacing":
            pacing = R.pacing_section(v, lang, currency, fig=R.data_figure, tab=R.data_table)
            out.append(f'<section class="panel" id="pacing">{pacing}</section>')
        else:
            review = R.review_section(v, lang, currency, fig=R.data_figure, tab=R.data_table)
            out.append(f'<section class="panel" id="review">{review}</section>')
    return "".join(out)


@router.get("/campaigns", response_class=HTMLResponse)
async def campaigns_page(request: Request):
    project, login = project_or_login(request)
    if login:
        return login
    from ..analyses.campaigns.portfolio import portfolio

    lang = _lang(request)
    rows = await project.queries.run(lambda reader: portfolio(_ws(project, reader)))
    body = _portfolio_body(rows, lang, project.config.currency)
    return render(request, page="campaigns", path="/campaigns", title=messages(lang)["camp_campaigns"], body=body,
                  data={}, project=project)


def _compute(project, name: str, as_of: dt.date | None):
    def run(reader) -> dict:
        from ..analyses.campaigns.pacing import pacing
        from ..analyses.campaigns.plan import plan
        from ..analyses.campaigns.review import review
        from ..storage import campaigns as store

        ws = _ws(project, reader)
        camp = store.load(ws.path, name)
        out = {"plan": plan(ws, camp)}
        for key, fn in (("pacing", lambda: pacing(ws, camp, as_of=as_of)),
                        ("review", lambda: review(ws, camp, as_of=as_of).data)):
            try:
                out[key] = fn()
            except SpecError as exc:  # not available yet (e.g. before the start): said in the page's language
                out[key] = exc
        return out
    return run


@router.get("/campaigns/{name}", response_class=HTMLResponse)
async def campaign_page(request: Request, name: str):
    project, login = project_or_login(request)
    if login:
        return login
    lang = _lang(request)
    text = request.query_params.get("as_of")
    try:
        as_of = dt.date.fromisoformat(text) if text else None
    except ValueError:
        raise SpecError(key="campaigns_page.as_expected_date_yyyy", text=text) from None
    try:
        parts = await project.queries.run(_compute(project, name, as_of))
    except YunyingError as exc:
        t = messages(lang)
        body = (f"<h1>{html.escape(t['camp_campaign'])} {html.escape(name)}</h1>"
                f'<div id="error" class="error" role="alert">{html.escape(say_error(exc, lang))}</div>')
        return render(request, page="campaigns", path="/campaigns", title=name, body=body, data={}, project=project,
                      status=404 if "no campaign" in exc.message else 400)
    body = _campaign_body(name, parts, lang, project.config.currency)
    return render(request, page="campaigns", path="/campaigns", title=name, body=body, data={}, project=project)


def register(app: FastAPI) -> None:
    app.include_router(router)
