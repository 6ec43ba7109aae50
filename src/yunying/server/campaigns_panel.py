"""The dashboard overview's campaigns panel (a module of its own: the overview page lives in dashboard.py, which
the campaigns page module imports)."""
from __future__ import annotations

import html

from ..errors import YunyingError
from ..reports.error_text import say_error


def overview_panel(project, t: dict, lang: str = "en") -> str:
    """The dashboard overview's campaigns panel: each campaign's name, days and a link (read from the
    definitions only, so the overview stays fast; a broken definition shows its error, in the page's language)."""
    from ..storage import campaigns as store

    e = html.escape
    try:
        camps = sorted(store.all_(project.paths.root), key=lambda c: (c.start, c.name))
    except YunyingError as exc:
        return f'<section class="panel" id="campaigns-panel"><h2>{e(t["camp_campaigns"])}</h2>' \
               f'<p class="error">{e(say_error(exc, lang))}</p></section>'
    items = "".join(f'<li><a href="/campaigns/{e(c.name)}">{e(c.name)}</a> {c.start} – {c.end}</li>' for c in camps)
    return (f'<section class="panel" id="campaigns-panel"><h2><a href="/campaigns">{e(t["camp_campaigns"])}</a></h2>'
            + (f'<ul class="list">{items}</ul>' if camps else f'<p>{e(t["camp_none"])}</p>') + "</section>")
