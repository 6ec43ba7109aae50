"""``/api/docs``: the browsable OpenAPI document, with Swagger UI served by this server.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (no CDN: the docs work offline,
like the dashboard). The page starts Swagger UI from a script file, since the Content-Security-Policy
allows no inline script.
"""
from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from swagger_ui_bundle import swagger_ui_path

from .errors import NotFound

PREFIX = "/static/swagger/"
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon-32x32.png": "image/png"}
PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>yunying API</title>
<link rel="stylesheet" href="{PREFIX}swagger-ui.css">
<link rel="icon" type="image/png" href="{PREFIX}favicon-32x32.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{PREFIX}swagger-ui-bundle.js"></script>
<script src="{PREFIX}init.js"></script>
</body>
</html>
"""
INIT = """window.ui = SwaggerUIBundle({
  url: "/openapi.json", dom_id: "#swagger-ui", deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout",
});
"""
YEAR = 365 * 24 * 3600


def register(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False, response_class=HTMLResponse)
    async def api_docs():
        return HTMLResponse(PAGE)

    @app.get(PREFIX + "{name}", include_in_schema=False)
    async def swagger_asset(name: str):
        if name == "init.js":
            return Response(INIT, media_type="text/javascript")
        if name not in ASSETS:
            raise NotFound(key="apidocs.no_static_file", name=name)
        return FileResponse(swagger_ui_path / name, media_type=ASSETS[name],
                            headers={"Cache-Control": f"public, max-age={YEAR}"})
