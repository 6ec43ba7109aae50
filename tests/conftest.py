from __future__ import annotations

import pytest


@pytest.fixture
def ws(tmp_path):
    import yunying

    w = yunying.Workspace.init(tmp_path / "ws")
    yield w
    w.close()
