"""Property-based API test: schemathesis generates requests from /openapi.json (in-process, ASGI).

Checked for every operation: never a server error, only documented status codes, the documented content
type, and responses that match their schemas (errors: ``{ok, error, code, status}``). Requests carry a
valid key (capture: a write key; everything else: a read token) so generation reaches past auth.
"""
from __future__ import annotations

import atexit
import traceback
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                                status_code_conformance)

from yyserver_helpers import create_key, make_workspace

from yunying.server.app import create_app
from yunying.server.settings import ServerSettings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# Built at import: schemathesis reads the schema when the module loads (a workspace costs little).
_ROOT = Path(tempfile.mkdtemp(prefix="yy-fuzz-"))
atexit.register(shutil.rmtree, _ROOT, True)
_WS = make_workspace(_ROOT / "fuzz", timezone="Asia/Shanghai")
KEYS = {"write": create_key(_WS, "write"), "read": create_key(_WS, "read")}
APP = create_app([_WS], ServerSettings(query_timeout=2.0, publish_interval=1.0, max_body_bytes=1_000_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
ANALYSES = r"^/api/(query|chart)/"
CONTRACT = [status_code_conformance, content_type_conformance, response_schema_conformance]
OUTSIDE_SERVER: list[dict] = []  # 500s whose cause is in an analysis module, not in the server


def _origin(tb) -> str | None:
    """The innermost yunying source file of a traceback."""
    files = [frame.f_code.co_filename for frame, _ in traceback.walk_tb(tb)]
    frames = [f for f in files if "/yunying/" in f]
    return frames[-1] if frames else None


def _call(case):
    kind = "write" if not case.path.startswith("/api/") or case.path.startswith("/api/import/") else "read"
    try:
        # In-process, an unhandled exception re-raises here after the app answered it with a JSON 500.
        response = case.call(headers={"Authorization": f"Bearer {KEYS[kind]}"})
    except Exception as exc:  # noqa: BLE001
        origin = _origin(exc.__traceback__)
        if origin and "/yunying/analyses/" in origin:
            # Kept as an artefact too, so the analysis at fault is easy to find.
            OUTSIDE_SERVER.append({"path": case.path, "body": case.body, "origin": origin, "error": repr(exc)})
        raise AssertionError(f"server error on {case.method} {case.path} (from {origin}): {exc!r}\n"
                             f"{case.as_curl_command()}") from exc
    assert response.status_code < 500, f"{response.status_code} on {case.method} {case.path}: {response.text[:300]}"
    case.validate_response(response, checks=CONTRACT)


@schema.exclude(path_regex=ANALYSES).parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
def test_capture_saved_and_meta_endpoints_keep_their_contract(case):
    _call(case)


@schema.include(path_regex=r"^/api/query/").parametrize()
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_query_endpoints_keep_their_contract(case):
    """Each query runs a whole analysis, so fewer examples; /api/chart/* shares this code path."""
    _call(case)


def test_report_analysis_errors_found():
    """Failures inside analysis modules also fail the query test itself; this writes them down as an
    artefact (path, body, origin) for whoever fixes them."""
    import json

    from util import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "schemathesis-analysis-errors.json").write_text(
        json.dumps(OUTSIDE_SERVER, indent=2, default=str), encoding="utf-8")
    assert not OUTSIDE_SERVER, f"{len(OUTSIDE_SERVER)} analysis error(s); see test-artifacts/schemathesis-analysis-errors.json"
