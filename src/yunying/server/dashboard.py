"""Dashboard pages: server-rendered shells, filled by ``static/app.js`` from the query API.

Every analysis page is the same machine: a form generated from the analysis'
spec (its JSON schema), a Plotly chart from the result's ``chart()`` and a table
of the result's rows. So an analysis added to the registry gets a page at
``/analysis/KIND`` with no change here; the named pages (overview, trends,
funnel, retention, lifecycle, channels, experiments) add a starting spec.
Plotly's own ``plotly.min.js`` is served from the installed package: the pages
work without any network.
"""
from __future__ import annotations

import html
import json
from pathlib import Path
from string import Template
from urllib.parse import urlencode

import plotly
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from ..analyses import registry
from ..errors import YunyingError
from ..reports.i18n import LANG_NAMES, LANGS, messages, pick_language
from .auth import TOKEN_COOKIE
from .errors import NotFound

LANG_COOKIE = "yy_lang"

STATIC = Path(__file__).parent / "static"
PAGE = Template((STATIC / "page.html").read_text(encoding="utf-8"))
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600

# path, label key, analysis kind
PAGES = [
    ("/", "overview", "overview"),
    ("/trends", "trends", "trends"),
    ("/funnel", "funnel", "funnel"),
    ("/retention", "retention", "retention"),
    ("/lifecycle", "lifecycle", "lifecycle"),
    ("/channels", "channels", "channels"),
    ("/experiments", "experiments", "experiment"),
    ("/customers", "customer_value", "customer_value"),
    ("/content", "content", "content"),
]
PAGE_OF_KIND = {kind: path for path, _, kind in PAGES}
# Fields shown open in the form (the rest sit under "more options").
COMMON_FIELDS = {"event", "active", "measure", "property", "interval", "by", "date_from", "date_to", "steps",
                 "window", "order", "start_event", "return_event", "period", "periods", "cohort", "week",
                 "metrics", "attribution", "method", "experiment", "variant", "by_channel", "channel", "total",
                 "objective", "events", "start", "end"}


def presets(kind: str, config) -> dict:
    """A starting spec per analysis, from the workspace's event settings (fields the spec lacks are dropped)."""
    ev = config.events
    return {
        "trends": {"active": True, "measure": "users", "interval": "day"},
        # the window is the spec's default (14 days), as `yunying funnel`: one funnel, one number everywhere
        "funnel": {"steps": [ev.signup, ev.activation, ev.purchase]},
        "retention": {"start_event": ev.signup, "return_event": "$any", "period": "week", "periods": 8},
        "lifecycle": {"interval": "week", "period": "week"},
        "stickiness": {"interval": "week", "period": "week"},
        "paths": {"event": ev.signup},
        "intervals": {"first_event": ev.signup, "then_event": ev.purchase},
        "experiment": {"metrics": [{"name": ev.purchase, "event": ev.purchase, "kind": "conversion"}]},
        "new_users": {"interval": "week", "by_channel": True},
        "revenue": {"interval": "week"},
        "customer_value": {"period": "week", "horizon_days": 90},
        "content": {"by": "piece", "baseline": "account"},
        # built-in metrics (analyses/metrics.py): the pages open with numbers, not an empty form
        "metric": {"metric": "active_users"},
        "explain": {"metric": "active_users", "period": "week"},
    }.get(kind, {})


def _script_json(data) -> str:
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")


def _lang(request: Request) -> str:
    return pick_language(request.query_params.get("lang"), request.cookies.get(LANG_COOKIE),
                         request.headers.get("accept-language"))


def _remember_lang(request: Request, response: Response, lang: str) -> Response:
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=YEAR, samesite="lax")
    return response


def _nav(current: str, t: dict, kinds: list[str]) -> str:
    items = []
    for path, key, kind in PAGES:
        cls = ' class="current"' if path == current else ""
        items.append(f'<a href="{path}"{cls} data-kind="{kind}">{html.escape(t[key])}</a>')
    others = [k for k in kinds if k not in PAGE_OF_KIND]
    if others:
        links = "".join(f'<a href="/analysis/{k}">{html.escape(t.get(k, t.get(k + "_page", k)))}</a>'
                        for k in others)
        items.append(f'<details class="more"><summary>{html.escape(t["more"])}</summary><div>{links}</div></details>')
    cls = ' class="current"' if current == "/campaigns" else ""
    items.append(f'<a href="/campaigns"{cls}>{html.escape(t["camp_campaigns"])}</a>')  # server/campaigns_page.py
    cls = ' class="current"' if current == "/segments" else ""
    items.append(f'<a href="/segments"{cls}>{html.escape(t["seg.segments"])}</a>')  # the segment builder (issue 11)
    cls = ' class="current"' if current == "/saved" else ""
    items.append(f'<a href="/saved"{cls}>{html.escape(t["saved"])}</a>')
    return "".join(items)


def render(request: Request, *, page: str, path: str, title: str, body: str, data: dict, project=None,
           status: int = 200) -> HTMLResponse:
    lang = _lang(request)
    t = messages(lang)
    kinds = request.app.state.kinds
    options = "".join(f'<option value="{code}"{" selected" if code == lang else ""}>{LANG_NAMES[code]}</option>'
                      for code in LANGS)
    payload = {"page": page, "lang": lang, "t": t, "project": project.name if project else None,
               "pages": PAGE_OF_KIND, "kinds": kinds, **data}
    text = PAGE.substitute(
        lang=lang, title=html.escape(title), page=page, brand=html.escape(t["app"]),
        nav=_nav(path, t, kinds) if project else "", lang_label=html.escape(t["language"]), lang_options=options,
        project=html.escape(f'{t["project"]}: {project.name}') if project else "",
        sign_out=f'<a href="/logout">{html.escape(t["sign_out"])}</a>' if project else "",
        body=body, data=_script_json(payload))
    return _remember_lang(request, HTMLResponse(text, status_code=status), lang)


def customer_panels(t: dict) -> str:
    """The customer-value page's own panels (filled by app.js): model fit, churn-risk counts, win-back list."""
    e = html.escape
    return f"""
<section class="panel"><h2>{e(t["model_fit"])}</h2><div id="fit"></div></section>
<section class="panel"><h2>{e(t["churn_risk_counts"])}</h2><div id="tiers"></div></section>
<section class="panel"><h2>{e(t["winback_list"])}</h2><div id="winback"></div></section>
"""


def content_panels(t: dict) -> str:
    """The content page's own panels (filled by app.js): flags with their evidence, publishing time."""
    e = html.escape
    return f"""
<section class="panel"><h2>{e(t["content.flags_title"])}</h2><div id="flags"></div></section>
<section class="panel"><h2>{e(t["content.timing_title"])}</h2><div id="timing"></div></section>
"""


def analysis_body(t: dict, title: str, overview: bool = False, customers: bool = False,
                  content: bool = False) -> str:
    e = html.escape
    kpis = '<section class="panel" id="kpis" hidden></section>' if overview else ""
    return f"""
<h1>{e(title)}</h1>
<section class="panel" id="params-panel">
  <h2>{e(t["parameters"])}</h2>
  <form id="params" autocomplete="off" onsubmit="return false"></form>
  <div class="actions">
    <button id="run" type="button">{e(t["run"])}</button>
    <input id="save-name" type="text" placeholder="{e(t["save_name"])}" maxlength="200">
    <button id="save" type="button" class="secondary">{e(t["save"])}</button>
    <span id="save-status" role="status"></span>
  </div>
</section>
<div id="error" class="error" role="alert" hidden></div>
<section class="panel notes" id="notes" role="status" hidden></section>
{kpis}
<section class="panel"><h2>{e(t["chart"])}</h2><div id="chart" class="chart"></div></section>
<section class="panel"><h2>{e(t["numbers"])}</h2><div id="numbers"></div></section>
{customer_panels(t) if customers else ""}{content_panels(t) if content else ""}"""


router = APIRouter(include_in_schema=False)


def project_or_login(request: Request):
    """The project of the signed-in reader, or a redirect to the sign-in page."""
    try:
        return request.app.state.server.reader(request), None
    except YunyingError:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return None, RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def analysis_page(path: str, key: str, kind: str):
    """The page of one analysis: its form (from the spec's JSON schema), chart and numbers."""

    async def page(request: Request):
        token = request.query_params.get("token")
        if token:  # a link with ?token=: a valid token moves into a cookie and leaves the address bar
            return sign_in(request, token, path) or login_page(request, path, failed=True)
        project, login = project_or_login(request)
        if login:
            return login
        t = messages(_lang(request))
        title = t.get(key, key)
        available = kind in request.app.state.kinds
        data = {"kind": kind, "available": available, "schema": None, "preset": {}, "common": []}
        if available:
            spec_class = registry.get(kind).spec_class
            schema = spec_class.model_json_schema()
            preset = {k: v for k, v in presets(kind, project.config).items() if k in schema.get("properties", {})}
            data.update(schema=schema, preset=preset, common=sorted(COMMON_FIELDS))
        body = analysis_body(t, title, overview=kind == "overview", customers=kind == "customer_value",
                             content=kind == "content") if available else (
            f'<h1>{html.escape(title)}</h1><p class="notice" id="not-available">'
            f'{html.escape(t["not_available"])}</p>')
        if kind == "overview":
            from .campaigns_panel import overview_panel

            body += overview_panel(project, t, _lang(request))
        return render(request, page=key, path=path, title=title, body=body, data=data, project=project)

    page.__name__ = f"page_{key}"
    return page


for _path, _key, _kind in PAGES:
    router.add_api_route(_path, analysis_page(_path, _key, _kind), methods=["GET"], response_class=HTMLResponse)


@router.get("/analysis/{kind}", response_class=HTMLResponse)
async def any_analysis(request: Request, kind: str):
    if kind in PAGE_OF_KIND:
        return RedirectResponse(PAGE_OF_KIND[kind] + (f"?{request.url.query}" if request.url.query else ""),
                                status_code=303)
    return await analysis_page(f"/analysis/{kind}", kind, kind)(request)


@router.get("/saved", response_class=HTMLResponse)
async def saved_page(request: Request):
    project, login = project_or_login(request)
    if login:
        return login
    t = messages(_lang(request))
    e = html.escape
    body = f"""
<h1>{e(t["saved"])}</h1>
<section class="panel"><h2>{e(t["analyses"])}</h2><ul id="saved-analyses" class="list"></ul></section>
<section class="panel"><h2>{e(t["dashboards"])}</h2><ul id="dashboards" class="list"></ul>
  <h3>{e(t["new_dashboard"])}</h3>
  <form id="new-dashboard" onsubmit="return false">
    <input id="dashboard-name" type="text" placeholder="{e(t["dashboard_name"])}" maxlength="200">
    <div id="dashboard-items" class="checks"></div>
    <button id="create-dashboard" type="button">{e(t["create"])}</button>
  </form>
</section>
<div id="error" class="error" role="alert" hidden></div>"""
    return render(request, page="saved", path="/saved", title=t["saved"], body=body, data={}, project=project)


@router.get("/segments", response_class=HTMLResponse)
async def segments_page(request: Request):
    """The segment builder (用戶分群, issue 11): list with sizes, rules as form rows with a live size, save,
    delete, export and the size over time; filled by static/segments.js from /api/segments."""
    project, login = project_or_login(request)
    if login:
        return login
    t = messages(_lang(request))
    e = html.escape
    periods = "".join(f'<option value="{p}">{e(t[k])}</option>' for p, k in (("week", "seg.by_week"), ("month", "seg.by_month"),
                                                                          ("day", "seg.by_day")))
    body = f"""
<h1>{e(t["seg.segments"])}</h1>
<section class="panel"><h2>{e(t["seg.all_segments"])}</h2><div id="seg-list"></div></section>
<section class="panel" id="seg-builder-panel"><h2>{e(t["seg.builder"])}</h2>
  <div id="seg-builder"></div>
  <details id="seg-expert" class="flt-expert"><summary>{e(t["seg.rule_text"])}</summary>
    <textarea id="seg-rule" spellcheck="false" rows="2"></textarea><p class="caption">{e(t["seg.rule_hint"])}</p></details>
  <div class="actions">
    <label class="field"><span>{e(t["as_of"])}</span><input id="seg-as-of" type="text" placeholder="{e(t["date_placeholder"])}"
      pattern="\d{{4}}-\d{{2}}-\d{{2}}" inputmode="numeric" maxlength="10"></label>
    <div class="seg-size"><span>{e(t["seg.live_size"])}</span><strong id="seg-size">–</strong></div>
  </div>
  <div class="actions">
    <input id="seg-name" type="text" placeholder="{e(t["seg.name"])}" maxlength="200">
    <input id="seg-description" type="text" placeholder="{e(t["seg.description"])}" maxlength="2000">
    <button id="seg-save" type="button">{e(t["save"])}</button>
    <button id="seg-new" type="button" class="secondary">{e(t["seg.new"])}</button>
    <span id="seg-status" role="status"></span>
  </div>
</section>
<div id="error" class="error" role="alert" hidden></div>
<section class="panel"><h2>{e(t["seg.size_over_time"])}</h2>
  <div class="actions">
    <label class="field"><span>{e(t["seg.segment"])}</span><select id="seg-pick"></select></label>
    <label class="field"><span>{e(t["seg.period"])}</span><select id="seg-over">{periods}</select></label>
    <label class="field"><span>{e(t["seg.export_properties"])}</span><input id="seg-props" type="text" list="dl-user-props"
      placeholder="city, plan"></label>
    <button id="seg-export-csv" type="button" class="secondary">{e(t["export_csv"])}</button>
    <button id="seg-export-xlsx" type="button" class="secondary">{e(t["export_xlsx"])}</button>
  </div>
  <div id="seg-chart" class="chart"></div>
</section>"""
    return render(request, page="segments", path="/segments", title=t["seg.segments"], body=body, data={},
                  project=project)


@router.get("/dashboards/{item_id}", response_class=HTMLResponse)
async def dashboard_page(request: Request, item_id: str):
    project, login = project_or_login(request)
    if login:
        return login
    t = messages(_lang(request))
    body = ('<h1 id="dashboard-title"></h1><div id="error" class="error" role="alert" hidden></div>'
            '<div id="dashboard-grid" class="grid"></div>')
    return render(request, page="dashboard", path="/saved", title=t["dashboard"], body=body,
                  data={"dashboard": item_id}, project=project)


@router.get("/login", response_class=HTMLResponse)
async def login(request: Request, token: str | None = None, next: str = "/"):
    if not next.startswith("/") or next.startswith("//"):
        next = "/"  # only this site: never an open redirect
    if token:
        return sign_in(request, token, next) or login_page(request, next, failed=True)
    return login_page(request, next)


@router.get("/logout")
async def logout():
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(TOKEN_COOKIE)
    return response


@router.get("/static/plotly.min.js")
async def plotly_js():
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers={"Cache-Control": f"public, max-age={YEAR}"})


@router.get("/static/{name}")
async def static(name: str):
    path = STATIC / name
    if name not in ("app.js", "app.css", "segments.js") or not path.is_file():
        raise NotFound(key="apidocs.no_static_file", name=name)
    kind = "text/javascript" if name.endswith(".js") else "text/css"
    return FileResponse(path, media_type=kind, headers={"Cache-Control": "no-cache"})


def register(app: FastAPI) -> None:
    app.include_router(router)


def sign_in(request: Request, token: str, target: str) -> Response | None:
    """A redirect to ``target`` that keeps a valid read token in an HTTP-only cookie; None if it is not one."""
    try:
        request.app.state.server.reader_of(token, request)
    except YunyingError:
        return None
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="lax", max_age=30 * 24 * 3600)
    return response


def login_page(request: Request, next: str, failed: bool = False) -> HTMLResponse:
    t = messages(_lang(request))
    e = html.escape
    error = f'<p class="error" id="login-error">{e(t["invalid_token"])}</p>' if failed else ""
    body = f"""
<section class="panel login"><h1>{e(t["sign_in"])}</h1><p>{e(t["sign_in_hint"])}</p>{error}
<form method="get" action="/login"><input type="hidden" name="next" value="{e(next)}">
<label class="field"><span>{e(t["token"])}</span><input name="token" type="password" required autofocus></label>
<button type="submit">{e(t["sign_in"])}</button></form></section>"""
    return render(request, page="login", path="/login", title=t["sign_in"], body=body, data={},
                  status=401 if failed else 200)

