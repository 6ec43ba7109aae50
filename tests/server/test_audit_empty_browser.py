"""Issue 13, the final walk (stop 27): "empty pages open empty, not with an error". On an empty workspace nine
pages opened with a red error (experiments, customers, content, win-back, what moved, content flags and timing,
referrals) and /analysis/paths with a JavaScript error (Plotly on an empty Sankey). Every page now opens empty and
says why in a note; an error the reader asked for (a click on Run) stays an error.

(A module of its own: two Playwright sites cannot be open at once in one module.)
"""
from __future__ import annotations

import pytest

from test_dashboard_browser import SHOTS, open_site
from test_screens_i18n import all_pages

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def empty_site(tmp_path_factory):
    from yunying.config import WorkspaceConfig
    from yunying.storage.workspace import Workspace

    ws = tmp_path_factory.mktemp("audit-empty") / "empty"
    Workspace.init(ws, WorkspaceConfig(name="empty", timezone="Asia/Shanghai", lang="zh-Hans")).close()
    yield from open_site(ws)


def opened(page) -> dict:
    """Wait for the page's first answer (or its error); what it shows in #error and #notes."""
    page.wait_for_function("['done', 'error'].includes(document.body.dataset.state)")
    return page.evaluate("""() => {
        const box = (id) => { const b = document.getElementById(id); return b && !b.hidden ? b.innerText : null; };
        return {error: box('error'), notes: box('notes'), state: document.body.dataset.state};
    }""")


def test_an_empty_workspace_opens_every_page_empty_with_a_note(empty_site):
    page, errors = empty_site.page, []
    for path in all_pages():
        if path.startswith("/campaigns/"):  # a campaign page of a campaign that does not exist is a 404
            continue
        page.goto(f"{empty_site.url}{path}?lang=zh-Hans")
        got = opened(page)
        if got["error"] or got["state"] == "error":
            errors.append((path, got["error"]))
        if path in ("/experiments", "/customers", "/content", "/analysis/referrals"):
            assert got["notes"] and got["notes"].startswith("暂无结果："), (path, got)
    page.screenshot(path=str(SHOTS / "audit-empty-referrals.png"), full_page=True)
    assert errors == []
    assert empty_site.errors == []  # no JavaScript error (the empty Sankey of /analysis/paths threw one)


def test_an_error_the_reader_asked_for_stays_an_error(empty_site):
    """Only the opening answer turns into a note: a run the reader asked for that fails says so in red."""
    page = empty_site.page
    page.goto(f"{empty_site.url}/experiments?lang=zh-Hans")
    opened(page)
    page.click("#run")
    page.wait_for_function("document.body.dataset.state === 'error'")
    assert "没有找到带实验组别的单位" in page.locator("#error").inner_text()
