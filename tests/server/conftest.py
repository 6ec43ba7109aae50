from __future__ import annotations

import shutil
from types import SimpleNamespace

import pytest

from yyserver_helpers import create_key, make_workspace


def pytest_configure(config):
    config.addinivalue_line("filterwarnings", "ignore:Using `httpx` with `starlette.testclient`")


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory):
    """A small demo workspace (about 2,000 users over 6 weeks), built once and copied per test."""
    from yunying.config import WorkspaceConfig
    from yunying.demo import generate
    from yunying.storage.workspace import Workspace

    root = tmp_path_factory.mktemp("demo")
    generate(root / "data", users=1500, days=42, seed=3)
    ws = Workspace.init(root / "demo", WorkspaceConfig(name="demo", timezone="Asia/Shanghai"))
    ws.import_events([str(root / "data" / "events.parquet")])
    ws.import_spend([str(root / "data" / "spend.csv")])
    ws.close()
    return root / "demo"


@pytest.fixture
def demo_ws(tmp_path, demo_template):
    target = tmp_path / "demo"
    shutil.copytree(demo_template, target)
    return target


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory, demo_template):
    """A copy of the demo served to a signed-in headless Chromium page (test_dashboard_browser.py#open_site), one
    per test module: ``.url``, ``.page``, ``.errors`` (the page's script errors) …"""
    from test_dashboard_browser import open_site

    ws = tmp_path_factory.mktemp("site") / "demo"
    shutil.copytree(demo_template, ws)
    yield from open_site(ws)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """An in-process app serving two empty projects, with a write key and a read token for each."""
    from fastapi.testclient import TestClient

    from yunying.server.app import create_app
    from yunying.server.settings import ServerSettings

    root = tmp_path_factory.mktemp("api")
    alpha = make_workspace(root / "alpha", timezone="Asia/Shanghai", import_timezone="Asia/Shanghai")
    beta = make_workspace(root / "beta")
    keys = {name: {"write": create_key(ws, "write"), "read": create_key(ws, "read")}
            for name, ws in (("alpha", alpha), ("beta", beta))}
    settings = ServerSettings(max_body_bytes=200_000, max_batch_events=50, publish_interval=0.2)
    app = create_app([alpha, beta], settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield SimpleNamespace(client=client, keys=keys, app=app, server=app.state.server,
                              alpha=alpha, beta=beta)
