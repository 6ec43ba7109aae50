"""docs/server.md stays true: every setting, endpoint and command option is documented; labels exist
in all three languages and the page language follows the browser."""
from __future__ import annotations

import re

import pytest

from util import ROOT

DOC = (ROOT / "docs" / "server.md").read_text(encoding="utf-8")


def test_every_setting_is_documented_with_its_default():
    from yunying.server.settings import ServerSettings

    for s in ServerSettings.describe():
        row = re.search(rf"^\| `{s['name']}` \| ([^|]+) \|", DOC, re.M)
        assert row, f"setting {s['name']} is not in docs/server.md"
        assert float(row.group(1)) == float(s["default"]), s["name"]


def test_every_endpoint_is_documented(api):
    routes = {r.path for r in api.app.routes if getattr(r, "include_in_schema", False)}
    for path in sorted(routes):
        generic = re.sub(r"/api/(query|chart)/\w+$", r"/api/\1/{kind}", path)
        generic = re.sub(r"/api/import/\{kind\}", "/api/import/{events,spend,identities}", generic)
        generic = generic.replace("{item_id}", "{id}")
        bare = generic.rstrip("/")
        assert generic in DOC or f"{bare}`" in DOC or f"{bare}," in DOC, f"{path} is not in docs/server.md"


@pytest.mark.parametrize("option", ["--workspace", "--host", "--port", "--setting", "--get", "--project", "--kind",
                                    "--label", "keys create", "keys list", "keys revoke"])
def test_command_line_is_documented(option):
    assert option in DOC


def test_every_label_exists_in_every_language():
    from yunying.reports.i18n import LANGS, MESSAGES, messages

    for key, values in MESSAGES.items():
        assert len(values) == len(LANGS) and all(v.strip() for v in values), key
    assert messages("zh-Hans")["retention"] == "留存分析" and messages("zh-Hant")["lifecycle"] == "生命週期"


@pytest.mark.parametrize("accept, expected", [
    ("zh-TW,zh;q=0.9,en;q=0.8", "zh-Hant"),
    ("zh-HK", "zh-Hant"),
    ("zh-Hant-TW", "zh-Hant"),
    ("zh-CN,zh;q=0.9", "zh-Hans"),
    ("zh", "zh-Hans"),
    ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
    ("fr-FR,zh-CN;q=0.5", "zh-Hans"),
    ("de-DE", "en"),
    ("", "en"),
    ("zh-CN;q=0.2,en;q=0.9", "en"),
])
def test_language_follows_the_browser(accept, expected):
    from yunying.reports.i18n import pick_language

    assert pick_language(None, None, accept) == expected
    assert pick_language("zh-Hant", None, accept) == "zh-Hant"  # ?lang= wins, then the cookie
    assert pick_language(None, "en", accept) == "en"


def test_pages_render_in_the_browser_language(api):
    resp = api.client.get("/login", headers={"Accept-Language": "zh-TW,zh;q=0.9"})
    assert resp.status_code == 200 and '<html lang="zh-Hant">' in resp.text and "登入" in resp.text
    resp = api.client.get("/login?lang=zh-Hans")
    assert '<html lang="zh-Hans">' in resp.text and resp.cookies.get("yy_lang") == "zh-Hans"
    # Pages without a token send the browser to sign in; never an open redirect.
    resp = api.client.get("/funnel", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/login?next=%2Ffunnel"
    resp = api.client.get("/login?token=yyr_x_y&next=//evil.example", follow_redirects=False)
    assert resp.status_code == 401
    resp = api.client.get(f"/login?token={api.keys['alpha']['read']}&next=//evil.example", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/"
